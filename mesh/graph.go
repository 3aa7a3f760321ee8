package mesh

import (
	"iter"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/tidwall/gjson"
)

// Graph is the merged, read-only content graph of a build: nodes in ID order, with refs and backrefs
// resolved. It is safe for concurrent reads.
type Graph struct {
	nodes  []*Node            // sorted by ID
	byType map[string][]*Node // each sorted by ID
	types  []string

	// A graph that did not change since the last build is loaded from the snapshot on first use.
	once     sync.Once
	load     func() ([]*Node, error)
	loadDisk func() (*diskGraph, error)
	err      error

	// A disk-backed graph keeps its nodes in a scratch database (Options.Graph).
	disk    *diskGraph
	errMu   sync.Mutex
	readErr error
}

// lazyGraph returns a graph whose nodes are loaded (and indexed) on first use.
func lazyGraph(load func() ([]*Node, error)) *Graph {
	return &Graph{load: load}
}

// newDiskGraph wraps a disk-backed graph. Close releases its database; should a caller forget to,
// the database is closed (and removed) once the Graph is garbage.
func newDiskGraph(dg *diskGraph) *Graph {
	g := &Graph{disk: dg}
	runtime.AddCleanup(g, func(kv *diskKV) { kv.close() }, dg.kv)
	return g
}

// ensure loads a lazy graph.
func (g *Graph) ensure() {
	if g.loadDisk != nil {
		g.once.Do(func() {
			g.disk, g.err = g.loadDisk()
			g.loadDisk = nil
			if g.disk != nil {
				runtime.AddCleanup(g, func(kv *diskKV) { kv.close() }, g.disk.kv)
			}
			if g.err != nil {
				g.index()
			}
		})
		return
	}
	if g.load == nil {
		return
	}
	g.once.Do(func() {
		nodes, err := g.load()
		g.load = nil
		if err != nil {
			g.err = err
			nodes = nil
		}
		g.nodes = nodes
		g.index()
		g.fillBackrefs()
	})
}

// Err reports a failure to load a graph that was reused unchanged from the last build's snapshot
// (the graph is then empty), or to read a disk-backed graph's database (iteration then stops early).
// It is nil for every graph in memory that a build computed.
func (g *Graph) Err() error {
	g.ensure()
	if g.err != nil {
		return g.err
	}
	g.errMu.Lock()
	defer g.errMu.Unlock()
	return g.readErr
}

// fail records a disk read error for Err.
func (g *Graph) fail(err error) {
	if err == nil {
		return
	}
	g.errMu.Lock()
	if g.readErr == nil {
		g.readErr = err
	}
	g.errMu.Unlock()
}

// OnDisk reports whether the graph's nodes live in a scratch database rather than in memory.
func (g *Graph) OnDisk() bool {
	g.ensure()
	return g.disk != nil
}

// Close releases a disk-backed graph's database (its directory is removed); the graph must not be
// used afterwards. It is a no-op for a graph in memory.
func (g *Graph) Close() error {
	if g == nil {
		return nil
	}
	g.once.Do(func() { g.load, g.loadDisk = nil, nil }) // never load a graph only to close it
	if g.disk != nil {
		return g.disk.kv.close()
	}
	return nil
}

// forEach calls fn for every node in ID order (backrefs filled), from memory or from disk.
func (g *Graph) forEach(fn func(*Node) (bool, error)) error {
	g.ensure()
	if g.disk != nil {
		err := g.disk.each(fn)
		runtime.KeepAlive(g) // the cleanup that closes a forgotten graph must wait for the walk
		return err
	}
	for _, n := range g.nodes {
		if cont, err := fn(n); err != nil || !cont {
			return err
		}
	}
	return nil
}

// forEachOfType calls fn for the nodes of one type in ID order.
func (g *Graph) forEachOfType(typ string, fn func(*Node) (bool, error)) error {
	g.ensure()
	if g.disk != nil {
		err := g.disk.eachOfType(typ, fn)
		runtime.KeepAlive(g)
		return err
	}
	for _, n := range g.byType[typ] {
		if cont, err := fn(n); err != nil || !cont {
			return err
		}
	}
	return nil
}

// lookup returns the node with the given ID, or nil.
func (g *Graph) lookup(id string) *Node {
	if g.disk != nil {
		n, err := g.disk.get(id)
		g.fail(err)
		runtime.KeepAlive(g)
		return n
	}
	return g.find(id)
}

// NewGraph builds a Graph from nodes whose Fields, Refs and Digest are already set (as in a snapshot
// or a graph.json). Backrefs are recomputed from the refs. Nodes are sorted by ID; duplicates keep
// the last one.
func NewGraph(nodes []*Node) *Graph {
	last := make(map[string]int, len(nodes))
	for i, n := range nodes {
		last[n.ID] = i
	}
	g := &Graph{nodes: make([]*Node, 0, len(last))}
	for i, n := range nodes {
		if last[n.ID] == i {
			g.nodes = append(g.nodes, n)
		}
	}
	g.index()
	g.fillBackrefs()
	return g
}

// index sorts the nodes by ID (unique) and builds the type index. Lookups by ID are binary searches
// over the sorted nodes: no map of every ID is kept.
func (g *Graph) index() {
	slices.SortFunc(g.nodes, func(a, b *Node) int { return strings.Compare(a.ID, b.ID) })
	g.byType = make(map[string][]*Node)
	for _, n := range g.nodes {
		g.byType[n.Type] = append(g.byType[n.Type], n)
	}
	g.types = make([]string, 0, len(g.byType))
	for t := range g.byType {
		g.types = append(g.types, t)
	}
	slices.Sort(g.types)
}

// indexOf returns the position of the node with the given ID.
func (g *Graph) indexOf(id string) (int, bool) {
	return slices.BinarySearchFunc(g.nodes, id, func(n *Node, id string) int { return strings.Compare(n.ID, id) })
}

// find returns the node with the given ID, or nil.
func (g *Graph) find(id string) *Node {
	if i, ok := g.indexOf(id); ok {
		return g.nodes[i]
	}
	return nil
}

// fillBackrefs sets every node's Backrefs from all refs, ordered by referring ID then field.
func (g *Graph) fillBackrefs() {
	counts := make([]int32, len(g.nodes))
	for _, n := range g.nodes {
		n.Backrefs = nil
		for _, r := range n.Refs {
			if i, ok := g.indexOf(r.To); ok {
				counts[i]++
			}
		}
	}
	for i, c := range counts {
		if c > 0 {
			g.nodes[i].Backrefs = make([]Backref, 0, c)
		}
	}
	// g.nodes is in ID order, so appending while walking it keeps backrefs sorted by From.
	for _, n := range g.nodes {
		for _, r := range n.Refs {
			if i, ok := g.indexOf(r.To); ok {
				t := g.nodes[i]
				t.Backrefs = append(t.Backrefs, Backref{Field: r.Field, From: n.ID})
			}
		}
	}
}

// Len is the number of nodes.
func (g *Graph) Len() int {
	g.ensure()
	if g.disk != nil {
		return g.disk.total
	}
	return len(g.nodes)
}

// Get returns the node with the given ID.
func (g *Graph) Get(id string) (*Node, bool) {
	g.ensure()
	n := g.lookup(id)
	return n, n != nil
}

// TypeOf returns the type of the node with the given ID. On a disk-backed graph it reads a small
// index record, not the node: use it rather than Get when only the type is needed (the type of a
// reference's target, say).
func (g *Graph) TypeOf(id string) (string, bool) {
	g.ensure()
	if g.disk != nil {
		typ, ok, err := g.disk.typeOf(id)
		g.fail(err)
		runtime.KeepAlive(g)
		return typ, ok
	}
	if n := g.find(id); n != nil {
		return n.Type, true
	}
	return "", false
}

// Nodes iterates over all nodes in ID order. A disk-backed graph reads them as it goes (each is a
// new Node); a read error stops the iteration and is reported by Err.
func (g *Graph) Nodes() iter.Seq[*Node] {
	g.ensure()
	return func(yield func(*Node) bool) {
		g.fail(g.forEach(func(n *Node) (bool, error) { return yield(n), nil }))
	}
}

// Types lists the node types present, sorted.
func (g *Graph) Types() []string {
	g.ensure()
	if g.disk != nil {
		return slices.Clone(g.disk.types)
	}
	return slices.Clone(g.types)
}

// ByType iterates over the nodes of one type in ID order. On a disk-backed graph each node is a read
// by ID; Nodes, which walks the database in order, is the faster way over many types.
func (g *Graph) ByType(typ string) iter.Seq[*Node] {
	g.ensure()
	return func(yield func(*Node) bool) {
		g.fail(g.forEachOfType(typ, func(n *Node) (bool, error) { return yield(n), nil }))
	}
}

// CountByType returns the number of nodes of each type.
func (g *Graph) CountByType() map[string]int {
	g.ensure()
	if g.disk != nil {
		m := make(map[string]int, len(g.disk.counts))
		for t, c := range g.disk.counts {
			m[t] = c
		}
		return m
	}
	m := make(map[string]int, len(g.byType))
	for t, ns := range g.byType {
		m[t] = len(ns)
	}
	return m
}

// Refs iterates over the nodes that n references through field (every field when field is empty),
// in the order of n.Refs. References to nodes missing from the graph are skipped.
func (g *Graph) Refs(n *Node, field string) iter.Seq[*Node] {
	g.ensure()
	return func(yield func(*Node) bool) {
		for _, r := range n.Refs {
			if field != "" && r.Field != field {
				continue
			}
			if t := g.lookup(r.To); t != nil && !yield(t) {
				return
			}
		}
	}
}

// Backrefs iterates over the nodes that reference n through field (every field when field is
// empty), in ID order of the referring node.
func (g *Graph) Backrefs(n *Node, field string) iter.Seq[*Node] {
	g.ensure()
	return func(yield func(*Node) bool) {
		for _, b := range n.Backrefs {
			if field != "" && b.Field != field {
				continue
			}
			if f := g.lookup(b.From); f != nil && !yield(f) {
				return
			}
		}
	}
}

// Query evaluates a gjson path on the fields of the node with the given ID; the result does not
// exist when the node does not.
func (g *Graph) Query(id, path string) gjson.Result {
	g.ensure()
	n := g.lookup(id)
	if n == nil {
		return gjson.Result{}
	}
	return n.Get(path)
}

// Dangling lists references whose target is not in the graph, in order of referring ID.
func (g *Graph) Dangling() []DanglingRef {
	g.ensure()
	if g.disk != nil {
		return slices.Clone(g.disk.dangling)
	}
	var out []DanglingRef
	for _, n := range g.nodes {
		for _, r := range n.Refs {
			if g.find(r.To) == nil {
				out = append(out, DanglingRef{From: n.ID, Field: r.Field, To: r.To})
			}
		}
	}
	return out
}

// DanglingRef is a reference whose target is missing.
type DanglingRef struct {
	From  string `json:"from"`
	Field string `json:"field"`
	To    string `json:"to"`
}
