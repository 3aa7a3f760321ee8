package okta

import (
	"net/url"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/sources/internal/people"
)

// Management API paths, appended to the org URL (or baseURL).
const (
	pathUsers  = "/api/v1/users"
	pathGroups = "/api/v1/groups"
	// maxLimit is the page size asked for: the recommended (and for users the largest) limit.
	maxLimit = 200
	// builtIn is the type of Okta's own groups (Everyone), which are not listed as roles.
	builtIn = "BUILT_IN"
)

// knownFields are the names `fields:` accepts, with the reason when one is not available.
var knownFields = map[string]string{
	people.Email:     "",
	people.Phone:     "",
	people.LastLogin: "",
	people.Metadata:  "",
	people.LastIP:    "Okta's user object has no IP address",
}

// notMetadata are the profile attributes never written under metadata: those mapped to public
// fields, and personal contact data no field name selects.
var notMetadata = map[string]bool{
	"firstName": true, "lastName": true, "middleName": true, "honorificPrefix": true, "honorificSuffix": true,
	"displayName": true, "nickName": true, "login": true, "email": true, "secondEmail": true,
	"mobilePhone": true, "primaryPhone": true, "streetAddress": true, "city": true, "state": true,
	"zipCode": true, "postalAddress": true, "countryCode": true, "profileUrl": true,
}

func groupUsersPath(groupID string) string {
	return pathGroups + "/" + url.PathEscape(groupID) + "/users"
}

// errorMessage picks Okta's message out of an error body:
// {"errorCode": "E0000011", "errorSummary": "Invalid token provided", "errorLink": ..., "errorId": ..., "errorCauses": []}.
func errorMessage(status int, body []byte) string {
	if gjson.ValidBytes(body) {
		r := gjson.ParseBytes(body)
		sum, code := r.Get("errorSummary").String(), r.Get("errorCode").String()
		if cause := r.Get("errorCauses.0.errorSummary").String(); cause != "" && cause != sum {
			sum += " (" + cause + ")"
		}
		switch {
		case sum != "" && code != "":
			return code + ": " + sum
		case sum != "":
			return sum
		}
	}
	return fetch.DefaultErrorMessage(status, body)
}
