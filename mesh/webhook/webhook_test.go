package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/contentmesh/contentmesh/mesh"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeBuilds is a BuildFunc that counts builds, stamps each with a logical start time, and can
// hold builds until released or fail them.
type fakeBuilds struct {
	clock *atomic.Int64 // shared with the test: arrivals tick it too

	mu      sync.Mutex
	calls   [][]string
	starts  []int64
	hold    map[int]chan struct{} // build number -> released when closed
	err     error
	started chan int // receives each build number as it starts, when set
}

func newFake() *fakeBuilds {
	return &fakeBuilds{clock: new(atomic.Int64), hold: map[int]chan struct{}{}}
}

func (f *fakeBuilds) build(ctx context.Context, sources []string) (*mesh.Build, error) {
	f.mu.Lock()
	f.calls = append(f.calls, sources)
	n := len(f.calls)
	f.starts = append(f.starts, f.clock.Add(1))
	hold, err, started := f.hold[n], f.err, f.started
	f.mu.Unlock()
	if started != nil {
		started <- n
	}
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return &mesh.Build{}, fmt.Errorf("building: %w", ctx.Err())
		}
	}
	if err != nil {
		return &mesh.Build{Report: mesh.Report{Sources: []mesh.SourceReport{{Name: "shop", Type: "rest", Status: mesh.StatusFailed, Error: err.Error()}}}}, err
	}
	return &mesh.Build{
		Changes: mesh.ChangeSet{Added: []string{fmt.Sprintf("build/%d", n)}, Updated: []string{}, Deleted: []string{}},
		Report:  mesh.Report{Nodes: n, SnapshotSaved: true, Sources: []mesh.SourceReport{{Name: "shop", Type: "rest", Status: mesh.StatusOK}}},
	}, nil
}

func (f *fakeBuilds) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeBuilds) holdBuild(n int) chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := make(chan struct{})
	f.hold[n] = c
	return c
}

// buildNumber reads the build number out of a fake build's change set.
func buildNumber(r Response) int {
	if r.Changes == nil || len(r.Changes.Added) != 1 {
		return 0
	}
	var n int
	fmt.Sscanf(r.Changes.Added[0], "build/%d", &n)
	return n
}

// provider is one route with the means to sign for it.
type provider struct {
	name    string
	route   Route
	sign    func(body []byte, at time.Time) http.Header
	forge   func(body []byte, at time.Time) http.Header
	malform func(h http.Header)
	timed   bool
}

const cfSecret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func providers() []provider {
	cfHeaders := map[string]string{"Content-Type": "application/vnd.contentful.management.v1+json", "X-Contentful-Topic": "ContentManagement.Entry.publish"}
	return []provider{
		{name: "stripe", route: Route{Path: "/hooks/stripe", Verifier: Stripe("whsec_s"), Sources: []string{"billing"}},
			sign:  func(b []byte, at time.Time) http.Header { return signStripe("whsec_s", b, at) },
			forge: func(b []byte, at time.Time) http.Header { return signStripe("whsec_x", b, at) },
			malform: func(h http.Header) {
				h.Set("Stripe-Signature", strings.ReplaceAll(h.Get("Stripe-Signature"), "=", ":"))
			},
			timed: true},
		{name: "shopify", route: Route{Path: "/hooks/shopify", Verifier: Shopify("shpss_s"), Sources: []string{"shop"}},
			sign:    func(b []byte, at time.Time) http.Header { return signShopify("shpss_s", b, at) },
			forge:   func(b []byte, at time.Time) http.Header { return signShopify("shpss_x", b, at) },
			malform: func(h http.Header) { h.Set("X-Shopify-Hmac-Sha256", "not base64!") }},
		{name: "sanity", route: Route{Path: "/hooks/sanity", Verifier: Sanity("sanity_s"), Sources: []string{"cms"}},
			sign:    func(b []byte, at time.Time) http.Header { return signSanity("sanity_s", b, at) },
			forge:   func(b []byte, at time.Time) http.Header { return signSanity("sanity_x", b, at) },
			malform: func(h http.Header) { h.Set("Sanity-Webhook-Signature", "v1=abc,t=1") },
			timed:   true},
		{name: "contentful", route: Route{Path: "/hooks/contentful", Verifier: Contentful(cfSecret), Sources: []string{"cms", "assets"}},
			sign: func(b []byte, at time.Time) http.Header {
				return signContentful(cfSecret, "/hooks/contentful", cfHeaders, b, at)
			},
			forge: func(b []byte, at time.Time) http.Header {
				return signContentful(strings.Repeat("z", 64), "/hooks/contentful", cfHeaders, b, at)
			},
			malform: func(h http.Header) { h.Set("X-Contentful-Timestamp", "12:00") },
			timed:   true},
		{name: "strapi", route: Route{Path: "/hooks/strapi", Verifier: Strapi("strapi_s"), Sources: []string{"blog"}},
			sign: func([]byte, time.Time) http.Header {
				return headerOf(map[string]string{"Authorization": "Bearer strapi_s"})
			},
			forge: func([]byte, time.Time) http.Header {
				return headerOf(map[string]string{"Authorization": "Bearer strapi_x"})
			},
			malform: func(h http.Header) { h.Set("Authorization", "Basic c3RyYXBpX3M=") }},
		{name: "shared secret, all sources", route: Route{Path: "/hooks/other", Verifier: SharedSecret("X-Hook-Secret", "other_s")},
			sign:    func([]byte, time.Time) http.Header { return headerOf(map[string]string{"X-Hook-Secret": "other_s"}) },
			forge:   func([]byte, time.Time) http.Header { return headerOf(map[string]string{"X-Hook-Secret": "other_x"}) },
			malform: func(h http.Header) { h.Add("X-Hook-Secret", "other_s") }},
	}
}

func routesOf(ps []provider) []Route {
	var rs []Route
	for _, p := range ps {
		rs = append(rs, p.route)
	}
	return rs
}

// deliver posts body with header to path and decodes the answer.
func deliver(t *testing.T, h http.Handler, ctx context.Context, method, path string, body []byte, header http.Header) (int, Response) {
	t.Helper()
	r := httptest.NewRequestWithContext(ctx, method, path, bytes.NewReader(body))
	for k, vs := range header {
		r.Header[k] = vs
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var resp Response
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatalf("answer is not JSON (%d): %v\n%s", w.Code, err, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	return w.Code, resp
}

var epoch = time.Unix(1764115200, 0)

// Every provider: valid, replayed, stale, future, forged, malformed, missing, not JSON, too large.
func TestDeliveries(t *testing.T) {
	ps := providers()
	for _, p := range ps {
		t.Run(p.name, func(t *testing.T) {
			fake := newFake()
			now := epoch
			h, err := New(Config{Build: fake.build, Routes: routesOf(ps), Debounce: -1, MaxBody: 1 << 10, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			ctx := context.Background()
			body := []byte(`{"id":"evt_1","object":"event","updated_at":"2025-11-26T00:00:00Z"}`)
			path := p.route.Path

			// Valid: one build of the route's sources, answered with its change set.
			code, resp := deliver(t, h, ctx, http.MethodPost, path, body, p.sign(body, now))
			if code != http.StatusOK || buildNumber(resp) != 1 || !resp.SnapshotSaved || resp.Webhooks != 1 || len(resp.Sources) != 1 {
				t.Fatalf("valid: %d %+v", code, resp)
			}
			if want := slices.Sorted(slices.Values(p.route.Sources)); !slices.Equal(resp.Fetched, want) {
				t.Errorf("fetched %v, want %v", resp.Fetched, want)
			}
			// The same delivery again: acknowledged, not built.
			code, resp = deliver(t, h, ctx, http.MethodPost, path, body, p.sign(body, now))
			if code != http.StatusOK || !resp.Duplicate || resp.Changes != nil || fake.count() != 1 {
				t.Errorf("replayed: %d %+v, %d builds", code, resp, fake.count())
			}
			other := []byte(`{"id":"evt_2","object":"event"}`)
			rejected := []struct {
				name   string
				body   []byte
				header http.Header
				want   int
			}{
				{"forged", other, p.forge(other, now), http.StatusUnauthorized},
				{"missing", other, http.Header{}, http.StatusUnauthorized},
				{"malformed", other, func() http.Header { h := p.sign(other, now); p.malform(h); return h }(), http.StatusUnauthorized},
				{"tampered", other, p.sign([]byte(`{"id":"evt_3"}`), now), http.StatusUnauthorized},
				{"not JSON", []byte(`{"id":`), p.sign([]byte(`{"id":`), now), http.StatusBadRequest},
				{"empty", []byte{}, p.sign([]byte{}, now), http.StatusBadRequest},
				{"too large", bytes.Repeat([]byte("x"), 2<<10), p.sign(bytes.Repeat([]byte("x"), 2<<10), now), http.StatusRequestEntityTooLarge},
			}
			if p.name == "strapi" || strings.HasPrefix(p.name, "shared") {
				rejected = slices.DeleteFunc(rejected, func(c struct {
					name   string
					body   []byte
					header http.Header
					want   int
				}) bool {
					return c.name == "tampered" // a shared secret does not sign the body
				})
			}
			if p.timed {
				rejected = append(rejected,
					struct {
						name   string
						body   []byte
						header http.Header
						want   int
					}{"stale: signed 6 minutes ago", other, p.sign(other, now.Add(-6*time.Minute)), http.StatusUnauthorized},
					struct {
						name   string
						body   []byte
						header http.Header
						want   int
					}{"signed 6 minutes ahead", other, p.sign(other, now.Add(6*time.Minute)), http.StatusUnauthorized})
			}
			for _, c := range rejected {
				code, resp := deliver(t, h, ctx, http.MethodPost, path, c.body, c.header)
				if code != c.want || resp.Error == "" || resp.Changes != nil {
					t.Errorf("%s: %d %+v, want %d", c.name, code, resp, c.want)
				}
			}
			if fake.count() != 1 || h.Builds() != 1 {
				t.Errorf("rejected deliveries built: %d builds (handler counted %d)", fake.count(), h.Builds())
			}
			// Within the window, a delivery signed 4 minutes ago is fine.
			if p.timed {
				old := []byte(`{"id":"evt_4","object":"event"}`)
				if code, resp := deliver(t, h, ctx, http.MethodPost, path, old, p.sign(old, now.Add(-4*time.Minute))); code != http.StatusOK || buildNumber(resp) != 2 {
					t.Errorf("4 minutes old: %d %+v", code, resp)
				}
			}
			// A replay after the window: a signed time rejects it; without one it is a new delivery.
			now = now.Add(6 * time.Minute)
			code, _ = deliver(t, h, ctx, http.MethodPost, path, body, p.sign(body, epoch))
			if p.timed && code != http.StatusUnauthorized {
				t.Errorf("replayed after the window: %d", code)
			}
			if !p.timed && code != http.StatusOK {
				t.Errorf("unsigned time, after the window: %d", code)
			}
		})
	}
}

func TestMethodAndPath(t *testing.T) {
	fake := newFake()
	h, err := New(Config{Build: fake.build, Routes: routesOf(providers()), Debounce: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	body := []byte(`{}`)
	r := httptest.NewRequest(http.MethodGet, "/hooks/strapi", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != http.MethodPost {
		t.Errorf("GET: %d allow %q", w.Code, w.Header().Get("Allow"))
	}
	if code, _ := deliver(t, h, context.Background(), http.MethodPost, "/hooks/nope", body, http.Header{"Authorization": {"Bearer strapi_s"}}); code != http.StatusNotFound {
		t.Errorf("unknown path: %d", code)
	}
	// A chunked body over the limit (no Content-Length) is cut at the limit.
	h2, _ := New(Config{Build: fake.build, Routes: routesOf(providers()), Debounce: -1, MaxBody: 8})
	defer h2.Close()
	r = httptest.NewRequest(http.MethodPost, "/hooks/strapi", strings.NewReader(`{"a":"0123456789"}`))
	r.ContentLength = -1
	r.Header.Set("Authorization", "Bearer strapi_s")
	w = httptest.NewRecorder()
	h2.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge || fake.count() != 0 {
		t.Errorf("chunked over the limit: %d, %d builds", w.Code, fake.count())
	}
}

// A burst of 50 concurrent deliveries makes at most 2 builds, and each delivery is answered by a
// build that started after it arrived (checked with a logical clock: each arrival ticks it before
// the request is served, each build ticks it when it starts).
func TestBurst(t *testing.T) {
	for _, running := range []bool{false, true} {
		t.Run(fmt.Sprintf("build already running: %v", running), func(t *testing.T) {
			fake := newFake()
			p := providers()[0] // stripe
			h, err := New(Config{Build: fake.build, Routes: []Route{p.route}, Debounce: 20 * time.Millisecond, Now: func() time.Time { return epoch }})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			ctx := context.Background()
			var release chan struct{}
			first := make(chan Response, 1)
			if running {
				release = fake.holdBuild(1)
				fake.started = make(chan int, 10)
				go func() {
					b := []byte(`{"id":"evt_first"}`)
					_, resp := deliver(t, h, ctx, http.MethodPost, p.route.Path, b, p.sign(b, epoch))
					first <- resp
				}()
				<-fake.started // build 1 runs, held
			}
			const n = 50
			arrivals := make([]int64, n)
			answers := make([]Response, n)
			codes := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					b := fmt.Appendf(nil, `{"id":"evt_%d"}`, i)
					hdr := p.sign(b, epoch)
					arrivals[i] = fake.clock.Add(1)
					codes[i], answers[i] = deliver(t, h, ctx, http.MethodPost, p.route.Path, b, hdr)
				})
			}
			if running {
				// Let the burst queue behind the running build, then release it.
				waitFor(t, func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.pending != nil && h.pending.webhooks == n })
				close(release)
				if r := <-first; buildNumber(r) != 1 {
					t.Errorf("the first delivery got %+v", r)
				}
			}
			wg.Wait()
			burstBuilds := fake.count()
			if running {
				burstBuilds-- // build 1 was not the burst's
			}
			if burstBuilds < 1 || burstBuilds > 2 {
				t.Errorf("%d deliveries made %d builds", n, burstBuilds)
			}
			served := 0
			for i := range n {
				k := buildNumber(answers[i])
				if codes[i] != http.StatusOK || k == 0 {
					t.Fatalf("delivery %d: %d %+v", i, codes[i], answers[i])
				}
				if running && k == 1 {
					t.Errorf("delivery %d was answered by the build that was running when it came", i)
				}
				fake.mu.Lock()
				start := fake.starts[k-1]
				fake.mu.Unlock()
				if start <= arrivals[i] {
					t.Errorf("delivery %d (arrived at tick %d) answered by build %d, started at tick %d", i, arrivals[i], k, start)
				}
				served += answers[i].Webhooks
			}
			if fake.count() == 1+btoi(running) && served != n*n {
				t.Errorf("one build should report all %d webhooks to each: %d", n, served)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// waitFor polls cond; it fails the test after 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAsync(t *testing.T) {
	fake := newFake()
	fake.started = make(chan int, 10)
	release := fake.holdBuild(1)
	ps := providers()
	h, err := New(Config{Build: fake.build, Routes: routesOf(ps), Debounce: -1, Async: true, Now: func() time.Time { return epoch }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	send := func(p provider, id string) (int, Response) {
		b := []byte(`{"id":"` + id + `"}`)
		return deliver(t, h, ctx, http.MethodPost, p.route.Path, b, p.sign(b, epoch))
	}
	if code, resp := send(ps[1], "a"); code != http.StatusAccepted || !resp.Accepted {
		t.Fatalf("async: %d %+v", code, resp)
	}
	<-fake.started // build 1 runs (held) in the handler's goroutine
	for i, p := range ps[1:4] {
		if code, _ := send(p, fmt.Sprint("b", i)); code != http.StatusAccepted {
			t.Errorf("async while building: %d", code)
		}
	}
	close(release)
	if err := h.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if fake.count() != 2 {
		t.Errorf("%d builds, want 2", fake.count())
	}
	fake.mu.Lock()
	second := fake.calls[1]
	fake.mu.Unlock()
	if !slices.Equal(second, []string{"assets", "cms", "shop"}) {
		t.Errorf("second build's sources %v: want the union of the routes'", second)
	}
	if code, _ := send(ps[1], "c"); code != http.StatusServiceUnavailable {
		t.Errorf("after Shutdown: %d", code)
	}
}

// Close cancels the build in progress; its callers get 503, and so does anything later.
func TestClose(t *testing.T) {
	fake := newFake()
	fake.started = make(chan int, 10)
	fake.holdBuild(1) // never released: only Close ends it
	p := providers()[4]
	h, err := New(Config{Build: fake.build, Routes: []Route{p.route}, Debounce: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	codes := make(chan int, 3)
	for i := range 3 {
		go func() {
			b := fmt.Appendf(nil, `{"n":%d}`, i)
			code, _ := deliver(t, h, ctx, http.MethodPost, p.route.Path, b, p.sign(b, epoch))
			codes <- code
		}()
		if i == 0 {
			<-fake.started
		}
	}
	waitFor(t, func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.pending != nil && h.pending.webhooks == 2 })
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if code := <-codes; code != http.StatusServiceUnavailable {
			t.Errorf("caller of a cancelled build: %d", code)
		}
	}
	if fake.count() != 1 {
		t.Errorf("%d builds: the queued batch should not build after Close", fake.count())
	}
	b := []byte(`{}`)
	if code, _ := deliver(t, h, ctx, http.MethodPost, p.route.Path, b, p.sign(b, epoch)); code != http.StatusServiceUnavailable {
		t.Errorf("after Close: %d", code)
	}
}

// A failed build forgets its deliveries, so the provider's retry builds again.
func TestFailedBuildAcceptsTheRetry(t *testing.T) {
	fake := newFake()
	fake.err = &mesh.SourceError{Source: "shop", Kind: "rest", Err: errors.New("GET http://127.0.0.1/products?api_key=REDACTED: 500")}
	p := providers()[1]
	h, err := New(Config{Build: fake.build, Routes: []Route{p.route}, Debounce: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ctx := context.Background()
	body := []byte(`{"id":1}`)
	code, resp := deliver(t, h, ctx, http.MethodPost, p.route.Path, body, p.sign(body, epoch))
	if code != http.StatusBadGateway || resp.Changes != nil || len(resp.Sources) != 1 || resp.Sources[0].Status != mesh.StatusFailed {
		t.Fatalf("failed build: %d %+v", code, resp)
	}
	fake.mu.Lock()
	fake.err = nil
	fake.mu.Unlock()
	code, resp = deliver(t, h, ctx, http.MethodPost, p.route.Path, body, p.sign(body, epoch))
	if code != http.StatusOK || resp.Duplicate || buildNumber(resp) != 2 {
		t.Errorf("retry: %d %+v", code, resp)
	}
	if code, resp = deliver(t, h, ctx, http.MethodPost, p.route.Path, body, p.sign(body, epoch)); !resp.Duplicate {
		t.Errorf("after success the delivery is a duplicate: %d %+v", code, resp)
	}
}

func TestBuildErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want int
		msg  string
	}{
		{"snapshot conflict", fmt.Errorf("save snapshot: %w", mesh.ErrSnapshotConflict), http.StatusServiceUnavailable, "retry"},
		{"dangling refs", fmt.Errorf("%w: 1", mesh.ErrDanglingRefs), http.StatusInternalServerError, "dangling"},
		{"store", errors.New("save snapshot: open /srv/secret-cache/manifest.json: permission denied"), http.StatusInternalServerError, "see the log"},
		{"deadline", fmt.Errorf("fetch: %w", context.DeadlineExceeded), http.StatusGatewayTimeout, "ran out of time"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake()
			fake.err = tt.err
			p := providers()[4]
			h, _ := New(Config{Build: fake.build, Routes: []Route{p.route}, Debounce: -1})
			defer h.Close()
			code, resp := deliver(t, h, context.Background(), http.MethodPost, p.route.Path, []byte(`{}`), p.sign(nil, epoch))
			if code != tt.want || !strings.Contains(resp.Error, tt.msg) || strings.Contains(resp.Error, "/srv/") {
				t.Errorf("%d %q", code, resp.Error)
			}
		})
	}
	t.Run("build over MaxDuration", func(t *testing.T) {
		fake := newFake()
		fake.holdBuild(1)
		p := providers()[4]
		h, _ := New(Config{Build: fake.build, Routes: []Route{p.route}, Debounce: -1, MaxDuration: 20 * time.Millisecond})
		defer h.Close()
		code, resp := deliver(t, h, context.Background(), http.MethodPost, p.route.Path, []byte(`{}`), p.sign(nil, epoch))
		if code != http.StatusGatewayTimeout || !strings.Contains(resp.Error, "out of time") {
			t.Errorf("%d %+v", code, resp)
		}
	})
	t.Run("caller's deadline passes while it waits", func(t *testing.T) {
		fake := newFake()
		fake.started = make(chan int, 2)
		release := fake.holdBuild(1)
		p := providers()[4]
		h, _ := New(Config{Build: fake.build, Routes: []Route{p.route}, Debounce: -1})
		defer h.Close()
		first, second := make(chan Response, 1), make(chan Response, 1)
		go func() {
			_, resp := deliver(t, h, context.Background(), http.MethodPost, p.route.Path, []byte(`{"a":1}`), p.sign(nil, epoch))
			first <- resp
		}()
		<-fake.started
		// The second delivery opens the next batch and leads it: it waits for build 1, then builds.
		go func() {
			_, resp := deliver(t, h, context.Background(), http.MethodPost, p.route.Path, []byte(`{"a":2}`), p.sign(nil, epoch))
			second <- resp
		}()
		waitFor(t, func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.pending != nil })
		// The third joins that batch; its deadline passes first.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		code, resp := deliver(t, h, ctx, http.MethodPost, p.route.Path, []byte(`{"a":3}`), p.sign(nil, epoch))
		if code != http.StatusGatewayTimeout || !strings.Contains(resp.Error, "gave up waiting") {
			t.Errorf("%d %+v", code, resp)
		}
		close(release)
		if r := <-first; buildNumber(r) != 1 {
			t.Errorf("first caller: %+v", r)
		}
		// The abandoned delivery's batch still builds: its change is not lost.
		if r := <-second; buildNumber(r) != 2 || r.Webhooks != 2 {
			t.Errorf("second caller: %+v", r)
		}
	})
	t.Run("panic in the build", func(t *testing.T) {
		p := providers()[4]
		calls := 0
		h, _ := New(Config{Build: func(ctx context.Context, s []string) (*mesh.Build, error) {
			calls++
			if calls == 1 {
				panic("boom")
			}
			return &mesh.Build{}, nil
		}, Routes: []Route{p.route}, Debounce: -1})
		defer h.Close()
		code, _ := deliver(t, h, context.Background(), http.MethodPost, p.route.Path, []byte(`{}`), p.sign(nil, epoch))
		if code != http.StatusInternalServerError {
			t.Errorf("panic: %d", code)
		}
		code, _ = deliver(t, h, context.Background(), http.MethodPost, p.route.Path, []byte(`{}`), p.sign(nil, epoch))
		if code != http.StatusOK {
			t.Errorf("after a panic the handler should build again: %d", code)
		}
	})
}

func TestNew(t *testing.T) {
	m, _ := mesh.New(mesh.Options{})
	src := stubSource{}
	m.Add("cms", src)
	ok := Route{Path: "/h", Verifier: Strapi("t"), Sources: []string{"cms"}}
	build := func(context.Context, []string) (*mesh.Build, error) { return nil, nil }
	for _, tt := range []struct {
		name string
		cfg  Config
	}{
		{"no mesh or build", Config{Routes: []Route{ok}}},
		{"no routes", Config{Mesh: m}},
		{"relative path", Config{Mesh: m, Routes: []Route{{Path: "h", Verifier: Strapi("t")}}}},
		{"path twice", Config{Mesh: m, Routes: []Route{ok, ok}}},
		{"no verifier", Config{Mesh: m, Routes: []Route{{Path: "/h"}}}},
		{"empty secret", Config{Mesh: m, Routes: []Route{{Path: "/h", Verifier: Stripe("")}}}},
		{"contentful secret of the wrong length", Config{Mesh: m, Routes: []Route{{Path: "/h", Verifier: Contentful("abc")}}}},
		{"unknown source", Config{Mesh: m, Routes: []Route{{Path: "/h", Verifier: Strapi("t"), Sources: []string{"shop"}}}}},
		{"invalid source name", Config{Build: build, Routes: []Route{{Path: "/h", Verifier: Strapi("t"), Sources: []string{"a/b"}}}}},
		{"negative max body", Config{Mesh: m, Routes: []Route{ok}, MaxBody: -1}},
	} {
		if _, err := New(tt.cfg); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
	h, err := New(Config{Mesh: m, Routes: []Route{ok}})
	if err != nil {
		t.Fatal(err)
	}
	if h.window != DefaultReplayWindow || h.debounce != DefaultDebounce || h.maxBody != DefaultMaxBody || h.maxDuration != DefaultMaxDuration {
		t.Errorf("defaults: %+v", h)
	}
	h.Close()
}

type stubSource struct{}

func (stubSource) Kind() string { return "stub" }
func (stubSource) Fetch(context.Context, mesh.FetchRequest, mesh.Emitter) (mesh.FetchResult, error) {
	return mesh.FetchResult{}, nil
}

func TestSeenSet(t *testing.T) {
	s := newSeenSet(time.Minute, 3)
	t0 := epoch
	if !s.add("a", t0) || s.add("a", t0.Add(59*time.Second)) {
		t.Error("a duplicate within the window was accepted")
	}
	if !s.add("a", t0.Add(61*time.Second)) {
		t.Error("after the window the key is new again")
	}
	for _, k := range []string{"b", "c", "d", "e"} {
		s.add(k, t0.Add(62*time.Second))
	}
	if s.len() != 3 {
		t.Errorf("%d keys kept, max 3", s.len())
	}
	if !s.add("a", t0.Add(63*time.Second)) {
		t.Error("the oldest key should have been evicted")
	}
	s.forget([]string{"e"})
	if !s.add("e", t0.Add(64*time.Second)) {
		t.Error("a forgotten key should be accepted")
	}
	if s.len() > 3 || len(s.order) > 3 {
		t.Errorf("memory not bounded: %d keys, %d entries", s.len(), len(s.order))
	}
}
