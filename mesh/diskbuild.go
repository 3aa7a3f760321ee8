package mesh

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"
)

// GraphMode says where a build keeps its graph.
type GraphMode string

const (
	// GraphAuto keeps the graph in memory while its estimated size stays below
	// Options.DiskThreshold, and on disk beyond (the default).
	GraphAuto GraphMode = "auto"
	// GraphMemory keeps every node in memory: the fastest for graphs that fit.
	GraphMemory GraphMode = "memory"
	// GraphDisk streams nodes into a scratch database on disk: merging, link rules, backrefs, the
	// change set, the snapshot and every output are computed without holding all nodes in memory.
	GraphDisk GraphMode = "disk"
)

// DefaultDiskThreshold is the estimated graph size from which GraphAuto keeps the graph on disk:
// 1 GiB, about 750k nodes of 1 KiB or 2M nodes of 250 bytes. A graph in memory takes about its
// estimate in RSS (1M nodes of 300 bytes: 0.7 GiB), a graph on disk about 300 MiB whatever its size.
const DefaultDiskThreshold = 1 << 30

// nodeMemOverhead is what a node costs in memory besides its JSON line (the Node, its map entry and
// indexes), in the estimate compared with DiskThreshold.
const nodeMemOverhead = 250

// nodeMemEstimate is an emitted node's share of the estimate: about the length of its JSON line
// (fields, ID, native ID, type, and 150 bytes of digest and keys) plus nodeMemOverhead.
func nodeMemEstimate(n *Node) int64 {
	return int64(len(n.Fields)+len(n.ID)+len(n.NativeID)+len(n.Type)+150) + nodeMemOverhead
}

// useDisk decides the graph mode of a build from the options and the last snapshot.
func (m *Mesh) useDisk(prev *Snapshot) bool {
	switch m.opts.Graph {
	case GraphDisk:
		return true
	case GraphMemory:
		return false
	}
	return prev != nil && prev.memEstimate() >= m.opts.DiskThreshold
}

// diskRun is a disk-backed build's database and the copy of the last snapshot into it, which runs
// beside the fetch.
type diskRun struct {
	kv       *diskKV
	inGraph  map[string]bool // sources whose last nodes are copied straight into the graph
	ingested chan error
	cancel   context.CancelFunc
	result   error
	waited   bool
	counts   map[string]map[string]int // per source in inGraph: nodes per type copied
}

// startDiskRun opens the database and starts copying prev into it: the nodes of the sources in
// inGraph (those expected to answer a delta: their emits go to a namespace of their own) straight
// into the graph with their indexes, the others aside (p).
func startDiskRun(ctx context.Context, dir string, prev *Snapshot, inGraph map[string]bool) (*diskRun, error) {
	kv, err := openDiskKV(dir)
	if err != nil {
		return nil, err
	}
	ictx, cancel := context.WithCancel(ctx)
	r := &diskRun{kv: kv, inGraph: inGraph, ingested: make(chan error, 1), cancel: cancel}
	go func() {
		var err error
		r.counts, err = ingestPrev(ictx, kv, prev, inGraph)
		r.ingested <- err
	}()
	return r, nil
}

// deltaSources are the sources that will be asked for a delta (they have a cursor in prev): their
// last nodes are copied into the graph beside the fetch, so a small delta costs little to merge.
func (m *Mesh) deltaSources(prev *Snapshot) map[string]bool {
	out := map[string]bool{}
	if prev == nil || m.opts.Full {
		return out
	}
	for _, s := range m.sources {
		if ps := prev.source(s.name); ps != nil && len(ps.Cursor) > 0 && ps.Kind == s.src.Kind() {
			out[s.name] = true
		}
	}
	return out
}

// wait returns the result of copying the last snapshot.
func (r *diskRun) wait() error {
	if !r.waited {
		r.result = <-r.ingested
		r.waited = true
	}
	return r.result
}

// close stops the copy and removes the database.
func (r *diskRun) close() {
	r.cancel()
	r.wait()
	r.kv.close()
}

// ingestPrev copies the previous snapshot's nodes into the database with their final digests (q:
// for the change set): those of the sources in inGraph into the graph (n, with their indexes; the
// counts per type are returned), the others aside (p: for delta and stale sources).
func ingestPrev(ctx context.Context, kv *diskKV, prev *Snapshot, inGraph map[string]bool) (map[string]map[string]int, error) {
	counts := map[string]map[string]int{}
	if prev == nil {
		return counts, nil
	}
	w := kv.writer()
	var key, line []byte
	var linked map[string]string
	var linkedOf string
	err := prev.scan(ctx, func(source string, n *Node) error {
		if source != linkedOf {
			linkedOf = source
			linked = nil
			if ps := prev.source(source); ps != nil {
				linked = ps.Linked
			}
		}
		if inGraph[source] {
			line = appendNode(append(line[:0], 'U'), n, false)
			if err := w.set(kvKey(key, nsNode, n.ID), line); err != nil {
				return err
			}
			if err := writeIndexes(w, &key, n); err != nil {
				return err
			}
			if counts[source] == nil {
				counts[source] = map[string]int{}
			}
			counts[source][n.Type]++
		} else {
			line = appendNode(line[:0], n, false)
			if err := w.set(kvKey(key, nsPrev, n.ID), line); err != nil {
				return err
			}
		}
		d := n.Digest
		if ld, ok := linked[n.ID]; ok {
			d = ld
		}
		return w.set(kvKey(key, nsPrevHash, n.ID), []byte(d))
	})
	if derr := w.done(); err == nil {
		err = derr
	}
	return counts, err
}

// deleteIndexes removes the digest, type and backref index entries of a graph node.
func deleteIndexes(w *kvWriter, key *[]byte, n *Node) error {
	*key = kvKey(*key, nsHash, n.ID)
	if err := w.del(*key); err != nil {
		return err
	}
	*key = typeKey(*key, n.Type, n.ID)
	if err := w.del(*key); err != nil {
		return err
	}
	for i, r := range n.Refs {
		*key = backrefKey(*key, r.To, n.ID, i)
		if err := w.del(*key); err != nil {
			return err
		}
	}
	return nil
}

// diskPlan is how one source's final node set is made.
type diskPlan struct {
	name  string
	mode  int // planFull, planDelta, planKeep or planDrop
	col   *collector
	nodes int // set by the merge
	dups  int // full fetches: records emitted more than once
	// inGraph: the last nodes were copied into the graph (with counts per type), and the fetch's
	// emits are in their own namespace (e); else the last nodes are aside (p) and the emits in n.
	inGraph bool
	counts  map[string]int
}

const (
	planFull  = iota // the emitted upserts
	planDelta        // the previous nodes with the emitted upserts and deletes applied
	planKeep         // the previous nodes (a stale source, or a graph reused unchanged)
	planDrop         // none (a failed source with no previous nodes)
)

// diskAssembly is what assembling a disk-backed graph produced.
type diskAssembly struct {
	graph    *diskGraph
	linked   map[string]string // final digests of the nodes link rules may change
	dangling []DanglingRef
}

// assembleDisk merges the sources' nodes into the graph namespace (n, with the digest, type and
// backref indexes), applies link rules and finds dangling references. Every step walks the
// database in key order or batches its writes: no step holds all nodes.
func (m *Mesh) assembleDisk(ctx context.Context, kv *diskKV, plans []diskPlan) (*diskAssembly, error) {
	// The nodes arrived in any order (emits) or beside index entries (the last snapshot): one
	// compaction of the node range makes the walks that follow (merge, outputs, schema, snapshot)
	// read one sorted run instead of merging every flushed table.
	if err := kv.compactRange(ctx, nsNode); err != nil {
		return nil, fmt.Errorf("disk graph: %w", err)
	}
	dg := &diskGraph{kv: kv, counts: map[string]int{}}
	w := kv.writer()
	d := nodeDecoder{intern: map[string]string{}}
	var key, rec []byte
	// index writes the indexes of a node record ('U' + line); with copy it also writes the record.
	index := func(v []byte, copy bool) error {
		n, err := d.decode(v[1:])
		if err != nil {
			return fmt.Errorf("%w: %v", ErrCorruptSnapshot, err)
		}
		if copy {
			if err := w.set(kvKey(key, nsNode, n.ID), v); err != nil {
				return err
			}
		}
		if err := writeIndexes(w, &key, n); err != nil {
			return err
		}
		dg.counts[n.Type]++
		dg.total++
		return nil
	}
	// fromPrev writes a previous snapshot's line as a node.
	fromPrev := func(line []byte) error {
		rec = append(append(rec[:0], 'U'), line...)
		return index(rec, true)
	}
	for i := range plans {
		p := &plans[i]
		before := dg.total
		var err error
		if p.inGraph {
			err = mergeInGraph(ctx, kv, w, p, dg, index)
		} else {
			switch p.mode {
			case planFull:
				records := 0
				err = kv.scan(sourcePrefix(nsNode, p.name), func(k, v []byte) error {
					records++
					if records%4096 == 0 && ctx.Err() != nil {
						return ctx.Err()
					}
					if v[0] == 'D' {
						return w.del(k)
					}
					return index(v, false)
				})
				if p.col != nil {
					p.dups = int(p.col.emitted()) - records
				}
			case planDelta:
				err = mergeDelta(ctx, kv, w, p.name, index, fromPrev)
			case planKeep:
				// Whatever a failed fetch emitted goes; the previous nodes come back.
				if err = w.delRange(sourcePrefix(nsNode, p.name)); err == nil {
					err = w.flush()
				}
				if err == nil {
					err = kv.scan(sourcePrefix(nsPrev, p.name), func(k, v []byte) error { return fromPrev(v) })
				}
			case planDrop:
				err = w.delRange(sourcePrefix(nsNode, p.name))
			}
		}
		if err != nil {
			w.done()
			return nil, fmt.Errorf("disk graph: source %q: %w", p.name, err)
		}
		p.nodes = dg.total - before
	}
	if err := w.done(); err != nil {
		return nil, fmt.Errorf("disk graph: %w", err)
	}
	for t := range dg.counts {
		dg.types = append(dg.types, t)
	}
	slices.Sort(dg.types)

	a := &diskAssembly{graph: dg, linked: map[string]string{}}
	var linkDangling []DanglingRef
	if len(m.links) > 0 {
		var err error
		if linkDangling, err = m.applyLinksDisk(ctx, kv, a.linked); err != nil {
			return nil, err
		}
	}
	dangling, err := diskDangling(kv)
	if err != nil {
		return nil, fmt.Errorf("disk graph: %w", err)
	}
	dg.dangling = slices.Clone(dangling) // the graph's own (as Graph.Dangling), without the link rules'
	dangling = append(dangling, linkDangling...)
	slices.SortStableFunc(dangling, func(a, b DanglingRef) int {
		if c := strings.Compare(a.From, b.From); c != 0 {
			return c
		}
		return strings.Compare(a.Field, b.Field)
	})
	a.dangling = dangling
	return a, nil
}

// sourcePrefix is the key prefix of one source's nodes in a namespace keyed by node ID.
func sourcePrefix(ns byte, source string) []byte {
	return append([]byte{ns, 0}, escapeIDPart(source)+"/"...)
}

// writeIndexes writes the digest (and type), type and backref index entries of a graph node.
func writeIndexes(w *kvWriter, key *[]byte, n *Node) error {
	*key = kvKey(*key, nsHash, n.ID)
	if err := w.set(*key, hashValue(n.Digest, n.Type)); err != nil {
		return err
	}
	*key = typeKey(*key, n.Type, n.ID)
	if err := w.set(*key, nil); err != nil {
		return err
	}
	for i, r := range n.Refs {
		*key = backrefKey(*key, r.To, n.ID, i)
		if err := w.set(*key, []byte(r.Field)); err != nil {
			return err
		}
	}
	return nil
}

// mergeInGraph makes the final node set of a source whose last nodes were copied into the graph
// (with their indexes) and whose emits are in their own namespace: a delta is applied node by node
// (each replaced node's index entries removed first), a stale source keeps what is there, and a full
// fetch replaces the last nodes with what it emitted. It keeps dg's counts.
func mergeInGraph(ctx context.Context, kv *diskKV, w *kvWriter, p *diskPlan, dg *diskGraph, index func([]byte, bool) error) error {
	for t, c := range p.counts {
		dg.counts[t] += c
		dg.total += c
	}
	var key []byte
	d := nodeDecoder{intern: map[string]string{}}
	// drop removes a node of the graph with its index entries.
	drop := func(id []byte) error {
		var old *Node
		var derr error
		found, err := kv.get(kvKey(key, nsNode, string(id)), func(v []byte) { old, derr = decodeLine(&d, v) })
		if err != nil || !found {
			return err
		}
		if derr != nil {
			return derr
		}
		dg.counts[old.Type]--
		dg.total--
		if err := deleteIndexes(w, &key, old); err != nil {
			return err
		}
		return w.del(kvKey(key, nsNode, old.ID))
	}
	switch p.mode {
	case planKeep:
		return nil
	case planFull, planDrop:
		// The last nodes go (read in order, for their index entries), then the emitted ones come in.
		err := kv.scan(sourcePrefix(nsNode, p.name), func(k, v []byte) error {
			old, err := decodeLine(&d, v)
			if err != nil {
				return err
			}
			dg.counts[old.Type]--
			dg.total--
			if err := deleteIndexes(w, &key, old); err != nil {
				return err
			}
			return w.del(k)
		})
		if err != nil || p.mode == planDrop {
			return err
		}
		if err := w.flush(); err != nil {
			return err
		}
		records := 0
		err = kv.scan(sourcePrefix(nsEmitted, p.name), func(k, v []byte) error {
			if records++; records%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if v[0] == 'D' {
				return nil
			}
			return index(v, true)
		})
		if p.col != nil {
			p.dups = int(p.col.emitted()) - records
		}
		return err
	}
	// A delta over the last nodes.
	i := 0
	return kv.scan(sourcePrefix(nsEmitted, p.name), func(k, v []byte) error {
		if i++; i%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := drop(k[2:]); err != nil {
			return err
		}
		if v[0] == 'D' {
			return nil
		}
		// Written now so that a later read of this ID (none in one delta) would see it.
		return index(v, true)
	})
}

// mergeDelta walks a source's previous nodes and its emitted records side by side, both in ID
// order: an emitted upsert replaces or adds, an emitted delete removes, an untouched previous node
// is copied.
func mergeDelta(ctx context.Context, kv *diskKV, w *kvWriter, source string, index func([]byte, bool) error, fromPrev func([]byte) error) error {
	prev, err := kv.iter(sourcePrefix(nsPrev, source))
	if err != nil {
		return err
	}
	defer prev.close()
	em, err := kv.iter(sourcePrefix(nsNode, source))
	if err != nil {
		return err
	}
	defer em.close()
	haveP, haveE := prev.next(), em.next()
	for i := 0; haveP || haveE; i++ {
		if i%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		var c int
		switch {
		case !haveE:
			c = -1
		case !haveP:
			c = 1
		default:
			c = bytes.Compare(prev.key()[2:], em.key()[2:])
		}
		if c < 0 {
			if err := fromPrev(prev.value()); err != nil {
				return err
			}
			haveP = prev.next()
			continue
		}
		var err error
		if v := em.value(); v[0] == 'D' {
			err = w.del(em.key())
		} else {
			err = index(v, false)
		}
		if err != nil {
			return err
		}
		if c == 0 {
			haveP = prev.next()
		}
		haveE = em.next()
	}
	return nil
}

// applyLinksDisk applies the link rules as applyLinks does, rule by rule, with each rule's target
// index on disk. Nodes are read by walking the node namespace in order (a scan reads every block
// once; reads by ID would read one each), and a rule's lookups seek one iterator over its index. The
// emitted form of every node of a From type is kept (o) for the snapshot, and linked receives the
// final digests.
func (m *Mesh) applyLinksDisk(ctx context.Context, kv *diskKV, linked map[string]string) ([]DanglingRef, error) {
	fromTypes := map[string]bool{}
	for _, l := range m.links {
		fromTypes[l.fromType] = true
	}
	// Keep the emitted form of the nodes the rules may change.
	w := kv.writer()
	err := scanNodes(ctx, kv, fromTypes, nil, func(k, v []byte, _ *Node) error {
		return w.set(append([]byte{nsOrig, 0}, k[2:]...), v)
	})
	if derr := w.done(); err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("disk graph: %w", err)
	}
	var dangling []DanglingRef
	var canon canonicalizer
	var key []byte
	for ri, r := range m.links {
		// The target index: l <rule> <value> <id>, so a value's targets are in ID order.
		w := kv.writer()
		err := scanNodes(ctx, kv, map[string]bool{r.toType: true}, &nodeDecoder{}, func(_, _ []byte, n *Node) error {
			var werr error
			linkKeys(n, r.toField, func(k string) {
				if werr == nil {
					werr = w.set(append(linkPrefix(ri, k), n.ID...), nil)
				}
			})
			return werr
		})
		if derr := w.done(); err == nil {
			err = derr
		}
		if err != nil {
			return nil, fmt.Errorf("disk graph: link %s -> %s: %w", r.rule.From, r.rule.To, err)
		}
		index, err := kv.iter(linkPrefix(ri, "")[:4])
		if err != nil {
			return nil, err
		}
		w = kv.writer()
		err = scanNodes(ctx, kv, map[string]bool{r.fromType: true}, &nodeDecoder{}, func(_, _ []byte, n *Node) error {
			v := n.Get(r.fromPath)
			if !v.Exists() {
				return nil
			}
			var targets []string
			forEachScalar(v, func(k string) {
				prefix := linkPrefix(ri, k)
				found := false
				for ok := index.seek(prefix); ok && bytes.HasPrefix(index.key(), prefix); ok = index.next() {
					found = true
					if t := string(index.key()[len(prefix):]); !slices.Contains(targets, t) {
						targets = append(targets, t)
					}
				}
				if !found {
					dangling = append(dangling, DanglingRef{From: n.ID, Field: r.rule.As, To: r.toType + "." + r.toField + "=" + k})
				}
			})
			for i, ref := range n.Refs {
				if err := w.del(backrefKey(key, ref.To, n.ID, i)); err != nil {
					return err
				}
			}
			if err := setField(n, r.rule.As, refArray(targets), &canon); err != nil {
				return fmt.Errorf("on %s: %w", n.ID, err)
			}
			if err := w.set(kvKey(key, nsNode, n.ID), appendNode([]byte{'U'}, n, false)); err != nil {
				return err
			}
			return writeIndexes(w, &key, n)
		})
		if ierr := index.close(); err == nil {
			err = ierr
		}
		if derr := w.done(); err == nil {
			err = derr
		}
		if err != nil {
			return nil, fmt.Errorf("disk graph: link %s -> %s as %s: %w", r.rule.From, r.rule.To, r.rule.As, err)
		}
	}
	// The final digests of the nodes of the From types, from the digest index.
	err = kv.scan([]byte{nsHash, 0}, func(k, v []byte) error {
		if d, t := splitHashValue(v); fromTypes[t] {
			linked[string(k[2:])] = d
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("disk graph: %w", err)
	}
	return dangling, nil
}

// scanNodes walks the graph's nodes in ID order and calls fn for those of the given types, with
// the key, the stored record and, when d is set, the decoded node (fields aliasing a copy). The
// type is read from the record's start, so other nodes are skipped undecoded.
func scanNodes(ctx context.Context, kv *diskKV, types map[string]bool, d *nodeDecoder, fn func(k, v []byte, n *Node) error) error {
	i := 0
	return kv.scan([]byte{nsNode, 0}, func(k, v []byte) error {
		if i++; i%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		typ, ok := recordType(v)
		if ok && !types[string(typ)] {
			return nil
		}
		var n *Node
		if d != nil || !ok {
			if d == nil {
				d = &nodeDecoder{}
			}
			var err error
			if n, err = decodeLine(d, v); err != nil {
				return err
			}
			if !types[n.Type] {
				return nil
			}
		}
		return fn(k, v, n)
	})
}

// recordType reads the type from the start of a node record ('U' + {"id":...,"type":...}); false
// when the record has another form or escapes in its type (then it must be decoded).
func recordType(v []byte) ([]byte, bool) {
	const head = `U{"id":"`
	if !bytes.HasPrefix(v, []byte(head)) {
		return nil, false
	}
	p := v[len(head):]
	i := 0
	for i < len(p) && p[i] != '"' {
		if p[i] == '\\' {
			i++
		}
		i++
	}
	p = p[min(i+1, len(p)):]
	const mid = `,"type":"`
	if !bytes.HasPrefix(p, []byte(mid)) {
		return nil, false
	}
	p = p[len(mid):]
	end := bytes.IndexByte(p, '"')
	if end < 0 || bytes.IndexByte(p[:end], '\\') >= 0 {
		return nil, false
	}
	return p[:end], true
}

// linkPrefix is the target index prefix of one value of rule ri.
func linkPrefix(ri int, value string) []byte {
	k := []byte{nsLinkKey, 0}
	k = binary.BigEndian.AppendUint16(k, uint16(ri))
	return appendKeyPart(k, value)
}

// snapshotStream is the Stream of a disk-backed build's snapshot: each source's nodes in ID order,
// in their emitted form (before link rules).
func snapshotStream(kv *diskKV, sources []SourceSnapshot) func(context.Context, func(string, *Node) error) error {
	return func(ctx context.Context, each func(string, *Node) error) error {
		d := nodeDecoder{intern: map[string]string{}}
		for _, s := range sources {
			nodes, err := kv.iter(sourcePrefix(nsNode, s.Name))
			if err != nil {
				return err
			}
			orig, err := kv.iter(sourcePrefix(nsOrig, s.Name))
			if err != nil {
				nodes.close()
				return err
			}
			haveO := orig.next()
			i := 0
			for nodes.next() {
				if i++; i%4096 == 0 && ctx.Err() != nil {
					err = ctx.Err()
					break
				}
				id := nodes.key()[2:]
				for haveO && bytes.Compare(orig.key()[2:], id) < 0 {
					haveO = orig.next()
				}
				v := nodes.value()
				if haveO && bytes.Equal(orig.key()[2:], id) {
					v = orig.value()
				}
				var n *Node
				if n, err = decodeLine(&d, v); err != nil {
					break
				}
				if err = each(s.Name, n); err != nil {
					break
				}
			}
			nodes.close()
			orig.close()
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// finishDisk completes a disk-backed build after its sources fetched and the last snapshot was
// copied into kv: merge, link rules, indexes, dangling references, the change set, the snapshot
// (streamed from kv) and the outputs (streamed from kv). On error the caller closes kv.
func (m *Mesh) finishDisk(ctx context.Context, b *Build, run *diskRun, prev *Snapshot, results []sourceResult, fp string, start time.Time) error {
	kv := run.kv
	next := &Snapshot{Version: SnapshotVersion, CreatedAt: time.Now().UTC(), Fingerprint: fp}
	plans := make([]diskPlan, 0, len(results))
	for i := range results {
		r := &results[i]
		ps := prev.source(r.name)
		p := diskPlan{name: r.name, col: r.col, inGraph: run.inGraph[r.name], counts: run.counts[r.name]}
		switch {
		case r.stale:
			p.mode = planKeep
		case r.col != nil && r.delta && ps != nil:
			p.mode = planDelta
		case r.col != nil:
			p.mode = planFull
		default:
			p.mode = planDrop // failed without a snapshot to keep: no nodes
		}
		plans = append(plans, p)
	}
	a, err := m.assembleDisk(ctx, kv, plans)
	if err != nil {
		return err
	}
	for i := range results {
		r := &results[i]
		count, dups := 0, 0
		for _, p := range plans {
			if p.name == r.name {
				count, dups = p.nodes, p.dups
			}
		}
		b.Report.Sources[i].Nodes = count
		if dups > 0 {
			b.Report.Sources[i].Duplicates = dups
			m.opts.Logger.Warn("source emitted nodes more than once (overlapping pages?)", "source", r.name, "duplicates", dups)
		}
		next.Sources = append(next.Sources, SourceSnapshot{Name: r.name, Kind: r.kind, Cursor: r.cursor, Count: count})
		r.col = nil
	}
	slices.SortFunc(next.Sources, func(a, c SourceSnapshot) int { return strings.Compare(a.Name, c.Name) })
	bySource := make(map[string]*SourceSnapshot, len(next.Sources)) // by the source's part of an ID
	for i := range next.Sources {
		bySource[escapeIDPart(next.Sources[i].Name)] = &next.Sources[i]
	}
	for id, d := range a.linked {
		src, _, _ := strings.Cut(id, "/")
		if ss := bySource[src]; ss != nil {
			if ss.Linked == nil {
				ss.Linked = map[string]string{}
			}
			ss.Linked[id] = d
		}
	}
	dangling := a.dangling
	if dangling == nil {
		dangling = []DanglingRef{}
	}
	b.Report.DanglingRefs = dangling
	next.Dangling = dangling
	if m.opts.Strict && len(dangling) > 0 {
		return fmt.Errorf("%w: %d, first: %s.%s -> %s", ErrDanglingRefs, len(dangling), dangling[0].From, dangling[0].Field, dangling[0].To)
	}
	if b.Changes, err = diskChanges(kv); err != nil {
		return fmt.Errorf("disk graph: %w", err)
	}
	g := newDiskGraph(a.graph)
	b.Graph = g
	stream := snapshotStream(kv, next.Sources)
	next.Stream = func(ctx context.Context, each func(string, *Node) error) error {
		err := stream(ctx, each)
		runtime.KeepAlive(g) // the database is the graph's: keep it open for the stream
		return err
	}
	b.Report.Phases.MergeMs = time.Since(start).Milliseconds() - b.Report.Phases.FetchMs
	b.snapshot = next
	b.Report.DurationMs = time.Since(start).Milliseconds()
	b.Report.Nodes = a.graph.total
	if err := m.writeAndSave(ctx, b, nil); err != nil {
		return err
	}
	m.opts.Logger.Info("build done", "graph", "disk", "nodes", b.Report.Nodes, "added", len(b.Changes.Added), "updated", len(b.Changes.Updated),
		"deleted", len(b.Changes.Deleted), "ms", b.Report.DurationMs)
	return nil
}

// diskGraphOf assembles the disk-backed graph of a snapshot (a build that changed nothing, read on
// first use).
func (m *Mesh) diskGraphOf(ctx context.Context, s *Snapshot) (*diskGraph, error) {
	a, err := m.diskAssemblyOf(ctx, s)
	if err != nil {
		return nil, err
	}
	return a.graph, nil
}

// diskAssemblyOf assembles a snapshot's graph in a new scratch database.
func (m *Mesh) diskAssemblyOf(ctx context.Context, s *Snapshot) (*diskAssembly, error) {
	kv, err := openDiskKV(m.opts.GraphDir)
	if err != nil {
		return nil, err
	}
	all := map[string]bool{}
	for _, src := range s.Sources {
		all[src.Name] = true
	}
	counts, err := ingestPrev(ctx, kv, s, all)
	if err != nil {
		kv.close()
		return nil, err
	}
	plans := make([]diskPlan, len(s.Sources))
	for i, src := range s.Sources {
		plans[i] = diskPlan{name: src.Name, mode: planKeep, inGraph: true, counts: counts[src.Name]}
	}
	a, err := m.assembleDisk(ctx, kv, plans)
	if err != nil {
		kv.close()
		return nil, err
	}
	return a, nil
}
