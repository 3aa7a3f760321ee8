package storyblok

import (
	"net/http"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/mesh/meshtest"
)

const conformanceToken = "sbConformanceToken42tt"

// The fixture stories.
const (
	uuidPost1 = "3ce5d163-3bb4-41ef-9e1a-709d7c4848ff"
	uuidPost2 = "9be5d163-3bb4-41ef-9e1a-709d7c484900"
	uuidAda   = "7ad8af26-9551-493c-bf9d-e5aace43d94c"
	uuidNews  = "a1c2e3f4-0000-4000-8000-00000000c0de"
	uuidHome  = "b2d3f4a5-1111-4111-9111-000000000001"
)

// testRelations are the fixture space's reference fields.
var testRelations = []string{"post.author", "post.categories", "page.featured"}

func harness(t *testing.T, languages []string) meshtest.Harness {
	expect := meshtest.Expectations{
		MinNodes: 9,
		Types:    []string{"Post", "Author", "BlogCategory", "Page", "Asset"},
		Counts:   map[string]int{"Post": 2, "Author": 1, "BlogCategory": 1, "Page": 1, "Asset": 4},
		IDs:      []string{"story/" + uuidPost1, "asset/6201216", "asset/6201219"},
		Refs: []meshtest.ExpectedRef{
			{From: "story/" + uuidPost1, Field: "content.author", To: "story/" + uuidAda},
			{From: "story/" + uuidPost1, Field: "content.categories", To: "story/" + uuidNews},
			{From: "story/" + uuidPost1, Field: "content.image.id", To: "asset/6201216"},
			{From: "story/" + uuidPost1, Field: "content.blocks.link.id", To: "story/" + uuidPost2},
			{From: "story/" + uuidPost1, Field: "content.blocks.images.id", To: "asset/6201218"},
			{From: "story/" + uuidPost1, Field: "content.body.content.content.marks.attrs.uuid", To: "story/" + uuidPost2},
			{From: "story/" + uuidHome, Field: "content.featured", To: "story/" + uuidPost1},
			{From: "story/" + uuidHome, Field: "content.body.image.id", To: "asset/6201216"},
			{From: "story/" + uuidAda, Field: "content.avatar.id", To: "asset/6201217"},
		},
	}
	if len(languages) > 0 {
		expect.MinNodes = 14
		expect.Counts = map[string]int{"Post": 4, "Author": 2, "BlogCategory": 2, "Page": 2, "Asset": 4}
		expect.IDs = append(expect.IDs, "story/"+uuidPost1+"@de")
		expect.Refs = append(expect.Refs,
			meshtest.ExpectedRef{From: "story/" + uuidPost1 + "@de", Field: "content.author", To: "story/" + uuidAda + "@de"},
			meshtest.ExpectedRef{From: "story/" + uuidPost1 + "@de", Field: "content.image.id", To: "asset/6201216"})
	}
	return meshtest.Harness{
		NewServer: func(t *testing.T) *meshtest.FixtureServer {
			srv := meshtest.NewFixtureServer(t, "")
			srv.RequireQuery("token", conformanceToken)
			srv.SetUnauthorized(http.StatusUnauthorized, nil, []byte(`{"error":"Unauthorized"}`))
			newFakeSpace(t).route(srv)
			return srv
		},
		NewSource: func(t *testing.T, env meshtest.Env) (mesh.Source, error) {
			return New(Config{
				Token: env.Credential(conformanceToken), Languages: languages, Relations: testRelations, BaseURL: env.BaseURL,
				Options: fetch.Options{Retries: &env.Retries, RetryWaitMin: env.RetryWaitMin, RetryWaitMax: env.RetryWaitMax,
					MaxRetryAfter: env.MaxRetryAfter, Timeout: env.Timeout, RequestsPerSecond: 1000},
			})
		},
		Expect: expect,
		// Storyblok documents no Retry-After or quota header on its 429s.
		RateLimit:   meshtest.RateLimit{NoHeader: true},
		Incremental: true,
		Secrets:     []string{conformanceToken},
	}
}

func TestConformance(t *testing.T) { meshtest.Run(t, harness(t, nil)) }

func TestConformanceLanguages(t *testing.T) { meshtest.Run(t, harness(t, []string{"de"})) }
