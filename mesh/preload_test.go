package mesh_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
)

// streamSignal is a DirStore whose snapshots tell when their nodes start being streamed. It is not
// a *mesh.DirStore, so builds read its nodes once a source emits.
type streamSignal struct {
	*mesh.DirStore
	mu        sync.Mutex
	streaming chan struct{}
	streams   int
}

func (s *streamSignal) Load(ctx context.Context) (*mesh.Snapshot, error) {
	snap, err := s.DirStore.Load(ctx)
	if err != nil || snap.Stream == nil {
		return snap, err
	}
	inner := snap.Stream
	snap.Stream = func(ctx context.Context, each func(string, *mesh.Node) error) error {
		s.mu.Lock()
		if s.streams++; s.streams == 1 {
			close(s.streaming)
		}
		s.mu.Unlock()
		return inner(ctx, each)
	}
	return snap, nil
}

// waitForStream is a source that, once it has emitted, waits until the last snapshot's nodes are
// being read before it returns: the read must overlap the fetch.
type waitForStream struct {
	mesh.Source
	store *streamSignal
}

type countingEmitter struct {
	mesh.Emitter
	n int
}

func (e *countingEmitter) Upsert(n mesh.Node) error { e.n++; return e.Emitter.Upsert(n) }
func (e *countingEmitter) Delete(id string) error   { e.n++; return e.Emitter.Delete(id) }

func (w *waitForStream) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	ce := &countingEmitter{Emitter: out}
	res, err := w.Source.Fetch(ctx, req, ce)
	if err != nil || ce.n == 0 {
		return res, err
	}
	select {
	case <-w.store.streaming:
		return res, nil
	case <-time.After(10 * time.Second): // a deadlock guard, not a timing assertion
		return res, errors.New("the last snapshot's nodes were not read while the source fetched")
	}
}

// TestSnapshotReadDuringFetch: a rebuild in memory reads the last snapshot's nodes while its sources
// fetch, once one emits; a rebuild where nothing changed reads none.
func TestSnapshotReadDuringFetch(t *testing.T) {
	dir, _ := mesh.NewDirStore(t.TempDir())
	closed := make(chan struct{})
	close(closed)
	store := &streamSignal{DirStore: dir, streaming: closed, streams: 1} // the first build has no snapshot to wait for
	src := mustMem(t, rec("post", "1", "Post", `{"v":1}`), rec("post", "2", "Post", `{"v":1}`))
	m := newMesh(t, mesh.Options{Store: store, Graph: mesh.GraphMemory}, map[string]mesh.Source{"s": &waitForStream{Source: src, store: store}})
	build := func() *mesh.Build {
		t.Helper()
		b, err := m.Build(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	build()
	store.streaming = make(chan struct{})
	store.streams = 0

	b := build() // nothing changed: no node is read
	if !b.Unchanged || store.streams != 0 {
		t.Fatalf("unchanged build: unchanged %v, %d node reads", b.Unchanged, store.streams)
	}

	src.Put(rec("post", "3", "Post", `{"v":1}`))
	b = build() // a delta: the stored nodes are read during the fetch and merged
	if store.streams != 1 || b.Graph.Len() != 3 || len(b.Changes.Added) != 1 {
		t.Fatalf("%d node reads, %d nodes, changes %+v", store.streams, b.Graph.Len(), b.Changes)
	}
	for _, id := range []string{"s/post/1", "s/post/2", "s/post/3"} {
		if _, ok := b.Graph.Get(id); !ok {
			t.Errorf("%s missing", id)
		}
	}
}
