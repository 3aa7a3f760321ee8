package s3store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"

	"github.com/contentmesh/contentmesh/mesh"
)

// manifestFormat names the manifest.json format.
const manifestFormat = "contentmesh-s3-snapshot"

// manifest is the JSON form of <prefix>/manifest.json.
type manifest struct {
	Format      string             `json:"format"`
	Version     int                `json:"version"`
	CreatedAt   time.Time          `json:"createdAt"`
	Fingerprint string             `json:"fingerprint"`
	NodesKey    string             `json:"nodesKey"`
	Outputs     *mesh.OutputStamp  `json:"outputs,omitempty"`
	Dangling    []mesh.DanglingRef `json:"dangling,omitempty"`
	Sources     []manifestSource   `json:"sources"`
}

type manifestSource struct {
	Name   string          `json:"name"`
	Kind   string          `json:"kind"`
	Cursor json.RawMessage `json:"cursor,omitempty"`
	Count  int             `json:"nodes"`
	Chunks []chunkRef      `json:"chunks"`
}

// chunkRef names one chunk: its content address, node count and size.
type chunkRef struct {
	SHA256 string `json:"sha256"`
	Nodes  int    `json:"nodes"`
	Size   int64  `json:"size"`
}

// nodesKey is the content address of the node set: a digest of every source's chunk list.
func (m *manifest) nodesKey() string {
	h := sha256.New()
	for _, s := range m.Sources {
		fmt.Fprintf(h, "source %q %q %d\n", s.Name, s.Kind, s.Count)
		for _, c := range s.Chunks {
			fmt.Fprintf(h, "chunk %s %d %d\n", c.SHA256, c.Nodes, c.Size)
		}
	}
	return "chunks-" + hex.EncodeToString(h.Sum(nil))
}

func encodeManifest(m *manifest) ([]byte, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// decodeManifest parses and checks a manifest; anything wrong is an error wrapping
// mesh.ErrCorruptSnapshot.
func decodeManifest(data []byte) (*manifest, error) {
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: manifest is not JSON: %v", mesh.ErrCorruptSnapshot, err)
	}
	if m.Format != manifestFormat {
		return nil, fmt.Errorf("%w: not a contentmesh S3 snapshot manifest", mesh.ErrCorruptSnapshot)
	}
	if m.Version != mesh.SnapshotVersion {
		return nil, fmt.Errorf("%w: format version %d, this build reads %d", mesh.ErrCorruptSnapshot, m.Version, mesh.SnapshotVersion)
	}
	for _, s := range m.Sources {
		total := 0
		for _, c := range s.Chunks {
			if !validSHA(c.SHA256) || c.Nodes < 1 || c.Size < 1 {
				return nil, fmt.Errorf("%w: source %q: bad chunk entry %+v", mesh.ErrCorruptSnapshot, s.Name, c)
			}
			total += c.Nodes
		}
		if total != s.Count {
			return nil, fmt.Errorf("%w: source %q: chunks hold %d nodes, the manifest says %d", mesh.ErrCorruptSnapshot, s.Name, total, s.Count)
		}
	}
	if m.NodesKey != m.nodesKey() {
		return nil, fmt.Errorf("%w: manifest nodesKey does not match its chunk list", mesh.ErrCorruptSnapshot)
	}
	return &m, nil
}

// validSHA reports whether s is a lowercase hex SHA-256.
func validSHA(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// splitNodes cuts a source's nodes (in ID order) into chunks of about target nodes. A chunk ends
// after a node whose ID hashes to 0 modulo target, or when it reaches four times target, so the cut
// points depend on the IDs around them and not on positions: adding or removing a node moves no
// cut point elsewhere.
func splitNodes(nodes []*mesh.Node, target int) [][]*mesh.Node {
	var out [][]*mesh.Node
	start := 0
	for i, n := range nodes {
		if i+1-start >= 4*target || cutAfter(n.ID, target) {
			out = append(out, nodes[start:i+1:i+1])
			start = i + 1
		}
	}
	if start < len(nodes) {
		out = append(out, nodes[start:len(nodes):len(nodes)])
	}
	return out
}

// cutAfter reports whether a chunk ends after the node with this ID: FNV-1a, then a 64-bit
// finalizer so that IDs differing in one trailing character spread over every remainder.
func cutAfter(id string, target int) bool {
	if target <= 1 {
		return true
	}
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h%uint64(target) == 0
}

// encodeChunk writes one chunk: the mesh.EncodeSnapshot format with a single source holding the
// chunk's nodes and their link digests, with a fixed creation time and no cursor, so equal nodes give
// equal bytes.
func encodeChunk(name, kind string, nodes []*mesh.Node, linked map[string]string) ([]byte, error) {
	var sub map[string]string
	for _, n := range nodes {
		if d, ok := linked[n.ID]; ok {
			if sub == nil {
				sub = map[string]string{}
			}
			sub[n.ID] = d
		}
	}
	var buf bytes.Buffer
	err := mesh.EncodeSnapshot(&buf, &mesh.Snapshot{
		CreatedAt: time.Unix(0, 0).UTC(),
		Sources:   []mesh.SourceSnapshot{{Name: name, Kind: kind, Nodes: nodes, Linked: sub}},
	})
	return buf.Bytes(), err
}

// writeChunks encodes every source's chunks into m, uploading those that the base manifest does not
// list. Encoding, hashing and uploading run Concurrency chunks at a time; each chunk's bytes are
// dropped once it is done.
func (s *Store) writeChunks(ctx context.Context, snap *mesh.Snapshot, m *manifest, b base) error {
	type job struct {
		src, idx int
		nodes    []*mesh.Node
	}
	var jobs []job
	for i := range snap.Sources {
		src := &snap.Sources[i]
		nodes := src.Nodes
		if !slices.IsSortedFunc(nodes, func(a, c *mesh.Node) int { return strings.Compare(a.ID, c.ID) }) {
			nodes = slices.Clone(nodes)
			slices.SortFunc(nodes, func(a, c *mesh.Node) int { return strings.Compare(a.ID, c.ID) })
		}
		parts := splitNodes(nodes, s.chunkNodes)
		m.Sources[i].Count = len(nodes)
		m.Sources[i].Chunks = make([]chunkRef, len(parts))
		for j, p := range parts {
			jobs = append(jobs, job{i, j, p})
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.concurrency)
	for _, j := range jobs {
		g.Go(func() error {
			ref, err := s.saveChunk(gctx, &snap.Sources[j.src], j.nodes, b)
			m.Sources[j.src].Chunks[j.idx] = ref
			return err
		})
	}
	return g.Wait()
}

// saveChunk encodes one chunk of a source's nodes and uploads it unless the base manifest lists it.
func (s *Store) saveChunk(ctx context.Context, src *mesh.SourceSnapshot, nodes []*mesh.Node, b base) (chunkRef, error) {
	data, err := encodeChunk(src.Name, src.Kind, nodes, src.Linked)
	if err != nil {
		return chunkRef{}, fmt.Errorf("source %q: %w", src.Name, err)
	}
	sum := sha256.Sum256(data)
	ref := chunkRef{SHA256: hex.EncodeToString(sum[:]), Nodes: len(nodes), Size: int64(len(data))}
	if b.chunks[ref.SHA256] {
		return ref, nil // listed by the manifest this save replaces: it exists
	}
	// Not listed: upload it even if an identical object exists, which refreshes its LastModified so
	// that garbage collection leaves it alone for the grace period.
	key := s.chunkKey(ref.SHA256)
	if _, err := s.put(ctx, key, data, minio.PutObjectOptions{ContentType: "application/x-ndjson", DisableContentSha256: true}); err != nil {
		return ref, s.opError("PUT", key, err)
	}
	return ref, nil
}

// loadNodes fetches every chunk the manifest lists (Concurrency at a time), checks each against its
// content address and the manifest, and fills the snapshot's sources.
func (s *Store) loadNodes(ctx context.Context, m *manifest, snap *mesh.Snapshot) error {
	type result struct {
		nodes  []*mesh.Node
		linked map[string]string
	}
	results := make([][]result, len(m.Sources))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.concurrency)
	for i, src := range m.Sources {
		results[i] = make([]result, len(src.Chunks))
		for j, ref := range src.Chunks {
			g.Go(func() error {
				dec, err := s.fetchChunk(gctx, src.Name, ref)
				if err != nil {
					return err
				}
				results[i][j] = result{dec.Nodes, dec.Linked}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for i, src := range m.Sources {
		nodes := make([]*mesh.Node, 0, src.Count)
		var linked map[string]string
		for _, r := range results[i] {
			nodes = append(nodes, r.nodes...)
			for k, v := range r.linked {
				if linked == nil {
					linked = make(map[string]string)
				}
				linked[k] = v
			}
		}
		for k := 1; k < len(nodes); k++ {
			if nodes[k-1].ID >= nodes[k].ID {
				return fmt.Errorf("%s: %w: source %q: chunks out of ID order at %s", s.String(), mesh.ErrCorruptSnapshot, src.Name, nodes[k].ID)
			}
		}
		snap.Sources[i].Nodes = nodes
		snap.Sources[i].Linked = linked
	}
	return nil
}

// fetchChunk reads one chunk and checks its size, SHA-256, source and node count.
func (s *Store) fetchChunk(ctx context.Context, source string, ref chunkRef) (*mesh.SourceSnapshot, error) {
	key := s.chunkKey(ref.SHA256)
	body, _, _, err := s.core.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		if isNoSuchKey(err) {
			s.distrust(ref.SHA256)
			return nil, fmt.Errorf("%s: %w: chunk missing", s.url(key), mesh.ErrCorruptSnapshot)
		}
		return nil, s.opError("GET", key, err)
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, ref.Size+1))
	if err != nil {
		return nil, s.opError("GET", key, err)
	}
	sum := sha256.Sum256(data)
	if int64(len(data)) != ref.Size || hex.EncodeToString(sum[:]) != ref.SHA256 {
		s.distrust(ref.SHA256)
		return nil, fmt.Errorf("%s: %w: content does not match its address", s.url(key), mesh.ErrCorruptSnapshot)
	}
	dec, err := mesh.DecodeSnapshot(data)
	if err != nil {
		s.distrust(ref.SHA256)
		return nil, fmt.Errorf("%s: %w", s.url(key), err)
	}
	if len(dec.Sources) != 1 || dec.Sources[0].Name != source || len(dec.Sources[0].Nodes) != ref.Nodes {
		s.distrust(ref.SHA256)
		return nil, fmt.Errorf("%s: %w: not the chunk of source %q with %d nodes the manifest lists", s.url(key), mesh.ErrCorruptSnapshot, source, ref.Nodes)
	}
	return &dec.Sources[0], nil
}

// distrust drops a chunk that failed its checks from the set Save may skip, so that the next Save
// uploads it again when it still needs it (a build that found the snapshot corrupt heals it).
func (s *Store) distrust(sum string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.base.chunks[sum] {
		c := maps.Clone(s.base.chunks) // copy on write: Saves in flight hold the old map
		delete(c, sum)
		s.base.chunks = c
	}
}

// streamed reports whether the snapshot's nodes are not in memory but in its Stream (a disk-backed
// build's snapshot).
func streamed(snap *mesh.Snapshot) bool {
	if snap.Load != nil || snap.Stream == nil {
		return false
	}
	for _, src := range snap.Sources {
		if src.Nodes == nil && src.Count > 0 {
			return true
		}
	}
	return false
}

// writeChunksStreamed is writeChunks for a snapshot read through its Stream: each chunk is cut,
// encoded and uploaded as the nodes go by, Concurrency chunks at a time, so memory holds a few
// chunks rather than the snapshot.
func (s *Store) writeChunksStreamed(ctx context.Context, snap *mesh.Snapshot, m *manifest, b base) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.concurrency)
	var mu sync.Mutex
	refs := make([][]chunkRef, len(snap.Sources))
	// upload takes a slot for the chunk's ref, then waits for a free upload (never holding mu).
	upload := func(si int, nodes []*mesh.Node) {
		mu.Lock()
		idx := len(refs[si])
		refs[si] = append(refs[si], chunkRef{})
		mu.Unlock()
		src := &snap.Sources[si]
		g.Go(func() error {
			ref, err := s.saveChunk(gctx, src, nodes, b)
			mu.Lock()
			refs[si][idx] = ref
			mu.Unlock()
			return err
		})
	}
	si := -1
	var cur []*mesh.Node
	counts := make([]int, len(snap.Sources))
	err := snap.Stream(gctx, func(source string, n *mesh.Node) error {
		if si < 0 || snap.Sources[si].Name != source {
			if len(cur) > 0 {
				upload(si, cur)
				cur = nil
			}
			for si++; si < len(snap.Sources) && snap.Sources[si].Name != source; si++ {
			}
			if si == len(snap.Sources) {
				return fmt.Errorf("snapshot stream: source %q out of order", source)
			}
		}
		cur = append(cur, n)
		counts[si]++
		if len(cur) >= 4*s.chunkNodes || cutAfter(n.ID, s.chunkNodes) {
			upload(si, cur)
			cur = nil
		}
		return nil
	})
	if err == nil && len(cur) > 0 {
		upload(si, cur)
	}
	if werr := g.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		return err
	}
	for i := range m.Sources {
		m.Sources[i].Count = counts[i]
		m.Sources[i].Chunks = refs[i]
		if m.Sources[i].Chunks == nil {
			m.Sources[i].Chunks = []chunkRef{}
		}
	}
	return nil
}

// streamNodes is the snapshot's Stream: the chunks are fetched Concurrency at a time and their nodes
// handed on in order, each source's link digests filled in (into one map per source, made before its
// first node) as its chunks arrive.
func (s *Store) streamNodes(ctx context.Context, m *manifest, snap *mesh.Snapshot, each func(string, *mesh.Node) error) error {
	for i, src := range m.Sources {
		if snap.Sources[i].Linked == nil {
			snap.Sources[i].Linked = map[string]string{}
		}
		linked := snap.Sources[i].Linked
		last := ""
		for start := 0; start < len(src.Chunks); start += s.concurrency {
			window := src.Chunks[start:min(len(src.Chunks), start+s.concurrency)]
			decoded := make([]*mesh.SourceSnapshot, len(window))
			g, gctx := errgroup.WithContext(ctx)
			for j, ref := range window {
				g.Go(func() error {
					dec, err := s.fetchChunk(gctx, src.Name, ref)
					decoded[j] = dec
					return err
				})
			}
			if err := g.Wait(); err != nil {
				return err
			}
			for _, dec := range decoded {
				for k, v := range dec.Linked {
					linked[k] = v
				}
				for _, n := range dec.Nodes {
					if n.ID <= last {
						return fmt.Errorf("%s: %w: source %q: chunks out of ID order at %s", s.String(), mesh.ErrCorruptSnapshot, src.Name, n.ID)
					}
					last = n.ID
					if err := each(src.Name, n); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}
