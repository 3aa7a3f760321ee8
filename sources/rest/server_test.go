package rest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const testToken = "Bearer s3cret-test-token"

// fakeAPI is a JSON API over the datasets in testdata/api, with two pagination styles:
//
//	/v1/<dataset>?page=N&limit=L      {"data": [...], "links": {"next": "/v1/...?page=N+1&limit=L" | null}}
//	/v2/<dataset>?page=N&per_page=L   a bare array, and Link: <absolute URL>; rel="next"
//
// It requires the Authorization header testToken, answers If-None-Match with 304 when etags is on,
// and serves a few broken endpoints for error tests.
type fakeAPI struct {
	mu       sync.Mutex
	data     map[string][]json.RawMessage
	etags    bool
	requests []string // request URIs, in order
	srv      *httptest.Server
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	a := &fakeAPI{data: map[string][]json.RawMessage{}, etags: true}
	for _, name := range []string{"users", "posts"} {
		b, err := os.ReadFile(filepath.Join("testdata", "api", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			t.Fatal(err)
		}
		a.data[name] = items
	}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *fakeAPI) URL() string { return a.srv.URL }

func (a *fakeAPI) set(dataset string, items ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.data[dataset] = nil
	for _, it := range items {
		a.data[dataset] = append(a.data[dataset], json.RawMessage(it))
	}
}

func (a *fakeAPI) edit(dataset string, i int, item string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.data[dataset][i] = json.RawMessage(item)
}

func (a *fakeAPI) remove(dataset string, i int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.data[dataset] = append(a.data[dataset][:i:i], a.data[dataset][i+1:]...)
}

func (a *fakeAPI) log() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.requests...)
}

func (a *fakeAPI) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests = nil
}

func (a *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests = append(a.requests, r.URL.RequestURI())
	if got := r.Header.Get("Authorization"); got != testToken {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		// A careless API echoes the credential back: it must not reach the error text.
		fmt.Fprintf(w, `{"error": {"message": "invalid credentials %q"}}`, got)
		return
	}
	q := r.URL.Query()
	var body []byte
	switch r.URL.Path {
	case "/loop":
		body = []byte(`{"data": [{"id": 1}], "next": "/loop"}`)
	case "/notarray":
		body = []byte(`{"data": {"id": 1}}`)
	case "/noid":
		body = []byte(`{"data": [{"id": 1}, {"id": 2}, {"name": "no id here"}]}`)
	case "/html":
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>Maintenance</body></html>")
		return
	case "/offhost":
		body = []byte(`{"data": [{"id": 1}], "next": "http://elsewhere.invalid/steal?page=2"}`)
	case "/badnext":
		body = []byte(`{"data": [{"id": 1}], "next": 5}`)
	default:
		version, dataset, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		items, exists := a.data[dataset]
		if !ok || !exists || (version != "v1" && version != "v2") {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error": {"message": "no such collection"}}`)
			return
		}
		sizeParam := "limit"
		if version == "v2" {
			sizeParam = "per_page"
		}
		page, limit := 1, 2
		if v, err := strconv.Atoi(q.Get("page")); err == nil && v > 0 {
			page = v
		}
		if v, err := strconv.Atoi(q.Get(sizeParam)); err == nil && v > 0 {
			limit = v
		}
		start := min((page-1)*limit, len(items))
		end := min(start+limit, len(items))
		pageItems := items[start:end]
		if pageItems == nil {
			pageItems = []json.RawMessage{}
		}
		arr, _ := json.Marshal(pageItems)
		more := end < len(items)
		if version == "v1" {
			next := "null"
			if more {
				next = strconv.Quote(fmt.Sprintf("/v1/%s?page=%d&limit=%d", dataset, page+1, limit))
			}
			body = fmt.Appendf(nil, `{"data": %s, "links": {"next": %s}}`, arr, next)
		} else {
			body = arr
			if more {
				w.Header().Add("Link", fmt.Sprintf(`<%s/v2/%s?page=1&per_page=%d>; rel="first"`, a.srv.URL, dataset, limit))
				w.Header().Add("Link", fmt.Sprintf(`<%s/v2/%s?page=%d&per_page=%d>; rel="next", <%s/v2/%s?page=%d&per_page=%d>; rel="last"`,
					a.srv.URL, dataset, page+1, limit, a.srv.URL, dataset, (len(items)+limit-1)/limit, limit))
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if a.etags {
		sum := sha256.Sum256(body)
		etag := `"` + hex.EncodeToString(sum[:8]) + `"`
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Write(body)
}
