package dynamodb

import (
	"encoding/json"
	"log/slog"
	"os"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
)

// FuzzDecodeItems feeds Scan page bodies to the item decoder (with refs, an updatedAt and raw on):
// it must not panic, and every node it makes must have a valid ID and fields that are a JSON object
// the engine can canonicalize.
func FuzzDecodeItems(f *testing.F) {
	var data struct {
		Tables []struct {
			Items []json.RawMessage
		}
	}
	b, err := os.ReadFile("testdata/tables.json")
	if err != nil {
		f.Fatal(err)
	}
	if err := json.Unmarshal(b, &data); err != nil {
		f.Fatal(err)
	}
	for _, tb := range data.Tables {
		page, _ := json.Marshal(map[string]any{"Items": tb.Items, "Count": len(tb.Items)})
		f.Add(page, true)
		f.Add(page, false)
	}
	f.Add([]byte(`{"Items":[{"id":{"S":"a#b%c"},"sk":{"N":"+.5e3"},"x":{"NS":["1","-.1"]}}]}`), true)
	f.Add([]byte(`{"Items":[{"id":{"B":"AA=="},"sk":{"S":"1"},"refs":{"L":[{"NULL":true},{"N":"7"}]}}]}`), false)
	f.Add([]byte(`{"Items":[]}`), true)

	tables, err := validateTables([]Table{{Name: "items", UpdatedAt: "modified",
		Refs: map[string]string{"authorId": "author", "relatedIds": "other/post", "refs": "x", "postId": "post"}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, composite bool) {
		if !gjson.ValidBytes(body) { // mesh/fetch hands over valid JSON only
			return
		}
		key := keySchema{hash: "id"}
		if composite {
			key.rng = "sk"
		}
		m := &mapper{source: "src", t: tables[0], key: key, raw: true, log: slog.New(slog.DiscardHandler)}
		_ = m.decodeItems(body, func(n mesh.Node) error {
			if !mesh.ValidNodeID(n.ID) || n.NativeID == "" || n.Type == "" {
				t.Fatalf("bad node id %q nativeId %q type %q", n.ID, n.NativeID, n.Type)
			}
			if !json.Valid(n.Fields) || gjson.ParseBytes(n.Fields).Type != gjson.JSON || n.Fields[0] != '{' {
				t.Fatalf("fields are not a JSON object: %s", n.Fields)
			}
			if _, _, err := mesh.Canonicalize(n.Fields); err != nil {
				t.Fatalf("fields do not canonicalize: %v\n%s", err, n.Fields)
			}
			return nil
		})
	})
}

// FuzzNumber: jsonNumber gives valid JSON with the same value, or an error; never a changed number.
func FuzzNumber(f *testing.F) {
	for _, s := range []string{"0", "-1.5", "1E+2", "+5", "007.50", ".5", "5.", "-.5e-3", "1e", "NaN", "", "--1", "1.2.3", "12345678901234567890123456789012345678"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := jsonNumber(s)
		if err != nil {
			return
		}
		if !json.Valid([]byte(out)) || !isJSONNumber(out) {
			t.Fatalf("jsonNumber(%q) = %q: not a JSON number", s, out)
		}
		a, ok1 := parseDecimal(s)
		b, ok2 := parseDecimal(out)
		if !ok1 || !ok2 || a.cmp(b) != 0 {
			t.Fatalf("jsonNumber(%q) = %q changed the value", s, out)
		}
	})
}
