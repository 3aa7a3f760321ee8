package mesh

import (
	"time"
)

// appendNodeJSON appends the contract JSON form of n. Fields must be canonical (or at least valid) JSON.
func appendNodeJSON(dst []byte, n *Node) []byte {
	return appendNode(dst, n, true)
}

// appendNode appends n's JSON form; without backrefs it writes an empty list (snapshots keep none:
// they are derived).
func appendNode(dst []byte, n *Node, backrefs bool) []byte {
	dst = append(dst, `{"id":`...)
	dst = AppendString(dst, n.ID)
	dst = append(dst, `,"type":`...)
	dst = AppendString(dst, n.Type)
	dst = append(dst, `,"source":`...)
	dst = AppendString(dst, n.Source)
	dst = append(dst, `,"nativeId":`...)
	dst = AppendString(dst, n.NativeID)
	dst = append(dst, `,"locale":`...)
	dst = AppendString(dst, n.Locale)
	dst = append(dst, `,"updatedAt":`...)
	if n.UpdatedAt.IsZero() {
		dst = append(dst, `""`...)
	} else {
		dst = append(dst, '"')
		dst = n.UpdatedAt.UTC().AppendFormat(dst, time.RFC3339Nano)
		dst = append(dst, '"')
	}
	dst = append(dst, `,"fields":`...)
	if len(n.Fields) == 0 {
		dst = append(dst, `{}`...)
	} else {
		dst = append(dst, n.Fields...)
	}
	dst = append(dst, `,"refs":[`...)
	for i, r := range n.Refs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"field":`...)
		dst = AppendString(dst, r.Field)
		dst = append(dst, `,"to":`...)
		dst = AppendString(dst, r.To)
		dst = append(dst, '}')
	}
	dst = append(dst, `],"backrefs":[`...)
	for i, r := range n.Backrefs {
		if !backrefs {
			break
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"field":`...)
		dst = AppendString(dst, r.Field)
		dst = append(dst, `,"from":`...)
		dst = AppendString(dst, r.From)
		dst = append(dst, '}')
	}
	dst = append(dst, `],"digest":`...)
	dst = AppendString(dst, n.Digest)
	return append(dst, '}')
}
