// Package cachestore opens the snapshot store a config's cache names, for the CLI and the examples
// that read the same config: an s3:// URL (mesh/s3store) or a folder (mesh.DirStore).
package cachestore

import (
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/s3store"
)

// DefaultDir is the snapshot folder when the config names none.
const DefaultDir = ".mesh-cache"

// Open opens the store that cache names: an s3:// URL (credentials and endpoint from the AWS
// environment variables read through lookup, see s3store.ParseURL) or a folder, relative to dir
// (DefaultDir when cache is empty). It returns a name for messages (no secret in it) and a function
// that releases the store's network connections. It does no I/O.
func Open(cache, dir string, lookup func(string) (string, bool), log *slog.Logger) (mesh.Store, string, func(), error) {
	if strings.Contains(cache, "://") {
		cfg, err := s3store.ParseURL(cache)
		if err != nil {
			return nil, "", nil, err
		}
		cfg.Env, cfg.Logger = lookup, log
		s, err := s3store.New(cfg)
		if err != nil {
			return nil, "", nil, err
		}
		return s, s.String(), func() { s.Close() }, nil
	}
	if cache == "" {
		cache = DefaultDir
	}
	if !filepath.IsAbs(cache) {
		cache = filepath.Join(dir, cache)
	}
	s, err := mesh.NewDirStore(cache)
	return s, cache, func() {}, err
}
