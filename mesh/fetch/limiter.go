package fetch

import (
	"context"
	"math"
	"sync"
	"time"
)

// limiter is the politeness of one client, shared by all its requests:
//
//   - an adaptive concurrency limit (AIMD): it starts at the configured concurrency, a throttled
//     answer halves it (at least 1), and it grows back by one after each window of `limit`
//     successes, as TCP's congestion window does;
//   - a token bucket for requests per second (burst 1: requests are spaced evenly);
//   - a "not before" time: a 429's reset time holds back every request of the client, not only the
//     retried one.
//
// Waiters are woken by closing a broadcast channel whenever the state changes; each re-checks.
type limiter struct {
	mu sync.Mutex

	max      int // configured concurrency
	limit    int // adaptive limit, in [1, max]
	acks     int // successes since the limit last grew
	inFlight int
	gen      uint64 // incremented by every decrease, see release

	notBefore time.Time

	rate   float64 // tokens per second; 0 = unlimited
	tokens float64
	last   time.Time // of the last refill; zero before the first acquire

	changed chan struct{}
}

// permit is one acquired request slot.
type permit struct {
	gen uint64 // limiter generation when acquired
}

// signal is what an attempt tells the limiter when it releases its slot.
type signal int

const (
	neutral   signal = iota // transport error, 4xx, 5xx: no information about the rate limit
	success                 // 2xx or 304
	throttled               // 429 or a throttling body
)

func newLimiter(concurrency int, rate float64) *limiter {
	return &limiter{
		max:     concurrency,
		limit:   concurrency,
		rate:    rate,
		tokens:  1,
		changed: make(chan struct{}),
	}
}

// broadcast wakes every waiter. l.mu must be held.
func (l *limiter) broadcast() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// acquire waits until a request may be sent: after any reset time, under the adaptive concurrency
// limit, with a token. It returns how long it waited, or ctx's error.
func (l *limiter) acquire(ctx context.Context) (permit, time.Duration, error) {
	start := time.Now()
	for {
		l.mu.Lock()
		now := time.Now()
		var delay time.Duration // > 0: wait this long (or for a change); 0: wait for a change
		switch {
		case now.Before(l.notBefore):
			delay = l.notBefore.Sub(now)
		case l.inFlight >= l.limit:
		default:
			if l.rate > 0 {
				if !l.last.IsZero() {
					l.tokens = min(1, l.tokens+now.Sub(l.last).Seconds()*l.rate)
				}
				l.last = now
				if l.tokens < 1 {
					delay = time.Duration(math.Ceil((1 - l.tokens) / l.rate * float64(time.Second)))
					break
				}
				l.tokens--
			}
			l.inFlight++
			p := permit{gen: l.gen}
			l.mu.Unlock()
			return p, time.Since(start), nil
		}
		changed := l.changed
		l.mu.Unlock()
		if err := waitFor(ctx, delay, changed); err != nil {
			return permit{}, time.Since(start), err
		}
	}
}

// sleep waits for d or ctx's end.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// waitFor waits for d (forever when d is 0), a close of changed, or ctx's end.
func waitFor(ctx context.Context, d time.Duration, changed <-chan struct{}) error {
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-changed:
	case <-timeout:
	}
	return nil
}

// release returns a permit. A throttled signal halves the limit, once per generation: requests that
// were already in flight when the limit was cut do not cut it again, so a burst of 429s from one
// overload halves the limit once instead of dropping it to 1. A positive resetAt holds back every
// request until then.
func (l *limiter) release(p permit, s signal, resetAt time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inFlight--
	switch s {
	case success:
		if l.limit < l.max {
			if l.acks++; l.acks >= l.limit {
				l.limit++
				l.acks = 0
			}
		}
	case throttled:
		if p.gen == l.gen {
			l.limit = max(1, l.limit/2)
			l.acks = 0
			l.gen++
		}
	}
	if resetAt.After(l.notBefore) {
		l.notBefore = resetAt
	}
	l.broadcast()
}

// current returns the adaptive concurrency limit.
func (l *limiter) current() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit
}
