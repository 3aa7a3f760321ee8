package auth0

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/sources/internal/normalize"
	"github.com/contentmesh/contentmesh/sources/internal/people"
	"github.com/contentmesh/contentmesh/sources/internal/people/peopletest"
)

func mustTenant(t testing.TB) *tenant {
	t.Helper()
	data, err := loadTenant("testdata/tenant.json")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// serve starts the fake tenant on 127.0.0.1 (it checks the credentials itself).
func serve(t testing.TB, f *FakeTenant, wrap ...func(http.Handler) http.Handler) *httptest.Server {
	f.checkAuth = true
	var h http.Handler = f
	for _, w := range wrap {
		h = w(h)
	}
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
	s, err := New(Config{Domain: testDomain, ClientID: testClientID, ClientSecret: testSecret, Fields: fields,
		BaseURL: baseURL, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewValidates(t *testing.T) {
	ok := Config{Domain: testDomain, ClientID: "id", ClientSecret: "s"}
	cases := []struct {
		name string
		edit func(*Config)
		key  string // the key the error must name
	}{
		{"no domain", func(c *Config) { c.Domain = "" }, "domain"},
		{"domain with path", func(c *Config) { c.Domain = "acme.auth0.com/api" }, "domain"},
		{"no client id", func(c *Config) { c.ClientID = "" }, "clientId"},
		{"no secret", func(c *Config) { c.ClientSecret = "" }, "clientSecret"},
		{"bad baseURL", func(c *Config) { c.BaseURL = "ftp://x" }, "baseURL"},
		{"unknown field", func(c *Config) { c.Fields = []string{"email", "emial"} }, `"emial"`},
		{"near miss", func(c *Config) { c.Fields = []string{"last_login"} }, `did you mean "lastLogin"`},
		{"empty field", func(c *Config) { c.Fields = []string{""} }, "fields"},
		{"bad retries", func(c *Config) { n := -1; c.Retries = &n }, "retries"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			_, err := New(c)
			if !errors.Is(err, mesh.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("err = %v, want ErrInvalidConfig naming %s", err, tc.key)
			}
		})
	}
	for _, d := range []string{"acme.eu.auth0.com", "https://acme.eu.auth0.com/", "127.0.0.1:8443"} {
		c := ok
		c.Domain = d
		if _, err := New(c); err != nil {
			t.Errorf("domain %q: %v", d, err)
		}
	}
	c := ok
	c.Fields = []string{"email", "phone", "lastLogin", "lastIp", "metadata"}
	if _, err := New(c); err != nil {
		t.Errorf("every documented field: %v", err)
	}
}

func TestConfigPrintsNoSecret(t *testing.T) {
	c := Config{Domain: testDomain, ClientID: "id", ClientSecret: "very-secret-value"}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), c.LogValue().String()} {
		if strings.Contains(s, "very-secret-value") {
			t.Errorf("printed config holds the secret: %s", s)
		}
	}
}

// TestMapUser is the mapping table: one Auth0 user in, the User fields out.
func TestMapUser(t *testing.T) {
	cases := []struct {
		name   string
		user   string
		fields []string
		want   string // the node's fields, canonical
		update string // the node's UpdatedAt, RFC 3339, or ""
	}{
		{
			name: "public profile",
			user: `{"user_id":"auth0|1","name":"Maria Lopez","nickname":"maria.lopez","picture":"https://p/1.png","created_at":"2024-03-02T08:15:30.112Z","updated_at":"2025-09-10T12:00:01.000Z","email":"m@example.com","last_login":"2025-09-10T12:00:01.000Z","last_ip":"203.0.113.17","app_metadata":{"plan":"x"}}`,
			want: `{"avatarUrl":"https://p/1.png","createdAt":"2024-03-02T08:15:30.112Z","displayName":"Maria Lopez","memberships":[],"organizations":[],"roles":[],"username":"maria.lopez"}`,
		},
		{
			name: "name is the email: given and family names instead",
			user: `{"user_id":"email|2","name":"sam@example.net","given_name":"Sam","family_name":"Kay","nickname":"sam","created_at":"2025-05-05T05:05:05.005Z"}`,
			want: `{"avatarUrl":null,"createdAt":"2025-05-05T05:05:05.005Z","displayName":"Sam Kay","memberships":[],"organizations":[],"roles":[],"username":"sam"}`,
		},
		{
			name: "passwordless sms: name and nickname are the phone",
			user: `{"user_id":"sms|3","name":"+14155550123","nickname":"+14155550123","phone_number":"+14155550123"}`,
			want: `{"avatarUrl":null,"createdAt":null,"displayName":null,"memberships":[],"organizations":[],"roles":[],"username":null}`,
		},
		{
			name: "username wins over nickname",
			user: `{"user_id":"auth0|4","name":"Jane Doe","nickname":"jane.doe","username":"jdoe"}`,
			want: `{"avatarUrl":null,"createdAt":null,"displayName":"Jane Doe","memberships":[],"organizations":[],"roles":[],"username":"jdoe"}`,
		},
		{
			name:   "every personal field selected",
			user:   `{"user_id":"auth0|5","name":"A B","email":"a@b.example","phone_number":"+15550001","last_login":"2025-09-10T12:00:01.000Z","updated_at":"2025-09-10T12:00:02Z","last_ip":"203.0.113.9","app_metadata":{"plan":"pro"},"user_metadata":{"l":"es"}}`,
			fields: []string{"email", "phone", "lastLogin", "lastIp", "metadata"},
			want:   `{"avatarUrl":null,"createdAt":null,"displayName":"A B","email":"a@b.example","lastIp":"203.0.113.9","lastLogin":"2025-09-10T12:00:01Z","memberships":[],"metadata":{"app":{"plan":"pro"},"user":{"l":"es"}},"organizations":[],"phone":"+15550001","roles":[],"username":null}`,
			update: "2025-09-10T12:00:02Z",
		},
		{
			name:   "selected but absent: null",
			user:   `{"user_id":"auth0|6","name":"A B"}`,
			fields: []string{"phone", "metadata"},
			want:   `{"avatarUrl":null,"createdAt":null,"displayName":"A B","memberships":[],"metadata":{"app":null,"user":null},"organizations":[],"phone":null,"roles":[],"username":null}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sel, err := people.Parse(Kind, tc.fields, knownFields, "")
			if err != nil {
				t.Fatal(err)
			}
			nodes, err := decodeUsers("p", []byte("["+tc.user+"]"), sel, nil)
			if err != nil || len(nodes) != 1 {
				t.Fatalf("decode: %v (%d nodes)", err, len(nodes))
			}
			n := nodes[0]
			got, _, err := mesh.Canonicalize(n.Fields)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("fields\n got %s\nwant %s", got, tc.want)
			}
			var up string
			if !n.UpdatedAt.IsZero() {
				up = n.UpdatedAt.Format(time.RFC3339)
			}
			if up != tc.update {
				t.Errorf("updatedAt %q, want %q", up, tc.update)
			}
			if n.Type != "User" || n.ID != "p/user/"+n.NativeID {
				t.Errorf("id %q type %q", n.ID, n.Type)
			}
		})
	}
}

func TestMapRolesAndOrganizations(t *testing.T) {
	roles, err := decodeRoles("p", []byte(`{"roles":[{"id":"rol_1","name":"editor","description":"Can publish"},{"id":"rol_2","name":"viewer"}],"start":0,"limit":50,"total":2}`))
	if err != nil || len(roles) != 2 {
		t.Fatalf("roles: %v %d", err, len(roles))
	}
	if got := string(roles[0].Fields); got != `{"name":"editor","description":"Can publish"}` {
		t.Errorf("role fields %s", got)
	}
	if roles[1].ID != "p/role/rol_2" || gjson.GetBytes(roles[1].Fields, "description").Type != gjson.Null {
		t.Errorf("role 2: %s %s", roles[1].ID, roles[1].Fields)
	}
	body := []byte(`{"organizations":[{"id":"org_1","name":"acme-corp","display_name":"Acme Corp","branding":{"logo_url":"https://cdn/acme.png"},"metadata":{"tier":"gold"}},{"id":"org_2","name":"globex"}],"next":"abc"}`)
	for _, tc := range []struct {
		fields []string
		want   []string
	}{
		{nil, []string{`{"name":"Acme Corp","slug":"acme-corp","logoUrl":"https://cdn/acme.png"}`, `{"name":"globex","slug":"globex","logoUrl":null}`}},
		{[]string{"metadata"}, []string{`{"name":"Acme Corp","slug":"acme-corp","logoUrl":"https://cdn/acme.png","metadata":{"tier":"gold"}}`, `{"name":"globex","slug":"globex","logoUrl":null,"metadata":null}`}},
	} {
		sel, _ := people.Parse(Kind, tc.fields, knownFields, "")
		orgs, err := decodeOrganizations("p", body, sel)
		if err != nil || len(orgs) != 2 {
			t.Fatalf("orgs: %v", err)
		}
		for i, o := range orgs {
			if string(o.Fields) != tc.want[i] {
				t.Errorf("fields %v: org %d\n got %s\nwant %s", tc.fields, i, o.Fields, tc.want[i])
			}
		}
	}
}

func TestPageShapes(t *testing.T) {
	for _, tc := range []struct {
		body  string
		items int
		total int
		next  string
		err   bool
	}{
		{body: `[{"user_id":"a"},{"user_id":"b"}]`, items: 2, total: 2},
		{body: `{"start":0,"limit":2,"length":2,"total":214,"users":[{"user_id":"a"},{"user_id":"b"}]}`, items: 2, total: 214},
		{body: `{"users":[{"user_id":"a"}],"next":"tok"}`, items: 1, next: "tok", total: -1},
		{body: `{"users":null,"total":0}`, items: 0, total: 0},
		{body: `{"users":{"a":1},"total":1}`, err: true},
		{body: `"nope"`, err: true},
	} {
		items, err := pageItems([]byte(tc.body), "users")
		if tc.err {
			if err == nil || !errors.Is(err, mesh.ErrBadResponse) {
				t.Errorf("%s: err %v, want ErrBadResponse", tc.body, err)
			}
			continue
		}
		if err != nil || len(items.Array()) != tc.items {
			t.Errorf("%s: %v, %d items", tc.body, err, len(items.Array()))
		}
		if tc.total >= 0 {
			if n, err := pageTotal([]byte(tc.body)); err != nil || n != tc.total {
				t.Errorf("%s: total %d %v", tc.body, n, err)
			}
		}
		if got := checkpointNext([]byte(tc.body)); got != tc.next {
			t.Errorf("%s: next %q", tc.body, got)
		}
	}
}

func TestCreatedRange(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(10 * time.Millisecond)
	if q := (createdRange{}).query(); q != "" {
		t.Errorf("whole listing query %q", q)
	}
	a, b, ok := createdRange{}.split(t0, t1)
	if !ok || a.query() != "created_at:[* TO 2024-01-01T00:00:00.005Z]" || b.query() != "created_at:[2024-01-01T00:00:00.006Z TO *]" {
		t.Errorf("split: %s | %s", a.query(), b.query())
	}
	if _, _, ok := (createdRange{t0, t0}).split(t0, t1); ok {
		t.Error("a single millisecond split")
	}
	c, d, ok := (createdRange{t0, t0.Add(time.Millisecond)}).split(t0, t1)
	if !ok || c.to != t0 || d.from != t0.Add(time.Millisecond) {
		t.Errorf("two milliseconds: %s | %s", c, d)
	}
}

// build runs a full build of s through the engine and returns the graph.
func build(t *testing.T, s *Source) *mesh.Graph {
	t.Helper()
	m, err := mesh.New(mesh.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add("people", s); err != nil {
		t.Fatal(err)
	}
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return b.Graph
}

// TestGraphLinks checks both sides of the links: users point at roles and organizations, and the
// backrefs of a role or an organization list its members.
func TestGraphLinks(t *testing.T) {
	srv := serve(t, newFakeTenant(mustTenant(t), testClientID, testSecret))
	g := build(t, newSource(t, srv.URL, nil, nil))
	members := func(id, field string) []string {
		n, ok := g.Get(id)
		if !ok {
			t.Fatalf("no node %s", id)
		}
		var out []string
		for u := range g.Backrefs(n, field) {
			out = append(out, u.NativeID)
		}
		slices.Sort(out)
		return out
	}
	if got := members("people/role/rol_Ed1t0r00000000001", "roles"); !slices.Equal(got, []string{"auth0|64f1c2d3e4a5b6c7d8e9f001", "google-oauth2|108234567890123456789"}) {
		t.Errorf("editors %v", got)
	}
	if got := members("people/organization/org_Q2w3E4r5T6y7U8i9", "organizations"); !slices.Equal(got, []string{"auth0|64f1c2d3e4a5b6c7d8e9f001", "google-oauth2|108234567890123456789"}) {
		t.Errorf("acme members %v", got)
	}
	if got := members("people/role/rol_Ab12Cd34Ef56Gh78", "memberships.roles"); !slices.Equal(got, []string{"auth0|64f1c2d3e4a5b6c7d8e9f001"}) {
		t.Errorf("org admins %v", got)
	}
	jane, _ := g.Get("people/user/auth0|6701a2b3c4d5e6f7a8b9c0d1")
	want := `[{"organization":{"$ref":"people/organization/org_A1s2D3f4G5h6J7k8"},"roles":[{"$ref":"people/role/rol_Ed1t0r00000000001"},{"$ref":"people/role/rol_V1ewer0000000002"}]}]`
	if got := jane.Get("memberships").Raw; got != want {
		t.Errorf("jane's memberships\n got %s\nwant %s", got, want)
	}
	if got := jane.Get("roles").Raw; got != `[{"$ref":"people/role/rol_V1ewer0000000002"}]` {
		t.Errorf("jane's tenant roles %s", got)
	}
}

// personalValues lists every personal value of the tenant dataset that must not leave by default:
// emails, phones, IPs, login and update times (as sent and normalized), and metadata leaves.
func personalValues(data *tenant) map[string][]string {
	out := map[string][]string{}
	add := func(kind string, vs ...string) {
		for _, v := range vs {
			if v != "" && !slices.Contains(out[kind], v) {
				out[kind] = append(out[kind], v)
			}
		}
	}
	var leaves func(kind string, r gjson.Result)
	leaves = func(kind string, r gjson.Result) {
		r.ForEach(func(_, v gjson.Result) bool {
			if v.IsObject() || v.IsArray() {
				leaves(kind, v)
			} else {
				add(kind, v.String())
			}
			return true
		})
	}
	for _, u := range data.Users {
		r := gjson.ParseBytes(u)
		add("email", r.Get("email").String())
		add("phone", r.Get("phone_number").String())
		add("ip", r.Get("last_ip").String())
		for _, k := range []string{"last_login", "updated_at"} {
			if v := r.Get(k).String(); v != "" {
				add("lastLogin", v, normalize.TimeString(v))
			}
		}
		leaves("metadata", r.Get("app_metadata"))
		leaves("metadata", r.Get("user_metadata"))
	}
	for _, o := range data.Organizations {
		leaves("metadata", gjson.GetBytes(o, "metadata"))
	}
	return out
}

func TestPrivacyDefault(t *testing.T) {
	data := mustTenant(t)
	fake := newFakeTenant(data, testClientID, testSecret)
	srv := serve(t, fake)
	log := &peopletest.LogBuffer{}
	res := peopletest.Run(t, "people", newSource(t, srv.URL, nil, log), log)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if files := res.Files(t); len(files) < 5 || !slices.Contains(files, "graph.json") || !slices.Contains(files, "report.json") {
		t.Fatalf("output files %v", files)
	}
	if !strings.Contains(string(res.Logs), `"level":"DEBUG"`) {
		t.Fatal("no debug records captured: the log check could not fail")
	}
	for kind, values := range personalValues(data) {
		res.AssertNoLeak(t, kind, values)
	}
	secrets := []string{testSecret}
	for n := int64(1); n <= fake.issued.Load(); n++ {
		secrets = append(secrets, tokenFor(testSecret, n))
	}
	res.AssertNoLeak(t, "secrets", secrets)
	// The control: the same scan finds public values, so it would find personal ones.
	if leaks := peopletest.Leaks(res.Texts(t), []string{"Maria Lopez", "Acme Corp"}); len(leaks) == 0 {
		t.Error("the scan finds no public value either: it cannot work")
	}
}

// TestPrivacyFieldsEmail: listing email brings exactly the email in, and nothing else personal.
func TestPrivacyFieldsEmail(t *testing.T) {
	data := mustTenant(t)
	srv := serve(t, newFakeTenant(data, testClientID, testSecret))
	log := &peopletest.LogBuffer{}
	res := peopletest.Run(t, "people", newSource(t, srv.URL, []string{"email"}, log), log)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	values := personalValues(data)
	for _, kind := range []string{"phone", "ip", "lastLogin", "metadata"} {
		res.AssertNoLeak(t, kind, values[kind])
	}
	publicKeys := []string{"avatarUrl", "createdAt", "displayName", "memberships", "organizations", "roles", "username"}
	for _, u := range data.Users {
		r := gjson.ParseBytes(u)
		n, ok := res.Build.Graph.Get(people.UserID("people", r.Get("user_id").String()))
		if !ok {
			t.Fatalf("user %s missing", r.Get("user_id"))
		}
		var keys []string
		gjson.ParseBytes(n.Fields).ForEach(func(k, _ gjson.Result) bool { keys = append(keys, k.String()); return true })
		if want := append(slices.Clone(publicKeys), "email"); !slices.Equal(keys, slices.Sorted(slices.Values(want))) {
			t.Errorf("%s: keys %v, want the public ones and email", n.ID, keys)
		}
		want := r.Get("email")
		if got := n.Get("email"); got.Type != want.Type || got.String() != want.String() {
			t.Errorf("%s: email %s, want %s", n.ID, got.Raw, want.Raw)
		}
	}
	// The users listing asked for the email attribute, and for no other personal one.
	if got := fieldsAsked(t, res.Logs); !slices.Contains(got, "email") || slices.Contains(got, "last_ip") || slices.Contains(got, "app_metadata") {
		t.Errorf("fields requested: %v", got)
	}
}

// fieldsAsked reads the fields parameter of the users requests from the debug log.
func fieldsAsked(t *testing.T, logs []byte) []string {
	for _, line := range strings.Split(string(logs), "\n") {
		u := gjson.Get(line, "url").String()
		if strings.Contains(u, pathUsers+"?") && strings.Contains(u, "include_fields=true") {
			i := strings.Index(u, "fields=")
			v := u[i+len("fields="):]
			v, _, _ = strings.Cut(v, "&")
			v = strings.ReplaceAll(v, "%2C", ",")
			return strings.Split(v, ",")
		}
	}
	t.Fatal("no users request in the log")
	return nil
}

// TestTokenOnce: a whole build with many concurrent requests asks for one token, and later builds
// with the same source reuse it.
func TestTokenOnce(t *testing.T) {
	fake := newFakeTenant(bigTenant(300, 0), testClientID, testSecret)
	var apiRequests atomic.Int64
	srv := serve(t, fake, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != pathToken {
				apiRequests.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	})
	s := newSourceWith(t, srv.URL, func(c *Config) { c.Concurrency = 8 })
	m, _ := mesh.New(mesh.Options{PageSize: 10})
	_ = m.Add("people", s)
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n := b.Graph.CountByType()["User"]; n != 300 {
		t.Fatalf("%d users", n)
	}
	if apiRequests.Load() < 30 {
		t.Fatalf("only %d API requests: not a concurrency test", apiRequests.Load())
	}
	if n := fake.tokens.Load(); n != 1 {
		t.Errorf("%d token requests for %d API requests, want 1", n, apiRequests.Load())
	}
	build(t, s)
	if n := fake.tokens.Load(); n != 1 {
		t.Errorf("%d token requests after a second build with the same source, want 1", n)
	}
	build(t, newSource(t, srv.URL, nil, nil))
	if n := fake.tokens.Load(); n != 2 {
		t.Errorf("%d token requests after a build with another source, want 2", n)
	}
}

func newSourceWith(t testing.TB, baseURL string, edit func(*Config)) *Source {
	retries := 1
	c := Config{Domain: testDomain, ClientID: testClientID, ClientSecret: testSecret, BaseURL: baseURL,
		Options: fetch.Options{Retries: &retries, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond}}
	edit(&c)
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRevokedTokenRefreshedOnce: a 401 drops the token and the request is retried once with a new
// one; a 401 to the new token is final.
func TestRevokedTokenRefreshedOnce(t *testing.T) {
	fake := newFakeTenant(mustTenant(t), testClientID, testSecret)
	srv := serve(t, fake)
	s := newSource(t, srv.URL, nil, nil)
	build(t, s)
	fake.revoke(tokenFor(testSecret, 1))
	g := build(t, s)
	if n := g.CountByType()["User"]; n != 5 || fake.tokens.Load() != 2 {
		t.Fatalf("after a revocation: %d users, %d token requests (want 5, 2)", n, fake.tokens.Load())
	}
	// Every token is now rejected: one refresh, then the error.
	fake.mu.Lock()
	fake.secret = "rotated-secret"
	fake.mu.Unlock()
	m, _ := mesh.New(mesh.Options{})
	_ = m.Add("people", s)
	_, err := m.Build(context.Background())
	if !errors.Is(err, mesh.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	if n := fake.tokens.Load(); n != 3 {
		t.Errorf("%d token requests, want 3 (one refresh after the 401)", n)
	}
}

// TestSecretsNeverShown: the client secret and the tokens stay out of errors, logs and outputs on a
// 401 from the token endpoint that echoes the secret, and on a 500 from the API that echoes the
// token.
func TestSecretsNeverShown(t *testing.T) {
	t.Run("401 from the token endpoint", func(t *testing.T) {
		fake := newFakeTenant(mustTenant(t), testClientID, "the-right-secret")
		fake.echoSecret = true
		srv := serve(t, fake)
		log := &peopletest.LogBuffer{}
		res := peopletest.Run(t, "people", newSource(t, srv.URL, nil, log), log)
		if !errors.Is(res.Err, mesh.ErrUnauthorized) || !strings.Contains(res.Err.Error(), "/oauth/token") {
			t.Fatalf("err = %v, want ErrUnauthorized naming the token endpoint", res.Err)
		}
		if !strings.Contains(res.Err.Error(), "Unauthorized: client_secret "+fetch.Redacted) {
			t.Errorf("the provider's message is not kept (redacted): %v", res.Err)
		}
		res.AssertNoLeak(t, "the client secret", []string{testSecret})
		if fake.tokens.Load() != 1 {
			t.Errorf("%d token requests: a 401 must not be retried", fake.tokens.Load())
		}
	})
	t.Run("500 from the API", func(t *testing.T) {
		fake := newFakeTenant(mustTenant(t), testClientID, testSecret)
		srv := serve(t, fake, func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == pathOrgs {
					apiError(w, http.StatusInternalServerError, "backend failed for "+r.Header.Get("Authorization"), "internal")
					return
				}
				h.ServeHTTP(w, r)
			})
		})
		log := &peopletest.LogBuffer{}
		res := peopletest.Run(t, "people", newSource(t, srv.URL, nil, log), log)
		if !errors.Is(res.Err, mesh.ErrUpstream) || !strings.Contains(res.Err.Error(), "backend failed for") {
			t.Fatalf("err = %v, want ErrUpstream with the provider's message", res.Err)
		}
		secrets := []string{testSecret}
		for n := int64(1); n <= fake.issued.Load(); n++ {
			secrets = append(secrets, tokenFor(testSecret, n))
		}
		res.AssertNoLeak(t, "secrets", secrets)
	})
}

// bigTenant generates n users created one minute apart (and, with same > 0, that many more created in
// one millisecond), no roles, no organizations.
func bigTenant(n, same int) *tenant {
	t0 := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	data := &tenant{}
	for i := range n + same {
		at := t0.Add(time.Duration(i) * time.Minute)
		if i >= n {
			at = t0.Add(time.Duration(n/2)*time.Minute + 123*time.Millisecond)
		}
		u := fmt.Sprintf(`{"user_id":"auth0|u%05d","name":"User %d","email":"user%d@example.com","created_at":%q}`,
			i, i, i, at.Format(time.RFC3339Nano))
		data.Users = append(data.Users, json.RawMessage(u))
	}
	return data
}

// TestUsersBeyondOffsetCeiling: with 2,500 users (and 30 created in the same millisecond) the listing
// is split by creation time so that every user is fetched, no request goes past the 1,000-record
// ceiling, and none is answered 400.
func TestUsersBeyondOffsetCeiling(t *testing.T) {
	fake := newFakeTenant(bigTenant(2500, 30), testClientID, testSecret)
	var bad atomic.Int64
	srv := serve(t, fake, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code == http.StatusBadRequest {
				bad.Add(1)
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		})
	})
	m, _ := mesh.New(mesh.Options{})
	_ = m.Add("people", newSource(t, srv.URL, nil, nil))
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n := b.Graph.CountByType()["User"]; n != 2530 {
		t.Errorf("%d users, want 2530", n)
	}
	// 26 pages of users at least, plus the probes of the ranges that were halved.
	reqs := b.Report.Sources[0].Requests
	if reqs < 27 || reqs > 60 {
		t.Errorf("%d requests", reqs)
	}
	t.Logf("2,530 users in %d requests", reqs)
	if bad.Load() != 0 || fake.maxStart.Load() >= 1000 {
		t.Errorf("%d answers 400; largest offset %d", bad.Load(), fake.maxStart.Load())
	}
}

// TestUsersSplitSmallCeiling runs the split with a ceiling of 3 and pages of 1, so that ranges are
// halved many times.
func TestUsersSplitSmallCeiling(t *testing.T) {
	fake := newFakeTenant(mustTenant(t), testClientID, testSecret)
	fake.ceiling = 3
	srv := serve(t, fake)
	s := newSource(t, srv.URL, nil, nil)
	s.maxRecords = 3
	m, _ := mesh.New(mesh.Options{PageSize: 1})
	_ = m.Add("people", s)
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n := b.Graph.CountByType()["User"]; n != 5 {
		t.Errorf("%d users, want 5", n)
	}
	if fake.maxStart.Load() >= 3 {
		t.Errorf("an offset of %d went past the ceiling", fake.maxStart.Load())
	}
}

// TestUsersSameMillisecond: more users created in one millisecond than offset paging reaches is an
// error that says what to do, not a silently short graph.
func TestUsersSameMillisecond(t *testing.T) {
	fake := newFakeTenant(bigTenant(10, 5), testClientID, testSecret)
	fake.ceiling = 4
	srv := serve(t, fake)
	s := newSource(t, srv.URL, nil, nil)
	s.maxRecords = 4
	m, _ := mesh.New(mesh.Options{})
	_ = m.Add("people", s)
	_, err := m.Build(context.Background())
	if err == nil || !strings.Contains(err.Error(), "same millisecond") || !strings.Contains(err.Error(), "export") {
		t.Fatalf("err = %v", err)
	}
}

// TestPathEscaping: IDs are escaped as path segments.
func TestPathEscaping(t *testing.T) {
	if got := roleUsersPath("rol|a/b"); got != "/api/v2/roles/rol%7Ca%2Fb/users" {
		t.Errorf("role users path %s", got)
	}
	if got := orgMembersPath("org_1"); got != "/api/v2/organizations/org_1/members" {
		t.Errorf("members path %s", got)
	}
}

func TestErrorMessage(t *testing.T) {
	for body, want := range map[string]string{
		`{"statusCode":400,"error":"Bad Request","message":"You can only page through the first 1000 records","errorCode":"invalid_paging"}`: "invalid_paging: You can only page through the first 1000 records",
		`{"error":"access_denied","error_description":"Unauthorized"}`:                                                                       "access_denied: Unauthorized",
		`{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached"}`:                                           "Too Many Requests: Global limit has been reached",
	} {
		if got := errorMessage(400, []byte(body)); got != want {
			t.Errorf("%s: %q, want %q", body, got, want)
		}
	}
}
