package mesh

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// OnError says what a build does when a source fails.
type OnError string

const (
	// OnErrorFail cancels the build and returns the error (the default).
	OnErrorFail OnError = "fail"
	// OnErrorStale keeps the failed source's nodes from the last snapshot, marks it stale in the
	// report, and goes on.
	OnErrorStale OnError = "stale"
)

// Options configure a Mesh. The zero value is usable: no snapshot store (every build is full and
// the change set is against nothing), fail on error, not strict, no links.
type Options struct {
	// Store keeps the snapshot between builds; nil keeps none.
	Store Store
	// Out, when set, is the output folder that Build writes (DESIGN section 7) before it saves the
	// snapshot; it is replaced whole, atomically.
	Out string
	// Concurrency is how many sources fetch at once; 0 means all of them.
	Concurrency int
	// OnError is what a failing source does to the build: OnErrorFail (default) or OnErrorStale.
	OnError OnError
	// Strict makes dangling references fail the build.
	Strict bool
	// Full ignores stored cursors: every source fetches everything.
	Full bool
	// PageSize, when positive, is passed to every source as FetchRequest.PageSize (tests use 1 to
	// prove paging; adapters otherwise use their provider's best page size).
	PageSize int
	// Links are the cross-source link rules.
	Links []LinkRule
	// Logger receives progress and diagnostics; nil discards them.
	Logger *slog.Logger
	// Observer, when set, is told about each source's progress (for progress displays).
	Observer Observer
	// RecordRequests keeps every HTTP attempt of every source in Report.Requests (for a waterfall
	// picture of the build, report.html).
	RecordRequests bool
	// Extras, when set with Out, adds files to the output folder (schema.json, mesh.d.ts, ...); see
	// ExtraOutputs.
	Extras ExtraOutputs
	// Graph says where the graph is kept: GraphAuto (the default), GraphMemory or GraphDisk. A
	// disk-backed graph must be released with Build.Close.
	Graph GraphMode
	// DiskThreshold is the graph's estimated size in memory, in bytes, from which GraphAuto keeps it
	// on disk; 0 means DefaultDiskThreshold. The estimate is the size of the nodes' JSON lines plus
	// 250 bytes a node: the last snapshot's (a build that starts past the threshold is on disk from
	// the start) plus what the sources emit (one that reaches it while fetching moves to disk then).
	DiskThreshold int64
	// GraphDir is where a disk-backed graph's scratch database is created (in a new directory that
	// Build.Close removes); empty means the system's temporary directory.
	GraphDir string
}

// Observer is told about a build's progress. Methods are called from many goroutines.
type Observer interface {
	// SourceStarted is called when a source's Fetch begins.
	SourceStarted(name, kind string)
	// SourceProgress is called after each request a source makes, with running totals.
	SourceProgress(name string, p SourceProgress)
	// SourceDone is called when a source's Fetch has returned.
	SourceDone(name string, r SourceReport)
}

// SourceProgress is a running count for one source.
type SourceProgress struct {
	Nodes, Requests, Retries, Throttled int
	Wait                                time.Duration
}

// Mesh runs sources and merges their content into a Graph.
type Mesh struct {
	opts    Options
	links   []compiledLink
	sources []namedSource
}

type namedSource struct {
	name string
	src  Source
}

// New validates opts and returns a Mesh. It does no I/O.
func New(opts Options) (*Mesh, error) {
	switch opts.OnError {
	case "":
		opts.OnError = OnErrorFail
	case OnErrorFail, OnErrorStale:
	default:
		return nil, &ConfigError{Where: "onError", Msg: fmt.Sprintf("%q: want fail or stale", opts.OnError)}
	}
	if opts.Concurrency < 0 {
		return nil, &ConfigError{Where: "concurrency", Msg: "must not be negative"}
	}
	switch opts.Graph {
	case "":
		opts.Graph = GraphAuto
	case GraphAuto, GraphMemory, GraphDisk:
	default:
		return nil, &ConfigError{Where: "graph", Msg: fmt.Sprintf("%q: want auto, memory or disk", opts.Graph)}
	}
	switch {
	case opts.DiskThreshold == 0:
		opts.DiskThreshold = DefaultDiskThreshold
	case opts.DiskThreshold < 0:
		return nil, &ConfigError{Where: "diskThreshold", Msg: "must not be negative"}
	}
	links, err := compileLinks(opts.Links)
	if err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Mesh{opts: opts, links: links}, nil
}

// ValidSourceName reports whether name can name a source instance: letters, digits, '-' and '_'.
func ValidSourceName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if !(r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

// Add registers a source under an instance name, unique in the mesh.
func (m *Mesh) Add(name string, src Source) error {
	if !ValidSourceName(name) {
		return &ConfigError{Where: fmt.Sprintf("source %q", name), Msg: "name must be 1-64 letters, digits, '-' or '_'"}
	}
	if src == nil {
		return &ConfigError{Where: fmt.Sprintf("source %q", name), Msg: "nil source"}
	}
	for _, s := range m.sources {
		if s.name == name {
			return &ConfigError{Where: fmt.Sprintf("source %q", name), Msg: "name used twice"}
		}
	}
	m.sources = append(m.sources, namedSource{name, src})
	return nil
}

// Build is the result of one build.
type Build struct {
	// Graph is the merged graph; nil when the build failed.
	Graph *Graph
	// Changes is the change set against the previous snapshot.
	Changes ChangeSet
	// Report says how each source did; it is filled even when the build fails.
	Report Report

	// Unchanged is true when no source reported a change and the graph was reused from the last
	// build's snapshot (loaded on first use); outputs that depend only on the graph are kept from
	// the previous output folder.
	Unchanged bool

	snapshot *Snapshot
}

// Build fetches every source concurrently, merges the nodes, applies link rules, fills backrefs,
// computes the change set, writes the output folder when Options.Out is set, and saves the snapshot.
// On failure the returned Build still carries the report; nothing is written or saved.
func (m *Mesh) Build(ctx context.Context) (*Build, error) {
	// A store with conditional writes reports a concurrent build that saved first: build again on top
	// of its snapshot, a few times at most.
	const attempts = 6
	for i := 1; ; i++ {
		b, err := m.build(ctx)
		if !errors.Is(err, ErrSnapshotConflict) || i == attempts || ctx.Err() != nil {
			return b, err
		}
		// A short random pause, growing with each attempt, so that builds racing for the same
		// snapshot do not collide again at once.
		pause := time.Duration(rand.Int64N(int64(50*time.Millisecond))) * time.Duration(i)
		m.opts.Logger.Warn("another build saved the snapshot first; building again on top of it", "attempt", i, "pause", pause)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return b, err
		case <-t.C:
		}
	}
}

func (m *Mesh) build(ctx context.Context) (*Build, error) {
	start := time.Now()
	b := &Build{}
	b.Report.StartedAt = start.UTC()
	log := m.opts.Logger

	prev, snapErr := m.loadSnapshot(ctx)
	if snapErr != nil {
		b.Report.SnapshotError = snapErr.Error()
		log.Warn("snapshot unusable, fetching everything", "err", snapErr)
	}
	if err := ctx.Err(); err != nil {
		return b, err
	}

	// A disk-backed build copies the last snapshot into its database while the sources fetch. Under
	// GraphAuto a build that reaches DiskThreshold while fetching moves to disk then.
	var run *diskRun
	inGraph := m.deltaSources(prev)
	if m.useDisk(prev) {
		var err error
		if run, err = startDiskRun(ctx, m.opts.GraphDir, prev, inGraph); err != nil {
			return b, err
		}
	}
	// A build in memory reads the last snapshot's nodes while the sources fetch: the merge needs
	// them unless nothing changed (then the read is stopped). From a DirStore the read starts at
	// once (a local read, cheap to stop); from another store (S3: requests) once a source emits,
	// so that a build where nothing changed reads no node.
	var pre *preloader
	var emitted func()
	if run == nil && prev != nil && !prev.nodesLoaded() && prev.Stream != nil {
		pre = newPreloader(ctx, prev)
		defer pre.stop()
		if _, local := m.opts.Store.(*DirStore); local {
			pre.start()
		} else {
			emitted = pre.start
		}
	}
	var sp *spiller
	if run == nil && m.opts.Graph == GraphAuto {
		sp = &spiller{threshold: m.opts.DiskThreshold, start: func() (*diskKV, error) {
			if pre != nil {
				pre.stop() // the disk run streams the snapshot itself
			}
			r, err := startDiskRun(ctx, m.opts.GraphDir, prev, inGraph)
			if err != nil {
				return nil, err
			}
			log.Info("the graph reached the disk threshold: keeping it on disk", "bytes", m.opts.DiskThreshold)
			run = r // read after fetchAll, which waits for every source
			return r.kv, nil
		}}
		// The last snapshot's nodes count: a delta is merged with them in memory.
		sp.total.Add(prev.memEstimate())
	}
	closeKV := func() {
		if run != nil {
			run.close()
		}
	}

	results := m.fetchAll(ctx, prev, run, sp, inGraph, emitted)
	var kv *diskKV
	if run != nil {
		kv = run.kv
	}
	b.Report.Phases.FetchMs = time.Since(start).Milliseconds()
	b.Report.Sources = make([]SourceReport, len(results))
	var errs []error
	for i, r := range results {
		b.Report.Sources[i] = r.report
		if r.err != nil {
			errs = append(errs, r.err)
		}
		if m.opts.RecordRequests {
			if b.Report.Requests == nil {
				b.Report.Requests = map[string][]RequestEvent{}
			}
			b.Report.Requests[r.name] = r.events
		}
	}
	if len(errs) > 0 && m.opts.OnError == OnErrorFail {
		closeKV()
		return b, errors.Join(errs...)
	}
	if err := ctx.Err(); err != nil {
		closeKV()
		return b, err
	}

	fp := m.fingerprint()
	if m.unchanged(prev, results, fp) {
		if pre != nil {
			pre.stop()
		}
		closeKV()
		return b, m.finishUnchanged(ctx, b, prev, results, start, kv != nil)
	}
	if kv != nil {
		err := run.wait()
		run.cancel()
		if err != nil {
			run.close()
			return m.rebuildWithoutSnapshot(ctx, err, true)
		}
		if err := m.finishDisk(ctx, b, run, prev, results, fp, start); err != nil {
			run.close()
			b.Graph = nil
			return b, err
		}
		return b, nil
	}
	if prev != nil {
		var err error
		if pre != nil {
			err = pre.install(prev)
		} else {
			err = prev.ensureNodes(ctx)
		}
		if err != nil {
			return m.rebuildWithoutSnapshot(ctx, err, false)
		}
	}

	// Merge.
	next := &Snapshot{Version: SnapshotVersion, CreatedAt: time.Now().UTC(), Fingerprint: fp}
	var all []*Node
	for i := range results {
		r := &results[i]
		ps := prev.source(r.name)
		switch {
		case r.stale:
			if ps != nil {
				r.nodes = ps.Nodes
			}
		case r.col != nil:
			r.nodes = mergeSource(r.col, r.delta, ps)
			r.col = nil // let the emitted map go
		}
		next.Sources = append(next.Sources, SourceSnapshot{Name: r.name, Kind: r.kind, Cursor: r.cursor, Nodes: r.nodes, Count: len(r.nodes)})
		all = append(all, r.nodes...)
		b.Report.Sources[i].Nodes = len(r.nodes)
	}
	slices.SortFunc(next.Sources, func(a, c SourceSnapshot) int { return strings.Compare(a.Name, c.Name) })

	g, linked, dangling, err := m.assemble(all)
	if err != nil {
		return b, err
	}
	for i := range next.Sources {
		for _, n := range next.Sources[i].Nodes {
			if d, ok := linked[n.ID]; ok {
				if next.Sources[i].Linked == nil {
					next.Sources[i].Linked = map[string]string{}
				}
				next.Sources[i].Linked[n.ID] = d
			}
		}
	}
	if dangling == nil {
		dangling = []DanglingRef{}
	}
	b.Report.DanglingRefs = dangling
	next.Dangling = dangling
	if m.opts.Strict && len(dangling) > 0 {
		return b, fmt.Errorf("%w: %d, first: %s.%s -> %s", ErrDanglingRefs, len(dangling), dangling[0].From, dangling[0].Field, dangling[0].To)
	}
	b.Graph = g
	b.Changes = diffSnapshots(prev, g)
	b.Report.Phases.MergeMs = time.Since(start).Milliseconds() - b.Report.Phases.FetchMs
	b.snapshot = next
	b.Report.DurationMs = time.Since(start).Milliseconds()
	b.Report.Nodes = g.Len()

	if err := m.writeAndSave(ctx, b, nil); err != nil {
		return b, err
	}
	log.Info("build done", "nodes", b.Report.Nodes, "added", len(b.Changes.Added), "updated", len(b.Changes.Updated),
		"deleted", len(b.Changes.Deleted), "ms", b.Report.DurationMs)
	return b, nil
}

// rebuildWithoutSnapshot starts over without the snapshot, whose manifest was fine but whose nodes
// are not (err), fetching everything; the new snapshot replaces the broken one.
func (m *Mesh) rebuildWithoutSnapshot(ctx context.Context, cause error, disk bool) (*Build, error) {
	if errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded) {
		return &Build{}, cause
	}
	m.opts.Logger.Warn("snapshot nodes unusable, fetching everything", "err", cause)
	m2 := *m
	store := m2.opts.Store
	m2.opts.Store = nil
	m2.opts.Full = true
	if disk {
		m2.opts.Graph = GraphDisk // the graph is as large as the snapshot said
	}
	rb, rerr := m2.build(ctx)
	if rerr != nil {
		return rb, rerr
	}
	rb.Report.SnapshotError = cause.Error()
	if store != nil {
		if err := store.Save(ctx, rb.snapshot); err != nil {
			rb.Close()
			return rb, fmt.Errorf("save snapshot: %w", err)
		}
	}
	return rb, nil
}

// Snapshot returns the snapshot this build saved (or would save): for stores that a caller drives
// itself. The snapshot of a disk-backed build streams its nodes from the graph's database: use it
// before Close.
func (b *Build) Snapshot() *Snapshot { return b.snapshot }

// Close releases what the build holds beyond memory: a disk-backed graph's database. It is a no-op
// for a graph in memory and safe to call more than once.
func (b *Build) Close() error {
	if b == nil || b.Graph == nil {
		return nil
	}
	return b.Graph.Close()
}

func (m *Mesh) loadSnapshot(ctx context.Context) (*Snapshot, error) {
	if m.opts.Store == nil {
		return nil, nil
	}
	s, err := m.opts.Store.Load(ctx)
	if errors.Is(err, ErrNoSnapshot) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

type sourceResult struct {
	name, kind string
	col        *collector // what Fetch emitted (nil when it failed)
	delta      bool       // apply col over the previous snapshot
	stale      bool       // failed; keep the previous snapshot
	nodes      []*Node    // sorted by ID, once merged
	cursor     []byte
	report     SourceReport
	events     []RequestEvent
	err        error
}

// fetchAll runs every source's Fetch, at most Concurrency at once. Under OnErrorFail the first
// failure cancels the others. emitted, when set, is called at every upsert and deletion.
func (m *Mesh) fetchAll(ctx context.Context, prev *Snapshot, run *diskRun, sp *spiller, inGraph map[string]bool, emitted func()) []sourceResult {
	results := make([]sourceResult, len(m.sources))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var g errgroup.Group
	limit := m.opts.Concurrency
	if limit == 0 {
		limit = len(m.sources)
	}
	if limit > 0 {
		g.SetLimit(limit)
	}
	pool := &sync.Pool{New: func() any { return new(canonicalizer) }}
	cols := make([]*collector, len(m.sources))
	for i, s := range m.sources {
		// On disk, a source whose last nodes are copied into the graph emits into a namespace
		// of its own.
		ns := byte(nsNode)
		if inGraph[s.name] {
			ns = nsEmitted
		}
		if run != nil {
			cols[i] = newDiskCollector(s.name, pool, run.kv, ns)
		} else {
			cols[i] = newCollector(s.name, pool)
			cols[i].diskNS = ns
			cols[i].spill = sp
			cols[i].onEmit = emitted
		}
	}
	if sp != nil {
		sp.cols = cols
	}
	for i, s := range m.sources {
		g.Go(func() error {
			results[i] = m.fetchOne(ctx, s, prev.source(s.name), cols[i])
			if results[i].err != nil && m.opts.OnError == OnErrorFail {
				cancel()
			}
			return nil
		})
	}
	g.Wait()
	// A source that only failed because another one cancelled the build says so.
	return results
}

func (m *Mesh) fetchOne(ctx context.Context, s namedSource, prev *SourceSnapshot, col *collector) sourceResult {
	kind := s.src.Kind()
	res := sourceResult{name: s.name, kind: kind, report: SourceReport{Name: s.name, Type: kind}}
	rec := &sourceRecorder{name: s.name, nodes: &col.count, observer: m.opts.Observer, keep: m.opts.RecordRequests}
	if m.opts.Observer != nil {
		m.opts.Observer.SourceStarted(s.name, kind)
	}
	req := FetchRequest{Source: s.name, PageSize: m.opts.PageSize, Logger: m.opts.Logger.With("source", s.name)}
	if prev != nil && !m.opts.Full && prev.Kind == kind {
		req.Cursor = prev.Cursor
	}
	start := time.Now()
	fr, err := safeFetch(withSourceRecorder(ctx, rec), s.src, req, col)
	if ferr := col.finish(); err == nil && ferr != nil {
		err = fmt.Errorf("disk graph: %w", ferr)
	}
	res.report.DurationMs = time.Since(start).Milliseconds()
	rec.fill(&res.report)
	res.events = rec.events
	if d := col.duplicates.Load(); d > 0 {
		res.report.Duplicates = int(d)
		m.opts.Logger.Warn("source emitted nodes more than once (overlapping pages?)", "source", s.name, "duplicates", d)
	}
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		res.err = &SourceError{Source: s.name, Kind: kind, Err: err}
		res.report.Error = res.err.Error()
		if m.opts.OnError == OnErrorStale && prev != nil {
			res.report.Status = StatusStale
			res.stale = true
			res.cursor = prev.Cursor
			res.report.Nodes = prev.Count
		} else {
			res.report.Status = StatusFailed
		}
		m.opts.Logger.Warn("source failed", "source", s.name, "err", err)
	} else {
		res.report.Status = StatusOK
		res.cursor = fr.Cursor
		res.delta = fr.Delta && prev != nil
		res.col = col
		res.report.Nodes = int(col.count.Load())
		if res.delta {
			res.report.Nodes = prev.Count + int(col.count.Load()) // an estimate until merged
		}
	}
	if m.opts.Observer != nil {
		m.opts.Observer.SourceDone(s.name, res.report)
	}
	return res
}

// withSourceRecorder attaches the source's recorder, chaining any recorder the caller installed.
func withSourceRecorder(ctx context.Context, rec *sourceRecorder) context.Context {
	rec.next = RecorderFrom(ctx)
	return WithRecorder(ctx, rec)
}

// safeFetch calls Fetch and turns a panic into an error.
func safeFetch(ctx context.Context, src Source, req FetchRequest, out Emitter) (res FetchResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v\n%s", ErrPanic, r, debug.Stack())
		}
	}()
	return src.Fetch(ctx, req, out)
}

// mergeSource turns what a source emitted into its node list: the emitted set for a full fetch, or
// the previous nodes with the delta applied.
func mergeSource(col *collector, delta bool, prev *SourceSnapshot) []*Node {
	if delta && prev != nil {
		merged := make(map[string]*Node, len(prev.Nodes)+len(col.nodes))
		for _, n := range prev.Nodes {
			merged[n.ID] = n
		}
		for id := range col.deletes {
			delete(merged, id)
		}
		maps.Copy(merged, col.nodes)
		return sortedNodes(merged)
	}
	return sortedNodes(col.nodes)
}

func sortedNodes(m map[string]*Node) []*Node {
	out := make([]*Node, 0, len(m))
	for _, n := range m {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b *Node) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// assemble builds the graph from all sources' nodes: link rules, backrefs, dangling refs. Nodes that
// link rules change are copied, so snapshot nodes keep their emitted form.
func (m *Mesh) assemble(all []*Node) (*Graph, map[string]string, []DanglingRef, error) {
	g := &Graph{nodes: all}
	linked := map[string]string{}
	var linkDangling []DanglingRef
	if len(m.links) > 0 {
		targets := map[string]bool{}
		for _, l := range m.links {
			targets[l.fromType] = true
		}
		// Copy the nodes that rules may change, so snapshot nodes keep their emitted form.
		for i, n := range g.nodes {
			if targets[n.Type] {
				c := *n
				c.Refs = slices.Clone(n.Refs)
				g.nodes[i] = &c
			}
		}
		g.index()
		var canon canonicalizer
		var err error
		linkDangling, err = applyLinks(m.links, g.byType, &canon)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, n := range g.nodes {
			if targets[n.Type] {
				linked[n.ID] = n.Digest
			}
		}
	} else {
		g.index()
	}
	g.fillBackrefs()
	dangling := append(g.Dangling(), linkDangling...)
	slices.SortStableFunc(dangling, func(a, b DanglingRef) int {
		if c := strings.Compare(a.From, b.From); c != 0 {
			return c
		}
		return strings.Compare(a.Field, b.Field)
	})
	return g, linked, dangling, nil
}

// fingerprint identifies the settings that shape the graph beyond the sources' nodes.
func (m *Mesh) fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "graph v%d\n", GraphVersion)
	for _, l := range m.links {
		fmt.Fprintf(h, "link %q %q %q\n", l.rule.From, l.rule.To, l.rule.As)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// unchanged reports whether the build can reuse the previous graph as it is: the same sources and
// settings, and every source answered an empty delta (or failed under onError: stale).
func (m *Mesh) unchanged(prev *Snapshot, results []sourceResult, fp string) bool {
	if prev == nil || prev.Fingerprint != fp || len(prev.Sources) != len(results) {
		return false
	}
	for _, r := range results {
		ps := prev.source(r.name)
		if ps == nil || ps.Kind != r.kind {
			return false
		}
		switch {
		case r.stale:
		case r.col != nil && r.delta && r.col.emitted() == 0:
		default:
			return false
		}
	}
	return true
}

// finishUnchanged completes a build whose graph did not change: no node is loaded, the graph is
// lazy, outputs that depend only on the graph are kept, and the snapshot keeps its node file.
func (m *Mesh) finishUnchanged(ctx context.Context, b *Build, prev *Snapshot, results []sourceResult, start time.Time, disk bool) error {
	next := &Snapshot{Version: SnapshotVersion, CreatedAt: time.Now().UTC(), Fingerprint: prev.Fingerprint,
		NodesKey: prev.NodesKey, Load: prev.Load}
	if m.opts.Strict && len(prev.Dangling) > 0 {
		d := prev.Dangling[0]
		return fmt.Errorf("%w: %d, first: %s.%s -> %s", ErrDanglingRefs, len(prev.Dangling), d.From, d.Field, d.To)
	}
	next.Sources = slices.Clone(prev.Sources)
	nodes := 0
	for i := range next.Sources {
		for _, r := range results {
			if r.name == next.Sources[i].Name && !r.stale {
				next.Sources[i].Cursor = r.cursor
			}
		}
		nodes += next.Sources[i].Count
	}
	for i := range b.Report.Sources {
		if ps := prev.source(b.Report.Sources[i].Name); ps != nil {
			b.Report.Sources[i].Nodes = ps.Count
		}
	}
	// The graph and the snapshot share the loaded nodes: loading either loads both. The graph is
	// read on first use, usually after Build returned and its context ended: the loads outlive it.
	lctx := context.WithoutCancel(ctx)
	var once sync.Once
	var loadErr error
	loadPrev := func() error {
		once.Do(func() { loadErr = prev.ensureNodes(lctx) })
		return loadErr
	}
	next.Load = func(context.Context) error {
		if err := loadPrev(); err != nil {
			return err
		}
		for i := range next.Sources {
			next.Sources[i].Nodes = prev.Sources[i].Nodes
		}
		return nil
	}
	if disk {
		b.Graph = &Graph{loadDisk: func() (*diskGraph, error) { return m.diskGraphOf(lctx, prev) }}
	} else {
		b.Graph = lazyGraph(func() ([]*Node, error) {
			if err := loadPrev(); err != nil {
				return nil, err
			}
			var all []*Node
			for _, s := range prev.Sources {
				all = append(all, s.Nodes...)
			}
			if len(m.links) == 0 {
				return all, nil
			}
			g, _, _, err := m.assemble(all)
			if err != nil {
				return nil, err
			}
			return g.nodes, nil
		})
	}
	b.Unchanged = true
	b.Changes = ChangeSet{Added: []string{}, Updated: []string{}, Deleted: []string{}}
	b.Report.DanglingRefs = slices.Clone(prev.Dangling)
	if b.Report.DanglingRefs == nil {
		b.Report.DanglingRefs = []DanglingRef{}
	}
	next.Dangling = prev.Dangling
	b.Report.Nodes = nodes
	b.snapshot = next
	b.Report.DurationMs = time.Since(start).Milliseconds()
	var reuse *OutputStamp
	if prev.Outputs != nil && m.opts.Out != "" && prev.Outputs.valid(m.opts.Out) {
		reuse = prev.Outputs
	}
	if err := m.writeAndSave(ctx, b, reuse); err != nil {
		b.Close()
		b.Graph = nil
		return err
	}
	m.opts.Logger.Info("build done, nothing changed", "nodes", nodes, "ms", b.Report.DurationMs)
	return nil
}

// writeAndSave writes the output folder (when Options.Out is set), stamps it into the snapshot, and
// saves the snapshot. With reuse, files of the previous folder that this build does not write are
// carried over (hard links, or copies where links fail) instead of being regenerated.
func (m *Mesh) writeAndSave(ctx context.Context, b *Build, reuse *OutputStamp) error {
	t0 := time.Now()
	// With a staged store the snapshot's nodes are written while the output folder is; the commit
	// point (the manifest, with the folder's stamp) comes after both.
	var commit func(context.Context) error
	staged, _ := m.opts.Store.(StagedStore)
	var g errgroup.Group
	if staged != nil && m.opts.Out != "" {
		g.Go(func() error {
			var err error
			commit, err = staged.Stage(ctx, b.snapshot)
			return err
		})
	}
	if m.opts.Out != "" {
		// Extra outputs (the schema reads every node) are computed while the node files are
		// written: two passes over the graph on two cores instead of one after the other.
		type extras struct {
			list []OutputWriter
			err  error
		}
		ch := make(chan extras, 1)
		go func() {
			list, err := m.extraOutputs(b)
			ch <- extras{list, err}
		}()
		err := b.writeDirWith(m.opts.Out, reuse, func() ([]OutputWriter, error) {
			e := <-ch
			ch = nil
			return e.list, e.err
		})
		if ch != nil {
			<-ch // writing failed before it needed them: wait, so no goroutine outlives the build
		}
		if err != nil {
			g.Wait()
			b.Graph = nil
			return fmt.Errorf("write %s: %w", m.opts.Out, err)
		}
		b.snapshot.Outputs = stampDir(m.opts.Out)
	}
	t1 := time.Now()
	b.Report.Phases.WriteMs = t1.Sub(t0).Milliseconds()
	if err := g.Wait(); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	switch {
	case commit != nil:
		if err := commit(ctx); err != nil {
			return fmt.Errorf("save snapshot: %w", err)
		}
		b.Report.SnapshotSaved = true
	case m.opts.Store != nil:
		if err := m.opts.Store.Save(ctx, b.snapshot); err != nil {
			return fmt.Errorf("save snapshot: %w", err)
		}
		b.Report.SnapshotSaved = true
	}
	b.Report.Phases.SaveMs = time.Since(t1).Milliseconds()
	return nil
}

// preloader reads the last snapshot's nodes (through its Stream) while the sources fetch. It never
// touches the snapshot until install, which the build calls once the fetch is over.
type preloader struct {
	ctx    context.Context
	cancel context.CancelFunc
	prev   *Snapshot
	once   sync.Once
	done   chan struct{}
	nodes  map[string][]*Node
	err    error
}

func newPreloader(ctx context.Context, prev *Snapshot) *preloader {
	ctx, cancel := context.WithCancel(ctx)
	return &preloader{ctx: ctx, cancel: cancel, prev: prev, done: make(chan struct{})}
}

// start starts the read, once; later calls do nothing.
func (p *preloader) start() {
	p.once.Do(func() {
		p.nodes = make(map[string][]*Node, len(p.prev.Sources))
		for _, src := range p.prev.Sources {
			p.nodes[src.Name] = make([]*Node, 0, src.Count)
		}
		go func() {
			defer close(p.done)
			p.err = p.prev.Stream(p.ctx, func(source string, n *Node) error {
				p.nodes[source] = append(p.nodes[source], n)
				return nil
			})
		}()
	})
}

// stop cancels the read and waits for it; it may be called more than once, started or not.
func (p *preloader) stop() {
	p.cancel()
	p.once.Do(func() { close(p.done) }) // never started: nothing to wait for
	<-p.done
}

// install finishes the read (starting it if no source emitted) and gives prev its nodes, as
// prev.ensureNodes would; on an error prev is left as it was.
func (p *preloader) install(prev *Snapshot) error {
	p.start()
	<-p.done
	p.cancel()
	if p.err != nil {
		return p.err
	}
	for i := range prev.Sources {
		prev.Sources[i].Nodes = p.nodes[prev.Sources[i].Name]
	}
	prev.Load = nil
	return nil
}
