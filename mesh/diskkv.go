package mesh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// diskKV is the ordered key-value store under a disk-backed graph: a scratch Pebble database in a
// temporary directory, removed by close. Pebble because the graph's writes are unsorted bulk loads
// (an LSM tree takes them sequentially, a B+tree rewrites pages), its memory is bounded by the
// memtable and cache sizes set here, and it is pure Go (BENCHMARKS.md has the comparison with bbolt
// and SQLite). The data is rebuilt by every build, so the write-ahead log is off and nothing is
// synced: a crash loses a scratch directory, never a snapshot. The database is written once and
// read a few times in order, so automatic compactions are off (they rewrote every byte two or three
// times: 1M nodes of 1 KiB built in 35 s with them, 27 s without); the build compacts the node range
// once, after the fetch, so that the walks that follow read one sorted run; bloom filters keep
// point reads to one table.
type diskKV struct {
	dir    string
	db     *pebble.DB
	cache  *pebble.Cache
	once   sync.Once
	err    error
	closed atomic.Bool
}

// errGraphClosed is what reading a disk-backed graph after Close gives.
var errGraphClosed = errors.New("disk graph: used after Close")

// diskKV memory: the memtable (two can be live while one flushes) and the block cache.
const (
	diskMemTable = 64 << 20
	diskCache    = 16 << 20
)

// openDiskKV creates a scratch database in a new directory under parent (os.TempDir when empty).
func openDiskKV(parent string) (*diskKV, error) {
	if parent != "" {
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return nil, fmt.Errorf("disk graph: %w", err)
		}
	}
	dir, err := os.MkdirTemp(parent, "contentmesh-graph-")
	if err != nil {
		return nil, fmt.Errorf("disk graph: %w", err)
	}
	cache := pebble.NewCache(diskCache)
	opts := &pebble.Options{
		Cache:                       cache,
		MemTableSize:                diskMemTable,
		MemTableStopWritesThreshold: 4,
		DisableWAL:                  true,
		DisableAutomaticCompactions: true,
		L0CompactionThreshold:       1 << 20,
		L0StopWritesThreshold:       1 << 20,
		Logger:                      quietPebble{},
	}
	opts.Levels[0].FilterPolicy = bloom.FilterPolicy(10) // point reads (Graph.Get, link rules) skip tables
	db, err := pebble.Open(dir, opts)
	if err != nil {
		cache.Unref()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("disk graph %s: %w", dir, err)
	}
	return &diskKV{dir: dir, db: db, cache: cache}, nil
}

// close closes the database and removes its directory. It is safe to call more than once.
func (d *diskKV) close() error {
	d.once.Do(func() {
		d.closed.Store(true)
		d.err = d.db.Close()
		d.cache.Unref()
		if err := os.RemoveAll(d.dir); err != nil && d.err == nil {
			d.err = err
		}
	})
	return d.err
}

// get calls fn with the value of key (valid only during fn) and reports whether it exists.
func (d *diskKV) get(key []byte, fn func(v []byte)) (bool, error) {
	if d.closed.Load() {
		return false, errGraphClosed
	}
	v, closer, err := d.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	fn(v)
	return true, closer.Close()
}

// iter returns an iterator over the keys that start with prefix, positioned before the first.
func (d *diskKV) iter(prefix []byte) (*kvIter, error) {
	if d.closed.Load() {
		return nil, errGraphClosed
	}
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	return &kvIter{it: it}, nil
}

// scan calls fn for every key with prefix, in order; key and value are valid only during fn.
func (d *diskKV) scan(prefix []byte, fn func(k, v []byte) error) error {
	it, err := d.iter(prefix)
	if err != nil {
		return err
	}
	for it.next() {
		if err := fn(it.key(), it.value()); err != nil {
			it.close()
			return err
		}
	}
	return it.close()
}

// compactRange rewrites one namespace into sorted, non-overlapping tables.
func (d *diskKV) compactRange(ctx context.Context, ns byte) error {
	if d.closed.Load() {
		return errGraphClosed
	}
	return d.db.Compact(ctx, []byte{ns, 0}, []byte{ns, 1}, true)
}

// kvIter walks keys in order: call next before the first key.
type kvIter struct {
	it      *pebble.Iterator
	started bool
}

func (i *kvIter) next() bool {
	if !i.started {
		i.started = true
		return i.it.First()
	}
	return i.it.Next()
}

// seek positions the iterator at the first key >= key; next then moves past it.
func (i *kvIter) seek(key []byte) bool {
	i.started = true
	return i.it.SeekGE(key)
}

func (i *kvIter) valid() bool   { return i.started && i.it.Valid() }
func (i *kvIter) key() []byte   { return i.it.Key() }
func (i *kvIter) value() []byte { return i.it.Value() }
func (i *kvIter) close() error  { return i.it.Close() }

// prefixEnd is the smallest key greater than every key starting with prefix (nil: no bound).
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// kvWriter batches writes and commits them every few MiB. It is not safe for concurrent use.
type kvWriter struct {
	d *diskKV
	b *pebble.Batch
}

const kvBatchBytes = 4 << 20

func (d *diskKV) writer() *kvWriter { return &kvWriter{d: d, b: d.db.NewBatch()} }

func (w *kvWriter) set(key, value []byte) error {
	if err := w.b.Set(key, value, nil); err != nil {
		return err
	}
	if w.b.Len() >= kvBatchBytes {
		return w.flush()
	}
	return nil
}

func (w *kvWriter) del(key []byte) error {
	if err := w.b.Delete(key, nil); err != nil {
		return err
	}
	if w.b.Len() >= kvBatchBytes {
		return w.flush()
	}
	return nil
}

// delRange deletes every key that starts with prefix.
func (w *kvWriter) delRange(prefix []byte) error {
	return w.b.DeleteRange(prefix, prefixEnd(prefix), nil)
}

// flush commits what is batched; the writer stays usable.
func (w *kvWriter) flush() error {
	if w.b.Empty() {
		return nil
	}
	err := w.b.Commit(pebble.NoSync)
	w.b.Reset()
	return err
}

// done commits what is batched and releases the batch.
func (w *kvWriter) done() error {
	err := w.flush()
	w.b.Close()
	return err
}

// quietPebble drops Pebble's informational logs; errors reach the build through return values.
type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}

// Keys. Every key starts with a one-byte namespace and a 0 byte. Composite keys encode each string
// part so that byte order is the parts' string order: a 0 byte is written 0x00 0xff and each part
// ends with 0x00 0x01.
const (
	nsEmitted  = 'e' // e <id>: 'U' + node line, or 'D': what a source emitted when its last nodes are in n
	nsPrev     = 'p' // p <id>: the previous snapshot's node line
	nsPrevHash = 'q' // q <id>: the previous build's final digest of the node
	nsNode     = 'n' // n <id>: 'U' + the graph's node line (after link rules); during the fetch also 'D' for an emitted delete
	nsHash     = 'h' // h <id>: the graph node's digest
	nsOrig     = 'o' // o <id>: 'U' + the emitted line of a node that link rules changed
	nsType     = 't' // t <type> <id>: the type index
	nsBackref  = 'b' // b <to> <from> <ref index>: field (the backref index)
	nsLinkKey  = 'l' // l <rule> <value> <id>: the target index of a link rule
)

// kvKey returns ns, 0 and id.
func kvKey(dst []byte, ns byte, id string) []byte {
	dst = append(dst[:0], ns, 0)
	return append(dst, id...)
}

// appendKeyPart appends s in the order-preserving composite encoding.
func appendKeyPart(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			dst = append(dst, 0, 0xff)
		} else {
			dst = append(dst, s[i])
		}
	}
	return append(dst, 0, 0x01)
}

// readKeyPart decodes one part from the start of b and returns it with the rest of b.
func readKeyPart(b []byte) (string, []byte, bool) {
	var out []byte
	for i := 0; i+1 < len(b); i++ {
		if b[i] != 0 {
			continue
		}
		switch b[i+1] {
		case 0x01:
			if out == nil {
				return string(b[:i]), b[i+2:], true
			}
			out = append(out, b[:i]...)
			return string(out), b[i+2:], true
		case 0xff:
			out = append(out, b[:i+1]...)
			b = b[i+2:]
			i = -1
		default:
			return "", nil, false
		}
	}
	return "", nil, false
}
