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
	if s == nil {
		return nil, nil, errors.New("graph from snapshot: no snapshot")
	}
	m, err := New(Options{Links: links})
	if err != nil {
		return nil, nil, err
	}
	if s.Fingerprint != m.fingerprint() {
		return nil, nil, &ConfigError{Where: "links", Msg: "the snapshot was built with other link rules (or by another graph version): use the config of the build that saved it"}
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
