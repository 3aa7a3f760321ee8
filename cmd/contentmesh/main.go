// Command contentmesh pulls content from many APIs into one content graph, written as plain files.
//
// Usage:
//
//	contentmesh build    [-config mesh.yaml] [-out DIR] [-full] [-quiet] [-v]
//	contentmesh validate [-config mesh.yaml]
//
// Exit codes: 0 built, 1 a source failed or bad input, 2 bad usage or config.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/contentmesh/contentmesh/internal/config"
	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources"
)

// Exit codes (DESIGN section 7).
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	os.Exit(code)
}

const usage = `contentmesh pulls content from many APIs into one content graph.

Usage:
  contentmesh build    [-config mesh.yaml] [-out DIR] [-full] [-quiet] [-v]
  contentmesh validate [-config mesh.yaml]

Run "contentmesh <command> -h" for a command's flags.
`

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "build":
		return cmdBuild(ctx, rest, stdout, stderr, lookup)
	case "validate":
		return cmdValidate(rest, stdout, stderr, lookup)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "contentmesh: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
}

// loaded is a config with its sources opened.
type loaded struct {
	file    *config.File
	path    string
	sources []namedSource
}

type namedSource struct {
	name string
	src  mesh.Source
}

// load reads the config and makes every source (validation only, no I/O).
func load(path string, lookup func(string) (string, bool)) (*loaded, error) {
	f, err := config.Load(path, lookup)
	if err != nil {
		return nil, err
	}
	l := &loaded{file: f, path: path}
	env := sources.Env{File: path, Dir: f.Dir}
	for _, s := range f.Sources {
		src, err := sources.Open(env, s)
		if err != nil {
			return nil, err
		}
		l.sources = append(l.sources, namedSource{s.Name, src})
	}
	// Link rules are checked by mesh.New; check them here too so validate reports them.
	if _, err := mesh.New(mesh.Options{Links: f.Links}); err != nil {
		return nil, err
	}
	return l, nil
}

// resolve makes a config path absolute against the config file's directory.
func (l *loaded) resolve(p, def string) string {
	if p == "" {
		p = def
	}
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(l.file.Dir, p)
}

func cmdValidate(args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "mesh.yaml", "config file")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	l, err := load(*cfgPath, lookup)
	if err != nil {
		fmt.Fprintf(stderr, "contentmesh: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "%s: ok, %d sources, %d link rules\n", *cfgPath, len(l.sources), len(l.file.Links))
	return exitOK
}

func cmdBuild(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "mesh.yaml", "config file")
	out := fs.String("out", "", "output folder (default: the config's out, or .mesh)")
	full := fs.Bool("full", false, "ignore stored cursors and fetch everything")
	quiet := fs.Bool("quiet", false, "print nothing but errors")
	verbose := fs.Bool("v", false, "log every source's diagnostics")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "contentmesh build: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	l, err := load(*cfgPath, lookup)
	if err != nil {
		fmt.Fprintf(stderr, "contentmesh: %v\n", err)
		return exitUsage
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	if *quiet {
		level = slog.LevelError
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	outDir := *out
	if outDir == "" {
		outDir = l.resolve(l.file.Out, ".mesh")
	}
	store, err := mesh.NewDirStore(l.resolve(l.file.Cache, ".mesh-cache"))
	if err != nil {
		fmt.Fprintf(stderr, "contentmesh: %v\n", err)
		return exitUsage
	}
	m, err := mesh.New(mesh.Options{
		Store:       store,
		Out:         outDir,
		Concurrency: l.file.Concurrency,
		OnError:     mesh.OnError(l.file.OnError),
		Strict:      l.file.Strict,
		Full:        *full,
		Links:       l.file.Links,
		Logger:      logger,
	})
	if err != nil {
		fmt.Fprintf(stderr, "contentmesh: %v\n", err)
		return exitUsage
	}
	for _, s := range l.sources {
		if err := m.Add(s.name, s.src); err != nil {
			fmt.Fprintf(stderr, "contentmesh: %v\n", err)
			return exitUsage
		}
	}
	start := time.Now()
	b, err := m.Build(ctx)
	if !*quiet && b != nil {
		printSummary(stdout, b.Report)
	}
	if err != nil {
		fmt.Fprintf(stderr, "contentmesh: build failed: %v\n", err)
		for _, h := range hints {
			if errors.Is(err, h.err) {
				fmt.Fprintf(stderr, "hint: %s\n", h.text)
			}
		}
		return exitFailed
	}
	if !*quiet {
		fmt.Fprintf(stdout, "built %d nodes into %s in %s: %d added, %d updated, %d deleted",
			b.Graph.Len(), outDir, time.Since(start).Round(time.Millisecond), len(b.Changes.Added), len(b.Changes.Updated), len(b.Changes.Deleted))
		if n := len(b.Report.DanglingRefs); n > 0 {
			fmt.Fprintf(stdout, ", %d dangling refs (see report.json)", n)
		}
		fmt.Fprintln(stdout)
	}
	return exitOK
}

// hints explain the errors users meet most, by sentinel.
var hints = []struct {
	err  error
	text string
}{
	{mesh.ErrUnauthorized, "the provider rejected the credentials (401): check the token or key in the source's config and the environment variable it comes from"},
	{mesh.ErrForbidden, "the credentials lack a permission (403): give the token read access to what the source lists"},
	{mesh.ErrNotFound, "something named in the config does not exist (404): check the space, project, store or collection ids and the baseURL"},
	{mesh.ErrRateLimited, "the provider kept throttling: lower the source's concurrency or requestsPerSecond, or raise retries and maxRetryAfter"},
	{mesh.ErrDanglingRefs, "strict is on and references point at missing nodes: see danglingRefs in report.json of a non-strict build"},
	{context.Canceled, "the build was interrupted; outputs and snapshot are unchanged"},
}

// printSummary writes one line per source.
func printSummary(w io.Writer, r mesh.Report) {
	width := 4
	for _, s := range r.Sources {
		width = max(width, len(s.Name))
	}
	for _, s := range r.Sources {
		line := fmt.Sprintf("%-*s  %-11s %-6s %7d nodes %5d requests", width, s.Name, s.Type, s.Status, s.Nodes, s.Requests)
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
		fmt.Fprintln(w, line)
	}
	if r.SnapshotError != "" {
		fmt.Fprintf(w, "note: previous snapshot unusable (%s); fetched everything\n", r.SnapshotError)
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
