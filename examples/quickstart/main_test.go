package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/contentmesh/contentmesh/mesh"
)

func TestQuickstart(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), &out, dir); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"built 17 nodes", "Product   10", "by Milo Steep", "mentions Pour-over Kettle (59.00 EUR)", "17 added"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, ".mesh", "types", "Product.json"))
	if err != nil {
		t.Fatal(err)
	}
	var products []mesh.Node
	if err := json.Unmarshal(data, &products); err != nil || len(products) != 10 {
		t.Fatalf("Product.json: %v, %d products", err, len(products))
	}
	for _, p := range products {
		if p.Get("handle").Str == "hand-grinder" && len(p.Backrefs) != 2 {
			t.Errorf("hand-grinder backrefs %v, want the two posts that mention it", p.Backrefs)
		}
	}
	// A second run changes nothing.
	out.Reset()
	if err := run(context.Background(), &out, dir); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "0 added, 0 updated, 0 deleted") {
		t.Errorf("second run:\n%s", out.String())
	}
}
