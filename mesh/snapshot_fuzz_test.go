package mesh

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"
)

// fuzzSnapshot is the seed: two sources, three nodes, refs, a link digest, a cursor.
func fuzzSnapshot() []byte {
	n := func(id, typ, fields string, refs ...Ref) *Node {
		return &Node{ID: id, Type: typ, Source: id[:1], NativeID: id[4:], Fields: []byte(fields), Refs: refs,
			UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Digest: digest(typ, "", []byte(fields))}
	}
	s := &Snapshot{CreatedAt: time.Unix(0, 0), Sources: []SourceSnapshot{
		{Name: "a", Kind: "memory", Cursor: []byte(`{"v":1}`), Nodes: []*Node{
			n("a/p/1", "Post", `{"t":"x\"y"}`),
			n("a/p/2", "Post", `{"r":{"$ref":"b/q/1"}}`, Ref{Field: "r", To: "b/q/1"}),
		}, Linked: map[string]string{"a/p/1": "sha256:00"}},
		{Name: "b", Kind: "memory", Nodes: []*Node{n("b/q/1", "Tag", `{}`)}},
	}}
	var buf bytes.Buffer
	if err := EncodeSnapshot(&buf, s); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// FuzzSnapshotDecoders checks the two readers of the snapshot format against each other: the
// streaming one (streamNodesFile, used by disk-backed builds) accepts a file only if DecodeSnapshot
// does, and then yields the same nodes in the same order.
func FuzzSnapshotDecoders(f *testing.F) {
	seed := fuzzSnapshot()
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add(bytes.Replace(seed, []byte(`"nodes":2`), []byte(`"nodes":1`), 1))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := os.CreateTemp(dir, "nodes-*.snap")
		if err != nil {
			t.Fatal(err)
		}
		path := file.Name()
		defer os.Remove(path)
		_, err = file.Write(data)
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		decoded, derr := DecodeSnapshot(data)
		// The manifest's checksum is the trailer's: give the stream whatever the trailer says, so
		// that it must refuse a bad file by its own checks.
		var wantSHA string
		if len(data) > 1 && data[len(data)-1] == '\n' {
			wantSHA = trailerSHA(data)
		}
		// Against the seed's manifest (a: 2 nodes, b: 1), whatever the data.
		want := &Snapshot{Sources: []SourceSnapshot{{Name: "a", Count: 2}, {Name: "b", Count: 1}}}
		if derr == nil {
			want = &Snapshot{}
			for _, s := range decoded.Sources {
				want.Sources = append(want.Sources, SourceSnapshot{Name: s.Name, Count: len(s.Nodes)})
			}
		}
		var got []string
		serr := streamNodesFile(context.Background(), path, wantSHA, want, func(source string, n *Node) error {
			got = append(got, source+" "+string(appendNode(nil, n, false)))
			return nil
		})
		if serr == nil && derr != nil {
			t.Fatalf("the stream accepted what DecodeSnapshot refused (%v)", derr)
		}
		if derr != nil {
			return
		}
		if serr != nil {
			t.Fatalf("the stream refused what DecodeSnapshot accepted: %v", serr)
		}
		var exp []string
		for _, s := range decoded.Sources {
			for _, n := range s.Nodes {
				exp = append(exp, s.Name+" "+string(appendNode(nil, n, false)))
			}
		}
		if len(got) != len(exp) {
			t.Fatalf("%d nodes streamed, %d decoded", len(got), len(exp))
		}
		for i := range got {
			if got[i] != exp[i] {
				t.Fatalf("node %d: streamed %s, decoded %s", i, got[i], exp[i])
			}
		}
	})
}
