package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fixture is a small JSON API plus a folder of Markdown, and a config joining them.
type fixture struct {
	dir      string
	api      *httptest.Server
	requests atomic.Int64
	fail     atomic.Bool
	body     atomic.Pointer[string] // the products the API serves; nil: mug and cup
}

const productsBody = `{"data":[{"id":"1","handle":"mug","title":"Mug"},{"id":"2","handle":"cup","title":"Cup"}]}`

// serve sets what the products API answers.
func (f *fixture) serve(body string) { f.body.Store(&body) }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir()}
	f.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		if r.Header.Get("Authorization") != "Bearer s3cret-token" {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"message":"bad token"}`)
			return
		}
		if f.fail.Load() {
			w.WriteHeader(503)
			fmt.Fprint(w, `{"message":"down for maintenance"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		body := productsBody
		if p := f.body.Load(); p != nil {
			body = *p
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(f.api.Close)
	os.MkdirAll(filepath.Join(f.dir, "content", "posts"), 0o755)
	os.WriteFile(filepath.Join(f.dir, "content", "posts", "hello.md"), []byte("---\ntitle: Hello\nproducts: [mug]\n---\nHi *there*.\n"), 0o644)
	f.writeConfig(t, "")
	return f
}

func (f *fixture) writeConfig(t *testing.T, extra string) string {
	t.Helper()
	cfg := fmt.Sprintf(`out: out
cache: cache
sources:
  - name: shop
    type: rest
    url: %s/products
    items: data
    id: id
    nodeType: Product
    headers:
      Authorization: "Bearer ${SHOP_TOKEN}"
    retries: 1
    retryWaitMin: 1ms
    retryWaitMax: 2ms
  - name: blog
    type: files
    dir: content
links:
  - {from: Post.products, to: Product.handle, as: productRefs}
%s`, f.api.URL, extra)
	p := filepath.Join(f.dir, "mesh.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCLI(args []string, env map[string]string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return code, out.String(), errb.String()
}

var goodEnv = map[string]string{"SHOP_TOKEN": "s3cret-token"}

func TestBuild(t *testing.T) {
	f := newFixture(t)
	cfg := filepath.Join(f.dir, "mesh.yaml")
	code, out, errs := runCLI([]string{"build", "-config", cfg}, goodEnv)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"shop", "rest", "2 nodes", "blog", "built 3 nodes", "3 added"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	// Relative paths resolve against the config's folder.
	graph, err := os.ReadFile(filepath.Join(f.dir, "out", "graph.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Nodes []struct {
			ID     string          `json:"id"`
			Fields json.RawMessage `json:"fields"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(graph, &g); err != nil || len(g.Nodes) != 3 {
		t.Fatalf("graph.json: %v %d", err, len(g.Nodes))
	}
	if !strings.Contains(string(graph), `"productRefs":[{"$ref":"shop/product/1"}]`) {
		t.Errorf("link rule not applied:\n%s", graph)
	}
	if page, err := os.ReadFile(filepath.Join(f.dir, "out", "report.html")); err != nil || !strings.Contains(string(page), "shop") {
		t.Errorf("report.html missing or without the sources: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "cache", "manifest.json")); err != nil {
		t.Errorf("no snapshot: %v", err)
	}
	if strings.Contains(string(graph)+out+errs, "s3cret-token") {
		t.Errorf("the token leaked into outputs")
	}
	// Unchanged rebuild.
	code, out, _ = runCLI([]string{"build", "-config", cfg}, goodEnv)
	if code != exitOK || !strings.Contains(out, "0 added, 0 updated, 0 deleted") {
		t.Errorf("rebuild: exit %d\n%s", code, out)
	}
	// -out overrides the config.
	other := filepath.Join(t.TempDir(), "elsewhere")
	if code, _, errs := runCLI([]string{"build", "-config", cfg, "-out", other, "-quiet"}, goodEnv); code != exitOK {
		t.Fatalf("exit %d %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(other, "types", "Product.json")); err != nil {
		t.Errorf("-out ignored: %v", err)
	}
}

func TestBuildFailureKeepsOutputs(t *testing.T) {
	f := newFixture(t)
	cfg := filepath.Join(f.dir, "mesh.yaml")
	if code, out, errs := runCLI([]string{"build", "-config", cfg}, goodEnv); code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	before, _ := os.ReadFile(filepath.Join(f.dir, "out", "graph.json"))
	f.fail.Store(true)
	code, out, errs := runCLI([]string{"build", "-config", cfg}, goodEnv)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d", code, exitFailed)
	}
	if !strings.Contains(errs, `source "shop"`) || !strings.Contains(errs, "503") || !strings.Contains(errs, "down for maintenance") {
		t.Errorf("error should name the source, the status and the provider's message:\n%s", errs)
	}
	if !strings.Contains(out, "failed") {
		t.Errorf("summary should mark the source failed:\n%s", out)
	}
	after, _ := os.ReadFile(filepath.Join(f.dir, "out", "graph.json"))
	if !bytes.Equal(before, after) {
		t.Errorf("a failed build changed graph.json")
	}
	// onError: stale keeps the last snapshot and succeeds.
	f.writeConfig(t, "onError: stale\n")
	code, out, _ = runCLI([]string{"build", "-config", cfg}, goodEnv)
	if code != exitOK || !strings.Contains(out, "stale") {
		t.Errorf("stale: exit %d\n%s", code, out)
	}
}

func TestBuildBadCredentials(t *testing.T) {
	f := newFixture(t)
	code, _, errs := runCLI([]string{"build", "-config", filepath.Join(f.dir, "mesh.yaml")}, map[string]string{"SHOP_TOKEN": "wrong-token"})
	if code != exitFailed || !strings.Contains(errs, "401") || !strings.Contains(errs, "credentials") {
		t.Errorf("exit %d\n%s", code, errs)
	}
	if strings.Contains(errs, "wrong-token") {
		t.Errorf("the token leaked into the error")
	}
}

func TestConfigErrorsSendNoRequest(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, extra string
		env         map[string]string
		want        string
	}{
		{"unset variable", "", map[string]string{}, "environment variable SHOP_TOKEN is not set"},
		{"unknown top key", "outt: x\n", goodEnv, `unknown key "outt"`},
		{"bad link", "  - {from: Post, to: Product.handle, as: x}\n", goodEnv, "links[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.writeConfig(t, tt.extra)
			if tt.name == "bad link" {
				data, _ := os.ReadFile(cfg)
				os.WriteFile(cfg, data, 0o644)
			}
			before := f.requests.Load()
			code, _, errs := runCLI([]string{"build", "-config", cfg}, tt.env)
			if code != exitUsage || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr %q, want %q", code, errs, tt.want)
			}
			if f.requests.Load() != before {
				t.Errorf("a request was sent before the config error was reported")
			}
		})
	}
	// An unknown adapter key is reported with its line.
	cfg := filepath.Join(f.dir, "mesh.yaml")
	os.WriteFile(cfg, []byte("sources:\n  - name: blog\n    type: files\n    dir: content\n    includ: ['*.md']\n"), 0o644)
	code, _, errs := runCLI([]string{"validate", "-config", cfg}, nil)
	if code != exitUsage || !strings.Contains(errs, "mesh.yaml:5: unknown key \"includ\" (did you mean \"include\"?)") {
		t.Errorf("exit %d: %s", code, errs)
	}
	os.WriteFile(cfg, []byte("sources:\n  - name: x\n    type: nosuch\n"), 0o644)
	code, _, errs = runCLI([]string{"validate", "-config", cfg}, nil)
	if code != exitUsage || !strings.Contains(errs, `unknown type "nosuch"`) || !strings.Contains(errs, "known: ") ||
		!strings.Contains(errs, "files") || !strings.Contains(errs, "rest") {
		t.Errorf("exit %d: %s", code, errs)
	}
}

func TestValidateAndUsage(t *testing.T) {
	f := newFixture(t)
	code, out, _ := runCLI([]string{"validate", "-config", filepath.Join(f.dir, "mesh.yaml")}, goodEnv)
	if code != exitOK || !strings.Contains(out, "ok, 2 sources, 1 link rules") {
		t.Errorf("validate: %d %s", code, out)
	}
	if code, _, _ := runCLI(nil, nil); code != exitUsage {
		t.Errorf("no args: %d", code)
	}
	if code, _, errs := runCLI([]string{"frobnicate"}, nil); code != exitUsage || !strings.Contains(errs, "unknown command") {
		t.Errorf("unknown command: %d %s", code, errs)
	}
	if code, _, _ := runCLI([]string{"build", "-nope"}, nil); code != exitUsage {
		t.Errorf("bad flag: %d", code)
	}
	if code, _, errs := runCLI([]string{"build", "-config", filepath.Join(f.dir, "missing.yaml")}, nil); code != exitUsage || !strings.Contains(errs, "missing.yaml") {
		t.Errorf("missing config: %d %s", code, errs)
	}
}

// TestBuildGraphOnDisk: `graph: disk` gives the same output folder as a graph in memory (but for
// the report's timings), leaves no scratch database behind in graphDir, and bad values are config
// errors with their line.
func TestBuildGraphOnDisk(t *testing.T) {
	f := newFixture(t)
	var folders []map[string]string
	for _, mode := range []string{"memory", "disk"} {
		cfg := f.writeConfig(t, "graph: "+mode+"\ngraphDir: scratch\n")
		// Each mode builds twice from its own cache: a first build, then one change.
		os.RemoveAll(filepath.Join(f.dir, "cache"))
		f.serve(productsBody)
		if code, out, errs := runCLI([]string{"build", "-config", cfg}, goodEnv); code != exitOK {
			t.Fatalf("%s: exit %d\n%s\n%s", mode, code, out, errs)
		}
		f.serve(`{"data":[{"id":"1","handle":"mug","title":"Big mug"},{"id":"3","handle":"jug","title":"Jug"}]}`)
		if code, out, errs := runCLI([]string{"build", "-config", cfg}, goodEnv); code != exitOK || !strings.Contains(out, "1 added, 1 updated, 1 deleted") {
			t.Fatalf("%s: exit %d\n%s\n%s", mode, code, out, errs)
		}
		files := map[string]string{}
		filepath.WalkDir(filepath.Join(f.dir, "out"), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), "report.") {
				return err
			}
			data, err := os.ReadFile(p)
			files[d.Name()] = string(data)
			return err
		})
		folders = append(folders, files)
		if left, _ := os.ReadDir(filepath.Join(f.dir, "scratch")); len(left) != 0 {
			t.Errorf("%s: scratch left behind: %v", mode, left)
		}
	}
	if len(folders[0]) < 6 {
		t.Fatalf("outputs: %v", slices.Collect(maps.Keys(folders[0])))
	}
	for name, want := range folders[0] {
		if folders[1][name] != want {
			t.Errorf("%s differs between memory and disk:\n%s\n%s", name, want, folders[1][name])
		}
	}
	cfg := f.writeConfig(t, "graph: ram\n")
	if code, _, errs := runCLI([]string{"validate", "-config", cfg}, goodEnv); code != exitUsage || !strings.Contains(errs, `mesh.yaml:20: graph "ram"`) {
		t.Errorf("bad graph mode: exit %d %s", code, errs)
	}
}
