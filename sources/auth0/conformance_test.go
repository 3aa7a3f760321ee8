package auth0

import (
	"net/http"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/mesh/meshtest"
)

const (
	testDomain   = "acme.eu.auth0.com"
	testClientID = "m2m-client-7Hq2"
	testSecret   = "conformance-secret-9d1f-Zx81"
)

func testOptions(env meshtest.Env) fetch.Options {
	return fetch.Options{Retries: &env.Retries, RetryWaitMin: env.RetryWaitMin, RetryWaitMax: env.RetryWaitMax,
		MaxRetryAfter: env.MaxRetryAfter, Timeout: env.Timeout}
}

// The Unauthorized subtest gives a wrong client secret. meshtest's server checks headers only, so the
// fake issues a token for any secret, derived from it, and the server's credential check rejects the
// Management API requests made with it (the real token endpoint would already refuse the secret:
// TestTokenEndpointRejects covers that path).
func TestConformance(t *testing.T) {
	data, err := loadTenant("testdata/tenant.json")
	if err != nil {
		t.Fatal(err)
	}
	meshtest.Run(t, meshtest.Harness{
		NewServer: func(t *testing.T) *meshtest.FixtureServer {
			srv := meshtest.NewFixtureServer(t, "")
			fake := newFakeTenant(data, testClientID, testSecret)
			srv.RequireFunc(func(r *http.Request) bool {
				return r.URL.Path == pathToken || fake.goodToken(r.Header.Get("Authorization"))
			})
			srv.SetUnauthorized(http.StatusUnauthorized, nil,
				[]byte(`{"statusCode":401,"error":"Unauthorized","message":"Invalid token","attributes":{"error":"Invalid token"}}`))
			srv.Handle("/", fake.ServeHTTP)
			return srv
		},
		NewSource: func(t *testing.T, env meshtest.Env) (mesh.Source, error) {
			return New(Config{Domain: testDomain, ClientID: testClientID, ClientSecret: env.Credential(testSecret),
				BaseURL: env.BaseURL, Options: testOptions(env)})
		},
		Expect: meshtest.Expectations{
			MinNodes: 10,
			Types:    []string{"User", "Role", "Organization"},
			Counts:   map[string]int{"User": 5, "Role": 3, "Organization": 2},
			IDs:      []string{"user/auth0|64f1c2d3e4a5b6c7d8e9f001", "user/sms|65a0b1c2d3e4f5a6b7c8d9e0", "role/rol_Ab12Cd34Ef56Gh78", "organization/org_Q2w3E4r5T6y7U8i9"},
			Refs: []meshtest.ExpectedRef{
				{From: "user/auth0|64f1c2d3e4a5b6c7d8e9f001", Field: "roles", To: "role/rol_Ed1t0r00000000001"},
				{From: "user/auth0|64f1c2d3e4a5b6c7d8e9f001", Field: "organizations", To: "organization/org_Q2w3E4r5T6y7U8i9"},
				{From: "user/auth0|64f1c2d3e4a5b6c7d8e9f001", Field: "memberships.roles", To: "role/rol_Ab12Cd34Ef56Gh78"},
				{From: "user/auth0|6701a2b3c4d5e6f7a8b9c0d1", Field: "memberships.organization", To: "organization/org_A1s2D3f4G5h6J7k8"},
			},
		},
		RateLimit: meshtest.RateLimit{
			Wait:   time.Second,
			Reset:  []meshtest.ResetHeader{{Name: "x-ratelimit-reset", Format: meshtest.ResetUnixSeconds}},
			Header: http.Header{"X-Ratelimit-Limit": {"50"}, "X-Ratelimit-Remaining": {"0"}},
			Body:   []byte(`{"statusCode": 429, "error": "Too Many Requests", "message": "Global limit has been reached", "errorCode": "too_many_requests"}`),
		},
		Secrets: []string{testSecret, tokenFor(testSecret, 1), tokenFor(testSecret, 2)},
	})
}
