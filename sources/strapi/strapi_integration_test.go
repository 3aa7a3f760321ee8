package strapi

import (
	"context"
	"encoding/json"
	"github.com/contentmesh/contentmesh/internal/realserver"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
)

// realServer is the Strapi 5 started by scripts/realservers/strapi-up.sh, read from its env file.
type realServer struct {
	url, token, readOnly string
}

// startRealServer reads the env file of scripts/realservers/strapi-up.sh. Without it the test is
// skipped, except under CI (CI=true), where the server must be there.
func startRealServer(t *testing.T) realServer {
	t.Helper()
	file := "the strapi env file"
	env := realserver.Env(t, "strapi", "STRAPI_URL")
	rs := realServer{url: env["STRAPI_URL"], token: env["STRAPI_TOKEN"], readOnly: env["STRAPI_READONLY_TOKEN"]}
	if rs.url == "" || rs.token == "" || rs.readOnly == "" {
		t.Fatalf("%s lacks STRAPI_URL, STRAPI_TOKEN or STRAPI_READONLY_TOKEN", file)
	}
	return rs
}

// write sends a REST write with the full-access token and returns the answer's data.documentId.
func (rs realServer) write(t *testing.T, method, path, body string) string {
	t.Helper()
	req, err := http.NewRequest(method, rs.url+"/api/"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+rs.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	var v struct {
		Data struct {
			DocumentID string `json:"documentId"`
		} `json:"data"`
	}
	json.Unmarshal(b, &v)
	return v.Data.DocumentID
}

// v4Format makes a Strapi 5 answer in the v4 shape (Strapi-Response-Format: v4), as a proxy could.
type v4Format struct{ next http.RoundTripper }

func (v v4Format) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Strapi-Response-Format", "v4")
	return v.next.RoundTrip(r)
}

func bySlug(g *mesh.Graph, typ string) map[string]*mesh.Node {
	out := map[string]*mesh.Node{}
	for n := range g.ByType(typ) {
		key := n.Get("slug").String()
		if key == "" {
			key = n.Get("name").String()
		}
		if n.Locale != "" && n.Locale != "en" {
			key += "@" + n.Locale
		}
		out[key] = n
	}
	return out
}

func target(t *testing.T, g *mesh.Graph, n *mesh.Node, path string) *mesh.Node {
	t.Helper()
	id := n.Get(path + ".$ref").String()
	to, ok := g.Get(id)
	if !ok {
		t.Fatalf("%s: %s points at %q, not in the graph (fields %s)", n.ID, path, id, n.Fields)
	}
	return to
}

func TestRealServer(t *testing.T) {
	rs := startRealServer(t)
	cfg := func(c Config) Config {
		if c.Token == "" {
			c.Token = rs.token
		}
		c.URL, c.Collections = rs.url, collections
		return c
	}
	full := build(t, newSource(t, cfg(Config{})), mesh.Options{})

	t.Run("published", func(t *testing.T) {
		checkSeeded(t, full.Graph, rs.url)
		if _, ok := bySlug(full.Graph, "Article")["mesh-draft"]; ok {
			t.Error("a published fetch got the draft")
		}
	})

	t.Run("read-only token", func(t *testing.T) {
		// The schema is not readable: relations are resolved by the ids of the collections.
		b := build(t, newSource(t, cfg(Config{Token: rs.readOnly})), mesh.Options{})
		diffStates(t, graphState(b.Graph), graphState(full.Graph))
	})

	t.Run("public role", func(t *testing.T) {
		// No token: no schema, no media library; the Assets are the media the entries use.
		b := build(t, newSource(t, Config{URL: rs.url, Collections: collections}), mesh.Options{})
		diffStates(t, graphState(b.Graph), graphState(full.Graph))
	})

	t.Run("v4 response format", func(t *testing.T) {
		c := cfg(Config{})
		c.HTTPClient = &http.Client{Transport: v4Format{http.DefaultTransport}}
		b := build(t, newSource(t, c), mesh.Options{})
		diffStates(t, graphState(b.Graph), graphState(full.Graph))
	})

	t.Run("page size 1", func(t *testing.T) {
		b := build(t, newSource(t, cfg(Config{})), mesh.Options{PageSize: 1})
		diffStates(t, graphState(b.Graph), graphState(full.Graph))
	})

	t.Run("every locale and drafts", func(t *testing.T) {
		b := build(t, newSource(t, cfg(Config{Locale: "all", Preview: true})), mesh.Options{})
		g := b.Graph
		arts := bySlug(g, "Article")
		en, fr, draft := arts["mesh-article-1"], arts["article-maille-1@fr"], arts["mesh-draft"]
		if en == nil || fr == nil || draft == nil {
			t.Fatalf("articles %v", slices.Sorted(maps.Keys(arts)))
		}
		if draft.Get("publishedAt").Type.String() != "Null" || target(t, g, draft, "author").Get("name").String() != "Ada Writer" {
			t.Errorf("draft: %s", draft.Fields)
		}
		if en.NativeID != fr.NativeID || !strings.HasSuffix(en.ID, "@en") || !strings.HasSuffix(fr.ID, "@fr") || fr.Locale != "fr" {
			t.Errorf("ids %s %s", en.ID, fr.ID)
		}
		if d := g.Dangling(); len(d) != 0 {
			t.Errorf("dangling refs: %v", d)
		}
		// Every locale, page size 1: the same graph (Strapi answers localizations differently
		// on pages of one entry; the adapter leaves that field out under locale: all).
		one := build(t, newSource(t, cfg(Config{Locale: "all", Preview: true})), mesh.Options{PageSize: 1})
		diffStates(t, graphState(one.Graph), graphState(g))
	})

	t.Run("incremental", func(t *testing.T) {
		c := cfg(Config{Locale: "all"})
		store, err := mesh.NewDirStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		build(t, newSource(t, c), mesh.Options{Store: store})
		step := func(name string, added, updated, deleted []string) {
			t.Helper()
			d := build(t, newSource(t, c), mesh.Options{Store: store})
			diffStates(t, graphState(d.Graph), graphState(build(t, newSource(t, c), mesh.Options{}).Graph))
			for _, x := range []struct {
				what      string
				got, want []string
			}{{"added", d.Changes.Added, added}, {"updated", d.Changes.Updated, updated}, {"deleted", d.Changes.Deleted, deleted}} {
				for _, id := range x.want {
					if !slices.Contains(x.got, id) {
						t.Errorf("%s: %s not %s: %v", name, id, x.what, x.got)
					}
				}
			}
		}
		doc := rs.write(t, "POST", "categories", `{"data":{"name":"Mesh temp","slug":"mesh-temp"}}`)
		t.Cleanup(func() {
			req, _ := http.NewRequest("DELETE", rs.url+"/api/categories/"+doc, nil)
			req.Header.Set("Authorization", "Bearer "+rs.token)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		})
		id := "cms/categories/" + doc
		step("create", []string{id}, nil, nil)
		rs.write(t, "PUT", "categories/"+doc, `{"data":{"name":"Mesh temp, edited"}}`)
		step("edit", nil, []string{id}, nil)
		// Linking from the other side changes the article's categories, not its updatedAt.
		a1 := bySlug(build(t, newSource(t, c), mesh.Options{}).Graph, "Article")["mesh-article-1"]
		rs.write(t, "PUT", "categories/"+doc, `{"data":{"articles":{"connect":["`+a1.NativeID+`"]}}}`)
		step("link from the other side", nil, []string{id, a1.ID}, nil)
		rs.write(t, "DELETE", "categories/"+doc, ``)
		step("delete", nil, []string{a1.ID}, []string{id})
	})

	t.Run("bad token", func(t *testing.T) {
		m, _ := mesh.New(mesh.Options{})
		m.Add("cms", newSource(t, cfg(Config{Token: "not-a-valid-token-0000"})))
		_, err := m.Build(context.Background())
		if err == nil || !strings.Contains(err.Error(), "check token") || strings.Contains(err.Error(), "not-a-valid-token") {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("unknown collection", func(t *testing.T) {
		m, _ := mesh.New(mesh.Options{})
		c := cfg(Config{})
		c.Collections = []string{"article"}
		m.Add("cms", newSource(t, c))
		_, err := m.Build(context.Background())
		if err == nil || !strings.Contains(err.Error(), "plural API ids") {
			t.Errorf("err = %v", err)
		}
	})
}

// checkSeeded checks what strapi-up.sh seeded, in the default locale, published.
func checkSeeded(t *testing.T, g *mesh.Graph, origin string) {
	t.Helper()
	arts := bySlug(g, "Article")
	a1, a2 := arts["mesh-article-1"], arts["mesh-article-2"]
	if a1 == nil || a2 == nil {
		t.Fatalf("articles %v", slices.Sorted(maps.Keys(arts)))
	}
	if a1.Get("title").String() != "Mesh article 1" || a1.Get("body").String() != "Body **1**" || a1.Locale != "en" {
		t.Errorf("article 1: %s", a1.Fields)
	}
	if got := a1.Get("content.0.children.1.bold").Raw; got != "true" {
		t.Errorf("blocks not kept as JSON: %s", a1.Get("content").Raw)
	}
	if a1.Get("seo.metaTitle").String() != "Meta 1" {
		t.Errorf("component: %s", a1.Get("seo").Raw)
	}
	if a1.Get("localizations").Raw != `["fr"]` {
		t.Errorf("localizations: %s", a1.Get("localizations").Raw)
	}
	cover := target(t, g, a1, "cover")
	if cover.Type != "Asset" || cover.Get("mimeType").String() != "image/png" || cover.Get("width").Int() != 4 ||
		cover.Get("height").Int() != 2 || cover.Get("alt").String() != "Mesh cover" ||
		!strings.HasPrefix(cover.Get("url").String(), origin+"/uploads/") {
		t.Errorf("cover: %s", cover.Fields)
	}
	ada := target(t, g, a1, "author")
	if ada.Type != "Author" || ada.Get("name").String() != "Ada Writer" || target(t, g, ada, "avatar").ID != cover.ID {
		t.Errorf("author: %s", ada.Fields)
	}
	if target(t, g, a2, "author").Get("name").String() != "Bob Editor" {
		t.Errorf("article 2's author: %s", a2.Get("author"))
	}
	var cats []string
	for n := range g.Refs(a1, "categories") {
		cats = append(cats, n.Get("name").String())
	}
	slices.Sort(cats)
	if !slices.Equal(cats, []string{"Go", "Mesh News"}) {
		t.Errorf("categories of article 1: %v", cats)
	}
	goCat := bySlug(g, "Category")["go"]
	var inGo []string
	for n := range g.Backrefs(goCat, "categories") {
		inGo = append(inGo, n.Get("slug").String())
	}
	slices.Sort(inGo)
	if !slices.Equal(inGo, []string{"mesh-article-1", "mesh-article-2"}) {
		t.Errorf("articles in Go: %v", inGo)
	}
	// Strapi 5 also answers the inverse side of a relation (author.articles).
	var byAda []string
	for n := range g.Refs(ada, "articles") {
		byAda = append(byAda, n.Get("slug").String())
	}
	if !slices.Equal(byAda, []string{"mesh-article-1"}) {
		t.Errorf("Ada's articles: %v", byAda)
	}
	if d := g.Dangling(); len(d) != 0 {
		t.Errorf("dangling refs: %v", d)
	}
}
