package main

import (
	"bytes"
	"context"
	"encoding/json"
	"go/build"
	"html"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/contentmesh/contentmesh/examples/quickstart/sample"
)

// minHugo is the oldest Hugo the site works with: content adapters came in 0.126, hugo.Data in 0.156.
var minHugo = [3]int{0, 156, 0}

// findHugo returns a Hugo binary: $HUGO, hugo on PATH, or the one go install put in GOPATH/bin.
// Without one the test is skipped, except under CI=true.
func findHugo(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("HUGO")
	if bin == "" {
		bin, _ = exec.LookPath("hugo")
	}
	if bin == "" {
		if p := filepath.Join(build.Default.GOPATH, "bin", "hugo"); fileExists(p) {
			bin = p
		}
	}
	if bin == "" {
		skipOrFail(t, "no hugo on PATH (scripts/ci/install-hugo.sh installs it)")
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", bin, err)
	}
	m := regexp.MustCompile(`v(\d+)\.(\d+)\.(\d+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("cannot read the version of %s: %s", bin, out)
	}
	var v [3]int
	for i := range v {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	if v[0] < minHugo[0] || (v[0] == minHugo[0] && v[1] < minHugo[1]) {
		skipOrFail(t, "hugo "+m[0]+" is too old for this site (content adapters and hugo.Data need 0.156 or later)")
	}
	return bin
}

func skipOrFail(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; CI=true needs it")
	}
	t.Skip(msg + "; set CI=true to make this a failure")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// slug is layouts/_partials/mesh/slug.html in Go.
func slug(s string) string {
	s = regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(s), "-")
	s = strings.Trim(s, "-")
	if len(s) > 80 {
		s = s[:80]
	}
	s = strings.TrimRight(s, "-")
	if s == "" {
		return "item"
	}
	return s
}

// copySite copies the Hugo project (not the Go files, not a local .mesh) into dir.
func copySite(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("hugo.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hugo.toml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"content", "layouts", "data"} {
		if err := os.CopyFS(filepath.Join(dir, sub), os.DirFS(sub)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHugoBuildsPagesFromTheGraph(t *testing.T) {
	hugo := findHugo(t)
	defer goleak.VerifyNone(t)
	tmp := t.TempDir()
	site := filepath.Join(tmp, "site")
	public := filepath.Join(tmp, "public")
	copySite(t, site)

	data, err := LoadSample(sample.FS)
	if err != nil {
		t.Fatal(err)
	}
	// A product whose handle tries to leave the section and whose title is markup.
	data.Products = append(data.Products, json.RawMessage(
		`{"id":"666","handle":"../../../Escape Me","title":"<script>alert(1)</script>Evil Kettle","price":{"amount":"1.00","currencyCode":"EUR"}}`))
	b, err := BuildSample(context.Background(), data, filepath.Join(site, ".mesh"))
	if err != nil {
		t.Fatal(err)
	}
	if !fileExists(filepath.Join(site, ".mesh", "report.html")) {
		t.Error("the output folder has no report.html")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, hugo, "--source", site, "--destination", public,
		"--cacheDir", filepath.Join(tmp, "cache"), "--noBuildLock", "--panicOnWarning", "--logLevel", "warn")
	cmd.Env = append(os.Environ(), "HUGO_ENVIRONMENT=production")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("hugo: %v\n%s", err, out.String())
	}

	read := func(rel string) string {
		t.Helper()
		page, err := os.ReadFile(filepath.Join(public, filepath.FromSlash(rel)))
		if err != nil {
			t.Errorf("page %s: %v", rel, err)
		}
		return string(page)
	}
	contains := func(rel, page string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(page, w) {
				t.Errorf("%s lacks %q", rel, w)
			}
		}
	}

	// One page per product, at a safe path, with its title (escaped) and price.
	products := 0
	list := read("products/index.html")
	for n := range b.Graph.ByType("Product") {
		products++
		title := html.EscapeString(n.Get("title").Str)
		rel := "products/" + slug(n.Get("handle").Str) + "/index.html"
		contains(rel, read(rel), "<h1>"+title+"</h1>", n.Get("price.amount").Str+" EUR", `data-mesh-id="`+n.ID+`"`)
		contains("products/index.html", list, ">"+title+"</a>")
	}
	if products != 11 {
		t.Errorf("%d products in the graph, want the sample's 10 and the hostile one", products)
	}
	contains("products/escape-me/index.html", read("products/escape-me/index.html"), "&lt;script&gt;alert(1)&lt;/script&gt;Evil Kettle")

	// Posts: content, author and products through the graph's references.
	contains("posts/first-pour-over/index.html", read("posts/first-pour-over/index.html"),
		"<h1>Your first pour-over</h1>", `by <span class="author">Milo Steep</span>`, "<strong>fresh beans</strong>",
		`<a href="/products/pour-over-kettle/">Pour-over Kettle</a>`, `<a href="/products/scale/">Brew Scale</a>`)
	// Backrefs: the posts that mention a product.
	grinder := read("products/hand-grinder/index.html")
	contains("products/hand-grinder/index.html", grinder, "Mentioned in", `<a href="/posts/grind-size/">`, `<a href="/posts/summer-cold-brew/">`)
	// The home page counts straight from the data.
	contains("index.html", read("index.html"), "11 products, 4 posts, 3 authors in the graph.")

	// Every page is inside public, no markup got through unescaped, and the pages are exactly the
	// products, the posts, their two lists and the home page.
	var pages []string
	filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".html" {
			return err
		}
		if src, _ := filepath.Rel(site, p); src == filepath.Join(".mesh", "report.html") || strings.HasPrefix(src, "layouts"+string(filepath.Separator)) {
			return nil // the site's own templates and the build's report
		}
		rel, _ := filepath.Rel(public, p)
		if strings.HasPrefix(rel, "..") {
			t.Errorf("page written outside public: %s", p)
		}
		data, _ := os.ReadFile(p)
		if bytes.Contains(data, []byte("<script>alert")) {
			t.Errorf("%s has the hostile title unescaped", rel)
		}
		pages = append(pages, filepath.ToSlash(rel))
		return nil
	})
	if want := products + b.Graph.CountByType()["Post"] + 3; len(pages) != want {
		t.Errorf("%d pages, want %d: %v", len(pages), want, pages)
	}
}
