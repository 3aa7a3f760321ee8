package bench

import (
	"context"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
)

// Source reads a Provider through mesh/fetch as an adapter would: Offset fans out after the first
// page, Cursor and Link walk their chain.
type Source struct {
	Style    Style
	PageSize int
	Client   *fetch.Client
}

// NewSource returns a Source for the provider at baseURL.
func NewSource(name, baseURL string, style Style, pageSize int, opts fetch.Options) (*Source, error) {
	c, err := fetch.New(fetch.Config{Source: name, BaseURL: baseURL}, opts)
	if err != nil {
		return nil, err
	}
	return &Source{Style: style, PageSize: pageSize, Client: c}, nil
}

// Kind implements mesh.Source.
func (s *Source) Kind() string { return "bench" }

// Fetch implements mesh.Source.
func (s *Source) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	size := s.PageSize
	if req.PageSize > 0 {
		size = req.PageSize
	}
	emit := func(_ int, r *fetch.Response) error {
		var err error
		r.Get("items").ForEach(func(_, it gjson.Result) bool {
			id := it.Get("id").String()
			err = out.Upsert(mesh.Node{ID: mesh.NodeID(req.Source, "item", id), Type: "Item", NativeID: id, Fields: []byte(it.Raw)})
			return err == nil
		})
		return err
	}
	var err error
	switch s.Style {
	case Offset:
		err = s.Client.Offset(ctx, fetch.OffsetPages{
			PageSize: size,
			Page: func(i int) *fetch.Request {
				return &fetch.Request{URL: "/items", Query: map[string][]string{"offset": {strconv.Itoa(i * size)}, "limit": {strconv.Itoa(size)}}}
			},
			Total: func(r *fetch.Response) (int, error) { return int(r.Get("total").Int()), nil },
		}, emit)
	case Cursor:
		err = s.Client.Cursor(ctx, fetch.CursorPages{
			Request: func(c string) *fetch.Request {
				return &fetch.Request{URL: "/items", Query: map[string][]string{"cursor": {c}, "limit": {strconv.Itoa(size)}}}
			},
			Next: func(r *fetch.Response) (string, error) { return r.Get("next").String(), nil },
		}, emit)
	case Link:
		err = s.Client.FollowLinks(ctx, &fetch.Request{URL: "/items", Query: map[string][]string{"limit": {strconv.Itoa(size)}}}, emit)
	}
	s.Client.CloseIdleConnections()
	return mesh.FetchResult{}, err
}
