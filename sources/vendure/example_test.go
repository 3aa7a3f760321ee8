package vendure_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/vendure"
)

// shopAPI answers the adapter's two list queries the way a Vendure Shop API in a JPY channel would,
// one page each.
func shopAPI() *httptest.Server {
	const collections = `{"data": {"activeChannel": {"token": "jpy-channel"}, "collections": {"totalItems": 1, "items": [
	  {"id": "2", "name": "Electronics", "slug": "electronics", "description": "<p>Gadgets</p>", "featuredAsset": null,
	   "productVariants": {"totalItems": 2, "items": [{"productId": "1"}, {"productId": "1"}]}}]}}}`
	const products = `{"data": {"activeChannel": {"token": "jpy-channel"}, "products": {"totalItems": 1, "items": [
	  {"id": "1", "name": "Laptop", "slug": "laptop", "description": "<p>Snappier&nbsp;than ever.</p>", "enabled": true,
	   "featuredAsset": {"id": "1", "name": "laptop.jpg", "mimeType": "image/jpeg", "width": 1600, "height": 1200, "fileSize": 44525,
	                     "source": "https://shop.example.com/assets/source/b6/laptop.jpg"},
	   "assets": [], "facetValues": [{"code": "apple", "name": "Apple", "facet": {"code": "brand"}}],
	   "optionGroups": [{"id": "1", "name": "RAM", "options": [{"id": "1", "name": "8GB"}, {"id": "2", "name": "16GB"}]}],
	   "variants": [
	     {"id": "1", "sku": "L-8", "name": "Laptop 8GB", "price": 129900, "currencyCode": "JPY", "stockLevel": "IN_STOCK", "options": [{"id": "1", "name": "8GB", "groupId": "1"}]},
	     {"id": "2", "sku": "L-16", "name": "Laptop 16GB", "price": 219900, "currencyCode": "JPY", "stockLevel": "OUT_OF_STOCK", "options": [{"id": "2", "name": "16GB", "groupId": "1"}]}]}]}}}`
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Query string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || r.Header.Get("vendure-token") != "jpy-channel" {
			http.Error(w, `{"errors": [{"message": "bad request"}]}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(req.Query, "query Collections") {
			fmt.Fprint(w, collections)
			return
		}
		fmt.Fprint(w, products)
	}))
}

// ExampleNew reads a Vendure channel's catalog through its Shop API: products, their variants with
// exact prices in the channel's currency, their options and assets, and the collections.
func ExampleNew() {
	api := shopAPI() // stands in for https://shop.example.com/shop-api
	defer api.Close()

	src, err := vendure.New(vendure.Config{URL: api.URL + "/shop-api", ChannelToken: "jpy-channel"})
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
	g := b.Graph
	fmt.Println(g.CountByType())
	fmt.Println(g.Query("shop/product/1", "description"), g.Query("shop/product/1", "vendor"), g.Query("shop/product/1", "options"))
	fmt.Println(g.Query("shop/product/1", "priceRange.min.amount"), g.Query("shop/product/1", "priceRange.max.amount"), g.Query("shop/product/1", "priceRange.min.currencyCode"))
	product, _ := g.Get("shop/product/1")
	for v := range g.Refs(product, "variants") {
		fmt.Println(v.Get("sku"), v.Get("price.amount"), v.Get("available"), v.Get("selectedOptions.0.value"))
	}
	for c := range g.Refs(product, "collections") {
		fmt.Println(c.Get("handle"), c.Get("description"))
	}
	// Output:
	// map[Asset:1 Collection:1 Product:1 ProductVariant:2]
	// Snappier than ever. Apple [{"name":"RAM","values":["8GB","16GB"]}]
	// 129900 219900 JPY
	// L-8 129900 true 8GB
	// L-16 219900 false 16GB
	// electronics Gadgets
}
