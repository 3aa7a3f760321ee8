// Package normalize holds the value normalizations every adapter shares: type names in PascalCase and
// times in RFC 3339 UTC.
package normalize

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// TypeName turns an upstream content type name into the graph's PascalCase type:
// "blogPost" -> "BlogPost", "blog_post" -> "BlogPost", "blog-post" -> "BlogPost", "page" -> "Page".
// Characters other than letters and digits separate words; a name starting with a digit gets "T".
func TypeName(s string) string {
	var b strings.Builder
	upperNext := true
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			upperNext = true
			continue
		}
		if b.Len() == 0 && unicode.IsDigit(r) {
			b.WriteByte('T')
		}
		if upperNext {
			r = unicode.ToUpper(r)
			upperNext = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Prefixed returns prefix+TypeName(s), for sources configured with a type prefix.
func Prefixed(prefix, s string) string { return TypeName(prefix) + TypeName(s) }

// layouts are the time formats seen in the providers' APIs, tried in order.
var layouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999", // no zone (WordPress date_gmt, Strapi sometimes): UTC
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999", // SQL style, no zone: UTC
	"2006-01-02",
	time.RFC1123Z,
	time.RFC1123,
}

// Time parses a provider timestamp: RFC 3339 (any offset), ISO 8601 without a zone (taken as UTC),
// SQL style "2006-01-02 15:04:05", a date, HTTP dates, or Unix seconds (Stripe's created) when the
// text is all digits. The result is in UTC.
func Time(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty time")
	}
	if isDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("time %q: %w", s, err)
		}
		if n > 1e11 { // milliseconds
			return time.UnixMilli(n).UTC(), nil
		}
		return time.Unix(n, 0).UTC(), nil
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: not a recognized timestamp", s)
}

// TimeString is Time formatted as RFC 3339 UTC, or "" when s is empty or unparseable.
func TimeString(s string) string {
	t, err := Time(s)
	if err != nil {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

// Slug makes a lower-case, dash-separated slug of s (for file-based IDs and handles).
func Slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return b.String()
}

// Truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// IndexClosingTag returns the index in s of the first closing tag "</name" (name in lower case,
// matched without regard to ASCII case), or -1. It works on s's bytes as they are: searching a
// lower-cased copy instead gives wrong indexes when s holds invalid UTF-8 (each bad byte becomes a
// three-byte U+FFFD), which a fuzz run found.
func IndexClosingTag(s, name string) int {
	for i := 0; ; {
		j := strings.Index(s[i:], "</")
		if j < 0 {
			return -1
		}
		at := i + j
		if rest := s[at+2:]; len(rest) >= len(name) && asciiEqualFold(rest[:len(name)], name) {
			return at
		}
		i = at + 2
	}
}

// asciiEqualFold reports whether a equals the lower-case ASCII b, ignoring ASCII case only.
func asciiEqualFold(a, b string) bool {
	for i := 0; i < len(b); i++ {
		c := a[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != b[i] {
			return false
		}
	}
	return true
}
