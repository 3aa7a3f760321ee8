package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/contentmesh/contentmesh/mesh"
)

// progressDisplay shows a build's progress per source. Close ends it once Build has returned.
type progressDisplay interface {
	mesh.Observer
	Close()
}

// sourceName is a source as the display lists it.
type sourceName struct {
	name, kind string
}

func nameWidth(names []sourceName) int {
	width := 4
	for _, s := range names {
		width = max(width, len(s.name))
	}
	return width
}

// sourceLine is one source's summary: status, nodes, requests, retries, throttling, time, error.
func sourceLine(width int, s mesh.SourceReport) string {
	return fmt.Sprintf("%-*s  %-11s %-6s %s", width, s.Name, s.Type, s.Status, sourceCounts(s))
}

func sourceCounts(s mesh.SourceReport) string {
	line := fmt.Sprintf("%7d nodes %5d requests", s.Nodes, s.Requests)
	if s.Retries > 0 {
		line += fmt.Sprintf(" %d retries", s.Retries)
	}
	if s.Throttled > 0 {
		line += fmt.Sprintf(" %d throttled (%.1fs waited)", s.Throttled, float64(s.WaitMs)/1000)
	}
	if s.NotModified > 0 {
		line += fmt.Sprintf(" %d not modified", s.NotModified)
	}
	line += fmt.Sprintf(" %6.2fs", float64(s.DurationMs)/1000)
	if s.Error != "" {
		line += "  error: " + firstLine(s.Error)
	}
	return line
}

// noProgress shows nothing (-quiet).
type noProgress struct{}

func (noProgress) SourceStarted(string, string)               {}
func (noProgress) SourceProgress(string, mesh.SourceProgress) {}
func (noProgress) SourceDone(string, mesh.SourceReport)       {}
func (noProgress) Close()                                     {}

// lines prints one plain line per source when it finishes: for CI logs and pipes.
type lines struct {
	mu    sync.Mutex
	w     io.Writer
	width int
}

func newLines(w io.Writer, names []sourceName) *lines {
	return &lines{w: w, width: nameWidth(names)}
}

func (l *lines) SourceStarted(string, string)               {}
func (l *lines) SourceProgress(string, mesh.SourceProgress) {}
func (l *lines) Close()                                     {}

func (l *lines) SourceDone(_ string, r mesh.SourceReport) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(l.w, sourceLine(l.width, r))
}

// barsOptions tune the live display; the zero value fits a real terminal.
type barsOptions struct {
	width    int           // columns; 0 asks the terminal
	forceTTY bool          // draw on a writer that is not a terminal (tests)
	refresh  time.Duration // 0: the library's default
}

// bars draws one live line per source on a terminal (mpb): a spinner while it fetches, with running
// nodes, requests, retries and waits on 429, then its summary. Log lines are printed above the bars
// while they are drawn.
type bars struct {
	p    *mpb.Progress
	rows map[string]*barRow // fixed at construction
	logs *switchWriter
	prev io.Writer
}

// barRow is one source's state, read by the render goroutine.
type barRow struct {
	bar *mpb.Bar

	mu      sync.Mutex
	started time.Time
	prog    mesh.SourceProgress
	done    *mesh.SourceReport
}

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func newBars(w io.Writer, names []sourceName, logs *switchWriter, opt barsOptions) *bars {
	opts := []mpb.ContainerOption{mpb.WithOutput(w)}
	if opt.width > 0 {
		opts = append(opts, mpb.WithWidth(opt.width))
	}
	if opt.forceTTY {
		opts = append(opts, mpb.ForceTTY(), mpb.WithAutoRefresh())
	}
	if opt.refresh > 0 {
		opts = append(opts, mpb.WithRefreshRate(opt.refresh))
	}
	b := &bars{p: mpb.New(opts...), rows: make(map[string]*barRow, len(names)), logs: logs}
	width := nameWidth(names)
	for _, s := range names {
		row := &barRow{}
		row.bar = b.p.New(0, mpb.NopStyle(),
			mpb.PrependDecorators(
				decor.Any(row.glyph, decor.WC{W: 2, C: decor.DindentRight}),
				decor.Name(s.name, decor.WC{W: width + 2, C: decor.DindentRight}),
				decor.Name(s.kind, decor.WC{W: 12, C: decor.DindentRight}),
			),
			mpb.AppendDecorators(decor.Any(row.counts)),
		)
		b.rows[s.name] = row
	}
	b.prev = logs.set(b.p)
	return b
}

func (r *barRow) glyph(decor.Statistics) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.done != nil && r.done.Status == mesh.StatusOK:
		return "✓"
	case r.done != nil && r.done.Status == mesh.StatusStale:
		return "!"
	case r.done != nil:
		return "✗"
	case r.started.IsZero():
		return "·"
	}
	return spinnerFrames[int(time.Since(r.started)/(100*time.Millisecond))%len(spinnerFrames)]
}

func (r *barRow) counts(decor.Statistics) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.done != nil:
		return fmt.Sprintf("%-6s %s", r.done.Status, sourceCounts(*r.done))
	case r.started.IsZero():
		return "waiting"
	}
	p := r.prog
	s := fmt.Sprintf("%-6s %7d nodes %5d requests", "", p.Nodes, p.Requests)
	if p.Retries > 0 {
		s += fmt.Sprintf(" %d retries", p.Retries)
	}
	if p.Throttled > 0 {
		s += fmt.Sprintf(" %d×429 (%.1fs waited)", p.Throttled, p.Wait.Seconds())
	}
	return s + fmt.Sprintf(" %6.1fs", time.Since(r.started).Seconds())
}

// SourceStarted implements mesh.Observer.
func (b *bars) SourceStarted(name, _ string) {
	if r := b.rows[name]; r != nil {
		r.mu.Lock()
		r.started = time.Now()
		r.mu.Unlock()
	}
}

// SourceProgress implements mesh.Observer.
func (b *bars) SourceProgress(name string, p mesh.SourceProgress) {
	if r := b.rows[name]; r != nil {
		r.mu.Lock()
		r.prog = p
		r.mu.Unlock()
	}
}

// SourceDone implements mesh.Observer.
func (b *bars) SourceDone(name string, rep mesh.SourceReport) {
	if r := b.rows[name]; r != nil {
		r.mu.Lock()
		r.done = &rep
		r.mu.Unlock()
		r.bar.SetTotal(-1, true)
	}
}

// Close ends the bars of sources that never finished (the build stopped early), draws the last
// frame and stops the display's goroutines.
func (b *bars) Close() {
	for _, r := range b.rows {
		r.mu.Lock()
		done := r.done != nil
		r.mu.Unlock()
		if !done {
			r.bar.Abort(false)
		}
	}
	b.p.Wait()
	b.logs.set(b.prev)
}

// switchWriter is a writer whose destination can change (logs go above the bars while they are
// drawn, straight to stderr otherwise).
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	w := s.w
	s.mu.Unlock()
	return w.Write(p)
}

// set makes w the destination and returns the previous one.
func (s *switchWriter) set(w io.Writer) io.Writer {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.w
	s.w = w
	return prev
}
