package ory

import (
	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/sources/internal/people"
)

// The Ory Kratos admin API (self-hosted admin port, or an Ory Network project), appended to adminUrl
// (or baseURL).
const (
	pathIdentities = "/admin/identities"
	// defaultPageSize is Kratos' default page_size; maxPageSize its largest.
	defaultPageSize = 250
	maxPageSize     = 500
	// traitPrefix is the optional prefix of a trait path in `fields`.
	traitPrefix = "traits."
)

// knownFields are the normalized names `fields:` accepts, with the reason when one is not available;
// any other name is a trait path.
var knownFields = map[string]string{
	people.Email:     "",
	people.Phone:     "",
	people.Metadata:  "",
	people.LastLogin: "Kratos identities carry no login time (sessions do)",
	people.LastIP:    "Kratos identities carry no IP address",
}

// Trait names read by convention for the public profile, when listed in `fields`.
var (
	nameTraits     = []string{"displayName", "display_name", "name", "fullName", "full_name"}
	usernameTraits = []string{"username", "nickname", "handle"}
	avatarTraits   = []string{"picture", "avatar", "avatarUrl", "avatar_url", "image"}
	firstKeys      = []string{"first", "given", "given_name", "firstName"}
	lastKeys       = []string{"last", "family", "family_name", "lastName"}
	emailTraits    = []string{"email"}
	phoneTraits    = []string{"phone", "phone_number", "phoneNumber"}
)

// errorMessage picks Ory's message out of an error body:
// {"error": {"code": 404, "status": "Not Found", "reason": "...", "message": "..."}}.
func errorMessage(status int, body []byte) string {
	if gjson.ValidBytes(body) {
		e := gjson.GetBytes(body, "error")
		if e.IsObject() {
			msg, reason := e.Get("message").String(), e.Get("reason").String()
			switch {
			case msg != "" && reason != "" && reason != msg:
				return msg + ": " + reason
			case msg != "":
				return msg
			case reason != "":
				return reason
			}
		}
	}
	return fetch.DefaultErrorMessage(status, body)
}
