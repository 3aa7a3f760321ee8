package wordpress

// This file holds the wire details of the WordPress REST API (wp/v2): paths, query parameters, the
// built-in types and their node types, the error shape, and the cursor.

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

const (
	// apiPrefix is where the REST API lives under the site root (pretty permalinks; Debian's and
	// every hosted WordPress answer there).
	apiPrefix = "/wp-json/wp/v2/"
	// pathTypes and pathTaxonomies describe the site's post types and taxonomies (public).
	pathTypes      = apiPrefix + "types"
	pathTaxonomies = apiPrefix + "taxonomies"
	// pathMe is the authenticated user: 401 rest_not_logged_in when the credentials were not accepted.
	pathMe = apiPrefix + "users/me"

	// maxPerPage is the largest per_page WordPress accepts (1 to 100; more is 400 rest_invalid_param).
	maxPerPage = 100

	// Query parameters.
	paramPage          = "page"
	paramPerPage       = "per_page"
	paramOrderBy       = "orderby"
	paramOrder         = "order"
	paramStatus        = "status"
	paramFields        = "_fields"
	paramInclude       = "include"
	paramModifiedAfter = "modified_after"

	// statusAny lists every status but trash and auto-draft (posts, pages, custom post types) when
	// the request is authenticated; anonymous requests see published content only.
	statusAny = "any"

	// Response headers carrying the totals of a listing.
	headerTotal      = "X-WP-Total"
	headerTotalPages = "X-WP-TotalPages"

	// Error codes the adapter branches on.
	codeInvalidPage = "rest_post_invalid_page_number"
	// codeForbiddenStatus is the reason (in data.details.status.code of a 400 rest_invalid_param, or
	// as the code of a 401) why an anonymous request may not list drafts.
	codeForbiddenStatus = "rest_forbidden_status"

	// modifiedLayout is WordPress' date format (site-local for "modified", UTC for "modified_gmt").
	modifiedLayout = "2006-01-02T15:04:05"
)

// kind is what sort of collection a rest_base is.
type kind int

const (
	kindPostType kind = iota // posts, pages, custom post types: modified_after, status, parent
	kindMedia                // attachments: a post type whose nodes are Assets
	kindTaxonomy             // categories, tags, custom taxonomies: no modified date
	kindUsers                // authors: no modified date
)

// typeInfo is one configured rest_base and how its items map to nodes.
type typeInfo struct {
	restBase  string // as configured: "posts"
	kind      kind
	slug      string // the post type or taxonomy slug: "post", "category"; "user" for users
	namespace string // the middle part of node IDs
	nodeType  string // PascalCase
	// taxFields maps a field of this post type's items (a taxonomy's rest_base, "categories") to the
	// namespace of that taxonomy's nodes.
	taxFields map[string]string
}

// builtins are the types every WordPress site has, mapped without asking the site.
var builtins = map[string]typeInfo{
	"posts": {restBase: "posts", kind: kindPostType, slug: "post", namespace: "post", nodeType: "Post",
		taxFields: map[string]string{"categories": "category", "tags": "tag"}},
	"pages":      {restBase: "pages", kind: kindPostType, slug: "page", namespace: "page", nodeType: "Page"},
	"media":      {restBase: "media", kind: kindMedia, slug: "attachment", namespace: "media", nodeType: "Asset"},
	"categories": {restBase: "categories", kind: kindTaxonomy, slug: "category", namespace: "category", nodeType: "Category"},
	"tags":       {restBase: "tags", kind: kindTaxonomy, slug: "post_tag", namespace: "tag", nodeType: "Tag"},
	"users":      {restBase: "users", kind: kindUsers, slug: "user", namespace: "user", nodeType: "User"},
}

// defaultTypes is what an empty `types` fetches.
var defaultTypes = []string{"posts", "pages", "media", "categories", "tags", "users"}

// builtinNamespace gives the namespace of a built-in post type or taxonomy slug.
func builtinNamespace(slug string) (string, bool) {
	for _, t := range builtins {
		if t.slug == slug {
			return t.namespace, true
		}
	}
	return "", false
}

// ErrorMessage picks WordPress' message out of an error body, {"code", "message", "data": {"status"}}:
// "code: message". A body in another shape (a proxy's or a security plugin's page) gives "".
func ErrorMessage(status int, body []byte) string {
	if !gjson.ValidBytes(body) {
		return ""
	}
	r := gjson.ParseBytes(body)
	code, msg := r.Get("code").String(), r.Get("message").String()
	switch {
	case code != "" && msg != "":
		return code + ": " + msg
	case msg != "":
		return msg
	default:
		return code
	}
}

// errorCode returns the WordPress error code of an error body, "" when it has none.
func errorCode(body []byte) string {
	return gjson.GetBytes(body, "code").String()
}

// cursor is the incremental state: per rest_base, the newest site-local "modified" seen (post
// types only) and the ids the listing held, so that the next fetch asks only for what changed and
// can tell what was deleted.
type cursor struct {
	V           int                  `json:"v"`
	Fingerprint string               `json:"fp"`
	Source      string               `json:"src"`
	Types       map[string]typeState `json:"types"`
}

type typeState struct {
	// Since is the largest "modified" (site-local, as WordPress writes it) of the items seen.
	Since string `json:"since,omitempty"`
	// IDs are the listing's ids as runs: "1-5,7,9-12".
	IDs idSet `json:"ids"`
}

// idSet is a set of WordPress ids (positive integers). Its JSON form is a string of runs,
// "1-5,7,9-12", so that the cursor stays small.
type idSet map[int64]struct{}

func (s idSet) add(id int64) { s[id] = struct{}{} }

func (s idSet) has(id int64) bool { _, ok := s[id]; return ok }

// sorted returns the ids in ascending order.
func (s idSet) sorted() []int64 {
	out := make([]int64, 0, len(s))
	for id := range s {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// MarshalJSON writes the runs.
func (s idSet) MarshalJSON() ([]byte, error) {
	ids := s.sorted()
	var b []byte
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, ids[i], 10)
		if j > i {
			b = append(b, '-')
			b = strconv.AppendInt(b, ids[j], 10)
		}
		i = j + 1
	}
	return json.Marshal(string(b))
}

// maxRun bounds one run of a decoded cursor, so that a damaged cursor cannot make a huge set.
const maxRun = 1 << 24

// UnmarshalJSON reads the runs.
func (s *idSet) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	set := idSet{}
	if str != "" {
		for _, part := range strings.Split(str, ",") {
			lo, hi, isRun := strings.Cut(part, "-")
			a, err := strconv.ParseInt(lo, 10, 64)
			if err != nil {
				return fmt.Errorf("id set: %q: %w", part, err)
			}
			z := a
			if isRun {
				if z, err = strconv.ParseInt(hi, 10, 64); err != nil {
					return fmt.Errorf("id set: %q: %w", part, err)
				}
			}
			if z < a || z-a > maxRun {
				return errors.New("id set: bad run " + strconv.Quote(part))
			}
			for id := a; id <= z; id++ {
				set.add(id)
			}
		}
	}
	*s = set
	return nil
}
