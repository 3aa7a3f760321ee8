package contentful

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
)

// The first-build benchmarks measure what DESIGN section 8 asks about: a two-locale space of 7,500
// items (1,500 assets, 6,000 entries of five content types) behind a server that holds every request
// 20ms, built through the engine with an output folder and a snapshot store, as the CLI builds:
//
//	go test -run '^$' -bench 'FirstBuild|Rebuild' -benchtime 3x ./sources/contentful/
//
// FirstBuild/sequential-sync is the baseline: one sync chain of 100-item pages for everything (what
// Gatsby walks). FirstBuild/per-type-sync is the adapter: a sync chain per content type, one for
// assets and one for deletions, in parallel. FirstBuild/delivery-listing is the lower bound that
// gets no sync token: /entries and /assets with 1000-item pages fanned out (the preview path).
// FirstBuild/per-type-sync-one-type is the adapter's worst case: all entries of one content type.

// spaceShape is the number of entries per content type, and of assets.
type spaceShape struct {
	entries map[string]int
	assets  int
}

var (
	// typical: five content types of unequal size.
	typical = spaceShape{entries: map[string]int{"blogPost": 2400, "product": 1500, "page": 900, "person": 700, "category": 500}, assets: 1500}
	// oneType: every entry of the same content type.
	oneType = spaceShape{entries: map[string]int{"blogPost": 6000}, assets: 1500}
)

// syntheticSpace is a fake space of the given shape in two locales (en-US, de-DE falling back to
// en-US). Entries hold a title and a rich text body in both locales, a slug, a date, tags and links
// to other entries and to an asset (about 2 KB each); assets hold an image file.
func syntheticSpace(tb testing.TB, shape spaceShape) *fakeSpace {
	f := &fakeSpace{space: "bench", env: "master", items: map[string]*fakeItem{}, maxBody: 7340032,
		deliveryToken: testDeliveryToken, previewToken: testPreviewToken}
	f.locales = []json.RawMessage{
		json.RawMessage(`{"code":"en-US","name":"English","default":true,"fallbackCode":null,"sys":{"id":"l1","type":"Locale"}}`),
		json.RawMessage(`{"code":"de-DE","name":"German","default":false,"fallbackCode":"en-US","sys":{"id":"l2","type":"Locale"}}`),
	}
	var ids []string
	for ct, n := range shape.entries {
		ctJSON, _ := json.Marshal(map[string]any{"sys": map[string]string{"id": ct, "type": "ContentType"}, "name": ct, "fields": []map[string]any{
			{"id": "title", "type": "Symbol", "localized": true}, {"id": "slug", "type": "Symbol", "localized": false},
			{"id": "body", "type": "RichText", "localized": true}, {"id": "date", "type": "Date", "localized": false},
			{"id": "tags", "type": "Array", "localized": false}, {"id": "related", "type": "Array", "localized": false},
			{"id": "image", "type": "Link", "localized": false}}})
		f.contentTypes = append(f.contentTypes, ctJSON)
		for i := range n {
			ids = append(ids, fmt.Sprintf("%s-%05d", ct, i))
		}
	}
	for i, id := range ids {
		ct := id[:len(id)-6]
		para := func(text string) map[string]any {
			return map[string]any{"nodeType": "paragraph", "data": map[string]any{}, "content": []any{
				map[string]any{"nodeType": "text", "value": text, "marks": []any{}, "data": map[string]any{}}}}
		}
		body := func(lang string) map[string]any {
			return map[string]any{"nodeType": "document", "data": map[string]any{}, "content": []any{
				para(fmt.Sprintf("%s: the first paragraph of %s, long enough to look like content that people write.", lang, id)),
				map[string]any{"nodeType": "embedded-entry-block", "data": map[string]any{"target": linkJSON("Entry", ids[(i+7)%len(ids)])}, "content": []any{}},
				para(fmt.Sprintf("%s: a second paragraph, with more words in it, to give the entry a realistic size.", lang)),
			}}
		}
		f.put(entryJSON(id, ct, "2024-03-01T10:00:00Z", map[string]map[string]any{
			"title":   {"en-US": "Title of " + id, "de-DE": "Titel von " + id},
			"slug":    {"en-US": id},
			"body":    {"en-US": body("en"), "de-DE": body("de")},
			"date":    {"en-US": "2024-03-01T10:00+01:00"},
			"tags":    {"en-US": []string{"one", "two", "three"}},
			"related": {"en-US": []any{linkJSON("Entry", ids[(i+1)%len(ids)]), linkJSON("Entry", ids[(i+2)%len(ids)])}},
			"image":   {"en-US": linkJSON("Asset", fmt.Sprintf("asset-%05d", i%max(shape.assets, 1)))},
		}))
	}
	for i := range shape.assets {
		id := fmt.Sprintf("asset-%05d", i)
		a, _ := json.Marshal(map[string]any{
			"metadata": map[string]any{"tags": []any{}},
			"sys":      map[string]any{"type": "Asset", "id": id, "revision": 1, "createdAt": "2024-02-01T00:00:00Z", "updatedAt": "2024-02-01T00:00:00Z"},
			"fields": map[string]any{
				"title":       map[string]any{"en-US": "Image " + id, "de-DE": "Bild " + id},
				"description": map[string]any{"en-US": "Alt text of " + id},
				"file": map[string]any{"en-US": map[string]any{"url": "//images.ctfassets.net/bench/" + id + "/abc/image.jpg", "fileName": "image.jpg",
					"contentType": "image/jpeg", "details": map[string]any{"size": 123456, "image": map[string]any{"width": 1600, "height": 900}}}},
			},
		})
		f.put(string(a))
	}
	return f
}

type benchCase struct {
	name    string
	shape   spaceShape
	preview bool
	single  bool
}

var firstBuildCases = []benchCase{
	{name: "sequential-sync", shape: typical, single: true},
	{name: "per-type-sync", shape: typical},
	{name: "delivery-listing", shape: typical, preview: true},
	{name: "per-type-sync-one-type", shape: oneType},
}

func (c benchCase) source(tb testing.TB, baseURL string) *Source {
	cfg := Config{Space: "bench", AccessToken: testDeliveryToken, BaseURL: baseURL, Locales: Locales{AllLocales}}
	if c.preview {
		cfg.Preview, cfg.PreviewToken = true, testPreviewToken
	}
	s := mustNew(tb, cfg)
	s.singleChain = c.single
	return s
}

// cliBuild builds like the CLI: an output folder and a snapshot store.
func cliBuild(tb testing.TB, src mesh.Source, dir string) (*mesh.Build, error) {
	store, err := mesh.NewDirStore(filepath.Join(dir, "cache"))
	if err != nil {
		return nil, err
	}
	m, err := mesh.New(mesh.Options{Store: store, Out: filepath.Join(dir, "out")})
	if err != nil {
		return nil, err
	}
	if err := m.Add("cms", src); err != nil {
		return nil, err
	}
	return m.Build(tb.Context())
}

func BenchmarkFirstBuild(b *testing.B) {
	for _, c := range firstBuildCases {
		b.Run(c.name, func(b *testing.B) {
			fake := syntheticSpace(b, c.shape)
			fake.latency = 20 * time.Millisecond
			srv := fake.serve(b)
			var requests, nodes int
			var fetchMs int64
			cpu := cpuTime()
			for b.Loop() {
				bd, err := cliBuild(b, c.source(b, srv.URL), b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				requests, nodes = bd.Report.Sources[0].Requests, bd.Graph.Len()
				fetchMs += bd.Report.Sources[0].DurationMs
			}
			b.ReportMetric(float64(fetchMs)/float64(b.N), "fetch-ms/op")
			b.ReportMetric(float64(requests), "requests")
			b.ReportMetric(float64(nodes), "nodes")
			b.ReportMetric(float64((cpuTime()-cpu).Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

// BenchmarkRebuild measures builds from the cursor of a first build: nothing changed, or 60
// entries updated, 20 deleted and 20 added.
func BenchmarkRebuild(b *testing.B) {
	for _, changes := range []int{0, 100} {
		b.Run(fmt.Sprintf("changes-%d", changes), func(b *testing.B) {
			fake := syntheticSpace(b, typical)
			fake.latency = 20 * time.Millisecond
			srv := fake.serve(b)
			c := benchCase{shape: typical}
			var requests, nodes int
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				dir := b.TempDir()
				if _, err := cliBuild(b, c.source(b, srv.URL), dir); err != nil {
					b.Fatal(err)
				}
				for i := range changes {
					switch {
					case i < 60:
						fake.put(entryJSON(fmt.Sprintf("page-%05d", i), "page", "2024-05-01T00:00:00Z",
							map[string]map[string]any{"title": {"en-US": fmt.Sprint("Changed ", time.Now().UnixNano())}}))
					case i < 80:
						fake.remove("Entry", fmt.Sprintf("person-%05d", i), "2024-05-01T00:00:00Z")
					default:
						fake.put(entryJSON(fmt.Sprintf("category-new-%d-%d", i, time.Now().UnixNano()), "category", "2024-05-01T00:00:00Z",
							map[string]map[string]any{"title": {"en-US": "New"}}))
					}
				}
				b.StartTimer()
				start := cpuTime()
				bd, err := cliBuild(b, c.source(b, srv.URL), dir)
				if err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - start
				requests, nodes = bd.Report.Sources[0].Requests, bd.Graph.Len()
			}
			b.ReportMetric(float64(requests), "requests")
			b.ReportMetric(float64(nodes), "nodes")
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuTime is the process's user and system CPU time so far (the fake server's included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMapItems measures the mapping alone: the synthetic space's 7,500 items (in their Sync API
// shape) into 15,000 nodes, without the engine.
func BenchmarkMapItems(b *testing.B) {
	fake := syntheticSpace(b, typical)
	var types, items []gjson.Result
	for _, c := range fake.contentTypes {
		types = append(types, gjson.ParseBytes(c))
	}
	for _, it := range fake.sorted() {
		items = append(items, gjson.ParseBytes(it.raw))
	}
	sp := &space{defaultLocale: "en-US", locales: []localeInfo{{code: "de-DE", fallback: "en-US"}, {code: "en-US"}}}
	var err error
	if sp.types, err = decodeContentTypes(types); err != nil {
		b.Fatal(err)
	}
	m, err := mustNew(b, Config{Space: "bench", AccessToken: "t", Locales: Locales{AllLocales}}).newMapper("cms", sp)
	if err != nil {
		b.Fatal(err)
	}
	nodes := 0
	discard := func(mesh.Node) error { nodes++; return nil }
	for b.Loop() {
		for _, it := range items {
			if _, err := m.mapItem(it, discard); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(nodes), "ns/node")
}
