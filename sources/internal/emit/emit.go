// Package emit holds what adapters share around the Emitter of one Fetch.
package emit

import (
	"sync"

	"github.com/contentmesh/contentmesh/mesh"
)

// Guard wraps the Emitter of one Fetch and remembers the first error, so that Fetch can return the
// Emitter's error unchanged after pagination helpers have wrapped it (the Source contract), whichever
// of several concurrent page callbacks met it. It is safe for concurrent use.
type Guard struct {
	out mesh.Emitter
	mu  sync.Mutex
	err error
}

// NewGuard wraps out.
func NewGuard(out mesh.Emitter) *Guard { return &Guard{out: out} }

// Fail records err as the first error, unless one was recorded before, and returns it.
func (g *Guard) Fail(err error) error {
	g.mu.Lock()
	if g.err == nil {
		g.err = err
	}
	g.mu.Unlock()
	return err
}

// Upsert emits n.
func (g *Guard) Upsert(n mesh.Node) error {
	if err := g.out.Upsert(n); err != nil {
		return g.Fail(err)
	}
	return nil
}

// Delete emits a deletion.
func (g *Guard) Delete(id string) error {
	if err := g.out.Delete(id); err != nil {
		return g.Fail(err)
	}
	return nil
}

// Err returns the first error recorded, or nil.
func (g *Guard) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}
