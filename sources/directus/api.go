package directus

// This file holds the wire details of the Directus REST API: paths, query parameters, the schema
// (/fields and /relations) and what it says about each collection, the error shape, and the cursor.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
)

const (
	pathItems     = "/items/"
	pathFiles     = "/files"
	pathFields    = "/fields"
	pathRelations = "/relations"

	// filesCollection is the system collection of files; its items become Assets, ID
	// <source>/files/<uuid>.
	filesCollection = "directus_files"
	filesNamespace  = "files"

	// defaultPageSize is Directus' QUERY_LIMIT_DEFAULT (100); servers may allow more, but not every
	// one does (QUERY_LIMIT_MAX).
	defaultPageSize = 100

	paramLimit  = "limit"
	paramPage   = "page"
	paramMeta   = "meta"
	paramSort   = "sort"
	paramFields = "fields"
	metaCount   = "filter_count"
)

// ErrorMessage picks Directus' message out of an error body, {"errors": [{"message", "extensions":
// {"code"}}]}: "CODE: message" for each error, joined with "; ".
func ErrorMessage(status int, body []byte) string {
	if !gjson.ValidBytes(body) {
		return ""
	}
	var parts []string
	gjson.GetBytes(body, "errors").ForEach(func(_, e gjson.Result) bool {
		msg, code := e.Get("message").String(), e.Get("extensions.code").String()
		switch {
		case code != "" && msg != "":
			parts = append(parts, code+": "+msg)
		case msg != "":
			parts = append(parts, msg)
		case code != "":
			parts = append(parts, code)
		}
		return len(parts) < 3
	})
	return strings.Join(parts, "; ")
}

// errorCode returns the extensions.code of the first error of a Directus error body.
func errorCode(body []byte) string { return gjson.GetBytes(body, "errors.0.extensions.code").String() }

// relKind is what a relational field holds.
type relKind int

const (
	relM2O relKind = iota + 1 // a foreign key (or the expanded object): one $ref
	relO2M                    // an alias listing the primary keys of the many side: $refs
	relM2M                    // an alias listing junction rows, read as <alias>.<junction field>: $refs to the far side
)

// relField is one relational field of a collection.
type relField struct {
	kind     relKind
	target   string // the collection referenced (directus_files for files)
	junction string // m2m: the junction's field that points at target
}

// collInfo is what the schema says about a collection.
type collInfo struct {
	name        string
	pk          string
	dateUpdated string          // the field with the date-updated special, if any
	dateCreated string          // the field with the date-created special, if any
	timestamps  map[string]bool // fields of type timestamp: RFC 3339 UTC
	rels        map[string]relField
}

// schema maps collection names to their description.
type schema map[string]*collInfo

// parseSchema reads /fields ({"data": [{"collection", "field", "type", "meta": {"special"}, "schema":
// {"is_primary_key"}}]}) and /relations ({"data": [{"collection", "field", "related_collection",
// "meta": {"one_field", "junction_field"}}]}).
func parseSchema(fieldsBody, relationsBody []byte) (schema, error) {
	fields, rels := gjson.GetBytes(fieldsBody, "data"), gjson.GetBytes(relationsBody, "data")
	if !fields.IsArray() || !rels.IsArray() {
		return nil, fmt.Errorf("%w: /fields and /relations must hold a data array", mesh.ErrBadResponse)
	}
	s := schema{}
	coll := func(name string) *collInfo {
		c := s[name]
		if c == nil {
			c = &collInfo{name: name, timestamps: map[string]bool{}, rels: map[string]relField{}}
			s[name] = c
		}
		return c
	}
	specials := map[string][]string{} // "collection\x00field" -> special
	fields.ForEach(func(_, f gjson.Result) bool {
		cn, fn := f.Get("collection").String(), f.Get("field").String()
		if cn == "" || fn == "" {
			return true
		}
		c := coll(cn)
		if f.Get("schema.is_primary_key").Bool() {
			c.pk = fn
		}
		if f.Get("type").String() == "timestamp" {
			c.timestamps[fn] = true
		}
		var sp []string
		f.Get("meta.special").ForEach(func(_, v gjson.Result) bool {
			sp = append(sp, v.String())
			return true
		})
		specials[cn+"\x00"+fn] = sp
		switch {
		case slices.Contains(sp, "date-updated") && c.dateUpdated == "":
			c.dateUpdated = fn
		case slices.Contains(sp, "date-created") && c.dateCreated == "":
			c.dateCreated = fn
		}
		return true
	})
	type rel struct{ coll, field, related, oneField, junctionField string }
	var all []rel
	rels.ForEach(func(_, r gjson.Result) bool {
		all = append(all, rel{r.Get("collection").String(), r.Get("field").String(), r.Get("related_collection").String(),
			r.Get("meta.one_field").String(), r.Get("meta.junction_field").String()})
		return true
	})
	for _, r := range all {
		if r.coll == "" || r.field == "" {
			continue
		}
		// The many side: a foreign key (m2o, files).
		if r.related != "" {
			coll(r.coll).rels[r.field] = relField{kind: relM2O, target: r.related}
		}
		// The one side: an alias listing the many side (o2m), or junction rows (m2m).
		if r.related == "" || r.oneField == "" {
			continue
		}
		sp := specials[r.related+"\x00"+r.oneField]
		if slices.Contains(sp, "translations") || slices.Contains(sp, "m2a") {
			continue // kept as Directus sends them
		}
		if r.junctionField == "" {
			coll(r.related).rels[r.oneField] = relField{kind: relO2M, target: r.coll}
			continue
		}
		for _, far := range all {
			if far.coll == r.coll && far.field == r.junctionField && far.related != "" {
				coll(r.related).rels[r.oneField] = relField{kind: relM2M, target: far.related, junction: r.junctionField}
			}
		}
	}
	for _, c := range s {
		if c.pk == "" {
			c.pk = "id"
		}
	}
	return s, nil
}

// singular guesses the singular of a collection name for its node type: articles -> Article,
// categories -> Category; names that are no plural (news, series, status) stay.
func singular(name string) string {
	switch {
	case strings.HasSuffix(name, "news"), strings.HasSuffix(name, "series"), strings.HasSuffix(name, "species"):
		return name
	case strings.HasSuffix(name, "ies") && len(name) > 3:
		return name[:len(name)-3] + "y"
	case strings.HasSuffix(name, "sses"), strings.HasSuffix(name, "xes"), strings.HasSuffix(name, "ches"),
		strings.HasSuffix(name, "shes"), strings.HasSuffix(name, "zes"):
		return name[:len(name)-2]
	case strings.HasSuffix(name, "ss"), strings.HasSuffix(name, "us"), strings.HasSuffix(name, "is"):
		return name
	case strings.HasSuffix(name, "s") && len(name) > 1:
		return name[:len(name)-1]
	}
	return name
}

// cursor is the incremental state: per collection (directus_files included), the newest
// date_updated or date_created seen and the primary keys of the last listing.
type cursor struct {
	V           int                  `json:"v"`
	Fingerprint string               `json:"fp"`
	Source      string               `json:"src"`
	Collections map[string]collState `json:"colls"`
}

type collState struct {
	Since string   `json:"since,omitempty"`
	Keys  []string `json:"keys"`
}
