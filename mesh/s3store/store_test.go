package s3store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/memsource"
)

func rec(ns, id, typ, fields string) memsource.Record {
	return memsource.Record{Namespace: ns, NativeID: id, Type: typ, Fields: json.RawMessage(fields)}
}

func mustMem(t *testing.T, recs ...memsource.Record) *memsource.Source {
	t.Helper()
	s, err := memsource.New(recs...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// items returns n records of one type with zero-padded ids.
func items(n int, ns, typ string, fields func(i int) string) []memsource.Record {
	out := make([]memsource.Record, n)
	for i := range out {
		out[i] = rec(ns, fmt.Sprintf("%05d", i), typ, fields(i))
	}
	return out
}

func newMesh(t *testing.T, opts mesh.Options, sources ...any) *mesh.Mesh {
	t.Helper()
	m, err := mesh.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(sources); i += 2 {
		if err := m.Add(sources[i].(string), sources[i+1].(mesh.Source)); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

var shopLinks = []mesh.LinkRule{{From: "Post.productHandles", To: "Product.handle", As: "products"}}

func shopSources(t *testing.T) (cms, shop *memsource.Source) {
	cms = mustMem(t, items(25, "post", "Post", func(i int) string {
		return fmt.Sprintf(`{"title":"Post %d","productHandles":["h%d","h%d"],"author":{"$ref":"cms/user/u"}}`, i, i, i+1)
	})...)
	cms.Put(rec("user", "u", "User", `{"name":"Ann"}`))
	shop = mustMem(t, items(30, "product", "Product", func(i int) string { return fmt.Sprintf(`{"handle":"h%d","title":"P%d"}`, i, i) })...)
	return cms, shop
}

func nodeLines(s *mesh.Snapshot) []string {
	var out []string
	for _, src := range s.Sources {
		for _, n := range src.Nodes {
			out = append(out, src.Name+" "+n.ID+" "+n.Digest+" "+string(n.Fields))
		}
	}
	return out
}

func TestRoundTripAndLazyLoad(t *testing.T) {
	srv := needServer(t)
	prefix := testPrefix(t, srv)
	ctx := context.Background()
	store, _ := newTestStore(t, srv, prefix, Config{ChunkNodes: 4})
	out := filepath.Join(t.TempDir(), "out")
	cms, shop := shopSources(t)
	b, err := newMesh(t, mesh.Options{Store: store, Out: out, Links: shopLinks}, "cms", cms, "shop", shop).Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	saved := b.Snapshot()

	// The layout: one manifest and the chunks; no key is the prefix itself or under another key.
	keys := listKeys(t, srv, prefix)
	chunks := 0
	for k := range keys {
		switch {
		case k == prefix+"/manifest.json":
		case strings.HasPrefix(k, prefix+"/chunks/") && validSHA(strings.TrimPrefix(k, prefix+"/chunks/")):
			chunks++
		default:
			t.Errorf("unexpected object %s", k)
		}
	}
	if chunks < 10 {
		t.Errorf("%d chunks for 56 nodes at about 4 a chunk", chunks)
	}

	// Another machine: Load reads the manifest only.
	reader, count := newTestStore(t, srv, prefix, Config{})
	snap, err := reader.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := count.get("GET manifest"); got != 1 || count.get("GET chunk") != 0 {
		t.Errorf("Load requests: %s", count)
	}
	if snap.Load == nil || snap.Sources[0].Nodes != nil || snap.Sources[0].Count != 26 || snap.Sources[1].Count != 30 {
		t.Fatalf("not a lazy snapshot: %+v", snap.Sources)
	}
	if string(snap.Sources[0].Cursor) != string(saved.Sources[0].Cursor) || snap.Fingerprint != saved.Fingerprint || snap.NodesKey != saved.NodesKey {
		t.Errorf("manifest fields differ: %+v", snap)
	}
	// Loading the nodes fetches every chunk once and gives back what was saved, link digests included.
	g, _, err := mesh.GraphFromSnapshot(ctx, snap, shopLinks)
	if err != nil {
		t.Fatal(err)
	}
	if got := count.get("GET chunk"); got != chunks {
		t.Errorf("%d chunk GETs for %d chunks", got, chunks)
	}
	if !slices.Equal(nodeLines(snap), nodeLines(saved)) {
		t.Errorf("nodes differ:\n%v\n%v", nodeLines(snap), nodeLines(saved))
	}
	for i := range snap.Sources {
		if !maps.Equal(snap.Sources[i].Linked, saved.Sources[i].Linked) {
			t.Errorf("source %s linked %v, saved %v", snap.Sources[i].Name, snap.Sources[i].Linked, saved.Sources[i].Linked)
		}
	}
	if len(snap.Sources[0].Linked) != 25 {
		t.Errorf("%d linked posts, want 25", len(snap.Sources[0].Linked))
	}
	var buf bytes.Buffer
	g.WriteGraphJSON(&buf)
	want, _ := os.ReadFile(filepath.Join(out, "graph.json"))
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("graph from the S3 snapshot differs from the build's graph.json")
	}
}

func TestUnchangedBuildWritesOnlyTheManifest(t *testing.T) {
	srv := needServer(t)
	prefix := testPrefix(t, srv)
	ctx := context.Background()
	store, count := newTestStore(t, srv, prefix, Config{ChunkNodes: 4})
	cms, shop := shopSources(t)
	m := newMesh(t, mesh.Options{Store: store, Links: shopLinks}, "cms", cms, "shop", shop)
	if _, err := m.Build(ctx); err != nil {
		t.Fatal(err)
	}
	firstPuts := count.get("PUT chunk")
	if firstPuts < 10 {
		t.Fatalf("first build uploaded %d chunks", firstPuts)
	}
	before := listKeys(t, srv, prefix)

	count.reset()
	b, err := m.Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Unchanged {
		t.Fatal("second build changed")
	}
	if count.get("PUT manifest") != 1 || count.get("PUT chunk") != 0 || count.get("GET chunk") != 0 {
		t.Errorf("unchanged build requests: %s", count)
	}
	after := listKeys(t, srv, prefix)
	for k, mod := range before {
		if strings.Contains(k, "/chunks/") && !after[k].Equal(mod) {
			t.Errorf("chunk %s rewritten", k)
		}
	}
	if len(after) != len(before) {
		t.Errorf("%d objects, was %d", len(after), len(before))
	}
	// The rewritten manifest still names a complete snapshot.
	reader, _ := newTestStore(t, srv, prefix, Config{})
	snap, err := reader.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.Load(ctx); err != nil || len(snap.Sources[1].Nodes) != 30 {
		t.Fatalf("load: %v", err)
	}
}

func TestSmallChangeUploadsOnlyItsChunk(t *testing.T) {
	srv := needServer(t)
	prefix := testPrefix(t, srv)
	ctx := context.Background()
	store, count := newTestStore(t, srv, prefix, Config{ChunkNodes: 20})
	src := mustMem(t, items(1000, "item", "Item", func(i int) string { return fmt.Sprintf(`{"n":%d}`, i) })...)
	m := newMesh(t, mesh.Options{Store: store}, "big", src)
	if _, err := m.Build(ctx); err != nil {
		t.Fatal(err)
	}
	total := count.get("PUT chunk")
	if total < 25 {
		t.Fatalf("1000 nodes in %d chunks", total)
	}
	// A node ID that starts no new chunk, and one that does.
	var plain, cut string
	for i := 0; plain == "" || cut == ""; i++ {
		id := fmt.Sprintf("%05d-new", i*7)
		if cutAfter(mesh.NodeID("big", "item", id), 20) {
			cut = id
		} else {
			plain = id
		}
	}
	steps := []struct {
		name   string
		change func()
		max    int
	}{
		{"update", func() { src.Put(rec("item", "00500", "Item", `{"n":"changed"}`)) }, 1},
		{"insert", func() { src.Put(rec("item", plain, "Item", `{}`)) }, 1},
		{"insert at a cut", func() { src.Put(rec("item", cut, "Item", `{}`)) }, 2},
		{"delete", func() { src.Remove("item", plain, "") }, 1},
	}
	for _, s := range steps {
		s.change()
		count.reset()
		if _, err := m.Build(ctx); err != nil {
			t.Fatal(err)
		}
		if got := count.get("PUT chunk"); got < 1 || got > s.max {
			t.Errorf("%s: %d chunk uploads of %d, want 1..%d", s.name, got, total, s.max)
		}
		if count.get("PUT manifest") != 1 {
			t.Errorf("%s: %s", s.name, count)
		}
	}
	reader, _ := newTestStore(t, srv, prefix, Config{})
	snap, err := reader.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.Load(ctx); err != nil || len(snap.Sources[0].Nodes) != 1001 {
		t.Fatalf("final snapshot: %v, %d nodes", err, len(snap.Sources[0].Nodes))
	}
}

// snapshotOf makes a snapshot of one source holding nodes with the given native ids.
func snapshotOf(t *testing.T, ids ...string) *mesh.Snapshot {
	t.Helper()
	var nodes []*mesh.Node
	for _, id := range ids {
		d, err := mesh.Digest("Item", "", []byte(`{"id":"`+id+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, &mesh.Node{ID: mesh.NodeID("s", "item", id), Type: "Item", Source: "s", NativeID: id, Fields: json.RawMessage(`{"id":"` + id + `"}`), Digest: d})
	}
	return &mesh.Snapshot{Version: mesh.SnapshotVersion, CreatedAt: time.Now(), Fingerprint: "f",
		Sources: []mesh.SourceSnapshot{{Name: "s", Kind: "test", Cursor: json.RawMessage(`"` + strings.Join(ids, ",") + `"`), Nodes: nodes, Count: len(nodes)}}}
}

func loadIDs(t *testing.T, srv server, prefix string) []string {
	t.Helper()
	reader, _ := newTestStore(t, srv, prefix, Config{})
	snap, err := reader.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, src := range snap.Sources {
		for _, n := range src.Nodes {
			ids = append(ids, n.NativeID)
		}
	}
	return ids
}

func TestConflictingSaves(t *testing.T) {
	srv := needServer(t)
	prefix := testPrefix(t, srv)
	ctx := context.Background()
	a, _ := newTestStore(t, srv, prefix, Config{})
	b, _ := newTestStore(t, srv, prefix, Config{})

	// Both find nothing; the first to save creates, the other is refused (If-None-Match: *).
	for _, s := range []*Store{a, b} {
		if _, err := s.Load(ctx); !errors.Is(err, mesh.ErrNoSnapshot) {
			t.Fatalf("empty prefix: %v", err)
		}
	}
	if err := a.Save(ctx, snapshotOf(t, "a1")); err != nil {
		t.Fatal(err)
	}
	if err := b.Save(ctx, snapshotOf(t, "b1")); !errors.Is(err, mesh.ErrSnapshotConflict) {
		t.Fatalf("second create: %v, want ErrSnapshotConflict", err)
	}
	if got := loadIDs(t, srv, prefix); !slices.Equal(got, []string{"a1"}) {
		t.Fatalf("after the refused create: %v", got)
	}
	// Both read a1; b saves first; a's save names a manifest that is gone (If-Match).
	for _, s := range []*Store{a, b} {
		if _, err := s.Load(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Save(ctx, snapshotOf(t, "a1", "b2")); err != nil {
		t.Fatal(err)
	}
	if err := a.Save(ctx, snapshotOf(t, "a1", "a2")); !errors.Is(err, mesh.ErrSnapshotConflict) {
		t.Fatalf("stale update: %v, want ErrSnapshotConflict", err)
	}
	if got := loadIDs(t, srv, prefix); !slices.Equal(got, []string{"a1", "b2"}) {
		t.Fatalf("after the refused update: %v", got)
	}
	// After reading again, a saves on top of b's snapshot.
	if _, err := a.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Save(ctx, snapshotOf(t, "a1", "a2", "b2")); err != nil {
		t.Fatal(err)
	}
	// A Store that saved may save again (its own write is the new base).
	if err := a.Save(ctx, snapshotOf(t, "a1", "a2", "a3", "b2")); err != nil {
		t.Fatal(err)
	}
	if got := loadIDs(t, srv, prefix); !slices.Equal(got, []string{"a1", "a2", "a3", "b2"}) {
		t.Fatalf("final: %v", got)
	}
	// The manifest was deleted behind a's back: an If-Match save is a conflict too, not a create.
	if err := srv.client(nil).RemoveObject(ctx, testBucket, prefix+"/manifest.json", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := a.Save(ctx, snapshotOf(t, "x")); !errors.Is(err, mesh.ErrSnapshotConflict) {
		t.Fatalf("save over a deleted manifest: %v", err)
	}
}

// appendSource adds one node per build as a delta: builds that lose no update accumulate every
// source's node. The first Fetch of each waits at gate, so that every build has loaded the same
// snapshot before any of them saves.
type appendSource struct {
	id    string
	gate  *sync.WaitGroup
	once  sync.Once
	calls atomic.Int32
}

func (a *appendSource) Kind() string { return "append" }

func (a *appendSource) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	a.calls.Add(1)
	a.once.Do(func() {
		a.gate.Done()
		a.gate.Wait()
	})
	err := out.Upsert(mesh.Node{ID: mesh.NodeID(req.Source, "item", a.id), Type: "Item", NativeID: a.id, Fields: json.RawMessage(`{"by":"` + a.id + `"}`)})
	return mesh.FetchResult{Delta: true, Cursor: json.RawMessage(`"` + a.id + `"`)}, err
}

// conflictCounter counts the saves its store refused.
type conflictCounter struct {
	*Store
	n *atomic.Int32
}

func (c conflictCounter) Save(ctx context.Context, s *mesh.Snapshot) error {
	err := c.Store.Save(ctx, s)
	if errors.Is(err, mesh.ErrSnapshotConflict) {
		c.n.Add(1)
	}
	return err
}

func TestConcurrentBuildsLoseNoUpdate(t *testing.T) {
	srv := needServer(t)
	prefix := testPrefix(t, srv)
	ctx := context.Background()
	const builds = 8
	var gate sync.WaitGroup
	gate.Add(builds)
	var conflicts atomic.Int32
	sources := make([]*appendSource, builds)
	meshes := make([]*mesh.Mesh, builds)
	for i := range builds {
		sources[i] = &appendSource{id: fmt.Sprintf("b%d", i), gate: &gate}
		store, _ := newTestStore(t, srv, prefix, Config{ChunkNodes: 2})
		meshes[i] = newMesh(t, mesh.Options{Store: conflictCounter{store, &conflicts}}, "shared", sources[i])
	}
	errs := make([]error, builds)
	var wg sync.WaitGroup
	for i := range builds {
		wg.Go(func() { _, errs[i] = meshes[i].Build(ctx) })
	}
	wg.Wait()

	var won, gaveUp []string
	for i, err := range errs {
		switch {
		case err == nil:
			won = append(won, sources[i].id)
		case errors.Is(err, mesh.ErrSnapshotConflict):
			gaveUp = append(gaveUp, sources[i].id) // lost all its attempts: nothing of it may be saved
		default:
			t.Fatalf("build %d: %v", i, err)
		}
	}
	// Every build loaded the empty prefix before any saved: one created the manifest, seven were refused.
	if conflicts.Load() < builds-1 {
		t.Errorf("%d conflicts, want at least %d", conflicts.Load(), builds-1)
	}
	got := loadIDs(t, srv, prefix)
	slices.Sort(won)
	if !slices.Equal(got, won) {
		t.Fatalf("snapshot holds %v; the builds that succeeded are %v (gave up: %v)", got, won, gaveUp)
	}
	t.Logf("first round: %d builds succeeded, %d gave up after 4 attempts, %d conflicts", len(won), len(gaveUp), conflicts.Load())

	// The builds that gave up try again (as a CI retry would) until they succeed.
	for round := 0; len(gaveUp) > 0; round++ {
		if round == 10 {
			t.Fatalf("builds %v never succeeded", gaveUp)
		}
		var next []string
		errs := make([]error, builds)
		var wg sync.WaitGroup
		for i, s := range sources {
			if slices.Contains(gaveUp, s.id) {
				wg.Go(func() { _, errs[i] = meshes[i].Build(ctx) })
			}
		}
		wg.Wait()
		for i, err := range errs {
			if errors.Is(err, mesh.ErrSnapshotConflict) {
				next = append(next, sources[i].id)
			} else if err != nil {
				t.Fatal(err)
			}
		}
		gaveUp = next
	}
	want := []string{"b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"}
	if got := loadIDs(t, srv, prefix); !slices.Equal(got, want) {
		t.Fatalf("final snapshot %v, want %v", got, want)
	}
	// One manifest, and every chunk it lists exists (loadIDs verified their checksums).
	manifests := 0
	for k := range listKeys(t, srv, prefix) {
		if strings.HasSuffix(k, "/manifest.json") {
			manifests++
		}
	}
	if manifests != 1 {
		t.Errorf("%d manifests", manifests)
	}
}

func TestGarbageCollection(t *testing.T) {
	srv := needServer(t)
	prefix := testPrefix(t, srv)
	ctx := context.Background()
	src := mustMem(t, items(40, "item", "Item", func(i int) string { return fmt.Sprintf(`{"n":%d}`, i) })...)
	build := func(store mesh.Store) {
		t.Helper()
		if _, err := newMesh(t, mesh.Options{Store: store}, "s", src).Build(ctx); err != nil {
			t.Fatal(err)
		}
	}
	chunkKeys := func() []string {
		var out []string
		for k := range listKeys(t, srv, prefix) {
			if strings.Contains(k, "/chunks/") {
				out = append(out, k)
			}
		}
		slices.Sort(out)
		return out
	}
	// referenced lists the chunk keys the current manifest names.
	referenced := func() []string {
		reader, _ := newTestStore(t, srv, prefix, Config{})
		if _, err := reader.Load(ctx); err != nil {
			t.Fatal(err)
		}
		var out []string
		for sum := range reader.getBase().chunks {
			out = append(out, reader.chunkKey(sum))
		}
		slices.Sort(out)
		return out
	}

	patient, _ := newTestStore(t, srv, prefix, Config{ChunkNodes: 5, GracePeriod: time.Hour})
	build(patient)
	v1 := chunkKeys()
	src.Put(rec("item", "00007", "Item", `{"n":"seven"}`))
	build(patient)
	// The chunk v1 had for item 7 is no longer listed, but it is younger than the grace period.
	if got := chunkKeys(); len(got) != len(v1)+1 {
		t.Fatalf("after a change with an hour of grace: %d chunks, had %d", len(got), len(v1))
	}
	foreign := prefix + "/chunks/README"
	if _, err := srv.client(nil).PutObject(ctx, testBucket, foreign, strings.NewReader("not a chunk"), 11, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}

	hasty, _ := newTestStore(t, srv, prefix, Config{ChunkNodes: 5, GracePeriod: time.Nanosecond})
	src.Put(rec("item", "00031", "Item", `{"n":"thirty-one"}`))
	build(hasty)
	got, want := chunkKeys(), append(referenced(), foreign)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("after collection with no grace:\n got %v\nwant %v (the listed chunks and the foreign object)", got, want)
	}
	if ids := loadIDs(t, srv, prefix); len(ids) != 40 {
		t.Errorf("snapshot after collection: %d nodes", len(ids))
	}
	// Collection is off with a negative grace period.
	off, count := newTestStore(t, srv, prefix, Config{ChunkNodes: 5, GracePeriod: -1})
	src.Put(rec("item", "00012", "Item", `{"n":"twelve"}`))
	build(off)
	if count.get("GET other") != 0 || len(chunkKeys()) != len(want)+1 {
		t.Errorf("negative grace: requests %s, %d chunks", count, len(chunkKeys()))
	}
}

func TestCorruptChunksAreDetected(t *testing.T) {
	srv := needServer(t)
	prefix := testPrefix(t, srv)
	ctx := context.Background()
	src := mustMem(t, items(20, "item", "Item", func(i int) string { return fmt.Sprintf(`{"n":%d}`, i) })...)
	store, _ := newTestStore(t, srv, prefix, Config{ChunkNodes: 5})
	if _, err := newMesh(t, mesh.Options{Store: store}, "s", src).Build(ctx); err != nil {
		t.Fatal(err)
	}
	// The victim is the first chunk; the changes below are in the last one.
	reader, _ := newTestStore(t, srv, prefix, Config{})
	if _, err := reader.Load(ctx); err != nil {
		t.Fatal(err)
	}
	listed := reader.getBase().sources["s"].Chunks
	if len(listed) < 2 {
		t.Fatalf("%d chunks", len(listed))
	}
	victim := reader.chunkKey(listed[0].SHA256)
	c := srv.client(nil)
	tamper := []struct {
		name string
		do   func() error
	}{
		{"bytes changed", func() error {
			_, err := c.PutObject(ctx, testBucket, victim, strings.NewReader("garbage"), 7, minio.PutObjectOptions{})
			return err
		}},
		{"chunk deleted", func() error { return c.RemoveObject(ctx, testBucket, victim, minio.RemoveObjectOptions{}) }},
	}
	for i, tc := range tamper {
		if err := tc.do(); err != nil {
			t.Fatal(err)
		}
		reader, _ := newTestStore(t, srv, prefix, Config{})
		snap, err := reader.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := snap.Load(ctx); !errors.Is(err, mesh.ErrCorruptSnapshot) {
			t.Errorf("%s: %v, want ErrCorruptSnapshot", tc.name, err)
		}
		// A build that needs the nodes notices, fetches everything, and saves a whole snapshot again,
		// uploading the bad chunk anew although the manifest it read lists it.
		src.Put(rec("item", "00019", "Item", fmt.Sprintf(`{"n":"changed %d"}`, i)))
		healer, _ := newTestStore(t, srv, prefix, Config{ChunkNodes: 5})
		b, err := newMesh(t, mesh.Options{Store: healer}, "s", src).Build(ctx)
		if err != nil || b.Report.SnapshotError == "" {
			t.Fatalf("%s: rebuild: %v, snapshot error %q", tc.name, err, b.Report.SnapshotError)
		}
		if ids := loadIDs(t, srv, prefix); len(ids) != 20 {
			t.Errorf("%s: healed snapshot has %d nodes", tc.name, len(ids))
		}
	}
	// A manifest that is not one.
	if _, err := c.PutObject(ctx, testBucket, prefix+"/manifest.json", strings.NewReader("{}"), 2, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Load(ctx); !errors.Is(err, mesh.ErrCorruptSnapshot) {
		t.Errorf("bad manifest: %v", err)
	}
	// A build replaces it (conditionally on that very version) with a whole snapshot.
	healer, _ := newTestStore(t, srv, prefix, Config{ChunkNodes: 5})
	b, err := newMesh(t, mesh.Options{Store: healer}, "s", src).Build(ctx)
	if err != nil || !strings.Contains(b.Report.SnapshotError, "corrupt") {
		t.Fatalf("rebuild over a bad manifest: %v, snapshot error %q", err, b.Report.SnapshotError)
	}
	if ids := loadIDs(t, srv, prefix); len(ids) != 20 {
		t.Errorf("healed snapshot has %d nodes", len(ids))
	}
}

func TestServerErrors(t *testing.T) {
	srv := needServer(t)
	ctx := context.Background()
	noBucket, _ := New(Config{Bucket: "contentmesh-no-such-bucket", Prefix: "p", Client: srv.client(nil)})
	if _, err := noBucket.Load(ctx); !errors.Is(err, mesh.ErrNotFound) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing bucket: %v", err)
	}
	bad := srv
	bad.secret = "wrong-secret"
	wrong, _ := New(Config{Bucket: testBucket, Prefix: "p", Client: bad.client(nil)})
	_, err := wrong.Load(ctx)
	if !errors.Is(err, mesh.ErrUnauthorized) || strings.Contains(err.Error(), bad.secret) {
		t.Errorf("wrong secret: %v", err)
	}
	// New's own client, configured as the CLI does it: from a URL and the environment.
	cfg, err := ParseURL("s3://" + testBucket + "/" + testPrefix(t, srv) + "?endpoint=http://" + srv.host)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Env = func(k string) (string, bool) {
		v, ok := map[string]string{"AWS_ACCESS_KEY_ID": srv.access, "AWS_SECRET_ACCESS_KEY": srv.secret, "AWS_REGION": srv.region}[k]
		return v, ok
	}
	own, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	if _, err := own.Load(ctx); !errors.Is(err, mesh.ErrNoSnapshot) {
		t.Errorf("fresh prefix through the environment's credentials: %v", err)
	}
}

// failListing answers every bucket listing with a 500.
type failListing struct{ next http.RoundTripper }

func (f failListing) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && r.URL.Query().Has("list-type") {
		return &http.Response{StatusCode: 500, Status: "500 Internal Server Error", Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	}
	return f.next.RoundTrip(r)
}

func TestFailedCollectionDoesNotFailTheSave(t *testing.T) {
	srv := needServer(t)
	prefix := testPrefix(t, srv)
	ctx := context.Background()
	client, err := minio.New(srv.host, &minio.Options{Creds: credentials.NewStaticV4(srv.access, srv.secret, ""), Region: srv.region,
		Transport: failListing{testTransport}, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	store, err := New(Config{Bucket: testBucket, Prefix: prefix, Client: client, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	store.Load(ctx)
	if err := store.Save(ctx, snapshotOf(t, "a")); err != nil {
		t.Fatalf("save: %v", err)
	}
	if !strings.Contains(logs.String(), "garbage collection failed") || !strings.Contains(logs.String(), "LIST") {
		t.Errorf("log: %s", logs.String())
	}
	if got := loadIDs(t, srv, prefix); !slices.Equal(got, []string{"a"}) {
		t.Errorf("saved %v", got)
	}
}

// TestDiskGraphBuilds: builds whose graph is on disk stream their snapshot into chunks and read the
// last one back chunk by chunk; they write the same chunks, manifest node key and outputs as builds
// in memory.
func TestDiskGraphBuilds(t *testing.T) {
	srv := needServer(t)
	ctx := context.Background()
	cms, shop := shopSources(t)
	type side struct {
		store *Store
		out   string
		m     *mesh.Mesh
	}
	var sides []side
	for _, mode := range []mesh.GraphMode{mesh.GraphMemory, mesh.GraphDisk} {
		store, _ := newTestStore(t, srv, testPrefix(t, srv), Config{ChunkNodes: 4})
		out := filepath.Join(t.TempDir(), "out")
		sides = append(sides, side{store, out, newMesh(t, mesh.Options{Store: store, Out: out, Links: shopLinks, Graph: mode}, "cms", cms, "shop", shop)})
	}
	for step := range 3 {
		var keys []string
		var graphs []string
		for _, sd := range sides {
			b, err := sd.m.Build(ctx)
			if err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			if b.Unchanged {
				t.Errorf("step %d: unchanged", step)
			}
			b.Close()
			snap, err := sd.store.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, snap.NodesKey)
			g, _ := os.ReadFile(filepath.Join(sd.out, "graph.json"))
			c, _ := os.ReadFile(filepath.Join(sd.out, "changes.json"))
			graphs = append(graphs, string(g)+string(c))
		}
		if keys[0] != keys[1] || keys[0] == "" {
			t.Errorf("step %d: node keys %q (memory) and %q (disk)", step, keys[0], keys[1])
		}
		if graphs[0] != graphs[1] || len(graphs[0]) < 1000 {
			t.Errorf("step %d: graph.json differs (%d and %d bytes)", step, len(graphs[0]), len(graphs[1]))
		}
		// Change a post, a product's handle (the links change), remove a product.
		cms.Put(rec("post", fmt.Sprintf("%05d", step), "Post", fmt.Sprintf(`{"title":"edited %d","productHandles":["h9"]}`, step)))
		shop.Put(rec("product", "00009", "Product", fmt.Sprintf(`{"handle":"h9","title":"v%d"}`, step)))
		shop.Remove("product", fmt.Sprintf("%05d", 20+step), "")
	}
}
