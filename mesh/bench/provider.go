// Package bench is the performance harness: simulated providers on loopback (latency per request,
// page size, item count and size, a rate limit answered by 429 with a reset header, and the
// pagination styles of real APIs), a source that reads them through mesh/fetch the way adapters do,
// and the critical-path bound that a build's wall time is compared with.
package bench

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Style is a pagination style.
type Style string

// Pagination styles of the simulated providers.
const (
	// Offset pages carry the total: after the first page the rest can be fetched concurrently.
	Offset Style = "offset"
	// Cursor pages name the next page in the body: pages come one after the other.
	Cursor Style = "cursor"
	// Link pages name the next page in a Link header: pages come one after the other.
	Link Style = "link"
)

// Provider is a simulated content API.
type Provider struct {
	// Items is how many items the provider holds.
	Items int
	// PageSize is the most items per page (and the default page).
	PageSize int
	// ItemBytes is the approximate size of one item's JSON.
	ItemBytes int
	// Latency is added to every request.
	Latency time.Duration
	// Style is how pages link to each other.
	Style Style
	// RateLimit, when positive, is the most requests per second; requests beyond it get 429 with
	// Retry-After set to the start of the next second window.
	RateLimit int
	// Version changes item content: items whose index is below Changed get it in their fields.
	Version, Changed int

	requests, throttled atomic.Int64
	mu                  sync.Mutex
	window              time.Time
	inWindow            int
	earliestAfter429    time.Time // no request may arrive before this
	early               atomic.Int64
	item                func(i int) []byte
}

// Requests is the number of requests the provider answered, throttled ones included.
func (p *Provider) Requests() int64 { return p.requests.Load() }

// Throttled is the number of 429 answers.
func (p *Provider) Throttled() int64 { return p.throttled.Load() }

// EarlyRequests counts requests that arrived before a 429's reset time had passed.
func (p *Provider) EarlyRequests() int64 { return p.early.Load() }

// Pages is the number of pages a full listing takes.
func (p *Provider) Pages() int { return max(1, (p.Items+p.PageSize-1)/p.PageSize) }

func (p *Provider) itemJSON(i int) []byte {
	pad := max(0, p.ItemBytes-120)
	b := make([]byte, 0, p.ItemBytes+32)
	b = fmt.Appendf(b, `{"id":"item-%07d","title":"Item %d","handle":"item-%d","v":%d,"price":{"amount":"%d.99","currencyCode":"EUR"},"body":"`,
		i, i, i, p.version(i), i%300)
	for j := 0; j < pad; j++ {
		b = append(b, "abcdefghij"[j%10])
	}
	return append(b, `"}`...)
}

func (p *Provider) version(i int) int {
	if i < p.Changed {
		return p.Version
	}
	return 0
}

// ServeHTTP answers GET /items?offset=&limit= (Offset), ?cursor= (Cursor, Link).
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	if p.Latency > 0 {
		t := time.NewTimer(p.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if p.RateLimit > 0 {
		now := time.Now()
		p.mu.Lock()
		if now.Before(p.earliestAfter429) {
			p.early.Add(1)
		}
		if now.Sub(p.window) >= time.Second {
			p.window, p.inWindow = now, 0
		}
		p.inWindow++
		over := p.inWindow > p.RateLimit
		var wait time.Duration
		if over {
			wait = p.window.Add(time.Second).Sub(now)
			if reset := now.Add(wait); reset.After(p.earliestAfter429) {
				p.earliestAfter429 = reset
			}
		}
		p.mu.Unlock()
		if over {
			p.throttled.Add(1)
			secs := int(wait / time.Second)
			if wait%time.Second != 0 {
				secs++
			}
			// X-RateLimit-Reset in seconds (ceil), the common vendor form.
			w.Header().Set("X-RateLimit-Reset", strconv.Itoa(secs))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"message":"rate limited"}`))
			return
		}
	}
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > p.PageSize {
		limit = p.PageSize
	}
	var start int
	switch p.Style {
	case Offset:
		start, _ = strconv.Atoi(q.Get("offset"))
	default:
		start, _ = strconv.Atoi(q.Get("cursor"))
	}
	start = max(0, min(start, p.Items))
	end := min(start+limit, p.Items)
	buf := make([]byte, 0, (end-start)*(p.ItemBytes+40)+64)
	buf = append(buf, `{"items":[`...)
	for i := start; i < end; i++ {
		if i > start {
			buf = append(buf, ',')
		}
		buf = append(buf, p.itemJSON(i)...)
	}
	buf = append(buf, ']')
	switch p.Style {
	case Offset:
		buf = fmt.Appendf(buf, `,"total":%d`, p.Items)
	case Cursor:
		if end < p.Items {
			buf = fmt.Appendf(buf, `,"next":"%d"`, end)
		}
	case Link:
		if end < p.Items {
			w.Header().Set("Link", fmt.Sprintf(`</items?cursor=%d&limit=%d>; rel="next"`, end, limit))
		}
	}
	buf = append(buf, '}')
	w.Header().Set("Content-Type", "application/json")
	w.Write(buf)
}

// Bound is the critical-path time of a full listing of p with the given concurrency: the requests
// that cannot overlap times the latency, or what the rate limit allows if that is slower.
func (p *Provider) Bound(concurrency int) time.Duration {
	pages := p.Pages()
	var chain int
	switch p.Style {
	case Offset:
		rest := pages - 1
		chain = 1 + (rest+concurrency-1)/concurrency
	default:
		chain = pages
	}
	bound := time.Duration(chain) * p.Latency
	if p.RateLimit > 0 && pages > p.RateLimit {
		// Whole windows needed beyond the first: the last window's requests still take a latency.
		windows := (pages - 1) / p.RateLimit
		if rl := time.Duration(windows)*time.Second + p.Latency; rl > bound {
			bound = rl
		}
	}
	return bound
}

// Sequential is the time of fetching every page one after the other.
func (p *Provider) Sequential() time.Duration { return time.Duration(p.Pages()) * p.Latency }
