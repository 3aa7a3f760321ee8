package ghost

import (
	"net/http"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/mesh/meshtest"
)

const conformanceKey = "a6d2c9f1e8b7a6d5c4b3a2f1e0"

// unauthorizedBody is Ghost's answer to an unknown Content API key.
const unauthorizedBody = `{"errors":[{"message":"Authorization failed","context":"Unknown Content API Key","type":"UnauthorizedError","details":null,"property":null,"help":null,"code":null,"id":"0b8d2f10-0000-11ef-0000-000000000000","ghostErrorCode":null}]}`

// The fixture site.
const (
	postWelcome = "5ddc9141c35e7700383b2937"
	postSecond  = "5ddc9141c35e7700383b2938"
	postGo      = "5ddc9141c35e7700383b2939"
	pageAbout   = "5ddc9141c35e7700383b29a0"
	authorAda   = "1"
	authorGrace = "5951f5fca366002ebd5dbef7"
	tagNews     = "59799bbd6ebb2f00243a33db"
	tagGo       = "59799bbd6ebb2f00243a33dc"
	tagInternal = "59799bbd6ebb2f00243a33dd"
)

// heroAsset is the Asset node of https://example.ghost.io/content/images/2024/05/hero.jpg.
var heroAsset = "asset/" + newAsset("https://example.ghost.io/content/images/2024/05/hero.jpg").id

func harness(t *testing.T) meshtest.Harness {
	return meshtest.Harness{
		NewServer: func(t *testing.T) *meshtest.FixtureServer {
			srv := meshtest.NewFixtureServer(t, "")
			srv.RequireQuery("key", conformanceKey)
			srv.SetUnauthorized(http.StatusUnauthorized, nil, []byte(unauthorizedBody))
			newFakeSite(t).route(srv)
			return srv
		},
		NewSource: func(t *testing.T, env meshtest.Env) (mesh.Source, error) {
			return New(Config{
				URL: "https://example.ghost.io", Key: env.Credential(conformanceKey), BaseURL: env.BaseURL,
				Options: fetch.Options{Retries: &env.Retries, RetryWaitMin: env.RetryWaitMin, RetryWaitMax: env.RetryWaitMax,
					MaxRetryAfter: env.MaxRetryAfter, Timeout: env.Timeout},
			})
		},
		Expect: meshtest.Expectations{
			MinNodes: 14,
			Types:    []string{"Post", "Page", "Author", "Tag", "Asset"},
			Counts:   map[string]int{"Post": 3, "Page": 1, "Author": 2, "Tag": 3, "Asset": 5},
			IDs:      []string{"post/" + postWelcome, "page/" + pageAbout, "tag/" + tagInternal, heroAsset},
			Refs: []meshtest.ExpectedRef{
				{From: "post/" + postWelcome, Field: "authors", To: "author/" + authorAda},
				{From: "post/" + postWelcome, Field: "primary_author", To: "author/" + authorAda},
				{From: "post/" + postWelcome, Field: "tags", To: "tag/" + tagInternal},
				{From: "post/" + postWelcome, Field: "primary_tag", To: "tag/" + tagNews},
				{From: "post/" + postWelcome, Field: "feature_image", To: heroAsset},
				{From: "post/" + postWelcome, Field: "og_image", To: heroAsset},
				{From: "post/" + postSecond, Field: "authors", To: "author/" + authorGrace},
				{From: "page/" + pageAbout, Field: "authors", To: "author/" + authorAda},
			},
		},
		// Ghost itself sends no rate-limit headers; the CDN or proxy in front of it sends Retry-After.
		RateLimit:   meshtest.RateLimit{Reset: []meshtest.ResetHeader{meshtest.RetryAfter}},
		Incremental: true,
		Secrets:     []string{conformanceKey},
	}
}

func TestConformance(t *testing.T) { meshtest.Run(t, harness(t)) }
