package strapi

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
)

// FuzzDecodePage feeds arbitrary page bodies to the entry decoder (v4 and v5 shapes, with and
// without the schema and the id index) and media library bodies to the Asset decoder: they must
// never panic, must fail only with mesh.ErrBadResponse, and must only produce valid nodes.
func FuzzDecodePage(f *testing.F) {
	for _, s := range []string{
		`{"data":[{"id":12,"documentId":"znrl","title":"Hello","locale":"en","author":{"id":3,"documentId":"a1","name":"Ada"},` +
			`"categories":[{"id":1,"documentId":"c1"}],"cover":{"id":7,"documentId":"m3","mime":"image/jpeg","url":"/u/h.jpg","size":1.5,` +
			`"formats":{"thumbnail":{"url":"/u/t.jpg"}}},"localizations":[{"id":16,"documentId":"znrl","locale":"fr"}]}],"meta":{"pagination":{"total":1}}}`,
		`{"data":[{"id":12,"attributes":{"title":"Hello","cover":{"data":{"id":7,"attributes":{"mime":"a/b","url":"x"}}},` +
			`"author":{"data":{"id":3,"attributes":{"name":"Ada"}}},"tags":{"data":[]},"localizations":{"data":null}}}]}`,
		`{"data":{"id":1,"documentId":"home","title":"Single type"}}`,
		`[{"id":7,"name":"a.png","mime":"image/png","url":"/uploads/a.png","size":-1,"width":"w"}]`,
		`{"data":[{"id":1,"documentId":"x","createdAt":"not a time","publishedAt":null}]}`,
		`{"data":[{"documentId":"x","attributes":[]}]}`,
	} {
		f.Add([]byte(s))
	}
	sch, err := parseSchema([]byte(`{"data":[{"uid":"api::article.article","schema":{"singularName":"article","pluralName":"articles",
		"pluginOptions":{"i18n":{"localized":true}},"attributes":{"author":{"type":"relation","target":"api::author.author"},"data":{"type":"json"}}}},
		{"uid":"api::author.author","schema":{"singularName":"author","pluralName":"authors","attributes":{}}}]}`))
	if err != nil {
		f.Fatal(err)
	}
	index := map[string][]string{"3": {"authors"}, "a1": {"authors"}, "c1": {"categories", "tags"}}
	decoders := []*decoder{
		{source: "cms", collection: "articles", origin: "https://cms.example.com", schema: sch.colls["articles"], warn: func(string) {}},
		{source: "cms", collection: "articles", origin: "https://cms.example.com", localeAll: true, assets: true, warn: func(string) {},
			resolve: func(field, key string) (string, bool) { return pickCollection(field, key, index[key]) }},
		{source: "cms", collection: "x", warn: func(string) {}},
	}
	check := func(t *testing.T, n mesh.Node) {
		if !mesh.ValidNodeID(n.ID) || n.Type == "" || !json.Valid(n.Fields) || !gjson.ParseBytes(n.Fields).IsObject() {
			t.Fatalf("bad node %+v", n)
		}
		if _, _, err := mesh.Canonicalize(n.Fields); err != nil {
			t.Fatalf("fields the engine rejects: %v: %s", err, n.Fields)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, d := range decoders {
			nodes, err := d.page(body)
			if err != nil && !errors.Is(err, mesh.ErrBadResponse) {
				t.Fatalf("error %v does not wrap mesh.ErrBadResponse", err)
			}
			for _, n := range nodes {
				check(t, n)
			}
		}
		if !gjson.ValidBytes(body) {
			return
		}
		gjson.ParseBytes(body).ForEach(func(_, file gjson.Result) bool {
			n, err := decoders[0].asset(file)
			if err != nil {
				if !errors.Is(err, mesh.ErrBadResponse) {
					t.Fatalf("asset error %v does not wrap mesh.ErrBadResponse", err)
				}
				return true
			}
			check(t, n)
			return true
		})
	})
}
