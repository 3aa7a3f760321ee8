package contentful

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/tidwall/gjson"
	"golang.org/x/sync/errgroup"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/internal/normalize"
)

// errFullSync stops a delta when the deletions can no longer be followed (their token was refused):
// the fetch starts over as a full one.
var errFullSync = errors.New("the deletions' sync token was refused")

// chains are the sync chains of a space: deletions, assets, and one per content type read.
func (s *Source) chains(m *mapper) []chain {
	if s.singleChain {
		// One chain for everything. Content type changes are not tracked: a benchmark baseline.
		return []chain{{key: syncAll, typ: syncAll}}
	}
	out := make([]chain, 0, len(m.typeIDs)+2)
	out = append(out, chain{key: syncDeletion, typ: syncDeletion}, chain{key: syncAsset, typ: syncAsset})
	for _, id := range m.typeIDs {
		out = append(out, chain{key: syncEntry + ":" + id, typ: syncEntry, ct: id, schema: m.types[id].schema})
	}
	return out
}

// sync reads the space through the Sync API: a full set from initial syncs when there is no usable
// cursor, else a delta from the cursor's tokens.
func (s *Source) sync(ctx context.Context, req mesh.FetchRequest, log *slog.Logger, m *mapper, em *guard) (mesh.FetchResult, error) {
	prev := s.readCursor(req, m, log)
	chains := s.chains(m)
	limit := syncLimit(req)
	delta := prev != nil
	r := newRun(m, em)
	states, err := s.runChains(ctx, log, chains, prev, limit, r)
	if errors.Is(err, errFullSync) && em.failed() == nil && ctx.Err() == nil {
		log.Warn("contentful: the sync token of the deletions was refused, fetching everything", "err", err)
		full := newRun(m, em)
		if states, err = s.runChains(ctx, log, chains, nil, limit, full); err != nil {
			return mesh.FetchResult{}, err
		}
		// What the abandoned delta emitted and the full fetch did not is not part of the full set.
		for _, k := range sortedKeys(r.upserted) {
			if _, ok := full.upserted[k]; !ok {
				for _, id := range m.nodeIDs(k.ns, k.id) {
					if err := em.Delete(id); err != nil {
						return mesh.FetchResult{}, err
					}
				}
			}
		}
		r, delta = full, false
	}
	if err != nil {
		return mesh.FetchResult{}, err
	}
	if err := r.applyDeletions(); err != nil {
		return mesh.FetchResult{}, err
	}
	cur, err := json.Marshal(cursor{V: 1, Config: s.fingerprint(), Locales: m.localeFP, Chains: states})
	if err != nil {
		return mesh.FetchResult{}, fmt.Errorf("encode cursor: %w", err)
	}
	return mesh.FetchResult{Delta: delta, Cursor: cur}, nil
}

// runChains walks every chain concurrently (at most the client's concurrency at once), each from its
// token in prev (when its content type's fields did not change) or from an initial sync, and returns
// the chains' new tokens.
func (s *Source) runChains(ctx context.Context, log *slog.Logger, chains []chain, prev *cursor, limit int, r *run) (map[string]chainState, error) {
	var mu sync.Mutex
	states := make(map[string]chainState, len(chains))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.client.Options().Concurrency)
	for _, c := range chains {
		token := ""
		if prev != nil {
			if st, ok := prev.Chains[c.key]; ok && st.Schema == c.schema {
				token = st.Token
			}
		}
		g.Go(func() error {
			tok, err := s.runChain(gctx, log, c, token, limit, r)
			if err != nil {
				return fmt.Errorf("sync %s: %w", c.key, err)
			}
			mu.Lock()
			states[c.key] = chainState{Token: tok, Schema: c.schema}
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return states, nil
}

// runChain walks one chain to its end. A chain whose token is refused starts over from an initial
// sync (an asset or entry chain carries no deletions, so its initial sync is a correct delta: every
// item upserted); the deletions' chain cannot, and asks for a full fetch. A page refused as too
// large makes the chain start over with pages of half the size: the items already emitted are not
// emitted again.
func (s *Source) runChain(ctx context.Context, log *slog.Logger, c chain, token string, limit int, r *run) (string, error) {
	seen := map[string]string{} // type and id -> sys.updatedAt of the items emitted by this chain
	for {
		pages := 0
		tok, err := s.walkPipelined(ctx, c, token, limit, &pages, func(items gjson.Result) error {
			return r.page(items, seen)
		})
		carriesDeletions := c.typ == syncDeletion || c.typ == syncAll
		switch {
		case err == nil:
			return tok, nil
		case r.em.failed() != nil || ctx.Err() != nil:
			return "", err
		case token != "" && pages == 0 && tokenRejected(err):
			if carriesDeletions {
				return "", fmt.Errorf("%w: %w", errFullSync, err)
			}
			log.Warn("contentful: sync token refused, syncing the chain again from scratch", "chain", c.key, "err", err)
			token = ""
		case tooBig(err) && limit > 1 && c.typ != syncDeletion:
			if token != "" && carriesDeletions {
				return "", fmt.Errorf("%w: %w", errFullSync, err)
			}
			limit /= 2
			log.Info("contentful: sync page too big, syncing the chain again with smaller pages", "chain", c.key, "limit", limit)
			token = ""
		default:
			return "", err
		}
	}
}

// walkPipelined is walkChain with each page handed to a worker goroutine, so that the next page is
// requested while this one is mapped: the chain's critical path is its requests, not its requests
// plus its mapping. Pages are handled in order, one at a time. The worker ends before
// walkPipelined returns; its first error stops the walk and is returned, with the page's URL.
func (s *Source) walkPipelined(ctx context.Context, c chain, token string, limit int, pages *int, each itemsFunc) (string, error) {
	type page struct {
		items gjson.Result
		url   string
	}
	queue := make(chan page, 1)
	var (
		mu      sync.Mutex
		workErr error
	)
	failed := func() error {
		mu.Lock()
		defer mu.Unlock()
		return workErr
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := range queue {
			if failed() != nil {
				continue // drain
			}
			if err := each(p.items); err != nil {
				mu.Lock()
				workErr = fmt.Errorf("%s: %w", p.url, err)
				mu.Unlock()
			}
		}
	}()
	tok, err := s.walkChain(ctx, c, token, limit, pages, func(items gjson.Result, pageURL string) error {
		if err := failed(); err != nil {
			return err
		}
		select {
		case queue <- page{items, pageURL}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(queue)
	<-done
	if werr := failed(); werr != nil {
		return "", werr
	}
	return tok, err
}

// itemKey identifies an item across locales.
type itemKey struct{ ns, id string }

// run is one pass over the chains: it emits the items and keeps what it upserted and what was
// deleted, to apply the deletions at the end.
type run struct {
	m        *mapper
	em       *guard
	mu       sync.Mutex
	upserted map[itemKey]string // -> sys.updatedAt
	deleted  map[itemKey]string // -> sys.deletedAt
}

func newRun(m *mapper, em *guard) *run {
	return &run{m: m, em: em, upserted: map[itemKey]string{}, deleted: map[itemKey]string{}}
}

// page handles the items of one sync page: entries and assets are emitted, deletions kept for the
// end. Items of other types are not content and are skipped.
func (r *run) page(items gjson.Result, seen map[string]string) error {
	var err error
	items.ForEach(func(_, item gjson.Result) bool {
		sys, fields := splitItem(item)
		switch typ := sys.Get("type").String(); typ {
		case typeDeletedEntry, typeDeletedAsset:
			var info itemInfo
			if info, err = deletion(item); err != nil {
				return false
			}
			k := itemKey{info.ns, info.id}
			r.mu.Lock()
			if at, ok := r.deleted[k]; !ok || later(info.updatedAt, at) {
				r.deleted[k] = info.updatedAt
			}
			r.mu.Unlock()
		case typeEntry, typeAsset:
			key := typ + "\x00" + sys.Get("id").String()
			if at, ok := seen[key]; ok && at == sys.Get("updatedAt").String() {
				return true // emitted before the chain started over
			}
			var info itemInfo
			if info, err = r.m.mapParts(item, sys, fields, r.em.Upsert); err != nil {
				return false
			}
			seen[key] = info.updatedAt
			r.mu.Lock()
			r.upserted[itemKey{info.ns, info.id}] = info.updatedAt
			r.mu.Unlock()
		}
		return true
	})
	return err
}

// applyDeletions deletes, in every locale, the items deleted (or unpublished) since the last build,
// unless the item was published again after its deletion (then it was upserted in this fetch with a
// later sys.updatedAt, and it stays).
func (r *run) applyDeletions() error {
	for _, k := range sortedKeys(r.deleted) {
		if up, ok := r.upserted[k]; ok && !later(r.deleted[k], up) {
			continue
		}
		for _, id := range r.m.nodeIDs(k.ns, k.id) {
			if err := r.em.Delete(id); err != nil {
				return err
			}
		}
	}
	return nil
}

// later reports whether time a is after time b. A time that cannot be read is not later.
func later(a, b string) bool {
	ta, errA := normalize.Time(a)
	tb, errB := normalize.Time(b)
	return errA == nil && (errB != nil || ta.After(tb))
}

func sortedKeys(m map[itemKey]string) []itemKey {
	out := make([]itemKey, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b itemKey) int {
		if c := strings.Compare(a.ns, b.ns); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return out
}

// fingerprint identifies the configuration that a cursor was made with.
func (s *Source) fingerprint() string {
	fb := make([]string, 0, len(s.cfg.Fallbacks))
	for k, v := range s.cfg.Fallbacks {
		fb = append(fb, k+"="+v)
	}
	slices.Sort(fb)
	ct := slices.Clone(s.cfg.ContentTypes)
	slices.Sort(ct)
	h := sha256.Sum256(fmt.Appendf(nil, "v1\x00%q\x00%q\x00%q\x00%t\x00%q\x00%q\x00%q\x00%t\x00%t",
		s.cfg.BaseURL, s.cfg.Space, s.cfg.Environment, s.cfg.Preview, []string(s.cfg.Locales), ct, fb, s.cfg.Raw, s.singleChain))
	return hex.EncodeToString(h[:8])
}

// cursor is the incremental state kept between builds.
type cursor struct {
	V int `json:"v"`
	// Config and Locales fingerprint the configuration and the space's locales: when either changed,
	// the next fetch is a full one.
	Config  string `json:"config"`
	Locales string `json:"locales"`
	// Chains maps each sync chain to its nextSyncUrl token.
	Chains map[string]chainState `json:"chains"`
}

type chainState struct {
	Token string `json:"token"`
	// Schema fingerprints the content type's fields, for Entry chains: a change makes the chain
	// start over.
	Schema string `json:"schema,omitempty"`
}

// readCursor decodes the request's cursor; nil means a full fetch.
func (s *Source) readCursor(req mesh.FetchRequest, m *mapper, log *slog.Logger) *cursor {
	if len(req.Cursor) == 0 {
		return nil
	}
	var c cursor
	if err := json.Unmarshal(req.Cursor, &c); err != nil || c.V != 1 {
		log.Warn("contentful: unreadable cursor, fetching everything", "err", err)
		return nil
	}
	switch {
	case c.Config != s.fingerprint():
		log.Info("contentful: the configuration changed since the last build, fetching everything")
		return nil
	case c.Locales != m.localeFP:
		log.Info("contentful: the space's locales changed since the last build, fetching everything")
		return nil
	}
	for _, key := range []string{syncDeletion, syncAll} {
		if st, ok := c.Chains[key]; ok && st.Token != "" {
			return &c
		}
	}
	log.Warn("contentful: the cursor has no deletion token, fetching everything")
	return nil
}
