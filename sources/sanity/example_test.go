package sanity_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/sanity"
)

// queryAPI stands in for https://<projectId>.api.sanity.io: it answers the first keyset page with a
// post, its author and its image asset, to callers that send the right token.
func queryAPI() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer example-token" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"statusCode":401,"error":"Unauthorized","message":"Session not found"}`)
			return
		}
		if r.URL.Path != "/v2025-02-19/data/query/production" || r.URL.Query().Get("$lastId") != `""` {
			fmt.Fprint(w, `{"ms":1,"result":[]}`)
			return
		}
		fmt.Fprint(w, `{"ms":3,"result":[
			{"_id":"author-ada","_type":"author","_updatedAt":"2024-01-02T00:00:00Z","name":"Ada Writer"},
			{"_id":"image-4f6c-1600x900-jpg","_type":"sanity.imageAsset","_updatedAt":"2024-04-30T00:00:00Z",
			 "url":"https://cdn.sanity.io/images/abcd1234/production/4f6c-1600x900.jpg","mimeType":"image/jpeg",
			 "metadata":{"dimensions":{"width":1600,"height":900}}},
			{"_id":"post-1","_type":"blogPost","_updatedAt":"2024-05-02T10:15:30Z","title":"Hello GROQ",
			 "author":{"_type":"reference","_ref":"author-ada"},
			 "mainImage":{"_type":"image","alt":"Mountain at dawn","asset":{"_type":"reference","_ref":"image-4f6c-1600x900-jpg"}}}
		]}`)
	}))
}

// ExampleNew reads a dataset into a graph: documents become nodes of their type, the image asset an
// Asset node, and references {"$ref": id}, so that the author knows its posts.
func ExampleNew() {
	api := queryAPI()
	defer api.Close()

	src, err := sanity.New(sanity.Config{
		ProjectID: "abcd1234",
		Dataset:   "production",
		Token:     "example-token",
		BaseURL:   api.URL, // leave out to read https://abcd1234.api.sanity.io
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
	post, _ := b.Graph.Get("cms/document/post-1")
	img := b.Graph.Query(post.Get("mainImage.asset.$ref").Str, "width")
	fmt.Println("image:", post.Get("mainImage.alt"), img, "px wide")
	ada, _ := b.Graph.Get("cms/document/author-ada")
	for p := range b.Graph.Backrefs(ada, "author") {
		fmt.Println("Ada wrote:", p.Get("title"))
	}
	// Output:
	// cms/document/author-ada Author
	// cms/document/image-4f6c-1600x900-jpg Asset
	// cms/document/post-1 BlogPost
	// image: Mountain at dawn 1600 px wide
	// Ada wrote: Hello GROQ
}
