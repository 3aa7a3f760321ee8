package commercetest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/internal/money"
)

// TestReferenceConsistency: the reference catalog agrees with itself, so that a difference a test
// reports is the adapter's.
func TestReferenceConsistency(t *testing.T) {
	for _, cur := range Currencies {
		c := Reference(cur)
		if len(c.Products) != 3 || len(c.Collections) != 2 {
			t.Fatalf("%s: %d products, %d collections", cur, len(c.Products), len(c.Collections))
		}
		for _, p := range c.Products {
			for _, h := range p.Collections {
				if col := c.Collection(h); col == nil || !slices.Contains(col.Products, p.Handle) {
					t.Errorf("%s: product %s says it is in %s, which does not list it", cur, p.Handle, h)
				}
			}
			for _, v := range p.Variants {
				if v.Price.CurrencyCode != cur {
					t.Errorf("%s: %s priced in %s", cur, v.SKU, v.Price.CurrencyCode)
				}
				if m, err := money.FromDecimal(v.Price.Amount, cur); err != nil || m != v.Price {
					t.Errorf("%s: %s price %q does not have the currency's decimals", cur, v.SKU, v.Price.Amount)
				}
				if v.PriceWire != "" {
					if m, err := money.FromDecimal(v.PriceWire, cur); err != nil || m != v.Price {
						t.Errorf("%s: %s wire %q is not %s", cur, v.SKU, v.PriceWire, v.Price.Amount)
					}
				}
				var vals []string
				for i, so := range v.SelectedOptions {
					if i >= len(p.Options) || p.Options[i].Name != so.Name || !slices.Contains(p.Options[i].Values, so.Value) {
						t.Errorf("%s: %s selects %v, not in the options %v", cur, v.SKU, so, p.Options)
					}
					vals = append(vals, so.Value)
				}
				if want := strings.Join(vals, " / "); (want == "" && v.Title != p.Title) || (want != "" && v.Title != want) {
					t.Errorf("%s: %s title %q", cur, v.SKU, v.Title)
				}
				if v.Image != "" && p.Image(v.Image) == nil {
					t.Errorf("%s: %s image %q is not one of the product's", cur, v.SKU, v.Image)
				}
			}
		}
		for _, col := range c.Collections {
			for _, h := range col.Products {
				if p := c.Product(h); p == nil || !slices.Contains(p.Collections, col.Handle) {
					t.Errorf("%s: collection %s lists %s, which does not say so", cur, col.Handle, h)
				}
			}
		}
	}
	// A fresh copy each time.
	a := Reference("USD")
	a.Products[0].Title = "changed"
	if Reference("USD").Products[0].Title == "changed" {
		t.Error("Reference shares its values between calls")
	}
}

// graphOf builds a graph from nodes given as id -> (type, fields).
func graphOf(t *testing.T, nodes map[string][2]string) *mesh.Graph {
	t.Helper()
	var ns []*mesh.Node
	for id, tf := range nodes {
		ns = append(ns, &mesh.Node{ID: id, Type: tf[0], Source: "s", Fields: json.RawMessage(tf[1])})
	}
	return mesh.NewGraph(ns)
}

const (
	goodAsset   = `{"url":"https://x/a.jpg","mimeType":"image/jpeg","width":10,"height":10,"size":null,"title":null,"alt":"A","fileName":"a.jpg"}`
	goodVariant = `{"sku":"S","title":"T","price":{"amount":"1.00","currencyCode":"USD"},"compareAtPrice":null,"available":true,
		"inventoryQuantity":3,"selectedOptions":[],"image":{"$ref":"s/asset/1"},"product":{"$ref":"s/product/1"}}`
	goodProduct = `{"handle":"p","title":"P","description":"","descriptionHtml":"","vendor":null,"productType":null,"tags":[],
		"status":"active","priceRange":{"min":{"amount":"1.00","currencyCode":"USD"},"max":{"amount":"1.00","currencyCode":"USD"}},
		"images":[{"$ref":"s/asset/1"}],"options":[],"variants":[{"$ref":"s/variant/1"}],"collections":[{"$ref":"s/collection/1"}]}`
	goodCollection = `{"handle":"c","title":"C","description":"","image":null,"products":[{"$ref":"s/product/1"}]}`
)

// TestFromGraph reads a well-formed graph, and lists each contract violation of a broken one.
func TestFromGraph(t *testing.T) {
	g := graphOf(t, map[string][2]string{
		"s/product/1": {"Product", goodProduct}, "s/variant/1": {"ProductVariant", goodVariant},
		"s/asset/1": {"Asset", goodAsset}, "s/collection/1": {"Collection", goodCollection},
	})
	v, err := FromGraph(g, "s")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	want := `{"collections":{"c":{"description":"","image":null,"products":["p"],"title":"C"}},"products":{"p":{"collections":["c"],` +
		`"description":"","descriptionHtml":"","images":[{"alt":"A","fileName":"a.jpg","height":10,"mimeType":"image/jpeg","width":10}],` +
		`"options":[],"priceRange":{"max":{"amount":"1.00","currencyCode":"USD"},"min":{"amount":"1.00","currencyCode":"USD"}},` +
		`"productType":null,"status":"active","tags":[],"title":"P","variants":[{"available":true,"compareAtPrice":null,` +
		`"image":{"alt":"A","fileName":"a.jpg","height":10,"mimeType":"image/jpeg","width":10},"inventoryQuantity":3,` +
		`"price":{"amount":"1.00","currencyCode":"USD"},"product":"p","selectedOptions":[],"sku":"S","title":"T"}],"vendor":null}}}`
	if string(b) != want {
		t.Errorf("view:\n%s\nwant\n%s", b, want)
	}

	broken := map[string]struct {
		typ, fields, says string
	}{
		"missing key":    {"Product", strings.Replace(goodProduct, `"vendor":null,`, ``, 1), `"vendor" is missing`},
		"extra key":      {"Product", strings.Replace(goodProduct, `"tags":[]`, `"tags":[],"extra":1`, 1), `"extra" is not in the contract`},
		"float amount":   {"ProductVariant", strings.Replace(goodVariant, `"amount":"1.00"`, `"amount":1.0`, 1), `field "price": want {"amount"`},
		"status case":    {"Product", strings.Replace(goodProduct, `"active"`, `"ACTIVE"`, 1), `field "status"`},
		"qty float":      {"ProductVariant", strings.Replace(goodVariant, `"inventoryQuantity":3`, `"inventoryQuantity":3.5`, 1), `inventoryQuantity`},
		"tags not array": {"Product", strings.Replace(goodProduct, `"tags":[]`, `"tags":"a,b"`, 1), `field "tags"`},
		"option shape":   {"Product", strings.Replace(goodProduct, `"options":[]`, `"options":[{"name":"Size","values":"S"}]`, 1), `field "options"`},
		"ref wrong type": {"ProductVariant", strings.Replace(goodVariant, `"image":{"$ref":"s/asset/1"}`, `"image":{"$ref":"s/collection/1"}`, 1), `is a Collection, want a Asset`},
		"dangling":       {"Product", strings.Replace(goodProduct, `"s/collection/1"`, `"s/collection/9"`, 1), `"s/collection/9" is not in the graph`},
		"lower currency": {"ProductVariant", strings.Replace(goodVariant, `"USD"`, `"usd"`, 1), `field "price"`},
		"empty handle":   {"Product", strings.Replace(goodProduct, `"handle":"p"`, `"handle":""`, 1), `handle`},
	}
	for name, c := range broken {
		t.Run(name, func(t *testing.T) {
			nodes := map[string][2]string{
				"s/product/1": {"Product", goodProduct}, "s/variant/1": {"ProductVariant", goodVariant},
				"s/asset/1": {"Asset", goodAsset}, "s/collection/1": {"Collection", goodCollection},
			}
			id := map[string]string{"Product": "s/product/1", "ProductVariant": "s/variant/1"}[c.typ]
			nodes[id] = [2]string{c.typ, c.fields}
			_, err := FromGraph(graphOf(t, nodes), "s")
			if err == nil || !strings.Contains(err.Error(), c.says) {
				t.Errorf("err = %v, want it to say %s", err, c.says)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	want := Reference("USD").View()
	got := Reference("USD").View()
	if d := Diff(want, got); len(d) != 0 {
		t.Fatalf("equal views differ: %v", d)
	}
	c := Reference("USD")
	c.Products[0].ProductType = ""
	c.Products[0].Images[0].Width = 1
	c.Products[2].Variants[1].Price.Amount = "0.91"
	c.Collections[0].Products = []string{"trail-runner"}
	got = c.View()
	d := Diff(want, got)
	for _, s := range []string{
		`products.trail-runner.productType: want "Footwear", have null`,
		`products.trail-runner.images.0.width: want 1600, have 1`,
		`products.sticker-pack.variants.1.price.amount: want "0.90", have "0.91"`,
		`collections.running.products: want 2 items`,
	} {
		if !slices.ContainsFunc(d, func(l string) bool { return strings.HasPrefix(l, s) }) {
			t.Errorf("diff misses %s:\n%s", s, strings.Join(d, "\n"))
		}
	}
	d = Diff(want, got, "products.*.productType", "products.*.images.*.width", "products.*.variants.*.image.width",
		"products.sticker-pack.variants", "products.sticker-pack.priceRange", "collections.*.products")
	if len(d) != 0 {
		t.Errorf("ignored paths still reported: %v", d)
	}
	if len(Gaps("bigcommerce")) == 0 || Gaps("shopify") != nil || len(GapReasons("bigcommerce")) != len(Gaps("bigcommerce")) {
		t.Error("Gaps")
	}
}

// shopifyAsk sends one GraphQL operation to the fake.
func shopifyAsk(t *testing.T, f *ShopifyFake, query string, vars map[string]any) gjson.Result {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest(http.MethodPost, "/api/2025-10/graphql.json", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	f.ServeHTTP(w, req)
	if w.Code != 200 || w.Header().Get("X-Shopify-API-Version") != "2025-10" {
		t.Fatalf("status %d, version %q", w.Code, w.Header().Get("X-Shopify-API-Version"))
	}
	return gjson.ParseBytes(w.Body.Bytes())
}

func TestShopifyFake(t *testing.T) {
	f := NewShopifyFake(Reference("JPY"))
	q := "query ProductIDs($first: Int!, $after: String) { x }"
	var ids []string
	after := ""
	for range 5 {
		vars := map[string]any{"first": 1}
		if after != "" {
			vars["after"] = after
		}
		r := shopifyAsk(t, f, q, vars)
		ids = append(ids, r.Get("data.products.nodes.0.id").String())
		if !r.Get("data.products.pageInfo.hasNextPage").Bool() {
			break
		}
		after = r.Get("data.products.pageInfo.endCursor").String()
	}
	if !slices.Equal(ids, []string{"gid://shopify/Product/8001", "gid://shopify/Product/8002", "gid://shopify/Product/8003"}) {
		t.Errorf("paged ids %v", ids)
	}
	full := shopifyAsk(t, f, "query Products { x }", map[string]any{"first": 250, "variantsFirst": 250, "imagesFirst": 250,
		"collectionsFirst": 250, "inventory": true})
	p := full.Get("data.products.nodes.1")
	for path, want := range map[string]string{
		"options":                            `[{"name":"Title","optionValues":[{"name":"Default Title"}]}]`,
		"variants.nodes.0.title":             `"Default Title"`,
		"variants.nodes.0.price":             `{"amount":"2800.0","currencyCode":"JPY"}`,
		"variants.nodes.0.image":             `null`,
		"variants.nodes.0.quantityAvailable": `80`,
	} {
		if got := p.Get(path).Raw; got != want {
			t.Errorf("merino %s = %s, want %s", path, got, want)
		}
	}
	if got := full.Get("data.products.nodes.0.variants.nodes.0.image.id").String(); got != "gid://shopify/ProductImage/3001" {
		t.Errorf("variant image falls back to %q", got)
	}
	for _, c := range []struct {
		vars map[string]any
		says string
	}{
		{map[string]any{"first": 251}, "between 0 and 250"},
		{map[string]any{"first": 1, "after": "bm9wZQ=="}, "Invalid cursor"},
		{map[string]any{"first": 1, "query": "title:x"}, "unsupported products query"},
	} {
		if got := shopifyAsk(t, f, q, c.vars).Get("errors.0.message").String(); !strings.Contains(got, c.says) {
			t.Errorf("%v: error %q, want %q", c.vars, got, c.says)
		}
	}
	since := shopifyAsk(t, f, q, map[string]any{"first": 10, "query": "updated_at:>'2025-09-01T00:00:00Z'"})
	if n := len(since.Get("data.products.nodes").Array()); n != 2 {
		t.Errorf("updated_at filter: %d products, want 2", n)
	}
	f.SetCeiling(2)
	r := shopifyAsk(t, f, q, map[string]any{"first": 1, "after": cursorFor(8002)})
	if !strings.Contains(r.Get("errors.0.message").String(), "Pagination past the 2th item") {
		t.Errorf("ceiling: %s", r.Raw)
	}
	f.DenyInventory(true)
	r = shopifyAsk(t, f, "query Products { x }", map[string]any{"first": 1, "variantsFirst": 1, "imagesFirst": 1,
		"collectionsFirst": 1, "inventory": true})
	if r.Get("errors.0.extensions.code").String() != "ACCESS_DENIED" {
		t.Errorf("deny inventory: %s", r.Raw)
	}
}

func bcAsk(t *testing.T, f *BigCommerceFake, target string) (int, gjson.Result) {
	t.Helper()
	w := httptest.NewRecorder()
	f.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	if w.Header().Get("X-Rate-Limit-Time-Reset-Ms") == "" {
		t.Error("no rate limit headers")
	}
	return w.Code, gjson.ParseBytes(w.Body.Bytes())
}

func TestBigCommerceFake(t *testing.T) {
	f := NewBigCommerceFake("h1", Reference("USD"))
	code, r := bcAsk(t, f, "/stores/h1/v3/catalog/products?limit=2&page=1&include=variants,images")
	if code != 200 || r.Get("meta.pagination.total").Int() != 3 || r.Get("meta.pagination.links.next").String() != "?page=2&limit=2" {
		t.Errorf("page 1: %d %s", code, r.Get("meta").Raw)
	}
	p := r.Get("data.1") // the sock: one variant, stock per product
	for path, want := range map[string]string{
		"price": "19.99", "inventory_tracking": `"product"`, "variants.0.price": "null", "variants.0.calculated_price": "19.99",
		"custom_url.url": `"/merino-sock/"`, "categories": "[21,22]",
	} {
		if got := p.Get(path).Raw; got != want {
			t.Errorf("sock %s = %s, want %s", path, got, want)
		}
	}
	_, r = bcAsk(t, f, "/stores/h1/v3/catalog/products?limit=250&include=variants")
	if got := r.Get("data.2.variants.0.calculated_price").Raw; got != "0.30000000000000004" {
		t.Errorf("float noise: %s", got)
	}
	if got := r.Get("data.0.variants.1"); got.Get("sale_price").Raw != "129.0" || got.Get("price").Raw != "149.0" {
		t.Errorf("sale: %s", got.Raw)
	}
	if code, _ := bcAsk(t, f, "/stores/h1/v3/catalog/products?limit=251"); code != http.StatusRequestEntityTooLarge {
		t.Errorf("limit 251: %d", code)
	}
	_, r = bcAsk(t, f, "/stores/h1/v3/catalog/products?limit=250&include=variants,options")
	if r.Get("meta.pagination.per_page").Int() != BigCommerceOptionsLimit || len(r.Get("data.0.options").Array()) != 2 {
		t.Errorf("options cap: %s", r.Get("meta").Raw)
	}
	_, r = bcAsk(t, f, "/stores/h1/v3/catalog/products?date_modified:min=2025-09-14T10:22:31Z&include_fields=categories")
	if n := len(r.Get("data").Array()); n != 2 || r.Get("data.0.name").Exists() || !r.Get("data.0.categories").Exists() {
		t.Errorf("filter and projection: %s", r.Get("data").Raw)
	}
	if code, _ := bcAsk(t, f, "/stores/h1/v3/catalog/products?date_modified:min=2025-09-14"); code != 422 {
		t.Errorf("bare date: %d", code)
	}
	_, r = bcAsk(t, f, "/stores/h1/v2/store")
	if r.Get("currency").String() != "USD" {
		t.Errorf("store: %s", r.Raw)
	}
	if code, _ := bcAsk(t, f, "/stores/other/v3/catalog/products"); code != 404 {
		t.Errorf("other store: %d", code)
	}
}
