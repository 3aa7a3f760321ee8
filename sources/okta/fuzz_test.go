package okta

import (
	"os"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/internal/people"
	"github.com/contentmesh/contentmesh/sources/internal/people/peopletest"
)

func seeds(f *testing.F, key string) {
	b, err := os.ReadFile("testdata/org.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(gjson.GetBytes(b, key).Raw), false)
	for _, s := range []string{`[]`, `{}`, `[{"id":1}]`, `[{"id":"a/@%","profile":{"displayName":"+1 555 555 5555","nickName":"a@b.co","x":{"y":[1]}}}]`,
		`[{"id":"g","type":"BUILT_IN"},{"id":"h","profile":"x","lastUpdated":7}]`, `[null]`, `[{"id":"u","profile":{"email":1,"a":1e999}}]`} {
		f.Add([]byte(s), true)
	}
}

// FuzzDecodeUsers: a users page never panics and gives valid User nodes, with nothing personal when
// nothing is selected.
func FuzzDecodeUsers(f *testing.F) {
	seeds(f, "users")
	f.Fuzz(func(t *testing.T, body []byte, all bool) {
		if !gjson.ValidBytes(body) {
			return
		}
		var fields []string
		if all {
			fields = []string{"email", "phone", "lastLogin", "metadata"}
		}
		sel, err := people.Parse(Kind, fields, knownFields, "")
		if err != nil {
			t.Fatal(err)
		}
		var nodes []mesh.Node
		for _, it := range gjson.ParseBytes(body).Array() {
			n, err := decodeUser("fz", it, sel, map[string][]string{"u": {"fz/role/g"}})
			if err != nil {
				return
			}
			nodes = append(nodes, n)
		}
		peopletest.CheckNodes(t, "fz", nodes, !all)
	})
}

// FuzzDecodeGroups: a groups page never panics and gives valid Role nodes.
func FuzzDecodeGroups(f *testing.F) {
	seeds(f, "groups")
	f.Fuzz(func(t *testing.T, body []byte, _ bool) {
		if !gjson.ValidBytes(body) {
			return
		}
		var nodes []mesh.Node
		for _, it := range gjson.ParseBytes(body).Array() {
			r, ok, err := decodeGroup(it)
			if err != nil {
				return
			}
			if ok {
				nodes = append(nodes, r.Node("fz"))
			}
		}
		peopletest.CheckNodes(t, "fz", nodes, true)
	})
}
