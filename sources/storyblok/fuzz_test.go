package storyblok

import (
	"os"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
)

func seedStories(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, name := range []string{"stories.json", "stories.de.json", "stories.draft.json"} {
		b, err := os.ReadFile("testdata/cdn/" + name)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, []byte(`{"stories":`+string(b)+`,"cv":1715000000,"rels":[],"links":[]}`))
	}
	for _, s := range []string{
		`{"stories":[]}`,
		`{"stories":[{"uuid":"a/b@c%","content":{"component":"p","author":["x",1,null,{"uuid":"y","full_slug":"s","content":{}}]}}]}`,
		`{"stories":[{"uuid":"a","content":{"component":"p","i":{"fieldtype":"asset","filename":"https://a/f/1/0x99999999999/h/x","id":{"n":1}}}}]}`,
		`{"stories":[{"uuid":"a","content":{"component":"p","l":{"linktype":"story","id":"","uuid":"q"},"$ref":"z","x":{"\u0024ref":"k"}}}]}`,
		`{"stories":[{"uuid":"a","published_at":"2024-02-30T00:00:00Z","content":{"component":"p"}}]}`,
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// FuzzDecodePage feeds arbitrary stories pages to the story decoder (content rewriting, assets,
// relations, languages): it must never panic, and what it accepts must be nodes the engine accepts.
func FuzzDecodePage(f *testing.F) {
	for _, s := range seedStories(f) {
		f.Add(s, false, "")
		f.Add(s, true, "de")
	}
	rel := map[string]map[string]bool{"post": {"author": true, "categories": true}, "p": {"author": true}, "page": {"featured": true}}
	f.Fuzz(func(t *testing.T, body []byte, draft bool, lang string) {
		if !gjson.ValidBytes(body) || (lang != "" && !languageRE.MatchString(lang)) {
			return // mesh/fetch hands only valid JSON over; New accepts only language codes
		}
		d := decoder{source: "fz", relations: rel, draft: draft}
		stories, err := d.decodePage(body, "http://api/v2/cdn/stories", lang)
		if err != nil {
			return
		}
		for _, st := range stories {
			checkNode(t, st.node)
			if st.node.Locale != lang {
				t.Fatalf("node %q: locale %q, want %q", st.node.ID, st.node.Locale, lang)
			}
			for _, a := range st.assets {
				checkNode(t, a.node("fz"))
			}
		}
	})
}

func checkNode(t *testing.T, n mesh.Node) {
	t.Helper()
	p, err := mesh.ParseNodeID(n.ID)
	if err != nil || !strings.HasPrefix(n.ID, "fz/") || p.NativeID != n.NativeID || p.Locale != n.Locale || n.Type == "" {
		t.Fatalf("bad node %q (native %q, locale %q, type %q): %v", n.ID, n.NativeID, n.Locale, n.Type, err)
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

// FuzzDecodeLinks feeds arbitrary links pages to the sweep decoder.
func FuzzDecodeLinks(f *testing.F) {
	f.Add([]byte(`{"links":{"c337e7a3":{"id":460950252,"uuid":"c337e7a3","slug":"website-a","parent_id":null,"name":"Website A","is_folder":true,"published":false,"position":0},`+
		`"3ce5d163":{"id":460947950,"uuid":"3ce5d163","slug":"website-a/home","parent_id":460950252,"name":"Home","is_folder":false,"published":true,"position":10,"published_at":"2024-05-03T11:00:00.000Z"}}}`), false)
	f.Add([]byte(`{"links":[{"uuid":"a","published":false},{"uuid":"b","updated_at":7}]}`), true)
	f.Add([]byte(`{"links":{}}`), false)
	f.Fuzz(func(t *testing.T, body []byte, draft bool) {
		if !gjson.ValidBytes(body) {
			return
		}
		d := decoder{source: "fz", draft: draft}
		links, err := d.decodeLinks(body, "http://api/v2/cdn/links")
		if err != nil {
			return
		}
		for _, l := range links {
			if l.uuid == "" || len(l.stamp) != 16 {
				t.Fatalf("link %+v", l)
			}
		}
	})
}
