package mesh_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
)

// pullGraphJSON loads the store's snapshot in a fresh store value (as another machine would) and
// returns the graph.json bytes GraphFromSnapshot gives, and the dangling refs.
func pullGraphJSON(t *testing.T, cache string, links []mesh.LinkRule) ([]byte, []mesh.DanglingRef) {
	t.Helper()
	store, err := mesh.NewDirStore(cache)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := store.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Load == nil {
		t.Fatal("DirStore snapshot is not lazy: the test would not prove that GraphFromSnapshot loads nodes")
	}
	g, dangling, err := mesh.GraphFromSnapshot(context.Background(), snap, links)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := g.WriteGraphJSON(&buf); err != nil {
		t.Fatal(err)
	}
	// The same snapshot assembled on disk (streamed from the node file) gives the same bytes.
	snap, err = store.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dg, ddangling, err := mesh.GraphFromSnapshotWith(context.Background(), snap, mesh.SnapshotGraphOptions{Links: links, Graph: mesh.GraphDisk, GraphDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer dg.Close()
	var dbuf bytes.Buffer
	if err := dg.WriteGraphJSON(&dbuf); err != nil || !dg.OnDisk() {
		t.Fatalf("disk graph: %v, on disk %v", err, dg.OnDisk())
	}
	if !bytes.Equal(buf.Bytes(), dbuf.Bytes()) || !slices.Equal(dangling, ddangling) {
		t.Errorf("disk graph from the snapshot differs:\n%s\n%s\n%v\n%v", buf.Bytes(), dbuf.Bytes(), dangling, ddangling)
	}
	return buf.Bytes(), dangling
}

func TestGraphFromSnapshotEqualsBuild(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	out := filepath.Join(dir, "out")
	store, _ := mesh.NewDirStore(cache)
	links := []mesh.LinkRule{
		{From: "Post.productHandles", To: "Product.handle", As: "products"},
		{From: "Post.sku", To: "Product.nativeId", As: "bySku"},
	}
	cms := mustMem(t,
		rec("post", "p1", "Post", `{"title":"One","productHandles":["mug","nope"],"author":{"$ref":"cms/user/u"},"sku":"9"}`),
		rec("post", "p2", "Post", `{"title":"Two","productHandles":"hat","related":{"$ref":"cms/post/gone"}}`),
		rec("user", "u", "User", `{"name":"U"}`))
	shop := mustMem(t,
		rec("product", "9", "Product", `{"handle":"mug"}`),
		rec("product", "10", "Product", `{"handle":"hat"}`))
	m := newMesh(t, mesh.Options{Store: store, Out: out, Links: links}, map[string]mesh.Source{"cms": cms, "shop": shop})

	check := func(step string, wantUnchanged bool) {
		t.Helper()
		b, err := m.Build(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if b.Unchanged != wantUnchanged {
			t.Fatalf("%s: unchanged = %v", step, b.Unchanged)
		}
		want, err := os.ReadFile(filepath.Join(out, "graph.json"))
		if err != nil {
			t.Fatal(err)
		}
		got, dangling := pullGraphJSON(t, cache, links)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: graph.json from the snapshot differs from the build's:\n%s\nbuild:\n%s", step, got, want)
		}
		// (An unchanged build reports no dangling refs: it does not reassemble the graph.)
		if !wantUnchanged && !slices.Equal(dangling, b.Report.DanglingRefs) {
			t.Errorf("%s: dangling %v, build %v", step, dangling, b.Report.DanglingRefs)
		}
	}
	check("first build", false)
	// A delta: a product changes its handle (the linking post changes too) and a post is deleted.
	shop.Put(rec("product", "10", "Product", `{"handle":"cap"}`))
	cms.Remove("user", "u", "")
	check("delta build", false)
	check("unchanged build", true)
}

func TestGraphFromSnapshotRefusesOtherLinks(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	store, _ := mesh.NewDirStore(cache)
	links := []mesh.LinkRule{{From: "Post.productHandles", To: "Product.handle", As: "products"}}
	cms := mustMem(t, rec("post", "p1", "Post", `{"productHandles":["mug"]}`))
	shop := mustMem(t, rec("product", "9", "Product", `{"handle":"mug"}`))
	m := newMesh(t, mesh.Options{Store: store, Links: links}, map[string]mesh.Source{"cms": cms, "shop": shop})
	if _, err := m.Build(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, other := range map[string][]mesh.LinkRule{
		"no links":   nil,
		"other name": {{From: "Post.productHandles", To: "Product.handle", As: "items"}},
	} {
		snap, err := store.Load(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = mesh.GraphFromSnapshot(context.Background(), snap, other)
		if !errors.Is(err, mesh.ErrInvalidConfig) {
			t.Errorf("%s: err = %v, want ErrInvalidConfig", name, err)
		}
		if snap.Load == nil {
			t.Errorf("%s: nodes were loaded before the fingerprint was checked", name)
		}
	}
	if _, _, err := mesh.GraphFromSnapshot(context.Background(), nil, links); err == nil {
		t.Error("nil snapshot: no error")
	}
}

func TestGraphFromSnapshotCorruptNodes(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	store, _ := mesh.NewDirStore(cache)
	m := newMesh(t, mesh.Options{Store: store}, map[string]mesh.Source{"cms": mustMem(t, rec("post", "p1", "Post", `{}`))})
	if _, err := m.Build(context.Background()); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(cache, "nodes-*.snap"))
	if len(files) != 1 {
		t.Fatalf("node files %v", files)
	}
	data, _ := os.ReadFile(files[0])
	data[len(data)/2] ^= 1
	os.WriteFile(files[0], data, 0o644)
	snap, err := store.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := mesh.GraphFromSnapshot(context.Background(), snap, nil); !errors.Is(err, mesh.ErrCorruptSnapshot) {
		t.Errorf("err = %v, want ErrCorruptSnapshot", err)
	}
}
