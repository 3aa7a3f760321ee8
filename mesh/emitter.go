package mesh

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// collector is the Emitter the engine hands to one source. Upsert canonicalizes and digests the
// node in the caller's goroutine (so adapters that emit from several goroutines use several cores),
// then takes the lock only to store it.
type collector struct {
	source  string
	prefix  string // escaped source name + "/"
	pool    *sync.Pool
	mu      sync.Mutex
	nodes   map[string]*Node
	deletes map[string]struct{}
	// interned holds the types and locales of the nodes (under mu).
	interned map[string]string
	count    atomic.Int64
	// duplicates counts upserts of an ID already emitted in this fetch: harmless, but in a full fetch
	// usually the sign of overlapping pages.
	duplicates atomic.Int64

	// In a disk-backed build the emitted nodes go to the scratch database instead of nodes and
	// deletes (under mu); upserts and deletions are counted, the distinct IDs are known at merge.
	disk      *kvWriter
	diskNS    byte        // the namespace of the records: nsNode, or nsEmitted
	onDisk    atomic.Bool // disk is set (read without mu; a spill sets it under mu)
	diskDone  bool
	fetched   bool // finish was called (under mu)
	upserts   atomic.Int64
	deletions atomic.Int64
	// spill, when set, moves every collector of the build to disk once they hold enough nodes.
	spill *spiller
	// onEmit, when set, is called at every upsert and deletion (it starts reading the last
	// snapshot's nodes once something changed).
	onEmit func()
}

// spiller moves a build's collectors from memory to a disk-backed graph once the graph's estimated
// size (nodeMemEstimate) reaches threshold (GraphAuto on a first build, or one that grew past it).
type spiller struct {
	threshold int64
	total     atomic.Int64
	cols      []*collector
	start     func() (*diskKV, error) // opens the database (and starts copying the last snapshot)
	once      sync.Once
	err       error
}

// added adds a new node's estimate and spills when the total reaches the threshold. The caller
// must not hold any collector's mu.
func (sp *spiller) added(estimate int64) error {
	if sp.total.Add(estimate) < sp.threshold {
		return nil
	}
	sp.once.Do(func() {
		kv, err := sp.start()
		if err != nil {
			sp.err = err
			return
		}
		for _, c := range sp.cols {
			c.mu.Lock()
			err := c.spillTo(kv)
			c.mu.Unlock()
			if err != nil && sp.err == nil {
				sp.err = fmt.Errorf("disk graph: %w", err)
			}
		}
	})
	return sp.err
}

// spillTo writes what the collector holds to kv and makes it a disk collector. Called under mu.
func (c *collector) spillTo(kv *diskKV) error {
	if c.disk != nil {
		return nil
	}
	w := kv.writer()
	var line []byte
	for id, n := range c.nodes {
		line = appendNode(append(line[:0], 'U'), n, false)
		if err := w.set(kvKey(nil, c.diskNS, id), line); err != nil {
			return err
		}
	}
	for id := range c.deletes {
		if err := w.set(kvKey(nil, c.diskNS, id), []byte{'D'}); err != nil {
			return err
		}
	}
	c.upserts.Store(int64(len(c.nodes)) + c.duplicates.Load())
	c.deletions.Store(int64(len(c.deletes)))
	c.nodes, c.deletes = nil, nil
	c.disk = w
	c.onDisk.Store(true)
	if c.fetched { // its Fetch returned: nothing more comes
		c.diskDone = true
		return w.done()
	}
	return nil
}

// newDiskCollector returns a collector that writes what the source emits to kv.
func newDiskCollector(source string, pool *sync.Pool, kv *diskKV, ns byte) *collector {
	c := newCollector(source, pool)
	c.diskNS = ns
	c.nodes, c.deletes = nil, nil
	c.disk = kv.writer()
	c.onDisk.Store(true)
	return c
}

// emitted reports how many upserts and deletions the source made.
func (c *collector) emitted() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.disk != nil {
		return c.upserts.Load() + c.deletions.Load()
	}
	return int64(len(c.nodes) + len(c.deletes))
}

// finish commits a disk collector's last writes; later emits fail.
func (c *collector) finish() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fetched = true
	if c.disk == nil || c.diskDone {
		return nil
	}
	c.diskDone = true
	return c.disk.done()
}

// diskPut stores one emitted record ('U' + node line, or 'D') under the node's ID.
func (c *collector) diskPut(key, value []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.diskDone {
		return fmt.Errorf("%w: source %q emitted after its Fetch returned", ErrInvalidNode, c.source)
	}
	if err := c.disk.set(key, value); err != nil {
		return fmt.Errorf("disk graph: %w", err)
	}
	return nil
}

func newCollector(source string, pool *sync.Pool) *collector {
	return &collector{
		source:  source,
		prefix:  escapeIDPart(source) + "/",
		pool:    pool,
		nodes:   make(map[string]*Node),
		deletes: make(map[string]struct{}),
	}
}

// Upsert implements Emitter.
func (c *collector) Upsert(n Node) error {
	if c.onEmit != nil {
		c.onEmit()
	}
	if err := c.checkID(n.ID); err != nil {
		return err
	}
	if n.Type == "" {
		return fmt.Errorf("%w: node %q has no type", ErrInvalidNode, n.ID)
	}
	fields := n.Fields
	if len(fields) == 0 {
		fields = []byte("{}")
	}
	cz := c.pool.Get().(*canonicalizer)
	out, refs, err := cz.run(fields, cz.tmpOut[:0])
	if err != nil {
		c.pool.Put(cz)
		return fmt.Errorf("%w: node %q: fields: %v", ErrInvalidNode, n.ID, err)
	}
	cz.tmpOut = out
	if len(out) == 0 || out[0] != '{' {
		c.pool.Put(cz)
		return fmt.Errorf("%w: node %q: fields must be a JSON object", ErrInvalidNode, n.ID)
	}
	if c.onDisk.Load() {
		return c.upsertDisk(cz, &n, out, refs)
	}
	// The strings an adapter passes are often gjson results that alias the page they came from:
	// kept as they are, a node's NativeID would keep its whole page alive. The native ID is taken
	// from the ID's tail when it is there (IDs are built by NodeID, a new string), else copied;
	// Type and Locale (few distinct values) are interned below.
	node := &Node{
		ID:        n.ID,
		Type:      n.Type,
		Source:    c.source,
		NativeID:  nativeIDOf(n.ID, n.NativeID, n.Locale),
		Locale:    n.Locale,
		UpdatedAt: n.UpdatedAt.UTC(),
		Fields:    slices.Clone(out),
		Digest:    digest(n.Type, n.Locale, out),
	}
	if len(refs) > 0 {
		node.Refs = slices.Clone(refs)
		for _, r := range node.Refs {
			if !ValidNodeID(r.To) {
				c.pool.Put(cz)
				return fmt.Errorf("%w: node %q: field %q: $ref %q is not a node id", ErrInvalidNode, n.ID, r.Field, r.To)
			}
		}
	}
	c.pool.Put(cz)
	c.mu.Lock()
	if c.disk != nil { // spilled meanwhile
		c.mu.Unlock()
		if err := c.diskPut(kvKey(nil, c.diskNS, node.ID), appendNode([]byte{'U'}, node, false)); err != nil {
			return err
		}
		c.upserts.Add(1)
		c.count.Add(1)
		return nil
	}
	node.Type, node.Locale = c.internLocked(node.Type), c.internLocked(node.Locale)
	added := false
	if _, dup := c.nodes[node.ID]; !dup {
		c.count.Add(1)
		added = true
	} else {
		c.duplicates.Add(1)
	}
	c.nodes[node.ID] = node
	delete(c.deletes, node.ID)
	c.mu.Unlock()
	if added && c.spill != nil {
		return c.spill.added(nodeMemEstimate(node))
	}
	return nil
}

// nativeIDOf returns native as a substring of id when id ends with "/native" (or "/native@locale"),
// as NodeID writes IDs whose native part needs no escaping; otherwise a copy of native.
func nativeIDOf(id, native, locale string) string {
	if native == "" {
		return ""
	}
	end := len(id)
	if locale != "" {
		if end < len(locale)+1 || id[end-len(locale):] != locale || id[end-len(locale)-1] != '@' {
			return strings.Clone(native)
		}
		end -= len(locale) + 1
	}
	start := end - len(native)
	if start < 1 || id[start:end] != native || id[start-1] != '/' {
		return strings.Clone(native)
	}
	return id[start:end]
}

// internLocked returns the collector's copy of s (a type or locale name): one string per distinct
// value, not one per node, and none that aliases a page. The caller holds mu.
func (c *collector) internLocked(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := c.interned[s]; ok {
		return v
	}
	if c.interned == nil {
		c.interned = map[string]string{}
	}
	v := strings.Clone(s)
	c.interned[v] = v
	return v
}

// upsertDisk writes the node to the scratch database; it returns cz to the pool.
func (c *collector) upsertDisk(cz *canonicalizer, n *Node, fields []byte, refs []Ref) error {
	defer c.pool.Put(cz)
	node := Node{ID: n.ID, Type: n.Type, Source: c.source, NativeID: n.NativeID, Locale: n.Locale,
		UpdatedAt: n.UpdatedAt.UTC(), Fields: fields, Refs: refs, Digest: digest(n.Type, n.Locale, fields)}
	for _, r := range refs {
		if !ValidNodeID(r.To) {
			return fmt.Errorf("%w: node %q: field %q: $ref %q is not a node id", ErrInvalidNode, n.ID, r.Field, r.To)
		}
	}
	cz.lineBuf = appendNode(append(cz.lineBuf[:0], 'U'), &node, false)
	cz.keyBuf = kvKey(cz.keyBuf, c.diskNS, n.ID)
	if err := c.diskPut(cz.keyBuf, cz.lineBuf); err != nil {
		return err
	}
	c.upserts.Add(1)
	c.count.Add(1)
	return nil
}

// Delete implements Emitter.
func (c *collector) Delete(id string) error {
	if c.onEmit != nil {
		c.onEmit()
	}
	if err := c.checkID(id); err != nil {
		return err
	}
	c.mu.Lock()
	if c.disk != nil {
		c.mu.Unlock()
		if err := c.diskPut(kvKey(nil, c.diskNS, id), []byte{'D'}); err != nil {
			return err
		}
		c.deletions.Add(1)
		if c.count.Load() > 0 {
			c.count.Add(-1)
		}
		return nil
	}
	if _, ok := c.nodes[id]; ok {
		delete(c.nodes, id)
		c.count.Add(-1)
	}
	c.deletes[id] = struct{}{}
	c.mu.Unlock()
	return nil
}

func (c *collector) checkID(id string) error {
	if !strings.HasPrefix(id, c.prefix) {
		return fmt.Errorf("%w: node id %q must start with the source name %q (build it with mesh.NodeID)", ErrInvalidNode, id, c.source)
	}
	if !ValidNodeID(id) {
		return fmt.Errorf("%w: node id %q: want <source>/<namespace>/<nativeId>[@locale]", ErrInvalidNode, id)
	}
	return nil
}
