package rest

// This file holds the wire details: how a page body is read (items, ids, next page), how reference
// fields are rewritten inside an item, and the cursor's shape.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/tidwall/gjson"
)

// NextLink is the value of Config.Next that follows the Link header's rel="next" target.
const NextLink = "link"

// thisPath is the gjson path of the whole body: the items path of an API that answers a bare array.
const thisPath = "@this"

// cursor is the incremental state: the validators of every page of the last fetch, what each page
// said comes next, and the IDs it held, so that a page answered 304 needs no body.
type cursor struct {
	V           int         `json:"v"`
	Fingerprint string      `json:"fingerprint"`
	Source      string      `json:"source"`
	Pages       []pageState `json:"pages"`
}

type pageState struct {
	URL          string   `json:"url"`
	ETag         string   `json:"etag,omitempty"`
	LastModified string   `json:"lastModified,omitempty"`
	Next         string   `json:"next,omitempty"`
	IDs          []string `json:"ids"`
}

// refTarget is where a reference field points: a namespace of a source ("" source: this one).
type refTarget struct {
	source, namespace string
}

// decoder reads pages of one source instance.
type decoder struct {
	source    string // instance name
	items     string
	id        string
	namespace string
	nodeType  string
	updatedAt string
	refs      []refField // sorted by path
}

type refField struct {
	path   string
	target refTarget
}

// ItemError is a problem with one item of a page: Index counts from 0 on its page, URL is the
// page's, redacted. (The error around it names the page's number.)
type ItemError struct {
	Index int
	URL   string
	Err   error
}

// Error returns "<url>: item <index>: <what was wrong>".
func (e *ItemError) Error() string {
	return fmt.Sprintf("%s: item %d: %v", e.URL, e.Index, e.Err)
}

// Unwrap returns the underlying error, which wraps mesh.ErrBadResponse.
func (e *ItemError) Unwrap() error { return e.Err }

// decodePage turns one page body into nodes. url is the page's redacted URL, for errors.
func (d *decoder) decodePage(body []byte, url string) ([]mesh.Node, error) {
	arr := gjson.GetBytes(body, d.items)
	if !arr.IsArray() {
		got := "nothing"
		if arr.Exists() {
			got = describe(arr)
		}
		return nil, fmt.Errorf("%s: %w: items path %q is not an array: found %s", url, mesh.ErrBadResponse, d.items, got)
	}
	var nodes []mesh.Node
	var err error
	i := 0
	arr.ForEach(func(_, item gjson.Result) bool {
		var n mesh.Node
		n, err = d.decodeItem(item)
		if err != nil {
			err = &ItemError{Index: i, URL: url, Err: err}
			return false
		}
		nodes = append(nodes, n)
		i++
		return true
	})
	if err != nil {
		return nil, err
	}
	return nodes, nil
}

// decodeItem maps one item to a node: its id read as a string, its fields the item itself with the
// reference fields rewritten.
func (d *decoder) decodeItem(item gjson.Result) (mesh.Node, error) {
	if !item.IsObject() {
		return mesh.Node{}, fmt.Errorf("%w: want an object, found %s", mesh.ErrBadResponse, describe(item))
	}
	raw, err := escapeUpstreamRefs([]byte(item.Raw)) // a copy: the page can be freed
	if err != nil {
		return mesh.Node{}, fmt.Errorf("%w: %v", mesh.ErrBadResponse, err)
	}
	id, err := readID(gjson.GetBytes(raw, d.id))
	if err != nil {
		return mesh.Node{}, fmt.Errorf("%w: id at %q: %v", mesh.ErrBadResponse, d.id, err)
	}
	fields, err := d.rewriteRefs(raw)
	if err != nil {
		return mesh.Node{}, fmt.Errorf("%w: %v", mesh.ErrBadResponse, err)
	}
	n := mesh.Node{
		ID:       mesh.NodeID(d.source, d.namespace, id),
		Type:     d.nodeType,
		NativeID: id,
		Fields:   fields,
	}
	if d.updatedAt != "" {
		n.UpdatedAt = readTime(gjson.GetBytes(raw, d.updatedAt))
	}
	return n, nil
}

// escapeUpstreamRefs keeps the API's own {"$ref": "..."} objects (JSON Schema and OpenAPI documents
// have them) from reading as graph references: the key of an object whose only member is "$ref"
// (or "$$ref", "$$$ref", ...) with a string value gets one more "$". Items without such a key are
// returned as they are, without decoding.
func escapeUpstreamRefs(raw []byte) ([]byte, error) {
	if !mayHoldRefKey(raw) {
		return raw, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if !escapeRefKeys(v) {
		return raw, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// refSpellings are the byte strings one of which any JSON spelling of a "$ref" key contains: the
// plain text, or a \u escape of one of its letters (all four escapes are digits only, so their case
// cannot vary).
var refSpellings = [][]byte{[]byte("$ref"), []byte(`\u0024`), []byte(`\u0072`), []byte(`\u0065`), []byte(`\u0066`)}

// mayHoldRefKey reports whether raw may hold a "$ref" key; false is certain.
func mayHoldRefKey(raw []byte) bool {
	for _, s := range refSpellings {
		if bytes.Contains(raw, s) {
			return true
		}
	}
	return false
}

// escapeRefKeys renames the single "$...$ref" key of objects inside v; it reports whether it did.
func escapeRefKeys(v any) bool {
	changed := false
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, val := range x {
				if _, isStr := val.(string); isStr && isRefKey(k) {
					delete(x, k)
					x["$"+k] = val
					return true
				}
			}
		}
		for _, e := range x {
			changed = escapeRefKeys(e) || changed
		}
	case []any:
		for _, e := range x {
			changed = escapeRefKeys(e) || changed
		}
	}
	return changed
}

func isRefKey(k string) bool {
	t := strings.TrimLeft(k, "$")
	return t == "ref" && len(k) > len(t)
}

// readID reads an id: a string as is, a number as written (never through float64 or int64, which
// would change large ids).
func readID(r gjson.Result) (string, error) {
	switch r.Type {
	case gjson.String:
		if r.Str == "" {
			return "", errors.New("empty string")
		}
		return r.Str, nil
	case gjson.Number:
		return r.Raw, nil
	case gjson.Null:
		if !r.Exists() {
			return "", errors.New("missing")
		}
		return "", errors.New("null")
	}
	return "", fmt.Errorf("%s: want a string or a number", describe(r))
}

// readTime reads an RFC 3339 string or Unix seconds; anything else is unknown (zero).
func readTime(r gjson.Result) time.Time {
	switch r.Type {
	case gjson.String:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
			if t, err := time.Parse(layout, r.Str); err == nil {
				return t.UTC()
			}
		}
	case gjson.Number:
		if s, err := strconv.ParseFloat(r.Raw, 64); err == nil && s > 0 && s < 1e11 {
			return time.Unix(0, int64(s*1e9)).UTC()
		}
	}
	return time.Time{}
}

// rewriteRefs replaces the value of every reference field of raw by {"$ref": id} (or an array of
// them for an array of ids). Absent and null fields are left alone.
func (d *decoder) rewriteRefs(raw []byte) ([]byte, error) {
	type splice struct {
		start, end int
		with       []byte
	}
	var splices []splice
	for _, rf := range d.refs {
		v := gjson.GetBytes(raw, rf.path)
		if !v.Exists() || v.Type == gjson.Null {
			continue
		}
		if v.Index <= 0 || v.Index+len(v.Raw) > len(raw) || string(raw[v.Index:v.Index+len(v.Raw)]) != v.Raw {
			return nil, fmt.Errorf("ref field %q: cannot locate its value", rf.path)
		}
		var with []byte
		if v.IsArray() {
			with = append(with, '[')
			k := 0
			var err error
			v.ForEach(func(_, e gjson.Result) bool {
				if e.Type == gjson.Null {
					return true
				}
				if k > 0 {
					with = append(with, ',')
				}
				with, err = d.appendRef(with, rf, e)
				k++
				return err == nil
			})
			if err != nil {
				return nil, err
			}
			with = append(with, ']')
		} else {
			var err error
			if with, err = d.appendRef(nil, rf, v); err != nil {
				return nil, err
			}
		}
		splices = append(splices, splice{v.Index, v.Index + len(v.Raw), with})
	}
	if len(splices) == 0 {
		return raw, nil
	}
	slices.SortFunc(splices, func(a, b splice) int { return a.start - b.start })
	for i := 1; i < len(splices); i++ {
		if splices[i].start < splices[i-1].end {
			return nil, fmt.Errorf("ref fields overlap (one inside another)")
		}
	}
	out := make([]byte, 0, len(raw)+64*len(splices))
	last := 0
	for _, s := range splices {
		out = append(out, raw[last:s.start]...)
		out = append(out, s.with...)
		last = s.end
	}
	return append(out, raw[last:]...), nil
}

func (d *decoder) appendRef(dst []byte, rf refField, v gjson.Result) ([]byte, error) {
	id, err := readID(v)
	if err != nil {
		return nil, fmt.Errorf("ref field %q: %v", rf.path, err)
	}
	src := rf.target.source
	if src == "" {
		src = d.source
	}
	dst = append(dst, `{"$ref":`...)
	dst = mesh.AppendString(dst, mesh.NodeID(src, rf.target.namespace, id))
	return append(dst, '}'), nil
}

// nextURL reads the next page's URL from a page: the Link header's rel="next" target or the string
// at the next path, resolved against the page's URL. "" means the last page.
func nextURL(r *fetch.Response, next string) (string, error) {
	var ref string
	if next == NextLink {
		ref = fetch.LinkNext(r.Header)
	} else {
		v := r.Get(next)
		switch v.Type {
		case gjson.Null: // absent or null: the last page
		case gjson.String:
			ref = v.Str
		default:
			if v.Type == gjson.False {
				break // "next": false
			}
			return "", fmt.Errorf("%s: %w: next path %q holds %s, want a URL string", r.URL, mesh.ErrBadResponse, next, describe(v))
		}
	}
	if strings.TrimSpace(ref) == "" {
		return "", nil
	}
	return r.Resolve(ref)
}

// describe names a JSON value's kind for error messages, without its content (which may be
// personal data).
func describe(r gjson.Result) string {
	switch {
	case r.IsArray():
		return "an array"
	case r.IsObject():
		return "an object"
	}
	switch r.Type {
	case gjson.String:
		return "a string"
	case gjson.Number:
		return "a number"
	case gjson.True, gjson.False:
		return "a boolean"
	case gjson.Null:
		return "null"
	}
	return "something else"
}
