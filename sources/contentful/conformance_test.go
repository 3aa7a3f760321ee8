package contentful

import (
	"net/http"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/mesh/meshtest"
)

// rateLimitBody is Contentful's 429 body (api-notes/cms.md 1.10).
const rateLimitBody = `{"sys": {"type": "Error", "id": "RateLimitExceeded"}, "message": "You have exceeded the rate limit of the Organization this Space belongs to by making too many API requests within a short timespan. Please wait a moment before trying the request again.", "requestId": "4d0274fb176b51ae43a64b98639a3090"}`

const unauthorizedBody = `{"sys": {"type": "Error", "id": "AccessTokenInvalid"}, "message": "The access token you sent could not be found or is invalid.", "requestId": "c7f1c2a0"}`

// harness runs the suite against the fake space served by a meshtest.FixtureServer: the delivery
// API and its Sync API with every locale, or the Preview API in the default locale only.
func harness(preview bool) meshtest.Harness {
	token := testDeliveryToken
	if preview {
		token = testPreviewToken
	}
	h := meshtest.Harness{
		NewServer: func(t *testing.T) *meshtest.FixtureServer {
			fake := newFakeSpace(t)
			srv := meshtest.NewFixtureServer(t, "testdata")
			srv.RequireHeader("Authorization", "Bearer "+token)
			srv.SetUnauthorized(http.StatusUnauthorized, http.Header{"Content-Type": {"application/vnd.contentful.delivery.v1+json"}},
				[]byte(unauthorizedBody))
			srv.Handle("GET /spaces/", fake.ServeHTTP)
			return srv
		},
		NewSource: func(t *testing.T, env meshtest.Env) (mesh.Source, error) {
			cfg := Config{Space: "abc123", BaseURL: env.BaseURL,
				Options: fetch.Options{Retries: &env.Retries, RetryWaitMin: env.RetryWaitMin, RetryWaitMax: env.RetryWaitMax,
					MaxRetryAfter: env.MaxRetryAfter, Timeout: env.Timeout}}
			if preview {
				cfg.Preview, cfg.PreviewToken = true, env.Credential(token)
			} else {
				cfg.AccessToken, cfg.Locales = env.Credential(token), Locales{AllLocales}
			}
			return New(cfg)
		},
		RateLimit: meshtest.RateLimit{
			Wait:   time.Second,
			Reset:  []meshtest.ResetHeader{{Name: "X-Contentful-RateLimit-Reset", Format: meshtest.ResetSeconds}},
			Header: http.Header{"Content-Type": {"application/vnd.contentful.delivery.v1+json"}, "X-Contentful-Ratelimit-Second-Limit": {"55"}},
			Body:   []byte(rateLimitBody),
		},
		Secrets: []string{token},
	}
	if preview {
		h.Expect = meshtest.Expectations{
			MinNodes: 16,
			Types:    []string{"Asset", "BlogPost", "Category", "Person"},
			Counts:   map[string]int{"Asset": 4, "BlogPost": 7, "Category": 2, "Person": 3},
			IDs:      []string{"Entry/post-1", "Entry/post-draft", "Asset/hero"},
			Refs: []meshtest.ExpectedRef{
				{From: "Entry/post-2", Field: "related", To: "Entry/post-draft"},
				{From: "Entry/post-1", Field: "body.content.data.target", To: "Entry/ada"},
				{From: "Entry/ada", Field: "avatar", To: "Asset/avatar-ada"},
			},
		}
		return h
	}
	h.Incremental = true
	h.Expect = meshtest.Expectations{
		MinNodes: 60,
		Types:    []string{"Asset", "BlogPost", "Category", "Person"},
		Counts:   map[string]int{"Asset": 16, "BlogPost": 24, "Category": 8, "Person": 12},
		IDs:      []string{"Entry/post-1@en-US", "Entry/post-1@de-CH", "Asset/hero@fr-FR", "Entry/cat-news@de-DE"},
		Refs: []meshtest.ExpectedRef{
			{From: "Entry/post-1@de-DE", Field: "author", To: "Entry/ada@de-DE"},
			{From: "Entry/post-1@de-DE", Field: "heroImage", To: "Asset/hero-de@de-DE"},
			{From: "Entry/post-1@de-CH", Field: "heroImage", To: "Asset/hero-de@de-CH"},
			{From: "Entry/post-1@en-US", Field: "body.content.data.target", To: "Entry/ada@en-US"},
			{From: "Entry/post-1@en-US", Field: "body.content.content.data.target", To: "Entry/post-2@en-US"},
			{From: "Entry/post-1@en-US", Field: "related", To: "Entry/post-3@en-US"},
		},
		DanglingPrefixes: []string{"Entry/post-draft@"},
	}
	return h
}

func TestConformanceDelivery(t *testing.T) { meshtest.Run(t, harness(false)) }

func TestConformancePreview(t *testing.T) { meshtest.Run(t, harness(true)) }
