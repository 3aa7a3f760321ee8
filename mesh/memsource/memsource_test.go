package memsource_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/memsource"
	"github.com/contentmesh/contentmesh/mesh/meshtest"
)

// records is a small blog: authors, posts that reference them, a localized page pair, and a post
// that links to an unpublished draft (a ref allowed to dangle).
func records(name string) []memsource.Record {
	ref := func(ns, id string) string {
		b, _ := json.Marshal(map[string]string{"$ref": mesh.NodeID(name, ns, id)})
		return string(b)
	}
	at := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	recs := []memsource.Record{
		{Namespace: "author", NativeID: "a1", Type: "Author", UpdatedAt: at, Fields: json.RawMessage(`{"name":"Ada"}`)},
		{Namespace: "author", NativeID: "a2", Type: "Author", UpdatedAt: at, Fields: json.RawMessage(`{"name":"Brian"}`)},
		{Namespace: "page", NativeID: "about", Locale: "en-US", Type: "Page", Fields: json.RawMessage(`{"title":"About"}`)},
		{Namespace: "page", NativeID: "about", Locale: "de-DE", Type: "Page", Fields: json.RawMessage(`{"title":"Über uns"}`)},
	}
	for i := 1; i <= 5; i++ {
		author := "a1"
		if i%2 == 0 {
			author = "a2"
		}
		fields := fmt.Sprintf(`{"title":"Post %d","author":%s,"tags":["go","mesh"]}`, i, ref("author", author))
		if i == 5 {
			fields = fmt.Sprintf(`{"title":"Post 5","author":%s,"next":%s}`, ref("author", author), ref("draft", "d1"))
		}
		recs = append(recs, memsource.Record{Namespace: "post", NativeID: fmt.Sprintf("p/%d", i), Type: "Post",
			UpdatedAt: at.Add(time.Duration(i) * time.Hour), Fields: json.RawMessage(fields)})
	}
	return recs
}

// memsource is the reference implementation of mesh.Source: it passes the conformance suite.
func TestConformance(t *testing.T) {
	meshtest.Run(t, meshtest.Harness{
		NewSource: func(t *testing.T, env meshtest.Env) (mesh.Source, error) {
			return memsource.New(records(env.Name)...)
		},
		Expect: meshtest.Expectations{
			MinNodes:         9,
			Types:            []string{"Author", "Page", "Post"},
			Counts:           map[string]int{"Author": 2, "Page": 2, "Post": 5},
			IDs:              []string{"author/a1", "page/about@en-US", "page/about@de-DE", "post/p%2F3"},
			Refs:             []meshtest.ExpectedRef{{From: "post/p%2F1", Field: "author", To: "author/a1"}, {From: "post/p%2F2", Field: "author", To: "author/a2"}},
			DanglingPrefixes: []string{"draft/"},
		},
		Incremental: true,
	})
}
