package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/mesh/meshtest"
)

const conformanceToken = "Bearer conformance-token-7f3a"

// pagedRoute serves a dataset of testdata/api in pages: style "body" as the v1 API of fakeAPI
// ({"data": [...], "links": {"next": ...}}), style "link" as a bare array with a Link header.
func pagedRoute(t *testing.T, dataset, style string) http.HandlerFunc {
	var items []json.RawMessage
	meshtest.ReadJSON(t, filepath.Join("testdata", "api", dataset+".json"), &items)
	return func(w http.ResponseWriter, r *http.Request) {
		page, limit := meshtest.QueryInt(r, "page", 1), meshtest.QueryInt(r, "limit", 2)
		start := min(max(page-1, 0)*max(limit, 1), len(items))
		end := min(start+max(limit, 1), len(items))
		pageItems := append([]json.RawMessage{}, items[start:end]...)
		next := ""
		if end < len(items) {
			next = r.URL.Path + "?page=" + strconv.Itoa(page+1) + "&limit=" + strconv.Itoa(limit)
		}
		if style == "link" {
			if next != "" {
				w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, next))
			}
			meshtest.WriteJSON(w, http.StatusOK, pageItems)
			return
		}
		body := map[string]any{"data": pageItems, "links": map[string]any{"next": nil}}
		if next != "" {
			body["links"] = map[string]any{"next": next}
		}
		meshtest.WriteJSON(w, http.StatusOK, body)
	}
}

func harness(t *testing.T, style string) meshtest.Harness {
	dataset, cfg := "posts", Config{URL: "/v1/posts", Items: "data", ID: "id", NodeType: "Post", Next: "links.next",
		UpdatedAt: "updated_at"}
	expect := meshtest.Expectations{MinNodes: 5, Types: []string{"Post"}, Counts: map[string]int{"Post": 5},
		IDs: []string{"post/p-101", "post/p-105"}}
	if style == "link" {
		dataset, cfg = "users", Config{URL: "/v2/users", Items: "@this", ID: "id", NodeType: "User", Next: NextLink,
			Refs: map[string]string{"managerId": "User"}}
		expect = meshtest.Expectations{MinNodes: 4, Types: []string{"User"}, Counts: map[string]int{"User": 4},
			IDs:  []string{"user/1", "user/9007199254740993"},
			Refs: []meshtest.ExpectedRef{{From: "user/2", Field: "managerId", To: "user/1"}, {From: "user/9007199254740993", Field: "managerId", To: "user/3"}}}
	}
	return meshtest.Harness{
		NewServer: func(t *testing.T) *meshtest.FixtureServer {
			srv := meshtest.NewFixtureServer(t, "testdata") // no static fixtures: the listings are routes
			srv.RequireHeader("Authorization", conformanceToken)
			srv.SetUnauthorized(http.StatusUnauthorized, nil, []byte(`{"error": {"message": "invalid token"}}`))
			srv.Handle("GET "+cfg.URL, pagedRoute(t, dataset, style))
			return srv
		},
		NewSource: func(t *testing.T, env meshtest.Env) (mesh.Source, error) {
			c := cfg
			c.BaseURL = env.BaseURL
			c.Headers = Headers{"Authorization": env.Credential(conformanceToken)}
			if env.PageSize > 0 {
				c.PageSize, c.PageParam = env.PageSize, "limit"
			}
			c.Options = fetch.Options{Retries: &env.Retries, RetryWaitMin: env.RetryWaitMin, RetryWaitMax: env.RetryWaitMax,
				MaxRetryAfter: env.MaxRetryAfter, Timeout: env.Timeout}
			return New(c)
		},
		Expect:      expect,
		Incremental: true,
		Secrets:     []string{"conformance-token-7f3a"},
	}
}

func TestConformanceBodyNext(t *testing.T) { meshtest.Run(t, harness(t, "body")) }

func TestConformanceLinkHeader(t *testing.T) { meshtest.Run(t, harness(t, "link")) }
