// Package bench is the performance harness: simulated providers on loopback (latency per request,
// page size, item count and size, a rate limit answered by 429 with a reset header, and the
// pagination styles of real APIs), a source that reads them through mesh/fetch the way adapters do,
// and the critical-path bound that a build's wall time is compared with.
package bench

import (
	"fmt"
	"net/http"
	"os"
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
	// InFlightGrace overrides DefaultInFlightGrace.
	InFlightGrace time.Duration
	// Sync makes the provider keep a change log: the first page of a listing carries X-Sync-Token,
	// and GET /sync?token=T answers the items changed since T (a delta), as sync APIs do.
	Sync bool

	requests, throttled atomic.Int64
	mu                  sync.Mutex
	window              time.Time
	inWindow            int
	announced, resetAt  time.Time // the latest 429: when it was answered, and the reset it named
	early               atomic.Int64
	gen                 int   // generation of the data
	changedAt           []int // per item: the generation that last changed it
	// rendered caches each item's JSON, so that serving a page costs the provider a copy: a remote
	// provider's CPU is not ours, and the harness shares the machine with it.
	rendered [][]byte
}

// Touch changes the first n items (a new generation): their content differs from before.
func (p *Provider) Touch(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.initLocked()
	p.gen++
	for i := 0; i < n && i < p.Items; i++ {
		p.changedAt[i] = p.gen
		p.rendered[i] = nil
	}
}

func (p *Provider) initLocked() {
	if p.changedAt == nil {
		p.changedAt = make([]int, p.Items)
		p.rendered = make([][]byte, p.Items)
	}
}

// Prepare renders every item ahead of time, so serving costs the provider only copies.
func (p *Provider) Prepare() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.initLocked()
	for i := range p.rendered {
		if p.rendered[i] == nil {
			p.rendered[i] = p.itemJSON(i, p.changedAt[i])
		}
	}
}

// Reset zeroes the request counters.
func (p *Provider) Reset() {
	p.requests.Store(0)
	p.throttled.Store(0)
	p.early.Store(0)
}

// Requests is the number of requests the provider answered, throttled ones included.
func (p *Provider) Requests() int64 { return p.requests.Load() }

// Throttled is the number of 429 answers.
func (p *Provider) Throttled() int64 { return p.throttled.Load() }

// EarlyRequests counts requests that arrived before a 429's reset time had passed.
func (p *Provider) EarlyRequests() int64 { return p.early.Load() }

// DefaultInFlightGrace is how long after a 429 answer a request may still arrive that the client
// sent before it saw the 429: on loopback it is microseconds, but a busy machine can delay a
// goroutine between the client's gate and the send by a few milliseconds.
const DefaultInFlightGrace = 5 * time.Millisecond

// Pages is the number of pages a full listing takes.
func (p *Provider) Pages() int { return max(1, (p.Items+p.PageSize-1)/p.PageSize) }

func (p *Provider) itemJSON(i, version int) []byte {
	pad := max(0, p.ItemBytes-120)
	b := make([]byte, 0, p.ItemBytes+32)
	b = fmt.Appendf(b, `{"id":"item-%07d","title":"Item %d","handle":"item-%d","v":%d,"price":{"amount":"%d.99","currencyCode":"EUR"},"body":"`,
		i, i, i, version, i%300)
	for j := 0; j < pad; j++ {
		b = append(b, "abcdefghij"[j%10])
	}
	return append(b, `"}`...)
}

// ServeHTTP answers GET /items?offset=&limit= (Offset), ?cursor= (Cursor, Link).
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	arrival := time.Now()
	var throttle time.Duration // > 0: answer 429 with this wait
	if p.RateLimit > 0 {
		p.mu.Lock()
		// A request is early when it arrives after a 429 reached the client (announced) and before
		// the reset that 429 named. Requests already in flight when the 429 was answered are not:
		// a request that passed the client's gate just before the 429 arrived reaches the server
		// within microseconds, so arrivals within inFlightGrace of the answer are not counted.
		if arrival.After(p.announced.Add(p.grace())) && arrival.Before(p.resetAt) {
			p.early.Add(1)
			if os.Getenv("BENCH_DEBUG") != "" {
				fmt.Fprintf(os.Stderr, "early: %s after the 429, %s before reset, query %s\n", arrival.Sub(p.announced), p.resetAt.Sub(arrival), r.URL.RawQuery)
			}
		}
		if arrival.Sub(p.window) >= time.Second {
			p.window, p.inWindow = arrival, 0
		}
		p.inWindow++
		if p.inWindow > p.RateLimit {
			throttle = p.window.Add(time.Second).Sub(arrival)
		}
		p.mu.Unlock()
	}
	if p.Latency > 0 {
		t := time.NewTimer(p.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if throttle > 0 {
		p.throttled.Add(1)
		secs := int(throttle / time.Second)
		if throttle%time.Second != 0 {
			secs++
		}
		now := time.Now()
		p.mu.Lock()
		if reset := arrival.Add(throttle); reset.After(p.resetAt) {
			p.announced, p.resetAt = now, reset
		}
		p.mu.Unlock()
		// Retry-After in whole seconds (ceil), and the reset in milliseconds as BigCommerce sends it.
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		w.Header().Set("X-Rate-Limit-Time-Reset-Ms", strconv.FormatInt(throttle.Milliseconds()+1, 10))
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"message":"rate limited"}`))
		return
	}
	q := r.URL.Query()
	p.mu.Lock()
	p.initLocked()
	gen := p.gen
	versions := p.changedAt
	p.mu.Unlock()
	if r.URL.Path == "/sync" && p.Sync {
		since, _ := strconv.Atoi(q.Get("token"))
		buf := []byte(`{"items":[`)
		n := 0
		p.mu.Lock()
		for i, v := range versions {
			if v > since {
				if n > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, p.itemJSON(i, v)...)
				n++
			}
		}
		p.mu.Unlock()
		buf = fmt.Appendf(buf, `],"nextToken":"%d"}`, gen)
		w.Header().Set("Content-Type", "application/json")
		w.Write(buf)
		return
	}
	if p.Sync {
		w.Header().Set("X-Sync-Token", strconv.Itoa(gen))
	}
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
		p.mu.Lock()
		item := p.rendered[i]
		if item == nil {
			item = p.itemJSON(i, versions[i])
			p.rendered[i] = item
		}
		p.mu.Unlock()
		buf = append(buf, item...)
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

func (p *Provider) grace() time.Duration {
	if p.InFlightGrace > 0 {
		return p.InFlightGrace
	}
	return DefaultInFlightGrace
}
