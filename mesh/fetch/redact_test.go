package fetch

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
)

func TestRedactURL(t *testing.T) {
	tests := []struct {
		in    string
		extra []string
		want  string
	}{
		{"https://cdn.test/spaces/x/entries?access_token=abc&limit=10", nil, "https://cdn.test/spaces/x/entries?access_token=REDACTED&limit=10"},
		{"https://h.test/?token=a&key=b&api_key=c&apikey=d&client_secret=e&secret=f&password=g&sig=h&signature=i", nil,
			"https://h.test/?token=REDACTED&key=REDACTED&api_key=REDACTED&apikey=REDACTED&client_secret=REDACTED&secret=REDACTED&password=REDACTED&sig=REDACTED&signature=REDACTED"},
		{"https://h.test/?Access_Token=a&X-Amz-Signature=b&X-Amz-Credential=c&refresh_token=d&private-key=e", nil,
			"https://h.test/?Access_Token=REDACTED&X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED&refresh_token=REDACTED&private-key=REDACTED"},
		{"https://h.test/?sync_token=abc&initial=true", nil, "https://h.test/?sync_token=REDACTED&initial=true"},
		{"https://h.test/?cv=123&version=draft&page=2", nil, "https://h.test/?cv=123&version=draft&page=2"},
		{"https://h.test/?channel=a&cv=1", []string{"Channel"}, "https://h.test/?channel=REDACTED&cv=1"},
		{"https://h.test/?acc%65ss_token=abc", nil, "https://h.test/?acc%65ss_token=REDACTED"},
		{"https://h.test/?ids=1,2&fields%5Bx%5D=a%20b", nil, "https://h.test/?ids=1,2&fields%5Bx%5D=a%20b"},
		{"https://user:pass@h.test/x", nil, "https://REDACTED@h.test/x"},
		{"https://sk_test_123@h.test/x", nil, "https://REDACTED@h.test/x"},
		{"https://h.test/x?token=a#frag", nil, "https://h.test/x?token=REDACTED"},
		{"https://h.test/x?flag&token", nil, "https://h.test/x?flag&token"},
	}
	for _, tt := range tests {
		if got := RedactURLString(tt.in, tt.extra); got != tt.want {
			t.Errorf("RedactURLString(%q) =\n %q, want\n %q", tt.in, got, tt.want)
		}
	}
	if got := RedactURLString("http://h.test/%zz?token=x", nil); got != Redacted {
		t.Errorf("unparsable URL: %q", got)
	}
}

func TestIsSecretParam(t *testing.T) {
	for name, want := range map[string]bool{
		"access_token": true, "TOKEN": true, "key": true, "api_key": true, "apikey": true, "client_secret": true,
		"secret": true, "password": true, "sig": true, "signature": true, "publishable_key": true, "id_token": true,
		"page": false, "limit": false, "locale": false, "author": false, "skip": false, "cursor": false, "sort": false,
	} {
		if got := IsSecretParam(name, nil); got != want {
			t.Errorf("IsSecretParam(%q) = %v", name, got)
		}
	}
}

func TestSecretsScrub(t *testing.T) {
	var s secrets
	before := http.Header{"Accept": {"application/json"}}
	h := before.Clone()
	h.Set("Authorization", "Bearer tok-123456")
	h.Set("X-Custom", "custom-credential") // set by Auth: differs from before
	h.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("alice:hunter22")))
	s.fromHeaders(h, before)
	u, _ := url.Parse("https://bob:pa55word@h.test/?token=qs-secret-1&page=2")
	s.fromURL(u, nil)
	text := "got tok-123456 and custom-credential and hunter22 and pa55word and qs-secret-1 for application/json page=2"
	got := s.scrub(text)
	for _, leak := range []string{"tok-123456", "custom-credential", "hunter22", "pa55word", "qs-secret-1"} {
		if strings.Contains(got, leak) {
			t.Errorf("scrub left %q in %q", leak, got)
		}
	}
	if !strings.Contains(got, "application/json") || !strings.Contains(got, "page=2") {
		t.Errorf("scrub removed ordinary text: %q", got)
	}
}

// TestSecretsNeverLeak runs failures of every kind with secrets in the headers, the query, the user
// information and the Auth function, and checks every error, log line and request event.
func TestSecretsNeverLeak(t *testing.T) {
	const (
		headerSecret = "hdr-SECRET-0001"
		querySecret  = "qry-SECRET-0002"
		extraSecret  = "xtr-SECRET-0003"
		userSecret   = "usr-SECRET-0004"
		passSecret   = "pwd-SECRET-0005"
		authSecret   = "ath-SECRET-0006"
	)
	leaks := []string{headerSecret, querySecret, extraSecret, userSecret, passSecret, authSecret}
	bodies := []struct {
		status int
		body   string
		err    error
	}{
		{401, `{"message":"token ` + authSecret + ` is invalid"}`, nil},
		{403, `{"error":{"message":"key ` + querySecret + ` lacks a scope"}}`, nil},
		{404, `<html><title>` + headerSecret + ` not found</title></html>`, nil},
		{429, `{"errors":[{"message":"slow down ` + extraSecret + `"}]}`, nil},
		{500, `upstream said ` + passSecret, nil},
		{0, "", fmt.Errorf("dial tcp: lookup with %s failed", userSecret)},
		{0, "", &url.Error{Op: "Get", URL: "http://api.test/x?token=" + querySecret, Err: errors.New("eof")}},
		{200, `<html>not json ` + querySecret + `</html>`, nil},
	}
	for i, b := range bodies {
		synctest.Test(t, func(t *testing.T) {
			rt := &fakeRT{handle: func(*http.Request, int) (*http.Response, error) {
				if b.err != nil {
					return nil, b.err
				}
				return answer(b.status, b.body), nil
			}}
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			cfg := Config{
				BaseURL:      "http://" + userSecret + ":" + passSecret + "@api.test",
				SecretParams: []string{"channel"},
				Auth: func(r *http.Request) error {
					r.Header.Set("X-Session", authSecret)
					return nil
				},
			}
			c := newFake(t, cfg, Options{Logger: logger, Retries: intp(1)}, rt)
			ctx, rec := withRecorder()
			_, err := c.DoJSON(ctx, &Request{
				URL:    "/x",
				Query:  url.Values{"token": {querySecret}, "channel": {extraSecret}, "page": {"2"}},
				Header: http.Header{"X-Api-Key": {headerSecret}},
			})
			if err == nil {
				t.Fatalf("case %d: no error", i)
			}
			texts := []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), logs.String()}
			var se *StatusError
			if errors.As(err, &se) {
				texts = append(texts, se.Message, se.URL)
			}
			for _, e := range rec.all() {
				texts = append(texts, e.URL, e.Err)
			}
			for _, text := range texts {
				for _, leak := range leaks {
					if strings.Contains(text, leak) {
						t.Errorf("case %d: secret %s leaked in %q", i, leak, text)
					}
				}
			}
			if !strings.Contains(err.Error(), "http://REDACTED@api.test/x?") || !strings.Contains(err.Error(), "page=2") {
				t.Errorf("case %d: error does not name the redacted URL: %v", i, err)
			}
			// The secrets were sent, though.
			s := rt.requests()[0]
			if s.header.Get("X-Session") != authSecret || s.header.Get("X-Api-Key") != headerSecret || !strings.Contains(s.url, querySecret) {
				t.Errorf("case %d: request lacks its credentials: %v", i, s)
			}
		})
	}
}

func TestAuthErrorNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{handle: func(*http.Request, int) (*http.Response, error) { return answer(200, "{}"), nil }}
		boom := errors.New("token endpoint said no")
		c := newFake(t, Config{Auth: func(*http.Request) error { return boom }}, Options{}, rt)
		_, err := c.Do(context.Background(), &Request{URL: "/x"})
		if !errors.Is(err, boom) || len(rt.requests()) != 0 {
			t.Errorf("err = %v after %d requests", err, len(rt.requests()))
		}
		if want := "GET http://api.test/x: auth: token endpoint said no"; err.Error() != want {
			t.Errorf("err = %q, want %q", err, want)
		}
	})
}

func TestBadURLsDoNotLeak(t *testing.T) {
	c, err := New(Config{BaseURL: "http://api.test"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"/a%zz?token=s3cr3t-val", "http://h.test/%zz?token=s3cr3t-val", "ftp://h.test/?token=s3cr3t-val"} {
		_, err := c.Do(context.Background(), &Request{URL: u})
		if err == nil || strings.Contains(err.Error(), "s3cr3t-val") {
			t.Errorf("%s: err = %v", u, err)
		}
	}
	noBase, _ := New(Config{}, Options{})
	if _, err := noBase.Do(context.Background(), &Request{URL: "/x?token=s3cr3t-val"}); err == nil ||
		!strings.Contains(err.Error(), "no BaseURL") || strings.Contains(err.Error(), "s3cr3t-val") {
		t.Errorf("relative URL without BaseURL: %v", err)
	}
	_, err = New(Config{BaseURL: "http://h.test/%zz?token=s3cr3t-val"}, Options{})
	if err == nil || strings.Contains(err.Error(), "s3cr3t-val") {
		t.Errorf("bad BaseURL: %v", err)
	}
	if _, err := c.Do(context.Background(), nil); err == nil {
		t.Error("nil request accepted")
	}
}
