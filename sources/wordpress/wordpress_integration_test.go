package wordpress

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/contentmesh/contentmesh/internal/realserver"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
)

// realServer is the WordPress started by scripts/realservers/wordpress-up.sh, read from its env file.
type realServer struct {
	url, user, appPassword string
}

// startRealServer reads the env file of scripts/realservers/wordpress-up.sh. Without it the test is
// skipped, except under CI (CI=true), where the server must be there.
func startRealServer(t *testing.T) realServer {
	t.Helper()
	file := "the wordpress env file"
	env := realserver.Env(t, "wordpress", "WP_URL")
	rs := realServer{url: env["WP_URL"], user: env["WP_USER"], appPassword: env["WP_APP_PASSWORD"]}
	if rs.url == "" || rs.user == "" || rs.appPassword == "" {
		t.Fatalf("%s lacks WP_URL, WP_USER or WP_APP_PASSWORD", file)
	}
	return rs
}

// write sends a REST write with the application password and returns the answer's id.
func (rs realServer) write(t *testing.T, method, path, body string) string {
	t.Helper()
	req, err := http.NewRequest(method, rs.url+"/wp-json/wp/v2/"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(rs.user, rs.appPassword)
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
		ID json.Number `json:"id"`
	}
	json.Unmarshal(b, &v)
	return v.ID.String()
}

// bySlug returns the nodes of a type keyed by their slug.
func bySlug(g *mesh.Graph, typ string) map[string]*mesh.Node {
	out := map[string]*mesh.Node{}
	for n := range g.ByType(typ) {
		out[n.Get("slug").String()] = n
	}
	return out
}

// target follows the $ref at path.
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

	t.Run("anonymous", func(t *testing.T) {
		b := build(t, newSource(t, Config{URL: rs.url}), nil)
		g := b.Graph
		checkSeeded(t, g)
		if _, ok := bySlug(g, "Post")["mesh-draft"]; ok {
			t.Error("an anonymous fetch got the draft")
		}
	})

	t.Run("drafts", func(t *testing.T) {
		b := build(t, newSource(t, Config{URL: rs.url, Username: rs.user, AppPassword: rs.appPassword}), nil)
		g := b.Graph
		checkSeeded(t, g)
		draft, ok := bySlug(g, "Post")["mesh-draft"]
		if !ok {
			t.Fatal("no draft with the application password")
		}
		if draft.Get("status").String() != "draft" || target(t, g, draft, "author").Get("name").String() != "Bob Editor" {
			t.Errorf("draft: %s", draft.Fields)
		}
		if strings.Contains(fmt.Sprint(b.Report), rs.appPassword) {
			t.Error("the report shows the application password")
		}
	})

	t.Run("bad password", func(t *testing.T) {
		m, _ := mesh.New(mesh.Options{})
		m.Add("blog", newSource(t, Config{URL: rs.url, Username: rs.user, AppPassword: "xxxx xxxx xxxx xxxx xxxx xxxx"}))
		_, err := m.Build(context.Background())
		if err == nil || !strings.Contains(err.Error(), "appPassword") || strings.Contains(err.Error(), "xxxx") {
			t.Errorf("err = %v, want one that says to check appPassword, without it", err)
		}
	})

	t.Run("page size 1", func(t *testing.T) {
		cfg := Config{URL: rs.url, Username: rs.user, AppPassword: rs.appPassword}
		m, _ := mesh.New(mesh.Options{PageSize: 1})
		m.Add("blog", newSource(t, cfg))
		one, err := m.Build(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		diffStates(t, graphState(one.Graph), graphState(build(t, newSource(t, cfg), nil).Graph))
	})

	t.Run("incremental", func(t *testing.T) {
		cfg := Config{URL: rs.url, Username: rs.user, AppPassword: rs.appPassword}
		store, err := mesh.NewDirStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		build(t, newSource(t, cfg), store)
		// Each step changes the site, builds a delta over the stored snapshot, and compares it
		// with a full fetch of the new state.
		step := func(name string, wantAdded, wantUpdated, wantDeleted []string) {
			t.Helper()
			d := build(t, newSource(t, cfg), store)
			full := build(t, newSource(t, cfg), nil)
			diffStates(t, graphState(d.Graph), graphState(full.Graph))
			for _, c := range []struct {
				what      string
				got, want []string
			}{{"added", d.Changes.Added, wantAdded}, {"updated", d.Changes.Updated, wantUpdated}, {"deleted", d.Changes.Deleted, wantDeleted}} {
				for _, id := range c.want {
					if !slices.Contains(c.got, id) {
						t.Errorf("%s: %s not %s: %v", name, id, c.what, c.got)
					}
				}
			}
		}
		tag := rs.write(t, "POST", "tags", `{"name":"mesh-temp-tag","slug":"mesh-temp-tag"}`)
		post := rs.write(t, "POST", "posts", fmt.Sprintf(`{"title":"Mesh temp","slug":"mesh-temp","status":"publish","tags":[%s]}`, tag))
		t.Cleanup(func() {
			for _, p := range []string{"posts/" + post, "tags/" + tag} {
				req, _ := http.NewRequest("DELETE", rs.url+"/wp-json/wp/v2/"+p+"?force=true", nil)
				req.SetBasicAuth(rs.user, rs.appPassword)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}
		})
		postID, tagID := "blog/post/"+post, "blog/tag/"+tag
		step("create", []string{postID, tagID}, nil, nil)
		rs.write(t, "POST", "posts/"+post, `{"title":"Mesh temp, edited"}`)
		step("edit", nil, []string{postID}, nil)
		// Deleting the tag unlinks it from the post without touching the post's modified time.
		rs.write(t, "DELETE", "tags/"+tag+"?force=true", ``)
		step("delete the tag", nil, []string{postID}, []string{tagID})
		rs.write(t, "DELETE", "posts/"+post+"?force=true", ``)
		step("delete the post", nil, nil, []string{postID})
	})
}

// checkSeeded checks what wordpress-up.sh seeded: posts with their categories, tags, authors and
// featured image, the child category and page, and the backrefs.
func checkSeeded(t *testing.T, g *mesh.Graph) {
	t.Helper()
	posts := bySlug(g, "Post")
	p1, p2 := posts["mesh-post-1"], posts["mesh-post-2"]
	if p1 == nil || p2 == nil {
		t.Fatalf("posts %v", slices.Collect(maps.Keys(posts)))
	}
	if got := p1.Get("title").String(); got != "Mesh post 1" {
		t.Errorf("title %q", got)
	}
	if got := p1.Get("content").String(); !strings.Contains(got, "Body of post 1") {
		t.Errorf("content %q", got)
	}
	if p1.UpdatedAt.IsZero() || !strings.HasSuffix(p1.Get("modified").String(), "Z") {
		t.Errorf("times: %v %s", p1.UpdatedAt, p1.Get("modified"))
	}
	hero := target(t, g, p1, "featured_media")
	if hero.Type != "Asset" || hero.Get("mimeType").String() != "image/png" || hero.Get("width").Int() != 2 ||
		hero.Get("height").Int() != 1 || hero.Get("alt").String() != "Mesh hero" || !strings.HasPrefix(hero.Get("fileName").String(), "mesh-hero") ||
		!strings.HasSuffix(hero.Get("url").String(), ".png") {
		t.Errorf("featured image: %s", hero.Fields)
	}
	if got := target(t, g, p2, "author").Get("name").String(); got != "Bob Editor" {
		t.Errorf("author of post 2: %q", got)
	}
	if got := target(t, g, p1, "categories.0").Get("name").String(); got != "Mesh News" {
		t.Errorf("category of post 1: %q", got)
	}
	goCat := target(t, g, p2, "categories.0")
	if goCat.Get("name").String() != "Go" || target(t, g, goCat, "parent").Get("name").String() != "Mesh News" {
		t.Errorf("category Go: %s", goCat.Fields)
	}
	tags := bySlug(g, "Tag")
	var tagged []string
	for n := range g.Backrefs(tags["golang"], "tags") {
		tagged = append(tagged, n.Get("slug").String())
	}
	slices.Sort(tagged)
	if !slices.Equal(tagged, []string{"mesh-post-1", "mesh-post-2"}) && !slices.Equal(tagged, []string{"mesh-draft", "mesh-post-1", "mesh-post-2"}) {
		t.Errorf("tagged golang: %v", tagged)
	}
	pages := bySlug(g, "Page")
	if team := pages["mesh-team"]; team == nil || target(t, g, team, "parent").Get("slug").String() != "about-mesh" {
		t.Errorf("pages %v", slices.Collect(maps.Keys(pages)))
	}
	if d := g.Dangling(); len(d) != 0 {
		t.Errorf("dangling refs: %v", d)
	}
	var raw bytes.Buffer
	g.WriteGraphJSON(&raw)
	if strings.Contains(raw.String(), "_links") {
		t.Error("_links reached the graph")
	}
}
