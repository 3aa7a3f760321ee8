package sanity

// This file holds the wire details: the GROQ queries, how a request is encoded (GET with $params,
// or POST beyond the URL limit), how a query answer is read into nodes, the error body's shape and
// the cursor's.

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/sources/internal/normalize"
)

const (
	// namespace is the middle part of every node ID: document IDs are unique in a dataset, assets
	// included, and a reference names only the _id.
	namespace = "document"
	// assetType is the node type of image and file asset documents.
	assetType = "Asset"

	// defaultFilter selects every document but Sanity's own: system documents (groups, retention)
	// and sanity.* documents of plugins and tools (sanity.previewUrlSecret holds a secret). Asset
	// documents come back through assetFilter.
	defaultFilter = `!(_type match "system.**") && !(_type match "sanity.**")`
	// assetFilter is or-ed with every filter, so that image and file fields resolve.
	assetFilter = `_type in ["sanity.imageAsset", "sanity.fileAsset"]`
	// changedClause selects what changed since the cursor's watermark.
	changedClause = `_updatedAt > $since`

	// resultPath is where a query answer holds the result.
	resultPath = "result"

	// maxGetURL is the longest query URL sent as a GET (the API takes 11 KB); longer ones are POSTed.
	maxGetURL = 10_000

	draftsPrefix = "drafts."
)

// pageQuery is one keyset page of whole documents: *[(<filter>) [&& extra] && _id > $lastId] |
// order(_id) [0...size].
func pageQuery(filter, extra string, size int) string {
	var b strings.Builder
	b.WriteString("*[(")
	b.WriteString(filter)
	b.WriteString(")")
	if extra != "" {
		b.WriteString(" && ")
		b.WriteString(extra)
	}
	b.WriteString(" && _id > $lastId] | order(_id) [0...")
	b.WriteString(strconv.Itoa(size))
	b.WriteString("]")
	return b.String()
}

// sweepQuery is one keyset page of the ID sweep: IDs and change times only.
func sweepQuery(filter string, size int) string {
	return pageQuery(filter, "", size) + " {_id, _updatedAt}"
}

// idsQuery fetches the documents whose IDs are in $ids.
func idsQuery(filter string) string {
	return "*[(" + filter + ") && _id in $ids] | order(_id)"
}

// request builds the query request: a GET with the query and its $parameters (JSON-encoded, as the
// API wants them) while the URL is short enough, else a read-only POST of {"query", "params"}.
func (s *Source) request(query string, params map[string]any) *fetch.Request {
	q := url.Values{}
	q.Set("query", query)
	for name, v := range params {
		b, err := json.Marshal(v)
		if err != nil {
			b = []byte("null") // strings and string slices always encode
		}
		q.Set("$"+name, string(b))
	}
	q.Set("perspective", s.perspective)
	q.Set("returnQuery", "false")
	if len(s.path)+1+len(q.Encode()) <= maxGetURL {
		return &fetch.Request{URL: s.path, Query: q}
	}
	body, _ := json.Marshal(struct {
		Query  string         `json:"query"`
		Params map[string]any `json:"params,omitempty"`
	}{query, params})
	return &fetch.Request{
		Method:     "POST",
		URL:        s.path,
		Query:      url.Values{"perspective": {s.perspective}, "returnQuery": {"false"}},
		Header:     map[string][]string{"Content-Type": {"application/json"}},
		Body:       body,
		Idempotent: true, // a query only reads
	}
}

// nextLastID reads a keyset page's continuation: the raw _id of its last result when the page is
// full, "" when it is the last page.
func nextLastID(body []byte, pageURL string, size int) (string, error) {
	res := gjson.GetBytes(body, resultPath)
	if !res.IsArray() {
		return "", fmt.Errorf("%s: %w: %q is not an array: found %s", pageURL, mesh.ErrBadResponse, resultPath, describe(res))
	}
	n := int(res.Get("#").Int())
	if n < size {
		return "", nil
	}
	last := res.Get(strconv.Itoa(n-1) + "._id")
	if last.Type != gjson.String || last.Str == "" {
		return "", fmt.Errorf("%s: %w: result %d has no _id string", pageURL, mesh.ErrBadResponse, n-1)
	}
	return last.Str, nil
}

// errorMessage picks Sanity's message out of an error body: a query error
// {"error": {"description", "type"}} or a plain HTTP error {"statusCode", "error", "message"}.
func errorMessage(status int, body []byte) string {
	if gjson.ValidBytes(body) {
		e := gjson.GetBytes(body, "error")
		if d := e.Get("description"); d.Type == gjson.String && d.Str != "" {
			if t := e.Get("type"); t.Type == gjson.String && t.Str != "" {
				return t.Str + ": " + d.Str
			}
			return d.Str
		}
		if m := gjson.GetBytes(body, "message"); m.Type == gjson.String && m.Str != "" {
			return m.Str // "error" only repeats the status text
		}
	}
	return fetch.DefaultErrorMessage(status, body)
}

// cursorVersion is the version of the cursor's shape.
const cursorVersion = 1

// cursor is the incremental state: the highest _updatedAt seen, and every document's _updatedAt.
type cursor struct {
	V           int    `json:"v"`
	Fingerprint string `json:"fingerprint"`
	Source      string `json:"source"`
	// Since is the watermark of the change query: the highest _updatedAt of Docs.
	Since string `json:"since"`
	// Docs maps each document's native ID to its _updatedAt as the API wrote it.
	Docs map[string]string `json:"docs"`
}

// document is one decoded document: its native ID, its _updatedAt, and its node (one per locale).
type document struct {
	id        string
	updatedAt string
	nodes     []mesh.Node
}

// stamp is one result of the sweep.
type stamp struct {
	id, updatedAt string
}

// decoder maps query results to nodes for one source instance.
type decoder struct {
	source  string
	locales []locale
	drafts  bool // strip the drafts. prefix from IDs and references
}

// nativeID is the node's native ID for a raw _id.
func (d *decoder) nativeID(raw string) string {
	if d.drafts {
		if id, ok := strings.CutPrefix(raw, draftsPrefix); ok && id != "" {
			return id
		}
	}
	return raw
}

// nodeIDs lists the node IDs of a document: one, or one per locale (assets are never localized).
func (d *decoder) nodeIDs(id string) []string {
	if len(d.locales) == 0 || isAssetID(id) {
		return []string{mesh.NodeID(d.source, namespace, id)}
	}
	ids := make([]string, len(d.locales))
	for i, l := range d.locales {
		ids[i] = mesh.LocalizedNodeID(d.source, namespace, id, l.tag)
	}
	return ids
}

// isAssetID reports whether a document ID names an image or file asset (image-<sha1>-<w>x<h>-<ext>,
// file-<sha1>-<ext>): references to assets are never localized.
func isAssetID(id string) bool {
	return strings.HasPrefix(id, "image-") || strings.HasPrefix(id, "file-")
}

// isAssetType reports whether _type is an asset document's.
func isAssetType(t string) bool { return t == "sanity.imageAsset" || t == "sanity.fileAsset" }

// decodePage maps a query answer's result array to documents. pageURL (redacted) names the page in
// errors.
func (d *decoder) decodePage(body []byte, pageURL string) ([]document, error) {
	res := gjson.GetBytes(body, resultPath)
	if !res.IsArray() {
		return nil, fmt.Errorf("%s: %w: %q is not an array: found %s", pageURL, mesh.ErrBadResponse, resultPath, describe(res))
	}
	var docs []document
	var err error
	i := 0
	res.ForEach(func(_, v gjson.Result) bool {
		var doc document
		if doc, err = d.decodeDocument(v); err != nil {
			err = fmt.Errorf("%s: result %d: %w", pageURL, i, err)
			return false
		}
		docs = append(docs, doc)
		i++
		return true
	})
	return docs, err
}

// decodeStamps reads a sweep page: {_id, _updatedAt} objects.
func decodeStamps(body []byte, pageURL string, drafts bool) ([]stamp, error) {
	res := gjson.GetBytes(body, resultPath)
	if !res.IsArray() {
		return nil, fmt.Errorf("%s: %w: %q is not an array: found %s", pageURL, mesh.ErrBadResponse, resultPath, describe(res))
	}
	d := decoder{drafts: drafts}
	var out []stamp
	var err error
	i := 0
	res.ForEach(func(_, v gjson.Result) bool {
		id := v.Get("_id")
		if id.Type != gjson.String || id.Str == "" {
			err = fmt.Errorf("%s: result %d: %w: no _id string", pageURL, i, mesh.ErrBadResponse)
			return false
		}
		out = append(out, stamp{id: d.nativeID(id.Str), updatedAt: v.Get("_updatedAt").String()})
		i++
		return true
	})
	return out, err
}

// decodeDocument maps one document to its node (or one node per locale).
func (d *decoder) decodeDocument(v gjson.Result) (document, error) {
	if !v.IsObject() {
		return document{}, fmt.Errorf("%w: want a document object, found %s", mesh.ErrBadResponse, describe(v))
	}
	rawID, typ := v.Get("_id"), v.Get("_type")
	if rawID.Type != gjson.String || rawID.Str == "" {
		return document{}, fmt.Errorf("%w: document without an _id string", mesh.ErrBadResponse)
	}
	if typ.Type != gjson.String || typ.Str == "" {
		return document{}, fmt.Errorf("%w: document %q without a _type string", mesh.ErrBadResponse, rawID.Str)
	}
	id := d.nativeID(rawID.Str)
	upd := v.Get("_updatedAt").String()
	doc := document{id: id, updatedAt: upd}
	var updatedAt time.Time
	if upd != "" {
		t, err := normalize.Time(upd)
		if err != nil {
			return document{}, fmt.Errorf("%w: document %q: _updatedAt: %v", mesh.ErrBadResponse, id, err)
		}
		updatedAt = t
	}
	asset := isAssetType(typ.Str)
	nodeType := assetType
	if !asset {
		nodeType = normalize.TypeName(typ.Str)
		if nodeType == "" {
			return document{}, fmt.Errorf("%w: document %q: _type %q has no letters or digits", mesh.ErrBadResponse, id, typ.Str)
		}
	}
	if asset || len(d.locales) == 0 {
		doc.nodes = []mesh.Node{{
			ID: mesh.NodeID(d.source, namespace, id), Type: nodeType, NativeID: id, UpdatedAt: updatedAt,
			Fields: d.fields(v, asset, nil),
		}}
		return doc, nil
	}
	for i := range d.locales {
		l := &d.locales[i]
		doc.nodes = append(doc.nodes, mesh.Node{
			ID: mesh.LocalizedNodeID(d.source, namespace, id, l.tag), Type: nodeType, NativeID: id,
			Locale: l.tag, UpdatedAt: updatedAt, Fields: d.fields(v, false, l),
		})
	}
	return doc, nil
}

// skipped are the top-level keys that are not content: the node's ID and change time, and revision
// bookkeeping.
var skipped = map[string]bool{"_id": true, "_rev": true, "_updatedAt": true, "_originalId": true}

// fields writes a document's fields: its members rewritten (references, translations), system keys
// left out, _createdAt normalized; an asset also gets the Asset node's standard keys.
func (d *decoder) fields(v gjson.Result, asset bool, loc *locale) []byte {
	w := writer{d: d, loc: loc}
	buf := []byte{'{'}
	first := true
	v.ForEach(func(k, val gjson.Result) bool {
		if skipped[k.Str] {
			return true
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = mesh.AppendString(buf, k.Str)
		buf = append(buf, ':')
		if k.Str == "_createdAt" && val.Type == gjson.String {
			if t := normalize.TimeString(val.Str); t != "" {
				buf = mesh.AppendString(buf, t)
				return true
			}
		}
		buf = w.value(buf, val)
		return true
	})
	if asset {
		buf = appendAssetKeys(buf, v, first)
	}
	return append(buf, '}')
}

// appendAssetKeys adds the Asset node's standard keys (DESIGN section 3) that an asset document
// does not already hold under that name: alt, fileName, width and height. url, mimeType, size and
// title are the document's own keys.
func appendAssetKeys(buf []byte, v gjson.Result, first bool) []byte {
	add := func(key string, val gjson.Result) {
		if !val.Exists() || val.Type == gjson.Null {
			return
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = mesh.AppendString(buf, key)
		buf = append(buf, ':')
		buf = append(buf, val.Raw...)
	}
	if !v.Get("alt").Exists() {
		add("alt", scalar(v.Get("altText")))
	}
	if !v.Get("fileName").Exists() {
		add("fileName", scalar(v.Get("originalFilename")))
	}
	dims := v.Get("metadata.dimensions")
	if !v.Get("width").Exists() {
		add("width", number(dims.Get("width")))
	}
	if !v.Get("height").Exists() {
		add("height", number(dims.Get("height")))
	}
	return buf
}

// scalar keeps strings only; number keeps numbers only (anything else is left out).
func scalar(r gjson.Result) gjson.Result {
	if r.Type == gjson.String {
		return r
	}
	return gjson.Result{}
}

func number(r gjson.Result) gjson.Result {
	if r.Type == gjson.Number {
		return r
	}
	return gjson.Result{}
}

// writer rewrites a JSON value: references become {"$ref": id}, translations collapse to one
// locale, and upstream objects that would read as references are escaped.
type writer struct {
	d   *decoder
	loc *locale
}

func (w *writer) value(buf []byte, v gjson.Result) []byte {
	if w.loc == nil && (v.IsObject() || v.IsArray()) && !mayHoldRef(v.Raw) {
		return append(buf, v.Raw...) // nothing to rewrite inside: copy it as it is
	}
	switch {
	case v.IsObject():
		return w.object(buf, v)
	case v.IsArray():
		if w.loc != nil {
			if val, ok := w.localizedArray(v); ok {
				if !val.Exists() {
					return append(buf, "null"...)
				}
				return w.value(buf, val)
			}
		}
		buf = append(buf, '[')
		i := 0
		v.ForEach(func(_, e gjson.Result) bool {
			if i > 0 {
				buf = append(buf, ',')
			}
			i++
			buf = w.value(buf, e)
			return true
		})
		return append(buf, ']')
	case v.Raw == "":
		return append(buf, "null"...)
	default:
		return append(buf, v.Raw...) // a valid scalar: the page was checked by gjson.ValidBytes
	}
}

func (w *writer) object(buf []byte, v gjson.Result) []byte {
	// One scan learns the shape: a reference, how many members, the only member.
	var ref, onlyKey, onlyVal gjson.Result
	external := false
	n := 0
	v.ForEach(func(k, val gjson.Result) bool {
		n++
		switch k.Str {
		case "_ref":
			ref = val
		case "_dataset", "_projectId":
			external = true
		}
		if n == 1 {
			onlyKey, onlyVal = k, val
		}
		return true
	})
	if ref.Type == gjson.String && ref.Str != "" && !external {
		id := w.d.nativeID(ref.Str)
		if w.loc != nil && !isAssetID(id) {
			return mesh.AppendRef(buf, mesh.LocalizedNodeID(w.d.source, namespace, id, w.loc.tag))
		}
		return mesh.AppendRef(buf, mesh.NodeID(w.d.source, namespace, id))
	}
	if w.loc != nil {
		if val, ok := w.localizedObject(v); ok {
			if !val.Exists() {
				return append(buf, "null"...)
			}
			return w.value(buf, val)
		}
	}
	// An upstream object whose only member is "$ref" (or "$$ref", ...) would read as a reference:
	// one more "$" keeps it a plain object.
	if n == 1 && onlyVal.Type == gjson.String && isRefKey(onlyKey.Str) {
		buf = append(buf, '{')
		buf = mesh.AppendString(buf, "$"+onlyKey.Str)
		buf = append(buf, ':')
		buf = append(buf, onlyVal.Raw...)
		return append(buf, '}')
	}
	buf = append(buf, '{')
	i := 0
	v.ForEach(func(k, val gjson.Result) bool {
		if i > 0 {
			buf = append(buf, ',')
		}
		i++
		buf = mesh.AppendString(buf, k.Str)
		buf = append(buf, ':')
		buf = w.value(buf, val)
		return true
	})
	return append(buf, '}')
}

// mayHoldRef reports whether raw JSON may hold a reference (_ref) or a key spelled "$ref": false is
// certain. Any \u escape counts, since it may spell either.
func mayHoldRef(raw string) bool {
	return strings.Contains(raw, "ref") || strings.Contains(raw, `\u`)
}

// isRefKey reports whether k is "$ref" with one or more "$".
func isRefKey(k string) bool {
	t := strings.TrimLeft(k, "$")
	return t == "ref" && len(k) > len(t)
}

// localizedObject recognizes a field-level translation object: at least one member named after a
// configured locale, and every other member _type or _key. It returns the value for w.loc (absent
// when the object has none).
func (w *writer) localizedObject(v gjson.Result) (gjson.Result, bool) {
	locales := 0
	ok := true
	var val gjson.Result
	v.ForEach(func(k, e gjson.Result) bool {
		switch {
		case k.Str == "_type" || k.Str == "_key":
		case w.d.isLocaleKey(k.Str):
			locales++
			if k.Str == w.loc.key {
				val = e
			}
		default:
			ok = false
		}
		return ok
	})
	return val, ok && locales > 0
}

// localizedArray recognizes an internationalized array: every member an object with a _key naming
// a configured locale and a value. It returns the value for w.loc (absent when it has none).
func (w *writer) localizedArray(v gjson.Result) (gjson.Result, bool) {
	n := 0
	ok := true
	var val gjson.Result
	v.ForEach(func(_, e gjson.Result) bool {
		n++
		k := e.Get("_key")
		if !e.IsObject() || k.Type != gjson.String || !w.d.isLocaleKey(k.Str) || !e.Get("value").Exists() {
			ok = false
			return false
		}
		if k.Str == w.loc.key {
			val = e.Get("value")
		}
		return true
	})
	return val, ok && n > 0
}

func (d *decoder) isLocaleKey(k string) bool {
	for _, l := range d.locales {
		if l.key == k {
			return true
		}
	}
	return false
}

// describe names a JSON value's kind for error messages.
func describe(r gjson.Result) string {
	switch {
	case !r.Exists():
		return "nothing"
	case r.IsObject():
		return "an object"
	case r.IsArray():
		return "an array"
	case r.Type == gjson.String:
		return "a string"
	case r.Type == gjson.Number:
		return "a number"
	case r.Type == gjson.Null:
		return "null"
	default:
		return "a boolean"
	}
}
