// Command buildscript is a build script in Go: it builds the content graph from a mesh.yaml (the
// file the contentmesh CLI reads: sources, link rules, cache), then writes one Markdown page per Post
// with the Products it mentions and its author User, for any static site generator to render.
//
//	go run ./examples/buildscript -config mesh.yaml -pages content/posts
//
// It is the CLI's build with a last step of your own: the graph is in memory (b.Graph), so the
// script follows references with Graph.Refs and never parses JSON files. Copy it and change
// writePage. (It reads mesh.yaml with this module's internal/config package, which a program in
// another module cannot import: there, make the sources in Go with each adapter's Config and New,
// as examples/hugo-site does.) A mesh.yaml for it needs a source of Post nodes with an author $ref to a User, and a
// link rule from posts to products, for example:
//
//	out: .mesh
//	cache: .mesh-cache
//	sources:
//	  - {name: blog, type: files, dir: content-src}
//	  - {name: shop, type: rest, url: "https://shop.example/api/products", items: items, id: id, nodeType: Product, next: next}
//	  - {name: people, type: rest, url: "https://people.example/api/people", items: "@this", id: id, nodeType: User, next: link}
//	links:
//	  - {from: Post.productHandles, to: Product.handle, as: products}
//
// The pages folder is generated: it is replaced whole on every run (a page whose post is gone
// disappears), atomically, and a failed build leaves the previous pages as they were. File names
// come from the post's slug or title, reduced to lower-case letters, digits and "-": content never
// names a path. Pages are written through an os.Root opened on a new folder, so even a bug in that
// reduction could not write outside it.
//
// Exit codes: 0 built, 1 the build failed, 2 bad usage or config.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/contentmesh/contentmesh/internal/config"
	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	fs := flag.NewFlagSet("buildscript", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "mesh.yaml", "the contentmesh config")
	pages := fs.String("pages", filepath.FromSlash("content/posts"), "the folder of generated post pages (replaced whole)")
	full := fs.Bool("full", false, "ignore stored cursors and fetch everything")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	m, err := open(*cfgPath, *full, lookup)
	if err != nil {
		fmt.Fprintf(stderr, "buildscript: %v\n", err)
		return 2
	}
	b, err := m.Build(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "buildscript: build failed: %v\n", err)
		return 1
	}
	n, err := WritePages(b.Graph, *pages)
	if err != nil {
		fmt.Fprintf(stderr, "buildscript: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "built %d nodes (%d added, %d updated, %d deleted); wrote %d post pages into %s\n",
		b.Graph.Len(), len(b.Changes.Added), len(b.Changes.Updated), len(b.Changes.Deleted), n, *pages)
	return 0
}

// open reads the config and makes the mesh the way the CLI does: every source from the registry,
// the snapshot store and output folder from the config (relative to the config file).
func open(path string, full bool, lookup func(string) (string, bool)) (*mesh.Mesh, error) {
	f, err := config.Load(path, lookup)
	if err != nil {
		return nil, err
	}
	resolve := func(p, def string) string {
		if p == "" {
			p = def
		}
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(f.Dir, p)
	}
	store, err := mesh.NewDirStore(resolve(f.Cache, ".mesh-cache"))
	if err != nil {
		return nil, err
	}
	m, err := mesh.New(mesh.Options{
		Store:       store,
		Out:         resolve(f.Out, ".mesh"),
		Concurrency: f.Concurrency,
		OnError:     mesh.OnError(f.OnError),
		Strict:      f.Strict,
		Full:        full,
		Links:       f.Links,
	})
	if err != nil {
		return nil, err
	}
	env := sources.Env{File: path, Dir: f.Dir}
	for _, s := range f.Sources {
		src, err := sources.Open(env, s)
		if err != nil {
			return nil, err
		}
		if err := m.Add(s.Name, src); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// WritePages writes one Markdown page per Post of g into dir, replacing the folder whole. It
// returns the number of pages.
func WritePages(g *mesh.Graph, dir string) (int, error) {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return 0, err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp) // after a successful swap there is nothing left here
	if err := os.Chmod(tmp, 0o755); err != nil {
		return 0, err
	}
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return 0, err
	}
	defer root.Close()

	used := map[string]bool{}
	n := 0
	for post := range g.ByType("Post") {
		name := uniqueName(pageName(post), post.ID, used)
		var buf bytes.Buffer
		if err := writePage(&buf, g, post); err != nil {
			return 0, fmt.Errorf("page for %s: %w", post.ID, err)
		}
		if err := writeFile(root, name, buf.Bytes()); err != nil {
			return 0, fmt.Errorf("page for %s: %w", post.ID, err)
		}
		n++
	}
	if err := syncDir(tmp); err != nil {
		return 0, err
	}
	return n, swapDir(tmp, dir)
}

func writeFile(root *os.Root, name string, data []byte) error {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// frontMatter is the page's YAML front matter. Marshalled, never formatted by hand: a title with a
// newline or "---" in it stays a string.
type frontMatter struct {
	Title    string    `yaml:"title"`
	Date     string    `yaml:"date,omitempty"`
	Author   string    `yaml:"author,omitempty"`
	Products []product `yaml:"products,omitempty"`
	MeshID   string    `yaml:"meshId"`
}

type product struct {
	Title    string `yaml:"title"`
	Handle   string `yaml:"handle,omitempty"`
	Price    string `yaml:"price,omitempty"`
	Currency string `yaml:"currency,omitempty"`
	MeshID   string `yaml:"meshId"`
}

// writePage renders one post: front matter, the post's Markdown, its products and its author.
func writePage(w io.Writer, g *mesh.Graph, post *mesh.Node) error {
	fm := frontMatter{Title: text(post, "title", post.NativeID), Date: post.Get("date").String(), MeshID: post.ID}
	if fm.Date == "" && !post.UpdatedAt.IsZero() {
		fm.Date = post.UpdatedAt.UTC().Format(time.RFC3339)
	}
	for a := range g.Refs(post, "author") {
		fm.Author = text(a, "displayName", text(a, "username", a.NativeID))
		break
	}
	for p := range g.Refs(post, "products") {
		fm.Products = append(fm.Products, product{
			Title: text(p, "title", p.NativeID), Handle: p.Get("handle").String(),
			Price: p.Get("price.amount").String(), Currency: p.Get("price.currencyCode").String(), MeshID: p.ID,
		})
	}
	head, err := yaml.Marshal(fm)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "---\n%s---\n\n", head)
	// The post's own Markdown, as its author wrote it (the files source keeps it as "body").
	if body := strings.TrimSpace(post.Get("body").String()); body != "" {
		fmt.Fprintf(w, "%s\n", body)
	}
	if len(fm.Products) > 0 {
		fmt.Fprintf(w, "\n## Products in this post\n\n")
		for _, p := range fm.Products {
			fmt.Fprintf(w, "- **%s**", markdownText(p.Title))
			if p.Price != "" {
				fmt.Fprintf(w, ": %s %s", markdownText(p.Price), markdownText(p.Currency))
			}
			fmt.Fprintln(w)
		}
	}
	if fm.Author != "" {
		fmt.Fprintf(w, "\n*Written by %s.*\n", markdownText(fm.Author))
	}
	return nil
}

// text is a string field of n, or def when it is missing or empty.
func text(n *mesh.Node, path, def string) string {
	if s := n.Get(path).String(); s != "" {
		return s
	}
	return def
}

// markdownText escapes text from another system for use inside Markdown: punctuation that Markdown
// or HTML would read is backslash-escaped and line breaks become spaces, so a product title cannot
// add a link, an image, raw HTML or a heading to the page.
func markdownText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f:
			// control characters are dropped
		case strings.ContainsRune("\\`*_{}[]()<>#+-.!|~&\"'", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// maxName is the longest file name made (without ".md").
const maxName = 80

// pageName makes a file name from the post's slug, else its title, else its native id: lower-case
// ASCII letters and digits, runs of anything else replaced by one "-", at most maxName characters.
func pageName(post *mesh.Node) string {
	for _, src := range []string{post.Get("slug").String(), post.Get("title").String(), post.NativeID} {
		if s := Slug(src); s != "" {
			return s
		}
	}
	return "post"
}

// Slug reduces s to a safe file or URL name: lower-case ASCII letters and digits joined by single
// "-", at most 80 characters, "" when nothing is left. "../../etc/passwd" gives "etc-passwd".
func Slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			if b.Len() >= maxName {
				break
			}
			continue
		}
		dash = true
	}
	out := b.String()
	if reservedName(out) {
		out += "-post"
	}
	return out
}

// reservedName reports the names Windows will not create: con, prn, aux, nul, com1-9, lpt1-9.
func reservedName(s string) bool {
	switch s {
	case "con", "prn", "aux", "nul":
		return true
	}
	return len(s) == 4 && (strings.HasPrefix(s, "com") || strings.HasPrefix(s, "lpt")) && s[3] >= '1' && s[3] <= '9'
}

// uniqueName adds ".md", and when two posts reduce to the same name, a short hash of the node id,
// so the names do not depend on which post came first beyond the first one (posts are in id order).
func uniqueName(base, id string, used map[string]bool) string {
	name := base + ".md"
	if used[name] {
		sum := sha256.Sum256([]byte(id))
		name = base + "-" + hex.EncodeToString(sum[:4]) + ".md"
	}
	used[name] = true
	return name
}

// swapDir replaces dst with src: dst is renamed aside, src renamed into place, the old one removed.
func swapDir(src, dst string) error {
	var aside string
	if _, err := os.Lstat(dst); err == nil {
		var rnd [6]byte
		rand.Read(rnd[:])
		aside = filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".old-"+hex.EncodeToString(rnd[:]))
		if err := os.Rename(dst, aside); err != nil {
			return err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		if aside != "" {
			os.Rename(aside, dst)
		}
		return err
	}
	syncDir(filepath.Dir(dst))
	if aside != "" {
		return os.RemoveAll(aside)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
