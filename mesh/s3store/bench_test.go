package s3store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
)

// benchSnapshot is a snapshot of one source with n nodes of about 300 bytes.
func benchSnapshot(b *testing.B, n int, version int) *mesh.Snapshot {
	b.Helper()
	nodes := make([]*mesh.Node, n)
	body := strings.Repeat("lorem ipsum ", 20)
	for i := range nodes {
		v := 0
		if i == n/2 {
			v = version
		}
		fields := fmt.Sprintf(`{"body":%q,"n":%d,"title":"Item %d","v":%d}`, body, i, i, v)
		d, err := mesh.Digest("Item", "", []byte(fields))
		if err != nil {
			b.Fatal(err)
		}
		id := fmt.Sprintf("%07d", i)
		nodes[i] = &mesh.Node{ID: mesh.NodeID("s", "item", id), Type: "Item", Source: "s", NativeID: id, Fields: json.RawMessage(fields), Digest: d}
	}
	return &mesh.Snapshot{Version: mesh.SnapshotVersion, CreatedAt: time.Now(), Fingerprint: "f",
		Sources: []mesh.SourceSnapshot{{Name: "s", Kind: "bench", Nodes: nodes, Count: n}}}
}

// BenchmarkSaveOneChange saves a 50,000-node snapshot in which one node changed: every chunk is
// encoded and hashed, one chunk and the manifest are uploaded.
func BenchmarkSaveOneChange(b *testing.B) {
	srv := needServer(b)
	prefix := fmt.Sprintf("bench/save-%d", time.Now().UnixNano())
	store, err := New(Config{Bucket: testBucket, Prefix: prefix, Client: srv.client(nil), GracePeriod: -1})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := store.Load(ctx); err != mesh.ErrNoSnapshot {
		b.Fatal(err)
	}
	if err := store.Save(ctx, benchSnapshot(b, 50000, 0)); err != nil {
		b.Fatal(err)
	}
	snaps := make([]*mesh.Snapshot, b.N)
	for i := range snaps {
		snaps[i] = benchSnapshot(b, 50000, i+1)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := store.Save(ctx, snaps[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	removePrefix(srv, prefix)
}

// BenchmarkLoadNodes loads a 50,000-node snapshot: the manifest, then every chunk (verified).
func BenchmarkLoadNodes(b *testing.B) {
	srv := needServer(b)
	prefix := fmt.Sprintf("bench/load-%d", time.Now().UnixNano())
	store, err := New(Config{Bucket: testBucket, Prefix: prefix, Client: srv.client(nil)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	store.Load(ctx)
	if err := store.Save(ctx, benchSnapshot(b, 50000, 0)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		snap, err := store.Load(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := snap.Load(ctx); err != nil || len(snap.Sources[0].Nodes) != 50000 {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	removePrefix(srv, prefix)
}
