package meshtest_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/memsource"
	"github.com/contentmesh/contentmesh/mesh/meshtest"
)

// A source without HTTP (here the in-memory reference source) runs the suite with NewSource and
// the expectations alone; the HTTP subtests are skipped.
func ExampleRun() {
	_ = func(t *testing.T) { // the body of an adapter's TestConformance
		meshtest.Run(t, meshtest.Harness{
			NewSource: func(t *testing.T, env meshtest.Env) (mesh.Source, error) {
				return memsource.New(
					memsource.Record{Namespace: "author", NativeID: "a1", Type: "Author", Fields: json.RawMessage(`{"name":"Ada"}`)},
					memsource.Record{Namespace: "post", NativeID: "p1", Type: "Post",
						Fields: json.RawMessage(`{"author":{"$ref":"` + mesh.NodeID(env.Name, "author", "a1") + `"}}`)},
				)
			},
			Expect: meshtest.Expectations{
				MinNodes: 2,
				Types:    []string{"Author", "Post"},
				Refs:     []meshtest.ExpectedRef{{From: "post/p1", Field: "author", To: "author/a1"}},
			},
			Incremental: true,
		})
	}
}

// An adapter's own tests use the fixture server directly: static files from testdata, a route
// for a listing, the provider's 401, and faults; then they assert on the recorded requests.
func ExampleFixtureServer() {
	_ = func(t *testing.T) {
		srv := meshtest.NewFixtureServer(t, "testdata/http") // GET/api/info.json, ...
		srv.RequireHeader("Authorization", "Bearer test-token")
		srv.SetUnauthorized(http.StatusUnauthorized, nil, []byte(`{"message":"invalid token"}`))
		srv.Handle("GET /api/items", func(w http.ResponseWriter, r *http.Request) {
			page, per := meshtest.QueryInt(r, "page", 1), meshtest.QueryInt(r, "per_page", 10)
			meshtest.WriteJSON(w, http.StatusOK, map[string]any{"page": page, "perPage": per, "items": []any{}})
		})
		srv.Fail429(1, time.Second, meshtest.ResetHeader{Name: "X-Contentful-RateLimit-Reset", Format: meshtest.ResetSeconds})

		// ... run the adapter against srv.URL ...

		reqs := srv.Requests()
		if len(reqs) < 2 || reqs[1].Time.Before(reqs[0].ResetAt) {
			t.Errorf("the throttled request was retried before its reset time")
		}
	}
}
