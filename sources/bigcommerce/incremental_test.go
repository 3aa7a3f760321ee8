package bigcommerce

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/internal/commercetest"
	"github.com/contentmesh/contentmesh/sources/internal/money"
)

// recorder is an Emitter that keeps what it was given.
type recorder struct {
	mu      sync.Mutex
	upserts []string
	deletes []string
}

func (r *recorder) Upsert(n mesh.Node) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.upserts = append(r.upserts, n.ID)
	return nil
}

func (r *recorder) Delete(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deletes = append(r.deletes, id)
	return nil
}

// change applies upstream changes: a price change, a removed variant and image, a deleted product,
// a new product, a product that date_modified:min misses, a category change that does not touch
// the product's date_modified, and a category that loses its image.
func change(c *commercetest.Catalog, now time.Time) {
	tr := c.Product("trail-runner")
	tr.Variants[0].Price = money.Money{Amount: "119.00", CurrencyCode: "USD"}
	tr.Variants = slices.Delete(tr.Variants, 1, 2) // TRS-43-BLU, the only size 43
	tr.Options[0].Values = []string{"42"}
	tr.Images = tr.Images[:1] // trail-runner-black.jpg
	tr.Variants[1].Image = ""
	tr.UpdatedAt = now
	c.RemoveProduct("sticker-pack")
	c.Products = append(c.Products,
		commercetest.Product{Handle: "water-bottle", Title: "Water Bottle", Status: "active", Tags: []string{},
			Images: []commercetest.Image{{FileName: "bottle.png", Alt: "A bottle", Width: 500, Height: 900, MimeType: "image/png"}},
			Variants: []commercetest.Variant{{SKU: "WB-1", Title: "Water Bottle", Available: true, InventoryQuantity: new(int),
				Price: money.Money{Amount: "24.00", CurrencyCode: "USD"}}},
			Collections: []string{"accessories"}, UpdatedAt: now},
		commercetest.Product{Handle: "lagged", Title: "Lagged", Status: "active", Tags: []string{},
			Variants: []commercetest.Variant{{SKU: "LG-1", Title: "Lagged", Available: true,
				Price: money.Money{Amount: "1.00", CurrencyCode: "USD"}}},
			UpdatedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	c.Products[len(c.Products)-2].Variants[0].Available = false // no stock
	c.Collection("accessories").Products = append(c.Collection("accessories").Products, "water-bottle")
	run := c.Collection("running")
	run.Image = nil
	run.Products = []string{"trail-runner"}
	c.Product("merino-sock").Collections = []string{"accessories"}
}

// TestIncremental: a delta (changed products, an id sweep, deletes) applied over the previous
// snapshot gives the same graph as a full fetch of the new state.
func TestIncremental(t *testing.T) {
	fake := commercetest.NewBigCommerceFake(testHash, commercetest.Reference("USD"))
	srv := fakeServer(t, fake)
	s := newSource(t, srv.URL)
	ctx := context.Background()

	var full recorder
	res, err := s.Fetch(ctx, mesh.FetchRequest{Source: "shop"}, &full)
	if err != nil {
		t.Fatal(err)
	}
	if res.Delta || gjson.GetBytes(res.Cursor, "since").String() != "2025-09-20T18:45:00Z" {
		t.Fatalf("first fetch: delta %v cursor %s", res.Delta, res.Cursor)
	}
	store, err := mesh.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mustBuild(t, s, store, 0)

	now := time.Date(2025, 10, 1, 12, 0, 0, 0, time.UTC)
	fake.Update(func(c *commercetest.Catalog) { change(c, now) })
	srv.ResetRequests()

	var delta recorder
	res2, err := s.Fetch(ctx, mesh.FetchRequest{Source: "shop", Cursor: res.Cursor}, &delta)
	if err != nil {
		t.Fatal(err)
	}
	if !res2.Delta {
		t.Fatal("second fetch is not a delta")
	}
	slices.Sort(delta.deletes)
	want := []string{"shop/asset/302", "shop/asset/303", "shop/asset/category-21", "shop/product/103",
		"shop/variant/502", "shop/variant/505", "shop/variant/506"}
	if !slices.Equal(delta.deletes, want) {
		t.Errorf("deletes:\n %v\nwant\n %v", delta.deletes, want)
	}
	for _, id := range []string{"shop/product/101", "shop/product/102", "shop/product/104", "shop/product/105",
		"shop/collection/21", "shop/collection/22"} {
		if !slices.Contains(delta.upserts, id) {
			t.Errorf("delta does not upsert %s", id)
		}
	}
	var filter, sweep, byID string
	for _, r := range srv.Requests() {
		switch {
		case r.Query.Get("date_modified:min") != "":
			filter = r.Query.Get("date_modified:min")
		case r.Query.Get("include_fields") != "":
			sweep = r.Query.Get("include_fields")
		case r.Query.Get("id:in") != "":
			byID = r.Query.Get("id:in")
		}
	}
	if filter != "2025-09-20T18:45:00Z" || sweep != "categories,date_modified" || byID != "102,105" {
		t.Errorf("requests: date_modified:min %q, include_fields %q, id:in %q", filter, sweep, byID)
	}

	b2 := mustBuild(t, s, store, 0)
	fresh := mustBuild(t, newSource(t, srv.URL), nil, 0)
	if a, b := graphJSON(t, b2.Graph), graphJSON(t, fresh.Graph); a != b {
		t.Errorf("delta build differs from a full build:\n%s\n----\n%s", a, b)
	}
	got, err := commercetest.FromGraph(b2.Graph, "shop")
	if err != nil {
		t.Fatal(err)
	}
	wantCat := commercetest.Reference("USD")
	change(&wantCat, now)
	if d := commercetest.Diff(wantCat.View(), got, commercetest.Gaps(Kind)...); len(d) > 0 {
		t.Errorf("delta build differs from the changed catalog:\n%s", strings.Join(d, "\n"))
	}
	if !slices.Contains(b2.Changes.Deleted, "shop/product/103") || !slices.Contains(b2.Changes.Added, "shop/product/104") ||
		!slices.Contains(b2.Changes.Updated, "shop/product/101") {
		t.Errorf("changes: %+v", b2.Changes)
	}
	b3 := mustBuild(t, s, store, 0)
	if n := len(b3.Changes.Added) + len(b3.Changes.Updated) + len(b3.Changes.Deleted); n != 0 {
		t.Errorf("unchanged upstream, changes: %+v", b3.Changes)
	}
}

// TestCursorMismatch: a cursor made for another store, currency or raw setting, or an unreadable
// one, means a full fetch.
func TestCursorMismatch(t *testing.T) {
	fake := commercetest.NewBigCommerceFake(testHash, commercetest.Reference("USD"))
	srv := fakeServer(t, fake)
	s := newSource(t, srv.URL)
	res, err := s.Fetch(context.Background(), mesh.FetchRequest{Source: "shop"}, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		src    *Source
		cursor []byte
	}{
		"other currency": {newSource(t, srv.URL, func(c *Config) { c.Currency = "USD" }), res.Cursor},
		"raw":            {newSource(t, srv.URL, func(c *Config) { c.Raw = true }), res.Cursor},
		"garbage":        {s, []byte(`{"v":`)},
		"no since":       {s, []byte(`{"v":1,"config":"` + s.config + `","since":""}`)},
	} {
		res2, err := c.src.Fetch(context.Background(), mesh.FetchRequest{Source: "shop", Cursor: c.cursor}, &recorder{})
		if err != nil {
			t.Fatal(err)
		}
		if res2.Delta {
			t.Errorf("%s: delta from a cursor that does not fit", name)
		}
	}
}
