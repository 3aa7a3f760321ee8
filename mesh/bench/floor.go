package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/tidwall/gjson"
	"golang.org/x/sync/errgroup"

	"github.com/contentmesh/contentmesh/mesh/fetch"
)

// Floor fetches every provider's full listing at once with a bare net/http client (same
// concurrency per provider, same paging, bodies read whole and nothing else done with them) and
// returns its wall time: what the loopback, the simulated providers and the machine cost before
// any client work. A build's fetch phase over the floor is what the client (mesh/fetch, the
// source, the engine) adds; the bound over the floor is what the machine adds to pure latency.
// Providers with a rate limit are not supported (a bare client would only collect 429s).
func Floor(ctx context.Context, providers []*Provider, urls []string, concurrency int) (time.Duration, error) {
	if len(providers) != len(urls) {
		return 0, fmt.Errorf("bench.Floor: %d providers, %d URLs", len(providers), len(urls))
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: max(concurrency, 2)}}
	defer hc.CloseIdleConnections()
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	for i, p := range providers {
		if p.RateLimit > 0 {
			return 0, fmt.Errorf("bench.Floor: provider %d has a rate limit", i)
		}
		g.Go(func() error { return bareListing(gctx, hc, p, urls[i], concurrency) })
	}
	err := g.Wait()
	return time.Since(start), err
}

// bareListing walks one provider's listing as Source does, without mesh/fetch.
func bareListing(ctx context.Context, hc *http.Client, p *Provider, base string, concurrency int) error {
	limit := "&limit=" + strconv.Itoa(p.PageSize)
	get := func(url string) (*http.Response, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, nil, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
		}
		return resp, body, err
	}
	switch p.Style {
	case Offset:
		_, first, err := get(base + "/items?offset=0" + limit)
		if err != nil {
			return err
		}
		pages := max(1, (int(gjson.GetBytes(first, "total").Int())+p.PageSize-1)/p.PageSize)
		g, _ := errgroup.WithContext(ctx)
		g.SetLimit(concurrency)
		for i := 1; i < pages; i++ {
			g.Go(func() error {
				_, _, err := get(base + "/items?offset=" + strconv.Itoa(i*p.PageSize) + limit)
				return err
			})
		}
		return g.Wait()
	case Cursor:
		for cursor := "0"; cursor != ""; {
			_, body, err := get(base + "/items?cursor=" + cursor + limit)
			if err != nil {
				return err
			}
			cursor = gjson.GetBytes(body, "next").Str
		}
		return nil
	case Link:
		for url := base + "/items?cursor=0" + limit; url != ""; {
			resp, _, err := get(url)
			if err != nil {
				return err
			}
			url = ""
			if next := fetch.LinkNext(resp.Header); next != "" { // a header parser: no client work
				url = base + next
			}
		}
		return nil
	}
	return fmt.Errorf("bench.Floor: unknown style %q", p.Style)
}
