package mesh_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/memsource"
)

// Build a graph from two sources joined by a link rule, then read it.
func ExampleMesh_Build() {
	cms, _ := memsource.New(
		memsource.Record{Namespace: "post", NativeID: "hello", Type: "Post",
			Fields: json.RawMessage(`{"title":"Hello","author":{"$ref":"cms/user/ann"},"productHandles":["mug"]}`)},
		memsource.Record{Namespace: "user", NativeID: "ann", Type: "User", Fields: json.RawMessage(`{"displayName":"Ann"}`)},
	)
	shop, _ := memsource.New(
		memsource.Record{Namespace: "product", NativeID: "42", Type: "Product", Fields: json.RawMessage(`{"handle":"mug","title":"Mug"}`)},
	)
	m, err := mesh.New(mesh.Options{
		Links: []mesh.LinkRule{{From: "Post.productHandles", To: "Product.handle", As: "products"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	m.Add("cms", cms)
	m.Add("shop", shop)
	b, err := m.Build(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	post, _ := b.Graph.Get("cms/post/hello")
	for author := range b.Graph.Refs(post, "author") {
		fmt.Println("author:", author.Get("displayName"))
	}
	for p := range b.Graph.Refs(post, "products") {
		fmt.Println("product:", p.Get("title"))
	}
	mug, _ := b.Graph.Get("shop/product/42")
	for p := range b.Graph.Backrefs(mug, "products") {
		fmt.Println("mentioned in:", p.Get("title"))
	}
	fmt.Println("added:", len(b.Changes.Added))
	// Output:
	// author: Ann
	// product: Mug
	// mentioned in: Hello
	// added: 3
}

// Escape any native id into a stable node ID.
func ExampleNodeID() {
	fmt.Println(mesh.NodeID("files", "post", "blog/2024/hello"))
	fmt.Println(mesh.LocalizedNodeID("cms", "Entry", "6KntaYXaHSyIw8M6eo26OK", "en-US"))
	// Output:
	// files/post/blog%2F2024%2Fhello
	// cms/Entry/6KntaYXaHSyIw8M6eo26OK@en-US
}

// Keep the graph on disk: for catalogs larger than memory. The build streams nodes into a scratch
// database, which Close removes; reads go through the same Graph API.
func ExampleOptions_graphOnDisk() {
	shop, _ := memsource.New(
		memsource.Record{Namespace: "product", NativeID: "1", Type: "Product", Fields: json.RawMessage(`{"title":"Mug"}`)},
		memsource.Record{Namespace: "product", NativeID: "2", Type: "Product", Fields: json.RawMessage(`{"title":"Cup"}`)},
	)
	m, err := mesh.New(mesh.Options{Graph: mesh.GraphDisk}) // or GraphAuto with DiskThreshold
	if err != nil {
		log.Fatal(err)
	}
	m.Add("shop", shop)
	b, err := m.Build(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	for n := range b.Graph.Nodes() { // in ID order, read as the walk goes
		fmt.Println(n.ID, n.Get("title"))
	}
	fmt.Println("on disk:", b.Graph.OnDisk(), "read errors:", b.Graph.Err())
	// Output:
	// shop/product/1 Mug
	// shop/product/2 Cup
	// on disk: true read errors: <nil>
}
