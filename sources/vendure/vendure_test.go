package vendure

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/mesh/meshtest"
)

func TestConformance(t *testing.T) {
	meshtest.Run(t, meshtest.Harness{
		NewServer: func(t *testing.T) *meshtest.FixtureServer {
			srv := meshtest.NewFixtureServer(t, "")
			// Vendure with several channels answers an unknown token with CHANNEL_NOT_FOUND (HTTP 200).
			srv.RequireHeader(headerChannelToken, testToken)
			srv.SetUnauthorized(http.StatusOK, http.Header{"Content-Type": {"application/json; charset=utf-8"}},
				channelNotFound(meshtest.BadCredential))
			srv.Handle("POST /shop-api", newFakeVendure(t).ServeHTTP)
			return srv
		},
		NewSource: func(t *testing.T, env meshtest.Env) (mesh.Source, error) {
			return New(Config{URL: "/shop-api", BaseURL: env.BaseURL, ChannelToken: env.Credential(testToken),
				Options: fetch.Options{Retries: &env.Retries, RetryWaitMin: env.RetryWaitMin, RetryWaitMax: env.RetryWaitMax,
					MaxRetryAfter: env.MaxRetryAfter, Timeout: env.Timeout}})
		},
		Expect: meshtest.Expectations{
			MinNodes: 18,
			Types:    []string{"Product", "ProductVariant", "Collection", "Asset"},
			// Assets 1, 2, 7, 8 (products and variants) and 9 (a collection), each once.
			Counts: map[string]int{"Product": 3, "ProductVariant": 6, "Collection": 4, "Asset": 5},
			IDs:    []string{"product/1", "product/10", "variant/21", "collection/5", "asset/9"},
			Refs: []meshtest.ExpectedRef{
				{From: "variant/1", Field: "product", To: "product/1"},
				{From: "variant/2", Field: "image", To: "asset/2"},
				{From: "product/1", Field: "collections", To: "collection/2"},
				{From: "collection/2", Field: "products", To: "product/2"},
				{From: "collection/2", Field: "image", To: "asset/1"},
				{From: "product/10", Field: "images", To: "asset/8"},
			},
		},
		Secrets: []string{testToken},
	})
}

func testOptions() fetch.Options {
	retries := 2
	return fetch.Options{Retries: &retries, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond, Timeout: 10 * time.Second}
}

func newTestSource(t testing.TB, baseURL string, mod func(*Config)) *Source {
	t.Helper()
	cfg := Config{URL: baseURL + "/shop-api", ChannelToken: testToken, Options: testOptions()}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func build(t testing.TB, src mesh.Source) (*mesh.Build, error) {
	t.Helper()
	m, err := mesh.New(mesh.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add("shop", src); err != nil {
		t.Fatal(err)
	}
	return m.Build(context.Background())
}

func mustBuild(t testing.TB, src mesh.Source) *mesh.Build {
	t.Helper()
	b, err := build(t, src)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func serve(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func field(t testing.TB, g *mesh.Graph, id, path string) gjson.Result {
	t.Helper()
	n, ok := g.Get(id)
	if !ok {
		t.Fatalf("no node %s", id)
	}
	return n.Get(path)
}

func TestMapping(t *testing.T) {
	srv := serve(t, newFakeVendure(t))
	g := mustBuild(t, newTestSource(t, srv.URL, nil)).Graph
	ref := func(ns, id string) string { return `{"$ref":"` + mesh.NodeID("shop", ns, id) + `"}` }
	tests := []struct {
		id, path, want string // want is the field's raw JSON
	}{
		{"shop/product/1", "handle", `"laptop"`},
		{"shop/product/1", "title", `"Laptop"`},
		{"shop/product/1", "descriptionHtml", `"<p>Now equipped with seventh-generation Intel Core processors, <strong>Laptop</strong> is snappier&nbsp;than ever.</p><p>Power through your day.</p>"`},
		{"shop/product/1", "description", `"Now equipped with seventh-generation Intel Core processors, Laptop is snappier than ever. Power through your day."`},
		{"shop/product/1", "vendor", `"Apple"`},
		{"shop/product/1", "productType", `null`},
		{"shop/product/1", "tags", `["Electronics","Computers"]`},
		{"shop/product/1", "status", `"active"`},
		{"shop/product/1", "priceRange", `{"max":{"amount":"2199.00","currencyCode":"USD"},"min":{"amount":"1299.00","currencyCode":"USD"}}`},
		{"shop/product/1", "images", "[" + ref("asset", "1") + "," + ref("asset", "2") + "]"},
		{"shop/product/1", "options", `[{"name":"screen size","values":["13 inch","15 inch"]},{"name":"RAM","values":["8GB","16GB"]}]`},
		{"shop/product/1", "variants", "[" + ref("variant", "1") + "," + ref("variant", "2") + "," + ref("variant", "3") + "]"},
		{"shop/product/1", "collections", "[" + ref("collection", "2") + "," + ref("collection", "3") + "]"},
		{"shop/product/2", "description", `""`},
		{"shop/product/2", "vendor", `null`},
		{"shop/product/2", "tags", `[]`},
		{"shop/product/2", "images", `[]`},
		{"shop/product/2", "options", `[]`},
		// The featured asset comes first; facets give vendor, product type and tags (once each).
		{"shop/product/10", "images", "[" + ref("asset", "7") + "," + ref("asset", "8") + "]"},
		{"shop/product/10", "vendor", `"BoardCo"`},
		{"shop/product/10", "productType", `"Skateboards"`},
		{"shop/product/10", "tags", `["Outdoor","Gift"]`},
		{"shop/product/10", "description", `"A 70 cm deck & soft wheels."`},
		// Collection 99 is not listed (private): no ref to it.
		{"shop/product/10", "collections", "[" + ref("collection", "4") + "]"},

		{"shop/variant/1", "sku", `"L2201308"`},
		{"shop/variant/1", "title", `"Laptop 13 inch 8GB"`},
		{"shop/variant/1", "price", `{"amount":"1299.00","currencyCode":"USD"}`},
		{"shop/variant/1", "compareAtPrice", `null`},
		{"shop/variant/1", "available", `true`},
		{"shop/variant/1", "inventoryQuantity", `null`},
		// In the option groups' order, whatever the API's order.
		{"shop/variant/1", "selectedOptions", `[{"name":"screen size","value":"13 inch"},{"name":"RAM","value":"8GB"}]`},
		{"shop/variant/1", "image", ref("asset", "1")}, // the product's first image
		{"shop/variant/1", "product", ref("product", "1")},
		{"shop/variant/2", "available", `true`}, // LOW_STOCK
		{"shop/variant/2", "image", ref("asset", "2")},
		{"shop/variant/3", "available", `false`}, // OUT_OF_STOCK
		{"shop/variant/3", "inventoryQuantity", `null`},
		{"shop/variant/5", "available", `false`}, // a StockDisplayStrategy that shows numbers: "0"
		{"shop/variant/5", "inventoryQuantity", `0`},
		{"shop/variant/5", "image", `null`},
		{"shop/variant/5", "selectedOptions", `[]`},
		{"shop/variant/20", "available", `true`},
		{"shop/variant/20", "inventoryQuantity", `12`},
		{"shop/variant/20", "price", `{"amount":"89.99","currencyCode":"USD"}`},

		{"shop/collection/2", "handle", `"electronics"`},
		{"shop/collection/2", "title", `"Electronics"`},
		{"shop/collection/2", "description", `"All things electronic."`},
		{"shop/collection/2", "image", ref("asset", "1")},
		{"shop/collection/2", "products", "[" + ref("product", "1") + "," + ref("product", "2") + "]"},
		{"shop/collection/4", "description", `"Boards, wheels."`},
		{"shop/collection/4", "products", "[" + ref("product", "10") + "]"},
		{"shop/collection/3", "image", `null`},
		{"shop/collection/5", "description", `""`},
		{"shop/collection/5", "products", `[]`},

		{"shop/asset/1", "url", `"http://localhost:3000/assets/source/b6/laptop.jpg"`},
		{"shop/asset/1", "mimeType", `"image/jpeg"`},
		{"shop/asset/1", "width", `1600`},
		{"shop/asset/1", "height", `1200`},
		{"shop/asset/1", "size", `44525`},
		{"shop/asset/1", "title", `"laptop.jpg"`},
		{"shop/asset/1", "alt", `null`},
		{"shop/asset/1", "fileName", `"laptop.jpg"`},
		{"shop/asset/7", "fileName", `"cruiser deck.webp"`}, // the URL path, unescaped
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.id, "shop/")+"."+tt.path, func(t *testing.T) {
			if got := field(t, g, tt.id, tt.path); got.Raw != tt.want {
				t.Errorf("%s %s = %s, want %s", tt.id, tt.path, got.Raw, tt.want)
			}
		})
	}
	if n, _ := g.Get("shop/product/1"); !n.UpdatedAt.Equal(time.Date(2025, 9, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("UpdatedAt = %v", n.UpdatedAt)
	}
	if f := field(t, g, "shop/product/1", "_raw"); f.Exists() {
		t.Error("_raw without raw: true")
	}
	g2 := mustBuild(t, newTestSource(t, srv.URL, func(c *Config) { c.Raw = true })).Graph
	if got := field(t, g2, "shop/variant/1", "_raw.priceWithTax").Raw; got != "155880" {
		t.Errorf("variant _raw.priceWithTax = %s", got)
	}
	if got := field(t, g2, "shop/collection/2", "_raw.slug").String(); got != "electronics" {
		t.Errorf("collection _raw.slug = %q", got)
	}
}

// TestMoney runs a variant price of each exponent class through the adapter and the engine.
func TestMoney(t *testing.T) {
	tests := []struct{ currency, price, want string }{
		{"USD", "129900", "1299.00"},
		{"USD", "5", "0.05"},
		{"USD", "0", "0.00"},
		{"EUR", "7999", "79.99"},
		{"USD", "123456789012345678901", "1234567890123456789.01"}, // beyond float64 precision
		{"JPY", "1500", "1500"},
		{"JPY", "129900", "129900"},
		{"KRW", "50000", "50000"},
		{"KWD", "1250", "1.250"},
		{"BHD", "1", "0.001"},
		{"JOD", "1000", "1.000"},
		{"OMR", "123456", "123.456"},
		{"TND", "99999", "99.999"},
	}
	for _, tt := range tests {
		t.Run(tt.currency+"_"+tt.price, func(t *testing.T) {
			f := &fakeVendure{def: testToken, channels: map[string]*channel{testToken: {products: []json.RawMessage{json.RawMessage(
				`{"id": "1", "name": "M", "slug": "m", "description": "", "assets": [], "optionGroups": [], "facetValues": [], "collections": [],
				  "variants": [{"id": "1", "sku": "M", "name": "M", "price": ` + tt.price + `, "currencyCode": "` + tt.currency + `", "stockLevel": "IN_STOCK", "options": []}]}`)}}}}
			g := mustBuild(t, newTestSource(t, serve(t, f).URL, nil)).Graph
			want := fmt.Sprintf(`{"amount":%q,"currencyCode":%q}`, tt.want, tt.currency)
			if got := field(t, g, "shop/variant/1", "price").Raw; got != want {
				t.Errorf("price = %s, want %s", got, want)
			}
			if got := field(t, g, "shop/product/1", "priceRange.max").Raw; got != want {
				t.Errorf("priceRange.max = %s, want %s", got, want)
			}
		})
	}
}

func TestBadPrices(t *testing.T) {
	for _, v := range []string{
		`{"id": "1", "sku": "M", "name": "M", "price": 79.99, "currencyCode": "USD", "options": []}`,
		`{"id": "1", "sku": "M", "name": "M", "price": "7999", "currencyCode": "USD", "options": []}`,
		`{"id": "1", "sku": "M", "name": "M", "price": 7999, "currencyCode": "usdollar", "options": []}`,
		`{"id": "1", "sku": "M", "name": "M", "price": 7999, "options": []}`,
		`{"id": null, "sku": "M", "name": "M", "price": 7999, "currencyCode": "USD", "options": []}`,
	} {
		f := &fakeVendure{def: testToken, channels: map[string]*channel{testToken: {products: []json.RawMessage{json.RawMessage(
			`{"id": "1", "name": "M", "slug": "m", "variants": [` + v + `]}`)}}}}
		_, err := build(t, newTestSource(t, serve(t, f).URL, nil))
		if !errors.Is(err, mesh.ErrBadResponse) || !strings.Contains(err.Error(), "vendure") {
			t.Errorf("variant %s: err = %v, want ErrBadResponse naming the source", v, err)
		}
	}
}

func TestHTMLText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"plain  text\n here", "plain text here"},
		{"<p>Grippy outsole, <strong>waterproof</strong> upper &amp; recycled laces.</p>", "Grippy outsole, waterproof upper & recycled laces."},
		{"<p>Vinyl stickers, 5&nbsp;&times;&nbsp;5&nbsp;cm.</p>", "Vinyl stickers, 5 × 5 cm."},
		{"<p>one</p><p>two</p>", "one two"},
		{"line<br/>break<br>again", "line break again"},
		{"<ul><li>a</li><li>b</li></ul>", "a b"},
		{"water<em>proof</em>", "waterproof"},
		{"x<script>if (a < b) alert(1)</script>y", "xy"},
		{"<style>p{}</style>z", "z"},
		{"a <!-- hidden --> b", "a b"},
		{"1 < 2 and 3 > 2", "1 < 2 and 3 > 2"},
		{"broken <b", "broken <b"},
		{"&lt;p&gt; is a tag", "<p> is a tag"},
		{"<P CLASS='x'>Upper</P>case", "Upper case"},
	} {
		if got := htmlText(tt.in); got != tt.want {
			t.Errorf("htmlText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStock(t *testing.T) {
	for _, tt := range []struct {
		level     string
		available bool
		qty       int64
		known     bool
	}{
		{"IN_STOCK", true, 0, false},
		{"LOW_STOCK", true, 0, false},
		{"OUT_OF_STOCK", false, 0, false},
		{"12", true, 12, true},
		{"0", false, 0, true},
		{"-3", false, -3, true},
		{"", true, 0, false},
		{"99999999999999999999", true, 0, false},
	} {
		a, q, k := stock(tt.level)
		if a != tt.available || q != tt.qty || k != tt.known {
			t.Errorf("stock(%q) = %v, %d, %v; want %v, %d, %v", tt.level, a, q, k, tt.available, tt.qty, tt.known)
		}
	}
}

func TestCompareIDs(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"2", "10", -1}, {"10", "2", 1}, {"7", "7", 0}, {"007", "7", 0}, {"T_10", "T_2", -1}, {"a", "b", -1},
	} {
		got := compareIDs(tt.a, tt.b)
		if (got < 0) != (tt.want < 0) || (got > 0) != (tt.want > 0) {
			t.Errorf("compareIDs(%q, %q) = %d, want sign %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestChannels: the token picks the channel; an unknown token is an error wrapping
// mesh.ErrUnauthorized whether the server has one channel (it silently serves the default one) or
// several (CHANNEL_NOT_FOUND).
func TestChannels(t *testing.T) {
	f := newFakeVendure(t)
	srv := serve(t, f)
	// One channel, unknown token: Vendure answers for the default channel.
	_, err := build(t, newTestSource(t, srv.URL, func(c *Config) { c.ChannelToken = "nope-token" }))
	if !errors.Is(err, mesh.ErrUnauthorized) || !strings.Contains(err.Error(), "channelToken") || strings.Contains(err.Error(), "nope-token") {
		t.Errorf("single channel, unknown token: %v", err)
	}
	// No token: the default channel, whatever its token.
	if g := mustBuild(t, newTestSource(t, srv.URL, func(c *Config) { c.ChannelToken = "" })).Graph; g.CountByType()["Product"] != 3 {
		t.Errorf("no token: %v", g.CountByType())
	}
	// Several channels.
	f.mu.Lock()
	f.channels["jpy-token"] = &channel{products: []json.RawMessage{json.RawMessage(
		`{"id": "1", "name": "Laptop", "slug": "laptop", "variants": [{"id": "1", "sku": "L", "name": "L", "price": 129900, "currencyCode": "JPY", "stockLevel": "IN_STOCK", "options": []}]}`)}}
	f.mu.Unlock()
	g := mustBuild(t, newTestSource(t, srv.URL, func(c *Config) { c.ChannelToken = "jpy-token" })).Graph
	if got := field(t, g, "shop/variant/1", "price").Raw; got != `{"amount":"129900","currencyCode":"JPY"}` {
		t.Errorf("JPY channel price = %s", got)
	}
	_, err = build(t, newTestSource(t, srv.URL, func(c *Config) { c.ChannelToken = "nope-token" }))
	if !errors.Is(err, mesh.ErrUnauthorized) || !strings.Contains(err.Error(), "CHANNEL_NOT_FOUND") || strings.Contains(err.Error(), "nope-token") {
		t.Errorf("several channels, unknown token: %v", err)
	}
	if err := newTestSource(t, srv.URL, func(c *Config) { c.ChannelToken = "nope-token" }).Check(context.Background()); !errors.Is(err, mesh.ErrUnauthorized) {
		t.Errorf("Check with an unknown token: %v", err)
	}
	if err := newTestSource(t, srv.URL, nil).Check(context.Background()); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		sentinel error
		msg      string
	}{
		{"validation", 400, `{"errors":[{"message":"Cannot query field \"nope\" on type \"Query\".","extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`, nil, `Cannot query field "nope"`},
		{"forbidden", 200, `{"errors":[{"message":"You are not currently authorized to perform this action","extensions":{"code":"FORBIDDEN"}}],"data":null}`, mesh.ErrForbidden, "FORBIDDEN"},
		{"list limit", 200, `{"errors":[{"message":"Cannot take more than 50 results from a list query","extensions":{"code":"USER_INPUT_ERROR"}}],"data":null}`, nil, "Cannot take more than 50 results"},
		{"not found", 404, `{"message":"Cannot POST /shop-api","error":"Not Found","statusCode":404}`, mesh.ErrNotFound, "404"},
		{"no list", 200, `{"data":{"activeChannel":{"token":"` + testToken + `"}}}`, mesh.ErrBadResponse, "no data.collections"},
		{"no total", 200, `{"data":{"activeChannel":{"token":"` + testToken + `"},"collections":{"items":[]}}}`, mesh.ErrBadResponse, "totalItems"},
		{"items not an array", 200, `{"data":{"activeChannel":{"token":"` + testToken + `"},"collections":{"totalItems":1,"items":{}}}}`, mesh.ErrBadResponse, "items is not an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			_, err := build(t, newTestSource(t, srv.URL, nil))
			if err == nil {
				t.Fatal("no error")
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("err = %v, want %v", err, tt.sentinel)
			}
			for _, want := range []string{`"shop"`, "vendure", tt.msg, srv.URL} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v, want it to contain %q", err, want)
				}
			}
		})
	}
}

// TestPaging: page size 1 requests every page of each listing, concurrently after the first, and
// gives the same graph as one page.
func TestPaging(t *testing.T) {
	f := newFakeVendure(t)
	srv := serve(t, f)
	src := newTestSource(t, srv.URL, nil)
	full, err := src.Fetch(context.Background(), mesh.FetchRequest{Source: "shop"}, discard{})
	if err != nil || full.Delta || full.Cursor != nil {
		t.Fatalf("Fetch = %+v, %v", full, err)
	}
	if got := strings.Join(f.operations(), ","); got != "Collections,Products" {
		t.Errorf("one page each: operations %s", got)
	}
	m, err := mesh.New(mesh.Options{PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	m.Add("shop", src)
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// 4 collections; collection 2 has 4 variants, 3 has 3 and 4 has 2: the first of each came with the
	// collections, the others page by page (from page 0: 9 requests); 3 products.
	if got := strings.Join(f.operations(), ","); got != "Collections,Collections,Collections,Collections,"+
		strings.Repeat("CollectionProducts,", 9)+"Products,Products,Products" {
		t.Errorf("page size 1: operations %s", got)
	}
	var one, paged bytes.Buffer
	b.Graph.WriteGraphJSON(&paged)
	mustBuild(t, src).Graph.WriteGraphJSON(&one)
	if one.String() != paged.String() {
		t.Error("page size 1 gave another graph")
	}
}

type discard struct{}

func (discard) Upsert(mesh.Node) error { return nil }
func (discard) Delete(string) error    { return nil }

func TestNew(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, `key "url": required`},
		{Config{URL: "/shop-api"}, `key "url": want an absolute`},
		{Config{URL: "ftp://x/shop-api"}, `key "url"`},
		{Config{URL: "/shop-api", BaseURL: "localhost:3000"}, `key "baseURL"`},
		{Config{URL: "http://x/shop-api", ChannelToken: "a b"}, `key "channelToken"`},
		{Config{URL: "http://x/shop-api", LanguageCode: "en-US"}, `key "languageCode"`},
	} {
		_, err := New(tt.cfg)
		if !errors.Is(err, mesh.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%v) = %v, want ErrInvalidConfig with %q", tt.cfg, err, tt.want)
		}
	}
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "https://shop.example.com/shop-api"}, "https://shop.example.com/shop-api"},
		{Config{URL: "https://shop.example.com/shop-api", BaseURL: "http://127.0.0.1:3000"}, "http://127.0.0.1:3000/shop-api"},
		{Config{URL: "shop-api", BaseURL: "http://127.0.0.1:3000/proxy/"}, "http://127.0.0.1:3000/proxy/shop-api"},
		{Config{URL: "https://shop.example.com/shop-api", LanguageCode: "pt_BR"}, "https://shop.example.com/shop-api?languageCode=pt_BR"},
	} {
		s, err := New(tt.cfg)
		if err != nil {
			t.Errorf("New(%v): %v", tt.cfg, err)
			continue
		}
		if s.endpoint != tt.want {
			t.Errorf("New(%v): endpoint %s, want %s", tt.cfg, s.endpoint, tt.want)
		}
		if s.Kind() != "vendure" {
			t.Errorf("Kind = %q", s.Kind())
		}
	}
	// The channel token is never printed.
	cfg := Config{URL: "https://shop.example.com/shop-api", ChannelToken: "secret-channel-token"}
	s, _ := New(cfg)
	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("cfg", "cfg", cfg)
	for _, out := range []string{fmt.Sprint(cfg), fmt.Sprintf("%#v", cfg), logBuf.String(), fmt.Sprint(s)} {
		if strings.Contains(out, "secret-channel-token") {
			t.Errorf("token printed: %s", out)
		}
	}
}

// buildPaged builds with the engine's page size (0: the adapter's own).
func buildPaged(t testing.TB, src mesh.Source, size int) (*mesh.Build, error) {
	t.Helper()
	m, err := mesh.New(mesh.Options{PageSize: size})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add("shop", src); err != nil {
		t.Fatal(err)
	}
	return m.Build(context.Background())
}
