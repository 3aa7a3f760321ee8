package dynamodb

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
)

// benchPage is a Scan page of n items of about 1 KB each, with every attribute type and two refs.
func benchPage(n int) []byte {
	var items []string
	for i := range n {
		items = append(items, fmt.Sprintf(`{"pk":{"S":"tenant-%d"},"sk":{"N":"%d"},"title":{"S":"Item %d"},"price":{"N":"19.99"},`+
			`"published":{"BOOL":true},"deletedAt":{"NULL":true},"tags":{"SS":["c","a","b"]},"sizes":{"NS":["10","9.5","42"]},`+
			`"thumb":{"B":"iVBORw0KGgo="},"authorId":{"S":"a-%d"},"related":{"L":[{"S":"x-1"},{"S":"x-2"}]},`+
			`"body":{"M":{"format":{"S":"markdown"},"text":{"S":"%s"},"blocks":{"L":[{"M":{"kind":{"S":"p"},"n":{"N":"1"}}}]}}}}`,
			i%50, i, i, i%10, strings.Repeat("lorem ipsum ", 60)))
	}
	return []byte(`{"Items":[` + strings.Join(items, ",") + fmt.Sprintf(`],"Count":%d,"ScannedCount":%d}`, n, n))
}

// BenchmarkDecodePage measures the mapping of a Scan page of 1,000 items (DynamoDB's pages are at
// most 1 MB).
func BenchmarkDecodePage(b *testing.B) {
	body := benchPage(1000)
	ts, err := validateTables([]Table{{Name: "items", Refs: map[string]string{"authorId": "author", "related": "item"}}})
	if err != nil {
		b.Fatal(err)
	}
	m := &mapper{source: "app", t: ts[0], key: keySchema{hash: "pk", rng: "sk"}, log: slog.New(slog.DiscardHandler)}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if err := m.decodeItems(body, func(mesh.Node) error { n++; return nil }); err != nil || n != 1000 {
			b.Fatalf("%d nodes, err %v", n, err)
		}
	}
}
