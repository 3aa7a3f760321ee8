package sanity

import (
	"net/http"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/mesh/meshtest"
)

const conformanceToken = "sk-conformance-token-4d1e"

// unauthorizedBody is Sanity's answer to a rejected token.
const unauthorizedBody = `{"statusCode":401,"error":"Unauthorized","message":"Session not found"}`

func harness(t *testing.T, locales []string) meshtest.Harness {
	expect := meshtest.Expectations{
		MinNodes: 10,
		Types:    []string{"Post", "Author", "Category", "Asset", "SiteSettings"},
		Counts:   map[string]int{"Post": 2, "Author": 2, "Category": 2, "Asset": 3, "SiteSettings": 1},
		IDs: []string{"document/author-ada", "document/0f1c2d3e-1111-4a4a-9b9b-aaaaaaaaaaaa",
			"document/image-4f6c1e2d9a0b7c3e5d8f1a2b3c4d5e6f7a8b9c0d-1600x900-jpg"},
		Refs: []meshtest.ExpectedRef{
			{From: "document/0f1c2d3e-1111-4a4a-9b9b-aaaaaaaaaaaa", Field: "author", To: "document/author-ada"},
			{From: "document/0f1c2d3e-1111-4a4a-9b9b-aaaaaaaaaaaa", Field: "mainImage.asset",
				To: "document/image-4f6c1e2d9a0b7c3e5d8f1a2b3c4d5e6f7a8b9c0d-1600x900-jpg"},
			{From: "document/0f1c2d3e-1111-4a4a-9b9b-aaaaaaaaaaaa", Field: "body.markDefs.reference",
				To: "document/7a8b9c0d-2222-4b4b-8c8c-bbbbbbbbbbbb"},
			{From: "document/7a8b9c0d-2222-4b4b-8c8c-bbbbbbbbbbbb", Field: "attachment.asset",
				To: "document/file-5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f-pdf"},
		},
	}
	if len(locales) > 0 {
		expect = meshtest.Expectations{
			MinNodes: 17,
			Types:    []string{"Post", "Author", "Asset", "SiteSettings"},
			Counts:   map[string]int{"Post": 4, "Author": 4, "Category": 4, "Asset": 3, "SiteSettings": 2},
			IDs:      []string{"document/siteSettings@en", "document/siteSettings@de", "document/author-ada@de"},
			Refs: []meshtest.ExpectedRef{
				{From: "document/siteSettings@de", Field: "featured", To: "document/0f1c2d3e-1111-4a4a-9b9b-aaaaaaaaaaaa@de"},
				{From: "document/siteSettings@de", Field: "logo.asset", To: "document/image-9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b-400x400-png"},
			},
		}
	}
	return meshtest.Harness{
		NewServer: func(t *testing.T) *meshtest.FixtureServer {
			srv := meshtest.NewFixtureServer(t, "")
			srv.RequireHeader("Authorization", "Bearer "+conformanceToken)
			srv.SetUnauthorized(http.StatusUnauthorized, nil, []byte(unauthorizedBody))
			newFakeAPI(t).route(srv)
			return srv
		},
		NewSource: func(t *testing.T, env meshtest.Env) (mesh.Source, error) {
			return New(Config{
				ProjectID: "abcd1234", Dataset: "production", Token: env.Credential(conformanceToken),
				Locales: locales, BaseURL: env.BaseURL,
				Options: fetch.Options{Retries: &env.Retries, RetryWaitMin: env.RetryWaitMin,
					RetryWaitMax: env.RetryWaitMax, MaxRetryAfter: env.MaxRetryAfter, Timeout: env.Timeout},
			})
		},
		Expect: expect,
		// Sanity answers 429 with Retry-After and RateLimit-Reset (seconds to wait).
		RateLimit: meshtest.RateLimit{
			Reset: []meshtest.ResetHeader{meshtest.RetryAfter, {Name: "RateLimit-Reset", Format: meshtest.ResetSeconds}},
			Body:  []byte(`{"statusCode":429,"error":"Too Many Requests","message":"API rate limit exceeded"}`),
		},
		Incremental: true,
		Secrets:     []string{conformanceToken, "preview-secret-value"},
	}
}

func TestConformance(t *testing.T) { meshtest.Run(t, harness(t, nil)) }

func TestConformanceLocales(t *testing.T) { meshtest.Run(t, harness(t, []string{"en", "de"})) }
