package mesh_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
)

// sliceSource emits prepared nodes: the engine's CPU path with no I/O on the source side.
type sliceSource struct{ nodes []mesh.Node }

func (s *sliceSource) Kind() string { return "slice" }
func (s *sliceSource) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	for i := range s.nodes {
		if err := out.Upsert(s.nodes[i]); err != nil {
			return mesh.FetchResult{}, err
		}
	}
	return mesh.FetchResult{}, nil
}

// smallNodes makes n nodes of about 1 KiB of fields each, every tenth referencing another node.
func smallNodes(source string, n int) ([]mesh.Node, int64) {
	nodes := make([]mesh.Node, n)
	var size int64
	for i := range nodes {
		ref := ""
		if i%10 == 0 && i > 0 {
			ref = fmt.Sprintf(`,"author":{"$ref":%q}`, mesh.NodeID(source, "item", fmt.Sprint(i-1)))
		}
		fields := fmt.Sprintf(`{"title":"Item number %d","slug":"item-%d","price":{"amount":"%d.99","currencyCode":"USD"},"tags":["alpha","beta","gamma"],"published":true,"rating":4.5,"body":"%s","meta":{"views":%d,"z":"last","a":"first"}%s}`,
			i, i, i%500, filler(800+i%64), i*7, ref)
		nodes[i] = mesh.Node{ID: mesh.NodeID(source, "item", fmt.Sprint(i)), Type: "Item", NativeID: fmt.Sprint(i),
			UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Fields: []byte(fields)}
		size += int64(len(fields))
	}
	return nodes, size
}

func filler(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = "lorem ipsum dolor sit amet "[i%27]
	}
	return string(b)
}

// heapPeak samples the live heap objects' size until stopped.
func heapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	wg.Go(func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 { close(done); wg.Wait(); return peak.Load() }
}

// BenchmarkEngine100k measures merging, digesting, extracting refs and exporting 100k small nodes.
// Run it on one core: go test -run XXX -bench Engine100k -cpu 1 ./mesh
func BenchmarkEngine100k(b *testing.B) {
	b.Run("export", func(b *testing.B) { benchEngine(b, true) })
	b.Run("memory", func(b *testing.B) { benchEngine(b, false) })
}

func benchEngine(b *testing.B, export bool) {
	const n = 100_000
	nodes, size := smallNodes("bench", n)
	src := &sliceSource{nodes: nodes}
	out := ""
	if export {
		out = filepath.Join(b.TempDir(), "out")
	}
	runtime.GC()
	base := func() uint64 {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}()
	var peak uint64
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m, _ := mesh.New(mesh.Options{Out: out})
		m.Add("bench", src)
		stop := heapPeak()
		bd, err := m.Build(context.Background())
		p := stop()
		if err != nil {
			b.Fatal(err)
		}
		if bd.Graph.Len() != n {
			b.Fatalf("%d nodes", bd.Graph.Len())
		}
		peak = max(peak, p)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "nodes/s")
	b.ReportMetric(float64(peak-min(peak, base))/float64(size), "peakheap/json")
	b.ReportMetric(float64(size)/(1<<20), "jsonMiB")
}

// BenchmarkSnapshot100k measures saving and loading the snapshot of 100k small nodes (what an
// unchanged rebuild pays before any request).
func BenchmarkSnapshot100k(b *testing.B) {
	nodes, size := smallNodes("bench", 100_000)
	m, _ := mesh.New(mesh.Options{})
	m.Add("bench", &sliceSource{nodes: nodes})
	bd, err := m.Build(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	store, _ := mesh.NewDirStore(b.TempDir())
	b.Run("save", func(b *testing.B) {
		for b.Loop() {
			if err := store.Save(context.Background(), bd.Snapshot()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(size)/(1<<20), "jsonMiB")
	})
	b.Run("load", func(b *testing.B) {
		for b.Loop() {
			s, err := store.Load(context.Background())
			if err == nil {
				err = s.Load(context.Background())
			}
			if err != nil || len(s.Sources[0].Nodes) != 100_000 {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLinks100k: a link rule joining 100k posts to 50k products by handle (two values a post),
// with the graph in memory and on disk (the target index and every lookup in the database).
func BenchmarkLinks100k(b *testing.B) {
	posts := make([]mesh.Node, 100_000)
	for i := range posts {
		posts[i] = mesh.Node{ID: mesh.NodeID("cms", "post", fmt.Sprint(i)), Type: "Post", NativeID: fmt.Sprint(i),
			Fields: []byte(fmt.Sprintf(`{"title":"Post %d","handles":["h%d","h%d"],"body":%q}`, i, i%50_000, (i*7)%60_000, filler(300)))}
	}
	products := make([]mesh.Node, 50_000)
	for i := range products {
		products[i] = mesh.Node{ID: mesh.NodeID("shop", "product", fmt.Sprint(i)), Type: "Product", NativeID: fmt.Sprint(i),
			Fields: []byte(fmt.Sprintf(`{"handle":"h%d","title":"Product %d"}`, i, i))}
	}
	want := 0 // posts whose second handle matches no product
	for i := range posts {
		if (i*7)%60_000 >= 50_000 {
			want++
		}
	}
	for _, mode := range []mesh.GraphMode{mesh.GraphMemory, mesh.GraphDisk} {
		b.Run(string(mode), func(b *testing.B) {
			for b.Loop() {
				m, _ := mesh.New(mesh.Options{Graph: mode, GraphDir: b.TempDir(),
					Links: []mesh.LinkRule{{From: "Post.handles", To: "Product.handle", As: "products"}}})
				m.Add("cms", &sliceSource{posts})
				m.Add("shop", &sliceSource{products})
				build, err := m.Build(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if n := len(build.Report.DanglingRefs); n != want {
					b.Fatalf("%d dangling, want %d", n, want)
				}
				build.Close()
			}
		})
	}
}

// BenchmarkByType100k: Graph.ByType over every type of a 100k-node graph (posts referencing
// products), in memory and on disk, after the build.
func BenchmarkByType100k(b *testing.B) {
	var nodes []mesh.Node
	for i := range 100_000 {
		typ, ref := "Post", fmt.Sprintf(`,"product":{"$ref":%q}`, mesh.NodeID("s", "product", fmt.Sprint(i%1000)))
		if i%4 == 0 {
			typ, ref = "Product", ""
		}
		nodes = append(nodes, mesh.Node{ID: mesh.NodeID("s", strings.ToLower(typ), fmt.Sprint(i)), Type: typ, NativeID: fmt.Sprint(i),
			Fields: []byte(fmt.Sprintf(`{"title":"%s %d","body":%q%s}`, typ, i, filler(200), ref))})
	}
	for _, mode := range []mesh.GraphMode{mesh.GraphMemory, mesh.GraphDisk} {
		b.Run(string(mode), func(b *testing.B) {
			m, _ := mesh.New(mesh.Options{Graph: mode, GraphDir: b.TempDir()})
			m.Add("s", &sliceSource{nodes})
			build, err := m.Build(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			defer build.Close()
			for b.Loop() {
				seen := 0
				for _, typ := range build.Graph.Types() {
					for range build.Graph.ByType(typ) {
						seen++
					}
				}
				if seen != len(nodes) || build.Graph.Err() != nil {
					b.Fatalf("%d nodes, %v", seen, build.Graph.Err())
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(nodes)), "ns/node")
		})
	}
}
