package fetch

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
)

// ErrorBodyBytes is how much of an error response's body is read, to pick the provider's message.
const ErrorBodyBytes = 8 << 10

// maxMessageRunes bounds the provider message kept in a StatusError.
const maxMessageRunes = 300

// StatusError is an HTTP answer that was not a success, after any retries. It keeps what the default
// retryablehttp error handler throws away: the status, the provider's message and the URL.
//
// errors.Is(err, mesh.ErrUnauthorized) and its siblings work through Unwrap: 401 unwraps to
// mesh.ErrUnauthorized, 403 to mesh.ErrForbidden, 404 and 410 to mesh.ErrNotFound, 429 (and a
// throttling body) to mesh.ErrRateLimited, 408 and 5xx to mesh.ErrUpstream; other statuses to
// nothing.
type StatusError struct {
	// Source is the source instance name (Config.Source); not part of Error(), which the engine
	// already prefixes with the source.
	Source string
	Method string
	// URL is redacted: no secret query values, no user information.
	URL        string
	StatusCode int
	// Message is the provider's error message picked from the body, with known secrets scrubbed;
	// empty when the body said nothing useful.
	Message string
	// RetryAfter is the wait the server asked for, zero when it gave none.
	RetryAfter time.Duration
	// TooLongWait is set when the request failed at once because RetryAfter exceeded MaxRetryAfter.
	TooLongWait time.Duration
	// Throttled is set when a 2xx answer said "throttled" in its body (Config.Throttled), or an error
	// answer did (Config.ThrottledError).
	Throttled bool
	// Attempts is how many attempts were made.
	Attempts int
	// Body is the start of the error body (at most ErrorBodyBytes). It is never printed by Error():
	// it may hold personal data.
	Body []byte
}

// Error returns e.g. `GET https://host/path?token=REDACTED: 401 Unauthorized: AccessTokenInvalid:
// The access token you sent could not be found or is invalid.`
func (e *StatusError) Error() string {
	var b strings.Builder
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.URL)
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteByte(' ')
		b.WriteString(t)
	}
	if e.Throttled {
		b.WriteString(": throttled")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.TooLongWait > 0 {
		fmt.Fprintf(&b, " (server asked to retry after %s, more than maxRetryAfter %s)", e.RetryAfter, e.TooLongWait)
	} else if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

// Unwrap returns the mesh sentinel matching the status, or nil.
func (e *StatusError) Unwrap() error {
	if e.Throttled {
		return mesh.ErrRateLimited
	}
	return sentinelFor(e.StatusCode)
}

func sentinelFor(status int) error {
	switch {
	case status == http.StatusUnauthorized:
		return mesh.ErrUnauthorized
	case status == http.StatusForbidden:
		return mesh.ErrForbidden
	case status == http.StatusNotFound, status == http.StatusGone:
		return mesh.ErrNotFound
	case status == http.StatusTooManyRequests:
		return mesh.ErrRateLimited
	case status == http.StatusRequestTimeout, status >= 500:
		return mesh.ErrUpstream
	}
	return nil
}

// RequestError is a request that got no HTTP answer: the connection failed, the attempt timed out,
// the body could not be read, the context ended. Its text names the method and the redacted URL and
// has known secrets scrubbed; Unwrap returns the cause (context.Canceled and
// context.DeadlineExceeded included, so errors.Is works on them).
type RequestError struct {
	Source string
	Method string
	URL    string // redacted
	// Attempts is how many attempts were made.
	Attempts int
	Err      error
	text     string // Err's text, scrubbed
}

func (e *RequestError) Error() string {
	s := e.Method + " " + e.URL + ": " + e.text
	if e.Attempts > 1 {
		s += fmt.Sprintf(" (after %d attempts)", e.Attempts)
	}
	return s
}

// Unwrap returns the cause.
func (e *RequestError) Unwrap() error { return e.Err }

// DefaultErrorMessage picks a provider's message out of an error body. It knows these shapes, first
// match wins:
//
//	{"sys":{"type":"Error","id":"NotFound"},"message":"..."}        Contentful: "NotFound: ..."
//	{"error":{"message":"...", "reason":"..."}}                      Strapi, Stripe, Ory, Google
//	{"error":{"description":"..."}}                                  Sanity
//	{"errors":[{"message":"..."} or {"title":"...","detail":"..."}]} GraphQL, Ghost, Directus, Clerk, JSON:API
//	{"errors":"..."}                                                 Shopify REST
//	{"errorSummary":"..."}                                           Okta
//	{"code":"rest_no_route","message":"..."}                         WordPress, Auth0 and many: "rest_no_route: ..."
//	{"msg":"..."}, {"errorMessage":"..."}                            Supabase, Keycloak
//	{"error":"invalid_client","error_description":"..."}             OAuth
//	{"error":"..."}                                                  Storyblok
//	{"title":"...","detail":"..."}                                   BigCommerce, problem+json
//	["..."]                                                          Storyblok 404
//
// A body that is not JSON gives the <title> of an HTML page, or the first line of text. The result is
// one line of at most 300 characters; empty when nothing was found.
func DefaultErrorMessage(status int, body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return ""
	}
	if ValidJSON(body) {
		return oneLine(jsonMessage(gjson.ParseBytes(body)))
	}
	if body[0] == '<' {
		return oneLine(htmlTitle(body))
	}
	if body[0] == '{' || body[0] == '[' {
		// Truncated JSON (the body was cut at ErrorBodyBytes): try the usual top-level fields.
		if m := jsonMessage(gjson.ParseBytes(body)); m != "" {
			return oneLine(m)
		}
		return ""
	}
	line, _, _ := bytes.Cut(body, []byte("\n"))
	return oneLine(string(line))
}

func jsonMessage(r gjson.Result) string {
	str := func(path string) string {
		v := r.Get(path)
		if v.Type != gjson.String {
			return ""
		}
		return strings.TrimSpace(v.Str)
	}
	join := func(a, b string) string {
		switch {
		case a == "":
			return b
		case b == "" || strings.Contains(b, a):
			return a
		case strings.Contains(a, b):
			return a
		}
		return a + ": " + b
	}
	if r.IsArray() {
		for _, v := range r.Array() {
			if v.Type == gjson.String && strings.TrimSpace(v.Str) != "" {
				return strings.TrimSpace(v.Str)
			}
			if v.IsObject() {
				if m := jsonMessage(v); m != "" {
					return m
				}
			}
		}
		return ""
	}
	if !r.IsObject() {
		return ""
	}
	if m := str("message"); m != "" && r.Get("sys.id").Type == gjson.String {
		return join(str("sys.id"), m) // Contentful
	}
	if e := r.Get("error"); e.IsObject() {
		if m := join(str("error.message"), str("error.reason")); m != "" {
			return m
		}
		if m := str("error.description"); m != "" {
			return m
		}
	}
	if errs := r.Get("errors"); errs.IsArray() {
		arr := errs.Array()
		for _, e := range arr {
			var m string
			if e.Type == gjson.String {
				m = strings.TrimSpace(e.Str)
			} else {
				m = e.Get("message").String()
				if lm := e.Get("long_message").String(); lm != "" {
					m = lm
				}
				if m == "" {
					m = join(e.Get("title").String(), e.Get("detail").String())
				}
			}
			if m = strings.TrimSpace(m); m != "" {
				if len(arr) > 1 {
					m += fmt.Sprintf(" (and %d more)", len(arr)-1)
				}
				return m
			}
		}
	}
	if m := str("errors"); m != "" {
		return m
	}
	if m := str("errorSummary"); m != "" {
		return m
	}
	if m := str("message"); m != "" {
		return join(str("code"), m)
	}
	for _, p := range []string{"msg", "errorMessage", "error_message"} {
		if m := str(p); m != "" {
			return m
		}
	}
	if m := str("error_description"); m != "" {
		return join(str("error"), m)
	}
	if m := str("error"); m != "" {
		return m
	}
	if m := join(str("title"), str("detail")); m != "" {
		return m
	}
	return ""
}

// htmlTitle returns the text of an HTML page's <title>, or "HTML page".
func htmlTitle(body []byte) string {
	lower := bytes.ToLower(body)
	if i := bytes.Index(lower, []byte("<title")); i >= 0 {
		if j := bytes.IndexByte(lower[i:], '>'); j >= 0 {
			start := i + j + 1
			if k := bytes.Index(lower[start:], []byte("</title")); k >= 0 {
				if t := strings.TrimSpace(string(body[start : start+k])); t != "" {
					return t
				}
			}
		}
	}
	return "HTML page"
}

// oneLine collapses white space and control characters, drops invalid UTF-8 and bounds the length.
func oneLine(s string) string {
	var b strings.Builder
	space := false
	n := 0
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		need := 1
		if space {
			need = 2
		}
		if n+need > maxMessageRunes {
			b.WriteString("…")
			break
		}
		if space {
			b.WriteByte(' ')
			space = false
			n++
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
