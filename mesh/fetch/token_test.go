package fetch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestTokenCacheSharesOneRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var fetches atomic.Int32
		tc := &TokenCache{Fetch: func(ctx context.Context) (string, time.Duration, error) {
			n := fetches.Add(1)
			time.Sleep(time.Second) // the token endpoint is slow
			return fmt.Sprintf("tok-%d", n), time.Hour, nil
		}}
		var wg sync.WaitGroup
		got := make([]string, 8)
		for i := range got {
			wg.Go(func() {
				tok, err := tc.Token(context.Background())
				if err != nil {
					t.Error(err)
				}
				got[i] = tok
			})
		}
		wg.Wait()
		for _, tok := range got {
			if tok != "tok-1" {
				t.Errorf("tokens = %v", got)
				break
			}
		}
		if fetches.Load() != 1 {
			t.Errorf("%d fetches, want 1", fetches.Load())
		}
		// Refreshed a minute before the hour is up (a tenth of an hour is more than a minute).
		time.Sleep(59*time.Minute - time.Nanosecond) // the token arrived when wg.Wait returned
		if tok, _ := tc.Token(context.Background()); tok != "tok-1" {
			t.Errorf("refreshed too early: %s", tok)
		}
		time.Sleep(time.Nanosecond)
		if tok, _ := tc.Token(context.Background()); tok != "tok-2" {
			t.Errorf("not refreshed: %s", tok)
		}
		tc.Invalidate("tok-1") // stale: ignored
		if tok, _ := tc.Token(context.Background()); tok != "tok-2" {
			t.Errorf("a stale Invalidate dropped the token: %s", tok)
		}
		tc.Invalidate("tok-2")
		if tok, _ := tc.Token(context.Background()); tok != "tok-3" {
			t.Errorf("Invalidate kept the token: %s", tok)
		}
	})
}

func TestTokenCacheErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("invalid_client")
		var fetches atomic.Int32
		tc := &TokenCache{Fetch: func(ctx context.Context) (string, time.Duration, error) {
			fetches.Add(1)
			time.Sleep(time.Second)
			return "", 0, boom
		}}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if _, err := tc.Token(context.Background()); !errors.Is(err, boom) {
					t.Errorf("err = %v", err)
				}
			})
		}
		wg.Wait()
		if fetches.Load() != 1 {
			t.Errorf("a failing refresh was repeated by each waiter: %d fetches", fetches.Load())
		}
	})
	synctest.Test(t, func(t *testing.T) {
		// The leader is cancelled: the waiter fetches for itself instead of failing.
		tc := &TokenCache{Fetch: func(ctx context.Context) (string, time.Duration, error) {
			select {
			case <-time.After(time.Second):
				return "tok", 0, nil
			case <-ctx.Done():
				return "", 0, ctx.Err()
			}
		}}
		leaderCtx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		var wg sync.WaitGroup
		wg.Go(func() {
			if _, err := tc.Token(leaderCtx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("leader: %v", err)
			}
		})
		synctest.Wait()
		tok, err := tc.Token(context.Background())
		if err != nil || tok != "tok" {
			t.Errorf("waiter: %q, %v", tok, err)
		}
		wg.Wait()
	})
}

func TestTokenCacheBearer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{handle: func(r *http.Request, _ int) (*http.Response, error) {
			if r.Header.Get("Authorization") != "Bearer m2m-token-value" {
				return answer(401, `{"message":"bad"}`), nil
			}
			return answer(200, "{}"), nil
		}}
		tc := &TokenCache{Fetch: func(context.Context) (string, time.Duration, error) { return "m2m-token-value", time.Hour, nil }}
		c := newFake(t, Config{Auth: tc.Bearer()}, Options{}, rt)
		if _, err := c.Do(context.Background(), &Request{URL: "/api/v2/users"}); err != nil {
			t.Fatal(err)
		}
		failing := &TokenCache{Fetch: func(context.Context) (string, time.Duration, error) { return "", 0, nil }}
		c2 := newFake(t, Config{Auth: failing.Bearer()}, Options{}, rt)
		_, err := c2.Do(context.Background(), &Request{URL: "/api/v2/users"})
		if err == nil || !strings.Contains(err.Error(), "auth: getting an access token: empty token") {
			t.Errorf("err = %v", err)
		}
	})
}
