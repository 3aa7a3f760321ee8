package strapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// fakeStrapi is a small fake of Strapi's REST Content API over testdata/dataset.json, with the
// behaviors the api-notes and the real server (scripts/realservers/strapi-up.sh) show: the v5 flat
// shape with documentId or the v4 {"id", "attributes"} shape with {"data": ...} relations;
// pagination[page]/[pageSize] capped by maxLimit with meta.pagination; sort[0]=id:asc; populate=*
// (relations, media, components, localizations); fields[n]; locale (default en, "*" in v5, "all"
// in v4); status=draft (v5) or publicationState=preview (v4), each version rejecting the other's
// parameter with a 400 ValidationError; filters[updatedAt][$gt], filters[documentId|id][$in][n];
// the content-type schema and the media library (a bare array), each deniable with 403; the error
// envelope {"data": null, "error": {...}}. Rows are versions of documents: one per documentId,
// locale and status (draft or published), each with its own id, as in Strapi 5.
type fakeStrapi struct {
	mu       sync.Mutex
	files    []map[string]any
	colls    map[string]*fakeColl
	schema   []byte
	version  int    // 4 or 5
	token    string // "" accepts anonymous requests
	denySch  bool   // 403 on the content-type schema (read-only tokens, the Public role)
	denyFile bool   // 403 on the media library (the Public role)
	maxLimit int
	requests []string
}

type fakeColl struct {
	Singular   string            `json:"singular"`
	Localized  bool              `json:"localized"`
	Relations  map[string]string `json:"relations"`
	Media      []string          `json:"media"`
	Components []string          `json:"components"`
	Rows       []map[string]any  `json:"rows"`
}

func newFakeStrapi(version int, token string) (*fakeStrapi, error) {
	var ds struct {
		Files       []map[string]any     `json:"files"`
		Collections map[string]*fakeColl `json:"collections"`
	}
	b, err := os.ReadFile("testdata/dataset.json")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &ds); err != nil {
		return nil, err
	}
	sch, err := os.ReadFile("testdata/content-types.json")
	if err != nil {
		return nil, err
	}
	ds.Collections["articles"].Components = []string{"seo"}
	return &fakeStrapi{files: ds.Files, colls: ds.Collections, schema: sch, version: version, token: token, maxLimit: 100}, nil
}

func strapiError(w http.ResponseWriter, status int, name, msg string, details map[string]any) {
	if details == nil {
		details = map[string]any{}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"data": nil, "error": map[string]any{"status": status, "name": name, "message": msg, "details": details}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(v)
}

var (
	fieldsRE  = regexp.MustCompile(`^fields\[\d+\]$`)
	inRE      = regexp.MustCompile(`^filters\[(documentId|id)\]\[\$in\]\[\d+\]$`)
	knownKeys = map[string]bool{"pagination[page]": true, "pagination[pageSize]": true, "sort[0]": true, "populate": true,
		"locale": true, "filters[updatedAt][$gt]": true}
)

func (f *fakeStrapi) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.URL.Path+"?"+r.URL.RawQuery)
	if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
		strapiError(w, 401, "UnauthorizedError", "Missing or invalid credentials", nil)
		return
	}
	switch r.URL.Path {
	case pathSchema:
		if f.denySch {
			strapiError(w, 403, "ForbiddenError", "Forbidden", nil)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(f.schema)
		return
	case pathFiles:
		if f.denyFile {
			strapiError(w, 403, "ForbiddenError", "Forbidden", nil)
			return
		}
		out := make([]any, 0, len(f.files))
		for _, file := range f.files {
			c := maps.Clone(file)
			if f.version == 4 {
				delete(c, "documentId")
			}
			out = append(out, c)
		}
		writeJSON(w, out)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, "/api/")
	c := f.colls[name]
	if !ok || c == nil {
		strapiError(w, 404, "NotFoundError", "Not Found", nil)
		return
	}
	q := r.URL.Query()
	var fields []string
	var in []string
	for k, v := range q {
		switch {
		case knownKeys[k]:
		case fieldsRE.MatchString(k):
			if v[0] == "locale" && !c.Localized {
				strapiError(w, 400, "ValidationError", "Invalid key locale", map[string]any{"key": "locale", "source": "query", "param": "fields"})
				return
			}
			fields = append(fields, v[0])
		case inRE.MatchString(k):
			in = append(in, v[0])
		case k == "status" && f.version == 5, k == "publicationState" && f.version == 4:
		default:
			strapiError(w, 400, "ValidationError", "Invalid key "+k, map[string]any{"key": k, "source": "query", "param": k})
			return
		}
	}
	draft := q.Get("status") == "draft" || q.Get("publicationState") == "preview"
	locale := q.Get("locale")
	allLocales := locale == "*" && f.version == 5 || locale == "all" && f.version == 4
	if locale == "" {
		locale = "en"
	}
	var sel []map[string]any
	for _, row := range f.rows(c, draft) {
		if c.Localized && !allLocales && row["locale"] != locale {
			continue
		}
		if after := q.Get("filters[updatedAt][$gt]"); after != "" {
			ta, err1 := time.Parse(time.RFC3339Nano, after)
			tr, err2 := time.Parse(time.RFC3339Nano, fmt.Sprint(row["updatedAt"]))
			if err1 != nil || err2 != nil || !tr.After(ta) {
				continue
			}
		}
		if len(in) > 0 && !slices.Contains(in, fmt.Sprint(row["documentId"])) && !slices.Contains(in, idOf(row)) {
			continue
		}
		sel = append(sel, row)
	}
	if q.Get("sort[0]") == "id:asc" {
		slices.SortStableFunc(sel, func(a, b map[string]any) int { return int(num(a["id"]) - num(b["id"])) })
	}
	size, _ := strconv.Atoi(q.Get("pagination[pageSize]"))
	if size <= 0 {
		size = 25
	}
	size = min(size, f.maxLimit)
	page, _ := strconv.Atoi(q.Get("pagination[page]"))
	if page <= 0 {
		page = 1
	}
	total := len(sel)
	lo, hi := min((page-1)*size, total), min(page*size, total)
	data := make([]any, 0, hi-lo)
	for _, row := range sel[lo:hi] {
		data = append(data, f.render(name, c, row, q.Get("populate") == "*", fields, draft))
	}
	writeJSON(w, map[string]any{"data": data, "meta": map[string]any{"pagination": map[string]any{
		"page": page, "pageSize": size, "pageCount": (total + size - 1) / size, "total": total}}})
}

func num(v any) int64 { n, _ := v.(float64); return int64(n) }

func idOf(row map[string]any) string { return strconv.FormatInt(num(row["id"]), 10) }

// rows returns the rows a query sees: the published versions, or with drafts the draft versions
// (v5: the latest draft of every document; v4: the published entry, else its draft). Collections
// without draft & publish have published rows only.
func (f *fakeStrapi) rows(c *fakeColl, draft bool) []map[string]any {
	var out []map[string]any
	for _, row := range c.Rows {
		st := row["status"]
		switch {
		case !draft && st == "published":
			out = append(out, row)
		case draft && f.version == 5 && (st == "draft" || !c.hasDrafts()):
			out = append(out, row)
		case draft && f.version == 4:
			if st == "published" || !c.hasPublished(row) {
				out = append(out, row)
			}
		}
	}
	return out
}

func (c *fakeColl) hasDrafts() bool {
	return slices.ContainsFunc(c.Rows, func(r map[string]any) bool { return r["status"] == "draft" })
}

func (c *fakeColl) hasPublished(row map[string]any) bool {
	return slices.ContainsFunc(c.Rows, func(r map[string]any) bool {
		return r["documentId"] == row["documentId"] && r["locale"] == row["locale"] && r["status"] == "published"
	})
}

// scalars are a row's own fields, without its links, status and (for a non-localized type) locale.
func (f *fakeStrapi) scalars(c *fakeColl, row map[string]any, populate bool) map[string]any {
	out := map[string]any{}
	for k, v := range row {
		switch {
		case k == "id" || k == "documentId" || k == "status":
		case k == "locale" && !c.Localized:
		case c.Relations[k] != "" || slices.Contains(c.Media, k):
		case slices.Contains(c.Components, k) && !populate:
		default:
			out[k] = v
		}
	}
	return out
}

// shape writes a linked or listed object in the server's version's shape.
func (f *fakeStrapi) shape(id any, doc any, attrs map[string]any) map[string]any {
	if f.version == 4 {
		return map[string]any{"id": id, "attributes": attrs}
	}
	out := map[string]any{"id": id, "documentId": doc}
	maps.Copy(out, attrs)
	return out
}

// wrap is a v4 {"data": ...} relation value; v5 has the value itself.
func (f *fakeStrapi) wrap(v any) any {
	if f.version == 4 {
		return map[string]any{"data": v}
	}
	return v
}

func (f *fakeStrapi) file(id any) any {
	for _, file := range f.files {
		if num(file["id"]) == num(id) {
			attrs := maps.Clone(file)
			delete(attrs, "id")
			delete(attrs, "documentId")
			return f.shape(file["id"], file["documentId"], attrs)
		}
	}
	return nil
}

// target finds the row of a linked document as the query sees it.
func (f *fakeStrapi) target(c *fakeColl, doc any, locale any, draft bool) map[string]any {
	rows := f.rows(c, draft)
	for _, r := range rows {
		if r["documentId"] == doc && (!c.Localized || r["locale"] == locale) {
			return r
		}
	}
	for _, r := range rows {
		if r["documentId"] == doc {
			return r
		}
	}
	return nil
}

func (f *fakeStrapi) render(name string, c *fakeColl, row map[string]any, populate bool, fields []string, draft bool) map[string]any {
	if fields != nil {
		attrs := map[string]any{}
		for _, k := range fields {
			if k != "id" {
				attrs[k] = row[k]
			}
		}
		return f.shape(row["id"], row["documentId"], attrs)
	}
	attrs := f.scalars(c, row, populate)
	if populate {
		for field, tname := range c.Relations {
			tc := f.colls[tname]
			link := func(doc any) any {
				t := f.target(tc, doc, row["locale"], draft)
				if t == nil {
					return nil
				}
				return f.shape(t["id"], t["documentId"], f.scalars(tc, t, false))
			}
			switch v := row[field].(type) {
			case []any:
				out := []any{}
				for _, doc := range v {
					if l := link(doc); l != nil {
						out = append(out, l)
					}
				}
				attrs[field] = f.wrap(out)
			case nil:
				attrs[field] = f.wrap(nil)
			default:
				attrs[field] = f.wrap(link(v))
			}
		}
		for _, m := range c.Media {
			if row[m] == nil {
				attrs[m] = f.wrap(nil)
			} else {
				attrs[m] = f.wrap(f.file(row[m]))
			}
		}
		if c.Localized {
			locs := []any{}
			for _, r := range f.rows(c, draft) {
				if r["documentId"] == row["documentId"] && r["locale"] != row["locale"] {
					locs = append(locs, f.shape(r["id"], r["documentId"], f.scalars(c, r, false)))
				}
			}
			attrs["localizations"] = f.wrap(locs)
		}
	}
	return f.shape(row["id"], row["documentId"], attrs)
}

// coll returns a collection for changes (under the caller's lock).
func (f *fakeStrapi) change(fn func(f *fakeStrapi)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// row returns the row with id in a collection.
func (c *fakeColl) row(id int) map[string]any {
	for _, r := range c.Rows {
		if num(r["id"]) == int64(id) {
			return r
		}
	}
	return nil
}

// remove deletes every row of a document.
func (c *fakeColl) remove(doc string) {
	c.Rows = slices.DeleteFunc(c.Rows, func(r map[string]any) bool { return r["documentId"] == doc })
}

// seen returns the requests received so far, with their queries unescaped.
func (f *fakeStrapi) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.requests))
	for i, r := range f.requests {
		u, err := url.QueryUnescape(r)
		if err != nil {
			u = r
		}
		out[i] = u
	}
	return out
}
