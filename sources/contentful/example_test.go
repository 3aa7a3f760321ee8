package contentful_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/contentful"
)

// exampleSpace stands in for Contentful: it serves the space "example" from testdata/example, the
// way the delivery API and its Sync API answer (each sync chain fits in one page here).
func exampleSpace() *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer example-delivery-token" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"sys": {"type": "Error", "id": "AccessTokenInvalid"}, "message": "The access token you sent could not be found or is invalid."}`)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/spaces/example/environments/master/")
		if name == "sync" {
			q := r.URL.Query()
			name = strings.Trim("sync-"+q.Get("type")+"-"+q.Get("content_type"), "-")
		}
		body, err := os.ReadFile(filepath.Join("testdata", "example", name+".json"))
		if err != nil {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"sys": {"type": "Error", "id": "NotFound"}, "message": "The resource could not be found."}`)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.contentful.delivery.v1+json")
		w.Write([]byte(strings.ReplaceAll(string(body), "{{baseURL}}", srv.URL)))
	}))
	return srv
}

// ExampleNew reads a space in every locale: entries become nodes of their content type, assets
// Asset nodes, and links references that work in both directions. A snapshot store keeps the sync
// tokens, so the next build only asks what changed.
func ExampleNew() {
	srv := exampleSpace()
	defer srv.Close()

	src, err := contentful.New(contentful.Config{
		Space:       "example",
		AccessToken: "example-delivery-token", // in mesh.yaml: ${CONTENTFUL_DELIVERY_TOKEN}
		Locales:     contentful.Locales{contentful.AllLocales},
		BaseURL:     srv.URL, // omit for https://cdn.contentful.com
	})
	if err != nil {
		log.Fatal(err)
	}
	cache, err := os.MkdirTemp("", "contentful-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(cache)
	store, err := mesh.NewDirStore(cache)
	if err != nil {
		log.Fatal(err)
	}
	m, err := mesh.New(mesh.Options{Store: store})
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
		label := n.Get("title").String() + n.Get("name").String()
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s %s %q %s", n.ID, n.Type, label, n.Get("url"))))
	}
	ada, _ := b.Graph.Get("cms/Entry/ada@de-DE")
	for post := range b.Graph.Backrefs(ada, "author") {
		fmt.Println("Ada wrote:", post.Get("title"))
	}
	fmt.Println("requests:", b.Report.Sources[0].Requests)
	// Output:
	// cms/Asset/hero@de-DE Asset "Titelbild" https://images.ctfassets.net/example/hero/abc/hero.jpg
	// cms/Asset/hero@en-US Asset "Hero" https://images.ctfassets.net/example/hero/abc/hero.jpg
	// cms/Entry/ada@de-DE Person "Ada Writer"
	// cms/Entry/ada@en-US Person "Ada Writer"
	// cms/Entry/hello@de-DE BlogPost "Hallo Headless-Welt"
	// cms/Entry/hello@en-US BlogPost "Hello headless world"
	// Ada wrote: Hallo Headless-Welt
	// requests: 6
}
