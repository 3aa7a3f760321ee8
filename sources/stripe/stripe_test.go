package stripe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/mesh/meshtest"
)

func testOptions() fetch.Options {
	retries := 2
	return fetch.Options{Retries: &retries, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond, Timeout: 10 * time.Second}
}

func TestConformance(t *testing.T) {
	meshtest.Run(t, meshtest.Harness{
		NewServer: func(t *testing.T) *meshtest.FixtureServer {
			srv := meshtest.NewFixtureServer(t, "")
			srv.RequireHeader("Authorization", "Bearer "+testKey)
			srv.SetUnauthorized(http.StatusUnauthorized, nil,
				[]byte(`{"error": {"type": "invalid_request_error", "message": "Invalid API Key provided: meshtest-****-5be1c0de"}}`))
			srv.Handle("GET /v1/", newFakeStripe(t).ServeHTTP)
			return srv
		},
		NewSource: func(t *testing.T, env meshtest.Env) (mesh.Source, error) {
			return New(Config{SecretKey: env.Credential(testKey), BaseURL: env.BaseURL,
				Options: fetch.Options{Retries: &env.Retries, RetryWaitMin: env.RetryWaitMin, RetryWaitMax: env.RetryWaitMax,
					MaxRetryAfter: env.MaxRetryAfter, Timeout: env.Timeout}})
		},
		Expect: meshtest.Expectations{
			MinNodes: 16,
			Types:    []string{"Product", "ProductVariant", "Asset"},
			Counts:   map[string]int{"Product": 4, "ProductVariant": 9, "Asset": 3},
			IDs:      []string{"product/prod_Qa1bC2dE3fG4hI", "variant/price_1PzXyZAbCdEfGh01", "asset/prod_Qa1bC2dE3fG4hI:1"},
			Refs: []meshtest.ExpectedRef{
				{From: "variant/price_1PzXyZAbCdEfGh01", Field: "product", To: "product/prod_Qa1bC2dE3fG4hI"},
				{From: "product/prod_Qa1bC2dE3fG4hI", Field: "variants", To: "variant/price_1PzXyZAbCdEfGh03"},
				{From: "product/prod_Qa1bC2dE3fG4hI", Field: "images", To: "asset/prod_Qa1bC2dE3fG4hI:0"},
				{From: "variant/price_1PzXyZAbCdEfGh08", Field: "image", To: "asset/prod_Qa1bC2dE3fG4hL:0"},
			},
		},
		// Stripe sends no reset header on a 429; it may say Stripe-Should-Retry.
		RateLimit: meshtest.RateLimit{NoHeader: true, Header: http.Header{"Stripe-Should-Retry": {"true"}},
			Body: []byte(`{"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests hit the API too quickly."}}`)},
		Incremental: true,
		Secrets:     []string{testKey},
	})
}

// fakeServer serves f and counts the requests by path.
type fakeServer struct {
	*httptest.Server
	mu   sync.Mutex
	hits []string
}

func serve(t testing.TB, h http.Handler) *fakeServer {
	fs := &fakeServer{}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		fs.hits = append(fs.hits, r.URL.Path+"?"+r.URL.RawQuery)
		fs.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(fs.Close)
	return fs
}

// requests returns the paths requested since the last call.
func (fs *fakeServer) requests() []string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := fs.hits
	fs.hits = nil
	return out
}

func newTestSource(t testing.TB, baseURL string, mod func(*Config)) *Source {
	t.Helper()
	cfg := Config{SecretKey: testKey, BaseURL: baseURL, Options: testOptions()}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// build runs one build of src (named "shop") over store; a nil store keeps no snapshot.
func build(t testing.TB, src mesh.Source, store mesh.Store) (*mesh.Build, error) {
	t.Helper()
	m, err := mesh.New(mesh.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add("shop", src); err != nil {
		t.Fatal(err)
	}
	return m.Build(context.Background())
}

func mustBuild(t testing.TB, src mesh.Source, store mesh.Store) *mesh.Build {
	t.Helper()
	b, err := build(t, src, store)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func graphJSON(t testing.TB, g *mesh.Graph) string {
	t.Helper()
	var buf bytes.Buffer
	if err := g.WriteGraphJSON(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
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
	fs := serve(t, newFakeStripe(t))
	g := mustBuild(t, newTestSource(t, fs.URL, nil), nil).Graph
	const (
		headphones = "shop/product/prod_Qa1bC2dE3fG4hI"
		plan       = "shop/product/prod_Qa1bC2dE3fG4hJ"
		giftCard   = "shop/product/prod_Qa1bC2dE3fG4hK"
		oud        = "shop/product/prod_Qa1bC2dE3fG4hL"
	)
	ref := func(ns, id string) string { return `{"$ref":"` + mesh.NodeID("shop", ns, id) + `"}` }
	tests := []struct {
		id, path, want string // want is the field's raw JSON
	}{
		// Product: contract fields from the product and its metadata conventions.
		{headphones, "handle", `"studio-headphones"`},
		{headphones, "title", `"Studio Headphones"`},
		{headphones, "description", `"Closed-back monitoring headphones"`},
		{headphones, "vendor", `"Acme Audio"`},
		{headphones, "productType", `null`},
		{headphones, "tags", `["audio","studio"]`},
		{headphones, "status", `"active"`},
		{headphones, "options", `[]`},
		{headphones, "collections", `[]`},
		// The default price first, then by creation; prices in two currencies: the range is in the first's.
		{headphones, "variants", "[" + ref("variant", "price_1PzXyZAbCdEfGh01") + "," + ref("variant", "price_1PzXyZAbCdEfGh03") + "]"},
		{headphones, "priceRange", `{"max":{"amount":"199.00","currencyCode":"USD"},"min":{"amount":"199.00","currencyCode":"USD"}}`},
		{headphones, "images", "[" + ref("asset", "prod_Qa1bC2dE3fG4hI:0") + "," + ref("asset", "prod_Qa1bC2dE3fG4hI:1") + "]"},
		{plan, "handle", `"prod_Qa1bC2dE3fG4hJ"`},
		{plan, "description", `""`},
		{plan, "descriptionHtml", `""`},
		{plan, "vendor", `null`},
		{plan, "tags", `[]`},
		{plan, "images", `[]`},
		// The tiered price (05) is not a variant; 07 has only unit_amount_decimal.
		{plan, "variants", "[" + ref("variant", "price_1PzXyZAbCdEfGh02") + "," + ref("variant", "price_1PzXyZAbCdEfGh04") + "," + ref("variant", "price_1PzXyZAbCdEfGh07") + "]"},
		{plan, "priceRange", `{"max":{"amount":"150.00","currencyCode":"USD"},"min":{"amount":"12.35","currencyCode":"USD"}}`},
		{giftCard, "status", `"archived"`},
		{giftCard, "productType", `"Gift card"`},
		{giftCard, "descriptionHtml", `"Retired gift card &lt;legacy&gt; &amp; all."`},
		{giftCard, "priceRange", `null`}, // its only price is inactive
		{oud, "productType", `"Fragrance"`},
		{oud, "tags", `["gift","fragrance"]`},
		// The inactive price (10) is a variant but not in the range.
		{oud, "priceRange", `{"max":{"amount":"45.500","currencyCode":"KWD"},"min":{"amount":"39.950","currencyCode":"KWD"}}`},

		// ProductVariant.
		{"shop/variant/price_1PzXyZAbCdEfGh01", "sku", `"studio-headphones-usd"`},
		{"shop/variant/price_1PzXyZAbCdEfGh01", "title", `"One-time"`},
		{"shop/variant/price_1PzXyZAbCdEfGh01", "price", `{"amount":"199.00","currencyCode":"USD"}`},
		{"shop/variant/price_1PzXyZAbCdEfGh01", "compareAtPrice", `null`},
		{"shop/variant/price_1PzXyZAbCdEfGh01", "available", `true`},
		{"shop/variant/price_1PzXyZAbCdEfGh01", "inventoryQuantity", `null`},
		{"shop/variant/price_1PzXyZAbCdEfGh01", "selectedOptions", `[]`},
		{"shop/variant/price_1PzXyZAbCdEfGh01", "image", ref("asset", "prod_Qa1bC2dE3fG4hI:0")},
		{"shop/variant/price_1PzXyZAbCdEfGh01", "product", ref("product", "prod_Qa1bC2dE3fG4hI")},
		{"shop/variant/price_1PzXyZAbCdEfGh03", "title", `"Japan"`},
		{"shop/variant/price_1PzXyZAbCdEfGh03", "price", `{"amount":"29800","currencyCode":"JPY"}`},
		{"shop/variant/price_1PzXyZAbCdEfGh02", "title", `"Monthly"`},
		{"shop/variant/price_1PzXyZAbCdEfGh02", "sku", `null`},
		{"shop/variant/price_1PzXyZAbCdEfGh02", "image", `null`},
		{"shop/variant/price_1PzXyZAbCdEfGh04", "title", `"Yearly"`},
		{"shop/variant/price_1PzXyZAbCdEfGh07", "title", `"Every 2 weeks"`},
		{"shop/variant/price_1PzXyZAbCdEfGh07", "price", `{"amount":"12.35","currencyCode":"USD"}`},
		{"shop/variant/price_1PzXyZAbCdEfGh06", "available", `false`}, // inactive price of an archived product
		{"shop/variant/price_1PzXyZAbCdEfGh06", "price", `{"amount":"50000","currencyCode":"KRW"}`},
		{"shop/variant/price_1PzXyZAbCdEfGh10", "available", `false`}, // inactive price of an active product
		{"shop/variant/price_1PzXyZAbCdEfGh10", "price", `{"amount":"0.012","currencyCode":"KWD"}`},

		// Asset: only what the URL tells.
		{"shop/asset/prod_Qa1bC2dE3fG4hI:0", "url", `"https://files.stripe.com/links/MDB8YWNjdF8xfGZsX3Rlc3RfaGVhZHBob25lcw"`},
		{"shop/asset/prod_Qa1bC2dE3fG4hI:0", "fileName", `null`},
		{"shop/asset/prod_Qa1bC2dE3fG4hI:0", "mimeType", `null`},
		{"shop/asset/prod_Qa1bC2dE3fG4hI:1", "fileName", `"headphones-side.png"`},
		{"shop/asset/prod_Qa1bC2dE3fG4hI:1", "mimeType", `"image/png"`},
		{"shop/asset/prod_Qa1bC2dE3fG4hI:1", "width", `null`},
		{"shop/asset/prod_Qa1bC2dE3fG4hL:0", "mimeType", `"image/jpeg"`},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.id, "shop/")+"."+tt.path, func(t *testing.T) {
			if got := field(t, g, tt.id, tt.path); got.Raw != tt.want {
				t.Errorf("%s %s = %s, want %s", tt.id, tt.path, got.Raw, tt.want)
			}
		})
	}
	// Node.UpdatedAt is the product's updated time; the orphan price (11) and the tiered price (05)
	// are left out.
	if n, _ := g.Get(headphones); !n.UpdatedAt.Equal(time.Unix(1726100000, 0)) {
		t.Errorf("UpdatedAt = %v", n.UpdatedAt)
	}
	for _, id := range []string{"shop/variant/price_1PzXyZAbCdEfGh11", "shop/variant/price_1PzXyZAbCdEfGh05"} {
		if _, ok := g.Get(id); ok {
			t.Errorf("%s should be left out", id)
		}
	}
	// Without raw, no _raw; with it, the upstream objects.
	if f := field(t, g, headphones, "_raw"); f.Exists() {
		t.Error("_raw without raw: true")
	}
	g2 := mustBuild(t, newTestSource(t, fs.URL, func(c *Config) { c.Raw = true }), nil).Graph
	if got := field(t, g2, headphones, "_raw.metadata.sku").String(); got != "SH-200" {
		t.Errorf("_raw.metadata.sku = %q", got)
	}
	if got := field(t, g2, "shop/variant/price_1PzXyZAbCdEfGh02", "_raw.recurring.interval").String(); got != "month" {
		t.Errorf("variant _raw.recurring.interval = %q", got)
	}
}

// TestMoney runs one price of each exponent class through the adapter and the engine.
func TestMoney(t *testing.T) {
	tests := []struct {
		currency, unitAmount, unitAmountDecimal string
		want                                    string
	}{
		{"usd", "1999", "", "19.99"},
		{"usd", "5", "", "0.05"},
		{"usd", "0", "", "0.00"},
		{"eur", "100", "", "1.00"},
		{"usd", "123456789012345678901", "", "1234567890123456789.01"}, // beyond float64 precision
		{"jpy", "1500", "", "1500"},
		{"jpy", "0", "", "0"},
		{"krw", "50000", "", "50000"},
		{"kwd", "1250", "", "1.250"},
		{"bhd", "1", "", "0.001"},
		{"jod", "1000", "", "1.000"},
		{"omr", "123456", "", "123.456"},
		{"tnd", "99999", "", "99.999"},
		{"usd", "null", `"1234.5678"`, "12.35"}, // sub-cent: half to even
		{"usd", "null", `"1234.5"`, "12.34"},    // a tie goes to the even cent
		{"usd", "null", `"1235.5"`, "12.36"},    //
		{"jpy", "null", `"0.5"`, "0"},           // no minor unit: a tie at 0 stays 0
		{"jpy", "null", `"1.5"`, "2"},           //
		{"kwd", "null", `"12345.5"`, "12.346"},  // three decimals
		{"usd", "null", `"0.0001"`, "0.00"},     //
		{"bhd", "null", `"7"`, "0.007"},         //
		{"krw", "null", `"999999999999"`, "999999999999"},
	}
	for _, tt := range tests {
		t.Run(tt.currency+"_"+tt.unitAmount+tt.unitAmountDecimal, func(t *testing.T) {
			f := newEmptyFake()
			f.products = append(f.products, []byte(`{"id": "prod_m", "object": "product", "active": true, "name": "M", "images": [], "metadata": {}, "created": 1700000000, "updated": 1700000000}`))
			uad := tt.unitAmountDecimal
			if uad == "" {
				uad = `"` + tt.unitAmount + `"`
			}
			f.prices = append(f.prices, []byte(fmt.Sprintf(`{"id": "price_m", "object": "price", "active": true, "currency": %q, "unit_amount": %s, "unit_amount_decimal": %s, "type": "one_time", "recurring": null, "product": "prod_m", "created": 1700000001}`,
				tt.currency, tt.unitAmount, uad)))
			fs := serve(t, f)
			g := mustBuild(t, newTestSource(t, fs.URL, nil), nil).Graph
			wantMoney := fmt.Sprintf(`{"amount":%q,"currencyCode":%q}`, tt.want, strings.ToUpper(tt.currency))
			if got := field(t, g, "shop/variant/price_m", "price").Raw; got != wantMoney {
				t.Errorf("price = %s, want %s", got, wantMoney)
			}
			if got := field(t, g, "shop/product/prod_m", "priceRange.min").Raw; got != wantMoney {
				t.Errorf("priceRange.min = %s, want %s", got, wantMoney)
			}
		})
	}
}

func TestMinorToMajor(t *testing.T) {
	tests := []struct {
		in   string
		exp  int
		want string
		err  bool
	}{
		{"1234.5", 2, "12.345", false},
		{"5", 2, "0.05", false},
		{"5", 0, "5.", false},
		{"5", 3, "0.005", false},
		{"-150", 2, "-1.50", false},
		{"", 2, "", true},
		{"1e3", 2, "", true},
		{"1.2.3", 2, "", true},
		{".5", 2, "", true},
	}
	for _, tt := range tests {
		got, err := minorToMajor(tt.in, tt.exp)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("minorToMajor(%q, %d) = %q, %v; want %q, error %v", tt.in, tt.exp, got, err, tt.want, tt.err)
		}
	}
}

func TestBadPrices(t *testing.T) {
	for _, price := range []string{
		`{"id": "price_x", "object": "price", "active": true, "currency": "usd", "unit_amount": 19.99, "product": "prod_m"}`,
		`{"id": "price_x", "object": "price", "active": true, "currency": "usd", "unit_amount": "1999", "product": "prod_m"}`,
		`{"id": "price_x", "object": "price", "active": true, "currency": "dollars", "unit_amount": 1999, "product": "prod_m"}`,
		`{"id": "price_x", "object": "price", "active": true, "currency": "usd", "unit_amount": null, "unit_amount_decimal": "12,5", "product": "prod_m"}`,
		`{"id": 42, "object": "price", "active": true, "currency": "usd", "unit_amount": 1, "product": "prod_m"}`,
		`{"id": "price_x", "object": "product", "active": true, "currency": "usd", "unit_amount": 1, "product": "prod_m"}`,
	} {
		f := newEmptyFake()
		f.products = append(f.products, []byte(`{"id": "prod_m", "object": "product", "active": true, "name": "M", "images": []}`))
		f.prices = append(f.prices, []byte(price))
		fs := serve(t, f)
		_, err := build(t, newTestSource(t, fs.URL, nil), nil)
		if !errors.Is(err, mesh.ErrBadResponse) || !strings.Contains(err.Error(), "stripe") {
			t.Errorf("price %s: err = %v, want ErrBadResponse naming the source", price, err)
		}
	}
}

// TestIncremental: a delta built from the events, applied over the previous snapshot, equals a full
// fetch of the new state; and it reads only what changed.
func TestIncremental(t *testing.T) {
	f := newFakeStripe(t)
	fs := serve(t, f)
	src := newTestSource(t, fs.URL, nil)
	store, err := mesh.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	first := mustBuild(t, src, store)
	fs.requests()

	// Nothing changed: a delta of the one old event's product, no change.
	again := mustBuild(t, src, store)
	if !again.Changes.Empty() {
		t.Errorf("unchanged rebuild: changes %+v", again.Changes)
	}
	if got, want := graphJSON(t, again.Graph), graphJSON(t, first.Graph); got != want {
		t.Error("unchanged rebuild: the graph differs")
	}
	for _, r := range fs.requests() {
		if strings.HasPrefix(r, pathProducts+"?") {
			t.Errorf("unchanged rebuild listed products: %s", r)
		}
	}

	// Changes of every kind.
	const (
		I, J, K = "prod_Qa1bC2dE3fG4hI", "prod_Qa1bC2dE3fG4hJ", "prod_Qa1bC2dE3fG4hK"
	)
	f.setProduct(t, f.edit(t, I, "name", "Studio Headphones II", "images", []string{"https://cdn.example.com/img/headphones-v2.jpg"}, "updated", 1800000100))
	f.setPrice(t, `{"id": "price_new1", "object": "price", "active": true, "currency": "usd", "unit_amount": 900, "unit_amount_decimal": "900", "type": "recurring", "recurring": {"interval": "month", "interval_count": 6}, "nickname": null, "lookup_key": null, "product": "`+J+`", "created": 1800000200}`)
	f.setPrice(t, f.edit(t, "price_1PzXyZAbCdEfGh04", "active", false))
	f.deletePrice(t, "price_1PzXyZAbCdEfGh07")
	f.deletePrice(t, "price_1PzXyZAbCdEfGh06")
	f.deleteProduct(t, K)
	f.setProduct(t, `{"id": "prod_New", "object": "product", "active": true, "name": "Canvas Tote", "description": "A tote.", "images": ["https://cdn.example.com/img/tote.webp"], "metadata": {"handle": "canvas-tote"}, "default_price": "price_new2", "created": 1800000300, "updated": 1800000300}`)
	f.setPrice(t, `{"id": "price_new2", "object": "price", "active": true, "currency": "jod", "unit_amount": 7250, "type": "one_time", "recurring": null, "product": "prod_New", "created": 1800000301}`)

	delta := mustBuild(t, src, store)
	reqs := fs.requests()
	for _, r := range reqs {
		if strings.HasPrefix(r, pathProducts+"?") || r == pathPrices+"?limit=100" {
			t.Errorf("the delta listed everything: %s", r)
		}
	}
	full := mustBuild(t, newTestSource(t, fs.URL, nil), nil)
	if got, want := graphJSON(t, delta.Graph), graphJSON(t, full.Graph); got != want {
		t.Errorf("delta over the snapshot differs from a full fetch:\ndelta: %s\nfull:  %s", got, want)
	}
	wantDeleted := []string{"shop/asset/prod_Qa1bC2dE3fG4hI:1", "shop/product/" + K, "shop/variant/price_1PzXyZAbCdEfGh06", "shop/variant/price_1PzXyZAbCdEfGh07"}
	if !slices.Equal(delta.Changes.Deleted, wantDeleted) {
		t.Errorf("deleted = %v, want %v", delta.Changes.Deleted, wantDeleted)
	}
	wantAdded := []string{"shop/asset/prod_New:0", "shop/product/prod_New", "shop/variant/price_new1", "shop/variant/price_new2"}
	if !slices.Equal(delta.Changes.Added, wantAdded) {
		t.Errorf("added = %v, want %v", delta.Changes.Added, wantAdded)
	}
	for _, id := range []string{"shop/product/" + I, "shop/asset/" + I + ":0", "shop/product/" + J, "shop/variant/price_1PzXyZAbCdEfGh04"} {
		if !slices.Contains(delta.Changes.Updated, id) {
			t.Errorf("%s not in updated %v", id, delta.Changes.Updated)
		}
	}
	if got := field(t, delta.Graph, "shop/variant/price_new2", "price").Raw; got != `{"amount":"7.250","currencyCode":"JOD"}` {
		t.Errorf("new JOD price = %s", got)
	}
	if len(reqs) > 12 {
		t.Errorf("the delta took %d requests: %v", len(reqs), reqs)
	}
}

func TestIncrementalFallsBackToFull(t *testing.T) {
	f := newFakeStripe(t)
	fs := serve(t, f)
	src := newTestSource(t, fs.URL, nil)
	store, err := mesh.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mustBuild(t, src, store)
	listedAll := func() bool {
		for _, r := range fs.requests() {
			if strings.HasPrefix(r, pathProducts+"?") {
				return true
			}
		}
		return false
	}
	listedAll()

	// A cursor older than Stripe keeps events.
	src.now = func() time.Time { return time.Now().Add(30 * 24 * time.Hour) }
	mustBuild(t, src, store)
	if !listedAll() {
		t.Error("a 30-day-old cursor did not give a full fetch")
	}

	// More changed products than a delta should read one by one.
	for i := range maxDeltaProducts + 1 {
		f.setProduct(t, fmt.Sprintf(`{"id": "prod_bulk%03d", "object": "product", "active": true, "name": "Bulk %d", "images": [], "metadata": {}, "created": 1800000000, "updated": 1800000000}`, i, i))
	}
	b := mustBuild(t, src, store)
	if !listedAll() {
		t.Error("many changes did not give a full fetch")
	}
	if n := b.Graph.CountByType()["Product"]; n != 4+maxDeltaProducts+1 {
		t.Errorf("products = %d", n)
	}

	// Another key: the cursor is not used.
	other := newTestSource(t, fs.URL, func(c *Config) { c.SecretKey = "sk_test_other" })
	if _, err := build(t, other, store); !errors.Is(err, mesh.ErrUnauthorized) {
		t.Fatalf("other key: %v", err)
	}
	for _, r := range fs.requests() {
		if strings.HasPrefix(r, pathEvents) && strings.Contains(r, "created%5Bgte%5D") {
			t.Errorf("a cursor made with another key was used: %s", r)
		}
	}
}

// TestEventsForbidden: a restricted key without access to events gives full fetches and no cursor,
// also when it loses the access after a cursor was made.
func TestEventsForbidden(t *testing.T) {
	f := newFakeStripe(t)
	var forbid atomic.Bool
	forbid.Store(true)
	fs := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == pathEvents && forbid.Load() {
			stripeError(w, http.StatusForbidden, "invalid_request_error", "",
				"The provided key 'rk_test_***' does not have the required permissions for this endpoint on account 'acct_1'.")
			return
		}
		f.ServeHTTP(w, r)
	}))
	src := newTestSource(t, fs.URL, nil)
	res, err := src.Fetch(context.Background(), mesh.FetchRequest{Source: "shop"}, discard{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Delta || res.Cursor != nil {
		t.Errorf("result = %+v, want a full fetch without cursor", res)
	}

	forbid.Store(false)
	res, err = src.Fetch(context.Background(), mesh.FetchRequest{Source: "shop"}, discard{})
	if err != nil || res.Cursor == nil {
		t.Fatalf("events readable: %+v, %v", res, err)
	}
	forbid.Store(true)
	res, err = src.Fetch(context.Background(), mesh.FetchRequest{Source: "shop", Cursor: res.Cursor}, discard{})
	if err != nil || res.Delta || res.Cursor != nil {
		t.Errorf("events forbidden after a cursor: %+v, %v; want a full fetch without cursor", res, err)
	}
}

type discard struct{}

func (discard) Upsert(mesh.Node) error { return nil }
func (discard) Delete(string) error    { return nil }

func TestErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		sentinel error
		msg      string
	}{
		{"unauthorized", 401, `{"error": {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_****0000"}}`, mesh.ErrUnauthorized, "Invalid API Key provided"},
		{"forbidden", 403, `{"error": {"type": "invalid_request_error", "message": "The provided key 'rk_test_***' does not have the required permissions for this endpoint."}}`, mesh.ErrForbidden, "does not have the required permissions"},
		{"not found", 404, `{"error": {"type": "invalid_request_error", "message": "Unrecognized request URL (GET: /v1/products)."}}`, mesh.ErrNotFound, "Unrecognized request URL"},
		{"bad request", 400, `{"error": {"type": "invalid_request_error", "code": "parameter_unknown", "message": "Received unknown parameter: foo", "param": "foo"}}`, nil, "parameter_unknown: Received unknown parameter: foo"},
		{"html", 200, `<html><body>proxy</body></html>`, mesh.ErrBadResponse, "products"},
		{"not a list", 200, `{"object": "list", "data": {"id": "prod_1"}}`, mesh.ErrBadResponse, "no data array"},
		{"wrong object", 200, `{"object": "list", "has_more": false, "data": [{"id": "cus_1", "object": "customer"}]}`, mesh.ErrBadResponse, `want object "product"`},
		{"has_more without ids", 200, `{"object": "list", "has_more": true, "data": [{"object": "product"}]}`, mesh.ErrBadResponse, "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeStripe(t)
			fs := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == pathProducts {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(tt.status)
					io.WriteString(w, tt.body)
					return
				}
				f.ServeHTTP(w, r)
			}))
			_, err := build(t, newTestSource(t, fs.URL, nil), nil)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("err = %v, want %v", err, tt.sentinel)
			}
			for _, want := range []string{`"shop"`, "stripe", tt.msg} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v, want it to contain %q", err, want)
				}
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("the key leaked: %v", err)
			}
		})
	}
}

// TestShouldRetry: Stripe-Should-Retry decides, both ways.
func TestShouldRetry(t *testing.T) {
	for _, tt := range []struct {
		name     string
		status   int
		header   string
		wantErr  error
		attempts int
	}{
		{"429 with should-retry false is not retried", 429, "false", mesh.ErrRateLimited, 1},
		{"409 with should-retry true is retried", 409, "true", nil, 2},
		{"503 with should-retry false is not retried", 503, "false", mesh.ErrUpstream, 1},
		{"429 without the header is retried", 429, "", nil, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := meshtest.NewFixtureServer(t, "")
			srv.Handle("GET /v1/", newFakeStripe(t).ServeHTTP)
			h := http.Header{}
			if tt.header != "" {
				h.Set(headerShouldRetry, tt.header)
			}
			srv.Inject(meshtest.Fault{Count: 1, Match: func(r *http.Request) bool { return r.URL.Path == pathProducts },
				Status: tt.status, Header: h, Body: []byte(`{"error": {"type": "api_error", "message": "try later"}}`)})
			_, err := build(t, newTestSource(t, srv.URL, nil), nil)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			n := 0
			for _, r := range srv.Requests() {
				if r.Path == pathProducts {
					n++
				}
			}
			if n != tt.attempts {
				t.Errorf("products requested %d times, want %d", n, tt.attempts)
			}
		})
	}
}

func TestNew(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, `key "secretKey": required`},
		{Config{SecretKey: "sk_test_1 "}, `key "secretKey": contains white space`},
		{Config{SecretKey: "pk_test_123"}, `publishable key`},
		{Config{SecretKey: "sk_test_1", BaseURL: "ftp://x"}, `key "baseURL"`},
		{Config{SecretKey: "sk_test_1", BaseURL: "http://"}, `key "baseURL"`},
		{Config{SecretKey: "sk_test_1", APIVersion: "2024-06-20\n"}, `key "apiVersion"`},
	} {
		_, err := New(tt.cfg)
		if !errors.Is(err, mesh.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%v) = %v, want ErrInvalidConfig with %q", tt.cfg, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "sk_test_1") {
			t.Errorf("the key leaked: %v", err)
		}
	}
	s, err := New(Config{SecretKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind() != "stripe" {
		t.Errorf("Kind = %q", s.Kind())
	}
	// The key is never printed.
	cfg := Config{SecretKey: testKey}
	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("cfg", "cfg", cfg)
	for _, out := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), logBuf.String(), fmt.Sprint(s)} {
		if strings.Contains(out, testKey) {
			t.Errorf("key printed: %s", out)
		}
	}
}

func TestCheck(t *testing.T) {
	fs := serve(t, newFakeStripe(t))
	if err := newTestSource(t, fs.URL, nil).Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := newTestSource(t, fs.URL, func(c *Config) { c.SecretKey = "sk_test_wrong" }).Check(context.Background())
	if !errors.Is(err, mesh.ErrUnauthorized) {
		t.Fatalf("wrong key: %v", err)
	}
}
