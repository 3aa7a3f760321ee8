package mesh_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
)

// TestExtras: the hook sees the assembled graph before the folder is written, what it puts in the
// report reaches report.json, its files land in the folder, and its error fails the build with
// nothing written and no snapshot saved.
func TestExtras(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	store, _ := mesh.NewDirStore(filepath.Join(dir, "cache"))
	src := mustMem(t, rec("post", "1", "Post", `{"title":"A"}`))
	var fail error
	extras := func(b *mesh.Build) ([]mesh.OutputWriter, error) {
		if fail != nil {
			return nil, fail
		}
		b.Report.SchemaDrift = []byte(`[{"type":"Post"}]`)
		return []mesh.OutputWriter{{Name: "sub/count.txt", Write: func(w io.Writer) error {
			_, err := io.WriteString(w, strings.Repeat("n", b.Graph.Len()))
			return err
		}}}, nil
	}
	m := newMesh(t, mesh.Options{Out: out, Store: store, Extras: extras}, map[string]mesh.Source{"cms": src})
	if _, err := m.Build(context.Background()); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(out, "sub", "count.txt")); err != nil || string(data) != "n" {
		t.Errorf("extra file: %q %v", data, err)
	}
	if report, _ := os.ReadFile(filepath.Join(out, "report.json")); !strings.Contains(string(report), `"schemaDrift": [`) {
		t.Errorf("report.json lacks what the hook set:\n%s", report)
	}

	before, _ := os.ReadFile(filepath.Join(out, "graph.json"))
	src.Put(rec("post", "2", "Post", `{"title":"B"}`))
	fail = errors.New("no room for the schema")
	if _, err := m.Build(context.Background()); err == nil || !strings.Contains(err.Error(), "no room for the schema") {
		t.Fatalf("hook error not returned: %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(out, "graph.json")); string(after) != string(before) {
		t.Errorf("a build whose hook failed changed graph.json")
	}
	// The next build still sees post 2 as added: the failed build saved no snapshot.
	fail = nil
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Changes.Added) != 1 || b.Changes.Added[0] != "cms/post/2" {
		t.Errorf("changes after a failed build: %+v", b.Changes)
	}
}
