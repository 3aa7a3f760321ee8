package s3store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in   string
		want Config
		err  string
	}{
		{in: "s3://bucket", want: Config{Bucket: "bucket"}},
		{in: "s3://bucket/sites/blog/", want: Config{Bucket: "bucket", Prefix: "sites/blog"}},
		{in: "s3://bkt/p?endpoint=http://127.0.0.1:7070&region=eu-west-1", want: Config{Bucket: "bkt", Prefix: "p", Endpoint: "http://127.0.0.1:7070", Region: "eu-west-1"}},
		{in: "s3://bkt/p?insecure=1&chunkNodes=100&grace=30m&concurrency=3", want: Config{Bucket: "bkt", Prefix: "p", Insecure: true, ChunkNodes: 100, GracePeriod: 30 * time.Minute, Concurrency: 3}},
		{in: "s3://bkt/p?grace=-1s", want: Config{Bucket: "bkt", Prefix: "p", GracePeriod: -time.Second}},
		{in: "gs://b/p", err: `scheme "gs"`},
		{in: "s3:///p", err: "without a bucket"},
		{in: "s3://key:secret@bkt/p", err: "credentials do not belong"},
		{in: "s3://bkt/p?endpont=x", err: `unknown parameter "endpont"`},
		{in: "s3://bkt/p?chunkNodes=0", err: "chunkNodes"},
		{in: "s3://bkt/p?grace=soon", err: "grace"},
		{in: "s3://bkt/p?insecure=maybe", err: "insecure"},
	}
	for _, tt := range tests {
		got, err := ParseURL(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, mesh.ErrInvalidConfig) {
				t.Errorf("%s: err %v, want %q", tt.in, err, tt.err)
			}
			if strings.Contains(fmt.Sprint(err), "secret") && strings.Contains(tt.in, "secret@") {
				t.Errorf("%s: the secret is in the error", tt.in)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestNewValidatesAndReadsTheEnvironment(t *testing.T) {
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	bad := []struct {
		cfg  Config
		want string
	}{
		{Config{Bucket: ""}, "bucket"},
		{Config{Bucket: "-bad-"}, "bucket"},
		{Config{Bucket: "bkt", Prefix: "a//b"}, "prefix"},
		{Config{Bucket: "bkt", Prefix: "a/../b"}, "prefix"},
		{Config{Bucket: "bkt", ChunkNodes: -1}, "chunkNodes"},
		{Config{Bucket: "bkt", Concurrency: -1}, "concurrency"},
		{Config{Bucket: "bkt", Endpoint: "ftp://host"}, "scheme"},
		{Config{Bucket: "bkt", Endpoint: "http://user:pw@host"}, "credentials"},
		{Config{Bucket: "bkt", Endpoint: "http://host/path"}, "scheme://host"},
		{Config{Bucket: "bkt", AccessKey: "only-the-key"}, "both"},
		{Config{Bucket: "bkt", Env: env(map[string]string{"AWS_SECRET_ACCESS_KEY": "x"})}, "both"},
	}
	for _, tt := range bad {
		if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, mesh.ErrInvalidConfig) {
			t.Errorf("%+v: %v, want an error about %s", tt.cfg, err, tt.want)
		}
	}
	good := []struct {
		cfg            Config
		endpoint       string
		prefix, region string
	}{
		{Config{Bucket: "bkt", Env: env(nil)}, "https://s3.amazonaws.com", "", ""},
		{Config{Bucket: "bkt", Prefix: "/x/y/", Env: env(map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"})}, "http://127.0.0.1:9000", "x/y/", "us-east-1"},
		{Config{Bucket: "bkt", Env: env(map[string]string{"AWS_ENDPOINT_URL_S3": "https://s3.example.com", "AWS_ENDPOINT_URL": "http://other", "AWS_REGION": "eu-central-1"})}, "https://s3.example.com", "", "eu-central-1"},
		{Config{Bucket: "bkt", Endpoint: "minio.local:9000", Insecure: true, Env: env(nil)}, "http://minio.local:9000", "", "us-east-1"},
		{Config{Bucket: "bkt", Endpoint: "minio.local:9000", Region: "r1", Env: env(map[string]string{"AWS_REGION": "r2"})}, "https://minio.local:9000", "", "r1"},
	}
	for _, tt := range good {
		s, err := New(tt.cfg)
		if err != nil {
			t.Errorf("%+v: %v", tt.cfg, err)
			continue
		}
		if got := s.client.EndpointURL().String(); got != tt.endpoint || s.prefix != tt.prefix {
			t.Errorf("%+v: endpoint %s prefix %q", tt.cfg, got, s.prefix)
		}
		if s.chunkNodes != DefaultChunkNodes || s.grace != DefaultGracePeriod || s.concurrency != DefaultConcurrency {
			t.Errorf("defaults not applied: %+v", s)
		}
		s.Close()
	}
	s, _ := New(Config{Bucket: "bkt", Prefix: "sites/blog", Env: env(nil)})
	if s.String() != "s3://bkt/sites/blog" || s.manifestKey() != "sites/blog/manifest.json" || s.chunkKey("ab") != "sites/blog/chunks/ab" {
		t.Errorf("keys: %s %s %s", s, s.manifestKey(), s.chunkKey("ab"))
	}
	root, _ := New(Config{Bucket: "bkt", Env: env(nil)})
	if root.manifestKey() != "manifest.json" || root.chunkKey("ab") != "chunks/ab" {
		t.Errorf("root keys: %s %s", root.manifestKey(), root.chunkKey("ab"))
	}
}

func testNodes(n int, id func(i int) string) []*mesh.Node {
	out := make([]*mesh.Node, n)
	for i := range out {
		out[i] = &mesh.Node{ID: id(i)}
	}
	return out
}

func chunkIDs(parts [][]*mesh.Node) []string {
	var out []string
	for _, p := range parts {
		var ids []string
		for _, n := range p {
			ids = append(ids, n.ID)
		}
		out = append(out, strings.Join(ids, ","))
	}
	return out
}

func TestSplitNodesCutsByID(t *testing.T) {
	nodes := testNodes(5000, func(i int) string { return fmt.Sprintf("src/item/%06d", i*2) })
	parts := splitNodes(nodes, 50)
	total := 0
	for _, p := range parts {
		total += len(p)
		if len(p) > 200 {
			t.Errorf("a chunk of %d nodes (max 200)", len(p))
		}
	}
	if total != len(nodes) {
		t.Fatalf("%d nodes in chunks, want %d", total, len(nodes))
	}
	if n := len(parts); n < 5000/50/2 || n > 5000/50*2 {
		t.Errorf("%d chunks for an average of 50 nodes", n)
	}
	// Inserting a node that is not a cut point changes exactly the chunk around it.
	var insert string
	for i := 1; ; i += 2 {
		if id := fmt.Sprintf("src/item/%06d", i); !cutAfter(id, 50) {
			insert = id
			break
		}
	}
	more := append(slices.Clone(nodes), &mesh.Node{ID: insert})
	slices.SortFunc(more, func(a, b *mesh.Node) int { return strings.Compare(a.ID, b.ID) })
	before, after := chunkIDs(parts), chunkIDs(splitNodes(more, 50))
	changed := 0
	for _, c := range after {
		if !slices.Contains(before, c) {
			changed++
		}
	}
	if changed != 1 || len(after) != len(before) {
		t.Errorf("an insert changed %d chunks (%d -> %d chunks)", changed, len(before), len(after))
	}
	// Degenerate targets.
	if got := len(splitNodes(nodes[:7], 1)); got != 7 {
		t.Errorf("target 1: %d chunks", got)
	}
	if got := splitNodes(nil, 10); got != nil {
		t.Errorf("no nodes: %v", got)
	}
}

func TestDecodeManifest(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	good := &manifest{Format: manifestFormat, Version: mesh.SnapshotVersion, Sources: []manifestSource{
		{Name: "s", Kind: "k", Count: 3, Chunks: []chunkRef{{SHA256: sum, Nodes: 2, Size: 10}, {SHA256: strings.Repeat("cd", 32), Nodes: 1, Size: 5}}},
	}}
	good.NodesKey = good.nodesKey()
	data, _ := encodeManifest(good)
	m, err := decodeManifest(data)
	if err != nil || m.NodesKey != good.NodesKey || len(m.Sources[0].Chunks) != 2 {
		t.Fatalf("round trip: %v %+v", err, m)
	}
	corrupt := map[string]string{
		"not json":       `{`,
		"other format":   strings.Replace(string(data), manifestFormat, "x", 1),
		"other version":  strings.Replace(string(data), `"version":1`, `"version":9`, 1),
		"count mismatch": strings.Replace(string(data), `"nodes":3`, `"nodes":4`, 1),
		"bad sha":        strings.Replace(string(data), sum, strings.Repeat("AB", 32), 1),
		"nodes key":      strings.Replace(string(data), `"size":10`, `"size":11`, 1),
		"empty chunk":    strings.Replace(strings.Replace(string(data), `"nodes":2`, `"nodes":0`, 1), `"nodes":3`, `"nodes":1`, 1),
	}
	for name, text := range corrupt {
		if text == string(data) {
			t.Fatalf("%s: the edit did not apply", name)
		}
		if _, err := decodeManifest([]byte(text)); !errors.Is(err, mesh.ErrCorruptSnapshot) {
			t.Errorf("%s: %v, want ErrCorruptSnapshot", name, err)
		}
	}
}

// FuzzDecodeManifest: a manifest comes from outside (any writer of the bucket); decoding never
// panics, and what it accepts is consistent.
func FuzzDecodeManifest(f *testing.F) {
	m := &manifest{Format: manifestFormat, Version: mesh.SnapshotVersion, Sources: []manifestSource{
		{Name: "s", Count: 1, Chunks: []chunkRef{{SHA256: strings.Repeat("0", 64), Nodes: 1, Size: 1}}}}}
	m.NodesKey = m.nodesKey()
	data, _ := encodeManifest(m)
	f.Add(data)
	f.Add([]byte(`{"format":"contentmesh-s3-snapshot","version":1,"sources":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeManifest(data)
		if err != nil {
			if !errors.Is(err, mesh.ErrCorruptSnapshot) {
				t.Fatalf("error without ErrCorruptSnapshot: %v", err)
			}
			return
		}
		if m.NodesKey != m.nodesKey() {
			t.Fatal("accepted a manifest whose nodesKey does not match")
		}
		for _, s := range m.Sources {
			n := 0
			for _, c := range s.Chunks {
				if !validSHA(c.SHA256) || c.Nodes < 1 {
					t.Fatalf("accepted chunk %+v", c)
				}
				n += c.Nodes
			}
			if n != s.Count {
				t.Fatal("accepted a count mismatch")
			}
		}
	})
}
