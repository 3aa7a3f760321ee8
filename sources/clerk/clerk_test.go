package clerk

import (
	"context"
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
	"github.com/contentmesh/contentmesh/sources/internal/people"
	"github.com/contentmesh/contentmesh/sources/internal/people/peopletest"
)

const testKey = "sk_test_conformance_4f9aZ2"

func mustInstance(t testing.TB) *instance {
	t.Helper()
	data, err := loadInstance("testdata/instance.json")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestConformance(t *testing.T) {
	data := mustInstance(t)
	meshtest.Run(t, meshtest.Harness{
		NewServer: func(t *testing.T) *meshtest.FixtureServer {
			srv := meshtest.NewFixtureServer(t, "")
			srv.RequireHeader("Authorization", "Bearer "+testKey)
			srv.SetUnauthorized(http.StatusUnauthorized, nil,
				[]byte(`{"errors":[{"message":"Invalid authentication","long_message":"The provided secret key is invalid.","code":"authentication_invalid","meta":{}}],"clerk_trace_id":"a1b2"}`))
			srv.Handle("/", (&FakeInstance{data: data}).ServeHTTP)
			return srv
		},
		NewSource: func(t *testing.T, env meshtest.Env) (mesh.Source, error) {
			return New(Config{SecretKey: env.Credential(testKey), BaseURL: env.BaseURL,
				Options: fetch.Options{Retries: &env.Retries, RetryWaitMin: env.RetryWaitMin, RetryWaitMax: env.RetryWaitMax,
					MaxRetryAfter: env.MaxRetryAfter, Timeout: env.Timeout}})
		},
		Expect: meshtest.Expectations{
			MinNodes: 8,
			Types:    []string{"User", "Organization", "Role"},
			Counts:   map[string]int{"User": 3, "Organization": 2, "Role": 3},
			IDs:      []string{"user/user_2mK8pQz7Yd1Lr0VbN3sXcT4fGh", "organization/org_2nA0b1C2d3E4f5G6h7I8j9K0lM", "role/org:admin"},
			Refs: []meshtest.ExpectedRef{
				{From: "user/user_2mK8pQz7Yd1Lr0VbN3sXcT4fGh", Field: "organizations", To: "organization/org_2nA0b1C2d3E4f5G6h7I8j9K0lM"},
				{From: "user/user_2mK8pQz7Yd1Lr0VbN3sXcT4fGh", Field: "roles", To: "role/org:billing_manager"},
				{From: "user/user_2nC3dE4fG5hI6jK7lM8nO9pQ0r", Field: "memberships.organization", To: "organization/org_2nZ9y8X7w6V5u4T3s2R1q0P9oN"},
			},
		},
		RateLimit: meshtest.RateLimit{Body: []byte(`{"errors":[{"message":"Too many requests","long_message":"Too many requests, please try again later.","code":"too_many_requests"}],"clerk_trace_id":"3f9c"}`)},
		Secrets:   []string{testKey},
	})
}

func serve(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func newSource(t testing.TB, baseURL, key string, fields []string, log *peopletest.LogBuffer) *Source {
	t.Helper()
	retries := 1
	opts := fetch.Options{Retries: &retries, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond}
	if log != nil {
		opts.Logger = log.Logger()
	}
	s, err := New(Config{SecretKey: key, Fields: fields, BaseURL: baseURL, Options: opts})
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
		{Config{}, "secretKey"},
		{Config{SecretKey: "sk_test_x\n"}, "secretKey"},
		{Config{SecretKey: "sk", BaseURL: "api.clerk.com"}, "baseURL"},
		{Config{SecretKey: "sk", Fields: []string{"lastIp"}}, "no IP address"},
		{Config{SecretKey: "sk", Fields: []string{"privateMetadata"}}, `unknown field "privateMetadata"`},
	} {
		_, err := New(tc.cfg)
		if !errors.Is(err, mesh.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%v: err %v, want ErrInvalidConfig naming %s", tc.cfg, err, tc.key)
		}
	}
	if _, err := New(Config{SecretKey: "sk", Fields: []string{"email", "phone", "lastLogin", "metadata"}}); err != nil {
		t.Error(err)
	}
	if s := fmt.Sprintf("%v %+v %#v", Config{SecretKey: "sk_live_zzz"}, Config{SecretKey: "sk_live_zzz"}, Config{SecretKey: "sk_live_zzz"}); strings.Contains(s, "sk_live_zzz") {
		t.Errorf("printed config holds the key: %s", s)
	}
}

// TestMapUser is the mapping table: one Clerk user in, the User fields out.
func TestMapUser(t *testing.T) {
	data := mustInstance(t)
	aiko := string(data.Users[0])
	cases := []struct {
		name, user string
		fields     []string
		want       string
		updated    string
	}{
		{name: "public profile", user: aiko,
			want: `{"avatarUrl":"https://img.clerk.com/eyJ0eXBlIjoicHJveHkifQ","createdAt":"2025-01-04T14:13:20Z","displayName":"Aiko Tanaka","memberships":[],"organizations":[],"roles":[],"username":null}`},
		{name: "all selected", user: aiko, fields: []string{"email", "phone", "lastLogin", "metadata"},
			want:    `{"avatarUrl":"https://img.clerk.com/eyJ0eXBlIjoicHJveHkifQ","createdAt":"2025-01-04T14:13:20Z","displayName":"Aiko Tanaka","email":"aiko@example.com","lastLogin":"2025-09-11T08:40:00.123Z","memberships":[],"metadata":{"public":{"role":"meta-editor-5531"},"unsafe":{"theme":"theme-dark-2207"}},"organizations":[],"phone":"+819012345678","roles":[],"username":null}`,
			updated: "2025-09-11T08:40:00.999Z"},
		{name: "no name, never signed in", user: `{"id":"user_1","first_name":null,"last_name":null,"username":"carla","last_sign_in_at":null,"email_addresses":[{"id":"a","email_address":"x@y.example"}],"primary_email_address_id":null}`,
			fields: []string{"email", "lastLogin"},
			want:   `{"avatarUrl":null,"createdAt":null,"displayName":null,"email":"x@y.example","lastLogin":null,"memberships":[],"organizations":[],"roles":[],"username":"carla"}`},
		{name: "a first name that is an email", user: `{"id":"user_2","first_name":"ann@example.com","username":"+49 151 1234567"}`,
			want: `{"avatarUrl":null,"createdAt":null,"displayName":null,"memberships":[],"organizations":[],"roles":[],"username":null}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sel, err := people.Parse(Kind, tc.fields, knownFields, "")
			if err != nil {
				t.Fatal(err)
			}
			nodes, err := decodeUsers("p", []byte("["+tc.user+"]"), sel, nil)
			if err != nil || len(nodes) != 1 {
				t.Fatalf("%v %d", err, len(nodes))
			}
			got, _, _ := mesh.Canonicalize(nodes[0].Fields)
			if string(got) != tc.want {
				t.Errorf("\n got %s\nwant %s", got, tc.want)
			}
			var up string
			if !nodes[0].UpdatedAt.IsZero() {
				up = nodes[0].UpdatedAt.Format(time.RFC3339Nano)
			}
			if up != tc.updated {
				t.Errorf("updatedAt %q, want %q", up, tc.updated)
			}
		})
	}
}

func TestMapOrganizationsAndMemberships(t *testing.T) {
	data := mustInstance(t)
	items := gjson.Parse("[" + string(data.Organizations[0]) + "," + string(data.Organizations[1]) + "]")
	nodes, err := decodeOrganizations("p", items, people.Selection{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"name":"Blue Fin Labs","slug":"blue-fin-labs","logoUrl":"https://img.clerk.com/org-bluefin","createdAt":"2024-10-27T03:33:20Z"}`,
		`{"name":"Quiet Co","slug":"quiet-co","logoUrl":null,"createdAt":"2024-11-07T17:20:00Z"}`,
	}
	for i, n := range nodes {
		if string(n.Fields) != want[i] || n.UpdatedAt.IsZero() {
			t.Errorf("org %d: %s (updatedAt %v)\nwant %s", i, n.Fields, n.UpdatedAt, want[i])
		}
	}
	page := fmt.Sprintf(`{"data":[%s,%s],"total_count":2}`, data.Memberships["org_2nZ9y8X7w6V5u4T3s2R1q0P9oN"][0], data.Memberships["org_2nZ9y8X7w6V5u4T3s2R1q0P9oN"][1])
	ms, roles, err := decodeMemberships("p", "org_2nZ9y8X7w6V5u4T3s2R1q0P9oN", gjson.Get(page, "data"))
	if err != nil || len(roles) != 2 || roles[1].Name != "Billing manager" {
		t.Fatalf("%v %v", err, roles)
	}
	if got := ms["user_2mK8pQz7Yd1Lr0VbN3sXcT4fGh"]; len(got) != 1 || got[0].role != "p/role/org:billing_manager" || got[0].org != "p/organization/org_2nZ9y8X7w6V5u4T3s2R1q0P9oN" {
		t.Errorf("aiko's membership %v", got)
	}
	if _, _, err := decodeMemberships("p", "o", gjson.Parse(`[{"role":"org:x","public_user_data":{}}]`)); !errors.Is(err, mesh.ErrBadResponse) {
		t.Errorf("membership without user: %v", err)
	}
}

func TestGraphLinks(t *testing.T) {
	srv := serve(t, NewFakeInstance(testKey))
	m, _ := mesh.New(mesh.Options{})
	_ = m.Add("people", newSource(t, srv.URL, testKey, nil, nil))
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	g := b.Graph
	members := func(id, field string) []string {
		n, ok := g.Get(id)
		if !ok {
			t.Fatalf("no %s", id)
		}
		var out []string
		for u := range g.Backrefs(n, field) {
			out = append(out, u.Get("displayName").String()+"/"+u.Get("username").String())
		}
		slices.Sort(out)
		return out
	}
	if got := members("people/organization/org_2nA0b1C2d3E4f5G6h7I8j9K0lM", "organizations"); !slices.Equal(got, []string{"Aiko Tanaka/", "Ben Wright/bwright"}) {
		t.Errorf("Blue Fin members %v", got)
	}
	if got := members("people/role/org:member", "roles"); !slices.Equal(got, []string{"/carla.phone", "Ben Wright/bwright"}) {
		t.Errorf("members %v", got)
	}
	aiko, _ := g.Get("people/user/user_2mK8pQz7Yd1Lr0VbN3sXcT4fGh")
	want := `[{"organization":{"$ref":"people/organization/org_2nA0b1C2d3E4f5G6h7I8j9K0lM"},"roles":[{"$ref":"people/role/org:admin"}]},{"organization":{"$ref":"people/organization/org_2nZ9y8X7w6V5u4T3s2R1q0P9oN"},"roles":[{"$ref":"people/role/org:billing_manager"}]}]`
	if got := aiko.Get("memberships").Raw; got != want {
		t.Errorf("memberships\n got %s\nwant %s", got, want)
	}
}

// personalValues lists what must not leave by default: emails, phones, sign-in and activity times
// (as sent and as RFC 3339), update times, and metadata of every kind.
func personalValues(data *instance) map[string][]string {
	out := map[string][]string{}
	add := func(kind string, r gjson.Result) {
		if r.Type == gjson.Number {
			out[kind] = append(out[kind], r.Raw, time.UnixMilli(r.Int()).UTC().Format(time.RFC3339Nano))
		} else if r.String() != "" {
			out[kind] = append(out[kind], r.String())
		}
	}
	var leaves func(kind string, r gjson.Result)
	leaves = func(kind string, r gjson.Result) {
		r.ForEach(func(_, v gjson.Result) bool {
			if v.IsObject() || v.IsArray() {
				leaves(kind, v)
			} else {
				add(kind, v)
			}
			return true
		})
	}
	for _, raw := range data.Users {
		u := gjson.ParseBytes(raw)
		for _, e := range u.Get("email_addresses.#.email_address").Array() {
			add("email", e)
		}
		for _, p := range u.Get("phone_numbers.#.phone_number").Array() {
			add("phone", p)
		}
		for _, k := range []string{"last_sign_in_at", "last_active_at"} {
			add("lastLogin", u.Get(k))
		}
		if u.Get("updated_at").Int() != u.Get("created_at").Int() {
			add("lastLogin", u.Get("updated_at"))
		}
		for _, k := range []string{"public_metadata", "private_metadata", "unsafe_metadata"} {
			leaves("metadata", u.Get(k))
		}
		add("externalId", u.Get("external_id"))
	}
	for _, raw := range data.Organizations {
		leaves("metadata", gjson.ParseBytes(raw).Get("public_metadata"))
		leaves("metadata", gjson.ParseBytes(raw).Get("private_metadata"))
	}
	return out
}

func TestPrivacyDefault(t *testing.T) {
	data := mustInstance(t)
	srv := serve(t, NewFakeInstance(testKey))
	log := &peopletest.LogBuffer{}
	res := peopletest.Run(t, "people", newSource(t, srv.URL, testKey, nil, log), log)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if !strings.Contains(string(res.Logs), `"level":"DEBUG"`) || len(res.Files(t)) < 5 {
		t.Fatal("no debug logs or no output files: the scan could not fail")
	}
	for kind, values := range personalValues(data) {
		res.AssertNoLeak(t, kind, values)
	}
	res.AssertNoLeak(t, "the secret key", []string{testKey})
	if leaks := peopletest.Leaks(res.Texts(t), []string{"Aiko Tanaka", "Blue Fin Labs"}); len(leaks) == 0 {
		t.Error("the scan finds no public value either")
	}
}

func TestPrivacyFieldsEmail(t *testing.T) {
	data := mustInstance(t)
	srv := serve(t, NewFakeInstance(testKey))
	log := &peopletest.LogBuffer{}
	res := peopletest.Run(t, "people", newSource(t, srv.URL, testKey, []string{"email"}, log), log)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	values := personalValues(data)
	for _, kind := range []string{"phone", "lastLogin", "metadata"} {
		res.AssertNoLeak(t, kind, values[kind])
	}
	// Only primary emails leave: Aiko's second address stays.
	res.AssertNoLeak(t, "a secondary email", []string{"aiko.alt@example.org"})
	wantKeys := slices.Sorted(slices.Values(append(slices.Clone(peopletest.PublicUserKeys), "email")))
	emails := map[string]string{"user_2mK8pQz7Yd1Lr0VbN3sXcT4fGh": "aiko@example.com", "user_2mJ1aA2bB3cC4dD5eE6fF7gG8h": "ben.wright@example.net", "user_2nC3dE4fG5hI6jK7lM8nO9pQ0r": ""}
	for id, email := range emails {
		n, ok := res.Build.Graph.Get("people/user/" + id)
		if !ok {
			t.Fatalf("no user %s", id)
		}
		var keys []string
		gjson.ParseBytes(n.Fields).ForEach(func(k, _ gjson.Result) bool { keys = append(keys, k.String()); return true })
		if !slices.Equal(keys, wantKeys) {
			t.Errorf("%s: keys %v, want %v", id, keys, wantKeys)
		}
		if got := n.Get("email"); got.String() != email || (email == "" && got.Type != gjson.Null) {
			t.Errorf("%s: email %s, want %q", id, got.Raw, email)
		}
	}
}

func TestSecretsNeverShown(t *testing.T) {
	fake := NewFakeInstance(testKey)
	t.Run("401", func(t *testing.T) {
		srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			clerkError(w, http.StatusUnauthorized, "authentication_invalid", "secret key "+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")+" is invalid")
		}))
		log := &peopletest.LogBuffer{}
		res := peopletest.Run(t, "people", newSource(t, srv.URL, testKey, nil, log), log)
		if !errors.Is(res.Err, mesh.ErrUnauthorized) || !strings.Contains(res.Err.Error(), "authentication_invalid") {
			t.Fatalf("err = %v", res.Err)
		}
		res.AssertNoLeak(t, "the secret key", []string{testKey})
	})
	t.Run("500", func(t *testing.T) {
		srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/memberships") {
				clerkError(w, http.StatusInternalServerError, "internal_clerk_error", "failed for "+r.Header.Get("Authorization"))
				return
			}
			fake.ServeHTTP(w, r)
		}))
		log := &peopletest.LogBuffer{}
		res := peopletest.Run(t, "people", newSource(t, srv.URL, testKey, nil, log), log)
		if !errors.Is(res.Err, mesh.ErrUpstream) || !strings.Contains(res.Err.Error(), "internal_clerk_error") {
			t.Fatalf("err = %v", res.Err)
		}
		res.AssertNoLeak(t, "the secret key", []string{testKey})
	})
}

// TestUsersPagedUntilShort: the users listing trusts the count only to start with; a user created
// after the count is still fetched.
func TestUsersPagedUntilShort(t *testing.T) {
	data := mustInstance(t)
	base := &FakeInstance{data: data, key: testKey}
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == pathUsersCount {
			writeJSON(w, http.StatusOK, map[string]any{"object": "total_count", "total_count": 1}) // stale
			return
		}
		base.ServeHTTP(w, r)
	}))
	m, _ := mesh.New(mesh.Options{PageSize: 1})
	_ = m.Add("people", newSource(t, srv.URL, testKey, nil, nil))
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n := b.Graph.CountByType()["User"]; n != 3 {
		t.Errorf("%d users, want 3", n)
	}
}

func TestErrorMessage(t *testing.T) {
	for body, want := range map[string]string{
		`{"errors":[{"message":"not found","long_message":"Organization not found","code":"resource_not_found"}],"clerk_trace_id":"x"}`: "resource_not_found: Organization not found",
		`{"errors":[{"message":"Too many requests"}]}`: "Too many requests",
		`not json`: "not json",
	} {
		if got := errorMessage(404, []byte(body)); got != want {
			t.Errorf("%s: %q, want %q", body, got, want)
		}
	}
}
