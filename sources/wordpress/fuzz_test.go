package wordpress

import (
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
)

// FuzzDecodePage feeds arbitrary page bodies to the decoder of every kind of type: it must never
// panic, must fail only with mesh.ErrBadResponse, and must only produce valid nodes.
func FuzzDecodePage(f *testing.F) {
	site, err := os.ReadFile("testdata/site.json")
	if err != nil {
		f.Fatal(err)
	}
	gjson.ParseBytes(site).ForEach(func(_, items gjson.Result) bool {
		f.Add([]byte(items.Raw))
		return true
	})
	for _, s := range []string{`[]`, `[{"id":1,"title":{"rendered":"x","protected":true}}]`, `[{"id":2,"parent":0,"author":"3"}]`,
		`[{"id":3,"media_details":{"width":"w","sizes":[]},"source_url":5}]`, `{"code":"x"}`, `[{"id":1e3}]`, `[{"id":9223372036854775808}]`} {
		f.Add([]byte(s))
	}
	products := &typeInfo{restBase: "products", kind: kindPostType, slug: "product", namespace: "product", nodeType: "Product",
		taxFields: map[string]string{"genres": "genre"}}
	kinds := []*typeInfo{products}
	for _, b := range builtins {
		kinds = append(kinds, &b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ti := range kinds {
			nodes, err := decoder{source: "blog", t: ti}.page(body)
			if err != nil {
				if !errors.Is(err, mesh.ErrBadResponse) {
					t.Fatalf("%s: error %v does not wrap mesh.ErrBadResponse", ti.restBase, err)
				}
				continue
			}
			for _, n := range nodes {
				if !mesh.ValidNodeID(n.ID) || n.Type == "" || !json.Valid(n.Fields) || !gjson.ParseBytes(n.Fields).IsObject() {
					t.Fatalf("%s: bad node %+v", ti.restBase, n)
				}
				if _, _, err := mesh.Canonicalize(n.Fields); err != nil {
					t.Fatalf("%s: fields the engine rejects: %v: %s", ti.restBase, err, n.Fields)
				}
			}
		}
	})
}
