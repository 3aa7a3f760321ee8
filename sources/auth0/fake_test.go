package auth0

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"
)

// tenant is a dataset of Auth0 records, in the Management API's shapes (testdata/tenant.json).
type tenant struct {
	Users         []json.RawMessage            `json:"users"`
	Roles         []json.RawMessage            `json:"roles"`
	RoleUsers     map[string][]string          `json:"roleUsers"`
	Organizations []json.RawMessage            `json:"organizations"`
	Members       map[string][]json.RawMessage `json:"members"`
}

func loadTenant(path string) (*tenant, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var t tenant
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &t, nil
}

// FakeTenant is a small fake of the Auth0 Authentication API's /oauth/token and the Management API's
// users, roles, role users, organizations and organization members listings, over a tenant dataset.
// It enforces what the real API does that matters here: the client credentials and the bearer
// token, per_page at most 100, the offset-paging ceiling (a 400 past it, and include_totals' total
// capped at it), the two answer shapes of include_totals, checkpoint paging with an opaque next,
// member roles only with fields=roles, and Lucene created_at ranges in q.
type FakeTenant struct {
	data     *tenant
	clientID string
	secret   string
	// ceiling is the offset-paging limit (1000 at Auth0).
	ceiling int
	// expiresIn is the token lifetime sent in expires_in.
	expiresIn int
	// checkAuth makes the fake check the bearer token itself (meshtest's server does it otherwise).
	checkAuth bool

	mu sync.Mutex
	// revoked tokens get a 401 from the Management API.
	revoked map[string]bool
	// tokens counts token requests; issued counts tokens handed out.
	tokens atomic.Int64
	issued atomic.Int64
	// maxStart is the largest offset a users request asked for.
	maxStart atomic.Int64
	// echoSecret makes the token endpoint's 401 echo the client secret it got (a hostile server).
	echoSecret bool
	byCreation []fakeUser
}

func newFakeTenant(data *tenant, clientID, secret string) *FakeTenant {
	f := &FakeTenant{data: data, clientID: clientID, secret: secret, ceiling: 1000, expiresIn: 86400,
		revoked: map[string]bool{}}
	for _, u := range data.Users {
		f.byCreation = append(f.byCreation, fakeUser{raw: u, id: gjson.GetBytes(u, "user_id").String(), created: createdAt(u)})
	}
	return f
}

// fakeUser is a user of the dataset with its sort keys read once.
type fakeUser struct {
	raw     json.RawMessage
	id      string
	created time.Time
}

// NewFakeTenant serves testdata/tenant.json, for the example: it checks the credentials itself.
func NewFakeTenant(clientID, secret string) http.Handler {
	data, err := loadTenant("testdata/tenant.json")
	if err != nil {
		panic(err)
	}
	f := newFakeTenant(data, clientID, secret)
	f.checkAuth = true
	return f
}

// tokenFor is the token the fake issues for a client secret: a wrong secret gets a token that the
// Management API then rejects (meshtest's credential check sees only headers).
func tokenFor(secret string, n int64) string {
	h := sha256.Sum256([]byte(secret))
	return "eyJhbGciOiJSUzI1NiJ9.fake-" + hex.EncodeToString(h[:8]) + "-" + strconv.FormatInt(n, 10)
}

// goodToken reports whether a bearer token was issued for the right secret and is not revoked.
func (f *FakeTenant) goodToken(auth string) bool {
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return false
	}
	h := sha256.Sum256([]byte(f.secret))
	if !strings.HasPrefix(tok, "eyJhbGciOiJSUzI1NiJ9.fake-"+hex.EncodeToString(h[:8])+"-") {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.revoked[tok]
}

func (f *FakeTenant) revoke(tok string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked[tok] = true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("x-ratelimit-limit", "50")
	w.Header().Set("x-ratelimit-remaining", "49")
	w.Header().Set("x-ratelimit-reset", strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10))
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, msg, code string) {
	writeJSON(w, status, map[string]any{"statusCode": status, "error": http.StatusText(status), "message": msg, "errorCode": code})
}

func (f *FakeTenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == pathToken {
		f.token(w, r)
		return
	}
	if f.checkAuth && !f.goodToken(r.Header.Get("Authorization")) {
		apiError(w, http.StatusUnauthorized, "Invalid token", "invalid_token")
		return
	}
	if r.Method != http.MethodGet {
		apiError(w, http.StatusMethodNotAllowed, "method not allowed", "")
		return
	}
	// r.URL.Path is unescaped: IDs with '|' arrive escaped and are compared unescaped.
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/v2/"), "/")
	switch {
	case r.URL.Path == pathUsers:
		f.users(w, r)
	case r.URL.Path == pathRoles:
		f.offsetList(w, r, "roles", f.data.Roles)
	case len(parts) == 3 && parts[0] == "roles" && parts[2] == "users":
		var users []json.RawMessage
		for _, id := range f.data.RoleUsers[parts[1]] {
			for _, u := range f.data.Users {
				if gjson.GetBytes(u, "user_id").String() == id {
					users = append(users, pick(u, "user_id", "email", "picture", "name"))
				}
			}
		}
		f.checkpointList(w, r, "users", users)
	case r.URL.Path == pathOrgs:
		f.checkpointList(w, r, "organizations", f.data.Organizations)
	case len(parts) == 3 && parts[0] == "organizations" && parts[2] == "members":
		fields := strings.Split(r.URL.Query().Get("fields"), ",")
		var members []json.RawMessage
		for _, m := range f.data.Members[parts[1]] {
			if r.URL.Query().Get("fields") == "" {
				members = append(members, without(m, "roles"))
			} else {
				members = append(members, pick(m, fields...))
			}
		}
		f.checkpointList(w, r, "members", members)
	default:
		apiError(w, http.StatusNotFound, "Not Found", "inexistent_resource")
	}
}

func (f *FakeTenant) token(w http.ResponseWriter, r *http.Request) {
	f.tokens.Add(1)
	var body struct {
		GrantType    string `json:"grant_type"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Audience     string `json:"audience"`
	}
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&body) != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "bad body"})
		return
	}
	switch {
	case body.GrantType != "client_credentials" || !strings.HasSuffix(body.Audience, "/api/v2/"):
		writeJSON(w, http.StatusForbidden, map[string]any{"error": "access_denied", "error_description": "Service not enabled within domain: " + body.Audience})
		return
	case body.ClientID != f.clientID || (f.checkAuth && body.ClientSecret != f.secret):
		desc := "Unauthorized"
		if f.echoSecret {
			desc = "Unauthorized: client_secret " + body.ClientSecret + " is wrong"
		}
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "access_denied", "error_description": desc})
		return
	}
	n := f.issued.Add(1)
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tokenFor(body.ClientSecret, n), "token_type": "Bearer",
		"expires_in": f.expiresIn, "scope": "read:users read:roles read:role_members read:organizations read:organization_members read:organization_member_roles"})
}

// users serves GET /api/v2/users: q with created_at ranges, sort by created_at, offset paging up to
// the ceiling.
func (f *FakeTenant) users(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	users := slices.Clone(f.byCreation)
	if expr := q.Get("q"); expr != "" {
		if q.Get("search_engine") != "v3" {
			apiError(w, http.StatusBadRequest, "search_engine v3 is required with q", "invalid_query_string")
			return
		}
		from, to, err := parseRange(expr)
		if err != nil {
			apiError(w, http.StatusBadRequest, err.Error(), "invalid_query_string")
			return
		}
		users = slices.DeleteFunc(users, func(u fakeUser) bool {
			return (!from.IsZero() && u.created.Before(from)) || (!to.IsZero() && u.created.After(to))
		})
	}
	desc := false
	switch q.Get("sort") {
	case "", "created_at:1":
	case "created_at:-1":
		desc = true
	default:
		apiError(w, http.StatusBadRequest, "unsupported sort", "invalid_query_string")
		return
	}
	slices.SortStableFunc(users, func(a, b fakeUser) int {
		c := a.created.Compare(b.created)
		if c == 0 {
			c = cmp.Compare(a.id, b.id)
		}
		if desc {
			return -c
		}
		return c
	})
	raws := make([]json.RawMessage, len(users))
	for i, u := range users {
		raws[i] = u.raw
	}
	f.offsetList(w, r, "users", raws)
}

func createdAt(u json.RawMessage) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, gjson.GetBytes(u, "created_at").String())
	return t
}

// parseRange reads created_at:[A TO B] (A, B a time or *).
func parseRange(q string) (from, to time.Time, err error) {
	inner, ok := strings.CutPrefix(q, "created_at:[")
	if !ok || !strings.HasSuffix(inner, "]") {
		return from, to, fmt.Errorf("unsupported query %q", q)
	}
	a, b, ok := strings.Cut(strings.TrimSuffix(inner, "]"), " TO ")
	if !ok {
		return from, to, fmt.Errorf("unsupported range %q", q)
	}
	parse := func(s string) (time.Time, error) {
		if s == "*" {
			return time.Time{}, nil
		}
		return time.Parse(time.RFC3339Nano, s)
	}
	if from, err = parse(a); err != nil {
		return
	}
	to, err = parse(b)
	return
}

// offsetList pages items with page/per_page, in include_totals' object shape or as a bare array.
func (f *FakeTenant) offsetList(w http.ResponseWriter, r *http.Request, key string, items []json.RawMessage) {
	q := r.URL.Query()
	page, _ := strconv.Atoi(cmp.Or(q.Get("page"), "0"))
	perPage, _ := strconv.Atoi(cmp.Or(q.Get("per_page"), "50"))
	if perPage < 1 || perPage > 100 || page < 0 {
		apiError(w, http.StatusBadRequest, "Query validation error: 'per_page' must be between 1 and 100", "invalid_query_string")
		return
	}
	start := page * perPage
	for {
		m := f.maxStart.Load()
		if int64(start) <= m || f.maxStart.CompareAndSwap(m, int64(start)) {
			break
		}
	}
	if start >= f.ceiling {
		apiError(w, http.StatusBadRequest, fmt.Sprintf("You can only page through the first %d records. See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation", f.ceiling), "invalid_paging")
		return
	}
	end := min(start+perPage, len(items), f.ceiling)
	pageItems := []json.RawMessage{}
	if start < end {
		pageItems = items[start:end]
	}
	if q.Get("include_totals") != "true" {
		writeJSON(w, http.StatusOK, pageItems)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"start": start, "limit": perPage, "length": len(pageItems),
		"total": min(len(items), f.ceiling), key: pageItems})
}

// checkpointList pages items with take/from, {key: [...], "next": "..."}.
func (f *FakeTenant) checkpointList(w http.ResponseWriter, r *http.Request, key string, items []json.RawMessage) {
	q := r.URL.Query()
	take, _ := strconv.Atoi(cmp.Or(q.Get("take"), "50"))
	if take < 1 || take > 100 {
		apiError(w, http.StatusBadRequest, "Query validation error: 'take' must be between 1 and 100", "invalid_query_string")
		return
	}
	start := 0
	if from := q.Get("from"); from != "" {
		b, err := base64.RawURLEncoding.DecodeString(from)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "cp:"))
		if err != nil || err2 != nil || n < 0 || n > len(items) {
			apiError(w, http.StatusBadRequest, "Invalid from parameter", "invalid_paging")
			return
		}
		start = n
	}
	end := min(start+take, len(items))
	body := map[string]any{key: items[start:end]}
	if end < len(items) {
		body["next"] = base64.RawURLEncoding.EncodeToString([]byte("cp:" + strconv.Itoa(end)))
	}
	writeJSON(w, http.StatusOK, body)
}

// pick keeps the named keys of a JSON object.
func pick(obj json.RawMessage, keys ...string) json.RawMessage {
	out := map[string]json.RawMessage{}
	for _, k := range keys {
		if v := gjson.GetBytes(obj, gjson.Escape(k)); v.Exists() {
			out[k] = json.RawMessage(v.Raw)
		}
	}
	b, _ := json.Marshal(out)
	return b
}

// without drops a key of a JSON object.
func without(obj json.RawMessage, key string) json.RawMessage {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(obj, &m)
	delete(m, key)
	b, _ := json.Marshal(m)
	return b
}
