package ory

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

func loadIdentities(path string) ([]json.RawMessage, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ids []json.RawMessage
	if err := json.Unmarshal(b, &ids); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ids, nil
}

// FakeKratos is a small fake of the Kratos admin API's identities listing, as observed on Kratos
// v1.3.1: a bare array sorted by id, keyset paging with page_size (1-500, default 250) and an opaque
// page_token, and one Link header holding comma-separated relative links, rel="first" always and
// rel="next" unless it is the last page; errors {"error": {...}}.
type FakeKratos struct {
	identities []json.RawMessage
	// token, when set, is the bearer token the fake requires itself (Ory Network; meshtest's server
	// checks it otherwise).
	token string
}

// NewFakeKratos serves testdata/identities.json, for the example (no token: self-hosted).
func NewFakeKratos() http.Handler {
	ids, err := loadIdentities("testdata/identities.json")
	if err != nil {
		panic(err)
	}
	return &FakeKratos{identities: ids}
}

func oryError(w http.ResponseWriter, status int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": status, "status": http.StatusText(status),
		"reason": reason, "message": msg}})
}

const firstToken = "00000000-0000-0000-0000-000000000000"

func (f *FakeKratos) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
		oryError(w, http.StatusUnauthorized, "", "The request could not be authorized")
		return
	}
	if r.URL.Path != pathIdentities {
		oryError(w, http.StatusNotFound, "", "Unable to locate the resource")
		return
	}
	q := r.URL.Query()
	size, err := strconv.Atoi(cmp.Or(q.Get("page_size"), "250"))
	if err != nil || size < 1 || size > 500 {
		oryError(w, http.StatusBadRequest, "page_size must be between 1 and 500", "The request was malformed or contained invalid parameters")
		return
	}
	ids := slices.Clone(f.identities)
	id := func(raw json.RawMessage) string { return gjson.GetBytes(raw, "id").String() }
	slices.SortFunc(ids, func(a, b json.RawMessage) int { return cmp.Compare(id(a), id(b)) })
	after := cmp.Or(q.Get("page_token"), firstToken)
	start := len(ids)
	for i, it := range ids {
		if id(it) > after {
			start = i
			break
		}
	}
	end := min(start+size, len(ids))
	link := func(token, rel string) string {
		v := url.Values{"page_size": {strconv.Itoa(size)}, "page_token": {token}}
		return "<" + pathIdentities + "?" + v.Encode() + `>; rel="` + rel + `"`
	}
	links := []string{link(firstToken, "first")}
	if end < len(ids) {
		links = append(links, link(id(ids[end-1]), "next"))
	}
	w.Header().Set("Link", strings.Join(links, ","))
	w.Header().Set("Cache-Control", "private, no-cache, no-store, must-revalidate")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(append([]json.RawMessage{}, ids[start:end]...))
}
