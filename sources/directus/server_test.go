package directus

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// fakeDirectus is a small fake of the Directus REST API over testdata/dataset.json, with the schema
// recorded from the real server (testdata/fields.json and relations.json, from
// scripts/realservers/directus-up.sh) and the behaviors the api-notes and the real server show:
// {"data": [...]} bodies with meta.filter_count only when meta= asks; limit/page; sort; fields=*
// (a many-to-one field holds its foreign key, a one-to-many alias the keys of the many side, a
// many-to-many alias the junction rows' keys, or {"<junction field>": key} objects with
// fields=*,<alias>.<junction field>); filter[f][_gt] and filter[pk][_in]=a,b; /files; 403 FORBIDDEN
// for an unknown collection and for the schema without permission; 401 INVALID_CREDENTIALS.
type fakeDirectus struct {
	mu        sync.Mutex
	data      map[string][]map[string]any
	fields    []byte
	relations []byte
	rels      []fakeRel
	token     string // "" accepts anonymous requests
	// public answers anonymous requests as the public policy that may not read the schema.
	public   bool
	requests []string
}

type fakeRel struct {
	Collection        string `json:"collection"`
	Field             string `json:"field"`
	RelatedCollection string `json:"related_collection"`
	Meta              struct {
		OneField      string `json:"one_field"`
		JunctionField string `json:"junction_field"`
	} `json:"meta"`
}

func newFakeDirectus(token string) (*fakeDirectus, error) {
	f := &fakeDirectus{token: token}
	b, err := os.ReadFile("testdata/dataset.json")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &f.data); err != nil {
		return nil, err
	}
	if f.fields, err = os.ReadFile("testdata/fields.json"); err != nil {
		return nil, err
	}
	if f.relations, err = os.ReadFile("testdata/relations.json"); err != nil {
		return nil, err
	}
	var rels struct {
		Data []fakeRel `json:"data"`
	}
	if err := json.Unmarshal(f.relations, &rels); err != nil {
		return nil, err
	}
	f.rels = rels.Data
	return f, nil
}

func directusError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{"message": msg, "extensions": map[string]any{"code": code}}}})
}

func (f *fakeDirectus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.URL.Path+"?"+r.URL.RawQuery)
	anon := r.Header.Get("Authorization") == ""
	if !anon && r.Header.Get("Authorization") != "Bearer "+f.token || anon && !f.public && f.token != "" {
		directusError(w, 401, "INVALID_CREDENTIALS", "Invalid user credentials.")
		return
	}
	switch r.URL.Path {
	case "/fields", "/relations":
		if anon && f.public {
			directusError(w, 403, "FORBIDDEN", fmt.Sprintf("You don't have permission to perform \"read\" for collection \"directus_%s\" or it does not exist.", r.URL.Path[1:]))
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if r.URL.Path == "/fields" {
			w.Write(f.fields)
		} else {
			w.Write(f.relations)
		}
		return
	}
	coll := ""
	switch {
	case r.URL.Path == "/files":
		coll = "directus_files"
	case strings.HasPrefix(r.URL.Path, "/items/") && !strings.HasPrefix(r.URL.Path, "/items/directus_"):
		coll = strings.TrimPrefix(r.URL.Path, "/items/")
	}
	rows, ok := f.data[coll]
	if !ok {
		directusError(w, 403, "FORBIDDEN", "You don't have permission to access this.")
		return
	}
	q := r.URL.Query()
	var sel []map[string]any
	for _, row := range rows {
		if anon && coll == "articles" && row["status"] != "published" {
			continue
		}
		keep := true
		for k, v := range q {
			name, op, ok := strings.Cut(strings.TrimPrefix(k, "filter["), "][")
			if !strings.HasPrefix(k, "filter[") || !ok {
				continue
			}
			switch strings.TrimSuffix(op, "]") {
			case "_gt":
				tv, err1 := parseTime(fmt.Sprint(row[name]))
				tq, err2 := parseTime(v[0])
				keep = keep && err1 == nil && err2 == nil && tv.After(tq)
			case "_in":
				keep = keep && slices.Contains(strings.Split(v[0], ","), key(row[name]))
			default:
				directusError(w, 400, "INVALID_QUERY", "Unknown filter operator "+op)
				return
			}
		}
		if keep {
			sel = append(sel, row)
		}
	}
	if s := q.Get("sort"); s != "" {
		slices.SortStableFunc(sel, func(a, b map[string]any) int {
			ka, kb := key(a[s]), key(b[s])
			if na, err := strconv.Atoi(ka); err == nil {
				nb, _ := strconv.Atoi(kb)
				return na - nb
			}
			return strings.Compare(ka, kb)
		})
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		limit, _ = strconv.Atoi(v)
	}
	page := max(1, atoi(q.Get("page")))
	total := len(sel)
	lo, hi := min((page-1)*limit, total), min(page*limit, total)
	fields := strings.Split(q.Get("fields"), ",")
	if q.Get("fields") == "" {
		fields = []string{"*"}
	}
	out := []any{}
	for _, row := range sel[lo:hi] {
		out = append(out, f.render(coll, row, fields))
	}
	body := map[string]any{"data": out}
	if strings.Contains(q.Get("meta"), "filter_count") {
		body["meta"] = map[string]any{"filter_count": total}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(body)
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func parseTime(s string) (time.Time, error) {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a time: %q", s)
}

func key(v any) string {
	if n, ok := v.(float64); ok {
		return strconv.FormatInt(int64(n), 10)
	}
	return fmt.Sprint(v)
}

// render writes an item with the requested fields: "*" (own fields and aliases) and
// "<alias>.<field>" (junction rows as objects).
func (f *fakeDirectus) render(coll string, row map[string]any, fields []string) map[string]any {
	out := map[string]any{}
	if !slices.Contains(fields, "*") {
		for _, k := range fields {
			out[k] = row[k]
		}
		return out
	}
	maps.Copy(out, row)
	for _, rel := range f.rels {
		if rel.RelatedCollection != coll || rel.Meta.OneField == "" {
			continue
		}
		var keys []any
		for _, many := range f.data[rel.Collection] {
			if key(many[rel.Field]) != key(row["id"]) {
				continue
			}
			if jf := rel.Meta.JunctionField; jf != "" && slices.Contains(fields, rel.Meta.OneField+"."+jf) {
				keys = append(keys, map[string]any{jf: many[jf]})
			} else {
				keys = append(keys, many["id"])
			}
		}
		if keys == nil {
			keys = []any{}
		}
		out[rel.Meta.OneField] = keys
	}
	return out
}

// change runs fn under the lock.
func (f *fakeDirectus) change(fn func(data map[string][]map[string]any)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.data)
}

// row returns the row with the primary key k.
func (f *fakeDirectus) row(coll, k string) map[string]any {
	for _, r := range f.data[coll] {
		if key(r["id"]) == k {
			return r
		}
	}
	return nil
}

func (f *fakeDirectus) seen() []string {
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
