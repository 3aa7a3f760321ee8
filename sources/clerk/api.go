package clerk

import (
	"fmt"
	"net/url"
	"time"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/sources/internal/people"
)

// The Backend API, appended to https://api.clerk.com (or baseURL).
const (
	defaultBaseURL = "https://api.clerk.com"
	pathUsers      = "/v1/users"
	pathUsersCount = "/v1/users/count"
	pathOrgs       = "/v1/organizations"
	// orderUsers lists the oldest users first, so that users created during a build land on later
	// pages instead of shifting the offsets of the pages not fetched yet.
	orderUsers = "+created_at"
	orderOrgs  = "+created_at"
	// maxLimit is the largest limit the list endpoints accept.
	maxLimit = 500
)

// knownFields are the names `fields:` accepts, with the reason when one is not available.
var knownFields = map[string]string{
	people.Email:     "",
	people.Phone:     "",
	people.LastLogin: "",
	people.Metadata:  "",
	people.LastIP:    "Clerk's user object has no IP address",
}

func membershipsPath(orgID string) string {
	return pathOrgs + "/" + url.PathEscape(orgID) + "/memberships"
}

// errorMessage picks Clerk's message out of an error body:
// {"errors": [{"message": "...", "long_message": "...", "code": "resource_not_found"}], "clerk_trace_id": "..."}.
func errorMessage(status int, body []byte) string {
	if gjson.ValidBytes(body) {
		e := gjson.GetBytes(body, "errors.0")
		msg := e.Get("long_message").String()
		if msg == "" {
			msg = e.Get("message").String()
		}
		if code := e.Get("code").String(); code != "" && msg != "" {
			return code + ": " + msg
		} else if msg != "" {
			return msg
		}
	}
	return fetch.DefaultErrorMessage(status, body)
}

// listData returns the items of a {"data": [...], "total_count": N} answer.
func listData(body []byte) (gjson.Result, error) {
	r := gjson.ParseBytes(body)
	if !r.IsObject() {
		return gjson.Result{}, fmt.Errorf("%w: want an object with data and total_count", mesh.ErrBadResponse)
	}
	d := r.Get("data")
	if !d.IsArray() {
		return gjson.Result{}, fmt.Errorf("%w: no data array", mesh.ErrBadResponse)
	}
	return d, nil
}

// totalCount reads total_count of a list or of the users count answer ({"object": "total_count", ...}).
func totalCount(body []byte) (int, error) {
	t := gjson.GetBytes(body, "total_count")
	if t.Type != gjson.Number || t.Num < 0 || t.Num != float64(int64(t.Num)) {
		return 0, fmt.Errorf("%w: no total_count", mesh.ErrBadResponse)
	}
	return int(t.Int()), nil
}

// millis reads a Unix time in milliseconds (Clerk's timestamps); zero when absent or not a number.
func millis(r gjson.Result) time.Time {
	if r.Type != gjson.Number || r.Num <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(r.Int()).UTC()
}
