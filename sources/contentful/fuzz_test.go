package contentful

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
)

// checkNodes fails when a node is one the engine would reject: a bad ID, fields that are not a
// JSON object, or a $ref that is not a node ID.
func checkNodes(t *testing.T, nodes []mesh.Node) {
	t.Helper()
	for _, n := range nodes {
		if !mesh.ValidNodeID(n.ID) || n.Type == "" || n.NativeID == "" {
			t.Fatalf("bad node %q type %q nativeId %q", n.ID, n.Type, n.NativeID)
		}
		canon, refs, err := mesh.Canonicalize(n.Fields)
		if err != nil || len(canon) == 0 || canon[0] != '{' {
			t.Fatalf("node %s: fields %q: %v", n.ID, n.Fields, err)
		}
		for _, r := range refs {
			if !mesh.ValidNodeID(r.To) {
				t.Fatalf("node %s: $ref %q at %s is not a node id", n.ID, r.To, r.Field)
			}
		}
	}
}

// FuzzMapPage fuzzes the decoder of a page of items (a delivery API collection or a Sync API page)
// into nodes, in every locale and with the raw item kept.
func FuzzMapPage(f *testing.F) {
	d := readDataset(f)
	for _, it := range append(append(d.Entries, d.Assets...), d.Drafts...) {
		f.Add(`{"sys":{"type":"Array"},"items":[` + string(it) + `],"nextSyncUrl":"https://cdn.contentful.com/spaces/abc123/sync?sync_token=x"}`)
	}
	f.Add(`{"items":[{"sys":{"type":"DeletedEntry","id":"a/b@c%d","deletedAt":"2024-01-01T00:00:00Z"}}],"nextPageUrl":"https://x/sync?sync_token=t"}`)
	f.Add(`{"items":[{"sys":{"type":"Entry","id":"x","contentType":{"sys":{"id":"blogPost"}}},"fields":{"meta":{"en-US":{"\u0024ref":"x"}},"body":{"de-DE":{"data":{"target":{"sys":{"type":"Link","linkType":"Entry","id":"@/%"}}}}}}}]}`)
	f.Add(`{"items":[{"sys":{"type":"Asset","id":"x"},"fields":{"file":{"en-US":{"url":"//a/b","details":{"size":1e400,"image":{"width":-1}}}}}}]}`)
	all := newTestMapper(f, Config{Locales: Locales{AllLocales}, Raw: true})
	single := newTestMapper(f, Config{})
	f.Fuzz(func(t *testing.T, body string) {
		if !gjson.Valid(body) { // DoJSON refuses what is not JSON
			return
		}
		// Numbers beyond float64, control characters in strings and nesting near the engine's
		// limit are the engine's to refuse (with an error naming the node), not the mapping's.
		if _, _, err := mesh.Canonicalize([]byte(body)); err != nil || strings.Count(body, "{")+strings.Count(body, "[") > 400 {
			return
		}
		page := gjson.Parse(body)
		syncPage(page)
		for _, m := range []*mapper{all, single} {
			var nodes []mesh.Node
			r := newRun(m, &guard{out: &recorder{}})
			collect := func(n mesh.Node) error { nodes = append(nodes, n); return nil }
			page.Get(gjItems).ForEach(func(_, item gjson.Result) bool {
				switch item.Get(gjSysType).String() {
				case typeDeletedEntry, typeDeletedAsset:
					if info, err := deletion(item); err == nil {
						for _, id := range m.nodeIDs(info.ns, info.id) {
							if !mesh.ValidNodeID(id) {
								t.Fatalf("deletion id %q", id)
							}
						}
					}
				default:
					m.mapItem(item, collect)
				}
				return true
			})
			checkNodes(t, nodes)
			if err := r.page(page.Get(gjItems), map[string]string{}); err == nil {
				r.applyDeletions()
			}
		}
	})
}

// FuzzLocales fuzzes the decoder of /locales and the fallback chains made from it.
func FuzzLocales(f *testing.F) {
	f.Add(string(readDataset(f).Locales))
	f.Add(`{"items":[{"code":"a","default":true,"fallbackCode":"b"},{"code":"b","fallbackCode":"a"}]}`)
	f.Add(`{"items":[{"code":"a","default":true,"fallbackCode":5}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		if !gjson.Valid(body) {
			return
		}
		locs, def, err := decodeLocales(gjson.Get(body, "items").Array())
		if err != nil {
			return
		}
		sp := &space{locales: locs, defaultLocale: def, types: map[string]*contentType{}}
		src, _ := New(Config{Space: "s", AccessToken: "t", Locales: Locales{AllLocales}})
		m, err := src.newMapper("cms", sp)
		if err != nil {
			t.Fatalf("decoded locales %v refused by the mapper: %v", locs, err)
		}
		for _, l := range m.locales {
			if order := m.order[l]; len(order) == 0 || order[0] != l || len(order) > len(locs) {
				t.Fatalf("locale %s: fallback order %v", l, order)
			}
		}
	})
}

// FuzzContentTypes fuzzes the decoder of /content_types.
func FuzzContentTypes(f *testing.F) {
	f.Add(string(readDataset(f).ContentTypes))
	f.Add(`{"items":[{"sys":{"id":"asset"},"fields":[{"id":"x","type":"Date","localized":"yes"}]}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		if !gjson.Valid(body) {
			return
		}
		types, err := decodeContentTypes(gjson.Get(body, "items").Array())
		if err != nil {
			return
		}
		for id, ct := range types {
			if ct.nodeType == "" || ct.nodeType == nsAsset || ct.id != id || ct.schema == "" {
				t.Fatalf("content type %q: %+v", id, ct)
			}
		}
	})
}

// FuzzErrorMessage fuzzes the decoder of Contentful's error bodies.
func FuzzErrorMessage(f *testing.F) {
	f.Add(`{"sys":{"type":"Error","id":"NotFound"},"message":"The resource could not be found.","requestId":"85f"}`)
	f.Add(`{"sys":{"type":"Error","id":"InvalidQuery"},"details":{"errors":[{"name":"unknown","path":["a"]}]}}`)
	f.Add(`{"sys":{"type":"Error","id":"BadRequest"},"message":"Response size too big. Maximum allowed response size: 7340032B."}`)
	f.Fuzz(func(t *testing.T, body string) {
		msg := errorMessage(400, []byte(body))
		if len([]rune(msg)) > 401 {
			t.Fatalf("message of %d runes", len([]rune(msg)))
		}
		for _, r := range msg {
			if r == '\n' || r == '\r' {
				t.Fatalf("message on several lines: %q", msg)
			}
		}
	})
}

// FuzzRewrite checks the one-pass rewriter of field values against a plain reference: decode with
// encoding/json, replace link objects and rename sole $ref keys, encode; both canonicalized.
func FuzzRewrite(f *testing.F) {
	for _, s := range []string{
		`{"sys":{"type":"Link","linkType":"Entry","id":"a"}}`,
		`[{"sys":{"type":"Link","linkType":"Asset","id":"x/y@z"}},{"sys":{"type":"Link","linkType":"Tag","id":"t"}}]`,
		`{"nodeType":"document","content":[{"data":{"target":{"sys":{"id":"p","type":"Link","linkType":"Entry"}}}}]}`,
		`{"$ref":"#/a"}`, `{"$$ref":{"$ref":1}}`, `{"sys":{"type":"Link","linkType":"Entry","id":"a"},"sys":{"type":"Link","linkType":"Asset","id":"b"}}`, `{"\u0024ref":"x","$ref":"y"}`, `{"s\u0079s":{"type":"Link","linkType":"Entry","id":"e"}}`,
		`{"sys":{"type":"Link","linkType":"Entry","id":""}}`, `{"sys":{"type":"Link","linkType":"Entry","id":5}}`,
		` [ 1 , -2.5e3 , true , null , "ref" ] `,
	} {
		f.Add(s)
	}
	m := newTestMapper(f, Config{Locales: Locales{AllLocales}})
	f.Fuzz(func(t *testing.T, raw string) {
		if !gjson.Valid(raw) || !utf8.ValidString(raw) || strings.Count(raw, "{")+strings.Count(raw, "[") > 200 {
			return
		}
		if _, _, err := mesh.Canonicalize([]byte(raw)); err != nil {
			return // beyond the engine's JSON: not the rewriter's to judge
		}
		got, err := m.appendValue(nil, gjson.Parse(raw), "de-DE", true)
		if err != nil {
			t.Fatalf("appendValue(%s): %v", raw, err)
		}
		gotC, refs, err := mesh.Canonicalize(got)
		if err != nil {
			t.Fatalf("appendValue(%s) = %s: not JSON: %v", raw, got, err)
		}
		for _, r := range refs {
			if !mesh.ValidNodeID(r.To) {
				t.Fatalf("appendValue(%s): bad ref %q", raw, r.To)
			}
		}
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return
		}
		ref, err := json.Marshal(referenceRewrite(m, v, raw))
		if err != nil {
			return
		}
		wantC, _, err := mesh.Canonicalize(ref)
		if err != nil {
			return
		}
		if string(gotC) != string(wantC) {
			t.Fatalf("appendValue(%s)\n got  %s\n want %s", raw, gotC, wantC)
		}
	})
}

// referenceRewrite is the rewriting done the slow, obvious way on decoded JSON (a repeated key keeps
// its last value, as in the engine).
func referenceRewrite(m *mapper, v any, raw string) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = referenceRewrite(m, val, raw)
		}
		if len(x) == 1 {
			for k, val := range x {
				if sys, ok := val.(map[string]any); ok && k == "sys" && sys["type"] == "Link" {
					if id, ok := sys["id"].(string); ok && id != "" {
						switch sys["linkType"] {
						case "Entry":
							return map[string]any{"$ref": mesh.LocalizedNodeID("cms", nsEntry, id, "de-DE")}
						case "Asset":
							return map[string]any{"$ref": mesh.LocalizedNodeID("cms", nsAsset, id, "de-DE")}
						}
					}
				}
				if rest := strings.TrimLeft(k, "$"); rest == "ref" && len(rest) < len(k) {
					return map[string]any{"$" + k: out[k]}
				}
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = referenceRewrite(m, val, raw)
		}
		return out
	}
	return v
}
