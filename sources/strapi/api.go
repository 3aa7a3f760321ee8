package strapi

// This file holds the wire details of Strapi's REST Content API (v4 and v5): paths, query parameters
// (qs "LHS bracket" encoding), the two response shapes, the content-type schema, the error shape,
// and the cursor.

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
)

const (
	apiPrefix = "/api/"
	// pathSchema lists the content types with their attributes (relation targets, i18n). A
	// full-access API token may read it; read-only tokens and the Public role get 403.
	pathSchema = "/api/content-type-builder/content-types"
	// pathFiles lists the media library: a bare JSON array of every file, not paginated.
	pathFiles = "/api/upload/files"

	// maxPageSize is the generated projects' api.rest.maxLimit; a server configured lower caps
	// silently, which the listing detects from meta.pagination.pageSize.
	maxPageSize = 100

	paramPage       = "pagination[page]"
	paramPageSize   = "pagination[pageSize]"
	paramSort       = "sort[0]"
	paramPopulate   = "populate"
	paramLocale     = "locale"
	paramStatus     = "status"           // v5: published (default) or draft
	paramPubState   = "publicationState" // v4: live (default) or preview
	paramUpdatedGT  = "filters[updatedAt][$gt]"
	sortByID        = "id:asc"
	populateAll     = "*"
	statusDraft     = "draft"
	pubStatePreview = "preview"

	// filesNamespace is the namespace of Asset node IDs: the upload plugin's collection, by file id.
	filesNamespace = "files"
)

// localeAll is what Config.Locale "all" (or "*") sends: v5 takes "*", v4 "all".
func localeAll(version int) string {
	if version == 4 {
		return "all"
	}
	return "*"
}

// ErrorMessage picks Strapi's message out of an error body, {"data": null, "error": {"status",
// "name", "message", "details"}}: "name: message", plus the offending key of a ValidationError.
func ErrorMessage(status int, body []byte) string {
	if !gjson.ValidBytes(body) {
		return ""
	}
	e := gjson.GetBytes(body, "error")
	if !e.IsObject() {
		return ""
	}
	name, msg := e.Get("name").String(), e.Get("message").String()
	out := msg
	if name != "" && msg != "" {
		out = name + ": " + msg
	} else if name != "" {
		out = name
	}
	if k := e.Get("details.key").String(); k != "" && !strings.Contains(out, k) {
		out += " (" + k + ")"
	}
	return out
}

// errorName returns the "error.name" of a Strapi error body.
func errorName(body []byte) string { return gjson.GetBytes(body, "error.name").String() }

// schema is what /api/content-type-builder/content-types says about the configured collections.
type schema struct {
	// byUID maps a content type uid (api::article.article) to its plural API id (articles).
	byUID map[string]string
	// colls maps a plural API id to its description.
	colls map[string]*collSchema
}

type collSchema struct {
	singular  string
	localized bool
	// relations maps an attribute to the plural API id of its target.
	relations map[string]string
	// kinds maps every attribute to its type (string, relation, media, json, component, ...).
	kinds map[string]string
}

// parseSchema reads the content-type-builder's answer: {"data": [{"uid", "schema": {"singularName",
// "pluralName", "pluginOptions": {"i18n": {"localized"}}, "attributes": {...}}}]}.
func parseSchema(body []byte) (*schema, error) {
	data := gjson.GetBytes(body, "data")
	if !data.IsArray() {
		return nil, fmt.Errorf("%w: the content types are not an array at data", mesh.ErrBadResponse)
	}
	s := &schema{byUID: map[string]string{}, colls: map[string]*collSchema{}}
	data.ForEach(func(_, ct gjson.Result) bool {
		uid, plural := ct.Get("uid").String(), ct.Get("schema.pluralName").String()
		if uid == "" || plural == "" {
			return true
		}
		s.byUID[uid] = plural
		return true
	})
	data.ForEach(func(_, ct gjson.Result) bool {
		plural := ct.Get("schema.pluralName").String()
		if plural == "" {
			return true
		}
		c := &collSchema{
			singular:  ct.Get("schema.singularName").String(),
			localized: ct.Get("schema.pluginOptions.i18n.localized").Bool(),
			relations: map[string]string{},
			kinds:     map[string]string{},
		}
		ct.Get("schema.attributes").ForEach(func(k, a gjson.Result) bool {
			c.kinds[k.String()] = a.Get("type").String()
			if a.Get("type").String() == "relation" {
				if target, ok := s.byUID[a.Get("target").String()]; ok {
					c.relations[k.String()] = target
				}
			}
			return true
		})
		s.colls[plural] = c
		return true
	})
	return s, nil
}

// singular guesses the singular of a plural API id when the schema is not readable: articles ->
// article, categories -> category, boxes -> box.
func singular(plural string) string {
	switch {
	case strings.HasSuffix(plural, "ies") && len(plural) > 3:
		return plural[:len(plural)-3] + "y"
	case strings.HasSuffix(plural, "sses"), strings.HasSuffix(plural, "xes"), strings.HasSuffix(plural, "ches"),
		strings.HasSuffix(plural, "shes"), strings.HasSuffix(plural, "zes"):
		return plural[:len(plural)-2]
	case strings.HasSuffix(plural, "s") && !strings.HasSuffix(plural, "ss") && len(plural) > 1:
		return plural[:len(plural)-1]
	}
	return plural
}

// cursor is the incremental state: per collection, the newest updatedAt seen, whether its entries
// are localized, and the keys (documentId, or documentId@locale) of the last listing; and the ids of
// the media library's files (nil when the token may not list them).
type cursor struct {
	V           int                  `json:"v"`
	Fingerprint string               `json:"fp"`
	Source      string               `json:"src"`
	Version     int                  `json:"ver"`
	Collections map[string]collState `json:"colls"`
	Files       []string             `json:"files"`
}

type collState struct {
	Since     string   `json:"since,omitempty"`
	Localized bool     `json:"loc,omitempty"`
	Keys      []string `json:"keys"`
}

// itemKey is the key of a node in a cursor: its native id, plus "@locale" when localized.
func itemKey(native, locale string) string {
	if locale == "" {
		return native
	}
	return native + "@" + locale
}

// splitKey undoes itemKey.
func splitKey(k string) (native, locale string) {
	native, locale, _ = strings.Cut(k, "@")
	return native, locale
}

// pageQuery is the query of page i (from 0) of a listing.
func pageQuery(base url.Values, i, size int) url.Values {
	q := make(url.Values, len(base)+2)
	for k, v := range base {
		q[k] = v
	}
	q.Set(paramPage, strconv.Itoa(i+1))
	q.Set(paramPageSize, strconv.Itoa(size))
	return q
}
