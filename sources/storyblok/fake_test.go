package storyblok

// A fake Storyblok Content Delivery API v2 for the tests, built from the documented behavior:
// token in the query, a redirect to the latest cv when cv is missing, page/per_page with the totals
// in the total and per_page headers, an empty page past the end, the date filters, by_uuids, the
// links endpoint (an object keyed by UUID, folders included, paginated=1), language=, and
// version=published|draft.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh/meshtest"
)

type fakeSpace struct {
	mu      sync.Mutex
	cv      int64
	space   map[string]any
	stories map[string]map[string][]map[string]any // version -> language ("" default) -> stories
	folders []map[string]any

	redirects   int
	rejectSince bool // answer the date filters 422, as a space without them would
}

func readJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile("testdata/cdn/" + name)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func newFakeSpace(t testing.TB) *fakeSpace {
	f := &fakeSpace{stories: map[string]map[string][]map[string]any{"published": {}, "draft": {}}}
	var sp struct {
		Space map[string]any `json:"space"`
	}
	readJSON(t, "space.json", &sp)
	f.space = sp.Space
	cv, err := sp.Space["version"].(json.Number).Int64()
	if err != nil {
		t.Fatal(err)
	}
	f.cv = cv
	var pub, de, draft []map[string]any
	readJSON(t, "stories.json", &pub)
	readJSON(t, "stories.de.json", &de)
	readJSON(t, "stories.draft.json", &draft)
	readJSON(t, "folders.json", &f.folders)
	f.stories["published"][""], f.stories["published"]["de"], f.stories["draft"][""] = pub, de, draft
	return f
}

// put adds or replaces a story (by uuid) in a version and language, and bumps the cache version
// as a publication does.
func (f *fakeSpace) put(t testing.TB, version, lang, doc string) {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	list := f.stories[version][lang]
	i := slices.IndexFunc(list, func(s map[string]any) bool { return s["uuid"] == m["uuid"] })
	if i >= 0 {
		list[i] = m
	} else {
		list = append(list, m)
	}
	f.stories[version][lang] = list
	f.cv++
}

// edit changes one story of a version and language in place, and bumps the cache version.
func (f *fakeSpace) edit(version, lang, uuid string, fn func(map[string]any)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.stories[version][lang] {
		if s["uuid"] == uuid {
			fn(s)
		}
	}
	f.cv++
}

// remove deletes (or unpublishes) a story from a version, in every language.
func (f *fakeSpace) remove(version, uuid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for lang, list := range f.stories[version] {
		f.stories[version][lang] = slices.DeleteFunc(list, func(s map[string]any) bool { return s["uuid"] == uuid })
	}
	f.cv++
}

func (f *fakeSpace) route(srv *meshtest.FixtureServer) {
	srv.Handle("GET "+spacePath, f.serveSpace)
	srv.Handle("GET "+storiesPath, f.serveStories)
	srv.Handle("GET "+linksPath, f.serveLinks)
}

func (f *fakeSpace) serveSpace(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	sp := map[string]any{}
	for k, v := range f.space {
		sp[k] = v
	}
	sp["version"] = f.cv
	f.mu.Unlock()
	meshtest.WriteJSON(w, http.StatusOK, map[string]any{"space": sp})
}

// redirectCV answers a request without cv with a redirect to the same URL with the latest cv, as
// the CDN does; it reports whether it did.
func (f *fakeSpace) redirectCV(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Query().Get("cv") != "" {
		return false
	}
	f.mu.Lock()
	f.redirects++
	cv := f.cv
	f.mu.Unlock()
	q := r.URL.Query()
	q.Set("cv", strconv.FormatInt(cv, 10))
	http.Redirect(w, r, r.URL.Path+"?"+q.Encode(), http.StatusMovedPermanently)
	return true
}

func unprocessable(w http.ResponseWriter, param, msg string) {
	meshtest.WriteJSON(w, http.StatusUnprocessableEntity, map[string]any{param: []string{msg}})
}

// page slices items for page/per_page and sets the total headers.
func page(w http.ResponseWriter, r *http.Request, n, maxPer int) (start, end int, ok bool) {
	per := meshtest.QueryInt(r, "per_page", 25)
	if per < 1 || per > maxPer {
		unprocessable(w, "per_page", fmt.Sprintf("must be between 1 and %d", maxPer))
		return 0, 0, false
	}
	p := meshtest.QueryInt(r, "page", 1)
	start = min(max(p-1, 0)*per, n)
	end = min(start+per, n)
	w.Header().Set("Total", strconv.Itoa(n))
	w.Header().Set("Per-Page", strconv.Itoa(per))
	return start, end, true
}

func (f *fakeSpace) version(w http.ResponseWriter, r *http.Request) (string, bool) {
	v := r.URL.Query().Get("version")
	switch v {
	case "":
		return "published", true
	case "published", "draft":
		return v, true
	}
	unprocessable(w, "version", "is invalid")
	return "", false
}

func (f *fakeSpace) serveStories(w http.ResponseWriter, r *http.Request) {
	if f.redirectCV(w, r) {
		return
	}
	q := r.URL.Query()
	version, ok := f.version(w, r)
	if !ok {
		return
	}
	if q.Get("sort_by") != "id:asc" {
		unprocessable(w, "sort_by", "the tests want the stable order id:asc")
		return
	}
	lang := q.Get("language")
	f.mu.Lock()
	list, ok := f.stories[version][lang]
	if !ok && lang != "" {
		list, ok = f.stories["published"][lang]
	}
	list = slices.Clone(list)
	f.mu.Unlock()
	if !ok {
		unprocessable(w, "language", "is not a language of the space")
		return
	}
	for _, key := range []string{"published_at_gt", "updated_at_gt"} {
		v := q.Get(key)
		if v == "" {
			continue
		}
		if f.rejectSince {
			unprocessable(w, key, "is not a known parameter")
			return
		}
		since, err := time.Parse(sinceLayout, v)
		if err != nil {
			unprocessable(w, key, "want YYYY-MM-DD HH:MM")
			return
		}
		field := strings.TrimSuffix(key, "_gt")
		list = slices.DeleteFunc(list, func(s map[string]any) bool {
			at, _ := s[field].(string)
			t, err := time.Parse(time.RFC3339Nano, at)
			return err != nil || !t.After(since)
		})
	}
	if v := q.Get("by_uuids"); v != "" {
		want := strings.Split(v, ",")
		list = slices.DeleteFunc(list, func(s map[string]any) bool { return !slices.Contains(want, s["uuid"].(string)) })
	}
	slices.SortFunc(list, func(a, b map[string]any) int {
		x, _ := a["id"].(json.Number).Int64()
		y, _ := b["id"].(json.Number).Int64()
		return int(x - y)
	})
	start, end, ok := page(w, r, len(list), 100)
	if !ok {
		return
	}
	cv, _ := strconv.ParseInt(q.Get("cv"), 10, 64)
	meshtest.WriteJSON(w, http.StatusOK, map[string]any{"stories": list[start:end], "cv": cv, "rels": []any{}, "links": []any{}})
}

func (f *fakeSpace) serveLinks(w http.ResponseWriter, r *http.Request) {
	if f.redirectCV(w, r) {
		return
	}
	q := r.URL.Query()
	version, ok := f.version(w, r)
	if !ok {
		return
	}
	if q.Get("paginated") != "1" {
		unprocessable(w, "paginated", "the tests want paginated=1")
		return
	}
	dates := q.Get("include_dates") == "1"
	f.mu.Lock()
	var links []map[string]any
	for _, fo := range f.folders {
		links = append(links, fo)
	}
	published := map[any]bool{}
	for _, s := range f.stories["published"][""] {
		published[s["uuid"]] = true
	}
	for _, s := range f.stories[version][""] {
		l := map[string]any{"id": s["id"], "uuid": s["uuid"], "slug": s["full_slug"], "path": s["path"], "parent_id": s["parent_id"],
			"name": s["name"], "is_folder": false, "published": published[s["uuid"]], "is_startpage": s["is_startpage"],
			"position": s["position"], "real_path": "/" + s["full_slug"].(string)}
		if dates {
			l["created_at"], l["published_at"], l["updated_at"] = s["created_at"], s["published_at"], s["updated_at"]
		}
		links = append(links, l)
	}
	f.mu.Unlock()
	slices.SortFunc(links, func(a, b map[string]any) int { return strings.Compare(a["uuid"].(string), b["uuid"].(string)) })
	start, end, ok := page(w, r, len(links), 1000)
	if !ok {
		return
	}
	out := map[string]any{}
	for _, l := range links[start:end] {
		out[l["uuid"].(string)] = l
	}
	meshtest.WriteJSON(w, http.StatusOK, map[string]any{"links": out})
}
