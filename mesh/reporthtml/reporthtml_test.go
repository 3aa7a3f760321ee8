package reporthtml

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/memsource"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// sampleReport has a throttled HTTP source, a source without requests and a failed one.
func sampleReport() mesh.Report {
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	return mesh.Report{
		StartedAt: t0, DurationMs: 2400, Nodes: 42,
		Sources: []mesh.SourceReport{
			{Name: "shop", Type: "rest", Status: "ok", Nodes: 30, Requests: 4, Retries: 1, Throttled: 1, WaitMs: 1000, Bytes: 12345, DurationMs: 2300},
			{Name: "blog", Type: "files", Status: "ok", Nodes: 12, DurationMs: 20},
			{Name: "cms", Type: "contentful", Status: "failed", Requests: 1, DurationMs: 300,
				Error: "source cms (contentful): GET https://cdn.example.test/spaces/x/entries: 401 Unauthorized\nmore detail"},
		},
		Requests: map[string][]mesh.RequestEvent{
			"shop": {
				// In finishing order, not start order: the page must not depend on it.
				{Method: "GET", URL: "http://shop.test/p?page=2", Status: 429, Start: at(120), Duration: 50 * time.Millisecond, Bytes: 30},
				{Method: "GET", URL: "http://shop.test/p?page=1", Status: 200, Start: at(10), Duration: 100 * time.Millisecond, Bytes: 3000},
				{Method: "GET", URL: "http://shop.test/p?page=2", Status: 200, Attempt: 1, Wait: time.Second, Start: at(1170), Duration: 100 * time.Millisecond, Bytes: 3000},
				{Method: "GET", URL: "http://shop.test/p?page=3", Status: 200, Start: at(1300), Duration: time.Second, Bytes: 6315},
			},
			"blog": {},
			"cms":  {{Method: "GET", URL: "https://cdn.example.test/spaces/x/entries", Status: 401, Start: at(5), Duration: 290 * time.Millisecond, Bytes: 80, Err: ""}},
		},
		DanglingRefs: []mesh.DanglingRef{{From: "blog/posts/a", Field: "author", To: "people/user/gone"}},
	}
}

func render(t *testing.T, r mesh.Report, maxBars int) string {
	t.Helper()
	var buf bytes.Buffer
	if err := write(&buf, r, maxBars); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

var (
	rowRe     = regexp.MustCompile(`<g class="source-row[^"]*" data-source="([^"]*)"`)
	tableRe   = regexp.MustCompile(`<tr class="source[^"]*" data-source="([^"]*)"`)
	barRe     = regexp.MustCompile(`<rect class="(ok|notmodified|retry|throttled|error)" `)
	waitRe    = regexp.MustCompile(`<rect class="wait" `)
	densityRe = regexp.MustCompile(`<rect class="density" `)
)

func classes(page string) map[string]int {
	m := map[string]int{}
	for _, s := range barRe.FindAllStringSubmatch(page, -1) {
		m[s[1]]++
	}
	return m
}

func TestStructure(t *testing.T) {
	page := render(t, sampleReport(), MaxBars)
	for _, want := range []struct{ name, text string }{
		{"doctype", "<!DOCTYPE html>"},
		{"self-contained style", "<style>"},
		{"summary", "3 sources, 42 nodes, 5 requests (1 retry, 1 throttled, 1.00 s waited)"},
		{"slowest", "Slowest source: shop (2.30 s, 4 requests)"},
		{"no requests", "no HTTP requests"},
		{"tooltip", "GET http://shop.test/p?page=2\nstatus 200 · 2.9 KiB · 100 ms\nsent at &#43;1.17 s · retry 1 · waited 1.00 s before"},
		{"wait tooltip", "waited 1.00 s before GET http://shop.test/p?page=2"},
		{"failed status", `<td class="status failed">failed</td>`},
		{"multi-line error folded", "<details><summary>source cms (contentful): GET https://cdn.example.test/spaces/x/entries: 401 Unauthorized</summary>"},
		{"dangling", "<code>people/user/gone</code>"},
		{"axis", ">2 s</text>"},
	} {
		if !strings.Contains(page, want.text) {
			t.Errorf("%s: page lacks %q", want.name, want.text)
		}
	}
	for _, bad := range []string{"<script", "http-equiv", "src=", "href=", "@import", "url(http"} {
		if strings.Contains(page, bad) {
			t.Errorf("page has %q: it must load nothing", bad)
		}
	}
	var rows, trs []string
	for _, m := range rowRe.FindAllStringSubmatch(page, -1) {
		rows = append(rows, m[1])
	}
	for _, m := range tableRe.FindAllStringSubmatch(page, -1) {
		trs = append(trs, m[1])
	}
	if want := []string{"shop", "blog", "cms"}; !slices.Equal(rows, want) || !slices.Equal(trs, want) {
		t.Errorf("waterfall rows %v, table rows %v, want %v", rows, trs, want)
	}
	if got, want := classes(page), map[string]int{"ok": 2, "throttled": 1, "retry": 1, "error": 1}; !equalMaps(got, want) {
		t.Errorf("bars %v, want %v", got, want)
	}
	if n := len(waitRe.FindAllString(page, -1)); n != 1 {
		t.Errorf("%d wait segments, want 1", n)
	}
	if !strings.Contains(page, `<g class="source-row slowest" data-source="shop"`) {
		t.Error("the slowest source's row is not marked")
	}
}

func equalMaps(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// The bars sit where their times say: the retry starts after its wait, which starts where the 429
// ended, and all of them lie inside the plot.
func TestGeometry(t *testing.T) {
	page := render(t, sampleReport(), MaxBars)
	rect := regexp.MustCompile(`<rect class="(throttled|wait|retry)" x="([0-9.]+)" y="([0-9.]+)" width="([0-9.]+)"`)
	got := map[string][3]float64{}
	for _, m := range rect.FindAllStringSubmatch(page, -1) {
		var x, y, w float64
		fmt.Sscan(m[2], &x)
		fmt.Sscan(m[3], &y)
		fmt.Sscan(m[4], &w)
		got[m[1]] = [3]float64{x, y, w}
	}
	th, wa, re := got["throttled"], got["wait"], got["retry"]
	near := func(a, b float64) bool { return a-b < 0.2 && b-a < 0.2 }
	// Bars end 0.8 early so that neighbours stay apart.
	if gap := wa[0] - (th[0] + th[2]); gap < 0 || gap > 1 || !near(wa[0]+wa[2], re[0]) {
		t.Errorf("429 %v, wait %v, retry %v: not end to end", th, wa, re)
	}
	if th[1] != wa[1] || wa[1] != re[1] {
		t.Errorf("429, wait and retry in different lanes: %v %v %v", th, wa, re)
	}
	// 2400 ms over the plot: 1 s of wait is 1000/2400 of plotWidth.
	if w := plotWidth * 1000 / 2400; !near(wa[2], w) {
		t.Errorf("wait width %v, want %v", wa[2], w)
	}
	if re[0] < plotX || re[0]+re[2] > plotX+plotWidth {
		t.Errorf("retry bar %v outside the plot", re)
	}
}

func TestEscaping(t *testing.T) {
	r := sampleReport()
	evil := `"><script>alert(1)</script><img src=x onerror=alert(2)>`
	r.Sources[0].Type = evil
	r.Sources[2].Error = "upstream said " + evil
	r.Requests["shop"][0].URL = "http://shop.test/p?q=" + evil + "&access_token=SECRET-TOKEN-1&page=2"
	r.Requests["shop"][0].Err = "boom " + evil
	r.DanglingRefs[0].To = evil
	r.SnapshotError = evil
	page := render(t, r, MaxBars)
	for _, bad := range []string{"<script", "<img", "SECRET-TOKEN-1"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q unescaped", bad)
		}
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the hostile text is not shown escaped")
	}
	if !strings.Contains(page, "access_token=REDACTED") {
		t.Error("the secret query value is not redacted in the tooltip")
	}
}

func TestEmptyReport(t *testing.T) {
	page := render(t, mesh.Report{}, MaxBars)
	for _, want := range []string{"No sources.", "Requests were not recorded for this build", "0 sources, 0 nodes, 0 requests", "</html>"} {
		if !strings.Contains(page, want) {
			t.Errorf("empty report page lacks %q", want)
		}
	}
	if strings.Contains(page, "Started ") || strings.Contains(page, "Slowest") {
		t.Error("empty report claims a start time or a slowest source")
	}
	// Recorded but no HTTP at all (only local files): rows, no note.
	page = render(t, mesh.Report{StartedAt: t0, Sources: []mesh.SourceReport{{Name: "blog", Type: "files", Status: "ok"}},
		Requests: map[string][]mesh.RequestEvent{}}, MaxBars)
	if strings.Contains(page, "not recorded") || !strings.Contains(page, "no HTTP requests") {
		t.Error("a recorded build without requests is drawn wrong")
	}
	// Requests counted but not recorded for the source.
	page = render(t, mesh.Report{Sources: []mesh.SourceReport{{Name: "api", Status: "ok", Requests: 3}},
		Requests: map[string][]mesh.RequestEvent{}}, MaxBars)
	if !strings.Contains(page, "3 requests made, none recorded") {
		t.Error("missing events are not explained")
	}
}

func TestDeterministic(t *testing.T) {
	r := sampleReport()
	a := render(t, r, MaxBars)
	for i := range 5 {
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		ev := slices.Clone(r.Requests["shop"])
		rng.Shuffle(len(ev), func(i, j int) { ev[i], ev[j] = ev[j], ev[i] })
		r2 := r
		r2.Requests = map[string][]mesh.RequestEvent{"shop": ev, "blog": nil, "cms": r.Requests["cms"]}
		if b := render(t, r2, MaxBars); a != b {
			t.Fatalf("shuffled events give another page")
		}
	}
}

// manyEvents makes n attempts spread over span from concurrency lanes, every 97th a 429 followed
// by a wait.
func manyEvents(n int, span time.Duration, throttleEvery int) []mesh.RequestEvent {
	ev := make([]mesh.RequestEvent, n)
	per := span / time.Duration(n)
	for i := range ev {
		e := mesh.RequestEvent{Method: "GET", URL: fmt.Sprintf("http://big.test/items?offset=%d", i*10), Status: 200,
			Start: t0.Add(time.Duration(i) * per), Duration: 8 * per, Bytes: 2048}
		if throttleEvery > 0 && i%throttleEvery == 0 {
			e.Status = 429
		}
		if throttleEvery > 0 && i%throttleEvery == 1 {
			e.Attempt, e.Wait = 1, 3*per
		}
		ev[i] = e
	}
	return ev
}

func TestSampling(t *testing.T) {
	big := manyEvents(12000, 20*time.Second, 97)
	small := manyEvents(40, 2*time.Second, 0)
	r := mesh.Report{StartedAt: t0, DurationMs: 20000,
		Sources: []mesh.SourceReport{
			{Name: "big", Type: "bench", Status: "ok", Requests: len(big), DurationMs: 20000},
			{Name: "small", Type: "bench", Status: "ok", Requests: len(small), DurationMs: 2000},
		},
		Requests: map[string][]mesh.RequestEvent{"big": big, "small": small},
	}
	throttled := 0
	for _, e := range big {
		if e.Status == 429 {
			throttled++
		}
	}
	page := render(t, r, MaxBars)
	c := classes(page)
	total := 0
	for _, n := range c {
		total += n
	}
	if total != MaxBars {
		t.Errorf("%d bars drawn, want the limit %d", total, MaxBars)
	}
	if c["throttled"] != throttled {
		t.Errorf("%d 429 bars, want all %d", c["throttled"], throttled)
	}
	if !strings.Contains(page, fmt.Sprintf("big: %d of 12000 requests drawn", MaxBars-len(small))) {
		t.Error("the page does not say that big was sampled")
	}
	if strings.Contains(page, "small: ") {
		t.Error("small was sampled though it fits")
	}
	if n := len(densityRe.FindAllString(page, -1)); n == 0 || n > buckets {
		t.Errorf("%d density buckets", n)
	}
	if len(page) > 2<<20 {
		t.Errorf("page is %d bytes", len(page))
	}
	// Fewer bars than notable events: still within the budget.
	page = render(t, r, 50)
	c = classes(page)
	if c["throttled"] == 0 || c["ok"]+c["throttled"]+c["retry"] > 50 {
		t.Errorf("budget 50: bars %v", c)
	}
}

func TestShares(t *testing.T) {
	for _, tc := range []struct {
		sizes []int
		max   int
		want  []int
	}{
		{[]int{10, 20}, 100, []int{10, 20}},
		{[]int{10, 1000}, 100, []int{10, 90}},
		{[]int{1000, 1000, 1000}, 100, []int{34, 33, 33}},
		{[]int{0, 5000, 7}, 10, []int{0, 5, 5}},
		{[]int{0, 5000, 3}, 10, []int{0, 7, 3}},
		{[]int{}, 10, []int{}},
	} {
		evs := make([][]event, len(tc.sizes))
		for i, n := range tc.sizes {
			evs[i] = make([]event, n)
		}
		if got := shares(evs, tc.max); !slices.Equal(got, tc.want) {
			t.Errorf("shares(%v, %d) = %v, want %v", tc.sizes, tc.max, got, tc.want)
		}
	}
}

func TestTicks(t *testing.T) {
	for _, tc := range []struct {
		ms    float64
		first string
		last  string
	}{
		{1, "0", "1 ms"},
		{850, "0", "800 ms"},
		{2400, "0", "2 s"},
		{95000, "0", "90 s"},
	} {
		ts := ticks(tc.ms)
		if len(ts) < 2 || len(ts) > 11 || ts[0].Label != tc.first || ts[len(ts)-1].Label != tc.last {
			t.Errorf("ticks(%v): %d ticks, %+v ... %+v", tc.ms, len(ts), ts[0], ts[len(ts)-1])
		}
	}
}

// The page is written into the output folder beside report.json by WriteDir.
func TestOutput(t *testing.T) {
	src, err := memsource.New(memsource.Record{Namespace: "post", NativeID: "1", Type: "Post", Fields: json.RawMessage(`{"title":"Hi"}`)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mesh.New(mesh.Options{RecordRequests: true})
	if err != nil {
		t.Fatal(err)
	}
	m.Add("mem", src)
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	if err := b.WriteDir(dir, Output(b.Report)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `data-source="mem"`) || !strings.Contains(string(data), "1 node") {
		t.Errorf("report.html:\n%s", data)
	}
}
