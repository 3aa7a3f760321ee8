// Package demo is the contentmesh demo, run by `contentmesh demo` and `go run ./examples/quickstart`:
// it needs no account and no network. It starts two sample JSON APIs in-process on 127.0.0.1 (a shop
// with paginated products, a people directory paged through Link headers), reads the bundled Markdown
// posts, and builds one graph from the three sources into <dir>/.mesh: posts reference their author
// (a $ref in front matter) and the products they mention (a link rule on product handles), so every
// product and person also gets backrefs to the posts. The output folder has schema.json and
// mesh.d.ts too.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/contentmesh/contentmesh/examples/quickstart/sample"
	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/schema"
	"github.com/contentmesh/contentmesh/sources/files"
	"github.com/contentmesh/contentmesh/sources/rest"
)

// Run builds the demo graph into dir/.mesh (snapshot in dir/.mesh-cache) and prints a summary to w.
// Running it again is an incremental build: nothing changed.
func Run(ctx context.Context, w io.Writer, dir string) error {
	start := time.Now()
	products, err := readItems("api/products.json")
	if err != nil {
		return err
	}
	persons, err := readItems("api/people.json")
	if err != nil {
		return err
	}
	shop, stopShop, err := serve(shopAPI(products))
	if err != nil {
		return err
	}
	defer stopShop()
	people, stopPeople, err := serve(peopleAPI(persons))
	if err != nil {
		return err
	}
	defer stopPeople()

	content, err := os.MkdirTemp("", "contentmesh-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(content)
	posts, err := fs.Sub(sample.FS, "content")
	if err != nil {
		return err
	}
	if err := os.CopyFS(content, posts); err != nil {
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
	prev, err := schema.ReadFile(filepath.Join(out, schema.FileName))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	m, err := mesh.New(mesh.Options{
		Store:  store,
		Out:    out,
		Links:  []mesh.LinkRule{{From: "Post.productHandles", To: "Product.handle", As: "products"}},
		Extras: schema.Outputs(prev),
	})
	if err != nil {
		return err
	}
	for _, s := range []struct {
		name string
		src  mesh.Source
	}{{"shop", shopSrc}, {"people", peopleSrc}, {"blog", blogSrc}} {
		if err := m.Add(s.name, s.src); err != nil {
			return err
		}
	}
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
	fmt.Fprintf(w, "\nnext: open %s/graph.json, %s/types/Post.json or %s/mesh.d.ts\n", out, out, out)
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

// shopAPI serves products 4 per page: {"items": [...], "next": "/products?page=2"}.
func shopAPI(products [][]byte) http.Handler {
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
func peopleAPI(people [][]byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/people" {
			http.NotFound(w, r)
			return
		}
		after, _ := strconv.Atoi(r.URL.Query().Get("after"))
		after = min(max(after, 0), len(people))
		const per = 2
		hi := min(after+per, len(people))
		if hi < len(people) {
			w.Header().Set("Link", fmt.Sprintf(`</people?after=%d>; rel="next"`, hi))
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "[%s]", join(people[after:hi]))
	})
}

// readItems returns the items of a bundled JSON array, each as raw JSON.
func readItems(name string) ([][]byte, error) {
	data, err := sample.FS.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		return nil, fmt.Errorf("sample %s: %w", name, err)
	}
	out := make([][]byte, len(items))
	for i, it := range items {
		out[i] = it
	}
	return out, nil
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
