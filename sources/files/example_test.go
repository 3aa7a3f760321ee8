package files_test

import (
	"context"
	"fmt"
	"log"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/files"
)

// ExampleNew reads a small blog (Markdown posts and authors, a YAML list of tags, a JSON settings
// file) into a graph, and follows a post's references.
func ExampleNew() {
	src, err := files.New(files.Config{Dir: "testdata/blog"})
	if err != nil {
		log.Fatal(err)
	}
	m, err := mesh.New(mesh.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Add("blog", src); err != nil {
		log.Fatal(err)
	}
	b, err := m.Build(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for n := range b.Graph.Nodes() {
		fmt.Printf("%-28s %s\n", n.ID, n.Type)
	}
	post, _ := b.Graph.Get("blog/posts/hello-world")
	fmt.Println(post.Get("title").String(), "by", b.Graph.Query(post.Get("author.$ref").String(), "name"))
	for tag := range b.Graph.Refs(post, "tags") {
		fmt.Println("tag:", tag.Get("name"))
	}
	// Output:
	// blog/./about                 File
	// blog/authors/jane            Author
	// blog/authors/omar            Author
	// blog/data/site               SiteConfig
	// blog/data/tags#2             Tag
	// blog/data/tags#go            Tag
	// blog/data/tags#jamstack      Tag
	// blog/posts/2024%2Frecap      BlogPost
	// blog/posts/hello-world       Post
	// blog/posts/second-post       Post
	// Hello, world by Jane Doe
	// tag: Go
	// tag: Jamstack
}
