package storyblok

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkDecodePage measures the mapping of one 100-story page (the API's largest).
func BenchmarkDecodePage(b *testing.B) {
	var stories []string
	for i := range 100 {
		stories = append(stories, fmt.Sprintf(`{"name":"Post %d","created_at":"2024-05-01T09:00:00.000Z","published_at":"2024-05-03T11:00:00.000Z",`+
			`"updated_at":"2024-05-03T11:00:00.000Z","id":%d,"uuid":"3ce5d163-3bb4-41ef-9e1a-%012d","slug":"p%d","full_slug":"blog/p%d",`+
			`"position":0,"tag_list":["news"],"parent_id":1,"lang":"default","alternates":[],"translated_slugs":null,`+
			`"content":{"_uid":"u","component":"post","title":"T","author":"7ad8af26-9551-493c-bf9d-e5aace43d94c",`+
			`"image":{"id":6201216,"alt":"A","filename":"https://a.storyblok.com/f/1/1600x900/h/hero.jpg","fieldtype":"asset"},`+
			`"body":{"type":"doc","content":[{"type":"paragraph","content":[{"type":"text","text":"%s"}]}]}}}`,
			i, i, i, i, i, strings.Repeat("lorem ipsum ", 40)))
	}
	body := []byte(`{"stories":[` + strings.Join(stories, ",") + `],"cv":1}`)
	d := decoder{source: "cms", relations: map[string]map[string]bool{"post": {"author": true}}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.decodePage(body, "http://x", ""); err != nil {
			b.Fatal(err)
		}
	}
}
