package meshtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Masked replaces the value of a secret header, query parameter or body field in Recorded requests.
const Masked = "REDACTED"

// BaseURLPlaceholder is replaced by the server's URL in fixture bodies and header values, so that a
// fixture can hold absolute links back to the server (Link headers, nextPageUrl, nextSyncUrl).
const BaseURLPlaceholder = "{{baseURL}}"

// maxRecordedBody bounds the request body kept in a Recorded request.
const maxRecordedBody = 64 << 10

// FixtureServer is an HTTP server on 127.0.0.1 for adapter tests. It answers each request, in this
// order, with:
//
//  1. an injected fault (Inject, Fail429, Fail5xx, Latency, Truncate, NonJSON, Drop, Status), if one
//     matches;
//  2. the unauthorized response (SetUnauthorized), if a credential requirement (RequireHeader,
//     RequireQuery, RequireFunc) is not met;
//  3. a programmable route registered with Handle or HandleJSON;
//  4. a static fixture file from its directory (see the package documentation for the naming scheme);
//  5. otherwise 404 with a JSON body naming the fixture file it looked for.
//
// Every request is recorded (Requests). All methods are safe for concurrent use. The embedded
// httptest.Server gives URL and Client; the server is closed by the test's cleanup.
type FixtureServer struct {
	*httptest.Server

	t        testing.TB
	dir      string
	fixtures map[string][]*fixture // key: METHOD + " " + escaped path
	mux      *http.ServeMux
	closing  chan struct{}

	mu          sync.Mutex
	ignore      map[string]bool
	requireHdr  [][2]string
	requireQry  [][2]string
	requireFunc []func(*http.Request) bool
	unauth      cannedResponse
	faults      []*Injection
	released    chan struct{} // closed and replaced whenever a fault is removed
	reqs        []Recorded
	lastID      uint64
	changed     chan struct{} // closed and replaced whenever reqs changes
}

type cannedResponse struct {
	status int
	header http.Header
	body   []byte
}

// Recorded is one request the server received. Secret values (see the package documentation) are
// replaced by Masked in Header, Query, RawQuery and Body.
type Recorded struct {
	// Seq numbers the requests from 0 in arrival order.
	Seq int
	// Method and Path (the escaped path, as sent).
	Method, Path string
	// Query is the parsed query; RawQuery its canonical form (sorted keys and values).
	Query    url.Values
	RawQuery string
	// Header is the request's header.
	Header http.Header
	// Body is the request body, at most 64 KiB (form and JSON bodies have secret fields masked).
	Body []byte
	// Time is when the request arrived; Answered when the server was done with it: its status line
	// was written, or it was dropped or abandoned. Answered is zero while the request is pending (for
	// example held by Latency).
	Time, Answered time.Time
	// Status is the status answered; 0 while pending, or when the request was dropped or abandoned.
	Status int
	// Route names what answered: "fault", "unauthorized", "handle <pattern>", "file <path>", or
	// "" for a request that matched nothing (404).
	Route string
	// Fault describes the answering fault ("status 429", "truncate", "drop"), empty for none.
	Fault string
	// Delay is the latency injected before answering.
	Delay time.Duration
	// ResetAt is, for an injected 429 or 5xx with reset headers, the earliest instant those headers
	// allow a retry; zero otherwise.
	ResetAt time.Time
	// Rejected is true when the credential requirements were not met (the unauthorized response).
	Rejected bool
	// Abandoned is true when the client went away while the request was held by Latency.
	Abandoned bool

	id uint64 // unique in the server's life, unlike Seq
}

// Key identifies the request's target: method, path, canonical query and, for a request with a
// body, the start of the body's SHA-256 (GraphQL queries share a path). A retry has the same Key.
func (r Recorded) Key() string {
	k := r.Method + " " + r.Path
	if r.RawQuery != "" {
		k += "?" + r.RawQuery
	}
	if len(r.Body) > 0 {
		sum := sha256.Sum256(r.Body)
		k += " body:" + hex.EncodeToString(sum[:4])
	}
	return k
}

// Pending reports whether the server is not done with the request yet.
func (r Recorded) Pending() bool { return r.Answered.IsZero() }

// NewFixtureServer starts a server that serves the fixtures under dir (empty: no static fixtures,
// only Handle routes). A dir that does not exist, or a fixture file that breaks the naming scheme,
// fails the test. The server is closed by t.Cleanup.
func NewFixtureServer(t testing.TB, dir string) *FixtureServer {
	t.Helper()
	s := &FixtureServer{
		t:        t,
		dir:      dir,
		fixtures: map[string][]*fixture{},
		mux:      http.NewServeMux(),
		closing:  make(chan struct{}),
		ignore:   map[string]bool{},
		changed:  make(chan struct{}),
		released: make(chan struct{}),
		unauth: cannedResponse{
			status: http.StatusUnauthorized,
			header: http.Header{"Content-Type": {"application/json"}},
			body:   []byte(`{"error":"unauthorized","message":"meshtest: missing or wrong credentials"}`),
		},
	}
	if dir != "" {
		if err := s.load(dir); err != nil {
			t.Fatalf("meshtest: fixtures %s: %v", dir, err)
		}
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		close(s.closing) // releases requests held by Latency
		s.Server.Close()
	})
	return s
}

// IgnoreQuery makes fixture lookup disregard the named query parameters (cache busters, tokens,
// volatile values): "any value, or absent". It applies to static fixtures only.
func (s *FixtureServer) IgnoreQuery(names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := maps.Clone(s.ignore) // copy on write: lookups read the map without the lock
	for _, n := range names {
		next[n] = true
	}
	s.ignore = next
}

// RequireHeader makes every request without header name set to exactly value get the unauthorized
// response. Requirements add up: all must be met.
func (s *FixtureServer) RequireHeader(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requireHdr = append(s.requireHdr, [2]string{name, value})
}

// RequireQuery makes every request without query parameter name set to exactly value get the
// unauthorized response.
func (s *FixtureServer) RequireQuery(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requireQry = append(s.requireQry, [2]string{name, value})
}

// RequireFunc makes every request for which ok returns false get the unauthorized response (for
// credentials accepted in several places, or token endpoints that are exempt). ok must not read the
// request body.
func (s *FixtureServer) RequireFunc(ok func(r *http.Request) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requireFunc = append(s.requireFunc, ok)
}

// SetUnauthorized sets the response to a request that fails a credential requirement, in the
// provider's shape. The default is 401 with {"error":"unauthorized","message":"..."}.
func (s *FixtureServer) SetUnauthorized(status int, header http.Header, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if header == nil {
		header = http.Header{"Content-Type": {"application/json"}}
	}
	s.unauth = cannedResponse{status: status, header: header.Clone(), body: slices.Clone(body)}
}

// Handle registers a programmable route with an http.ServeMux pattern ("GET /v2/posts",
// "/items/{id}"). Routes are tried before static fixtures. Use them for listings that must paginate
// for any page size, and for POST bodies (GraphQL). A pattern that conflicts with an earlier one
// fails the test.
func (s *FixtureServer) Handle(pattern string, h http.HandlerFunc) {
	s.t.Helper()
	defer func() {
		if r := recover(); r != nil {
			s.t.Fatalf("meshtest: Handle(%q): %v", pattern, r)
		}
	}()
	s.mux.Handle(pattern, h)
}

// HandleJSON registers a route that answers 200 with v encoded as JSON.
func (s *FixtureServer) HandleJSON(pattern string, v any) {
	s.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		s.t.Fatalf("meshtest: HandleJSON(%q): %v", pattern, err)
	}
	s.Handle(pattern, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
}

// Requests returns the requests received so far, in arrival order.
func (s *FixtureServer) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// Unmatched returns the requests that no fault, route or fixture answered (the 404s naming the
// fixture file that was looked for).
func (s *FixtureServer) Unmatched() []Recorded {
	var out []Recorded
	for _, r := range s.Requests() {
		if r.Route == "" && r.Status == http.StatusNotFound {
			out = append(out, r)
		}
	}
	return out
}

// ResetRequests forgets the recorded requests.
func (s *FixtureServer) ResetRequests() {
	s.mu.Lock()
	s.reqs = nil
	s.notifyLocked()
	s.mu.Unlock()
}

// Await blocks until cond, called with the recorded requests each time they change, returns true;
// or until ctx is done (it then returns ctx's error).
func (s *FixtureServer) Await(ctx context.Context, cond func([]Recorded) bool) ([]Recorded, error) {
	for {
		s.mu.Lock()
		reqs := slices.Clone(s.reqs)
		ch := s.changed
		s.mu.Unlock()
		if cond(reqs) {
			return reqs, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return reqs, ctx.Err()
		}
	}
}

func (s *FixtureServer) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// WriteJSON writes v as a JSON response with the given status, for Handle routes.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "meshtest: WriteJSON: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// ReadJSON decodes the JSON file at path into v (a dataset for a Handle route); any error fails
// the test.
func ReadJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("meshtest: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("meshtest: %s: %v", path, err)
	}
}

// QueryInt reads an integer query parameter for Handle routes; def when absent or not a number.
func QueryInt(r *http.Request, name string, def int) int {
	v, err := strconv.Atoi(r.URL.Query().Get(name))
	if err != nil {
		return def
	}
	return v
}

// statusWriter records the status a handler writes.
type statusWriter struct {
	http.ResponseWriter
	status int
	onHead func(int)
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		w.onHead(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

// serve is the server's handler.
func (s *FixtureServer) serve(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))

	s.mu.Lock()
	seq := len(s.reqs)
	s.lastID++
	id := s.lastID
	rec := Recorded{
		id:       id,
		Seq:      seq,
		Method:   r.Method,
		Path:     r.URL.EscapedPath(),
		Query:    maskValues(r.URL.Query()),
		RawQuery: canonicalQuery(maskValues(r.URL.Query()), nil),
		Header:   maskHeader(r.Header),
		Body:     maskBody(r.Header.Get("Content-Type"), body),
		Time:     time.Now(),
	}
	s.reqs = append(s.reqs, rec)
	delay, holders, answer := s.pickFaultsLocked(r)
	s.reqs[seq].Delay = delay
	s.notifyLocked()
	s.mu.Unlock()

	update := func(f func(*Recorded)) {
		s.mu.Lock()
		// ResetRequests may have dropped the entry.
		if seq < len(s.reqs) && s.reqs[seq].id == id {
			f(&s.reqs[seq])
			s.notifyLocked()
		}
		s.mu.Unlock()
	}
	w := &statusWriter{ResponseWriter: rw, onHead: func(code int) {
		update(func(x *Recorded) { x.Status, x.Answered = code, time.Now() })
	}}

	if delay > 0 && !s.hold(r.Context(), delay, holders) {
		update(func(x *Recorded) { x.Abandoned, x.Answered = true, time.Now() })
		return
	}
	if answer != nil && answer.f.Drop {
		s.drop(w, update)
		return
	}
	if answer != nil {
		s.answerFault(w, r, answer, update)
	} else {
		s.respond(w, r, update)
	}
	if w.status == 0 { // a handler that wrote nothing: net/http answers 200
		w.WriteHeader(http.StatusOK)
	}
}

// respond answers with the credential check, a route or a fixture.
func (s *FixtureServer) respond(w http.ResponseWriter, r *http.Request, update func(func(*Recorded))) {
	s.mu.Lock()
	ok := s.authorizedLocked(r)
	unauth := s.unauth
	s.mu.Unlock()
	if !ok {
		update(func(x *Recorded) { x.Rejected, x.Route = true, "unauthorized" })
		for k, vs := range unauth.header {
			w.Header()[k] = slices.Clone(vs)
		}
		w.WriteHeader(unauth.status)
		w.Write(unauth.body)
		return
	}
	if h, pattern := s.mux.Handler(r); pattern != "" {
		update(func(x *Recorded) { x.Route = "handle " + pattern })
		h.ServeHTTP(w, r)
		return
	}
	s.serveFixture(w, r, update)
}

func (s *FixtureServer) authorizedLocked(r *http.Request) bool {
	for _, h := range s.requireHdr {
		if r.Header.Get(h[0]) != h[1] {
			return false
		}
	}
	q := r.URL.Query()
	for _, p := range s.requireQry {
		if q.Get(p[0]) != p[1] {
			return false
		}
	}
	for _, f := range s.requireFunc {
		if !f(r) {
			return false
		}
	}
	return true
}

// hold waits d, or until the client goes away (false), every latency fault that delays the request
// is removed, or the server closes.
func (s *FixtureServer) hold(ctx context.Context, d time.Duration, holders []*Injection) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		s.mu.Lock()
		released := s.released
		active := false
		for _, in := range holders {
			active = active || !in.removed
		}
		s.mu.Unlock()
		if !active {
			return true
		}
		select {
		case <-timer.C:
			return true
		case <-ctx.Done():
			return false
		case <-s.closing:
			return true
		case <-released:
		}
	}
}

// secretWords mark header, query and body field names whose values are masked.
var secretWords = []string{"auth", "token", "secret", "passw", "signature", "credential", "cookie", "session", "apikey", "api-key", "api_key"}

// IsSecretName reports whether a header, query parameter or body field name carries a credential:
// it contains auth, token, secret, passw, signature, credential, cookie, session or api-key (any
// case), or it is or ends in "key". Recorded requests mask the values of such names.
func IsSecretName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return strings.HasSuffix(n, "key") || n == "sig"
}

func maskHeader(h http.Header) http.Header {
	out := h.Clone()
	for k, vs := range out {
		if IsSecretName(k) {
			for i := range vs {
				vs[i] = Masked
			}
		}
	}
	return out
}

func maskValues(v url.Values) url.Values {
	for k, vs := range v {
		if IsSecretName(k) {
			for i := range vs {
				vs[i] = Masked
			}
		}
	}
	return v
}

func maskBody(contentType string, body []byte) []byte {
	if len(body) > maxRecordedBody {
		body = body[:maxRecordedBody]
	}
	switch {
	case strings.HasPrefix(contentType, "application/x-www-form-urlencoded"):
		v, err := url.ParseQuery(string(body))
		if err == nil {
			return []byte(canonicalQuery(maskValues(v), nil))
		}
	case strings.Contains(contentType, "json"):
		var m map[string]json.RawMessage
		if json.Unmarshal(body, &m) == nil {
			masked := false
			for k := range m {
				if IsSecretName(k) {
					m[k] = json.RawMessage(`"` + Masked + `"`)
					masked = true
				}
			}
			if masked {
				b, _ := json.Marshal(m)
				return b
			}
		}
	}
	return slices.Clone(body)
}

// canonicalQuery encodes v with keys and each key's values sorted, leaving out ignored names.
func canonicalQuery(v url.Values, ignore map[string]bool) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		if !ignore[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		vals := slices.Clone(v[k])
		slices.Sort(vals)
		for _, val := range vals {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k))
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(val))
		}
	}
	return b.String()
}

// notFound answers a request that matched nothing.
func notFound(w http.ResponseWriter, r *http.Request, lookedFor string) {
	WriteJSON(w, http.StatusNotFound, map[string]string{
		"error":     fmt.Sprintf("meshtest: no route or fixture for %s %s", r.Method, r.URL.RequestURI()),
		"lookedFor": lookedFor,
	})
}
