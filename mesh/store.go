package mesh

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// ErrNoSnapshot is returned by Store.Load when nothing was saved yet.
var ErrNoSnapshot = errors.New("no snapshot")

// Store keeps the snapshot of the last successful build: every source's nodes and cursor. The engine
// loads it before a build and saves it after. Implementations must make Save atomic: a reader sees the
// old snapshot or the new one, never a mix.
type Store interface {
	// Load returns the last saved snapshot, ErrNoSnapshot when there is none, or an error wrapping
	// ErrCorruptSnapshot when the stored data fails its checks.
	Load(ctx context.Context) (*Snapshot, error)
	// Save replaces the stored snapshot.
	Save(ctx context.Context, s *Snapshot) error
}

// StagedStore is an optional interface: a Store that can write the bulk of a snapshot (its nodes)
// before the commit point, so the engine overlaps it with writing the output folder and commits only
// once the folder is in place. Save must keep working on its own.
type StagedStore interface {
	Store
	// Stage writes everything but the commit point and returns the commit, which must read the
	// snapshot's cursors and output stamps as they are when it is called.
	Stage(ctx context.Context, s *Snapshot) (commit func(ctx context.Context) error, err error)
}

// SnapshotVersion is the version of the snapshot format this package writes and reads.
const SnapshotVersion = 1

// Snapshot is the state a build leaves for the next one.
type Snapshot struct {
	Version   int
	CreatedAt time.Time
	Sources   []SourceSnapshot // sorted by Name
	// Fingerprint identifies the engine settings that shape the graph (link rules): a build whose
	// fingerprint differs cannot reuse this snapshot's graph unchanged.
	Fingerprint string
	// NodesKey identifies the stored node set (a content address), when the store keeps nodes apart
	// from the rest; a build that changes no node hands it back so the store need not rewrite them.
	NodesKey string
	// Outputs describes the output folder written from this snapshot, so that an unchanged build can
	// reuse its files.
	Outputs *OutputStamp
	// Dangling are the graph's dangling references, reported again by an unchanged build.
	Dangling []DanglingRef
	// NodeBytes is the size of the stored nodes as the store keeps them (a DirStore's node file, an
	// S3 store's chunks), when it knows it: GraphAuto's estimate of the graph's size (see
	// Options.DiskThreshold) uses it before loading anything. 0: unknown.
	NodeBytes int64
	// Load, when set, fills every source's Nodes, which the store left unloaded (Count says how many
	// there are). The engine calls it only when it needs the nodes.
	Load func(ctx context.Context) error
	// Stream, when set, reads the nodes without holding them all in memory: it calls each for every
	// node, source by source in the order of Sources, each source's nodes in ID order, and returns
	// each's first error. A store sets it beside Load for builds whose graph is on disk; a
	// disk-backed build sets it (and leaves Nodes nil) on the snapshot it saves. A stream can fail
	// at its end (a checksum): a caller keeps nothing it read until Stream returned nil.
	Stream func(ctx context.Context, each func(source string, n *Node) error) error
}

// nodesLoaded reports whether every source's Nodes hold the snapshot's nodes.
func (s *Snapshot) nodesLoaded() bool {
	if s.Load != nil {
		return false
	}
	if s.Stream == nil {
		return true
	}
	for _, src := range s.Sources {
		if src.Nodes == nil && src.Count > 0 {
			return false
		}
	}
	return true
}

// scan calls each for every node, source by source: through Stream when the nodes are not in
// memory, else over Sources' Nodes.
func (s *Snapshot) scan(ctx context.Context, each func(source string, n *Node) error) error {
	if s.Stream != nil && !s.nodesLoaded() {
		return s.Stream(ctx, each)
	}
	if err := s.ensureNodes(ctx); err != nil {
		return err
	}
	for _, src := range s.Sources {
		for _, n := range src.Nodes {
			if err := each(src.Name, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReadNodes fills every source's Nodes when the snapshot holds them elsewhere: in its store (Load)
// or in a disk-backed build's database (Stream). Stores that need every node in memory to save
// (they cut chunks by ID, say) call it; for a graph larger than memory it holds the whole snapshot
// in memory.
func (s *Snapshot) ReadNodes(ctx context.Context) error {
	if s.Load != nil {
		return s.ensureNodes(ctx)
	}
	if s.nodesLoaded() {
		return nil
	}
	nodes := make(map[string][]*Node, len(s.Sources))
	if err := s.Stream(ctx, func(source string, n *Node) error {
		nodes[source] = append(nodes[source], n)
		return nil
	}); err != nil {
		return err
	}
	for i := range s.Sources {
		s.Sources[i].Nodes = nodes[s.Sources[i].Name]
		if s.Sources[i].Nodes == nil {
			s.Sources[i].Nodes = []*Node{}
		}
	}
	return nil
}

// OutputStamp records the files of an output folder that depend only on the graph.
type OutputStamp struct {
	Dir   string      `json:"dir"`
	Files []FileStamp `json:"files"`
}

// FileStamp is one file's size and modification time, as written.
type FileStamp struct {
	Name    string `json:"name"`
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtimeNs"`
}

// SourceSnapshot is one source's part of a snapshot.
type SourceSnapshot struct {
	Name string
	Kind string
	// Cursor is what the source's last successful Fetch returned.
	Cursor json.RawMessage
	// Count is the number of nodes.
	Count int
	// Nodes are the source's nodes as emitted (before link rules), sorted by ID; nil until loaded when
	// the snapshot has a Load function.
	Nodes []*Node
	// Linked maps the IDs of nodes that link rules changed to their final digest.
	Linked map[string]string
}

// memEstimate is the snapshot's share of a graph's estimated size in memory (Options.DiskThreshold):
// its stored nodes' bytes plus nodeMemOverhead a node; nodes in memory are measured, and 1 KiB a
// node is assumed when the store did not say.
func (s *Snapshot) memEstimate() int64 {
	if s == nil {
		return 0
	}
	if s.NodeBytes == 0 && s.nodesLoaded() {
		var total int64
		for _, src := range s.Sources {
			for _, n := range src.Nodes {
				total += nodeMemEstimate(n)
			}
		}
		return total
	}
	n := int64(s.nodeCount())
	bytes := s.NodeBytes
	if bytes == 0 {
		bytes = n << 10
	}
	return bytes + n*nodeMemOverhead
}

// nodeCount is the number of nodes the snapshot holds (0 for a nil snapshot).
func (s *Snapshot) nodeCount() int {
	if s == nil {
		return 0
	}
	total := 0
	for _, src := range s.Sources {
		total += src.Count
	}
	return total
}

// source returns the named source's snapshot, or nil.
func (s *Snapshot) source(name string) *SourceSnapshot {
	if s == nil {
		return nil
	}
	for i := range s.Sources {
		if s.Sources[i].Name == name {
			return &s.Sources[i]
		}
	}
	return nil
}

// ensureNodes loads the nodes of a lazily loaded snapshot.
func (s *Snapshot) ensureNodes(ctx context.Context) error {
	if s == nil || s.Load == nil {
		return nil
	}
	load := s.Load
	s.Load = nil
	return load(ctx)
}

// DirStore is a Store in a local directory. manifest.json is the commit point: it holds the cursors,
// counts and output stamps, and names the node file nodes-<sha256>.snap (EncodeSnapshot format,
// content-addressed by the checksum in its trailer: an unchanged node set is never rewritten, and one
// SHA-256 pass both names a file and checks it). Save writes the node file first,
// then replaces manifest.json atomically (temporary file, fsync, rename), then removes node files no
// manifest names. Load reads only the manifest; nodes are read when the engine needs them. One
// DirStore must not be shared by builds running at the same time.
type DirStore struct {
	Dir string
}

const snapshotFormat = "contentmesh-snapshot"

// NewDirStore returns a DirStore for dir; it does no I/O.
func NewDirStore(dir string) (*DirStore, error) {
	if dir == "" {
		return nil, &ConfigError{Where: "cache", Msg: "empty directory"}
	}
	return &DirStore{Dir: dir}, nil
}

func (d *DirStore) manifestPath() string { return filepath.Join(d.Dir, "manifest.json") }

// manifest is the JSON form of manifest.json.
type manifest struct {
	Format      string           `json:"format"`
	Version     int              `json:"version"`
	CreatedAt   time.Time        `json:"createdAt"`
	Fingerprint string           `json:"fingerprint"`
	Nodes       manifestNodes    `json:"nodes"`
	Outputs     *OutputStamp     `json:"outputs,omitempty"`
	Dangling    []DanglingRef    `json:"dangling,omitempty"`
	Sources     []manifestSource `json:"sources"`
}

// manifestNodes names the node file. BodySHA256 is the checksum its trailer holds (the SHA-256 of
// every line before the trailer): it identifies the file (the trailer is a function of it), so the
// file is named by it and checked with one hash, not a second one over the whole file.
type manifestNodes struct {
	File       string `json:"file"`
	BodySHA256 string `json:"bodySha256"`
	Size       int64  `json:"size"`
}

type manifestSource struct {
	Name   string            `json:"name"`
	Kind   string            `json:"kind"`
	Cursor json.RawMessage   `json:"cursor,omitempty"`
	Count  int               `json:"nodes"`
	Linked map[string]string `json:"linked,omitempty"`
}

// Load implements Store.
func (d *DirStore) Load(ctx context.Context) (*Snapshot, error) {
	data, err := os.ReadFile(d.manifestPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoSnapshot
	}
	if err != nil {
		return nil, fmt.Errorf("read snapshot %s: %w", d.manifestPath(), err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("snapshot %s: %w: %v", d.manifestPath(), ErrCorruptSnapshot, err)
	}
	if m.Format != snapshotFormat {
		return nil, fmt.Errorf("snapshot %s: %w: not a contentmesh snapshot", d.manifestPath(), ErrCorruptSnapshot)
	}
	if m.Version != SnapshotVersion {
		return nil, fmt.Errorf("snapshot %s: %w: format version %d, this build reads %d", d.manifestPath(), ErrCorruptSnapshot, m.Version, SnapshotVersion)
	}
	if m.Nodes.BodySHA256 == "" {
		// Manifests before bodySha256 named the node file by the hash of the whole file.
		return nil, fmt.Errorf("snapshot %s: %w: written by an earlier contentmesh (no bodySha256)", d.manifestPath(), ErrCorruptSnapshot)
	}
	if !validNodesFile(m.Nodes.File) {
		return nil, fmt.Errorf("snapshot %s: %w: bad node file name %q", d.manifestPath(), ErrCorruptSnapshot, m.Nodes.File)
	}
	nodesPath := filepath.Join(d.Dir, m.Nodes.File)
	st, err := os.Stat(nodesPath)
	if err != nil || st.Size() != m.Nodes.Size {
		return nil, fmt.Errorf("snapshot %s: %w: node file %s missing or of the wrong size", d.manifestPath(), ErrCorruptSnapshot, m.Nodes.File)
	}
	s := &Snapshot{Version: m.Version, CreatedAt: m.CreatedAt, Fingerprint: m.Fingerprint, NodesKey: m.Nodes.File, Outputs: m.Outputs, Dangling: m.Dangling, NodeBytes: m.Nodes.Size}
	for _, ms := range m.Sources {
		s.Sources = append(s.Sources, SourceSnapshot{Name: ms.Name, Kind: ms.Kind, Cursor: ms.Cursor, Count: ms.Count, Linked: ms.Linked})
	}
	s.Load = func(ctx context.Context) error {
		data, err := os.ReadFile(nodesPath)
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", nodesPath, err)
		}
		stored, err := DecodeSnapshot(data) // checks the trailer against the lines before it
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", nodesPath, err)
		}
		if trailerSHA(data) != m.Nodes.BodySHA256 {
			return fmt.Errorf("snapshot %s: %w: checksum mismatch", nodesPath, ErrCorruptSnapshot)
		}
		for i := range s.Sources {
			src := stored.source(s.Sources[i].Name)
			if src == nil || len(src.Nodes) != s.Sources[i].Count {
				return fmt.Errorf("snapshot %s: %w: source %q does not match the manifest", nodesPath, ErrCorruptSnapshot, s.Sources[i].Name)
			}
			s.Sources[i].Nodes = src.Nodes
		}
		return nil
	}
	s.Stream = func(ctx context.Context, each func(string, *Node) error) error {
		return streamNodesFile(ctx, nodesPath, m.Nodes.BodySHA256, s, each)
	}
	return s, nil
}

// trailerSHA returns the checksum in the trailer (the last line) of a node file that DecodeSnapshot
// accepted.
func trailerSHA(data []byte) string {
	tr := bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
	return gjson.GetBytes(data[tr:], "sha256").Str
}

// streamNodesFile reads a node file line by line, checking it against the manifest as it goes: the
// sources and counts of s, and at the end the trailer, against the lines before it and wantSHA.
func streamNodesFile(ctx context.Context, path, wantSHA string, s *Snapshot, each func(string, *Node) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", path, err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	bodyHash := sha256.New() // what the trailer covers: every line before it
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("snapshot %s: %w: %s", path, ErrCorruptSnapshot, fmt.Sprintf(format, args...))
	}
	var line []byte
	readLine := func() ([]byte, error) {
		line = line[:0]
		for {
			chunk, err := r.ReadSlice('\n')
			line = append(line, chunk...)
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF && len(line) > 0 {
				return nil, corrupt("truncated")
			}
			return line, err
		}
	}
	head, err := readLine()
	if err != nil {
		return corrupt("no header line")
	}
	h := gjson.ParseBytes(head)
	if !gjson.ValidBytes(head) || h.Get("format").Str != snapshotFormat || h.Get("version").Int() != SnapshotVersion {
		return corrupt("not a contentmesh snapshot of version %d", SnapshotVersion)
	}
	bodyHash.Write(head)
	d := nodeDecoder{intern: map[string]string{}}
	for i := range s.Sources {
		want := &s.Sources[i]
		hl, err := readLine()
		if err != nil {
			return corrupt("source %q missing", want.Name)
		}
		bodyHash.Write(hl)
		hr := gjson.ParseBytes(hl)
		if !gjson.ValidBytes(hl) || hr.Get("source").Str != want.Name || int(hr.Get("nodes").Int()) != want.Count {
			return corrupt("source %q does not match the manifest", want.Name)
		}
		for j := 0; j < want.Count; j++ {
			if j%1024 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			nl, err := readLine()
			if err != nil {
				return corrupt("source %q is missing nodes", want.Name)
			}
			bodyHash.Write(nl)
			n, err := d.decode(bytes.Clone(nl[:len(nl)-1]))
			if err != nil {
				return corrupt("source %q: node %d: %v", want.Name, j+1, err)
			}
			if err := each(want.Name, n); err != nil {
				return err
			}
		}
	}
	tl, err := readLine()
	if err != nil {
		return corrupt("truncated (no trailer)")
	}
	trailer := gjson.ParseBytes(tl)
	if sum := trailer.Get("sha256").Str; !trailer.Get("end").Bool() || sum != hex.EncodeToString(bodyHash.Sum(nil)) || sum != wantSHA {
		return corrupt("checksum mismatch")
	}
	if _, err := readLine(); err != io.EOF {
		return corrupt("data after the trailer")
	}
	return nil
}

func validNodesFile(name string) bool {
	return strings.HasPrefix(name, "nodes-") && strings.HasSuffix(name, ".snap") && !strings.ContainsAny(name, `/\`) && len(name) < 128
}

// Save implements Store.
func (d *DirStore) Save(ctx context.Context, s *Snapshot) error {
	commit, err := d.Stage(ctx, s)
	if err != nil {
		return err
	}
	return commit(ctx)
}

// Stage implements StagedStore: it writes the node file (unless the snapshot still has the stored
// one unloaded) and returns the commit, which writes manifest.json from the snapshot as it is then
// (cursors, counts, output stamps) and removes node files no manifest names.
func (d *DirStore) Stage(ctx context.Context, s *Snapshot) (func(context.Context) error, error) {
	if err := os.MkdirAll(d.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("snapshot dir: %w", err)
	}
	var nodes manifestNodes
	// The node file: reused when the snapshot still has it unloaded (nothing changed), else written.
	if s.Load != nil && validNodesFile(s.NodesKey) {
		st, err := os.Stat(filepath.Join(d.Dir, s.NodesKey))
		if sum, ok := nodesFileSHA(s.NodesKey); ok && err == nil {
			nodes = manifestNodes{File: s.NodesKey, BodySHA256: sum, Size: st.Size()}
		}
	}
	if nodes.File == "" {
		if err := s.ensureNodes(ctx); err != nil {
			return nil, err
		}
		var err error
		if nodes, err = d.writeNodes(ctx, s); err != nil {
			return nil, err
		}
		s.NodesKey = nodes.File
	}
	return func(ctx context.Context) error {
		m := manifest{Format: snapshotFormat, Version: SnapshotVersion, CreatedAt: s.CreatedAt.UTC(),
			Fingerprint: s.Fingerprint, Outputs: s.Outputs, Dangling: s.Dangling, Nodes: nodes}
		for _, src := range s.Sources {
			cursor := src.Cursor
			if len(cursor) > 0 {
				c, _, err := Canonicalize(cursor)
				if err != nil {
					return fmt.Errorf("source %q: cursor is not JSON: %w", src.Name, err)
				}
				cursor = c
			}
			count := src.Count
			if src.Nodes != nil || s.nodesLoaded() {
				count = len(src.Nodes)
			}
			m.Sources = append(m.Sources, manifestSource{Name: src.Name, Kind: src.Kind, Cursor: cursor, Count: count, Linked: src.Linked})
		}
		data, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(d.manifestPath(), func(w io.Writer) error { _, err := w.Write(append(data, '\n')); return err }); err != nil {
			return err
		}
		d.removeUnreferenced(nodes.File)
		return nil
	}, nil
}

// nodesFileSHA returns the checksum a node file's name carries (nodes-<bodySha256>.snap).
func nodesFileSHA(name string) (string, bool) {
	sum := strings.TrimSuffix(strings.TrimPrefix(name, "nodes-"), ".snap")
	if _, err := hex.DecodeString(sum); err != nil || len(sum) != 64 {
		return "", false
	}
	return sum, true
}

// writeNodes writes the node file (cursors and times left out, so equal node sets give equal
// bytes) under its content address.
func (d *DirStore) writeNodes(ctx context.Context, s *Snapshot) (manifestNodes, error) {
	bare := &Snapshot{CreatedAt: time.Unix(0, 0), Sources: make([]SourceSnapshot, len(s.Sources))}
	for i, src := range s.Sources {
		bare.Sources[i] = SourceSnapshot{Name: src.Name, Kind: src.Kind, Count: src.Count, Nodes: src.Nodes, Linked: src.Linked}
	}
	if !s.nodesLoaded() {
		bare.Stream = s.Stream
	}
	f, err := os.CreateTemp(d.Dir, ".nodes.tmp-*")
	if err != nil {
		return manifestNodes{}, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	sum, err := encodeSnapshot(ctx, &writebackWriter{f: f}, bare) // buffered inside
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return manifestNodes{}, err
	}
	name := "nodes-" + sum + ".snap"
	st, err := os.Stat(tmp)
	if err != nil {
		return manifestNodes{}, err
	}
	if err := os.Rename(tmp, filepath.Join(d.Dir, name)); err != nil {
		return manifestNodes{}, err
	}
	return manifestNodes{File: name, BodySHA256: sum, Size: st.Size()}, nil
}

// removeUnreferenced deletes node files other than keep, and leftovers of interrupted saves.
func (d *DirStore) removeUnreferenced(keep string) {
	entries, err := os.ReadDir(d.Dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		n := e.Name()
		if (validNodesFile(n) && n != keep) || strings.HasPrefix(n, ".nodes.tmp-") || n == "snapshot.v1" {
			os.Remove(filepath.Join(d.Dir, n))
		}
	}
}

// EncodeSnapshot writes s in the snapshot format: a header line (format, version, creation time),
// per source a line with its name, kind, cursor and node count followed by one line per node, and a
// trailer line with the SHA-256 of everything before it. It streams: nothing is buffered whole (a
// snapshot whose nodes are not in memory is read through its Stream).
func EncodeSnapshot(w io.Writer, s *Snapshot) error {
	_, err := encodeSnapshot(context.Background(), w, s)
	return err
}

// encodeSnapshot is EncodeSnapshot; it returns the checksum it wrote in the trailer.
func encodeSnapshot(ctx context.Context, w io.Writer, s *Snapshot) (string, error) {
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 256<<10)
	created := s.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	fmt.Fprintf(bw, `{"format":%q,"version":%d,"createdAt":%q}`+"\n",
		snapshotFormat, SnapshotVersion, created.UTC().Format(time.RFC3339Nano))
	var line []byte
	streamed := !s.nodesLoaded()
	header := func(src *SourceSnapshot) error {
		count := len(src.Nodes)
		if streamed {
			count = src.Count
		}
		line = append(line[:0], `{"source":`...)
		line = AppendString(line, src.Name)
		line = append(line, `,"kind":`...)
		line = AppendString(line, src.Kind)
		line = append(line, `,"cursor":`...)
		if len(src.Cursor) == 0 {
			line = append(line, "null"...)
		} else {
			c, _, err := Canonicalize(src.Cursor)
			if err != nil {
				return fmt.Errorf("source %q: cursor is not JSON: %w", src.Name, err)
			}
			line = append(line, c...)
		}
		line = append(line, `,"nodes":`...)
		line = strconv.AppendInt(line, int64(count), 10)
		line = append(line, `,"linked":{`...)
		keys := make([]string, 0, len(src.Linked))
		for k := range src.Linked {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				line = append(line, ',')
			}
			line = AppendString(line, k)
			line = append(line, ':')
			line = AppendString(line, src.Linked[k])
		}
		line = append(line, "}}\n"...)
		bw.Write(line)
		return nil
	}
	if streamed {
		// Headers are written as the stream reaches each source; counts are checked.
		next, left := 0, 0
		err := s.Stream(ctx, func(source string, n *Node) error {
			for left == 0 || s.Sources[next-1].Name != source {
				if left > 0 || next == len(s.Sources) {
					return fmt.Errorf("snapshot stream: source %q out of order or over its count", source)
				}
				if err := header(&s.Sources[next]); err != nil {
					return err
				}
				left = s.Sources[next].Count
				next++
			}
			left--
			line = appendNode(line[:0], n, false)
			line = append(line, '\n')
			_, err := bw.Write(line)
			return err
		})
		if err != nil {
			return "", err
		}
		if left > 0 {
			return "", fmt.Errorf("snapshot stream: source %q has fewer nodes than its count", s.Sources[next-1].Name)
		}
		for ; next < len(s.Sources); next++ {
			if s.Sources[next].Count > 0 {
				return "", fmt.Errorf("snapshot stream: source %q has fewer nodes than its count", s.Sources[next].Name)
			}
			if err := header(&s.Sources[next]); err != nil {
				return "", err
			}
		}
	} else {
		for i := range s.Sources {
			if err := header(&s.Sources[i]); err != nil {
				return "", err
			}
			for _, n := range s.Sources[i].Nodes {
				line = appendNode(line[:0], n, false)
				line = append(line, '\n')
				bw.Write(line)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	_, err := fmt.Fprintf(w, `{"end":true,"sha256":%q}`+"\n", sum)
	return sum, err
}

// DecodeSnapshot reads what EncodeSnapshot wrote. Anything else (another format, another version, a
// failed checksum, a broken line) is an error wrapping ErrCorruptSnapshot. Node fields alias data,
// which must not be modified afterwards.
func DecodeSnapshot(data []byte) (*Snapshot, error) {
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 || !gjson.ValidBytes(data[:nl]) {
		return nil, fmt.Errorf("%w: no header line", ErrCorruptSnapshot)
	}
	h := gjson.ParseBytes(data[:nl])
	if h.Get("format").Str != snapshotFormat {
		return nil, fmt.Errorf("%w: not a contentmesh snapshot", ErrCorruptSnapshot)
	}
	if v := h.Get("version").Int(); v != SnapshotVersion {
		return nil, fmt.Errorf("%w: format version %d, this build reads %d", ErrCorruptSnapshot, v, SnapshotVersion)
	}
	if len(data) < 2 || data[len(data)-1] != '\n' {
		return nil, fmt.Errorf("%w: truncated", ErrCorruptSnapshot)
	}
	tr := bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
	trailer := gjson.ParseBytes(data[tr:])
	if !trailer.Get("end").Bool() {
		return nil, fmt.Errorf("%w: truncated (no trailer)", ErrCorruptSnapshot)
	}
	sum := sha256.Sum256(data[:tr])
	if trailer.Get("sha256").Str != hex.EncodeToString(sum[:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorruptSnapshot)
	}
	created, _ := time.Parse(time.RFC3339Nano, h.Get("createdAt").Str)
	s := &Snapshot{Version: SnapshotVersion, CreatedAt: created}
	body := data[nl+1 : tr]
	var cur *SourceSnapshot
	remaining := 0
	lineNo := 1
	d := nodeDecoder{intern: map[string]string{}}
	for len(body) > 0 {
		lineNo++
		end := bytes.IndexByte(body, '\n')
		if end < 0 {
			return nil, fmt.Errorf("%w: line %d unterminated", ErrCorruptSnapshot, lineNo)
		}
		line := body[:end:end]
		body = body[end+1:]
		if remaining == 0 {
			if !gjson.ValidBytes(line) {
				return nil, fmt.Errorf("%w: line %d is not JSON", ErrCorruptSnapshot, lineNo)
			}
			r := gjson.ParseBytes(line)
			if !r.Get("source").Exists() {
				return nil, fmt.Errorf("%w: line %d: expected a source header", ErrCorruptSnapshot, lineNo)
			}
			s.Sources = append(s.Sources, SourceSnapshot{Name: r.Get("source").Str, Kind: r.Get("kind").Str})
			cur = &s.Sources[len(s.Sources)-1]
			if c := r.Get("cursor"); c.Type != gjson.Null {
				cur.Cursor = json.RawMessage(c.Raw)
			}
			remaining = int(r.Get("nodes").Int())
			cur.Nodes = make([]*Node, 0, remaining)
			r.Get("linked").ForEach(func(k, v gjson.Result) bool {
				if cur.Linked == nil {
					cur.Linked = map[string]string{}
				}
				cur.Linked[k.Str] = v.Str
				return true
			})
			continue
		}
		n, err := d.decode(line)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrCorruptSnapshot, lineNo, err)
		}
		cur.Nodes = append(cur.Nodes, n)
		remaining--
	}
	if remaining != 0 {
		return nil, fmt.Errorf("%w: source %q is missing %d nodes", ErrCorruptSnapshot, cur.Name, remaining)
	}
	return s, nil
}

// nodeDecoder reads node lines in the fixed key order appendNode writes, without a general JSON
// parser; fields alias the line. Lines in another form fall back to decodeNodeLine.
type nodeDecoder struct {
	p      []byte
	intern map[string]string // types, sources, locales: few distinct values (nil: no interning)
}

func (d *nodeDecoder) decode(line []byte) (*Node, error) {
	d.p = line
	n := &Node{}
	var ts string
	ok := d.lit(`{"id":`) && d.str(&n.ID, false) &&
		d.lit(`,"type":`) && d.str(&n.Type, true) &&
		d.lit(`,"source":`) && d.str(&n.Source, true) &&
		d.lit(`,"nativeId":`) && d.str(&n.NativeID, false) &&
		d.lit(`,"locale":`) && d.str(&n.Locale, true) &&
		d.lit(`,"updatedAt":`) && d.str(&ts, false) &&
		d.lit(`,"fields":`)
	if ok {
		v := skipValue(d.p)
		if v <= 0 {
			ok = false
		} else {
			n.Fields = json.RawMessage(d.p[:v:v])
			d.p = d.p[v:]
		}
	}
	ok = ok && d.lit(`,"refs":[`)
	for ok && len(d.p) > 0 && d.p[0] != ']' {
		if len(n.Refs) > 0 {
			ok = d.lit(",")
		}
		var r Ref
		ok = ok && d.lit(`{"field":`) && d.str(&r.Field, false) && d.lit(`,"to":`) && d.str(&r.To, false) && d.lit("}")
		n.Refs = append(n.Refs, r)
	}
	ok = ok && d.lit(`],"backrefs":[],"digest":`) && d.str(&n.Digest, false) && d.lit("}") && len(d.p) == 0
	if !ok {
		return decodeNodeLine(line)
	}
	if ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return nil, err
		}
		n.UpdatedAt = t
	}
	if n.ID == "" || !strings.HasPrefix(n.Digest, "sha256:") {
		return nil, errors.New("node without id or digest")
	}
	return n, nil
}

func (d *nodeDecoder) lit(s string) bool {
	if !bytes.HasPrefix(d.p, []byte(s)) {
		return false
	}
	d.p = d.p[len(s):]
	return true
}

// str reads a JSON string without escapes (others make the caller fall back).
func (d *nodeDecoder) str(dst *string, intern bool) bool {
	if len(d.p) == 0 || d.p[0] != '"' {
		return false
	}
	end := bytes.IndexByte(d.p[1:], '"')
	if end < 0 {
		return false
	}
	raw := d.p[1 : end+1]
	if bytes.IndexByte(raw, '\\') >= 0 {
		return false
	}
	if intern && d.intern != nil {
		v, ok := d.intern[string(raw)]
		if !ok {
			v = string(raw)
			d.intern[v] = v
		}
		*dst = v
	} else {
		*dst = string(raw)
	}
	d.p = d.p[end+2:]
	return true
}

// skipValue returns the length of the JSON object or array at the start of b (which must be valid
// canonical JSON), or -1.
func skipValue(b []byte) int {
	if len(b) == 0 || (b[0] != '{' && b[0] != '[') {
		return -1
	}
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			// Leave i on the closing quote; eight bytes at a time while none is '"' or '\\'.
			i++
			for i < len(b) {
				for i+8 <= len(b) {
					w := binary.LittleEndian.Uint64(b[i:])
					q := w ^ 0x2222222222222222
					bs := w ^ 0x5c5c5c5c5c5c5c5c
					if ((q-0x0101010101010101)&^q|(bs-0x0101010101010101)&^bs)&0x8080808080808080 != 0 {
						break
					}
					i += 8
				}
				if i >= len(b) || b[i] == '"' {
					break
				}
				if b[i] == '\\' {
					i++
				}
				i++
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// decodeNodeLine reads one node in contract JSON form.
func decodeNodeLine(line []byte) (*Node, error) {
	if !gjson.ValidBytes(line) {
		return nil, errors.New("not JSON")
	}
	n := &Node{}
	var err error
	gjson.ParseBytes(line).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			n.ID = v.Str
		case "type":
			n.Type = v.Str
		case "source":
			n.Source = v.Str
		case "nativeId":
			n.NativeID = v.Str
		case "locale":
			n.Locale = v.Str
		case "updatedAt":
			if v.Str != "" {
				n.UpdatedAt, err = time.Parse(time.RFC3339Nano, v.Str)
			}
		case "fields":
			n.Fields = json.RawMessage(v.Raw)
		case "refs":
			if arr := v.Array(); len(arr) > 0 {
				n.Refs = make([]Ref, len(arr))
				for i, r := range arr {
					n.Refs[i] = Ref{Field: r.Get("field").Str, To: r.Get("to").Str}
				}
			}
		case "digest":
			n.Digest = v.Str
		}
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	if n.ID == "" || !strings.HasPrefix(n.Digest, "sha256:") {
		return nil, errors.New("node without id or digest")
	}
	return n, nil
}

// writeFileAtomic writes a file through a temporary file in the same directory, syncs it, and renames
// it into place, so a crash leaves the old file or the new one.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	syncDir(dir)
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
