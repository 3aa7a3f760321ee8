package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/mesh/schema"
)

// Spec describes one simulated provider of a scenario.
type Spec struct {
	Items, PageSize, ItemBytes int
	Latency                    time.Duration
	Style                      Style
	RateLimit                  int
	InFlightGrace              time.Duration
	Sync                       bool
}

// Scenario is one measured situation.
type Scenario struct {
	Name string
	// Providers are served on loopback, one source each.
	Providers []Spec
	// Concurrency is each source's request concurrency.
	Concurrency int
	// InProcess, when positive, is a single in-process source of that many small nodes (no HTTP):
	// the engine's CPU and memory path, run on one core.
	InProcess int
	// InProcessBytes pads each in-process node to about this size; with it the build uses every
	// core, a snapshot store and Graph (the graph mode): the disk-backed graph's scenario.
	InProcessBytes int
	Graph          mesh.GraphMode
	// Rebuild measures a second build after the first: "unchanged", or "changed" (ChangedPercent of
	// every provider's items changed in between). The figures are the second build's.
	Rebuild        string
	ChangedPercent float64
}

// Scenarios are the standard ones (issue: Performance).
func Scenarios() []Scenario {
	offset := Spec{Items: 10_000, PageSize: 100, ItemBytes: 1000, Latency: 20 * time.Millisecond, Style: Offset, Sync: true}
	large := offset
	large.Items = 50_000
	return []Scenario{
		{Name: "a-3x10k-offset", Providers: []Spec{offset, offset, offset}, Concurrency: 8},
		{Name: "b-cursor-200-pages", Providers: []Spec{{Items: 200 * 50, PageSize: 50, ItemBytes: 500, Latency: 20 * time.Millisecond, Style: Cursor}}, Concurrency: 8},
		{Name: "c-rate-limit-10rps", Providers: []Spec{{Items: 50 * 40, PageSize: 40, ItemBytes: 500, Latency: 20 * time.Millisecond, Style: Offset, RateLimit: 10}}, Concurrency: 8},
		{Name: "d-1M-in-process", InProcess: 1_000_000},
		// An unchanged rebuild costs one sync request per source and a few file operations, whatever
		// the size; the full build it is compared with grows with the content: 3 x 50k items here.
		{Name: "e-unchanged-rebuild", Providers: []Spec{large, large, large}, Concurrency: 8, Rebuild: "unchanged"},
		{Name: "f-1pct-changed-rebuild", Providers: []Spec{offset, offset, offset}, Concurrency: 8, Rebuild: "changed", ChangedPercent: 1},
	}
}

// LargeScenarios build a graph of 1M nodes of about 1 KiB in memory and on disk (issue: past
// memory): minutes and gigabytes, so they run only when named.
func LargeScenarios() []Scenario {
	return []Scenario{
		{Name: "g-1M-1KiB-disk", InProcess: 1_000_000, InProcessBytes: 1024, Graph: mesh.GraphDisk},
		{Name: "g-1M-1KiB-memory", InProcess: 1_000_000, InProcessBytes: 1024, Graph: mesh.GraphMemory},
		{Name: "h-1M-1KiB-1pct-disk", InProcess: 1_000_000, InProcessBytes: 1024, Graph: mesh.GraphDisk, Rebuild: "changed"},
		{Name: "h-1M-1KiB-1pct-memory", InProcess: 1_000_000, InProcessBytes: 1024, Graph: mesh.GraphMemory, Rebuild: "changed"},
	}
}

// Result is what a scenario measured.
type Result struct {
	Name string `json:"name"`
	// Wall is the measured build's wall time; for rebuilds, FullWall is the first build's.
	Wall     time.Duration `json:"wallNs"`
	FullWall time.Duration `json:"fullWallNs,omitempty"`
	// Bound is the critical-path bound; Sequential the time of every page one after the other.
	Bound      time.Duration `json:"boundNs,omitempty"`
	Sequential time.Duration `json:"sequentialNs,omitempty"`
	RatioBound float64       `json:"ratioToBound,omitempty"`
	RatioSeq   float64       `json:"ratioToSequential,omitempty"`
	RatioFull  float64       `json:"ratioToFullBuild,omitempty"`
	// Floor is the time a bare net/http client takes to read the same pages (see Floor); set for
	// first builds without a rate limit. FetchRatioBound and FetchRatioFloor compare the build's
	// fetch phase (Phases.FetchMs) with the bound and the floor.
	Floor           time.Duration `json:"floorNs,omitempty"`
	RatioFloor      float64       `json:"ratioToFloor,omitempty"`
	FetchRatioBound float64       `json:"fetchRatioToBound,omitempty"`
	FetchRatioFloor float64       `json:"fetchRatioToFloor,omitempty"`
	Requests        int64         `json:"requests"`
	// MaxRequestsPerSource is the most requests one source made (rebuilds: should be 1 with sync).
	MaxRequestsPerSource int64 `json:"maxRequestsPerSource"`
	Retries              int   `json:"retries"`
	Throttled            int64 `json:"throttled"`
	// Early counts requests that reached a provider before a 429's reset time.
	Early       int64         `json:"earlyRequests"`
	CPU         time.Duration `json:"cpuNs"`
	Nodes       int           `json:"nodes"`
	NodesPerCPU float64       `json:"nodesPerCpuSecond"`
	JSONBytes   int64         `json:"nodesJsonBytes"`
	PeakRSS     uint64        `json:"peakRssBytes"`
	PeakHeap    uint64        `json:"peakHeapBytes"`
	Changes     [3]int        `json:"changes"` // added, updated, deleted
	// Phases is where the measured build's time went.
	Phases mesh.Phases `json:"phases"`
	// WriteMs is the time spent writing the output folder (with the snapshot's node file staged
	// beside it); SaveMs the commit of the snapshot after it.
	WriteMs int64 `json:"writeMs"`
	SaveMs  int64 `json:"saveMs"`
}

// Run runs one scenario with outputs and snapshots under dir.
func Run(ctx context.Context, s Scenario, dir string) (Result, error) {
	if s.InProcess > 0 {
		return runInProcess(ctx, s, dir)
	}
	res := Result{Name: s.Name}
	conc := max(s.Concurrency, 1)
	providers := make([]*Provider, len(s.Providers))
	var sources []*Source
	var urls []string
	limited := false
	for i, sp := range s.Providers {
		p := &Provider{Items: sp.Items, PageSize: sp.PageSize, ItemBytes: sp.ItemBytes, Latency: sp.Latency,
			Style: sp.Style, RateLimit: sp.RateLimit, Sync: sp.Sync, InFlightGrace: sp.InFlightGrace}
		p.Prepare()
		providers[i] = p
		srv := httptest.NewServer(p)
		defer srv.Close()
		urls = append(urls, srv.URL)
		limited = limited || sp.RateLimit > 0
		src, err := NewSource(fmt.Sprintf("p%d", i), srv.URL, sp.Style, sp.PageSize, fetch.Options{Concurrency: conc, MaxRetryAfter: 10 * time.Second})
		if err != nil {
			return res, err
		}
		sources = append(sources, src)
		res.Bound = max(res.Bound, p.Bound(conc))
		res.Sequential += p.Sequential()
	}
	store, err := mesh.NewDirStore(filepath.Join(dir, "cache"))
	if err != nil {
		return res, err
	}
	build := func() (*mesh.Build, time.Duration, error) {
		m, err := mesh.New(mesh.Options{Store: store, Out: filepath.Join(dir, "out")})
		if err != nil {
			return nil, 0, err
		}
		for i, src := range sources {
			m.Add(fmt.Sprintf("p%d", i), src)
		}
		start := time.Now()
		b, err := m.Build(ctx)
		return b, time.Since(start), err
	}
	if s.Rebuild != "" {
		_, full, err := build()
		if err != nil {
			return res, err
		}
		res.FullWall = full
		for _, p := range providers {
			p.Reset()
			if s.Rebuild == "changed" {
				p.Touch(int(float64(p.Items) * s.ChangedPercent / 100))
				p.Prepare()
			}
		}
	}
	// Let earlier writes reach the disk (a rebuild comes later in real life; a run before this one
	// may have left hundreds of MB in writeback), so the measured build's fsyncs do not wait behind
	// them.
	syscall.Sync()
	runtime.GC()
	m := startMeter()
	b, wall, err := build()
	m.stop(&res)
	if err != nil {
		return res, err
	}
	res.Wall = wall
	fill(&res, b, dir)
	for i, p := range providers {
		res.Requests += p.Requests()
		res.Throttled += p.Throttled()
		res.Early += p.EarlyRequests()
		res.MaxRequestsPerSource = max(res.MaxRequestsPerSource, p.Requests())
		_ = i
	}
	if s.Rebuild == "" && !limited {
		// After the build, so that the build runs as it would alone.
		runtime.GC()
		if res.Floor, err = Floor(ctx, providers, urls, conc); err != nil {
			return res, fmt.Errorf("floor: %w", err)
		}
	}
	if s.Rebuild != "" {
		res.Bound, res.Sequential = 0, 0
		res.RatioFull = float64(res.Wall) / float64(res.FullWall)
	} else {
		res.RatioBound = float64(res.Wall) / float64(res.Bound)
		res.RatioSeq = float64(res.Wall) / float64(res.Sequential)
		fetchPhase := time.Duration(res.Phases.FetchMs) * time.Millisecond
		res.FetchRatioBound = float64(fetchPhase) / float64(res.Bound)
		if res.Floor > 0 {
			res.RatioFloor = float64(res.Wall) / float64(res.Floor)
			res.FetchRatioFloor = float64(fetchPhase) / float64(res.Floor)
		}
	}
	return res, nil
}

func fill(res *Result, b *mesh.Build, dir string) {
	res.Nodes = b.Report.Nodes
	for _, sr := range b.Report.Sources {
		res.Retries += sr.Retries
	}
	res.Changes = [3]int{len(b.Changes.Added), len(b.Changes.Updated), len(b.Changes.Deleted)}
	res.Phases = b.Report.Phases
	res.WriteMs, res.SaveMs = b.Report.Phases.WriteMs, b.Report.Phases.SaveMs
	if st, err := os.Stat(filepath.Join(dir, "out", "nodes.ndjson")); err == nil {
		res.JSONBytes = st.Size()
	}
	if res.CPU > 0 {
		res.NodesPerCPU = float64(res.Nodes) / res.CPU.Seconds()
	}
}

// genSource emits n small nodes generated on the fly (no input kept in memory), padded to about
// size bytes when size is set. With changed set, a fetch given the cursor of an earlier one is a
// delta: every 100th node, edited.
type genSource struct {
	n, size int
	changed bool
}

func (g genSource) Kind() string { return "generated" }
func (g genSource) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	buf := make([]byte, 0, 256)
	delta := g.changed && len(req.Cursor) > 0
	for i := 0; i < g.n; i++ {
		if i%4096 == 0 && ctx.Err() != nil {
			return mesh.FetchResult{}, ctx.Err()
		}
		if delta && i%100 != 0 {
			continue
		}
		id := strconv.Itoa(i)
		buf = append(buf[:0], `{"title":"Node `...)
		if delta {
			buf = append(buf, "edited "...)
		}
		buf = append(buf, id...)
		buf = append(buf, `","slug":"node-`...)
		buf = append(buf, id...)
		buf = append(buf, `","n":`...)
		buf = append(buf, id...)
		buf = append(buf, `,"tags":["a","b"],"published":true`...)
		if pad := g.size - len(buf) - 12; pad > 0 {
			buf = append(buf, `,"body":"`...)
			for j := 0; j < pad; j++ {
				buf = append(buf, lorem[(i*7+j)%len(lorem)])
			}
			buf = append(buf, '"')
		}
		if i > 0 && i%10 == 0 {
			buf = append(buf, `,"parent":{"$ref":"`...)
			buf = append(buf, mesh.NodeID(req.Source, "n", strconv.Itoa(i-1))...)
			buf = append(buf, `"}`...)
		}
		buf = append(buf, '}')
		if err := out.Upsert(mesh.Node{ID: mesh.NodeID(req.Source, "n", id), Type: "Item", NativeID: id, Fields: buf}); err != nil {
			return mesh.FetchResult{}, err
		}
	}
	if g.changed {
		return mesh.FetchResult{Delta: delta, Cursor: json.RawMessage(`1`)}, nil
	}
	return mesh.FetchResult{}, nil
}

const lorem = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore "

func runInProcess(ctx context.Context, s Scenario, dir string) (Result, error) {
	res := Result{Name: s.Name}
	opts := mesh.Options{Out: filepath.Join(dir, "out"), Graph: s.Graph, GraphDir: filepath.Join(dir, "scratch")}
	if s.InProcessBytes == 0 {
		prev := runtime.GOMAXPROCS(1)
		defer runtime.GOMAXPROCS(prev)
	} else {
		store, err := mesh.NewDirStore(filepath.Join(dir, "cache"))
		if err != nil {
			return res, err
		}
		opts.Store = store
		opts.Extras = schema.Outputs(nil) // schema.json and mesh.d.ts, as the CLI writes them
	}
	m, err := mesh.New(opts)
	if err != nil {
		return res, err
	}
	m.Add("gen", genSource{n: s.InProcess, size: s.InProcessBytes, changed: s.Rebuild == "changed"})
	if s.Rebuild != "" {
		start := time.Now()
		b, err := m.Build(ctx)
		if err != nil {
			return res, err
		}
		res.FullWall = time.Since(start)
		if err := b.Close(); err != nil {
			return res, err
		}
		syscall.Sync()
	}
	runtime.GC()
	debug.FreeOSMemory()
	meter := startMeter()
	start := time.Now()
	b, err := m.Build(ctx)
	res.Wall = time.Since(start)
	if err == nil {
		res.Nodes = b.Graph.Len()
		err = b.Close()
	}
	meter.stop(&res)
	if err == nil {
		fill(&res, b, dir)
		if res.FullWall > 0 {
			res.RatioFull = float64(res.Wall) / float64(res.FullWall)
		}
	}
	return res, err
}

// meter measures CPU time, peak RSS and peak heap over a span.
type meter struct {
	cpu0  time.Duration
	done  chan struct{}
	wg    sync.WaitGroup
	heap  atomic.Uint64
	rssOK bool
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startMeter() *meter {
	m := &meter{cpu0: cpuTime(), done: make(chan struct{})}
	// Writing 5 to clear_refs resets the peak resident set size (VmHWM) on Linux.
	m.rssOK = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	m.wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > m.heap.Load() {
				m.heap.Store(v)
			}
			select {
			case <-m.done:
				return
			case <-t.C:
			}
		}
	})
	return m
}

func (m *meter) stop(r *Result) {
	close(m.done)
	m.wg.Wait()
	r.CPU = cpuTime() - m.cpu0
	r.PeakHeap = m.heap.Load()
	if m.rssOK {
		r.PeakRSS = peakRSS()
	}
}

// peakRSS reads VmHWM from /proc/self/status.
func peakRSS() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if f := bytes.Fields(sc.Bytes()); len(f) >= 2 && string(f[0]) == "VmHWM:" {
			kb, _ := strconv.ParseUint(string(f[1]), 10, 64)
			return kb << 10
		}
	}
	return 0
}
