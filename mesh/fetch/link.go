package fetch

import (
	"net/http"
	"strings"
)

// Link is one link of a Link header (RFC 8288).
type Link struct {
	// URL is the target as written between < and >, not resolved.
	URL string
	// Rel holds the relation types, lower-cased ("next", "prev", ...).
	Rel []string
	// Params holds the other parameters, names lower-cased; the first occurrence of a name wins.
	Params map[string]string
}

// HasRel reports whether the link has the relation rel (case-insensitive).
func (l Link) HasRel(rel string) bool {
	for _, r := range l.Rel {
		if strings.EqualFold(r, rel) {
			return true
		}
	}
	return false
}

// ParseLinks parses every Link header value of h (a response may send several Link headers, and each
// may hold several comma-separated links with several relations each). Malformed parts are skipped.
func ParseLinks(h http.Header) []Link {
	var links []Link
	for _, v := range h.Values("Link") {
		links = parseLinkValue(v, links)
	}
	return links
}

// LinkNext returns the target of the first rel="next" link in h's Link headers, or "". The target is
// returned as written; resolve it with Response.Resolve.
func LinkNext(h http.Header) string {
	for _, l := range ParseLinks(h) {
		if l.HasRel("next") {
			return l.URL
		}
	}
	return ""
}

func parseLinkValue(s string, links []Link) []Link {
	i := 0
	skipSpace := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	// skipToNextLink moves past the next comma outside quotes.
	skipToNextLink := func() {
		for i < len(s) {
			switch s[i] {
			case ',':
				i++
				return
			case '"':
				_, i = quoted(s, i)
			default:
				i++
			}
		}
	}
	for i < len(s) {
		skipSpace()
		if i < len(s) && s[i] == ',' {
			i++
			continue
		}
		if i >= len(s) {
			break
		}
		if s[i] != '<' {
			skipToNextLink()
			continue
		}
		end := strings.IndexByte(s[i+1:], '>')
		if end < 0 {
			break
		}
		link := Link{URL: strings.TrimSpace(s[i+1 : i+1+end])}
		i += end + 2
		relSeen := false
	params:
		for i < len(s) {
			skipSpace()
			if i >= len(s) {
				break
			}
			switch s[i] {
			case ',':
				i++
				break params
			case ';':
				i++
			default:
				skipToNextLink()
				break params
			}
			skipSpace()
			start := i
			for i < len(s) && s[i] != '=' && s[i] != ';' && s[i] != ',' && s[i] != ' ' && s[i] != '\t' {
				i++
			}
			name := strings.ToLower(strings.TrimSuffix(s[start:i], "*"))
			skipSpace()
			var value string
			if i < len(s) && s[i] == '=' {
				i++
				skipSpace()
				if i < len(s) && s[i] == '"' {
					value, i = quoted(s, i)
				} else {
					start := i
					for i < len(s) && s[i] != ';' && s[i] != ',' {
						i++
					}
					value = strings.TrimSpace(s[start:i])
				}
			}
			if name == "" {
				continue
			}
			if name == "rel" {
				if !relSeen {
					relSeen = true
					link.Rel = strings.Fields(strings.ToLower(value))
				}
				continue
			}
			if link.Params == nil {
				link.Params = map[string]string{}
			}
			if _, dup := link.Params[name]; !dup {
				link.Params[name] = value
			}
		}
		if link.URL != "" {
			links = append(links, link)
		}
	}
	return links
}

// quoted reads a quoted string starting at s[i] == '"', handling backslash escapes; it returns the
// unescaped value and the index after the closing quote (or the end of s).
func quoted(s string, i int) (string, int) {
	var b strings.Builder
	i++
	for i < len(s) {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				b.WriteByte(s[i+1])
				i += 2
				continue
			}
			i++
		case '"':
			return b.String(), i + 1
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), i
}
