package wordpress_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/wordpress"
)

// A stand-in for a WordPress site: it serves each collection of testdata/site.json as one page,
// the published items only, with the X-WP-Total header.
func fakeWordPress() *httptest.Server {
	var site map[string][]map[string]any
	b, err := os.ReadFile("testdata/site.json")
	if err != nil {
		log.Fatal(err)
	}
	if err := json.Unmarshal(b, &site); err != nil {
		log.Fatal(err)
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var items []map[string]any
		for _, it := range site[strings.TrimPrefix(r.URL.Path, "/wp-json/wp/v2/")] {
			if st, ok := it["status"]; !ok || st == "publish" || st == "inherit" {
				items = append(items, it)
			}
		}
		w.Header().Set("X-WP-Total", strconv.Itoa(len(items)))
		json.NewEncoder(w).Encode(items)
	}))
}

func ExampleNew() {
	srv := fakeWordPress()
	defer srv.Close()

	src, err := wordpress.New(wordpress.Config{
		URL:   srv.URL, // the site root, e.g. https://example.com
		Types: []string{"posts", "categories", "tags", "users", "media"},
	})
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
	g := b.Graph
	for _, typ := range g.Types() {
		fmt.Println(typ, g.CountByType()[typ])
	}
	post, _ := g.Get("blog/post/101")
	fmt.Println(post.Get("title"), "by", g.Query(post.Get("author.$ref").String(), "name"))
	tag, _ := g.Get("blog/tag/7")
	for p := range g.Backrefs(tag, "tags") {
		fmt.Println("tagged golang:", p.Get("title"))
	}
	// Output:
	// Asset 2
	// Category 3
	// Post 3
	// Tag 2
	// User 2
	// Hello REST by Bob Editor
	// tagged golang: Hello REST
	// tagged golang: Go generics
}
