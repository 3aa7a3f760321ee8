package files

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
)

type discard struct{}

func (discard) Upsert(mesh.Node) error { return nil }
func (discard) Delete(string) error    { return nil }

// benchSite writes n posts of about 2 KB each, with front matter and references.
func benchSite(b *testing.B, n int) string {
	dir := b.TempDir()
	files := map[string]string{}
	for i := range n {
		files[filepath.ToSlash(fmt.Sprintf("posts/%04d.md", i))] = fmt.Sprintf(
			"---\ntitle: Post %d\ndate: 2024-01-%02d\nauthor: {$ref: authors/a%d}\ntags: [go, web]\n---\n# Post %d\n\n%s\n",
			i, i%28+1, i%10, i, longBody)
	}
	for i := range 10 {
		files[fmt.Sprintf("authors/a%d.yaml", i)] = fmt.Sprintf("name: Author %d\n", i)
	}
	for name, content := range files {
		writeFile(b, dir, name, content)
	}
	return dir
}

var longBody = func() string {
	s := ""
	for i := range 12 {
		s += fmt.Sprintf("Paragraph %d with *emphasis*, **strong**, a [link](https://example.com/%d) and `code`.\n\n| a | b |\n|---|---|\n| %d | x |\n\n", i, i, i)
	}
	return s
}()

func BenchmarkFetchFull(b *testing.B) {
	dir := benchSite(b, 1000)
	s, _ := New(Config{Dir: dir})
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Fetch(context.Background(), mesh.FetchRequest{Source: "b"}, discard{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFetchUnchanged(b *testing.B) {
	dir := benchSite(b, 1000)
	s, _ := New(Config{Dir: dir})
	res, err := s.Fetch(context.Background(), mesh.FetchRequest{Source: "b"}, discard{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Fetch(context.Background(), mesh.FetchRequest{Source: "b", Cursor: res.Cursor}, discard{}); err != nil {
			b.Fatal(err)
		}
	}
}
