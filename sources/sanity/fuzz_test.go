package sanity

import (
	"os"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
)

// seedPages are query answers built from the fixture dataset, plus shapes at the edges.
func seedPages(f *testing.F) [][]byte {
	b, err := os.ReadFile("testdata/production.ndjson")
	if err != nil {
		f.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	seeds := [][]byte{[]byte(`{"ms":1,"result":[` + strings.Join(lines, ",") + `]}`)}
	for _, l := range lines {
		seeds = append(seeds, []byte(`{"result":[`+l+`]}`))
	}
	for _, s := range []string{
		`{"result":[]}`, `{"result":null}`, `{"result":[{"_id":"a","_type":"p","x":{"_ref":""}}]}`,
		`{"result":[{"_id":"drafts.","_type":"p"}]}`, `{"result":[{"_id":"a/b@c%d","_type":"p","r":{"_ref":"x@y/z%"}}]}`,
		`{"result":[{"_id":"a","_type":"p","t":{"en":{"_ref":"q"},"de":[{"_key":"en","value":{"$ref":"z"}}]}}]}`,
		`{"result":[{"_id":"a","_type":"p","x":{"\u0024ref":"z"},"y":[{"$$ref":1}]}]}`,
		`{"result":[{"_id":"a","_type":"p","_updatedAt":"2024-13-01T00:00:00Z"}]}`,
		`{"result":[{"_id":"a","_type":"sanity.imageAsset","metadata":{"dimensions":{"width":"1","height":1e400}}}]}`,
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// FuzzDecodePage feeds arbitrary query answers to the document decoder, with and without locales
// and the drafts perspective: it must never panic, and what it accepts must be nodes the engine
// accepts, with IDs that agree with their native IDs and locales.
func FuzzDecodePage(f *testing.F) {
	for _, s := range seedPages(f) {
		f.Add(s, uint8(0))
	}
	decoders := []decoder{
		{source: "fz"},
		{source: "fz", drafts: true},
		{source: "fz", locales: []locale{{"en", "en"}, {"de_CH", "de-CH"}}},
	}
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		if !gjson.ValidBytes(body) {
			return // mesh/fetch never hands an invalid body to the decoder
		}
		d := decoders[int(which)%len(decoders)]
		docs, err := d.decodePage(body, "http://api/page")
		if err != nil {
			return
		}
		for _, doc := range docs {
			for _, n := range doc.nodes {
				p, err := mesh.ParseNodeID(n.ID)
				if err != nil || !strings.HasPrefix(n.ID, "fz/document/") || p.NativeID != n.NativeID || p.Locale != n.Locale || n.Type == "" {
					t.Fatalf("bad node %q (native %q, locale %q, type %q): %v", n.ID, n.NativeID, n.Locale, n.Type, err)
				}
				c, refs, err := mesh.Canonicalize(n.Fields)
				if err != nil && strings.Contains(err.Error(), "out of range") {
					continue // a number no float64 holds: the engine rejects the node, naming it
				}
				if err != nil || c[0] != '{' {
					t.Fatalf("node %q: fields %q: %v", n.ID, n.Fields, err)
				}
				for _, r := range refs {
					if !mesh.ValidNodeID(r.To) || !strings.HasPrefix(r.To, "fz/document/") {
						t.Fatalf("node %q: ref %q is not a node id of the source", n.ID, r.To)
					}
				}
			}
		}
	})
}

// FuzzDecodeSweep feeds arbitrary answers to the sweep decoder and the keyset continuation.
func FuzzDecodeSweep(f *testing.F) {
	for _, s := range seedPages(f) {
		f.Add(s, 3)
	}
	f.Add([]byte(`{"result":[{"_id":"a","_updatedAt":"x"},{"_id":"b"}]}`), 2)
	f.Add([]byte(`{"result":[{"_id":"a"},{"_id":1}]}`), 2)
	f.Fuzz(func(t *testing.T, body []byte, size int) {
		if !gjson.ValidBytes(body) || size <= 0 {
			return
		}
		stamps, err := decodeStamps(body, "http://api/page", size%2 == 0)
		if err == nil {
			for _, s := range stamps {
				if s.id == "" {
					t.Fatalf("empty ID from %s", body)
				}
			}
		}
		last, err := nextLastID(body, "http://api/page", size)
		if err == nil && last != "" && len(gjson.GetBytes(body, "result").Array()) < size {
			t.Fatalf("a short page continues after %q", last)
		}
	})
}
