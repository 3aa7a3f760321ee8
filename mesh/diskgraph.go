package mesh

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// diskGraph holds a disk-backed Graph: nodes, the type index and the backref index live in a
// scratch database; only counts and the dangling references are in memory.
type diskGraph struct {
	kv       *diskKV
	total    int
	counts   map[string]int
	types    []string
	dangling []DanglingRef
}

// hashValue is the digest index's value: the digest, a 0 byte, the type.
func hashValue(digest, typ string) []byte {
	v := make([]byte, 0, len(digest)+1+len(typ))
	v = append(v, digest...)
	v = append(v, 0)
	return append(v, typ...)
}

// splitHashValue reads a digest index value.
func splitHashValue(v []byte) (digest, typ string) {
	d, t, _ := bytes.Cut(v, []byte{0})
	return string(d), string(t)
}

// typeOf reads a node's type from the digest index (a small record) without reading the node.
func (dg *diskGraph) typeOf(id string) (string, bool, error) {
	var typ string
	ok, err := dg.kv.get(kvKey(nil, nsHash, id), func(v []byte) { _, typ = splitHashValue(v) })
	return typ, ok, err
}

// decodeLine decodes a stored node ('U' + its line); the node owns its memory.
func decodeLine(d *nodeDecoder, v []byte) (*Node, error) {
	if len(v) == 0 || v[0] != 'U' {
		return nil, fmt.Errorf("disk graph: %w: not a node record", ErrCorruptSnapshot)
	}
	n, err := d.decode(bytes.Clone(v[1:]))
	if err != nil {
		return nil, fmt.Errorf("disk graph: %w: %v", ErrCorruptSnapshot, err)
	}
	return n, nil
}

// backrefPrefix is the backref index prefix of the node id.
func backrefPrefix(dst []byte, id string) []byte {
	dst = append(dst[:0], nsBackref, 0)
	return appendKeyPart(dst, id)
}

// backrefKey is the backref index key of the i-th ref of node from, pointing at to.
func backrefKey(dst []byte, to, from string, i int) []byte {
	dst = backrefPrefix(dst, to)
	dst = appendKeyPart(dst, from)
	return binary.BigEndian.AppendUint32(dst, uint32(i))
}

// parseBackref reads the referring node and field of a backref index entry whose prefix was plen
// bytes long.
func parseBackref(k, v []byte, plen int) (Backref, bool) {
	from, rest, ok := readKeyPart(k[plen:])
	if !ok || len(rest) != 4 {
		return Backref{}, false
	}
	return Backref{Field: string(v), From: from}, true
}

func typeKey(dst []byte, typ, id string) []byte {
	dst = append(dst[:0], nsType, 0)
	dst = appendKeyPart(dst, typ)
	return append(dst, id...)
}

// get reads one node with its backrefs.
func (dg *diskGraph) get(id string) (*Node, error) {
	var n *Node
	var err error
	d := nodeDecoder{}
	ok, gerr := dg.kv.get(kvKey(nil, nsNode, id), func(v []byte) { n, err = decodeLine(&d, v) })
	if gerr != nil {
		return nil, gerr
	}
	if !ok || err != nil {
		return nil, err
	}
	prefix := backrefPrefix(nil, id)
	err = dg.kv.scan(prefix, func(k, v []byte) error {
		if b, ok := parseBackref(k, v, len(prefix)); ok {
			n.Backrefs = append(n.Backrefs, b)
		}
		return nil
	})
	return n, err
}

// nodeIters opens iterators over the node namespace and the backref index.
func (dg *diskGraph) nodeIters() (nodes, brefs *kvIter, err error) {
	if nodes, err = dg.kv.iter([]byte{nsNode, 0}); err != nil {
		return nil, nil, err
	}
	if brefs, err = dg.kv.iter([]byte{nsBackref, 0}); err != nil {
		nodes.close()
		return nil, nil, err
	}
	return nodes, brefs, nil
}

// each calls fn for every node in ID order, backrefs filled, walking the node and backref indexes
// side by side.
func (dg *diskGraph) each(fn func(*Node) (bool, error)) error {
	nodes, brefs, err := dg.nodeIters()
	if err != nil {
		return err
	}
	defer nodes.close()
	defer brefs.close()
	more := brefs.next()
	d := nodeDecoder{intern: map[string]string{}}
	var prefix []byte
	for nodes.next() {
		n, err := decodeLine(&d, nodes.value())
		if err != nil {
			return err
		}
		prefix = backrefPrefix(prefix, n.ID)
		// Entries before the node's are backrefs to missing nodes (dangling): skip them.
		for more && bytes.Compare(brefs.key(), prefix) < 0 {
			more = brefs.next()
		}
		for more && bytes.HasPrefix(brefs.key(), prefix) {
			if b, ok := parseBackref(brefs.key(), brefs.value(), len(prefix)); ok {
				n.Backrefs = append(n.Backrefs, b)
			}
			more = brefs.next()
		}
		if cont, err := fn(n); err != nil || !cont {
			return err
		}
	}
	return nil
}

// eachOfType calls fn for the nodes of one type in ID order, backrefs filled. The type index is in
// ID order too, so the node and backref namespaces are read by two iterators that only seek
// forward (a point read per node, each with its own backref scan, cost about ten times more).
func (dg *diskGraph) eachOfType(typ string, fn func(*Node) (bool, error)) error {
	prefix := append([]byte{nsType, 0}, appendKeyPart(nil, typ)...)
	ids, err := dg.kv.iter(prefix)
	if err != nil {
		return err
	}
	defer ids.close()
	nodes, brefs, err := dg.nodeIters()
	if err != nil {
		return err
	}
	defer nodes.close()
	defer brefs.close()
	d := nodeDecoder{intern: map[string]string{}}
	var key, bprefix []byte
	for ids.next() {
		id := ids.key()[len(prefix):]
		key = append(append(key[:0], nsNode, 0), id...)
		if !nodes.seek(key) || !bytes.Equal(nodes.key(), key) {
			continue
		}
		n, err := decodeLine(&d, nodes.value())
		if err != nil {
			return err
		}
		bprefix = backrefPrefix(bprefix, n.ID)
		for ok := brefs.seek(bprefix); ok && bytes.HasPrefix(brefs.key(), bprefix); ok = brefs.next() {
			if b, ok := parseBackref(brefs.key(), brefs.value(), len(bprefix)); ok {
				n.Backrefs = append(n.Backrefs, b)
			}
		}
		if cont, err := fn(n); err != nil || !cont {
			return err
		}
	}
	return nil
}

// diskDangling lists the refs whose target is not a node: the backref index and the digest index
// are both in target ID order, so one pass over each finds them. The list is in the order a graph in
// memory reports them (referring ID, then path order).
func diskDangling(kv *diskKV) ([]DanglingRef, error) {
	type found struct {
		d   DanglingRef
		idx uint32
	}
	var out []found
	brefs, err := kv.iter([]byte{nsBackref, 0})
	if err != nil {
		return nil, err
	}
	defer brefs.close()
	ids, err := kv.iter([]byte{nsHash, 0})
	if err != nil {
		return nil, err
	}
	defer ids.close()
	haveID := ids.next()
	for brefs.next() {
		k := brefs.key()
		to, rest, ok := readKeyPart(k[2:])
		if !ok {
			return nil, fmt.Errorf("disk graph: bad backref key")
		}
		// Move the ID walk to the first ID >= to.
		for haveID && string(ids.key()[2:]) < to {
			haveID = ids.next()
		}
		if haveID && string(ids.key()[2:]) == to {
			continue
		}
		from, tail, ok := readKeyPart(rest)
		if !ok || len(tail) != 4 {
			return nil, fmt.Errorf("disk graph: bad backref key")
		}
		out = append(out, found{DanglingRef{From: from, Field: string(brefs.value()), To: to}, binary.BigEndian.Uint32(tail)})
	}
	slices.SortFunc(out, func(a, b found) int {
		if c := strings.Compare(a.d.From, b.d.From); c != 0 {
			return c
		}
		return int(a.idx) - int(b.idx)
	})
	list := make([]DanglingRef, len(out))
	for i, f := range out {
		list[i] = f.d
	}
	return list, nil
}

// diskChanges compares the previous build's digests with the graph's: both are in ID order.
func diskChanges(kv *diskKV) (ChangeSet, error) {
	cs := ChangeSet{Added: []string{}, Updated: []string{}, Deleted: []string{}}
	old, err := kv.iter([]byte{nsPrevHash, 0})
	if err != nil {
		return cs, err
	}
	defer old.close()
	cur, err := kv.iter([]byte{nsHash, 0})
	if err != nil {
		return cs, err
	}
	defer cur.close()
	haveOld, haveCur := old.next(), cur.next()
	for haveOld || haveCur {
		var c int
		switch {
		case !haveOld:
			c = 1
		case !haveCur:
			c = -1
		default:
			c = bytes.Compare(old.key()[2:], cur.key()[2:])
		}
		switch {
		case c < 0:
			cs.Deleted = append(cs.Deleted, string(old.key()[2:]))
			haveOld = old.next()
		case c > 0:
			cs.Added = append(cs.Added, string(cur.key()[2:]))
			haveCur = cur.next()
		default:
			if d, _, _ := bytes.Cut(cur.value(), []byte{0}); !bytes.Equal(old.value(), d) {
				cs.Updated = append(cs.Updated, string(cur.key()[2:]))
			}
			haveOld, haveCur = old.next(), cur.next()
		}
	}
	return cs, nil
}
