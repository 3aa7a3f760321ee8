package bench

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
)

// buildAll runs one build over the providers and returns its wall time.
func buildAll(tb testing.TB, providers []*Provider, concurrency int) (time.Duration, *mesh.Build) {
	tb.Helper()
	m, err := mesh.New(mesh.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	for i, p := range providers {
		srv := httptest.NewServer(p)
		tb.Cleanup(srv.Close)
		src, err := NewSource(fmt.Sprintf("s%d", i), srv.URL, p.Style, p.PageSize, fetch.Options{Concurrency: concurrency})
		if err != nil {
			tb.Fatal(err)
		}
		m.Add(fmt.Sprintf("s%d", i), src)
	}
	start := time.Now()
	b, err := m.Build(context.Background())
	took := time.Since(start)
	if err != nil {
		tb.Fatal(err)
	}
	return took, b
}

func TestProvidersBuild(t *testing.T) {
	for _, style := range []Style{Offset, Cursor, Link} {
		p := &Provider{Items: 95, PageSize: 10, ItemBytes: 200, Style: style}
		_, b := buildAll(t, []*Provider{p}, 4)
		if b.Graph.Len() != 95 || p.Requests() != 10 {
			t.Errorf("%s: %d nodes, %d requests", style, b.Graph.Len(), p.Requests())
		}
	}
}

func TestBound(t *testing.T) {
	p := &Provider{Items: 500, PageSize: 10, Latency: 20 * time.Millisecond, Style: Offset}
	if got := p.Bound(8); got != 8*20*time.Millisecond { // 1 + ceil(49/8) = 8
		t.Errorf("offset bound %v", got)
	}
	p.Style = Cursor
	if got := p.Bound(8); got != time.Second {
		t.Errorf("cursor bound %v", got)
	}
	p.RateLimit = 10
	if got := p.Bound(8); got != 4*time.Second+20*time.Millisecond {
		t.Errorf("rate-limited bound %v", got)
	}
}

// BenchmarkThreeSources: three sources of 50 cursor pages each at 20 ms per request. The bound is
// one chain (50 x 20 ms = 1 s), not the sum of all requests (3 s).
func BenchmarkThreeSources(b *testing.B) {
	var ratio float64
	for b.Loop() {
		ps := make([]*Provider, 3)
		for i := range ps {
			ps[i] = &Provider{Items: 50 * 20, PageSize: 20, ItemBytes: 1000, Latency: 20 * time.Millisecond, Style: Cursor}
		}
		took, bd := buildAll(b, ps, 8)
		if bd.Graph.Len() != 3000 {
			b.Fatalf("%d nodes", bd.Graph.Len())
		}
		ratio = max(ratio, float64(took)/float64(ps[0].Bound(8)))
	}
	b.ReportMetric(ratio, "x-bound(worst)")
}

func TestRecordRequests(t *testing.T) {
	p := &Provider{Items: 30, PageSize: 10, Style: Offset}
	srv := httptest.NewServer(p)
	defer srv.Close()
	src, _ := NewSource("s", srv.URL, Offset, 10, fetch.Options{})
	m, _ := mesh.New(mesh.Options{RecordRequests: true})
	m.Add("s", src)
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ev := b.Report.Requests["s"]
	if len(ev) != 3 || b.Report.StartedAt.IsZero() {
		t.Fatalf("%d events, started %v", len(ev), b.Report.StartedAt)
	}
	for _, e := range ev {
		if e.Status != 200 || e.Method != "GET" || e.Start.Before(b.Report.StartedAt) || e.Bytes == 0 {
			t.Errorf("event %+v", e)
		}
	}
}

// TestScenariosSmall runs every scenario kind at a small size and checks what each promises that
// does not depend on the clock: the rebuilds' request counts and change sets, no request before a
// 429's reset, and the in-process node count.
func TestScenariosSmall(t *testing.T) {
	small := Spec{Items: 300, PageSize: 50, ItemBytes: 200, Style: Offset, Sync: true}
	tests := []struct {
		s     Scenario
		check func(t *testing.T, r Result)
	}{
		{Scenario{Name: "offset", Providers: []Spec{small, small}, Concurrency: 4}, func(t *testing.T, r Result) {
			if r.Nodes != 600 || r.Requests != 12 || r.Changes[0] != 600 {
				t.Errorf("%+v", r)
			}
		}},
		{Scenario{Name: "unchanged", Providers: []Spec{small, small}, Concurrency: 4, Rebuild: "unchanged"}, func(t *testing.T, r Result) {
			if r.MaxRequestsPerSource != 1 || r.Changes != [3]int{} || r.Nodes != 600 {
				t.Errorf("unchanged rebuild: %+v", r)
			}
		}},
		{Scenario{Name: "changed", Providers: []Spec{small}, Concurrency: 4, Rebuild: "changed", ChangedPercent: 10}, func(t *testing.T, r Result) {
			if r.MaxRequestsPerSource != 1 || r.Changes != [3]int{0, 30, 0} {
				t.Errorf("changed rebuild: %+v", r)
			}
		}},
		// The client waits for the reset (about a second); a client that ignored it would retry after
		// its backoff (250 ms), well past the 50 ms allowed for requests already in flight.
		{Scenario{Name: "ratelimit", Providers: []Spec{{Items: 60, PageSize: 5, Style: Offset, RateLimit: 6, InFlightGrace: 50 * time.Millisecond}}, Concurrency: 4}, func(t *testing.T, r Result) {
			if r.Throttled == 0 || r.Early != 0 || r.Nodes != 60 {
				t.Errorf("rate limit: %+v", r)
			}
		}},
		{Scenario{Name: "inprocess", InProcess: 5000}, func(t *testing.T, r Result) {
			if r.Nodes != 5000 || r.JSONBytes == 0 {
				t.Errorf("in-process: %+v", r)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.s.Name, func(t *testing.T) {
			r, err := Run(context.Background(), tt.s, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, r)
		})
	}
}

func TestFloor(t *testing.T) {
	for _, style := range []Style{Offset, Cursor, Link} {
		t.Run(string(style), func(t *testing.T) {
			ps := []*Provider{
				{Items: 95, PageSize: 10, ItemBytes: 200, Style: style},
				{Items: 7, PageSize: 10, ItemBytes: 200, Style: style},
			}
			var urls []string
			for _, p := range ps {
				srv := httptest.NewServer(p)
				t.Cleanup(srv.Close)
				urls = append(urls, srv.URL)
			}
			took, err := Floor(context.Background(), ps, urls, 4)
			if err != nil || took <= 0 {
				t.Fatalf("Floor = %v, %v", took, err)
			}
			for i, p := range ps {
				if p.Requests() != int64(p.Pages()) {
					t.Errorf("provider %d: %d requests for %d pages", i, p.Requests(), p.Pages())
				}
			}
		})
	}
	limited := []*Provider{{Items: 10, PageSize: 10, Style: Offset, RateLimit: 5}}
	if _, err := Floor(context.Background(), limited, []string{"http://127.0.0.1:1"}, 1); err == nil {
		t.Error("Floor accepted a rate-limited provider")
	}
}
