package rest

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkDecodePage decodes a page of 1,000 items with three reference fields.
func BenchmarkDecodePage(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"data": [`)
	for i := range 1000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id": %d, "title": "Item %d", "userId": %d, "reviewers": [1, 2, 3], "meta": {"editorId": 7, "words": 812}, "body": "%s"}`,
			i, i, i%50, strings.Repeat("lorem ipsum ", 20))
	}
	sb.WriteString(`]}`)
	body := []byte(sb.String())
	d := decoder{source: "api", items: "data", id: "id", namespace: "post", nodeType: "Post",
		refs: []refField{
			{"meta.editorId", refTarget{"users", "user"}},
			{"reviewers", refTarget{"users", "user"}},
			{"userId", refTarget{"users", "user"}},
		}}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		nodes, err := d.decodePage(body, "http://api/page")
		if err != nil || len(nodes) != 1000 {
			b.Fatal(err, len(nodes))
		}
	}
}
