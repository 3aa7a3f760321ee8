package okta

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
	"github.com/contentmesh/contentmesh/sources/internal/normalize"
	"github.com/contentmesh/contentmesh/sources/internal/people"
	"github.com/contentmesh/contentmesh/sources/internal/people/peopletest"
)

const testToken = "00aBcD-conformance-token-QrSt"

func mustOrg(t testing.TB) *oktaOrg {
	t.Helper()
	o, err := loadOrg("testdata/org.json")
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestConformance(t *testing.T) {
	data := mustOrg(t)
	meshtest.Run(t, meshtest.Harness{
		NewServer: func(t *testing.T) *meshtest.FixtureServer {
			srv := meshtest.NewFixtureServer(t, "")
			srv.RequireHeader("Authorization", "SSWS "+testToken)
			srv.SetUnauthorized(http.StatusUnauthorized, nil,
				[]byte(`{"errorCode":"E0000011","errorSummary":"Invalid token provided","errorLink":"E0000011","errorId":"oae1","errorCauses":[]}`))
			srv.Handle("/", (&FakeOrg{data: data}).ServeHTTP)
			return srv
		},
		NewSource: func(t *testing.T, env meshtest.Env) (mesh.Source, error) {
			return New(Config{OrgURL: "https://acme.okta.com", Token: env.Credential(testToken), BaseURL: env.BaseURL,
				Options: fetch.Options{Retries: &env.Retries, RetryWaitMin: env.RetryWaitMin, RetryWaitMax: env.RetryWaitMax,
					MaxRetryAfter: env.MaxRetryAfter, Timeout: env.Timeout}})
		},
		Expect: meshtest.Expectations{
			MinNodes: 5,
			Types:    []string{"User", "Role"},
			Counts:   map[string]int{"User": 3, "Role": 2},
			IDs:      []string{"user/00u1a2b3c4D5E6f7G8h9", "role/00g1x2y3z4A5B6c7D8e9", "role/00g5AppGroupEngin001"},
			Refs: []meshtest.ExpectedRef{
				{From: "user/00u9zz8yy7XX6ww5VV4u", Field: "roles", To: "role/00g5AppGroupEngin001"},
				{From: "user/00u1a2b3c4D5E6f7G8h9", Field: "roles", To: "role/00g1x2y3z4A5B6c7D8e9"},
			},
		},
		RateLimit: meshtest.RateLimit{
			Reset:  []meshtest.ResetHeader{{Name: "X-Rate-Limit-Reset", Format: meshtest.ResetUnixSeconds}},
			Header: http.Header{"X-Rate-Limit-Limit": {"600"}, "X-Rate-Limit-Remaining": {"0"}},
			Body:   []byte(`{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests.","errorLink":"E0000047","errorId":"oae2","errorCauses":[]}`),
		},
		Secrets: []string{testToken},
	})
}

func serve(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func newSource(t testing.TB, baseURL string, fields []string, log *peopletest.LogBuffer) *Source {
	t.Helper()
	retries := 1
	opts := fetch.Options{Retries: &retries, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond}
	if log != nil {
		opts.Logger = log.Logger()
	}
	s, err := New(Config{OrgURL: "https://acme.okta.com", Token: testToken, Fields: fields, BaseURL: baseURL, Options: opts})
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
		{Config{Token: "t"}, "orgUrl"},
		{Config{OrgURL: "acme.okta.com", Token: "t"}, "orgUrl"},
		{Config{OrgURL: "https://acme.okta.com/api/v1", Token: "t"}, "orgUrl"},
		{Config{OrgURL: "https://acme.okta.com"}, "token"},
		{Config{OrgURL: "https://acme.okta.com", Token: "t", BaseURL: "::"}, "baseURL"},
		{Config{OrgURL: "https://acme.okta.com", Token: "t", Fields: []string{"lastIp"}}, "no IP address"},
		{Config{OrgURL: "https://acme.okta.com", Token: "t", Fields: []string{"department"}}, `unknown field "department"`},
	} {
		_, err := New(tc.cfg)
		if !errors.Is(err, mesh.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%v: err %v, want ErrInvalidConfig naming %s", tc.cfg, err, tc.key)
		}
	}
	if _, err := New(Config{OrgURL: "https://acme.okta.com/", Token: "t", Fields: []string{"email", "phone", "lastLogin", "metadata"}}); err != nil {
		t.Error(err)
	}
	c := Config{OrgURL: "https://acme.okta.com", Token: "00secret-token"}
	if s := fmt.Sprintf("%v %+v %#v %s", c, c, c, c.LogValue()); strings.Contains(s, "00secret-token") {
		t.Errorf("printed config holds the token: %s", s)
	}
}

// TestMapUser is the mapping table: one Okta user in, the User fields out.
func TestMapUser(t *testing.T) {
	data := mustOrg(t)
	wei := string(data.Users[2])
	cases := []struct {
		name, user string
		fields     []string
		want       string
		updated    string
	}{
		{name: "display name and nickname", user: wei,
			want: `{"avatarUrl":null,"createdAt":"2023-02-02T02:02:02Z","displayName":"Wei Zhang (Docs)","organizations":[],"roles":[{"$ref":"p/role/g1"}],"username":"wzhang"}`},
		{name: "first and last name; the login is not a username", user: string(data.Users[0]),
			want: `{"avatarUrl":null,"createdAt":"2024-05-01T10:00:00Z","displayName":"Lena Fischer","organizations":[],"roles":[],"username":null}`},
		{name: "everything selected", user: wei, fields: []string{"email", "phone", "lastLogin", "metadata"},
			want:    `{"avatarUrl":null,"createdAt":"2023-02-02T02:02:02Z","displayName":"Wei Zhang (Docs)","email":"wei.zhang@example.com","lastLogin":"2025-09-09T19:45:12Z","metadata":{"costCenter":"cc-private-7781","employeeNumber":"emp-55012"},"organizations":[],"phone":"+1 917 555 0199","roles":[{"$ref":"p/role/g1"}],"username":"wzhang"}`,
			updated: "2025-07-07T07:07:07Z"},
		{name: "no phone, never signed in", user: string(data.Users[1]), fields: []string{"phone", "lastLogin"},
			want: `{"avatarUrl":null,"createdAt":"2025-08-20T15:00:00Z","displayName":"Omar Haddad","lastLogin":null,"organizations":[],"phone":null,"roles":[],"username":null}`, updated: "2025-08-20T15:00:00Z"},
		{name: "a display name that is an email", user: `{"id":"00u1","profile":{"displayName":"x@y.example","nickName":"+1 555 0100 999"}}`,
			want: `{"avatarUrl":null,"createdAt":null,"displayName":null,"organizations":[],"roles":[],"username":null}`},
	}
	roles := map[string][]string{"00u9zz8yy7XX6ww5VV4u": {"p/role/g1"}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sel, err := people.Parse(Kind, tc.fields, knownFields, "")
			if err != nil {
				t.Fatal(err)
			}
			n, err := decodeUser("p", gjson.Parse(tc.user), sel, roles)
			if err != nil {
				t.Fatal(err)
			}
			got, _, _ := mesh.Canonicalize(n.Fields)
			if string(got) != tc.want {
				t.Errorf("\n got %s\nwant %s", got, tc.want)
			}
			var up string
			if !n.UpdatedAt.IsZero() {
				up = n.UpdatedAt.Format(time.RFC3339)
			}
			if up != tc.updated {
				t.Errorf("updatedAt %q, want %q", up, tc.updated)
			}
		})
	}
}

func TestMapGroups(t *testing.T) {
	data := mustOrg(t)
	for i, want := range []string{`{"name":"Content Editors","description":"Can publish articles"}`, "", `{"name":"Engineering","description":null}`} {
		r, ok, err := decodeGroup(gjson.ParseBytes(data.Groups[i]))
		if err != nil || ok != (want != "") {
			t.Fatalf("group %d: ok %v err %v", i, ok, err)
		}
		if ok {
			if n := r.Node("p"); string(n.Fields) != want || n.UpdatedAt.IsZero() {
				t.Errorf("group %d: %s, want %s", i, n.Fields, want)
			}
		}
	}
	if _, _, err := decodeGroup(gjson.Parse(`{"profile":{}}`)); !errors.Is(err, mesh.ErrBadResponse) {
		t.Errorf("group without id: %v", err)
	}
}

func TestGraphAndPaging(t *testing.T) {
	srv := serve(t, NewFakeOrg(testToken))
	for _, pageSize := range []int{0, 1} {
		m, _ := mesh.New(mesh.Options{PageSize: pageSize})
		_ = m.Add("people", newSource(t, srv.URL, nil, nil))
		b, err := m.Build(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		editors, _ := b.Graph.Get("people/role/00g1x2y3z4A5B6c7D8e9")
		var names []string
		for u := range b.Graph.Backrefs(editors, "roles") {
			names = append(names, u.Get("displayName").String())
		}
		if !slices.Equal(names, []string{"Lena Fischer", "Wei Zhang (Docs)"}) {
			t.Errorf("page size %d: editors %v", pageSize, names)
		}
		if _, ok := b.Graph.Get("people/role/00g0000000Everyone01"); ok {
			t.Error("the built-in Everyone group is a role")
		}
		// Page size 1: 3 pages of groups, 2 + 1 pages of members (Everyone is not listed), 3 of users.
		if want := map[int]int{0: 4, 1: 9}[pageSize]; b.Report.Sources[0].Requests != want {
			t.Errorf("page size %d: %d requests, want %d", pageSize, b.Report.Sources[0].Requests, want)
		}
	}
}

// TestTokenStaysHome: a Link header naming another host does not get the token.
func TestTokenStaysHome(t *testing.T) {
	var leaked []string
	other := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked = append(leaked, r.Header.Get("Authorization"))
		w.Write([]byte(`[]`))
	}))
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Link", `<`+other.URL+`/api/v1/groups?after=x>; rel="next"`)
		w.Write([]byte(`[]`))
	}))
	m, _ := mesh.New(mesh.Options{})
	_ = m.Add("people", newSource(t, srv.URL, nil, nil))
	_, err := m.Build(context.Background())
	if err == nil || !strings.Contains(err.Error(), "refusing to send the credentials") {
		t.Errorf("err = %v", err)
	}
	if len(leaked) > 0 {
		t.Errorf("the other host got %q", leaked)
	}
}

func personalValues(data *oktaOrg) map[string][]string {
	out := map[string][]string{}
	for _, raw := range data.Users {
		u := gjson.ParseBytes(raw)
		p := u.Get("profile")
		for _, k := range []string{"email", "secondEmail", "login"} {
			if v := p.Get(k).String(); v != "" {
				out["email"] = append(out["email"], v)
			}
		}
		for _, k := range []string{"mobilePhone", "primaryPhone"} {
			if v := p.Get(k).String(); v != "" {
				out["phone"] = append(out["phone"], v)
			}
		}
		for _, k := range []string{"lastLogin", "lastUpdated", "activated", "statusChanged", "passwordChanged"} {
			if v := u.Get(k).String(); v != "" && v != u.Get("created").String() {
				out["lastLogin"] = append(out["lastLogin"], v, normalize.TimeString(v))
			}
		}
		for _, k := range []string{"department", "title", "streetAddress", "city", "zipCode", "employeeNumber", "costCenter"} {
			if v := p.Get(k).String(); v != "" {
				out["metadata"] = append(out["metadata"], v)
			}
		}
	}
	return out
}

func TestPrivacyDefault(t *testing.T) {
	data := mustOrg(t)
	srv := serve(t, NewFakeOrg(testToken))
	log := &peopletest.LogBuffer{}
	res := peopletest.Run(t, "people", newSource(t, srv.URL, nil, log), log)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if !strings.Contains(string(res.Logs), `"level":"DEBUG"`) || len(res.Files(t)) < 5 {
		t.Fatal("no debug logs or no output files: the scan could not fail")
	}
	for kind, values := range personalValues(data) {
		res.AssertNoLeak(t, kind, values)
	}
	res.AssertNoLeak(t, "the token", []string{testToken})
	if leaks := peopletest.Leaks(res.Texts(t), []string{"Lena Fischer", "Content Editors"}); len(leaks) == 0 {
		t.Error("the scan finds no public value either")
	}
}

func TestPrivacyFieldsEmail(t *testing.T) {
	data := mustOrg(t)
	srv := serve(t, NewFakeOrg(testToken))
	log := &peopletest.LogBuffer{}
	res := peopletest.Run(t, "people", newSource(t, srv.URL, []string{"email"}, log), log)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	values := personalValues(data)
	for _, kind := range []string{"phone", "lastLogin", "metadata"} {
		res.AssertNoLeak(t, kind, values[kind])
	}
	res.AssertNoLeak(t, "a second email", []string{"wei.home@example.net"})
	want := []string{"avatarUrl", "createdAt", "displayName", "email", "organizations", "roles", "username"}
	for _, raw := range data.Users {
		u := gjson.ParseBytes(raw)
		n, ok := res.Build.Graph.Get("people/user/" + u.Get("id").String())
		if !ok {
			t.Fatalf("no user %s", u.Get("id"))
		}
		var keys []string
		gjson.ParseBytes(n.Fields).ForEach(func(k, _ gjson.Result) bool { keys = append(keys, k.String()); return true })
		if !slices.Equal(keys, want) || n.Get("email").String() != u.Get("profile.email").String() {
			t.Errorf("%s: keys %v, email %s", n.ID, keys, n.Get("email").Raw)
		}
	}
}

func TestSecretsNeverShown(t *testing.T) {
	fake := NewFakeOrg(testToken)
	for _, tc := range []struct {
		name   string
		status int
		is     error
	}{{"401", http.StatusUnauthorized, mesh.ErrUnauthorized}, {"500", http.StatusInternalServerError, mesh.ErrUpstream}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/users") && strings.Contains(r.URL.Path, "/groups/") || tc.status == 401 {
					oktaError(w, tc.status, "E0000011", "token "+r.Header.Get("Authorization")+" rejected")
					return
				}
				fake.ServeHTTP(w, r)
			}))
			log := &peopletest.LogBuffer{}
			res := peopletest.Run(t, "people", newSource(t, srv.URL, nil, log), log)
			if !errors.Is(res.Err, tc.is) || !strings.Contains(res.Err.Error(), "E0000011: token") {
				t.Fatalf("err = %v, want %v with Okta's message", res.Err, tc.is)
			}
			res.AssertNoLeak(t, "the token", []string{testToken})
		})
	}
}

func TestErrorMessage(t *testing.T) {
	for body, want := range map[string]string{
		`{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests.","errorCauses":[]}`:                    "E0000047: API call exceeded rate limit due to too many requests.",
		`{"errorCode":"E0000001","errorSummary":"Api validation failed: limit","errorCauses":[{"errorSummary":"limit: must be at most 200"}]}`: "E0000001: Api validation failed: limit (limit: must be at most 200)",
	} {
		if got := errorMessage(400, []byte(body)); got != want {
			t.Errorf("%q, want %q", got, want)
		}
	}
}
