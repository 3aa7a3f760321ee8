package bench

import (
	"context"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
)

// pageSource emits the items of pre-rendered pages as Source does with fetched ones (DoJSON's check,
// then emitItems): the client's CPU path per page, without HTTP.
type pageSource struct{ pages [][]byte }

func (p pageSource) Kind() string { return "pages" }
func (p pageSource) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	for _, body := range p.pages {
		if !fetch.ValidJSON(body) { // what fetch.DoJSON checks
			panic("invalid page")
		}
		if err := emitItems(req.Source, &fetch.Response{Body: body}, out); err != nil {
			return mesh.FetchResult{}, err
		}
	}
	return mesh.FetchResult{}, nil
}

// BenchmarkPagePath: the client's CPU per page of scenario (a) (100 items of 1 KB): validate,
// walk, canonicalize, digest, collect; then merge. Run with -cpu 1.
func BenchmarkPagePath(b *testing.B) {
	p := &Provider{Items: 10_000, PageSize: 100, ItemBytes: 1000, Style: Offset}
	p.Prepare()
	var pages [][]byte
	for i := 0; i < p.Items; i += p.PageSize {
		var body []byte
		body = append(body, `{"items":[`...)
		for j := i; j < i+p.PageSize; j++ {
			if j > i {
				body = append(body, ',')
			}
			body = append(body, p.rendered[j]...)
		}
		body = append(body, `],"total":10000}`...)
		pages = append(pages, body)
	}
	var size int
	for _, pg := range pages {
		size += len(pg)
	}
	b.SetBytes(int64(size))
	for b.Loop() {
		m, _ := mesh.New(mesh.Options{})
		m.Add("p", pageSource{pages})
		bd, err := m.Build(context.Background())
		if err != nil || bd.Graph.Len() != p.Items {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(pages)), "ns/page")
}
