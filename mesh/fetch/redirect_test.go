package fetch

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestCrossHostRedirectDropsCredentials(t *testing.T) {
	var mu sync.Mutex
	var got http.Header
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Clone()
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	}))
	defer other.Close()
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != "k3y-secret" {
			t.Errorf("first host did not get the key")
		}
		http.Redirect(w, r, other.URL+"/moved", http.StatusFound)
	}))
	defer first.Close()
	c, err := New(Config{Source: "t", BaseURL: first.URL, Auth: func(r *http.Request) error {
		r.Header.Set("X-Api-Key", "k3y-secret")
		r.Header.Set("Authorization", "Bearer tok")
		return nil
	}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	resp, err := c.GetJSON(context.Background(), "/start", nil)
	if err != nil || !resp.Get("ok").Bool() {
		t.Fatalf("%v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got.Get("X-Api-Key") != "" || got.Get("Authorization") != "" {
		t.Errorf("credentials followed the redirect to another host: %v", got)
	}
	if got.Get("User-Agent") == "" {
		t.Errorf("safe headers dropped too")
	}
}

func TestIdenticalGetsShareOneRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{latency: 100 * time.Millisecond, handle: func(req *http.Request, n int) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(`{"n":1}`))}, nil
		}}
		c := newFake(t, Config{}, Options{}, rt)
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				r, err := c.GetJSON(context.Background(), "/assets/1", nil)
				if err != nil || r.Get("n").Int() != 1 {
					t.Errorf("%v", err)
				}
			})
		}
		wg.Go(func() { // a different URL is not shared
			if _, err := c.GetJSON(context.Background(), "/assets/2", nil); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		if n := len(rt.requests()); n != 2 {
			t.Errorf("%d requests, want 2 (three identical GETs share one)", n)
		}
	})
}

func TestGraphQLErrorMessagesAreScrubbed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"errors":[{"message":"No channel with the token \"chan-s3cret\" exists","extensions":{"code":"CHANNEL_NOT_FOUND"}}],"data":null}`))
	}))
	defer srv.Close()
	c, _ := New(Config{Source: "shop", BaseURL: srv.URL, Auth: func(r *http.Request) error {
		r.Header.Set("vendure-token", "chan-s3cret")
		return nil
	}}, Options{})
	defer c.CloseIdleConnections()
	_, err := c.GraphQL(context.Background(), "/shop-api", "{ products { totalItems } }", nil)
	if err == nil || strings.Contains(err.Error(), "chan-s3cret") || !strings.Contains(err.Error(), "CHANNEL_NOT_FOUND") {
		t.Errorf("err = %v", err)
	}
}

func TestCursorPrefetch(t *testing.T) {
	for _, prefetch := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			rt := &fakeRT{latency: 10 * time.Millisecond, handle: func(req *http.Request, n int) (*http.Response, error) {
				next := ""
				if c := req.URL.Query().Get("c"); c < "3" {
					next = string(rune(c[0] + 1))
				}
				return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
					Body: io.NopCloser(strings.NewReader(`{"next":"` + next + `"}`))}, nil
			}}
			c := newFake(t, Config{}, Options{}, rt)
			var mu sync.Mutex
			var events []string
			log := func(e string) { mu.Lock(); events = append(events, e); mu.Unlock() }
			err := c.Cursor(context.Background(), CursorPages{
				Request: func(cur string) *Request {
					if cur == "" {
						cur = "0"
					}
					log("request " + cur)
					return &Request{URL: "/items", Query: map[string][]string{"c": {cur}}}
				},
				Next:     func(r *Response) (string, error) { return r.Get("next").String(), nil },
				Prefetch: prefetch,
			}, func(page int, r *Response) error {
				time.Sleep(50 * time.Millisecond) // work on the page
				log(fmt.Sprintf("handled %d", page))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(events, ", ")
			want := "request 0, handled 0, request 1, handled 1, request 2, handled 2, request 3, handled 3"
			if prefetch {
				want = "request 0, request 1, handled 0, request 2, handled 1, request 3, handled 2, handled 3"
			}
			if got != want {
				t.Errorf("prefetch=%v:\n got %s\nwant %s", prefetch, got, want)
			}
		})
	}
}
