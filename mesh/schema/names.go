package schema

import (
	"strconv"
	"strings"
	"unicode"
)

// namer hands out identifiers that are unique in one scope.
type namer struct {
	used map[string]bool
}

func newNamer(reserved ...string) *namer {
	n := &namer{used: map[string]bool{}}
	for _, r := range reserved {
		n.used[r] = true
	}
	return n
}

// unique returns base, or base with the smallest number from 2 that makes it unused, and marks it used.
func (n *namer) unique(base string) string {
	name := base
	for i := 2; n.used[name]; i++ {
		name = base + strconv.Itoa(i)
	}
	n.used[name] = true
	return name
}

// isTSIdent reports whether s can be written unquoted as a TypeScript name (ASCII only, to stay simple).
func isTSIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// typeIdent makes a PascalCase identifier, valid in Go (exported) and TypeScript, from a node type
// or field name: words split at anything other than letters and digits and at case changes, each
// capitalized, common initialisms upper-cased; a leading digit gets an "X" before it.
func typeIdent(name string) string {
	var b strings.Builder
	for _, w := range words(name) {
		if up := strings.ToUpper(w); initialisms[up] {
			b.WriteString(up)
			continue
		}
		b.WriteString(strings.ToUpper(w[:1]))
		b.WriteString(w[1:])
	}
	s := b.String()
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		s = "X" + s
	}
	return s
}

// initialisms are written in capitals in Go names (as golint asks).
var initialisms = map[string]bool{"ID": true, "URL": true, "URI": true, "HTML": true, "HTTP": true,
	"HTTPS": true, "API": true, "JSON": true, "UUID": true, "SKU": true, "SEO": true, "CSS": true, "SQL": true,
	"XML": true, "UTC": true, "IP": true}

// words splits name into ASCII letter/digit runs, breaking before an upper-case letter that follows a
// lower-case letter or digit ("productHandles" -> product, Handles; "HTMLBody" -> HTML, Body).
func words(name string) []string {
	var out []string
	var cur []byte
	flush := func() {
		if len(cur) > 0 {
			out = append(out, string(cur))
			cur = cur[:0]
		}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		isUpper, isLower, isDigit := c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9'
		if !isUpper && !isLower && !isDigit {
			flush()
			continue
		}
		if isUpper && len(cur) > 0 {
			prev := cur[len(cur)-1]
			nextLower := i+1 < len(name) && name[i+1] >= 'a' && name[i+1] <= 'z'
			if (prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9') ||
				(prev >= 'A' && prev <= 'Z' && nextLower) {
				flush()
			}
		}
		cur = append(cur, c)
	}
	flush()
	return out
}

// validTagName reports whether encoding/json uses name as written in a struct tag (its isValidTag).
func validTagName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}
