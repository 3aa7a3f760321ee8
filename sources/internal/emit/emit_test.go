package emit

import (
	"errors"
	"sync"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
)

type failing struct{ err error }

func (f failing) Upsert(mesh.Node) error { return f.err }
func (f failing) Delete(string) error    { return f.err }

func TestGuardKeepsTheFirstError(t *testing.T) {
	first := errors.New("emitter full")
	g := NewGuard(failing{first})
	if g.Err() != nil {
		t.Fatal("error before any call")
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { g.Upsert(mesh.Node{}) })
	}
	wg.Wait()
	g.Fail(errors.New("later"))
	if !errors.Is(g.Err(), first) || g.Delete("x") != first {
		t.Errorf("Err() = %v", g.Err())
	}
}
