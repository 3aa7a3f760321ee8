package sanity

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkDecodePage measures the mapping of one 500-document page.
func BenchmarkDecodePage(b *testing.B) {
	var docs []string
	for i := range 500 {
		docs = append(docs, fmt.Sprintf(`{"_id":"post-%04d","_type":"post","_rev":"r","_createdAt":"2024-05-01T00:00:00Z",`+
			`"_updatedAt":"2024-05-02T10:15:30Z","title":"Post %d","slug":{"_type":"slug","current":"post-%d"},`+
			`"author":{"_type":"reference","_ref":"author-ada"},"categories":[{"_type":"reference","_ref":"c1","_key":"a"}],`+
			`"mainImage":{"_type":"image","alt":"x","asset":{"_type":"reference","_ref":"image-abc-10x10-png"}},`+
			`"body":[{"_type":"block","_key":"b","children":[{"_type":"span","text":"%s","marks":[]}],"markDefs":[]}]}`,
			i, i, i, strings.Repeat("lorem ipsum ", 40)))
	}
	body := []byte(`{"ms":5,"result":[` + strings.Join(docs, ",") + `]}`)
	d := decoder{source: "cms"}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.decodePage(body, "http://x"); err != nil {
			b.Fatal(err)
		}
	}
}
