package mesh

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"
)

// Source statuses in the report.
const (
	StatusOK     = "ok"
	StatusStale  = "stale"
	StatusFailed = "failed"
)

// Report says how a build went. Its JSON form is report.json (DESIGN section 7).
type Report struct {
	Sources      []SourceReport `json:"sources"`
	DanglingRefs []DanglingRef  `json:"danglingRefs"`
	// Nodes is the graph's node count.
	Nodes int `json:"nodes"`
	// DurationMs is the build's wall time up to writing outputs.
	DurationMs int64 `json:"durationMs"`
	// Phases splits the build's time: fetching every source, merging (links, backrefs, change set),
	// writing the output folder, saving the snapshot (the last two are known only after report.json is
	// written: they are in Build.Report, not in the file).
	Phases Phases `json:"phases"`
	// SchemaDrift lists fields whose type changed since the last build (filled by the CLI from
	// mesh/schema; raw JSON so the core does not depend on it).
	SchemaDrift json.RawMessage `json:"schemaDrift,omitempty"`
	// SnapshotError says why the previous snapshot could not be used (the build then fetched everything).
	SnapshotError string `json:"snapshotError,omitempty"`
	// SnapshotSaved is true when the build saved its snapshot to the store.
	SnapshotSaved bool `json:"-"`
	// StartedAt is when the build began.
	StartedAt time.Time `json:"-"`
	// Requests holds every HTTP attempt, per source, when Options.RecordRequests is set (for
	// report.html), in the order they finished.
	Requests map[string][]RequestEvent `json:"-"`
}

// SourceReport is one source's line in the report.
type SourceReport struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Status      string `json:"status"`
	Nodes       int    `json:"nodes"`
	Requests    int    `json:"requests"`
	Retries     int    `json:"retries"`
	Throttled   int    `json:"throttled"`
	NotModified int    `json:"notModified"`
	Bytes       int64  `json:"bytes"`
	WaitMs      int64  `json:"waitMs"`
	// Duplicates counts nodes emitted more than once in one fetch (the last one wins).
	Duplicates int    `json:"duplicates,omitempty"`
	DurationMs int64  `json:"durationMs"`
	Error      string `json:"error,omitempty"`
}

// sourceRecorder counts one source's requests; mesh/fetch reports to it through the context.
type sourceRecorder struct {
	name     string
	nodes    *atomic.Int64
	observer Observer
	next     Recorder
	keep     bool
	events   []RequestEvent

	mu          sync.Mutex
	requests    int
	retries     int
	throttled   int
	notModified int
	bytes       int64
	wait        time.Duration
}

// RecordRequest implements Recorder.
func (r *sourceRecorder) RecordRequest(e RequestEvent) {
	r.mu.Lock()
	r.requests++
	if e.Attempt > 0 {
		r.retries++
	}
	if e.Status == 429 || e.Throttled {
		r.throttled++
	}
	if e.NotModified {
		r.notModified++
	}
	r.bytes += e.Bytes
	r.wait += e.Wait
	if r.keep {
		r.events = append(r.events, e)
	}
	p := SourceProgress{Requests: r.requests, Retries: r.retries, Throttled: r.throttled, Wait: r.wait}
	r.mu.Unlock()
	if r.observer != nil {
		p.Nodes = int(r.nodes.Load())
		r.observer.SourceProgress(r.name, p)
	}
	if r.next != nil {
		r.next.RecordRequest(e)
	}
}

func (r *sourceRecorder) fill(sr *SourceReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sr.Requests, sr.Retries, sr.Throttled, sr.NotModified = r.requests, r.retries, r.throttled, r.notModified
	sr.Bytes, sr.WaitMs = r.bytes, r.wait.Milliseconds()
}

// Phases is where a build's time went, in milliseconds.
type Phases struct {
	FetchMs int64 `json:"fetchMs"`
	MergeMs int64 `json:"mergeMs"`
	WriteMs int64 `json:"-"`
	SaveMs  int64 `json:"-"`
}
