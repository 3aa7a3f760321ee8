package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
)

func TestLoadSettingsLeavesSourceSecretsAlone(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mesh.yaml")
	text := `out: ${OUT_DIR}
cache: s3://${BUCKET}/site?endpoint=http://127.0.0.1:7070
sources:
  - name: cms
    type: contentful
    space: ${SPACE}
    accessToken: "${TOKEN}"
links:
  - {from: Post.productHandles, to: Product.handle, as: products}
`
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"OUT_DIR": "public", "BUCKET": "builds", "SPACE": "abc"}
	f, err := LoadSettings(path, env(vars))
	if err != nil {
		t.Fatal(err)
	}
	if f.Out != "public" || f.Cache != "s3://builds/site?endpoint=http://127.0.0.1:7070" || len(f.Links) != 1 || f.Dir != dir {
		t.Errorf("%+v", f)
	}
	var c struct {
		Space       string `yaml:"space"`
		AccessToken string `yaml:"accessToken"`
	}
	if err := DecodeStrict(path, f.Sources[0].Node, &c, "name", "type"); err != nil {
		t.Fatal(err)
	}
	if c.Space != "abc" || c.AccessToken != "${TOKEN}" {
		t.Errorf("source block: %+v", c)
	}
	// Load itself still refuses the unset secret.
	if _, err := Load(path, env(vars)); err == nil || !strings.Contains(err.Error(), "TOKEN") {
		t.Errorf("Load: %v", err)
	}
	// An unset variable outside the sources is an error naming it.
	delete(vars, "BUCKET")
	_, err = LoadSettings(path, env(vars))
	if !errors.Is(err, mesh.ErrInvalidConfig) || !strings.Contains(err.Error(), "BUCKET is not set") || !strings.Contains(err.Error(), "mesh.yaml:2") {
		t.Errorf("unset cache variable: %v", err)
	}
	// The rest of the checks still apply.
	os.WriteFile(path, []byte("out: x\nsources: []\n"), 0o644)
	if _, err := LoadSettings(path, env(vars)); !errors.Is(err, mesh.ErrInvalidConfig) {
		t.Errorf("no sources: %v", err)
	}
	if _, err := LoadSettings(filepath.Join(dir, "missing.yaml"), env(vars)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
