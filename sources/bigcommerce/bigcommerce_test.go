package bigcommerce

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/mesh/meshtest"
	"github.com/contentmesh/contentmesh/sources/internal/commercetest"
)

func quick() fetch.Options {
	retries := 2
	return fetch.Options{Retries: &retries, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond,
		MaxRetryAfter: 10 * time.Second, Timeout: 10 * time.Second}
}

func newSource(t *testing.T, baseURL string, edit ...func(*Config)) *Source {
	t.Helper()
	cfg := Config{StoreHash: testHash, Token: testToken, BaseURL: baseURL, Options: quick()}
	for _, e := range edit {
		e(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func build(t *testing.T, src mesh.Source, store mesh.Store, pageSize int, log *slog.Logger) (*mesh.Build, error) {
	t.Helper()
	m, err := mesh.New(mesh.Options{Store: store, PageSize: pageSize, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add("shop", src); err != nil {
		t.Fatal(err)
	}
	return m.Build(context.Background())
}

func mustBuild(t *testing.T, src mesh.Source, store mesh.Store, pageSize int) *mesh.Build {
	t.Helper()
	b, err := build(t, src, store, pageSize, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func graphJSON(t *testing.T, g *mesh.Graph) string {
	t.Helper()
	var buf bytes.Buffer
	if err := g.WriteGraphJSON(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func field(t *testing.T, g *mesh.Graph, id, path string) gjson.Result {
	t.Helper()
	n, ok := g.Get(id)
	if !ok {
		t.Fatalf("no node %s", id)
	}
	return n.Get(path)
}

// TestReferenceCatalog builds the reference catalog in each currency and checks the graph against
// the contract every commerce adapter shares, ignoring only what BigCommerce cannot express.
func TestReferenceCatalog(t *testing.T) {
	for _, cur := range commercetest.Currencies {
		for _, pageSize := range []int{0, 1} {
			t.Run(fmt.Sprintf("%s/pageSize=%d", cur, pageSize), func(t *testing.T) {
				cat := commercetest.Reference(cur)
				srv := fakeServer(t, commercetest.NewBigCommerceFake(testHash, cat))
				b := mustBuild(t, newSource(t, srv.URL), nil, pageSize)
				got, err := commercetest.FromGraph(b.Graph, "shop")
				if err != nil {
					t.Fatal(err)
				}
				if d := commercetest.Diff(cat.View(), got, commercetest.Gaps(Kind)...); len(d) > 0 {
					t.Errorf("graph differs from the reference catalog:\n%s", strings.Join(d, "\n"))
				}
			})
		}
	}
}

// notesServer serves the api-notes' example pages (section 2) from testdata.
func notesServer(t *testing.T) *meshtest.FixtureServer {
	srv := meshtest.NewFixtureServer(t, "")
	serve := func(file string) http.HandlerFunc {
		body, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Rate-Limit-Requests-Left", "148")
			w.Header().Set("X-Rate-Limit-Time-Reset-Ms", "29410")
			_, _ = w.Write(body)
		}
	}
	srv.Handle("GET /stores/abc123/v3/catalog/products", serve("products_page.json"))
	srv.Handle("GET /stores/abc123/v3/catalog/categories", serve("categories_page.json"))
	srv.Handle("GET /stores/abc123/v3/catalog/brands", serve("brands_page.json"))
	srv.Handle("GET /stores/abc123/v2/store", serve("store.json"))
	return srv
}

// TestMapping maps the api-notes' example page and checks every normalized field.
func TestMapping(t *testing.T) {
	srv := notesServer(t)
	b := mustBuild(t, newSource(t, srv.URL), nil, 0)
	g := b.Graph
	cases := []struct{ id, path, want string }{
		{"shop/product/112", "handle", `"canvas-weekender-bag"`},
		{"shop/product/112", "title", `"Canvas Weekender Bag"`},
		{"shop/product/112", "description", `"Waxed canvas, leather handles & brass."`},
		{"shop/product/112", "descriptionHtml", `"<p>Waxed canvas,<br>leather&nbsp;handles &amp; brass.</p><script>track()</script>"`},
		{"shop/product/112", "vendor", `"Fieldworks"`},
		{"shop/product/112", "productType", `null`},
		{"shop/product/112", "tags", `[]`},
		{"shop/product/112", "status", `"active"`},
		{"shop/product/112", "priceRange", `{"max":{"amount":"94.00","currencyCode":"USD"},"min":{"amount":"89.00","currencyCode":"USD"}}`},
		{"shop/product/112", "images", `[{"$ref":"shop/asset/310"},{"$ref":"shop/asset/311"}]`},
		{"shop/product/112", "options", `[{"name":"Color","values":["Olive","Navy"]}]`},
		{"shop/product/112", "variants", `[{"$ref":"shop/variant/501"},{"$ref":"shop/variant/502"}]`},
		{"shop/product/112", "collections", `[{"$ref":"shop/collection/23"},{"$ref":"shop/collection/41"}]`},
		{"shop/variant/501", "sku", `"CWB-OLV"`},
		{"shop/variant/501", "title", `"Olive"`},
		{"shop/variant/501", "price", `{"amount":"89.00","currencyCode":"USD"}`},
		{"shop/variant/501", "compareAtPrice", `null`},
		{"shop/variant/501", "available", `true`},
		{"shop/variant/501", "inventoryQuantity", `20`},
		{"shop/variant/501", "selectedOptions", `[{"name":"Color","value":"Olive"}]`},
		{"shop/variant/501", "image", `{"$ref":"shop/asset/310"}`}, // the thumbnail
		{"shop/variant/501", "product", `{"$ref":"shop/product/112"}`},
		{"shop/variant/502", "price", `{"amount":"94.00","currencyCode":"USD"}`},
		{"shop/variant/502", "image", `{"$ref":"shop/asset/variant-502"}`},
		{"shop/asset/variant-502", "url", `"https://cdn11.bigcommerce.com/s-abc123/products/112/images/999/navy.1280.1280.jpg"`},
		{"shop/asset/variant-502", "alt", `null`},
		{"shop/asset/310", "url", `"https://cdn11.bigcommerce.com/s-abc123/products/112/images/310/cwb.1280.1280.jpg"`},
		{"shop/asset/310", "alt", `"Canvas bag, olive"`},
		{"shop/asset/310", "fileName", `"cwb.jpg"`},
		{"shop/asset/310", "mimeType", `"image/jpeg"`},
		{"shop/asset/310", "width", `null`},
		{"shop/asset/311", "alt", `null`},
		// The mug: on sale, stock tracked per product and out, hidden, no brand, a hidden category.
		{"shop/product/113", "status", `"draft"`},
		{"shop/product/113", "vendor", `null`},
		{"shop/product/113", "description", `"Plain text, no tags."`},
		{"shop/product/113", "options", `[]`},
		{"shop/product/113", "images", `[]`},
		{"shop/product/113", "collections", `[{"$ref":"shop/collection/41"}]`},
		{"shop/variant/503", "title", `"Enamel Mug"`},
		{"shop/variant/503", "price", `{"amount":"15.00","currencyCode":"USD"}`},
		{"shop/variant/503", "compareAtPrice", `{"amount":"18.50","currencyCode":"USD"}`},
		{"shop/variant/503", "inventoryQuantity", `0`},
		{"shop/variant/503", "available", `false`},
		{"shop/variant/503", "image", `null`},
		{"shop/variant/503", "selectedOptions", `[]`},
		// Categories: the visible ones, with their products; handles keep the path.
		{"shop/collection/23", "handle", `"bags"`},
		{"shop/collection/23", "description", `"Bags & packs"`},
		{"shop/collection/23", "products", `[{"$ref":"shop/product/112"}]`},
		{"shop/collection/23", "image", `null`},
		{"shop/collection/41", "handle", `"garden/kitchen"`},
		{"shop/collection/41", "products", `[{"$ref":"shop/product/112"},{"$ref":"shop/product/113"}]`},
		{"shop/collection/41", "image", `{"$ref":"shop/asset/category-41"}`},
		{"shop/asset/category-41", "fileName", `"kitchen.jpg"`},
	}
	for _, c := range cases {
		if got := field(t, g, c.id, c.path).Raw; got != c.want {
			t.Errorf("%s %s = %s, want %s", c.id, c.path, got, c.want)
		}
	}
	if _, ok := g.Get("shop/collection/99"); ok {
		t.Error("the hidden category is in the graph")
	}
	n, _ := g.Get("shop/product/112")
	if n.NativeID != "112" || n.UpdatedAt.Format(time.RFC3339) != "2025-09-01T16:40:03Z" {
		t.Errorf("product node: native id %q, updatedAt %v", n.NativeID, n.UpdatedAt)
	}
	if _, err := commercetest.FromGraph(g, "shop"); err != nil {
		t.Error(err)
	}
	// The store's currency was asked for, once.
	asked := 0
	for _, r := range srv.Requests() {
		if r.Path == "/stores/abc123/v2/store" {
			asked++
		}
	}
	if asked != 1 {
		t.Errorf("/v2/store asked %d times, want 1", asked)
	}
}

// moneyServer serves one product whose price fields are the given JSON texts, in a store whose
// currency is currency.
func moneyServer(t *testing.T, currency, productPrice, variantPrice, calculated, sale string) *meshtest.FixtureServer {
	srv := meshtest.NewFixtureServer(t, "")
	empty := `{"data":[],"meta":{"pagination":{"total":0,"count":0,"per_page":250,"current_page":1,"total_pages":0,"links":{}}}}`
	srv.Handle("GET /stores/abc123/v3/catalog/categories", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, empty) })
	srv.Handle("GET /stores/abc123/v3/catalog/brands", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, empty) })
	srv.Handle("GET /stores/abc123/v2/store", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"id":"abc123","currency":%q}`, currency)
	})
	srv.Handle("GET /stores/abc123/v3/catalog/products", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"data":[{"id":1,"name":"P","price":%s,"sale_price":%s,"calculated_price":%s,"inventory_tracking":"none",
			"is_visible":true,"availability":"available","categories":[],"brand_id":0,"custom_url":{"url":"/p/"},
			"date_modified":"2025-01-01T00:00:00+00:00","images":[],
			"variants":[{"id":2,"product_id":1,"sku":"S","price":%s,"calculated_price":%s,"sale_price":null,
			  "inventory_level":0,"purchasing_disabled":false,"image_url":"","option_values":[]}]}],
			"meta":{"pagination":{"total":1,"count":1,"per_page":250,"current_page":1,"total_pages":1,"links":{}}}}`,
			productPrice, sale, calculated, variantPrice, calculated)
	})
	return srv
}

// TestMoney runs prices through the adapter: JSON floats read as their text and converted to the
// currency's decimals exactly; float noise never makes a compare-at price.
func TestMoney(t *testing.T) {
	cases := []struct {
		currency, product, variant, calculated, sale string
		price, compareAt                             string // want; compareAt "" for null
	}{
		{"USD", "19.99", "null", "19.99", "0", "19.99", ""},
		{"USD", "89.0", "null", "89.0", "0", "89.00", ""},
		{"USD", "0.1", "null", "0.1", "0", "0.10", ""},
		{"USD", "0.30000000000000004", "null", "0.3", "0", "0.30", ""}, // 0.1+0.2: no bogus compare-at
		{"USD", "0.3", "0.30000000000000004", "0.30000000000000004", "0", "0.30", ""},
		{"USD", "0.8999999999999999", "null", "0.8999999999999999", "0", "0.90", ""},
		{"USD", "18.5", "null", "15.0", "15.0", "15.00", "18.50"},
		{"USD", "18.5", "20", "15", "15.0", "15.00", "20.00"},
		{"USD", "1e2", "null", "100", "0", "100.00", ""},
		{"USD", "9007199254740993.99", "null", "9007199254740993.99", "0", "9007199254740993.99", ""},
		{"JPY", "1500", "null", "1500", "0", "1500", ""},
		{"JPY", "2800.0000000000005", "null", "2800.0000000000005", "0", "2800", ""},
		{"JPY", "1500.5", "null", "1500.5", "0", "1500", ""},  // half to even
		{"KWD", "1.2345", "null", "1.2345", "0", "1.234", ""}, // half to even
		{"KWD", "0.09500000000000001", "null", "0.095", "0", "0.095", ""},
		{"KWD", "4.5", "null", "4.125", "4.125", "4.125", "4.500"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s %s/%s/%s", c.currency, c.product, c.variant, c.calculated), func(t *testing.T) {
			srv := moneyServer(t, c.currency, c.product, c.variant, c.calculated, c.sale)
			b := mustBuild(t, newSource(t, srv.URL), nil, 0)
			want := fmt.Sprintf(`{"amount":%q,"currencyCode":%q}`, c.price, c.currency)
			if got := field(t, b.Graph, "shop/variant/2", "price").Raw; got != want {
				t.Errorf("price = %s, want %s", got, want)
			}
			wantCAP := "null"
			if c.compareAt != "" {
				wantCAP = fmt.Sprintf(`{"amount":%q,"currencyCode":%q}`, c.compareAt, c.currency)
			}
			if got := field(t, b.Graph, "shop/variant/2", "compareAtPrice").Raw; got != wantCAP {
				t.Errorf("compareAtPrice = %s, want %s", got, wantCAP)
			}
			if got := field(t, b.Graph, "shop/product/1", "priceRange.max").Raw; got != want {
				t.Errorf("priceRange.max = %s, want %s", got, want)
			}
		})
	}
	t.Run("configured currency", func(t *testing.T) {
		srv := moneyServer(t, "USD", "10", "null", "10", "0")
		b := mustBuild(t, newSource(t, srv.URL, func(c *Config) { c.Currency = "eur" }), nil, 0)
		if got := field(t, b.Graph, "shop/variant/2", "price.currencyCode").String(); got != "EUR" {
			t.Errorf("currency %q, want the configured EUR", got)
		}
		for _, r := range srv.Requests() {
			if strings.HasSuffix(r.Path, "/v2/store") {
				t.Error("asked the store for its currency although it is configured")
			}
		}
	})
	for _, bad := range []struct{ name, currency, price string }{
		{"string", "USD", `"ten"`}, {"bool", "USD", "true"}, {"no currency", "", "10"}, {"odd currency", "US", "10"},
	} {
		t.Run("bad "+bad.name, func(t *testing.T) {
			srv := moneyServer(t, bad.currency, bad.price, "null", bad.price, "0")
			_, err := build(t, newSource(t, srv.URL), nil, 0, nil)
			if !errors.Is(err, mesh.ErrBadResponse) {
				t.Fatalf("err = %v, want ErrBadResponse", err)
			}
		})
	}
}

// TestPageLimit: 250 a page at most, 10 when a page includes options or modifiers.
func TestPageLimit(t *testing.T) {
	cases := []struct {
		size    int
		include string
		want    int
	}{
		{250, "variants,images", 250}, {1000, "variants,images", 250}, {1, "", 1}, {0, "", 1},
		{250, "variants,options", OptionsLimit}, {250, "modifiers", OptionsLimit}, {5, "options", 5},
	}
	for _, c := range cases {
		if got := pageLimit(c.size, c.include); got != c.want {
			t.Errorf("pageLimit(%d, %q) = %d, want %d", c.size, c.include, got, c.want)
		}
	}
	// Through the adapter: a page size above the API's maximum is capped, so no 413.
	srv := fakeServer(t, commercetest.NewBigCommerceFake(testHash, commercetest.Reference("USD")))
	mustBuild(t, newSource(t, srv.URL), nil, 1000)
	for _, r := range srv.Requests() {
		if strings.HasSuffix(r.Path, "/v2/store") {
			continue
		}
		if l := r.Query.Get("limit"); l != "250" || r.Status != 200 {
			t.Errorf("%s?%s: limit %s, status %d", r.Path, r.RawQuery, l, r.Status)
		}
	}
}

// TestConcurrentPages: after the first page tells the total, the other pages are requested
// without waiting for each other.
func TestConcurrentPages(t *testing.T) {
	cat := commercetest.Reference("USD")
	for i := range 5 {
		p := cat.Products[1]
		p.Handle = fmt.Sprintf("%s-%d", p.Handle, i)
		p.Variants = []commercetest.Variant{p.Variants[0]}
		p.Variants[0].SKU = p.Handle
		cat.Products = append(cat.Products, p)
	}
	fake := commercetest.NewBigCommerceFake(testHash, cat)
	srv := fakeServer(t, fake)
	// Every products page after the first is held until three of them have arrived: a sequential
	// listing would never get there (and give up waiting after 5s).
	release := make(chan struct{})
	var mu sync.Mutex
	arrived, gaveUp := 0, false
	srv.Handle("GET /stores/abc123/v3/catalog/products", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") != "1" {
			mu.Lock()
			arrived++
			if arrived == 3 {
				close(release)
			}
			mu.Unlock()
			select {
			case <-release:
			case <-time.After(5 * time.Second):
				mu.Lock()
				gaveUp = true
				mu.Unlock()
			}
		}
		fake.ServeHTTP(w, r)
	})
	s := newSource(t, srv.URL, func(c *Config) { c.Concurrency = 4 })
	b := mustBuild(t, s, nil, 1)
	mu.Lock()
	defer mu.Unlock()
	if arrived < 3 || gaveUp {
		t.Fatal("the pages after the first were not in flight together")
	}
	if n := b.Graph.CountByType()["Product"]; n != 8 {
		t.Errorf("%d products, want 8", n)
	}
}

// TestErrors: answers that are not a success become errors naming the source, the URL and the
// provider's message; never the token.
func TestErrors(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		is     error
		says   []string
	}{
		{"401", 401, badTokenBody, mesh.ErrUnauthorized, []string{"401", "X-Auth-Token is invalid"}},
		{"403", 403, `{"status":403,"title":"You don't have a required scope to access the endpoint","type":"x"}`,
			mesh.ErrForbidden, []string{"403", "required scope"}},
		{"404", 404, `{"status":404,"title":"Store not found","type":"x"}`, mesh.ErrNotFound, []string{"404", "Store not found"}},
		{"422", 422, `{"status":422,"title":"JSON data is missing or invalid","type":"x","errors":{"limit":"must be <= 250","page":"must be > 0"}}`,
			nil, []string{"422", "JSON data is missing or invalid (limit: must be <= 250; page: must be > 0)"}},
		{"503", 503, `{"status":503,"title":"Store is down for maintenance","type":"x"}`, mesh.ErrUpstream, []string{"503", "maintenance"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := fakeServer(t, commercetest.NewBigCommerceFake(testHash, commercetest.Reference("USD")))
			srv.Inject(meshtest.Fault{Count: meshtest.Always, Status: c.status, Body: []byte(c.body)})
			_, err := build(t, newSource(t, srv.URL), nil, 0, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("err = %v, want %v", err, c.is)
			}
			for _, s := range append(c.says, `"shop"`, "bigcommerce", srv.URL+"/stores/abc123/") {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
}

// TestRateLimit: a 429 with BigCommerce's millisecond reset header is retried no earlier than it
// says; a 429 without headers (platform load) is retried with backoff.
func TestRateLimit(t *testing.T) {
	for _, c := range []struct {
		name   string
		header http.Header
	}{
		{"reset header", http.Header{"X-Rate-Limit-Time-Reset-Ms": {"150"}, "X-Rate-Limit-Requests-Left": {"0"}}},
		{"no header", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := fakeServer(t, commercetest.NewBigCommerceFake(testHash, commercetest.Reference("USD")))
			in := srv.Inject(meshtest.Fault{Count: 1, Prefix: "/stores/abc123/v3/catalog/products", Status: 429,
				Header: c.header, Body: []byte(throttledBody)})
			s := newSource(t, srv.URL)
			b := mustBuild(t, s, nil, 0)
			if in.Hits() != 1 || b.Graph.CountByType()["Product"] != 3 {
				t.Fatalf("hits %d, graph %v", in.Hits(), b.Graph.CountByType())
			}
			reqs := srv.Requests()
			var throttled *meshtest.Recorded
			for i := range reqs {
				if reqs[i].Status == 429 {
					throttled = &reqs[i]
				}
			}
			for _, r := range reqs {
				if r.Seq > throttled.Seq && r.Path == throttled.Path && r.RawQuery == throttled.RawQuery {
					if c.header != nil && r.Time.Before(throttled.Answered.Add(150*time.Millisecond)) {
						t.Errorf("retried %v after the 429, before the 150ms reset", r.Time.Sub(throttled.Answered))
					}
					return
				}
			}
			t.Error("the throttled request was not retried")
		})
	}
}

// TestNew checks the configuration's validation.
func TestNew(t *testing.T) {
	good := Config{StoreHash: "abc123", Token: "t"}
	cases := []struct {
		name string
		edit func(*Config)
		key  string
	}{
		{"valid", func(*Config) {}, ""},
		{"currency", func(c *Config) { c.Currency = "jpy" }, ""},
		{"no hash", func(c *Config) { c.StoreHash = "" }, "storeHash"},
		{"hash URL", func(c *Config) { c.StoreHash = "https://api.bigcommerce.com/stores/abc123" }, "storeHash"},
		{"no token", func(c *Config) { c.Token = "" }, "token"},
		{"token space", func(c *Config) { c.Token = "a b" }, "token"},
		{"currency", func(c *Config) { c.Currency = "dollars" }, "currency"},
		{"baseURL", func(c *Config) { c.BaseURL = "api.bigcommerce.com" }, "baseURL"},
		{"options", func(c *Config) { c.Concurrency = -1 }, "concurrency"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := good
			c.edit(&cfg)
			s, err := New(cfg)
			if c.key == "" {
				if err != nil || s.Kind() != "bigcommerce" {
					t.Fatalf("err %v", err)
				}
				return
			}
			if !errors.Is(err, mesh.ErrInvalidConfig) || !strings.Contains(err.Error(), c.key) {
				t.Errorf("err = %v, want ErrInvalidConfig naming %q", err, c.key)
			}
		})
	}
	cfg := good
	cfg.Token = "very-secret"
	for _, text := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		if strings.Contains(text, "very-secret") {
			t.Errorf("config printed with its token: %s", text)
		}
	}
}

// TestRaw keeps the upstream records under _raw when asked, prices as the API wrote them.
func TestRaw(t *testing.T) {
	srv := fakeServer(t, commercetest.NewBigCommerceFake(testHash, commercetest.Reference("USD")))
	b := mustBuild(t, newSource(t, srv.URL, func(c *Config) { c.Raw = true }), nil, 0)
	if got := field(t, b.Graph, "shop/variant/505", "_raw.calculated_price").Raw; got != "0.30000000000000004" {
		t.Errorf("variant _raw.calculated_price = %s", got)
	}
	if got := field(t, b.Graph, "shop/product/101", "_raw.id").Raw; got != "101" {
		t.Errorf("product _raw.id = %s", got)
	}
}

func TestPlainText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"<p>Hello <b>world</b></p>", "Hello world"},
		{"<p>One</p><p>Two</p>", "One Two"},
		{"a<br>b<br/>c", "a b c"},
		{"<p>Vinyl stickers, 5&nbsp;&times;&nbsp;5&nbsp;cm.</p>", "Vinyl stickers, 5 × 5 cm."},
		{"Fish &amp; chips &lt;3", "Fish & chips <3"},
		{"a < b and c > d", "a < b and c > d"},
		{`<a href="x>y">link</a> text`, "link text"},
		{"<script>var a = '<p>';</script>after", "after"},
		{"<STYLE>p{}</STYLE><P>Upper</P>", "Upper"},
		{"<!-- comment <p> -->kept", "kept"},
		{"  lots \n\t of   space  ", "lots of space"},
		{"<p>unclosed <b", "unclosed"},
		{"<ul><li>one</li><li>two</li></ul>", "one two"},
		{"x<span>y</span>z", "xyz"},
	}
	for _, c := range cases {
		if got := PlainText(c.in); got != c.want {
			t.Errorf("PlainText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestFileName(t *testing.T) {
	cases := []struct{ in, want string }{
		{"c/310/cwb__310.1725208803.jpg", "cwb.jpg"},
		{"h/653/ablebrewingsystem4_1__13331.1584373311.jpg", "ablebrewingsystem4_1.jpg"},
		{"https://cdn11.bigcommerce.com/s-abc/product_images/k/kitchen__41.jpg", "kitchen.jpg"},
		{"https://cdn11.bigcommerce.com/s-abc/products/112/images/310/cwb.1280.1280.jpg?c=2", "cwb.1280.1280.jpg"},
		{"a__b.png", "a__b.png"},
		{"", ""},
		{"https://host/", ""},
	}
	for _, c := range cases {
		if got := fileName(c.in); got != c.want {
			t.Errorf("fileName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
