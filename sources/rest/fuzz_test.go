package rest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/tidwall/gjson"
)

// FuzzDecodePage feeds arbitrary page bodies to the item decoder (items path, ids, reference
// rewriting): it must never panic, and what it accepts must be nodes the engine accepts.
func FuzzDecodePage(f *testing.F) {
	for _, name := range []string{"users.json", "posts.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "api", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, true)
		f.Add([]byte(`{"data": `+string(b)+`}`), false)
	}
	for _, s := range []string{
		`[{"id": 1, "userId": [1, null, "x"], "meta": {"editorId": 2}}]`,
		`{"data": [{"id": "a", "meta": {"editorId": {"$ref": "x"}}}]}`,
		`[{"id": 1e400}]`, `[{"id": -0}]`, `[{"id": "\u0000/@%"}]`, `[{"id": 1, "userId": 1, "userId": 2}]`,
		`[{"i\u0064": 1, "us\u0065rId": 3}]`, `[{"id": 1, "meta": [{"editorId": 1}]}]`,
	} {
		f.Add([]byte(s), true)
	}
	bare := decoder{source: "fz", items: "@this", id: "id", namespace: "post", nodeType: "Post", updatedAt: "updated_at",
		refs: []refField{
			{"meta.editorId", refTarget{"users", "user"}},
			{"reviewers", refTarget{"users", "user"}},
			{"userId", refTarget{"", "user"}},
		}}
	wrapped := bare
	wrapped.items = "data"
	f.Fuzz(func(t *testing.T, body []byte, isBare bool) {
		d := wrapped
		if isBare {
			d = bare
		}
		if !gjson.ValidBytes(body) {
			return // mesh/fetch never hands an invalid body to the decoder
		}
		nodes, err := d.decodePage(body, "http://api/page")
		if err != nil {
			return
		}
		for _, n := range nodes {
			if !mesh.ValidNodeID(n.ID) || !strings.HasPrefix(n.ID, "fz/post/") || n.NativeID == "" {
				t.Fatalf("bad id %q (native %q)", n.ID, n.NativeID)
			}
			c, refs, err := mesh.Canonicalize(n.Fields)
			if err != nil && strings.Contains(err.Error(), "out of range") {
				continue // a number no float64 holds: the engine rejects the node, naming it
			}
			if err != nil || c[0] != '{' {
				t.Fatalf("node %q: fields %q: %v", n.ID, n.Fields, err)
			}
			for _, r := range refs {
				if !mesh.ValidNodeID(r.To) {
					t.Fatalf("node %q: ref %q is not a node id", n.ID, r.To)
				}
			}
		}
	})
}
