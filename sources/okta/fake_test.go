package okta

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// oktaOrg is a dataset of Okta records in the Management API's shapes (testdata/org.json).
type oktaOrg struct {
	Users   []json.RawMessage   `json:"users"`
	Groups  []json.RawMessage   `json:"groups"`
	Members map[string][]string `json:"members"`
}

func loadOrg(path string) (*oktaOrg, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var o oktaOrg
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &o, nil
}

// FakeOrg is a small fake of Okta's users, groups and group members listings over a dataset: bare
// arrays, limit, an opaque after cursor, and one Link header per relation (self, next) with absolute
// URLs, as Okta sends them; errors in Okta's shape.
type FakeOrg struct {
	data *oktaOrg
	// token, when set, is the API token the fake requires itself (meshtest's server checks it
	// otherwise).
	token string
}

// NewFakeOrg serves testdata/org.json to callers with the token, for the example.
func NewFakeOrg(token string) http.Handler {
	data, err := loadOrg("testdata/org.json")
	if err != nil {
		panic(err)
	}
	return &FakeOrg{data: data, token: token}
}

func oktaError(w http.ResponseWriter, status int, code, summary string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errorCode": code, "errorSummary": summary, "errorLink": code,
		"errorId": "oaeQPivGUjNDv78vbYWWx1", "errorCauses": []any{}})
}

func (f *FakeOrg) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.token != "" && r.Header.Get("Authorization") != "SSWS "+f.token {
		oktaError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/v1/"), "/")
	switch {
	case r.URL.Path == pathUsers:
		f.page(w, r, f.data.Users)
	case r.URL.Path == pathGroups:
		f.page(w, r, f.data.Groups)
	case len(parts) == 3 && parts[0] == "groups" && parts[2] == "users":
		ids, ok := f.data.Members[parts[1]]
		if !ok {
			oktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+parts[1]+" (UserGroup)")
			return
		}
		var users []json.RawMessage
		for _, u := range f.data.Users {
			if slices.Contains(ids, gjson.GetBytes(u, "id").String()) {
				users = append(users, u)
			}
		}
		f.page(w, r, users)
	default:
		oktaError(w, http.StatusNotFound, "E0000022", "The endpoint does not support the provided HTTP method")
	}
}

// page answers one page of items sorted by id: the items after the `after` id, up to limit, with a
// self and (when more remain) a next Link header.
func (f *FakeOrg) page(w http.ResponseWriter, r *http.Request, items []json.RawMessage) {
	q := r.URL.Query()
	limit, err := strconv.Atoi(cmp.Or(q.Get("limit"), "200"))
	if err != nil || limit < 1 {
		oktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: limit")
		return
	}
	items = slices.Clone(items)
	id := func(raw json.RawMessage) string { return gjson.GetBytes(raw, "id").String() }
	slices.SortFunc(items, func(a, b json.RawMessage) int { return cmp.Compare(id(a), id(b)) })
	start := 0
	if after := q.Get("after"); after != "" {
		start = len(items)
		for i, it := range items {
			if id(it) > after {
				start = i
				break
			}
		}
	}
	end := min(start+limit, len(items))
	base := "http://" + r.Host + r.URL.Path
	w.Header().Add("Link", fmt.Sprintf(`<%s?%s>; rel="self"`, base, r.URL.RawQuery))
	if end < len(items) {
		next := url.Values{"after": {id(items[end-1])}, "limit": {strconv.Itoa(limit)}}
		w.Header().Add("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, base, next.Encode()))
	}
	w.Header().Set("X-Rate-Limit-Limit", "600")
	w.Header().Set("X-Rate-Limit-Remaining", "598")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(append([]json.RawMessage{}, items[start:end]...))
}
