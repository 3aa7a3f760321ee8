package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/memsource"
)

// countingSource counts Fetch calls.
type countingSource struct {
	*memsource.Source
	fetches atomic.Int32
}

func (c *countingSource) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	c.fetches.Add(1)
	return c.Source.Fetch(ctx, req, out)
}

func record(ns, id, typ, fields string) memsource.Record {
	return memsource.Record{Namespace: ns, NativeID: id, Type: typ, Fields: json.RawMessage(fields)}
}

func cursors(t *testing.T, store mesh.Store) map[string]string {
	t.Helper()
	snap, err := store.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range snap.Sources {
		out[s.Name] = string(s.Cursor)
	}
	return out
}

// With a real mesh and snapshot store: each route's delivery fetches only its sources, answers the
// change set against the previous build, and saves the snapshot.
func TestWithMesh(t *testing.T) {
	ctx := context.Background()
	store, err := mesh.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cmsMem, _ := memsource.New(record("post", "p1", "Post", `{"title":"One"}`))
	shopMem, _ := memsource.New(record("product", "x1", "Product", `{"title":"Kettle"}`))
	cms, shop := &countingSource{Source: cmsMem}, &countingSource{Source: shopMem}
	m, _ := mesh.New(mesh.Options{Store: store})
	m.Add("cms", cms)
	m.Add("shop", shop)
	if _, err := m.Build(ctx); err != nil {
		t.Fatal(err)
	}
	before := cursors(t, store)

	ps := providers()
	sanity, shopify, other := ps[2], ps[1], ps[5]
	sanity.route.Sources = []string{"cms"}
	shopify.route.Sources = []string{"shop"}
	h, err := New(Config{Mesh: m, Routes: []Route{sanity.route, shopify.route, other.route}, Debounce: -1, Now: func() time.Time { return epoch }})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()

	cmsMem.Put(record("post", "p1", "Post", `{"title":"One, edited"}`))
	shopMem.Put(record("product", "x2", "Product", `{"title":"Grinder"}`))
	shopFetches := shop.fetches.Load()

	body := []byte(`{"_id":"p1","_type":"post"}`)
	code, resp := deliver(t, h, ctx, http.MethodPost, sanity.route.Path, body, sanity.sign(body, epoch))
	if code != http.StatusOK || resp.Changes == nil {
		t.Fatalf("%d %+v", code, resp)
	}
	if !slices.Equal(resp.Changes.Updated, []string{"cms/post/p1"}) || len(resp.Changes.Added) != 0 || !slices.Equal(resp.Fetched, []string{"cms"}) {
		t.Errorf("cms delivery: %+v fetched %v", resp.Changes, resp.Fetched)
	}
	if !resp.SnapshotSaved || resp.Nodes != 2 || len(resp.Sources) != 2 {
		t.Errorf("answer %+v", resp)
	}
	if shop.fetches.Load() != shopFetches {
		t.Error("a cms delivery fetched the shop")
	}
	after := cursors(t, store)
	if after["cms"] == before["cms"] || after["shop"] != before["shop"] {
		t.Errorf("snapshot cursors before %v, after %v: cms should advance, shop stay", before, after)
	}

	body = []byte(`{"id":2,"title":"Grinder"}`)
	code, resp = deliver(t, h, ctx, http.MethodPost, shopify.route.Path, body, shopify.sign(body, epoch))
	if code != http.StatusOK || resp.Changes == nil || !slices.Equal(resp.Changes.Added, []string{"shop/product/x2"}) || len(resp.Changes.Updated) != 0 {
		t.Errorf("shop delivery: %d %+v", code, resp)
	}

	// A route without sources builds everything; nothing changed since.
	body = []byte(`{"event":"entry.update"}`)
	code, resp = deliver(t, h, ctx, http.MethodPost, other.route.Path, body, other.sign(body, epoch))
	if code != http.StatusOK || !resp.Unchanged || resp.Fetched != nil || cms.fetches.Load() != 3 {
		t.Errorf("all-sources delivery: %d %+v, cms fetched %d times", code, resp, cms.fetches.Load())
	}
}
