package meshtest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// writeFiles creates files (slash paths relative to dir) with the given contents.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, u string, header http.Header) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, u, err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

func get(t *testing.T, u string) response { t.Helper(); return do(t, http.MethodGet, u, nil) }

func TestFixtureFile(t *testing.T) {
	tests := []struct {
		method, path string
		query        url.Values
		want         string
	}{
		{"GET", "/wp-json/wp/v2/posts", url.Values{"per_page": {"100"}, "page": {"1"}}, "GET/wp-json/wp/v2/posts__page=1&per_page=100.json"},
		{"GET", "/spaces/s1/entries/abc", nil, "GET/spaces/s1/entries/abc.json"},
		{"GET", "/api/", nil, "GET/api/_index.json"},
		{"GET", "/", url.Values{"locale": {"*"}}, "GET/_index__locale=%2A.json"},
		{"POST", "/graphql", nil, "POST/graphql.json"},
		{"GET", "/feed.json", nil, "GET/feed.json.json"},
		{"GET", "/x", url.Values{"tag": {"b", "a"}, "q": {"a b/c"}}, "GET/x__q=a+b%2Fc&tag=a&tag=b.json"},
		{"GET", "/a%20b", nil, "GET/a%20b.json"},
	}
	for _, tt := range tests {
		if got := FixtureFile(tt.method, tt.path, tt.query); got != tt.want {
			t.Errorf("FixtureFile(%s %s %v) = %s, want %s", tt.method, tt.path, tt.query, got, tt.want)
		}
	}
}

func TestStaticFixtures(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"GET/v1/posts__per_page=2&page=1.json": `{"page":1}`,
		"GET/v1/posts__page=2&per_page=2.json": `{"page":2}`,
		"GET/v1/posts.json":                    `{"all":true}`,
		"GET/_index.json":                      `{"root":true}`,
		"GET/v1/_index__locale=%2A.json":       `{"locales":"*"}`,
		"GET/v1/feed.json.json":                `{"feed":true}`,
		"GET/v1/page.html":                     `<p>hi</p>`,
		"GET/v1/limited.json":                  `{"sys":{"id":"RateLimitExceeded"}}`,
		"GET/v1/limited.headers":               "# a throttled answer\nStatus: 429 Too Many Requests\nX-Contentful-RateLimit-Reset: 1\nContent-Type: application/vnd.contentful.delivery.v1+json\nLink: <{{baseURL}}/v1/posts?page=2>; rel=\"next\"\nLink: <{{baseURL}}/v1/posts?page=9>; rel=\"last\"\n",
		"GET/v1/gone.headers":                  "Status: 204\n",
		"GET/v1/links.json":                    `{"next":"{{baseURL}}/v1/posts?page=2&per_page=2"}`,
		"POST/v1/posts.json":                   `{"created":true}`,
		"data.json":                            `not a fixture: beside the method folders`,
		"assets/GET/x.json":                    `not a fixture either`,
		"GET/v1/.gitkeep":                      ``,
	})
	srv := NewFixtureServer(t, dir)
	srv.IgnoreQuery("_t")
	tests := []struct {
		method, path string
		status       int
		body         string
		contentType  string
	}{
		{"GET", "/v1/posts?page=1&per_page=2", 200, `{"page":1}`, "application/json"},
		{"GET", "/v1/posts?per_page=2&page=1", 200, `{"page":1}`, "application/json"},
		{"GET", "/v1/posts?per_page=2&page=2&_t=12345", 200, `{"page":2}`, "application/json"},
		{"GET", "/v1/posts", 200, `{"all":true}`, "application/json"},
		{"GET", "/v1/posts?_t=1", 200, `{"all":true}`, "application/json"},
		{"GET", "/", 200, `{"root":true}`, "application/json"},
		{"GET", "/v1/?locale=*", 200, `{"locales":"*"}`, "application/json"},
		{"GET", "/v1/?locale=%2A", 200, `{"locales":"*"}`, "application/json"},
		{"GET", "/v1/feed.json", 200, `{"feed":true}`, "application/json"},
		{"GET", "/v1/page", 200, `<p>hi</p>`, "text/html; charset=utf-8"},
		{"GET", "/v1/limited", 429, `{"sys":{"id":"RateLimitExceeded"}}`, "application/vnd.contentful.delivery.v1+json"},
		{"GET", "/v1/gone", 204, ``, ""},
		{"GET", "/v1/links", 200, `{"next":"` + srv.URL + `/v1/posts?page=2&per_page=2"}`, "application/json"},
		{"POST", "/v1/posts", 200, `{"created":true}`, "application/json"},
		{"HEAD", "/v1/posts", 200, ``, "application/json"},
	}
	for _, tt := range tests {
		r := do(t, tt.method, srv.URL+tt.path, nil)
		if r.status != tt.status || r.body != tt.body || r.header.Get("Content-Type") != tt.contentType {
			t.Errorf("%s %s: %d %q %q, want %d %q %q", tt.method, tt.path, r.status, r.header.Get("Content-Type"), r.body,
				tt.status, tt.contentType, tt.body)
		}
	}
	r := get(t, srv.URL+"/v1/limited")
	if got := r.header.Values("Link"); len(got) != 2 || got[0] != "<"+srv.URL+"/v1/posts?page=2>; rel=\"next\"" {
		t.Errorf("Link headers %q: want both, with the base URL filled in", got)
	}
	if r.header.Get("X-Contentful-RateLimit-Reset") != "1" {
		t.Errorf("sidecar header missing: %v", r.header)
	}

	for _, path := range []string{"/v1/posts?page=3&per_page=2", "/data.json", "/assets/GET/x.json", "/v1/posts/"} {
		r := get(t, srv.URL+path)
		if r.status != 404 || !strings.Contains(r.body, "no route or fixture for GET") {
			t.Errorf("GET %s: %d %s, want a 404 naming the request", path, r.status, r.body)
		}
	}
	r = get(t, srv.URL+"/v1/posts?page=3&per_page=2")
	var nf struct{ LookedFor string }
	if err := json.Unmarshal([]byte(r.body), &nf); err != nil || nf.LookedFor != "GET/v1/posts__page=3&per_page=2.json" {
		t.Errorf("404 body %s: want lookedFor GET/v1/posts__page=3&per_page=2.json", r.body)
	}
	reqs := srv.Requests()
	if reqs[0].Route != "file GET/v1/posts__per_page=2&page=1.json" || reqs[0].Status != 200 || reqs[0].Key() != "GET /v1/posts?page=1&per_page=2" {
		t.Errorf("first request recorded as %+v", reqs[0])
	}
	if un := srv.Unmatched(); len(un) != 5 || un[0].Key() != "GET /v1/posts?page=3&per_page=2" {
		t.Errorf("Unmatched: %d requests, want 5: %+v", len(un), un)
	}
}

func TestFixtureLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"same request twice", map[string]string{"GET/a.json": "{}", "GET/a.html": "x"}, "GET/a.html and GET/a.json answer the same request"},
		{"same query in two orders", map[string]string{"GET/a__x=1&y=2.json": "{}", "GET/a__y=2&x=1.json": "{}"}, "answer the same request (queries are compared in canonical order)"},
		{"no extension", map[string]string{"GET/a": "{}"}, "GET/a: a fixture file needs an extension"},
		{"bad header line", map[string]string{"GET/a.json": "{}", "GET/a.headers": "Retry-After 1\n"}, `GET/a.headers: line 1: want "Name: value"`},
		{"bad status", map[string]string{"GET/a.headers": "Status: soon\n"}, `GET/a.headers: line 1: status "soon" is not an HTTP status code`},
		{"query without path", map[string]string{"GET/a/__x=1.json": "{}"}, "empty path segment before the query part"},
		{"bad query", map[string]string{"GET/a__x=%zz.json": "{}"}, "GET/a__x=%zz: query part"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			s := &FixtureServer{fixtures: map[string][]*fixture{}}
			err := s.load(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("load: %v, want an error saying %q", err, tt.want)
			}
		})
	}
	s := &FixtureServer{fixtures: map[string][]*fixture{}}
	if err := s.load(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("load of a missing folder: %v", err)
	}
}

func TestRoutesAndCredentials(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"GET/items.json": `{"from":"file"}`, "GET/settings__space=s1.json": `{"from":"file"}`})
	srv := NewFixtureServer(t, dir)
	srv.Handle("GET /items", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, 200, map[string]int{"page": QueryInt(r, "page", 1)})
	})
	srv.HandleJSON("GET /config", map[string]string{"mode": "test"})
	srv.Handle("GET /empty", func(http.ResponseWriter, *http.Request) {})
	srv.RequireHeader("Authorization", "Bearer good")
	srv.RequireQuery("space", "s1")
	srv.SetUnauthorized(401, http.Header{"Content-Type": {"application/vnd.contentful.delivery.v1+json"}},
		[]byte(`{"sys":{"type":"Error","id":"AccessTokenInvalid"}}`))
	auth := http.Header{"Authorization": {"Bearer good"}, "X-Trace": {"t1"}}

	if r := do(t, "GET", srv.URL+"/items?space=s1&page=3", auth); r.status != 200 || r.body != `{"page":3}` {
		t.Errorf("route: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", srv.URL+"/config?space=s1", auth); r.body != `{"mode":"test"}` {
		t.Errorf("HandleJSON: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", srv.URL+"/empty?space=s1", auth); r.status != 200 || r.body != "" {
		t.Errorf("empty route: %d %q", r.status, r.body)
	}
	if r := do(t, "GET", srv.URL+"/settings?space=s1", auth); r.body != `{"from":"file"}` {
		t.Errorf("fixture behind a credential: %d %s", r.status, r.body)
	}
	for _, c := range []struct {
		path   string
		header http.Header
	}{
		{"/items?space=s1", http.Header{"Authorization": {"Bearer bad"}}},
		{"/items?space=s2", auth},
		{"/settings?space=s1&access_token=sekret", nil},
	} {
		r := do(t, "GET", srv.URL+c.path, c.header)
		if r.status != 401 || !strings.Contains(r.body, "AccessTokenInvalid") || r.header.Get("Content-Type") != "application/vnd.contentful.delivery.v1+json" {
			t.Errorf("GET %s: %d %s, want the provider's 401", c.path, r.status, r.body)
		}
	}
	reqs := srv.Requests()
	if len(reqs) != 7 {
		t.Fatalf("%d requests recorded, want 7", len(reqs))
	}
	if got := reqs[0]; got.Route != "handle GET /items" || got.Header.Get("Authorization") != Masked || got.Header.Get("X-Trace") != "t1" || got.Rejected {
		t.Errorf("recorded %+v: want the route, the Authorization value masked, X-Trace kept", got)
	}
	if got := reqs[2]; got.Status != 200 || got.Pending() {
		t.Errorf("a handler that writes nothing is recorded as %+v, want status 200", got)
	}
	if got := reqs[6]; !got.Rejected || got.Status != 401 || got.Query.Get("access_token") != Masked || strings.Contains(got.RawQuery, "sekret") {
		t.Errorf("recorded %+v: want rejected, 401, the token masked", got)
	}
}

func TestSecretMasking(t *testing.T) {
	for _, name := range []string{"Authorization", "X-Shopify-Storefront-Access-Token", "X-Auth-Token", "access_token", "key", "api_key", "X-Api-Key", "client_secret", "Cookie", "password", "sig"} {
		if !IsSecretName(name) {
			t.Errorf("IsSecretName(%q) = false", name)
		}
	}
	for _, name := range []string{"Accept", "page", "per_page", "locale", "X-WP-Total", "Content-Type", "monkeys"} {
		if IsSecretName(name) && name != "monkeys" {
			t.Errorf("IsSecretName(%q) = true", name)
		}
	}
	form := maskBody("application/x-www-form-urlencoded", []byte("grant_type=client_credentials&client_secret=s3cr3t&client_id=abc"))
	if strings.Contains(string(form), "s3cr3t") || !strings.Contains(string(form), "client_id=abc") {
		t.Errorf("form body masked as %s", form)
	}
	js := maskBody("application/json", []byte(`{"query":"{ shop { name } }","password":"s3cr3t"}`))
	if strings.Contains(string(js), "s3cr3t") || !strings.Contains(string(js), "shop") {
		t.Errorf("JSON body masked as %s", js)
	}
	other := maskBody("application/json", []byte(`[1,2]`))
	if string(other) != `[1,2]` {
		t.Errorf("a body without secret fields changed: %s", other)
	}
}

func TestResetHeaderValues(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 250_000_000, time.UTC)
	tests := []struct {
		h      ResetHeader
		wait   time.Duration
		value  string
		waitAt time.Duration // from now
	}{
		{RetryAfter, time.Second, "1", time.Second},
		{RetryAfter, 1500 * time.Millisecond, "2", 2 * time.Second},
		{RetryAfter, 0, "0", 0},
		{ResetHeader{"X-Rate-Limit-Time-Reset-Ms", ResetMilliseconds}, 8750 * time.Millisecond, "8750", 8750 * time.Millisecond},
		{ResetHeader{"X-Rate-Limit-Time-Reset-Ms", ResetMilliseconds}, 1500 * time.Microsecond, "2", 2 * time.Millisecond},
		{ResetHeader{"X-Rate-Limit-Reset", ResetUnixSeconds}, time.Second, strconv.FormatInt(now.Unix()+2, 10), 1750 * time.Millisecond},
		{ResetHeader{"Retry-After", ResetHTTPDate}, 2 * time.Second, "Sun, 01 Mar 2026 12:00:03 GMT", 2750 * time.Millisecond},
	}
	for _, tt := range tests {
		v, at := tt.h.value(now, tt.wait)
		if v != tt.value || !at.Equal(now.Add(tt.waitAt)) {
			t.Errorf("%v wait %s: %q at +%s, want %q at +%s", tt.h, tt.wait, v, at.Sub(now), tt.value, tt.waitAt)
		}
	}
}

func TestFaults(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"GET/a.json": `{"items":[1,2,3,4,5,6,7,8]}`, "GET/b/c.json": `{"ok":true}`})

	t.Run("429 then success", func(t *testing.T) {
		srv := NewFixtureServer(t, dir)
		in := srv.Fail429(2, 2*time.Second, RetryAfter, ResetHeader{"X-Contentful-RateLimit-Reset", ResetSeconds})
		for i, want := range []int{429, 429, 200, 200} {
			r := get(t, srv.URL+"/a")
			if r.status != want {
				t.Fatalf("request %d: %d, want %d", i, r.status, want)
			}
			if want == 429 && (r.header.Get("Retry-After") != "2" || r.header.Get("X-Contentful-RateLimit-Reset") != "2" || !json.Valid([]byte(r.body))) {
				t.Errorf("429 answer %v %s", r.header, r.body)
			}
		}
		if in.Hits() != 2 {
			t.Errorf("Hits = %d, want 2", in.Hits())
		}
		reqs := srv.Requests()
		if reqs[0].Fault != "status 429" || reqs[0].Route != "fault" || reqs[0].ResetAt.Sub(reqs[0].Time) < 2*time.Second || !reqs[2].ResetAt.IsZero() {
			t.Errorf("recorded %+v", reqs[:3])
		}
	})

	t.Run("persistent 5xx on a prefix", func(t *testing.T) {
		srv := NewFixtureServer(t, dir)
		srv.Inject(Fault{Count: Always, Prefix: "/b/", Status: 502})
		for range 3 {
			if r := get(t, srv.URL+"/b/c"); r.status != 502 || !strings.Contains(r.body, "injected 502 Bad Gateway") {
				t.Fatalf("%d %s", r.status, r.body)
			}
		}
		if r := get(t, srv.URL+"/a"); r.status != 200 {
			t.Errorf("a path outside the prefix: %d", r.status)
		}
	})

	t.Run("answering faults in order, latency stacks", func(t *testing.T) {
		srv := NewFixtureServer(t, dir)
		lat := srv.Latency(Always, time.Millisecond)
		first := srv.Status(1, 418, []byte("teapot"))
		second := srv.Fail5xx(1, 500)
		got := []int{get(t, srv.URL+"/a").status, get(t, srv.URL+"/a").status, get(t, srv.URL+"/a").status}
		if got[0] != 418 || got[1] != 500 || got[2] != 200 {
			t.Errorf("statuses %v, want 418 500 200", got)
		}
		if lat.Hits() != 3 || first.Hits() != 1 || second.Hits() != 1 {
			t.Errorf("hits %d %d %d", lat.Hits(), first.Hits(), second.Hits())
		}
		if d := srv.Requests()[2].Delay; d != time.Millisecond {
			t.Errorf("Delay recorded %s", d)
		}
	})

	t.Run("truncate", func(t *testing.T) {
		srv := NewFixtureServer(t, dir)
		srv.Truncate(1)
		r := get(t, srv.URL+"/a")
		if r.status != 200 || r.body != `{"items":[1,2` || r.header.Get("Content-Length") != "13" || json.Valid([]byte(r.body)) {
			t.Errorf("truncated answer %d %v %q", r.status, r.header, r.body)
		}
		if rec := srv.Requests()[0]; rec.Fault != "truncate" || rec.Route != "file GET/a.json" {
			t.Errorf("recorded %+v", rec)
		}
		srv.Inject(Fault{Count: 1, Truncate: true, KeepBytes: 3})
		if r := get(t, srv.URL+"/a"); r.body != `{"i` {
			t.Errorf("KeepBytes 3: %q", r.body)
		}
	})

	t.Run("non-JSON", func(t *testing.T) {
		srv := NewFixtureServer(t, dir)
		srv.NonJSON(1)
		r := get(t, srv.URL+"/a")
		if r.status != 200 || r.body != NonJSONPage || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("%d %v %q", r.status, r.header, r.body)
		}
	})

	t.Run("drop", func(t *testing.T) {
		srv := NewFixtureServer(t, dir)
		srv.Drop(1)
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/a", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("a dropped request got %d", resp.StatusCode)
		}
		if rec := srv.Requests()[0]; rec.Fault != "drop" || rec.Pending() || rec.Status != 0 {
			t.Errorf("recorded %+v", rec)
		}
		if r := get(t, srv.URL+"/a"); r.status != 200 {
			t.Errorf("after the drop: %d", r.status)
		}
	})

	t.Run("latency held until removed", func(t *testing.T) {
		srv := NewFixtureServer(t, dir)
		hold := srv.Latency(Always, time.Hour)
		done := make(chan response, 1)
		go func() { done <- get(t, srv.URL+"/a") }()
		if _, err := srv.Await(t.Context(), func(rs []Recorded) bool { return len(rs) == 1 && rs[0].Pending() }); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-done:
			t.Fatalf("answered while held: %d", r.status)
		default:
		}
		hold.Remove()
		if r := <-done; r.status != 200 {
			t.Errorf("after Remove: %d", r.status)
		}
		if rec := srv.Requests()[0]; rec.Delay != time.Hour || rec.Pending() || rec.Answered.Before(rec.Time) {
			t.Errorf("recorded %+v", rec)
		}
	})

	t.Run("latency abandoned by the client", func(t *testing.T) {
		srv := NewFixtureServer(t, dir)
		srv.Latency(1, time.Hour)
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/a", nil)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		if _, err := srv.Await(t.Context(), func(rs []Recorded) bool { return len(rs) == 1 }); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("client: %v", err)
		}
		if _, err := srv.Await(t.Context(), func(rs []Recorded) bool { return rs[0].Abandoned && !rs[0].Pending() }); err != nil {
			t.Error(err)
		}
	})

	t.Run("ClearFaults", func(t *testing.T) {
		srv := NewFixtureServer(t, dir)
		srv.Fail5xx(Always, 503)
		srv.NonJSON(Always)
		srv.ClearFaults()
		if r := get(t, srv.URL+"/a"); r.status != 200 {
			t.Errorf("%d", r.status)
		}
	})

	t.Run("concurrent requests share a count", func(t *testing.T) {
		srv := NewFixtureServer(t, dir)
		srv.Fail429(5, 0)
		var wg sync.WaitGroup
		var mu sync.Mutex
		n429 := 0
		for range 20 {
			wg.Go(func() {
				req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/a", nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				mu.Lock()
				if resp.StatusCode == 429 {
					n429++
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		if n429 != 5 || len(srv.Requests()) != 20 {
			t.Errorf("%d 429s of %d requests, want 5 of 20", n429, len(srv.Requests()))
		}
	})
}

func TestFaultRules(t *testing.T) {
	tests := []struct {
		f    Fault
		want string
	}{
		{Fault{Status: 500}, "count 0"},
		{Fault{Count: -2, Status: 500}, "count -2"},
		{Fault{Count: 1}, "the fault does nothing"},
		{Fault{Count: 1, Status: 1000}, "not an HTTP status"},
		{Fault{Count: 1, Status: 500, Drop: true}, "at most one of"},
		{Fault{Count: 1, Truncate: true, Status: 200}, "at most one of"},
		{Fault{Count: 1, Delay: -1}, "negative"},
		{Fault{Count: 1, Truncate: true, Reset: []ResetHeader{RetryAfter}}, "Reset headers need a Status"},
		{Fault{Count: 1, Delay: time.Second}, ""},
		{Fault{Count: Always, Status: 429, Reset: []ResetHeader{RetryAfter}}, ""},
	}
	for _, tt := range tests {
		err := tt.f.check()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("check(%+v) = %v, want %q", tt.f, err, tt.want)
		}
	}
}

func TestAwaitHonorsContext(t *testing.T) {
	srv := NewFixtureServer(t, "")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := srv.Await(ctx, func(rs []Recorded) bool { return len(rs) > 0 }); !errors.Is(err, context.Canceled) {
		t.Errorf("Await: %v", err)
	}
	if r := get(t, srv.URL+"/anything"); r.status != 404 {
		t.Errorf("a server without fixtures answered %d", r.status)
	}
}

func TestKeyTellsBodiesApart(t *testing.T) {
	srv := NewFixtureServer(t, "")
	srv.Handle("POST /graphql", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body) // the route still gets the body the server recorded
		WriteJSON(w, 200, map[string]string{"echo": string(b)})
	})
	for _, q := range []string{`{"query":"{ a }"}`, `{"query":"{ b }"}`, `{"query":"{ a }"}`} {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/graphql", strings.NewReader(q))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), `{ a }`) && !strings.Contains(string(b), `{ b }`) {
			t.Errorf("the route did not get the body: %s", b)
		}
	}
	r := srv.Requests()
	if r[0].Key() == r[1].Key() || r[0].Key() != r[2].Key() || !strings.HasPrefix(r[0].Key(), "POST /graphql body:") {
		t.Errorf("keys %q %q %q: want equal bodies to share a key, different ones not", r[0].Key(), r[1].Key(), r[2].Key())
	}
}
