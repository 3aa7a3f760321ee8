package sanity

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
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

const testToken = "sk-test-token-91ab"

// testServer serves a fake API that requires testToken.
func testServer(t *testing.T, f *fakeAPI) *meshtest.FixtureServer {
	srv := meshtest.NewFixtureServer(t, "")
	srv.RequireHeader("Authorization", "Bearer "+testToken)
	srv.SetUnauthorized(http.StatusUnauthorized, nil, []byte(unauthorizedBody))
	f.route(srv)
	return srv
}

func testConfig(baseURL string) Config {
	return Config{ProjectID: "abcd1234", Dataset: "production", Token: testToken, BaseURL: baseURL, Options: fast}
}

func mustNew(t *testing.T, cfg Config) *Source {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// buildGraph runs one build of src through the engine, with store (nil: none).
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

func TestNewValidates(t *testing.T) {
	ok := Config{ProjectID: "abcd1234", Dataset: "production"}
	tests := []struct {
		name string
		mod  func(*Config)
		key  string // named in the error; "" means valid
	}{
		{"minimal", func(*Config) {}, ""},
		{"no project", func(c *Config) { c.ProjectID = "" }, "projectId"},
		{"project with a dot", func(c *Config) { c.ProjectID = "abc.evil.com" }, "projectId"},
		{"no dataset", func(c *Config) { c.Dataset = "" }, "dataset"},
		{"dataset with a slash", func(c *Config) { c.Dataset = "prod/../x" }, "dataset"},
		{"api version without v", func(c *Config) { c.APIVersion = "2024-01-01" }, ""},
		{"api version v1", func(c *Config) { c.APIVersion = "v1" }, ""},
		{"api version not a date", func(c *Config) { c.APIVersion = "v2024-13-45" }, "apiVersion"},
		{"api version today", func(c *Config) { c.APIVersion = "today" }, "apiVersion"},
		{"drafts without token", func(c *Config) { c.Perspective = "drafts" }, "token"},
		{"drafts with token", func(c *Config) { c.Perspective = "drafts"; c.Token = "t" }, ""},
		{"drafts on the CDN", func(c *Config) { c.Perspective = "drafts"; c.Token = "t"; c.UseCDN = true }, "useCdn"},
		{"raw perspective", func(c *Config) { c.Perspective = "raw" }, "perspective"},
		{"blank query", func(c *Config) { c.Query = "  " }, "query"},
		{"query with a projection", func(c *Config) { c.Query = `_type == "post"]{title}[` }, ""},
		{"query unbalanced", func(c *Config) { c.Query = `_type in ["a"` }, "query"},
		{"bad locale", func(c *Config) { c.Locales = []string{"en", "d e"} }, "locales"},
		{"duplicate locale", func(c *Config) { c.Locales = []string{"en", "en"} }, "locales"},
		{"bad baseURL", func(c *Config) { c.BaseURL = "ftp://x" }, "baseURL"},
		{"token with newline", func(c *Config) { c.Token = "a\nb" }, "token"},
		{"bad fetch option", func(c *Config) { c.Concurrency = -1 }, "concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
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
projectId: abcd1234
dataset: production
token: sk-xyz
apiVersion: v2024-06-01
query: _type in ["post", "author"]
useCdn: true
perspective: published
locales: [en, de]
baseURL: http://127.0.0.1:9000
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
	if c.ProjectID != "abcd1234" || c.Dataset != "production" || c.Token != "sk-xyz" || c.APIVersion != "v2024-06-01" ||
		c.Query != `_type in ["post", "author"]` || !c.UseCDN || c.Perspective != "published" ||
		strings.Join(c.Locales, ",") != "en,de" || c.BaseURL != "http://127.0.0.1:9000" {
		t.Errorf("decoded %#v", c)
	}
	if c.Timeout != 30*time.Second || *c.Retries != 3 || c.Concurrency != 4 || c.RequestsPerSecond != 5 || c.MaxRetryAfter != time.Minute {
		t.Errorf("fetch options decoded as %+v", c.Options)
	}
	if _, err := New(c); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{c.String(), fmt.Sprintf("%v %+v %#v", c, c, c)} {
		if strings.Contains(s, "sk-xyz") {
			t.Errorf("the token is printed: %s", s)
		}
	}
}

// TestRequests checks the wire: paths, hosts, perspective, keyset queries and their parameters.
func TestRequests(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Clone(context.Background()))
		mu.Unlock()
		fmt.Fprint(w, `{"ms":1,"result":[]}`)
	}))
	defer hs.Close()
	tests := []struct {
		name            string
		cfg             Config
		wantPath        string
		wantPerspective string
		wantAuth        string
	}{
		{"defaults", Config{ProjectID: "p1", Dataset: "production"}, "/v2025-02-19/data/query/production", "published", ""},
		{"drafts renamed for old versions", Config{ProjectID: "p1", Dataset: "staging", APIVersion: "2023-05-03",
			Perspective: "drafts", Token: "tk"}, "/v2023-05-03/data/query/staging", "previewDrafts", "Bearer tk"},
		{"drafts", Config{ProjectID: "p1", Dataset: "production", Perspective: "drafts", Token: "tk"},
			"/v2025-02-19/data/query/production", "drafts", "Bearer tk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			tt.cfg.BaseURL, tt.cfg.Options = hs.URL, fast
			s := mustNew(t, tt.cfg)
			if _, err := s.Fetch(context.Background(), mesh.FetchRequest{Source: "cms", PageSize: 7}, &recorder{}); err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("%d requests, want 1 (an empty first page ends the listing)", len(got))
			}
			r := got[0]
			q := r.URL.Query()
			if r.URL.Path != tt.wantPath || q.Get("perspective") != tt.wantPerspective || r.Header.Get("Authorization") != tt.wantAuth {
				t.Errorf("got %s %s perspective=%q auth=%q", r.Method, r.URL.Path, q.Get("perspective"), r.Header.Get("Authorization"))
			}
			want := `*[((!(_type match "system.**") && !(_type match "sanity.**")) || _type in ["sanity.imageAsset", "sanity.fileAsset"]) && _id > $lastId] | order(_id) [0...7]`
			if q.Get("query") != want || q.Get("$lastId") != `""` || q.Get("returnQuery") != "false" {
				t.Errorf("query %q $lastId %q", q.Get("query"), q.Get("$lastId"))
			}
		})
	}
	// The hosts, when no baseURL is set.
	for _, c := range []struct {
		cdn  bool
		host string
	}{{false, "https://p1.api.sanity.io/x"}, {true, "https://p1.apicdn.sanity.io/x"}} {
		s := mustNew(t, Config{ProjectID: "p1", Dataset: "production", UseCDN: c.cdn})
		if got := requestURL(s, "/x"); got != c.host {
			t.Errorf("useCdn %t: request URL %q, want %q", c.cdn, got, c.host)
		}
	}
}

// requestURL is the URL the client would request for path, read from the error of a request made
// with a cancelled context (nothing is sent).
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

// TestLongQueryPosts: a query too long for a URL is POSTed, and gives the same graph.
func TestLongQueryPosts(t *testing.T) {
	f := newFakeAPI(t)
	srv := testServer(t, f)
	long := `_type in [` + strings.Repeat(`"x-unused-type", `, 700) + `"post", "author", "category", "site_settings"]`
	cfg := testConfig(srv.URL)
	cfg.Query = long
	b := buildGraph(t, mustNew(t, cfg), nil, 0)
	if f.posts == 0 {
		t.Fatal("no POST: the long query went in the URL")
	}
	cfg.Query = `_type in ["post", "author", "category", "site_settings"]`
	short := buildGraph(t, mustNew(t, cfg), nil, 0)
	if graphJSON(t, b.Graph) != graphJSON(t, short.Graph) {
		t.Error("the POSTed query gives another graph than the GET")
	}
	if b.Graph.Len() != 10 {
		t.Errorf("%d nodes, want 10", b.Graph.Len())
	}
}

func decodeOne(t *testing.T, d decoder, doc string) []mesh.Node {
	t.Helper()
	docs, err := d.decodePage([]byte(`{"result":[`+doc+`]}`), "http://x")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 {
		t.Fatalf("%d documents", len(docs))
	}
	for i, n := range docs[0].nodes {
		c, _, err := mesh.Canonicalize(n.Fields)
		if err != nil {
			t.Fatalf("fields %s: %v", n.Fields, err)
		}
		docs[0].nodes[i].Fields = c
	}
	return docs[0].nodes
}

// TestMapping is the table of document shapes and the fields they become.
func TestMapping(t *testing.T) {
	plain := decoder{source: "cms"}
	intl := decoder{source: "cms", locales: []locale{{"en", "en"}, {"de_CH", "de-CH"}}}
	drafts := decoder{source: "cms", drafts: true}
	tests := []struct {
		name   string
		d      decoder
		doc    string
		id     []string // node IDs
		typ    string
		fields []string // one per node: canonical JSON
	}{
		{
			name: "references become $refs, system keys go, _createdAt is UTC",
			d:    plain,
			doc: `{"_id":"p1","_type":"blogPost","_rev":"r","_createdAt":"2024-05-01T02:00:00+02:00","_updatedAt":"2024-05-02T10:15:30Z",
				"author":{"_type":"reference","_ref":"a/1"},"tags":[{"_type":"reference","_ref":"t1","_key":"k"}]}`,
			id:     []string{"cms/document/p1"},
			typ:    "BlogPost",
			fields: []string{`{"_createdAt":"2024-05-01T00:00:00Z","_type":"blogPost","author":{"$ref":"cms/document/a%2F1"},"tags":[{"$ref":"cms/document/t1"}]}`},
		},
		{
			name: "an image keeps alt and hotspot, its asset is a ref",
			d:    plain,
			doc:  `{"_id":"p2","_type":"post","mainImage":{"_type":"image","alt":"A","hotspot":{"x":0.5},"asset":{"_type":"reference","_ref":"image-abc-10x20-png"}}}`,
			id:   []string{"cms/document/p2"}, typ: "Post",
			fields: []string{`{"_type":"post","mainImage":{"_type":"image","alt":"A","asset":{"$ref":"cms/document/image-abc-10x20-png"},"hotspot":{"x":0.5}}}`},
		},
		{
			name: "portable text stays JSON, with refs in mark definitions",
			d:    plain,
			doc:  `{"_id":"p3","_type":"post","body":[{"_type":"block","children":[{"_type":"span","text":"hi","marks":["m"]}],"markDefs":[{"_key":"m","_type":"link","reference":{"_ref":"p1","_type":"reference"}}]}]}`,
			id:   []string{"cms/document/p3"}, typ: "Post",
			fields: []string{`{"_type":"post","body":[{"_type":"block","children":[{"_type":"span","marks":["m"],"text":"hi"}],"markDefs":[{"_key":"m","_type":"link","reference":{"$ref":"cms/document/p1"}}]}]}`},
		},
		{
			name: "cross-dataset references stay as they are; upstream $ref objects are escaped",
			d:    plain,
			doc:  `{"_id":"p4","_type":"post","x":{"_type":"crossDatasetReference","_ref":"o","_dataset":"d"},"schema":{"$ref":"#/a"},"deeper":[{"$$ref":"b"}]}`,
			id:   []string{"cms/document/p4"}, typ: "Post",
			fields: []string{`{"_type":"post","deeper":[{"$$$ref":"b"}],"schema":{"$$ref":"#/a"},"x":{"_dataset":"d","_ref":"o","_type":"crossDatasetReference"}}`},
		},
		{
			name: "image asset document",
			d:    plain,
			doc: `{"_id":"image-abc-1600x900-jpg","_type":"sanity.imageAsset","url":"https://cdn.sanity.io/x.jpg","mimeType":"image/jpeg","size":204800,
				"originalFilename":"dawn.jpg","altText":"Dawn","metadata":{"dimensions":{"width":1600,"height":900}}}`,
			id: []string{"cms/document/image-abc-1600x900-jpg"}, typ: "Asset",
			fields: []string{`{"_type":"sanity.imageAsset","alt":"Dawn","altText":"Dawn","fileName":"dawn.jpg","height":900,"metadata":{"dimensions":{"height":900,"width":1600}},"mimeType":"image/jpeg","originalFilename":"dawn.jpg","size":204800,"url":"https://cdn.sanity.io/x.jpg","width":1600}`},
		},
		{
			name: "file asset document without dimensions",
			d:    plain,
			doc:  `{"_id":"file-abc-pdf","_type":"sanity.fileAsset","url":"https://cdn.sanity.io/f.pdf","title":"Guide","originalFilename":"g.pdf"}`,
			id:   []string{"cms/document/file-abc-pdf"}, typ: "Asset",
			fields: []string{`{"_type":"sanity.fileAsset","fileName":"g.pdf","originalFilename":"g.pdf","title":"Guide","url":"https://cdn.sanity.io/f.pdf"}`},
		},
		{
			name: "field-level translations: one node per locale",
			d:    intl,
			doc: `{"_id":"s","_type":"settings","title":{"_type":"localeString","en":"Hi","de_CH":"Grüezi"},"only":{"en":"E"},
				"tagline":[{"_key":"en","value":"Hello"},{"_key":"de_CH","value":{"_ref":"p9"}}],"img":{"asset":{"_ref":"image-a-1x1-png"}},"ref":{"_ref":"p1"},
				"other":{"en":"E","fr":"F"}}`,
			id:  []string{"cms/document/s@en", "cms/document/s@de-CH"},
			typ: "Settings",
			fields: []string{
				`{"_type":"settings","img":{"asset":{"$ref":"cms/document/image-a-1x1-png"}},"only":"E","other":{"en":"E","fr":"F"},"ref":{"$ref":"cms/document/p1@en"},"tagline":"Hello","title":"Hi"}`,
				`{"_type":"settings","img":{"asset":{"$ref":"cms/document/image-a-1x1-png"}},"only":null,"other":{"en":"E","fr":"F"},"ref":{"$ref":"cms/document/p1@de-CH"},"tagline":{"$ref":"cms/document/p9@de-CH"},"title":"Grüezi"}`,
			},
		},
		{
			name:   "assets are not localized",
			d:      intl,
			doc:    `{"_id":"image-a-1x1-png","_type":"sanity.imageAsset","url":"u"}`,
			id:     []string{"cms/document/image-a-1x1-png"},
			typ:    "Asset",
			fields: []string{`{"_type":"sanity.imageAsset","url":"u"}`},
		},
		{
			name:   "drafts: the prefix leaves IDs and references",
			d:      drafts,
			doc:    `{"_id":"drafts.p5","_originalId":"drafts.p5","_type":"post","author":{"_ref":"drafts.a1"},"n":1e2}`,
			id:     []string{"cms/document/p5"},
			typ:    "Post",
			fields: []string{`{"_type":"post","author":{"$ref":"cms/document/a1"},"n":100}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := decodeOne(t, tt.d, tt.doc)
			if len(nodes) != len(tt.id) {
				t.Fatalf("%d nodes, want %d", len(nodes), len(tt.id))
			}
			for i, n := range nodes {
				if n.ID != tt.id[i] || n.Type != tt.typ {
					t.Errorf("node %d: %s %s, want %s %s", i, n.ID, n.Type, tt.id[i], tt.typ)
				}
				p, _ := mesh.ParseNodeID(n.ID)
				if n.NativeID != p.NativeID || n.Locale != p.Locale {
					t.Errorf("node %d: nativeId %q locale %q disagree with the ID", i, n.NativeID, n.Locale)
				}
				if string(n.Fields) != tt.fields[i] {
					t.Errorf("node %d fields:\n got %s\nwant %s", i, n.Fields, tt.fields[i])
				}
			}
		})
	}
}

func TestMappingErrors(t *testing.T) {
	d := decoder{source: "cms"}
	tests := []struct{ body, want string }{
		{`{"result":{"_id":"x"}}`, `"result" is not an array: found an object`},
		{`{"error":"x"}`, `"result" is not an array: found nothing`},
		{`{"result":[{"_type":"post"}]}`, "result 0: bad response: document without an _id string"},
		{`{"result":[{"_id":"a","_type":"post"},{"_id":7,"_type":"post"}]}`, "result 1: bad response: document without an _id string"},
		{`{"result":[{"_id":"a"}]}`, `document "a" without a _type string`},
		{`{"result":[{"_id":"a","_type":"--"}]}`, `_type "--" has no letters or digits`},
		{`{"result":[{"_id":"a","_type":"post","_updatedAt":"yesterday"}]}`, `document "a": _updatedAt`},
		{`{"result":[3]}`, "want a document object, found a number"},
	}
	for _, tt := range tests {
		_, err := d.decodePage([]byte(tt.body), "http://api/page?q=1")
		if err == nil || !errors.Is(err, mesh.ErrBadResponse) || !strings.Contains(err.Error(), tt.want) ||
			!strings.Contains(err.Error(), "http://api/page") {
			t.Errorf("%s: err = %v, want ErrBadResponse with %q and the URL", tt.body, err, tt.want)
		}
	}
}

// TestGraph reads the fixture dataset through the engine and checks the graph: types, backrefs,
// system documents left out, drafts invisible, large numbers exact.
func TestGraph(t *testing.T) {
	srv := testServer(t, newFakeAPI(t))
	b := buildGraph(t, mustNew(t, testConfig(srv.URL)), nil, 0)
	g := b.Graph
	if counts := g.CountByType(); counts["Post"] != 2 || counts["Asset"] != 3 || len(counts) != 5 {
		t.Errorf("counts %v", counts)
	}
	for _, id := range []string{"_.groups.public", "sanity-preview-url-secret.abc"} {
		if _, ok := g.Get(mesh.NodeID("cms", "document", id)); ok {
			t.Errorf("%s, a system or tool document, is in the graph", id)
		}
	}
	post := node(t, g, "cms/document/0f1c2d3e-1111-4a4a-9b9b-aaaaaaaaaaaa")
	if post.Get("title").Str != "Hello GROQ" || post.UpdatedAt != time.Date(2024, 5, 2, 10, 15, 30, 0, time.UTC) {
		t.Errorf("published post: title %q updatedAt %v (a draft leaked?)", post.Get("title").Str, post.UpdatedAt)
	}
	if post.Get("views").Raw != "9007199254740993" {
		t.Errorf("views = %s: a large integer lost digits", post.Get("views").Raw)
	}
	ada := node(t, g, "cms/document/author-ada")
	var from []string
	for n := range g.Backrefs(ada, "author") {
		from = append(from, n.NativeID)
	}
	if strings.Join(from, ",") != "0f1c2d3e-1111-4a4a-9b9b-aaaaaaaaaaaa,7a8b9c0d-2222-4b4b-8c8c-bbbbbbbbbbbb" {
		t.Errorf("backrefs of author-ada through author: %v", from)
	}
	img := node(t, g, "cms/document/image-4f6c1e2d9a0b7c3e5d8f1a2b3c4d5e6f7a8b9c0d-1600x900-jpg")
	if img.Get("width").Int() != 1600 || img.Get("alt").Str != "A mountain" || img.Get("fileName").Str != "dawn.jpg" {
		t.Errorf("asset fields %s", img.Fields)
	}
	var users []string
	for _, f := range []string{"mainImage.asset", "body.asset"} {
		for n := range g.Backrefs(img, f) {
			users = append(users, f+"<-"+n.NativeID)
		}
	}
	if strings.Join(users, " ") != "mainImage.asset<-0f1c2d3e-1111-4a4a-9b9b-aaaaaaaaaaaa body.asset<-0f1c2d3e-1111-4a4a-9b9b-aaaaaaaaaaaa" {
		t.Errorf("backrefs of the image: %v", users)
	}
	if d := g.Dangling(); len(d) != 0 {
		t.Errorf("dangling refs: %v", d)
	}
	settings := node(t, g, "cms/document/siteSettings")
	if settings.Type != "SiteSettings" || settings.Get("schemaHint.$$ref").Str != "#/definitions/settings" {
		t.Errorf("settings: %s %s", settings.Type, settings.Fields)
	}
}

// TestDrafts: the drafts perspective overlays drafts, including documents that exist only as
// drafts, under the published IDs.
func TestDrafts(t *testing.T) {
	f := newFakeAPI(t)
	f.perspective = "drafts"
	srv := testServer(t, f)
	cfg := testConfig(srv.URL)
	cfg.Perspective = PerspectiveDrafts
	g := buildGraph(t, mustNew(t, cfg), nil, 0).Graph
	post := node(t, g, "cms/document/0f1c2d3e-1111-4a4a-9b9b-aaaaaaaaaaaa")
	if post.Get("title").Str != "Hello GROQ (draft)" || post.Get("author.$ref").Str != "cms/document/author-grace" {
		t.Errorf("draft overlay: %s", post.Fields)
	}
	only := node(t, g, "cms/document/c0ffee00-3333-4c4c-9d9d-cccccccccccc")
	if only.Get("author.$ref").Str != "cms/document/author-ada" {
		t.Errorf("draft-only post: %s", only.Fields)
	}
	if _, ok := g.Get("cms/document/drafts.c0ffee00-3333-4c4c-9d9d-cccccccccccc"); ok {
		t.Error("a drafts. ID is in the graph")
	}
	if d := g.Dangling(); len(d) != 0 {
		t.Errorf("dangling refs: %v", d)
	}
}

// TestPagination: every page size gives the same graph, with keyset pages that each start after
// the last _id of the one before.
func TestPagination(t *testing.T) {
	f := newFakeAPI(t)
	srv := testServer(t, f)
	want := graphJSON(t, buildGraph(t, mustNew(t, testConfig(srv.URL)), nil, 0).Graph)
	for _, size := range []int{1, 2, 3, 9, 10, 11} {
		n := len(f.queryLog())
		got := graphJSON(t, buildGraph(t, mustNew(t, testConfig(srv.URL)), nil, size).Graph)
		if got != want {
			t.Errorf("page size %d: another graph", size)
		}
		// 10 documents: size 1 takes 11 pages (the last empty), size 10 takes 2, size 11 one.
		if pages, wantPages := len(f.queryLog())-n, 10/size+1; pages != wantPages {
			t.Errorf("page size %d: %d pages, want %d", size, pages, wantPages)
		}
	}
	// With 3 documents a page, each page starts after the last _id of the one before (byte order).
	srv.ResetRequests()
	buildGraph(t, mustNew(t, testConfig(srv.URL)), nil, 3)
	var chain []string
	for _, r := range srv.Requests() {
		chain = append(chain, r.Query.Get("$lastId"))
	}
	if got, want := strings.Join(chain, " "), `"" "author-ada" "category-news" "image-9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b-400x400-png"`; got != want {
		t.Errorf("keyset chain %s, want %s", got, want)
	}
}

// TestIncremental: a delta with updates, creations and deletes applied over the previous snapshot
// gives the same graph as a full fetch of the new state.
func TestIncremental(t *testing.T) {
	f := newFakeAPI(t)
	srv := testServer(t, f)
	store, err := mesh.NewDirStore(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	src := mustNew(t, testConfig(srv.URL))
	first := buildGraph(t, src, store, 0)

	// Nothing changed: a delta, no change.
	n := len(srv.Requests())
	same := buildGraph(t, src, store, 0)
	if !same.Changes.Empty() || graphJSON(t, same.Graph) != graphJSON(t, first.Graph) {
		t.Fatalf("unchanged dataset: changes %+v", same.Changes)
	}
	if got := len(srv.Requests()) - n; got != 2 {
		t.Errorf("an unchanged rebuild took %d requests, want 2 (an empty change query and one sweep page)", got)
	}

	// Changes: a post edited, an author created, a category and an image asset deleted, and an
	// author edited within the watermark's instant after the last fetch read it (missed by
	// "_updatedAt > $since", caught by the sweep and fetched by ID).
	f.ds.put(t, `{"_id":"7a8b9c0d-2222-4b4b-8c8c-bbbbbbbbbbbb","_type":"post","_updatedAt":"2024-06-01T00:00:00Z","title":"Second post, edited","author":{"_type":"reference","_ref":"author-linus"}}`)
	f.ds.put(t, `{"_id":"author-linus","_type":"author","_updatedAt":"2024-06-01T00:00:00Z","name":"Linus"}`)
	f.ds.remove("category-go")
	f.ds.remove("image-9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b-400x400-png")
	f.ds.put(t, `{"_id":"author-grace","_type":"author","_updatedAt":"2024-05-06T12:00:00.123Z","name":"Grace Editor (tie)"}`)

	n = len(srv.Requests())
	delta := buildGraph(t, src, store, 0)
	full := buildGraph(t, mustNew(t, testConfig(srv.URL)), nil, 0)
	if d, w := graphJSON(t, delta.Graph), graphJSON(t, full.Graph); d != w {
		t.Fatalf("delta graph differs from a full fetch:\n delta %s\n full  %s", d, w)
	}
	ch := delta.Changes
	if fmt.Sprint(ch.Added) != "[cms/document/author-linus]" ||
		fmt.Sprint(ch.Updated) != "[cms/document/7a8b9c0d-2222-4b4b-8c8c-bbbbbbbbbbbb cms/document/author-grace]" ||
		fmt.Sprint(ch.Deleted) != "[cms/document/category-go cms/document/image-9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b-400x400-png]" {
		t.Errorf("changes %+v", ch)
	}
	if node(t, delta.Graph, "cms/document/author-grace").Get("name").Str != "Grace Editor (tie)" {
		t.Error("the edit at the watermark's instant is missing")
	}
	qs := f.queryLog()
	var byID int
	for _, q := range qs[len(qs)-(len(srv.Requests())-n):] {
		if strings.Contains(q, "_id in $ids") {
			byID++
		}
	}
	if byID != 1 {
		t.Errorf("%d by-ID queries, want 1 (for the documents changed at the watermark's second)", byID)
	}
}

// TestErrors: each failure is a clear error that names the source, the URL, the provider's message
// and what to fix, wraps the sentinel callers branch on, and never holds the token.
func TestErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(srv *meshtest.FixtureServer, cfg *Config)
		is    error
		want  []string
	}{
		{
			name:  "401 rejected token",
			setup: func(_ *meshtest.FixtureServer, cfg *Config) { cfg.Token = "sk-wrong-token-777" },
			is:    mesh.ErrUnauthorized,
			want:  []string{"401 Unauthorized", ": Session not found: the token was rejected", "check the token key", "/data/query/production"},
		},
		{
			name: "403 no read access to drafts",
			setup: func(srv *meshtest.FixtureServer, cfg *Config) {
				cfg.Perspective = PerspectiveDrafts
				srv.Status(meshtest.Always, 403, []byte(`{"statusCode":403,"error":"Forbidden","message":"Insufficient permissions"}`))
			},
			is:   mesh.ErrForbidden,
			want: []string{"403 Forbidden", "Insufficient permissions", "may not read dataset production", "can read drafts"},
		},
		{
			name: "404 wrong dataset",
			setup: func(_ *meshtest.FixtureServer, cfg *Config) {
				cfg.Dataset = "prodution"
			},
			is:   mesh.ErrNotFound,
			want: []string{"404 Not Found", "check projectId abcd1234 and dataset prodution"},
		},
		{
			name:  "400 the GROQ filter does not parse",
			setup: func(_ *meshtest.FixtureServer, cfg *Config) { cfg.Query = `_type == $type` },
			want:  []string{"400 Bad Request", "queryParseError: param $type referenced, but not provided", "check the query key (_type == $type)"},
		},
		{
			name: "429 until retries run out",
			setup: func(srv *meshtest.FixtureServer, _ *Config) {
				srv.Inject(meshtest.Fault{Count: meshtest.Always, Status: 429, Wait: time.Second, Reset: []meshtest.ResetHeader{meshtest.RetryAfter},
					Body: []byte(`{"statusCode":429,"error":"Too Many Requests","message":"API rate limit exceeded"}`)})
			},
			is:   mesh.ErrRateLimited,
			want: []string{"429 Too Many Requests", "API rate limit exceeded", "after 2 attempts"},
		},
		{
			name: "a result that is not an array",
			setup: func(srv *meshtest.FixtureServer, cfg *Config) {
				srv.Handle("GET /v2025-02-19/data/query/other", func(w http.ResponseWriter, _ *http.Request) {
					fmt.Fprint(w, `{"ms":1,"result":{"_id":"x"}}`)
				})
				cfg.Dataset = "other"
			},
			is:   mesh.ErrBadResponse,
			want: []string{`"result" is not an array: found an object`, "/data/query/other"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testServer(t, newFakeAPI(t))
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
			for _, w := range append(tt.want, `source "cms" (sanity)`, srv.URL) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			for _, secret := range []string{testToken, "sk-wrong-token-777"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q holds a token", msg)
				}
			}
		})
	}
}

// TestCursorFallbacks: a cursor that cannot be read, or that another configuration made, gives a
// full fetch.
func TestCursorFallbacks(t *testing.T) {
	srv := testServer(t, newFakeAPI(t))
	s := mustNew(t, testConfig(srv.URL))
	var first recorder
	res, err := s.Fetch(context.Background(), mesh.FetchRequest{Source: "cms"}, &first)
	if err != nil || res.Delta || len(res.Cursor) == 0 {
		t.Fatalf("first fetch: %v delta=%t cursor=%s", err, res.Delta, res.Cursor)
	}
	other := testConfig(srv.URL)
	other.Query = `_type == "post"`
	for name, c := range map[string]struct {
		src    *Source
		cursor []byte
		source string
	}{
		"garbage":           {s, []byte(`{"v":`), "cms"},
		"another version":   {s, []byte(`{"v":99}`), "cms"},
		"another source":    {s, res.Cursor, "web"},
		"another filter":    {mustNew(t, other), res.Cursor, "cms"},
		"wrong field types": {s, []byte(`{"v":1,"docs":[1,2]}`), "cms"},
	} {
		var rec recorder
		r, err := c.src.Fetch(context.Background(), mesh.FetchRequest{Source: c.source, Cursor: c.cursor}, &rec)
		if err != nil || r.Delta || len(rec.upserts) == 0 {
			t.Errorf("%s: err=%v delta=%t upserts=%d, want a full fetch", name, err, r.Delta, len(rec.upserts))
		}
	}
}
