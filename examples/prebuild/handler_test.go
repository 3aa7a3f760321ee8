package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/sources/rest"
)

// shopAPI is the fixture server: GET /products answers {"items": [...]} from a map that tests change.
// With block set, requests wait until it is closed (or the client gives up).
type shopAPI struct {
	mu          sync.Mutex
	products    map[string]string // id -> title
	fail        bool
	block       chan struct{}
	arrived     chan struct{}
	inflight    int
	maxInflight int
}

func newShop() *shopAPI {
	return &shopAPI{products: map[string]string{"p1": "Kettle", "p2": "Grinder", "p3": "Scale"}, arrived: make(chan struct{}, 100)}
}

func (s *shopAPI) set(f func(*shopAPI)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *shopAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.inflight++
	s.maxInflight = max(s.maxInflight, s.inflight)
	block, fail := s.block, s.fail
	var items []string
	for id, title := range s.products {
		items = append(items, fmt.Sprintf(`{"id":%q,"title":%q}`, id, title))
	}
	s.mu.Unlock()
	defer s.set(func(s *shopAPI) { s.inflight-- })
	select {
	case s.arrived <- struct{}{}:
	default:
	}
	if block != nil {
		select {
		case <-block:
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if fail {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"message":"database on fire"}`)
		return
	}
	slices.Sort(items)
	fmt.Fprintf(w, `{"items":[%s]}`, strings.Join(items, ","))
}

// setup returns a handler whose mesh reads the fixture shop with a DirStore in a temp folder. The
// source's URL and headers carry secrets that must never reach an answer.
func setup(t *testing.T, opts HandlerOptions) (*Handler, *shopAPI, string) {
	h, shop, cache, _ := setupMesh(t, opts)
	return h, shop, cache
}

// setupMesh is setup that also returns the mesh, for a second handler on the same store.
func setupMesh(t *testing.T, opts HandlerOptions) (*Handler, *shopAPI, string, *mesh.Mesh) {
	t.Helper()
	shop := newShop()
	srv := httptest.NewServer(shop)
	t.Cleanup(srv.Close)
	retries := 0
	src, err := rest.New(rest.Config{
		URL: srv.URL + "/products?api_key=SECRET-QUERY-KEY", Items: "items", ID: "id", NodeType: "Product",
		Headers: rest.Headers{"Authorization": "Bearer SECRET-HEADER-TOKEN"},
		Options: fetch.Options{Retries: &retries},
	})
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(t.TempDir(), "cache")
	store, err := mesh.NewDirStore(cache)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mesh.New(mesh.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add("shop", src); err != nil {
		t.Fatal(err)
	}
	h, err := NewHandler(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	return h, shop, cache, m
}

// post calls the handler with ctx and returns the status and the decoded answer.
func post(t *testing.T, h http.Handler, ctx context.Context, header ...string) (int, Response, string) {
	t.Helper()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/", nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var resp Response
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("answer is not JSON (%d): %v\n%s", rec.Code, err, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	return rec.Code, resp, rec.Body.String()
}

func changes(r Response) [3][]string {
	if r.Changes == nil {
		return [3][]string{}
	}
	return [3][]string{r.Changes.Added, r.Changes.Updated, r.Changes.Deleted}
}

func TestChangeSets(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first: runs after the servers close
	h, shop, _ := setup(t, HandlerOptions{})
	ctx := context.Background()
	all := []string{"shop/product/p1", "shop/product/p2", "shop/product/p3"}
	steps := []struct {
		name   string
		change func(*shopAPI)
		want   [3][]string
	}{
		{"first call: everything added", nil, [3][]string{all, {}, {}}},
		{"unchanged: empty change set", nil, [3][]string{{}, {}, {}}},
		{"one title changed", func(s *shopAPI) { s.products["p2"] = "Hand Grinder" }, [3][]string{{}, {"shop/product/p2"}, {}}},
		{"one added, one removed", func(s *shopAPI) { s.products["p4"] = "Mug"; delete(s.products, "p1") },
			[3][]string{{"shop/product/p4"}, {}, {"shop/product/p1"}}},
		{"unchanged again", nil, [3][]string{{}, {}, {}}},
	}
	for _, st := range steps {
		if st.change != nil {
			shop.set(st.change)
		}
		code, resp, body := post(t, h, ctx)
		if code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", st.name, code, body)
		}
		if got := changes(resp); !slices.Equal(got[0], st.want[0]) || !slices.Equal(got[1], st.want[1]) || !slices.Equal(got[2], st.want[2]) {
			t.Errorf("%s: changes %v, want %v", st.name, got, st.want)
		}
		empty := len(st.want[0])+len(st.want[1])+len(st.want[2]) == 0
		if resp.Unchanged != empty || len(resp.Sources) != 1 || resp.Sources[0].Status != mesh.StatusOK || resp.Error != "" {
			t.Errorf("%s: answer %+v", st.name, resp)
		}
	}
}

func TestDeadline(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first: runs after the servers close
	for _, tc := range []struct {
		name string
		max  time.Duration // the handler's cap
		req  time.Duration // the request's own deadline; 0: none
	}{
		{"the handler's cap", 50 * time.Millisecond, 0},
		{"the request's deadline", time.Minute, 50 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, shop, cache, m := setupMesh(t, HandlerOptions{MaxDuration: tc.max})
			// The builds that must succeed go through a handler without the short cap.
			ok, err := NewHandler(m, HandlerOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if code, _, body := post(t, ok, context.Background()); code != http.StatusOK {
				t.Fatalf("first build: %d %s", code, body)
			}
			snap := readDir(t, cache)
			// A change, then a provider that never answers in time.
			shop.set(func(s *shopAPI) { s.products["p3"] = "Brew Scale"; s.block = make(chan struct{}) })
			ctx := context.Background()
			if tc.req > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.req)
				defer cancel()
			}
			code, resp, body := post(t, h, ctx)
			if code != http.StatusGatewayTimeout || !strings.Contains(resp.Error, "ran out of time") || resp.Changes != nil {
				t.Errorf("status %d, answer %s", code, body)
			}
			if after := readDir(t, cache); !equalDirs(snap, after) {
				t.Error("the snapshot changed after a build that ran out of time")
			}
			// The next call, in time, reports the change the failed one did not.
			shop.set(func(s *shopAPI) { close(s.block); s.block = nil })
			code, resp, body = post(t, ok, context.Background())
			if code != http.StatusOK || !slices.Equal(changes(resp)[1], []string{"shop/product/p3"}) {
				t.Errorf("after the timeout: %d %s", code, body)
			}
		})
	}
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		out[p] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no snapshot in %s", dir)
	}
	return out
}

func equalDirs(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(b[k], v) {
			return false
		}
	}
	return true
}

func TestSourceFailure(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first: runs after the servers close
	h, shop, cache := setup(t, HandlerOptions{})
	if code, _, body := post(t, h, context.Background()); code != http.StatusOK {
		t.Fatalf("first build: %d %s", code, body)
	}
	snap := readDir(t, cache)
	shop.set(func(s *shopAPI) { s.fail = true })
	code, resp, body := post(t, h, context.Background())
	if code != http.StatusBadGateway || resp.Changes != nil || len(resp.Sources) != 1 || resp.Sources[0].Status != mesh.StatusFailed {
		t.Fatalf("status %d, answer %s", code, body)
	}
	if !strings.Contains(resp.Sources[0].Error, "500") || !strings.Contains(resp.Sources[0].Error, "/products") {
		t.Errorf("the source's error does not say what failed: %q", resp.Sources[0].Error)
	}
	for _, secret := range []string{"SECRET-QUERY-KEY", "SECRET-HEADER-TOKEN"} {
		if strings.Contains(body, secret) {
			t.Errorf("the answer carries a secret:\n%s", body)
		}
	}
	if !equalDirs(snap, readDir(t, cache)) {
		t.Error("a failed build changed the snapshot")
	}
}

// A request that comes during a build waits for it and then builds: the two never overlap, and
// the second sees the first one's snapshot.
func TestSerialized(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first: runs after the servers close
	h, shop, _ := setup(t, HandlerOptions{})
	gate := make(chan struct{})
	shop.set(func(s *shopAPI) { s.block = gate })

	type result struct {
		code int
		resp Response
	}
	first, second := make(chan result, 1), make(chan result, 1)
	go func() {
		code, resp, _ := post(t, h, context.Background())
		first <- result{code, resp}
	}()
	<-shop.arrived // the first build is fetching, held at the gate
	go func() {
		code, resp, _ := post(t, h, context.Background())
		second <- result{code, resp}
	}()
	waitFor(t, func() bool { return h.waiting.Load() == 1 })

	// A third caller whose deadline passes while it waits gets 504 without building.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	code, resp, _ := post(t, h, ctx)
	if code != http.StatusGatewayTimeout || !strings.Contains(resp.Error, "while waiting") {
		t.Errorf("waiting caller: %d %+v", code, resp)
	}

	shop.set(func(s *shopAPI) { s.block = nil })
	close(gate)
	r1, r2 := <-first, <-second
	if r1.code != http.StatusOK || len(changes(r1.resp)[0]) != 3 {
		t.Errorf("first: %d %+v", r1.code, changes(r1.resp))
	}
	if r2.code != http.StatusOK || !r2.resp.Unchanged {
		t.Errorf("second: %d %+v: it should have built after the first saved", r2.code, changes(r2.resp))
	}
	shop.mu.Lock()
	defer shop.mu.Unlock()
	if shop.maxInflight != 1 {
		t.Errorf("%d fetches overlapped", shop.maxInflight)
	}
}

// waitFor polls cond; it fails the test after 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestMethodAndToken(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first: runs after the servers close
	h, _, _ := setup(t, HandlerOptions{Token: "s3cret"})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "POST" {
		t.Errorf("GET: %d", rec.Code)
	}
	for _, tc := range []struct {
		header []string
		want   int
	}{
		{nil, http.StatusUnauthorized},
		{[]string{"Authorization", "Bearer wrong"}, http.StatusUnauthorized},
		{[]string{"Authorization", "s3cret"}, http.StatusUnauthorized},
		{[]string{"Authorization", "Bearer s3cret"}, http.StatusOK},
	} {
		if code, _, body := post(t, h, context.Background(), tc.header...); code != tc.want {
			t.Errorf("%v: %d, want %d: %s", tc.header, code, tc.want, body)
		}
	}
}

func TestNewHandler(t *testing.T) {
	if _, err := NewHandler(nil, HandlerOptions{}); err == nil {
		t.Error("nil builder accepted")
	}
	m, _ := mesh.New(mesh.Options{})
	if _, err := NewHandler(m, HandlerOptions{MaxDuration: -time.Second}); err == nil {
		t.Error("negative max accepted")
	}
}

// The command serves the handler from a config file and stops when its context ends.
func TestRun(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first: runs after the servers close
	shop := newShop()
	srv := httptest.NewServer(shop)
	defer srv.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mesh.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("cache: cache\nsources:\n  - {name: shop, type: rest, url: %q, items: items, id: id, nodeType: Product}\n", srv.URL+"/products")), 0o644)
	env := map[string]string{"PREBUILD_TOKEN": "tok"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	var stderr bytes.Buffer
	go func() {
		done <- run(ctx, []string{"-config", cfg, "-addr", "127.0.0.1:0"}, &syncWriter{w: &stderr}, lookup, func(a string) { addrc <- a })
	}()
	addr := <-addrc
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", nil)
	req.Header.Set("Authorization", "Bearer tok")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var resp Response
	json.NewDecoder(res.Body).Decode(&resp)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || len(changes(resp)[0]) != 3 {
		t.Errorf("status %d, %+v", res.StatusCode, resp)
	}
	if _, err := os.Stat(filepath.Join(dir, "cache")); err != nil {
		t.Errorf("no snapshot in the config's cache folder: %v", err)
	}
	http.DefaultClient.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
