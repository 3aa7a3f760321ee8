package mesh

import (
	"context"
	"errors"
)

// GraphFromSnapshot assembles the graph that the build which saved s produced, without calling any
// source: the snapshot's nodes (loaded first when s is lazy) with the link rules applied and the
// backrefs filled. It is what `contentmesh pull` uses on machines that only need the graph. It also
// returns the dangling references, as Build.Report lists them (an empty list when there are none).
//
// links must be the rules of the build that saved s: a snapshot records a fingerprint of the rules
// (and of the graph format) it was built with, and a mismatch is an error wrapping ErrInvalidConfig
// rather than a graph that differs from the build's. The graph's nodes share memory with the
// snapshot's nodes (Backrefs are filled on them, as in a build).
func GraphFromSnapshot(ctx context.Context, s *Snapshot, links []LinkRule) (*Graph, []DanglingRef, error) {
	return GraphFromSnapshotWith(ctx, s, SnapshotGraphOptions{Links: links, Graph: GraphMemory})
}

// SnapshotGraphOptions says how GraphFromSnapshotWith assembles a snapshot's graph.
type SnapshotGraphOptions struct {
	// Links are the link rules of the build that saved the snapshot.
	Links []LinkRule
	// Graph, DiskThreshold and GraphDir are as in Options: GraphAuto (the default) keeps a snapshot
	// whose estimated size reaches DiskThreshold on disk.
	Graph         GraphMode
	DiskThreshold int64
	GraphDir      string
}

// GraphFromSnapshotWith is GraphFromSnapshot with the graph in memory or on disk. A disk-backed
// graph streams the snapshot into its database (chunk by chunk from S3) and must be released with
// Graph.Close.
func GraphFromSnapshotWith(ctx context.Context, s *Snapshot, opts SnapshotGraphOptions) (*Graph, []DanglingRef, error) {
	if s == nil {
		return nil, nil, errors.New("graph from snapshot: no snapshot")
	}
	m, err := New(Options{Links: opts.Links, Graph: opts.Graph, DiskThreshold: opts.DiskThreshold, GraphDir: opts.GraphDir})
	if err != nil {
		return nil, nil, err
	}
	if s.Fingerprint != m.fingerprint() {
		return nil, nil, &ConfigError{Where: "links", Msg: "the snapshot was built with other link rules (or by another graph version): use the config of the build that saved it"}
	}
	if m.useDisk(s) {
		a, err := m.diskAssemblyOf(ctx, s)
		if err != nil {
			return nil, nil, err
		}
		dangling := a.dangling
		if dangling == nil {
			dangling = []DanglingRef{}
		}
		return newDiskGraph(a.graph), dangling, nil
	}
	if err := s.ensureNodes(ctx); err != nil {
		return nil, nil, err
	}
	var all []*Node
	for _, src := range s.Sources {
		all = append(all, src.Nodes...)
	}
	g, _, dangling, err := m.assemble(all)
	if err != nil {
		return nil, nil, err
	}
	if dangling == nil {
		dangling = []DanglingRef{}
	}
	return g, dangling, nil
}
