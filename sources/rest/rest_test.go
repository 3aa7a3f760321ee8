package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/sources/files"
	"github.com/tidwall/gjson"
	"go.uber.org/goleak"
	"go.yaml.in/yaml/v3"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ptr[T any](v T) *T { return &v }

// fast are fetch options for tests: few, short retries.
var fast = fetch.Options{Retries: ptr(1), RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond, Timeout: 5 * time.Second}

func postsConfig(a *fakeAPI) Config {
	return Config{
		URL: a.URL() + "/v1/posts", Items: "data", ID: "id", NodeType: "Post", Next: "links.next",
		Headers:   Headers{"Authorization": testToken},
		UpdatedAt: "updated_at",
		Refs: map[string]string{
			"userId": "users/user", "reviewers": "users/user", "meta.editorId": "users/user", "authorHandle": "blog/authors",
		},
		Options: fast,
	}
}

func usersConfig(a *fakeAPI) Config {
	return Config{
		URL: a.URL() + "/v2/users", Items: "@this", ID: "id", NodeType: "User", Next: NextLink,
		Headers:   Headers{"Authorization": testToken},
		Refs:      map[string]string{"managerId": "User"},
		UpdatedAt: "updated_at",
		PageSize:  3, PageParam: "per_page",
		Options: fast,
	}
}

func mustNew(t *testing.T, cfg Config) *Source {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// recorder is an Emitter that keeps what it was given.
type recorder struct {
	mu      sync.Mutex
	upserts []mesh.Node
	deletes []string
	failOn  int
}

var errEmit = errors.New("emit refused")

func (r *recorder) Upsert(n mesh.Node) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failOn > 0 && len(r.upserts)+1 == r.failOn {
		return errEmit
	}
	r.upserts = append(r.upserts, n)
	return nil
}

func (r *recorder) Delete(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deletes = append(r.deletes, id)
	return nil
}

func (r *recorder) ids() []string {
	var ids []string
	for _, n := range r.upserts {
		ids = append(ids, n.ID)
	}
	return ids
}

func TestNewValidates(t *testing.T) {
	ok := Config{URL: "https://api.example/items", Items: "data", ID: "id", NodeType: "Item"}
	tests := []struct {
		name string
		edit func(*Config)
		key  string // "" = valid
	}{
		{"ok", func(c *Config) {}, ""},
		{"relative url with baseURL", func(c *Config) { c.URL, c.BaseURL = "/items", "http://127.0.0.1:1" }, ""},
		{"no url", func(c *Config) { c.URL = "" }, "url"},
		{"relative url", func(c *Config) { c.URL = "/items" }, "url"},
		{"ftp url", func(c *Config) { c.URL = "ftp://x/y" }, "url"},
		{"no items", func(c *Config) { c.Items = "" }, "items"},
		{"no id", func(c *Config) { c.ID = "" }, "id"},
		{"no type", func(c *Config) { c.NodeType = "" }, "nodeType"},
		{"lowercase type", func(c *Config) { c.NodeType = "item" }, "nodeType"},
		{"pageSize without param", func(c *Config) { c.PageSize = 10 }, "pageParam"},
		{"negative pageSize", func(c *Config) { c.PageSize = -1 }, "pageSize"},
		{"bad namespace", func(c *Config) { c.Namespace = "a/b" }, "namespace"},
		{"bad header name", func(c *Config) { c.Headers = Headers{"Bad Header": "x"} }, "headers"},
		{"header injection", func(c *Config) { c.Headers = Headers{"X-Key": "a\r\nHost: evil"} }, "headers"},
		{"bad ref field", func(c *Config) { c.Refs = map[string]string{"tags.#.id": "tag"} }, "refs"},
		{"bad ref target", func(c *Config) { c.Refs = map[string]string{"a": "x/y/z"} }, "refs"},
		{"bad ref source", func(c *Config) { c.Refs = map[string]string{"a": "bad name/user"} }, "refs"},
		{"nested ref fields", func(c *Config) { c.Refs = map[string]string{"a": "x", "a.b": "y"} }, "refs"},
		{"bad fetch option", func(c *Config) { c.Options.Retries = ptr(-1) }, "retries"},
		{"bad baseURL", func(c *Config) { c.BaseURL = "ftp://x" }, "baseURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			_, err := New(cfg)
			if tt.key == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), `"`+tt.key+`"`) || !errors.Is(err, mesh.ErrInvalidConfig) {
				t.Fatalf("err = %v, want an invalid config error naming %q", err, tt.key)
			}
		})
	}
}

func TestSecretsNotPrinted(t *testing.T) {
	cfg := Config{URL: "https://api.example/items?api_key=url-secret-123", Items: "data", ID: "id", NodeType: "Item",
		Headers: Headers{"Authorization": "Bearer header-secret-456", "X-Api-Key": "other-secret-789"}}
	s := mustNew(t, cfg)
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "headers", cfg.Headers, "cfg", cfg)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "headers", cfg.Headers, "cfg", cfg)
	asJSON, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	asYAML, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{
		fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprint(cfg.Headers),
		fmt.Sprintf("%#v", cfg.Headers), fmt.Sprint(s), logged.String(), string(asJSON), string(asYAML),
	} {
		for _, secret := range []string{"header-secret-456", "other-secret-789", "url-secret-123"} {
			if secret == "url-secret-123" && text != fmt.Sprint(s) {
				continue // the URL itself is the user's; the Source's own description redacts it
			}
			if strings.Contains(text, secret) {
				t.Errorf("secret %q printed in %q", secret, text)
			}
		}
	}
	if !strings.Contains(fmt.Sprint(cfg.Headers), "Authorization:"+fetch.Redacted) {
		t.Errorf("headers print as %q", fmt.Sprint(cfg.Headers))
	}
}

func TestDecodeItem(t *testing.T) {
	d := decoder{source: "api", items: "data", id: "id", namespace: "post", nodeType: "Post", updatedAt: "updated",
		refs: []refField{
			{"author", refTarget{"", "user"}},
			{"meta.editor", refTarget{"people", "person"}},
			{"tags", refTarget{"blog", "tags"}},
		}}
	tests := []struct {
		name    string
		item    string
		id      string
		fields  string // canonical JSON of the wanted fields
		updated string
		err     string
	}{
		{name: "string id and refs", item: `{"id": "a/b@c", "author": 7, "meta": {"editor": "e1", "x": 1}, "tags": ["go", null, 3]}`,
			id:     "api/post/a%2Fb%40c",
			fields: `{"author":{"$ref":"api/user/7"},"id":"a/b@c","meta":{"editor":{"$ref":"people/person/e1"},"x":1},"tags":[{"$ref":"blog/tags/go"},{"$ref":"blog/tags/3"}]}`},
		{name: "big number id kept as written", item: `{"id": 12345678901234567890123}`, id: "api/post/12345678901234567890123",
			fields: `{"id":12345678901234567890123}`},
		{name: "null and absent refs left alone", item: `{"id": 1, "author": null}`, id: "api/post/1", fields: `{"author":null,"id":1}`},
		{name: "empty ref array", item: `{"id": 1, "tags": []}`, id: "api/post/1", fields: `{"id":1,"tags":[]}`},
		{name: "updated RFC 3339", item: `{"id": 1, "updated": "2024-01-02T03:04:05+01:00"}`, id: "api/post/1", updated: "2024-01-02T02:04:05Z"},
		{name: "updated unix seconds", item: `{"id": 1, "updated": 1700000000}`, id: "api/post/1", updated: "2023-11-14T22:13:20Z"},
		{name: "updated garbage", item: `{"id": 1, "updated": "soon"}`, id: "api/post/1"},
		{name: "escaped keys kept", item: "{\"id\": 1, \"t\\u00e9\": \"\\u003cb\\u003e\"}", id: "api/post/1", fields: `{"id":1,"té":"<b>"}`},
		{name: "upstream $ref objects escaped", item: `{"id": 1, "schema": {"$ref": "#/defs/x"}, "b": [{"$$ref": "y"}, {"$ref": 3}, {"$ref": "z", "k": 1}]}`,
			id:     "api/post/1",
			fields: `{"b":[{"$$$ref":"y"},{"$ref":3},{"$ref":"z","k":1}],"id":1,"schema":{"$$ref":"#/defs/x"}}`},
		{name: "escaped upstream $ref key", item: "{\"id\": 1, \"s\": {\"\\u0024ref\": \"x\"}}", id: "api/post/1", fields: `{"id":1,"s":{"$$ref":"x"}}`},
		{name: "missing id", item: `{"name": "x"}`, err: `id at "id": missing`},
		{name: "null id", item: `{"id": null}`, err: "id at \"id\": null"},
		{name: "empty id", item: `{"id": ""}`, err: "empty string"},
		{name: "object id", item: `{"id": {"a": 1}}`, err: "an object: want a string or a number"},
		{name: "bool id", item: `{"id": true}`, err: "a boolean"},
		{name: "not an object", item: `[1, 2]`, err: "want an object, found an array"},
		{name: "ref to an object", item: `{"id": 1, "author": {"id": 2}}`, err: `ref field "author": an object`},
		{name: "ref array of objects", item: `{"id": 1, "tags": [{"id": 2}]}`, err: `ref field "tags": an object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := d.decodeItem(gjson.Parse(tt.item))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, mesh.ErrBadResponse) {
					t.Fatalf("err = %v, want %q wrapping ErrBadResponse", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n.ID != tt.id || n.Type != "Post" {
				t.Errorf("id, type = %q, %q; want %q, Post", n.ID, n.Type, tt.id)
			}
			if !mesh.ValidNodeID(n.ID) {
				t.Errorf("invalid id %q", n.ID)
			}
			if tt.fields != "" {
				c, _, err := mesh.Canonicalize(n.Fields)
				if err != nil {
					t.Fatal(err)
				}
				if string(c) != tt.fields {
					t.Errorf("fields:\n got %s\nwant %s", c, tt.fields)
				}
			}
			got := ""
			if !n.UpdatedAt.IsZero() {
				got = n.UpdatedAt.Format(time.RFC3339)
			}
			if got != tt.updated {
				t.Errorf("updatedAt = %q, want %q", got, tt.updated)
			}
		})
	}
}

func TestSetParam(t *testing.T) {
	tests := []struct {
		in      string
		replace bool
		want    string
	}{
		{"https://a/x", true, "https://a/x?limit=5"},
		{"https://a/x?b=1&limit=9&c=%20", true, "https://a/x?b=1&c=%20&limit=5"},
		{"https://a/x?limit=9", false, "https://a/x?limit=9"},
		{"/x?page=2#frag", false, "/x?page=2&limit=5#frag"},
	}
	for _, tt := range tests {
		if got := setParam(tt.in, "limit", "5", tt.replace); got != tt.want {
			t.Errorf("setParam(%q, %v) = %q, want %q", tt.in, tt.replace, got, tt.want)
		}
	}
}

func TestPagination(t *testing.T) {
	a := newFakeAPI(t)
	allPosts := []string{"api/post/p-101", "api/post/p-102", "api/post/p-103", "api/post/p-104", "api/post/p-105"}
	allUsers := []string{"api/user/1", "api/user/2", "api/user/3", "api/user/9007199254740993"}
	tests := []struct {
		name     string
		cfg      Config
		pageSize int // FetchRequest.PageSize
		want     []string
		requests []string
	}{
		{
			name:     "body next URL, relative, API default size",
			cfg:      postsConfig(a),
			want:     allPosts,
			requests: []string{"/v1/posts", "/v1/posts?page=2&limit=2", "/v1/posts?page=3&limit=2"},
		},
		{
			name:     "body next URL with pageSize",
			cfg:      func() Config { c := postsConfig(a); c.PageSize, c.PageParam = 4, "limit"; return c }(),
			want:     allPosts,
			requests: []string{"/v1/posts?limit=4", "/v1/posts?page=2&limit=4"},
		},
		{
			name:     "request page size wins",
			cfg:      func() Config { c := postsConfig(a); c.PageSize, c.PageParam = 4, "limit"; return c }(),
			pageSize: 1,
			want:     allPosts,
			requests: []string{"/v1/posts?limit=1", "/v1/posts?page=2&limit=1", "/v1/posts?page=3&limit=1", "/v1/posts?page=4&limit=1", "/v1/posts?page=5&limit=1"},
		},
		{
			name:     "Link header, several Link values, absolute next",
			cfg:      usersConfig(a),
			want:     allUsers,
			requests: []string{"/v2/users?per_page=3", "/v2/users?page=2&per_page=3"},
		},
		{
			name:     "single page when next is empty",
			cfg:      func() Config { c := postsConfig(a); c.Next = ""; return c }(),
			want:     allPosts[:2],
			requests: []string{"/v1/posts"},
		},
		{
			name: "relative url under baseURL",
			cfg: func() Config {
				c := usersConfig(a)
				c.BaseURL, c.URL = a.URL(), "/v2/users?x=1"
				return c
			}(),
			want:     allUsers,
			requests: []string{"/v2/users?x=1&per_page=3", "/v2/users?page=2&per_page=3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.reset()
			s := mustNew(t, tt.cfg)
			rec := &recorder{}
			res, err := s.Fetch(context.Background(), mesh.FetchRequest{Source: "api", PageSize: tt.pageSize}, rec)
			if err != nil {
				t.Fatal(err)
			}
			if res.Delta {
				t.Error("first fetch is full")
			}
			if got := rec.ids(); !slices.Equal(got, tt.want) {
				t.Errorf("ids:\n got %q\nwant %q", got, tt.want)
			}
			if got := a.log(); !slices.Equal(got, tt.requests) {
				t.Errorf("requests:\n got %q\nwant %q", got, tt.requests)
			}
		})
	}
}

func TestFetchErrors(t *testing.T) {
	a := newFakeAPI(t)
	base := func(path string) Config {
		return Config{URL: a.URL() + path, Items: "data", ID: "id", NodeType: "Item", Next: "next",
			Headers: Headers{"Authorization": testToken}, Options: fast}
	}
	tests := []struct {
		name    string
		cfg     Config
		is      error
		want    []string // substrings of the message
		notWant []string
	}{
		{
			name: "401 is ErrUnauthorized, credentials not echoed",
			cfg: func() Config {
				c := postsConfig(a)
				c.Headers = Headers{"Authorization": "Bearer wrong-token-value"}
				return c
			}(),
			is:      mesh.ErrUnauthorized,
			want:    []string{"401 Unauthorized", "/v1/posts", "invalid credentials"},
			notWant: []string{"wrong-token-value"},
		},
		{
			name:    "items not an array, URL redacted",
			cfg:     base("/notarray?api_key=topsecret42"),
			is:      mesh.ErrBadResponse,
			want:    []string{`items path "data" is not an array: found an object`, "/notarray?api_key=REDACTED", "page 0"},
			notWant: []string{"topsecret42"},
		},
		{
			name: "items path missing",
			cfg:  func() Config { c := base("/notarray"); c.Items = "results"; return c }(),
			is:   mesh.ErrBadResponse,
			want: []string{`items path "results" is not an array: found nothing`},
		},
		{
			name: "missing id names the item and page",
			cfg:  base("/noid"),
			is:   mesh.ErrBadResponse,
			want: []string{"page 0", "/noid", "item 2", `id at "id": missing`},
		},
		{
			name: "a page repeating a URL is a loop",
			cfg:  base("/loop"),
			is:   mesh.ErrBadResponse,
			want: []string{"loop guard"},
		},
		{
			name: "HTML instead of JSON",
			cfg:  base("/html"),
			is:   mesh.ErrBadResponse,
			want: []string{"not valid JSON", "text/html"},
		},
		{
			name: "next path not a string",
			cfg:  base("/badnext"),
			is:   mesh.ErrBadResponse,
			want: []string{`next path "next" holds a number`},
		},
		{
			name:    "a next page on another host",
			cfg:     base("/offhost"),
			is:      mesh.ErrBadResponse,
			want:    []string{"http://elsewhere.invalid/steal?page=2", "another host"},
			notWant: []string{"s3cret"},
		},
		{
			name: "404",
			cfg:  base("/v1/nothing"),
			is:   mesh.ErrNotFound,
			want: []string{"404", "no such collection"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, tt.cfg)
			_, err := s.Fetch(context.Background(), mesh.FetchRequest{Source: "api"}, &recorder{})
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.is)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "rest: ") {
				t.Errorf("message %q does not start with rest:", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(msg, w) {
					t.Errorf("message %q shows %q", msg, w)
				}
			}
		})
	}
	t.Run("item error is an ItemError", func(t *testing.T) {
		s := mustNew(t, base("/noid"))
		_, err := s.Fetch(context.Background(), mesh.FetchRequest{Source: "api"}, &recorder{})
		var ie *ItemError
		if !errors.As(err, &ie) || ie.Index != 2 || !strings.Contains(ie.URL, "/noid") {
			t.Fatalf("err = %v (%#v)", err, ie)
		}
	})
	t.Run("emit error returned unchanged", func(t *testing.T) {
		s := mustNew(t, postsConfig(a))
		rec := &recorder{failOn: 3}
		_, err := s.Fetch(context.Background(), mesh.FetchRequest{Source: "api"}, rec)
		if err != errEmit {
			t.Fatalf("err = %v, want the emitter's error itself", err)
		}
		if len(rec.upserts) != 2 {
			t.Errorf("%d upserts, want 2 before the failure", len(rec.upserts))
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		s := mustNew(t, postsConfig(a))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := s.Fetch(ctx, mesh.FetchRequest{Source: "api"}, &recorder{})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

// build runs the engine with the given sources and store folder and returns graph.json.
func build(t *testing.T, cache string, sources map[string]mesh.Source) ([]byte, *mesh.Build) {
	t.Helper()
	store, err := mesh.NewDirStore(cache)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mesh.New(mesh.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(sources))
	for n := range sources {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := m.Add(n, sources[n]); err != nil {
			t.Fatal(err)
		}
	}
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := b.Graph.WriteGraphJSON(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), b
}

// spy remembers the last FetchResult and what was emitted.
type spy struct {
	mesh.Source
	last mesh.FetchResult
	rec  *recorder
}

func (s *spy) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	s.rec = &recorder{}
	res, err := s.Source.Fetch(ctx, req, tee{out, s.rec})
	s.last = res
	return res, err
}

type tee struct{ a, b mesh.Emitter }

func (t tee) Upsert(n mesh.Node) error {
	if err := t.a.Upsert(n); err != nil {
		return err
	}
	return t.b.Upsert(n)
}

func (t tee) Delete(id string) error {
	if err := t.a.Delete(id); err != nil {
		return err
	}
	return t.b.Delete(id)
}

func TestIncremental(t *testing.T) {
	a := newFakeAPI(t)
	cfg := postsConfig(a)
	cfg.Refs = nil // the users source is not in this mesh
	cache := filepath.Join(t.TempDir(), "cache")
	s := &spy{Source: mustNew(t, cfg)}
	if _, _ = build(t, cache, map[string]mesh.Source{"api": s}); s.last.Delta {
		t.Fatal("first build must be full")
	}
	steps := []struct {
		name     string
		change   func()
		requests int
		upserts  []string
		deletes  []string
		delta    bool
	}{
		{name: "unchanged: every page 304", change: func() {}, requests: 3, delta: true},
		{
			name:     "an item on page 2 changes",
			change:   func() { a.edit("posts", 3, `{"id": "p-104", "title": "Edited"}`) },
			requests: 3, delta: true,
			upserts: []string{"api/post/p-103", "api/post/p-104"},
		},
		{
			name:     "an item on page 1 is removed: every page changes, a full fetch",
			change:   func() { a.remove("posts", 1) },
			requests: 2, delta: false,
			upserts: []string{"api/post/p-101", "api/post/p-103", "api/post/p-104", "api/post/p-105"},
		},
		{
			name:     "items added: a new last page",
			change:   func() { a.set("posts", `{"id": "n1"}`, `{"id": "n2"}`, `{"id": "n3"}`, `{"id": "n4"}`, `{"id": "n5"}`) },
			requests: 3, delta: false,
			upserts: []string{"api/post/n1", "api/post/n2", "api/post/n3", "api/post/n4", "api/post/n5"},
		},
		{
			name: "the last page empties",
			change: func() {
				a.set("posts", `{"id": "n1"}`, `{"id": "n2"}`, `{"id": "n3"}`, `{"id": "n4"}`)
			},
			requests: 2, delta: true,
			upserts: []string{"api/post/n3", "api/post/n4"},
			deletes: []string{"api/post/n5"},
		},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.change()
			a.reset()
			got, _ := build(t, cache, map[string]mesh.Source{"api": s})
			if s.last.Delta != st.delta {
				t.Errorf("delta = %v, want %v", s.last.Delta, st.delta)
			}
			if n := len(a.log()); n != st.requests {
				t.Errorf("%d requests (%q), want %d", n, a.log(), st.requests)
			}
			if ids := s.rec.ids(); !slices.Equal(ids, st.upserts) {
				t.Errorf("upserts %q, want %q", ids, st.upserts)
			}
			if !slices.Equal(s.rec.deletes, st.deletes) {
				t.Errorf("deletes %q, want %q", s.rec.deletes, st.deletes)
			}
			// The same as a full build of the API's current state.
			full, _ := build(t, filepath.Join(t.TempDir(), "fresh"), map[string]mesh.Source{"api": mustNew(t, cfg)})
			if !bytes.Equal(got, full) {
				t.Errorf("incremental graph differs from a full build:\n inc: %s\nfull: %s", got, full)
			}
		})
	}

	t.Run("no validators: full fetch every time", func(t *testing.T) {
		a.etags = false
		defer func() { a.etags = true }()
		r1 := &recorder{}
		res, err := s.Source.Fetch(context.Background(), mesh.FetchRequest{Source: "api"}, r1)
		if err != nil {
			t.Fatal(err)
		}
		res, err = s.Source.Fetch(context.Background(), mesh.FetchRequest{Source: "api", Cursor: res.Cursor}, &recorder{})
		if err != nil || res.Delta {
			t.Fatalf("delta = %v, err = %v; want a full fetch", res.Delta, err)
		}
	})
	t.Run("cursor of another config is ignored", func(t *testing.T) {
		res, err := s.Source.Fetch(context.Background(), mesh.FetchRequest{Source: "api"}, &recorder{})
		if err != nil {
			t.Fatal(err)
		}
		other := cfg
		other.Namespace = "article"
		rec := &recorder{}
		res2, err := mustNew(t, other).Fetch(context.Background(), mesh.FetchRequest{Source: "api", Cursor: res.Cursor}, rec)
		if err != nil || res2.Delta || len(rec.upserts) != 4 {
			t.Fatalf("delta = %v, %d upserts, err = %v; want a full fetch of 4", res2.Delta, len(rec.upserts), err)
		}
	})
}

// TestCrossSource is the quickstart's shape: two rest sources and a files source reference each
// other, with no dangling reference.
func TestCrossSource(t *testing.T) {
	a := newFakeAPI(t)
	blog, err := files.New(files.Config{Dir: filepath.Join("..", "files", "testdata", "blog")})
	if err != nil {
		t.Fatal(err)
	}
	_, b := build(t, t.TempDir(), map[string]mesh.Source{
		"api":   mustNew(t, postsConfig(a)),
		"users": mustNew(t, usersConfig(a)),
		"blog":  blog,
	})
	g := b.Graph
	var dangling []string
	for _, d := range b.Report.DanglingRefs {
		if !strings.HasPrefix(d.To, "blog/authors/li") && !strings.HasPrefix(d.To, "shop/") {
			dangling = append(dangling, d.From+" "+d.Field+" -> "+d.To)
		}
	}
	if len(dangling) > 0 {
		t.Errorf("dangling refs: %q", dangling)
	}
	post, ok := g.Get("api/post/p-101")
	if !ok {
		t.Fatal("no post p-101")
	}
	check := func(field, want string) {
		t.Helper()
		var got []string
		for n := range g.Refs(post, field) {
			got = append(got, n.ID)
		}
		if strings.Join(got, " ") != want {
			t.Errorf("p-101 %s -> %q, want %q", field, got, want)
		}
	}
	check("userId", "users/user/1")
	check("reviewers", "users/user/2 users/user/3")
	check("meta.editorId", "users/user/2")
	check("authorHandle", "blog/authors/jane")
	jane, _ := g.Get("blog/authors/jane")
	var from []string
	for n := range g.Backrefs(jane, "authorHandle") {
		from = append(from, n.ID)
	}
	if want := []string{"api/post/p-101", "api/post/p-105"}; !slices.Equal(from, want) {
		t.Errorf("jane's backrefs = %q, want %q", from, want)
	}
	big, ok := g.Get("users/user/9007199254740993")
	if !ok || big.NativeID != "9007199254740993" {
		t.Errorf("big id user = %+v", big)
	}
	if got := big.Get("managerId.$ref").String(); got != "users/user/3" {
		t.Errorf("self-source ref = %q", got)
	}
	if got := big.UpdatedAt.Format(time.RFC3339); got != "2024-05-03T09:00:00Z" {
		t.Errorf("updatedAt from Unix seconds = %s", got)
	}
}

func TestCheck(t *testing.T) {
	a := newFakeAPI(t)
	if err := mustNew(t, postsConfig(a)).Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	bad := postsConfig(a)
	bad.Headers = nil
	if err := mustNew(t, bad).Check(context.Background()); !errors.Is(err, mesh.ErrUnauthorized) {
		t.Fatalf("err = %v", err)
	}
}
