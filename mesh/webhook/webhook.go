// Package webhook resyncs the content graph when a provider says something changed: an
// http.Handler for CMS and commerce webhooks that verifies each provider's signature, rejects
// forged, stale and malformed requests, coalesces a burst of deliveries into one incremental build
// of the sources they name, saves the snapshot, and answers the change set.
//
// # Routes and verifiers
//
// Each Route is a URL path, the Verifier of its provider (Stripe, Shopify, Contentful, Sanity,
// Strapi, or SharedSecret for any provider that sends a fixed secret header) and the mesh sources
// its deliveries concern. A delivery to /hooks/shop builds only the sources of that route; the others
// keep their nodes and cursors from the snapshot (mesh.Mesh.BuildSources).
//
// # Answers
//
//	405 not a POST                    404 no route for the path
//	413 body over Config.MaxBody      401 missing or wrong signature, or signed outside ReplayWindow
//	400 body not JSON                 200 {"duplicate": true}: a delivery already accepted; no build
//	200 the build's change set        202 {"accepted": true} in Async mode
//	502 a source failed               504 the build (or the wait for it) ran out of time
//	503 the handler is shutting down, or builds kept colliding on the snapshot; retry
//	500 the build failed otherwise (strict dangling references, the store, the output folder: see the log)
//
// The change set is the JSON of mesh.ChangeSet (added, updated, deleted node ids) with each
// source's status, as Response documents. Providers redeliver what gets an error or no answer in
// time, so every 5xx above is one they will retry. A duplicate is acknowledged with 200 and builds
// nothing: it is almost always the provider's own retry of a delivery that was accepted but not
// answered in time, and answering that with an error makes the provider retry again and may get
// the endpoint disabled (Shopify removes a subscription after repeated failures).
//
// # Coalescing
//
// The first accepted delivery opens a batch and waits Config.Debounce; deliveries arriving
// meanwhile join it. The batch then builds once, the union of its routes' sources, as soon as no
// other build runs. Deliveries that arrive while a build runs join the next batch, which builds
// once after it. So at most one build runs and at most one waits, whatever the burst: 50
// simultaneous deliveries make one build, or two when a build was already running. Each delivery
// is answered from a build that started after it arrived, so its change is in that build's fetch.
//
// In the default synchronous mode each request waits for its batch's build (within
// Config.MaxDuration and its own deadline) and answers its change set. The batch's first request
// runs the build itself, on the request's goroutine, to the end even if its client has gone (the
// build saves its snapshot; the other requests stop waiting at their own deadline), so no
// goroutine outlives the requests: a serverless function may freeze once it has answered. Mind
// the provider's timeout: Shopify waits 5 seconds, and a longer build is a failed delivery that it
// retries (the retry is then a duplicate). With Config.Async the handler answers 202 at once and
// runs builds in goroutines of its own: call Shutdown (or Close) before exiting; a failed build is
// then only logged, and its changes wait for the next build (the cursors did not move).
//
// # Replays
//
// A delivery signed outside Config.ReplayWindow (default 5 minutes) of the handler's clock is
// rejected. The IDs of accepted deliveries (Delivery.ID) are remembered for the window, at most
// Config.MaxSeen of them, and a second delivery with the same ID is a duplicate. The IDs of a batch
// whose build failed are forgotten, so the provider's retry builds again. The memory is per
// handler: several function instances behind one URL each keep their own.
package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxBody      = 1 << 20
	DefaultReplayWindow = 5 * time.Minute
	DefaultMaxSeen      = 10000
	DefaultDebounce     = 250 * time.Millisecond
	DefaultMaxDuration  = 5 * time.Minute
)

// ErrClosed is the error of builds that Shutdown or Close cancelled, and of deliveries that arrive
// after them.
var ErrClosed = errors.New("webhook: handler closed")

// BuildFunc builds the graph: sources are the mesh sources to fetch, nil for all of them.
type BuildFunc func(ctx context.Context, sources []string) (*mesh.Build, error)

// Config configures a Handler.
type Config struct {
	// Mesh builds the graph: Mesh.BuildSources with the batch's sources, or Mesh.Build when a route
	// of the batch names none. Give it a snapshot Store (mesh.Options.Store) so that each build is
	// incremental, saves the snapshot, and reports the changes since the previous one.
	Mesh *mesh.Mesh
	// Build, when set, is used instead of Mesh (to wrap or replace the build; tests use it).
	Build BuildFunc
	// Routes map URL paths to verifiers and sources; at least one.
	Routes []Route
	// MaxBody caps a request body in bytes (413 beyond it); 0 means DefaultMaxBody.
	MaxBody int64
	// ReplayWindow is how far a delivery's signed time may be from the clock, and how long accepted
	// delivery IDs are remembered; 0 means DefaultReplayWindow.
	ReplayWindow time.Duration
	// MaxSeen caps the remembered delivery IDs; 0 means DefaultMaxSeen. Keep it above the number of
	// deliveries one window can bring, or the oldest are forgotten early.
	MaxSeen int
	// Debounce is how long a batch gathers deliveries before it builds; 0 means DefaultDebounce, a
	// negative value builds at once.
	Debounce time.Duration
	// MaxDuration caps one build, and how long a request waits for its build; 0 means
	// DefaultMaxDuration. Set the platform's request timeout above it.
	MaxDuration time.Duration
	// Async answers 202 as soon as a delivery is accepted and builds in the background; the
	// handler then owns goroutines: call Shutdown or Close.
	Async bool
	// Logger receives one line per rejected delivery and per build; nil discards them. Header values
	// and bodies are never logged.
	Logger *slog.Logger
	// Now is the clock for signed times and the replay memory; nil means time.Now.
	Now func() time.Time
}

// Route is one webhook endpoint.
type Route struct {
	// Path is the URL path the provider posts to, e.g. "/hooks/cms" (matched exactly).
	Path string
	// Verifier checks the provider's signature.
	Verifier Verifier
	// Sources are the mesh sources the provider's content lives in; a delivery here fetches only
	// them. Empty: every source.
	Sources []string
}

// Handler is the webhook endpoint; see the package documentation. It is safe for concurrent use.
type Handler struct {
	build       BuildFunc
	routes      map[string]*Route
	maxBody     int64
	window      time.Duration
	debounce    time.Duration
	maxDuration time.Duration
	async       bool
	log         *slog.Logger
	now         func() time.Time
	seen        *seenSet

	ctx    context.Context // cancelled by Close: builds stop
	cancel context.CancelFunc

	mu      sync.Mutex
	closed  bool
	pending *batch // gathering deliveries; not started
	running *batch
	leaders sync.WaitGroup // goroutines leading a batch (request goroutines in sync mode)

	builds atomic.Int64
}

// New validates cfg and returns a Handler. It does no I/O and starts no goroutine.
func New(cfg Config) (*Handler, error) {
	h := &Handler{
		build: cfg.Build, maxBody: cfg.MaxBody, window: cfg.ReplayWindow, debounce: cfg.Debounce,
		maxDuration: cfg.MaxDuration, async: cfg.Async, log: cfg.Logger, now: cfg.Now,
		routes: map[string]*Route{},
	}
	var known []string
	switch {
	case h.build != nil:
	case cfg.Mesh != nil:
		m := cfg.Mesh
		known = m.SourceNames()
		h.build = func(ctx context.Context, sources []string) (*mesh.Build, error) {
			if len(sources) == 0 {
				return m.Build(ctx)
			}
			return m.BuildSources(ctx, sources...)
		}
	default:
		return nil, errors.New("webhook: Config needs a Mesh or a Build function")
	}
	if len(cfg.Routes) == 0 {
		return nil, errors.New("webhook: no routes")
	}
	for i, rt := range cfg.Routes {
		where := fmt.Sprintf("webhook: route %d (%q)", i, rt.Path)
		if !strings.HasPrefix(rt.Path, "/") {
			return nil, fmt.Errorf("%s: path must start with /", where)
		}
		if h.routes[rt.Path] != nil {
			return nil, fmt.Errorf("%s: path used twice", where)
		}
		if rt.Verifier == nil {
			return nil, fmt.Errorf("%s: no verifier", where)
		}
		if v, ok := rt.Verifier.(validator); ok {
			if err := v.validate(); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
		}
		for _, s := range rt.Sources {
			if !mesh.ValidSourceName(s) || (known != nil && !slices.Contains(known, s)) {
				return nil, fmt.Errorf("%s: no source %q in the mesh", where, s)
			}
		}
		rt.Sources = slices.Clone(rt.Sources)
		h.routes[rt.Path] = &rt
	}
	if h.maxBody < 0 || h.window < 0 || cfg.MaxSeen < 0 || h.maxDuration < 0 {
		return nil, errors.New("webhook: MaxBody, ReplayWindow, MaxSeen and MaxDuration must not be negative")
	}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBody
	}
	if h.window == 0 {
		h.window = DefaultReplayWindow
	}
	maxSeen := cfg.MaxSeen
	if maxSeen == 0 {
		maxSeen = DefaultMaxSeen
	}
	if h.debounce == 0 {
		h.debounce = DefaultDebounce
	}
	if h.maxDuration == 0 {
		h.maxDuration = DefaultMaxDuration
	}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.seen = newSeenSet(h.window, maxSeen)
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h, nil
}

// Response is the JSON answer.
type Response struct {
	// Changes is the build's change set (node ids added, updated, deleted) against the previous
	// snapshot. Absent when there was no build to report (duplicate, accepted, errors).
	Changes *mesh.ChangeSet `json:"changes,omitempty"`
	// Unchanged is true when the build changed nothing.
	Unchanged bool `json:"unchanged,omitempty"`
	// Nodes is the size of the graph.
	Nodes int `json:"nodes,omitempty"`
	// DurationMs is the build's wall time.
	DurationMs int64 `json:"durationMs,omitempty"`
	// Sources says how each source did.
	Sources []SourceStatus `json:"sources,omitempty"`
	// Fetched lists the sources the build fetched; the others kept their snapshot. Absent: all.
	Fetched []string `json:"fetched,omitempty"`
	// Webhooks is how many accepted deliveries the build answers.
	Webhooks int `json:"webhooks,omitempty"`
	// SnapshotSaved is true when the build saved its snapshot to the store.
	SnapshotSaved bool `json:"snapshotSaved,omitempty"`
	// Accepted is true in Async mode: the delivery is queued for a build.
	Accepted bool `json:"accepted,omitempty"`
	// Duplicate is true when this delivery was accepted before: nothing was built for it.
	Duplicate bool `json:"duplicate,omitempty"`
	// Error says why the request was rejected or the build failed.
	Error string `json:"error,omitempty"`
}

// SourceStatus is one source's line of the answer.
type SourceStatus struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Status     string `json:"status"`
	Nodes      int    `json:"nodes"`
	Requests   int    `json:"requests"`
	Retries    int    `json:"retries"`
	Throttled  int    `json:"throttled"`
	DurationMs int64  `json:"durationMs"`
	// Error is the first line of the source's error (adapters redact secrets from their errors).
	Error string `json:"error,omitempty"`
}

// Builds returns how many builds the handler started.
func (h *Handler) Builds() int64 { return h.builds.Load() }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		answer(w, http.StatusMethodNotAllowed, Response{Error: "webhooks are POSTed"})
		return
	}
	rt := h.routes[r.URL.Path]
	if rt == nil {
		answer(w, http.StatusNotFound, Response{Error: "no webhook route for this path"})
		return
	}
	if h.isClosed() {
		answer(w, http.StatusServiceUnavailable, Response{Error: "shutting down; retry later"})
		return
	}
	body, status, err := readBody(w, r, h.maxBody)
	if err != nil {
		h.reject(w, rt, status, err.Error(), err)
		return
	}
	d, err := rt.Verifier.Verify(r, body)
	if err != nil {
		msg := "bad signature"
		if errors.Is(err, ErrMissingSignature) {
			msg = "missing signature"
		}
		h.reject(w, rt, http.StatusUnauthorized, msg, err)
		return
	}
	now := h.now()
	if !d.Signed.IsZero() && (now.Sub(d.Signed) > h.window || d.Signed.Sub(now) > h.window) {
		h.reject(w, rt, http.StatusUnauthorized, "signed outside the replay window", fmt.Errorf("signed at %s, %s from now", d.Signed.UTC().Format(time.RFC3339), now.Sub(d.Signed).Round(time.Second)))
		return
	}
	if !json.Valid(body) {
		h.reject(w, rt, http.StatusBadRequest, "body is not JSON", errors.New("body is not JSON"))
		return
	}
	id := d.ID
	if id == "" {
		sum := sha256.Sum256(body)
		id = "body:" + hex.EncodeToString(sum[:])
	}
	key := rt.Path + " " + id
	if !h.seen.add(key, now) {
		h.log.Info("webhook duplicate ignored", "route", rt.Path)
		answer(w, http.StatusOK, Response{Duplicate: true})
		return
	}
	b, lead, err := h.join(rt, key)
	if err != nil {
		h.seen.forget([]string{key})
		answer(w, http.StatusServiceUnavailable, Response{Error: "shutting down; retry later"})
		return
	}
	h.log.Info("webhook accepted", "route", rt.Path)
	if h.async {
		if lead {
			go h.lead(b)
		}
		answer(w, http.StatusAccepted, Response{Accepted: true})
		return
	}
	if lead {
		h.lead(b) // this request runs the batch; it returns once the build is done
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.maxDuration)
	defer cancel()
	select {
	case <-b.done: // a finished build wins over a deadline that passed meanwhile
	default:
		select {
		case <-b.done:
		case <-ctx.Done():
			status, msg := http.StatusGatewayTimeout, "gave up waiting for the build; it goes on and saves its snapshot"
			if r.Context().Err() != nil && !errors.Is(r.Context().Err(), context.DeadlineExceeded) {
				status, msg = http.StatusServiceUnavailable, "the request was canceled; the build goes on"
			}
			answer(w, status, Response{Error: msg})
			return
		}
	}
	status, resp := h.result(b)
	answer(w, status, resp)
}

func (h *Handler) reject(w http.ResponseWriter, rt *Route, status int, msg string, err error) {
	h.log.Warn("webhook rejected", "route", rt.Path, "status", status, "err", err)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Signature realm="webhook"`)
	}
	answer(w, status, Response{Error: msg})
}

// readBody reads at most max bytes; a larger body is 413.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, int, error) {
	if r.ContentLength > max {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body over %d bytes", max)
	}
	if r.Body == nil {
		return nil, http.StatusBadRequest, errors.New("no body")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body over %d bytes", max)
		}
		return nil, http.StatusBadRequest, errors.New("could not read the body")
	}
	return body, 0, nil
}

func (h *Handler) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// result turns a finished batch into the answer.
func (h *Handler) result(b *batch) (int, Response) {
	resp := Response{Fetched: b.fetched, Webhooks: b.webhooks}
	if b.build != nil {
		resp.DurationMs = b.build.Report.DurationMs
		for _, s := range b.build.Report.Sources {
			resp.Sources = append(resp.Sources, SourceStatus{Name: s.Name, Type: s.Type, Status: s.Status, Nodes: s.Nodes,
				Requests: s.Requests, Retries: s.Retries, Throttled: s.Throttled, DurationMs: s.DurationMs, Error: clip(s.Error)})
		}
	}
	if err := b.err; err != nil {
		var se *mesh.SourceError
		switch {
		case errors.Is(err, ErrClosed):
			return http.StatusServiceUnavailable, withError(resp, "shutting down; retry later")
		case errors.Is(err, context.DeadlineExceeded):
			return http.StatusGatewayTimeout, withError(resp, "the build ran out of time; the snapshot is unchanged, so a retry picks up where it stopped")
		case errors.Is(err, mesh.ErrSnapshotConflict):
			return http.StatusServiceUnavailable, withError(resp, "other builds kept saving the snapshot first; retry")
		case errors.As(err, &se):
			return http.StatusBadGateway, withError(resp, "a source failed; see sources")
		case errors.Is(err, mesh.ErrDanglingRefs):
			return http.StatusInternalServerError, withError(resp, "strict: the graph has dangling references")
		}
		// The store's or the output folder's errors may name server paths: the log has them.
		return http.StatusInternalServerError, withError(resp, "the build failed; see the log")
	}
	resp.Changes = &b.build.Changes
	resp.Unchanged = b.build.Changes.Empty()
	resp.Nodes = b.build.Report.Nodes
	resp.SnapshotSaved = b.build.Report.SnapshotSaved
	return http.StatusOK, resp
}

func withError(r Response, msg string) Response {
	r.Error = msg
	return r
}

// maxErrorText bounds an error text in an answer.
const maxErrorText = 500

func clip(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > maxErrorText {
		s = strings.ToValidUTF8(s[:maxErrorText], "") + "…"
	}
	return s
}

func answer(w http.ResponseWriter, status int, resp Response) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(resp)
}

// Shutdown stops accepting deliveries (503) and waits for the batches already accepted to build.
// When ctx ends first, it cancels them (their requests get 503) and waits for them to return, then
// returns ctx's error. No goroutine of the handler runs after Shutdown returns.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	done := make(chan struct{})
	go func() {
		h.leaders.Wait()
		close(done)
	}()
	select {
	case <-done:
		h.cancel()
		return nil
	case <-ctx.Done():
		h.cancel()
		<-done
		return ctx.Err()
	}
}

// Close stops accepting deliveries, cancels the builds in progress and waits for them to return.
func (h *Handler) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
