package files

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
)

// checkNodes fails unless every node is one the engine accepts: a valid ID of the source, a type,
// and fields that are a canonicalizable JSON object.
func checkNodes(t *testing.T, nodes []mesh.Node) {
	t.Helper()
	for _, n := range nodes {
		if !mesh.ValidNodeID(n.ID) || !strings.HasPrefix(n.ID, "fz/") {
			t.Fatalf("bad id %q", n.ID)
		}
		if n.Type == "" {
			t.Fatalf("node %q has no type", n.ID)
		}
		c, refs, err := mesh.Canonicalize(n.Fields)
		if err != nil || len(c) == 0 || c[0] != '{' {
			t.Fatalf("node %q: fields %q: %v", n.ID, n.Fields, err)
		}
		for _, r := range refs {
			if !mesh.ValidNodeID(r.To) {
				t.Fatalf("node %q: ref %q is not a node id", n.ID, r.To)
			}
		}
	}
}

func addSeeds(f *testing.F, exts ...string) {
	matches, _ := filepath.Glob("testdata/blog/*/*")
	more, _ := filepath.Glob("testdata/blog/*/*/*")
	for _, m := range append(matches, more...) {
		for _, e := range exts {
			if strings.HasSuffix(m, e) {
				if b, err := os.ReadFile(m); err == nil {
					f.Add(b)
				}
			}
		}
	}
}

// FuzzFrontMatter feeds arbitrary Markdown files, front matter included, to the Markdown decoder.
func FuzzFrontMatter(f *testing.F) {
	addSeeds(f, ".md")
	for _, s := range []string{
		"---\n---\n", "---\na: b\n...\nx", "---\n<<: {a: 1}\nb: *x\n---\n", "---\nk: &a [*a]\n---\n",
		"---\r\nt: 2024-01-01\r\n---\r\n", "---\n? [a]\n: b\n---\n", "---\nx: {$ref: ../..}\n---\n",
		"---\ntype: \"\\u0000\"\n---\n<div>x</div>",
	} {
		f.Add([]byte(s))
	}
	s, err := New(Config{Dir: "."})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		nodes, err := s.mapFile("fz", "posts/x.md", data)
		if err != nil {
			if _, ok := err.(*FileError); !ok {
				t.Fatalf("error %T is not a *FileError: %v", err, err)
			}
			return
		}
		if len(nodes) != 1 {
			t.Fatalf("%d nodes", len(nodes))
		}
		checkNodes(t, nodes)
	})
}

// FuzzDataFile feeds arbitrary bytes to the JSON and YAML decoders.
func FuzzDataFile(f *testing.F) {
	addSeeds(f, ".json", ".yaml")
	for _, s := range []string{
		`[{"id": 1}, {"id": "1"}]`, `{"a": {"$ref": "x#y"}}`, "- a: &x {b: 1}\n  c: *x\n", "a: !!binary aGk=\n",
		"a: .inf\n", "{a: [1, 2], 3: x}", `[]`, `[[]]`,
	} {
		f.Add([]byte(s))
	}
	s, err := New(Config{Dir: "."})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range []string{"data/x.json", "x.yaml"} {
			nodes, err := s.mapFile("fz", p, data)
			if err != nil {
				if _, ok := err.(*FileError); !ok {
					t.Fatalf("%s: error %T is not a *FileError: %v", p, err, err)
				}
				continue
			}
			checkNodes(t, nodes)
		}
	})
}
