package ghost

// This file holds the wire details: the resources and their paths, the pagination total, the NQL
// filters, how a page is read into nodes (authors, tags and images as references), the error body
// and the cursor.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/sources/internal/normalize"
)

const (
	// apiPath is where the Content API lives under the site's URL.
	apiPath      = "/ghost/api/content"
	settingsPath = "/settings/"

	// stableOrder keeps offset pages from overlapping or skipping while content changes: ids are
	// unique, and new ones sort after old ones.
	stableOrder = "id asc"

	// totalPath is the number of items of a listing.
	totalPath = "meta.pagination.total"

	assetNamespace = "asset"
	assetType      = "Asset"

	// sinceLayout is the date format of the updated_at filter (UTC).
	sinceLayout = "2006-01-02 15:04:05"
)

// resource is one browse endpoint of the Content API.
type resource struct {
	name      string // the path segment and the answer's key: posts
	namespace string // the middle part of node IDs: post
	typ       string // the node type: Post
	include   string // related data to ask for
	dated     bool   // items carry updated_at: synced with the filter and the sweep
}

func (r resource) path() string { return "/" + r.name + "/" }

var (
	posts     = resource{name: "posts", namespace: "post", typ: "Post", include: "authors,tags", dated: true}
	pages     = resource{name: "pages", namespace: "page", typ: "Page", include: "authors,tags", dated: true}
	authors   = resource{name: "authors", namespace: "author", typ: "Author"}
	tags      = resource{name: "tags", namespace: "tag", typ: "Tag"}
	resources = []resource{posts, pages, authors, tags}
)

// splitKey splits a cursor key "<resource>/<id>".
func splitKey(key string) (resource, string) {
	name, id, _ := strings.Cut(key, "/")
	for _, r := range resources {
		if r.name == name {
			return r, id
		}
	}
	return resource{}, ""
}

// bodyTotal reads the number of items of a listing from meta.pagination.total.
func bodyTotal(r *fetch.Response) (int, error) {
	t := r.Get(totalPath)
	if t.Type != gjson.Number || t.Num < 0 || t.Num != float64(int(t.Num)) {
		return 0, fmt.Errorf("%w: no count at %s", mesh.ErrBadResponse, totalPath)
	}
	return int(t.Num), nil
}

// sinceFilter is the NQL filter of what changed after the cursor's watermark (RFC 3339), in the
// SQL form Ghost stores dates in; "" for no watermark.
func sinceFilter(since string) string {
	t, err := time.Parse(time.RFC3339Nano, since)
	if since == "" || err != nil {
		return ""
	}
	return "updated_at:>'" + t.UTC().Format(sinceLayout) + "'"
}

// errorMessage picks Ghost's message out of an error body:
// {"errors": [{"message": "...", "context": "...", "type": "..."}]}.
func errorMessage(status int, body []byte) string {
	if gjson.ValidBytes(body) {
		e := gjson.GetBytes(body, "errors.0")
		msg, ctx := e.Get("message"), e.Get("context")
		if msg.Type == gjson.String && msg.Str != "" {
			if ctx.Type == gjson.String && ctx.Str != "" && ctx.Str != msg.Str {
				return msg.Str + ": " + ctx.Str
			}
			return msg.Str
		}
	}
	return fetch.DefaultErrorMessage(status, body)
}

// cursorVersion is the version of the cursor's shape.
const cursorVersion = 1

// cursor is the incremental state.
type cursor struct {
	V           int    `json:"v"`
	Fingerprint string `json:"fingerprint"`
	Source      string `json:"source"`
	// Since is the highest updated_at of the posts and pages, RFC 3339 UTC.
	Since string `json:"since"`
	// Items maps "<resource>/<id>" to what the cursor keeps of it.
	Items map[string]*entry `json:"items"`
}

// entry is what the cursor keeps of one item.
type entry struct {
	// At is updated_at, RFC 3339 UTC; empty for authors and tags.
	At string `json:"t,omitempty"`
	// Assets are the native IDs of the images the item uses, sorted.
	Assets []string `json:"a,omitempty"`
}

// item is one decoded post, page, author or tag.
type item struct {
	key       string // "<resource>/<id>"
	node      mesh.Node
	assets    []asset
	updatedAt string // RFC 3339 UTC, "" when absent
}

func (it item) entry() *entry {
	e := &entry{At: it.updatedAt}
	for _, a := range it.assets {
		if !slices.Contains(e.Assets, a.id) {
			e.Assets = append(e.Assets, a.id)
		}
	}
	slices.Sort(e.Assets)
	return e
}

// stamp is one result of the sweep.
type stamp struct {
	id, at string
}

// asset is an image URL.
type asset struct {
	id, url string
}

// newAsset names an image by a short hash of its URL.
func newAsset(u string) asset {
	h := sha256.Sum256([]byte(u))
	return asset{id: hex.EncodeToString(h[:8]), url: u}
}

// mimeTypes maps file extensions to media types; a fixed table, so that the graph does not depend
// on the machine's MIME database.
var mimeTypes = map[string]string{
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
	".webp": "image/webp", ".avif": "image/avif", ".svg": "image/svg+xml", ".ico": "image/x-icon",
}

// node is the Asset node of an image.
func (a asset) node(source string) mesh.Node {
	o := mesh.NewObject()
	o.SetString("url", a.url)
	if u, err := url.Parse(a.url); err == nil && u.Path != "" && !strings.HasSuffix(u.Path, "/") {
		name := path.Base(u.Path)
		o.SetString("fileName", name)
		if mt, ok := mimeTypes[strings.ToLower(path.Ext(name))]; ok {
			o.SetString("mimeType", mt)
		}
	}
	return mesh.Node{ID: mesh.NodeID(source, assetNamespace, a.id), Type: assetType, NativeID: a.id, Fields: o.JSON()}
}

// imageKeys are the fields that hold image URLs.
var imageKeys = map[string]bool{"feature_image": true, "og_image": true, "twitter_image": true, "profile_image": true, "cover_image": true}

// timeKeys are the fields written in RFC 3339 UTC.
var timeKeys = map[string]bool{"created_at": true, "updated_at": true, "published_at": true}

// decoder maps pages to nodes for one source instance.
type decoder struct {
	source string
}

// itemID reads an item's id as a string (Ghost sends strings; a number is kept as written).
func itemID(v gjson.Result) string {
	id := v.Get("id")
	switch id.Type {
	case gjson.String:
		return id.Str
	case gjson.Number:
		return id.Raw
	}
	return ""
}

// decodePage maps one page of a resource's listing. pageURL (redacted) names the page in errors.
func (d *decoder) decodePage(body []byte, pageURL string, res resource) ([]item, error) {
	arr := gjson.GetBytes(body, res.name)
	if !arr.IsArray() {
		return nil, fmt.Errorf("%s: %w: %q is not an array: found %s", pageURL, mesh.ErrBadResponse, res.name, describe(arr))
	}
	var out []item
	var err error
	i := 0
	arr.ForEach(func(_, v gjson.Result) bool {
		var it item
		if it, err = d.decodeItem(v, res); err != nil {
			err = fmt.Errorf("%s: %s %d: %w", pageURL, res.namespace, i, err)
			return false
		}
		out = append(out, it)
		i++
		return true
	})
	return out, err
}

// decodeItem maps one item to its node and the images it uses.
func (d *decoder) decodeItem(v gjson.Result, res resource) (item, error) {
	if !v.IsObject() {
		return item{}, fmt.Errorf("%w: want an object, found %s", mesh.ErrBadResponse, describe(v))
	}
	id := itemID(v)
	if id == "" {
		return item{}, fmt.Errorf("%w: no id", mesh.ErrBadResponse)
	}
	it := item{key: res.name + "/" + id}
	var updatedAt time.Time
	if at := v.Get("updated_at"); at.Type == gjson.String && at.Str != "" {
		t, err := normalize.Time(at.Str)
		if err != nil {
			return item{}, fmt.Errorf("%w: %s %q: updated_at: %v", mesh.ErrBadResponse, res.namespace, id, err)
		}
		updatedAt = t
		it.updatedAt = t.Format(time.RFC3339Nano)
	}
	buf := []byte{'{'}
	first := true
	var err error
	v.ForEach(func(k, val gjson.Result) bool {
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = mesh.AppendString(buf, k.Str)
		buf = append(buf, ':')
		switch {
		case k.Str == "authors" || k.Str == "tags":
			buf, err = d.refs(buf, val, k.Str)
		case k.Str == "primary_author":
			buf, err = d.ref(buf, val, authors)
		case k.Str == "primary_tag":
			buf, err = d.ref(buf, val, tags)
		case imageKeys[k.Str] && val.Type == gjson.String && val.Str != "":
			a := newAsset(val.Str)
			it.assets = append(it.assets, a)
			buf = mesh.AppendRef(buf, mesh.NodeID(d.source, assetNamespace, a.id))
		case timeKeys[k.Str] && val.Type == gjson.String && val.Str != "":
			if t := normalize.TimeString(val.Str); t != "" {
				buf = mesh.AppendString(buf, t)
			} else {
				buf = append(buf, val.Raw...)
			}
		default:
			buf = appendEscaped(buf, val)
		}
		return err == nil
	})
	if err != nil {
		return item{}, fmt.Errorf("%s %q: %w", res.namespace, id, err)
	}
	buf = append(buf, '}')
	it.node = mesh.Node{ID: mesh.NodeID(d.source, res.namespace, id), Type: res.typ, NativeID: id, UpdatedAt: updatedAt, Fields: buf}
	return it, nil
}

// refs writes an authors or tags array as an array of $refs.
func (d *decoder) refs(buf []byte, v gjson.Result, key string) ([]byte, error) {
	if v.Type == gjson.Null {
		return append(buf, "null"...), nil
	}
	if !v.IsArray() {
		return nil, fmt.Errorf("%w: %s is %s, want an array", mesh.ErrBadResponse, key, describe(v))
	}
	res := authors
	if key == "tags" {
		res = tags
	}
	buf = append(buf, '[')
	var err error
	i := 0
	v.ForEach(func(_, e gjson.Result) bool {
		if i > 0 {
			buf = append(buf, ',')
		}
		i++
		buf, err = d.ref(buf, e, res)
		return err == nil
	})
	return append(buf, ']'), err
}

// ref writes an embedded author or tag (or its id) as a $ref; null stays null.
func (d *decoder) ref(buf []byte, v gjson.Result, res resource) ([]byte, error) {
	var id string
	switch {
	case v.Type == gjson.Null:
		return append(buf, "null"...), nil
	case v.IsObject():
		id = itemID(v)
	case v.Type == gjson.String:
		id = v.Str
	}
	if id == "" {
		return nil, fmt.Errorf("%w: a %s without an id", mesh.ErrBadResponse, res.namespace)
	}
	return mesh.AppendRef(buf, mesh.NodeID(d.source, res.namespace, id)), nil
}

// decodeStamps reads a sweep page (fields=id,updated_at).
func decodeStamps(body []byte, pageURL string, res resource) ([]stamp, error) {
	arr := gjson.GetBytes(body, res.name)
	if !arr.IsArray() {
		return nil, fmt.Errorf("%s: %w: %q is not an array: found %s", pageURL, mesh.ErrBadResponse, res.name, describe(arr))
	}
	var out []stamp
	var err error
	arr.ForEach(func(_, v gjson.Result) bool {
		id := itemID(v)
		if id == "" {
			err = fmt.Errorf("%s: %w: a %s without an id", pageURL, mesh.ErrBadResponse, res.namespace)
			return false
		}
		out = append(out, stamp{id: id, at: normalize.TimeString(v.Get("updated_at").String())})
		return true
	})
	return out, err
}

// appendEscaped writes v as it is, except that an object whose only member is "$ref" (which would
// read as a reference) gets its key escaped with one more "$", at any depth.
func appendEscaped(buf []byte, v gjson.Result) []byte {
	if !(v.IsObject() || v.IsArray()) || !(strings.Contains(v.Raw, "ref") || strings.Contains(v.Raw, `\u`)) {
		if v.Raw == "" {
			return append(buf, "null"...)
		}
		return append(buf, v.Raw...)
	}
	if v.IsArray() {
		buf = append(buf, '[')
		i := 0
		v.ForEach(func(_, e gjson.Result) bool {
			if i > 0 {
				buf = append(buf, ',')
			}
			i++
			buf = appendEscaped(buf, e)
			return true
		})
		return append(buf, ']')
	}
	n := 0
	var onlyKey, onlyVal gjson.Result
	v.ForEach(func(k, val gjson.Result) bool {
		n++
		onlyKey, onlyVal = k, val
		return n < 2
	})
	buf = append(buf, '{')
	if n == 1 && onlyVal.Type == gjson.String && isRefKey(onlyKey.Str) {
		buf = mesh.AppendString(buf, "$"+onlyKey.Str)
		buf = append(buf, ':')
		buf = append(buf, onlyVal.Raw...)
		return append(buf, '}')
	}
	i := 0
	v.ForEach(func(k, val gjson.Result) bool {
		if i > 0 {
			buf = append(buf, ',')
		}
		i++
		buf = mesh.AppendString(buf, k.Str)
		buf = append(buf, ':')
		buf = appendEscaped(buf, val)
		return true
	})
	return append(buf, '}')
}

// isRefKey reports whether k is "$ref" with one or more "$".
func isRefKey(k string) bool {
	t := strings.TrimLeft(k, "$")
	return t == "ref" && len(k) > len(t)
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
