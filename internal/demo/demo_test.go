package demo_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/contentmesh/contentmesh/internal/demo"
	"github.com/contentmesh/contentmesh/mesh/schema"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := demo.Run(context.Background(), &out, dir); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"built 17 nodes", "Product   10", "User       3", "Post       4", "source people rest    3 nodes in 2 requests", "17 added"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	s, err := schema.ReadFile(filepath.Join(dir, ".mesh", schema.FileName))
	if err != nil {
		t.Fatal(err)
	}
	author := s.Type("Post").Field("author")
	if author == nil || schema.Signature(&author.Value) != "ref<User>" {
		t.Errorf("Post.author in schema.json: %+v", author)
	}
	ts, err := os.ReadFile(filepath.Join(dir, ".mesh", schema.TypeScriptFileName))
	if err != nil || !strings.Contains(string(ts), `products: Ref<"Product">[];`) {
		t.Errorf("mesh.d.ts: %v\n%s", err, ts)
	}
	out.Reset()
	if err := demo.Run(context.Background(), &out, dir); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "0 added, 0 updated, 0 deleted") {
		t.Errorf("second run:\n%s", out.String())
	}
}
