package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"time"

	"github.com/contentmesh/contentmesh/internal/cachestore"
	"github.com/contentmesh/contentmesh/internal/config"
	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/schema"
)

// cmdPull writes the output folder from the latest snapshot in the config's cache, calling no
// source: for build machines and functions that only need the graph. Only out, cache and links are
// read from the config; the sources' ${VAR}s need not be set. changes.json is against the graph.json
// already in the folder (all added when there is none); report.json lists the snapshot's sources and
// node counts, with no requests.
func (c *cli) cmdPull(ctx context.Context, args []string) int {
	fs := c.flags("pull")
	cfgPath := fs.String("config", "mesh.yaml", "config file: its out, cache and links (the sources' secrets need not be set)")
	out := fs.String("out", "", "output folder (default: the config's out, or .mesh)")
	quiet := fs.Bool("quiet", false, "print nothing but errors")
	if err := fs.Parse(args); err != nil {
		return parseFailed(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(c.stderr, "contentmesh pull: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	f, err := config.LoadSettings(*cfgPath, c.lookup)
	if err != nil {
		return c.fail(exitUsage, err)
	}
	outDir := *out
	if outDir == "" {
		outDir = resolveIn(f.Dir, f.Out, ".mesh")
	}
	logger := newLogger(c.stderr, false, *quiet)
	store, where, closeStore, err := openStore(f.Cache, f.Dir, c.lookup, logger)
	if err != nil {
		return c.fail(exitUsage, err)
	}
	defer closeStore()

	start := time.Now()
	snap, err := store.Load(ctx)
	if errors.Is(err, mesh.ErrNoSnapshot) {
		return c.fail(exitFailed, fmt.Errorf("%s: no snapshot yet: run contentmesh build with this cache first", where))
	}
	if err != nil {
		c.fail(exitFailed, fmt.Errorf("read the snapshot: %w", err))
		if errors.Is(err, mesh.ErrUnauthorized) || errors.Is(err, mesh.ErrForbidden) {
			fmt.Fprintln(c.stderr, "hint: the storage refused the credentials: check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) and the bucket's permissions")
		}
		return exitFailed
	}
	g, dangling, err := mesh.GraphFromSnapshotWith(ctx, snap, mesh.SnapshotGraphOptions{
		Links: f.Links, Graph: mesh.GraphMode(f.Graph), DiskThreshold: f.DiskThreshold, GraphDir: graphDirOf(f)})
	if errors.Is(err, mesh.ErrInvalidConfig) {
		return c.fail(exitUsage, fmt.Errorf("%s: %w", *cfgPath, err))
	}
	if err != nil {
		return c.fail(exitFailed, fmt.Errorf("read the snapshot: %w", err))
	}
	defer g.Close()
	b := &mesh.Build{Graph: g, Changes: changesSince(outDir, g, logger)}
	b.Report = mesh.Report{Sources: []mesh.SourceReport{}, DanglingRefs: dangling, Nodes: g.Len(), StartedAt: start.UTC()}
	for _, s := range snap.Sources {
		b.Report.Sources = append(b.Report.Sources, mesh.SourceReport{Name: s.Name, Type: s.Kind, Status: mesh.StatusOK, Nodes: s.Count})
	}
	b.Report.DurationMs = time.Since(start).Milliseconds()
	extra, err := schema.Outputs(previousSchema(outDir, logger))(b)
	if err == nil {
		err = b.WriteDir(outDir, extra...)
	}
	if err != nil {
		return c.fail(exitFailed, fmt.Errorf("write %s: %w", outDir, err))
	}
	if !*quiet {
		printDrift(c.stdout, &b.Report, logger)
		fmt.Fprintf(c.stdout, "pulled %d nodes (snapshot of %s) from %s into %s in %s: %d added, %d updated, %d deleted\n",
			b.Report.Nodes, snap.CreatedAt.UTC().Format(time.RFC3339), where, outDir, time.Since(start).Round(time.Millisecond),
			len(b.Changes.Added), len(b.Changes.Updated), len(b.Changes.Deleted))
	}
	return exitOK
}

// changesSince compares g with the graph.json in dir (every node added when there is none). Both
// are in ID order, so they are walked side by side, one node of each at a time; a graph.json out of
// order (edited by hand) is compared through a map of its digests instead.
func changesSince(dir string, g *mesh.Graph, log *slog.Logger) mesh.ChangeSet {
	cs, err := mergeChanges(dir, g)
	if errors.Is(err, errUnsorted) {
		cs, err = mapChanges(dir, g)
	}
	switch {
	case err == nil:
		return cs
	case !errors.Is(err, errNoBuild):
		log.Warn("previous graph.json unreadable; changes.json lists every node as added", "err", err)
	}
	cs = mesh.ChangeSet{Added: []string{}, Updated: []string{}, Deleted: []string{}}
	for n := range g.Nodes() {
		cs.Added = append(cs.Added, n.ID)
	}
	return cs
}

var errUnsorted = errors.New("graph.json is not in ID order")

// mergeChanges walks the old graph.json and g side by side.
func mergeChanges(dir string, g *mesh.Graph) (mesh.ChangeSet, error) {
	cs := mesh.ChangeSet{Added: []string{}, Updated: []string{}, Deleted: []string{}}
	f, err := openOutput(dir, "graph.json")
	if err != nil {
		return cs, err
	}
	defer f.Close()
	next, stop := iter.Pull(g.Nodes())
	defer stop()
	cur, more := next()
	last := ""
	err = eachGraphNode(bufio.NewReaderSize(f, 256<<10), func(old *mesh.Node) error {
		if old.ID <= last && last != "" {
			return errUnsorted
		}
		last = old.ID
		for more && cur.ID < old.ID {
			cs.Added = append(cs.Added, cur.ID)
			cur, more = next()
		}
		if more && cur.ID == old.ID {
			if cur.Digest != old.Digest {
				cs.Updated = append(cs.Updated, cur.ID)
			}
			cur, more = next()
			return nil
		}
		cs.Deleted = append(cs.Deleted, old.ID)
		return nil
	})
	if err != nil {
		return cs, err
	}
	for ; more; cur, more = next() {
		cs.Added = append(cs.Added, cur.ID)
	}
	return cs, g.Err()
}

// mapChanges compares through a map of the old graph's digests.
func mapChanges(dir string, g *mesh.Graph) (mesh.ChangeSet, error) {
	cs := mesh.ChangeSet{Added: []string{}, Updated: []string{}, Deleted: []string{}}
	prev, err := loadGraph(dir)
	if err != nil {
		return cs, err
	}
	old := map[string]string{}
	for n := range prev.Nodes() {
		old[n.ID] = n.Digest
	}
	for n := range g.Nodes() {
		d, ok := old[n.ID]
		switch {
		case !ok:
			cs.Added = append(cs.Added, n.ID)
		case d != n.Digest:
			cs.Updated = append(cs.Updated, n.ID)
		}
		delete(old, n.ID)
	}
	for id := range old {
		cs.Deleted = append(cs.Deleted, id)
	}
	slices.Sort(cs.Deleted)
	return cs, nil
}

// openStore opens the snapshot store that the config's cache names (see cachestore.Open).
func openStore(cache, dir string, lookup func(string) (string, bool), log *slog.Logger) (mesh.Store, string, func(), error) {
	return cachestore.Open(cache, dir, lookup, log)
}
