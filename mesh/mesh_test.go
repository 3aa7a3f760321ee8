package mesh_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/memsource"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func rec(ns, id, typ, fields string) memsource.Record {
	return memsource.Record{Namespace: ns, NativeID: id, Type: typ, Fields: json.RawMessage(fields)}
}

func mustMem(t *testing.T, recs ...memsource.Record) *memsource.Source {
	t.Helper()
	s, err := memsource.New(recs...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type built struct {
	m   *mesh.Mesh
	out string
}

func newMesh(t *testing.T, opts mesh.Options, sources map[string]mesh.Source) *mesh.Mesh {
	t.Helper()
	m, err := mesh.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(sources))
	for n := range sources {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := m.Add(n, sources[n]); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func ids(g *mesh.Graph) []string {
	var out []string
	for n := range g.Nodes() {
		out = append(out, n.ID)
	}
	return out
}

func TestBuildRefsBackrefsAndReadAPI(t *testing.T) {
	cms := mustMem(t,
		rec("post", "p1", "Post", `{"title":"One","author":{"$ref":"cms/user/u1"},"tags":[{"$ref":"cms/tag/t2"},{"$ref":"cms/tag/t1"}]}`),
		rec("post", "p2", "Post", `{"title":"Two","author":{"$ref":"cms/user/u1"},"related":{"$ref":"cms/post/missing"}}`),
		rec("user", "u1", "User", `{"displayName":"Ann"}`),
		rec("tag", "t1", "Tag", `{"name":"go"}`),
		rec("tag", "t2", "Tag", `{"name":"web"}`),
	)
	m := newMesh(t, mesh.Options{}, map[string]mesh.Source{"cms": cms})
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	g := b.Graph
	if want := []string{"cms/post/p1", "cms/post/p2", "cms/tag/t1", "cms/tag/t2", "cms/user/u1"}; !slices.Equal(ids(g), want) {
		t.Fatalf("ids %v, want %v", ids(g), want)
	}
	p1, _ := g.Get("cms/post/p1")
	wantRefs := []mesh.Ref{{Field: "author", To: "cms/user/u1"}, {Field: "tags", To: "cms/tag/t2"}, {Field: "tags", To: "cms/tag/t1"}}
	if !slices.Equal(p1.Refs, wantRefs) {
		t.Errorf("refs %v, want %v", p1.Refs, wantRefs)
	}
	u1, _ := g.Get("cms/user/u1")
	wantBack := []mesh.Backref{{Field: "author", From: "cms/post/p1"}, {Field: "author", From: "cms/post/p2"}}
	if !slices.Equal(u1.Backrefs, wantBack) {
		t.Errorf("backrefs %v, want %v", u1.Backrefs, wantBack)
	}
	var tagNames []string
	for n := range g.Refs(p1, "tags") {
		tagNames = append(tagNames, n.Get("name").Str)
	}
	if !slices.Equal(tagNames, []string{"web", "go"}) {
		t.Errorf("tags via Refs: %v", tagNames)
	}
	var authored []string
	for n := range g.Backrefs(u1, "author") {
		authored = append(authored, n.Get("title").Str)
	}
	if !slices.Equal(authored, []string{"One", "Two"}) {
		t.Errorf("posts via Backrefs: %v", authored)
	}
	var posts []string
	for n := range g.ByType("Post") {
		posts = append(posts, n.ID)
	}
	if !slices.Equal(posts, []string{"cms/post/p1", "cms/post/p2"}) {
		t.Errorf("ByType: %v", posts)
	}
	if got := g.Query("cms/post/p2", "title").Str; got != "Two" {
		t.Errorf("Query: %q", got)
	}
	wantDangling := []mesh.DanglingRef{{From: "cms/post/p2", Field: "related", To: "cms/post/missing"}}
	if !slices.Equal(b.Report.DanglingRefs, wantDangling) {
		t.Errorf("dangling %v", b.Report.DanglingRefs)
	}
	if !slices.Equal(g.Types(), []string{"Post", "Tag", "User"}) {
		t.Errorf("types %v", g.Types())
	}
	for n := range g.Nodes() {
		if n.Source != "cms" || !strings.HasPrefix(n.Digest, "sha256:") {
			t.Errorf("%s: source %q digest %q", n.ID, n.Source, n.Digest)
		}
	}
}

func TestStrictDanglingFails(t *testing.T) {
	cms := mustMem(t, rec("post", "p1", "Post", `{"author":{"$ref":"cms/user/nobody"}}`))
	out := filepath.Join(t.TempDir(), "out")
	m := newMesh(t, mesh.Options{Strict: true, Out: out}, map[string]mesh.Source{"cms": cms})
	_, err := m.Build(context.Background())
	if !errors.Is(err, mesh.ErrDanglingRefs) || !strings.Contains(err.Error(), "cms/user/nobody") {
		t.Fatalf("err = %v", err)
	}
	if _, statErr := os.Stat(out); !os.IsNotExist(statErr) {
		t.Errorf("output written by a failed build")
	}
}

func TestLinkRules(t *testing.T) {
	cms := mustMem(t,
		rec("post", "p1", "Post", `{"productHandles":["shoe","hat","nope"],"sku":"S-1"}`),
		rec("post", "p2", "Post", `{"productHandles":"hat"}`),
		rec("post", "p3", "Post", `{"title":"no handles"}`),
	)
	shop := mustMem(t,
		rec("product", "1", "Product", `{"handle":"shoe"}`),
		rec("product", "2", "Product", `{"handle":"hat"}`),
	)
	dir := t.TempDir()
	store, _ := mesh.NewDirStore(filepath.Join(dir, "cache"))
	opts := mesh.Options{Store: store, Links: []mesh.LinkRule{
		{From: "Post.productHandles", To: "Product.handle", As: "products"},
		{From: "Post.sku", To: "Product.nativeId", As: "bySku"},
	}}
	m := newMesh(t, opts, map[string]mesh.Source{"cms": cms, "shop": shop})
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p1, _ := b.Graph.Get("cms/post/p1")
	if got := p1.Get("products").Raw; got != `[{"$ref":"shop/product/1"},{"$ref":"shop/product/2"}]` {
		t.Errorf("p1.products = %s", got)
	}
	if got := p1.Get("bySku").Raw; got != `[]` {
		t.Errorf("p1.bySku = %s", got)
	}
	p3, _ := b.Graph.Get("cms/post/p3")
	if p3.Get("products").Exists() {
		t.Errorf("p3 has products without handles")
	}
	hat, _ := b.Graph.Get("shop/product/2")
	if want := []mesh.Backref{{Field: "products", From: "cms/post/p1"}, {Field: "products", From: "cms/post/p2"}}; !slices.Equal(hat.Backrefs, want) {
		t.Errorf("hat backrefs %v", hat.Backrefs)
	}
	var unmatched []string
	for _, d := range b.Report.DanglingRefs {
		unmatched = append(unmatched, d.To)
	}
	if !slices.Equal(unmatched, []string{"Product.nativeId=S-1", "Product.handle=nope"}) {
		t.Errorf("unmatched %v", unmatched)
	}
	// Digest covers the linked field: a changed handle updates the linking post.
	shop.Put(rec("product", "2", "Product", `{"handle":"cap"}`))
	b2, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"cms/post/p1", "cms/post/p2", "shop/product/2"}; !slices.Equal(b2.Changes.Updated, want) {
		t.Errorf("updated %v, want %v", b2.Changes.Updated, want)
	}
	// The snapshot keeps emitted forms: a rule removed later leaves no stale field behind.
	m3 := newMesh(t, mesh.Options{Store: store}, map[string]mesh.Source{"cms": cms, "shop": shop})
	b3, err := m3.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := b3.Graph.Get("cms/post/p1"); p.Get("products").Exists() {
		t.Errorf("products field survived removing the rule")
	}
}

func TestLinkRuleValidation(t *testing.T) {
	for _, r := range []mesh.LinkRule{
		{From: "Post", To: "Product.handle", As: "x"},
		{From: "Post.a", To: "Product", As: "x"},
		{From: "Post.a", To: "Product.handle", As: ""},
		{From: "Post.a", To: "Product.handle", As: "a.b"},
	} {
		if _, err := mesh.New(mesh.Options{Links: []mesh.LinkRule{r}}); !errors.Is(err, mesh.ErrInvalidConfig) {
			t.Errorf("%+v: err %v", r, err)
		}
	}
}

func TestIncrementalDeltaEqualsFull(t *testing.T) {
	src := mustMem(t,
		rec("post", "1", "Post", `{"title":"a"}`),
		rec("post", "2", "Post", `{"title":"b"}`),
		rec("post", "3", "Post", `{"title":"c"}`),
	)
	dir := t.TempDir()
	store, _ := mesh.NewDirStore(filepath.Join(dir, "cache"))
	m := newMesh(t, mesh.Options{Store: store, Out: filepath.Join(dir, "out")}, map[string]mesh.Source{"s": src})
	if _, err := m.Build(context.Background()); err != nil {
		t.Fatal(err)
	}
	src.Put(rec("post", "2", "Post", `{"title":"B"}`))
	src.Put(rec("post", "4", "Post", `{"title":"d"}`))
	src.Remove("post", "3", "")
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := mesh.ChangeSet{Added: []string{"s/post/4"}, Updated: []string{"s/post/2"}, Deleted: []string{"s/post/3"}}
	gotJSON, _ := json.Marshal(b.Changes)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("changes %s, want %s", gotJSON, wantJSON)
	}
	changes, _ := os.ReadFile(filepath.Join(dir, "out", "changes.json"))
	var onDisk mesh.ChangeSet
	if err := json.Unmarshal(changes, &onDisk); err != nil || !slices.Equal(onDisk.Deleted, want.Deleted) {
		t.Errorf("changes.json %s (%v)", changes, err)
	}
	// A full build of the same state gives the same graph bytes.
	full := newMesh(t, mesh.Options{Out: filepath.Join(dir, "full")}, map[string]mesh.Source{"s": src})
	if _, err := full.Build(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "out", "graph.json"))
	c, _ := os.ReadFile(filepath.Join(dir, "full", "graph.json"))
	if !bytes.Equal(a, c) {
		t.Errorf("delta graph differs from full graph:\n%s\n%s", a, c)
	}
	// An unchanged rebuild is an empty change set.
	b, err = m.Build(context.Background())
	if err != nil || !b.Changes.Empty() {
		t.Errorf("unchanged rebuild: %+v %v", b.Changes, err)
	}
}

// failing is a source that fails, panics, or emits a bad node.
type failing struct {
	mode string
}

func (f *failing) Kind() string { return "failing" }
func (f *failing) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	switch f.mode {
	case "panic":
		var m map[string]int
		m["x"]++
	case "badid":
		return mesh.FetchResult{}, out.Upsert(mesh.Node{ID: "other/post/1", Type: "Post"})
	case "badfields":
		return mesh.FetchResult{}, out.Upsert(mesh.Node{ID: mesh.NodeID(req.Source, "post", "1"), Type: "Post", Fields: []byte(`[1]`)})
	case "ok":
		return mesh.FetchResult{}, out.Upsert(mesh.Node{ID: mesh.NodeID(req.Source, "post", "1"), Type: "Post", Fields: []byte(`{"v":1}`)})
	}
	return mesh.FetchResult{}, errors.New("upstream exploded")
}

func TestSourceFailures(t *testing.T) {
	tests := []struct {
		mode    string
		wantErr error
		wantMsg string
	}{
		{"error", nil, "upstream exploded"},
		{"panic", mesh.ErrPanic, "nil map"},
		{"badid", mesh.ErrInvalidNode, "must start with the source name"},
		{"badfields", mesh.ErrInvalidNode, "JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			store, _ := mesh.NewDirStore(filepath.Join(dir, "cache"))
			good := mustMem(t, rec("post", "1", "Post", `{}`))
			f := &failing{mode: "ok"}
			m := newMesh(t, mesh.Options{Store: store, Out: out}, map[string]mesh.Source{"good": good, "bad": f})
			if _, err := m.Build(context.Background()); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(filepath.Join(out, "graph.json"))
			snapBefore, _ := os.ReadFile(filepath.Join(dir, "cache", "manifest.json"))
			f.mode = tt.mode
			b, err := m.Build(context.Background())
			var se *mesh.SourceError
			if !errors.As(err, &se) || se.Source != "bad" || se.Kind != "failing" {
				t.Fatalf("err = %v, want a SourceError for bad", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) || !strings.Contains(err.Error(), `"bad"`) {
				t.Errorf("err = %v, want it to name the source and say %q", err, tt.wantMsg)
			}
			if b == nil || len(b.Report.Sources) != 2 || b.Report.Sources[0].Name != "bad" || b.Report.Sources[0].Status != mesh.StatusFailed {
				t.Errorf("report %+v", b.Report)
			}
			after, _ := os.ReadFile(filepath.Join(out, "graph.json"))
			snapAfter, _ := os.ReadFile(filepath.Join(dir, "cache", "manifest.json"))
			if !bytes.Equal(before, after) || !bytes.Equal(snapBefore, snapAfter) {
				t.Errorf("a failed build changed the outputs or the snapshot")
			}
			// Under onError: stale the build goes on with the last snapshot of the failed source.
			ms := newMesh(t, mesh.Options{Store: store, Out: out, OnError: mesh.OnErrorStale}, map[string]mesh.Source{"good": good, "bad": f})
			b, err = ms.Build(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if b.Report.Sources[0].Status != mesh.StatusStale || b.Report.Sources[0].Error == "" {
				t.Errorf("stale report %+v", b.Report.Sources[0])
			}
			if n, ok := b.Graph.Get("bad/post/1"); !ok || n.Get("v").Int() != 1 {
				t.Errorf("stale source lost its nodes")
			}
			if !b.Changes.Empty() {
				t.Errorf("stale build changed: %+v", b.Changes)
			}
		})
	}
}

func TestCorruptSnapshotFallsBackToFullFetch(t *testing.T) {
	nodeFile := func(dir string) string {
		m, _ := filepath.Glob(filepath.Join(dir, "nodes-*.snap"))
		if len(m) != 1 {
			t.Fatalf("node files %v", m)
		}
		return m[0]
	}
	tests := []struct {
		name    string
		corrupt func(dir string)
		atLoad  bool // Load itself reports it (else only when the nodes are read)
	}{
		{"manifest garbage", func(dir string) { os.WriteFile(filepath.Join(dir, "manifest.json"), []byte("garbage"), 0o644) }, true},
		{"foreign version", func(dir string) {
			os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"format":"contentmesh-snapshot","version":99}`), 0o644)
		}, true},
		{"node file truncated", func(dir string) {
			p := nodeFile(dir)
			data, _ := os.ReadFile(p)
			os.WriteFile(p, data[:len(data)-10], 0o644)
		}, true},
		{"node file bit flip", func(dir string) {
			p := nodeFile(dir)
			data, _ := os.ReadFile(p)
			data[len(data)/2] ^= 1
			os.WriteFile(p, data, 0o644)
		}, false},
		{"node file missing", func(dir string) { os.Remove(nodeFile(dir)) }, true},
		{"node file valid but not the manifest's", func(dir string) {
			// Another node set of the same size with a matching trailer: only the manifest's
			// checksum tells it apart.
			p := nodeFile(dir)
			data, _ := os.ReadFile(p)
			tr := bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
			body := bytes.Replace(data[:tr], []byte(`"a":1`), []byte(`"a":3`), 1)
			if bytes.Equal(body, data[:tr]) {
				t.Fatal("node not found in the node file")
			}
			sum := sha256.Sum256(body)
			os.WriteFile(p, fmt.Appendf(body, `{"end":true,"sha256":"%x"}`+"\n", sum), 0o644)
		}, false},
		{"manifest of an earlier format", func(dir string) {
			data, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
			os.WriteFile(filepath.Join(dir, "manifest.json"), bytes.Replace(data, []byte(`"bodySha256"`), []byte(`"sha256"`), 1), 0o644)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			store, _ := mesh.NewDirStore(dir)
			src := mustMem(t, rec("post", "1", "Post", `{"a":1}`))
			m := newMesh(t, mesh.Options{Store: store}, map[string]mesh.Source{"s": src})
			if _, err := m.Build(context.Background()); err != nil {
				t.Fatal(err)
			}
			src.Put(rec("post", "2", "Post", `{"a":2}`)) // so the next build needs the stored nodes
			tt.corrupt(dir)
			snap, err := store.Load(context.Background())
			if tt.atLoad {
				if !errors.Is(err, mesh.ErrCorruptSnapshot) {
					t.Fatalf("load err %v", err)
				}
			} else if err != nil || !errors.Is(snap.Load(context.Background()), mesh.ErrCorruptSnapshot) {
				t.Fatalf("load err %v, nodes not reported corrupt", err)
			} else if err := snap.Stream(context.Background(), func(string, *mesh.Node) error { return nil }); !errors.Is(err, mesh.ErrCorruptSnapshot) {
				t.Fatalf("the streamed nodes (a disk build's read) not reported corrupt: %v", err)
			}
			b, err := m.Build(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if b.Report.SnapshotError == "" || b.Graph.Len() != 2 || len(b.Changes.Added) != 2 {
				t.Errorf("report %+v changes %+v", b.Report, b.Changes)
			}
			snap, err = store.Load(context.Background())
			if err != nil || snap.Load(context.Background()) != nil || len(snap.Sources[0].Nodes) != 2 {
				t.Errorf("snapshot not rewritten: %v", err)
			}
		})
	}
}

func TestUnchangedRebuildReusesEverything(t *testing.T) {
	dir := t.TempDir()
	store, _ := mesh.NewDirStore(filepath.Join(dir, "cache"))
	cms := mustMem(t,
		rec("post", "1", "Post", `{"title":"a","productHandles":["mug"],"author":{"$ref":"cms/user/u"}}`),
		rec("user", "u", "User", `{"name":"U"}`))
	shop := mustMem(t, rec("product", "9", "Product", `{"handle":"mug"}`))
	out := filepath.Join(dir, "out")
	opts := mesh.Options{Store: store, Out: out, Links: []mesh.LinkRule{{From: "Post.productHandles", To: "Product.handle", As: "products"}}}
	m := newMesh(t, opts, map[string]mesh.Source{"cms": cms, "shop": shop})
	first, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	firstGraph, _ := os.ReadFile(filepath.Join(out, "graph.json"))
	nodeFiles, _ := filepath.Glob(filepath.Join(dir, "cache", "nodes-*.snap"))
	nodeInfo, _ := os.Stat(nodeFiles[0])
	graphInfo, _ := os.Stat(filepath.Join(out, "graph.json"))

	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !b.Unchanged || !b.Changes.Empty() || b.Report.Nodes != 3 {
		t.Fatalf("unchanged=%v changes=%+v nodes=%d", b.Unchanged, b.Changes, b.Report.Nodes)
	}
	// The node file was not rewritten and the graph files were carried over, not regenerated.
	nodeFiles2, _ := filepath.Glob(filepath.Join(dir, "cache", "nodes-*.snap"))
	nodeInfo2, _ := os.Stat(nodeFiles2[0])
	graphInfo2, _ := os.Stat(filepath.Join(out, "graph.json"))
	if len(nodeFiles2) != 1 || !os.SameFile(nodeInfo, nodeInfo2) || !os.SameFile(graphInfo, graphInfo2) {
		t.Errorf("files regenerated on an unchanged build")
	}
	changes, _ := os.ReadFile(filepath.Join(out, "changes.json"))
	if !strings.Contains(string(changes), `"added": []`) {
		t.Errorf("changes.json not rewritten: %s", changes)
	}
	// The lazy graph is the same graph, link fields and backrefs included.
	var a, c []string
	for n := range first.Graph.Nodes() {
		a = append(a, n.ID+" "+n.Digest+" "+fmt.Sprint(n.Backrefs))
	}
	for n := range b.Graph.Nodes() {
		c = append(c, n.ID+" "+n.Digest+" "+fmt.Sprint(n.Backrefs))
	}
	if !slices.Equal(a, c) || b.Graph.Err() != nil {
		t.Errorf("lazy graph differs:\n%v\n%v (%v)", a, c, b.Graph.Err())
	}
	// A touched output folder is regenerated in full.
	os.WriteFile(filepath.Join(out, "graph.json"), []byte("{}"), 0o644)
	b, err = m.Build(context.Background())
	if err != nil || !b.Unchanged {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(filepath.Join(out, "graph.json"))
	if !bytes.Equal(again, firstGraph) {
		t.Errorf("graph.json not regenerated after it was modified")
	}
	// A change after unchanged builds is seen against the right base.
	shop.Put(rec("product", "9", "Product", `{"handle":"mug","title":"Mug"}`))
	b, err = m.Build(context.Background())
	if err != nil || b.Unchanged {
		t.Fatal(err)
	}
	if want := []string{"shop/product/9"}; !slices.Equal(b.Changes.Updated, want) {
		t.Errorf("updated %v, want %v", b.Changes.Updated, want)
	}
}

func TestOutputDeterministic(t *testing.T) {
	mk := func() *memsource.Source {
		return mustMem(t,
			rec("post", "b", "Post", `{"z":1,"a":{"$ref":"s/post/a"}}`),
			rec("post", "a", "Post", `{"title":"é <b>"}`),
			rec("page", "x/y", "Web Page", `{}`),
		)
	}
	dir := t.TempDir()
	for _, name := range []string{"one", "two"} {
		m := newMesh(t, mesh.Options{Out: filepath.Join(dir, name)}, map[string]mesh.Source{"s": mk()})
		if _, err := m.Build(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var files []string
	filepath.WalkDir(filepath.Join(dir, "one"), func(p string, d os.DirEntry, err error) error {
		if !d.IsDir() {
			rel, _ := filepath.Rel(filepath.Join(dir, "one"), p)
			files = append(files, rel)
		}
		return nil
	})
	want := []string{"changes.json", "graph.json", "nodes.ndjson", "report.json", "types/Post.json", "types/Web_Page-5765622050616765.json"}
	if !slices.Equal(files, want) {
		t.Errorf("files %v, want %v", files, want)
	}
	for _, f := range files {
		if f == "report.json" {
			continue // holds durations
		}
		a, _ := os.ReadFile(filepath.Join(dir, "one", f))
		b, _ := os.ReadFile(filepath.Join(dir, "two", f))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between identical builds", f)
		}
		if strings.HasSuffix(f, ".json") && !json.Valid(a) {
			t.Errorf("%s is not valid JSON", f)
		}
	}
	var graph struct {
		Version int         `json:"version"`
		Nodes   []mesh.Node `json:"nodes"`
	}
	data, _ := os.ReadFile(filepath.Join(dir, "one", "graph.json"))
	if err := json.Unmarshal(data, &graph); err != nil || graph.Version != 1 || len(graph.Nodes) != 3 || graph.Nodes[0].ID != "s/page/x%2Fy" {
		t.Errorf("graph.json: %v %+v", err, graph)
	}
	var posts []json.RawMessage
	data, _ = os.ReadFile(filepath.Join(dir, "one", "types", "Post.json"))
	if err := json.Unmarshal(data, &posts); err != nil || len(posts) != 2 {
		t.Errorf("types/Post.json: %v %d", err, len(posts))
	}
}

// barrier is a source that waits until every barrier source has started: a build that ran sources
// one after another would never finish (the test would time out).
type barrier struct {
	wg *sync.WaitGroup
}

func (b *barrier) Kind() string { return "barrier" }
func (b *barrier) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	b.wg.Done()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return mesh.FetchResult{}, ctx.Err()
	}
	return mesh.FetchResult{}, out.Upsert(mesh.Node{ID: mesh.NodeID(req.Source, "x", "1"), Type: "X"})
}

func TestSourcesRunConcurrently(t *testing.T) {
	var wg sync.WaitGroup
	wg.Add(3)
	m := newMesh(t, mesh.Options{}, map[string]mesh.Source{"a": &barrier{&wg}, "b": &barrier{&wg}, "c": &barrier{&wg}})
	b, err := m.Build(context.Background())
	if err != nil || b.Graph.Len() != 3 {
		t.Fatalf("%v", err)
	}
}

// blocker waits for cancellation.
type blocker struct{ started chan struct{} }

func (b *blocker) Kind() string { return "blocker" }
func (b *blocker) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	close(b.started)
	<-ctx.Done()
	return mesh.FetchResult{}, ctx.Err()
}

func TestCancel(t *testing.T) {
	bl := &blocker{started: make(chan struct{})}
	m := newMesh(t, mesh.Options{}, map[string]mesh.Source{"a": bl, "b": mustMem(t)})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-bl.started; cancel() }()
	_, err := m.Build(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestFailFastCancelsOthers(t *testing.T) {
	bl := &blocker{started: make(chan struct{})}
	m := newMesh(t, mesh.Options{}, map[string]mesh.Source{"a": bl, "b": &failing{mode: "error"}})
	_, err := m.Build(context.Background())
	if err == nil || !strings.Contains(err.Error(), "upstream exploded") {
		t.Fatalf("err = %v", err)
	}
}

func TestAddValidation(t *testing.T) {
	m, _ := mesh.New(mesh.Options{})
	if err := m.Add("bad name", mustMem(t)); !errors.Is(err, mesh.ErrInvalidConfig) {
		t.Errorf("bad name: %v", err)
	}
	m.Add("a", mustMem(t))
	if err := m.Add("a", mustMem(t)); !errors.Is(err, mesh.ErrInvalidConfig) {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := mesh.New(mesh.Options{OnError: "ignore"}); !errors.Is(err, mesh.ErrInvalidConfig) {
		t.Errorf("onError: %v", err)
	}
}

// conflictStore reports a conflict on its first saves, as an object store with conditional writes
// does when another build saved first.
type conflictStore struct {
	*mesh.DirStore
	conflicts int
	saves     int
}

func (c *conflictStore) Save(ctx context.Context, s *mesh.Snapshot) error {
	c.saves++
	if c.conflicts > 0 {
		c.conflicts--
		return fmt.Errorf("manifest changed: %w", mesh.ErrSnapshotConflict)
	}
	return c.DirStore.Save(ctx, s)
}

func TestSnapshotConflictRebuilds(t *testing.T) {
	ds, _ := mesh.NewDirStore(t.TempDir())
	cs := &conflictStore{DirStore: ds, conflicts: 2}
	src := mustMem(t, rec("post", "1", "Post", `{}`))
	m := newMesh(t, mesh.Options{Store: cs}, map[string]mesh.Source{"s": src})
	b, err := m.Build(context.Background())
	if err != nil || cs.saves != 3 || !b.Report.SnapshotSaved {
		t.Fatalf("err %v after %d saves", err, cs.saves)
	}
	cs.conflicts = 10
	if _, err := m.Build(context.Background()); !errors.Is(err, mesh.ErrSnapshotConflict) {
		t.Errorf("endless conflicts: err %v", err)
	}
}
