package shopify

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/meshtest"
	"github.com/contentmesh/contentmesh/sources/internal/commercetest"
)

// counter is an Emitter that counts.
type counter struct{ upserts, deletes atomic.Int64 }

func (c *counter) Upsert(mesh.Node) error { c.upserts.Add(1); return nil }
func (c *counter) Delete(string) error    { c.deletes.Add(1); return nil }

// BenchmarkFetch fetches a synthetic store of 2,000 products (8,000 variants, 4,000 images, 10
// collections) from the fake on loopback: a full fetch, and a delta with nothing changed. It
// reports requests, response bytes and nodes per fetch.
func BenchmarkFetch(b *testing.B) {
	cat := commercetest.Synthetic(2000, "USD")
	srv := meshtest.NewFixtureServer(b, "")
	srv.Handle("POST /api/{version}/graphql.json", commercetest.NewShopifyFake(cat).ServeHTTP)
	s, err := New(Config{Store: testStore, Token: testToken, BaseURL: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	first, err := s.Fetch(ctx, mesh.FetchRequest{Source: "shop"}, &counter{})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		cursor []byte
	}{{"full", nil}, {"delta-unchanged", first.Cursor}} {
		b.Run(c.name, func(b *testing.B) {
			srv.ResetRequests()
			before := s.client.Stats().Bytes
			var nodes int64
			for b.Loop() {
				var cnt counter
				if _, err := s.Fetch(ctx, mesh.FetchRequest{Source: "shop", Cursor: c.cursor}, &cnt); err != nil {
					b.Fatal(err)
				}
				nodes = cnt.upserts.Load()
			}
			b.ReportMetric(float64(len(srv.Requests()))/float64(b.N), "requests/op")
			b.ReportMetric(float64(nodes), "nodes/op")
			b.ReportMetric(float64(s.client.Stats().Bytes-before)/float64(b.N), "respbytes/op")
		})
	}
}
