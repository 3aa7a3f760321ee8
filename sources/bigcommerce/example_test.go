package bigcommerce_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/bigcommerce"
	"github.com/contentmesh/contentmesh/sources/internal/commercetest"
)

// ExampleNew reads a store's products and categories into a graph. A Catalog API fake over the
// reference catalog, priced in yen, stands in for https://api.bigcommerce.com.
func ExampleNew() {
	fake := commercetest.NewBigCommerceFake("abc123", commercetest.Reference("JPY"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Auth-Token") != "example-token" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"status":401,"title":"Unauthorized"}`)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()

	src, err := bigcommerce.New(bigcommerce.Config{
		StoreHash: "abc123",
		Token:     "example-token", // in a config file: token: ${BIGCOMMERCE_TOKEN}
		BaseURL:   srv.URL,         // omit for the real API
	})
	if err != nil {
		log.Fatal(err)
	}
	m, err := mesh.New(mesh.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Add("shop", src); err != nil {
		log.Fatal(err)
	}
	b, err := m.Build(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for c := range b.Graph.ByType("Collection") {
		fmt.Printf("%s %s:\n", c.ID, c.Get("title"))
		for p := range b.Graph.Refs(c, "products") {
			fmt.Printf("  %s from %s %s\n", p.Get("title"), p.Get("priceRange.min.amount"), p.Get("priceRange.min.currencyCode"))
		}
	}
	// Output:
	// shop/collection/21 Running:
	//   Trail Runner Shoe from 18000 JPY
	//   Merino Sock from 2800 JPY
	// shop/collection/22 Accessories:
	//   Merino Sock from 2800 JPY
	//   Sticker Pack from 45 JPY
}
