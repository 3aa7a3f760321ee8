package ghost

// A fake Ghost Content API for the tests, built from the documented behavior: key in the query,
// browse endpoints with limit (at most 100, as Ghost 6: limit=all is capped), page, order, include
// (authors and tags only when asked), fields, a filter in a subset of NQL (updated_at:>'...' and
// id:[...]), and meta.pagination with page, limit, pages, total, next and prev.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh/meshtest"
)

type fakeSite struct {
	mu    sync.Mutex
	items map[string][]map[string]any // resource -> items (with authors and tags embedded)

	acceptVersions map[string]bool // Accept-Version values received
	limits         map[string]bool // limit values received
	rejectSince    bool            // answer the updated_at filter 400, as a server with another date syntax would
}

func newFakeSite(t testing.TB) *fakeSite {
	f := &fakeSite{items: map[string][]map[string]any{}, acceptVersions: map[string]bool{}, limits: map[string]bool{}}
	for _, res := range resources {
		b, err := os.ReadFile("testdata/content/" + res.name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var page map[string][]map[string]any
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatalf("%s: %v", res.name, err)
		}
		f.items[res.name] = page[res.name]
	}
	return f
}

// put adds or replaces an item (by id).
func (f *fakeSite) put(t testing.TB, res, doc string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	list := f.items[res]
	if i := slices.IndexFunc(list, func(x map[string]any) bool { return x["id"] == m["id"] }); i >= 0 {
		list[i] = m
	} else {
		list = append(list, m)
	}
	f.items[res] = list
}

// edit changes an item in place.
func (f *fakeSite) edit(res, id string, fn func(map[string]any)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range f.items[res] {
		if x["id"] == id {
			fn(x)
		}
	}
}

func (f *fakeSite) remove(res, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items[res] = slices.DeleteFunc(f.items[res], func(x map[string]any) bool { return x["id"] == id })
}

func (f *fakeSite) route(srv *meshtest.FixtureServer) {
	for _, res := range resources {
		srv.Handle("GET "+apiPath+res.path(), f.browse(res.name))
	}
	srv.HandleJSON("GET "+apiPath+settingsPath, map[string]any{"settings": map[string]any{"title": "Blog", "locale": "en"}, "meta": map[string]any{}})
}

// ghostError answers in Ghost's error shape.
func ghostError(w http.ResponseWriter, status int, typ, msg, ctx string) {
	meshtest.WriteJSON(w, status, map[string]any{"errors": []map[string]any{{"message": msg, "context": ctx, "type": typ,
		"details": nil, "property": nil, "help": nil, "code": nil, "id": "c78d26d0-cd7c-11ef-b8b3-e5f236e034e9", "ghostErrorCode": nil}}})
}

var (
	sinceRE = regexp.MustCompile(`^updated_at:>'(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})'$`)
	idsRE   = regexp.MustCompile(`^id:\[([0-9a-f,]+)\]$`)
)

func (f *fakeSite) browse(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f.mu.Lock()
		f.acceptVersions[r.Header.Get("Accept-Version")] = true
		f.limits[q.Get("limit")] = true
		list := slices.Clone(f.items[name])
		f.mu.Unlock()
		limit := 15
		switch l := q.Get("limit"); l {
		case "":
		case "all":
			limit = 100 // Ghost 6 removed limit=all: at most 100
		default:
			n, err := strconv.Atoi(l)
			if err != nil || n < 1 {
				ghostError(w, 400, "ValidationError", "Validation error, cannot list "+name+".", "limit must be a number")
				return
			}
			limit = min(n, 100)
		}
		if q.Get("order") != stableOrder {
			ghostError(w, 400, "BadRequestError", "the tests want order=id asc", "order")
			return
		}
		if filter := q.Get("filter"); filter != "" {
			switch m1, m2 := sinceRE.FindStringSubmatch(filter), idsRE.FindStringSubmatch(filter); {
			case m1 != nil && f.rejectSince:
				ghostError(w, 400, "BadRequestError", "Error parsing filter", "updated_at")
				return
			case m1 != nil:
				since, _ := time.Parse(sinceLayout, m1[1])
				list = slices.DeleteFunc(list, func(x map[string]any) bool {
					at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(x["updated_at"]))
					return err != nil || !at.After(since)
				})
			case m2 != nil:
				ids := strings.Split(m2[1], ",")
				list = slices.DeleteFunc(list, func(x map[string]any) bool { return !slices.Contains(ids, x["id"].(string)) })
			default:
				ghostError(w, 400, "BadRequestError", "Error parsing filter", filter)
				return
			}
		}
		slices.SortFunc(list, func(a, b map[string]any) int { return strings.Compare(a["id"].(string), b["id"].(string)) })
		total := len(list)
		pagesN := max(1, (total+limit-1)/limit)
		page := meshtest.QueryInt(r, "page", 1)
		start := min(max(page-1, 0)*limit, total)
		end := min(start+limit, total)
		fields := q.Get("fields")
		withRelated := strings.Split(q.Get("include"), ",")
		out := make([]map[string]any, 0, end-start)
		for _, x := range list[start:end] {
			c := map[string]any{}
			for k, v := range x {
				switch {
				case fields != "" && !slices.Contains(strings.Split(fields, ","), k):
				case (k == "authors" || k == "primary_author") && !slices.Contains(withRelated, "authors"):
				case (k == "tags" || k == "primary_tag") && !slices.Contains(withRelated, "tags"):
				default:
					c[k] = v
				}
			}
			out = append(out, c)
		}
		var next, prev any
		if page < pagesN {
			next = page + 1
		}
		if page > 1 {
			prev = page - 1
		}
		meshtest.WriteJSON(w, http.StatusOK, map[string]any{name: out, "meta": map[string]any{"pagination": map[string]any{
			"page": page, "limit": limit, "pages": pagesN, "total": total, "next": next, "prev": prev}}})
	}
}
