package ory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/mesh/meshtest"
	"github.com/contentmesh/contentmesh/sources/internal/normalize"
	"github.com/contentmesh/contentmesh/sources/internal/people/peopletest"
)

const testToken = "ory_pat_conformance_Xq81Lm"

func mustIdentities(t testing.TB) []json.RawMessage {
	t.Helper()
	ids, err := loadIdentities("testdata/identities.json")
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// The conformance suite runs as against Ory Network: with a project API key.
func TestConformance(t *testing.T) {
	ids := mustIdentities(t)
	meshtest.Run(t, meshtest.Harness{
		NewServer: func(t *testing.T) *meshtest.FixtureServer {
			srv := meshtest.NewFixtureServer(t, "")
			srv.RequireHeader("Authorization", "Bearer "+testToken)
			srv.SetUnauthorized(http.StatusUnauthorized, nil,
				[]byte(`{"error":{"code":401,"status":"Unauthorized","message":"The request could not be authorized"}}`))
			srv.Handle("/", (&FakeKratos{identities: ids}).ServeHTTP)
			return srv
		},
		NewSource: func(t *testing.T, env meshtest.Env) (mesh.Source, error) {
			return New(Config{AdminURL: "https://acme.projects.oryapis.com", Token: env.Credential(testToken), BaseURL: env.BaseURL,
				Fields: []string{"name", "username"},
				Options: fetch.Options{Retries: &env.Retries, RetryWaitMin: env.RetryWaitMin, RetryWaitMax: env.RetryWaitMax,
					MaxRetryAfter: env.MaxRetryAfter, Timeout: env.Timeout}})
		},
		Expect: meshtest.Expectations{
			MinNodes: 6,
			Types:    []string{"User", "Role", "Organization"},
			Counts:   map[string]int{"User": 3, "Role": 2, "Organization": 1},
			IDs:      []string{"user/1b3c5d7e-0a2b-4c6d-8e0f-1a2b3c4d5e6f", "role/author", "organization/a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d"},
			Refs: []meshtest.ExpectedRef{
				{From: "user/1b3c5d7e-0a2b-4c6d-8e0f-1a2b3c4d5e6f", Field: "roles", To: "role/editor"},
				{From: "user/9c8b7a6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", Field: "organizations", To: "organization/a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d"},
			},
		},
		Secrets: []string{testToken},
	})
}

func serve(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func newSource(t testing.TB, adminURL, token string, fields []string, log *peopletest.LogBuffer) *Source {
	t.Helper()
	retries := 1
	opts := fetch.Options{Retries: &retries, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond}
	if log != nil {
		opts.Logger = log.Logger()
	}
	s, err := New(Config{AdminURL: adminURL, Token: token, Fields: fields, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		cfg Config
		key string
	}{
		{Config{}, "adminUrl"},
		{Config{AdminURL: "127.0.0.1:4434"}, "adminUrl"},
		{Config{AdminURL: "http://127.0.0.1:4434", BaseURL: "nope"}, "baseURL"},
		{Config{AdminURL: "http://127.0.0.1:4434", Token: "a b"}, "token"},
		{Config{AdminURL: "http://127.0.0.1:4434", Fields: []string{"lastLogin"}}, "no login time"},
		{Config{AdminURL: "http://127.0.0.1:4434", Fields: []string{"lastIp"}}, "no IP address"},
		{Config{AdminURL: "http://127.0.0.1:4434", Fields: []string{"name[0]"}}, `"name[0]"`},
		{Config{AdminURL: "http://127.0.0.1:4434", Fields: []string{"traits.a..b"}}, `"traits.a..b"`},
	} {
		_, err := New(tc.cfg)
		if !errors.Is(err, mesh.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%v: err %v, want ErrInvalidConfig naming %s", tc.cfg, err, tc.key)
		}
	}
	s, err := New(Config{AdminURL: "http://127.0.0.1:4434", Fields: []string{"email", "phone", "metadata", "name", "traits.address.city", "traits.email"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.sel.String(); got != "[email metadata phone address.city email name]" {
		t.Errorf("selection %s", got)
	}
	c := Config{AdminURL: "https://x.projects.oryapis.com", Token: "ory_pat_secret"}
	if s := fmt.Sprintf("%v %+v %#v %s", c, c, c, c.LogValue()); strings.Contains(s, "ory_pat_secret") {
		t.Errorf("printed config holds the token: %s", s)
	}
}

// TestMapIdentity is the mapping table: one identity in, the User fields out.
func TestMapIdentity(t *testing.T) {
	ids := mustIdentities(t)
	kai, phoneOnly := string(ids[0]), string(ids[2])
	cases := []struct {
		name, identity string
		fields         []string
		want           string
	}{
		{name: "nothing listed: no trait leaves", identity: kai,
			want: `{"avatarUrl":null,"createdAt":"2025-04-01T10:00:00Z","displayName":null,"organizations":[{"$ref":"p/organization/a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d"}],"roles":[{"$ref":"p/role/author"},{"$ref":"p/role/editor"}],"username":null}`},
		{name: "profile traits", identity: kai, fields: []string{"name", "username", "picture"},
			want: `{"avatarUrl":"https://cdn.example.com/avatars/kai.png","createdAt":"2025-04-01T10:00:00Z","displayName":"Kai Moreno","organizations":[{"$ref":"p/organization/a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d"}],"roles":[{"$ref":"p/role/author"},{"$ref":"p/role/editor"}],"traits":{"name":{"first":"Kai","last":"Moreno"},"picture":"https://cdn.example.com/avatars/kai.png","username":"kaim"},"username":"kaim"}`},
		{name: "first name only", identity: kai, fields: []string{"traits.name.first"},
			want: `{"avatarUrl":null,"createdAt":"2025-04-01T10:00:00Z","displayName":"Kai","organizations":[{"$ref":"p/organization/a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d"}],"roles":[{"$ref":"p/role/author"},{"$ref":"p/role/editor"}],"traits":{"name":{"first":"Kai"}},"username":null}`},
		{name: "personal fields", identity: kai, fields: []string{"email", "phone", "metadata"},
			want: `{"avatarUrl":null,"createdAt":"2025-04-01T10:00:00Z","displayName":null,"email":"kai@example.com","metadata":{"plan":"plan-gold-3141","roles":["author","editor"]},"organizations":[{"$ref":"p/organization/a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d"}],"phone":"+34 600 123 456","roles":[{"$ref":"p/role/author"},{"$ref":"p/role/editor"}],"username":null}`},
		{name: "a username that is a phone number", identity: phoneOnly, fields: []string{"username", "phone"},
			want: `{"avatarUrl":null,"createdAt":"2025-05-05T05:05:05Z","displayName":null,"organizations":[{"$ref":"p/organization/a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d"}],"phone":"+447700900123","roles":[{"$ref":"p/role/author"}],"traits":{"username":"+447700900123"},"username":null}`},
		{name: "a listed trait the identity lacks", identity: string(ids[1]), fields: []string{"picture"},
			want: `{"avatarUrl":null,"createdAt":"2024-12-12T12:12:12Z","displayName":null,"organizations":[],"roles":[],"traits":{},"username":null}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSource(t, "http://127.0.0.1:4434", "", tc.fields, nil)
			nodes, err := s.decodeIdentity("p", gjson.Parse(tc.identity))
			if err != nil {
				t.Fatal(err)
			}
			u := nodes[len(nodes)-1]
			got, _, _ := mesh.Canonicalize(u.Fields)
			if string(got) != tc.want || u.Type != "User" || !u.UpdatedAt.IsZero() {
				t.Errorf("\n got %s (%s, updatedAt %v)\nwant %s", got, u.Type, u.UpdatedAt, tc.want)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	for body, want := range map[string]string{
		`{"error":{"code":404,"status":"Not Found","message":"Unable to locate the resource"}}`:                                                                                  "Unable to locate the resource",
		`{"error":{"code":409,"status":"Conflict","reason":"This identity conflicts with another identity that already exists.","message":"The resource could not be created"}}`: "The resource could not be created: This identity conflicts with another identity that already exists.",
	} {
		if got := errorMessage(404, []byte(body)); got != want {
			t.Errorf("%q, want %q", got, want)
		}
	}
}

// TestPaging: keyset paging through the Link header, at every page size, gives the same graph.
func TestPaging(t *testing.T) {
	srv := serve(t, NewFakeKratos())
	var want []string
	for _, size := range []int{0, 1, 2, 3} {
		m, _ := mesh.New(mesh.Options{PageSize: size})
		_ = m.Add("people", newSource(t, srv.URL, "", nil, nil))
		b, err := m.Build(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for n := range b.Graph.Nodes() {
			got = append(got, n.ID+" "+n.Digest)
		}
		if want == nil {
			want = got
		} else if !slices.Equal(got, want) {
			t.Errorf("page size %d: %v\nwant %v", size, got, want)
		}
		if reqs := b.Report.Sources[0].Requests; size == 1 && reqs != 3 || size == 2 && reqs != 2 {
			t.Errorf("page size %d: %d requests", size, reqs)
		}
	}
}

// personalValues lists what must not leave by default: every trait value (none is listed), emails,
// phones, metadata other than the roles, and the update times.
func personalValues(ids []json.RawMessage) map[string][]string {
	out := map[string][]string{}
	var leaves func(kind string, r gjson.Result, skip string)
	leaves = func(kind string, r gjson.Result, skip string) {
		r.ForEach(func(k, v gjson.Result) bool {
			switch {
			case k.String() == skip:
			case v.IsObject() || v.IsArray():
				leaves(kind, v, "")
			case v.String() != "":
				out[kind] = append(out[kind], v.String())
			}
			return true
		})
	}
	for _, raw := range ids {
		it := gjson.ParseBytes(raw)
		leaves("traits", it.Get("traits"), "")
		leaves("addresses", it.Get("verifiable_addresses.#.value"), "")
		leaves("metadata", it.Get("metadata_public"), "roles")
		leaves("metadata", it.Get("metadata_admin"), "")
		if v := it.Get("updated_at").String(); v != "" {
			out["updatedAt"] = append(out["updatedAt"], v, normalize.TimeString(v))
		}
	}
	return out
}

func TestPrivacyDefault(t *testing.T) {
	ids := mustIdentities(t)
	srv := serve(t, &FakeKratos{identities: ids, token: testToken})
	log := &peopletest.LogBuffer{}
	res := peopletest.Run(t, "people", newSource(t, srv.URL, testToken, nil, log), log)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if !strings.Contains(string(res.Logs), `"level":"DEBUG"`) || len(res.Files(t)) < 5 {
		t.Fatal("no debug logs or no output files: the scan could not fail")
	}
	for kind, values := range personalValues(ids) {
		res.AssertNoLeak(t, kind, values)
	}
	res.AssertNoLeak(t, "the token", []string{testToken})
	if leaks := peopletest.Leaks(res.Texts(t), []string{"1b3c5d7e-0a2b-4c6d-8e0f-1a2b3c4d5e6f", "author"}); len(leaks) == 0 {
		t.Error("the scan finds no public value either")
	}
}

// TestPrivacyFieldsEmail: listing email brings exactly the email in; listing traits brings those
// traits and no other.
func TestPrivacyFields(t *testing.T) {
	ids := mustIdentities(t)
	srv := serve(t, NewFakeKratos())
	values := personalValues(ids)

	log := &peopletest.LogBuffer{}
	res := peopletest.Run(t, "people", newSource(t, srv.URL, "", []string{"email"}, log), log)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	res.AssertNoLeak(t, "metadata", values["metadata"])
	res.AssertNoLeak(t, "other traits", []string{"+34 600 123 456", "+447700900123", "Kai", "Moreno", "kaim", "1990-02-03-private", "Pat"})
	for id, email := range map[string]string{"1b3c5d7e-0a2b-4c6d-8e0f-1a2b3c4d5e6f": "kai@example.com", "6a2d3b4e-99c0-4d5e-8f1a-2b3c4d5e6f7a": "former@example.org", "9c8b7a6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d": ""} {
		n, _ := res.Build.Graph.Get("people/user/" + id)
		var keys []string
		gjson.ParseBytes(n.Fields).ForEach(func(k, _ gjson.Result) bool { keys = append(keys, k.String()); return true })
		if !slices.Equal(keys, []string{"avatarUrl", "createdAt", "displayName", "email", "organizations", "roles", "username"}) || n.Get("email").String() != email {
			t.Errorf("%s: keys %v, email %s", id, keys, n.Get("email").Raw)
		}
	}

	log = &peopletest.LogBuffer{}
	res = peopletest.Run(t, "people", newSource(t, srv.URL, "", []string{"name"}, log), log)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	res.AssertNoLeak(t, "unlisted traits", []string{"kai@example.com", "former@example.org", "+34 600 123 456", "kaim", "1990-02-03-private", "cdn.example.com"})
	kai, _ := res.Build.Graph.Get("people/user/1b3c5d7e-0a2b-4c6d-8e0f-1a2b3c4d5e6f")
	if kai.Get("displayName").String() != "Kai Moreno" || kai.Get("traits").Raw != `{"name":{"first":"Kai","last":"Moreno"}}` {
		t.Errorf("kai: %s", kai.Fields)
	}
}

func TestSecretsNeverShown(t *testing.T) {
	fake := &FakeKratos{identities: mustIdentities(t), token: testToken}
	for _, tc := range []struct {
		name   string
		status int
		is     error
	}{{"401", http.StatusUnauthorized, mesh.ErrUnauthorized}, {"500", http.StatusInternalServerError, mesh.ErrUpstream}} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls++
				if calls > 1 || tc.status == http.StatusUnauthorized { // the second page fails
					oryError(w, tc.status, "token "+r.Header.Get("Authorization")+" refused", "The request failed")
					return
				}
				r.URL.RawQuery = "page_size=1"
				fake.ServeHTTP(w, r)
			}))
			log := &peopletest.LogBuffer{}
			res := peopletest.Run(t, "people", newSource(t, srv.URL, testToken, nil, log), log)
			if !errors.Is(res.Err, tc.is) || !strings.Contains(res.Err.Error(), "The request failed: token") {
				t.Fatalf("err = %v, want %v with Ory's message", res.Err, tc.is)
			}
			res.AssertNoLeak(t, "the token", []string{testToken})
		})
	}
}
