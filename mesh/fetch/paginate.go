package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/tidwall/gjson"
	"golang.org/x/sync/errgroup"

	"github.com/contentmesh/contentmesh/mesh"
)

// DefaultMaxPages bounds every pagination helper when its MaxPages is 0.
const DefaultMaxPages = 100_000

// ErrTooManyPages is wrapped by the error of a listing that went past its MaxPages.
var ErrTooManyPages = errors.New("too many pages")

// PageFunc receives one page of a listing: its index (from 0) and the response, whose body is valid
// JSON. An error stops the listing and is returned unchanged (errors.Is works), wrapped with the page
// number.
type PageFunc func(page int, r *Response) error

// OffsetPages describes an offset (skip/limit) or page-number listing whose first page tells the
// total, so that the rest can be fetched at once.
type OffsetPages struct {
	// Page returns the request for page i, counting from 0: an offset API sets skip=i*PageSize, a
	// page-number API sets page=i+1. Required.
	Page func(i int) *Request
	// PageSize is the number of items a full page holds. Required.
	PageSize int
	// Total reads the total number of items from the first page (body or header, e.g. Contentful
	// "total", WordPress X-WP-Total, Strapi meta.pagination.total). Nil: the total is unknown and
	// UntilShort is implied.
	Total func(first *Response) (int, error)
	// Items counts the items on a page. Required with UntilShort (or without Total).
	Items func(r *Response) int
	// UntilShort is for APIs whose totals cannot be trusted: pages are requested past the total until
	// one holds fewer than PageSize items; pages after that short page are not requested (a few may
	// already be in flight: those that come back empty are dropped). The total, if any, still tells
	// how many pages to start with.
	UntilShort bool
	// Concurrency bounds the pages fetched at once (and so the PageFunc calls); 0 or more than the
	// client's Options.Concurrency means the client's.
	Concurrency int
	// MaxPages fails the listing (ErrTooManyPages) rather than fetch more pages; 0: DefaultMaxPages.
	MaxPages int
}

// Offset fetches the first page, learns the total from it, then fetches the remaining pages
// concurrently, at most Concurrency at a time, and hands each page to each.
//
// each is called from several goroutines at once and in no particular order (page tells which page
// it is); it must be safe for concurrent use (mesh.Emitter is). Deliveries are not ordered so that a
// slow page holds back neither memory nor the other pages; sort afterwards if order matters. A page
// whose body is identical to the first page's is an error wrapping mesh.ErrBadResponse (the API
// ignored the paging parameters: without this guard UntilShort would never end). On the first error
// the listing stops: pages not yet requested are not, and the error is returned after every running
// request and call has returned. No goroutine outlives the call.
func (c *Client) Offset(ctx context.Context, p OffsetPages, each PageFunc) error {
	switch {
	case p.Page == nil:
		return errors.New("fetch.Offset: Page is nil")
	case p.PageSize <= 0:
		return fmt.Errorf("fetch.Offset: PageSize %d must be positive", p.PageSize)
	case (p.UntilShort || p.Total == nil) && p.Items == nil:
		return errors.New("fetch.Offset: Items is needed without Total or with UntilShort")
	case each == nil:
		return errors.New("fetch.Offset: each is nil")
	}
	untilShort := p.UntilShort || p.Total == nil
	maxPages := p.MaxPages
	if maxPages <= 0 {
		maxPages = DefaultMaxPages
	}
	limit := c.opts.Concurrency
	if p.Concurrency > 0 && p.Concurrency < limit {
		limit = p.Concurrency
	}

	first, err := c.DoJSON(ctx, p.Page(0))
	if err != nil {
		return fmt.Errorf("page 0: %w", err)
	}
	pages := 1
	if p.Total != nil {
		total, err := p.Total(first)
		if err != nil {
			return fmt.Errorf("page 0: %s: reading the total: %w", first.URL, err)
		}
		if total < 0 {
			return fmt.Errorf("page 0: %s: %w: negative total %d", first.URL, mesh.ErrBadResponse, total)
		}
		pages = max(1, (total+p.PageSize-1)/p.PageSize)
		if pages > maxPages {
			return fmt.Errorf("%s: %w: the total %d needs %d pages, more than MaxPages %d",
				first.URL, ErrTooManyPages, total, pages, maxPages)
		}
	}
	// stop is the lowest index of a short page seen (UntilShort): no page after it is requested.
	var stop atomic.Int64
	stop.Store(1<<62 - 1)
	if untilShort && p.Items(first) < p.PageSize {
		stop.Store(0)
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	g.Go(func() error {
		if err := each(0, first); err != nil {
			return fmt.Errorf("page 0: %w", err)
		}
		return nil
	})
	hitMax := false
	for i := 1; ; i++ {
		if gctx.Err() != nil || int64(i) > stop.Load() {
			break
		}
		if i >= pages && !untilShort {
			break
		}
		if i >= maxPages {
			hitMax = true
			break
		}
		g.Go(func() error {
			if int64(i) > stop.Load() {
				return nil // a short page came back while this one waited for a slot
			}
			r, err := c.DoJSON(gctx, p.Page(i))
			if err != nil {
				return fmt.Errorf("page %d: %w", i, err)
			}
			if len(r.Body) > 0 && bytes.Equal(r.Body, first.Body) {
				return fmt.Errorf("page %d: %s: %w: same body as page 0 (the API ignores the paging parameters)",
					i, r.URL, mesh.ErrBadResponse)
			}
			if untilShort {
				n := p.Items(r)
				if n < p.PageSize {
					for s := stop.Load(); int64(i) < s && !stop.CompareAndSwap(s, int64(i)); s = stop.Load() {
					}
				}
				if n == 0 {
					return nil
				}
			}
			if err := each(i, r); err != nil {
				return fmt.Errorf("page %d: %w", i, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if hitMax && untilShort && stop.Load() >= int64(maxPages) {
		return fmt.Errorf("%s: %w: still no short page after MaxPages %d", first.URL, ErrTooManyPages, maxPages)
	}
	// The group's context ends with Wait; report the caller's cancellation if that is what stopped us.
	return ctx.Err()
}

// CursorPages describes a sequential listing where each page tells where the next one starts.
type CursorPages struct {
	// Request returns the request for a cursor; the first page has the cursor "". The cursor may be a
	// whole URL (Contentful sync's nextPageUrl) or a token to put in the query. Required.
	Request func(cursor string) *Request
	// Next reads the next page's cursor from a page; "" means it was the last page. Required.
	Next func(r *Response) (string, error)
	// MaxPages fails the listing (ErrTooManyPages) rather than fetch more pages; 0: DefaultMaxPages.
	MaxPages int
	// Prefetch lets Cursor request the next page while each handles the current one: Request is then
	// called for page N+1 (from another goroutine) before each has returned for page N. Set it when
	// Request depends on nothing each changes; the chain of requests then costs only their latency.
	Prefetch bool
}

// Cursor fetches pages one after the other, calling each for every page (in order, from the calling
// goroutine) before requesting the next, unless Prefetch is set. A cursor seen before is an error wrapping mesh.ErrBadResponse: an API that hands back an old cursor
// would otherwise loop forever.
func (c *Client) Cursor(ctx context.Context, p CursorPages, each PageFunc) error {
	if p.Request == nil || p.Next == nil || each == nil {
		return errors.New("fetch.Cursor: Request, Next and each are required")
	}
	return c.walk(ctx, func(ctx context.Context, cursor string) (*Response, error) {
		return c.DoJSON(ctx, p.Request(cursor))
	}, p.Next, p.MaxPages, p.Prefetch, each)
}

// FollowLinks fetches first, then follows the Link rel="next" header of each page (see LinkNext;
// relative targets are resolved against the page's URL) until a page has none. Pages after the first
// are GETs with first's headers. each is called for every page in order; the next page is requested
// while each handles the current one. A repeated URL is an error
// wrapping mesh.ErrBadResponse; more than DefaultMaxPages pages is ErrTooManyPages.
func (c *Client) FollowLinks(ctx context.Context, first *Request, each PageFunc) error {
	if first == nil || each == nil {
		return errors.New("fetch.FollowLinks: first and each are required")
	}
	return c.walk(ctx, func(ctx context.Context, cursor string) (*Response, error) {
		if cursor == "" {
			return c.DoJSON(ctx, first)
		}
		return c.DoJSON(ctx, &Request{Method: http.MethodGet, URL: cursor, Header: first.Header})
	}, func(r *Response) (string, error) {
		next := LinkNext(r.Header)
		if next == "" {
			return "", nil
		}
		return r.Resolve(next)
	}, 0, true, each)
}

// ConnectionPages describes a GraphQL connection paged with pageInfo { hasNextPage endCursor }.
type ConnectionPages struct {
	// Endpoint is the GraphQL URL (absolute or under Config.BaseURL). Required.
	Endpoint string
	// Query is the GraphQL query; it declares the cursor variable, e.g.
	// `query($after: String) { products(first: 250, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }`.
	Query string
	// Variables are sent with every page (copied; the cursor variable is added).
	Variables map[string]any
	// CursorVar names the cursor variable; "" means "after". It is null on the first page.
	CursorVar string
	// Path is the gjson path of the connection in the answer, e.g. "data.products"; its pageInfo is
	// read at Path + ".pageInfo". Required.
	Path string
	// MaxPages fails the listing (ErrTooManyPages) rather than fetch more pages; 0: DefaultMaxPages.
	MaxPages int
}

// Connection pages through a GraphQL connection with GraphQL, calling each for every page in order;
// the next page is requested while each handles the current one.
// A missing pageInfo, hasNextPage without an endCursor, or a repeated endCursor is an error wrapping
// mesh.ErrBadResponse.
func (c *Client) Connection(ctx context.Context, p ConnectionPages, each PageFunc) error {
	if p.Endpoint == "" || p.Query == "" || p.Path == "" || each == nil {
		return errors.New("fetch.Connection: Endpoint, Query, Path and each are required")
	}
	cursorVar := p.CursorVar
	if cursorVar == "" {
		cursorVar = "after"
	}
	return c.walk(ctx, func(ctx context.Context, cursor string) (*Response, error) {
		vars := make(map[string]any, len(p.Variables)+1)
		for k, v := range p.Variables {
			vars[k] = v
		}
		vars[cursorVar] = nil
		if cursor != "" {
			vars[cursorVar] = cursor
		}
		return c.GraphQL(ctx, p.Endpoint, p.Query, vars)
	}, func(r *Response) (string, error) {
		pi := r.Get(p.Path + ".pageInfo")
		if !pi.IsObject() {
			return "", fmt.Errorf("%s: %w: no pageInfo object at %s.pageInfo", r.URL, mesh.ErrBadResponse, p.Path)
		}
		if !pi.Get("hasNextPage").Bool() {
			return "", nil
		}
		end := pi.Get("endCursor")
		if end.Type != gjson.String || end.Str == "" {
			return "", fmt.Errorf("%s: %w: hasNextPage is true but endCursor is empty at %s.pageInfo",
				r.URL, mesh.ErrBadResponse, p.Path)
		}
		return end.Str, nil
	}, p.MaxPages, true, each)
}

// walk is the sequential loop shared by Cursor, FollowLinks and Connection.
func (c *Client) walk(ctx context.Context, fetch func(context.Context, string) (*Response, error),
	next func(*Response) (string, error), maxPages int, prefetch bool, each PageFunc) error {
	if maxPages <= 0 {
		maxPages = DefaultMaxPages
	}
	seen := map[string]int{"": 0}
	// The request for the next page goes out as soon as this page names it, while this page is
	// handed to each: the chain of requests, which cannot overlap, is not lengthened by the work
	// done on every page. At most one request is ahead; it is cancelled and waited for on error.
	type fetched struct {
		r   *Response
		err error
	}
	start := func(ctx context.Context, cursor string) <-chan fetched {
		ch := make(chan fetched, 1)
		go func() {
			r, err := fetch(ctx, cursor)
			ch <- fetched{r, err}
		}()
		return ch
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pending := start(pctx, "")
	for page := 0; ; page++ {
		got := <-pending
		pending = nil
		if got.err != nil {
			return fmt.Errorf("page %d: %w", page, got.err)
		}
		r := got.r
		nextCursor, err := next(r)
		if err != nil {
			return fmt.Errorf("page %d: %w", page, err)
		}
		if nextCursor != "" {
			if prev, dup := seen[nextCursor]; dup {
				return fmt.Errorf("page %d: %s: %w: the next cursor repeats the one that led to page %d (loop guard)",
					page, r.URL, mesh.ErrBadResponse, prev)
			}
			if page+1 >= maxPages {
				return fmt.Errorf("page %d: %w: more than MaxPages %d", page+1, ErrTooManyPages, maxPages)
			}
			seen[nextCursor] = page + 1
			if prefetch {
				pending = start(pctx, nextCursor)
			}
		}
		if err := each(page, r); err != nil {
			if pending != nil {
				cancel()
				<-pending
			}
			return fmt.Errorf("page %d: %w", page, err)
		}
		if nextCursor == "" {
			return nil
		}
		if pending == nil {
			pending = start(pctx, nextCursor)
		}
	}
}
