package storyblok_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/storyblok"
)

// cdnAPI stands in for https://api.storyblok.com: the space's cache version, and one page of two
// stories (totals in headers), to callers with the right token.
func cdnAPI() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("token") != "example-token" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"Unauthorized"}`)
			return
		}
		switch r.URL.Path {
		case "/v2/cdn/spaces/me":
			fmt.Fprint(w, `{"space":{"id":179952,"name":"Blog","version":1715000000}}`)
		case "/v2/cdn/stories":
			w.Header().Set("Total", "2")
			w.Header().Set("Per-Page", "25")
			fmt.Fprint(w, `{"cv":1715000000,"rels":[],"links":[],"stories":[
				{"uuid":"7ad8af26-9551-493c-bf9d-e5aace43d94c","id":461119531,"name":"Ada Writer","full_slug":"authors/ada",
				 "published_at":"2024-01-10T08:00:00.000Z","content":{"_uid":"u1","component":"author","name":"Ada Writer"}},
				{"uuid":"3ce5d163-3bb4-41ef-9e1a-709d7c4848ff","id":460947950,"name":"Hello Storyblok","full_slug":"blog/hello",
				 "published_at":"2024-05-03T11:00:00.000Z","content":{"_uid":"u2","component":"blog_post","title":"Hello Storyblok",
				 "author":"7ad8af26-9551-493c-bf9d-e5aace43d94c",
				 "image":{"id":6201216,"alt":"Mountain at dawn","filename":"https://a.storyblok.com/f/179952/1600x900/4cc45ffb63/hero.jpg","fieldtype":"asset"}}}]}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `["This record could not be found"]`)
		}
	}))
}

// ExampleNew reads a space into a graph: stories become nodes of their content type, the image an
// Asset node, and the author field (named in Relations) a reference, so the author knows its posts.
func ExampleNew() {
	api := cdnAPI()
	defer api.Close()

	src, err := storyblok.New(storyblok.Config{
		Token:     "example-token",
		Relations: []string{"blog_post.author"},
		BaseURL:   api.URL, // leave out to read https://api.storyblok.com (region eu)
	})
	if err != nil {
		log.Fatal(err)
	}
	m, err := mesh.New(mesh.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Add("cms", src); err != nil {
		log.Fatal(err)
	}
	b, err := m.Build(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for n := range b.Graph.Nodes() {
		fmt.Println(n.ID, n.Type)
	}
	post, _ := b.Graph.Get("cms/story/3ce5d163-3bb4-41ef-9e1a-709d7c4848ff")
	img := post.Get("content.image.id.$ref").Str
	fmt.Println("image:", post.Get("content.image.alt"), b.Graph.Query(img, "width"), "x", b.Graph.Query(img, "height"))
	ada, _ := b.Graph.Get("cms/story/7ad8af26-9551-493c-bf9d-e5aace43d94c")
	for p := range b.Graph.Backrefs(ada, "content.author") {
		fmt.Println("Ada wrote:", p.Get("content.title"))
	}
	// Output:
	// cms/asset/6201216 Asset
	// cms/story/3ce5d163-3bb4-41ef-9e1a-709d7c4848ff BlogPost
	// cms/story/7ad8af26-9551-493c-bf9d-e5aace43d94c Author
	// image: Mountain at dawn 1600 x 900
	// Ada wrote: Hello Storyblok
}
