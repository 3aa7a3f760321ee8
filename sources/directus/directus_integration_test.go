package directus

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

// realServer is the Directus 11 started by scripts/realservers/directus-up.sh, read from its env file.
type realServer struct {
	url, token string
}

// startRealServer reads the env file of scripts/realservers/directus-up.sh. Without it the test is
// skipped, except under CI (CI=true), where the server must be there.
func startRealServer(t *testing.T) realServer {
	t.Helper()
	file := "the directus env file"
	env := realserver.Env(t, "directus", "DIRECTUS_URL")
	rs := realServer{url: env["DIRECTUS_URL"], token: env["DIRECTUS_TOKEN"]}
	if rs.url == "" || rs.token == "" {
		t.Fatalf("%s lacks DIRECTUS_URL or DIRECTUS_TOKEN", file)
	}
	return rs
}

// write sends a REST write with the static token and returns the answer's data.id.
func (rs realServer) write(t *testing.T, method, path, body string) string {
	t.Helper()
	req, err := http.NewRequest(method, rs.url+path, strings.NewReader(body))
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
			ID json.Number `json:"id"`
		} `json:"data"`
	}
	json.Unmarshal(b, &v)
	return v.Data.ID.String()
}

func bySlug(g *mesh.Graph, typ string) map[string]*mesh.Node {
	out := map[string]*mesh.Node{}
	for n := range g.ByType(typ) {
		k := n.Get("slug").String()
		if k == "" {
			k = n.Get("name").String()
		}
		out[k] = n
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
	cfg := Config{URL: rs.url, Token: rs.token, Collections: collections}
	full := build(t, newSource(t, cfg), mesh.Options{})

	t.Run("seeded", func(t *testing.T) {
		g := full.Graph
		arts := bySlug(g, "Article")
		a1, a2, draft := arts["mesh-article-1"], arts["mesh-article-2"], arts["mesh-draft"]
		if a1 == nil || a2 == nil || draft == nil {
			t.Fatalf("articles %v", slices.Sorted(maps.Keys(arts)))
		}
		if a1.Get("title").String() != "Mesh article 1" || a1.Get("body").String() != "<p>one</p>" ||
			!strings.HasSuffix(a1.Get("date_created").String(), "Z") || a1.UpdatedAt.IsZero() {
			t.Errorf("article 1: %s", a1.Fields)
		}
		ada := target(t, g, a1, "author")
		if ada.Type != "Author" || ada.Get("name").String() != "Ada Writer" {
			t.Errorf("author: %s", ada.Fields)
		}
		cover := target(t, g, a1, "cover")
		if cover.Type != "Asset" || cover.Get("mimeType").String() != "image/png" || cover.Get("width").Int() != 4 ||
			cover.Get("height").Int() != 2 || cover.Get("title").String() != "Mesh cover" || cover.Get("alt").String() != "A red cover" ||
			cover.Get("fileName").String() != "mesh-cover.png" || cover.Get("url").String() != rs.url+"/assets/"+cover.NativeID {
			t.Errorf("cover: %s", cover.Fields)
		}
		if target(t, g, ada, "avatar").ID != cover.ID {
			t.Errorf("avatar: %s", ada.Get("avatar"))
		}
		var cats []string
		for n := range g.Refs(a1, "categories") {
			cats = append(cats, n.Get("slug").String())
		}
		slices.Sort(cats)
		if !slices.Equal(cats, []string{"go", "mesh-news"}) {
			t.Errorf("categories of article 1 (many-to-many): %v", cats)
		}
		var byAda []string
		for n := range g.Refs(ada, "articles") { // one-to-many alias
			byAda = append(byAda, n.Get("slug").String())
		}
		slices.Sort(byAda)
		if !slices.Equal(byAda, []string{"mesh-article-1", "mesh-draft"}) {
			t.Errorf("Ada's articles: %v", byAda)
		}
		var inGo []string
		for n := range g.Backrefs(bySlug(g, "Category")["go"], "categories") {
			inGo = append(inGo, n.Get("slug").String())
		}
		slices.Sort(inGo)
		if !slices.Equal(inGo, []string{"mesh-article-1", "mesh-article-2"}) {
			t.Errorf("articles in Go: %v", inGo)
		}
		if d := g.Dangling(); len(d) != 0 {
			t.Errorf("dangling refs: %v", d)
		}
	})

	t.Run("page size 1", func(t *testing.T) {
		diffStates(t, graphState(build(t, newSource(t, cfg), mesh.Options{PageSize: 1}).Graph), graphState(full.Graph))
	})

	t.Run("public role", func(t *testing.T) {
		m, _ := mesh.New(mesh.Options{})
		m.Add("site", newSource(t, Config{URL: rs.url, Collections: collections}))
		_, err := m.Build(context.Background())
		if err == nil || !strings.Contains(err.Error(), "may not read directus_fields and directus_relations") {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("bad token", func(t *testing.T) {
		m, _ := mesh.New(mesh.Options{})
		m.Add("site", newSource(t, Config{URL: rs.url, Token: "not-the-token-0000", Collections: collections}))
		_, err := m.Build(context.Background())
		if err == nil || !strings.Contains(err.Error(), "check token") || strings.Contains(err.Error(), "not-the-token") {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("unknown collection", func(t *testing.T) {
		m, _ := mesh.New(mesh.Options{})
		m.Add("site", newSource(t, Config{URL: rs.url, Token: rs.token, Collections: []string{"article"}}))
		_, err := m.Build(context.Background())
		if err == nil || !strings.Contains(err.Error(), `collection "article" does not exist`) {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("incremental", func(t *testing.T) {
		store, err := mesh.NewDirStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		build(t, newSource(t, cfg), mesh.Options{Store: store})
		step := func(name string, added, updated, deleted []string) {
			t.Helper()
			d := build(t, newSource(t, cfg), mesh.Options{Store: store})
			diffStates(t, graphState(d.Graph), graphState(build(t, newSource(t, cfg), mesh.Options{}).Graph))
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
		g := full.Graph
		ada := bySlug(g, "Author")["Ada Writer"]
		cat := rs.write(t, "POST", "/items/categories", `{"name":"Mesh temp","slug":"mesh-temp"}`)
		art := rs.write(t, "POST", "/items/articles", `{"status":"published","title":"Mesh temp","slug":"mesh-temp",
			"author":`+ada.NativeID+`,"categories":[{"categories_id":`+cat+`}]}`)
		t.Cleanup(func() {
			for _, p := range []string{"/items/articles/" + art, "/items/categories/" + cat} {
				req, _ := http.NewRequest("DELETE", rs.url+p, nil)
				req.Header.Set("Authorization", "Bearer "+rs.token)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}
		})
		artID, catID := "site/articles/"+art, "site/categories/"+cat
		// New items have no date_updated: the sweep finds them. Ada's one-to-many list changes
		// without her date_updated changing.
		step("create", []string{artID, catID}, []string{ada.ID}, nil)
		rs.write(t, "PATCH", "/items/articles/"+art, `{"title":"Mesh temp, edited"}`)
		step("edit", nil, []string{artID}, nil)
		rs.write(t, "DELETE", "/items/categories/"+cat, ``)
		step("delete the category", nil, []string{artID}, []string{catID})
		rs.write(t, "DELETE", "/items/articles/"+art, ``)
		step("delete the article", nil, []string{ada.ID}, []string{artID})
	})
}
