// Package reporthtml draws a build's report as one self-contained HTML page, report.html: a
// waterfall of every HTTP attempt of every source over time, so a reader sees at a glance which
// source was the slow one, how its requests overlapped, and where 429s made it wait; and the
// per-source table of report.json.
//
// The page has no script and loads nothing: its CSS is inline and the waterfall is inline SVG, with
// each bar's details (method, redacted URL, status, bytes, duration, wait) in a tooltip. Every text
// from the report is escaped (html/template). The same report gives the same bytes.
//
// The waterfall needs the attempts themselves, which the engine keeps only when
// mesh.Options.RecordRequests is set; without them the page says so and shows the table.
//
// A build with many requests is drawn with at most MaxBars individual bars: a source over its share
// is sampled (every retry, 429 and error first, then evenly spaced ordinary requests) and also gets
// a density strip that counts all of its requests; the page says which sources were sampled.
package reporthtml

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
)

// FileName is the page's name in the output folder.
const FileName = "report.html"

// MaxBars is the most request bars drawn individually on one page.
const MaxBars = 3000

// Output returns the page as an extra output of mesh.Build.WriteDir:
//
//	b.WriteDir(dir, reporthtml.Output(b.Report))
func Output(r mesh.Report) mesh.OutputWriter {
	return mesh.OutputWriter{Name: FileName, Write: func(w io.Writer) error { return Write(w, r) }}
}

// Write writes the page for r to w.
func Write(w io.Writer, r mesh.Report) error {
	return write(w, r, MaxBars)
}

func write(w io.Writer, r mesh.Report, maxBars int) error {
	return pageTemplate.Execute(w, layout(r, maxBars))
}

// Geometry of the waterfall, in SVG user units (the picture scales to the page's width).
const (
	svgWidth   = 1200.0
	labelWidth = 190.0
	rightWidth = 86.0
	plotX      = labelWidth
	plotWidth  = svgWidth - labelWidth - rightWidth
	axisHeight = 26.0
	laneHeight = 8.0
	laneStep   = 10.0
	rowPad     = 8.0
	minRowH    = 34.0
	densityH   = 12.0
	maxLanes   = 24
	buckets    = 190
	// maxURL is the longest URL shown in a tooltip.
	maxURL = 400
	// maxDangling is how many dangling references the page lists.
	maxDangling = 50
)

// page is what the template draws.
type page struct {
	Title        string
	StartedAt    string
	Duration     string
	Nodes        int
	Summary      string
	Slowest      string
	Recorded     bool
	Notes        []string
	Sampled      []string
	Width        string
	Height       string
	PlotX        string
	PlotEnd      string
	AxisY        string
	Ticks        []tick
	Rows         []row
	Table        []tableRow
	Dangling     []mesh.DanglingRef
	DanglingMore int
	DanglingAll  int
	Snapshot     string
}

type tick struct {
	X, Label, LabelX string
}

type row struct {
	Name, Type, Status string
	Slowest            bool
	Y, H               string
	LabelY, TypeY      string
	TypeLine           string
	MidY               string
	Duration           string
	SpanX, SpanW       string
	HasSpan            bool
	Bars               []bar // ordinary requests
	Hot                []bar // retries, 429s and errors, drawn over the others
	Waits              []bar
	Density            []bar
	Empty              string
}

type bar struct {
	X, Y, W, H string
	Class      string
	Tip        string
}

type tableRow struct {
	mesh.SourceReport
	Slowest  bool
	Waited   string
	Size     string
	Duration string
	DurBarW  string
	ErrFirst string
	ErrMore  bool
}

// event is one attempt placed on the time axis, in milliseconds since the build started.
type event struct {
	mesh.RequestEvent
	begin, start, end float64 // begin = start - wait
}

func layout(r mesh.Report, maxBars int) *page {
	p := &page{
		Title:    "contentmesh build report",
		Recorded: r.Requests != nil,
		Width:    num(svgWidth),
		PlotX:    num(plotX),
		PlotEnd:  num(plotX + plotWidth),
	}
	if !r.StartedAt.IsZero() {
		p.StartedAt = r.StartedAt.UTC().Format(time.RFC3339)
	}
	p.Duration = seconds(float64(r.DurationMs))
	p.Nodes = r.Nodes
	p.Snapshot = r.SnapshotError

	// Sources in report order, then any that only appear in Requests, by name.
	reports := slices.Clone(r.Sources)
	var extra []string
	for name := range r.Requests {
		if !slices.ContainsFunc(reports, func(s mesh.SourceReport) bool { return s.Name == name }) {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	for _, name := range extra {
		reports = append(reports, mesh.SourceReport{Name: name, Status: "?"})
	}

	// Events relative to the start, sorted so the layout does not depend on finishing order.
	events := make([][]event, len(reports))
	totalMs := float64(r.DurationMs)
	for i, s := range reports {
		for _, e := range r.Requests[s.Name] {
			ev := event{RequestEvent: e}
			ev.start = ms(e.Start.Sub(r.StartedAt))
			if r.StartedAt.IsZero() || e.Start.IsZero() {
				ev.start = 0
			}
			ev.start = max(ev.start, 0)
			ev.begin = max(ev.start-ms(e.Wait), 0)
			ev.end = ev.start + max(ms(e.Duration), 0)
			totalMs = max(totalMs, ev.end)
			events[i] = append(events[i], ev)
		}
		slices.SortStableFunc(events[i], compareEvents)
		totalMs = max(totalMs, float64(s.DurationMs))
	}
	totalMs = max(totalMs, 1)

	// Summary line and slowest source.
	var sum mesh.SourceReport
	slowest := -1
	for i, s := range reports {
		sum.Requests += s.Requests
		sum.Retries += s.Retries
		sum.Throttled += s.Throttled
		sum.Bytes += s.Bytes
		sum.WaitMs += s.WaitMs
		if slowest < 0 || s.DurationMs > reports[slowest].DurationMs {
			slowest = i
		}
	}
	p.Summary = fmt.Sprintf("%s, %s, %s (%s, %d throttled, %s waited), %s",
		plural(len(reports), "source"), plural(r.Nodes, "node"), plural(sum.Requests, "request"),
		plural(sum.Retries, "retry"), sum.Throttled, seconds(float64(sum.WaitMs)), bytesText(sum.Bytes))
	if len(reports) < 2 || reports[slowest].DurationMs == 0 {
		slowest = -1 // nothing to single out
	}
	if slowest >= 0 {
		s := reports[slowest]
		p.Slowest = fmt.Sprintf("Slowest source: %s (%s, %s)", s.Name, seconds(float64(s.DurationMs)), plural(s.Requests, "request"))
	}
	if !p.Recorded {
		p.Notes = append(p.Notes, "Requests were not recorded for this build, so there is no waterfall: "+
			"the engine keeps them when mesh.Options.RecordRequests is set (contentmesh build sets it).")
	}

	budgets := shares(events, maxBars)
	p.Ticks = ticks(totalMs)
	y := axisHeight
	for i, s := range reports {
		rw, h, sampled := drawRow(s, events[i], budgets[i], totalMs, y)
		rw.Slowest = i == slowest
		if sampled != "" {
			p.Sampled = append(p.Sampled, sampled)
		}
		p.Rows = append(p.Rows, rw)
		y += h
	}
	p.Height = num(y + 4)
	p.AxisY = num(y)

	// The table.
	var longest int64 = 1
	for _, s := range reports {
		longest = max(longest, s.DurationMs)
	}
	for i, s := range reports {
		t := tableRow{SourceReport: s, Slowest: i == slowest}
		t.Waited = seconds(float64(s.WaitMs))
		t.Size = bytesText(s.Bytes)
		t.Duration = seconds(float64(s.DurationMs))
		t.DurBarW = num(80 * float64(s.DurationMs) / float64(longest))
		t.ErrFirst, _, t.ErrMore = strings.Cut(s.Error, "\n")
		p.Table = append(p.Table, t)
	}
	p.DanglingAll = len(r.DanglingRefs)
	p.Dangling = r.DanglingRefs[:min(len(r.DanglingRefs), maxDangling)]
	p.DanglingMore = len(r.DanglingRefs) - len(p.Dangling)
	return p
}

func compareEvents(a, b event) int {
	switch {
	case a.begin != b.begin:
		return cmp.Compare(a.begin, b.begin)
	case a.start != b.start:
		return cmp.Compare(a.start, b.start)
	case a.end != b.end:
		return cmp.Compare(a.end, b.end)
	case a.Attempt != b.Attempt:
		return a.Attempt - b.Attempt
	case a.URL != b.URL:
		return strings.Compare(a.URL, b.URL)
	case a.Status != b.Status:
		return a.Status - b.Status
	case a.Method != b.Method:
		return strings.Compare(a.Method, b.Method)
	case a.Bytes != b.Bytes:
		return cmp.Compare(a.Bytes, b.Bytes)
	}
	return strings.Compare(a.Err, b.Err)
}

// shares splits maxBars between sources: each gets what it has if that fits an equal share, and
// what the small ones leave over goes to the big ones.
func shares(events [][]event, maxBars int) []int {
	out := make([]int, len(events))
	left := maxBars
	open := []int{}
	for i, e := range events {
		if len(e) > 0 {
			open = append(open, i)
		}
	}
	for len(open) > 0 {
		share := left / len(open)
		var next []int
		for _, i := range open {
			if len(events[i]) <= share {
				out[i] = len(events[i])
				left -= out[i]
			} else {
				next = append(next, i)
			}
		}
		if len(next) == len(open) {
			for k, i := range next {
				out[i] = share
				if k < left-share*len(next) {
					out[i]++
				}
			}
			break
		}
		open = next
	}
	return out
}

// notable reports whether an attempt is one the reader looks for: a retry, a 429, an error.
func notable(e event) bool {
	return e.Attempt > 0 || e.Status == 429 || e.Status == 0 || e.Status >= 400 || e.Err != ""
}

// sample picks at most budget events: notable ones first (evenly spaced when there are too many),
// then evenly spaced ordinary ones, returned in the original order.
func sample(evs []event, budget int) []event {
	if len(evs) <= budget {
		return evs
	}
	var hot, cold []int
	for i, e := range evs {
		if notable(e) {
			hot = append(hot, i)
		} else {
			cold = append(cold, i)
		}
	}
	pick := spaced(hot, budget)
	pick = append(pick, spaced(cold, budget-len(pick))...)
	slices.Sort(pick)
	out := make([]event, len(pick))
	for k, i := range pick {
		out[k] = evs[i]
	}
	return out
}

// spaced returns n of idx, evenly spaced, first and last included.
func spaced(idx []int, n int) []int {
	if n <= 0 {
		return nil
	}
	if len(idx) <= n {
		return idx
	}
	out := make([]int, n)
	for k := range n {
		j := 0
		if n > 1 {
			j = k * (len(idx) - 1) / (n - 1)
		}
		out[k] = idx[j]
	}
	return out
}

// drawRow lays out one source's row from y down; it returns the row, its height and, when the
// source was sampled, a note saying so.
func drawRow(s mesh.SourceReport, evs []event, budget int, totalMs, y float64) (row, float64, string) {
	rw := row{Name: s.Name, Type: s.Type, Status: s.Status}
	rw.Duration = seconds(float64(s.DurationMs))
	rw.TypeLine = fmt.Sprintf("%s · %s", orDash(s.Type), plural(len(evs), "request"))
	if s.Status != "" && s.Status != mesh.StatusOK {
		rw.TypeLine = fmt.Sprintf("%s · %s · %s", orDash(s.Type), s.Status, plural(len(evs), "request"))
	}
	x := func(t float64) float64 { return plotX + t/totalMs*plotWidth }

	shown := sample(evs, budget)
	var note string
	top := y + rowPad
	if len(shown) < len(evs) {
		note = fmt.Sprintf("%s: %d of %d requests drawn (every retry, 429 and error first, then evenly spaced), all counted in the density strip above its bars",
			s.Name, len(shown), len(evs))
		rw.Density = density(evs, totalMs, top, x)
		top += densityH + 3
	}

	// Lanes: first fit by time, so overlapping requests stack and concurrency shows as height.
	var laneEnd []float64
	lanes := 0
	for _, e := range shown {
		lane := -1
		for l, end := range laneEnd {
			if end <= e.begin {
				lane = l
				break
			}
		}
		if lane < 0 && len(laneEnd) < maxLanes {
			laneEnd = append(laneEnd, 0)
			lane = len(laneEnd) - 1
		}
		if lane < 0 {
			lane = 0
			for l, end := range laneEnd {
				if end < laneEnd[lane] {
					lane = l
				}
			}
		}
		laneEnd[lane] = e.end
		lanes = max(lanes, lane+1)
		by := top + float64(lane)*laneStep
		if e.start > e.begin {
			rw.Waits = append(rw.Waits, bar{
				X: num(x(e.begin)), Y: num(by), W: num(max(x(e.start)-x(e.begin), 0.5)), H: num(laneHeight),
				Class: "wait", Tip: fmt.Sprintf("waited %s before %s %s", seconds(e.start-e.begin), e.Method, shortURL(e.URL)),
			})
		}
		// A bar ends a little early so that back-to-back requests read as separate bars; notable ones
		// are at least 2 units wide and drawn last, on top.
		w := x(e.end) - x(e.start)
		if w >= 3 {
			w -= 0.8
		}
		br := bar{X: num(x(e.start)), Y: num(by), H: num(laneHeight), Class: class(e), Tip: tip(e)}
		if notable(e) {
			br.W = num(max(w, 2))
			rw.Hot = append(rw.Hot, br)
		} else {
			br.W = num(max(w, 1))
			rw.Bars = append(rw.Bars, br)
		}
	}
	h := max(minRowH, top-y+float64(lanes)*laneStep+rowPad)
	rw.Y, rw.H = num(y), num(h)
	rw.LabelY = num(y + 15)
	rw.TypeY = num(y + 28)
	rw.MidY = num(y + h/2 + 4)
	if len(evs) > 0 {
		lo, hi := evs[0].begin, evs[0].end
		for _, e := range evs {
			lo, hi = min(lo, e.begin), max(hi, e.end)
		}
		rw.HasSpan = true
		rw.SpanX, rw.SpanW = num(x(lo)), num(max(x(hi)-x(lo), 1))
	} else if s.Requests > 0 {
		rw.Empty = fmt.Sprintf("%s made, none recorded", plural(s.Requests, "request"))
	} else {
		rw.Empty = "no HTTP requests"
	}
	return rw, h, note
}

// density draws how many of a source's requests were in flight in each time bucket.
func density(evs []event, totalMs, top float64, x func(float64) float64) []bar {
	counts := make([]int, buckets)
	width := totalMs / buckets
	for _, e := range evs {
		first := min(int(e.start/width), buckets-1)
		last := min(int(e.end/width), buckets-1)
		for b := first; b <= last; b++ {
			counts[b]++
		}
	}
	peak := slices.Max(counts)
	var out []bar
	for b, c := range counts {
		if c == 0 {
			continue
		}
		h := max(densityH*float64(c)/float64(peak), 1)
		out = append(out, bar{
			X: num(x(float64(b) * width)), Y: num(top + densityH - h), W: num(plotWidth / buckets), H: num(h),
			Class: "density",
			Tip:   fmt.Sprintf("%s in flight between +%s and +%s", plural(c, "request"), seconds(float64(b)*width), seconds(float64(b+1)*width)),
		})
	}
	return out
}

func class(e event) string {
	switch {
	case e.Status == 429 || e.Err == "throttled":
		return "throttled"
	case e.Status == 0 || e.Status >= 400 || e.Err != "":
		return "error"
	case e.Attempt > 0:
		return "retry"
	case e.NotModified || e.Status == 304:
		return "notmodified"
	}
	return "ok"
}

func tip(e event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", e.Method, shortURL(e.URL))
	if e.Status > 0 {
		fmt.Fprintf(&b, "status %d", e.Status)
	} else {
		b.WriteString("no response")
	}
	fmt.Fprintf(&b, " · %s · %s\n", bytesText(e.Bytes), seconds(e.end-e.start))
	fmt.Fprintf(&b, "sent at +%s", seconds(e.start))
	if e.Attempt > 0 {
		fmt.Fprintf(&b, " · retry %d", e.Attempt)
	}
	if e.start > e.begin {
		fmt.Fprintf(&b, " · waited %s before", seconds(e.start-e.begin))
	}
	if e.Err != "" {
		fmt.Fprintf(&b, "\nerror: %s", firstLine(e.Err))
	}
	return b.String()
}

// shortURL redacts the URL again (the events are redacted already: this is a second lock) and
// shortens it for a tooltip.
func shortURL(u string) string {
	u = fetch.RedactURLString(u, nil)
	if len(u) > maxURL {
		cut := maxURL
		for cut > 0 && !utf8Start(u[cut]) {
			cut--
		}
		u = u[:cut] + "…"
	}
	return u
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// ticks returns the time axis: a round step giving at most ten ticks.
func ticks(totalMs float64) []tick {
	step := 1.0
	for _, m := range []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 30000, 60000, 120000, 300000, 600000, 1800000, 3600000} {
		step = m
		if totalMs/m <= 10 {
			break
		}
	}
	for totalMs/step > 10 {
		step *= 2
	}
	var out []tick
	for t := 0.0; t <= totalMs+step/1000; t += step {
		xx := plotX + t/totalMs*plotWidth
		out = append(out, tick{X: num(xx), LabelX: num(xx + 3), Label: tickLabel(t, step)})
	}
	return out
}

func tickLabel(t, step float64) string {
	if t == 0 {
		return "0"
	}
	if t < 1000 {
		return strconv.FormatFloat(t, 'f', -1, 64) + " ms"
	}
	return strconv.FormatFloat(t/1000, 'f', -1, 64) + " s"
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// num formats a coordinate with one decimal, without a trailing ".0".
func num(f float64) string {
	s := strconv.FormatFloat(f, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0")
}

// seconds formats milliseconds for people: "850 ms", "2.31 s".
func seconds(msec float64) string {
	switch {
	case msec <= 0:
		return "0 ms"
	case msec < 1:
		return strconv.FormatFloat(msec, 'f', 2, 64) + " ms"
	case msec < 1000:
		return strconv.FormatFloat(msec, 'f', 0, 64) + " ms"
	case msec < 60000:
		return strconv.FormatFloat(msec/1000, 'f', 2, 64) + " s"
	}
	return fmt.Sprintf("%dm%02ds", int(msec/60000), int(msec/1000)%60)
}

func bytesText(n int64) string {
	switch {
	case n < 1024:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1<<20:
		return strconv.FormatFloat(float64(n)/1024, 'f', 1, 64) + " KiB"
	case n < 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<30), 'f', 2, 64) + " GiB"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "y") {
		word = word[:len(word)-1] + "ies"
	} else {
		word += "s"
	}
	return strconv.Itoa(n) + " " + word
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

var pageTemplate = template.Must(template.New("report").Parse(pageHTML))
