package meshtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
)

// The toy API: GET /api/info (a static fixture) and GET /api/items?page=&per_page= (a route over
// testdata/toy/items.json), both behind "Authorization: Bearer <toyToken>". The toy source reads it
// with net/http and a small retry loop. It is test-only: real adapters use mesh/fetch. Its bugs
// switch on one misbehavior each, for the tests that prove the suite catches them.

const toyToken = "toy-token-3f9a1c77"

type toyBug uint32

const (
	bugWrongPrefix      toyBug = 1 << iota // IDs built with the adapter's name, not the instance name
	bugNondeterministic                    // a fetch time inside the fields
	bugDangling                            // a ref to a node that does not exist
	bugIgnorePageSize                      // never sends per_page
	bugPageZero                            // counts pages from 0 where the API counts from 1
	bugSwallowEmitErr                      // ignores the Emitter's error
	bugIgnoreCancel                        // requests and waits without the caller's cancellation
	bugLeakGoroutine                       // leaves a goroutine behind
	bugSwallow429                          // a 429 ends the listing quietly
	bugRetryEarly                          // ignores Retry-After
	bugNoRetry5xx                          // does not retry 5xx
	bugLeakSecret                          // puts the token in the 401 error
	bugAcceptHTML                          // takes a body that is not JSON for an empty page
	bugCheckIgnores401                     // Check passes whatever the status
	bugNoRecorder                          // does not report requests to the engine
	bugNoStatusInError                     // the 5xx error loses the status
	bug401AsUpstream                       // a 401 becomes ErrUpstream
	bugSwallow404                          // takes a 404 for "nothing there" (and asks for /api/tags, which has no fixture)
)

type toyItem struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Name      string `json:"name,omitempty"`
	Title     string `json:"title,omitempty"`
	Author    string `json:"author,omitempty"`
	Draft     string `json:"draft,omitempty"`
	UpdatedAt string `json:"updatedAt"`
}

// toyItemsHandler pages through items: page from 1, per_page 3 by default.
func toyItemsHandler(items []toyItem) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		per := QueryInt(r, "per_page", 3)
		page := max(QueryInt(r, "page", 1), 1)
		if per < 1 || per > 100 {
			WriteJSON(w, http.StatusBadRequest, map[string]string{"message": "per_page must be 1-100"})
			return
		}
		lo := min((page-1)*per, len(items))
		hi := min(lo+per, len(items))
		w.Header().Set("X-Total", strconv.Itoa(len(items)))
		WriteJSON(w, http.StatusOK, map[string]any{"items": items[lo:hi], "total": len(items)})
	}
}

func loadToyItems(t *testing.T) []toyItem {
	var items []toyItem
	ReadJSON(t, "testdata/toy/items.json", &items)
	return items
}

func newToyServer(t *testing.T) *FixtureServer {
	srv := NewFixtureServer(t, "testdata/toy")
	srv.RequireHeader("Authorization", "Bearer "+toyToken)
	srv.SetUnauthorized(http.StatusUnauthorized, nil, []byte(`{"message":"invalid token"}`))
	srv.Handle("GET /api/items", toyItemsHandler(loadToyItems(t)))
	return srv
}

// toyHarness is the toy source's harness, with bugs switched on.
func toyHarness(t *testing.T, bugs toyBug) Harness {
	leak := make(chan struct{})
	t.Cleanup(func() { close(leak) })
	return Harness{
		NewServer: newToyServer,
		NewSource: func(t *testing.T, env Env) (mesh.Source, error) {
			return &toySource{
				base: env.BaseURL, token: env.Credential(toyToken), pageSize: env.PageSize,
				retries: env.Retries, waitMin: env.RetryWaitMin, waitMax: env.RetryWaitMax,
				maxRetryAfter: env.MaxRetryAfter, client: &http.Client{Transport: &http.Transport{}, Timeout: env.Timeout},
				bugs: bugs, leak: leak,
			}, nil
		},
		Expect: Expectations{
			MinNodes:         8,
			Types:            []string{"Author", "Post", "Site"},
			Counts:           map[string]int{"Author": 2, "Post": 5, "Site": 1},
			IDs:              []string{"site/main", "post/p1", "post/p%2F4"},
			Refs:             []ExpectedRef{{From: "post/p1", Field: "author", To: "author/a1"}, {From: "post/p2", Field: "site", To: "site/main"}},
			DanglingPrefixes: []string{"draft/"},
		},
		Secrets:     []string{toyToken},
		cancelGrace: 3 * time.Second,
	}
}

type toySource struct {
	base, token                     string
	pageSize, retries               int
	waitMin, waitMax, maxRetryAfter time.Duration
	client                          *http.Client
	bugs                            toyBug
	leak                            chan struct{}
}

var (
	_ mesh.Source  = (*toySource)(nil)
	_ mesh.Checker = (*toySource)(nil)
)

func (s *toySource) Kind() string { return "toy" }

func (s *toySource) has(b toyBug) bool { return s.bugs&b != 0 }

// errNothingThere is what get returns under bugSwallow429 and bugSwallow404: the caller takes it
// for "nothing more".
var errNothingThere = errors.New("nothing there")

// get fetches one JSON document, retrying 429 and 5xx as Retry-After or the backoff says.
func (s *toySource) get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	u := s.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	rec := mesh.RecorderFrom(ctx)
	if s.has(bugNoRecorder) {
		rec = nil
	}
	var wait time.Duration
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+s.token)
		start := time.Now()
		resp, err := s.client.Do(req)
		ev := mesh.RequestEvent{Method: http.MethodGet, URL: u, Attempt: attempt, Start: start, Wait: wait}
		if err != nil {
			ev.Err = err.Error()
			if rec != nil {
				rec.RecordRequest(ev)
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("GET %s: %w", u, err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		ev.Status, ev.Bytes, ev.Duration = resp.StatusCode, int64(len(body)), time.Since(start)
		if rec != nil {
			rec.RecordRequest(ev)
		}
		if err != nil {
			return nil, fmt.Errorf("GET %s: reading the body: %w", u, err)
		}
		code := resp.StatusCode
		switch {
		case code == http.StatusOK:
			if !json.Valid(body) {
				if s.has(bugAcceptHTML) {
					return []byte(`{"items":[],"total":0,"site":{"id":"none"}}`), nil
				}
				return nil, fmt.Errorf("GET %s: %w: the body is not JSON (%d bytes, %s)", u, mesh.ErrBadResponse, len(body), resp.Header.Get("Content-Type"))
			}
			return body, nil
		case code == http.StatusUnauthorized:
			switch {
			case s.has(bugLeakSecret):
				return nil, fmt.Errorf("GET %s with token %s: %w", u, s.token, mesh.ErrUnauthorized)
			case s.has(bug401AsUpstream):
				return nil, fmt.Errorf("GET %s: %w: status 401", u, mesh.ErrUpstream)
			}
			return nil, fmt.Errorf("GET %s: %w (status 401)", u, mesh.ErrUnauthorized)
		case code == http.StatusTooManyRequests && s.has(bugSwallow429):
			return nil, errNothingThere
		case code == http.StatusTooManyRequests, code >= 500 && !s.has(bugNoRetry5xx):
			if attempt >= s.retries {
				sentinel := mesh.ErrUpstream
				if code == http.StatusTooManyRequests {
					sentinel = mesh.ErrRateLimited
				}
				if s.has(bugNoStatusInError) {
					return nil, fmt.Errorf("GET %s: %w", u, sentinel)
				}
				return nil, fmt.Errorf("GET %s: %w: status %d after %d attempts", u, sentinel, code, attempt+1)
			}
			wait = s.backoff(attempt)
			if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && !s.has(bugRetryEarly) {
				wait = time.Duration(ra) * time.Second
				if wait > s.maxRetryAfter {
					return nil, fmt.Errorf("GET %s: %w: the server asks to wait %s", u, mesh.ErrRateLimited, wait)
				}
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			}
		case code >= 500:
			return nil, fmt.Errorf("GET %s: %w: status %d", u, mesh.ErrUpstream, code)
		case code == http.StatusNotFound && s.has(bugSwallow404):
			return nil, errNothingThere
		case code == http.StatusNotFound:
			return nil, fmt.Errorf("GET %s: %w", u, mesh.ErrNotFound)
		default:
			return nil, fmt.Errorf("GET %s: status %d", u, code)
		}
	}
}

func (s *toySource) backoff(attempt int) time.Duration {
	hi := min(s.waitMin<<attempt, s.waitMax)
	if hi <= 0 {
		return 0
	}
	return s.waitMin/2 + rand.N(hi)
}

// Check implements mesh.Checker.
func (s *toySource) Check(ctx context.Context) error {
	_, err := s.get(ctx, "/api/info", nil)
	if s.has(bugCheckIgnores401) && errors.Is(err, mesh.ErrUnauthorized) {
		return nil
	}
	return err
}

// Fetch implements mesh.Source.
func (s *toySource) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	if s.has(bugLeakGoroutine) {
		go func() { <-s.leak }()
	}
	if s.has(bugIgnoreCancel) {
		ctx = context.WithoutCancel(ctx)
	}
	name := req.Source
	if s.has(bugWrongPrefix) {
		name = s.Kind()
	}
	emit := func(n mesh.Node) error {
		if err := out.Upsert(n); err != nil && !s.has(bugSwallowEmitErr) {
			return err
		}
		return nil
	}
	var info struct {
		Site struct{ ID, Title string }
	}
	body, err := s.get(ctx, "/api/info", nil)
	switch {
	case errors.Is(err, errNothingThere):
	case err != nil:
		return mesh.FetchResult{}, err
	default:
		if err := json.Unmarshal(body, &info); err != nil {
			return mesh.FetchResult{}, fmt.Errorf("GET /api/info: %w: %v", mesh.ErrBadResponse, err)
		}
		fields, _ := json.Marshal(map[string]any{"title": info.Site.Title})
		if err := emit(mesh.Node{ID: mesh.NodeID(name, "site", info.Site.ID), Type: "Site", NativeID: info.Site.ID, Fields: fields}); err != nil {
			return mesh.FetchResult{}, err
		}
	}
	if s.has(bugSwallow404) {
		if _, err := s.get(ctx, "/api/tags", nil); err != nil && !errors.Is(err, errNothingThere) {
			return mesh.FetchResult{}, err
		}
	}
	per := req.PageSize
	if per == 0 {
		per = s.pageSize
	}
	if s.has(bugIgnorePageSize) {
		per = 0
	}
	page := 1
	if s.has(bugPageZero) {
		page = 0
	}
	for seen := 0; ; page++ {
		if err := ctx.Err(); err != nil {
			return mesh.FetchResult{}, err
		}
		q := url.Values{"page": {strconv.Itoa(page)}}
		if per > 0 {
			q.Set("per_page", strconv.Itoa(per))
		}
		body, err := s.get(ctx, "/api/items", q)
		if errors.Is(err, errNothingThere) {
			break
		}
		if err != nil {
			return mesh.FetchResult{}, err
		}
		var pg struct {
			Items []toyItem
			Total int
		}
		if err := json.Unmarshal(body, &pg); err != nil {
			return mesh.FetchResult{}, fmt.Errorf("GET /api/items page %d: %w: %v", page, mesh.ErrBadResponse, err)
		}
		for _, it := range pg.Items {
			n, err := s.node(name, info.Site.ID, it)
			if err != nil {
				return mesh.FetchResult{}, err
			}
			if err := emit(n); err != nil {
				return mesh.FetchResult{}, err
			}
		}
		seen += len(pg.Items)
		if len(pg.Items) == 0 || seen >= pg.Total {
			break
		}
	}
	return mesh.FetchResult{}, nil
}

func (s *toySource) node(source, site string, it toyItem) (mesh.Node, error) {
	updated, err := time.Parse(time.RFC3339, it.UpdatedAt)
	if err != nil {
		return mesh.Node{}, fmt.Errorf("item %q: %w: updatedAt: %v", it.ID, mesh.ErrBadResponse, err)
	}
	ref := func(ns, id string) map[string]string { return map[string]string{"$ref": mesh.NodeID(source, ns, id)} }
	f := map[string]any{}
	var typ string
	switch it.Kind {
	case "author":
		typ, f["name"] = "Author", it.Name
	case "post":
		typ, f["title"], f["author"] = "Post", it.Title, ref("author", it.Author)
		if site != "" {
			f["site"] = ref("site", site)
		}
		if it.Draft != "" {
			f["draft"] = ref("draft", it.Draft)
		}
		if s.has(bugDangling) {
			f["tags"] = []any{ref("tag", "t1")}
		}
	default:
		return mesh.Node{}, fmt.Errorf("item %q: %w: unknown kind %q", it.ID, mesh.ErrBadResponse, it.Kind)
	}
	if s.has(bugNondeterministic) {
		f["fetchedAt"] = time.Now().UnixNano()
	}
	fields, err := json.Marshal(f)
	if err != nil {
		return mesh.Node{}, err
	}
	return mesh.Node{ID: mesh.NodeID(source, it.Kind, it.ID), Type: typ, NativeID: it.ID, UpdatedAt: updated, Fields: fields}, nil
}
