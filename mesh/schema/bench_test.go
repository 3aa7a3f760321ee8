package schema_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/schema"
)

// BenchmarkInfer infers the schema of 100k product-like nodes (~600 bytes of fields each, with
// money, refs, arrays and nested objects); b.SetBytes counts the fields' JSON.
func BenchmarkInfer(b *testing.B) {
	const n = 100_000
	nodes := make([]*mesh.Node, 0, n)
	size := 0
	for i := range n {
		f := fmt.Sprintf(`{"available":%t,"collections":[{"$ref":"shop/collection/%d"}],"createdAt":"2026-01-%02dT10:00:00Z","description":"A sturdy thing, number %d, for every day.","handle":"thing-%d","images":[{"$ref":"shop/asset/%d"},{"$ref":"shop/asset/%d"}],"options":[{"name":"Size","values":["S","M","L"]}],"price":{"amount":"%d.99","currencyCode":"EUR"},"priceRange":{"max":{"amount":"%d.99","currencyCode":"EUR"},"min":{"amount":"%d.99","currencyCode":"EUR"}},"seo":{"description":"Buy thing %d","title":"Thing %d"},"tags":["a","b","c"],"title":"Thing %d","vendor":"Acme"}`,
			i%2 == 0, i%50, i%28+1, i, i, i, i+1, i%100, i%100+10, i%100, i, i, i)
		size += len(f)
		nodes = append(nodes, &mesh.Node{ID: fmt.Sprintf("shop/product/%07d", i), Type: "Product", Source: "shop", Fields: json.RawMessage(f)})
	}
	g := mesh.NewGraph(nodes)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		schema.Infer(g)
	}
}
