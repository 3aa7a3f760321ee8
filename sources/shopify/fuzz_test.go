package shopify

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/internal/commercetest"
)

// fakeAnswer asks a ShopifyFake over the reference catalog for one operation's answer.
func fakeAnswer(t testing.TB, cur, query string, vars map[string]any) []byte {
	fake := commercetest.NewShopifyFake(commercetest.Reference(cur))
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest(http.MethodPost, "/api/2025-10/graphql.json", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	fake.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Fatalf("fake answered %d", w.Code)
	}
	return w.Body.Bytes()
}

// checkNodes fails when a mapped node is one the engine would reject.
func checkNodes(t *testing.T, nodes []mesh.Node) {
	for _, n := range nodes {
		if !mesh.ValidNodeID(n.ID) || !strings.HasPrefix(n.ID, "fz/") || n.NativeID == "" || n.Type == "" {
			t.Fatalf("bad node id %q (native %q, type %q)", n.ID, n.NativeID, n.Type)
		}
		c, refs, err := mesh.Canonicalize(n.Fields)
		if err != nil || len(c) == 0 || c[0] != '{' {
			t.Fatalf("node %s: fields %s: %v", n.ID, n.Fields, err)
		}
		for _, r := range refs {
			if !mesh.ValidNodeID(r.To) || !strings.HasPrefix(r.To, "fz/") {
				t.Fatalf("node %s: bad ref %+v", n.ID, r)
			}
		}
		for _, k := range []string{"price", "compareAtPrice", "priceRange.min", "priceRange.max"} {
			if m := gjson.GetBytes(n.Fields, k); m.IsObject() && m.Get("amount").Type != gjson.String {
				t.Fatalf("node %s: %s amount is not a string: %s", n.ID, k, m.Raw)
			}
		}
	}
}

// FuzzDecodeProducts feeds arbitrary product pages to the decoder and the mapping: they must never
// panic, and what they accept must be nodes the engine accepts.
func FuzzDecodeProducts(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "products_page.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b, false)
	// Small seeds: the fuzzer minimizes every new interesting input, which is slow for large ones.
	f.Add(fakeAnswer(f, "KWD", queryProducts, map[string]any{"first": 1, "imagesFirst": 1, "variantsFirst": 1,
		"collectionsFirst": 1, "inventory": true}), true)
	for _, s := range []string{
		`{"data":{"products":{"nodes":[{"id":"gid://shopify/Product/1","handle":"h","variants":{"nodes":[{"id":"x","price":{"amount":1e400,"currencyCode":"USD"}}]}}]}}}`,
		`{"data":{"products":{"nodes":[{"id":"gid://shopify/Product/a/b@c%","handle":"h","images":{"nodes":[{"id":null,"url":"::"}]}}]}}}`,
		`{"data":{"products":{"nodes":[{"id":"1","handle":"h","options":[{"name":"Title","values":["Default Title"]}],"variants":{"nodes":[{"id":"2","title":"Default Title","price":{"amount":"-0.005","currencyCode":"KWD"},"quantityAvailable":-3}]}}]}}}`,
		`{"data":{"products":{"nodes":[{"id":"1","handle":"h","tags":[1],"variants":{"nodes":[{"id":"2","price":{"amount":"1","currencyCode":"usd"},"selectedOptions":[{"name":null,"value":"x"}],"image":{"url":"https://x/a.PNG?v=1","width":1.5}}]}}]}}}`,
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, raw bool) {
		if !gjson.ValidBytes(body) {
			return // mesh/fetch never hands an invalid body to the decoder
		}
		for _, n := range gjson.GetBytes(body, pathProducts+".nodes").Array() {
			rec, err := decodeProduct(n)
			if err != nil {
				continue
			}
			checkNodes(t, rec.nodes("fz", raw))
		}
	})
}

// FuzzDecodeCollections does the same for collection pages.
func FuzzDecodeCollections(f *testing.F) {
	for _, cur := range commercetest.Currencies[:1] {
		f.Add(fakeAnswer(f, cur, queryCollections, map[string]any{"first": 10, "productsFirst": 1}), false)
	}
	f.Add([]byte(`{"data":{"collections":{"nodes":[{"id":"gid://shopify/Collection/7","handle":"","image":{"id":"gid://shopify/CollectionImage/1","url":"u"}}]}}}`), true)
	f.Add([]byte(`{"data":{"collections":{"nodes":[{"id":"gid://shopify/Collection/7","handle":"x","products":{"nodes":[{"id":5}]}}]}}}`), false)
	f.Fuzz(func(t *testing.T, body []byte, raw bool) {
		if !gjson.ValidBytes(body) {
			return
		}
		for _, n := range gjson.GetBytes(body, pathCollections+".nodes").Array() {
			rec, err := decodeCollection(n)
			if err != nil {
				continue
			}
			checkNodes(t, rec.nodes("fz", raw))
		}
	})
}
