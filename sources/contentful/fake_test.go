package contentful

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// fakeSpace is a small Contentful: one space and environment served the way the Content Delivery
// API, the Content Preview API and the Sync API document it (api-notes/cms.md section 1):
//
//	/spaces/{s}/environments/{e}/locales        collection of locales
//	/spaces/{s}/environments/{e}/content_types  collection of content types
//	/spaces/{s}/environments/{e}/entries        skip/limit/total, order=sys.id, locale=*, content_type
//	/spaces/{s}/environments/{e}/assets         same
//	/spaces/{s}/environments/{e}/sync           initial=true (type, content_type, limit), then
//	                                            sync_token from nextPageUrl / nextSyncUrl
//
// The token decides the API: the delivery token sees published items, the preview token drafts
// too (and has no Sync API). Every change (put, remove) gets a sequence number; a sync token holds
// the chain's filter and the sequence number it has seen, so that a delta returns what changed
// since, latest state per item, as the Sync API does. Answers larger than maxBody are refused with
// 400 "Response size too big", as Contentful refuses responses over 7340032 bytes.
type fakeSpace struct {
	space, env                  string
	deliveryToken, previewToken string // "" accepts any Authorization (a FixtureServer checks it)

	mu           sync.Mutex
	locales      []json.RawMessage
	contentTypes []json.RawMessage
	items        map[string]*fakeItem // "Entry/<id>", "Asset/<id>"
	seq          int
	maxBody      int
	latency      time.Duration
	minToken     map[string]int // per sync type: tokens that have seen less than this are refused
	requests     []string
	reqID        int
	sortedCache  []*fakeItem
}

type fakeItem struct {
	kind, id, ct string
	raw          json.RawMessage
	seq          int
	draft        bool
	deleted      bool
	deletedAt    string
}

// dataset is testdata/space.json.
type dataset struct {
	Space        string          `json:"space"`
	Environment  string          `json:"environment"`
	Locales      json.RawMessage `json:"locales"`
	ContentTypes json.RawMessage `json:"contentTypes"`
	Entries      []json.RawMessage
	Assets       []json.RawMessage
	Drafts       []json.RawMessage
}

const (
	testDeliveryToken = "cda-token-9f2c1e77"
	testPreviewToken  = "cpa-token-4b81d0a3"
)

func readDataset(t testing.TB) dataset {
	t.Helper()
	b, err := os.ReadFile("testdata/space.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dataset
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// newFakeSpace loads testdata/space.json.
func newFakeSpace(t testing.TB) *fakeSpace {
	d := readDataset(t)
	f := &fakeSpace{space: d.Space, env: d.Environment, items: map[string]*fakeItem{}, maxBody: 7340032,
		deliveryToken: testDeliveryToken, previewToken: testPreviewToken}
	for _, l := range gjson.GetBytes(d.Locales, "items").Array() {
		f.locales = append(f.locales, json.RawMessage(l.Raw))
	}
	for _, c := range gjson.GetBytes(d.ContentTypes, "items").Array() {
		f.contentTypes = append(f.contentTypes, json.RawMessage(c.Raw))
	}
	for _, it := range append(append([]json.RawMessage{}, d.Entries...), d.Assets...) {
		f.put(string(it))
	}
	for _, it := range d.Drafts {
		f.putDraft(string(it))
	}
	return f
}

// serve starts an httptest server of the fake.
func (f *fakeSpace) serve(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

// put publishes (or updates) an item given in the Sync API's shape.
func (f *fakeSpace) put(raw string) { f.store(raw, false) }

// putDraft stores an item that only the preview token sees.
func (f *fakeSpace) putDraft(raw string) { f.store(raw, true) }

func (f *fakeSpace) store(raw string, draft bool) {
	if !gjson.Valid(raw) {
		panic("fakeSpace: invalid item " + raw)
	}
	r := gjson.Parse(raw)
	it := &fakeItem{kind: r.Get("sys.type").String(), id: r.Get("sys.id").String(), ct: r.Get("sys.contentType.sys.id").String(),
		raw: json.RawMessage(raw), draft: draft}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	it.seq = f.seq
	f.items[it.kind+"/"+it.id] = it
	f.sortedCache = nil
}

// remove deletes (or unpublishes) an item.
func (f *fakeSpace) remove(kind, id, at string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it, ok := f.items[kind+"/"+id]
	if !ok {
		panic("fakeSpace: no item " + kind + "/" + id)
	}
	f.seq++
	// A new record, so that answers being encoded keep the old state.
	f.items[kind+"/"+id] = &fakeItem{kind: it.kind, id: it.id, ct: it.ct, raw: it.raw, seq: f.seq, draft: it.draft, deleted: true, deletedAt: at}
	f.sortedCache = nil
}

// addContentType adds (or replaces) a content type.
func (f *fakeSpace) setContentType(raw string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := gjson.Get(raw, "sys.id").String()
	for i, c := range f.contentTypes {
		if gjson.GetBytes(c, "sys.id").String() == id {
			f.contentTypes[i] = json.RawMessage(raw)
			return
		}
	}
	f.contentTypes = append(f.contentTypes, json.RawMessage(raw))
}

// expireTokens makes the sync tokens issued so far for chains of these types invalid.
func (f *fakeSpace) expireTokens(types ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	if f.minToken == nil {
		f.minToken = map[string]int{}
	}
	for _, t := range types {
		f.minToken[t] = f.seq
	}
}

func (f *fakeSpace) setMaxBody(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.maxBody = n
}

// log returns the request URIs received so far and forgets them.
func (f *fakeSpace) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.requests
	f.requests = nil
	return out
}

func (f *fakeSpace) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.latency > 0 {
		select {
		case <-time.After(f.latency):
		case <-r.Context().Done():
			return
		}
	}
	status, body := f.answer(r)
	w.Header().Set("Content-Type", "application/vnd.contentful.delivery.v1+json")
	w.Header().Set("X-Contentful-Request-Id", gjson.GetBytes(body, "requestId").String())
	w.WriteHeader(status)
	w.Write(body)
}

// answer makes the status and body of an answer. The items are chosen under the lock; the body is
// encoded outside it, so that concurrent requests are answered in parallel.
func (f *fakeSpace) answer(r *http.Request) (int, []byte) {
	f.mu.Lock()
	f.requests = append(f.requests, r.URL.RequestURI())
	f.reqID++
	reqID := "req-" + strconv.Itoa(f.reqID)
	var status int
	var errBody []byte
	fail := func(st int, id, msg string) {
		status = st
		errBody, _ = json.Marshal(map[string]any{"sys": map[string]string{"type": "Error", "id": id}, "message": msg, "requestId": reqID})
	}
	body, maxBody := f.route(r, fail), f.maxBody
	f.mu.Unlock()
	if status != 0 {
		return status, errBody
	}
	b, ok := body.([]byte) // bodies made of stored items are written out as they are
	if !ok {
		b, _ = json.Marshal(body)
	}
	if maxBody > 0 && len(b) > maxBody {
		fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Response size too big. Maximum allowed response size: %dB.", maxBody))
		return status, errBody
	}
	return http.StatusOK, b
}

// route chooses what to answer; it calls fail (and returns nil) for an error answer.
func (f *fakeSpace) route(r *http.Request, fail failFunc) any {
	preview := false
	if f.deliveryToken != "" {
		switch r.Header.Get("Authorization") {
		case "Bearer " + f.deliveryToken:
		case "Bearer " + f.previewToken:
			preview = true
		default:
			fail(http.StatusUnauthorized, "AccessTokenInvalid", "The access token you sent could not be found or is invalid.")
			return nil
		}
	}
	prefix := "/spaces/" + f.space + "/environments/" + f.env + "/"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		fail(http.StatusNotFound, "NotFound", "The resource could not be found.")
		return nil
	}
	q := r.URL.Query()
	switch rest {
	case "locales":
		return f.collection(q, f.locales, fail)
	case "content_types":
		return f.collection(q, f.contentTypes, fail)
	case "entries", "assets":
		if q.Get("locale") != "*" || q.Get("order") != "sys.id" {
			fail(http.StatusBadRequest, "InvalidQuery", "fake: want locale=* and order=sys.id")
			return nil
		}
		kind := "Entry"
		if rest == "assets" {
			kind = "Asset"
		}
		var items []json.RawMessage
		for _, it := range f.sorted() {
			if it.kind == kind && !it.deleted && (preview || !it.draft) && (q.Get("content_type") == "" || it.ct == q.Get("content_type")) {
				items = append(items, it.raw)
			}
		}
		return f.collection(q, items, fail)
	case "sync":
		if preview {
			fail(http.StatusNotFound, "NotFound", "The resource could not be found.")
			return nil
		}
		return f.sync(r, q, fail)
	}
	fail(http.StatusNotFound, "NotFound", "The resource could not be found.")
	return nil
}

// sorted lists the items by id (cached until the next change).
func (f *fakeSpace) sorted() []*fakeItem {
	if f.sortedCache != nil {
		return f.sortedCache
	}
	out := make([]*fakeItem, 0, len(f.items))
	for _, it := range f.items {
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b *fakeItem) int { return strings.Compare(a.id, b.id) })
	f.sortedCache = out
	return out
}

type failFunc func(status int, id, msg string)

// collection answers a skip/limit listing.
func (f *fakeSpace) collection(q map[string][]string, items []json.RawMessage, fail failFunc) any {
	get := func(name string, def int) (int, bool) {
		v := ""
		if vs := q[name]; len(vs) > 0 {
			v = vs[0]
		}
		if v == "" {
			return def, true
		}
		n, err := strconv.Atoi(v)
		return n, err == nil && n >= 0
	}
	skip, ok1 := get("skip", 0)
	limit, ok2 := get("limit", 100)
	if !ok1 || !ok2 || limit > 1000 {
		fail(http.StatusBadRequest, "InvalidQuery", "The query you sent was invalid. Probably a filter or ordering specification is not applicable to the type of a field.")
		return nil
	}
	start := min(skip, len(items))
	end := min(start+limit, len(items))
	return arrayBody(fmt.Sprintf(`"total":%d,"skip":%d,"limit":%d`, len(items), skip, limit), items[start:end])
}

// arrayBody writes {"sys":{"type":"Array"},<extra>,"items":[...]} from stored items.
func arrayBody(extra string, items []json.RawMessage) []byte {
	n := 64 + len(extra)
	for _, it := range items {
		n += len(it) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, `{"sys":{"type":"Array"},`...)
	b = append(b, extra...)
	b = append(b, `,"items":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
	}
	return append(b, "]}"...)
}

// syncState is what a fake sync token holds.
type syncState struct {
	Type  string `json:"t"`
	CT    string `json:"ct,omitempty"`
	From  int    `json:"from"` // -1: initial sync
	To    int    `json:"to"`   // the sequence number the sync stops at (0: not fixed yet)
	Off   int    `json:"off"`
	Limit int    `json:"lim"`
}

func (s syncState) token() string {
	b, _ := json.Marshal(s)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (f *fakeSpace) sync(r *http.Request, q map[string][]string, fail failFunc) any {
	one := func(name string) string {
		if vs := q[name]; len(vs) > 0 {
			return vs[0]
		}
		return ""
	}
	var st syncState
	if tok := one("sync_token"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err == nil {
			err = json.Unmarshal(b, &st)
		}
		if err != nil || max(st.From, st.To) < f.minToken[st.Type] {
			fail(http.StatusBadRequest, "BadRequest", "The sync token is invalid or has expired.")
			return nil
		}
	} else {
		if one("initial") != "true" {
			fail(http.StatusBadRequest, "BadRequest", "fake: want initial=true or sync_token")
			return nil
		}
		st = syncState{Type: one("type"), CT: one("content_type"), From: -1, To: f.seq, Limit: 100}
		if st.Type == "" {
			st.Type = "all"
		}
		if st.CT != "" && st.Type != "Entry" {
			fail(http.StatusBadRequest, "InvalidQuery", "content_type can only be used with type=Entry")
			return nil
		}
		if l := one("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 1 || n > 100 {
				fail(http.StatusBadRequest, "InvalidQuery", "limit must be between 1 and 100")
				return nil
			}
			st.Limit = n
		}
	}
	if st.To == 0 {
		st.To = f.seq
	}
	wantItem := func(it *fakeItem) bool {
		switch st.Type {
		case "all":
			return true
		case "Entry":
			return it.kind == "Entry" && (st.CT == "" || it.ct == st.CT)
		case "Asset":
			return it.kind == "Asset"
		}
		return false
	}
	wantDeletion := func(it *fakeItem) bool {
		switch st.Type {
		case "all", "Deletion":
			return true
		case "DeletedEntry":
			return it.kind == "Entry"
		case "DeletedAsset":
			return it.kind == "Asset"
		}
		return false
	}
	var list []json.RawMessage
	var chosen []*fakeItem
	for _, it := range f.sorted() {
		if it.draft {
			continue
		}
		if st.From < 0 { // initial: what is published
			if !it.deleted && wantItem(it) {
				chosen = append(chosen, it)
			}
			continue
		}
		if it.seq <= st.From || it.seq > st.To {
			continue
		}
		if (it.deleted && wantDeletion(it)) || (!it.deleted && wantItem(it)) {
			chosen = append(chosen, it)
		}
	}
	if st.From >= 0 {
		slices.SortStableFunc(chosen, func(a, b *fakeItem) int { return a.seq - b.seq })
	}
	for _, it := range chosen {
		if it.deleted {
			list = append(list, f.tombstone(it))
		} else {
			list = append(list, it.raw)
		}
	}
	start := min(st.Off, len(list))
	end := min(start+st.Limit, len(list))
	base := "http://" + r.Host + r.URL.Path + "?sync_token="
	var next string
	if end < len(list) {
		st := st
		st.Off = end
		next = `"nextPageUrl":` + strconv.Quote(base+st.token())
	} else {
		next = `"nextSyncUrl":` + strconv.Quote(base+syncState{Type: st.Type, CT: st.CT, From: st.To, Limit: st.Limit}.token())
	}
	return arrayBody(next, list[start:end])
}

func (f *fakeSpace) tombstone(it *fakeItem) json.RawMessage {
	typ := "DeletedEntry"
	if it.kind == "Asset" {
		typ = "DeletedAsset"
	}
	b, _ := json.Marshal(map[string]any{"sys": map[string]any{
		"space":       map[string]any{"sys": map[string]string{"type": "Link", "linkType": "Space", "id": f.space}},
		"environment": map[string]any{"sys": map[string]string{"type": "Link", "linkType": "Environment", "id": f.env}},
		"type":        typ, "id": it.id, "revision": 1,
		"createdAt": it.deletedAt, "updatedAt": it.deletedAt, "deletedAt": it.deletedAt,
	}})
	return b
}

// entryJSON builds an entry in the Sync API's shape: fields given as {"field": {"locale": value}}.
func entryJSON(id, ct, updatedAt string, fields map[string]map[string]any) string {
	b, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{"tags": []any{}},
		"sys": map[string]any{
			"space":       map[string]any{"sys": map[string]string{"type": "Link", "linkType": "Space", "id": "abc123"}},
			"environment": map[string]any{"sys": map[string]string{"type": "Link", "linkType": "Environment", "id": "master"}},
			"contentType": map[string]any{"sys": map[string]string{"type": "Link", "linkType": "ContentType", "id": ct}},
			"type":        "Entry", "id": id, "revision": 1, "createdAt": updatedAt, "updatedAt": updatedAt,
		},
		"fields": fields,
	})
	return string(b)
}

// linkJSON is a link object.
func linkJSON(linkType, id string) map[string]any {
	return map[string]any{"sys": map[string]string{"type": "Link", "linkType": linkType, "id": id}}
}

// compactJSON strips insignificant space, for comparisons.
func compactJSON(t testing.TB, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("compact %s: %v", s, err)
	}
	return b.String()
}
