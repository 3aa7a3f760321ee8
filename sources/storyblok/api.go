package storyblok

// This file holds the wire details: the paths, the total header, how a stories page and a links
// page are read, how story content is rewritten (references, links, assets), the asset URL's
// shape, the error bodies and the cursor.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/sources/internal/normalize"
)

const (
	spacePath   = "/v2/cdn/spaces/me"
	storiesPath = "/v2/cdn/stories"
	linksPath   = "/v2/cdn/links"

	// spaceVersionPath is the cache version in the spaces/me answer.
	spaceVersionPath = "space.version"
	// storiesKey and linksKey hold the items of a stories page and of a links page.
	storiesKey = "stories"
	linksKey   = "links"

	storyNamespace = "story"
	assetNamespace = "asset"
	assetType      = "Asset"

	// sinceLayout is the format of the date filters (UTC, to the minute).
	sinceLayout = "2006-01-02 15:04"
)

// headerTotal reads the number of items of a listing from its total header (Storyblok sends
// totals in headers, not in the body).
func headerTotal(r *fetch.Response) (int, error) {
	v := r.Header.Get("Total")
	if v == "" {
		return 0, fmt.Errorf("%w: no total header (a proxy may strip it)", mesh.ErrBadResponse)
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: total header %q is not a count", mesh.ErrBadResponse, v)
	}
	return n, nil
}

// sinceParam turns the cursor's watermark (RFC 3339) into the date filter's value: a minute
// earlier, to the minute, so that the filter's precision loses nothing. "" for no watermark.
func sinceParam(since string) string {
	t, err := time.Parse(time.RFC3339Nano, since)
	if since == "" || err != nil {
		return ""
	}
	return t.UTC().Truncate(time.Minute).Add(-time.Minute).Format(sinceLayout)
}

// errorMessage picks Storyblok's message out of an error body: {"error": "..."} (401), a bare array
// of strings (404: ["This record could not be found"]), or {"<param>": ["..."]} (422).
func errorMessage(status int, body []byte) string {
	if gjson.ValidBytes(body) {
		root := gjson.ParseBytes(body)
		if e := root.Get("error"); e.Type == gjson.String && e.Str != "" {
			return e.Str
		}
		if root.IsArray() {
			var parts []string
			for _, v := range root.Array() {
				if v.Type == gjson.String {
					parts = append(parts, v.Str)
				}
			}
			if len(parts) > 0 {
				return strings.Join(parts, "; ")
			}
		}
		if root.IsObject() && !root.Get("message").Exists() {
			var parts []string
			root.ForEach(func(k, v gjson.Result) bool {
				if v.IsArray() && len(v.Array()) > 0 && v.Array()[0].Type == gjson.String {
					parts = append(parts, k.Str+": "+v.Array()[0].Str)
				}
				return len(parts) < 3
			})
			if len(parts) > 0 {
				return strings.Join(parts, "; ")
			}
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
	// CV is the space's cache version at the last fetch.
	CV string `json:"cv"`
	// Since is the highest publication (draft: update) time of the stories, RFC 3339.
	Since string `json:"since"`
	// Stories maps each story's UUID to its stamp and assets.
	Stories map[string]*entry `json:"stories"`
}

// entry is what the cursor keeps of one story.
type entry struct {
	// Stamp hashes what dates and locates the story (see stamp).
	Stamp string `json:"s"`
	// Assets are the native IDs of the assets the story uses, in any language, sorted.
	Assets []string `json:"a,omitempty"`
}

// stamp hashes the attributes that both a story and its link (the sweep) carry: its publication
// (draft: update) time to the second, full slug, folder, position and name. A different stamp
// means the story must be read again.
func stamp(at, fullSlug, parentID, position, name string) string {
	if t, err := normalize.Time(at); err == nil {
		at = t.Truncate(time.Second).Format(time.RFC3339)
	}
	h := sha256.Sum256([]byte(at + "\x00" + fullSlug + "\x00" + parentID + "\x00" + position + "\x00" + name))
	return hex.EncodeToString(h[:8])
}

// story is one decoded story.
type story struct {
	uuid   string
	stamp  string
	time   string // the stamp's time, RFC 3339 UTC ("" when absent)
	node   mesh.Node
	assets []asset
}

// link is one story of the sweep.
type link struct {
	uuid, stamp string
}

// asset is one asset seen in story content.
type asset struct {
	id, url string
}

// assetSizeRE finds the dimensions in a Storyblok asset URL: /f/<space>/<w>x<h>/<hash>/<name>.
var assetSizeRE = regexp.MustCompile(`/f/\d+/(\d+)x(\d+)/`)

// mimeTypes maps file extensions to media types; a fixed table, so that the graph does not depend
// on the machine's MIME database.
var mimeTypes = map[string]string{
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
	".webp": "image/webp", ".avif": "image/avif", ".svg": "image/svg+xml", ".ico": "image/x-icon",
	".pdf": "application/pdf", ".mp4": "video/mp4", ".webm": "video/webm", ".mov": "video/quicktime",
	".mp3": "audio/mpeg", ".wav": "audio/wav", ".json": "application/json", ".txt": "text/plain",
	".csv": "text/csv", ".zip": "application/zip",
}

// node is the Asset node: what does not depend on where the asset is used.
func (a asset) node(source string) mesh.Node {
	o := mesh.NewObject()
	o.SetString("url", a.url)
	name := ""
	if u, err := url.Parse(a.url); err == nil && u.Path != "" && !strings.HasSuffix(u.Path, "/") {
		name = path.Base(u.Path)
	}
	if name != "" {
		o.SetString("fileName", name)
		if mt, ok := mimeTypes[strings.ToLower(path.Ext(name))]; ok {
			o.SetString("mimeType", mt)
		}
	}
	if m := assetSizeRE.FindStringSubmatch(a.url); m != nil {
		if w, err := strconv.ParseInt(m[1], 10, 32); err == nil {
			o.SetInt("width", w)
		}
		if h, err := strconv.ParseInt(m[2], 10, 32); err == nil {
			o.SetInt("height", h)
		}
	}
	return mesh.Node{ID: mesh.NodeID(source, assetNamespace, a.id), Type: assetType, NativeID: a.id, Fields: o.JSON()}
}

// decoder maps pages to nodes for one source instance.
type decoder struct {
	source    string
	relations map[string]map[string]bool
	draft     bool
}

// timeKey is the story attribute that dates it: published_at, or updated_at for drafts.
func (d *decoder) timeKey() string {
	if d.draft {
		return "updated_at"
	}
	return "published_at"
}

// sinceKey is the date filter of the incremental query.
func (d *decoder) sinceKey() string { return d.timeKey() + "_gt" }

// storyID is a story's node ID in a language ("" is the default language).
func (d *decoder) storyID(uuid, lang string) string {
	return mesh.LocalizedNodeID(d.source, storyNamespace, uuid, lang)
}

// timeKeys are the story attributes written in RFC 3339 UTC.
var timeKeys = map[string]bool{"created_at": true, "published_at": true, "updated_at": true, "first_published_at": true}

// decodePage maps a stories page to stories of a language ("" is the default). pageURL (redacted)
// names the page in errors.
func (d *decoder) decodePage(body []byte, pageURL, lang string) ([]story, error) {
	arr := gjson.GetBytes(body, storiesKey)
	if !arr.IsArray() {
		return nil, fmt.Errorf("%s: %w: %q is not an array: found %s", pageURL, mesh.ErrBadResponse, storiesKey, describe(arr))
	}
	var out []story
	var err error
	i := 0
	arr.ForEach(func(_, v gjson.Result) bool {
		var st story
		if st, err = d.decodeStory(v, lang); err != nil {
			err = fmt.Errorf("%s: story %d: %w", pageURL, i, err)
			return false
		}
		out = append(out, st)
		i++
		return true
	})
	return out, err
}

// decodeStory maps one story.
func (d *decoder) decodeStory(v gjson.Result, lang string) (story, error) {
	if !v.IsObject() {
		return story{}, fmt.Errorf("%w: want a story object, found %s", mesh.ErrBadResponse, describe(v))
	}
	uuid := v.Get("uuid")
	if uuid.Type != gjson.String || uuid.Str == "" {
		return story{}, fmt.Errorf("%w: story without a uuid string", mesh.ErrBadResponse)
	}
	comp := v.Get("content.component")
	if comp.Type != gjson.String || normalize.TypeName(comp.Str) == "" {
		return story{}, fmt.Errorf("%w: story %q: content.component is not a component name", mesh.ErrBadResponse, uuid.Str)
	}
	st := story{uuid: uuid.Str}
	var updatedAt time.Time
	if at := v.Get(d.timeKey()); at.Type == gjson.String && at.Str != "" {
		t, err := normalize.Time(at.Str)
		if err != nil {
			return story{}, fmt.Errorf("%w: story %q: %s: %v", mesh.ErrBadResponse, uuid.Str, d.timeKey(), err)
		}
		updatedAt = t
		st.time = t.Format(time.RFC3339Nano)
	}
	st.stamp = stamp(v.Get(d.timeKey()).String(), v.Get("full_slug").String(), v.Get("parent_id").String(),
		v.Get("position").String(), v.Get("name").String())

	w := writer{d: d, lang: lang}
	buf := []byte{'{'}
	first := true
	v.ForEach(func(k, val gjson.Result) bool {
		if k.Str == "updated_at" && !d.draft {
			return true // moves with draft saves that published content does not show
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = mesh.AppendString(buf, k.Str)
		buf = append(buf, ':')
		switch {
		case k.Str == "content":
			buf = w.value(buf, val)
		case timeKeys[k.Str] && val.Type == gjson.String && val.Str != "":
			if t := normalize.TimeString(val.Str); t != "" {
				buf = mesh.AppendString(buf, t)
			} else {
				buf = append(buf, val.Raw...)
			}
		default:
			buf = append(buf, val.Raw...) // story attributes: kept as the API sends them
		}
		return true
	})
	buf = append(buf, '}')
	st.assets = w.assets
	st.node = mesh.Node{ID: d.storyID(uuid.Str, lang), Type: normalize.TypeName(comp.Str), NativeID: uuid.Str,
		Locale: lang, UpdatedAt: updatedAt, Fields: buf}
	return st, nil
}

// decodeLinks reads a links page: an object of link objects keyed by UUID (an array is accepted
// too). Folders are left out, and with version published so are unpublished stories.
func (d *decoder) decodeLinks(body []byte, pageURL string) ([]link, error) {
	all := gjson.GetBytes(body, linksKey)
	if !all.IsObject() && !all.IsArray() {
		return nil, fmt.Errorf("%s: %w: %q is not an object of links: found %s", pageURL, mesh.ErrBadResponse, linksKey, describe(all))
	}
	var out []link
	var err error
	all.ForEach(func(_, l gjson.Result) bool {
		uuid := l.Get("uuid")
		if !l.IsObject() || uuid.Type != gjson.String || uuid.Str == "" {
			err = fmt.Errorf("%s: %w: a link without a uuid string", pageURL, mesh.ErrBadResponse)
			return false
		}
		if l.Get("is_folder").Bool() || (!d.draft && l.Get("published").Type == gjson.False) {
			return true
		}
		out = append(out, link{uuid: uuid.Str, stamp: stamp(l.Get(d.timeKey()).String(), l.Get("slug").String(),
			l.Get("parent_id").String(), l.Get("position").String(), l.Get("name").String())})
		return true
	})
	return out, err
}

// writer rewrites story content: relations, story links and assets become {"$ref": id}.
type writer struct {
	d      *decoder
	lang   string
	assets []asset
}

// value writes v.
func (w *writer) value(buf []byte, v gjson.Result) []byte {
	if (v.IsObject() || v.IsArray()) && !mayRewrite(v.Raw) {
		return append(buf, v.Raw...) // nothing inside to rewrite: copy it as it is
	}
	switch {
	case v.IsObject():
		return w.object(buf, v)
	case v.IsArray():
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
		return append(buf, v.Raw...)
	}
}

// relation writes the value of a relations field: a story UUID, a story object, or an array of
// them, as $refs. Other values are written as they are.
func (w *writer) relation(buf []byte, v gjson.Result) []byte {
	switch {
	case v.Type == gjson.String && v.Str != "":
		return mesh.AppendRef(buf, w.d.storyID(v.Str, w.lang))
	case v.IsArray():
		buf = append(buf, '[')
		i := 0
		v.ForEach(func(_, e gjson.Result) bool {
			if i > 0 {
				buf = append(buf, ',')
			}
			i++
			buf = w.relation(buf, e)
			return true
		})
		return append(buf, ']')
	default:
		return w.value(buf, v)
	}
}

// object writes an object: a story object becomes a reference; an asset field's id and a story
// link's id or uuid become references; the members that the block's component lists in relations
// become references; the rest is written as it is, recursively.
func (w *writer) object(buf []byte, v gjson.Result) []byte {
	// One scan learns the shape.
	var uuid, content, fullSlug, fieldtype, linktype, id, filename, comp, onlyKey, onlyVal gjson.Result
	n := 0
	v.ForEach(func(k, val gjson.Result) bool {
		n++
		switch k.Str {
		case "uuid":
			uuid = val
		case "content":
			content = val
		case "full_slug":
			fullSlug = val
		case "fieldtype":
			fieldtype = val
		case "linktype":
			linktype = val
		case "id":
			id = val
		case "filename":
			filename = val
		case "component":
			comp = val
		}
		if n == 1 {
			onlyKey, onlyVal = k, val
		}
		return true
	})
	// A story object (a relation the API resolved): a reference to it.
	if uuid.Type == gjson.String && uuid.Str != "" && content.IsObject() && fullSlug.Type == gjson.String {
		return mesh.AppendRef(buf, w.d.storyID(uuid.Str, w.lang))
	}
	// An upstream object whose only member is "$ref" would read as a reference: escape its key.
	if n == 1 && onlyVal.Type == gjson.String && isRefKey(onlyKey.Str) {
		buf = append(buf, '{')
		buf = mesh.AppendString(buf, "$"+onlyKey.Str)
		buf = append(buf, ':')
		buf = append(buf, onlyVal.Raw...)
		return append(buf, '}')
	}
	// What replaces members: an asset's id, a story link's id or uuid.
	var replace map[string][]byte
	switch {
	case fieldtype.Str == "asset" && filename.Type == gjson.String && filename.Str != "":
		aid := id.String()
		if id.Type != gjson.String && id.Type != gjson.Number {
			aid = filename.Str // no id: the file's URL names the asset
		}
		if aid != "" {
			w.assets = append(w.assets, asset{id: aid, url: filename.Str})
			replace = map[string][]byte{"id": mesh.AppendRef(nil, mesh.NodeID(w.d.source, assetNamespace, aid))}
		}
	case linktype.Str == "story":
		if id.Type == gjson.String && id.Str != "" {
			replace = map[string][]byte{"id": mesh.AppendRef(nil, w.d.storyID(id.Str, w.lang))}
		}
		if uuid.Type == gjson.String && uuid.Str != "" {
			if replace == nil {
				replace = map[string][]byte{}
			}
			replace["uuid"] = mesh.AppendRef(nil, w.d.storyID(uuid.Str, w.lang))
		}
	}
	var rel map[string]bool
	if comp.Type == gjson.String {
		rel = w.d.relations[comp.Str] // a block: its relations fields
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
		switch r, ok := replace[k.Str]; {
		case ok:
			buf = append(buf, r...)
		case rel[k.Str]:
			buf = w.relation(buf, val)
		default:
			buf = w.value(buf, val)
		}
		return true
	})
	if r, ok := replace["id"]; ok && !id.Exists() {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `"id":`...)
		buf = append(buf, r...)
	}
	return append(buf, '}')
}

// rewriteMarks are the texts without which a JSON value holds nothing to rewrite: a block (whose
// relations fields may hold UUIDs), a story object, an asset, a link, a "$ref" key. Any \u escape
// counts, since it may spell one of them.
var rewriteMarks = []string{`"component"`, `"uuid"`, `"fieldtype"`, `"linktype"`, "ref", `\u`}

// mayRewrite reports whether raw JSON may hold something to rewrite; false is certain.
func mayRewrite(raw string) bool {
	for _, m := range rewriteMarks {
		if strings.Contains(raw, m) {
			return true
		}
	}
	return false
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
