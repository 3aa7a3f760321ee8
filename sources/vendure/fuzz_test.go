package vendure

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
)

func readShopFile(f *testing.F, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", "shop", name))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// checkNodes fails unless the nodes are what the engine accepts: valid IDs, a type, fields that
// canonicalize, $refs that are node IDs.
func checkNodes(t *testing.T, nodes []mesh.Node) {
	for _, n := range nodes {
		if !mesh.ValidNodeID(n.ID) || n.Type == "" {
			t.Fatalf("bad node %q %q", n.ID, n.Type)
		}
		_, refs, err := mesh.Canonicalize(n.Fields)
		if err != nil {
			t.Fatalf("node %s: fields %s: %v", n.ID, n.Fields, err)
		}
		for _, r := range refs {
			if !mesh.ValidNodeID(r.To) {
				t.Fatalf("node %s: $ref %q", n.ID, r.To)
			}
		}
	}
}

// FuzzProducts feeds arbitrary products pages to the product mapping: it must never panic, and what
// it accepts must be nodes the engine accepts.
func FuzzProducts(f *testing.F) {
	items := readShopFile(f, "products.json")
	f.Add([]byte(`{"data":{"products":{"totalItems":3,"items":` + string(items) + `}}}`))
	f.Add([]byte(`{"data":{"products":{"items":[{"id":5,"slug":null,"description":"<p>x","featuredAsset":{"id":"a/b@c","source":"http://h/%zz"},"variants":[{"id":"v","price":1e400,"currencyCode":"USD"}]}]}}}`))
	f.Add([]byte(`{"data":{"products":{"items":[{"id":"1","optionGroups":[{"id":"g","name":"\u0000","options":[{"id":"o","name":"x"}]}],"variants":[{"id":"v","price":-5,"currencyCode":"KWD","stockLevel":"-1","options":[{"id":"o"},{"id":"o2","groupId":"zz"}]}]}]}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if !gjson.ValidBytes(body) {
			return // mesh/fetch never hands an invalid body to the mapping
		}
		for _, item := range gjson.GetBytes(body, "data.products.items").Array() {
			nodes, err := (mapper{src: "fz"}).product(item, []string{"2", "a/b"})
			if err != nil {
				continue
			}
			checkNodes(t, nodes)
			// With raw: true the upstream JSON is copied as is (the engine checks numbers such as
			// 1e400, which gjson accepts): no panic is all that is asked.
			(mapper{src: "fz", raw: true}).product(item, nil)
		}
	})
}

// FuzzCollections feeds arbitrary collections pages to the collection mapping.
func FuzzCollections(f *testing.F) {
	items := readShopFile(f, "collections.json")
	f.Add([]byte(`{"data":{"collections":{"totalItems":4,"items":` + string(items) + `}}}`))
	f.Add([]byte(`{"data":{"collections":{"items":[{"id":"1","description":5,"featuredAsset":{"id":"","source":""}},{"id":[]}]}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if !gjson.ValidBytes(body) {
			return
		}
		for _, item := range gjson.GetBytes(body, "data.collections.items").Array() {
			nodes, err := (mapper{src: "fz"}).collection(item, []string{"1", "10"})
			if err != nil {
				continue
			}
			checkNodes(t, nodes)
		}
	})
}

// FuzzHTMLText feeds arbitrary descriptions to the HTML-to-text conversion: no panic, valid UTF-8 in
// gives valid UTF-8 out, and the white space is collapsed.
func FuzzHTMLText(f *testing.F) {
	for _, p := range gjson.ParseBytes(readShopFile(f, "products.json")).Array() {
		f.Add(p.Get("description").String())
	}
	for _, s := range []string{"<p>a</p>", "<script>", "<!--", "a<b", "&amp;&#0;&#x110000;", "<style>x</STYLE>y", "< p>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := htmlText(in)
		if utf8.ValidString(in) && !utf8.ValidString(out) {
			t.Fatalf("htmlText(%q) = %q: not UTF-8", in, out)
		}
		if strings.TrimSpace(out) != out || strings.Contains(out, "  ") {
			t.Fatalf("htmlText(%q) = %q: white space not collapsed", in, out)
		}
		if _, err := json.Marshal(out); err != nil {
			t.Fatal(err)
		}
	})
}

// TestHTMLTextScriptAfterInvalidUTF8: the end of a script element is found by byte index even when
// the script holds invalid UTF-8 (found by CI's fuzz run: the index of a lower-cased copy was used).
func TestHTMLTextScriptAfterInvalidUTF8(t *testing.T) {
	for in, want := range map[string]string{
		"<sCript>\x85\xb2\xb7\xe3\xd2</sCript":       "",
		"<sCript>\x85\xb2\xb7\xe3\xd2</sCript>after": "after",
		"a<STYLE>\xff\xff\xff\xff</style><p>b</p>":   "a b",
	} {
		if got := htmlText(in); got != want {
			t.Errorf("htmlText(%q) = %q, want %q", in, got, want)
		}
	}
}
