//go:build unix

package reporthtml

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/bench"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/mesh/memsource"
)

var keep = flag.String("keep", "", "copy the Chromium test's report.html and screenshot into this folder")

// chromium finds a headless browser: $CHROMIUM, or chromium on PATH. Without one the test is
// skipped, except under CI=true, where the page test must run.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH and CI=true: install it with scripts/ci/install-chromium.sh")
	}
	t.Skip("no chromium on PATH (scripts/ci/install-chromium.sh installs it); set CI=true to make this a failure")
	return ""
}

// benchReport builds a real graph from simulated providers on loopback: a catalog fanned out by
// offset, a slow chain of cursor pages, a pricing API with a rate limit that answers 429 with a
// reset header, and an in-memory source that makes no request.
func benchReport(t *testing.T) mesh.Report {
	t.Helper()
	providers := []struct {
		name string
		p    *bench.Provider
	}{
		{"catalog", &bench.Provider{Items: 240, PageSize: 10, ItemBytes: 300, Latency: 10 * time.Millisecond, Style: bench.Offset}},
		{"articles", &bench.Provider{Items: 100, PageSize: 10, ItemBytes: 800, Latency: 40 * time.Millisecond, Style: bench.Cursor}},
		{"pricing", &bench.Provider{Items: 120, PageSize: 10, ItemBytes: 200, Latency: 5 * time.Millisecond, Style: bench.Offset, RateLimit: 5}},
	}
	m, err := mesh.New(mesh.Options{RecordRequests: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range providers {
		srv := httptest.NewServer(pr.p)
		defer srv.Close() // before goleak looks
		src, err := bench.NewSource(pr.name, srv.URL, pr.p.Style, pr.p.PageSize, fetch.Options{Concurrency: 4})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Add(pr.name, src); err != nil {
			t.Fatal(err)
		}
	}
	notes, err := memsource.New(memsource.Record{Namespace: "note", NativeID: "1", Type: "Note"})
	if err != nil {
		t.Fatal(err)
	}
	m.Add("notes", notes)
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if b.Report.Requests["pricing"] == nil || b.Report.Sources[2].Throttled == 0 {
		t.Fatalf("the rate-limited provider was not throttled: %+v", b.Report.Sources[2])
	}
	return b.Report
}

// runChromium runs the browser headless on one page, in its own process group so that every child
// it starts is killed if it hangs.
func runChromium(t *testing.T, bin, profile string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--hide-scrollbars", "--user-data-dir=" + profile}, args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, tail(stderr.String(), 2000))
	}
	return stdout.Bytes()
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func TestChromiumRenders(t *testing.T) {
	bin := chromium(t)
	defer goleak.VerifyNone(t)
	r := benchReport(t)
	dir := t.TempDir()
	file := filepath.Join(dir, FileName)
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(f, r); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	url := "file://" + filepath.ToSlash(file)

	// The DOM the browser built holds a waterfall row and a table row per source, and every 429.
	dom := string(runChromium(t, bin, filepath.Join(dir, "profile-dom"), "--dump-dom", url))
	for _, s := range r.Sources {
		for _, want := range []string{
			fmt.Sprintf(`data-source="%s" data-status="ok"`, s.Name),
			`<tr class="source`,
			fmt.Sprintf(`data-source="%s"><td>%s</td>`, s.Name, s.Name),
		} {
			if !strings.Contains(dom, want) {
				t.Errorf("dumped DOM lacks %q", want)
			}
		}
	}
	throttled := 0
	for _, s := range r.Sources {
		throttled += s.Throttled
	}
	if n := len(regexp.MustCompile(`<rect class="throttled"`).FindAllString(dom, -1)); n != throttled {
		t.Errorf("DOM has %d 429 bars, the report %d", n, throttled)
	}
	slowest := r.Sources[0]
	for _, s := range r.Sources {
		if s.DurationMs > slowest.DurationMs {
			slowest = s
		}
	}
	if want := "Slowest source: " + slowest.Name + " ("; !strings.Contains(dom, want) {
		t.Errorf("dumped DOM lacks %q", want)
	}

	// The screenshot is a picture, not a blank page: ink covers a fair part of it, and the bar
	// colours are there.
	shot := filepath.Join(dir, "report.png")
	runChromium(t, bin, filepath.Join(dir, "profile-shot"), "--screenshot="+shot, "--window-size=1280,900", url)
	pf, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(pf)
	pf.Close()
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	b := img.Bounds()
	if b.Dx() < 1000 || b.Dy() < 600 {
		t.Fatalf("screenshot is %v", b)
	}
	var ink, red, blue, orange int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			if r < 245 || g < 245 || bl < 245 {
				ink++
			}
			switch {
			case near(r, g, bl, 0xd2, 0x37, 0x2f):
				red++
			case near(r, g, bl, 0x3b, 0x74, 0xc9):
				blue++
			case near(r, g, bl, 0xe3, 0x9b, 0x3a), near(r, g, bl, 0xe0, 0x8a, 0x1e):
				orange++
			}
		}
	}
	total := b.Dx() * b.Dy()
	t.Logf("screenshot %dx%d: %.1f%% ink, %d red (429), %d blue (answered), %d orange (wait, retry) pixels",
		b.Dx(), b.Dy(), 100*float64(ink)/float64(total), red, blue, orange)
	if ink < total/50 {
		t.Errorf("screenshot is nearly blank: %d of %d pixels not white", ink, total)
	}
	if red < 40 || blue < 400 || orange < 40 {
		t.Errorf("the waterfall's bars are missing from the screenshot: red %d, blue %d, orange %d", red, blue, orange)
	}
	if *keep != "" {
		os.MkdirAll(*keep, 0o755)
		for _, name := range []string{FileName, "report.png"} {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err == nil {
				err = os.WriteFile(filepath.Join(*keep, name), data, 0o644)
			}
			if err != nil {
				t.Error(err)
			}
		}
	}
}

func near(r, g, b uint32, wr, wg, wb uint32) bool {
	d := func(a, b uint32) uint32 {
		if a > b {
			return a - b
		}
		return b - a
	}
	return d(r, wr) < 28 && d(g, wg) < 28 && d(b, wb) < 28
}
