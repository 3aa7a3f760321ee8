package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/mesh/meshtest"
	"github.com/contentmesh/contentmesh/sources/internal/commercetest"
	"github.com/contentmesh/contentmesh/sources/internal/money"
)

// quick are fetch options for tests: few retries, short waits.
func quick() fetch.Options {
	retries := 2
	return fetch.Options{Retries: &retries, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond,
		MaxRetryAfter: 10 * time.Second, Timeout: 10 * time.Second}
}

func newSource(t *testing.T, baseURL string, edit ...func(*Config)) *Source {
	t.Helper()
	cfg := Config{Store: testStore, Token: testToken, BaseURL: baseURL, Options: quick()}
	for _, e := range edit {
		e(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// build runs one build of src named "shop" through the engine, with store (nil: none).
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
// the contract every commerce adapter shares: all of it, nothing ignored.
func TestReferenceCatalog(t *testing.T) {
	for _, cur := range commercetest.Currencies {
		for _, pageSize := range []int{0, 1} {
			t.Run(fmt.Sprintf("%s/pageSize=%d", cur, pageSize), func(t *testing.T) {
				cat := commercetest.Reference(cur)
				srv := fakeServer(t, commercetest.NewShopifyFake(cat))
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

// TestMapping maps the api-notes' example page (section 1.1) and checks every normalized field.
func TestMapping(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "products_page.json"))
	if err != nil {
		t.Fatal(err)
	}
	srv := meshtest.NewFixtureServer(t, "")
	srv.Handle("POST /api/2025-10/graphql.json", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Query string `json:"query"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		switch {
		case strings.HasPrefix(req.Query, "query Products"):
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		case strings.HasPrefix(req.Query, "query Collections"):
			meshtest.WriteJSON(w, 200, map[string]any{"data": map[string]any{"collections": map[string]any{
				"nodes": []any{map[string]any{"id": "gid://shopify/Collection/5101", "handle": "running", "title": "Running",
					"description": "", "updatedAt": "2025-01-01T00:00:00Z", "image": nil,
					"products": map[string]any{"nodes": []any{map[string]any{"id": "gid://shopify/Product/8001"}},
						"pageInfo": map[string]any{"hasNextPage": false, "endCursor": "x"}}}},
				"pageInfo": map[string]any{"hasNextPage": false, "endCursor": "c"}}}})
		default:
			t.Errorf("unexpected query %.40q", req.Query)
			w.WriteHeader(400)
		}
	})
	b := mustBuild(t, newSource(t, srv.URL), nil, 0)
	g := b.Graph
	cases := []struct {
		id, path, want string
	}{
		{"shop/product/8001", "handle", `"trail-runner-shoe"`},
		{"shop/product/8001", "title", `"Trail Runner Shoe"`},
		{"shop/product/8001", "vendor", `"Northpeak"`},
		{"shop/product/8001", "productType", `"Footwear"`},
		{"shop/product/8001", "tags", `["running","outdoor"]`},
		{"shop/product/8001", "status", `"active"`},
		{"shop/product/8001", "description", `"Trail shoe."`},
		{"shop/product/8001", "descriptionHtml", `"<p>Trail shoe.</p>"`},
		{"shop/product/8001", "priceRange", `{"max":{"amount":"129.00","currencyCode":"EUR"},"min":{"amount":"129.00","currencyCode":"EUR"}}`},
		{"shop/product/8001", "options", `[{"name":"Size","values":["42","43"]},{"name":"Color","values":["Blue"]}]`},
		{"shop/product/8001", "images", `[{"$ref":"shop/asset/ProductImage%2F3001"}]`},
		{"shop/product/8001", "variants", `[{"$ref":"shop/variant/44001"},{"$ref":"shop/variant/44002"}]`},
		{"shop/product/8001", "collections", `[{"$ref":"shop/collection/5101"}]`},
		{"shop/variant/44001", "sku", `"TRS-42-BLU"`},
		{"shop/variant/44001", "title", `"42 / Blue"`},
		{"shop/variant/44001", "price", `{"amount":"129.00","currencyCode":"EUR"}`},
		{"shop/variant/44001", "compareAtPrice", `null`},
		{"shop/variant/44001", "available", `true`},
		{"shop/variant/44001", "inventoryQuantity", `12`},
		{"shop/variant/44001", "selectedOptions", `[{"name":"Size","value":"42"},{"name":"Color","value":"Blue"}]`},
		{"shop/variant/44001", "image", `{"$ref":"shop/asset/ProductImage%2F3001"}`},
		{"shop/variant/44001", "product", `{"$ref":"shop/product/8001"}`},
		{"shop/variant/44002", "compareAtPrice", `{"amount":"149.00","currencyCode":"EUR"}`},
		{"shop/variant/44002", "available", `false`},
		{"shop/variant/44002", "inventoryQuantity", `0`},
		// The product without options: Shopify's "Title"/"Default Title" stand-in is dropped.
		{"shop/product/8002", "options", `[]`},
		{"shop/product/8002", "tags", `[]`},
		{"shop/product/8002", "images", `[]`},
		{"shop/product/8002", "collections", `[]`},
		{"shop/product/8002", "productType", `null`},
		{"shop/variant/44010", "title", `"Merino Sock"`},
		{"shop/variant/44010", "selectedOptions", `[]`},
		{"shop/variant/44010", "price", `{"amount":"14.50","currencyCode":"EUR"}`},
		{"shop/variant/44010", "image", `null`},
		{"shop/variant/44010", "inventoryQuantity", `null`},
		{"shop/variant/44010", "sku", `null`},
		{"shop/asset/ProductImage%2F3001", "url", `"https://cdn.shopify.com/s/files/1/0001/products/trail-runner.jpg?v=1726309351"`},
		{"shop/asset/ProductImage%2F3001", "mimeType", `"image/jpeg"`},
		{"shop/asset/ProductImage%2F3001", "fileName", `"trail-runner.jpg"`},
		{"shop/asset/ProductImage%2F3001", "alt", `"Trail Runner Shoe, side view"`},
		{"shop/asset/ProductImage%2F3001", "width", `1600`},
		{"shop/asset/ProductImage%2F3001", "height", `1200`},
		{"shop/asset/ProductImage%2F3001", "size", `null`},
		{"shop/asset/ProductImage%2F3001", "title", `null`},
		{"shop/collection/5101", "products", `[{"$ref":"shop/product/8001"}]`},
		{"shop/collection/5101", "image", `null`},
	}
	for _, c := range cases {
		if got := field(t, g, c.id, c.path).Raw; got != c.want {
			t.Errorf("%s %s = %s, want %s", c.id, c.path, got, c.want)
		}
	}
	n, _ := g.Get("shop/product/8001")
	if n.NativeID != "8001" || n.UpdatedAt.Format(time.RFC3339) != "2025-09-14T10:22:31Z" || n.Type != "Product" {
		t.Errorf("product node: native id %q, updatedAt %v, type %q", n.NativeID, n.UpdatedAt, n.Type)
	}
	if n.Get("_raw").Exists() {
		t.Error("_raw present without raw: true")
	}
}

// TestRaw keeps the upstream records under _raw when asked.
func TestRaw(t *testing.T) {
	srv := fakeServer(t, commercetest.NewShopifyFake(commercetest.Reference("USD")))
	b := mustBuild(t, newSource(t, srv.URL, func(c *Config) { c.Raw = true }), nil, 0)
	if got := field(t, b.Graph, "shop/product/8001", "_raw.id").String(); got != "gid://shopify/Product/8001" {
		t.Errorf("product _raw.id = %q", got)
	}
	if got := field(t, b.Graph, "shop/variant/44001", "_raw.price.amount").String(); got != "129.0" {
		t.Errorf("variant _raw.price.amount = %q, want the upstream text 129.0", got)
	}
}

// moneyServer answers the product listing with one product whose one variant costs amount in
// currency, written as the JSON text amountJSON (a string, or a number).
func moneyServer(t *testing.T, amountJSON, currency string) *meshtest.FixtureServer {
	srv := meshtest.NewFixtureServer(t, "")
	srv.Handle("POST /api/2025-10/graphql.json", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Query string `json:"query"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(req.Query, "query Collections") {
			fmt.Fprint(w, `{"data":{"collections":{"nodes":[],"pageInfo":{"hasNextPage":false,"endCursor":null}}}}`)
			return
		}
		m := fmt.Sprintf(`{"amount":%s,"currencyCode":%q}`, amountJSON, currency)
		fmt.Fprintf(w, `{"data":{"products":{"nodes":[{"id":"gid://shopify/Product/1","handle":"p","title":"P",
			"description":"","descriptionHtml":"","vendor":"V","productType":"","tags":[],"updatedAt":"2025-01-01T00:00:00Z",
			"options":[],"priceRange":{"minVariantPrice":%[1]s,"maxVariantPrice":%[1]s},
			"images":{"nodes":[],"pageInfo":{"hasNextPage":false,"endCursor":null}},
			"collections":{"nodes":[],"pageInfo":{"hasNextPage":false,"endCursor":null}},
			"variants":{"nodes":[{"id":"gid://shopify/ProductVariant/2","title":"Default Title","sku":"S","availableForSale":true,
			  "quantityAvailable":1,"price":%[1]s,"compareAtPrice":%[1]s,"selectedOptions":[],"image":null}],
			  "pageInfo":{"hasNextPage":false,"endCursor":"v"}}}],
			"pageInfo":{"hasNextPage":false,"endCursor":"p"}}}}`, m)
	})
	return srv
}

// TestMoney runs prices through the adapter: decimal strings (and numbers, should the API ever
// send them) come out with the currency's decimals, exactly, never through a float.
func TestMoney(t *testing.T) {
	cases := []struct {
		json, currency, want string
	}{
		{`"19.99"`, "USD", "19.99"},
		{`"129.0"`, "EUR", "129.00"},
		{`"0.3"`, "USD", "0.30"},
		{`"0.30000000000000004"`, "USD", "0.30"},
		{`"1500.0"`, "JPY", "1500"},
		{`"1.25"`, "KWD", "1.250"},
		{`"1.2345"`, "KWD", "1.234"}, // half to even
		{`"1.2355"`, "KWD", "1.236"},
		{`"90071992547409930.01"`, "USD", "90071992547409930.01"}, // beyond float64's integers
		{`19.99`, "USD", "19.99"},
		{`0.1`, "USD", "0.10"},
		{`"5"`, "usd", "5.00"},
	}
	for _, c := range cases {
		t.Run(c.json+" "+c.currency, func(t *testing.T) {
			srv := moneyServer(t, c.json, c.currency)
			b := mustBuild(t, newSource(t, srv.URL), nil, 0)
			want := fmt.Sprintf(`{"amount":%q,"currencyCode":%q}`, c.want, strings.ToUpper(c.currency))
			for _, path := range []string{"price", "compareAtPrice"} {
				if got := field(t, b.Graph, "shop/variant/2", path).Raw; got != want {
					t.Errorf("%s = %s, want %s", path, got, want)
				}
			}
			if got := field(t, b.Graph, "shop/product/1", "priceRange.min").Raw; got != want {
				t.Errorf("priceRange.min = %s, want %s", got, want)
			}
		})
	}
	for _, bad := range []struct{ json, currency string }{{`"12,50"`, "EUR"}, {`"10"`, "EURO"}, {`null`, "USD"}, {`"1/3"`, "USD"}} {
		t.Run("bad "+bad.json+" "+bad.currency, func(t *testing.T) {
			srv := moneyServer(t, bad.json, bad.currency)
			_, err := build(t, newSource(t, srv.URL), nil, 0, nil)
			if !errors.Is(err, mesh.ErrBadResponse) {
				t.Fatalf("err = %v, want ErrBadResponse", err)
			}
		})
	}
}

// TestFollowUps: a product with more variants, images and collections than a page holds, and a
// collection with more products, are completed with follow-up queries on the node.
func TestFollowUps(t *testing.T) {
	cat := commercetest.Reference("USD")
	p := cat.Product("trail-runner")
	base := p.Variants[0]
	for i := range 300 {
		v := base
		v.SKU = fmt.Sprintf("BULK-%03d", i)
		v.Title = fmt.Sprintf("%d / Blue", 100+i)
		v.SelectedOptions = []commercetest.SelectedOption{{Name: "Size", Value: fmt.Sprint(100 + i)}, {Name: "Color", Value: "Blue"}}
		p.Variants = append(p.Variants, v)
		p.Options[0].Values = append(p.Options[0].Values, fmt.Sprint(100+i))
	}
	for i := range 25 {
		p.Images = append(p.Images, commercetest.Image{FileName: fmt.Sprintf("extra-%02d.webp", i), Alt: "extra", Width: 10,
			Height: 10, MimeType: "image/webp"})
	}
	for i := range 30 {
		h := fmt.Sprintf("extra-%02d", i)
		cat.Collections = append(cat.Collections, commercetest.Collection{Handle: h, Title: h, Products: []string{"trail-runner"}})
		p.Collections = append(p.Collections, h)
	}
	for i := range 260 {
		h := fmt.Sprintf("filler-%03d", i)
		cat.Products = append(cat.Products, commercetest.Product{Handle: h, Title: h, Status: "active", Tags: []string{},
			Variants:    []commercetest.Variant{{SKU: h, Title: h, Price: money.Money{Amount: "1.00", CurrencyCode: "USD"}, Available: true}},
			Collections: []string{"running"}, UpdatedAt: p.UpdatedAt})
		cat.Collection("running").Products = append(cat.Collection("running").Products, h)
	}
	fake := commercetest.NewShopifyFake(cat)
	srv := fakeServer(t, fake)
	b := mustBuild(t, newSource(t, srv.URL), nil, 0)
	got, err := commercetest.FromGraph(b.Graph, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if d := commercetest.Diff(cat.View(), got, commercetest.Gaps(Kind)...); len(d) > 0 {
		t.Fatalf("graph differs:\n%s", strings.Join(d[:min(len(d), 20)], "\n"))
	}
	ops := map[string]int{}
	for _, r := range srv.Requests() {
		op := gjson.GetBytes(r.Body, "query").String()
		op = strings.Fields(op)[1]
		op, _, _ = strings.Cut(op, "(")
		ops[op]++
	}
	// 263 products at 100 a page; 303 variants re-listed at 250 a page; 27 images at 250; 31
	// collections of the product at 250; 263 products of "running" at 250; 32 collections at 50.
	want := map[string]int{"Products": 3, "ProductVariants": 2, "ProductImages": 1, "ProductCollections": 1,
		"CollectionProducts": 2, "Collections": 1}
	for op, n := range want {
		if ops[op] != n {
			t.Errorf("%s requests: %d, want %d (all: %v)", op, ops[op], n, ops)
		}
	}
}

// TestListCeiling: a listing that reaches the Storefront API's ceiling with more to come fails
// clearly, naming the way past it, instead of building an incomplete graph.
func TestListCeiling(t *testing.T) {
	var cat commercetest.Catalog
	cat.Currency = "USD"
	for i := range 5 {
		h := fmt.Sprintf("p%d", i)
		cat.Products = append(cat.Products, commercetest.Product{Handle: h, Title: h, Status: "active",
			Variants: []commercetest.Variant{{SKU: h, Title: h, Price: money.Money{Amount: "1.00", CurrencyCode: "USD"}}}})
	}
	fake := commercetest.NewShopifyFake(cat)
	fake.SetCeiling(4)
	srv := fakeServer(t, fake)
	s := newSource(t, srv.URL)
	s.ceiling = 4
	_, err := build(t, s, nil, 2, nil)
	if !errors.Is(err, ErrListCeiling) {
		t.Fatalf("err = %v, want ErrListCeiling", err)
	}
	for _, want := range []string{"products: ", "4 listed and there are more", "bulk export", "bulkOperationRunQuery", `"shop"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// The adapter stopped before asking for what the API refuses.
	for _, r := range srv.Requests() {
		if r.Status != 200 {
			t.Errorf("request %d answered %d: the adapter went past the ceiling", r.Seq, r.Status)
		}
	}
	// At the ceiling exactly, with nothing more, the listing is complete.
	fake.SetCeiling(5)
	s.ceiling = 5
	b := mustBuild(t, s, nil, 1)
	if got := b.Graph.CountByType()["Product"]; got != 5 {
		t.Errorf("%d products, want 5", got)
	}
}

// throttledBody is a 200 answer with a THROTTLED error and Shopify's cost extension (api-notes
// section 1.1).
const throttledBody = `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}],
"extensions":{"cost":{"requestedQueryCost":10,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":1000.0,"currentlyAvailable":0,"restoreRate":1000.0}}}}`

// TestThrottling: a THROTTLED body, a 430 and a 429 are retried and the build succeeds; a 430
// that persists fails with an error saying what it is.
func TestThrottling(t *testing.T) {
	cat := commercetest.Reference("USD")
	for _, c := range []struct {
		name  string
		fault meshtest.Fault
	}{
		{"THROTTLED", meshtest.Fault{Count: 2, Status: 200, Body: []byte(throttledBody)}},
		{"430", meshtest.Fault{Count: 2, Status: statusSecurityRejection, Body: []byte{}}},
		{"429", meshtest.Fault{Count: 2, Status: 429, Header: http.Header{"Retry-After": {"0"}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := fakeServer(t, commercetest.NewShopifyFake(cat))
			in := srv.Inject(c.fault)
			s := newSource(t, srv.URL)
			b := mustBuild(t, s, nil, 0)
			if in.Hits() != 2 {
				t.Errorf("fault hit %d times, want 2", in.Hits())
			}
			if b.Graph.CountByType()["Product"] != 3 {
				t.Errorf("graph: %v", b.Graph.CountByType())
			}
			if st := s.client.Stats(); st.Retries < 2 {
				t.Errorf("stats: %+v, want 2 retries", st)
			}
		})
	}
	t.Run("430 persists", func(t *testing.T) {
		srv := fakeServer(t, commercetest.NewShopifyFake(cat))
		srv.Inject(meshtest.Fault{Count: meshtest.Always, Status: statusSecurityRejection, Body: []byte{}})
		_, err := build(t, newSource(t, srv.URL), nil, 0, nil)
		if err == nil || !strings.Contains(err.Error(), "430") || !strings.Contains(err.Error(), "bot protection") {
			t.Fatalf("err = %v", err)
		}
		// The request that failed was tried 1 + retries times; the others were cut short by it.
		counts, most := map[string]int{}, 0
		for _, r := range srv.Requests() {
			counts[r.Key()]++
			most = max(most, counts[r.Key()])
		}
		if most != 3 {
			t.Errorf("requests tried %v times, want one of them 3 times", counts)
		}
	})
}

// TestInventoryDenied: a token without the inventory scope still builds, with stock unknown.
func TestInventoryDenied(t *testing.T) {
	fake := commercetest.NewShopifyFake(commercetest.Reference("USD"))
	fake.DenyInventory(true)
	srv := fakeServer(t, fake)
	var logs bytes.Buffer
	b, err := build(t, newSource(t, srv.URL), nil, 1, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for n := range b.Graph.ByType("ProductVariant") {
		if q := n.Get("inventoryQuantity"); q.Type != gjson.Null {
			t.Errorf("%s inventoryQuantity = %s, want null", n.ID, q.Raw)
		}
	}
	if !strings.Contains(logs.String(), "unauthenticated_read_product_inventory") {
		t.Errorf("no warning about the scope in the log:\n%s", logs.String())
	}
	if b.Graph.CountByType()["ProductVariant"] != 6 {
		t.Errorf("graph: %v", b.Graph.CountByType())
	}
}

// TestErrors: HTTP and GraphQL failures become errors naming the source, what happened and, from
// the provider's body, why; never the token.
func TestErrors(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		is     error
		says   []string
	}{
		{"401", 401, badTokenBody, mesh.ErrUnauthorized, []string{"401", "Invalid API key or access token"}},
		{"403", 403, `{"errors":"Forbidden"}`, mesh.ErrForbidden, []string{"403", "Forbidden"}},
		{"404", 404, `{"errors":"Not Found"}`, mesh.ErrNotFound, []string{"404", "Not Found"}},
		{"402", 402, `{"errors":"Unavailable Shop"}`, nil, []string{"402", "Unavailable Shop"}},
		{"graphql", 200, `{"errors":[{"message":"Field 'bogus' doesn't exist on type 'Product'","extensions":{"code":"undefinedField"}}]}`,
			nil, []string{"GraphQL", "Field 'bogus' doesn't exist"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := fakeServer(t, commercetest.NewShopifyFake(commercetest.Reference("USD")))
			srv.Inject(meshtest.Fault{Count: meshtest.Always, Status: c.status, Body: []byte(c.body)})
			_, err := build(t, newSource(t, srv.URL), nil, 0, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("err = %v, want %v", err, c.is)
			}
			for _, s := range append(c.says, `"shop"`, "shopify", srv.URL) {
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

// TestNew checks the configuration's validation and defaults.
func TestNew(t *testing.T) {
	good := Config{Store: "acme.myshopify.com", Token: "t"}
	cases := []struct {
		name string
		edit func(*Config)
		key  string // "" for a valid config
	}{
		{"valid", func(*Config) {}, ""},
		{"short store", func(c *Config) { c.Store = "acme" }, ""},
		{"store URL", func(c *Config) { c.Store = "https://Acme.myshopify.com/" }, ""},
		{"unstable", func(c *Config) { c.APIVersion = "unstable" }, ""},
		{"no store", func(c *Config) { c.Store = "" }, "store"},
		{"store path", func(c *Config) { c.Store = "acme.myshopify.com/admin" }, "store"},
		{"no token", func(c *Config) { c.Token = "" }, "token"},
		{"token newline", func(c *Config) { c.Token = "a\nb" }, "token"},
		{"version form", func(c *Config) { c.APIVersion = "2025-11" }, "apiVersion"},
		{"version old", func(c *Config) { c.APIVersion = "2024-04" }, "apiVersion"},
		{"baseURL", func(c *Config) { c.BaseURL = "ftp://x" }, "baseURL"},
		{"options", func(c *Config) { c.Concurrency = -1 }, "concurrency"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := good
			c.edit(&cfg)
			s, err := New(cfg)
			if c.key == "" {
				if err != nil {
					t.Fatal(err)
				}
				if s.store != "acme.myshopify.com" || s.Kind() != "shopify" {
					t.Errorf("store %q kind %q", s.store, s.Kind())
				}
				return
			}
			if !errors.Is(err, mesh.ErrInvalidConfig) || !strings.Contains(err.Error(), c.key) {
				t.Errorf("err = %v, want ErrInvalidConfig naming %q", err, c.key)
			}
		})
	}
	s, _ := New(good)
	if s.version != DefaultAPIVersion || s.endpoint != "/api/"+DefaultAPIVersion+"/graphql.json" {
		t.Errorf("version %q endpoint %q", s.version, s.endpoint)
	}
	cfg := good
	cfg.Token = "very-secret"
	for _, text := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		if strings.Contains(text, "very-secret") {
			t.Errorf("config printed with its token: %s", text)
		}
	}
}

// TestAPIVersionFallForward: an answer from another version than asked is logged.
func TestAPIVersionFallForward(t *testing.T) {
	fake := commercetest.NewShopifyFake(commercetest.Reference("USD"))
	srv := meshtest.NewFixtureServer(t, "")
	srv.Handle("POST /api/{version}/graphql.json", func(w http.ResponseWriter, r *http.Request) {
		fake.ServeHTTP(headerOverride{w, "2025-01"}, r)
	})
	var logs bytes.Buffer
	if _, err := build(t, newSource(t, srv.URL, func(c *Config) { c.APIVersion = "2024-10" }), nil, 0,
		slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "asked=2024-10 served=2025-01") {
		t.Errorf("log does not report the version change:\n%s", logs.String())
	}
}

type headerOverride struct {
	http.ResponseWriter
	version string
}

func (h headerOverride) WriteHeader(code int) {
	h.ResponseWriter.Header().Set(versionHeader, h.version)
	h.ResponseWriter.WriteHeader(code)
}

func (h headerOverride) Write(b []byte) (int, error) {
	h.ResponseWriter.Header().Set(versionHeader, h.version)
	return h.ResponseWriter.Write(b)
}
