package ghost

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

// fast are fetch options for tests: few, short retries.
var fast = fetch.Options{Retries: ptr(1), RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond, Timeout: 5 * time.Second}

const testKey = "0123456789abcdef01234567ff"

func testServer(t *testing.T, f *fakeSite) *meshtest.FixtureServer {
	srv := meshtest.NewFixtureServer(t, "")
	srv.RequireQuery("key", testKey)
	srv.SetUnauthorized(http.StatusUnauthorized, nil, []byte(unauthorizedBody))
	f.route(srv)
	return srv
}

func testConfig(baseURL string) Config {
	return Config{URL: "https://example.ghost.io", Key: testKey, BaseURL: baseURL, Options: fast}
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
	if err := m.Add("blog", src); err != nil {
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
	n, ok := g.Get("blog/" + id)
	if !ok {
		t.Fatalf("no node blog/%s; have %v", id, g.CountByType())
	}
	return n
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		key  string
	}{
		{"minimal", func(*Config) {}, ""},
		{"subdirectory install", func(c *Config) { c.URL = "https://example.com/blog/" }, ""},
		{"no url", func(c *Config) { c.URL = "" }, "url"},
		{"url without scheme", func(c *Config) { c.URL = "example.ghost.io" }, "url"},
		{"url of the API", func(c *Config) { c.URL = "https://example.ghost.io/ghost/api/content/" }, "url"},
		{"url with the key in it", func(c *Config) { c.URL = "https://example.ghost.io/?key=abc" }, "url"},
		{"no key", func(c *Config) { c.Key = "" }, "key"},
		{"key with a space", func(c *Config) { c.Key = "abc def" }, "key"},
		{"key with a delimiter", func(c *Config) { c.Key = "abc&limit=all" }, "key"},
		{"bad baseURL", func(c *Config) { c.BaseURL = "localhost:2368" }, "baseURL"},
		{"bad option", func(c *Config) { c.RequestsPerSecond = -1 }, "requestsPerSecond"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{URL: "https://example.ghost.io", Key: "abc"}
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
			if strings.Contains(err.Error(), "abc") && tt.key != "url" {
				t.Errorf("the error shows the key: %v", err)
			}
		})
	}
}

func TestConfigYAML(t *testing.T) {
	const block = `
url: https://demo.ghost.io
key: 22444f78447824223cefc48062
baseURL: http://127.0.0.1:2368
timeout: 30s
retries: 3
concurrency: 4
requestsPerSecond: 5
maxRetryAfter: 1m
`
	dec := yaml.NewDecoder(strings.NewReader(block))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.URL != "https://demo.ghost.io" || c.Key != "22444f78447824223cefc48062" || c.BaseURL != "http://127.0.0.1:2368" ||
		c.Timeout != 30*time.Second || *c.Retries != 3 || c.Concurrency != 4 || c.RequestsPerSecond != 5 || c.MaxRetryAfter != time.Minute {
		t.Errorf("decoded %#v %+v", c, c.Options)
	}
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{c.String(), fmt.Sprintf("%v %+v %#v", c, c, c), s.String()} {
		if strings.Contains(out, "22444f78447824223cefc48062") {
			t.Errorf("the key is printed: %s", out)
		}
	}
}

// TestRequests checks the wire: the key in the query (redacted in records), Accept-Version, the
// stable order, limit=100 and never limit=all, include for posts and pages only.
func TestRequests(t *testing.T) {
	f := newFakeSite(t)
	srv := testServer(t, f)
	buildGraph(t, mustNew(t, testConfig(srv.URL)), nil, 0)
	reqs := srv.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want one page per resource", len(reqs))
	}
	paths := map[string]string{}
	for _, r := range reqs {
		q := r.Query
		if q.Get("key") != meshtest.Masked || q.Get("limit") != "100" || q.Get("page") != "1" || q.Get("order") != "id asc" ||
			r.Header.Get("Accept-Version") != "v5.0" {
			t.Errorf("request %s?%s Accept-Version %q", r.Path, r.RawQuery, r.Header.Get("Accept-Version"))
		}
		paths[r.Path] = q.Get("include")
	}
	want := map[string]string{"/ghost/api/content/posts/": "authors,tags", "/ghost/api/content/pages/": "authors,tags",
		"/ghost/api/content/authors/": "", "/ghost/api/content/tags/": ""}
	if fmt.Sprint(paths) != fmt.Sprint(want) {
		t.Errorf("paths and includes %v, want %v", paths, want)
	}
	if f.limits["all"] {
		t.Error("limit=all was sent: Ghost 6 caps it at 100")
	}
	// A subdirectory install: the API is under the subdirectory.
	s := mustNew(t, Config{URL: "https://example.com/blog/", Key: "k"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.client.Do(ctx, &fetch.Request{URL: posts.path()})
	var re *fetch.RequestError
	if !errors.As(err, &re) || re.URL != "https://example.com/blog/ghost/api/content/posts/" {
		t.Errorf("subdirectory install: %v", err)
	}
}

// TestPagination: every page size gives the same graph, with the pages after the first requested
// at once.
func TestPagination(t *testing.T) {
	f := newFakeSite(t)
	srv := testServer(t, f)
	want := graphJSON(t, buildGraph(t, mustNew(t, testConfig(srv.URL)), nil, 0).Graph)
	for _, size := range []int{1, 2, 3, 100, 500} {
		srv.ResetRequests()
		if got := graphJSON(t, buildGraph(t, mustNew(t, testConfig(srv.URL)), nil, size).Graph); got != want {
			t.Errorf("page size %d: another graph", size)
		}
		per := min(size, 100)
		wantN := 0
		for _, n := range []int{3, 1, 2, 3} { // posts, pages, authors, tags
			wantN += max(1, (n+per-1)/per)
		}
		if n := len(srv.Requests()); n != wantN {
			t.Errorf("page size %d: %d requests, want %d", size, n, wantN)
		}
	}
	// Fan-out: with the second and later pages held, several are in flight at once.
	srv.ResetRequests()
	held := srv.Inject(meshtest.Fault{Count: meshtest.Always, Delay: time.Minute,
		Match: func(r *http.Request) bool { return r.URL.Query().Get("page") != "1" }})
	done := make(chan *mesh.Build)
	go func() { done <- buildGraph(t, mustNew(t, testConfig(srv.URL)), nil, 1) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := srv.Await(ctx, func(rs []meshtest.Recorded) bool {
		pending := 0
		for _, r := range rs {
			if r.Pending() {
				pending++
			}
		}
		return pending >= 4
	})
	held.Remove()
	if b := <-done; graphJSON(t, b.Graph) != want {
		t.Error("the held build gives another graph")
	}
	if err != nil {
		t.Fatalf("the pages after the first were not requested concurrently: %v", err)
	}
}

func decodeOne(t *testing.T, res resource, doc string) item {
	t.Helper()
	d := decoder{source: "blog"}
	items, err := d.decodePage([]byte(`{"`+res.name+`":[`+doc+`]}`), "http://x", res)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 {
		t.Fatalf("%d items", len(items))
	}
	c, _, err := mesh.Canonicalize(items[0].node.Fields)
	if err != nil {
		t.Fatalf("fields %s: %v", items[0].node.Fields, err)
	}
	items[0].node.Fields = c
	return items[0]
}

// TestMapping is the table of resource shapes and the fields they become.
func TestMapping(t *testing.T) {
	hero := newAsset("https://x.ghost.io/content/images/hero.jpg")
	heroRef := `{"$ref":"blog/asset/` + hero.id + `"}`
	tests := []struct {
		name      string
		res       resource
		doc       string
		id, typ   string
		fields    string
		assets    []string
		updatedAt time.Time
	}{
		{
			name: "a post: authors, tags and the primary ones become refs, times UTC, images assets",
			res:  posts,
			doc: `{"id":"p1","title":"T","html":"<p>x</p>","authors":[{"id":"1","name":"Ada"},{"id":"2"}],"tags":[{"id":"t1"}],
				"primary_author":{"id":"1"},"primary_tag":null,"feature_image":"https://x.ghost.io/content/images/hero.jpg","feature_image_alt":"A",
				"og_image":"https://x.ghost.io/content/images/hero.jpg","twitter_image":null,"updated_at":"2024-05-03T13:00:00.000+02:00","published_at":"2024-05-01T09:30:00.000+00:00"}`,
			id: "blog/post/p1", typ: "Post",
			fields: `{"authors":[{"$ref":"blog/author/1"},{"$ref":"blog/author/2"}],"feature_image":` + heroRef + `,"feature_image_alt":"A","html":"<p>x</p>","id":"p1","og_image":` + heroRef +
				`,"primary_author":{"$ref":"blog/author/1"},"primary_tag":null,"published_at":"2024-05-01T09:30:00Z","tags":[{"$ref":"blog/tag/t1"}],"title":"T","twitter_image":null,"updated_at":"2024-05-03T11:00:00Z"}`,
			assets:    []string{hero.id, hero.id},
			updatedAt: time.Date(2024, 5, 3, 11, 0, 0, 0, time.UTC),
		},
		{
			name: "a post without include: no relations at all",
			res:  pages,
			doc:  `{"id":"p2","title":"About","feature_image":""}`,
			id:   "blog/page/p2", typ: "Page",
			fields: `{"feature_image":"","id":"p2","title":"About"}`,
		},
		{
			name: "an author: profile and cover images",
			res:  authors,
			doc:  `{"id":"1","name":"Ada","profile_image":"https://x.ghost.io/content/images/hero.jpg","cover_image":null,"bio":null}`,
			id:   "blog/author/1", typ: "Author",
			fields: `{"bio":null,"cover_image":null,"id":"1","name":"Ada","profile_image":` + heroRef + `}`,
			assets: []string{hero.id},
		},
		{
			name: "a tag with a numeric id and an upstream $ref object",
			res:  tags,
			doc:  `{"id":12,"name":"#internal","visibility":"internal","meta":{"$ref":"x"},"list":[{"$$ref":"y"}]}`,
			id:   "blog/tag/12", typ: "Tag",
			fields: `{"id":12,"list":[{"$$$ref":"y"}],"meta":{"$$ref":"x"},"name":"#internal","visibility":"internal"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := decodeOne(t, tt.res, tt.doc)
			n := it.node
			if n.ID != tt.id || n.Type != tt.typ || !n.UpdatedAt.Equal(tt.updatedAt) {
				t.Errorf("node %s %s %v", n.ID, n.Type, n.UpdatedAt)
			}
			if string(n.Fields) != tt.fields {
				t.Errorf("fields:\n got %s\nwant %s", n.Fields, tt.fields)
			}
			var got []string
			for _, a := range it.assets {
				got = append(got, a.id)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.assets) {
				t.Errorf("assets %v, want %v", got, tt.assets)
			}
		})
	}
	a := newAsset("https://images.unsplash.com/photo-1?w=2000&fm=jpg").node("blog")
	if c, _, _ := mesh.Canonicalize(a.Fields); string(c) != `{"fileName":"photo-1","url":"https://images.unsplash.com/photo-1?w=2000&fm=jpg"}` || a.Type != "Asset" {
		t.Errorf("external image asset: %s", c)
	}
	a = newAsset("https://x.ghost.io/content/images/2024/01/Ada.PNG").node("blog")
	if c, _, _ := mesh.Canonicalize(a.Fields); string(c) != `{"fileName":"Ada.PNG","mimeType":"image/png","url":"https://x.ghost.io/content/images/2024/01/Ada.PNG"}` {
		t.Errorf("image asset: %s", c)
	}
}

func TestMappingErrors(t *testing.T) {
	d := decoder{source: "blog"}
	tests := []struct {
		res        resource
		body, want string
	}{
		{posts, `{"post":[]}`, `"posts" is not an array: found nothing`},
		{posts, `{"posts":[{"id":"a"},{"title":"x"}]}`, "post 1: bad response: no id"},
		{posts, `{"posts":[{"id":"a","authors":{"id":"1"}}]}`, `post "a": bad response: authors is an object, want an array`},
		{posts, `{"posts":[{"id":"a","tags":[{"name":"x"}]}]}`, `post "a": bad response: a tag without an id`},
		{pages, `{"pages":[{"id":"a","updated_at":"last week"}]}`, `page "a": updated_at`},
		{tags, `{"tags":[null]}`, "want an object, found null"},
	}
	for _, tt := range tests {
		_, err := d.decodePage([]byte(tt.body), "http://x/ghost/api/content/posts/?page=2", tt.res)
		if err == nil || !errors.Is(err, mesh.ErrBadResponse) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "page=2") {
			t.Errorf("%s: err = %v, want ErrBadResponse with %q and the URL", tt.body, err, tt.want)
		}
	}
	if _, err := decodeStamps([]byte(`{"posts":[{"updated_at":"x"}]}`), "http://x", posts); !errors.Is(err, mesh.ErrBadResponse) {
		t.Errorf("sweep without ids: %v", err)
	}
}

// TestGraph reads the fixture site through the engine: authors and tags know their posts, one
// Asset per image URL, no dangling refs, internal tags included.
func TestGraph(t *testing.T) {
	srv := testServer(t, newFakeSite(t))
	b := buildGraph(t, mustNew(t, testConfig(srv.URL)), nil, 0)
	g := b.Graph
	if d := g.Dangling(); len(d) != 0 {
		t.Errorf("dangling refs: %v", d)
	}
	if b.Report.Sources[0].Duplicates != 0 {
		t.Errorf("%d nodes emitted twice", b.Report.Sources[0].Duplicates)
	}
	grace := node(t, g, "author/"+authorGrace)
	var titles []string
	for n := range g.Backrefs(grace, "authors") {
		titles = append(titles, n.Get("title").Str)
	}
	if strings.Join(titles, ",") != "Second post,Go tips" {
		t.Errorf("Grace's posts: %v", titles)
	}
	internal := node(t, g, "tag/"+tagInternal)
	if internal.Get("visibility").Str != "internal" {
		t.Errorf("internal tag: %s", internal.Fields)
	}
	hero := node(t, g, heroAsset)
	var users []string
	for n := range g.Backrefs(hero, "") {
		users = append(users, n.NativeID)
	}
	if fmt.Sprint(slices.Compact(users)) != "["+postWelcome+"]" || hero.Get("mimeType").Str != "image/jpeg" {
		t.Errorf("hero asset %s used by %v", hero.Fields, users)
	}
	post := node(t, g, "post/"+postGo)
	if post.Get("updated_at").Str != "2024-03-02T06:00:00Z" || !post.UpdatedAt.Equal(time.Date(2024, 3, 2, 6, 0, 0, 0, time.UTC)) {
		t.Errorf("times: %s %v", post.Get("updated_at").Str, post.UpdatedAt)
	}
}

// TestIncremental: a delta with an edited post, a new post, a deleted page, an author change, a
// tag no longer used, an image no longer used, and an edit within the watermark's second, applied
// over the previous snapshot, equals a full fetch of the new state.
func TestIncremental(t *testing.T) {
	f := newFakeSite(t)
	srv := testServer(t, f)
	store, err := mesh.NewDirStore(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	src := mustNew(t, testConfig(srv.URL))
	first := buildGraph(t, src, store, 0)

	srv.ResetRequests()
	same := buildGraph(t, src, store, 0)
	if !same.Changes.Empty() || graphJSON(t, same.Graph) != graphJSON(t, first.Graph) {
		t.Fatalf("unchanged site: changes %+v", same.Changes)
	}
	if n := len(srv.Requests()); n != 6 {
		t.Errorf("an unchanged rebuild took %d requests, want 6 (posts and pages: the filter and one sweep page each; authors; tags)", n)
	}
	for _, r := range srv.Requests() {
		if f := r.Query.Get("filter"); f != "" && f != "updated_at:>'2024-05-03 11:00:00'" {
			t.Errorf("filter %q, want the last updated_at", f)
		}
	}

	// The Go post is edited: its tag "go" (and the tag's image) goes, its image too.
	f.edit("posts", postGo, func(p map[string]any) {
		p["title"], p["updated_at"], p["feature_image"] = "Go tips, revised", "2024-06-01T00:00:00.000+00:00", nil
		p["tags"], p["primary_tag"] = []any{}, nil
	})
	f.remove("tags", tagGo) // no published post uses it any more: Ghost stops listing it
	// A new post; the About page is unpublished; Ada changes her bio (authors have no updated_at).
	f.put(t, "posts", `{"id":"5ddc9141c35e7700383b2940","title":"New","slug":"new","html":"<p>New.</p>","updated_at":"2024-06-02T00:00:00.000+00:00",
		"authors":[{"id":"1"}],"tags":[{"id":"`+tagNews+`"}],"primary_author":{"id":"1"},"primary_tag":{"id":"`+tagNews+`"},
		"feature_image":"https://example.ghost.io/content/images/2024/06/new.jpg"}`)
	f.remove("pages", pageAbout)
	f.edit("authors", authorAda, func(a map[string]any) { a["bio"] = "Writes about Go and Ghost." })
	// Edited within the second of the watermark, after the last fetch read it.
	f.edit("posts", postSecond, func(p map[string]any) {
		p["title"], p["updated_at"] = "Second post (tie)", "2024-05-03T11:00:00.000+00:00"
	})

	srv.ResetRequests()
	delta := buildGraph(t, src, store, 0)
	full := buildGraph(t, mustNew(t, testConfig(srv.URL)), nil, 0)
	if d, w := graphJSON(t, delta.Graph), graphJSON(t, full.Graph); d != w {
		t.Fatalf("delta graph differs from a full fetch:\n delta %s\n full  %s", d, w)
	}
	newImage := "blog/" + "asset/" + newAsset("https://example.ghost.io/content/images/2024/06/new.jpg").id
	unsplash := "blog/asset/" + newAsset("https://images.unsplash.com/photo-1500000000000?w=2000&fm=jpg").id
	gopher := "blog/asset/" + newAsset("https://example.ghost.io/content/images/2024/02/gopher.png").id
	want := mesh.ChangeSet{
		Added:   []string{"blog/post/5ddc9141c35e7700383b2940", newImage},
		Updated: []string{"blog/author/" + authorAda, "blog/post/" + postSecond, "blog/post/" + postGo},
		Deleted: []string{"blog/page/" + pageAbout, "blog/tag/" + tagGo, unsplash, gopher},
	}
	for _, l := range [][]string{want.Added, want.Updated, want.Deleted} {
		slices.Sort(l)
	}
	if fmt.Sprint(delta.Changes) != fmt.Sprint(want) {
		t.Errorf("changes\n got %+v\nwant %+v", delta.Changes, want)
	}
	var byID int
	for _, r := range srv.Requests() {
		if strings.HasPrefix(r.Query.Get("filter"), "id:[") {
			byID++
			if r.Query.Get("filter") != "id:["+postSecond+"]" {
				t.Errorf("filter %s, want only the post edited at the watermark's second", r.Query.Get("filter"))
			}
		}
	}
	if byID != 1 {
		t.Errorf("%d by-id requests, want 1", byID)
	}
}

// TestIncrementalWithoutDateFilter: a server that rejects the updated_at filter still gets exact
// deltas, from the sweep and the by-id fetch, with a warning.
func TestIncrementalWithoutDateFilter(t *testing.T) {
	f := newFakeSite(t)
	f.rejectSince = true
	srv := testServer(t, f)
	store, err := mesh.NewDirStore(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	src := mustNew(t, testConfig(srv.URL))
	buildGraph(t, src, store, 0)
	f.edit("posts", postGo, func(p map[string]any) {
		p["title"], p["updated_at"] = "Go tips, revised", "2024-06-01T00:00:00.000+00:00"
	})
	f.remove("posts", postSecond)
	f.put(t, "pages", `{"id":"5ddc9141c35e7700383b29a1","title":"Contact","updated_at":"2024-06-02T00:00:00.000+00:00","authors":[],"tags":[]}`)
	var logs bytes.Buffer
	m, err := mesh.New(mesh.Options{Store: store, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add("blog", src); err != nil {
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
	if fmt.Sprint(delta.Changes.Added, delta.Changes.Updated, delta.Changes.Deleted) !=
		"[blog/page/5ddc9141c35e7700383b29a1] [blog/post/"+postGo+"] [blog/post/"+postSecond+"]" {
		t.Errorf("changes %+v", delta.Changes)
	}
	if !strings.Contains(logs.String(), "updated_at filter was rejected") {
		t.Errorf("no warning in the log: %s", logs.String())
	}
}

// TestErrors: each failure is a clear error that names the source, the URL (key redacted), Ghost's
// message and what to fix.
func TestErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(srv *meshtest.FixtureServer, cfg *Config)
		is    error
		want  []string
	}{
		{
			name:  "401 unknown key",
			setup: func(_ *meshtest.FixtureServer, cfg *Config) { cfg.Key = "ffffffffffffffffffffffffff" },
			is:    mesh.ErrUnauthorized,
			want:  []string{"401 Unauthorized: Authorization failed: Unknown Content API Key", "not the Admin API key"},
		},
		{
			name: "404 wrong url",
			setup: func(srv *meshtest.FixtureServer, cfg *Config) {
				srv.Status(meshtest.Always, 404, []byte(`{"errors":[{"message":"Resource not found","context":null,"type":"NotFoundError"}]}`))
			},
			is:   mesh.ErrNotFound,
			want: []string{"404 Not Found: Resource not found", "check url https://example.ghost.io", "https://example.ghost.io/ghost/api/content/"},
		},
		{
			name: "400 a rejected parameter",
			setup: func(srv *meshtest.FixtureServer, _ *Config) {
				srv.Status(meshtest.Always, 400, []byte(`{"errors":[{"message":"Validation error, cannot list posts.","context":"order is invalid","type":"ValidationError"}]}`))
			},
			want: []string{"400 Bad Request: Validation error, cannot list posts.: order is invalid", "Ghost 5 or later"},
		},
		{
			name: "429 from the CDN until retries run out",
			setup: func(srv *meshtest.FixtureServer, _ *Config) {
				srv.Inject(meshtest.Fault{Count: meshtest.Always, Status: 429})
			},
			is:   mesh.ErrRateLimited,
			want: []string{"429 Too Many Requests", "after 2 attempts"},
		},
		{
			name: "no pagination meta",
			setup: func(srv *meshtest.FixtureServer, cfg *Config) {
				for _, res := range resources { // an old or foreign server: no meta at all
					srv.Handle("GET /old"+apiPath+res.path(), func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintf(w, `{%q:[]}`, res.name) })
				}
				cfg.BaseURL = srv.URL + "/old"
			},
			is:   mesh.ErrBadResponse,
			want: []string{"no count at meta.pagination.total"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testServer(t, newFakeSite(t))
			cfg := testConfig(srv.URL)
			tt.setup(srv, &cfg)
			m, _ := mesh.New(mesh.Options{})
			if err := m.Add("blog", mustNew(t, cfg)); err != nil {
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
			for _, w := range append(tt.want, `source "blog" (ghost)`, srv.URL) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			for _, secret := range []string{testKey, "ffffffffffffffffffffffffff"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q holds the key", msg)
				}
			}
		})
	}
}

// recorder is an Emitter that keeps what it was given.
type recorder struct {
	mu      sync.Mutex
	upserts []mesh.Node
}

func (r *recorder) Upsert(n mesh.Node) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.upserts = append(r.upserts, n)
	return nil
}

func (r *recorder) Delete(string) error { return nil }

// TestCursorFallbacks: a cursor that cannot be read, or that another configuration made, gives a
// full fetch.
func TestCursorFallbacks(t *testing.T) {
	srv := testServer(t, newFakeSite(t))
	s := mustNew(t, testConfig(srv.URL))
	res, err := s.Fetch(context.Background(), mesh.FetchRequest{Source: "blog"}, &recorder{})
	if err != nil || res.Delta || len(res.Cursor) == 0 {
		t.Fatalf("first fetch: %v delta=%t cursor=%s", err, res.Delta, res.Cursor)
	}
	if strings.Contains(string(res.Cursor), testKey) {
		t.Errorf("the cursor holds the key: %s", res.Cursor)
	}
	other := testConfig(srv.URL + "/")
	other.BaseURL = srv.URL + "/other"
	for name, c := range map[string]struct {
		src    *Source
		cursor []byte
		source string
	}{
		"garbage":         {s, []byte(`{`), "blog"},
		"another version": {s, []byte(`{"v":3}`), "blog"},
		"another source":  {s, res.Cursor, "web"},
		"an unknown key":  {s, []byte(`{"v":1,"fingerprint":"` + s.fingerprint + `","source":"blog","items":{"widgets/1":{}}}`), "blog"},
	} {
		var rec recorder
		r, err := c.src.Fetch(context.Background(), mesh.FetchRequest{Source: c.source, Cursor: c.cursor}, &rec)
		if err != nil || r.Delta || len(rec.upserts) == 0 {
			t.Errorf("%s: err=%v delta=%t upserts=%d, want a full fetch", name, err, r.Delta, len(rec.upserts))
		}
	}
	// Another site's cursor is not this one's (same instance name, another URL).
	if mustNew(t, other).readCursor(mesh.FetchRequest{Source: "blog", Cursor: res.Cursor}, slog.New(slog.DiscardHandler)) != nil {
		t.Error("a cursor of another site was accepted")
	}
}

func TestSinceFilter(t *testing.T) {
	for in, want := range map[string]string{
		"2024-05-03T11:00:00Z":        "updated_at:>'2024-05-03 11:00:00'",
		"2024-05-03T13:00:00.5+02:00": "updated_at:>'2024-05-03 11:00:00'",
		"":                            "",
		"garbage":                     "",
	} {
		if got := sinceFilter(in); got != want {
			t.Errorf("sinceFilter(%q) = %q, want %q", in, got, want)
		}
	}
}
