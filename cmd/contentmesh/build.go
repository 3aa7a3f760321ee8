package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/contentmesh/contentmesh/internal/config"
	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/reporthtml"
	"github.com/contentmesh/contentmesh/mesh/schema"
)

func (c *cli) cmdBuild(ctx context.Context, args []string) int {
	fs := c.flags("build")
	cfgPath := fs.String("config", "mesh.yaml", "config file")
	out := fs.String("out", "", "output folder (default: the config's out, or .mesh)")
	full := fs.Bool("full", false, "ignore stored cursors and fetch everything")
	quiet := fs.Bool("quiet", false, "print nothing but errors")
	asJSON := fs.Bool("json", false, "print report.json on stdout (and nothing else there)")
	verbose := fs.Bool("v", false, "log every source's diagnostics")
	if err := fs.Parse(args); err != nil {
		return parseFailed(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(c.stderr, "contentmesh build: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	l, err := load(*cfgPath, c.lookup)
	if err != nil {
		return c.fail(exitUsage, err)
	}
	// Human output goes to stdout, or to stderr when stdout carries the JSON report.
	human := c.stdout
	if *asJSON {
		human = c.stderr
	}
	logs := &switchWriter{w: c.stderr}
	logger := newLogger(logs, *verbose, *quiet)
	outDir := *out
	if outDir == "" {
		outDir = l.resolve(l.file.Out, ".mesh")
	}
	store, _, closeStore, err := openStore(l.file.Cache, l.file.Dir, c.lookup, logger)
	if err != nil {
		return c.fail(exitUsage, err)
	}
	defer closeStore()
	prev := previousSchema(outDir, logger)

	var progress progressDisplay = noProgress{}
	if !*quiet {
		names := make([]sourceName, len(l.sources))
		for i, s := range l.sources {
			names[i] = sourceName{s.name, s.src.Kind()}
		}
		if c.interactive(c.stderr) && c.termWidth(c.stderr) > 0 {
			progress = newBars(c.stderr, names, logs, c.bars)
		} else {
			progress = newLines(human, names)
		}
	}
	m, err := mesh.New(mesh.Options{
		Store:         store,
		Out:           outDir,
		Concurrency:   l.file.Concurrency,
		OnError:       mesh.OnError(l.file.OnError),
		Strict:        l.file.Strict,
		Full:          *full,
		Links:         l.file.Links,
		Logger:        logger,
		Observer:      progress,
		Graph:         mesh.GraphMode(l.file.Graph),
		DiskThreshold: l.file.DiskThreshold,
		GraphDir:      graphDir(l),
		Extras:        withReportPage(schema.Outputs(prev)),
		// Every request is kept for report.html's waterfall.
		RecordRequests: true,
	})
	if err != nil {
		progress.Close()
		return c.fail(exitUsage, err)
	}
	for _, s := range l.sources {
		if err := m.Add(s.name, s.src); err != nil {
			progress.Close()
			return c.fail(exitUsage, err)
		}
	}
	start := time.Now()
	b, err := m.Build(ctx)
	progress.Close()
	defer b.Close()
	if *asJSON && b != nil {
		if werr := writeReport(c.stdout, &b.Report); werr != nil {
			logger.Error("writing the report", "err", werr)
		}
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "contentmesh: build failed: %v\n", err)
		for _, h := range hints {
			if errors.Is(err, h.err) {
				fmt.Fprintf(c.stderr, "hint: %s\n", h.text)
			}
		}
		return exitFailed
	}
	if !*quiet {
		if b.Report.SnapshotError != "" {
			fmt.Fprintf(human, "note: previous snapshot unusable (%s); fetched everything\n", b.Report.SnapshotError)
		}
		printDrift(human, &b.Report, logger)
		fmt.Fprintf(human, "built %d nodes into %s in %s: %d added, %d updated, %d deleted",
			b.Report.Nodes, outDir, time.Since(start).Round(time.Millisecond), len(b.Changes.Added), len(b.Changes.Updated), len(b.Changes.Deleted))
		if n := len(b.Report.DanglingRefs); n > 0 {
			fmt.Fprintf(human, ", %d dangling refs (see report.json)", n)
		}
		fmt.Fprintln(human)
	}
	return exitOK
}

// previousSchema reads the schema.json of the last build, for drift; nil when there is none or it is
// unreadable (then there is no drift check, and the build says why).
func previousSchema(outDir string, log *slog.Logger) *schema.Schema {
	s, err := schema.ReadFile(filepath.Join(outDir, schema.FileName))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			log.Warn("previous schema.json unreadable; no schema drift check this time", "err", err)
		}
		return nil
	}
	return s
}

// printDrift lists the fields whose type changed since the last build.
func printDrift(w io.Writer, r *mesh.Report, log *slog.Logger) {
	drift, err := schema.DriftOf(r)
	if err != nil {
		log.Error("reading schema drift", "err", err)
		return
	}
	if len(drift) == 0 {
		return
	}
	fmt.Fprintf(w, "schema drift since the last build (%d):\n", len(drift))
	for _, d := range drift {
		fmt.Fprintf(w, "  %s\n", d)
	}
}

// writeReport writes the report as report.json has it.
func writeReport(w io.Writer, r *mesh.Report) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
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

// withReportPage adds report.html (the waterfall of the build's requests) to the extra outputs.
func withReportPage(extras mesh.ExtraOutputs) mesh.ExtraOutputs {
	return func(b *mesh.Build) ([]mesh.OutputWriter, error) {
		out, err := extras(b)
		if err != nil {
			return nil, err
		}
		return append(out, reporthtml.Output(b.Report)), nil
	}
}

// graphDir is the directory for a disk-backed graph's scratch database: graphDir from the config,
// resolved against the config's directory, or "" (the system's temporary directory).
func graphDir(l *loaded) string { return graphDirOf(l.file) }

func graphDirOf(f *config.File) string {
	if f.GraphDir == "" {
		return ""
	}
	return resolveIn(f.Dir, f.GraphDir, "")
}
