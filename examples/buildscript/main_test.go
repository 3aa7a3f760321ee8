package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/yuin/goldmark"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"go.uber.org/goleak"
	"go.yaml.in/yaml/v3"
)

// fixtures are the shop API (pages of 2 with a "next" URL in the body) and the people API (pages
// of 2 with a Link header), serving testdata/*.json. fail makes the shop answer 500.
type fixtures struct {
	shop, people *httptest.Server
	fail         atomic.Bool
}

func newFixtures(t *testing.T) *fixtures {
	t.Helper()
	f := &fixtures{}
	products := readItems(t, "testdata/products.json")
	people := readItems(t, "testdata/people.json")
	f.shop = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.fail.Load() {
			http.Error(w, `{"message":"shop is down"}`, http.StatusInternalServerError)
			return
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(page, 1)
		lo, hi := min((page-1)*2, len(products)), min(page*2, len(products))
		next := "null"
		if hi < len(products) {
			next = fmt.Sprintf(`"%s/products?page=%d"`, "http://"+r.Host, page+1)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"items":[%s],"next":%s}`, bytes.Join(products[lo:hi], []byte(",")), next)
	}))
	f.people = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		after, _ := strconv.Atoi(r.URL.Query().Get("after"))
		hi := min(after+2, len(people))
		if hi < len(people) {
			w.Header().Set("Link", fmt.Sprintf(`</people?after=%d>; rel="next"`, hi))
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "[%s]", bytes.Join(people[min(after, len(people)):hi], []byte(",")))
	}))
	return f
}

func (f *fixtures) Close() { f.shop.Close(); f.people.Close() }

func readItems(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		t.Fatal(err)
	}
	out := make([][]byte, len(items))
	for i, it := range items {
		out[i] = it
	}
	return out
}

// config writes a mesh.yaml for the fixtures and a copy of the posts into dir.
func (f *fixtures) config(t *testing.T, dir string) string {
	t.Helper()
	if err := os.CopyFS(filepath.Join(dir, "content-src"), os.DirFS("testdata/content")); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`out: .mesh
cache: .mesh-cache
sources:
  - {name: blog, type: files, dir: content-src}
  - {name: shop, type: rest, url: "%s/products", items: items, id: id, nodeType: Product, next: next, retries: 0}
  - {name: people, type: rest, url: "%s/people", items: "@this", id: id, nodeType: User, next: link}
links:
  - {from: Post.productHandles, to: Product.handle, as: products}
`, f.shop.URL, f.people.URL)
	path := filepath.Join(dir, "mesh.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type page struct {
	front frontMatter
	body  string
}

func readPages(t *testing.T, dir string) map[string]page {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]page{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		rest, ok := bytes.CutPrefix(data, []byte("---\n"))
		head, body, ok2 := bytes.Cut(rest, []byte("\n---\n"))
		if !ok || !ok2 {
			t.Fatalf("%s: no front matter:\n%s", e.Name(), data)
		}
		var p page
		if err := yaml.Unmarshal(head, &p.front); err != nil {
			t.Fatalf("%s: front matter: %v\n%s", e.Name(), err, head)
		}
		p.body = string(body)
		out[e.Name()] = p
	}
	return out
}

func TestBuildScript(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFixtures(t)
	defer f.Close()
	dir := t.TempDir()
	cfg := f.config(t, dir)
	pagesDir := filepath.Join(dir, "site", "content", "posts")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-config", cfg, "-pages", pagesDir}, &stdout, &stderr, nil); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "wrote 5 post pages") {
		t.Errorf("stdout: %s", stdout.String())
	}
	pages := readPages(t, pagesDir)
	var names []string
	for name := range pages {
		names = append(names, name)
		if !regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*\.md$`).MatchString(name) {
			t.Errorf("unsafe page name %q", name)
		}
	}
	slices.Sort(names)
	// blog/posts/traversal comes after blog/posts/traversal-again in id order, so it gets the hash.
	want := []string{"con-post.md", "etc-passwd-", "etc-passwd.md", "grind-size.md", "your-first-pour-over.md"}
	if len(names) != 5 || names[0] != want[0] || !strings.HasPrefix(names[1], want[1]) || names[2] != want[2] || names[3] != want[3] || names[4] != want[4] {
		t.Errorf("pages %v, want %v (the second etc-passwd with a hash)", names, want)
	}
	for _, p := range []string{filepath.Join(dir, "etc"), filepath.Join(dir, "site", "etc"), "/etc/passwd.md"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s exists: a slug escaped the pages folder", p)
		}
	}

	first := pages["your-first-pour-over.md"]
	if first.front.Title != "Your first pour-over" || first.front.Author != "Milo Steep" || first.front.MeshID != "blog/posts/first-pour-over" ||
		first.front.Date != "2026-03-01T00:00:00Z" {
		t.Errorf("first post front matter %+v", first.front)
	}
	var titles []string
	for _, p := range first.front.Products {
		titles = append(titles, p.Title+" "+p.Price+" "+p.Currency)
	}
	if want := []string{"Pour-over Kettle 59.00 EUR", "Paper Filters (100) 6.90 EUR", "Brew Scale 39.00 EUR"}; !slices.Equal(titles, want) {
		t.Errorf("products %v, want %v", titles, want)
	}
	for _, want := range []string{"Start with **fresh beans**", "- **Pour\\-over Kettle**: 59\\.00 EUR", "*Written by Milo Steep.*"} {
		if !strings.Contains(first.body, want) {
			t.Errorf("first post body lacks %q:\n%s", want, first.body)
		}
	}

	// The hostile post: its title survives as a string, its product's title cannot add markup.
	evil := pages["etc-passwd.md"]
	if evil.front.MeshID == "blog/posts/traversal" {
		// fine: the first in id order got the plain name
	} else if e2 := pages[names[1]]; e2.front.MeshID == "blog/posts/traversal" {
		evil = e2
	}
	if evil.front.Title != "Evil\n---\nlayout: pwned" || evil.front.MeshID != "blog/posts/traversal" {
		t.Errorf("hostile post front matter %+v", evil.front)
	}
	// Rendered as a site would (raw HTML allowed, the worst case), the title is text.
	var html bytes.Buffer
	md := goldmark.New(goldmark.WithRendererOptions(gmhtml.WithUnsafe()))
	if err := md.Convert([]byte(evil.body), &html); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<a ", "<img", "<h1"} {
		if strings.Contains(html.String(), bad) {
			t.Errorf("a product title added markup %q:\n%s", bad, html.String())
		}
	}
	if want := "Mug [click](javascript:alert(1)) &lt;img src=x onerror=alert(2)&gt; # Heading"; !strings.Contains(html.String(), want) {
		t.Errorf("hostile product title not shown as text %q:\n%s", want, html.String())
	}

	// Second run: a post removed upstream disappears from the pages.
	if err := os.Remove(filepath.Join(dir, "content-src", "posts", "con.md")); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"-config", cfg, "-pages", pagesDir}, &stdout, &stderr, nil); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "0 added, 0 updated, 1 deleted") {
		t.Errorf("second run: %s", stdout.String())
	}
	if _, ok := readPages(t, pagesDir)["con-post.md"]; ok {
		t.Error("the removed post's page is still there")
	}
	before := readPages(t, pagesDir)

	// A failing source fails the build and leaves the pages as they were.
	f.fail.Store(true)
	stderr.Reset()
	if code := run(context.Background(), []string{"-config", cfg, "-pages", pagesDir, "-full"}, &stdout, &stderr, nil); code != 1 {
		t.Fatalf("failing shop: exit %d, want 1: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "shop") || !strings.Contains(stderr.String(), "500") {
		t.Errorf("error does not name the source and status: %s", stderr.String())
	}
	if after := readPages(t, pagesDir); len(after) != len(before) {
		t.Errorf("pages changed after a failed build: %d -> %d", len(before), len(after))
	}
	entries, _ := os.ReadDir(filepath.Dir(pagesDir))
	if len(entries) != 1 {
		t.Errorf("leftovers beside the pages folder: %v", entries)
	}
}

func TestBadUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-config", filepath.Join(t.TempDir(), "missing.yaml")}, &stdout, &stderr, nil); code != 2 {
		t.Errorf("missing config: exit %d", code)
	}
	if code := run(context.Background(), []string{"-nope"}, &stdout, &stderr, nil); code != 2 {
		t.Errorf("unknown flag: exit %d", code)
	}
}

func TestSlug(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Your first pour-over", "your-first-pour-over"},
		{"../../etc/passwd", "etc-passwd"},
		{"..", ""},
		{"/", ""},
		{"C:\\Windows\\system32", "c-windows-system32"},
		{"Crème brûlée!", "cr-me-br-l-e"},
		{"CON", "con-post"},
		{"com1", "com1-post"},
		{"com10", "com10"},
		{"a\x00b", "a-b"},
		{strings.Repeat("ab-", 60), strings.TrimRight(strings.Repeat("ab-", 27), "-")},
	} {
		got := Slug(tc.in)
		if got != tc.want {
			t.Errorf("Slug(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if len(got) > maxName+5 {
			t.Errorf("Slug(%q) is %d long", tc.in, len(got))
		}
	}
}

func FuzzSlug(f *testing.F) {
	for _, s := range []string{"../../etc/passwd", "a/b", "CON", "Crème", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Slug(s)
		if got == "" {
			return
		}
		if !regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`).MatchString(got) || len(got) > maxName+5 || filepath.Base(got) != got {
			t.Errorf("Slug(%q) = %q", s, got)
		}
	})
}
