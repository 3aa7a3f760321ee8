package directus_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/directus"
)

// A stand-in for a Directus project: its schema (an articles collection whose author field is a
// many-to-one to authors) and one page of each collection.
func fakeDirectus() *httptest.Server {
	answers := map[string]string{
		"/fields": `{"data":[
			{"collection":"articles","field":"id","type":"integer","schema":{"is_primary_key":true}},
			{"collection":"articles","field":"author","type":"integer","meta":{"special":["m2o"]}},
			{"collection":"articles","field":"date_updated","type":"timestamp","meta":{"special":["date-updated"]}},
			{"collection":"authors","field":"id","type":"integer","schema":{"is_primary_key":true}},
			{"collection":"authors","field":"articles","type":"alias","meta":{"special":["o2m"]}}]}`,
		"/relations": `{"data":[{"collection":"articles","field":"author","related_collection":"authors",
			"meta":{"one_field":"articles","junction_field":null}}]}`,
		"/items/articles": `{"meta":{"filter_count":2},"data":[
			{"id":1,"title":"Hello Directus","author":1,"date_updated":"2024-05-03T11:00:00.000Z"},
			{"id":2,"title":"Second post","author":1,"date_updated":null}]}`,
		"/items/authors": `{"meta":{"filter_count":1},"data":[{"id":1,"name":"Ada Writer","articles":[1,2]}]}`,
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := answers[r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusForbidden)
			body = `{"errors":[{"message":"You don't have permission to access this.","extensions":{"code":"FORBIDDEN"}}]}`
		}
		fmt.Fprint(w, body)
	}))
}

func ExampleNew() {
	srv := fakeDirectus()
	defer srv.Close()

	src, err := directus.New(directus.Config{
		URL:         srv.URL, // the project's origin, e.g. https://directus.example.com
		Token:       "a-static-token",
		Collections: []string{"articles", "authors"},
	})
	if err != nil {
		log.Fatal(err)
	}
	m, err := mesh.New(mesh.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Add("site", src); err != nil {
		log.Fatal(err)
	}
	b, err := m.Build(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	g := b.Graph
	ada, _ := g.Get("site/authors/1")
	for article := range g.Backrefs(ada, "author") {
		fmt.Println(article.Type, article.ID, article.Get("title"))
	}
	for article := range g.Refs(ada, "articles") {
		fmt.Println("listed by the author:", article.Get("title"))
	}
	// Output:
	// Article site/articles/1 Hello Directus
	// Article site/articles/2 Second post
	// listed by the author: Hello Directus
	// listed by the author: Second post
}
