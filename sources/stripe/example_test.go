package stripe_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/stripe"
)

// stripeAPI serves testdata/catalog as one page per listing, to callers with the right key.
func stripeAPI() *httptest.Server {
	page := func(name string) []byte {
		b, err := os.ReadFile("testdata/catalog/" + name + ".json")
		if err != nil {
			log.Fatal(err)
		}
		return fmt.Appendf(nil, `{"object": "list", "url": "/v1/%s", "has_more": false, "data": %s}`, name, b)
	}
	lists := map[string][]byte{"/v1/products": page("products"), "/v1/prices": page("prices"), "/v1/events": page("events")}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer sk_test_example" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(lists[r.URL.Path])
	}))
}

// ExampleNew reads a Stripe catalog: products become Product nodes, their prices ProductVariant
// nodes with exact decimal amounts, their image URLs Asset nodes.
func ExampleNew() {
	api := stripeAPI() // stands in for https://api.stripe.com
	defer api.Close()

	src, err := stripe.New(stripe.Config{SecretKey: "sk_test_example", BaseURL: api.URL})
	if err != nil {
		log.Fatal(err)
	}
	m, err := mesh.New(mesh.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Add("billing", src); err != nil {
		log.Fatal(err)
	}
	b, err := m.Build(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(b.Graph.CountByType())
	oud := mustGet(b.Graph, "billing/product/prod_Qa1bC2dE3fG4hL")
	fmt.Println(oud.Get("handle"), oud.Get("status"), oud.Get("priceRange.min.amount"), oud.Get("priceRange.min.currencyCode"))
	for v := range b.Graph.Refs(mustGet(b.Graph, "billing/product/prod_Qa1bC2dE3fG4hJ"), "variants") {
		fmt.Println(v.Get("title"), v.Get("price.amount"), v.Get("price.currencyCode"))
	}
	// Output:
	// map[Asset:3 Product:4 ProductVariant:9]
	// desert-rose-oud active 39.950 KWD
	// Monthly 15.00 USD
	// Yearly 150.00 USD
	// Every 2 weeks 12.35 USD
}

func mustGet(g *mesh.Graph, id string) *mesh.Node {
	n, ok := g.Get(id)
	if !ok {
		log.Fatalf("no node %s", id)
	}
	return n
}
