package bigcommerce

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
	testToken = "bc-api-token-8e21f0"
	testHash  = "abc123"
	// badTokenBody is BigCommerce's error shape for a wrong token.
	badTokenBody = `{"status":401,"title":"Unauthorized: the X-Auth-Token is invalid","type":"https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"}`
	// throttledBody is BigCommerce's 429 body (api-notes section 2).
	throttledBody = `{"status": 429, "title": "Too many requests", "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"}`
)

// fakeServer serves a BigCommerceFake behind the token check.
func fakeServer(t *testing.T, fake *commercetest.BigCommerceFake) *meshtest.FixtureServer {
	srv := meshtest.NewFixtureServer(t, "")
	srv.RequireHeader(tokenHeader, testToken)
	srv.SetUnauthorized(http.StatusUnauthorized, nil, []byte(badTokenBody))
	srv.Handle("GET /stores/", fake.ServeHTTP)
	return srv
}

func testConfig(env meshtest.Env) Config {
	return Config{StoreHash: testHash, Token: env.Credential(testToken), BaseURL: env.BaseURL,
		Options: fetch.Options{Retries: &env.Retries, RetryWaitMin: env.RetryWaitMin, RetryWaitMax: env.RetryWaitMax,
			MaxRetryAfter: env.MaxRetryAfter, Timeout: env.Timeout}}
}

func TestConformance(t *testing.T) {
	meshtest.Run(t, meshtest.Harness{
		NewServer: func(t *testing.T) *meshtest.FixtureServer {
			return fakeServer(t, commercetest.NewBigCommerceFake(testHash, commercetest.Reference("USD")))
		},
		NewSource: func(t *testing.T, env meshtest.Env) (mesh.Source, error) {
			return New(testConfig(env))
		},
		Expect: meshtest.Expectations{
			MinNodes: 15,
			Types:    []string{"Product", "ProductVariant", "Collection", "Asset"},
			Counts:   map[string]int{"Product": 3, "ProductVariant": 6, "Collection": 2, "Asset": 4},
			IDs:      []string{"product/101", "variant/501", "collection/21", "asset/301", "asset/category-21"},
			Refs: []meshtest.ExpectedRef{
				{From: "product/101", Field: "variants", To: "variant/503"},
				{From: "product/101", Field: "images", To: "asset/302"},
				{From: "product/102", Field: "collections", To: "collection/22"},
				{From: "variant/503", Field: "image", To: "asset/302"}, // its own image
				{From: "variant/501", Field: "image", To: "asset/301"}, // the thumbnail
				{From: "variant/504", Field: "product", To: "product/102"},
				{From: "collection/21", Field: "products", To: "product/102"},
				{From: "collection/21", Field: "image", To: "asset/category-21"},
			},
		},
		RateLimit: meshtest.RateLimit{Wait: time.Second,
			Reset:  []meshtest.ResetHeader{{Name: "X-Rate-Limit-Time-Reset-Ms", Format: meshtest.ResetMilliseconds}},
			Header: http.Header{"X-Rate-Limit-Requests-Left": {"0"}, "X-Rate-Limit-Requests-Quota": {"150"}, "X-Rate-Limit-Time-Window-Ms": {"30000"}},
			Body:   []byte(throttledBody)},
		Incremental: true,
		Secrets:     []string{testToken},
	})
}
