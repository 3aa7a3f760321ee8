// Command quickstart is the contentmesh demo (the same as `contentmesh demo`): it needs no account
// and no network. It starts two sample JSON APIs in-process on 127.0.0.1 (a shop with paginated
// products, a people directory paged through Link headers), reads bundled Markdown posts, and builds
// one graph from the three sources into ./.mesh: posts reference their author (a $ref in front
// matter) and the products they mention (a link rule on product handles), so every product and
// person also gets backrefs to the posts. The output folder also holds schema.json and mesh.d.ts.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"io"
	"log"
	"os"

	"github.com/contentmesh/contentmesh/internal/demo"
)

func main() {
	if err := run(context.Background(), os.Stdout, "."); err != nil {
		log.Fatal(err)
	}
}

// run builds the demo graph into dir/.mesh (snapshot in dir/.mesh-cache) and prints a summary.
func run(ctx context.Context, w io.Writer, dir string) error {
	return demo.Run(ctx, w, dir)
}
