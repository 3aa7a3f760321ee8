package strapi

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

const testToken = "strapi-test-token-0123456789abcdef"

var collections = []string{"articles", "authors", "categories"}

const (
	a1  = "znrlzntu9ei5onjvwfaalu2v" // article, en + fr, published
	a2  = "hgv1vny5cebq2l3czil1rpb3" // article, en, published
	a3  = "draftonly0000000000000001"
	ada = "a1b2c3d4e5f6g7h8i9j0k1l2"
	bob = "b2c3d4e5f6g7h8i9j0k1l2m3"
	cN  = "c1c1c1c1c1c1c1c1c1c1c1c1"
	cGo = "c2c2c2c2c2c2c2c2c2c2c2c2"
)

func newFake(t testing.TB, version int, token string) *fakeStrapi {
	t.Helper()
	f, err := newFakeStrapi(version, token)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func harness(version int, deny bool, expect meshtest.Expectations) meshtest.Harness {
	return meshtest.Harness{
		NewServer: func(t *testing.T) *meshtest.FixtureServer {
			fake := newFake(t, version, "")
			fake.denySch, fake.denyFile = deny, deny
			srv := meshtest.NewFixtureServer(t, "")
			srv.RequireHeader("Authorization", "Bearer "+testToken)
			srv.SetUnauthorized(http.StatusUnauthorized, nil,
				[]byte(`{"data":null,"error":{"status":401,"name":"UnauthorizedError","message":"Missing or invalid credentials","details":{}}}`))
			srv.Handle("GET /api/", fake.ServeHTTP)
			return srv
		},
		NewSource: func(t *testing.T, env meshtest.Env) (mesh.Source, error) {
			return New(Config{
				URL: env.BaseURL, Token: env.Credential(testToken), Collections: collections,
				Options: fetch.Options{Retries: &env.Retries, RetryWaitMin: env.RetryWaitMin,
					RetryWaitMax: env.RetryWaitMax, MaxRetryAfter: env.MaxRetryAfter, Timeout: env.Timeout},
			})
		},
		Expect:      expect,
		RateLimit:   meshtest.RateLimit{Reset: []meshtest.ResetHeader{meshtest.RetryAfter}},
		Incremental: true,
		Secrets:     []string{testToken},
	}
}

func TestConformanceV5(t *testing.T) {
	meshtest.Run(t, harness(5, false, meshtest.Expectations{
		MinNodes: 9,
		Types:    []string{"Article", "Author", "Category", "Asset"},
		Counts:   map[string]int{"Article": 2, "Author": 2, "Category": 2, "Asset": 3},
		IDs:      []string{"articles/" + a1 + "@en", "articles/" + a2 + "@en", "authors/" + ada, "categories/" + cGo, "files/9"},
		Refs: []meshtest.ExpectedRef{
			{From: "articles/" + a1 + "@en", Field: "author", To: "authors/" + ada},
			{From: "articles/" + a1 + "@en", Field: "categories", To: "categories/" + cGo},
			{From: "articles/" + a1 + "@en", Field: "cover", To: "files/7"},
			{From: "authors/" + ada, Field: "avatar", To: "files/8"},
		},
	}))
}

// Strapi 4 shapes, with a token that may read neither the schema nor the media library: relations
// are resolved by the ids of the configured collections and their field names, and the Assets are
// the media the entries use.
func TestConformanceV4WithoutSchema(t *testing.T) {
	meshtest.Run(t, harness(4, true, meshtest.Expectations{
		MinNodes: 8,
		Types:    []string{"Article", "Author", "Category", "Asset"},
		Counts:   map[string]int{"Article": 2, "Author": 2, "Category": 2, "Asset": 2},
		IDs:      []string{"articles/12@en", "articles/14@en", "authors/3", "categories/2", "files/7", "files/8"},
		Refs: []meshtest.ExpectedRef{
			{From: "articles/12@en", Field: "author", To: "authors/3"},
			{From: "articles/12@en", Field: "categories", To: "categories/1"},
			{From: "articles/12@en", Field: "cover", To: "files/7"},
			{From: "authors/3", Field: "avatar", To: "files/8"},
		},
	}))
}

func build(t *testing.T, src mesh.Source, opts mesh.Options) *mesh.Build {
	t.Helper()
	m, err := mesh.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add("cms", src); err != nil {
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
	ok := func(c Config) Config {
		if c.URL == "" && c.BaseURL == "" {
			c.URL = "https://cms.example.com"
		}
		if c.Collections == nil {
			c.Collections = []string{"articles"}
		}
		return c
	}
	tests := []struct {
		name    string
		cfg     Config
		wantKey string
	}{
		{"minimal", ok(Config{}), ""},
		{"baseURL alone", Config{BaseURL: "http://127.0.0.1:1337", Collections: []string{"articles"}}, ""},
		{"everything", ok(Config{Token: "t", Locale: "all", Preview: true, Version: 4}), ""},
		{"locale code", ok(Config{Locale: "en-US"}), ""},
		{"no url", Config{Collections: []string{"a"}}, "url"},
		{"url with /api", ok(Config{URL: "https://cms.example.com/api"}), "url"},
		{"url with query", ok(Config{URL: "https://cms.example.com/?x=1"}), "url"},
		{"not http", ok(Config{URL: "cms.example.com"}), "url"},
		{"bad baseURL", ok(Config{BaseURL: "ftp://x"}), "baseURL"},
		{"no collections", Config{URL: "https://cms.example.com"}, "collections"},
		{"singular path", ok(Config{Collections: []string{"api/articles"}}), "collections"},
		{"duplicate", ok(Config{Collections: []string{"articles", "articles"}}), "collections"},
		{"files", ok(Config{Collections: []string{"files"}}), "collections"},
		{"bad locale", ok(Config{Locale: "fr&x=1"}), "locale"},
		{"bad version", ok(Config{Version: 3}), "version"},
		{"token with newline", ok(Config{Token: "a\nb"}), "token"},
		{"bad option", ok(Config{Options: fetch.Options{Timeout: -1}}), "timeout"},
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
	cfg := Config{URL: "https://cms.example.com", Token: testToken, Collections: []string{"a"}}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), cfg.LogValue().String()} {
		if strings.Contains(s, testToken) || !strings.Contains(s, fetch.Redacted) {
			t.Errorf("config printed as %q", s)
		}
	}
}

// fields is the JSON of a node's fields at a path.
func field(n *mesh.Node, path string) string { return n.Get(path).Raw }

func TestMapping(t *testing.T) {
	sch, err := parseSchema(newFake(t, 5, "").schema)
	if err != nil {
		t.Fatal(err)
	}
	v5 := `{"id":12,"documentId":"` + a1 + `","title":"Hello","slug":"hello","body":"Body **1**",
		"content":[{"type":"paragraph","children":[{"type":"text","text":"Hi"}]}],
		"createdAt":"2024-03-06T13:43:30.172Z","updatedAt":"2024-03-06T21:38:46.353+01:00","publishedAt":null,"locale":"en",
		"seo":{"id":2,"metaTitle":"Meta"},
		"cover":{"id":7,"documentId":"m3","name":"hero.jpg","alternativeText":"Dawn","width":1600,"height":900,"mime":"image/jpeg","size":200.05,"url":"/uploads/hero.jpg",
			"formats":{"thumbnail":{"url":"/uploads/t_hero.jpg","width":245}}},
		"author":{"id":3,"documentId":"` + ada + `","name":"Ada"},
		"categories":[{"id":1,"documentId":"` + cN + `","name":"News"},{"id":2,"documentId":"` + cGo + `","name":"Go"}],
		"gallery":[],
		"localizations":[{"id":16,"documentId":"` + a1 + `","title":"Bonjour","locale":"fr"}],
		"sections":[{"__component":"shared.quote","id":4,"text":"q"}],
		"data":{"documentId":"not-a-relation"}}`
	v4 := `{"id":12,"attributes":{"title":"Hello","createdAt":"2024-03-06T13:43:30.172Z","updatedAt":"2024-03-06T21:38:46.353Z","locale":"en",
		"cover":{"data":{"id":7,"attributes":{"name":"hero.jpg","mime":"image/jpeg","url":"https://cdn.example.com/hero.jpg","size":1.5}}},
		"author":{"data":{"id":3,"attributes":{"name":"Ada"}}},
		"categories":{"data":[{"id":1,"attributes":{"name":"News"}}]},
		"tag":{"data":null},
		"localizations":{"data":[{"id":16,"attributes":{"title":"Bonjour","locale":"fr"}}]}}}`
	index := map[string][]string{"3": {"authors"}, "1": {"categories", "authors"}}
	tests := []struct {
		name    string
		item    string
		schema  bool
		resolve bool
		all     bool
		wantID  string
		want    map[string]string
		absent  []string
		assets  []string
	}{
		{"v5 with the schema", v5, true, false, false, "cms/articles/" + a1 + "@en", map[string]string{
			"title":         `"Hello"`,
			"body":          `"Body **1**"`,
			"content":       `[{"type":"paragraph","children":[{"type":"text","text":"Hi"}]}]`,
			"createdAt":     `"2024-03-06T13:43:30.172Z"`,
			"updatedAt":     `"2024-03-06T20:38:46.353Z"`,
			"publishedAt":   `null`,
			"locale":        `"en"`,
			"seo":           `{"id":2,"metaTitle":"Meta"}`,
			"cover":         `{"$ref":"cms/files/7"}`,
			"author":        `{"$ref":"cms/authors/` + ada + `"}`,
			"categories":    `[{"$ref":"cms/categories/` + cN + `"},{"$ref":"cms/categories/` + cGo + `"}]`,
			"gallery":       `[]`,
			"localizations": `["fr"]`,
			"sections":      `[{"__component":"shared.quote","id":4,"text":"q"}]`,
			"data":          `{"documentId":"not-a-relation"}`,
		}, []string{"id", "documentId"}, nil},
		{"v5 every locale", v5, true, false, true, "cms/articles/" + a1 + "@en", map[string]string{
			"title": `"Hello"`,
		}, []string{"localizations"}, nil},
		{"v5 assets from entries", v5, true, false, false, "cms/articles/" + a1 + "@en", nil, nil, []string{"cms/files/7"}},
		{"v4 resolved by id and field name", v4, false, true, false, "cms/articles/12@en", map[string]string{
			"title":         `"Hello"`,
			"cover":         `{"$ref":"cms/files/7"}`,
			"author":        `{"$ref":"cms/authors/3"}`,
			"categories":    `[{"$ref":"cms/categories/1"}]`,
			"tag":           `null`,
			"localizations": `["fr"]`,
		}, []string{"attributes", "id"}, nil},
		{"v4 unresolvable relation kept", v4, false, false, false, "cms/articles/12@en", map[string]string{
			"author": `{"data":{"id":3,"attributes":{"name":"Ada"}}}`,
		}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &decoder{source: "cms", collection: "articles", origin: "https://cms.example.com", localeAll: tt.all,
				assets: tt.assets != nil, warn: func(string) {}}
			if tt.schema {
				d.schema = sch.colls["articles"]
			}
			if tt.resolve {
				d.resolve = func(field, key string) (string, bool) { return pickCollection(field, key, index[key]) }
			}
			n, assets, _, err := d.entry(gjson.Parse(tt.item))
			if err != nil {
				t.Fatal(err)
			}
			if n.ID != tt.wantID || n.Type != "Article" || n.Locale != "en" {
				t.Errorf("node %s %s %q", n.ID, n.Type, n.Locale)
			}
			for p, want := range tt.want {
				if got := field(&n, p); got != want {
					t.Errorf("%s = %s, want %s", p, got, want)
				}
			}
			for _, p := range tt.absent {
				if n.Get(p).Exists() {
					t.Errorf("%s should not be there: %s", p, n.Fields)
				}
			}
			var ids []string
			for _, a := range assets {
				ids = append(ids, a.ID)
			}
			if !slices.Equal(ids, tt.assets) {
				t.Errorf("assets %v, want %v", ids, tt.assets)
			}
		})
	}
}

func TestMappingAsset(t *testing.T) {
	d := &decoder{source: "cms", origin: "https://cms.example.com"}
	n, err := d.asset(gjson.Parse(`{"id":7,"documentId":"m3","name":"hero.jpg","alternativeText":"Dawn","caption":null,"width":1600,"height":900,
		"formats":{"thumbnail":{"name":"t.jpg","width":245,"url":"/uploads/t.jpg"}},"hash":"hero_4f","ext":".jpg","mime":"image/jpeg",
		"size":200.05,"url":"/uploads/hero_4f.jpg","provider":"local","createdAt":"2024-03-01T12:00:00.000Z","updatedAt":"2024-03-01T12:00:00.000Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"url": `"https://cms.example.com/uploads/hero_4f.jpg"`, "mimeType": `"image/jpeg"`, "width": `1600`, "height": `900`,
		"size": `200050`, "title": `"hero.jpg"`, "fileName": `"hero.jpg"`, "alt": `"Dawn"`, "caption": `null`,
		"formats.thumbnail.url": `"https://cms.example.com/uploads/t.jpg"`, "formats.thumbnail.width": `245`,
		"updatedAt": `"2024-03-01T12:00:00Z"`,
	}
	if n.ID != "cms/files/7" || n.Type != "Asset" || n.UpdatedAt.IsZero() {
		t.Errorf("asset node %+v", n)
	}
	for p, w := range want {
		if got := field(&n, p); got != w {
			t.Errorf("%s = %s, want %s", p, got, w)
		}
	}
	if n.Get("provider").Exists() || n.Get("documentId").Exists() {
		t.Errorf("extra fields: %s", n.Fields)
	}
}

func TestMappingRejects(t *testing.T) {
	d := &decoder{source: "cms", collection: "articles", warn: func(string) {}}
	for _, body := range []string{
		`[]`, `{"data":3}`, `{"data":[1]}`, `{"data":[{"title":"no id"}]}`, `{"data":[{"documentId":5}]}`,
		`{"data":[{"id":1.5}]}`, `{"data":[{"id":1,"cover":{"id":"x","documentId":"d","mime":"a/b","url":"/u"}}]}`, `{"data":[`,
	} {
		if _, err := d.page([]byte(body)); !errors.Is(err, mesh.ErrBadResponse) {
			t.Errorf("page(%s): %v, want mesh.ErrBadResponse", body, err)
		}
	}
}

func TestSingular(t *testing.T) {
	for plural, want := range map[string]string{"articles": "article", "categories": "category", "boxes": "box",
		"classes": "class", "news": "new", "glass": "glass", "people": "people", "branches": "branch"} {
		if got := singular(plural); got != want {
			t.Errorf("singular(%q) = %q, want %q", plural, got, want)
		}
	}
}

func TestLocalesAndPreview(t *testing.T) {
	tests := []struct {
		name    string
		version int
		cfg     Config
		want    []string // article node IDs
		params  []string // in the articles listing
	}{
		{"v5 default locale", 5, Config{}, []string{a2 + "@en", a1 + "@en"}, []string{"sort[0]=id:asc", "populate=*", "pagination[pageSize]=100"}},
		{"v5 fr", 5, Config{Locale: "fr"}, []string{a1 + "@fr"}, []string{"locale=fr"}},
		{"v5 all", 5, Config{Locale: "all"}, []string{a2 + "@en", a1 + "@en", a1 + "@fr"}, []string{"locale=*"}},
		{"v5 drafts", 5, Config{Preview: true}, []string{a3 + "@en", a2 + "@en", a1 + "@en"}, []string{"status=draft"}},
		{"v4 all and preview", 4, Config{Locale: "all", Preview: true}, []string{"12@en", "14@en", "16@fr", "17@en"}, []string{"locale=all", "publicationState=preview"}},
		{"v4 configured", 4, Config{Version: 4, Preview: true}, []string{"12@en", "14@en", "17@en"}, []string{"publicationState=preview"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake(t, tt.version, testToken)
			cfg := tt.cfg
			cfg.URL, cfg.Token, cfg.Collections = serve(t, fake), testToken, collections
			b := build(t, newSource(t, cfg), mesh.Options{})
			var got []string
			for n := range b.Graph.ByType("Article") {
				got = append(got, strings.TrimPrefix(n.ID, "cms/articles/"))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("articles %v, want %v", got, tt.want)
			}
			for _, p := range tt.params {
				if !slices.ContainsFunc(fake.seen(), func(r string) bool {
					return strings.HasPrefix(r, "/api/articles?") && strings.Contains(r, p) && strings.Contains(r, "populate")
				}) {
					t.Errorf("no articles listing with %s: %v", p, fake.seen())
				}
			}
			if d := b.Graph.Dangling(); len(d) != 0 && tt.cfg.Locale != "fr" {
				t.Errorf("dangling refs: %v", d)
			}
		})
	}
}

func TestBackrefs(t *testing.T) {
	fake := newFake(t, 5, testToken)
	b := build(t, newSource(t, Config{URL: serve(t, fake), Token: testToken, Collections: collections, Locale: "all"}), mesh.Options{})
	g := b.Graph
	goCat, _ := g.Get("cms/categories/" + cGo)
	var from []string
	for n := range g.Backrefs(goCat, "categories") {
		from = append(from, n.ID)
	}
	if want := []string{"cms/articles/" + a2 + "@en", "cms/articles/" + a1 + "@en"}; !slices.Equal(from, want) {
		t.Errorf("articles in Go: %v, want %v", from, want)
	}
	fr, _ := g.Get("cms/articles/" + a1 + "@fr")
	en, _ := g.Get("cms/articles/" + a1 + "@en")
	if fr.NativeID != en.NativeID || fr.Get("title").String() != "Bonjour Strapi 5" || fr.Get("localizations").Exists() {
		t.Errorf("fr article: %s %s", fr.NativeID, fr.Fields)
	}
	hero, _ := g.Get("cms/files/7")
	n := 0
	for range g.Backrefs(hero, "cover") {
		n++
	}
	if n != 2 {
		t.Errorf("hero.jpg is the cover of %d articles, want 2 (en and fr)", n)
	}
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
	for _, deny := range []bool{false, true} {
		t.Run(fmt.Sprintf("schema and media library denied=%v", deny), func(t *testing.T) {
			fake := newFake(t, 5, testToken)
			fake.denySch, fake.denyFile = deny, deny
			cfg := Config{URL: serve(t, fake), Token: testToken, Collections: collections, Locale: "all"}
			store, err := mesh.NewDirStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			build(t, newSource(t, cfg), mesh.Options{Store: store})

			fake.change(func(f *fakeStrapi) {
				arts := f.colls["articles"]
				arts.row(12)["title"] = "Hello again"
				arts.row(12)["updatedAt"] = "2024-04-01T10:00:00.000Z"
				arts.remove(a2)
				// a draft published with its old updatedAt: only the sweep can tell it is new
				pub := arts.row(17)
				arts.Rows = append(arts.Rows, map[string]any{"id": 30.0, "documentId": a3, "locale": "en", "status": "published",
					"title": pub["title"], "slug": pub["slug"], "body": pub["body"], "author": pub["author"], "categories": []any{},
					"createdAt": pub["createdAt"], "updatedAt": "2024-03-01T00:00:00.000Z", "publishedAt": "2024-04-02T00:00:00.000Z"})
				f.colls["authors"].Rows = append(f.colls["authors"].Rows, map[string]any{"id": 5.0, "documentId": "newauthor000000000000000",
					"status": "published", "name": "Cy", "avatar": 9.0, "createdAt": "2024-04-03T00:00:00.000Z",
					"updatedAt": "2024-04-03T00:00:00.000Z", "publishedAt": "2024-04-03T00:00:00.000Z"})
				f.colls["categories"].remove(cN)
				f.files[0]["alternativeText"] = "Mountain at dusk" // a media edit: entries keep their updatedAt
			})
			before := len(fake.seen())
			second := build(t, newSource(t, cfg), mesh.Options{Store: store})
			reqs := fake.seen()[before:]
			for _, want := range []string{"filters[updatedAt][$gt]=2024-03-08T08:59:59.000Z", "fields[0]=id&fields[1]=locale",
				"filters[documentId][$in][0]=" + a3} {
				if !slices.ContainsFunc(reqs, func(r string) bool { return strings.Contains(r, want) }) {
					t.Errorf("no request with %s: %v", want, reqs)
				}
			}
			ch := second.Changes
			for _, id := range []string{"cms/articles/" + a2 + "@en", "cms/categories/" + cN} {
				if !slices.Contains(ch.Deleted, id) {
					t.Errorf("%s not deleted: %v", id, ch.Deleted)
				}
			}
			if !deny && !slices.Contains(ch.Updated, "cms/files/7") {
				t.Errorf("the edited file is not updated: %v", ch.Updated)
			}
			for _, id := range []string{"cms/articles/" + a3 + "@en", "cms/authors/newauthor000000000000000"} {
				if !slices.Contains(ch.Added, id) {
					t.Errorf("%s not added: %v", id, ch.Added)
				}
			}
			if !slices.Contains(ch.Updated, "cms/articles/"+a1+"@en") {
				t.Errorf("not updated: %v", ch.Updated)
			}
			full := build(t, newSource(t, cfg), mesh.Options{})
			want := graphState(full.Graph)
			if deny { // Assets come from entries: a media edit shows when an entry using it changes
				want["cms/files/7"] = graphState(second.Graph)["cms/files/7"]
			}
			diffStates(t, graphState(second.Graph), want)
			third := build(t, newSource(t, cfg), mesh.Options{Store: store})
			if !third.Changes.Empty() {
				t.Errorf("an unchanged server gave changes %+v", third.Changes)
			}
		})
	}
}

func TestPageSizeCapped(t *testing.T) {
	fake := newFake(t, 5, testToken)
	fake.maxLimit = 1 // api.rest.maxLimit: 1
	cfg := Config{URL: serve(t, fake), Token: testToken, Collections: collections, Locale: "all"}
	b := build(t, newSource(t, cfg), mesh.Options{})
	capped := fake.seen()
	fake.change(func(f *fakeStrapi) { f.maxLimit = 100 })
	want := build(t, newSource(t, cfg), mesh.Options{})
	diffStates(t, graphState(b.Graph), graphState(want.Graph))
	if !slices.ContainsFunc(capped, func(r string) bool {
		return strings.Contains(r, "pagination[page]=3") && strings.Contains(r, "pagination[pageSize]=1&")
	}) {
		t.Errorf("the listing did not go on with the capped size: %v", capped)
	}
}

// growing adds an article after the first page of the articles listing was served.
type growing struct {
	*fakeStrapi
	once sync.Once
}

func (g *growing) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.fakeStrapi.ServeHTTP(w, r)
	if r.URL.Path == "/api/articles" && r.URL.Query().Get("populate") == "*" {
		g.once.Do(func() {
			g.change(func(f *fakeStrapi) {
				f.colls["articles"].Rows = append(f.colls["articles"].Rows, map[string]any{"id": 40.0, "documentId": "late000000000000000000001",
					"locale": "en", "status": "published", "title": "Late", "createdAt": "2024-05-01T00:00:00.000Z",
					"updatedAt": "2024-05-01T00:00:00.000Z", "publishedAt": "2024-05-01T00:00:00.000Z"})
			})
		})
	}
}

// A media file deleted upstream: the delta turns into a full fetch, since the entries that used it
// keep their updatedAt.
func TestIncrementalFileDeleted(t *testing.T) {
	fake := newFake(t, 5, testToken)
	cfg := Config{URL: serve(t, fake), Token: testToken, Collections: collections}
	store, err := mesh.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	build(t, newSource(t, cfg), mesh.Options{Store: store})
	fake.change(func(f *fakeStrapi) {
		f.files = slices.DeleteFunc(f.files, func(m map[string]any) bool { return num(m["id"]) == 8 })
	})
	second := build(t, newSource(t, cfg), mesh.Options{Store: store})
	if !slices.Contains(second.Changes.Deleted, "cms/files/8") || !slices.Contains(second.Changes.Updated, "cms/authors/"+ada) {
		t.Errorf("changes %+v", second.Changes)
	}
	if d := second.Graph.Dangling(); len(d) != 0 {
		t.Errorf("dangling: %v", d)
	}
	diffStates(t, graphState(second.Graph), graphState(build(t, newSource(t, cfg), mesh.Options{}).Graph))
}

func TestListingChangesWhileRead(t *testing.T) {
	fake := &growing{fakeStrapi: newFake(t, 5, testToken)}
	src := newSource(t, Config{URL: serve(t, fake), Token: testToken, Collections: []string{"articles"},
		Options: fetch.Options{Concurrency: 1}})
	b := build(t, src, mesh.Options{PageSize: 1})
	if _, ok := b.Graph.Get("cms/articles/late000000000000000000001@en"); !ok || b.Graph.CountByType()["Article"] != 3 {
		t.Errorf("articles: %v", b.Graph.CountByType())
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		cfg      Config
		sentinel error
		want     []string
	}{
		{"bad token", 401, `{"data":null,"error":{"status":401,"name":"UnauthorizedError","message":"Missing or invalid credentials","details":{}}}`,
			Config{Token: "wrong-token-value"}, mesh.ErrUnauthorized, []string{"UnauthorizedError: Missing or invalid credentials", "check token"}},
		{"public role", 403, `{"data":null,"error":{"status":403,"name":"ForbiddenError","message":"Forbidden","details":{}}}`,
			Config{}, mesh.ErrForbidden, []string{"ForbiddenError", "Public role may not read"}},
		{"token without the permission", 403, `{"data":null,"error":{"status":403,"name":"ForbiddenError","message":"Forbidden","details":{}}}`,
			Config{Token: "t0ken"}, mesh.ErrForbidden, []string{"the token may not read \"articles\""}},
		{"unknown collection", 404, `{"data":null,"error":{"status":404,"name":"NotFoundError","message":"Not Found","details":{}}}`,
			Config{}, mesh.ErrNotFound, []string{"NotFoundError: Not Found", "plural API ids", "/api/articles"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/articles" && tt.status != 401 {
					w.WriteHeader(403) // the optional reads are refused: the fetch goes on
					return
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			cfg := tt.cfg
			cfg.URL, cfg.Collections = u, []string{"articles"}
			m, _ := mesh.New(mesh.Options{})
			m.Add("cms", newSource(t, cfg))
			_, err := m.Build(context.Background())
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("err = %v, want %v", err, tt.sentinel)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if cfg.Token != "" && strings.Contains(err.Error(), cfg.Token) {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
	// A v4 server rejecting v5's status parameter.
	fake := newFake(t, 4, testToken)
	m, _ := mesh.New(mesh.Options{})
	m.Add("cms", newSource(t, Config{URL: serve(t, fake), Token: testToken, Collections: collections, Preview: true, Version: 5}))
	_, err := m.Build(context.Background())
	if err == nil || !strings.Contains(err.Error(), "ValidationError: Invalid key status") || !strings.Contains(err.Error(), "version: 4") {
		t.Errorf("version mismatch: %v", err)
	}
}

func TestCheck(t *testing.T) {
	u := serve(t, newFake(t, 5, testToken))
	if err := newSource(t, Config{URL: u, Token: testToken, Collections: collections}).Check(context.Background()); err != nil {
		t.Errorf("Check: %v", err)
	}
	err := newSource(t, Config{URL: u, Token: "nope-token", Collections: collections}).Check(context.Background())
	if !errors.Is(err, mesh.ErrUnauthorized) || strings.Contains(err.Error(), "nope-token") {
		t.Errorf("Check with a bad token: %v", err)
	}
}
