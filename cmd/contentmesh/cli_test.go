package main

import (
	"bytes"
	"context"
	"encoding/json"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vbauerster/mpb/v8/decor"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/schema"
)

// built is a fixture after one successful build.
func built(t *testing.T) (*fixture, string) {
	t.Helper()
	f := newFixture(t)
	cfg := filepath.Join(f.dir, "mesh.yaml")
	if code, out, errs := runCLI([]string{"build", "-config", cfg}, goodEnv); code != exitOK {
		t.Fatalf("build: exit %d\n%s\n%s", code, out, errs)
	}
	return f, cfg
}

func TestBuildWritesSchemaAndReportsDrift(t *testing.T) {
	f, cfg := built(t)
	out := filepath.Join(f.dir, "out")
	s, err := schema.ReadFile(filepath.Join(out, "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if title := s.Type("Product").Field("title"); title == nil || schema.Signature(&title.Value) != "string" {
		t.Errorf("Product.title in schema.json: %+v", title)
	}
	if products := s.Type("Post").Field("productRefs"); products == nil || products.Items == nil || schema.Signature(products.Items) != "ref<Product>" {
		t.Errorf("Post.productRefs in schema.json: %+v", products)
	}
	ts, err := os.ReadFile(filepath.Join(out, "mesh.d.ts"))
	if err != nil || !strings.Contains(string(ts), `productRefs: Ref<"Product">[];`) {
		t.Errorf("mesh.d.ts: %v\n%s", err, ts)
	}

	// The API now sends titles as numbers and drops the handle of one product.
	f.serve(`{"data":[{"id":"1","handle":"mug","title":1},{"id":"2","title":2}]}`)
	code, stdout, errs := runCLI([]string{"build", "-config", cfg}, goodEnv)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, errs)
	}
	for _, want := range []string{"schema drift since the last build (2):", "  Product.handle: now missing on some nodes", "  Product.title: string -> integer"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	report, _ := os.ReadFile(filepath.Join(out, "report.json"))
	var r struct {
		SchemaDrift []schema.Drift `json:"schemaDrift"`
	}
	if err := json.Unmarshal(report, &r); err != nil || len(r.SchemaDrift) != 2 {
		t.Fatalf("report.json schemaDrift: %v\n%s", err, report)
	}
	if d := r.SchemaDrift[1]; d.Type != "Product" || d.Field != "title" || d.Change != schema.ChangeType || d.Was != "string" || d.Now != "integer" {
		t.Errorf("drift %+v", d)
	}
	// The same content again: no drift.
	code, stdout, _ = runCLI([]string{"build", "-config", cfg}, goodEnv)
	if code != exitOK || strings.Contains(stdout, "drift") {
		t.Errorf("unchanged rebuild: exit %d\n%s", code, stdout)
	}
}

func TestBuildJSONAndQuiet(t *testing.T) {
	f := newFixture(t)
	cfg := filepath.Join(f.dir, "mesh.yaml")
	code, stdout, errs := runCLI([]string{"build", "-config", cfg, "-json"}, goodEnv)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	file, err := os.ReadFile(filepath.Join(f.dir, "out", "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if stdout != string(file) {
		t.Errorf("-json stdout is not report.json:\n%s\n---\n%s", stdout, file)
	}
	var r mesh.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || len(r.Sources) != 2 || r.Nodes != 3 {
		t.Errorf("report: %v %+v", err, r)
	}
	// The human lines went to stderr.
	if !strings.Contains(errs, "built 3 nodes") || !strings.Contains(errs, "shop ") {
		t.Errorf("stderr:\n%s", errs)
	}

	// -json on a failed build still prints the report, and exits 1.
	f.fail.Store(true)
	code, stdout, errs = runCLI([]string{"build", "-config", cfg, "-json", "-quiet"}, goodEnv)
	if code != exitFailed || json.Unmarshal([]byte(stdout), &r) != nil || r.Sources[0].Status != mesh.StatusFailed {
		t.Errorf("failed -json build: exit %d\n%s\n%s", code, stdout, errs)
	}
	if !strings.Contains(errs, "build failed") || strings.Contains(errs, "built") {
		t.Errorf("-quiet stderr should hold the error only:\n%s", errs)
	}

	// -quiet: nothing at all on success.
	f.fail.Store(false)
	code, stdout, errs = runCLI([]string{"build", "-config", cfg, "-quiet"}, goodEnv)
	if code != exitOK || stdout != "" || errs != "" {
		t.Errorf("-quiet: exit %d, stdout %q, stderr %q", code, stdout, errs)
	}
}

func TestBuildProgressLines(t *testing.T) {
	f := newFixture(t)
	cfg := filepath.Join(f.dir, "mesh.yaml")
	// A terminal in CI still gets plain lines.
	c := &cli{stdout: new(bytes.Buffer), stderr: new(bytes.Buffer), isTerminal: func(io.Writer) bool { return true },
		lookup: func(k string) (string, bool) {
			if k == "CI" {
				return "true", true
			}
			v, ok := goodEnv[k]
			return v, ok
		}}
	if code := c.run(context.Background(), []string{"build", "-config", cfg}); code != exitOK {
		t.Fatalf("exit %d\n%s", code, c.stderr)
	}
	stdout := c.stdout.(*bytes.Buffer).String()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("want a line per source and the summary:\n%s", stdout)
	}
	seen := map[string]bool{}
	for _, l := range lines[:2] {
		fields := strings.Fields(l)
		seen[fields[0]] = true
		if fields[2] != "ok" || !strings.Contains(l, " nodes ") || !strings.Contains(l, " requests ") {
			t.Errorf("source line %q", l)
		}
	}
	if !seen["shop"] || !seen["blog"] || !strings.HasPrefix(lines[2], "built 3 nodes") {
		t.Errorf("lines:\n%s", stdout)
	}
	if strings.Contains(c.stderr.(*bytes.Buffer).String(), "\x1b[") {
		t.Errorf("escape sequences in CI")
	}
}

func TestBuildBarsOnATerminal(t *testing.T) {
	f := newFixture(t)
	cfg := filepath.Join(f.dir, "mesh.yaml")
	var stdout, stderr bytes.Buffer
	c := &cli{stdout: &stdout, stderr: &stderr, lookup: func(k string) (string, bool) { v, ok := goodEnv[k]; return v, ok },
		isTerminal: func(w io.Writer) bool { return w == &stderr },
		bars:       barsOptions{width: 120, forceTTY: true}}
	if code := c.run(context.Background(), []string{"build", "-config", cfg}); code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	// The last frame shows every source done.
	frames := stderr.String()
	last := frames[max(0, strings.LastIndex(frames, "shop")-200):]
	for _, want := range []string{"✓ shop", "rest", "ok", "2 nodes", "✓ blog", "files", "1 nodes"} {
		if !strings.Contains(frames, want) {
			t.Errorf("bars lack %q:\n%q", want, last)
		}
	}
	// stdout has the summary, not the plain per-source lines.
	if !strings.HasPrefix(stdout.String(), "built 3 nodes") || strings.Count(stdout.String(), "\n") != 1 {
		t.Errorf("stdout:\n%s", stdout.String())
	}
	// A failing source ends with a cross; the display stops (goleak checks its goroutines).
	f.fail.Store(true)
	stdout.Reset()
	stderr.Reset()
	if code := c.run(context.Background(), []string{"build", "-config", cfg}); code != exitFailed {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(stderr.String(), "✗ shop") || !strings.Contains(stderr.String(), "503") || !strings.Contains(stderr.String(), "build failed") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

// TestBarRow follows one source's line through its states.
func TestBarRow(t *testing.T) {
	r := &barRow{}
	if g, c := r.glyph(decor.Statistics{}), r.counts(decor.Statistics{}); g != "·" || c != "waiting" {
		t.Errorf("before start: %q %q", g, c)
	}
	r.started = time.Now()
	r.prog = mesh.SourceProgress{Nodes: 120, Requests: 14, Retries: 2, Throttled: 1, Wait: 3 * time.Second}
	if g := r.glyph(decor.Statistics{}); !slices.Contains(spinnerFrames, g) {
		t.Errorf("running glyph %q", g)
	}
	c := r.counts(decor.Statistics{})
	for _, want := range []string{"120 nodes", "14 requests", "2 retries", "1×429 (3.0s waited)"} {
		if !strings.Contains(c, want) {
			t.Errorf("running line %q lacks %q", c, want)
		}
	}
	for status, glyph := range map[string]string{mesh.StatusOK: "✓", mesh.StatusStale: "!", mesh.StatusFailed: "✗"} {
		r.done = &mesh.SourceReport{Name: "shop", Type: "rest", Status: status, Nodes: 120, Requests: 15, Throttled: 1, WaitMs: 3000, DurationMs: 2500, Error: "boom\nstack"}
		if g, c := r.glyph(decor.Statistics{}), r.counts(decor.Statistics{}); g != glyph || !strings.HasPrefix(c, status) ||
			!strings.Contains(c, "1 throttled (3.0s waited)") || !strings.Contains(c, "2.50s  error: boom") || strings.Contains(c, "stack") {
			t.Errorf("%s: %q %q", status, g, c)
		}
	}
}

func TestSchemaCommand(t *testing.T) {
	f, cfg := built(t)
	out := filepath.Join(f.dir, "out")
	before, _ := os.ReadFile(filepath.Join(out, "schema.json"))
	os.Remove(filepath.Join(out, "schema.json"))
	os.Remove(filepath.Join(out, "mesh.d.ts"))
	goFile := filepath.Join(f.dir, "content", "meshtypes", "mesh.go")
	// No SHOP_TOKEN: reading the output folder needs no secret.
	code, stdout, errs := runCLI([]string{"schema", "-config", cfg, "-go", goFile}, nil)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	if !strings.Contains(stdout, "2 types") || !strings.Contains(stdout, "mesh.go") {
		t.Errorf("stdout: %s", stdout)
	}
	after, err := os.ReadFile(filepath.Join(out, "schema.json"))
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("schema regenerated from graph.json differs from the build's: %v\n%s\n---\n%s", err, before, after)
	}
	if _, err := os.Stat(filepath.Join(out, "mesh.d.ts")); err != nil {
		t.Error(err)
	}
	src, err := os.ReadFile(goFile)
	if err != nil {
		t.Fatal(err)
	}
	file, err := parser.ParseFile(token.NewFileSet(), goFile, src, 0)
	if err != nil || file.Name.Name != "meshtypes" {
		t.Errorf("Go file: %v, package %v", err, file.Name)
	}
	if !strings.Contains(string(src), "type ProductFields struct") {
		t.Errorf("Go file lacks ProductFields")
	}

	// -json prints schema.json.
	code, stdout, _ = runCLI([]string{"schema", "-out", out, "-json"}, nil)
	if code != exitOK || stdout != string(before) {
		t.Errorf("-json: exit %d\n%s", code, stdout)
	}
	// Usage and missing builds.
	if code, _, _ := runCLI([]string{"schema", "-out", out, "-package", "x"}, nil); code != exitUsage {
		t.Errorf("-package without -go: exit %d", code)
	}
	if code, _, errs := runCLI([]string{"schema", "-out", filepath.Join(f.dir, "nothing")}, nil); code != exitFailed || !strings.Contains(errs, "run contentmesh build first") {
		t.Errorf("no build: exit %d %s", code, errs)
	}
	if code, _, errs := runCLI([]string{"schema", "-out", out, "-go", filepath.Join(f.dir, "x.go"), "-package", "not-a-name"}, nil); code != exitUsage || !strings.Contains(errs, "not a Go package name") {
		t.Errorf("bad package: exit %d %s", code, errs)
	}
}

func TestQuery(t *testing.T) {
	f, cfg := built(t)
	out := filepath.Join(f.dir, "out")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"handles", []string{"-out", out, `nodes.#(type=="Product")#.fields.handle`}, exitOK, `["mug","cup"]` + "\n"},
		{"flags after the path", []string{`nodes.#(type=="Product")#.fields.handle`, "-out", out}, exitOK, `["mug","cup"]` + "\n"},
		{"from the config, without secrets", []string{"-config", cfg, `nodes.#(type=="Product")#.fields.title`}, exitOK, `["Mug","Cup"]` + "\n"},
		{"posts that link a product", []string{"-out", out, `nodes.#(fields.handle=="mug").backrefs.#(field=="productRefs")#.from`}, exitOK, `["blog/posts/hello"]` + "\n"},
		{"posts with product links", []string{"-out", out, `nodes.#(refs.#(field=="productRefs"))#.id`}, exitOK, `["blog/posts/hello"]` + "\n"},
		{"object, pretty", []string{"-out", out, "-pretty", `nodes.#(id=="shop/product/1").fields`}, exitOK, "{\n  \"handle\": \"mug\",\n  \"id\": \"1\",\n  \"title\": \"Mug\"\n}\n"},
		{"object, compact by default when piped", []string{"-out", out, `nodes.#(id=="shop/product/1").refs`}, exitOK, "[]\n"},
		{"raw string", []string{"-out", out, "-raw", `nodes.#(id=="shop/product/1").fields.title`}, exitOK, "Mug\n"},
		{"raw list", []string{"-out", out, "-raw", `nodes.#(type=="Product")#.fields.handle`}, exitOK, "mug\ncup\n"},
		{"raw object stays JSON", []string{"-out", out, "-raw", `nodes.#(id=="shop/product/1").fields`}, exitOK, `{"handle":"mug","id":"1","title":"Mug"}` + "\n"},
		{"count", []string{"-out", out, `nodes.#`}, exitOK, "3\n"},
		{"empty list exists", []string{"-out", out, `nodes.#(type=="Nope")#.id`}, exitOK, "[]\n"},
		{"no match", []string{"-out", out, `nodes.#(type=="Nope").id`}, exitFailed, ""},
		{"no path", []string{"-out", out}, exitUsage, ""},
		{"two paths", []string{"-out", out, "a", "b"}, exitUsage, ""},
		{"pretty and compact", []string{"-out", out, "-pretty", "-compact", "version"}, exitUsage, ""},
		{"no build", []string{"-out", filepath.Join(f.dir, "nothing"), "version"}, exitFailed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, errs := runCLI(append([]string{"query"}, tt.args...), nil)
			if code != tt.code || stdout != tt.want {
				t.Errorf("exit %d, stdout %q (stderr %q); want %d, %q", code, stdout, errs, tt.code, tt.want)
			}
		})
	}
	// A terminal gets indented JSON.
	var stdout, stderr bytes.Buffer
	c := &cli{stdout: &stdout, stderr: &stderr, lookup: func(string) (string, bool) { return "", false },
		isTerminal: func(w io.Writer) bool { return w == &stdout }}
	if code := c.run(context.Background(), []string{"query", "-out", out, `nodes.#(type=="Product")#.fields.handle`}); code != exitOK || stdout.String() != "[\n  \"mug\",\n  \"cup\"\n]\n" {
		t.Errorf("terminal: exit %d %q %s", code, stdout.String(), stderr.String())
	}
}

func TestQueryDefaultOutFolder(t *testing.T) {
	f, _ := built(t)
	// Without -config and without mesh.yaml in the working folder, query reads ./.mesh.
	wd, _ := os.Getwd()
	dir := t.TempDir()
	os.Rename(filepath.Join(f.dir, "out"), filepath.Join(dir, ".mesh"))
	t.Chdir(dir)
	code, stdout, errs := runCLI([]string{"query", "nodes.#"}, nil)
	if code != exitOK || stdout != "3\n" {
		t.Errorf("exit %d %q %s (from %s)", code, stdout, errs, wd)
	}
	// An explicit -config that is missing is an error.
	if code, _, errs := runCLI([]string{"query", "-config", "missing.yaml", "nodes.#"}, nil); code != exitUsage || !strings.Contains(errs, "missing.yaml") {
		t.Errorf("missing config: exit %d %s", code, errs)
	}
}

func TestDiff(t *testing.T) {
	f, cfg := built(t)
	code, stdout, errs := runCLI([]string{"diff", "-config", cfg}, nil)
	if code != exitOK {
		t.Fatalf("exit %d %s", code, errs)
	}
	for _, want := range []string{"last build: 3 added, 0 updated, 0 deleted", "+ Post     blog/posts/hello  \"Hello\"", "+ Product  shop/product/1    \"Mug\""} {
		if !strings.Contains(stdout, want) {
			t.Errorf("diff lacks %q:\n%s", want, stdout)
		}
	}
	// Change a product, drop the post.
	f.serve(`{"data":[{"id":"1","handle":"mug","title":"Big Mug"},{"id":"2","handle":"cup","title":"Cup"}]}`)
	os.Remove(filepath.Join(f.dir, "content", "posts", "hello.md"))
	if code, out, errs := runCLI([]string{"build", "-config", cfg, "-quiet"}, goodEnv); code != exitOK {
		t.Fatalf("rebuild: %d %s %s", code, out, errs)
	}
	code, stdout, _ = runCLI([]string{"diff", "-config", cfg}, nil)
	want := "last build: 0 added, 1 updated, 1 deleted\n~ Product  shop/product/1  \"Big Mug\"\n- blog/posts/hello\n"
	if code != exitOK || stdout != want {
		t.Errorf("diff:\n%s\nwant:\n%s", stdout, want)
	}
	code, stdout, _ = runCLI([]string{"diff", "-config", cfg, "-json"}, nil)
	var got map[string][]changedNode
	if err := json.Unmarshal([]byte(stdout), &got); code != exitOK || err != nil {
		t.Fatalf("-json: %d %v\n%s", code, err, stdout)
	}
	if len(got["added"]) != 0 || len(got["updated"]) != 1 || got["updated"][0] != (changedNode{"shop/product/1", "Product", "Big Mug"}) ||
		len(got["deleted"]) != 1 || got["deleted"][0].ID != "blog/posts/hello" {
		t.Errorf("-json: %+v", got)
	}
	if code, _, errs := runCLI([]string{"diff", "-out", filepath.Join(f.dir, "nothing")}, nil); code != exitFailed || !strings.Contains(errs, "run contentmesh build first") {
		t.Errorf("no build: exit %d %s", code, errs)
	}
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	code, stdout, errs := runCLI([]string{"demo", "-dir", dir}, nil)
	if code != exitOK || !strings.Contains(stdout, "built 17 nodes") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, errs)
	}
	// The demo's output folder is one the other commands read.
	code, stdout, _ = runCLI([]string{"query", "-out", filepath.Join(dir, ".mesh"), "-raw", `nodes.#(fields.handle=="hand-grinder").backrefs.#.from`}, nil)
	if code != exitOK || stdout != "blog/posts/grind-size\nblog/posts/summer-cold-brew\n" {
		t.Errorf("query over the demo: %d %q", code, stdout)
	}
	if code, _, _ := runCLI([]string{"demo", "extra"}, nil); code != exitUsage {
		t.Errorf("demo extra: %d", code)
	}
}

func TestHelpFlags(t *testing.T) {
	for _, cmd := range []string{"build", "validate", "schema", "query", "diff", "demo"} {
		code, stdout, errs := runCLI([]string{cmd, "-h"}, nil)
		if code != exitOK || stdout != "" || !strings.Contains(errs, "-") {
			t.Errorf("%s -h: exit %d, stdout %q, stderr %q", cmd, code, stdout, errs)
		}
	}
	if code, _, errs := runCLI([]string{"query", "-h"}, nil); code != exitOK || !strings.Contains(errs, `nodes.#(type=="Product")#.fields.handle`) {
		t.Errorf("query -h: exit %d\n%s", code, errs)
	}
}

func TestDecodeGraph(t *testing.T) {
	tests := []struct{ name, in, err string }{
		{"ok", `{"version":1,"nodes":[{"id":"a/b/c","type":"T","fields":{"x":1},"refs":[],"backrefs":[],"digest":""}]}`, ""},
		{"empty", `{"version":1,"nodes":[]}`, ""},
		{"unknown keys skipped", `{"extra":{"a":[1]},"version":1,"nodes":[]}`, ""},
		{"version", `{"version":2,"nodes":[]}`, "graph version 2"},
		{"no nodes", `{"version":1}`, "no nodes list"},
		{"not an object", `[]`, "want"},
		{"node without id", `{"version":1,"nodes":[{"type":"T"}]}`, "no id or type"},
		{"fields not an object", `{"version":1,"nodes":[{"id":"a","type":"T","fields":[1]}]}`, "not an object"},
		{"truncated", `{"version":1,"nodes":[{"id":"a","type":"T"}`, "EOF"},
		{"bad time", `{"version":1,"nodes":[{"id":"a","type":"T","updatedAt":"yesterday"}]}`, "nodes[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := decodeGraph(strings.NewReader(tt.in))
			if tt.err == "" {
				if err != nil || g == nil {
					t.Errorf("err %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("err %v, want %q", err, tt.err)
			}
		})
	}
}

func FuzzDecodeGraph(f *testing.F) {
	f.Add([]byte(`{"version":1,"nodes":[{"id":"a/b/c","type":"T","fields":{"x":{"$ref":"a/b/d"}},"refs":[{"field":"x","to":"a/b/d"}],"backrefs":[],"digest":""},{"id":"a/b/d","type":"U","fields":{}}]}`))
	f.Add([]byte(`{"version":1,"nodes":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := decodeGraph(bytes.NewReader(data))
		if err != nil {
			return
		}
		// What decodes can be inferred, written and read back.
		s := schema.Infer(g)
		s.TypeScript()
		var buf bytes.Buffer
		if err := g.WriteGraphJSON(&buf); err != nil {
			t.Fatal(err)
		}
		if _, err := decodeGraph(&buf); err != nil {
			t.Fatalf("re-read: %v\n%s", err, buf.Bytes())
		}
	})
}
