package mesh

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
)

// BuildSources is Build for a caller that knows which sources changed (a webhook names its
// provider): only the named sources fetch, incrementally from their stored cursors, and every other
// source keeps its nodes and cursor from the last snapshot, exactly as if it had answered an empty
// delta. Link rules, backrefs, the change set, the output folder and the snapshot are computed over
// the whole graph, as Build does.
//
// A source that has nothing to keep fetches anyway, so the graph never loses a source: when there is
// no Store, no snapshot yet, the snapshot does not hold that source (or holds it under another
// kind), or the snapshot cannot be read (Build then starts over without it). Options.Full makes the
// named sources fetch everything; the others still keep their snapshot and cursor.
//
// With no names BuildSources is Build. A name that no Add registered is an error wrapping
// ErrInvalidConfig, returned before any I/O.
func (m *Mesh) BuildSources(ctx context.Context, names ...string) (*Build, error) {
	if len(names) == 0 {
		return m.Build(ctx)
	}
	want := make(map[string]bool, len(names))
	for _, n := range names {
		if !slices.ContainsFunc(m.sources, func(s namedSource) bool { return s.name == n }) {
			return nil, &ConfigError{Where: fmt.Sprintf("source %q", n), Msg: "no such source in the mesh"}
		}
		want[n] = true
	}
	if m.opts.Store == nil {
		return m.Build(ctx) // nothing to keep: every source fetches
	}
	kept := &keptState{}
	m2 := *m
	m2.opts.Store = &keepStore{Store: m.opts.Store, kept: kept}
	m2.sources = make([]namedSource, len(m.sources))
	for i, s := range m.sources {
		if want[s.name] {
			m2.sources[i] = s
			continue
		}
		m2.sources[i] = namedSource{name: s.name, src: &keptSource{name: s.name, src: s.src, kept: kept}}
	}
	return m2.Build(ctx)
}

// keptState is what the last snapshot loaded in this build attempt holds, per source: the kind and
// the cursor, which a kept source hands back unchanged.
type keptState struct {
	mu      sync.Mutex
	sources map[string]keptSourceState // nil: no usable snapshot
}

type keptSourceState struct {
	kind   string
	cursor json.RawMessage
}

func (k *keptState) set(s *Snapshot) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s == nil {
		k.sources = nil
		return
	}
	k.sources = make(map[string]keptSourceState, len(s.Sources))
	for _, src := range s.Sources {
		k.sources[src.Name] = keptSourceState{kind: src.Kind, cursor: src.Cursor}
	}
}

func (k *keptState) get(name string) (keptSourceState, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	st, ok := k.sources[name]
	return st, ok
}

// keepStore records what each Load returns, and forgets it when the snapshot's nodes fail to load
// (the engine then rebuilds without the snapshot, and the kept sources must fetch).
type keepStore struct {
	Store
	kept *keptState
}

func (k *keepStore) Load(ctx context.Context) (*Snapshot, error) {
	s, err := k.Store.Load(ctx)
	if err != nil {
		k.kept.set(nil)
		return s, err
	}
	k.kept.set(s)
	if s != nil && s.Load != nil {
		load := s.Load
		s.Load = func(ctx context.Context) error {
			if err := load(ctx); err != nil {
				k.kept.set(nil)
				return err
			}
			return nil
		}
	}
	if s != nil && s.Stream != nil {
		stream := s.Stream
		s.Stream = func(ctx context.Context, each func(string, *Node) error) error {
			if err := stream(ctx, each); err != nil {
				k.kept.set(nil)
				return err
			}
			return nil
		}
	}
	return s, nil
}

// keptSource stands in for a source that BuildSources does not fetch: it answers an empty delta
// with the stored cursor, or fetches for real when the snapshot has nothing to keep.
type keptSource struct {
	name string
	src  Source
	kept *keptState
}

func (k *keptSource) Kind() string { return k.src.Kind() }

func (k *keptSource) Fetch(ctx context.Context, req FetchRequest, out Emitter) (FetchResult, error) {
	st, ok := k.kept.get(k.name)
	if !ok || st.kind != k.src.Kind() {
		return k.src.Fetch(ctx, req, out)
	}
	return FetchResult{Delta: true, Cursor: st.cursor}, nil
}

// SourceNames returns the instance names of the sources registered with Add, in the order they
// were added.
func (m *Mesh) SourceNames() []string {
	names := make([]string, len(m.sources))
	for i, s := range m.sources {
		names[i] = s.name
	}
	return names
}
