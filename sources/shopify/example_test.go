package shopify_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/internal/commercetest"
	"github.com/contentmesh/contentmesh/sources/shopify"
)

// ExampleNew reads a store's products and collections into a graph. A Storefront API fake over the
// reference catalog stands in for https://acme.myshopify.com.
func ExampleNew() {
	fake := commercetest.NewShopifyFake(commercetest.Reference("USD"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Shopify-Storefront-Access-Token") != "example-token" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()

	src, err := shopify.New(shopify.Config{
		Store:   "acme.myshopify.com",
		Token:   "example-token", // in a config file: token: ${SHOPIFY_STOREFRONT_TOKEN}
		BaseURL: srv.URL,         // omit for the real store
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
	for p := range b.Graph.ByType("Product") {
		fmt.Printf("%s %s: %s-%s %s\n", p.ID, p.Get("handle"), p.Get("priceRange.min.amount"),
			p.Get("priceRange.max.amount"), p.Get("priceRange.min.currencyCode"))
		for v := range b.Graph.Refs(p, "variants") {
			fmt.Printf("  %s %q %s available=%s\n", v.Get("sku"), v.Get("title"), v.Get("price.amount"), v.Get("available"))
		}
	}
	// Output:
	// shop/product/8001 trail-runner: 129.00-134.99 USD
	//   TRS-42-BLU "42 / Blue" 129.00 available=true
	//   TRS-43-BLU "43 / Blue" 129.00 available=false
	//   TRS-42-BLK "42 / Black" 134.99 available=true
	// shop/product/8002 merino-sock: 19.99-19.99 USD
	//   MS-1 "Merino Sock" 19.99 available=true
	// shop/product/8003 sticker-pack: 0.30-0.90 USD
	//   STK-1 "Single" 0.30 available=true
	//   STK-3 "Triple" 0.90 available=true
}
