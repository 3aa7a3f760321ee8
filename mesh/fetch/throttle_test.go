package fetch

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
)

// throttleBody is DynamoDB's throttling answer, the case Config.ThrottledError exists for.
const throttleBody = `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}`

func dynamoThrottled(status int, body []byte) (time.Duration, bool) {
	return 0, status == http.StatusBadRequest && strings.Contains(string(body), "ProvisionedThroughputExceededException")
}

func TestThrottledError(t *testing.T) {
	t.Run("retried with backoff, AIMD backs off", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := &fakeRT{handle: func(_ *http.Request, n int) (*http.Response, error) {
				if n < 2 {
					return answer(400, throttleBody), nil
				}
				return answer(200, `{"Items":[]}`), nil
			}}
			c := newFake(t, Config{ThrottledError: dynamoThrottled},
				Options{RetryWaitMin: 100 * time.Millisecond, RetryWaitMax: time.Second}, rt)
			resp, err := c.Do(context.Background(), &Request{Method: "POST", URL: "/", Body: []byte(`{}`), Idempotent: true})
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if resp.Attempts != 3 {
				t.Errorf("attempts = %d, want 3", resp.Attempts)
			}
			reqs := rt.requests()
			// newFake's jitter takes the whole backoff: 100ms, then 200ms.
			if len(reqs) != 3 || reqs[1].at.Sub(reqs[0].at) != 100*time.Millisecond || reqs[2].at.Sub(reqs[1].at) != 200*time.Millisecond {
				t.Errorf("requests at %v", reqs)
			}
			if st := c.Stats(); st.Throttled != 2 || st.Retries != 2 || st.Concurrency >= DefaultConcurrency {
				t.Errorf("stats = %+v", st)
			}
		})
	})
	t.Run("the wait it gives", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := &fakeRT{handle: func(_ *http.Request, n int) (*http.Response, error) {
				if n == 0 {
					return answer(400, throttleBody), nil
				}
				return answer(200, `{}`), nil
			}}
			wait3s := func(status int, body []byte) (time.Duration, bool) {
				_, yes := dynamoThrottled(status, body)
				return 3 * time.Second, yes
			}
			c := newFake(t, Config{ThrottledError: wait3s}, Options{}, rt)
			if _, err := c.Do(context.Background(), &Request{URL: "/x"}); err != nil {
				t.Fatal(err)
			}
			if reqs := rt.requests(); len(reqs) != 2 || reqs[1].at.Sub(reqs[0].at) != 3*time.Second {
				t.Errorf("requests at %v", reqs)
			}
		})
	})
	t.Run("out of retries: rate limited, status and message kept", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := &fakeRT{handle: func(*http.Request, int) (*http.Response, error) { return answer(400, throttleBody), nil }}
			msg := func(int, []byte) string { return "ProvisionedThroughputExceededException: exceeded" }
			c := newFake(t, Config{ThrottledError: dynamoThrottled, ErrorMessage: msg}, Options{Retries: intp(1)}, rt)
			_, err := c.Do(context.Background(), &Request{Method: "POST", URL: "/", Body: []byte(`{}`), Idempotent: true})
			var se *StatusError
			if !errors.Is(err, mesh.ErrRateLimited) || !errors.As(err, &se) || !se.Throttled || se.StatusCode != 400 {
				t.Fatalf("err = %v", err)
			}
			want := "POST http://api.test/: 400 Bad Request: throttled: ProvisionedThroughputExceededException: exceeded (after 2 attempts)"
			if err.Error() != want {
				t.Errorf("err = %q, want %q", err, want)
			}
		})
	})
	t.Run("not idempotent: not retried", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := &fakeRT{handle: func(*http.Request, int) (*http.Response, error) { return answer(400, throttleBody), nil }}
			c := newFake(t, Config{ThrottledError: dynamoThrottled}, Options{}, rt)
			_, err := c.Do(context.Background(), &Request{Method: "POST", URL: "/", Body: []byte(`{}`)})
			if !errors.Is(err, mesh.ErrRateLimited) || len(rt.requests()) != 1 {
				t.Fatalf("err = %v after %d requests", err, len(rt.requests()))
			}
		})
	})
	t.Run("other errors untouched", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := &fakeRT{handle: func(*http.Request, int) (*http.Response, error) {
				return answer(400, `{"__type":"com.amazon.coral.validate#ValidationException","message":"bad"}`), nil
			}}
			c := newFake(t, Config{ThrottledError: dynamoThrottled}, Options{}, rt)
			_, err := c.Do(context.Background(), &Request{Method: "POST", URL: "/", Body: []byte(`{}`), Idempotent: true})
			var se *StatusError
			if !errors.As(err, &se) || se.Throttled || errors.Is(err, mesh.ErrRateLimited) || len(rt.requests()) != 1 {
				t.Fatalf("err = %v after %d requests", err, len(rt.requests()))
			}
			if st := c.Stats(); st.Throttled != 0 || st.Concurrency != DefaultConcurrency {
				t.Errorf("stats = %+v", st)
			}
		})
	})
	t.Run("not asked about 429s and successes", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			asked := 0
			hook := func(int, []byte) (time.Duration, bool) { asked++; return 0, true }
			rt := &fakeRT{handle: func(_ *http.Request, n int) (*http.Response, error) {
				if n == 0 {
					return answer(429, `{}`), nil
				}
				return answer(200, `{}`), nil
			}}
			c := newFake(t, Config{ThrottledError: hook}, Options{}, rt)
			if _, err := c.Do(context.Background(), &Request{URL: "/x"}); err != nil {
				t.Fatal(err)
			}
			if asked != 0 {
				t.Errorf("ThrottledError asked %d times", asked)
			}
		})
	})
}
