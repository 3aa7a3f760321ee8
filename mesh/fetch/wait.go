package fetch

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxServerWait bounds parsed waits so that absurd header values cannot overflow a time.Duration;
// anything this long is far above any MaxRetryAfter anyway.
const maxServerWait = 1000 * 24 * time.Hour

// Epoch thresholds: a reset value at least this large is a Unix time, not a number of seconds to
// wait. 1e8 seconds is March 1973 as a Unix time, and over three years as a wait: no server asks for
// that. Unix times in seconds stay below 1e11 until the year 5138, so 1e11 and more is milliseconds.
const (
	epochSeconds = 1e8
	epochMillis  = 1e11
)

// ServerWait returns how long a retryable response asks the client to wait, from the headers that
// providers use, first match wins:
//
//   - Retry-After: seconds (fractions accepted, Shopify sends "2.0") or an HTTP date;
//   - X-Retry-After: seconds (BigCommerce);
//
// and, on a 429 only (these headers ride on every response of some APIs, where they describe the
// quota window rather than a demand to wait):
//
//   - X-Contentful-RateLimit-Reset: seconds (Contentful);
//   - X-Rate-Limit-Time-Reset-Ms: milliseconds (BigCommerce);
//   - X-RateLimit-Reset, X-Rate-Limit-Reset, RateLimit-Reset: a Unix time in seconds when the value
//     is at least 1e8 (Auth0, Okta), in milliseconds when at least 1e11, otherwise seconds to wait
//     (Sanity, the IETF draft);
//   - RateLimit: the IETF draft's structured form, its "t" (or "reset") parameter in seconds.
//
// A date or Unix time in the past gives ok=false (the clocks disagree; exponential backoff is safer
// than retrying at once). Unparsable values are ignored.
func ServerWait(resp *http.Response, now time.Time) (wait time.Duration, ok bool) {
	if resp == nil {
		return 0, false
	}
	h := resp.Header
	if resp.StatusCode == http.StatusTooManyRequests {
		// A millisecond reset is the most precise signal: prefer it to a whole-second Retry-After.
		if v, ok := parseNumber(h.Get("X-Rate-Limit-Time-Reset-Ms")); ok {
			return durationOf(v / 1000), true
		}
	}
	if d, ok := parseRetryAfter(h.Get("Retry-After"), now); ok {
		return d, true
	}
	if d, ok := parseSeconds(h.Get("X-Retry-After")); ok {
		return d, true
	}
	if resp.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	if d, ok := parseSeconds(h.Get("X-Contentful-RateLimit-Reset")); ok {
		return d, true
	}
	for _, name := range []string{"X-RateLimit-Reset", "X-Rate-Limit-Reset", "RateLimit-Reset"} {
		if d, ok := parseReset(h.Get(name), now); ok {
			return d, true
		}
	}
	if d, ok := parseStructuredRateLimit(h.Get("RateLimit")); ok {
		return d, true
	}
	return 0, false
}

// parseRetryAfter reads a Retry-After value: delta seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if d, ok := parseSeconds(v); ok {
		return d, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return untilTime(t, now)
}

// parseReset reads an X-RateLimit-Reset style value: a Unix time (seconds or milliseconds) when
// large, seconds to wait when small.
func parseReset(v string, now time.Time) (time.Duration, bool) {
	n, ok := parseNumber(v)
	if !ok {
		return 0, false
	}
	switch {
	case n >= epochMillis:
		return untilTime(time.UnixMilli(int64(n)), now)
	case n >= epochSeconds:
		sec, frac := math.Modf(n)
		return untilTime(time.Unix(int64(sec), int64(frac*1e9)), now)
	default:
		return durationOf(n), true
	}
}

// parseStructuredRateLimit reads the "t" (draft 7+) or "reset" (older drafts) parameter of an IETF
// RateLimit header, e.g. `"default";r=0;t=5` or `limit=10, remaining=0, reset=5`.
func parseStructuredRateLimit(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' }) {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		if k = strings.ToLower(strings.TrimSpace(k)); k == "t" || k == "reset" {
			return parseSeconds(val)
		}
	}
	return 0, false
}

func untilTime(t, now time.Time) (time.Duration, bool) {
	d := t.Sub(now)
	if d <= 0 {
		return 0, false
	}
	return min(d, maxServerWait), true
}

// parseSeconds reads a non-negative number of seconds.
func parseSeconds(v string) (time.Duration, bool) {
	n, ok := parseNumber(v)
	if !ok {
		return 0, false
	}
	return durationOf(n), true
}

// parseNumber reads a finite, non-negative decimal number.
func parseNumber(v string) (float64, bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 32 {
		return 0, false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < '0' || c > '9') && c != '.' {
			return 0, false // no signs, exponents, hex, Inf or NaN
		}
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, false
	}
	return n, true
}

// durationOf converts seconds to a Duration, bounded by maxServerWait.
func durationOf(seconds float64) time.Duration {
	if seconds >= maxServerWait.Seconds() {
		return maxServerWait
	}
	return time.Duration(seconds * float64(time.Second))
}

// backoff is exponential backoff with jitter: a wait drawn uniformly from
// [lo, min(hi, lo·2^attempt)], attempt counting from 0. The floor keeps a retry from following its
// failure at once; the jitter spreads the retries of concurrent requests apart.
func backoff(lo, hi time.Duration, attempt int, rnd func(n int64) int64) time.Duration {
	ceil := hi
	if attempt < 62 && lo > 0 && lo <= hi>>attempt {
		ceil = lo << attempt
	}
	if ceil <= lo {
		return lo
	}
	return lo + time.Duration(rnd(int64(ceil-lo)+1))
}
