package bench

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"sync/atomic"

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
	emit := func(_ int, r *fetch.Response) error { return emitItems(req.Source, r, out) }
	if len(req.Cursor) > 0 {
		var token string
		if err := json.Unmarshal(req.Cursor, &token); err == nil && token != "" {
			r, err := s.Client.GetJSON(ctx, "/sync", url.Values{"token": {token}})
			if err != nil {
				return mesh.FetchResult{}, err
			}
			if err := emit(0, r); err != nil {
				return mesh.FetchResult{}, err
			}
			next, _ := json.Marshal(r.Get("nextToken").String())
			return mesh.FetchResult{Delta: true, Cursor: next}, nil
		}
	}
	var token atomic.Value
	inner := emit
	emit = func(i int, r *fetch.Response) error {
		if t := r.Header.Get("X-Sync-Token"); t != "" && i == 0 {
			token.Store(t)
		}
		return inner(i, r)
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
			Next:     func(r *fetch.Response) (string, error) { return r.Get("next").String(), nil },
			Prefetch: true,
		}, emit)
	case Link:
		err = s.Client.FollowLinks(ctx, &fetch.Request{URL: "/items", Query: map[string][]string{"limit": {strconv.Itoa(size)}}}, emit)
	}
	s.Client.CloseIdleConnections()
	var cursor json.RawMessage
	if t, ok := token.Load().(string); ok {
		cursor, _ = json.Marshal(t)
	}
	return mesh.FetchResult{Cursor: cursor}, err
}

// emitItems upserts the items of one page, as an adapter maps a page to nodes.
func emitItems(source string, r *fetch.Response, out mesh.Emitter) error {
	var err error
	r.Get("items").ForEach(func(_, it gjson.Result) bool {
		id := it.Get("id").String()
		err = out.Upsert(mesh.Node{ID: mesh.NodeID(source, "item", id), Type: "Item", NativeID: id, Fields: []byte(it.Raw)})
		return err == nil
	})
	return err
}
