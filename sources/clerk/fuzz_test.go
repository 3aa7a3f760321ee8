package clerk

import (
	"os"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/sources/internal/people"
	"github.com/contentmesh/contentmesh/sources/internal/people/peopletest"
)

func seeds(f *testing.F, key string, wrap bool) {
	b, err := os.ReadFile("testdata/instance.json")
	if err != nil {
		f.Fatal(err)
	}
	items := gjson.GetBytes(b, key).Raw
	if wrap {
		f.Add([]byte(`{"data":`+items+`,"total_count":2}`), false)
	} else {
		f.Add([]byte(items), false)
	}
	for _, s := range []string{`[]`, `{}`, `{"data":null}`, `[{"id":1}]`, `[{"id":"u/@%","created_at":-1,"first_name":"a@b.co"}]`,
		`{"data":[{"role":"org:a/b","public_user_data":{"user_id":"u"}}],"total_count":"x"}`, `[null,1,"x"]`,
		`[{"id":"u","email_addresses":[{"id":1}],"primary_email_address_id":1,"created_at":1e300}]`} {
		f.Add([]byte(s), true)
	}
}

func sel(t *testing.T, all bool) people.Selection {
	var fields []string
	if all {
		fields = []string{"email", "phone", "lastLogin", "metadata"}
	}
	s, err := people.Parse(Kind, fields, knownFields, "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// FuzzDecodeUsers: a users page never panics and gives valid User nodes, with nothing personal when
// nothing is selected.
func FuzzDecodeUsers(f *testing.F) {
	seeds(f, "users", false)
	f.Fuzz(func(t *testing.T, body []byte, all bool) {
		if !gjson.ValidBytes(body) {
			return
		}
		members := map[string][]membership{"u": {{org: "fz/organization/o", role: "fz/role/r"}}}
		if nodes, err := decodeUsers("fz", body, sel(t, all), members); err == nil {
			peopletest.CheckNodes(t, "fz", nodes, !all)
		}
	})
}

// FuzzDecodeOrganizations: an organizations page never panics and gives valid nodes.
func FuzzDecodeOrganizations(f *testing.F) {
	seeds(f, "organizations", true)
	f.Fuzz(func(t *testing.T, body []byte, all bool) {
		if !gjson.ValidBytes(body) {
			return
		}
		_, _ = totalCount(body)
		items, err := listData(body)
		if err != nil {
			return
		}
		if nodes, err := decodeOrganizations("fz", items, sel(t, all)); err == nil {
			peopletest.CheckNodes(t, "fz", nodes, !all)
		}
	})
}

// FuzzDecodeMemberships: a memberships page never panics and gives valid Role nodes.
func FuzzDecodeMemberships(f *testing.F) {
	b, err := os.ReadFile("testdata/instance.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"data":`+gjson.GetBytes(b, "memberships.org_2nA0b1C2d3E4f5G6h7I8j9K0lM").Raw+`,"total_count":2}`), false)
	f.Add([]byte(`{"data":[{"role":"","public_user_data":{"user_id":"u"}}]}`), false)
	f.Fuzz(func(t *testing.T, body []byte, _ bool) {
		if !gjson.ValidBytes(body) {
			return
		}
		if nodes, err := decodeMembershipsPage("fz", "o", body); err == nil {
			peopletest.CheckNodes(t, "fz", nodes, true)
		}
	})
}
