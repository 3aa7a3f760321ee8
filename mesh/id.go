package mesh

import (
	"fmt"
	"strings"
)

// NodeID builds the stable ID <source>/<namespace>/<nativeId> of a node. Each part has '%', '/' and
// '@' percent-escaped, so that any native id is safe and the ID splits back into its parts.
func NodeID(source, namespace, nativeID string) string {
	return escapeIDPart(source) + "/" + escapeIDPart(namespace) + "/" + escapeIDPart(nativeID)
}

// LocalizedNodeID is NodeID with "@<locale>" appended; an empty locale gives NodeID.
func LocalizedNodeID(source, namespace, nativeID, locale string) string {
	id := NodeID(source, namespace, nativeID)
	if locale == "" {
		return id
	}
	return id + "@" + escapeIDPart(locale)
}

// ParsedID is a node ID split into its parts, unescaped.
type ParsedID struct {
	Source, Namespace, NativeID, Locale string
}

// ParseNodeID splits an ID made by NodeID or LocalizedNodeID.
func ParseNodeID(id string) (ParsedID, error) {
	var p ParsedID
	rest, locale, hasLocale := strings.Cut(id, "@")
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" || (hasLocale && (locale == "" || strings.ContainsAny(locale, "@/"))) {
		return p, fmt.Errorf("node id %q: want <source>/<namespace>/<nativeId>[@locale]", id)
	}
	var err error
	for i, dst := range []*string{&p.Source, &p.Namespace, &p.NativeID} {
		if *dst, err = unescapeIDPart(parts[i]); err != nil {
			return p, fmt.Errorf("node id %q: %w", id, err)
		}
	}
	if p.Locale, err = unescapeIDPart(locale); err != nil {
		return p, fmt.Errorf("node id %q: %w", id, err)
	}
	return p, nil
}

// ValidNodeID reports whether id has the form NodeID produces.
func ValidNodeID(id string) bool {
	slashes, partLen := 0, 0
	locale := false
	for i := 0; i < len(id); i++ {
		switch id[i] {
		case '/':
			if locale || partLen == 0 {
				return false
			}
			slashes++
			partLen = 0
			continue
		case '@':
			if locale || slashes != 2 || partLen == 0 {
				return false
			}
			locale = true
			partLen = 0
			continue
		case '%':
			if i+2 >= len(id) {
				return false
			}
			switch id[i+1 : i+3] {
			case "25", "2F", "2f", "40":
			default:
				return false
			}
			i += 2
		}
		partLen++
	}
	return slashes == 2 && partLen > 0
}

func escapeIDPart(s string) string {
	if !strings.ContainsAny(s, "%/@") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			b.WriteString("%25")
		case '/':
			b.WriteString("%2F")
		case '@':
			b.WriteString("%40")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func unescapeIDPart(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("bad escape at %d", i)
		}
		switch s[i+1 : i+3] {
		case "25":
			b.WriteByte('%')
		case "2F", "2f":
			b.WriteByte('/')
		case "40":
			b.WriteByte('@')
		default:
			return "", fmt.Errorf("bad escape %q", s[i:i+3])
		}
		i += 2
	}
	return b.String(), nil
}
