package stripe

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
)

func readCatalogFile(f *testing.F, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", "catalog", name))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

func listOf(items []byte) []byte {
	return append(append([]byte(`{"object": "list", "url": "/v1/x", "has_more": false, "data": `), items...), '}')
}

// FuzzCatalog feeds arbitrary product and price pages to the list decoder and the mapping: they
// must never panic, and whatever they accept must be nodes the engine accepts (valid IDs, fields
// that canonicalize, $refs that are node IDs).
func FuzzCatalog(f *testing.F) {
	f.Add(listOf(readCatalogFile(f, "products.json")), listOf(readCatalogFile(f, "prices.json")))
	f.Add([]byte(`{"object":"list","data":[{"id":"p/1@x","object":"product","images":["", 1],"metadata":{"tags":",,a,"}}]}`),
		[]byte(`{"object":"list","data":[{"id":"pr","product":"p/1@x","currency":"KWD","unit_amount":-5}]}`))
	f.Add([]byte(`{"object":"list","data":[{"id":"p","object":"product","active":true,"default_price":{"id":"pr"}}]}`),
		[]byte(`{"object":"list","data":[{"id":"pr","product":{"id":"p"},"currency":"jpy","unit_amount":null,"unit_amount_decimal":"-0.5","recurring":{"interval":"day","interval_count":1e400}}]}`))
	f.Add([]byte(`[]`), []byte(`{"data":null}`))
	f.Fuzz(func(t *testing.T, productsBody, pricesBody []byte) {
		products, _, err := decodeList(productsBody, "product")
		if err != nil {
			return
		}
		prices, _, err := decodeList(pricesBody, "price")
		if err != nil {
			return
		}
		// With raw: true the upstream JSON is copied as is; the engine checks it (a number such as
		// 1e400 that gjson accepts is then a clear ErrInvalidNode). The mapping must not panic.
		if _, _, err := (mapper{src: "fz", raw: true}).catalog(products, prices); err != nil {
			return
		}
		nodes, _, err := mapper{src: "fz"}.catalog(products, prices)
		if err != nil {
			t.Fatalf("accepted with raw, refused without: %v", err)
		}
		seen := map[string]bool{}
		for _, n := range nodes {
			if !mesh.ValidNodeID(n.ID) || n.Type == "" {
				t.Fatalf("bad node %q %q", n.ID, n.Type)
			}
			if seen[n.ID] {
				t.Fatalf("node %s emitted twice", n.ID)
			}
			seen[n.ID] = true
			_, refs, err := mesh.Canonicalize(n.Fields)
			if err != nil {
				t.Fatalf("node %s: fields %s: %v", n.ID, n.Fields, err)
			}
			for _, r := range refs {
				if !mesh.ValidNodeID(r.To) {
					t.Fatalf("node %s: $ref %q", n.ID, r.To)
				}
			}
		}
	})
}

// FuzzEvents feeds arbitrary event pages to the decoder and the change summary: no panic, and the
// products and prices it names have ids.
func FuzzEvents(f *testing.F) {
	f.Add(listOf(readCatalogFile(f, "events.json")))
	f.Add([]byte(`{"object":"list","data":[{"id":"evt","object":"event","created":1,"type":"price.deleted","data":{"object":{"id":"pr","product":{"id":"p"}}}}]}`))
	f.Add([]byte(`{"object":"list","data":[{"id":"evt","object":"event","created":1.5,"type":"product.updated","data":{"object":{"id":"p","images":[1,2]},"previous_attributes":{"images":"x"}}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		events, _, err := decodeList(body, "event")
		if err != nil {
			return
		}
		ch := changes{products: map[string]*productChange{}, deletedPrices: map[string]string{}}
		if err := ch.add(events); err != nil {
			return
		}
		for id, pc := range ch.products {
			if id == "" || pc == nil || pc.maxImages < 0 {
				t.Fatalf("product %q: %+v", id, pc)
			}
		}
		for id, p := range ch.deletedPrices {
			if id == "" || p == "" {
				t.Fatalf("deleted price %q of %q", id, p)
			}
		}
	})
}
