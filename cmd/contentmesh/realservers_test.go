package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/contentmesh/contentmesh/internal/realserver"
)

// TestBuildFromRealCMS runs `contentmesh build` with a config naming the wordpress, strapi and
// directus types against the real servers CI starts (scripts/realservers), through the registry and
// the YAML config as a user would.
func TestBuildFromRealCMS(t *testing.T) {
	wp := realserver.Env(t, "wordpress", "WP_URL")
	st := realserver.Env(t, "strapi", "STRAPI_URL")
	di := realserver.Env(t, "directus", "DIRECTUS_URL")
	env := map[string]string{}
	for _, m := range []map[string]string{wp, st, di} {
		for k, v := range m {
			env[k] = v
		}
	}
	dir := t.TempDir()
	cfg := `out: out
cache: cache
sources:
  - name: blog
    type: wordpress
    url: ${WP_URL}
  - name: cms
    type: strapi
    url: ${STRAPI_URL}
    token: ${STRAPI_TOKEN}
    collections: [articles, authors, categories]
  - name: site
    type: directus
    url: ${DIRECTUS_URL}
    token: ${DIRECTUS_TOKEN}
    collections: [articles, authors, categories]
`
	path := filepath.Join(dir, "mesh.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI([]string{"build", "-config", path}, env)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	data, err := os.ReadFile(filepath.Join(dir, "out", "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		Sources []struct {
			Name, Status string
			Nodes        int
		}
	}
	if err := json.Unmarshal(data, &report); err != nil {
		t.Fatal(err)
	}
	if len(report.Sources) != 3 {
		t.Fatalf("report: %s", data)
	}
	for _, s := range report.Sources {
		if s.Status != "ok" || s.Nodes == 0 {
			t.Errorf("source %s: status %s, %d nodes", s.Name, s.Status, s.Nodes)
		}
	}
	for _, typ := range []string{"Post", "Category"} { // from WordPress
		if _, err := os.Stat(filepath.Join(dir, "out", "types", typ+".json")); err != nil {
			t.Errorf("no %s nodes: %v", typ, err)
		}
	}
}
