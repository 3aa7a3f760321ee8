package files

import (
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/meshtest"
)

func TestConformance(t *testing.T) {
	meshtest.Run(t, meshtest.Harness{
		NewSource: func(t *testing.T, env meshtest.Env) (mesh.Source, error) {
			// posts/second-post.md is left out: it references another source's node
			// (shop/Product/42), which Expect.DanglingPrefixes cannot excuse (its prefixes are
			// relative to the instance name).
			return New(Config{Dir: "testdata/blog", Include: []string{
				"*.md", "authors/*", "data/*", "posts/hello-world.md", "posts/2024/*.md",
			}})
		},
		Expect: meshtest.Expectations{
			MinNodes: 9,
			Types:    []string{"Author", "BlogPost", "File", "Post", "SiteConfig", "Tag"},
			Counts:   map[string]int{"Author": 2, "Post": 1, "Tag": 3},
			IDs:      []string{"./about", "posts/hello-world", "posts/2024%2Frecap", "data/tags#go", "data/tags#2"},
			Refs: []meshtest.ExpectedRef{
				{From: "posts/hello-world", Field: "author", To: "authors/jane"},
				{From: "posts/hello-world", Field: "tags", To: "data/tags#jamstack"},
				{From: "posts/2024%2Frecap", Field: "series", To: "posts/hello-world"},
			},
		},
		Incremental: true,
	})
}
