package bigcommerce

// This file holds the wire details of the Catalog v3 and v2 store APIs: paths, query parameters,
// gjson paths, the error shape, and the cursor's form.

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh/fetch"
)

const (
	// DefaultBaseURL is the API origin; paths below it start with /stores/<storeHash>/.
	DefaultBaseURL = "https://api.bigcommerce.com"

	// tokenHeader carries the API account's access token.
	tokenHeader = "X-Auth-Token"

	// maxLimit is the largest page size (more is a 413).
	maxLimit = 250
	// OptionsLimit is the largest page size when a listing includes options or modifiers. The
	// adapter does not include them: it reads each product's options from its variants'
	// option_values, which come with include=variants at 250 products a page (25 times fewer
	// requests against a quota that all apps of the store share). pageLimit enforces the cap for any
	// include list.
	OptionsLimit = 10

	// byIDBatch is how many ids one id:in request names (URLs stay short).
	byIDBatch = 50
)

// Paths under a store's prefix, /stores/<storeHash>.
const (
	productsPath   = "/v3/catalog/products"
	categoriesPath = "/v3/catalog/categories"
	brandsPath     = "/v3/catalog/brands"
	storePath      = "/v2/store"
)

// storeURL is the path of a resource of the store.
func storeURL(hash, resource string) string { return "/stores/" + url.PathEscape(hash) + resource }

// Query parameters.
const (
	paramPage            = "page"
	paramLimit           = "limit"
	paramInclude         = "include"
	paramIncludeFields   = "include_fields"
	paramSort            = "sort"
	paramDirection       = "direction"
	paramModifiedSince   = "date_modified:min"
	paramIDIn            = "id:in"
	includeProductParts  = "variants,images"
	includeSweepFields   = "categories,date_modified"
	sortByID, sortAscend = "id", "asc"
)

// gjson paths.
const (
	pathData  = "data"
	pathTotal = "meta.pagination.total"
	// pathCurrency is the store's default currency in GET /v2/store.
	pathCurrency = "currency"
)

// pageLimit caps a page size: at most 250, and at most 10 when include asks for options or
// modifiers (the API would hand back 10 and the page arithmetic would skip products).
func pageLimit(size int, include string) int {
	limit := min(max(size, 1), maxLimit)
	parts := strings.Split(include, ",")
	if slices.Contains(parts, "options") || slices.Contains(parts, "modifiers") {
		limit = min(limit, OptionsLimit)
	}
	return limit
}

// listQuery is the query of page i (from 0) of a listing.
func listQuery(i, limit int, extra url.Values) url.Values {
	q := url.Values{}
	for k, v := range extra {
		q[k] = v
	}
	q.Set(paramPage, strconv.Itoa(i+1))
	q.Set(paramLimit, strconv.Itoa(limit))
	return q
}

// errorMessage picks BigCommerce's message out of an error body:
// {"status": 422, "title": "...", "type": "...", "errors": {"field": "message"}}; the field errors
// of a 409 or 422 follow the title, sorted by field.
func errorMessage(status int, body []byte) string {
	msg := fetch.DefaultErrorMessage(status, body)
	errs := gjson.GetBytes(body, "errors")
	if !errs.IsObject() {
		return msg
	}
	var fields []string
	errs.ForEach(func(k, v gjson.Result) bool {
		fields = append(fields, fmt.Sprintf("%s: %s", k.String(), v.String()))
		return len(fields) < 10
	})
	slices.Sort(fields)
	if len(fields) == 0 {
		return msg
	}
	if msg == "" {
		return strings.Join(fields, "; ")
	}
	return msg + " (" + strings.Join(fields, "; ") + ")"
}

// cursor is the incremental state: the newest product date_modified seen and, for each product,
// its variants, assets and categories, and for each category its assets, so that a delta can delete
// what a changed or deleted item no longer has. Ids are native ids.
type cursor struct {
	V int `json:"v"`
	// Config is the store, currency and options that made the cursor: another configuration
	// fetches everything.
	Config string `json:"config"`
	// Since is the newest product date_modified seen (RFC 3339).
	Since       string           `json:"since"`
	Products    map[string]owned `json:"products"`
	Collections map[string]owned `json:"collections"`
}

// owned lists the nodes an item emits besides itself, and for a product its categories (sorted).
type owned struct {
	Variants    []string `json:"v,omitempty"`
	Assets      []string `json:"a,omitempty"`
	Collections []string `json:"c,omitempty"`
}

const cursorVersion = 1
