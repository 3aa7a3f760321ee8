package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/memsource"
	"github.com/contentmesh/contentmesh/mesh/webhook"
)

// A Strapi webhook resyncs the "blog" source: the answer is the change set since the last build.
func ExampleNew() {
	dir, _ := os.MkdirTemp("", "webhook-example")
	defer os.RemoveAll(dir)
	store, _ := mesh.NewDirStore(dir)
	blog, _ := memsource.New(memsource.Record{Namespace: "article", NativeID: "1", Type: "Article", Fields: json.RawMessage(`{"title":"Hello"}`)})
	m, _ := mesh.New(mesh.Options{Store: store})
	m.Add("blog", blog)
	m.Build(context.Background()) // the snapshot the webhooks build on

	h, err := webhook.New(webhook.Config{
		Mesh: m,
		Routes: []webhook.Route{
			// In production the token comes from the environment, e.g. os.Getenv("STRAPI_WEBHOOK_TOKEN").
			{Path: "/hooks/strapi", Verifier: webhook.Strapi("example-token"), Sources: []string{"blog"}},
			// {Path: "/hooks/shop", Verifier: webhook.Shopify(os.Getenv("SHOPIFY_CLIENT_SECRET")), Sources: []string{"shop"}},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()

	// An editor publishes an article; Strapi posts its webhook.
	blog.Put(memsource.Record{Namespace: "article", NativeID: "2", Type: "Article", Fields: json.RawMessage(`{"title":"Second"}`)})
	req := httptest.NewRequest(http.MethodPost, "/hooks/strapi", strings.NewReader(`{"event":"entry.publish","model":"article","entry":{"id":2}}`))
	req.Header.Set("Authorization", "Bearer example-token")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	var resp webhook.Response
	json.NewDecoder(rec.Body).Decode(&resp)
	fmt.Println(rec.Code, resp.Changes.Added, resp.Fetched)
	// Output: 200 [blog/article/2] [blog]
}
