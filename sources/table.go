package sources

import (
	"path/filepath"

	"github.com/contentmesh/contentmesh/sources/files"
	"github.com/contentmesh/contentmesh/sources/rest"
)

// Registry returns the table of adapters, one entry per config type. It is built on each call: there
// is no package state to mutate.
func Registry() []Factory {
	return []Factory{
		adapter("files", "local Markdown (front matter), JSON and YAML files", files.New, func(env Env, c *files.Config) {
			if c.Dir != "" && !filepath.IsAbs(c.Dir) && env.Dir != "" {
				c.Dir = filepath.Join(env.Dir, c.Dir)
			}
		}),
		adapter("rest", "any JSON API, configured with gjson paths", rest.New, nil),
	}
}
