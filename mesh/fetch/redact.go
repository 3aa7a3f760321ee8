package fetch

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Redacted replaces every secret in URLs, errors and logs.
const Redacted = "REDACTED"

// alwaysSecret are the query parameter names redacted for every source (compared lower-case).
var alwaysSecret = []string{
	"access_token", "token", "key", "api_key", "apikey", "client_secret", "secret", "password", "sig",
	"signature", "auth", "authorization", "passwd", "pwd", "credential", "credentials",
}

// IsSecretParam reports whether a query parameter's value must be redacted: the names listed in
// Config.SecretParams documentation, any name containing "token", "secret", "passw", "signature" or
// "credential", any name ending in "key", and the names in extra (all compared case-insensitively).
func IsSecretParam(name string, extra []string) bool {
	n := strings.ToLower(name)
	if slices.Contains(alwaysSecret, n) {
		return true
	}
	for _, e := range extra {
		if strings.EqualFold(e, name) {
			return true
		}
	}
	for _, part := range []string{"token", "secret", "passw", "signature", "credential"} {
		if strings.Contains(n, part) {
			return true
		}
	}
	return strings.HasSuffix(n, "key")
}

// RedactURL returns u as a string with the values of secret query parameters (see IsSecretParam)
// and any user information replaced by REDACTED, and without the fragment. The rest of the query is
// kept byte for byte, so the URL stays recognizable.
func RedactURL(u *url.URL, extra []string) string {
	if u == nil {
		return ""
	}
	c := *u
	c.Fragment, c.RawFragment = "", ""
	if c.User != nil {
		c.User = url.User(Redacted)
	}
	c.RawQuery = redactQuery(c.RawQuery, extra)
	return c.String()
}

// RedactURLString parses s and redacts it like RedactURL. A string that does not parse is replaced
// whole by REDACTED: its secrets cannot be located.
func RedactURLString(s string, extra []string) string {
	u, err := url.Parse(s)
	if err != nil {
		return Redacted
	}
	return RedactURL(u, extra)
}

func redactQuery(raw string, extra []string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	changed := false
	for i, p := range parts {
		k, _, hasValue := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if hasValue && IsSecretParam(name, extra) {
			parts[i] = k + "=" + Redacted
			changed = true
		}
	}
	if !changed {
		return raw
	}
	return strings.Join(parts, "&")
}

// redactParseError drops the URL (which may hold secrets) from a url.Parse error.
func redactParseError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return "unparsable URL"
}

// secrets collects the secret values of a request so that they can be scrubbed from text that came
// from elsewhere (a provider's error message, a transport error).
type secrets []string

// minSecretLen keeps short values (which would match ordinary words) out of scrubbing; a credential
// is longer than this.
const minSecretLen = 6

func (s *secrets) add(v string) {
	v = strings.TrimSpace(v)
	if len(v) < minSecretLen || slices.Contains(*s, v) {
		return
	}
	*s = append(*s, v)
}

// addHeaderValue adds a credential header value, and its parts: the token after an auth scheme
// ("Bearer xyz") and the password inside a Basic credential.
func (s *secrets) addHeaderValue(v string) {
	s.add(v)
	scheme, rest, ok := strings.Cut(v, " ")
	if !ok {
		return
	}
	rest = strings.TrimSpace(rest)
	s.add(rest)
	if strings.EqualFold(scheme, "basic") {
		if dec, err := base64.StdEncoding.DecodeString(rest); err == nil {
			user, pass, _ := strings.Cut(string(dec), ":")
			s.add(user)
			s.add(pass)
		}
	}
}

// fromURL adds secret query values and user information of u.
func (s *secrets) fromURL(u *url.URL, extra []string) {
	if u.User != nil {
		s.add(u.User.Username())
		if p, ok := u.User.Password(); ok {
			s.add(p)
		}
	}
	for _, p := range strings.Split(u.RawQuery, "&") {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if IsSecretParam(name, extra) {
			s.add(v)
			if dv, err := url.QueryUnescape(v); err == nil {
				s.add(dv)
			}
		}
	}
}

// isCredentialHeader reports whether a header name looks like it carries a credential.
func isCredentialHeader(name string) bool {
	n := strings.ToLower(name)
	if n == "authorization" || n == "proxy-authorization" || n == "cookie" {
		return true
	}
	for _, part := range []string{"token", "key", "secret", "auth", "signature", "password", "session"} {
		if strings.Contains(n, part) {
			return true
		}
	}
	return false
}

// fromHeaders adds the values of credential-looking headers of h, and of every header whose values
// differ from before (the ones an Auth function set).
func (s *secrets) fromHeaders(h, before http.Header) {
	for name, vs := range h {
		if isCredentialHeader(name) || !slices.Equal(vs, before[name]) {
			for _, v := range vs {
				s.addHeaderValue(v)
			}
		}
	}
}

// scrub replaces every secret value found in text by REDACTED.
func (s secrets) scrub(text string) string {
	for _, v := range s {
		if strings.Contains(text, v) {
			text = strings.ReplaceAll(text, v, Redacted)
		}
	}
	return text
}
