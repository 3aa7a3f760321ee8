package schema_test

import (
	"encoding/json"
	"fmt"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/schema"
)

// Infer the fields of each node type, then print every field's kinds.
func ExampleInfer() {
	g := mesh.NewGraph([]*mesh.Node{
		{ID: "blog/post/1", Type: "Post", Source: "blog", Fields: json.RawMessage(`{"title":"Hello","author":{"$ref":"people/user/1"},"publishedAt":"2026-03-01T00:00:00Z"}`)},
		{ID: "blog/post/2", Type: "Post", Source: "blog", Fields: json.RawMessage(`{"title":"Bye","author":{"$ref":"people/user/1"},"rating":4.5}`)},
		{ID: "people/user/1", Type: "User", Source: "people", Fields: json.RawMessage(`{"displayName":"Milo"}`)},
	})
	s := schema.Infer(g)
	for _, t := range s.Types {
		for _, f := range t.Fields {
			opt := ""
			if f.Optional {
				opt = " (optional)"
			}
			fmt.Printf("%s.%s: %s%s\n", t.Name, f.Name, schema.Signature(&f.Value), opt)
		}
	}
	// Output:
	// Post.author: ref<User>
	// Post.publishedAt: time (optional)
	// Post.rating: number (optional)
	// Post.title: string
	// User.displayName: string
}

// Compare the schema of the last build with this one's.
func ExampleDiff() {
	before := schema.Infer(mesh.NewGraph([]*mesh.Node{
		{ID: "shop/product/1", Type: "Product", Fields: json.RawMessage(`{"price":{"amount":"9.50","currencyCode":"EUR"},"sku":"M-1"}`)},
	}))
	after := schema.Infer(mesh.NewGraph([]*mesh.Node{
		{ID: "shop/product/1", Type: "Product", Fields: json.RawMessage(`{"price":"9.50 EUR","vendor":"Acme"}`)},
	}))
	for _, d := range schema.Diff(before, after) {
		fmt.Println(d)
	}
	// Output:
	// Product.price: money -> string
	// Product.sku: removed (was string on every node)
}
