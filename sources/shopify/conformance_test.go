package shopify

import (
	"net/http"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/mesh/meshtest"
	"github.com/contentmesh/contentmesh/sources/internal/commercetest"
)

const (
	testToken = "storefront-token-3c9d51"
	testStore = "reference.myshopify.com"
	// badTokenBody is Shopify's answer to a wrong token (REST style, sent by the Storefront API too).
	badTokenBody = `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`
)

// fakeServer serves a ShopifyFake behind the Storefront token check.
func fakeServer(t *testing.T, fake *commercetest.ShopifyFake) *meshtest.FixtureServer {
	srv := meshtest.NewFixtureServer(t, "")
	srv.RequireHeader(tokenHeader, testToken)
	srv.SetUnauthorized(http.StatusUnauthorized, nil, []byte(badTokenBody))
	srv.Handle("POST /api/{version}/graphql.json", fake.ServeHTTP)
	return srv
}

// testConfig is a Config for the fixture server with the suite's retry settings.
func testConfig(env meshtest.Env) Config {
	return Config{Store: testStore, Token: env.Credential(testToken), BaseURL: env.BaseURL,
		Options: fetch.Options{Retries: &env.Retries, RetryWaitMin: env.RetryWaitMin, RetryWaitMax: env.RetryWaitMax,
			MaxRetryAfter: env.MaxRetryAfter, Timeout: env.Timeout}}
}

func TestConformance(t *testing.T) {
	meshtest.Run(t, meshtest.Harness{
		NewServer: func(t *testing.T) *meshtest.FixtureServer {
			return fakeServer(t, commercetest.NewShopifyFake(commercetest.Reference("USD")))
		},
		NewSource: func(t *testing.T, env meshtest.Env) (mesh.Source, error) {
			return New(testConfig(env))
		},
		Expect: meshtest.Expectations{
			MinNodes: 15,
			Types:    []string{"Product", "ProductVariant", "Collection", "Asset"},
			Counts:   map[string]int{"Product": 3, "ProductVariant": 6, "Collection": 2, "Asset": 4},
			IDs: []string{"product/8001", "variant/44001", "collection/5101", "asset/ProductImage%2F3001",
				"asset/CollectionImage%2F9001"},
			Refs: []meshtest.ExpectedRef{
				{From: "product/8001", Field: "variants", To: "variant/44003"},
				{From: "product/8001", Field: "images", To: "asset/ProductImage%2F3002"},
				{From: "product/8002", Field: "collections", To: "collection/5102"},
				{From: "variant/44003", Field: "image", To: "asset/ProductImage%2F3002"},
				{From: "variant/44001", Field: "image", To: "asset/ProductImage%2F3001"},
				{From: "variant/44004", Field: "product", To: "product/8002"},
				{From: "collection/5101", Field: "products", To: "product/8002"},
				{From: "collection/5101", Field: "image", To: "asset/CollectionImage%2F9001"},
			},
		},
		RateLimit:   meshtest.RateLimit{Wait: time.Second, Reset: []meshtest.ResetHeader{meshtest.RetryAfter}},
		Incremental: true,
		Secrets:     []string{testToken},
	})
}
