package ghost

import (
	"os"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
)

// FuzzDecodePage feeds arbitrary browse pages to the decoder of each resource: it must never
// panic, and what it accepts must be nodes the engine accepts, with references into this source.
func FuzzDecodePage(f *testing.F) {
	for i, res := range resources {
		b, err := os.ReadFile("testdata/content/" + res.name + ".json")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(i))
	}
	for _, s := range []string{
		`{"posts":[{"id":"a/b@%","authors":[{"id":7},"x"],"tags":null,"primary_tag":"t","feature_image":"::bad url"}]}`,
		`{"posts":[{"id":1e400,"authors":[{}]}]}`,
		`{"tags":[{"id":"t","meta":{"\u0024ref":"x"},"og_image":"/relative.png"}]}`,
		`{"authors":[{"id":"1","profile_image":"","updated_at":"2024-02-30T00:00:00Z"}]}`,
	} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		if !gjson.ValidBytes(body) {
			return // mesh/fetch never hands an invalid body to the decoder
		}
		res := resources[int(which)%len(resources)]
		d := decoder{source: "fz"}
		items, err := d.decodePage(body, "http://x/ghost/api/content/"+res.name+"/", res)
		if err != nil {
			return
		}
		for _, it := range items {
			checkNode(t, it.node)
			for _, a := range it.assets {
				checkNode(t, a.node("fz"))
			}
		}
	})
}

func checkNode(t *testing.T, n mesh.Node) {
	t.Helper()
	p, err := mesh.ParseNodeID(n.ID)
	if err != nil || !strings.HasPrefix(n.ID, "fz/") || p.NativeID != n.NativeID || n.Locale != "" || n.Type == "" {
		t.Fatalf("bad node %q (native %q, type %q): %v", n.ID, n.NativeID, n.Type, err)
	}
	c, refs, err := mesh.Canonicalize(n.Fields)
	if err != nil && strings.Contains(err.Error(), "out of range") {
		return // a number no float64 holds: the engine rejects the node, naming it
	}
	if err != nil || c[0] != '{' {
		t.Fatalf("node %q: fields %q: %v", n.ID, n.Fields, err)
	}
	for _, r := range refs {
		if !mesh.ValidNodeID(r.To) || !strings.HasPrefix(r.To, "fz/") {
			t.Fatalf("node %q: ref %q is not a node id of the source", n.ID, r.To)
		}
	}
}

// FuzzDecodeSweep feeds arbitrary sweep pages (fields=id,updated_at) to the sweep decoder and the
// pagination total.
func FuzzDecodeSweep(f *testing.F) {
	f.Add([]byte(`{"posts":[{"id":"5ddc9141c35e7700383b2937","updated_at":"2024-05-03T11:00:00.000+00:00"}],"meta":{"pagination":{"total":1}}}`))
	f.Add([]byte(`{"posts":[{"id":2}],"meta":{"pagination":{"total":-1.5}}}`))
	f.Add([]byte(`{"posts":{},"meta":{"pagination":{"total":"7"}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if !gjson.ValidBytes(body) {
			return
		}
		if stamps, err := decodeStamps(body, "http://x", posts); err == nil {
			for _, s := range stamps {
				if s.id == "" {
					t.Fatalf("empty id from %s", body)
				}
			}
		}
	})
}
