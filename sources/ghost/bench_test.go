package ghost

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkDecodePage measures the mapping of one 100-post page (Ghost 6's largest).
func BenchmarkDecodePage(b *testing.B) {
	author := `{"id":"1","name":"Ada Writer","slug":"ada","profile_image":"https://x.ghost.io/content/images/ada.png","url":"https://x.ghost.io/author/ada/"}`
	tag := `{"id":"59799bbd6ebb2f00243a33db","name":"News","slug":"news","visibility":"public","url":"https://x.ghost.io/tag/news/"}`
	var items []string
	for i := range 100 {
		items = append(items, fmt.Sprintf(`{"id":"5ddc9141c35e7700383b%04d","uuid":"a5aa9bd8-ea31-415c-b452-3040dae1e730","title":"Post %d",`+
			`"slug":"p%d","html":"<p>%s</p>","feature_image":"https://x.ghost.io/content/images/%d.jpg","featured":false,"visibility":"public",`+
			`"created_at":"2024-05-01T09:00:00.000+00:00","updated_at":"2024-05-03T11:00:00.000+00:00","published_at":"2024-05-01T09:30:00.000+00:00",`+
			`"url":"https://x.ghost.io/p%d/","excerpt":"x","reading_time":1,"authors":[%s],"tags":[%s],"primary_author":%s,"primary_tag":%s}`,
			i, i, i, strings.Repeat("lorem ipsum ", 40), i, i, author, tag, author, tag))
	}
	body := []byte(`{"posts":[` + strings.Join(items, ",") + `],"meta":{"pagination":{"total":100}}}`)
	d := decoder{source: "blog"}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.decodePage(body, "http://x", posts); err != nil {
			b.Fatal(err)
		}
	}
}
