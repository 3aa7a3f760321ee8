package reporthtml_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/memsource"
	"github.com/contentmesh/contentmesh/mesh/reporthtml"
)

// Write the page for a build's report: the engine keeps every request when RecordRequests is set.
func ExampleOutput() {
	notes, _ := memsource.New(memsource.Record{Namespace: "note", NativeID: "1", Type: "Note"})
	m, _ := mesh.New(mesh.Options{RecordRequests: true})
	m.Add("notes", notes)
	b, err := m.Build(context.Background())
	if err != nil {
		panic(err)
	}
	dir, _ := os.MkdirTemp("", "reporthtml-example-")
	defer os.RemoveAll(dir)
	// report.html goes into the output folder beside report.json.
	if err := b.WriteDir(filepath.Join(dir, ".mesh"), reporthtml.Output(b.Report)); err != nil {
		panic(err)
	}
	_, err = os.Stat(filepath.Join(dir, ".mesh", reporthtml.FileName))
	fmt.Println("report.html written:", err == nil)
	// Output: report.html written: true
}

func ExampleWrite() {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := mesh.Report{
		StartedAt: start, DurationMs: 1300, Nodes: 20,
		Sources: []mesh.SourceReport{{Name: "shop", Type: "rest", Status: "ok", Nodes: 20, Requests: 2, Throttled: 1, DurationMs: 1250}},
		Requests: map[string][]mesh.RequestEvent{"shop": {
			{Method: "GET", URL: "https://shop.example/products", Status: 429, Start: start, Duration: 50 * time.Millisecond},
			{Method: "GET", URL: "https://shop.example/products", Status: 200, Attempt: 1, Wait: time.Second,
				Start: start.Add(1050 * time.Millisecond), Duration: 200 * time.Millisecond, Bytes: 40960},
		}},
	}
	var page bytes.Buffer
	if err := reporthtml.Write(&page, r); err != nil {
		panic(err)
	}
	fmt.Println(strings.Count(page.String(), `<rect class="throttled"`), "throttled bar,",
		strings.Count(page.String(), `<rect class="wait"`), "wait,",
		strings.Count(page.String(), `<rect class="retry"`), "retry")
	// Output: 1 throttled bar, 1 wait, 1 retry
}
