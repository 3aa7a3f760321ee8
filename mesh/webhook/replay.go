package webhook

import (
	"sync"
	"time"
)

// seenSet remembers the deliveries accepted within the replay window, at most max of them (the
// oldest are forgotten first). Entries are kept in arrival order, so expiring and evicting are
// a walk from the front.
type seenSet struct {
	mu     sync.Mutex
	window time.Duration
	max    int
	seq    uint64
	at     map[string]seenMark
	order  []seenEntry // arrival order; may hold entries already forgotten
}

type seenMark struct {
	at  time.Time
	seq uint64
}

type seenEntry struct {
	key string
	seq uint64
	at  time.Time
}

func newSeenSet(window time.Duration, max int) *seenSet {
	return &seenSet{window: window, max: max, at: map[string]seenMark{}}
}

// add records key at now and reports true, or reports false when key was accepted within the window.
func (s *seenSet) add(key string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.order) > 0 && now.Sub(s.order[0].at) >= s.window {
		s.pop()
	}
	if m, ok := s.at[key]; ok && now.Sub(m.at) < s.window {
		return false
	}
	s.seq++
	s.at[key] = seenMark{at: now, seq: s.seq}
	s.order = append(s.order, seenEntry{key: key, seq: s.seq, at: now})
	for len(s.order) > s.max {
		s.pop()
	}
	return true
}

func (s *seenSet) pop() {
	e := s.order[0]
	s.order[0] = seenEntry{}
	s.order = s.order[1:]
	if m, ok := s.at[e.key]; ok && m.seq == e.seq {
		delete(s.at, e.key)
	}
	if len(s.order) == 0 {
		s.order = nil // let the backing array go
	}
}

// forget removes keys, so that the provider's retry of a delivery whose build failed is accepted.
func (s *seenSet) forget(keys []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		delete(s.at, k)
	}
}

func (s *seenSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.at)
}
