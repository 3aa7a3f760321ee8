package mesh_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/memsource"
)

// toggled fails when told to (after emitting a node and a delete), else fetches from its memsource.
type toggled struct {
	*memsource.Source
	fail bool
}

func (t *toggled) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	if t.fail {
		if err := out.Upsert(mesh.Node{ID: mesh.NodeID(req.Source, "author", "half"), Type: "Author", Fields: []byte(`{}`)}); err != nil {
			return mesh.FetchResult{}, err
		}
		if err := out.Delete(mesh.NodeID(req.Source, "author", "a%2F1%40x")); err != nil {
			return mesh.FetchResult{}, err
		}
		return mesh.FetchResult{}, errors.New("upstream down")
	}
	return t.Source.Fetch(ctx, req, out)
}

// fullWithCursor answers a fetch given a cursor in full while full is set (a source whose sync
// token expired, say), with a cursor all the same.
type fullWithCursor struct {
	*memsource.Source
	full bool
}

func (f *fullWithCursor) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	if !f.full {
		return f.Source.Fetch(ctx, req, out)
	}
	req.Cursor = nil
	r, err := f.Source.Fetch(ctx, req, out)
	r.Delta = false
	return r, err
}

// diskScenario is a random content set with every feature the graph has: types, locales, refs
// (some dangling, some to odd IDs), link rules matching values, arrays and missing values.
type diskScenario struct {
	rnd            *rand.Rand
	cms, shop, aux *memsource.Source
	auxT           *toggled
	full           *fullWithCursor
	posts          int
}

func newDiskScenario(t *testing.T, seed uint64) *diskScenario {
	s := &diskScenario{rnd: rand.New(rand.NewPCG(seed, 7))}
	s.cms, s.shop, s.aux = mustMem(t), mustMem(t), mustMem(t)
	s.auxT = &toggled{Source: s.aux}
	s.full = &fullWithCursor{Source: s.shop, full: true}
	for i := range 40 {
		s.putProduct(t, i)
	}
	for i := range 120 {
		s.putPost(t, i)
	}
	for i := range 10 {
		s.aux.Put(rec("author", fmt.Sprintf("a/%d@x", i), "Author", fmt.Sprintf(`{"name":"author %d","nul":"a\u0000b"}`, i)))
	}
	s.posts = 120
	return s
}

func (s *diskScenario) putProduct(t *testing.T, i int) {
	handle := fmt.Sprintf("h%d", i%30) // some handles shared by two products
	if i%13 == 0 {
		handle = "nul\u0000" + handle
	}
	f, _ := json.Marshal(map[string]any{"handle": handle, "price": fmt.Sprint(i * 100), "tags": []string{"t", fmt.Sprint(i % 3)}})
	if err := s.shop.Put(memsource.Record{Namespace: "product", NativeID: fmt.Sprint(i), Type: "Product", Fields: f}); err != nil {
		t.Fatal(err)
	}
}

func (s *diskScenario) putPost(t *testing.T, i int) {
	r := s.rnd
	handles := []string{}
	for range r.IntN(4) {
		h := fmt.Sprintf("h%d", r.IntN(35)) // some match nothing
		if r.IntN(10) == 0 {
			h = "nul\u0000h0"
		}
		handles = append(handles, h)
	}
	fields := map[string]any{
		"title":          fmt.Sprintf("post %d v%d", i, r.IntN(1000)),
		"productHandles": handles,
		"author":         map[string]string{"$ref": mesh.NodeID("aux", "author", fmt.Sprintf("a/%d@x", r.IntN(12)))}, // 10, 11 dangle
		"related": []map[string]string{
			{"$ref": mesh.LocalizedNodeID("cms", "post", fmt.Sprint(r.IntN(s.posts+5)), "en")},
			{"$ref": mesh.NodeID("shop", "product", fmt.Sprint(r.IntN(45)))},
		},
	}
	if r.IntN(3) == 0 {
		fields["sku"] = fmt.Sprint(r.IntN(50))
	}
	if r.IntN(5) == 0 {
		delete(fields, "productHandles")
	}
	f, _ := json.Marshal(fields)
	locale := []string{"en", "de", ""}[r.IntN(3)]
	typ := []string{"Post", "Post", "Page"}[r.IntN(3)]
	if err := s.cms.Put(memsource.Record{Namespace: "post", NativeID: fmt.Sprint(i), Type: typ, Locale: locale, Fields: f}); err != nil {
		t.Fatal(err)
	}
}

// mutate edits, adds and removes a few records in every source.
func (s *diskScenario) mutate(t *testing.T) {
	r := s.rnd
	for range 15 {
		s.putPost(t, r.IntN(s.posts))
	}
	for range 5 {
		s.putPost(t, s.posts)
		s.posts++
	}
	for range 8 {
		for _, l := range []string{"en", "de", ""} {
			s.cms.Remove("post", fmt.Sprint(r.IntN(s.posts)), l)
		}
	}
	for range 4 {
		s.putProduct(t, r.IntN(45))
	}
	s.shop.Remove("product", fmt.Sprint(r.IntN(40)), "")
	s.aux.Put(rec("author", "a/3@x", "Author", fmt.Sprintf(`{"name":"renamed %d"}`, r.IntN(100))))
}

// readOutputs reads every file of an output folder; report.json loses its timings.
func readOutputs(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "report.json" {
			var r mesh.Report
			if err := json.Unmarshal(data, &r); err != nil {
				return err
			}
			r.DurationMs, r.Phases = 0, mesh.Phases{}
			for i := range r.Sources {
				r.Sources[i].DurationMs = 0
			}
			data, _ = json.MarshalIndent(r, "", "  ")
		}
		out[rel] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// graphView reads a graph through its API, for comparing a disk-backed graph with one in memory.
func graphView(t *testing.T, g *mesh.Graph) string {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintln(&b, g.Len(), g.Types(), g.CountByType(), g.Dangling())
	for _, typ := range g.Types() {
		for n := range g.ByType(typ) {
			fmt.Fprint(&b, n.ID, " ")
			for r := range g.Refs(n, "") {
				fmt.Fprint(&b, "->", r.ID, " ")
			}
			for _, r := range n.Refs {
				typ, ok := g.TypeOf(r.To)
				fmt.Fprint(&b, "type(", r.To, ")=", typ, ok, " ")
			}
			for r := range g.Backrefs(n, "related") {
				fmt.Fprint(&b, "<-", r.ID, " ")
			}
			got, ok := g.Get(n.ID)
			j1, _ := json.Marshal(n)
			j2, _ := json.Marshal(got)
			if !ok || !bytes.Equal(j1, j2) {
				t.Errorf("Get(%q) differs from ByType's node", n.ID)
			}
			fmt.Fprintln(&b, g.Query(n.ID, "title").Str)
		}
	}
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestDiskGraphMatchesMemory runs the same builds (a first build, deltas with deletions, a stale
// source, a removed source, an unchanged rebuild) with the graph in memory and on disk: every output
// file and every answer of the Graph API must be the same.
func TestDiskGraphMatchesMemory(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			s := newDiskScenario(t, seed)
			links := []mesh.LinkRule{
				{From: "Post.productHandles", To: "Product.handle", As: "products"},
				{From: "Post.sku", To: "Product.nativeId", As: "bySku"},
				{From: "Page.related", To: "Post.id", As: "relatedPosts"},
			}
			dir := t.TempDir()
			type side struct {
				name string
				m    *mesh.Mesh
				out  string
			}
			mk := func(name string, mode mesh.GraphMode, withAux bool) side {
				store, _ := mesh.NewDirStore(filepath.Join(dir, name, "cache"))
				srcs := map[string]mesh.Source{"cms": s.cms, "shop": s.shop, "full": s.full}
				if withAux {
					srcs["aux"] = s.auxT
				}
				out := filepath.Join(dir, name, "out")
				return side{name, newMesh(t, mesh.Options{Store: store, Out: out, Links: links, Graph: mode,
					OnError: mesh.OnErrorStale, GraphDir: filepath.Join(dir, "scratch")}, srcs), out}
			}
			sides := []side{mk("memory", mesh.GraphMemory, true), mk("disk", mesh.GraphDisk, true)}
			step := func(label string, wantUnchanged bool) {
				t.Helper()
				var outs []map[string]string
				var views []string
				for _, sd := range sides {
					b, err := sd.m.Build(context.Background())
					if err != nil {
						t.Fatalf("%s %s: %v", label, sd.name, err)
					}
					if b.Unchanged != wantUnchanged {
						t.Errorf("%s %s: unchanged %v", label, sd.name, b.Unchanged)
					}
					if b.Graph.OnDisk() != (sd.name == "disk") {
						t.Errorf("%s %s: OnDisk %v", label, sd.name, b.Graph.OnDisk())
					}
					views = append(views, graphView(t, b.Graph))
					outs = append(outs, readOutputs(t, sd.out))
					if err := b.Close(); err != nil {
						t.Fatal(err)
					}
				}
				if views[0] != views[1] {
					t.Errorf("%s: graph API differs:\nmemory %s\ndisk   %s", label, views[0], views[1])
				}
				for name, want := range outs[0] {
					if got, ok := outs[1][name]; !ok || got != want {
						t.Errorf("%s: %s differs (%d bytes in memory mode, %d on disk)", label, name, len(want), len(got))
					}
				}
				if len(outs[0]) != len(outs[1]) || len(outs[0]) < 6 {
					t.Errorf("%s: files %d vs %d", label, len(outs[0]), len(outs[1]))
				}
			}
			step("first build", false)
			s.mutate(t)
			step("delta", false)
			s.auxT.fail = true
			s.mutate(t)
			step("stale source", false)
			s.auxT.fail = false
			step("recovered", false)
			s.full.full = false
			step("unchanged", true)
			s.full.full = true
			sides = []side{mk("memory", mesh.GraphMemory, false), mk("disk", mesh.GraphDisk, false)}
			s.mutate(t)
			step("source removed", false)
			// No scratch database is left behind.
			if left, _ := os.ReadDir(filepath.Join(dir, "scratch")); len(left) != 0 {
				t.Errorf("scratch dirs left: %v", left)
			}
		})
	}
}

// TestDiskGraphAuto: auto mode keeps a graph in memory until its estimated size reaches the
// threshold: the last snapshot's nodes and what the sources emit count together.
func TestDiskGraphAuto(t *testing.T) {
	// Nodes of about 1 KiB of fields: each counts about 1.4 KB (its line plus 250 bytes).
	body := `{"body":"` + strings.Repeat("x", 1000) + `"}`
	src := mustMem(t, rec("post", "1", "Post", body), rec("post", "2", "Post", body), rec("post", "3", "Post", body))
	dir := t.TempDir()
	store, _ := mesh.NewDirStore(dir)
	// 4 nodes stay below (memory); 4 stored + 5 emitted reach it (spill); 5 stored reach it.
	m := newMesh(t, mesh.Options{Store: store, DiskThreshold: 6300}, map[string]mesh.Source{"s": src})
	var modes []bool
	for i := range 3 {
		src.Put(rec("post", fmt.Sprint(10+i), "Post", body))
		b, err := m.Build(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		modes = append(modes, b.Graph.OnDisk())
		if b.Graph.Len() != 4+i {
			t.Errorf("build %d: %d nodes", i, b.Graph.Len())
		}
		b.Close()
	}
	if !slices.Equal(modes, []bool{false, true, true}) {
		t.Errorf("on disk per build: %v", modes)
	}
	if _, err := mesh.New(mesh.Options{Graph: "ram"}); !errors.Is(err, mesh.ErrInvalidConfig) {
		t.Errorf("bad graph mode: %v", err)
	}
}

// TestDiskGraphSpillsWhileFetching: under GraphAuto a first build that reaches the threshold while
// its sources fetch moves to disk then, and its outputs are those of a build in memory.
func TestDiskGraphSpillsWhileFetching(t *testing.T) {
	s := newDiskScenario(t, 9)
	dir := t.TempDir()
	build := func(name string, opts mesh.Options) (*mesh.Build, map[string]string) {
		opts.Out = filepath.Join(dir, name)
		opts.Links = []mesh.LinkRule{{From: "Post.productHandles", To: "Product.handle", As: "products"}}
		opts.GraphDir = filepath.Join(dir, "scratch")
		opts.Concurrency = 1 // the second source starts after the spill
		b, err := newMesh(t, opts, map[string]mesh.Source{"cms": s.cms, "shop": s.shop, "aux": s.aux}).Build(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return b, readOutputs(t, opts.Out)
	}
	mem, want := build("memory", mesh.Options{Graph: mesh.GraphMemory})
	defer mem.Close()
	// About 170 nodes of about 450 bytes each in the estimate: spill after a few, about a third,
	// most of them.
	for _, threshold := range []int64{2_000, 25_000, 60_000} {
		b, got := build(fmt.Sprint("auto", threshold), mesh.Options{DiskThreshold: threshold})
		if !b.Graph.OnDisk() || b.Graph.Len() != mem.Graph.Len() {
			t.Errorf("threshold %d: on disk %v, %d nodes", threshold, b.Graph.OnDisk(), b.Graph.Len())
		}
		for name, w := range want {
			if got[name] != w {
				t.Errorf("threshold %d: %s differs", threshold, name)
			}
		}
		b.Close()
	}
	b, _ := build("below", mesh.Options{DiskThreshold: 10 << 20})
	if b.Graph.OnDisk() {
		t.Errorf("a graph below the threshold went to disk")
	}
}

// TestDiskGraphForgottenClose: a disk-backed graph that nobody closes is closed, and its scratch
// database removed, once it is garbage.
func TestDiskGraphForgottenClose(t *testing.T) {
	scratch := t.TempDir()
	m := newMesh(t, mesh.Options{Graph: mesh.GraphDisk, GraphDir: scratch}, map[string]mesh.Source{"s": mustMem(t, rec("post", "1", "Post", `{}`))})
	if _, err := m.Build(context.Background()); err != nil { // the Build, and its Graph, dropped
		t.Fatal(err)
	}
	for range 50 {
		runtime.GC()
		if left, _ := os.ReadDir(scratch); len(left) == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	left, _ := os.ReadDir(scratch)
	t.Errorf("scratch database still there: %v", left)
}

// TestDiskGraphUseAfterClose: reading a closed disk-backed graph is an error (Err), not a crash.
func TestDiskGraphUseAfterClose(t *testing.T) {
	m := newMesh(t, mesh.Options{Graph: mesh.GraphDisk, GraphDir: t.TempDir()}, map[string]mesh.Source{"s": mustMem(t, rec("post", "1", "Post", `{}`))})
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, ok := b.Graph.Get("s/post/1"); ok {
		t.Errorf("Get after Close found the node")
	}
	if n := len(ids(b.Graph)); n != 0 || b.Graph.Err() == nil {
		t.Errorf("after Close: %d nodes, Err %v", n, b.Graph.Err())
	}
}

// TestWriteMethodsMatchFolder: Graph.WriteGraphJSON, WriteNDJSON and WriteType give the bytes of the
// output folder's files, in memory and on disk; an absent type is an empty array.
func TestWriteMethodsMatchFolder(t *testing.T) {
	s := newDiskScenario(t, 4)
	for _, mode := range []mesh.GraphMode{mesh.GraphMemory, mesh.GraphDisk} {
		out := filepath.Join(t.TempDir(), "out")
		m := newMesh(t, mesh.Options{Out: out, Graph: mode, GraphDir: t.TempDir()}, map[string]mesh.Source{"cms": s.cms, "shop": s.shop})
		b, err := m.Build(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		check := func(name string, write func(*bytes.Buffer) error) {
			t.Helper()
			var buf bytes.Buffer
			if err := write(&buf); err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(out, name))
			if err != nil || !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s %s: %d bytes written, file %d (%v)", mode, name, buf.Len(), len(want), err)
			}
		}
		check("graph.json", func(w *bytes.Buffer) error { return b.Graph.WriteGraphJSON(w) })
		check("nodes.ndjson", func(w *bytes.Buffer) error { return b.Graph.WriteNDJSON(w) })
		for _, typ := range b.Graph.Types() {
			check(filepath.Join("types", mesh.TypeFileName(typ)), func(w *bytes.Buffer) error { return b.Graph.WriteType(w, typ) })
		}
		var empty bytes.Buffer
		if err := b.Graph.WriteType(&empty, "Nothing"); err != nil || empty.String() != "[]\n" {
			t.Errorf("%s: absent type %q %v", mode, empty.String(), err)
		}
		b.Close()
	}
}

// TestLazyGraphAfterBuildContextEnds: an unchanged build's graph is read on first use, usually after
// the context given to Build has ended; it still loads, in memory and on disk.
func TestLazyGraphAfterBuildContextEnds(t *testing.T) {
	for _, mode := range []mesh.GraphMode{mesh.GraphMemory, mesh.GraphDisk} {
		store, _ := mesh.NewDirStore(t.TempDir())
		src := mustMem(t, rec("post", "1", "Post", `{"title":"a"}`), rec("post", "2", "Post", `{"title":"b"}`))
		m := newMesh(t, mesh.Options{Store: store, Graph: mode, GraphDir: t.TempDir()}, map[string]mesh.Source{"s": src})
		first, err := m.Build(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		first.Close()
		ctx, cancel := context.WithCancel(context.Background())
		b, err := m.Build(ctx)
		cancel()
		if err != nil || !b.Unchanged {
			t.Fatalf("%s: unchanged %v, %v", mode, b != nil && b.Unchanged, err)
		}
		if n := len(ids(b.Graph)); n != 2 || b.Graph.Err() != nil || b.Graph.OnDisk() != (mode == mesh.GraphDisk) {
			t.Errorf("%s: %d nodes after the build's context ended, err %v", mode, n, b.Graph.Err())
		}
		b.Close()
	}
}
