package fetch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/contentmesh/contentmesh/mesh"
)

// offsetAPI serves a Contentful-style listing of n items, size per page at most: skip/limit in the
// query, {"total": claimed, "items": [...]}. claimed < 0 means the real total.
func offsetAPI(n, claimed int) func(*http.Request, int) (*http.Response, error) {
	if claimed < 0 {
		claimed = n
	}
	return func(r *http.Request, _ int) (*http.Response, error) {
		q := r.URL.Query()
		skip, _ := strconv.Atoi(q.Get("skip"))
		limit, _ := strconv.Atoi(q.Get("limit"))
		var items []string
		for i := skip; i < min(n, skip+limit); i++ {
			items = append(items, fmt.Sprintf(`{"id":"item-%d"}`, i))
		}
		return answer(200, fmt.Sprintf(`{"total":%d,"skip":%d,"items":[%s]}`, claimed, skip, strings.Join(items, ","))), nil
	}
}

func contentfulPages(size int) OffsetPages {
	return OffsetPages{
		Page: func(i int) *Request {
			return &Request{URL: "/entries", Query: url.Values{"skip": {strconv.Itoa(i * size)}, "limit": {strconv.Itoa(size)}}}
		},
		PageSize: size,
		Total:    func(r *Response) (int, error) { return int(r.Get("total").Int()), nil },
		Items:    func(r *Response) int { return int(r.Get("items.#").Int()) },
	}
}

// collect gathers item ids and page indexes, safe for concurrent calls.
type collect struct {
	mu    sync.Mutex
	ids   []string
	pages []int
}

func (c *collect) each(page int, r *Response) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pages = append(c.pages, page)
	for _, id := range r.Get("items.#.id").Array() {
		c.ids = append(c.ids, id.String())
	}
	return nil
}

func (c *collect) sortedIDs() []string {
	ids := slices.Clone(c.ids)
	slices.SortFunc(ids, func(a, b string) int {
		x, _ := strconv.Atoi(strings.TrimPrefix(a, "item-"))
		y, _ := strconv.Atoi(strings.TrimPrefix(b, "item-"))
		return x - y
	})
	return ids
}

func wantIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("item-%d", i)
	}
	return ids
}

func TestOffsetFansOutBounded(t *testing.T) {
	for _, tt := range []struct {
		name              string
		clientConc, pConc int
		wantInFlight      int
		wantDuration      time.Duration
	}{
		{"client concurrency", 4, 0, 4, time.Second + 5*time.Second}, // page 0, then 19 pages 4 at a time
		{"listing concurrency", 4, 2, 2, time.Second + 10*time.Second},
		{"listing above client", 3, 50, 3, time.Second + 7*time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rt := &fakeRT{latency: time.Second, handle: offsetAPI(195, -1)}
				c := newFake(t, Config{}, Options{Concurrency: tt.clientConc}, rt)
				p := contentfulPages(10)
				p.Concurrency = tt.pConc
				var got collect
				t0 := time.Now()
				if err := c.Offset(context.Background(), p, got.each); err != nil {
					t.Fatal(err)
				}
				if ids := got.sortedIDs(); !slices.Equal(ids, wantIDs(195)) {
					t.Errorf("got %d ids, want 195 without gaps or repeats", len(ids))
				}
				slices.Sort(got.pages)
				if len(got.pages) != 20 || got.pages[0] != 0 || got.pages[19] != 19 {
					t.Errorf("pages = %v", got.pages)
				}
				if rt.maxInFlight != tt.wantInFlight {
					t.Errorf("max in flight = %d, want %d", rt.maxInFlight, tt.wantInFlight)
				}
				if d := time.Since(t0); d != tt.wantDuration {
					t.Errorf("took %s, want %s", d, tt.wantDuration)
				}
				if n := len(rt.requests()); n != 20 {
					t.Errorf("%d requests, want 20", n)
				}
			})
		})
	}
}

func TestOffsetSinglePage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, n := range []int{0, 7, 10} {
			rt := &fakeRT{handle: offsetAPI(n, -1)}
			c := newFake(t, Config{}, Options{}, rt)
			var got collect
			if err := c.Offset(context.Background(), contentfulPages(10), got.each); err != nil {
				t.Fatal(err)
			}
			if len(rt.requests()) != 1 || len(got.pages) != 1 || len(got.ids) != n {
				t.Errorf("%d items: %d requests, pages %v", n, len(rt.requests()), got.pages)
			}
		}
	})
}

func TestOffsetUntilShort(t *testing.T) {
	tests := []struct {
		name     string
		n, claim int
		total    bool
	}{
		{"total too small", 47, 20, true},
		{"total too large", 23, 90, true},
		{"no total", 35, -1, false},
		{"exact multiple", 40, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rt := &fakeRT{latency: 10 * time.Millisecond, handle: offsetAPI(tt.n, tt.claim)}
				c := newFake(t, Config{}, Options{Concurrency: 3}, rt)
				p := contentfulPages(10)
				p.UntilShort = true
				if !tt.total {
					p.Total = nil
				}
				var got collect
				if err := c.Offset(context.Background(), p, got.each); err != nil {
					t.Fatal(err)
				}
				if ids := got.sortedIDs(); !slices.Equal(ids, wantIDs(tt.n)) {
					t.Errorf("ids = %v", ids)
				}
				// Up to the short (or empty) page, even when the total claims more.
				pages := tt.n/10 + 1
				if n := len(rt.requests()); n < pages || n > pages+3 {
					t.Errorf("%d requests, want %d to %d (speculation bounded by the concurrency)", n, pages, pages+3)
				}
				for _, pg := range got.pages {
					if pg*10 >= tt.n && !(pg == 0 && tt.n == 0) {
						t.Errorf("empty page %d delivered", pg)
					}
				}
			})
		})
	}
}

func TestOffsetGuards(t *testing.T) {
	t.Run("paging ignored", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := &fakeRT{handle: func(*http.Request, int) (*http.Response, error) {
				return answer(200, `{"items":[{"id":"1"},{"id":"2"}]}`), nil
			}}
			c := newFake(t, Config{}, Options{Concurrency: 2}, rt)
			p := contentfulPages(2)
			p.Total = nil
			err := c.Offset(context.Background(), p, func(int, *Response) error { return nil })
			if !errors.Is(err, mesh.ErrBadResponse) || !strings.Contains(err.Error(), "same body as page 0") {
				t.Fatalf("err = %v", err)
			}
			if n := len(rt.requests()); n > 4 {
				t.Errorf("%d requests before the guard stopped it", n)
			}
		})
	})
	t.Run("total too large for MaxPages", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := &fakeRT{handle: offsetAPI(10, 1_000_000_000)}
			c := newFake(t, Config{}, Options{}, rt)
			err := c.Offset(context.Background(), contentfulPages(10), func(int, *Response) error { return nil })
			if !errors.Is(err, ErrTooManyPages) || len(rt.requests()) != 1 {
				t.Fatalf("err = %v after %d requests", err, len(rt.requests()))
			}
		})
	})
	t.Run("no short page within MaxPages", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := &fakeRT{handle: offsetAPI(1000, -1)}
			c := newFake(t, Config{}, Options{Concurrency: 2}, rt)
			p := contentfulPages(10)
			p.UntilShort, p.MaxPages = true, 5
			p.Total = nil
			err := c.Offset(context.Background(), p, func(int, *Response) error { return nil })
			if !errors.Is(err, ErrTooManyPages) || len(rt.requests()) != 5 {
				t.Fatalf("err = %v after %d requests", err, len(rt.requests()))
			}
		})
	})
	t.Run("bad arguments", func(t *testing.T) {
		c, _ := New(Config{}, Options{})
		for _, p := range []OffsetPages{{}, {Page: func(int) *Request { return nil }}, {Page: func(int) *Request { return nil }, PageSize: 1}} {
			if err := c.Offset(context.Background(), p, func(int, *Response) error { return nil }); err == nil {
				t.Errorf("%+v accepted", p)
			}
		}
	})
}

func TestOffsetStopsOnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{latency: time.Second, handle: func(r *http.Request, n int) (*http.Response, error) {
			if r.URL.Query().Get("skip") == "30" {
				return answer(404, `{"message":"gone"}`), nil
			}
			return offsetAPI(1000, -1)(r, n)
		}}
		c := newFake(t, Config{}, Options{Concurrency: 2}, rt)
		err := c.Offset(context.Background(), contentfulPages(10), func(int, *Response) error { return nil })
		if !errors.Is(err, mesh.ErrNotFound) || !strings.HasPrefix(err.Error(), "page 3: GET http://api.test/entries?") {
			t.Fatalf("err = %v", err)
		}
		if n := len(rt.requests()); n > 6 {
			t.Errorf("%d requests: the listing went on after the error", n)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{latency: time.Second, handle: offsetAPI(1000, -1)}
		c := newFake(t, Config{}, Options{Concurrency: 4}, rt)
		stop := errors.New("emitter closed")
		err := c.Offset(context.Background(), contentfulPages(10), func(page int, _ *Response) error {
			if page == 5 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || err.Error() != "page 5: emitter closed" {
			t.Fatalf("err = %v", err)
		}
		if n := len(rt.requests()); n > 12 {
			t.Errorf("%d requests after the callback failed", n)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{latency: time.Second, handle: offsetAPI(1000, -1)}
		c := newFake(t, Config{}, Options{Concurrency: 4}, rt)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(2500*time.Millisecond, cancel)
		t0 := time.Now()
		err := c.Offset(ctx, contentfulPages(10), func(int, *Response) error { return nil })
		if !errors.Is(err, context.Canceled) || time.Since(t0) != 2500*time.Millisecond {
			t.Fatalf("err = %v after %s", err, time.Since(t0))
		}
	})
}

func TestCursor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Stripe-style: starting_after=<last id> while has_more.
		rt := &fakeRT{handle: func(r *http.Request, _ int) (*http.Response, error) {
			page := map[string]string{
				"":  `{"data":[{"id":"a"}],"has_more":true}`,
				"a": `{"data":[{"id":"b"}],"has_more":true}`,
				"b": `{"data":[{"id":"c"}],"has_more":false}`,
			}
			body, ok := page[r.URL.Query().Get("starting_after")]
			if !ok {
				return answer(400, `{"error":{"message":"bad cursor"}}`), nil
			}
			return answer(200, body), nil
		}}
		c := newFake(t, Config{}, Options{}, rt)
		var order []int
		var ids []string
		err := c.Cursor(context.Background(), CursorPages{
			Request: func(cursor string) *Request {
				q := url.Values{"limit": {"1"}}
				if cursor != "" {
					q.Set("starting_after", cursor)
				}
				return &Request{URL: "/v1/products", Query: q}
			},
			Next: func(r *Response) (string, error) {
				if !r.Get("has_more").Bool() {
					return "", nil
				}
				return r.Get("data.0.id").String(), nil
			},
		}, func(page int, r *Response) error {
			order = append(order, page)
			ids = append(ids, r.Get("data.0.id").String())
			return nil
		})
		if err != nil || !slices.Equal(order, []int{0, 1, 2}) || !slices.Equal(ids, []string{"a", "b", "c"}) {
			t.Fatalf("err %v, pages %v, ids %v", err, order, ids)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		// The API hands back an old cursor: "" -> a -> b -> a ...
		rt := &fakeRT{handle: func(r *http.Request, _ int) (*http.Response, error) {
			next := map[string]string{"": "a", "a": "b", "b": "a"}[r.URL.Query().Get("cursor")]
			return answer(200, fmt.Sprintf(`{"next":%q}`, next)), nil
		}}
		c := newFake(t, Config{}, Options{}, rt)
		err := c.Cursor(context.Background(), CursorPages{
			Request: func(cursor string) *Request { return &Request{URL: "/list", Query: url.Values{"cursor": {cursor}}} },
			Next:    func(r *Response) (string, error) { return r.Get("next").String(), nil },
		}, func(int, *Response) error { return nil })
		if !errors.Is(err, mesh.ErrBadResponse) || !strings.Contains(err.Error(), "loop guard") || len(rt.requests()) != 3 {
			t.Fatalf("err = %v after %d requests", err, len(rt.requests()))
		}
		if want := "page 2: http://api.test/list?cursor=b: bad response: the next cursor repeats the one that led to page 1 (loop guard)"; err.Error() != want {
			t.Errorf("err = %q, want %q", err, want)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int64
		rt := &fakeRT{handle: func(*http.Request, int) (*http.Response, error) {
			return answer(200, fmt.Sprintf(`{"next":"c%d"}`, n.Add(1))), nil
		}}
		c := newFake(t, Config{}, Options{}, rt)
		err := c.Cursor(context.Background(), CursorPages{
			Request:  func(cursor string) *Request { return &Request{URL: "/list", Query: url.Values{"cursor": {cursor}}} },
			Next:     func(r *Response) (string, error) { return r.Get("next").String(), nil },
			MaxPages: 7,
		}, func(int, *Response) error { return nil })
		if !errors.Is(err, ErrTooManyPages) || len(rt.requests()) != 7 {
			t.Fatalf("err = %v after %d requests", err, len(rt.requests()))
		}
	})
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{handle: func(*http.Request, int) (*http.Response, error) { return answer(200, `{"next":"x"}`), nil }}
		c := newFake(t, Config{}, Options{}, rt)
		bad := errors.New("no next")
		err := c.Cursor(context.Background(), CursorPages{
			Request: func(string) *Request { return &Request{URL: "/list"} },
			Next:    func(*Response) (string, error) { return "", bad },
		}, func(int, *Response) error { t.Error("page delivered despite Next's error"); return nil })
		if !errors.Is(err, bad) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestFollowLinks(t *testing.T) {
	defer goleak.VerifyNone(t)
	c, srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Keep") != "yes" {
			t.Errorf("header not carried to %s", r.URL)
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		switch {
		case r.URL.Path == "/loop":
			w.Header().Add("Link", `</loop?page=1>; rel="next"`)
		case page == 0:
			w.Header().Add("Link", `</wp-json/wp/v2/posts?page=1>; rel="self"`)
			w.Header().Add("Link", `<posts?page=2&per_page=1>; rel="next", </wp-json/wp/v2/posts?page=3>; rel="last"`)
		case page < 3:
			w.Header().Add("Link", fmt.Sprintf(`<http://%s/wp-json/wp/v2/posts?page=%d&per_page=1>; rel="prev next"`, r.Host, page+1))
		}
		fmt.Fprintf(w, `[{"id":%d}]`, page)
	}, Config{}, Options{})
	var ids []int64
	var pages []int
	first := &Request{URL: "/wp-json/wp/v2/posts", Header: http.Header{"X-Keep": {"yes"}}}
	err := c.FollowLinks(context.Background(), first, func(page int, r *Response) error {
		pages = append(pages, page)
		ids = append(ids, r.Get("0.id").Int())
		return nil
	})
	if err != nil || !slices.Equal(ids, []int64{0, 2, 3}) || !slices.Equal(pages, []int{0, 1, 2}) {
		t.Fatalf("err %v, ids %v, pages %v", err, ids, pages)
	}
	err = c.FollowLinks(context.Background(), &Request{URL: "/loop", Header: http.Header{"X-Keep": {"yes"}}}, func(int, *Response) error { return nil })
	if !errors.Is(err, mesh.ErrBadResponse) || !strings.Contains(err.Error(), srv.URL+"/loop?page=1") {
		t.Errorf("loop: %v", err)
	}
	c.CloseIdleConnections()
	srv.Close()
}

func TestConnection(t *testing.T) {
	products := []string{"p1", "p2", "p3", "p4", "p5"}
	c, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		var body [2048]byte
		n, _ := r.Body.Read(body[:])
		req := string(body[:n])
		switch {
		case strings.Contains(req, "broken"):
			w.Write([]byte(`{"data":{"products":{"nodes":[]}}}`))
			return
		case strings.Contains(req, "nocursor"):
			w.Write([]byte(`{"data":{"products":{"nodes":[],"pageInfo":{"hasNextPage":true,"endCursor":null}}}}`))
			return
		case strings.Contains(req, "stuck"):
			w.Write([]byte(`{"data":{"products":{"nodes":[],"pageInfo":{"hasNextPage":true,"endCursor":"same"}}}}`))
			return
		}
		if !strings.Contains(req, `"first":2`) {
			t.Errorf("variables lost: %s", req)
		}
		start := 0
		if i := strings.Index(req, `"after":"c`); i >= 0 {
			start, _ = strconv.Atoi(req[i+len(`"after":"c`) : i+len(`"after":"c`)+1])
		} else if !strings.Contains(req, `"after":null`) {
			t.Errorf("first page without after: null: %s", req)
		}
		end := min(start+2, len(products))
		var nodes []string
		for _, p := range products[start:end] {
			nodes = append(nodes, fmt.Sprintf(`{"id":%q}`, p))
		}
		fmt.Fprintf(w, `{"data":{"products":{"nodes":[%s],"pageInfo":{"hasNextPage":%v,"endCursor":"c%d"}}}}`,
			strings.Join(nodes, ","), end < len(products), end)
	}, Config{}, Options{})
	var got []string
	p := ConnectionPages{
		Endpoint:  "/api/2025-01/graphql.json",
		Query:     `query($first: Int!, $after: String) { products(first: $first, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }`,
		Variables: map[string]any{"first": 2},
		Path:      "data.products",
	}
	err := c.Connection(context.Background(), p, func(page int, r *Response) error {
		for _, id := range r.Get("data.products.nodes.#.id").Array() {
			got = append(got, id.String())
		}
		return nil
	})
	if err != nil || !slices.Equal(got, products) {
		t.Fatalf("err %v, got %v", err, got)
	}
	if _, ok := p.Variables["after"]; ok {
		t.Error("the caller's Variables were modified")
	}
	for query, want := range map[string]string{
		"{ broken }":   "no pageInfo object at data.products.pageInfo",
		"{ nocursor }": "hasNextPage is true but endCursor is empty",
		"{ stuck }":    "loop guard",
	} {
		p.Query = query
		err := c.Connection(context.Background(), p, func(int, *Response) error { return nil })
		if !errors.Is(err, mesh.ErrBadResponse) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v", query, err)
		}
	}
}
