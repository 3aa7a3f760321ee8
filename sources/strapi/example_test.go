package strapi_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/strapi"
)

// A stand-in for a Strapi 5 server: two collections, one page each, in the shapes
// GET /api/<collection>?populate=* answers.
func fakeStrapi() *httptest.Server {
	pages := map[string]string{
		"/api/articles": `{"data":[
			{"id":12,"documentId":"znrlzntu9ei5onjvwfaalu2v","title":"Hello Strapi 5","slug":"hello-strapi-5",
			 "updatedAt":"2024-03-06T21:38:46.353Z","locale":"en",
			 "author":{"id":3,"documentId":"a1b2c3d4e5f6g7h8i9j0k1l2","name":"Ada Writer"},
			 "cover":{"id":7,"documentId":"m3n4o5p6q7r8s9t0u1v2w3x4","name":"hero.jpg","alternativeText":"Mountain at dawn",
			          "width":1600,"height":900,"mime":"image/jpeg","size":200.05,"url":"/uploads/hero_4f6c1e.jpg"}}],
			"meta":{"pagination":{"page":1,"pageSize":100,"pageCount":1,"total":1}}}`,
		"/api/authors": `{"data":[{"id":3,"documentId":"a1b2c3d4e5f6g7h8i9j0k1l2","name":"Ada Writer"}],
			"meta":{"pagination":{"page":1,"pageSize":100,"pageCount":1,"total":1}}}`,
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, ok := pages[r.URL.Path]
		if !ok { // the schema and the media library: this token may not read them
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"data":null,"error":{"status":403,"name":"ForbiddenError","message":"Forbidden","details":{}}}`)
			return
		}
		fmt.Fprint(w, page)
	}))
}

func ExampleNew() {
	srv := fakeStrapi()
	defer srv.Close()

	src, err := strapi.New(strapi.Config{
		URL:         srv.URL, // the server's origin, e.g. https://cms.example.com
		Token:       "read-only-api-token",
		Collections: []string{"articles", "authors"},
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
	g := b.Graph
	for n := range g.Nodes() {
		fmt.Println(n.ID, n.Type)
	}
	article, _ := g.Get("cms/articles/znrlzntu9ei5onjvwfaalu2v@en")
	cover := article.Get("cover.$ref").String()
	fmt.Println(article.Get("title"), "by", g.Query(article.Get("author.$ref").String(), "name"))
	// The url is absolute: the server's origin, then the path Strapi gave.
	fmt.Println(strings.TrimPrefix(g.Query(cover, "url").String(), srv.URL), g.Query(cover, "alt"))
	// Output:
	// cms/articles/znrlzntu9ei5onjvwfaalu2v@en Article
	// cms/authors/a1b2c3d4e5f6g7h8i9j0k1l2 Author
	// cms/files/7 Asset
	// Hello Strapi 5 by Ada Writer
	// /uploads/hero_4f6c1e.jpg Mountain at dawn
}
