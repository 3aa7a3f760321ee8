// Command meshbench runs the performance scenarios of mesh/bench on loopback and prints a table (and
// JSON with -json): wall time, its ratio to the critical-path bound and to a sequential fetch,
// requests, retries, CPU time, nodes per CPU second, peak RSS and heap. "fetch x floor" compares the
// build's fetch phase with a bare net/http client reading the same pages (bench.Floor): what the
// client adds, apart from what the machine and the loopback cost.
//
//	go run ./cmd/meshbench                 # every scenario
//	go run ./cmd/meshbench -run a,e -json  # some, as JSON
//	go run ./cmd/meshbench -run g          # 1M nodes of 1 KiB on disk and in memory (only when named)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/contentmesh/contentmesh/mesh/bench"
)

func main() {
	run := flag.String("run", "", "comma-separated scenario name prefixes (default: all)")
	asJSON := flag.Bool("json", false, "print JSON instead of a table")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	count := flag.Int("count", 1, "run each scenario this many times (one row each)")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "meshbench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := runAll(context.Background(), os.Stdout, *run, *asJSON, *count); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "meshbench:", err)
		os.Exit(1)
	}
}

func runAll(ctx context.Context, w io.Writer, filter string, asJSON bool, count int) error {
	var results []bench.Result
	scenarios := bench.Scenarios()
	if filter != "" {
		scenarios = append(scenarios, bench.LargeScenarios()...) // only when named
	}
	for _, s := range scenarios {
		if !selected(s.Name, filter) {
			continue
		}
		for range max(count, 1) {
			r, err := runOne(ctx, s)
			if err != nil {
				return err
			}
			results = append(results, r)
			if !asJSON {
				fmt.Fprintf(os.Stderr, "done %s in %s\n", s.Name, r.Wall.Round(time.Millisecond))
			}
		}
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	printTable(w, results)
	return nil
}

// runOne runs scenario s in a temporary folder of its own.
func runOne(ctx context.Context, s bench.Scenario) (bench.Result, error) {
	dir, err := os.MkdirTemp("", "meshbench-")
	if err != nil {
		return bench.Result{}, err
	}
	defer os.RemoveAll(dir)
	r, err := bench.Run(ctx, s, dir)
	if err != nil {
		return r, fmt.Errorf("%s: %w", s.Name, err)
	}
	return r, nil
}

func selected(name, filter string) bool {
	if filter == "" {
		return true
	}
	for _, f := range strings.Split(filter, ",") {
		if f != "" && strings.HasPrefix(name, f) {
			return true
		}
	}
	return false
}

func printTable(w io.Writer, rs []bench.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\twall\tx bound\tfetch x bound\tfetch x floor\tx sequential\tx full build\trequests\tmax/source\tretries\t429s\tearly\tCPU\tnodes\tnodes/CPU s\tpeak RSS\tpeak heap\tRSS/JSON\t")
	for _, r := range rs {
		ratio := func(f float64) string {
			if f == 0 {
				return "-"
			}
			return fmt.Sprintf("%.3f", f)
		}
		rssJSON := "-"
		if r.JSONBytes > 0 && r.PeakRSS > 0 {
			rssJSON = fmt.Sprintf("%.2f", float64(r.PeakRSS)/float64(r.JSONBytes))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%d\t%.0f\t%s\t%s\t%s\t\n",
			r.Name, r.Wall.Round(time.Millisecond), ratio(r.RatioBound), ratio(r.FetchRatioBound), ratio(r.FetchRatioFloor),
			ratio(r.RatioSeq), ratio(r.RatioFull),
			r.Requests, r.MaxRequestsPerSource, r.Retries, r.Throttled, r.Early, r.CPU.Round(time.Millisecond),
			r.Nodes, r.NodesPerCPU, mib(r.PeakRSS), mib(r.PeakHeap), rssJSON)
	}
	tw.Flush()
}

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
