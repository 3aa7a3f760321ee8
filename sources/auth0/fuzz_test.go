package auth0

import (
	"os"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/sources/internal/people"
	"github.com/contentmesh/contentmesh/sources/internal/people/peopletest"
)

func seedTenant(f *testing.F, key string) {
	b, err := os.ReadFile("testdata/tenant.json")
	if err != nil {
		f.Fatal(err)
	}
	items := gjson.GetBytes(b, key).Raw
	f.Add([]byte(items), false)
	f.Add([]byte(`{"start":0,"limit":50,"length":2,"total":2,"`+key+`":`+items+`}`), true)
	f.Add([]byte(`{"`+key+`":`+items+`,"next":"abc"}`), false)
	for _, s := range []string{`[]`, `{}`, `{"` + key + `":null}`, `[{"user_id":1}]`, `[{"id":"x","user_id":"a|b/c@d%"}]`,
		`[{"user_id":"u","name":"a@b.co","nickname":"+1 (555) 010-9999","created_at":"2024-13-45"}]`,
		`[{"id":"o","name":"n","metadata":[1],"branding":{"logo_url":7}}]`, `[1,"x",null]`} {
		f.Add([]byte(s), false)
	}
}

func selection(t *testing.T, all bool) people.Selection {
	var fields []string
	if all {
		fields = []string{"email", "phone", "lastLogin", "lastIp", "metadata"}
	}
	sel, err := people.Parse(Kind, fields, knownFields, "")
	if err != nil {
		t.Fatal(err)
	}
	return sel
}

// FuzzDecodeUsers: a users page, in any shape, never panics, and gives valid User nodes holding
// nothing personal when nothing is selected.
func FuzzDecodeUsers(f *testing.F) {
	seedTenant(f, "users")
	f.Fuzz(func(t *testing.T, body []byte, all bool) {
		if !gjson.ValidBytes(body) {
			return // mesh/fetch never hands an invalid body to a decoder
		}
		nodes, err := decodeUsers("fz", body, selection(t, all), nil)
		if err != nil {
			return
		}
		peopletest.CheckNodes(t, "fz", nodes, !all)
	})
}

// FuzzDecodeRoles: a roles page never panics and gives valid Role nodes.
func FuzzDecodeRoles(f *testing.F) {
	seedTenant(f, "roles")
	f.Fuzz(func(t *testing.T, body []byte, _ bool) {
		if !gjson.ValidBytes(body) {
			return
		}
		if nodes, err := decodeRoles("fz", body); err == nil {
			peopletest.CheckNodes(t, "fz", nodes, true)
		}
	})
}

// FuzzDecodeOrganizations: an organizations page (checkpoint shape) never panics and gives valid
// Organization nodes; the paging readers never panic either.
func FuzzDecodeOrganizations(f *testing.F) {
	seedTenant(f, "organizations")
	f.Fuzz(func(t *testing.T, body []byte, all bool) {
		if !gjson.ValidBytes(body) {
			return
		}
		_, _ = pageTotal(body)
		_ = checkpointNext(body)
		if nodes, err := decodeOrganizations("fz", body, selection(t, all)); err == nil {
			peopletest.CheckNodes(t, "fz", nodes, !all)
		}
	})
}
