package fetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/contentmesh/contentmesh/mesh"
)

// newServer starts an httptest server and a client for it; both are closed with the test.
func newServer(t *testing.T, h http.HandlerFunc, cfg Config, opts Options) (*Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	cfg.BaseURL = srv.URL
	c, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.CloseIdleConnections()
		srv.Close()
	})
	return c, srv
}

func TestBodyLimit(t *testing.T) {
	body := `{"items":[` + strings.Repeat(`"x",`, 250) + `"x"]}` // 1013 bytes
	c, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			w.Write([]byte(body[:500])) // no Content-Length: sent chunked
			w.(http.Flusher).Flush()
			w.Write([]byte(body[500:]))
			return
		}
		w.Write([]byte(body))
	}, Config{}, Options{MaxBodyBytes: int64(len(body))})
	ctx := context.Background()
	if r, err := c.GetJSON(ctx, "/exact?key=k3y-value", nil); err != nil || len(r.Body) != len(body) {
		t.Fatalf("body at the limit: err %v", err)
	}
	c2, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/head" {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			return
		}
		if r.URL.Path == "/chunked" {
			w.Write([]byte(body[:500]))
			w.(http.Flusher).Flush()
			w.Write([]byte(body[500:]))
			return
		}
		w.Write([]byte(body))
	}, Config{}, Options{MaxBodyBytes: int64(len(body) - 1)})
	// A HEAD answer declares the length of the body it does not send.
	if r, err := c2.Do(ctx, &Request{Method: "HEAD", URL: "/head"}); err != nil || r.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
		t.Fatalf("HEAD: err %v", err)
	}
	for _, path := range []string{"/declared?key=k3y-value", "/chunked?key=k3y-value"} {
		_, err := c2.GetJSON(ctx, path, nil)
		if !errors.Is(err, mesh.ErrBadResponse) || !strings.Contains(err.Error(), "maxBodyBytes") ||
			!strings.Contains(err.Error(), "key=REDACTED") || strings.Contains(err.Error(), "k3y-value") {
			t.Errorf("%s: err = %v", path, err)
		}
	}
	if st := c2.Stats(); st.Retries != 0 || st.Failures != 2 {
		t.Errorf("a too large body is retried: %+v", st)
	}
}

func TestGetJSONValidates(t *testing.T) {
	c, srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/json" {
			t.Errorf("Accept = %q", r.Header.Get("Accept"))
		}
		switch r.URL.Path {
		case "/html":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<!DOCTYPE html><html><title>Sign in</title></html>"))
		case "/truncated":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"items":[{"id":"1"},{"id":`))
		case "/empty":
		default:
			w.Write([]byte(`{"items":[{"id":"1"}]}`))
		}
	}, Config{}, Options{})
	ctx := context.Background()
	for _, path := range []string{"/html", "/truncated", "/empty"} {
		_, err := c.GetJSON(ctx, path, map[string][]string{"access_token": {"t0ken-value"}})
		if !errors.Is(err, mesh.ErrBadResponse) {
			t.Errorf("%s: err = %v, want ErrBadResponse", path, err)
			continue
		}
		want := "GET " + srv.URL + path + "?access_token=REDACTED: bad response: body is not valid JSON"
		if !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: err = %q, want prefix %q", path, err, want)
		}
	}
	r, err := c.GetJSON(ctx, "/ok", nil)
	if err != nil || r.Get("items.0.id").String() != "1" {
		t.Errorf("ok: %v", err)
	}
}

func TestConditionalRequests(t *testing.T) {
	const etag = `W/"v42"`
	const lastMod = "Sun, 03 May 2026 11:00:00 GMT"
	c, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", lastMod)
		if r.Header.Get("If-None-Match") == etag || r.Header.Get("If-Modified-Since") == lastMod {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write([]byte(`{"v":42}`))
	}, Config{}, Options{})
	ctx, rec := withRecorder()
	first, err := c.GetJSON(ctx, "/doc", nil)
	if err != nil || first.NotModified || first.ETag != etag || first.LastModified != lastMod {
		t.Fatalf("first: %+v, %v", first, err)
	}
	for _, req := range []*Request{{URL: "/doc", IfNoneMatch: first.ETag}, {URL: "/doc", IfModifiedSince: first.LastModified}} {
		again, err := c.DoJSON(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if !again.NotModified || again.Status != 304 || len(again.Body) != 0 || again.ETag != etag {
			t.Errorf("conditional: %+v", again)
		}
	}
	if st := c.Stats(); st.NotModified != 2 || st.Requests != 3 || st.Failures != 0 {
		t.Errorf("stats = %+v", st)
	}
	ev := rec.all()
	if len(ev) != 3 || ev[0].NotModified || !ev[1].NotModified || !ev[2].NotModified || ev[1].Status != 304 {
		t.Errorf("events = %+v", ev)
	}
}

func TestStatusErrorFromServer(t *testing.T) {
	big := strings.Repeat("z", 100<<10)
	c, srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"message":"too big","pad":"` + big + `"}`))
		default:
			w.Header().Set("Content-Type", "application/vnd.contentful.delivery.v1+json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"sys":{"type":"Error","id":"AccessTokenInvalid"},"message":"The access token you sent could not be found or is invalid.","requestId":"abc"}`))
		}
	}, Config{Source: "cms", Auth: func(r *http.Request) error {
		r.Header.Set("Authorization", "Bearer cf-token-123")
		return nil
	}}, Options{})
	_, err := c.GetJSON(context.Background(), "/spaces/s/entries", nil)
	if !errors.Is(err, mesh.ErrUnauthorized) {
		t.Fatalf("err = %v", err)
	}
	want := "GET " + srv.URL + "/spaces/s/entries: 401 Unauthorized: AccessTokenInvalid: The access token you sent could not be found or is invalid."
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
	_, err = c.GetJSON(context.Background(), "/big", nil)
	var se *StatusError
	if !errors.As(err, &se) || len(se.Body) != ErrorBodyBytes || se.Message != "too big" {
		t.Errorf("big error body: %v (%d bytes kept)", err, len(se.Body))
	}
}

func TestRedirectURL(t *testing.T) {
	c, srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new?cv=7&token=t0k-en", http.StatusFound)
			return
		}
		w.Header().Add("Link", `<page2>; rel="next"`)
		w.Write([]byte(`{}`))
	}, Config{}, Options{})
	r, err := c.GetJSON(context.Background(), "/old", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := srv.URL + "/new?cv=7&token=REDACTED"; r.URL != want {
		t.Errorf("URL = %q, want %q", r.URL, want)
	}
	next, err := r.Resolve(LinkNext(r.Header))
	if want := srv.URL + "/page2"; err != nil || next != want {
		t.Errorf("Resolve = %q, %v; want %q", next, err, want)
	}
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := New(Config{BaseURL: "http://" + addr}, Options{Retries: intp(0)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	_, err = c.GetJSON(context.Background(), "/x", map[string][]string{"api_key": {"the-api-key"}})
	var re *RequestError
	if !errors.As(err, &re) || !strings.HasPrefix(err.Error(), "GET http://"+addr+"/x?api_key=REDACTED: dial tcp ") ||
		strings.Contains(err.Error(), "the-api-key") {
		t.Errorf("err = %v", err)
	}
}

func TestGraphQL(t *testing.T) {
	var calls atomic.Int32
	c, srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Method != "POST" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s", r.Method, r.Header.Get("Content-Type"))
		}
		var body [512]byte
		n, _ := r.Body.Read(body[:])
		q := string(body[:n])
		switch {
		case strings.Contains(q, "unauth"):
			w.Write([]byte(`{"errors":[{"message":"Invalid token","extensions":{"code":"UNAUTHENTICATED"}}],"data":null}`))
		case strings.Contains(q, "partial"):
			w.Write([]byte(`{"errors":[{"message":"no access to field x","path":["shop","x"]},{"message":"b"},{"message":"c"},{"message":"d"}],"data":{"shop":{"name":"S"}}}`))
		case strings.Contains(q, `"handle":"trail"`):
			w.Write([]byte(`{"data":{"product":{"title":"Trail Runner"}}}`))
		default:
			w.Write([]byte(`{"data":{"product":null}}`))
		}
	}, Config{}, Options{})
	ctx := context.Background()
	r, err := c.GraphQL(ctx, "/api/graphql", `query($handle: String!) { product(handle: $handle) { title } }`, map[string]any{"handle": "trail"})
	if err != nil || r.Get("data.product.title").String() != "Trail Runner" {
		t.Fatalf("query: %v", err)
	}
	_, err = c.GraphQL(ctx, "/api/graphql", `{ unauth }`, nil)
	var ge *GraphQLError
	if !errors.As(err, &ge) || !errors.Is(err, mesh.ErrUnauthorized) || ge.Partial {
		t.Errorf("unauth: %v", err)
	}
	if want := "POST " + srv.URL + "/api/graphql: GraphQL error: UNAUTHENTICATED: Invalid token"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	_, err = c.GraphQL(ctx, "/api/graphql", `{ partial }`, nil)
	if !errors.As(err, &ge) || !ge.Partial || ge.Response.Get("data.shop.name").String() != "S" {
		t.Fatalf("partial: %v", err)
	}
	if want := "GraphQL partial data with 4 errors: no access to field x; b; c; and 1 more"; !strings.HasSuffix(err.Error(), want) {
		t.Errorf("err = %q, want suffix %q", err, want)
	}
	if _, err := c.GraphQL(ctx, "/api/graphql", "{}", make(chan int)); err == nil {
		t.Error("unencodable variables accepted")
	}
	if calls.Load() != 3 {
		t.Errorf("%d calls", calls.Load())
	}
}

func TestGraphQLThrottled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{handle: func(_ *http.Request, n int) (*http.Response, error) {
			if n == 0 {
				// Shopify: 212 points missing at 50 points per second: wait 4.24s.
				return answer(200, `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}],
					"extensions":{"cost":{"requestedQueryCost":252,"actualQueryCost":null,
					"throttleStatus":{"maximumAvailable":1000,"currentlyAvailable":40,"restoreRate":50}}}}`), nil
			}
			if n == 1 {
				return answer(200, `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}]}`), nil
			}
			return answer(200, `{"data":{"shop":{"name":"S"}}}`), nil
		}}
		c := newFake(t, Config{}, Options{}, rt)
		r, err := c.GraphQL(context.Background(), "/graphql", "{ shop { name } }", nil)
		if err != nil || r.Get("data.shop.name").String() != "S" {
			t.Fatalf("err = %v", err)
		}
		reqs := rt.requests()
		if len(reqs) != 3 {
			t.Fatalf("%d requests", len(reqs))
		}
		if got := reqs[1].at.Sub(reqs[0].at); got != 4240*time.Millisecond {
			t.Errorf("first wait %s, want 4.24s from the cost extension", got)
		}
		if got := reqs[2].at.Sub(reqs[1].at); got != 500*time.Millisecond {
			t.Errorf("second wait %s, want the 500ms backoff", got)
		}
		if reqs[2].body != `{"query":"{ shop { name } }"}` {
			t.Errorf("body = %s", reqs[2].body)
		}
		if st := c.Stats(); st.Throttled != 2 {
			t.Errorf("stats = %+v", st)
		}
	})
}

func TestOptionsFromYAML(t *testing.T) {
	var cfg struct {
		Space   string `yaml:"space"`
		Options `yaml:",inline"`
	}
	src := "space: abc\ntimeout: 45s\nretries: 0\nconcurrency: 4\nrequestsPerSecond: 7.5\nmaxRetryAfter: 2m\nmaxBodyBytes: 1048576\nretryWaitMin: 100ms\nretryWaitMax: 5s\n"
	if err := yaml.Unmarshal([]byte(src), &cfg); err != nil {
		t.Fatal(err)
	}
	o := cfg.Options
	if cfg.Space != "abc" || o.Timeout != 45*time.Second || o.Retries == nil || *o.Retries != 0 || o.Concurrency != 4 ||
		o.RequestsPerSecond != 7.5 || o.MaxRetryAfter != 2*time.Minute || o.MaxBodyBytes != 1<<20 ||
		o.RetryWaitMin != 100*time.Millisecond || o.RetryWaitMax != 5*time.Second {
		t.Errorf("decoded %+v (retries %v)", o, o.Retries)
	}
	var empty struct {
		Options `yaml:",inline"`
	}
	if err := yaml.Unmarshal([]byte("{}"), &empty); err != nil || empty.Retries != nil {
		t.Fatalf("absent retries: %v %v", err, empty.Retries)
	}
	c, err := New(Config{}, empty.Options)
	if err != nil || *c.Options().Retries != DefaultRetries {
		t.Errorf("absent retries resolve to %v, %v", c.Options().Retries, err)
	}
	if err := yaml.Unmarshal([]byte("timeout: soon"), &empty); err == nil {
		t.Error("a bad duration decoded")
	}
}

func BenchmarkGetJSON(b *testing.B) {
	body := []byte(`{"total":100,"items":[` + strings.Repeat(`{"sys":{"id":"abc"},"fields":{"title":"Hello"}},`, 99) + `{"sys":{"id":"z"}}]}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseIdleConnections()
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.GetJSON(ctx, "/entries", nil); err != nil {
				panic(fmt.Sprint(err))
			}
		}
	})
}
