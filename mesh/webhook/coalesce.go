package webhook

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
)

// batch is the deliveries one build answers. Its fields up to done change only under Handler.mu
// while it is the pending batch; the results are written before done is closed.
type batch struct {
	all      bool                // a route with no sources joined: build everything
	sources  map[string]struct{} // union of the routes' sources
	keys     []string            // replay keys, forgotten when the build fails
	webhooks int
	done     chan struct{}

	fetched []string // nil: all
	build   *mesh.Build
	err     error
}

// join adds an accepted delivery to the pending batch, opening one when there is none. The caller
// that opens a batch leads it: it must call lead (inline in sync mode, in a goroutine in async mode).
func (h *Handler) join(rt *Route, key string) (b *batch, lead bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false, ErrClosed
	}
	b = h.pending
	if b == nil {
		b = &batch{sources: map[string]struct{}{}, done: make(chan struct{})}
		h.pending = b
		lead = true
		h.leaders.Add(1) // under mu with the closed check, so Shutdown's Wait sees it
	}
	b.webhooks++
	b.keys = append(b.keys, key)
	if len(rt.Sources) == 0 {
		b.all = true
	}
	for _, s := range rt.Sources {
		b.sources[s] = struct{}{}
	}
	return b, lead, nil
}

// lead gathers the batch for the debounce time, waits until no other build runs, then builds. The
// batch stays pending (open to new deliveries) until the moment it starts.
func (h *Handler) lead(b *batch) {
	defer h.leaders.Done()
	if h.debounce > 0 {
		t := time.NewTimer(h.debounce)
		select {
		case <-t.C:
		case <-h.ctx.Done():
			t.Stop()
		}
	}
	for {
		h.mu.Lock()
		r := h.running
		if r == nil || h.ctx.Err() != nil {
			if h.pending == b {
				h.pending = nil // from now on deliveries open the next batch
			}
			if h.ctx.Err() == nil {
				h.running = b
			}
			h.mu.Unlock()
			break
		}
		h.mu.Unlock()
		select {
		case <-r.done:
		case <-h.ctx.Done():
		}
	}
	if h.ctx.Err() != nil {
		b.err = ErrClosed
		h.seen.forget(b.keys)
		close(b.done)
		return
	}
	h.run(b)
}

// run builds the batch, which is h.running.
func (h *Handler) run(b *batch) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			b.err = fmt.Errorf("webhook: the build panicked: %v", p)
		}
		if b.err != nil {
			h.seen.forget(b.keys) // so the providers' retries build again
			h.log.Error("webhook build failed", "webhooks", b.webhooks, "sources", b.fetched, "err", b.err)
		} else {
			h.log.Info("webhook build done", "webhooks", b.webhooks, "sources", b.fetched,
				"added", len(b.build.Changes.Added), "updated", len(b.build.Changes.Updated),
				"deleted", len(b.build.Changes.Deleted), "ms", time.Since(start).Milliseconds())
		}
		h.mu.Lock()
		h.running = nil // before done is closed, so the next leader finds the way free
		h.mu.Unlock()
		close(b.done)
	}()
	if !b.all {
		for s := range b.sources {
			b.fetched = append(b.fetched, s)
		}
		slices.Sort(b.fetched)
	}
	ctx, cancel := context.WithTimeout(h.ctx, h.maxDuration)
	defer cancel()
	h.builds.Add(1)
	b.build, b.err = h.build(ctx, b.fetched)
	if b.build != nil {
		// The answer needs the change set and the report, not the graph: release a disk-backed one.
		b.build.Close()
	}
	if b.err == nil && b.build == nil {
		b.err = fmt.Errorf("webhook: the build returned no result")
	}
	if b.err != nil && h.ctx.Err() != nil {
		b.err = fmt.Errorf("%w: %w", ErrClosed, b.err)
	}
}
