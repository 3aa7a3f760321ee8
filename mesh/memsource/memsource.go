// Package memsource is an in-memory mesh.Source: the reference implementation of the Source contract,
// used to prove the conformance suite and in examples and tests that need no network.
//
// A Source holds records (namespace, native id, type, fields). Fetch emits them all, or, given the
// cursor of an earlier Fetch, only what changed since then (a delta with upserts and deletes), so it
// also exercises the engine's incremental path.
package memsource

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
)

// Record is one item held by the source.
type Record struct {
	Namespace string
	NativeID  string
	Type      string
	Locale    string
	UpdatedAt time.Time
	// Fields is a JSON object. References are {"$ref": "<node id>"} with full node IDs (the source's
	// instance name first), as every adapter writes them.
	Fields json.RawMessage
}

// Source is an in-memory mesh.Source. It is safe for concurrent use.
type Source struct {
	mu      sync.Mutex
	version int64
	records map[string]entry // key namespace/nativeId
	deleted map[string]int64 // key -> version when deleted
}

type entry struct {
	rec     Record
	version int64
}

var _ mesh.Source = (*Source)(nil)

// New returns a Source holding records.
func New(records ...Record) (*Source, error) {
	s := &Source{records: map[string]entry{}, deleted: map[string]int64{}}
	for _, r := range records {
		if err := s.Put(r); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Kind implements mesh.Source.
func (s *Source) Kind() string { return "memory" }

// Put adds or replaces a record.
func (s *Source) Put(r Record) error {
	if r.Namespace == "" || r.NativeID == "" || r.Type == "" {
		return fmt.Errorf("memsource: record needs namespace, native id and type: %+v", r)
	}
	if len(r.Fields) == 0 {
		r.Fields = json.RawMessage("{}")
	}
	if !json.Valid(r.Fields) {
		return fmt.Errorf("memsource: record %s/%s: fields are not JSON", r.Namespace, r.NativeID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version++
	k := r.Namespace + "/" + r.NativeID + "@" + r.Locale
	s.records[k] = entry{rec: r, version: s.version}
	delete(s.deleted, k)
	return nil
}

// Remove deletes a record.
func (s *Source) Remove(namespace, nativeID, locale string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version++
	k := namespace + "/" + nativeID + "@" + locale
	if _, ok := s.records[k]; ok {
		delete(s.records, k)
		s.deleted[k] = s.version
	}
}

// Fetch implements mesh.Source. The cursor is the source's version number at the last fetch.
func (s *Source) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	var since int64 = -1
	if len(req.Cursor) > 0 {
		v, err := strconv.ParseInt(string(req.Cursor), 10, 64)
		if err != nil {
			return mesh.FetchResult{}, fmt.Errorf("memsource: bad cursor %q: %w", req.Cursor, err)
		}
		since = v
	}
	s.mu.Lock()
	version := s.version
	keys := make([]string, 0, len(s.records))
	for k := range s.records {
		keys = append(keys, k)
	}
	recs := make(map[string]entry, len(s.records))
	for k, e := range s.records {
		recs[k] = e
	}
	var deletes []Record
	for k, v := range s.deleted {
		if since >= 0 && v > since {
			e := Record{}
			e.Namespace, e.NativeID, e.Locale = splitKey(k)
			deletes = append(deletes, e)
		}
	}
	s.mu.Unlock()
	slices.Sort(keys)
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return mesh.FetchResult{}, err
		}
		e := recs[k]
		if since >= 0 && e.version <= since {
			continue
		}
		r := e.rec
		n := mesh.Node{
			ID:        mesh.LocalizedNodeID(req.Source, r.Namespace, r.NativeID, r.Locale),
			Type:      r.Type,
			NativeID:  r.NativeID,
			Locale:    r.Locale,
			UpdatedAt: r.UpdatedAt,
			Fields:    r.Fields,
		}
		if err := out.Upsert(n); err != nil {
			return mesh.FetchResult{}, err
		}
	}
	for _, d := range deletes {
		if err := out.Delete(mesh.LocalizedNodeID(req.Source, d.Namespace, d.NativeID, d.Locale)); err != nil {
			return mesh.FetchResult{}, err
		}
	}
	return mesh.FetchResult{Delta: since >= 0, Cursor: json.RawMessage(strconv.FormatInt(version, 10))}, nil
}

func splitKey(k string) (ns, id, locale string) {
	at := len(k)
	for i := len(k) - 1; i >= 0; i-- {
		if k[i] == '@' {
			at = i
			break
		}
	}
	locale = k[min(at+1, len(k)):]
	rest := k[:at]
	for i := 0; i < len(rest); i++ {
		if rest[i] == '/' {
			return rest[:i], rest[i+1:], locale
		}
	}
	return rest, "", locale
}
