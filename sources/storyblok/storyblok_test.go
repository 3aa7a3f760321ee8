package storyblok

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/mesh/meshtest"
)

func ptr[T any](v T) *T { return &v }

// fast are fetch options for tests: few, short retries, no rate limit.
var fast = fetch.Options{Retries: ptr(1), RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond,
	Timeout: 5 * time.Second, RequestsPerSecond: 1000}

const testToken = "sbTestToken77xx"

func testServer(t *testing.T, f *fakeSpace) *meshtest.FixtureServer {
	srv := meshtest.NewFixtureServer(t, "")
	srv.RequireQuery("token", testToken)
	srv.SetUnauthorized(http.StatusUnauthorized, nil, []byte(`{"error":"Unauthorized"}`))
	f.route(srv)
	return srv
}

func testConfig(baseURL string) Config {
	return Config{Token: testToken, Relations: testRelations, BaseURL: baseURL, Options: fast}
}

func mustNew(t *testing.T, cfg Config) *Source {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func buildGraph(t *testing.T, src mesh.Source, store mesh.Store, pageSize int) *mesh.Build {
	t.Helper()
	m, err := mesh.New(mesh.Options{Store: store, PageSize: pageSize})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add("cms", src); err != nil {
		t.Fatal(err)
	}
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func graphJSON(t *testing.T, g *mesh.Graph) string {
	t.Helper()
	var buf bytes.Buffer
	if err := g.WriteGraphJSON(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func node(t *testing.T, g *mesh.Graph, id string) *mesh.Node {
	t.Helper()
	n, ok := g.Get(id)
	if !ok {
		t.Fatalf("no node %s; have %v", id, g.CountByType())
	}
	return n
}

func storyID(uuid string) string { return mesh.NodeID("cms", "story", uuid) }

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		key  string
	}{
		{"minimal", func(*Config) {}, ""},
		{"no token", func(c *Config) { c.Token = "" }, "token"},
		{"token with a query delimiter", func(c *Config) { c.Token = "abc&version=draft" }, "token"},
		{"region us", func(c *Config) { c.Region = "US" }, ""},
		{"unknown region", func(c *Config) { c.Region = "mars" }, "region"},
		{"draft", func(c *Config) { c.Version = "draft" }, ""},
		{"unknown version", func(c *Config) { c.Version = "latest" }, "version"},
		{"languages", func(c *Config) { c.Languages = []string{"de", "pt-br", "zh_CN"} }, ""},
		{"bad language", func(c *Config) { c.Languages = []string{"de fr"} }, "languages"},
		{"default language", func(c *Config) { c.Languages = []string{"default"} }, "languages"},
		{"language twice", func(c *Config) { c.Languages = []string{"de", "DE"} }, "languages"},
		{"relation", func(c *Config) { c.Relations = []string{"post.author"} }, ""},
		{"relation without a component", func(c *Config) { c.Relations = []string{"author"} }, "relations"},
		{"bad baseURL", func(c *Config) { c.BaseURL = "127.0.0.1:9000" }, "baseURL"},
		{"bad option", func(c *Config) { c.Timeout = -time.Second }, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{Token: "tok"}
			tt.mod(&c)
			_, err := New(c)
			if tt.key == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, mesh.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.key) {
				t.Fatalf("New: err = %v, want ErrInvalidConfig naming %q", err, tt.key)
			}
		})
	}
}

func TestConfigYAML(t *testing.T) {
	const block = `
token: sb-secret-xyz
region: us
version: draft
languages: [de, fr]
relations: [post.author]
baseURL: http://127.0.0.1:9000
timeout: 30s
retries: 3
concurrency: 4
requestsPerSecond: 5
`
	dec := yaml.NewDecoder(strings.NewReader(block))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.Token != "sb-secret-xyz" || c.Region != "us" || c.Version != "draft" || fmt.Sprint(c.Languages) != "[de fr]" ||
		fmt.Sprint(c.Relations) != "[post.author]" || c.BaseURL != "http://127.0.0.1:9000" ||
		c.Timeout != 30*time.Second || *c.Retries != 3 || c.Concurrency != 4 || c.RequestsPerSecond != 5 {
		t.Errorf("decoded %#v %+v", c, c.Options)
	}
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if s.client.Options().RequestsPerSecond != 5 {
		t.Errorf("requestsPerSecond %v, want the configured 5", s.client.Options().RequestsPerSecond)
	}
	for _, out := range []string{c.String(), fmt.Sprintf("%v %+v %#v", c, c, c), s.String()} {
		if strings.Contains(out, "sb-secret-xyz") {
			t.Errorf("the token is printed: %s", out)
		}
	}
	// Without requestsPerSecond, Storyblok's limit for small uncached listings applies.
	if d := mustNew(t, Config{Token: "t"}); d.client.Options().RequestsPerSecond != DefaultRequestsPerSecond {
		t.Errorf("default requestsPerSecond %v", d.client.Options().RequestsPerSecond)
	}
}

// requestURL is the URL the client would request for path (the token added by Auth is not in it).
func requestURL(s *Source, path string) string {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.client.Do(ctx, &fetch.Request{URL: path})
	var re *fetch.RequestError
	if errors.As(err, &re) {
		return re.URL
	}
	return fmt.Sprint(err)
}

func TestRegions(t *testing.T) {
	for region, want := range map[string]string{"": "https://api.storyblok.com", "eu": "https://api.storyblok.com",
		"us": "https://api-us.storyblok.com", "ca": "https://api-ca.storyblok.com", "ap": "https://api-ap.storyblok.com",
		"cn": "https://app.storyblokchina.cn"} {
		if got := requestURL(mustNew(t, Config{Token: "t", Region: region}), spacePath); got != want+spacePath {
			t.Errorf("region %q: %s, want %s", region, got, want+spacePath)
		}
	}
}

// TestRequests checks the wire: the token in the query, the cv of spaces/me on every request (so
// the CDN never redirects), the stable order and the page size.
func TestRequests(t *testing.T) {
	f := newFakeSpace(t)
	srv := testServer(t, f)
	cfg := testConfig(srv.URL)
	cfg.Languages = []string{"de"}
	buildGraph(t, mustNew(t, cfg), nil, 0)
	reqs := srv.Requests()
	if len(reqs) != 3 || reqs[0].Path != spacePath {
		t.Fatalf("%d requests, first %s: want spaces/me then one page per language", len(reqs), reqs[0].Path)
	}
	langs := map[string]bool{}
	for _, r := range reqs[1:] {
		q := r.Query
		if r.Path != storiesPath || q.Get("cv") != "1715000000" || q.Get("version") != "published" ||
			q.Get("sort_by") != "id:asc" || q.Get("per_page") != "25" || q.Get("page") != "1" || q.Get("token") != meshtest.Masked {
			t.Errorf("stories request %s?%s", r.Path, r.RawQuery)
		}
		langs[q.Get("language")] = true
	}
	if !langs[""] || !langs["de"] {
		t.Errorf("languages requested: %v", langs)
	}
	if f.redirects != 0 {
		t.Errorf("%d requests were redirected for lack of cv", f.redirects)
	}
}

// TestFanOut: after the first page gives the total, the other pages are requested at once.
func TestFanOut(t *testing.T) {
	f := newFakeSpace(t)
	srv := testServer(t, f)
	cfg := testConfig(srv.URL)
	cfg.Concurrency = 4
	want := graphJSON(t, buildGraph(t, mustNew(t, cfg), nil, 0).Graph)

	srv.ResetRequests()
	held := srv.Inject(meshtest.Fault{Count: meshtest.Always, Prefix: storiesPath, Delay: time.Minute,
		Match: func(r *http.Request) bool { return r.URL.Query().Get("page") != "1" }})
	done := make(chan *mesh.Build)
	go func() { done <- buildGraph(t, mustNew(t, cfg), nil, 1) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := srv.Await(ctx, func(rs []Recorded) bool {
		pending := 0
		for _, r := range rs {
			if r.Pending() && r.Path == storiesPath {
				pending++
			}
		}
		return pending >= 3 // pages 2..5 of 5, at most 4 at a time
	})
	held.Remove()
	b := <-done
	if err != nil {
		t.Fatalf("the pages after the first were not requested concurrently: %v", err)
	}
	if graphJSON(t, b.Graph) != want {
		t.Error("page size 1 gives another graph")
	}
}

// Recorded is meshtest.Recorded, for the Await condition.
type Recorded = meshtest.Recorded

// TestPagination: every page size gives the same graph; pages past the total are not requested.
func TestPagination(t *testing.T) {
	f := newFakeSpace(t)
	srv := testServer(t, f)
	want := graphJSON(t, buildGraph(t, mustNew(t, testConfig(srv.URL)), nil, 0).Graph)
	for _, size := range []int{1, 2, 4, 5, 6, 500} {
		srv.ResetRequests()
		if got := graphJSON(t, buildGraph(t, mustNew(t, testConfig(srv.URL)), nil, size).Graph); got != want {
			t.Errorf("page size %d: another graph", size)
		}
		per := min(size, maxPageSize)
		if n, wantN := len(srv.Requests()), 1+(5+per-1)/per; n != wantN {
			t.Errorf("page size %d: %d requests, want %d (spaces/me and ceil(5/%d) pages)", size, n, wantN, per)
		}
	}
}

func decodeOne(t *testing.T, d decoder, lang, doc string) story {
	t.Helper()
	stories, err := d.decodePage([]byte(`{"stories":[`+doc+`]}`), "http://x", lang)
	if err != nil {
		t.Fatal(err)
	}
	if len(stories) != 1 {
		t.Fatalf("%d stories", len(stories))
	}
	c, _, err := mesh.Canonicalize(stories[0].node.Fields)
	if err != nil {
		t.Fatalf("fields %s: %v", stories[0].node.Fields, err)
	}
	stories[0].node.Fields = c
	return stories[0]
}

// TestMapping is the table of story shapes and the fields they become.
func TestMapping(t *testing.T) {
	rel := map[string]map[string]bool{"post": {"author": true, "related": true}}
	pub := decoder{source: "cms", relations: rel}
	draft := decoder{source: "cms", relations: rel, draft: true}
	const head = `"uuid":"u1","id":1,"name":"N","full_slug":"blog/n","published_at":"2024-05-03T13:00:00.000+02:00","updated_at":"2024-05-04T00:00:00.000Z"`
	tests := []struct {
		name   string
		d      decoder
		lang   string
		doc    string
		id     string
		typ    string
		fields string
		assets []asset
	}{
		{
			name: "times in UTC, updated_at left out of published stories",
			d:    pub,
			doc:  `{` + head + `,"content":{"component":"blog_post","title":"T"}}`,
			id:   "cms/story/u1", typ: "BlogPost",
			fields: `{"content":{"component":"blog_post","title":"T"},"full_slug":"blog/n","id":1,"name":"N","published_at":"2024-05-03T11:00:00Z","uuid":"u1"}`,
		},
		{
			name: "drafts keep updated_at",
			d:    draft,
			doc:  `{` + head + `,"content":{"component":"post"}}`,
			id:   "cms/story/u1", typ: "Post",
			fields: `{"content":{"component":"post"},"full_slug":"blog/n","id":1,"name":"N","published_at":"2024-05-03T11:00:00Z","updated_at":"2024-05-04T00:00:00Z","uuid":"u1"}`,
		},
		{
			name: "relations: a UUID, an array of UUIDs, a resolved story; only in the named component",
			d:    pub,
			doc: `{` + head + `,"content":{"component":"post","author":"u2","related":["u3",{"uuid":"u4","full_slug":"x","content":{"component":"post"}}],
				"blocks":[{"component":"teaser","author":"u5"}],"meta":{"author":"u6"},"empty":""}}`,
			id: "cms/story/u1", typ: "Post",
			fields: `{"content":{"author":{"$ref":"cms/story/u2"},"blocks":[{"author":"u5","component":"teaser"}],"component":"post","empty":"","meta":{"author":"u6"},"related":[{"$ref":"cms/story/u3"},{"$ref":"cms/story/u4"}]},"full_slug":"blog/n","id":1,"name":"N","published_at":"2024-05-03T11:00:00Z","uuid":"u1"}`,
		},
		{
			name: "a story link and a rich text link become refs in the story's language; URL links stay",
			d:    pub,
			lang: "de",
			doc: `{` + head + `,"content":{"component":"post","link":{"id":"u2","linktype":"story","fieldtype":"multilink","cached_url":"blog/x","anchor":"a"},
				"url":{"id":"","linktype":"url","url":"https://e.x"},
				"body":{"type":"doc","content":[{"type":"text","marks":[{"type":"link","attrs":{"uuid":"u3","linktype":"story","href":"/x"}}]}]}}}`,
			id: "cms/story/u1@de", typ: "Post",
			fields: `{"content":{"body":{"content":[{"marks":[{"attrs":{"href":"/x","linktype":"story","uuid":{"$ref":"cms/story/u3@de"}},"type":"link"}],"type":"text"}],"type":"doc"},"component":"post","link":{"anchor":"a","cached_url":"blog/x","fieldtype":"multilink","id":{"$ref":"cms/story/u2@de"},"linktype":"story"},"url":{"id":"","linktype":"url","url":"https://e.x"}},"full_slug":"blog/n","id":1,"name":"N","published_at":"2024-05-03T11:00:00Z","uuid":"u1"}`,
		},
		{
			name: "assets: the id becomes a ref (never localized), the rest stays; an empty asset stays",
			d:    pub,
			lang: "de",
			doc: `{` + head + `,"content":{"component":"post","image":{"id":6201216,"alt":"A","filename":"https://a.storyblok.com/f/1/10x20/h/a.jpg","fieldtype":"asset"},
				"gallery":[{"id":null,"filename":"https://ext.example/b.png","fieldtype":"asset","is_external_url":true}],
				"none":{"id":null,"filename":"","fieldtype":"asset"},"schema":{"$ref":"#/x"}}}`,
			id: "cms/story/u1@de", typ: "Post",
			fields: `{"content":{"component":"post","gallery":[{"fieldtype":"asset","filename":"https://ext.example/b.png","id":{"$ref":"cms/asset/https:%2F%2Fext.example%2Fb.png"},"is_external_url":true}],"image":{"alt":"A","fieldtype":"asset","filename":"https://a.storyblok.com/f/1/10x20/h/a.jpg","id":{"$ref":"cms/asset/6201216"}},"none":{"fieldtype":"asset","filename":"","id":null},"schema":{"$$ref":"#/x"}},"full_slug":"blog/n","id":1,"name":"N","published_at":"2024-05-03T11:00:00Z","uuid":"u1"}`,
			assets: []asset{{"6201216", "https://a.storyblok.com/f/1/10x20/h/a.jpg"}, {"https://ext.example/b.png", "https://ext.example/b.png"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := decodeOne(t, tt.d, tt.lang, tt.doc)
			n := st.node
			if n.ID != tt.id || n.Type != tt.typ || n.NativeID != "u1" || n.Locale != tt.lang {
				t.Errorf("node %s %s native %s locale %q", n.ID, n.Type, n.NativeID, n.Locale)
			}
			if string(n.Fields) != tt.fields {
				t.Errorf("fields:\n got %s\nwant %s", n.Fields, tt.fields)
			}
			if fmt.Sprint(st.assets) != fmt.Sprint(tt.assets) {
				t.Errorf("assets %v, want %v", st.assets, tt.assets)
			}
			wantAt := time.Date(2024, 5, 3, 11, 0, 0, 0, time.UTC)
			if tt.d.draft {
				wantAt = time.Date(2024, 5, 4, 0, 0, 0, 0, time.UTC)
			}
			if !n.UpdatedAt.Equal(wantAt) {
				t.Errorf("UpdatedAt %v, want %v", n.UpdatedAt, wantAt)
			}
		})
	}
}

func TestAssetNode(t *testing.T) {
	tests := []struct{ url, fields string }{
		{"https://a.storyblok.com/f/179952/1600x900/4cc45ffb63/hero.jpg",
			`{"fileName":"hero.jpg","height":900,"mimeType":"image/jpeg","url":"https://a.storyblok.com/f/179952/1600x900/4cc45ffb63/hero.jpg","width":1600}`},
		{"https://a.storyblok.com/f/179952/x/5e6f7a8b9c/Guide.PDF?v=2",
			`{"fileName":"Guide.PDF","mimeType":"application/pdf","url":"https://a.storyblok.com/f/179952/x/5e6f7a8b9c/Guide.PDF?v=2"}`},
		{"https://ext.example/file.unknown", `{"fileName":"file.unknown","url":"https://ext.example/file.unknown"}`},
		{"https://ext.example/", `{"url":"https://ext.example/"}`},
	}
	for _, tt := range tests {
		n := asset{id: "1", url: tt.url}.node("cms")
		c, _, err := mesh.Canonicalize(n.Fields)
		if err != nil || string(c) != tt.fields || n.ID != "cms/asset/1" || n.Type != "Asset" {
			t.Errorf("%s: %s %s %s (%v), want %s", tt.url, n.ID, n.Type, c, err, tt.fields)
		}
	}
}

func TestMappingErrors(t *testing.T) {
	d := decoder{source: "cms"}
	tests := []struct{ body, want string }{
		{`{"story":{}}`, `"stories" is not an array: found nothing`},
		{`{"stories":[{"uuid":"a","content":{"component":"p"}},{"content":{"component":"p"}}]}`, "story 1: bad response: story without a uuid string"},
		{`{"stories":[{"uuid":"a"}]}`, `story "a": content.component is not a component name`},
		{`{"stories":[{"uuid":"a","content":{"component":"-"}}]}`, `content.component is not a component name`},
		{`{"stories":[{"uuid":"a","content":{"component":"p"},"published_at":"soon"}]}`, `story "a": published_at`},
		{`{"stories":["a"]}`, "want a story object, found a string"},
	}
	for _, tt := range tests {
		_, err := d.decodePage([]byte(tt.body), "http://api/v2/cdn/stories?page=2", "")
		if err == nil || !errors.Is(err, mesh.ErrBadResponse) || !strings.Contains(err.Error(), tt.want) ||
			!strings.Contains(err.Error(), "http://api/v2/cdn/stories?page=2") {
			t.Errorf("%s: err = %v, want ErrBadResponse with %q and the URL", tt.body, err, tt.want)
		}
	}
	for _, body := range []string{`{"links":[1]}`, `{"links":"x"}`, `{"links":{"a":{"id":1}}}`} {
		if _, err := d.decodeLinks([]byte(body), "http://api/v2/cdn/links"); !errors.Is(err, mesh.ErrBadResponse) {
			t.Errorf("links %s: err = %v, want ErrBadResponse", body, err)
		}
	}
}

// TestGraph reads the fixture space through the engine: refs resolve, backrefs work, an asset used
// by two stories is one node.
func TestGraph(t *testing.T) {
	f := newFakeSpace(t)
	srv := testServer(t, f)
	cfg := testConfig(srv.URL)
	cfg.Languages = []string{"de"}
	b := buildGraph(t, mustNew(t, cfg), nil, 0)
	g := b.Graph
	if d := g.Dangling(); len(d) != 0 {
		t.Errorf("dangling refs: %v", d)
	}
	if b.Report.Sources[0].Duplicates != 0 {
		t.Errorf("%d nodes emitted twice", b.Report.Sources[0].Duplicates)
	}
	hero := node(t, g, "cms/asset/6201216")
	var users []string
	for n := range g.Backrefs(hero, "") {
		users = append(users, n.ID)
	}
	slices.Sort(users)
	users = slices.Compact(users)
	if want := []string{storyID(uuidPost1), storyID(uuidPost1) + "@de", storyID(uuidHome), storyID(uuidHome) + "@de"}; !slices.Equal(users, want) {
		t.Errorf("users of the hero image: %v, want %v", users, want)
	}
	if hero.Get("width").Int() != 1600 || hero.Get("mimeType").Str != "image/jpeg" || hero.Get("fileName").Str != "hero.jpg" {
		t.Errorf("hero asset: %s", hero.Fields)
	}
	ada := node(t, g, storyID(uuidAda)+"@de")
	var wrote []string
	for n := range g.Backrefs(ada, "content.author") {
		wrote = append(wrote, n.Get("content.title").Str)
	}
	if strings.Join(wrote, ",") != "Hallo Storyblok,Zweiter Beitrag" {
		t.Errorf("Ada's German posts: %v", wrote)
	}
	p1 := node(t, g, storyID(uuidPost1))
	if p1.Get("content.blocks.1.author").Str != "not-a-relation-here" || p1.Get("content.schema.$$ref").Str != "#/definitions/post" {
		t.Errorf("post: %s", p1.Fields)
	}
	if p1.Get("updated_at").Exists() || p1.Get("translated_slugs.0.path").Str != "blog/hallo-storyblok" {
		t.Errorf("post story attributes: %s", p1.Fields)
	}
	if f.redirects != 0 {
		t.Errorf("%d redirects", f.redirects)
	}
}

// TestDraft: version draft shows drafts and stories never published, dated by updated_at.
func TestDraft(t *testing.T) {
	srv := testServer(t, newFakeSpace(t))
	cfg := testConfig(srv.URL)
	cfg.Version = VersionDraft
	g := buildGraph(t, mustNew(t, cfg), nil, 0).Graph
	p1 := node(t, g, storyID(uuidPost1))
	if p1.Get("content.title").Str != "Hello Storyblok (draft)" || !p1.UpdatedAt.Equal(time.Date(2024, 5, 5, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("draft post: %v %s", p1.UpdatedAt, p1.Fields)
	}
	up := node(t, g, storyID("0d0e0f00-2222-4222-8222-000000000099"))
	if up.Get("published_at").Type.String() != "Null" {
		t.Errorf("never-published story: %s", up.Fields)
	}
	if srv.Requests()[1].Query.Get("version") != "draft" {
		t.Errorf("version sent: %s", srv.Requests()[1].RawQuery)
	}
}

// TestIncremental: a delta with publications, a new story, an unpublished story, a move that keeps
// the publication date and an asset no longer used, applied over the previous snapshot, equals a
// full fetch of the new state, in every language.
func TestIncremental(t *testing.T) {
	for _, version := range []string{VersionPublished, VersionDraft} {
		t.Run(version, func(t *testing.T) {
			f := newFakeSpace(t)
			srv := testServer(t, f)
			cfg := testConfig(srv.URL)
			cfg.Version = version
			if version == VersionPublished {
				cfg.Languages = []string{"de"}
			}
			store, err := mesh.NewDirStore(filepath.Join(t.TempDir(), "cache"))
			if err != nil {
				t.Fatal(err)
			}
			src := mustNew(t, cfg)
			first := buildGraph(t, src, store, 0)

			// Nothing changed.
			srv.ResetRequests()
			same := buildGraph(t, src, store, 0)
			if !same.Changes.Empty() || graphJSON(t, same.Graph) != graphJSON(t, first.Graph) {
				t.Fatalf("unchanged space: changes %+v", same.Changes)
			}
			wantReqs := 1 // spaces/me: the cache version did not move
			if version == VersionDraft {
				wantReqs = 3 // spaces/me, the date query (empty), one links page
			}
			if n := len(srv.Requests()); n != wantReqs {
				t.Errorf("an unchanged rebuild took %d requests, want %d", n, wantReqs)
			}

			// Changes.
			langs := []string{""}
			if version == VersionPublished {
				langs = append(langs, "de")
			}
			timeKey := "published_at"
			if version == VersionDraft {
				timeKey = "updated_at"
			}
			for _, lang := range langs {
				f.edit(version, lang, uuidPost2, func(s map[string]any) { // republished with new content
					s[timeKey] = "2024-06-01T10:00:00.000Z"
					s["content"].(map[string]any)["title"] = "Second post, edited " + lang
				})
				f.edit(version, lang, uuidAda, func(s map[string]any) { // moved: same date, new position
					s["position"] = 99
					delete(s["content"].(map[string]any), "avatar") // and the avatar is no longer used
				})
			}
			f.remove(version, uuidNews)
			for _, lang := range langs {
				f.put(t, version, lang, `{"name":"Fresh","uuid":"f0000000-0000-4000-8000-000000000001","id":460999999,"full_slug":"blog/fresh",
					"slug":"fresh","parent_id":460950252,"position":30,"published_at":"2024-06-02T00:00:00.000Z","updated_at":"2024-06-02T00:00:00.000Z",
					"lang":"`+map[string]string{"": "default", "de": "de"}[lang]+`",
					"content":{"_uid":"x","component":"post","title":"Fresh `+lang+`","author":"`+uuidAda+`","image":{"id":6201300,"filename":"https://a.storyblok.com/f/179952/10x10/ab/new.png","fieldtype":"asset"}}}`)
			}

			srv.ResetRequests()
			delta := buildGraph(t, src, store, 0)
			full := buildGraph(t, mustNew(t, cfg), nil, 0)
			if d, w := graphJSON(t, delta.Graph), graphJSON(t, full.Graph); d != w {
				t.Fatalf("delta graph differs from a full fetch:\n delta %s\n full  %s", d, w)
			}
			ch := delta.Changes
			suffixes := []string{""}
			if version == VersionPublished {
				suffixes = append(suffixes, "@de")
			}
			var added, updated, deleted []string
			for _, sfx := range suffixes {
				added = append(added, storyID("f0000000-0000-4000-8000-000000000001")+sfx)
				updated = append(updated, storyID(uuidAda)+sfx, storyID(uuidPost2)+sfx)
				deleted = append(deleted, storyID(uuidNews)+sfx)
			}
			added = append(added, "cms/asset/6201300")
			deleted = append(deleted, "cms/asset/6201217")
			for _, l := range [][]string{added, updated, deleted} {
				slices.Sort(l)
			}
			if fmt.Sprint(ch.Added) != fmt.Sprint(added) || fmt.Sprint(ch.Updated) != fmt.Sprint(updated) || fmt.Sprint(ch.Deleted) != fmt.Sprint(deleted) {
				t.Errorf("changes\n got %+v\nwant added %v updated %v deleted %v", ch, added, updated, deleted)
			}
			// The date query, and by_uuids for the moved story that it could not see.
			var dated, byUUIDs int
			for _, r := range srv.Requests() {
				if r.Query.Get(timeKey+"_gt") != "" {
					dated++
					if got := r.Query.Get(timeKey + "_gt"); version == VersionPublished && got != "2024-05-04 06:59" {
						t.Errorf("%s_gt=%s, want a minute before the last publication", timeKey, got)
					}
				}
				if v := r.Query.Get("by_uuids"); v != "" {
					byUUIDs++
					if v != uuidAda {
						t.Errorf("by_uuids=%s, want only the moved story", v)
					}
				}
			}
			if dated != len(langs) || byUUIDs != len(langs) {
				t.Errorf("%d date queries and %d by_uuids queries, want %d each", dated, byUUIDs, len(langs))
			}
		})
	}
}

// TestIncrementalWithoutDateFilter: a space that rejects the date filter still gets exact deltas,
// from the sweep and by_uuids, with a warning.
func TestIncrementalWithoutDateFilter(t *testing.T) {
	f := newFakeSpace(t)
	f.rejectSince = true
	srv := testServer(t, f)
	store, err := mesh.NewDirStore(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	src := mustNew(t, testConfig(srv.URL))
	buildGraph(t, src, store, 0)
	f.edit("published", "", uuidPost2, func(s map[string]any) {
		s["published_at"] = "2024-06-01T10:00:00.000Z"
		s["content"].(map[string]any)["title"] = "Second post, edited"
	})
	f.remove("published", uuidNews)
	var logs bytes.Buffer
	m, err := mesh.New(mesh.Options{Store: store, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add("cms", src); err != nil {
		t.Fatal(err)
	}
	delta, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	full := buildGraph(t, mustNew(t, testConfig(srv.URL)), nil, 0)
	if d, w := graphJSON(t, delta.Graph), graphJSON(t, full.Graph); d != w {
		t.Fatalf("delta graph differs from a full fetch:\n delta %s\n full  %s", d, w)
	}
	if fmt.Sprint(delta.Changes.Updated, delta.Changes.Deleted) != "["+storyID(uuidPost2)+"] ["+storyID(uuidNews)+"]" {
		t.Errorf("changes %+v", delta.Changes)
	}
	if !strings.Contains(logs.String(), "published_at_gt filter was rejected") {
		t.Errorf("no warning in the log: %s", logs.String())
	}
}

// TestErrors: each failure is a clear error that names the source, the URL (token redacted), the
// provider's message and what to fix.
func TestErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(srv *meshtest.FixtureServer, cfg *Config)
		is    error
		want  []string
	}{
		{
			name:  "401 wrong token",
			setup: func(_ *meshtest.FixtureServer, cfg *Config) { cfg.Token = "sbWrongToken" },
			is:    mesh.ErrUnauthorized,
			want:  []string{"401 Unauthorized: Unauthorized", "check the token key", "/v2/cdn/spaces/me"},
		},
		{
			name: "401 public token for drafts",
			setup: func(srv *meshtest.FixtureServer, cfg *Config) {
				cfg.Version = VersionDraft
				srv.Status(meshtest.Always, 401, []byte(`{"error":"Unauthorized"}`))
			},
			is:   mesh.ErrUnauthorized,
			want: []string{"version draft needs a preview token"},
		},
		{
			name: "404 wrong region",
			setup: func(srv *meshtest.FixtureServer, cfg *Config) {
				srv.Status(meshtest.Always, 404, []byte(`["This record could not be found"]`))
			},
			is:   mesh.ErrNotFound,
			want: []string{"404 Not Found: This record could not be found", `check region "eu"`},
		},
		{
			name: "422 a rejected parameter",
			setup: func(_ *meshtest.FixtureServer, cfg *Config) {
				cfg.Languages = []string{"xx"}
			},
			want: []string{"422 Unprocessable Entity", "language: is not a language of the space", "check languages [xx]"},
		},
		{
			name: "429 until retries run out",
			setup: func(srv *meshtest.FixtureServer, _ *Config) {
				srv.Inject(meshtest.Fault{Count: meshtest.Always, Prefix: storiesPath, Status: 429})
			},
			is:   mesh.ErrRateLimited,
			want: []string{"429 Too Many Requests", "after 2 attempts"},
		},
		{
			name: "no total header",
			setup: func(srv *meshtest.FixtureServer, cfg *Config) {
				srv.Handle("GET /proxy"+storiesPath, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `{"stories":[]}`) })
				srv.Handle("GET /proxy"+spacePath, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `{"space":{"version":1}}`) })
				cfg.BaseURL = srv.URL + "/proxy"
			},
			is:   mesh.ErrBadResponse,
			want: []string{"no total header"},
		},
		{
			name: "a space without a version",
			setup: func(srv *meshtest.FixtureServer, cfg *Config) {
				srv.Handle("GET /proxy"+spacePath, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `{"space":{"version":"x"}}`) })
				cfg.BaseURL = srv.URL + "/proxy"
			},
			is:   mesh.ErrBadResponse,
			want: []string{"no number at space.version"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testServer(t, newFakeSpace(t))
			cfg := testConfig(srv.URL)
			tt.setup(srv, &cfg)
			m, _ := mesh.New(mesh.Options{})
			if err := m.Add("cms", mustNew(t, cfg)); err != nil {
				t.Fatal(err)
			}
			_, err := m.Build(context.Background())
			if err == nil {
				t.Fatal("the build succeeded")
			}
			msg := err.Error()
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q does not wrap %v", msg, tt.is)
			}
			for _, w := range append(tt.want, `source "cms" (storyblok)`, srv.URL) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			for _, secret := range []string{testToken, "sbWrongToken"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q holds a token", msg)
				}
			}
		})
	}
}

// recorder is an Emitter that keeps what it was given.
type recorder struct {
	mu      sync.Mutex
	upserts []mesh.Node
	deletes []string
}

func (r *recorder) Upsert(n mesh.Node) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.upserts = append(r.upserts, n)
	return nil
}

func (r *recorder) Delete(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deletes = append(r.deletes, id)
	return nil
}

// TestCursorFallbacks: a cursor that cannot be read, or that another configuration made, gives a
// full fetch.
func TestCursorFallbacks(t *testing.T) {
	srv := testServer(t, newFakeSpace(t))
	s := mustNew(t, testConfig(srv.URL))
	res, err := s.Fetch(context.Background(), mesh.FetchRequest{Source: "cms"}, &recorder{})
	if err != nil || res.Delta || len(res.Cursor) == 0 {
		t.Fatalf("first fetch: %v delta=%t cursor=%s", err, res.Delta, res.Cursor)
	}
	if strings.Contains(string(res.Cursor), testToken) {
		t.Errorf("the cursor holds the token: %s", res.Cursor)
	}
	other := testConfig(srv.URL)
	other.Languages = []string{"de"}
	for name, c := range map[string]struct {
		src    *Source
		cursor []byte
		source string
	}{
		"garbage":            {s, []byte(`[`), "cms"},
		"another version":    {s, []byte(`{"v":2}`), "cms"},
		"another source":     {s, res.Cursor, "web"},
		"another config":     {mustNew(t, other), res.Cursor, "cms"},
		"wrong stories type": {s, []byte(`{"v":1,"stories":[]}`), "cms"},
	} {
		var rec recorder
		r, err := c.src.Fetch(context.Background(), mesh.FetchRequest{Source: c.source, Cursor: c.cursor}, &rec)
		if err != nil || r.Delta || len(rec.upserts) == 0 {
			t.Errorf("%s: err=%v delta=%t upserts=%d, want a full fetch", name, err, r.Delta, len(rec.upserts))
		}
	}
}

func TestSinceParam(t *testing.T) {
	for in, want := range map[string]string{
		"2024-05-04T07:00:00Z":        "2024-05-04 06:59",
		"2024-05-04T07:00:59.999Z":    "2024-05-04 06:59",
		"2024-01-01T00:00:30+00:00":   "2023-12-31 23:59",
		"":                            "",
		"not a time":                  "",
		"2024-05-04T09:00:00.5+02:00": "2024-05-04 06:59",
	} {
		if got := sinceParam(in); got != want {
			t.Errorf("sinceParam(%q) = %q, want %q", in, got, want)
		}
	}
}
