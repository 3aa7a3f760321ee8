package s3store_test

import (
	"context"
	"log"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/memsource"
	"github.com/contentmesh/contentmesh/mesh/s3store"
)

// Builds share their snapshot through a bucket: the credentials come from AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, the endpoint of an S3-compatible service from the URL.
func ExampleOpen() {
	store, err := s3store.Open("s3://builds/sites/blog?endpoint=http://127.0.0.1:7070")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	m, err := mesh.New(mesh.Options{Store: store, Out: ".mesh"})
	if err != nil {
		log.Fatal(err)
	}
	posts, _ := memsource.New(memsource.Record{Namespace: "post", NativeID: "1", Type: "Post"})
	m.Add("cms", posts)
	// A build that loses the race to save the snapshot builds again on top of the winner's.
	if _, err := m.Build(context.Background()); err != nil {
		log.Fatal(err)
	}
}

// A machine that only needs the graph reads the latest snapshot and calls no source.
func ExampleStore_Load() {
	store, err := s3store.New(s3store.Config{Bucket: "builds", Prefix: "sites/blog", Endpoint: "http://127.0.0.1:7070"})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	snap, err := store.Load(context.Background())
	if err != nil {
		log.Fatal(err) // mesh.ErrNoSnapshot before the first build
	}
	g, _, err := mesh.GraphFromSnapshot(context.Background(), snap, nil)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("%d nodes", g.Len())
}
