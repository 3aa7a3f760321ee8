package fetch

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/contentmesh/contentmesh/mesh"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// sent is one request seen by fakeRT.
type sent struct {
	at     time.Time
	method string
	url    string
	header http.Header
	body   string
}

// fakeRT is a RoundTripper for synctest tests: handle answers each request (n counts from 0), after
// an optional fake-clock latency. It records every request and the most requests in flight at once.
type fakeRT struct {
	handle  func(req *http.Request, n int) (*http.Response, error)
	latency time.Duration

	mu          sync.Mutex
	sent        []sent
	inFlight    int
	maxInFlight int
}

func (f *fakeRT) RoundTrip(req *http.Request) (*http.Response, error) {
	var body string
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		req.Body.Close()
		body = string(b)
	}
	f.mu.Lock()
	n := len(f.sent)
	f.sent = append(f.sent, sent{at: time.Now(), method: req.Method, url: req.URL.String(), header: req.Header.Clone(), body: body})
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if f.latency > 0 {
		t := time.NewTimer(f.latency)
		select {
		case <-t.C:
		case <-req.Context().Done():
			t.Stop()
			return nil, req.Context().Err()
		}
	}
	resp, err := f.handle(req, n)
	if resp != nil {
		resp.Request = req
	}
	return resp, err
}

func (f *fakeRT) requests() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sent(nil), f.sent...)
}

// answer builds a response; header is name, value pairs.
func answer(status int, body string, header ...string) *http.Response {
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Add(header[i], header[i+1])
	}
	return &http.Response{
		StatusCode:    status,
		Status:        http.StatusText(status),
		Header:        h,
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		ProtoMajor:    1, ProtoMinor: 1,
	}
}

// newFake returns a client on a fakeRT with a deterministic jitter (the top of the range, so waits
// are exact and as long as allowed).
func newFake(t *testing.T, cfg Config, opts Options, rt *fakeRT) *Client {
	t.Helper()
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://api.test"
	}
	opts.HTTPClient = &http.Client{Transport: rt}
	c, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	c.rnd = func(n int64) int64 { return n - 1 }
	return c
}

// recorder collects request events.
type recorder struct {
	mu     sync.Mutex
	events []mesh.RequestEvent
}

func (r *recorder) RecordRequest(e mesh.RequestEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) all() []mesh.RequestEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]mesh.RequestEvent(nil), r.events...)
}

func withRecorder() (context.Context, *recorder) {
	r := &recorder{}
	return mesh.WithRecorder(context.Background(), r), r
}

func intp(n int) *int { return &n }
