package directus

import (
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
)

// FuzzDecodePage feeds arbitrary page bodies to the item decoder of every collection of the test
// schema and to the files decoder: they must never panic, must fail only with mesh.ErrBadResponse,
// and must only produce valid nodes.
func FuzzDecodePage(f *testing.F) {
	ds, err := os.ReadFile("testdata/dataset.json")
	if err != nil {
		f.Fatal(err)
	}
	gjson.ParseBytes(ds).ForEach(func(_, rows gjson.Result) bool {
		f.Add([]byte(`{"data":` + rows.Raw + `,"meta":{"filter_count":3}}`))
		return true
	})
	for _, s := range []string{
		`{"data":[{"id":1,"author":{"id":2,"name":"x"},"categories":[{"categories_id":{"id":3}}],"cover":null}]}`,
		`{"data":[{"id":"a/b@c","author":"","categories":[{"categories_id":null}],"date_updated":"yesterday"}]}`,
		`{"data":[{"id":"u","filesize":"12","width":"w","type":5,"modified_on":"2024-01-01T00:00:00"}]}`,
		`{"errors":[{"message":"x","extensions":{"code":"FORBIDDEN"}}]}`,
	} {
		f.Add([]byte(s))
	}
	fake, err := newFakeDirectus("")
	if err != nil {
		f.Fatal(err)
	}
	sch, err := parseSchema(fake.fields, fake.relations)
	if err != nil {
		f.Fatal(err)
	}
	var decoders []*decoder
	for name, info := range sch {
		decoders = append(decoders, &decoder{source: "site", origin: "https://d.example.com", info: info, files: name == filesCollection})
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, d := range decoders {
			nodes, err := d.page(body)
			if err != nil {
				if !errors.Is(err, mesh.ErrBadResponse) {
					t.Fatalf("%s: error %v does not wrap mesh.ErrBadResponse", d.info.name, err)
				}
				continue
			}
			for _, n := range nodes {
				if !mesh.ValidNodeID(n.ID) || n.Type == "" || !json.Valid(n.Fields) || !gjson.ParseBytes(n.Fields).IsObject() {
					t.Fatalf("%s: bad node %+v", d.info.name, n)
				}
				if _, _, err := mesh.Canonicalize(n.Fields); err != nil {
					t.Fatalf("%s: fields the engine rejects: %v: %s", d.info.name, err, n.Fields)
				}
			}
		}
	})
}
