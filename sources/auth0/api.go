package auth0

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/sources/internal/people"
)

// Paths of the Authentication API (token) and the Management API v2, appended to https://<domain>
// (or baseURL).
const (
	pathToken     = "/oauth/token"
	pathUsers     = "/api/v2/users"
	pathRoles     = "/api/v2/roles"
	pathOrgs      = "/api/v2/organizations"
	audiencePath  = "/api/v2/"
	grantType     = "client_credentials"
	searchEngine  = "v3"
	sortUsers     = "created_at:1"  // oldest first: users created during a build land on later pages
	sortNewest    = "created_at:-1" // for the newest user's creation time when a listing is split
	queryTimeForm = "2006-01-02T15:04:05.000Z"
)

// Limits of the Management API.
const (
	// maxPerPage is the largest per_page and take the API accepts.
	maxPerPage = 100
	// maxOffsetRecords is the offset-paging ceiling: only the first 1,000 records of a listing
	// can be reached with page/per_page (a 400 past it).
	maxOffsetRecords = 1000
)

// userFields are the user attributes always requested (fields=..., include_fields=true): the public
// profile. Personal attributes are added only when selected, so that they do not even travel.
var userFields = []string{"user_id", "name", "nickname", "username", "given_name", "family_name", "picture", "created_at"}

// personalUserFields are the attributes each selectable field needs.
var personalUserFields = map[string][]string{
	people.Email:     {"email"},
	people.Phone:     {"phone_number"},
	people.LastLogin: {"last_login", "updated_at"},
	people.LastIP:    {"last_ip"},
	people.Metadata:  {"app_metadata", "user_metadata"},
}

// knownFields are the names `fields:` accepts, with the reason when one is not available.
var knownFields = map[string]string{
	people.Email:     "",
	people.Phone:     "",
	people.LastLogin: "",
	people.LastIP:    "",
	people.Metadata:  "",
}

// errorMessage picks Auth0's message out of an error body:
// {"statusCode": 400, "error": "Bad Request", "message": "...", "errorCode": "invalid_query_string"}, and the
// Authentication API's OAuth shape {"error": "access_denied", "error_description": "Unauthorized"}.
func errorMessage(status int, body []byte) string {
	if gjson.ValidBytes(body) {
		r := gjson.ParseBytes(body)
		msg := r.Get("message").String()
		if msg == "" {
			msg = r.Get("error_description").String()
		}
		code := r.Get("errorCode").String()
		if code == "" && r.Get("error").Type == gjson.String {
			code = r.Get("error").String()
		}
		switch {
		case msg != "" && code != "":
			return code + ": " + msg
		case msg != "":
			return msg
		}
	}
	return fetch.DefaultErrorMessage(status, body)
}

// pageItems returns the items of a list answer, whatever its shape: a bare array (include_totals
// false), or an object holding them under key (include_totals true, checkpoint paging).
func pageItems(body []byte, key string) (gjson.Result, error) {
	b := bytes.TrimLeft(body, " \t\r\n")
	if len(b) > 0 && b[0] == '[' {
		return gjson.ParseBytes(b), nil
	}
	if len(b) == 0 || b[0] != '{' {
		return gjson.Result{}, fmt.Errorf("%w: want an array or an object with %q", mesh.ErrBadResponse, key)
	}
	items := gjson.GetBytes(b, key)
	if !items.Exists() || items.Type == gjson.Null {
		return gjson.Parse("[]"), nil
	}
	if !items.IsArray() {
		return gjson.Result{}, fmt.Errorf("%w: %q is not an array", mesh.ErrBadResponse, key)
	}
	return items, nil
}

// pageTotal reads include_totals' "total"; for a bare array, its length.
func pageTotal(body []byte) (int, error) {
	b := bytes.TrimLeft(body, " \t\r\n")
	if len(b) > 0 && b[0] == '[' {
		return len(gjson.ParseBytes(b).Array()), nil
	}
	t := gjson.GetBytes(b, "total")
	if t.Type != gjson.Number || t.Num < 0 || t.Num != float64(int64(t.Num)) {
		return 0, fmt.Errorf("%w: no total in the answer (include_totals=true)", mesh.ErrBadResponse)
	}
	return int(t.Int()), nil
}

// checkpointNext reads the checkpoint token of a page; "" on the last page (no "next").
func checkpointNext(body []byte) string {
	b := bytes.TrimLeft(body, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return ""
	}
	return gjson.GetBytes(b, "next").String()
}

// orgMembersPath and roleUsersPath return the member listings of one organization or role, the ID
// escaped as a path segment.
func orgMembersPath(orgID string) string {
	return pathOrgs + "/" + url.PathEscape(orgID) + "/members"
}

func roleUsersPath(roleID string) string {
	return pathRoles + "/" + url.PathEscape(roleID) + "/users"
}

// createdRange is a range of users' created_at, both ends inclusive; a zero end is open (*).
type createdRange struct {
	from, to time.Time
}

// query is the Lucene query selecting the range; "" for the whole listing.
func (r createdRange) query() string {
	if r.from.IsZero() && r.to.IsZero() {
		return ""
	}
	end := func(t time.Time) string {
		if t.IsZero() {
			return "*"
		}
		return t.UTC().Format(queryTimeForm)
	}
	return "created_at:[" + end(r.from) + " TO " + end(r.to) + "]"
}

// split halves the range at the middle of [lo, hi] (the known oldest and newest creation times stand
// in for open ends); ok is false when the range is a single millisecond.
func (r createdRange) split(oldest, newest time.Time) (a, b createdRange, ok bool) {
	lo, hi := r.from, r.to
	if lo.IsZero() {
		lo = oldest
	}
	if hi.IsZero() {
		hi = newest
	}
	lo, hi = lo.Truncate(time.Millisecond), hi.Truncate(time.Millisecond)
	if !lo.Before(hi) {
		return r, r, false
	}
	mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Millisecond)
	return createdRange{r.from, mid}, createdRange{mid.Add(time.Millisecond), r.to}, true
}

func (r createdRange) String() string {
	if q := r.query(); q != "" {
		return q
	}
	return "all users"
}

// joinFields joins attribute names for the fields parameter.
func joinFields(names []string) string { return strings.Join(names, ",") }
