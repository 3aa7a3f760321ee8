package cachestore

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/s3store"
)

func TestOpen(t *testing.T) {
	env := map[string]string{"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cret", "AWS_REGION": "us-east-1"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, tc := range []struct {
		cache, want string
		s3          bool
		err         bool
	}{
		{cache: "", want: filepath.Join("/conf", DefaultDir)},
		{cache: "cache", want: filepath.Join("/conf", "cache")},
		{cache: "/abs/cache", want: "/abs/cache"},
		{cache: "s3://bucket/prefix?endpoint=http://127.0.0.1:7070", want: "s3://bucket/prefix", s3: true},
		{cache: "s3://", err: true},
		{cache: "s3://bucket/prefix?nope=1", err: true},
		{cache: "ftp://host/dir", err: true},
	} {
		store, where, closeStore, err := Open(tc.cache, "/conf", lookup, nil)
		if tc.err {
			if err == nil {
				t.Errorf("%q: no error", tc.cache)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.cache, err)
			continue
		}
		_, isS3 := store.(*s3store.Store)
		_, isDir := store.(*mesh.DirStore)
		if !strings.HasPrefix(where, tc.want) || isS3 != tc.s3 || isDir == tc.s3 {
			t.Errorf("%q: %T at %q, want %q (s3 %v)", tc.cache, store, where, tc.want, tc.s3)
		}
		if strings.Contains(where, "s3cret") {
			t.Errorf("%q: the secret is in %q", tc.cache, where)
		}
		closeStore()
	}
}
