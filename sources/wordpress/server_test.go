package wordpress

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// fakeSite is a small fake of the WordPress REST API over testdata/site.json, with the behaviors
// the api-notes document: bare array bodies, X-WP-Total / X-WP-TotalPages / Link headers, per_page
// 1-100 (400 rest_invalid_param otherwise), 400 rest_post_invalid_page_number past the last page,
// orderby/order, status (publish by default; any needs credentials, else 400 rest_invalid_param with
// rest_forbidden_status in its details, as WordPress 6.1 answers), users/me,
// modified_after on the site-local "modified", include, _fields=id, and /types and /taxonomies.
// Its data can be changed between builds (incremental tests).
type fakeSite struct {
	mu    sync.Mutex
	data  map[string][]map[string]any
	types json.RawMessage
	taxes json.RawMessage
	// auth is the accepted "Authorization" header value; "" accepts none (anonymous only).
	auth string
	// hideTotals drops X-WP-Total and X-WP-TotalPages, as some hosts do.
	hideTotals bool
	// requests counts the requests per path and query, for assertions.
	requests []string
}

// newFakeSite loads the dataset from dir (site.json, types.json, taxonomies.json).
func newFakeSite(dir, user, pass string) (*fakeSite, error) {
	f := &fakeSite{}
	b, err := os.ReadFile(dir + "/site.json")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &f.data); err != nil {
		return nil, err
	}
	if f.types, err = os.ReadFile(dir + "/types.json"); err != nil {
		return nil, err
	}
	if f.taxes, err = os.ReadFile(dir + "/taxonomies.json"); err != nil {
		return nil, err
	}
	if user != "" {
		f.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	return f, nil
}

func wpError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "data": map[string]any{"status": status}})
}

func (f *fakeSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.URL.Path+"?"+r.URL.RawQuery)
	authed := false
	if h := r.Header.Get("Authorization"); h != "" {
		// Like the real server (see scripts/realservers/wordpress-up.sh), credentials it does not
		// accept are ignored: the request is answered as an anonymous one.
		authed = f.auth != "" && h == f.auth
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/wp-json/wp/v2/")
	if rest == "users/me" {
		if !authed {
			wpError(w, 401, "rest_not_logged_in", "You are not currently logged in.")
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		fmt.Fprint(w, `{"id":1}`)
		return
	}
	if !ok || strings.Contains(rest, "/") {
		wpError(w, 404, "rest_no_route", "No route was found matching the URL and request method.")
		return
	}
	switch rest {
	case "types":
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.Write(f.types)
		return
	case "taxonomies":
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.Write(f.taxes)
		return
	}
	items, ok := f.data[rest]
	if !ok {
		wpError(w, 404, "rest_no_route", "No route was found matching the URL and request method.")
		return
	}
	q := r.URL.Query()
	perPage, page := 10, 1
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			wpError(w, 400, "rest_invalid_param", "Invalid parameter(s): per_page")
			return
		}
		perPage = n
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			wpError(w, 400, "rest_invalid_param", "Invalid parameter(s): page")
			return
		}
		page = n
	}
	postType := rest != "categories" && rest != "tags" && rest != "users" && rest != "genres"
	statuses := []string{"publish"}
	if rest == "media" {
		statuses = []string{"inherit"}
	}
	if v := q.Get("status"); v != "" {
		if !postType || rest == "media" {
			wpError(w, 400, "rest_invalid_param", "Invalid parameter(s): status")
			return
		}
		if v != "publish" && !authed {
			// What WordPress 6.1 answers (checked on the real server).
			w.Header().Set("Content-Type", "application/json; charset=UTF-8")
			w.WriteHeader(400)
			fmt.Fprint(w, `{"code":"rest_invalid_param","message":"Invalid parameter(s): status","data":{"status":400,"params":{"status":"Status is forbidden."},"details":{"status":{"code":"rest_forbidden_status","message":"Status is forbidden.","data":{"status":401}}}}}`)
			return
		}
		if v == "any" {
			statuses = []string{"publish", "draft", "pending", "future", "private"}
		} else {
			statuses = strings.Split(v, ",")
		}
	}
	var include []string
	if v := q.Get("include"); v != "" {
		include = strings.Split(v, ",")
	}
	after := q.Get("modified_after")
	var sel []map[string]any
	for _, it := range items {
		if postType {
			if st, _ := it["status"].(string); !slices.Contains(statuses, st) {
				continue
			}
		}
		if after != "" {
			if m, _ := it["modified"].(string); m <= strings.TrimSuffix(after, "Z") {
				continue
			}
		}
		if include != nil && !slices.Contains(include, fmt.Sprint(it["id"])) {
			continue
		}
		sel = append(sel, it)
	}
	id := func(m map[string]any) float64 { v, _ := m["id"].(float64); return v }
	if q.Get("orderby") == "id" {
		slices.SortStableFunc(sel, func(a, b map[string]any) int {
			c := int(id(a) - id(b))
			if q.Get("order") == "desc" {
				c = -c
			}
			return c
		})
	} else { // WordPress' default: newest first, by date (terms and users: by name)
		slices.SortStableFunc(sel, func(a, b map[string]any) int {
			da, _ := a["date"].(string)
			db, _ := b["date"].(string)
			return strings.Compare(db, da)
		})
	}
	total := len(sel)
	pages := (total + perPage - 1) / perPage
	if page > pages && total > 0 {
		wpError(w, 400, "rest_post_invalid_page_number", "The page number requested is larger than the number of pages available.")
		return
	}
	lo, hi := min((page-1)*perPage, total), min(page*perPage, total)
	out := make([]any, 0, hi-lo)
	for _, it := range sel[lo:hi] {
		if q.Get("_fields") == "id" {
			out = append(out, map[string]any{"id": it["id"]})
		} else {
			out = append(out, it)
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=UTF-8")
	if !f.hideTotals {
		h.Set("X-WP-Total", strconv.Itoa(total))
		h.Set("X-WP-TotalPages", strconv.Itoa(pages))
	}
	link := func(p int, rel string) string {
		qq := r.URL.Query()
		qq.Set("page", strconv.Itoa(p))
		return fmt.Sprintf(`<http://%s%s?%s>; rel="%s"`, r.Host, r.URL.Path, qq.Encode(), rel)
	}
	var links []string
	if page > 1 {
		links = append(links, link(page-1, "prev"))
	}
	if page < pages {
		links = append(links, link(page+1, "next"))
	}
	if len(links) > 0 {
		h.Set("Link", strings.Join(links, ", "))
	}
	json.NewEncoder(w).Encode(out)
}

// item returns the item with id in a collection, or nil.
func (f *fakeSite) item(restBase string, id int) map[string]any {
	for _, it := range f.data[restBase] {
		if v, _ := it["id"].(float64); int(v) == id {
			return it
		}
	}
	return nil
}

// update changes the fields of an item (under the lock).
func (f *fakeSite) update(restBase string, id int, fields map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it := f.item(restBase, id)
	for k, v := range fields {
		it[k] = v
	}
}

// remove deletes an item.
func (f *fakeSite) remove(restBase string, id int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.data[restBase] = slices.DeleteFunc(f.data[restBase], func(m map[string]any) bool {
		v, _ := m["id"].(float64)
		return int(v) == id
	})
}

// add appends an item (a JSON object).
func (f *fakeSite) add(restBase string, item string) {
	var m map[string]any
	if err := json.Unmarshal([]byte(item), &m); err != nil {
		panic(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.data[restBase] = append(f.data[restBase], m)
}

// seen returns the requests received so far.
func (f *fakeSite) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}
