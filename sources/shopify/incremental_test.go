package shopify

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

// change applies a set of upstream changes: a price change, a removed variant and image (whose
// variant then falls back to the featured image), a deleted product, a new product, a product the
// updated_at filter misses (the search index lagged), and collection changes.
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
		commercetest.Product{Handle: "water-bottle", Title: "Water Bottle", Status: "active", Tags: []string{"new"},
			Images: []commercetest.Image{{FileName: "bottle.png", Alt: "A bottle", Width: 500, Height: 900, MimeType: "image/png"}},
			Variants: []commercetest.Variant{{SKU: "WB-1", Title: "Water Bottle", Available: true,
				Price: money.Money{Amount: "24.00", CurrencyCode: "USD"}}},
			Collections: []string{"accessories"}, UpdatedAt: now},
		commercetest.Product{Handle: "lagged", Title: "Lagged", Status: "active",
			Variants: []commercetest.Variant{{SKU: "LG-1", Title: "Lagged", Price: money.Money{Amount: "1.00", CurrencyCode: "USD"}}},
			// Older than the cursor's time less the margin: the filter misses it, as when the
			// search index lagged behind.
			UpdatedAt: time.Date(2025, 9, 20, 18, 0, 0, 0, time.UTC)})
	c.Collection("accessories").Products = append(c.Collection("accessories").Products, "water-bottle")
	run := c.Collection("running")
	run.Image = nil
	run.Products = []string{"trail-runner"}
	c.Product("merino-sock").Collections = []string{"accessories"}
}

// TestIncremental: a delta (changed products, an id sweep, deletes) applied over the previous
// snapshot gives the same graph as a full fetch of the new state.
func TestIncremental(t *testing.T) {
	cat := commercetest.Reference("USD")
	fake := commercetest.NewShopifyFake(cat)
	srv := fakeServer(t, fake)
	s := newSource(t, srv.URL)
	ctx := context.Background()

	// The adapter's own view of the delta.
	var full recorder
	res, err := s.Fetch(ctx, mesh.FetchRequest{Source: "shop"}, &full)
	if err != nil {
		t.Fatal(err)
	}
	if res.Delta || len(res.Cursor) == 0 {
		t.Fatalf("first fetch: delta %v cursor %s", res.Delta, res.Cursor)
	}
	if got := gjson.GetBytes(res.Cursor, "since").String(); got != "2025-09-20T18:45:00Z" {
		t.Errorf("cursor since = %q, want the newest product's updatedAt", got)
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
	wantDeletes := []string{
		"shop/asset/ProductImage%2F3002", // trail-runner-black.jpg
		"shop/asset/ProductImage%2F3003", // sticker-pack.png
		"shop/product/8003",              // sticker-pack
		"shop/variant/44002",             // TRS-43-BLU
		"shop/variant/44005", "shop/variant/44006",
		"shop/asset/CollectionImage%2F9001", // the running banner
	}
	slices.Sort(wantDeletes)
	if !slices.Equal(delta.deletes, wantDeletes) {
		t.Errorf("deletes:\n %v\nwant\n %v", delta.deletes, wantDeletes)
	}
	for _, id := range []string{"shop/product/8001", "shop/product/8004", "shop/product/8005", "shop/variant/44007",
		"shop/collection/5101"} {
		if !slices.Contains(delta.upserts, id) {
			t.Errorf("delta does not upsert %s", id)
		}
	}
	// What it asked: changed products by filter, an id sweep, and by id the product the filter
	// missed (8005) and the one whose collections changed without its updatedAt (8002).
	var sawFilter, sawSweep bool
	var byID []string
	for _, r := range srv.Requests() {
		q := gjson.GetBytes(r.Body, "query").String()
		switch {
		case strings.HasPrefix(q, "query Products("):
			sawFilter = gjson.GetBytes(r.Body, "variables.query").String() == "updated_at:>'2025-09-20T18:40:00Z'"
		case strings.HasPrefix(q, "query ProductIDs("):
			sawSweep = true
		case strings.HasPrefix(q, "query Product("):
			byID = append(byID, gjson.GetBytes(r.Body, "variables.id").String())
		}
	}
	slices.Sort(byID)
	if !sawFilter || !sawSweep || !slices.Equal(byID, []string{"gid://shopify/Product/8002", "gid://shopify/Product/8005"}) {
		t.Errorf("requests: filter %v, sweep %v, by id %v", sawFilter, sawSweep, byID)
	}

	// Through the engine: the delta over the stored snapshot equals a full build of the new state.
	b2 := mustBuild(t, s, store, 0)
	fresh := mustBuild(t, newSource(t, srv.URL), nil, 0)
	if a, b := graphJSON(t, b2.Graph), graphJSON(t, fresh.Graph); a != b {
		t.Errorf("delta build differs from a full build:\n%s\n----\n%s", a, b)
	}
	got, err := commercetest.FromGraph(b2.Graph, "shop")
	if err != nil {
		t.Fatal(err)
	}
	want := commercetest.Reference("USD")
	change(&want, now)
	if d := commercetest.Diff(want.View(), got, commercetest.Gaps(Kind)...); len(d) > 0 {
		t.Errorf("delta build differs from the changed catalog:\n%s", strings.Join(d, "\n"))
	}
	if !slices.Contains(b2.Changes.Deleted, "shop/product/8003") || !slices.Contains(b2.Changes.Added, "shop/product/8004") ||
		!slices.Contains(b2.Changes.Updated, "shop/product/8001") {
		t.Errorf("changes: %+v", b2.Changes)
	}

	// No upstream change: the next delta changes nothing.
	b3 := mustBuild(t, s, store, 0)
	if n := len(b3.Changes.Added) + len(b3.Changes.Updated) + len(b3.Changes.Deleted); n != 0 {
		t.Errorf("unchanged upstream, changes: %+v", b3.Changes)
	}
}

// TestCursorMismatch: a cursor made for another store or version, or an unreadable one, means a
// full fetch.
func TestCursorMismatch(t *testing.T) {
	fake := commercetest.NewShopifyFake(commercetest.Reference("USD"))
	srv := fakeServer(t, fake)
	s := newSource(t, srv.URL)
	var rec recorder
	res, err := s.Fetch(context.Background(), mesh.FetchRequest{Source: "shop"}, &rec)
	if err != nil {
		t.Fatal(err)
	}
	other := newSource(t, srv.URL, func(c *Config) { c.APIVersion = "2025-07" })
	for name, c := range map[string][]byte{"other version": res.Cursor, "garbage": []byte(`{"v":`),
		"old form": []byte(`{"v":0}`)} {
		src := other
		if name != "other version" {
			src = s
		}
		res2, err := src.Fetch(context.Background(), mesh.FetchRequest{Source: "shop", Cursor: c}, &recorder{})
		if err != nil {
			t.Fatal(err)
		}
		if res2.Delta {
			t.Errorf("%s: delta from a cursor that does not fit", name)
		}
	}
}
