package wordpress

import (
	"context"
	"encoding/base64"
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
	testUser = "admin"
	testPass = "abcd EFGH ijkl MNOP qrst UVWX" // the shape of an Application Password
)

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func loadSite(t testing.TB, user, pass string) *fakeSite {
	t.Helper()
	site, err := newFakeSite("testdata", user, pass)
	if err != nil {
		t.Fatal(err)
	}
	return site
}

func TestConformance(t *testing.T) {
	meshtest.Run(t, meshtest.Harness{
		NewServer: func(t *testing.T) *meshtest.FixtureServer {
			site := loadSite(t, testUser, testPass)
			srv := meshtest.NewFixtureServer(t, "")
			srv.RequireHeader("Authorization", basic(testUser, testPass))
			srv.SetUnauthorized(http.StatusUnauthorized, nil,
				[]byte(`{"code":"incorrect_password","message":"The provided password is an invalid application password.","data":{"status":401}}`))
			srv.Handle("GET /wp-json/wp/v2/", site.ServeHTTP)
			return srv
		},
		NewSource: func(t *testing.T, env meshtest.Env) (mesh.Source, error) {
			return New(Config{
				URL: env.BaseURL, Username: testUser, AppPassword: env.Credential(testPass),
				Options: fetch.Options{Retries: &env.Retries, RetryWaitMin: env.RetryWaitMin,
					RetryWaitMax: env.RetryWaitMax, MaxRetryAfter: env.MaxRetryAfter, Timeout: env.Timeout},
			})
		},
		Expect: meshtest.Expectations{
			MinNodes: 15,
			Types:    []string{"Post", "Page", "Asset", "Category", "Tag", "User"},
			Counts:   map[string]int{"Post": 4, "Page": 2, "Asset": 2, "Category": 3, "Tag": 2, "User": 2},
			IDs:      []string{"post/101", "post/103", "page/12", "media/55", "category/5", "tag/9", "user/2"},
			Refs: []meshtest.ExpectedRef{
				{From: "post/101", Field: "author", To: "user/2"},
				{From: "post/101", Field: "featured_media", To: "media/55"},
				{From: "post/101", Field: "categories", To: "category/4"},
				{From: "post/101", Field: "tags", To: "tag/9"},
				{From: "page/12", Field: "parent", To: "page/2"},
				{From: "category/5", Field: "parent", To: "category/4"},
				{From: "media/55", Field: "author", To: "user/1"},
			},
		},
		RateLimit:   meshtest.RateLimit{Reset: []meshtest.ResetHeader{meshtest.RetryAfter}},
		Incremental: true,
		Secrets:     []string{testPass, basic(testUser, testPass)},
	})
}

// build runs one build of src through the real engine, with store (nil: none).
func build(t *testing.T, src mesh.Source, store mesh.Store) *mesh.Build {
	t.Helper()
	m, err := mesh.New(mesh.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add("blog", src); err != nil {
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

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantKey string // "" means valid
	}{
		{"url", Config{URL: "https://example.com"}, ""},
		{"baseURL alone", Config{BaseURL: "http://127.0.0.1:8081/"}, ""},
		{"credentials", Config{URL: "https://example.com", Username: "a", AppPassword: "b"}, ""},
		{"custom types", Config{URL: "https://example.com", Types: []string{"posts", "products"}}, ""},
		{"no url", Config{}, "url"},
		{"not http", Config{URL: "ftp://example.com"}, "url"},
		{"no host", Config{URL: "https://"}, "url"},
		{"query", Config{URL: "https://example.com/?rest_route=/"}, "url"},
		{"user info", Config{URL: "https://u:p@example.com"}, "url"},
		{"bad baseURL", Config{URL: "https://example.com", BaseURL: "example.com"}, "baseURL"},
		{"password alone", Config{URL: "https://example.com", AppPassword: "b"}, "username"},
		{"user alone", Config{URL: "https://example.com", Username: "a"}, "appPassword"},
		{"colon in user", Config{URL: "https://example.com", Username: "a:b", AppPassword: "c"}, "username"},
		{"empty type", Config{URL: "https://example.com", Types: []string{""}}, "types"},
		{"type with slash", Config{URL: "https://example.com", Types: []string{"wp/v2/posts"}}, "types"},
		{"duplicate type", Config{URL: "https://example.com", Types: []string{"posts", "posts"}}, "types"},
		{"bad option", Config{URL: "https://example.com", Options: fetch.Options{Concurrency: -1}}, "concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if !errors.Is(err, mesh.ErrInvalidConfig) {
				t.Fatalf("New: %v, want an error wrapping mesh.ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), `"`+tt.wantKey+`"`) {
				t.Errorf("error %q does not name key %q", err, tt.wantKey)
			}
		})
	}
}

func TestConfigHidesPassword(t *testing.T) {
	cfg := Config{URL: "https://example.com", Username: "admin", AppPassword: testPass}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), cfg.LogValue().String()} {
		if strings.Contains(s, testPass) || !strings.Contains(s, fetch.Redacted) {
			t.Errorf("config printed as %q", s)
		}
	}
}

// itemOf returns one item of the dataset as JSON.
func itemOf(t *testing.T, site *fakeSite, restBase string, id int) gjson.Result {
	t.Helper()
	b, err := json.Marshal(site.item(restBase, id))
	if err != nil {
		t.Fatal(err)
	}
	return gjson.ParseBytes(b)
}

func TestMapping(t *testing.T) {
	site := loadSite(t, "", "")
	sch, err := parseSchema(site.types, site.taxes)
	if err != nil {
		t.Fatal(err)
	}
	post, media, page, cat, user := builtins["posts"], builtins["media"], builtins["pages"], builtins["categories"], builtins["users"]
	tests := []struct {
		name     string
		t        *typeInfo
		restBase string
		id       int
		wantID   string
		wantType string
		want     map[string]string // gjson path -> raw JSON
		absent   []string
	}{
		{"post", &post, "posts", 101, "blog/post/101", "Post", map[string]string{
			"title":          `"Hello REST"`,
			"content":        `"<p>Body text.</p>\n"`,
			"excerpt":        `"<p>Body text.</p>\n"`,
			"guid":           `"https://example.com/?p=101"`,
			"date":           `"2024-05-01T07:30:00Z"`,
			"modified":       `"2024-05-03T09:00:00Z"`,
			"author":         `{"$ref":"blog/user/2"}`,
			"featured_media": `{"$ref":"blog/media/55"}`,
			"categories":     `[{"$ref":"blog/category/4"}]`,
			"tags":           `[{"$ref":"blog/tag/7"},{"$ref":"blog/tag/9"}]`,
			"slug":           `"hello-rest"`,
			"sticky":         `false`,
			"meta":           `[]`,
			"status":         `"publish"`,
		}, []string{"_links", "date_gmt", "modified_gmt"}},
		{"post without featured media or tags", &post, "posts", 98, "blog/post/98", "Post", map[string]string{
			"featured_media": `null`,
			"tags":           `[]`,
			"categories":     `[{"$ref":"blog/category/1"}]`,
		}, nil},
		{"draft has no date", &post, "posts", 103, "blog/post/103", "Post", map[string]string{
			"date":   `null`,
			"status": `"draft"`,
		}, nil},
		{"page with parent", &page, "pages", 12, "blog/page/12", "Page", map[string]string{
			"parent":     `{"$ref":"blog/page/2"}`,
			"menu_order": `0`,
		}, []string{"categories"}},
		{"page without parent", &page, "pages", 2, "blog/page/2", "Page", map[string]string{"parent": `null`}, nil},
		{"media", &media, "media", 55, "blog/media/55", "Asset", map[string]string{
			"url":                   `"https://example.com/wp-content/uploads/2024/04/hero.jpg"`,
			"mimeType":              `"image/jpeg"`,
			"width":                 `1600`,
			"height":                `900`,
			"size":                  `200050`,
			"title":                 `"hero"`,
			"alt":                   `"Mountain at dawn"`,
			"fileName":              `"hero.jpg"`,
			"caption":               `"<p>Mountain at dawn</p>\n"`,
			"post":                  `101`,
			"author":                `{"$ref":"blog/user/1"}`,
			"date":                  `"2024-04-30T06:00:00Z"`,
			"sizes.thumbnail.width": `150`,
		}, []string{"media_details", "source_url", "_links"}},
		{"category with parent", &cat, "categories", 5, "blog/category/5", "Category", map[string]string{
			"parent": `{"$ref":"blog/category/4"}`, "name": `"Go"`, "count": `2`, "taxonomy": `"category"`,
		}, nil},
		{"user", &user, "users", 2, "blog/user/2", "User", map[string]string{
			"name": `"Bob Editor"`, "slug": `"bob"`, "avatar_urls.24": `"https://secure.gravatar.com/avatar/b?s=24"`,
		}, []string{"_links"}},
		{"custom post type with a custom taxonomy", sch["products"], "products", 200, "blog/product/200", "Product", map[string]string{
			"genres":         `[{"$ref":"blog/genre/31"}]`,
			"featured_media": `{"$ref":"blog/media/56"}`,
			"type":           `"product"`,
		}, nil},
		{"custom taxonomy", sch["genres"], "genres", 31, "blog/genre/31", "Genre", map[string]string{"name": `"Fiction"`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decoder{source: "blog", t: tt.t}
			n, id, _, err := d.item(itemOf(t, site, tt.restBase, tt.id))
			if err != nil {
				t.Fatal(err)
			}
			if n.ID != tt.wantID || n.Type != tt.wantType || id != int64(tt.id) || n.NativeID != fmt.Sprint(tt.id) {
				t.Errorf("node %s %s %s (id %d), want %s %s", n.ID, n.Type, n.NativeID, id, tt.wantID, tt.wantType)
			}
			if !json.Valid(n.Fields) {
				t.Fatalf("fields are not JSON: %s", n.Fields)
			}
			for p, want := range tt.want {
				got := gjson.GetBytes(n.Fields, p)
				if !got.Exists() {
					t.Errorf("%s: missing in %s", p, n.Fields)
					continue
				}
				if got.Raw != want {
					t.Errorf("%s = %s, want %s", p, got.Raw, want)
				}
			}
			for _, p := range tt.absent {
				if gjson.GetBytes(n.Fields, p).Exists() {
					t.Errorf("%s should be dropped: %s", p, n.Fields)
				}
			}
		})
	}
}

func TestMappingUpdatedAt(t *testing.T) {
	site := loadSite(t, "", "")
	post := builtins["posts"]
	n, _, modified, err := decoder{source: "blog", t: &post}.item(itemOf(t, site, "posts", 101))
	if err != nil {
		t.Fatal(err)
	}
	if got := n.UpdatedAt.Format("2006-01-02T15:04:05Z07:00"); got != "2024-05-03T09:00:00Z" {
		t.Errorf("UpdatedAt = %s, want modified_gmt in UTC", got)
	}
	if modified != "2024-05-03T11:00:00" {
		t.Errorf("modified = %q, want the site-local value modified_after compares with", modified)
	}
}

func TestMappingRejects(t *testing.T) {
	post := builtins["posts"]
	d := decoder{source: "blog", t: &post}
	for _, body := range []string{
		`{"id":1}`,                            // not an array
		`[1]`,                                 // an item that is not an object
		`[{"title":{"rendered":"x"}}]`,        // no id
		`[{"id":"abc"}]`,                      // not a number
		`[{"id":-3}]`,                         // not positive
		`[{"id":1,"author":"x"}]`,             // a link that is not an id
		`[{"id":1,"categories":[1,{"a":1}]}]`, // a term that is not an id
		`[{"id":1`,                            // truncated
	} {
		if _, err := d.page([]byte(body)); !errors.Is(err, mesh.ErrBadResponse) {
			t.Errorf("page(%s): %v, want mesh.ErrBadResponse", body, err)
		}
	}
}

// startSite serves a fake site on an httptest server.
func startSite(t *testing.T, site http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(site)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestFetchBackrefs(t *testing.T) {
	site := loadSite(t, "", "")
	b := build(t, newSource(t, Config{URL: startSite(t, site)}), nil)
	g := b.Graph
	if _, ok := g.Get("blog/post/103"); ok {
		t.Error("an anonymous fetch got the draft")
	}
	for _, r := range site.seen() {
		if strings.Contains(r, "status=") {
			t.Errorf("anonymous request %s asks for a status", r)
		}
		if !strings.Contains(r, "orderby=id") || !strings.Contains(r, "order=asc") || !strings.Contains(r, "per_page=100") {
			t.Errorf("request %s is not a stable listing of 100 per page", r)
		}
	}
	tag, ok := g.Get("blog/tag/7")
	if !ok {
		t.Fatal("no tag 7")
	}
	var from []string
	for n := range g.Backrefs(tag, "tags") {
		from = append(from, n.ID)
	}
	if want := []string{"blog/post/101", "blog/post/104"}; !slices.Equal(from, want) {
		t.Errorf("backrefs of tag 7 = %v, want %v", from, want)
	}
	user, _ := g.Get("blog/user/2")
	var authored []string
	for n := range g.Backrefs(user, "author") {
		authored = append(authored, n.ID)
	}
	if want := []string{"blog/post/101"}; !slices.Equal(authored, want) {
		t.Errorf("posts of user 2 = %v, want %v", authored, want)
	}
	if d := g.Dangling(); len(d) != 0 {
		t.Errorf("dangling refs: %v", d)
	}
}

func TestCustomTypes(t *testing.T) {
	site := loadSite(t, "", "")
	b := build(t, newSource(t, Config{URL: startSite(t, site), Types: []string{"products", "genres", "media"}}), nil)
	if got := b.Graph.CountByType(); got["Product"] != 1 || got["Genre"] != 1 || got["Asset"] != 2 {
		t.Errorf("types %v", got)
	}
	genre, _ := b.Graph.Get("blog/genre/31")
	n := 0
	for range b.Graph.Backrefs(genre, "genres") {
		n++
	}
	if n != 1 {
		t.Errorf("genre 31 has %d backrefs through genres, want 1", n)
	}

	s := newSource(t, Config{URL: startSite(t, site), Types: []string{"posts", "books"}})
	m, _ := mesh.New(mesh.Options{})
	m.Add("blog", s)
	_, err := m.Build(context.Background())
	if !errors.Is(err, mesh.ErrInvalidConfig) || !strings.Contains(err.Error(), `"books"`) || !strings.Contains(err.Error(), "rest_base") {
		t.Errorf("unknown type: %v", err)
	}
}

// graphState is what two builds must agree on: every node's id, type, digest and refs.
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
	site := loadSite(t, testUser, testPass)
	base := startSite(t, site)
	cfg := Config{URL: base, Username: testUser, AppPassword: testPass}
	store, err := mesh.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	first := build(t, newSource(t, cfg), store)
	if _, ok := first.Graph.Get("blog/post/77"); ok {
		t.Fatal("a trashed post was fetched")
	}

	// Upstream changes: an edit, a deletion, a new post, a deleted tag (and the post that had it),
	// a restored post whose modification time is old, a new category, a renamed user.
	site.update("posts", 101, map[string]any{"title": map[string]any{"rendered": "Hello again"},
		"modified": "2024-06-01T10:00:00", "modified_gmt": "2024-06-01T08:00:00"})
	site.remove("posts", 98)
	site.add("posts", `{"id":120,"date":"2024-06-02T09:00:00","date_gmt":"2024-06-02T07:00:00","modified":"2024-06-02T09:00:00",
		"modified_gmt":"2024-06-02T07:00:00","slug":"new","status":"publish","type":"post","title":{"rendered":"New"},
		"content":{"rendered":"<p>New.</p>","protected":false},"author":1,"featured_media":55,"categories":[9001],"tags":[7]}`)
	// Deleting a term removes it from the posts without touching their modification time.
	site.remove("tags", 7)
	site.mu.Lock()
	for _, p := range site.data["posts"] {
		tags, _ := p["tags"].([]any)
		p["tags"] = slices.DeleteFunc(slices.Clone(tags), func(v any) bool { return v == 7.0 })
	}
	site.mu.Unlock()
	site.update("posts", 77, map[string]any{"status": "publish"})
	site.add("categories", `{"id":9001,"count":1,"name":"Fresh","slug":"fresh","taxonomy":"category","parent":0}`)
	site.update("users", 1, map[string]any{"name": "Ada Lovelace"})

	before := len(site.seen())
	second := build(t, newSource(t, cfg), store)
	reqs := site.seen()[before:]
	has := func(sub string) bool {
		return slices.ContainsFunc(reqs, func(r string) bool { return strings.Contains(r, sub) })
	}
	for _, want := range []string{"/posts?", "modified_after=2024-05-05T08%3A14%3A59", "_fields=id", "include=77"} {
		if !has(want) {
			t.Errorf("no request with %s in %v", want, reqs)
		}
	}
	// A tag was deleted: the posts are read again, since WordPress left their modified alone.
	if !has("/posts?order=asc&orderby=id&page=1&per_page=100&status=any") {
		t.Errorf("posts not read again after a tag was deleted: %v", reqs)
	}
	ch := second.Changes
	if !slices.Contains(ch.Deleted, "blog/post/98") || !slices.Contains(ch.Deleted, "blog/tag/7") {
		t.Errorf("deleted %v", ch.Deleted)
	}
	if !slices.Contains(ch.Updated, "blog/post/104") {
		t.Errorf("post 104 lost its tag but is not updated: %v", ch.Updated)
	}
	for _, id := range []string{"blog/post/120", "blog/post/77", "blog/category/9001"} {
		if !slices.Contains(ch.Added, id) {
			t.Errorf("%s not added: %v", id, ch.Added)
		}
	}
	for _, id := range []string{"blog/post/101", "blog/user/1"} {
		if !slices.Contains(ch.Updated, id) {
			t.Errorf("%s not updated: %v", id, ch.Updated)
		}
	}

	fresh := build(t, newSource(t, cfg), nil)
	diffStates(t, graphState(second.Graph), graphState(fresh.Graph))

	// An edit, no deletion: the delta reads only what changed.
	site.update("posts", 104, map[string]any{"title": map[string]any{"rendered": "Go generics, again"},
		"modified": "2024-06-03T10:00:00", "modified_gmt": "2024-06-03T08:00:00"})
	before = len(site.seen())
	third := build(t, newSource(t, cfg), store)
	for _, r := range site.seen()[before:] {
		if strings.Contains(r, "/posts?") && !strings.Contains(r, "modified_after") && !strings.Contains(r, "_fields=id") {
			t.Errorf("the delta re-read every post: %s", r)
		}
	}
	if !slices.Equal(third.Changes.Updated, []string{"blog/post/104"}) || len(third.Changes.Added)+len(third.Changes.Deleted) > 0 {
		t.Errorf("changes %+v", third.Changes)
	}
	diffStates(t, graphState(third.Graph), graphState(build(t, newSource(t, cfg), nil).Graph))

	// Nothing changed: the next delta is empty.
	if fourth := build(t, newSource(t, cfg), store); !fourth.Changes.Empty() {
		t.Errorf("unchanged site gave changes %+v", fourth.Changes)
	}
}

// shrinkingSite deletes post 101 right after it has served the first page of the posts listing:
// the listing changes while it is read.
type shrinkingSite struct {
	*fakeSite
	once sync.Once
}

func (s *shrinkingSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.fakeSite.ServeHTTP(w, r)
	if r.URL.Path == "/wp-json/wp/v2/posts" && r.URL.Query().Get("page") == "1" {
		s.once.Do(func() { s.remove("posts", 101) })
	}
}

func TestListingChangesWhileRead(t *testing.T) {
	site := &shrinkingSite{fakeSite: loadSite(t, testUser, testPass)}
	src := newSource(t, Config{URL: startSite(t, site), Username: testUser, AppPassword: testPass, Types: []string{"posts"},
		Options: fetch.Options{Concurrency: 1}})
	m, _ := mesh.New(mesh.Options{PageSize: 1})
	m.Add("blog", src)
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for n := range b.Graph.Nodes() {
		ids = append(ids, n.ID)
	}
	if want := []string{"blog/post/103", "blog/post/104", "blog/post/98"}; !slices.Equal(ids, want) {
		t.Errorf("nodes %v, want %v (the state after the change)", ids, want)
	}
	restarted := 0
	for _, r := range site.seen() {
		if strings.Contains(r, "page=1&") {
			restarted++
		}
	}
	if restarted < 2 {
		t.Errorf("the listing was not read again: %v", site.seen())
	}
}

func TestHiddenTotals(t *testing.T) {
	for _, size := range []int{1, 2, 100} { // 4 posts: pages of 1 and 2 end with a full page, then a 400
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			site := loadSite(t, testUser, testPass)
			site.hideTotals = true
			src := newSource(t, Config{URL: startSite(t, site), Username: testUser, AppPassword: testPass})
			m, _ := mesh.New(mesh.Options{PageSize: size})
			m.Add("blog", src)
			b, err := m.Build(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := build(t, newSource(t, Config{URL: startSite(t, loadSite(t, testUser, testPass)), Username: testUser, AppPassword: testPass}), nil)
			diffStates(t, graphState(b.Graph), graphState(want.Graph))
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		cfg      func(base string) Config
		sentinel error
		want     []string
	}{
		{"bad application password", 401, `{"code":"incorrect_password","message":"The provided password is an invalid application password.","data":{"status":401}}`,
			func(b string) Config { return Config{URL: b, Username: "admin", AppPassword: "wrong pass word"} },
			mesh.ErrUnauthorized, []string{"incorrect_password", "invalid application password", "check username and appPassword", "/wp-json/wp/v2/"}},
		{"credentials ignored, drafts refused", 400, `{"code":"rest_invalid_param","message":"Invalid parameter(s): status","data":{"status":400,"params":{"status":"Status is forbidden."},"details":{"status":{"code":"rest_forbidden_status","message":"Status is forbidden.","data":{"status":401}}}}}`,
			func(b string) Config { return Config{URL: b, Username: "admin", AppPassword: "wrong pass word"} },
			mesh.ErrUnauthorized, []string{"rest_invalid_param", "did not accept username and appPassword"}},
		{"not logged in", 401, `{"code":"rest_not_logged_in","message":"You are not currently logged in.","data":{"status":401}}`,
			func(b string) Config {
				return Config{URL: b, Username: "admin", AppPassword: "wrong pass word", Types: []string{"categories"}}
			},
			mesh.ErrUnauthorized, []string{"rest_not_logged_in", "check username and appPassword", "users/me"}},
		{"forbidden", 403, `{"code":"rest_cannot_view","message":"Sorry, you are not allowed to list users.","data":{"status":403}}`,
			func(b string) Config { return Config{URL: b, Types: []string{"users"}} },
			mesh.ErrForbidden, []string{"rest_cannot_view", "may not read users"}},
		{"no route", 404, `{"code":"rest_no_route","message":"No route was found matching the URL and request method.","data":{"status":404}}`,
			func(b string) Config { return Config{URL: b, Types: []string{"posts"}} },
			mesh.ErrNotFound, []string{"rest_no_route", "site root", `"posts"`}},
		{"not wordpress", 404, `<html>Not Found</html>`,
			func(b string) Config { return Config{URL: b, Types: []string{"posts"}} },
			mesh.ErrNotFound, []string{"404", "site root"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			cfg := tt.cfg(srv.URL)
			m, _ := mesh.New(mesh.Options{})
			m.Add("blog", newSource(t, cfg))
			_, err := m.Build(context.Background())
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("err = %v, want %v", err, tt.sentinel)
			}
			var se *mesh.SourceError
			if !errors.As(err, &se) || se.Source != "blog" {
				t.Errorf("error does not name the source: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if cfg.AppPassword != "" && strings.Contains(err.Error(), cfg.AppPassword) {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	site := loadSite(t, testUser, testPass)
	base := startSite(t, site)
	if err := newSource(t, Config{URL: base, Username: testUser, AppPassword: testPass}).Check(context.Background()); err != nil {
		t.Errorf("Check: %v", err)
	}
	err := newSource(t, Config{URL: base, Username: testUser, AppPassword: "nope"}).Check(context.Background())
	if !errors.Is(err, mesh.ErrUnauthorized) || strings.Contains(err.Error(), "nope") {
		t.Errorf("Check with a bad password: %v", err)
	}
}

func TestCursorIDSet(t *testing.T) {
	s := idSet{}
	for _, id := range []int64{9, 1, 2, 3, 5, 10, 11, 12, 100} {
		s.add(id)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `"1-3,5,9-12,100"` {
		t.Errorf("encoded %s", b)
	}
	var back idSet
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.sorted(), s.sorted()) {
		t.Errorf("round trip %v, want %v", back.sorted(), s.sorted())
	}
	for _, bad := range []string{`"x"`, `"3-1"`, `"1-"`, `"1-99999999999"`, `5`} {
		var x idSet
		if err := json.Unmarshal([]byte(bad), &x); err == nil {
			t.Errorf("decoded %s", bad)
		}
	}
}

func TestBadCursorMeansFullFetch(t *testing.T) {
	site := loadSite(t, "", "")
	src := newSource(t, Config{URL: startSite(t, site), Types: []string{"tags"}})
	for _, c := range []string{`{`, `{"v":2}`, `{"v":1,"fp":"other","src":"blog","types":{"tags":{"ids":""}}}`} {
		rec := &recorder{}
		res, err := src.Fetch(context.Background(), mesh.FetchRequest{Source: "blog", Cursor: json.RawMessage(c)}, rec)
		if err != nil {
			t.Fatal(err)
		}
		if res.Delta || len(rec.ids) != 2 {
			t.Errorf("cursor %s: delta %v, %d upserts", c, res.Delta, len(rec.ids))
		}
	}
}

// recorder is an Emitter that records upserted IDs.
type recorder struct {
	mu  sync.Mutex
	ids []string
}

func (r *recorder) Upsert(n mesh.Node) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, n.ID)
	return nil
}

func (r *recorder) Delete(string) error { return nil }
