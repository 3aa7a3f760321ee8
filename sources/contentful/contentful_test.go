package contentful

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"
	"go.yaml.in/yaml/v3"

	"github.com/contentmesh/contentmesh/internal/config"
	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/mesh/meshtest"
)

func ptr[T any](v T) *T { return &v }

// fast are fetch options for tests: few, short retries.
var fast = fetch.Options{Retries: ptr(1), RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond, Timeout: 5 * time.Second}

func deliveryConfig(baseURL string) Config {
	return Config{Space: "abc123", AccessToken: testDeliveryToken, BaseURL: baseURL, Locales: Locales{AllLocales}, Options: fast}
}

func mustNew(t testing.TB, cfg Config) *Source {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tap keeps what Fetch returned.
type tap struct {
	mesh.Source
	mu  sync.Mutex
	res mesh.FetchResult
}

func (t *tap) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	res, err := t.Source.Fetch(ctx, req, out)
	t.mu.Lock()
	t.res = res
	t.mu.Unlock()
	return res, err
}

// build runs one build of src through the engine, with store (nil: none).
func build(t *testing.T, src mesh.Source, store mesh.Store) (*mesh.Build, mesh.FetchResult, error) {
	t.Helper()
	tp := &tap{Source: src}
	m, err := mesh.New(mesh.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add("cms", tp); err != nil {
		t.Fatal(err)
	}
	b, err := m.Build(t.Context())
	return b, tp.res, err
}

func mustBuild(t *testing.T, src mesh.Source, store mesh.Store) (*mesh.Build, mesh.FetchResult) {
	t.Helper()
	b, res, err := build(t, src, store)
	if err != nil {
		t.Fatal(err)
	}
	return b, res
}

func newStore(t *testing.T) mesh.Store {
	s, err := mesh.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sameGraphs fails when two graphs differ in any node's type, locale, fields, refs or backrefs.
func sameGraphs(t *testing.T, what string, want, got *mesh.Graph) {
	t.Helper()
	print := func(g *mesh.Graph) map[string]string {
		out := map[string]string{}
		for n := range g.Nodes() {
			refs, _ := json.Marshal(n.Refs)
			backrefs, _ := json.Marshal(n.Backrefs)
			out[n.ID] = fmt.Sprintf("%s %s %s %s refs=%s backrefs=%s", n.Type, n.Locale, n.UpdatedAt.Format(time.RFC3339Nano), n.Digest, refs, backrefs)
		}
		return out
	}
	a, b := print(want), print(got)
	var diffs []string
	for id, x := range a {
		if y, ok := b[id]; !ok {
			diffs = append(diffs, "missing "+id)
		} else if x != y {
			diffs = append(diffs, fmt.Sprintf("differs %s:\n  want %s\n  got  %s", id, x, y))
		}
	}
	for id := range b {
		if _, ok := a[id]; !ok {
			diffs = append(diffs, "extra "+id)
		}
	}
	slices.Sort(diffs)
	if len(diffs) > 0 {
		t.Errorf("%s: %d differences:\n%s", what, len(diffs), strings.Join(diffs[:min(len(diffs), 15)], "\n"))
	}
}

func TestNewValidates(t *testing.T) {
	ok := Config{Space: "abc123", AccessToken: "t"}
	tests := []struct {
		name string
		edit func(*Config)
		key  string // "" = valid
	}{
		{"ok", func(c *Config) {}, ""},
		{"preview", func(c *Config) { c.AccessToken, c.Preview, c.PreviewToken = "", true, "p" }, ""},
		{"locales star", func(c *Config) { c.Locales = Locales{"*"} }, ""},
		{"locales list", func(c *Config) { c.Locales = Locales{"en-US", "de-DE"} }, ""},
		{"fallbacks", func(c *Config) { c.Fallbacks = map[string]string{"de-CH": "de-DE", "fr-FR": ""} }, ""},
		{"no space", func(c *Config) { c.Space = "" }, "space"},
		{"bad space", func(c *Config) { c.Space = "a/b" }, "space"},
		{"bad environment", func(c *Config) { c.Environment = "x?y" }, "environment"},
		{"no token", func(c *Config) { c.AccessToken = "" }, "accessToken"},
		{"preview without token", func(c *Config) { c.Preview = true }, "previewToken"},
		{"preview token without preview", func(c *Config) { c.AccessToken, c.PreviewToken = "", "p" }, "accessToken"},
		{"token with newline", func(c *Config) { c.AccessToken = "a\nb" }, "accessToken"},
		{"star and more", func(c *Config) { c.Locales = Locales{"*", "en-US"} }, "locales"},
		{"bad locale", func(c *Config) { c.Locales = Locales{"en US"} }, "locales"},
		{"duplicate locale", func(c *Config) { c.Locales = Locales{"en-US", "en-US"} }, "locales"},
		{"bad content type", func(c *Config) { c.ContentTypes = []string{"blog post"} }, "contentTypes"},
		{"duplicate content type", func(c *Config) { c.ContentTypes = []string{"a", "a"} }, "contentTypes"},
		{"self fallback", func(c *Config) { c.Fallbacks = map[string]string{"de-DE": "de-DE"} }, "fallbacks"},
		{"bad fallback", func(c *Config) { c.Fallbacks = map[string]string{"de-DE": "x y"} }, "fallbacks"},
		{"bad baseURL", func(c *Config) { c.BaseURL = "ftp://x" }, "baseURL"},
		{"bad option", func(c *Config) { c.Concurrency = -1 }, "concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			_, err := New(c)
			if tt.key == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if !errors.Is(err, mesh.ErrInvalidConfig) || !strings.Contains(err.Error(), `"`+tt.key+`"`) {
				t.Fatalf("New: %v, want an invalid config error naming %q", err, tt.key)
			}
			if strings.Contains(err.Error(), "a\nb") {
				t.Fatalf("the error shows the token: %v", err)
			}
		})
	}
}

func TestConfigYAML(t *testing.T) {
	const doc = `
space: abc123
environment: staging
accessToken: secret-cda
locales: "*"
contentTypes: [blogPost, person]
fallbacks: {de-CH: de-DE, fr-FR: ""}
raw: true
baseURL: http://127.0.0.1:9000
timeout: 5s
concurrency: 4
`
	var c Config
	if err := yaml.Unmarshal([]byte(doc), &c); err != nil {
		t.Fatal(err)
	}
	if c.Space != "abc123" || c.Environment != "staging" || !c.Locales.All() || len(c.ContentTypes) != 2 ||
		c.Fallbacks["de-CH"] != "de-DE" || c.Fallbacks["fr-FR"] != "" || !c.Raw || c.Timeout != 5*time.Second || c.Concurrency != 4 {
		t.Fatalf("decoded %+v", c)
	}
	var l struct{ Locales Locales }
	if err := yaml.Unmarshal([]byte("locales: [en-US, de-DE]"), &l); err != nil || !slices.Equal(l.Locales, Locales{"en-US", "de-DE"}) {
		t.Fatalf("list: %v %v", l.Locales, err)
	}
	if err := yaml.Unmarshal([]byte("locales: {a: b}"), &l); err == nil {
		t.Fatal("a mapping for locales was accepted")
	}
	for _, s := range []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%#v", c)} {
		if strings.Contains(s, "secret-cda") {
			t.Fatalf("the config prints its token: %s", s)
		}
	}
}

// mapFixture maps one item of the dataset with a mapper for the given locales setting.
func newTestMapper(t testing.TB, cfg Config) *mapper {
	t.Helper()
	d := readDataset(t)
	var locs, cts []gjson.Result
	locs = gjson.GetBytes(d.Locales, "items").Array()
	cts = gjson.GetBytes(d.ContentTypes, "items").Array()
	sp := &space{}
	var err error
	if sp.locales, sp.defaultLocale, err = decodeLocales(locs); err != nil {
		t.Fatal(err)
	}
	if sp.types, err = decodeContentTypes(cts); err != nil {
		t.Fatal(err)
	}
	if cfg.Space == "" {
		cfg.Space, cfg.AccessToken = "abc123", "t"
	}
	m, err := mustNew(t, cfg).newMapper("cms", sp)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func findItem(t *testing.T, id string) gjson.Result {
	t.Helper()
	d := readDataset(t)
	for _, it := range append(append(d.Entries, d.Assets...), d.Drafts...) {
		if gjson.GetBytes(it, "sys.id").String() == id {
			return gjson.ParseBytes(it)
		}
	}
	t.Fatalf("no item %s in the dataset", id)
	return gjson.Result{}
}

// mapped returns the nodes mapItem emits, by ID.
func mapped(t *testing.T, m *mapper, item gjson.Result) map[string]mesh.Node {
	t.Helper()
	out := map[string]mesh.Node{}
	if _, err := m.mapItem(item, func(n mesh.Node) error { out[n.ID] = n; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMapping(t *testing.T) {
	all := newTestMapper(t, Config{Locales: Locales{AllLocales}})
	single := newTestMapper(t, Config{})
	overridden := newTestMapper(t, Config{Locales: Locales{"fr-FR", "de-CH"}, Fallbacks: map[string]string{"fr-FR": "en-US", "de-CH": ""}})
	tests := []struct {
		name  string
		m     *mapper
		item  string
		id    string
		typ   string
		path  string // gjson path into fields
		want  string // JSON; "" = absent
		local string
	}{
		// Links become $refs to the target's node in the same locale.
		{"link to entry", all, "post-1", "cms/Entry/post-1@de-DE", "BlogPost", "author", `{"$ref":"cms/Entry/ada@de-DE"}`, "de-DE"},
		{"link to asset, localized", all, "post-1", "cms/Entry/post-1@de-DE", "BlogPost", "heroImage", `{"$ref":"cms/Asset/hero-de@de-DE"}`, "de-DE"},
		{"array of links", all, "post-1", "cms/Entry/post-1@fr-FR", "BlogPost", "related", `[{"$ref":"cms/Entry/post-2@fr-FR"},{"$ref":"cms/Entry/post-3@fr-FR"}]`, "fr-FR"},
		{"link without locales", single, "post-1", "cms/Entry/post-1", "BlogPost", "author", `{"$ref":"cms/Entry/ada"}`, ""},
		// Rich text is kept as JSON; its embedded entries and assets become $refs.
		{"rich text embedded entry", all, "post-1", "cms/Entry/post-1@en-US", "BlogPost", "body.content.1",
			`{"nodeType":"embedded-entry-block","data":{"target":{"$ref":"cms/Entry/ada@en-US"}},"content":[]}`, "en-US"},
		{"rich text entry hyperlink", all, "post-1", "cms/Entry/post-1@en-US", "BlogPost", "body.content.0.content.3.data",
			`{"target":{"$ref":"cms/Entry/post-2@en-US"}}`, "en-US"},
		{"rich text asset hyperlink", all, "post-1", "cms/Entry/post-1@en-US", "BlogPost", "body.content.0.content.5.data.target",
			`{"$ref":"cms/Asset/logo@en-US"}`, "en-US"},
		{"rich text text kept", all, "post-1", "cms/Entry/post-1@en-US", "BlogPost", "body.content.0.content.1",
			`{"nodeType":"text","value":"headless","marks":[{"type":"bold"}],"data":{}}`, "en-US"},
		{"rich text localized", all, "post-1", "cms/Entry/post-1@de-DE", "BlogPost", "body.content.1.data.target",
			`{"$ref":"cms/Asset/hero-de@de-DE"}`, "de-DE"},
		// Locales and fallbacks.
		{"localized field", all, "post-1", "cms/Entry/post-1@de-DE", "BlogPost", "title", `"Hallo Headless-Welt"`, "de-DE"},
		{"fallback chain de-CH > de-DE", all, "post-1", "cms/Entry/post-1@de-CH", "BlogPost", "title", `"Hallo Headless-Welt"`, "de-CH"},
		{"fallback chain de-CH > de-DE > en-US", all, "post-5", "cms/Entry/post-5@de-CH", "BlogPost", "slug", `"fifth-post"`, "de-CH"},
		{"fallback to en-US", all, "post-4", "cms/Entry/post-4@de-DE", "BlogPost", "title", `"Fourth post"`, "de-DE"},
		{"own value before fallback", all, "post-3", "cms/Entry/post-3@de-CH", "BlogPost", "title", `"Dritter Beitrag (CH)"`, "de-CH"},
		{"no fallback: absent", all, "post-4", "cms/Entry/post-4@fr-FR", "BlogPost", "title", ``, "fr-FR"},
		{"non-localized field from the default locale", all, "post-4", "cms/Entry/post-4@fr-FR", "BlogPost", "slug", `"fourth-post"`, "fr-FR"},
		{"configured fallback", overridden, "post-4", "cms/Entry/post-4@fr-FR", "BlogPost", "title", `"Fourth post"`, "fr-FR"},
		{"configured no fallback", overridden, "post-4", "cms/Entry/post-4@de-CH", "BlogPost", "title", ``, "de-CH"},
		{"default locale only", single, "post-1", "cms/Entry/post-1", "BlogPost", "title", `"Hello headless world"`, ""},
		// Values.
		{"date with offset to UTC", all, "post-1", "cms/Entry/post-1@en-US", "BlogPost", "publishDate", `"2024-03-01T09:00:00Z"`, "en-US"},
		{"date only", all, "post-2", "cms/Entry/post-2@en-US", "BlogPost", "publishDate", `"2024-03-02T00:00:00Z"`, "en-US"},
		{"number kept", all, "post-1", "cms/Entry/post-1@en-US", "BlogPost", "rating", `4.5`, "en-US"},
		{"empty array kept", all, "post-3", "cms/Entry/post-3@en-US", "BlogPost", "tags", `[]`, "en-US"},
		{"JSON object kept, $ref key escaped", all, "post-1", "cms/Entry/post-1@en-US", "BlogPost", "meta",
			`{"schema":{"$$ref":"#/definitions/seo"},"robots":"index, follow","sys":{"type":"Custom"}}`, "en-US"},
		// Assets.
		{"asset url made absolute", all, "hero", "cms/Asset/hero@en-US", "Asset", "url", `"https://images.ctfassets.net/abc123/hero/0f3e9c/hero.jpg"`, "en-US"},
		{"asset https url kept", all, "logo", "cms/Asset/logo@en-US", "Asset", "url", `"https://assets.ctfassets.net/abc123/logo/5f6e7d/logo.pdf"`, "en-US"},
		{"asset mimeType", all, "hero", "cms/Asset/hero@de-DE", "Asset", "mimeType", `"image/jpeg"`, "de-DE"},
		{"asset size", all, "hero", "cms/Asset/hero@en-US", "Asset", "size", `204800`, "en-US"},
		{"asset width", all, "avatar-ada", "cms/Asset/avatar-ada@en-US", "Asset", "width", `400`, "en-US"},
		{"asset height", all, "hero", "cms/Asset/hero@en-US", "Asset", "height", `900`, "en-US"},
		{"asset fileName", all, "hero", "cms/Asset/hero@en-US", "Asset", "fileName", `"hero.jpg"`, "en-US"},
		{"asset title localized", all, "hero", "cms/Asset/hero@de-CH", "Asset", "title", `"Titelbild"`, "de-CH"},
		{"asset alt is the description", all, "avatar-ada", "cms/Asset/avatar-ada@fr-FR", "Asset", "alt", `"Portrait d'Ada"`, "fr-FR"},
		{"asset without image: no width", all, "logo", "cms/Asset/logo@en-US", "Asset", "width", ``, "en-US"},
		{"asset without file in locale", all, "logo", "cms/Asset/logo@fr-FR", "Asset", "url", ``, "fr-FR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := mapped(t, tt.m, findItem(t, tt.item))
			if len(nodes) != len(tt.m.locales) {
				t.Errorf("%d nodes, want one per locale (%d)", len(nodes), len(tt.m.locales))
			}
			n, ok := nodes[tt.id]
			if !ok {
				t.Fatalf("no node %s among %v", tt.id, keys(nodes))
			}
			if n.Type != tt.typ || n.Locale != tt.local || n.NativeID != tt.item {
				t.Errorf("type %q locale %q nativeId %q, want %q %q %q", n.Type, n.Locale, n.NativeID, tt.typ, tt.local, tt.item)
			}
			canon, _, err := mesh.Canonicalize(n.Fields)
			if err != nil {
				t.Fatalf("fields are not JSON: %v\n%s", err, n.Fields)
			}
			got := gjson.GetBytes(canon, tt.path)
			switch {
			case tt.want == "" && got.Exists():
				t.Errorf("%s = %s, want it absent", tt.path, got.Raw)
			case tt.want != "":
				want, _, err := mesh.Canonicalize([]byte(tt.want))
				if err != nil {
					t.Fatal(err)
				}
				if got.Raw != string(want) {
					t.Errorf("%s = %s, want %s", tt.path, got.Raw, want)
				}
			}
		})
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestMappingRawAndUpdatedAt(t *testing.T) {
	m := newTestMapper(t, Config{Raw: true})
	n := mapped(t, m, findItem(t, "post-1"))["cms/Entry/post-1"]
	if want := time.Date(2024, 3, 5, 16, 40, 2, 515e6, time.UTC); !n.UpdatedAt.Equal(want) {
		t.Errorf("updatedAt %v, want %v", n.UpdatedAt, want)
	}
	raw := gjson.GetBytes(n.Fields, "_raw")
	if raw.Get("sys.id").String() != "post-1" || raw.Get("fields.title.de-DE").String() != "Hallo Headless-Welt" {
		t.Errorf("_raw does not hold the upstream item: %.200s", raw.Raw)
	}
	// The raw item keeps Contentful's links (no refs from _raw) and escapes $ref keys.
	if raw.Get("fields.author.en-US.sys.linkType").String() != "Entry" || !raw.Get(`fields.meta.en-US.schema.\$\$ref`).Exists() {
		t.Errorf("_raw links or $ref keys changed: %.400s", raw.Raw)
	}
	_, refs, err := mesh.Canonicalize(n.Fields)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		if strings.HasPrefix(r.Field, "_raw") {
			t.Errorf("a ref from _raw: %+v", r)
		}
	}
}

func TestMappingContentTypes(t *testing.T) {
	m := newTestMapper(t, Config{ContentTypes: []string{"person"}})
	if got := mapped(t, m, findItem(t, "post-1")); len(got) != 0 {
		t.Errorf("an entry of a content type left out was mapped: %v", keys(got))
	}
	if got := mapped(t, m, findItem(t, "ada")); got["cms/Entry/ada"].Type != "Person" {
		t.Errorf("person: %v", got)
	}
	if got := mapped(t, m, findItem(t, "hero")); len(got) != 1 {
		t.Errorf("assets are read whatever contentTypes says: %v", got)
	}
	for ct, want := range map[string]string{"blogPost": "BlogPost", "blog_post": "BlogPost", "asset": "AssetEntry", "2col": "T2col", "__": "Entry"} {
		if got := nodeTypeOf(ct); got != want {
			t.Errorf("nodeTypeOf(%q) = %q, want %q", ct, got, want)
		}
	}
}

func TestMappingErrors(t *testing.T) {
	m := newTestMapper(t, Config{})
	for name, item := range map[string]string{
		"no id":               `{"sys":{"type":"Entry","contentType":{"sys":{"id":"person"}}},"fields":{}}`,
		"numeric id":          `{"sys":{"type":"Entry","id":5,"contentType":{"sys":{"id":"person"}}},"fields":{}}`,
		"no content type":     `{"sys":{"type":"Entry","id":"x"},"fields":{}}`,
		"other type":          `{"sys":{"type":"ContentType","id":"x"}}`,
		"not keyed by locale": `{"sys":{"type":"Entry","id":"x","contentType":{"sys":{"id":"person"}}},"fields":{"name":"Ada"}}`,
		"fields not object":   `{"sys":{"type":"Asset","id":"x"},"fields":[1]}`,
		"bad updatedAt":       `{"sys":{"type":"Asset","id":"x","updatedAt":"yesterday"},"fields":{}}`,
		"too deep":            `{"sys":{"type":"Entry","id":"x","contentType":{"sys":{"id":"person"}}},"fields":{"bio":{"en-US":` + strings.Repeat(`{"ref":`, 300) + `1` + strings.Repeat(`}`, 300) + `}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := m.mapItem(gjson.Parse(item), func(mesh.Node) error { return nil })
			if !errors.Is(err, mesh.ErrBadResponse) {
				t.Fatalf("err %v, want mesh.ErrBadResponse", err)
			}
		})
	}
}

func TestRefKeysEscaped(t *testing.T) {
	m := newTestMapper(t, Config{})
	for raw, want := range map[string]string{
		`{"$ref":"x"}`:            `{"$$ref":"x"}`,
		`{"$$ref":1}`:             `{"$$$ref":1}`,
		`{"$ref":"a","$ref":"b"}`: `{"$$ref":"a","$$ref":"b"}`,
		`{"\u0024ref":"x"}`:       `{"$$ref":"x"}`,
		`[{"a":{"$ref":"#/x"}}]`:  `[{"a":{"$$ref":"#/x"}}]`,
		`{"ref":"x"}`:             `{"ref":"x"}`,
		`{"$ref":"x","a":1}`:      `{"$ref":"x","a":1}`,
		`{"$refs":"x"}`:           `{"$refs":"x"}`,
		`{"$":"x"}`:               `{"$":"x"}`,
		` { "sys" : { "type" : "Link", "linkType" : "Asset", "id" : "a" } } `: `{"$ref":"cms/Asset/a"}`,
		`{"sys":{"type":"Link","linkType":"Space","id":"a"}}`:                 `{"sys":{"type":"Link","linkType":"Space","id":"a"}}`,
		`{"sys":{"type":"Link","linkType":"Entry","id":"a"},"x":1}`:           `{"sys":{"type":"Link","linkType":"Entry","id":"a"},"x":1}`,
		`["s\"ys", {"sys":{"type":"Link","linkType":"Entry","id":"b/c"}}]`:    `["s\"ys",{"$ref":"cms/Entry/b%2Fc"}]`,
	} {
		got, err := m.appendValue(nil, gjson.Parse(raw), "", true)
		if err != nil || string(got) != want {
			t.Errorf("appendValue(%s) = %s, %v; want %s", raw, got, err, want)
		}
	}
	// (Values come from pages checked by gjson.ValidBytes; values without "sys", "ref" or an
	// escape are copied as they are.)
	for _, bad := range []string{`{"ref":`, `{"ref" 1}`, `["ref" 2]`, `{"sys":}`, `"ref`, `{"ref":1}x`, `{"sys":tru`} {
		if _, err := m.appendValue(nil, gjson.Result{Raw: bad}, "", true); !errors.Is(err, mesh.ErrBadResponse) {
			t.Errorf("appendValue(%s): %v, want mesh.ErrBadResponse", bad, err)
		}
	}
}

func TestLocaleAndContentTypeConfigChecked(t *testing.T) {
	fake := newFakeSpace(t)
	srv := fake.serve(t)
	for key, edit := range map[string]func(*Config){
		"locales":      func(c *Config) { c.Locales = Locales{"en-US", "es-ES"} },
		"contentTypes": func(c *Config) { c.ContentTypes = []string{"blogPost", "product"} },
		"fallbacks":    func(c *Config) { c.Fallbacks = map[string]string{"de-DE": "it-IT"} },
	} {
		t.Run(key, func(t *testing.T) {
			cfg := deliveryConfig(srv.URL)
			edit(&cfg)
			_, _, err := build(t, mustNew(t, cfg), nil)
			if !errors.Is(err, mesh.ErrInvalidConfig) || !strings.Contains(err.Error(), `"`+key+`"`) || !strings.Contains(err.Error(), "abc123") {
				t.Fatalf("err %v, want an invalid config error naming %q and the space", err, key)
			}
		})
	}
}

// syncRequests sorts a request log into initial syncs, syncs from a token, and other requests.
func syncRequests(log []string) (initial, fromToken, other int) {
	for _, r := range log {
		switch {
		case strings.Contains(r, "/sync?") && strings.Contains(r, "initial=true"):
			initial++
		case strings.Contains(r, "/sync?"):
			fromToken++
		default:
			other++
		}
	}
	return
}

func TestIncrementalDeltaEqualsFull(t *testing.T) {
	fake := newFakeSpace(t)
	srv := fake.serve(t)
	src := mustNew(t, deliveryConfig(srv.URL))
	store := newStore(t)
	first, res := mustBuild(t, src, store)
	if res.Delta || first.Graph.Len() != 60 {
		t.Fatalf("first build: delta %t, %d nodes", res.Delta, first.Graph.Len())
	}
	var cur cursor
	if err := json.Unmarshal(res.Cursor, &cur); err != nil {
		t.Fatal(err)
	}
	if want := []string{"Asset", "Deletion", "Entry:blogPost", "Entry:category", "Entry:person"}; !slices.Equal(keys(cur.Chains), want) {
		t.Fatalf("cursor chains %v, want %v", keys(cur.Chains), want)
	}
	if len(res.Cursor) > 2000 {
		t.Errorf("the cursor is %d bytes: keep it small", len(res.Cursor))
	}

	// Nothing changed: one request per chain, no initial sync, an empty change set.
	fake.log()
	same, res := mustBuild(t, src, store)
	initial, fromToken, other := syncRequests(fake.log())
	if !res.Delta || initial != 0 || fromToken != 5 || other != 2 || !same.Changes.Empty() {
		t.Fatalf("unchanged rebuild: delta %t, %d initial syncs, %d syncs from a token, %d other requests, changes %+v",
			res.Delta, initial, fromToken, other, same.Changes)
	}

	// Upstream changes: updates, a new entry, deletions of an entry and of an asset, an unpublished
	// then republished entry, a deleted then restored asset.
	fake.put(entryJSON("post-1", "blogPost", "2024-04-01T10:00:00Z", map[string]map[string]any{
		"title":  {"en-US": "Hello again", "de-DE": "Hallo nochmal"},
		"slug":   {"en-US": "hello-headless-world"},
		"author": {"en-US": linkJSON("Entry", "ben")},
		"body": {"en-US": map[string]any{"nodeType": "document", "data": map[string]any{}, "content": []any{
			map[string]any{"nodeType": "embedded-entry-block", "data": map[string]any{"target": linkJSON("Entry", "post-7")}, "content": []any{}}}}},
	}))
	fake.put(entryJSON("post-7", "blogPost", "2024-04-01T11:00:00Z", map[string]map[string]any{
		"title":     {"en-US": "Seventh post", "fr-FR": "Septième article"},
		"slug":      {"en-US": "seventh-post"},
		"author":    {"en-US": linkJSON("Entry", "cy")},
		"heroImage": {"en-US": linkJSON("Asset", "logo")},
	}))
	fake.remove("Entry", "post-4", "2024-04-01T12:00:00Z")
	fake.remove("Asset", "avatar-ada", "2024-04-01T12:30:00Z")
	fake.remove("Entry", "post-5", "2024-04-01T13:00:00Z")
	fake.put(entryJSON("post-5", "blogPost", "2024-04-01T14:00:00Z", map[string]map[string]any{
		"title": {"en-US": "Fifth post, again"}, "slug": {"en-US": "fifth-post"},
	}))
	fake.remove("Asset", "hero", "2024-04-01T15:00:00Z")
	d := readDataset(t)
	for _, a := range d.Assets {
		if gjson.GetBytes(a, "sys.id").String() == "hero" {
			fake.put(strings.Replace(string(a), `"Mountain at dawn"`, `"Mountain at dusk"`, 1))
		}
	}
	fake.log()
	delta, res := mustBuild(t, src, store)
	initial, fromToken, _ = syncRequests(fake.log())
	if !res.Delta || initial != 0 || fromToken != 5 {
		t.Fatalf("delta build: delta %t, %d initial syncs, %d syncs from a token", res.Delta, initial, fromToken)
	}
	all := func(id string) []string {
		var out []string
		for _, l := range []string{"de-CH", "de-DE", "en-US", "fr-FR"} {
			out = append(out, "cms/"+id+"@"+l)
		}
		return out
	}
	if want := append(all("Asset/avatar-ada"), all("Entry/post-4")...); !slices.Equal(delta.Changes.Deleted, want) {
		t.Errorf("deleted %v, want %v", delta.Changes.Deleted, want)
	}
	if want := all("Entry/post-7"); !slices.Equal(delta.Changes.Added, want) {
		t.Errorf("added %v, want %v", delta.Changes.Added, want)
	}
	// hero's new description shows in every locale but fr-FR (no fr-FR value and no fallback).
	for _, id := range slices.Concat(all("Entry/post-1"), all("Entry/post-5"), all("Asset/hero")[:3]) {
		if !slices.Contains(delta.Changes.Updated, id) {
			t.Errorf("%s is not in the updated set %v", id, delta.Changes.Updated)
		}
	}

	full, res := mustBuild(t, mustNew(t, deliveryConfig(srv.URL)), newStore(t))
	if res.Delta {
		t.Fatal("a build with an empty store returned a delta")
	}
	sameGraphs(t, "delta over the previous snapshot vs full fetch of the new state", full.Graph, delta.Graph)
	post7, _ := delta.Graph.Get("cms/Entry/post-7@en-US")
	if back := post7.Backrefs; len(back) != 1 || back[0].From != "cms/Entry/post-1@en-US" {
		t.Errorf("post-7's backrefs %v, want post-1's rich text", back)
	}
}

func TestIncrementalContentTypeChanges(t *testing.T) {
	fake := newFakeSpace(t)
	srv := fake.serve(t)
	src := mustNew(t, deliveryConfig(srv.URL))
	store := newStore(t)
	mustBuild(t, src, store)

	// A new content type with an entry, and a changed one: person.bio is no longer localized.
	fake.setContentType(`{"sys":{"id":"page","type":"ContentType"},"name":"Page","displayField":"title",
		"fields":[{"id":"title","name":"Title","type":"Symbol","localized":true}]}`)
	fake.put(entryJSON("about", "page", "2024-04-02T09:00:00Z", map[string]map[string]any{"title": {"en-US": "About", "de-DE": "Über uns"}}))
	fake.setContentType(`{"sys":{"id":"person","type":"ContentType"},"name":"Person","displayField":"name","fields":[
		{"id":"name","name":"Name","type":"Symbol","localized":false},{"id":"bio","name":"Bio","type":"Text","localized":false},
		{"id":"avatar","name":"Avatar","type":"Link","localized":false,"linkType":"Asset"}]}`)
	fake.log()
	delta, res := mustBuild(t, src, store)
	log := fake.log()
	if !res.Delta {
		t.Fatal("not a delta")
	}
	for _, want := range []string{"content_type=page&initial=true", "content_type=person&initial=true"} {
		if !slices.ContainsFunc(log, func(r string) bool { return strings.Contains(r, want) }) {
			t.Errorf("no request with %s in %v", want, log)
		}
	}
	if initial, _, _ := syncRequests(log); initial != 2 {
		t.Errorf("%d initial syncs, want 2 (page and person): %v", initial, log)
	}
	if n, ok := delta.Graph.Get("cms/Entry/ada@de-DE"); !ok || gjson.GetBytes(n.Fields, "bio").String() != "Writes about content." {
		t.Errorf("ada@de-DE after bio became unlocalized: %s", n.Fields)
	}
	full, _ := mustBuild(t, mustNew(t, deliveryConfig(srv.URL)), newStore(t))
	sameGraphs(t, "after content type changes", full.Graph, delta.Graph)
}

func TestIncrementalFullWhenLocalesOrConfigChange(t *testing.T) {
	fake := newFakeSpace(t)
	srv := fake.serve(t)
	store := newStore(t)
	mustBuild(t, mustNew(t, deliveryConfig(srv.URL)), store)

	// Another configuration: the cursor is not used.
	cfg := deliveryConfig(srv.URL)
	cfg.Locales = Locales{"en-US", "de-DE"}
	b, res := mustBuild(t, mustNew(t, cfg), store)
	if res.Delta || b.Graph.Len() != 30 {
		t.Fatalf("after a config change: delta %t, %d nodes, want a full fetch of 30", res.Delta, b.Graph.Len())
	}

	// The space's fallbacks change: full fetch.
	fake.mu.Lock()
	for i, l := range fake.locales {
		if gjson.GetBytes(l, "code").String() == "fr-FR" {
			fake.locales[i] = json.RawMessage(`{"code":"fr-FR","name":"French","default":false,"fallbackCode":"en-US","sys":{"id":"4","type":"Locale"}}`)
		}
	}
	fake.mu.Unlock()
	src := mustNew(t, deliveryConfig(srv.URL))
	mustBuild(t, src, store)
	fake.mu.Lock()
	fake.locales = fake.locales[:3]
	fake.mu.Unlock()
	b, res = mustBuild(t, src, store)
	if res.Delta || b.Graph.Len() != 45 {
		t.Fatalf("after a locale was removed: delta %t, %d nodes, want a full fetch of 45", res.Delta, b.Graph.Len())
	}
}

func TestIncrementalTokenRefused(t *testing.T) {
	t.Run("entry chain starts over", func(t *testing.T) {
		fake := newFakeSpace(t)
		srv := fake.serve(t)
		src := mustNew(t, deliveryConfig(srv.URL))
		store := newStore(t)
		mustBuild(t, src, store)
		fake.remove("Entry", "post-6", "2024-04-03T00:00:00Z")
		fake.put(entryJSON("cy", "person", "2024-04-03T01:00:00Z", map[string]map[string]any{"name": {"en-US": "Cy Host"}}))
		fake.expireTokens("Entry")
		fake.log()
		b, res := mustBuild(t, src, store)
		if !res.Delta {
			t.Fatal("a refused entry token must not cost the delta")
		}
		if initial, _, _ := syncRequests(fake.log()); initial != 3 {
			t.Errorf("%d initial syncs, want 3 (one per content type)", initial)
		}
		full, _ := mustBuild(t, mustNew(t, deliveryConfig(srv.URL)), newStore(t))
		sameGraphs(t, "entry tokens refused", full.Graph, b.Graph)
	})
	t.Run("deletion token refused: full fetch", func(t *testing.T) {
		fake := newFakeSpace(t)
		srv := fake.serve(t)
		src := mustNew(t, deliveryConfig(srv.URL))
		store := newStore(t)
		mustBuild(t, src, store)
		fake.remove("Entry", "post-6", "2024-04-03T00:00:00Z")
		fake.put(entryJSON("post-8", "blogPost", "2024-04-03T01:00:00Z", map[string]map[string]any{"title": {"en-US": "Eight"}}))
		fake.expireTokens("Deletion")
		b, res := mustBuild(t, src, store)
		if res.Delta {
			t.Fatal("without the deletions the result must be a full set")
		}
		if _, ok := b.Graph.Get("cms/Entry/post-6@en-US"); ok {
			t.Error("the deleted entry survived the full fetch")
		}
		full, _ := mustBuild(t, mustNew(t, deliveryConfig(srv.URL)), newStore(t))
		sameGraphs(t, "deletion token refused", full.Graph, b.Graph)
		// The next build is a delta again.
		if _, res := mustBuild(t, src, store); !res.Delta {
			t.Error("the build after the full fetch is not a delta")
		}
	})
}

// recorder is an Emitter that keeps what it was given.
type recorder struct {
	mu      sync.Mutex
	upserts map[string]mesh.Node
	deletes []string
}

func (r *recorder) Upsert(n mesh.Node) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.upserts == nil {
		r.upserts = map[string]mesh.Node{}
	}
	r.upserts[n.ID] = n
	return nil
}

func (r *recorder) Delete(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deletes = append(r.deletes, id)
	return nil
}

// TestDeletionAgainstUpsert checks the rule for an item both deleted and published in one delta,
// which separate chains can report: the later of the two wins.
func TestDeletionAgainstUpsert(t *testing.T) {
	m := newTestMapper(t, Config{})
	entry := func(updated string) string {
		return entryJSON("x", "person", updated, map[string]map[string]any{"name": {"en-US": "X"}})
	}
	tomb := func(at string) string {
		return `{"sys":{"type":"DeletedEntry","id":"x","deletedAt":"` + at + `","updatedAt":"` + at + `"}}`
	}
	for _, tt := range []struct {
		name        string
		pages       []string
		wantDeleted bool
	}{
		{"republished after the deletion", []string{tomb("2024-05-01T10:00:00Z"), entry("2024-05-01T11:00:00Z")}, false},
		{"republished after, deletion seen last", []string{entry("2024-05-01T11:00:00Z"), tomb("2024-05-01T10:00:00Z")}, false},
		{"deleted after the update", []string{entry("2024-05-01T09:00:00Z"), tomb("2024-05-01T10:00:00Z")}, true},
		{"deleted only", []string{tomb("2024-05-01T10:00:00Z")}, true},
		{"unknown deletion time", []string{entry("2024-05-01T09:00:00Z"), `{"sys":{"type":"DeletedEntry","id":"x"}}`}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			r := newRun(m, &guard{out: rec})
			for i, p := range tt.pages {
				seen := map[string]string{} // separate chains
				if err := r.page(gjson.Parse("["+p+"]"), seen); err != nil {
					t.Fatalf("page %d: %v", i, err)
				}
			}
			if err := r.applyDeletions(); err != nil {
				t.Fatal(err)
			}
			if got := slices.Equal(rec.deletes, []string{"cms/Entry/x"}); got != tt.wantDeleted {
				t.Errorf("deletes %v, want deleted=%t", rec.deletes, tt.wantDeleted)
			}
		})
	}
}

// fatEntry is an entry whose body makes any page holding it larger than the fake's limit.
func fatEntry(id string, size int) string {
	return entryJSON(id, "person", "2024-03-10T00:00:00Z", map[string]map[string]any{
		"name": {"en-US": "Fat " + id}, "bio": {"en-US": strings.Repeat("x", size)},
	})
}

// fatLimit is a response size limit that one page holding only the fat entry fits, and no page
// holding it with any other entry.
func fatLimit(fat string) int { return len(fat) + 400 }

func TestResponseSizeTooBigList(t *testing.T) {
	fake := newFakeSpace(t)
	fat := fatEntry("fat-1", 6000)
	fake.put(fat)
	srv := fake.serve(t)
	cfg := Config{Space: "abc123", Preview: true, PreviewToken: testPreviewToken, BaseURL: srv.URL, Options: fast}
	want, _ := mustBuild(t, mustNew(t, cfg), nil)

	fake.setMaxBody(fatLimit(fat))
	fake.log()
	m, _ := mesh.New(mesh.Options{PageSize: 4})
	m.Add("cms", mustNew(t, cfg))
	got, err := m.Build(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sameGraphs(t, "pages refused as too big", want.Graph, got.Graph)
	if d := got.Report.Sources[0].Duplicates; d != 0 {
		t.Errorf("%d items emitted twice: a page that arrived was fetched again", d)
	}
	var ranges []string
	for _, r := range fake.log() {
		if u, _ := url.Parse(r); strings.HasSuffix(u.Path, "/entries") {
			ranges = append(ranges, u.Query().Get("skip")+"+"+u.Query().Get("limit"))
		}
	}
	// 13 entries sorted by id: ada, ben, cat-news, cat-tutorials | cy, fat-1, post-1, post-2 | ...
	// The second page is refused and read again as two pages of 2, then the half with fat-1 as
	// pages of 1. The first page, which arrived, is not read again. (Which other pages are read
	// again depends on whether they were still in flight when the listing stopped.)
	for _, w := range []string{"4+4", "4+2", "4+1", "5+1"} {
		if !slices.Contains(ranges, w) {
			t.Errorf("no request for skip+limit %s: %v", w, ranges)
		}
	}
	if n := countOf(ranges, "0+4"); n != 1 {
		t.Errorf("the first page was requested %d times, want once: %v", n, ranges)
	}
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func TestResponseSizeTooBigSync(t *testing.T) {
	for _, pageSize := range []int{0, 2} {
		t.Run(fmt.Sprint("page size ", pageSize), func(t *testing.T) {
			fake := newFakeSpace(t)
			fat := fatEntry("fat-1", 6000)
			fake.put(fat)
			srv := fake.serve(t)
			want, _ := mustBuild(t, mustNew(t, deliveryConfig(srv.URL)), nil)

			fake.setMaxBody(fatLimit(fat))
			fake.log()
			m, _ := mesh.New(mesh.Options{PageSize: pageSize})
			m.Add("cms", mustNew(t, deliveryConfig(srv.URL)))
			got, err := m.Build(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			sameGraphs(t, "sync pages refused as too big", want.Graph, got.Graph)
			if d := got.Report.Sources[0].Duplicates; d != 0 {
				t.Errorf("%d items emitted twice after the chain started over", d)
			}
			// The person chain (ada, ben, cy, fat-1) starts over with half the page size until
			// its pages fit: 100, 50, 25, 12, 6, 3 (fat-1 alone on the second page), or 2, 1.
			var limits []int
			for _, r := range fake.log() {
				if strings.Contains(r, "content_type=person") {
					u, _ := url.Parse(r)
					n, _ := strconv.Atoi(u.Query().Get("limit"))
					limits = append(limits, n)
				}
			}
			want0 := 100
			if pageSize > 0 {
				want0 = pageSize
			}
			if len(limits) < 2 || limits[0] != want0 {
				t.Fatalf("the person chain's initial syncs asked for limits %v, want %d then halves", limits, want0)
			}
			for i := 1; i < len(limits); i++ {
				if limits[i] != limits[i-1]/2 {
					t.Errorf("limits %v: each start-over halves the page size", limits)
				}
			}
		})
	}
}

func TestResponseSizeTooBigAlone(t *testing.T) {
	fake := newFakeSpace(t)
	fake.put(fatEntry("fat-1", 20000))
	fake.setMaxBody(9000)
	srv := fake.serve(t)
	for _, preview := range []bool{false, true} {
		cfg := deliveryConfig(srv.URL)
		if preview {
			cfg = Config{Space: "abc123", Preview: true, PreviewToken: testPreviewToken, BaseURL: srv.URL, Options: fast}
		}
		_, _, err := build(t, mustNew(t, cfg), nil)
		var ce *Error
		if !errors.As(err, &ce) || ce.ID != "BadRequest" || !strings.Contains(err.Error(), "larger than Contentful's maximum response size even alone") {
			t.Errorf("preview %t: err %v, want a clear error about one item too big", preview, err)
		}
	}
}

// redirect sends every request to the test server, recording the host and credentials asked for.
type redirect struct {
	to    *url.URL
	mu    sync.Mutex
	hosts []string
	auth  []string
}

func (r *redirect) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.hosts = append(r.hosts, req.URL.Host)
	r.auth = append(r.auth, req.Header.Get("Authorization"))
	r.mu.Unlock()
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = r.to.Scheme, r.to.Host
	return http.DefaultTransport.RoundTrip(req)
}

func TestPreviewAndDeliveryHosts(t *testing.T) {
	fake := newFakeSpace(t)
	srv := fake.serve(t)
	to, _ := url.Parse(srv.URL)
	for _, tt := range []struct {
		name     string
		cfg      Config
		host     string
		auth     string
		wantDraf bool
	}{
		{"delivery", Config{Space: "abc123", AccessToken: testDeliveryToken, PreviewToken: testPreviewToken},
			"cdn.contentful.com", "Bearer " + testDeliveryToken, false},
		{"preview", Config{Space: "abc123", AccessToken: testDeliveryToken, Preview: true, PreviewToken: testPreviewToken},
			"preview.contentful.com", "Bearer " + testPreviewToken, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rt := &redirect{to: to}
			tt.cfg.Options = fast
			tt.cfg.HTTPClient = &http.Client{Transport: rt}
			fake.log()
			b, res := mustBuild(t, mustNew(t, tt.cfg), nil)
			for i, h := range rt.hosts {
				if h != tt.host || rt.auth[i] != tt.auth {
					t.Fatalf("request %d went to %s with %q, want %s with the %s token", i, h, rt.auth[i], tt.host, tt.name)
				}
			}
			_, draft := b.Graph.Get("cms/Entry/post-draft")
			if draft != tt.wantDraf {
				t.Errorf("draft entry present: %t, want %t", draft, tt.wantDraf)
			}
			log := fake.log()
			usesSync := slices.ContainsFunc(log, func(r string) bool { return strings.Contains(r, "/sync") })
			if usesSync == tt.cfg.Preview || (res.Cursor != nil) == tt.cfg.Preview {
				t.Errorf("sync requests %t, cursor %s: the Preview API has no Sync API, delivery uses it", usesSync, res.Cursor)
			}
			for _, r := range log {
				if strings.Contains(r, "token") && !strings.Contains(r, "sync_token") {
					t.Errorf("a token in the URL: %s", r)
				}
			}
		})
	}
}

func TestPreviewListsEveryPage(t *testing.T) {
	fake := newFakeSpace(t)
	srv := fake.serve(t)
	cfg := Config{Space: "abc123", Preview: true, PreviewToken: testPreviewToken, BaseURL: srv.URL, ContentTypes: []string{"blogPost", "person"}, Options: fast}
	m, _ := mesh.New(mesh.Options{PageSize: 2})
	m.Add("cms", mustNew(t, cfg))
	fake.log()
	b, err := m.Build(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if c := b.Graph.CountByType(); c["BlogPost"] != 7 || c["Person"] != 3 || c["Category"] != 0 || c["Asset"] != 4 {
		t.Errorf("counts %v", c)
	}
	pages := map[string][]string{}
	for _, r := range fake.log() {
		u, _ := url.Parse(r)
		q := u.Query()
		if q.Get("order") != "sys.id" && !strings.HasSuffix(u.Path, "/locales") {
			t.Errorf("%s: not sorted by sys.id", r)
		}
		key := u.Path[strings.LastIndex(u.Path, "/")+1:] + ":" + q.Get("content_type")
		pages[key] = append(pages[key], q.Get("skip"))
	}
	for key, want := range map[string]int{"entries:blogPost": 4, "entries:person": 2, "assets:": 2} {
		if len(pages[key]) != want {
			t.Errorf("%s: pages at skip %v, want %d pages", key, pages[key], want)
		}
	}
}

func TestErrors(t *testing.T) {
	fake := newFakeSpace(t)
	srv := fake.serve(t)
	tests := []struct {
		name     string
		cfg      Config
		status   int // injected on every request; 0: none
		body     string
		sentinel error
		id       string
		hint     []string
	}{
		{"wrong delivery token", Config{Space: "abc123", AccessToken: "wrong-token-123"}, 0, "",
			mesh.ErrUnauthorized, "AccessTokenInvalid", []string{"accessToken", "Content Delivery API token", "could not be found or is invalid", "requestId"}},
		{"wrong preview token", Config{Space: "abc123", Preview: true, PreviewToken: "wrong-token-123"}, 0, "",
			mesh.ErrUnauthorized, "AccessTokenInvalid", []string{"previewToken", "Content Preview API token"}},
		{"unknown space", Config{Space: "nope", AccessToken: testDeliveryToken}, 0, "",
			mesh.ErrNotFound, "NotFound", []string{`space "nope"`, "check space and environment", "The resource could not be found"}},
		{"unknown environment", Config{Space: "abc123", Environment: "staging", AccessToken: testDeliveryToken}, 0, "",
			mesh.ErrNotFound, "NotFound", []string{`environment "staging"`}},
		{"access denied", Config{Space: "abc123", AccessToken: testDeliveryToken}, http.StatusForbidden,
			`{"sys":{"type":"Error","id":"AccessDenied"},"message":"The resource could not be accessed.","requestId":"r-403"}`,
			mesh.ErrForbidden, "AccessDenied", []string{"access denied", "may read this environment", "r-403"}},
		{"server error", Config{Space: "abc123", AccessToken: testDeliveryToken}, http.StatusInternalServerError,
			`{"sys":{"type":"Error","id":"ServerError"},"message":"Internal server error.","requestId":"r-500"}`,
			mesh.ErrUpstream, "ServerError", []string{"500"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := srv.URL
			if tt.status != 0 {
				fs := meshtest.NewFixtureServer(t, "")
				fs.Handle("GET /", fake.ServeHTTP)
				fs.Status(meshtest.Always, tt.status, []byte(tt.body))
				base = fs.URL
			}
			tt.cfg.BaseURL, tt.cfg.Options = base, fast
			_, _, err := build(t, mustNew(t, tt.cfg), nil)
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("err %v, want %v", err, tt.sentinel)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.ID != tt.id {
				t.Fatalf("err %v: want a *contentful.Error with id %s", err, tt.id)
			}
			msg := err.Error()
			for _, h := range append(tt.hint, `source "cms"`, "127.0.0.1") {
				if !strings.Contains(msg, h) {
					t.Errorf("error %q does not say %q", msg, h)
				}
			}
			if strings.Contains(msg, "wrong-token-123") || strings.Contains(msg, testDeliveryToken) {
				t.Errorf("the error shows a token: %s", msg)
			}
		})
	}
}

func TestRateLimitSlowsDown(t *testing.T) {
	fake := newFakeSpace(t)
	fs := meshtest.NewFixtureServer(t, "")
	fs.Handle("GET /", fake.ServeHTTP)
	cfg := deliveryConfig(fs.URL)
	cfg.Retries = ptr(3)
	want, _ := mustBuild(t, mustNew(t, cfg), nil)
	fs.ResetRequests()
	fs.Inject(meshtest.Fault{Count: 3, Status: http.StatusTooManyRequests, Wait: time.Second, Body: []byte(rateLimitBody),
		Reset: []meshtest.ResetHeader{{Name: "X-Contentful-RateLimit-Reset", Format: meshtest.ResetSeconds}}})
	got, _, err := build(t, mustNew(t, cfg), nil)
	if err != nil {
		t.Fatalf("429s that retries can absorb failed the build: %v", err)
	}
	sameGraphs(t, "after 429s", want.Graph, got.Graph)
	reqs := fs.Requests()
	first := reqs[slices.IndexFunc(reqs, func(r meshtest.Recorded) bool { return r.Fault != "" })]
	// Between the first 429 and the reset time it asked for, only a request already on its way
	// (the prelude sends two at once) may arrive: the source waits.
	early := 0
	for _, r := range reqs {
		if r.Time.After(first.Answered) && r.Time.Before(first.ResetAt) {
			early++
		}
	}
	if early > 1 {
		t.Errorf("%d requests arrived between the first 429 and its reset time", early)
	}
	if sr := got.Report.Sources[0]; sr.Throttled != 3 || sr.Retries < 3 {
		t.Errorf("report %+v, want 3 throttled requests retried", sr)
	}
}

func TestCheckAndDescribe(t *testing.T) {
	fake := newFakeSpace(t)
	srv := fake.serve(t)
	src := mustNew(t, deliveryConfig(srv.URL))
	if err := src.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	bad := deliveryConfig(srv.URL)
	bad.AccessToken = "nope"
	if err := mustNew(t, bad).Check(t.Context()); !errors.Is(err, mesh.ErrUnauthorized) {
		t.Fatalf("Check with a wrong token: %v", err)
	}
	types, err := src.Describe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ct := range types {
		names = append(names, ct.Name)
	}
	if !slices.Equal(names, []string{"Asset", "BlogPost", "Category", "Person"}) || !slices.Contains(types[1].Fields, "publishDate") {
		t.Fatalf("Describe: %+v", types)
	}
}

// TestSingleChainBaseline checks that the benchmark's baseline (one sync chain for everything, as
// Gatsby walks it) reads the same graph and follows deletions.
func TestSingleChainBaseline(t *testing.T) {
	fake := newFakeSpace(t)
	srv := fake.serve(t)
	perType, _ := mustBuild(t, mustNew(t, deliveryConfig(srv.URL)), nil)
	single := mustNew(t, deliveryConfig(srv.URL))
	single.singleChain = true
	store := newStore(t)
	fake.log()
	b, _ := mustBuild(t, single, store)
	if initial, fromToken, _ := syncRequests(fake.log()); initial != 1 || fromToken != 0 {
		t.Errorf("%d initial syncs and %d from a token, want one chain of one page", initial, fromToken)
	}
	sameGraphs(t, "one chain vs one per type", perType.Graph, b.Graph)
	fake.remove("Entry", "post-2", "2024-05-01T00:00:00Z")
	b, res := mustBuild(t, single, store)
	if _, ok := b.Graph.Get("cms/Entry/post-2@en-US"); ok || !res.Delta {
		t.Errorf("delta %t; the deleted entry is still there: %t", res.Delta, ok)
	}
}

func TestCursorIgnoredWhenUnreadable(t *testing.T) {
	fake := newFakeSpace(t)
	srv := fake.serve(t)
	src := mustNew(t, deliveryConfig(srv.URL))
	for _, cur := range []string{`{`, `{"v":2}`, `{"v":1,"config":"x"}`} {
		res, err := src.Fetch(t.Context(), mesh.FetchRequest{Source: "cms", Cursor: json.RawMessage(cur),
			Logger: slog.New(slog.DiscardHandler)}, &recorder{})
		if err != nil || res.Delta {
			t.Errorf("cursor %s: delta %t, err %v; want a full fetch", cur, res.Delta, err)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	for body, want := range map[string]string{
		`{"sys":{"type":"Error","id":"NotFound"},"message":"The resource could not be found.","details":{"type":"Entry","id":"x"},"requestId":"85f"}`:                                                                        "NotFound: The resource could not be found. (requestId 85f)",
		`{"sys":{"type":"Error","id":"InvalidQuery"},"message":"The query you sent was invalid.","details":{"errors":[{"name":"unknown","path":["fields","nope"],"details":"The path \"fields.nope\" is not recognized"}]}}`: `InvalidQuery: The query you sent was invalid: The path "fields.nope" is not recognized at ["fields","nope"]`,
		`{"message":"plain"}`:                     "plain",
		`<html><title>Bad Gateway</title></html>`: "Bad Gateway",
	} {
		if got := errorMessage(400, []byte(body)); got != want {
			t.Errorf("errorMessage(%s) = %q, want %q", body, got, want)
		}
	}
}

func TestSyncPage(t *testing.T) {
	for body, want := range map[string]string{
		`{"items":[],"nextPageUrl":"https://cdn.contentful.com/spaces/s/environments/e/sync?sync_token=P2"}`: "P2 more",
		`{"items":[],"nextSyncUrl":"https://cdn.contentful.com/spaces/s/sync?sync_token=S%2B1"}`:             "S+1 done",
		`{"items":[]}`: "error",
		`{"items":[],"nextSyncUrl":"https://x/"}`: "error",
		`{"items":[],"nextPageUrl":5}`:            "error",
	} {
		tok, done, err := syncPage(gjson.Parse(body))
		got := "error"
		if err == nil {
			got = tok + map[bool]string{true: " done", false: " more"}[done]
		}
		if got != want {
			t.Errorf("syncPage(%s) = %q (%v), want %q", body, got, err, want)
		}
	}
}

// TestChainsRunInParallel checks that a first build walks its sync chains at the same time: the
// server holds each initial sync request until the five chains of the test space (deletions,
// assets, three content types) have one in flight each, or 10s passed. Sequential chains would
// never get there. Nothing is timed: the test counts requests in flight.
func TestChainsRunInParallel(t *testing.T) {
	fake := newFakeSpace(t)
	var mu sync.Mutex
	inFlight, most := 0, 0
	allIn := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("initial") == "true" {
			mu.Lock()
			inFlight++
			if most = max(most, inFlight); most == 5 {
				close(allIn)
			}
			mu.Unlock()
			select {
			case <-allIn:
			case <-time.After(10 * time.Second):
			}
			defer func() {
				mu.Lock()
				inFlight--
				mu.Unlock()
			}()
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	mustBuild(t, mustNew(t, deliveryConfig(srv.URL)), nil)
	if most < 5 {
		t.Errorf("at most %d initial syncs in flight: the 5 sync chains did not run in parallel", most)
	}
}

// TestConfigStrictKeys decodes a source block the way the CLI does: the contract's keys and the
// inlined fetch options are known, anything else is refused with its name.
func TestConfigStrictKeys(t *testing.T) {
	decode := func(doc string) (Config, error) {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
			t.Fatal(err)
		}
		var c Config
		err := config.DecodeStrict("mesh.yaml", n.Content[0], &c, "name", "type")
		return c, err
	}
	c, err := decode("name: cms\ntype: contentful\nspace: abc\naccessToken: t\npreview: true\npreviewToken: p\nlocales: '*'\n" +
		"contentTypes: [a]\nenvironment: e\nfallbacks: {de-DE: en-US}\nraw: true\nbaseURL: http://127.0.0.1:1\nretries: 2\nrequestsPerSecond: 5\n")
	if err != nil || !c.Preview || *c.Retries != 2 || c.RequestsPerSecond != 5 || !c.Locales.All() {
		t.Fatalf("decode: %+v %v", c, err)
	}
	if _, err := decode("space: abc\naccessToken: t\nspaceId: typo\n"); err == nil || !strings.Contains(err.Error(), "spaceId") {
		t.Fatalf("an unknown key was accepted: %v", err)
	}
}

func TestParseDate(t *testing.T) {
	for in, want := range map[string]string{
		"2024-03-01":                    "2024-03-01T00:00:00Z",
		"2024-03-01T10:00":              "2024-03-01T10:00:00Z",
		"2024-03-01T10:00+01:00":        "2024-03-01T09:00:00Z",
		"2024-03-01T10:00Z":             "2024-03-01T10:00:00Z",
		"2024-03-01T10:00:30Z":          "2024-03-01T10:00:30Z",
		"2024-03-01T10:00:30.125-05:00": "2024-03-01T15:00:30.125Z",
		"2024-03-01T10:00:30":           "2024-03-01T10:00:30Z",
		"next tuesday":                  "error",
		"2024":                          "error",
	} {
		got := "error"
		if d, err := parseDate(in); err == nil {
			got = d.Format(time.RFC3339Nano)
		}
		if got != want {
			t.Errorf("parseDate(%q) = %s, want %s", in, got, want)
		}
	}
	// A Date field that is not a date stays as written.
	m := newTestMapper(t, Config{})
	item := entryJSON("x", "blogPost", "2024-03-01T00:00:00Z", map[string]map[string]any{"publishDate": {"en-US": "soon"}})
	if got := gjson.GetBytes(mapped(t, m, gjson.Parse(item))["cms/Entry/x"].Fields, "publishDate").String(); got != "soon" {
		t.Errorf("publishDate %q, want it kept", got)
	}
}

func TestBadItemNamesThePage(t *testing.T) {
	for _, preview := range []bool{false, true} {
		fake := newFakeSpace(t)
		fake.put(`{"sys":{"type":"Entry","id":"broken","contentType":{"sys":{"id":"person"}},"updatedAt":"2024-01-01T00:00:00Z"},"fields":{"name":"not a locale map"}}`)
		srv := fake.serve(t)
		cfg := deliveryConfig(srv.URL)
		if preview {
			cfg = Config{Space: "abc123", Preview: true, PreviewToken: testPreviewToken, BaseURL: srv.URL, Options: fast}
		}
		_, _, err := build(t, mustNew(t, cfg), nil)
		if !errors.Is(err, mesh.ErrBadResponse) || !strings.Contains(err.Error(), srv.URL) || !strings.Contains(err.Error(), `entry "broken"`) {
			t.Errorf("preview %t: %v, want a bad response error naming the page's URL and the entry", preview, err)
		}
	}
}
