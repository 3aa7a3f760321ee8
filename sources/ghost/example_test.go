package ghost_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/ghost"
)

// contentAPI stands in for a Ghost site's Content API: one post by one author with one tag, to
// callers with the right key.
func contentAPI() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("key") != "22444f78447824223cefc48062" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"errors":[{"message":"Authorization failed","context":"Unknown Content API Key","type":"UnauthorizedError"}]}`)
			return
		}
		const meta = `"meta":{"pagination":{"page":1,"limit":100,"pages":1,"total":1,"next":null,"prev":null}}`
		author := `{"id":"1","name":"Ada Writer","slug":"ada","profile_image":null}`
		tag := `{"id":"59799bbd6ebb2f00243a33db","name":"News","slug":"news","visibility":"public"}`
		switch strings.TrimPrefix(r.URL.Path, "/ghost/api/content") {
		case "/posts/":
			fmt.Fprintf(w, `{"posts":[{"id":"5ddc9141c35e7700383b2937","title":"Welcome","slug":"welcome","html":"<p>Hello from Ghost.</p>",
				"feature_image":"https://demo.ghost.io/content/images/2024/05/hero.jpg","feature_image_alt":"Mountain at dawn",
				"updated_at":"2024-05-03T11:00:00.000+00:00","authors":[%s],"tags":[%s],"primary_author":%s,"primary_tag":%s}],%s}`,
				author, tag, author, tag, meta)
		case "/pages/":
			fmt.Fprint(w, `{"pages":[],"meta":{"pagination":{"page":1,"limit":100,"pages":1,"total":0,"next":null,"prev":null}}}`)
		case "/authors/":
			fmt.Fprintf(w, `{"authors":[%s],%s}`, author, meta)
		case "/tags/":
			fmt.Fprintf(w, `{"tags":[%s],%s}`, tag, meta)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"errors":[{"message":"Resource not found","type":"NotFoundError"}]}`)
		}
	}))
}

// ExampleNew reads a Ghost site into a graph: posts, authors and tags become nodes, the feature
// image an Asset node, and authors and tags references, so an author knows its posts.
func ExampleNew() {
	api := contentAPI()
	defer api.Close()

	src, err := ghost.New(ghost.Config{
		URL:     "https://demo.ghost.io",
		Key:     "22444f78447824223cefc48062",
		BaseURL: api.URL, // leave out to send the requests to url
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
	for _, typ := range b.Graph.Types() {
		for n := range b.Graph.ByType(typ) {
			fmt.Println(n.Type, n.NativeID)
		}
	}
	ada, _ := b.Graph.Get("blog/author/1")
	for p := range b.Graph.Backrefs(ada, "authors") {
		img := p.Get("feature_image.$ref").Str
		fmt.Println("Ada wrote:", p.Get("title"), "with", b.Graph.Query(img, "fileName"))
	}
	// Output:
	// Asset 315995be98a6cb28
	// Author 1
	// Post 5ddc9141c35e7700383b2937
	// Tag 59799bbd6ebb2f00243a33db
	// Ada wrote: Welcome with hero.jpg
}
