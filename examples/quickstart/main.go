// Command quickstart is the contentmesh demo: it needs no account and no network. It starts two
// sample JSON APIs in-process on 127.0.0.1 (a shop with paginated products, a people directory paged
// through Link headers), reads bundled Markdown posts, and builds one graph from the three sources
// into ./.mesh: posts reference their author (a $ref in front matter) and the products they mention
// (a link rule on product handles), so every product and person also gets backrefs to the posts.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/files"
	"github.com/contentmesh/contentmesh/sources/rest"
)

//go:embed sample
var sample embed.FS

func main() {
	if err := run(context.Background(), os.Stdout, "."); err != nil {
		log.Fatal(err)
	}
}

// run builds the demo graph into dir/.mesh (snapshot in dir/.mesh-cache) and prints a summary.
func run(ctx context.Context, w io.Writer, dir string) error {
	start := time.Now()
	shop, stopShop, err := serve(shopAPI())
	if err != nil {
		return err
	}
	defer stopShop()
	people, stopPeople, err := serve(peopleAPI())
	if err != nil {
		return err
	}
	defer stopPeople()

	content, err := os.MkdirTemp("", "contentmesh-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(content)
	if err := os.CopyFS(content, mustSub(sample, "sample/content")); err != nil {
		return err
	}

	shopSrc, err := rest.New(rest.Config{
		URL: "http://" + shop + "/products?page=1", Items: "items", ID: "id",
		NodeType: "Product", Next: "next",
	})
	if err != nil {
		return err
	}
	peopleSrc, err := rest.New(rest.Config{
		URL: "http://" + people + "/people", Items: "@this", ID: "id",
		NodeType: "User", Next: "link",
	})
	if err != nil {
		return err
	}
	blogSrc, err := files.New(files.Config{Dir: content})
	if err != nil {
		return err
	}
	store, err := mesh.NewDirStore(filepath.Join(dir, ".mesh-cache"))
	if err != nil {
		return err
	}
	out := filepath.Join(dir, ".mesh")
	m, err := mesh.New(mesh.Options{
		Store: store,
		Out:   out,
		Links: []mesh.LinkRule{{From: "Post.productHandles", To: "Product.handle", As: "products"}},
	})
	if err != nil {
		return err
	}
	m.Add("shop", shopSrc)
	m.Add("people", peopleSrc)
	m.Add("blog", blogSrc)
	b, err := m.Build(ctx)
	if err != nil {
		return err
	}
	report(w, b, out, time.Since(start))
	return nil
}

func report(w io.Writer, b *mesh.Build, out string, took time.Duration) {
	g := b.Graph
	counts := g.CountByType()
	refs := 0
	for n := range g.Nodes() {
		refs += len(n.Refs)
	}
	fmt.Fprintf(w, "built %d nodes with %d references into %s in %s\n", g.Len(), refs, out, took.Round(time.Millisecond))
	for _, t := range g.Types() {
		fmt.Fprintf(w, "  %-8s %3d\n", t, counts[t])
	}
	for _, s := range b.Report.Sources {
		fmt.Fprintf(w, "  source %-6s %-5s %3d nodes in %d requests\n", s.Name, s.Type, s.Nodes, s.Requests)
	}
	fmt.Fprintf(w, "changes since the last run: %d added, %d updated, %d deleted\n",
		len(b.Changes.Added), len(b.Changes.Updated), len(b.Changes.Deleted))
	posts := slices.Collect(g.ByType("Post"))
	if len(posts) > 0 {
		p := posts[0]
		fmt.Fprintf(w, "\n%q\n", p.Get("title").Str)
		for a := range g.Refs(p, "author") {
			fmt.Fprintf(w, "  by %s\n", a.Get("displayName").Str)
		}
		for pr := range g.Refs(p, "products") {
			fmt.Fprintf(w, "  mentions %s (%s %s)\n", pr.Get("title").Str, pr.Get("price.amount").Str, pr.Get("price.currencyCode").Str)
		}
	}
	fmt.Fprintf(w, "\nnext: open %s/graph.json, or %s/types/Post.json\n", out, out)
}

// serve starts h on a loopback port; stop closes it and waits for its goroutine.
func serve(h http.Handler) (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(ln) })
	return ln.Addr().String(), func() { srv.Close(); wg.Wait() }, nil
}

func mustSub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return s
}

// shopAPI serves products 4 per page: {"items": [...], "next": "/products?page=2"}.
func shopAPI() http.Handler {
	products := mustRead("sample/api/products.json")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/products" {
			http.NotFound(w, r)
			return
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(page, 1)
		const per = 4
		lo, hi := min((page-1)*per, len(products)), min(page*per, len(products))
		next := ""
		if hi < len(products) {
			next = fmt.Sprintf(`"/products?page=%d"`, page+1)
		} else {
			next = "null"
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"items":[%s],"next":%s}`, join(products[lo:hi]), next)
	})
}

// peopleAPI serves people 2 per page with a Link rel="next" header.
func peopleAPI() http.Handler {
	people := mustRead("sample/api/people.json")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/people" {
			http.NotFound(w, r)
			return
		}
		after, _ := strconv.Atoi(r.URL.Query().Get("after"))
		const per = 2
		hi := min(after+per, len(people))
		if hi < len(people) {
			w.Header().Set("Link", fmt.Sprintf(`</people?after=%d>; rel="next"`, hi))
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "[%s]", join(people[min(after, len(people)):hi]))
	})
}

// mustRead returns the items of a bundled JSON array, each as raw JSON.
func mustRead(name string) [][]byte {
	data, err := sample.ReadFile(name)
	if err != nil {
		panic(err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		panic(err)
	}
	out := make([][]byte, len(items))
	for i, it := range items {
		out[i] = it
	}
	return out
}

func join(items [][]byte) string {
	var b []byte
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
	}
	return string(b)
}
