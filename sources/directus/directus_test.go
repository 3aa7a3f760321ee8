package directus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/mesh/meshtest"
)

const (
	testToken = "directus-static-token-0123456789"
	f1        = "4f6c1e2d-9a0b-4c3e-8d8f-1a2b3c4d5e6f" // hero.jpg, the cover of article 1
	f2        = "9b8a7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d" // ada.png, Ada's avatar
	f3        = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" // spec.pdf, used by nothing
)

var collections = []string{"articles", "authors", "categories"}

func newFake(t testing.TB, token string) *fakeDirectus {
	t.Helper()
	f, err := newFakeDirectus(token)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestConformance(t *testing.T) {
	meshtest.Run(t, meshtest.Harness{
		NewServer: func(t *testing.T) *meshtest.FixtureServer {
			fake := newFake(t, testToken)
			srv := meshtest.NewFixtureServer(t, "")
			srv.RequireHeader("Authorization", "Bearer "+testToken)
			srv.SetUnauthorized(http.StatusUnauthorized, nil,
				[]byte(`{"errors":[{"message":"Invalid user credentials.","extensions":{"code":"INVALID_CREDENTIALS"}}]}`))
			srv.Handle("GET /", fake.ServeHTTP)
			return srv
		},
		NewSource: func(t *testing.T, env meshtest.Env) (mesh.Source, error) {
			return New(Config{
				URL: env.BaseURL, Token: env.Credential(testToken), Collections: collections,
				Options: fetch.Options{Retries: &env.Retries, RetryWaitMin: env.RetryWaitMin,
					RetryWaitMax: env.RetryWaitMax, MaxRetryAfter: env.MaxRetryAfter, Timeout: env.Timeout},
			})
		},
		Expect: meshtest.Expectations{
			MinNodes: 10,
			Types:    []string{"Article", "Author", "Category", "Asset"},
			Counts:   map[string]int{"Article": 3, "Author": 2, "Category": 2, "Asset": 3},
			IDs:      []string{"articles/1", "articles/3", "authors/2", "categories/2", "files/" + f3},
			Refs: []meshtest.ExpectedRef{
				{From: "articles/1", Field: "author", To: "authors/1"},
				{From: "articles/1", Field: "cover", To: "files/" + f1},
				{From: "articles/1", Field: "categories", To: "categories/2"},
				{From: "authors/1", Field: "avatar", To: "files/" + f2},
				{From: "authors/1", Field: "articles", To: "articles/3"},
			},
		},
		RateLimit: meshtest.RateLimit{Reset: []meshtest.ResetHeader{meshtest.RetryAfter},
			Body: []byte(`{"errors":[{"message":"Too many requests, retry after 1s.","extensions":{"code":"REQUESTS_EXCEEDED"}}]}`)},
		Incremental: true,
		Secrets:     []string{testToken},
	})
}

func build(t *testing.T, src mesh.Source, opts mesh.Options) *mesh.Build {
	t.Helper()
	m, err := mesh.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add("site", src); err != nil {
		t.Fatal(err)
	}
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return b
}

func newSource(t *testing.T, cfg Config) *Source {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestNew(t *testing.T) {
	c := func(u string, colls ...string) Config { return Config{URL: u, Collections: colls} }
	tests := []struct {
		name    string
		cfg     Config
		wantKey string
	}{
		{"minimal", c("https://d.example.com", "articles"), ""},
		{"baseURL alone", Config{BaseURL: "http://127.0.0.1:8055", Collections: []string{"a"}}, ""},
		{"no url", c("", "a"), "url"},
		{"items path", c("https://d.example.com/items", "a"), "url"},
		{"query", c("https://d.example.com/?access_token=x", "a"), "url"},
		{"not http", c("d.example.com", "a"), "url"},
		{"bad baseURL", Config{URL: "https://d.example.com", BaseURL: ":", Collections: []string{"a"}}, "baseURL"},
		{"no collections", c("https://d.example.com"), "collections"},
		{"system collection", c("https://d.example.com", "directus_users"), "collections"},
		{"path", c("https://d.example.com", "items/a"), "collections"},
		{"duplicate", c("https://d.example.com", "a", "a"), "collections"},
		{"token with newline", Config{URL: "https://d.example.com", Collections: []string{"a"}, Token: "a\nb"}, "token"},
		{"bad option", Config{URL: "https://d.example.com", Collections: []string{"a"}, Options: fetch.Options{MaxBodyBytes: -1}}, "maxBodyBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if tt.wantKey == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, mesh.ErrInvalidConfig) || !strings.Contains(err.Error(), `"`+tt.wantKey+`"`) {
				t.Errorf("New: %v, want an invalid config error naming %q", err, tt.wantKey)
			}
		})
	}
}

func TestConfigHidesToken(t *testing.T) {
	cfg := Config{URL: "https://d.example.com", Token: testToken, Collections: []string{"a"}}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), cfg.LogValue().String()} {
		if strings.Contains(s, testToken) || !strings.Contains(s, fetch.Redacted) {
			t.Errorf("config printed as %q", s)
		}
	}
}

func testSchema(t *testing.T) schema {
	t.Helper()
	f := newFake(t, "")
	sch, err := parseSchema(f.fields, f.relations)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func TestParseSchema(t *testing.T) {
	sch := testSchema(t)
	a := sch["articles"]
	if a.pk != "id" || a.dateUpdated != "date_updated" || a.dateCreated != "date_created" || !a.timestamps["date_updated"] {
		t.Errorf("articles: %+v", a)
	}
	want := map[string]relField{
		"author":     {kind: relM2O, target: "authors"},
		"cover":      {kind: relM2O, target: "directus_files"},
		"categories": {kind: relM2M, target: "categories", junction: "categories_id"},
	}
	for f, w := range want {
		if a.rels[f] != w {
			t.Errorf("articles.%s = %+v, want %+v", f, a.rels[f], w)
		}
	}
	if got := sch["authors"].rels["articles"]; got != (relField{kind: relO2M, target: "articles"}) {
		t.Errorf("authors.articles = %+v", got)
	}
	if sch["directus_files"].pk != "id" {
		t.Errorf("files pk %q", sch["directus_files"].pk)
	}
}

func TestMapping(t *testing.T) {
	sch := testSchema(t)
	sch["articles"].rels["user_created"] = relField{kind: relM2O, target: "directus_users"}
	tests := []struct {
		name   string
		coll   string
		item   string
		wantID string
		typ    string
		want   map[string]string
	}{
		{"foreign keys", "articles", `{"id":1,"status":"published","title":"Hi","date_created":"2024-05-03T09:00:00.000Z",
			"date_updated":"2024-05-03T13:00:00+02:00","author":1,"cover":"` + f1 + `","categories":[{"categories_id":1},{"categories_id":2}],
			"user_created":"9ad99543-ceec-47dd-a657-f070afa3c5c7","body":"<p>x</p>"}`,
			"site/articles/1", "Article", map[string]string{
				"id":           `1`,
				"title":        `"Hi"`,
				"date_updated": `"2024-05-03T11:00:00Z"`,
				"author":       `{"$ref":"site/authors/1"}`,
				"cover":        `{"$ref":"site/files/` + f1 + `"}`,
				"categories":   `[{"$ref":"site/categories/1"},{"$ref":"site/categories/2"}]`,
				"user_created": `"9ad99543-ceec-47dd-a657-f070afa3c5c7"`,
				"body":         `"<p>x</p>"`,
			}},
		{"expanded objects and nulls", "articles", `{"id":"7","author":{"id":2,"name":"Bob"},"cover":null,"categories":[],"date_updated":null}`,
			"site/articles/7", "Article", map[string]string{
				"author":       `{"$ref":"site/authors/2"}`,
				"cover":        `null`,
				"categories":   `[]`,
				"date_updated": `null`,
			}},
		{"one to many", "authors", `{"id":1,"name":"Ada","avatar":"` + f2 + `","articles":[1,3]}`,
			"site/authors/1", "Author", map[string]string{
				"avatar":   `{"$ref":"site/files/` + f2 + `"}`,
				"articles": `[{"$ref":"site/articles/1"},{"$ref":"site/articles/3"}]`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &decoder{source: "site", origin: "https://d.example.com", info: sch[tt.coll]}
			n, _, err := d.item(gjson.Parse(tt.item))
			if err != nil {
				t.Fatal(err)
			}
			if n.ID != tt.wantID || n.Type != tt.typ {
				t.Errorf("node %s %s", n.ID, n.Type)
			}
			for p, w := range tt.want {
				if got := n.Get(gjson.Escape(p)).Raw; got != w {
					t.Errorf("%s = %s, want %s", p, got, w)
				}
			}
		})
	}
}

func TestMappingAsset(t *testing.T) {
	f := newFake(t, "")
	b, _ := json.Marshal(f.data["directus_files"][1])
	d := &decoder{source: "site", origin: "https://d.example.com", info: testSchema(t)["directus_files"], files: true}
	n, stamp, err := d.item(gjson.ParseBytes(b))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"url": `"https://d.example.com/assets/` + f2 + `"`, "mimeType": `"image/png"`, "width": `256`, "height": `256`,
		"size": `31400`, "title": `"Ada"`, "alt": `"Portrait of Ada"`, "fileName": `"ada.png"`,
		"modified_on": `"2024-05-01T09:00:00Z"`,
	}
	if n.ID != "site/files/"+f2 || n.Type != "Asset" || stamp != "2024-05-01T09:00:00" || n.UpdatedAt.IsZero() {
		t.Errorf("asset %s %s %q %v", n.ID, n.Type, stamp, n.UpdatedAt)
	}
	for p, w := range want {
		if got := n.Get(p).Raw; got != w {
			t.Errorf("%s = %s, want %s", p, got, w)
		}
	}
	if n.Get("filename_disk").Exists() || n.Get("uploaded_by").Exists() {
		t.Errorf("extra fields: %s", n.Fields)
	}
}

func TestMappingRejects(t *testing.T) {
	sch := testSchema(t)
	d := &decoder{source: "site", info: sch["articles"]}
	for _, body := range []string{
		`[]`, `{"data":{}}`, `{"data":[1]}`, `{"data":[{"title":"no id"}]}`, `{"data":[{"id":1.5}]}`,
		`{"data":[{"id":1,"author":[1]}]}`, `{"data":[{"id":1,"categories":[1,2]}]}`, `{"data":[{"id":1,"categories":"x"}]}`, `{"data":[`,
	} {
		if _, err := d.page([]byte(body)); !errors.Is(err, mesh.ErrBadResponse) {
			t.Errorf("page(%s): %v, want mesh.ErrBadResponse", body, err)
		}
	}
}

func TestSingular(t *testing.T) {
	for in, want := range map[string]string{"articles": "Article", "categories": "Category", "news": "News", "boxes": "Box",
		"blog_posts": "BlogPost", "status": "Status", "person": "Person", "series": "Series", "addresses": "Address"} {
		if got := nodeType(in); got != want {
			t.Errorf("nodeType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFetch(t *testing.T) {
	fake := newFake(t, testToken)
	b := build(t, newSource(t, Config{URL: serve(t, fake), Token: testToken, Collections: collections}), mesh.Options{})
	g := b.Graph
	goCat, _ := g.Get("site/categories/2")
	var in []string
	for n := range g.Backrefs(goCat, "categories") {
		in = append(in, n.ID)
	}
	if !slices.Equal(in, []string{"site/articles/1", "site/articles/2"}) {
		t.Errorf("articles in Go: %v", in)
	}
	if d := g.Dangling(); len(d) != 0 {
		t.Errorf("dangling: %v", d)
	}
	for _, r := range fake.seen() {
		if strings.HasPrefix(r, "/items/articles?") && !strings.Contains(r, "fields=*,categories.categories_id") {
			t.Errorf("the articles listing does not read the junction's far keys: %s", r)
		}
		if strings.HasPrefix(r, "/items/") && (!strings.Contains(r, "sort=id") || !strings.Contains(r, "meta=filter_count") || !strings.Contains(r, "limit=100")) {
			t.Errorf("not a stable listing with counts: %s", r)
		}
	}
	// Without files in the collections, /files is not read.
	fake2 := newFake(t, testToken)
	b2 := build(t, newSource(t, Config{URL: serve(t, fake2), Token: testToken, Collections: []string{"categories"}}), mesh.Options{})
	if b2.Graph.CountByType()["Asset"] != 0 || slices.ContainsFunc(fake2.seen(), func(r string) bool { return strings.HasPrefix(r, "/files") }) {
		t.Errorf("files read for collections that do not use them")
	}
}

func TestPageSize1(t *testing.T) {
	fake := newFake(t, testToken)
	cfg := Config{URL: serve(t, fake), Token: testToken, Collections: collections}
	one := build(t, newSource(t, cfg), mesh.Options{PageSize: 1})
	diffStates(t, graphState(one.Graph), graphState(build(t, newSource(t, cfg), mesh.Options{}).Graph))
}

func graphState(g *mesh.Graph) map[string]string {
	out := map[string]string{}
	for n := range g.Nodes() {
		refs, _ := json.Marshal(n.Refs)
		out[n.ID] = n.Type + " " + n.Digest + " " + string(refs)
	}
	return out
}

func diffStates(t *testing.T, got, want map[string]string) {
	t.Helper()
	for id, w := range want {
		if g, ok := got[id]; !ok {
			t.Errorf("missing %s", id)
		} else if g != w {
			t.Errorf("%s differs:\n got  %s\n want %s", id, g, w)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("extra %s", id)
		}
	}
}

func TestIncremental(t *testing.T) {
	fake := newFake(t, testToken)
	cfg := Config{URL: serve(t, fake), Token: testToken, Collections: collections}
	store, err := mesh.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	build(t, newSource(t, cfg), mesh.Options{Store: store})
	fake.change(func(data map[string][]map[string]any) {
		fake.row("articles", "1")["title"] = "Hello again"
		fake.row("articles", "1")["date_updated"] = "2024-06-01T10:00:00.000Z"
		data["articles"] = slices.DeleteFunc(data["articles"], func(r map[string]any) bool { return key(r["id"]) == "2" })
		data["articles_categories"] = slices.DeleteFunc(data["articles_categories"], func(r map[string]any) bool { return key(r["articles_id"]) == "2" })
		// a new item: Directus leaves date_updated null until the first edit
		data["categories"] = append(data["categories"], map[string]any{"id": 3.0, "name": "Fresh", "slug": "fresh",
			"date_created": "2024-06-02T00:00:00.000Z", "date_updated": nil})
		data["directus_files"] = slices.DeleteFunc(data["directus_files"], func(r map[string]any) bool { return r["id"] == f3 })
	})
	before := len(fake.seen())
	second := build(t, newSource(t, cfg), mesh.Options{Store: store})
	reqs := fake.seen()[before:]
	for _, want := range []string{"/items/articles?fields=*,categories.categories_id&filter[date_updated][_gt]=2024-05-04T11:59:59.000Z",
		"/items/categories?fields=id", "filter[id][_in]=3", "/files?filter[modified_on][_gt]=2024-05-02T08:59:59.000Z"} {
		if !slices.ContainsFunc(reqs, func(r string) bool { return strings.Contains(r, want) }) {
			t.Errorf("no request with %s: %v", want, reqs)
		}
	}
	ch := second.Changes
	for _, id := range []string{"site/articles/2", "site/files/" + f3} {
		if !slices.Contains(ch.Deleted, id) {
			t.Errorf("%s not deleted: %v", id, ch.Deleted)
		}
	}
	if !slices.Contains(ch.Added, "site/categories/3") || !slices.Contains(ch.Updated, "site/articles/1") {
		t.Errorf("changes %+v", ch)
	}
	// authors/2 listed article 2 in its one-to-many alias, and Directus does not touch the
	// author's date_updated: the delta reads the authors again since articles changed.
	if !slices.Contains(ch.Updated, "site/authors/2") {
		t.Errorf("the author of the deleted article is not updated: %+v", ch)
	}
	if !slices.ContainsFunc(reqs, func(r string) bool { return strings.HasPrefix(r, "/items/authors?fields=*&limit=100") }) {
		t.Errorf("authors not read again: %v", reqs)
	}
	diffStates(t, graphState(second.Graph), graphState(build(t, newSource(t, cfg), mesh.Options{}).Graph))
	third := build(t, newSource(t, cfg), mesh.Options{Store: store})
	if !third.Changes.Empty() {
		t.Errorf("an unchanged project gave changes %+v", third.Changes)
	}
}

// shrinking deletes article 1 after the first page of the articles listing was served.
type shrinking struct {
	*fakeDirectus
	once sync.Once
}

func (s *shrinking) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.fakeDirectus.ServeHTTP(w, r)
	if r.URL.Path == "/items/articles" && r.URL.Query().Get("page") == "1" {
		s.once.Do(func() {
			s.change(func(data map[string][]map[string]any) {
				data["articles"] = slices.DeleteFunc(data["articles"], func(r map[string]any) bool { return key(r["id"]) == "1" })
			})
		})
	}
}

func TestListingChangesWhileRead(t *testing.T) {
	fake := &shrinking{fakeDirectus: newFake(t, testToken)}
	b := build(t, newSource(t, Config{URL: serve(t, fake), Token: testToken, Collections: []string{"articles"},
		Options: fetch.Options{Concurrency: 1}}), mesh.Options{PageSize: 1})
	var ids []string
	for n := range b.Graph.ByType("Article") {
		ids = append(ids, n.ID)
	}
	if !slices.Equal(ids, []string{"site/articles/2", "site/articles/3"}) {
		t.Errorf("articles %v", ids)
	}
}

func TestErrors(t *testing.T) {
	fake := newFake(t, testToken)
	u := serve(t, fake)
	pub := newFake(t, testToken)
	pub.public = true
	pu := serve(t, pub)
	tests := []struct {
		name     string
		cfg      Config
		sentinel error
		want     []string
	}{
		{"bad token", Config{URL: u, Token: "wrong-static-token", Collections: collections}, mesh.ErrUnauthorized,
			[]string{"INVALID_CREDENTIALS: Invalid user credentials.", "check token"}},
		{"unknown collection", Config{URL: u, Token: testToken, Collections: []string{"article"}}, mesh.ErrForbidden,
			[]string{"FORBIDDEN", `collection "article" does not exist, or the role`}},
		{"public role without the schema", Config{URL: pu, Collections: collections}, mesh.ErrForbidden,
			[]string{"FORBIDDEN", "may not read directus_fields and directus_relations"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := mesh.New(mesh.Options{})
			m.Add("site", newSource(t, tt.cfg))
			_, err := m.Build(context.Background())
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("err = %v, want %v", err, tt.sentinel)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if tt.cfg.Token != "" && strings.Contains(err.Error(), tt.cfg.Token) {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	u := serve(t, newFake(t, testToken))
	if err := newSource(t, Config{URL: u, Token: testToken, Collections: collections}).Check(context.Background()); err != nil {
		t.Errorf("Check: %v", err)
	}
	err := newSource(t, Config{URL: u, Token: "nope-token", Collections: collections}).Check(context.Background())
	if !errors.Is(err, mesh.ErrUnauthorized) || strings.Contains(err.Error(), "nope-token") {
		t.Errorf("Check with a bad token: %v", err)
	}
}
