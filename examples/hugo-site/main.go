// Command hugo-site builds a sample content graph into this Hugo site's .mesh folder, so that the
// site in this folder can be built with Hugo (0.156 or later: content adapters and hugo.Data).
//
// From the repository root:
//
//	go run ./examples/hugo-site                 # writes examples/hugo-site/.mesh from the quickstart's sample data
//	hugo server --source examples/hugo-site     # or: hugo --source examples/hugo-site
//
// (-out names another folder; the site mounts <site>/.mesh/types.)
//
// With your own services, let the CLI write the folder instead: contentmesh build -out
// examples/hugo-site/.mesh (or set out: in mesh.yaml), then run hugo the same way.
//
// How the site reads the graph:
//   - hugo.toml mounts .mesh/types as data/mesh, so types/Product.json is hugo.Data.mesh.Product:
//     an array of nodes (id, type, nativeId, fields, refs, backrefs, ...).
//   - content/products/_content.gotmpl is a content adapter that adds one page per Product, with a
//     path made safe from the product's handle (layouts/_partials/mesh/slug.html).
//   - content/posts/_content.gotmpl adds one page per Post; layouts/posts/page.html follows the
//     post's $refs to its author (a User) and the products it mentions.
//   - layouts/products/page.html lists the posts that mention a product, from its backrefs.
//
// The sample graph is the quickstart's (examples/quickstart/sample, embedded): a shop API
// (products) and a people API (users) served in-process on 127.0.0.1, and Markdown posts, joined by
// a link rule.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/contentmesh/contentmesh/examples/quickstart/sample"
	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/reporthtml"
	"github.com/contentmesh/contentmesh/sources/files"
	"github.com/contentmesh/contentmesh/sources/rest"
)

func main() {
	out := flag.String("out", filepath.FromSlash("examples/hugo-site/.mesh"), "the output folder (the site mounts <site>/.mesh/types)")
	flag.Parse()
	s, err := LoadSample(sample.FS)
	if err != nil {
		log.Fatal(err)
	}
	b, err := BuildSample(context.Background(), s, *out)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("built %d nodes into %s (%d products, %d posts); now: hugo server --source %s\n",
		b.Graph.Len(), *out, b.Graph.CountByType()["Product"], b.Graph.CountByType()["Post"], filepath.Dir(*out))
}

// Sample is the data of the sample graph.
type Sample struct {
	// Products and People are the items the two sample APIs serve.
	Products, People []json.RawMessage
	// Content holds the Markdown posts (posts/*.md).
	Content fs.FS
}

// LoadSample reads the sample data: api/products.json, api/people.json and content/.
func LoadSample(fsys fs.FS) (*Sample, error) {
	content, err := fs.Sub(fsys, "content")
	if err != nil {
		return nil, err
	}
	s := &Sample{Content: content}
	for name, dst := range map[string]*[]json.RawMessage{"products.json": &s.Products, "people.json": &s.People} {
		data, err := fs.ReadFile(fsys, "api/"+name)
		if err != nil {
			return nil, fmt.Errorf("sample: %w", err)
		}
		if err := json.Unmarshal(data, dst); err != nil {
			return nil, fmt.Errorf("sample %s: %w", name, err)
		}
	}
	return s, nil
}

// BuildSample serves the sample APIs on loopback, builds the graph from them and the posts, and
// writes the output folder (with report.html) into out.
func BuildSample(ctx context.Context, s *Sample, out string) (*mesh.Build, error) {
	api, stop, err := serve(sampleAPI(s))
	if err != nil {
		return nil, err
	}
	defer stop()
	shop, err := rest.New(rest.Config{URL: "http://" + api + "/products", Items: "@this", ID: "id", NodeType: "Product"})
	if err != nil {
		return nil, err
	}
	people, err := rest.New(rest.Config{URL: "http://" + api + "/people", Items: "@this", ID: "id", NodeType: "User"})
	if err != nil {
		return nil, err
	}
	// The files source reads a folder on disk: a copy of the posts.
	dir, err := os.MkdirTemp("", "contentmesh-hugo-site-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.CopyFS(dir, s.Content); err != nil {
		return nil, err
	}
	blog, err := files.New(files.Config{Dir: dir})
	if err != nil {
		return nil, err
	}
	m, err := mesh.New(mesh.Options{
		RecordRequests: true,
		Links:          []mesh.LinkRule{{From: "Post.productHandles", To: "Product.handle", As: "products"}},
	})
	if err != nil {
		return nil, err
	}
	for _, s := range []struct {
		name string
		src  mesh.Source
	}{{"shop", shop}, {"people", people}, {"blog", blog}} {
		if err := m.Add(s.name, s.src); err != nil {
			return nil, err
		}
	}
	b, err := m.Build(ctx)
	if err != nil {
		return nil, err
	}
	if err := b.WriteDir(out, reporthtml.Output(b.Report)); err != nil {
		return nil, err
	}
	return b, nil
}

// sampleAPI serves /products and /people as bare JSON arrays.
func sampleAPI(s *Sample) http.Handler {
	list := func(items []json.RawMessage) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(items)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /products", list(s.Products))
	mux.Handle("GET /people", list(s.People))
	return mux
}

// serve starts h on a loopback port; stop closes it and waits for its goroutine.
func serve(h http.Handler) (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(ln) })
	return ln.Addr().String(), func() { srv.Close(); wg.Wait() }, nil
}
