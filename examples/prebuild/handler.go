package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
)

// Builder builds the content graph; *mesh.Mesh is one. It must keep its snapshot in a Store, so
// that each build is incremental and its change set is against the previous build.
type Builder interface {
	Build(ctx context.Context) (*mesh.Build, error)
}

// DefaultMaxDuration caps a build when HandlerOptions.MaxDuration is zero.
const DefaultMaxDuration = 5 * time.Minute

// HandlerOptions configure a Handler.
type HandlerOptions struct {
	// MaxDuration caps one build (waiting for a build in progress included), whatever deadline the
	// request's context brings; 0 means DefaultMaxDuration.
	MaxDuration time.Duration
	// Token, when set, must be sent as "Authorization: Bearer <token>". A prebuild URL is public;
	// without a token anyone who finds it can make the function hit every provider.
	Token string
	// Logger receives one line per build with the error in full; nil discards it.
	Logger *slog.Logger
}

// Handler is the prebuild function: POST builds the graph incrementally and answers the change set.
//
// Builds are serialized: one at a time per Handler (and so per snapshot store, when one Handler
// owns the store). A request that arrives during a build waits for it to finish, within its own
// deadline, and then runs its own build. Coalescing (singleflight: the second caller gets the first
// build's answer) was rejected: that build may have fetched before the change that triggered the
// second request was published, so a deploy hook would miss it. With serialized builds each answer
// covers every change published before its request arrived, and each change is reported once.
type Handler struct {
	b       Builder
	max     time.Duration
	token   []byte
	log     *slog.Logger
	lock    chan struct{} // holds one token while a build runs
	waiting atomic.Int32  // requests waiting for the lock (read by tests)
}

// NewHandler returns a Handler that builds with b. It does no I/O.
func NewHandler(b Builder, opts HandlerOptions) (*Handler, error) {
	if b == nil {
		return nil, errors.New("prebuild: nil builder")
	}
	if opts.MaxDuration < 0 {
		return nil, fmt.Errorf("prebuild: negative max duration %v", opts.MaxDuration)
	}
	if opts.MaxDuration == 0 {
		opts.MaxDuration = DefaultMaxDuration
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Handler{b: b, max: opts.MaxDuration, token: []byte(opts.Token), log: opts.Logger, lock: make(chan struct{}, 1)}, nil
}

// Response is the JSON answer.
type Response struct {
	// Changes is the change set against the previous build (as changes.json): node ids added,
	// updated (content digest changed) and deleted. Absent when the build failed.
	Changes *mesh.ChangeSet `json:"changes,omitempty"`
	// Unchanged is true when the build changed nothing: the deploy hook can skip the rebuild.
	Unchanged bool `json:"unchanged"`
	// Nodes is the size of the graph.
	Nodes int `json:"nodes"`
	// DurationMs is the build's wall time.
	DurationMs int64 `json:"durationMs"`
	// Sources says how each source did.
	Sources []SourceStatus `json:"sources"`
	// Error says why the build failed; empty on success.
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
	// Error is the first line of the source's error: the adapters' errors name the URL with secrets
	// redacted and never a header value.
	Error string `json:"error,omitempty"`
}

// maxErrorText bounds an error text in an answer.
const maxErrorText = 500

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		answer(w, http.StatusMethodNotAllowed, Response{Error: "use POST to build"})
		return
	}
	if len(h.token) > 0 {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), h.token) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="prebuild"`)
			answer(w, http.StatusUnauthorized, Response{Error: "missing or wrong bearer token"})
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.max)
	defer cancel()

	start := time.Now()
	h.waiting.Add(1)
	select {
	case h.lock <- struct{}{}:
		h.waiting.Add(-1)
	case <-ctx.Done():
		h.waiting.Add(-1)
		status, msg := deadlineStatus(ctx, r)
		answer(w, status, Response{Error: msg + " while waiting for the build in progress", DurationMs: time.Since(start).Milliseconds()})
		return
	}
	defer func() { <-h.lock }()

	b, err := h.b.Build(ctx)
	defer b.Close()
	resp := Response{DurationMs: time.Since(start).Milliseconds()}
	if b != nil {
		for _, s := range b.Report.Sources {
			resp.Sources = append(resp.Sources, SourceStatus{Name: s.Name, Type: s.Type, Status: s.Status, Nodes: s.Nodes,
				Requests: s.Requests, Retries: s.Retries, Throttled: s.Throttled, DurationMs: s.DurationMs, Error: clip(s.Error)})
		}
	}
	if err != nil {
		// The build saved nothing: the next call starts from the same snapshot and reports these changes.
		status := http.StatusBadGateway
		resp.Error = "a source failed; see sources"
		var se *mesh.SourceError
		switch {
		case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
			status, resp.Error = deadlineStatus(ctx, r)
		case !errors.As(err, &se):
			// Not a source's error (the snapshot store, the output folder, strict dangling refs):
			// its text may name server paths, so the caller gets the kind and the log gets the rest.
			resp.Error = "the build failed; see the function's log"
			if errors.Is(err, mesh.ErrDanglingRefs) {
				resp.Error = "strict: the graph has dangling references"
			}
		}
		h.log.Error("prebuild failed", "err", err, "ms", resp.DurationMs)
		answer(w, status, resp)
		return
	}
	resp.Changes = &b.Changes
	resp.Unchanged = b.Changes.Empty()
	resp.Nodes = b.Report.Nodes
	h.log.Info("prebuild done", "nodes", resp.Nodes, "added", len(b.Changes.Added), "updated", len(b.Changes.Updated),
		"deleted", len(b.Changes.Deleted), "ms", resp.DurationMs)
	answer(w, http.StatusOK, resp)
}

// deadlineStatus tells a build that ran out of time (504) from a caller that went away (503: the
// answer will not be read, but logs and proxies see why).
func deadlineStatus(ctx context.Context, r *http.Request) (int, string) {
	if r.Context().Err() != nil && !errors.Is(r.Context().Err(), context.DeadlineExceeded) {
		return http.StatusServiceUnavailable, "the request was canceled"
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(r.Context().Err(), context.DeadlineExceeded) {
		return http.StatusGatewayTimeout, "the build ran out of time; the snapshot is unchanged, so the next call picks up where this one stopped"
	}
	return http.StatusServiceUnavailable, "the build was canceled"
}

func clip(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > maxErrorText {
		s = strings.ToValidUTF8(s[:maxErrorText], "") + "…"
	}
	return s
}

func answer(w http.ResponseWriter, status int, resp Response) {
	if resp.Sources == nil {
		resp.Sources = []SourceStatus{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(resp)
}
