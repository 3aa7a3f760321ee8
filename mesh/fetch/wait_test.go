package fetch

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestServerWait(t *testing.T) {
	now := time.Date(2026, 5, 3, 11, 0, 0, 0, time.UTC)
	epoch := func(d time.Duration) string { return itoa(now.Add(d).Unix()) }
	tests := []struct {
		name   string
		status int
		header []string
		want   time.Duration
		ok     bool
	}{
		{"retry-after seconds", 429, []string{"Retry-After", "120"}, 2 * time.Minute, true},
		{"retry-after zero", 429, []string{"Retry-After", "0"}, 0, true},
		{"retry-after shopify float", 429, []string{"Retry-After", "2.0"}, 2 * time.Second, true},
		{"retry-after padded", 503, []string{"Retry-After", " 3 "}, 3 * time.Second, true},
		{"retry-after date", 503, []string{"Retry-After", now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second, true},
		{"retry-after past date", 429, []string{"Retry-After", now.Add(-time.Minute).Format(http.TimeFormat)}, 0, false},
		{"retry-after negative", 429, []string{"Retry-After", "-5"}, 0, false},
		{"retry-after garbage", 429, []string{"Retry-After", "soon"}, 0, false},
		{"retry-after NaN", 429, []string{"Retry-After", "NaN"}, 0, false},
		{"retry-after exponent", 429, []string{"Retry-After", "1e3"}, 0, false},
		{"retry-after huge", 429, []string{"Retry-After", "99999999999999999999"}, maxServerWait, true},
		{"retry-after wins over vendor", 429, []string{"Retry-After", "1", "X-Contentful-RateLimit-Reset", "9"}, time.Second, true},
		{"bigcommerce x-retry-after", 429, []string{"X-Retry-After", "4"}, 4 * time.Second, true},
		{"contentful", 429, []string{"X-Contentful-RateLimit-Reset", "1"}, time.Second, true},
		{"bigcommerce ms", 429, []string{"X-Rate-Limit-Time-Reset-Ms", "8750"}, 8750 * time.Millisecond, true},
		{"auth0 epoch seconds", 429, []string{"x-ratelimit-reset", epoch(5 * time.Second)}, 5 * time.Second, true},
		{"okta epoch seconds", 429, []string{"X-Rate-Limit-Reset", epoch(42 * time.Second)}, 42 * time.Second, true},
		{"epoch milliseconds", 429, []string{"X-RateLimit-Reset", itoa(now.Add(1500 * time.Millisecond).UnixMilli())}, 1500 * time.Millisecond, true},
		{"epoch in the past", 429, []string{"X-RateLimit-Reset", epoch(-time.Second)}, 0, false},
		{"delta seconds", 429, []string{"X-RateLimit-Reset", "30"}, 30 * time.Second, true},
		{"sanity ratelimit-reset", 429, []string{"RateLimit-Reset", "2"}, 2 * time.Second, true},
		{"ietf structured", 429, []string{"RateLimit", `"default";r=0;t=7`}, 7 * time.Second, true},
		{"ietf older", 429, []string{"RateLimit", "limit=10, remaining=0, reset=6"}, 6 * time.Second, true},
		{"vendor headers only on 429", 503, []string{"X-Contentful-RateLimit-Reset", "1", "X-RateLimit-Reset", "5"}, 0, false},
		{"vendor headers not on 200", 200, []string{"X-RateLimit-Reset", "5"}, 0, false},
		{"nothing", 429, nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := answer(tt.status, "", tt.header...)
			got, ok := ServerWait(resp, now)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ServerWait = %s, %v; want %s, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	if _, ok := ServerWait(nil, now); ok {
		t.Error("ServerWait(nil) is ok")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestBackoff(t *testing.T) {
	lo, hi := 250*time.Millisecond, 10*time.Second
	top := func(n int64) int64 { return n - 1 }
	bottom := func(int64) int64 { return 0 }
	wantTop := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
		4 * time.Second, 8 * time.Second, hi, hi}
	for attempt, want := range wantTop {
		if got := backoff(lo, hi, attempt, top); got != want {
			t.Errorf("attempt %d: top of range %s, want %s", attempt, got, want)
		}
		if got := backoff(lo, hi, attempt, bottom); got != lo {
			t.Errorf("attempt %d: bottom of range %s, want %s", attempt, got, lo)
		}
	}
	for _, attempt := range []int{61, 62, 63, 100, 1 << 20} {
		if got := backoff(lo, hi, attempt, top); got != hi {
			t.Errorf("attempt %d: %s, want the cap %s", attempt, got, hi)
		}
	}
	if got := backoff(time.Second, time.Second, 3, top); got != time.Second {
		t.Errorf("lo == hi: %s", got)
	}
	// The jitter really is random: 200 draws are not all equal and all lie in the range.
	c, _ := New(Config{}, Options{})
	seen := map[time.Duration]bool{}
	for range 200 {
		d := backoff(lo, hi, 4, c.rnd)
		if d < lo || d > 4*time.Second {
			t.Fatalf("backoff %s out of [%s, 4s]", d, lo)
		}
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Error("backoff has no jitter")
	}
}

func FuzzServerWait(f *testing.F) {
	for _, s := range []string{"120", "2.0", "Wed, 21 Oct 2015 07:28:00 GMT", "1757666400", "1757666400123", "-1", "", "1e309", "NaN", `"default";r=0;t=7`} {
		f.Add(429, s)
		f.Add(503, s)
	}
	now := time.Date(2026, 5, 3, 11, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, v string) {
		for _, name := range []string{"Retry-After", "X-Retry-After", "X-Contentful-RateLimit-Reset", "X-Rate-Limit-Time-Reset-Ms", "X-RateLimit-Reset", "RateLimit"} {
			resp := answer(status, "", name, v)
			d, ok := ServerWait(resp, now)
			if d < 0 || d > maxServerWait || (!ok && d != 0) {
				t.Fatalf("%s: %q: ServerWait = %s, %v", name, v, d, ok)
			}
		}
	})
}
