package ory

import (
	"os"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/sources/internal/people/peopletest"
)

// FuzzDecodePage: a page of identities never panics and gives valid nodes; with no field listed, a
// User holds the public keys only, whatever the traits.
func FuzzDecodePage(f *testing.F) {
	b, err := os.ReadFile("testdata/identities.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b, false)
	f.Add(b, true)
	for _, s := range []string{`[]`, `{}`, `[{"id":1}]`, `[{"id":"a/@%","traits":"x","metadata_public":{"roles":[1,"",{"a":1},"r/@%"]},"organization_id":7}]`,
		`[{"id":"i","traits":{"name":{"first":1,"last":["x"]},"username":"a@b.co","picture":null},"verifiable_addresses":[{"via":"email","value":3}]}]`,
		`[{"id":"i","traits":{"name":"+1 555 123 4567"},"metadata_public":{"x":1e999}}]`} {
		f.Add([]byte(s), true)
	}
	none, err := New(Config{AdminURL: "http://127.0.0.1:4434"})
	if err != nil {
		f.Fatal(err)
	}
	all, err := New(Config{AdminURL: "http://127.0.0.1:4434", Fields: []string{"email", "phone", "metadata", "name", "username", "picture", "name.first", "a.b"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, listed bool) {
		if !gjson.ValidBytes(body) {
			return
		}
		s := none
		if listed {
			s = all
		}
		if nodes, err := s.decodePage("fz", body); err == nil {
			peopletest.CheckNodes(t, "fz", nodes, !listed)
		}
	})
}
