package clerk

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// instance is a dataset of Clerk records in the Backend API's shapes (testdata/instance.json).
type instance struct {
	Users         []json.RawMessage            `json:"users"`
	Organizations []json.RawMessage            `json:"organizations"`
	Memberships   map[string][]json.RawMessage `json:"memberships"`
}

func loadInstance(path string) (*instance, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var in instance
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &in, nil
}

// FakeInstance is a small fake of Clerk's Backend API over a dataset: GET /v1/users (a bare array,
// limit 1-500, offset, order_by on created_at), GET /v1/users/count, GET /v1/organizations and
// GET /v1/organizations/{id}/memberships ({"data", "total_count"}), errors in Clerk's shape.
type FakeInstance struct {
	data *instance
	// key, when set, is the secret key the fake requires itself (meshtest's server checks it
	// otherwise).
	key string
}

// NewFakeInstance serves testdata/instance.json to callers with the secret key, for the example.
func NewFakeInstance(secretKey string) http.Handler {
	data, err := loadInstance("testdata/instance.json")
	if err != nil {
		panic(err)
	}
	return &FakeInstance{data: data, key: secretKey}
}

func clerkError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"errors": []any{map[string]any{"message": msg, "long_message": msg, "code": code, "meta": map[string]any{}}},
		"clerk_trace_id": "3f9c0d5e2a7b41f8"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *FakeInstance) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.key != "" && r.Header.Get("Authorization") != "Bearer "+f.key {
		clerkError(w, http.StatusUnauthorized, "authentication_invalid", "The provided secret key is invalid.")
		return
	}
	q := r.URL.Query()
	limit, _ := strconv.Atoi(cmp.Or(q.Get("limit"), "10"))
	offset, _ := strconv.Atoi(cmp.Or(q.Get("offset"), "0"))
	if limit < 1 || limit > 500 || offset < 0 {
		clerkError(w, http.StatusUnprocessableEntity, "form_param_value_invalid", "limit must be between 1 and 500")
		return
	}
	page := func(items []json.RawMessage) []json.RawMessage {
		start := min(offset, len(items))
		return append([]json.RawMessage{}, items[start:min(start+limit, len(items))]...)
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1/"), "/")
	switch {
	case r.URL.Path == pathUsersCount:
		writeJSON(w, http.StatusOK, map[string]any{"object": "total_count", "total_count": len(f.data.Users)})
	case r.URL.Path == pathUsers:
		users := slices.Clone(f.data.Users)
		order := cmp.Or(q.Get("order_by"), "-created_at")
		slices.SortStableFunc(users, func(a, b json.RawMessage) int {
			c := cmp.Compare(gjson.GetBytes(a, "created_at").Int(), gjson.GetBytes(b, "created_at").Int())
			if order == "-created_at" {
				return -c
			}
			return c
		})
		if order != "+created_at" && order != "-created_at" && order != "created_at" {
			clerkError(w, http.StatusUnprocessableEntity, "form_param_value_invalid", "order_by is invalid")
			return
		}
		writeJSON(w, http.StatusOK, page(users))
	case r.URL.Path == pathOrgs:
		writeJSON(w, http.StatusOK, map[string]any{"data": page(f.data.Organizations), "total_count": len(f.data.Organizations)})
	case len(parts) == 3 && parts[0] == "organizations" && parts[2] == "memberships":
		ms, ok := f.data.Memberships[parts[1]]
		if !ok {
			clerkError(w, http.StatusNotFound, "resource_not_found", "Organization not found")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": page(ms), "total_count": len(ms)})
	default:
		clerkError(w, http.StatusNotFound, "resource_not_found", "not found")
	}
}
