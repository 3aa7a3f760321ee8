package fetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		opts Options
		key  string
	}{
		{"negative timeout", Config{}, Options{Timeout: -time.Second}, "timeout"},
		{"negative retries", Config{}, Options{Retries: intp(-1)}, "retries"},
		{"huge concurrency", Config{}, Options{Concurrency: 5000}, "concurrency"},
		{"negative rate", Config{}, Options{RequestsPerSecond: -1}, "requestsPerSecond"},
		{"negative body", Config{}, Options{MaxBodyBytes: -1}, "maxBodyBytes"},
		{"wait bounds", Config{}, Options{RetryWaitMin: time.Second, RetryWaitMax: time.Millisecond}, "retryWaitMax"},
		{"base scheme", Config{BaseURL: "ftp://x"}, Options{}, "baseURL"},
		{"base host", Config{BaseURL: "http://"}, Options{}, "baseURL"},
		{"base query", Config{BaseURL: "http://x/?token=abc"}, Options{}, "baseURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Source = "cms"
			_, err := New(tt.cfg, tt.opts)
			if !errors.Is(err, mesh.ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
			if want := `source "cms": key "` + tt.key + `"`; !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, want it to name %s", err, want)
			}
			if strings.Contains(err.Error(), "abc") {
				t.Errorf("err = %v leaks a secret", err)
			}
		})
	}
	c, err := New(Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := c.Options()
	if o.Timeout != DefaultTimeout || *o.Retries != DefaultRetries || o.Concurrency != DefaultConcurrency ||
		o.MaxRetryAfter != DefaultMaxRetryAfter || o.MaxBodyBytes != DefaultMaxBodyBytes ||
		o.RetryWaitMin != DefaultRetryWaitMin || o.RetryWaitMax != DefaultRetryWaitMax {
		t.Errorf("defaults not applied: %+v", o)
	}
}

func TestURLJoin(t *testing.T) {
	tests := []struct {
		base, url string
		query     map[string][]string
		want      string
	}{
		{"http://api.test", "/spaces/x/entries", nil, "http://api.test/spaces/x/entries"},
		{"http://api.test/", "spaces/x", nil, "http://api.test/spaces/x"},
		{"http://api.test/proxy/cf", "/spaces/x", nil, "http://api.test/proxy/cf/spaces/x"},
		{"http://api.test", "/e?skip=0", map[string][]string{"limit": {"10"}}, "http://api.test/e?skip=0&limit=10"},
		{"http://api.test", "https://other.test/a?b=%2F", nil, "https://other.test/a?b=%2F"},
	}
	for _, tt := range tests {
		synctest.Test(t, func(t *testing.T) {
			rt := &fakeRT{handle: func(*http.Request, int) (*http.Response, error) { return answer(200, "{}"), nil }}
			c := newFake(t, Config{BaseURL: tt.base}, Options{}, rt)
			if _, err := c.Do(context.Background(), &Request{URL: tt.url, Query: tt.query}); err != nil {
				t.Fatal(err)
			}
			if got := rt.requests()[0].url; got != tt.want {
				t.Errorf("%s + %s = %s, want %s", tt.base, tt.url, got, tt.want)
			}
		})
	}
}

func TestRetryThenSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{handle: func(_ *http.Request, n int) (*http.Response, error) {
			switch n {
			case 0:
				return answer(503, "down"), nil
			case 1:
				return nil, errors.New("connection reset by peer")
			}
			return answer(200, `{"ok":true}`), nil
		}}
		c := newFake(t, Config{Source: "cms"}, Options{}, rt)
		ctx, rec := withRecorder()
		t0 := time.Now()
		resp, err := c.Do(ctx, &Request{URL: "/x"})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != 200 || string(resp.Body) != `{"ok":true}` || resp.Attempts != 3 {
			t.Errorf("resp = %d %q after %d attempts", resp.Status, resp.Body, resp.Attempts)
		}
		// Backoff with the jitter at its top: 250ms, then 500ms.
		wantAt := []time.Duration{0, 250 * time.Millisecond, 750 * time.Millisecond}
		for i, s := range rt.requests() {
			if got := s.at.Sub(t0); got != wantAt[i] {
				t.Errorf("attempt %d sent at %s, want %s", i, got, wantAt[i])
			}
		}
		ev := rec.all()
		if len(ev) != 3 {
			t.Fatalf("%d events, want 3", len(ev))
		}
		wantStatus := []int{503, 0, 200}
		wantWait := []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond}
		for i, e := range ev {
			if e.Attempt != i || e.Status != wantStatus[i] || e.Wait != wantWait[i] || e.Method != "GET" || e.URL != "http://api.test/x" {
				t.Errorf("event %d = %+v", i, e)
			}
		}
		if ev[1].Err == "" || ev[0].Err != "" {
			t.Errorf("event errors = %q, %q", ev[0].Err, ev[1].Err)
		}
		if ev[2].Bytes != int64(len(`{"ok":true}`)) {
			t.Errorf("bytes = %d", ev[2].Bytes)
		}
		st := c.Stats()
		if st.Requests != 3 || st.Retries != 2 || st.Wait != 750*time.Millisecond || st.Failures != 0 || st.Bytes != int64(len("down")+len(`{"ok":true}`)) {
			t.Errorf("stats = %+v", st)
		}
	})
}

func TestServerWaitIsHonored(t *testing.T) {
	t0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) // synctest's epoch
	tests := []struct {
		name   string
		status int
		header []string
		want   time.Duration
	}{
		{"retry-after seconds", 429, []string{"Retry-After", "7"}, 7 * time.Second},
		{"retry-after fraction", 429, []string{"Retry-After", "2.5"}, 2500 * time.Millisecond},
		{"retry-after date", 429, []string{"Retry-After", t0.Add(12 * time.Second).Format(http.TimeFormat)}, 12 * time.Second},
		{"retry-after on 503", 503, []string{"Retry-After", "2"}, 2 * time.Second},
		{"contentful", 429, []string{"X-Contentful-RateLimit-Reset", "3"}, 3 * time.Second},
		{"bigcommerce ms", 429, []string{"X-Rate-Limit-Time-Reset-Ms", "8750"}, 8750 * time.Millisecond},
		{"epoch reset", 429, []string{"X-RateLimit-Reset", "946684820"}, 20 * time.Second},
		{"delta reset", 429, []string{"x-ratelimit-reset", "4"}, 4 * time.Second},
		{"vendor header ignored on 500", 500, []string{"X-RateLimit-Reset", "4"}, 250 * time.Millisecond},
		{"no header", 429, nil, 250 * time.Millisecond},
		{"epoch in the past", 429, []string{"X-RateLimit-Reset", "946684700"}, 250 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rt := &fakeRT{handle: func(_ *http.Request, n int) (*http.Response, error) {
					if n == 0 {
						return answer(tt.status, "", tt.header...), nil
					}
					return answer(200, "{}"), nil
				}}
				c := newFake(t, Config{}, Options{}, rt)
				if !time.Now().Equal(t0) {
					t.Fatalf("synctest epoch moved: %s", time.Now())
				}
				if _, err := c.Do(context.Background(), &Request{URL: "/x"}); err != nil {
					t.Fatal(err)
				}
				reqs := rt.requests()
				if got := reqs[1].at.Sub(reqs[0].at); got != tt.want {
					t.Errorf("retried after %s, want %s", got, tt.want)
				}
			})
		})
	}
}

func TestRetryAfterHook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{handle: func(_ *http.Request, n int) (*http.Response, error) {
			if n == 0 {
				return answer(429, "", "X-Vendor-Wait", "9", "Retry-After", "1"), nil
			}
			return answer(200, "{}"), nil
		}}
		cfg := Config{RetryAfter: func(r *http.Response, _ time.Time) (time.Duration, bool) {
			d, ok := parseSeconds(r.Header.Get("X-Vendor-Wait"))
			return d, ok
		}}
		c := newFake(t, cfg, Options{}, rt)
		if _, err := c.Do(context.Background(), &Request{URL: "/x"}); err != nil {
			t.Fatal(err)
		}
		reqs := rt.requests()
		if got := reqs[1].at.Sub(reqs[0].at); got != 9*time.Second {
			t.Errorf("waited %s, want the hook's 9s", got)
		}
	})
}

func TestRetryAfterOverCapFailsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{handle: func(_ *http.Request, n int) (*http.Response, error) {
			if n == 0 {
				return answer(429, `{"message":"slow down"}`, "Retry-After", "3600"), nil
			}
			return answer(200, "{}"), nil
		}}
		c := newFake(t, Config{}, Options{}, rt)
		t0 := time.Now()
		_, err := c.Do(context.Background(), &Request{URL: "/x?token=s3cr3t-value"})
		if time.Since(t0) != 0 {
			t.Errorf("waited %s before failing", time.Since(t0))
		}
		if !errors.Is(err, mesh.ErrRateLimited) {
			t.Fatalf("err = %v, want ErrRateLimited", err)
		}
		var se *StatusError
		if !errors.As(err, &se) || se.RetryAfter != time.Hour || se.TooLongWait != DefaultMaxRetryAfter || se.Attempts != 1 {
			t.Fatalf("err = %#v", err)
		}
		want := "GET http://api.test/x?token=REDACTED: 429 Too Many Requests: slow down (server asked to retry after 1h0m0s, more than maxRetryAfter 1m0s)"
		if err.Error() != want {
			t.Errorf("err = %q\nwant  %q", err, want)
		}
		// A refused wait does not hold back the client's other requests.
		if _, err := c.Do(context.Background(), &Request{URL: "/y"}); err != nil || time.Since(t0) != 0 {
			t.Errorf("next request: err %v after %s", err, time.Since(t0))
		}
	})
}

// TestResetHoldsBackAllRequests: once a 429 says "come back at T", no request of the client is sent
// before T: neither the retry, nor requests started later, nor requests already waiting for a slot.
func TestResetHoldsBackAllRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{latency: 100 * time.Millisecond, handle: func(r *http.Request, n int) (*http.Response, error) {
			if n == 0 {
				return answer(429, "", "Retry-After", "5"), nil
			}
			if r.URL.Path == "/second" {
				time.Sleep(200 * time.Millisecond) // finishes after the 429 arrived
			}
			return answer(200, "{}"), nil
		}}
		// Concurrency 2: one request waits for a slot while the first is in flight.
		c := newFake(t, Config{}, Options{Concurrency: 2}, rt)
		t0 := time.Now()
		reset := t0.Add(100*time.Millisecond + 5*time.Second)
		var wg sync.WaitGroup
		do := func(path string) {
			wg.Go(func() {
				if _, err := c.Do(context.Background(), &Request{URL: path}); err != nil {
					t.Error(err)
				}
			})
		}
		do("/first")
		synctest.Wait() // /first is in flight
		do("/second")   // takes the other slot
		synctest.Wait()
		do("/queued") // waits for a slot
		synctest.Wait()
		time.Sleep(400 * time.Millisecond) // the 429 has arrived; /second has finished
		synctest.Wait()
		do("/later")
		wg.Wait()
		got := map[string][]time.Time{}
		for _, s := range rt.requests() {
			p := strings.TrimPrefix(s.url, "http://api.test")
			got[p] = append(got[p], s.at)
		}
		if len(got["/first"]) != 2 || !got["/first"][0].Equal(t0) || got["/first"][1].Before(reset) {
			t.Errorf("/first sent at %v, want %s and not before %s", got["/first"], t0, reset)
		}
		// The held-back requests go as soon as the reset has passed.
		var after []time.Time
		for _, p := range []string{"/first", "/queued", "/later"} {
			after = append(after, got[p][len(got[p])-1])
		}
		sort.Slice(after, func(i, j int) bool { return after[i].Before(after[j]) })
		if !after[0].Equal(reset) {
			t.Errorf("first send after the reset at %s, want %s", after[0], reset)
		}
		if !got["/second"][0].Equal(t0) {
			t.Errorf("/second sent at %v, want at once (it was in flight before the 429)", got["/second"])
		}
		for _, p := range []string{"/queued", "/later"} {
			if len(got[p]) != 1 || got[p][0].Before(reset) {
				t.Errorf("%s sent at %v, before the reset %s", p, got[p], reset)
			}
		}
		if st := c.Stats(); st.Throttled != 1 || st.Retries != 1 || st.Requests != 5 {
			t.Errorf("stats = %+v", st)
		}
	})
}

func TestIdempotency(t *testing.T) {
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	readErr := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
	tests := []struct {
		name       string
		req        Request
		first      func() (*http.Response, error)
		wantTries  int
		wantStatus int
	}{
		{"GET 503 retried", Request{}, func() (*http.Response, error) { return answer(503, ""), nil }, 2, 200},
		{"HEAD 429 retried", Request{Method: "HEAD"}, func() (*http.Response, error) { return answer(429, ""), nil }, 2, 200},
		{"POST 503 not retried", Request{Method: "POST"}, func() (*http.Response, error) { return answer(503, ""), nil }, 1, 503},
		{"POST 429 not retried", Request{Method: "POST"}, func() (*http.Response, error) { return answer(429, ""), nil }, 1, 429},
		{"idempotent POST retried", Request{Method: "POST", Idempotent: true}, func() (*http.Response, error) { return answer(502, ""), nil }, 2, 200},
		{"POST dial error retried", Request{Method: "POST"}, func() (*http.Response, error) { return nil, dialErr }, 2, 200},
		{"POST read error not retried", Request{Method: "POST"}, func() (*http.Response, error) { return nil, readErr }, 1, 0},
		{"GET 408 retried", Request{}, func() (*http.Response, error) { return answer(408, ""), nil }, 2, 200},
		{"GET 501 not retried", Request{}, func() (*http.Response, error) { return answer(501, ""), nil }, 1, 501},
		{"GET 404 not retried", Request{}, func() (*http.Response, error) { return answer(404, ""), nil }, 1, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rt := &fakeRT{handle: func(_ *http.Request, n int) (*http.Response, error) {
					if n == 0 {
						return tt.first()
					}
					return answer(200, "{}"), nil
				}}
				c := newFake(t, Config{}, Options{}, rt)
				tt.req.URL = "/x"
				tt.req.Body = []byte("q")
				resp, err := c.Do(context.Background(), &tt.req)
				if n := len(rt.requests()); n != tt.wantTries {
					t.Errorf("%d attempts, want %d", n, tt.wantTries)
				}
				for _, s := range rt.requests() {
					if tt.req.Method == "POST" && s.body != "q" {
						t.Errorf("body %q not resent", s.body)
					}
				}
				switch {
				case tt.wantStatus == 200:
					if err != nil || resp.Status != 200 {
						t.Errorf("err = %v", err)
					}
				case tt.wantStatus == 0:
					var re *RequestError
					if !errors.As(err, &re) || !strings.Contains(err.Error(), "POST http://api.test/x: read tcp: connection reset by peer") {
						t.Errorf("err = %v", err)
					}
				default:
					var se *StatusError
					if !errors.As(err, &se) || se.StatusCode != tt.wantStatus {
						t.Errorf("err = %v, want status %d", err, tt.wantStatus)
					}
				}
			})
		})
	}
}

func TestRetriesExhausted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{handle: func(*http.Request, int) (*http.Response, error) {
			return answer(500, `{"errors":[{"message":"boom"}]}`), nil
		}}
		c := newFake(t, Config{Source: "cms"}, Options{Retries: intp(2)}, rt)
		_, err := c.Do(context.Background(), &Request{URL: "/x"})
		var se *StatusError
		if !errors.As(err, &se) || !errors.Is(err, mesh.ErrUpstream) {
			t.Fatalf("err = %v", err)
		}
		if se.Attempts != 3 || len(rt.requests()) != 3 || se.Message != "boom" || se.Source != "cms" {
			t.Errorf("err = %+v after %d requests", se, len(rt.requests()))
		}
		if want := "GET http://api.test/x: 500 Internal Server Error: boom (after 3 attempts)"; err.Error() != want {
			t.Errorf("err = %q, want %q", err, want)
		}
		if st := c.Stats(); st.Failures != 1 || st.Retries != 2 {
			t.Errorf("stats = %+v", st)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{handle: func(*http.Request, int) (*http.Response, error) { return answer(503, ""), nil }}
		c := newFake(t, Config{}, Options{Retries: intp(0)}, rt)
		if _, err := c.Do(context.Background(), &Request{URL: "/x"}); err == nil || len(rt.requests()) != 1 {
			t.Errorf("retries: 0 made %d attempts (err %v)", len(rt.requests()), err)
		}
	})
}

func TestStatusSentinels(t *testing.T) {
	tests := []struct {
		status int
		want   error
	}{
		{401, mesh.ErrUnauthorized}, {403, mesh.ErrForbidden}, {404, mesh.ErrNotFound}, {410, mesh.ErrNotFound},
		{429, mesh.ErrRateLimited}, {500, mesh.ErrUpstream}, {503, mesh.ErrUpstream}, {408, mesh.ErrUpstream},
		{400, nil}, {422, nil},
	}
	for _, tt := range tests {
		err := error(&StatusError{StatusCode: tt.status})
		for _, s := range []error{mesh.ErrUnauthorized, mesh.ErrForbidden, mesh.ErrNotFound, mesh.ErrRateLimited, mesh.ErrUpstream} {
			if got := errors.Is(err, s); got != (s == tt.want) {
				t.Errorf("%d: errors.Is(%v) = %v", tt.status, s, got)
			}
		}
	}
}

func TestContextCancelDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{handle: func(*http.Request, int) (*http.Response, error) {
			return answer(503, "", "Retry-After", "30"), nil
		}}
		c := newFake(t, Config{}, Options{}, rt)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(10*time.Second, cancel)
		t0 := time.Now()
		_, err := c.Do(ctx, &Request{URL: "/x?access_token=abcdefgh"})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if got := time.Since(t0); got != 10*time.Second {
			t.Errorf("returned after %s, want 10s", got)
		}
		if want := "GET http://api.test/x?access_token=REDACTED: context canceled"; err.Error() != want {
			t.Errorf("err = %q, want %q", err, want)
		}
		// An already cancelled context sends nothing.
		n := len(rt.requests())
		if _, err := c.Do(ctx, &Request{URL: "/y"}); !errors.Is(err, context.Canceled) || len(rt.requests()) != n {
			t.Errorf("cancelled ctx: err %v, %d requests", err, len(rt.requests())-n)
		}
	})
}

func TestAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{latency: time.Hour, handle: func(*http.Request, int) (*http.Response, error) {
			return answer(200, "{}"), nil
		}}
		c := newFake(t, Config{}, Options{Timeout: 2 * time.Second, Retries: intp(1)}, rt)
		t0 := time.Now()
		_, err := c.Do(context.Background(), &Request{URL: "/slow"})
		if !errors.Is(err, ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want ErrTimeout only", err)
		}
		if want := "GET http://api.test/slow: attempt timed out after 2s (after 2 attempts)"; err.Error() != want {
			t.Errorf("err = %q, want %q", err, want)
		}
		if got, want := time.Since(t0), 2*time.Second+250*time.Millisecond+2*time.Second; got != want {
			t.Errorf("took %s, want %s", got, want)
		}
	})
}

func TestShouldRetryHook(t *testing.T) {
	stripe := func(r *http.Response) (bool, bool) {
		switch r.Header.Get("Stripe-Should-Retry") {
		case "true":
			return true, true
		case "false":
			return false, true
		}
		return false, false
	}
	tests := []struct {
		name  string
		first *http.Response
		tries int
	}{
		{"false stops a 503", answer(503, "", "Stripe-Should-Retry", "false"), 1},
		{"true retries a 409", answer(409, "", "Stripe-Should-Retry", "true"), 2},
		{"absent: default policy", answer(500, ""), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rt := &fakeRT{handle: func(_ *http.Request, n int) (*http.Response, error) {
					if n == 0 {
						return tt.first, nil
					}
					return answer(200, "{}"), nil
				}}
				c := newFake(t, Config{ShouldRetry: stripe}, Options{}, rt)
				_, _ = c.Do(context.Background(), &Request{URL: "/v1/products"})
				if n := len(rt.requests()); n != tt.tries {
					t.Errorf("%d attempts, want %d", n, tt.tries)
				}
			})
		})
	}
}

func TestThrottledBody(t *testing.T) {
	throttled := func(r *Response) (time.Duration, bool) {
		if r.Get("throttled").Bool() {
			return 3 * time.Second, true
		}
		return 0, false
	}
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{handle: func(_ *http.Request, n int) (*http.Response, error) {
			if n == 0 {
				return answer(200, `{"throttled":true}`), nil
			}
			return answer(200, `{"throttled":false}`), nil
		}}
		c := newFake(t, Config{Throttled: throttled}, Options{}, rt)
		resp, err := c.Do(context.Background(), &Request{URL: "/x"})
		if err != nil || resp.Get("throttled").Bool() {
			t.Fatalf("err = %v", err)
		}
		reqs := rt.requests()
		if len(reqs) != 2 || reqs[1].at.Sub(reqs[0].at) != 3*time.Second {
			t.Errorf("requests %v", reqs)
		}
		if st := c.Stats(); st.Throttled != 1 || st.Concurrency != DefaultConcurrency/2 {
			t.Errorf("stats = %+v", st)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{handle: func(*http.Request, int) (*http.Response, error) {
			return answer(200, `{"throttled":true,"message":"Throttled"}`), nil
		}}
		c := newFake(t, Config{Throttled: throttled}, Options{Retries: intp(1)}, rt)
		_, err := c.Do(context.Background(), &Request{URL: "/x"})
		var se *StatusError
		if !errors.Is(err, mesh.ErrRateLimited) || !errors.As(err, &se) || !se.Throttled {
			t.Fatalf("err = %v", err)
		}
		if want := "GET http://api.test/x: 200 OK: throttled: Throttled (after 2 attempts)"; err.Error() != want {
			t.Errorf("err = %q, want %q", err, want)
		}
	})
}

func TestLimiterAIMD(t *testing.T) {
	l := newLimiter(8, 0)
	ctx := context.Background()
	var ps []permit
	for range 8 {
		p, _, err := l.acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	// Eight 429s from the same generation halve the limit once.
	for _, p := range ps {
		l.release(p, throttled, time.Time{})
	}
	if got := l.current(); got != 4 {
		t.Fatalf("limit after a burst of 429s = %d, want 4", got)
	}
	// A 429 from a request sent after the cut cuts again, down to 1 at least.
	for _, want := range []int{2, 1, 1} {
		p, _, _ := l.acquire(ctx)
		l.release(p, throttled, time.Time{})
		if got := l.current(); got != want {
			t.Fatalf("limit = %d, want %d", got, want)
		}
	}
	// It grows by one per window of `limit` successes: 1 -> 2 after 1, -> 3 after 2 more, ...
	successes := 0
	for _, want := range []int{2, 3, 4, 5, 6, 7, 8} {
		for l.current() < want {
			p, _, _ := l.acquire(ctx)
			l.release(p, success, time.Time{})
			successes++
		}
	}
	if successes != 1+2+3+4+5+6+7 {
		t.Errorf("%d successes to climb from 1 to 8, want %d", successes, 28)
	}
	p, _, _ := l.acquire(ctx)
	l.release(p, success, time.Time{})
	if got := l.current(); got != 8 {
		t.Errorf("limit above the configured concurrency: %d", got)
	}
}

// TestAIMDBoundsInFlight: a burst of 429s halves the requests in flight; they climb back one at a
// time per window of successes.
func TestAIMDBoundsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{latency: time.Second, handle: func(_ *http.Request, n int) (*http.Response, error) {
			if n < 8 {
				return answer(429, ""), nil
			}
			return answer(200, "{}"), nil
		}}
		c := newFake(t, Config{}, Options{}, rt)
		t0 := time.Now()
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				if _, err := c.Do(context.Background(), &Request{URL: fmt.Sprintf("/x?i=%d", i)}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		perSecond := map[int]int{}
		for _, s := range rt.requests() {
			perSecond[int(s.at.Sub(t0)/time.Second)]++
		}
		// 8 at once; the 429s halve the limit to 4 (once, not 8 times); 4 successes raise it to 5,
		// 5 more to 6; the last request goes alone. 16 requests + 8 retries = 24 sends.
		want := map[int]int{0: 8, 1: 4, 2: 5, 3: 6, 4: 1}
		if len(perSecond) != len(want) {
			t.Errorf("sends per second = %v, want %v", perSecond, want)
		}
		for s, n := range want {
			if perSecond[s] != n {
				t.Errorf("sends per second = %v, want %v", perSecond, want)
				break
			}
		}
		if rt.maxInFlight != 8 {
			t.Errorf("max in flight = %d, want 8", rt.maxInFlight)
		}
	})
}

func TestTokenBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{handle: func(*http.Request, int) (*http.Response, error) { return answer(200, "{}"), nil }}
		c := newFake(t, Config{}, Options{RequestsPerSecond: 2}, rt)
		t0 := time.Now()
		var wg sync.WaitGroup
		for i := range 5 {
			wg.Go(func() {
				if _, err := c.Do(context.Background(), &Request{URL: fmt.Sprintf("/x?i=%d", i)}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		var at []time.Duration
		for _, s := range rt.requests() {
			at = append(at, s.at.Sub(t0))
		}
		sort.Slice(at, func(i, j int) bool { return at[i] < at[j] })
		for i, d := range at {
			if want := time.Duration(i) * 500 * time.Millisecond; d != want {
				t.Errorf("request %d sent at %s, want %s", i, d, want)
			}
		}
		if st := c.Stats(); st.Wait != (500+1000+1500+2000)*time.Millisecond {
			t.Errorf("wait = %s, want 5s", st.Wait)
		}
	})
}

func TestLimiterHonorsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(1, 0)
		p, _, _ := l.acquire(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, waited, err := l.acquire(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || waited != 3*time.Second {
			t.Errorf("acquire = %v after %s", err, waited)
		}
		l.release(p, neutral, time.Time{})
	})
}
