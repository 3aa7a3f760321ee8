package mesh_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/memsource"
)

// counting wraps a source and records the cursor of every Fetch.
type counting struct {
	mesh.Source
	mu      sync.Mutex
	cursors []string // "" for nil
}

func (c *counting) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	c.mu.Lock()
	c.cursors = append(c.cursors, string(req.Cursor))
	c.mu.Unlock()
	return c.Source.Fetch(ctx, req, out)
}

func (c *counting) fetches() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.cursors)
}

// kindOf is a source under another kind (the config changed a source's type).
type kindOf struct {
	mesh.Source
	kind string
}

func (k kindOf) Kind() string { return k.kind }

func changeSet(b *mesh.Build) [3][]string {
	return [3][]string{b.Changes.Added, b.Changes.Updated, b.Changes.Deleted}
}

func TestBuildSourcesFetchesOnlyTheNamed(t *testing.T) {
	store, _ := mesh.NewDirStore(t.TempDir())
	memA := mustMem(t, rec("post", "1", "Post", `{"v":1}`), rec("post", "2", "Post", `{"v":1}`))
	memB := mustMem(t, rec("product", "x", "Product", `{"v":1}`))
	a, b := &counting{Source: memA}, &counting{Source: memB}
	m := newMesh(t, mesh.Options{Store: store}, map[string]mesh.Source{"a": a, "b": b})
	ctx := context.Background()
	if _, err := m.Build(ctx); err != nil {
		t.Fatal(err)
	}
	// Both change upstream; only a is named.
	memA.Put(rec("post", "2", "Post", `{"v":2}`))
	memA.Remove("post", "1", "")
	memB.Put(rec("product", "x", "Product", `{"v":2}`))
	memB.Put(rec("product", "y", "Product", `{"v":1}`))
	bBefore := b.fetches()
	snap, err := store.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bCursor := string(snap.Sources[1].Cursor) // what b's first fetch returned

	got, err := m.BuildSources(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	want := [3][]string{{}, {"a/post/2"}, {"a/post/1"}}
	if cs := changeSet(got); !slices.Equal(cs[0], want[0]) || !slices.Equal(cs[1], want[1]) || !slices.Equal(cs[2], want[2]) {
		t.Errorf("changes %v, want %v", cs, want)
	}
	if n := len(b.fetches()); n != len(bBefore) {
		t.Errorf("b was fetched: %v", b.fetches())
	}
	if len(a.fetches()) != 2 || a.fetches()[1] == "" {
		t.Errorf("a should have fetched incrementally: %v", a.fetches())
	}
	if got.Graph.Len() != 2 { // a/post/2 and b/product/x (kept, old version)
		t.Errorf("graph has %d nodes", got.Graph.Len())
	}
	x, ok := got.Graph.Get("b/product/x")
	if !ok || x.Get("v").Int() != 1 {
		t.Errorf("b's node not kept from the snapshot: %v", x)
	}
	for _, s := range got.Report.Sources {
		if s.Status != mesh.StatusOK {
			t.Errorf("source %s: %s", s.Name, s.Status)
		}
	}
	if !got.Report.SnapshotSaved {
		t.Error("snapshot not saved")
	}

	// b's cursor was kept, so the next full build picks up b's changes and reports them once.
	got, err = m.Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want = [3][]string{{"b/product/y"}, {"b/product/x"}, {}}
	if cs := changeSet(got); !slices.Equal(cs[0], want[0]) || !slices.Equal(cs[1], want[1]) || !slices.Equal(cs[2], want[2]) {
		t.Errorf("after: changes %v, want %v", cs, want)
	}
	if fb := b.fetches(); bCursor == "" || fb[len(fb)-1] != bCursor {
		t.Errorf("b's cursor %q was not kept by the targeted build: fetches %v", bCursor, fb)
	}

	// Nothing changed anywhere: a targeted build is an unchanged build.
	got, err = m.BuildSources(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Unchanged || !got.Changes.Empty() {
		t.Errorf("expected an unchanged build: %+v", got.Changes)
	}
}

func TestBuildSourcesFetchesWhatItCannotKeep(t *testing.T) {
	ctx := context.Background()
	newSources := func(t *testing.T) (*counting, *counting) {
		return &counting{Source: mustMem(t, rec("post", "1", "Post", `{}`))},
			&counting{Source: mustMem(t, rec("product", "x", "Product", `{}`))}
	}
	t.Run("no snapshot yet", func(t *testing.T) {
		store, _ := mesh.NewDirStore(t.TempDir())
		a, b := newSources(t)
		m := newMesh(t, mesh.Options{Store: store}, map[string]mesh.Source{"a": a, "b": b})
		got, err := m.BuildSources(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		if len(b.fetches()) != 1 || got.Graph.Len() != 2 {
			t.Errorf("b fetches %v, graph %d", b.fetches(), got.Graph.Len())
		}
	})
	t.Run("no store", func(t *testing.T) {
		a, b := newSources(t)
		m := newMesh(t, mesh.Options{}, map[string]mesh.Source{"a": a, "b": b})
		got, err := m.BuildSources(ctx, "a")
		if err != nil || len(b.fetches()) != 1 || got.Graph.Len() != 2 {
			t.Errorf("err %v, b fetches %v", err, b.fetches())
		}
	})
	t.Run("source new since the snapshot", func(t *testing.T) {
		store, _ := mesh.NewDirStore(t.TempDir())
		a, b := newSources(t)
		if _, err := newMesh(t, mesh.Options{Store: store}, map[string]mesh.Source{"a": a}).Build(ctx); err != nil {
			t.Fatal(err)
		}
		m := newMesh(t, mesh.Options{Store: store}, map[string]mesh.Source{"a": a, "b": b})
		got, err := m.BuildSources(ctx, "a")
		if err != nil || len(b.fetches()) != 1 || !slices.Equal(got.Changes.Added, []string{"b/product/x"}) {
			t.Errorf("err %v, b fetches %v, changes %+v", err, b.fetches(), got.Changes)
		}
	})
	t.Run("kind changed", func(t *testing.T) {
		store, _ := mesh.NewDirStore(t.TempDir())
		a, b := newSources(t)
		if _, err := newMesh(t, mesh.Options{Store: store}, map[string]mesh.Source{"a": a, "b": b}).Build(ctx); err != nil {
			t.Fatal(err)
		}
		b2 := &counting{Source: kindOf{Source: b.Source, kind: "other"}}
		m := newMesh(t, mesh.Options{Store: store}, map[string]mesh.Source{"a": a, "b": b2})
		if _, err := m.BuildSources(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if f := b2.fetches(); len(f) != 1 || f[0] != "" {
			t.Errorf("b under a new kind should fetch everything: %v", f)
		}
	})
	for _, mode := range []mesh.GraphMode{mesh.GraphMemory, mesh.GraphDisk} {
		t.Run("snapshot nodes corrupt, graph "+string(mode), func(t *testing.T) {
			dir := t.TempDir()
			store, _ := mesh.NewDirStore(dir)
			a, b := newSources(t)
			m := newMesh(t, mesh.Options{Store: store, Graph: mode, GraphDir: t.TempDir()}, map[string]mesh.Source{"a": a, "b": b})
			first, err := m.Build(ctx)
			if err != nil {
				t.Fatal(err)
			}
			first.Close()
			a.Source.(*memsource.Source).Put(rec("post", "2", "Post", `{}`)) // so the build needs the stored nodes
			files, _ := filepath.Glob(filepath.Join(dir, "nodes-*.snap"))
			data, _ := os.ReadFile(files[0])
			data[len(data)/2] ^= 1 // the manifest still loads; the nodes fail their checksum
			os.WriteFile(files[0], data, 0o644)
			got, err := m.BuildSources(ctx, "a")
			if err != nil {
				t.Fatal(err)
			}
			defer got.Close()
			if got.Report.SnapshotError == "" || got.Graph.Len() != 3 || got.Graph.OnDisk() != (mode == mesh.GraphDisk) {
				t.Errorf("graph %d nodes (on disk %v), report %+v", got.Graph.Len(), got.Graph.OnDisk(), got.Report)
			}
			// The last fetch is a full one. On disk the snapshot is read beside the fetch, so it can
			// prove unusable before b's turn, and b then asks for its delta first: harmless.
			if f := b.fetches(); len(f) < 2 || len(f) > 3 || f[len(f)-1] != "" {
				t.Errorf("b should have fetched everything once the snapshot proved unusable: %q", f)
			}
		})
	}
}

func TestBuildSourcesUnknownName(t *testing.T) {
	store, _ := mesh.NewDirStore(t.TempDir())
	a := &counting{Source: mustMem(t)}
	m := newMesh(t, mesh.Options{Store: store}, map[string]mesh.Source{"a": a})
	_, err := m.BuildSources(context.Background(), "a", "nope")
	if !errors.Is(err, mesh.ErrInvalidConfig) || len(a.fetches()) != 0 {
		t.Errorf("err %v, fetches %v", err, a.fetches())
	}
}
