// Package s3store is a mesh.Store in S3-compatible object storage (AWS S3, MinIO, Versity S3
// Gateway, SeaweedFS, Cloudflare R2, ...), so that many machines share one snapshot: build servers,
// CI runners, and serverless functions that only read the graph (`contentmesh pull`).
//
// # Layout
//
// Under the prefix, two kinds of objects:
//
//	<prefix>/manifest.json        the commit point: cursors, counts, output stamps, and the list of chunks
//	<prefix>/chunks/<sha256>      a run of one source's nodes, named by the SHA-256 of its bytes
//
// A chunk holds about ChunkNodes nodes of one source in ID order, in the mesh.EncodeSnapshot format
// (one source header line with the link digests of its nodes, one line per node, a checksum trailer).
// Where a chunk ends is decided by a hash of the node ID, not by position, so when one node of a
// large source is added, changed or removed only the chunk around it gets new bytes and a new name:
// the other chunks are neither re-encoded under another name nor uploaded again.
//
// # Commit and concurrency
//
// Save uploads the chunks the manifest it read does not list, then writes the manifest with one
// single-part conditional PUT: If-Match with the ETag that Load read, or If-None-Match: * when there
// was no manifest. A reader therefore sees the old manifest or the new one, and every chunk that
// either lists exists. When another build saved first, the server answers 412 and Save returns an error
// wrapping mesh.ErrSnapshotConflict: the engine then builds again on top of the winner's snapshot.
// The manifest is never sent as a multipart upload (minio-go v7.4.1 would send the condition only when
// such an upload starts, and AWS checks it when it completes).
//
// A Store remembers the manifest it last read or wrote (that is what Save's condition is made of), so
// one Store value serves one build at a time, like mesh.DirStore. Concurrent builds, in one process
// or many, each use their own Store; Stores may share a *minio.Client.
//
// A chunk that fails its checks when the engine loads the nodes, and a manifest that fails its own,
// make the engine fetch everything; the Save that follows uploads the bad chunks again and replaces
// that very manifest version (still conditionally), so a damaged snapshot heals with the next build.
//
// # Garbage collection
//
// After a successful Save, chunks that the new manifest does not list and that were last written
// more than GracePeriod ago are deleted. The grace period protects builds still running: a build only
// relies on chunks that the manifest it read lists (if they are collected, the manifest changed and
// its conditional PUT fails) or that it wrote itself during the build (their LastModified is recent;
// Save re-uploads a chunk the manifest it read does not list even when an identical object exists,
// to refresh it). GracePeriod must therefore exceed the longest build; the default is an hour.
//
// # Credentials
//
// Config fields first; then the standard AWS environment variables (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION or AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3 or
// AWS_ENDPOINT_URL); without keys, the shared credentials file (~/.aws/credentials, AWS_PROFILE) and
// then the instance, container or pod role, as the AWS SDKs do. Secrets never appear in errors.
package s3store

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/contentmesh/contentmesh/mesh"
)

// Defaults of Config.
const (
	DefaultChunkNodes  = 5000
	DefaultGracePeriod = time.Hour
	DefaultConcurrency = 8
)

// maxManifestBytes bounds what Load reads for a manifest (a manifest lists chunks, not nodes: a
// million nodes make about 200 chunks and 30 KB).
const maxManifestBytes = 64 << 20

// Config configures a Store. Empty fields take the AWS environment variables, then the defaults.
type Config struct {
	// Bucket is the bucket's name; it must exist.
	Bucket string
	// Prefix is the folder of this snapshot inside the bucket, e.g. "sites/blog" (no leading or
	// trailing slash needed). Two meshes must not share a prefix, and no object may be named exactly
	// the prefix (some servers cannot keep a key that is also a "folder" of other keys).
	Prefix string
	// Endpoint is the S3 service: a URL ("http://127.0.0.1:7070", "https://s3.example.com") or a host
	// with an optional port. Empty: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS S3.
	Endpoint string
	// Region is the bucket's region. Empty: AWS_REGION, AWS_DEFAULT_REGION, else "us-east-1" for a
	// custom endpoint, or asked of AWS once per client.
	Region string
	// AccessKey, SecretKey and SessionToken are the credentials. Empty: see the package doc.
	AccessKey, SecretKey, SessionToken string
	// Insecure uses plain HTTP for an Endpoint given without a scheme. (An "http://" endpoint is
	// plain HTTP regardless.)
	Insecure bool
	// ChunkNodes is the average number of nodes in a chunk (DefaultChunkNodes when 0); a chunk holds
	// at most four times as many.
	ChunkNodes int
	// GracePeriod is how old an unreferenced chunk must be before it is deleted (DefaultGracePeriod
	// when 0; negative: never delete).
	GracePeriod time.Duration
	// Concurrency is how many chunks are transferred at once (DefaultConcurrency when 0).
	Concurrency int
	// Client, when set, is used as is: Endpoint, Region, credentials and Insecure are ignored.
	Client *minio.Client
	// Env looks up environment variables (os.LookupEnv when nil).
	Env func(string) (string, bool)
	// Logger receives diagnostics (failed garbage collection); nil discards them.
	Logger *slog.Logger
}

// Store is a mesh.Store in an S3 bucket. See the package documentation.
type Store struct {
	client      *minio.Client
	transport   *http.Transport // the client's, when New made it
	core        minio.Core
	bucket      string
	prefix      string // "" or ending in "/"
	chunkNodes  int
	grace       time.Duration
	concurrency int
	log         *slog.Logger

	mu   sync.Mutex
	base base
}

// base is the manifest this Store last read or wrote: Save is conditional on it.
type base struct {
	known    bool   // a Load or Save told us the state
	etag     string // "" when there was no manifest
	nodesKey string
	sources  map[string]manifestSource
	chunks   map[string]bool // SHA-256 of every listed chunk
}

var _ mesh.Store = (*Store)(nil)

// New validates cfg and returns a Store. It does no I/O.
func New(cfg Config) (*Store, error) {
	env := cfg.Env
	if env == nil {
		env = os.LookupEnv
	}
	if err := s3utils.CheckValidBucketName(cfg.Bucket); err != nil {
		return nil, &mesh.ConfigError{Where: "cache", Msg: fmt.Sprintf("bucket %q: %v", cfg.Bucket, err)}
	}
	prefix, err := cleanPrefix(cfg.Prefix)
	if err != nil {
		return nil, err
	}
	s := &Store{
		bucket:      cfg.Bucket,
		prefix:      prefix,
		chunkNodes:  cfg.ChunkNodes,
		grace:       cfg.GracePeriod,
		concurrency: cfg.Concurrency,
		log:         cfg.Logger,
	}
	switch {
	case s.chunkNodes == 0:
		s.chunkNodes = DefaultChunkNodes
	case s.chunkNodes < 0:
		return nil, &mesh.ConfigError{Where: "cache", Msg: "chunkNodes must not be negative"}
	}
	if s.grace == 0 {
		s.grace = DefaultGracePeriod
	}
	switch {
	case s.concurrency == 0:
		s.concurrency = DefaultConcurrency
	case s.concurrency < 0:
		return nil, &mesh.ConfigError{Where: "cache", Msg: "concurrency must not be negative"}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.client = cfg.Client
	if s.client == nil {
		if s.client, s.transport, err = newClient(cfg, env); err != nil {
			return nil, err
		}
	}
	s.core = minio.Core{Client: s.client}
	return s, nil
}

// cleanPrefix checks a key prefix and returns it with one trailing slash ("" for the bucket root).
func cleanPrefix(p string) (string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return "", nil
	}
	if len(p) > 512 {
		return "", &mesh.ConfigError{Where: "cache", Msg: "prefix longer than 512 bytes"}
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "\\\x00") {
			return "", &mesh.ConfigError{Where: "cache", Msg: fmt.Sprintf("prefix %q: want segments separated by single slashes, without . or ..", p)}
		}
	}
	return p + "/", nil
}

// newClient makes the minio client, with a transport of its own, from the config and the environment.
func newClient(cfg Config, env func(string) (string, bool)) (*minio.Client, *http.Transport, error) {
	get := func(keys ...string) string {
		for _, k := range keys {
			if v, ok := env(k); ok && v != "" {
				return v
			}
		}
		return ""
	}
	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = get("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
	}
	custom := endpoint != ""
	if !custom {
		endpoint = "s3.amazonaws.com"
	}
	host, secure, err := parseEndpoint(endpoint, cfg.Insecure)
	if err != nil {
		return nil, nil, err
	}
	region := cfg.Region
	if region == "" {
		region = get("AWS_REGION", "AWS_DEFAULT_REGION")
	}
	if region == "" && custom {
		region = "us-east-1"
	}
	creds, err := credentialsFor(cfg, get)
	if err != nil {
		return nil, nil, err
	}
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, nil, err
	}
	c, err := minio.New(host, &minio.Options{Creds: creds, Secure: secure, Region: region, Transport: tr})
	if err != nil {
		return nil, nil, &mesh.ConfigError{Where: "cache", Msg: fmt.Sprintf("endpoint %q: %v", host, err)}
	}
	return c, tr, nil
}

// parseEndpoint returns the host[:port] of an endpoint and whether to use TLS.
func parseEndpoint(endpoint string, insecure bool) (host string, secure bool, err error) {
	if !strings.Contains(endpoint, "://") {
		if strings.ContainsAny(endpoint, "/?#@") || endpoint == "" {
			return "", false, &mesh.ConfigError{Where: "cache", Msg: fmt.Sprintf("endpoint %q: want a URL or host[:port]", endpoint)}
		}
		return endpoint, !insecure, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", false, &mesh.ConfigError{Where: "cache", Msg: "endpoint is not a URL"}
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", false, &mesh.ConfigError{Where: "cache", Msg: fmt.Sprintf("endpoint scheme %q: want http or https", u.Scheme)}
	case u.User != nil:
		return "", false, &mesh.ConfigError{Where: "cache", Msg: "endpoint must not carry credentials: use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"}
	case u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return "", false, &mesh.ConfigError{Where: "cache", Msg: fmt.Sprintf("endpoint %q: want scheme://host[:port] only", u.Redacted())}
	}
	return u.Host, u.Scheme == "https", nil
}

// credentialsFor picks static keys (config, then environment), else the AWS file and role chain.
func credentialsFor(cfg Config, get func(...string) string) (*credentials.Credentials, error) {
	ak, sk, token := cfg.AccessKey, cfg.SecretKey, cfg.SessionToken
	if ak == "" && sk == "" {
		ak, sk, token = get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"), get("AWS_SESSION_TOKEN")
	}
	switch {
	case ak != "" && sk != "":
		return credentials.NewStaticV4(ak, sk, token), nil
	case ak != "" || sk != "":
		return nil, &mesh.ConfigError{Where: "cache", Msg: "set both the access key and the secret key (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or neither"}
	}
	// Anonymous when every provider comes back empty (a public bucket can still be pulled).
	return credentials.NewChainCredentials([]credentials.Provider{&credentials.FileAWSCredentials{}, &credentials.IAM{}}), nil
}

// ParseURL reads a cache URL into a Config:
//
//	s3://BUCKET[/PREFIX][?endpoint=URL&region=REGION&insecure=1&chunkNodes=N&grace=DURATION&concurrency=N]
//
// endpoint is the S3-compatible service (e.g. http://127.0.0.1:7070; default AWS_ENDPOINT_URL_S3,
// AWS_ENDPOINT_URL, else AWS), region its region, insecure=1 plain HTTP for an endpoint without a
// scheme, grace a Go duration ("30m"; "-1s" never deletes). Credentials never go in the URL: they come
// from the environment. Unknown parameters are an error.
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, &mesh.ConfigError{Where: "cache", Msg: "not a URL"}
	}
	if u.Scheme != "s3" {
		return Config{}, &mesh.ConfigError{Where: "cache", Msg: fmt.Sprintf("scheme %q: want s3://bucket/prefix", u.Scheme)}
	}
	if u.User != nil {
		return Config{}, &mesh.ConfigError{Where: "cache", Msg: "credentials do not belong in the cache URL: use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"}
	}
	if u.Host == "" {
		return Config{}, &mesh.ConfigError{Where: "cache", Msg: "s3 URL without a bucket: want s3://bucket/prefix"}
	}
	cfg := Config{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Config{}, &mesh.ConfigError{Where: "cache", Msg: "bad query in the cache URL"}
	}
	for k, vs := range q {
		v := vs[len(vs)-1]
		bad := func(err error) (Config, error) {
			return Config{}, &mesh.ConfigError{Where: "cache", Msg: fmt.Sprintf("%s=%q: %v", k, v, err)}
		}
		switch k {
		case "endpoint":
			cfg.Endpoint = v
		case "region":
			cfg.Region = v
		case "insecure":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return bad(err)
			}
			cfg.Insecure = b
		case "chunkNodes":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return bad(errors.New("want a positive number"))
			}
			cfg.ChunkNodes = n
		case "concurrency":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return bad(errors.New("want a positive number"))
			}
			cfg.Concurrency = n
		case "grace":
			d, err := time.ParseDuration(v)
			if err != nil || d == 0 {
				return bad(errors.New("want a duration such as 30m (negative: never delete)"))
			}
			cfg.GracePeriod = d
		default:
			return Config{}, &mesh.ConfigError{Where: "cache", Msg: fmt.Sprintf("unknown parameter %q in the s3 URL (known: endpoint, region, insecure, chunkNodes, grace, concurrency)", k)}
		}
	}
	return cfg, nil
}

// Open is ParseURL then New.
func Open(raw string) (*Store, error) {
	cfg, err := ParseURL(raw)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// Close closes the idle network connections of the client New made (not of a Config.Client), so
// that no connection goroutine outlives the caller's use. The Store stays usable.
func (s *Store) Close() error {
	if s.transport != nil {
		s.transport.CloseIdleConnections()
	}
	return nil
}

// String returns the store's location, s3://bucket/prefix.
func (s *Store) String() string {
	return "s3://" + s.bucket + "/" + strings.TrimSuffix(s.prefix, "/")
}

func (s *Store) manifestKey() string        { return s.prefix + "manifest.json" }
func (s *Store) chunkPrefix() string        { return s.prefix + "chunks/" }
func (s *Store) chunkKey(sum string) string { return s.chunkPrefix() + sum }

// Load implements mesh.Store: it reads the manifest; the chunks are read when the engine calls the
// snapshot's Load.
func (s *Store) Load(ctx context.Context) (*mesh.Snapshot, error) {
	key := s.manifestKey()
	body, info, _, err := s.core.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		if isNoSuchKey(err) {
			s.setBase(base{known: true})
			return nil, mesh.ErrNoSnapshot
		}
		return nil, s.opError("GET", key, err)
	}
	data, err := io.ReadAll(io.LimitReader(body, maxManifestBytes+1))
	body.Close()
	if err != nil {
		return nil, s.opError("GET", key, err)
	}
	// A corrupt manifest becomes the base too: the build that follows (the engine then fetches
	// everything) replaces exactly that version, so the snapshot heals.
	if len(data) > maxManifestBytes {
		s.setBase(base{known: info.ETag != "", etag: info.ETag})
		return nil, fmt.Errorf("%s: %w: manifest larger than %d bytes", s.url(key), mesh.ErrCorruptSnapshot, maxManifestBytes)
	}
	m, err := decodeManifest(data)
	if err != nil {
		s.setBase(base{known: info.ETag != "", etag: info.ETag})
		return nil, fmt.Errorf("%s: %w", s.url(key), err)
	}
	s.setBase(baseOf(info.ETag, m))
	snap := &mesh.Snapshot{Version: m.Version, CreatedAt: m.CreatedAt, Fingerprint: m.Fingerprint, NodesKey: m.NodesKey, Outputs: m.Outputs, Dangling: m.Dangling}
	for _, ms := range m.Sources {
		snap.Sources = append(snap.Sources, mesh.SourceSnapshot{Name: ms.Name, Kind: ms.Kind, Cursor: ms.Cursor, Count: ms.Count})
		for _, c := range ms.Chunks {
			snap.NodeBytes += c.Size
		}
	}
	snap.Load = func(ctx context.Context) error { return s.loadNodes(ctx, m, snap) }
	snap.Stream = func(ctx context.Context, each func(string, *mesh.Node) error) error {
		return s.streamNodes(ctx, m, snap, each)
	}
	return snap, nil
}

func baseOf(etag string, m *manifest) base {
	b := base{known: etag != "", etag: etag, nodesKey: m.NodesKey, sources: map[string]manifestSource{}, chunks: map[string]bool{}}
	for _, src := range m.Sources {
		b.sources[src.Name] = src
		for _, c := range src.Chunks {
			b.chunks[c.SHA256] = true
		}
	}
	return b
}

func (s *Store) setBase(b base) {
	s.mu.Lock()
	s.base = b
	s.mu.Unlock()
}

func (s *Store) getBase() base {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base
}

// Save implements mesh.Store: chunks first, then the manifest with a conditional single-part PUT,
// then garbage collection. A manifest written by another build since this Store's Load makes it
// return an error wrapping mesh.ErrSnapshotConflict.
func (s *Store) Save(ctx context.Context, snap *mesh.Snapshot) error {
	b := s.getBase()
	m := &manifest{Format: manifestFormat, Version: mesh.SnapshotVersion, CreatedAt: snap.CreatedAt.UTC(), Fingerprint: snap.Fingerprint, Outputs: snap.Outputs, Dangling: snap.Dangling}
	for _, src := range snap.Sources {
		cursor := src.Cursor
		if len(cursor) > 0 {
			c, _, err := mesh.Canonicalize(cursor)
			if err != nil {
				return fmt.Errorf("source %q: cursor is not JSON: %w", src.Name, err)
			}
			cursor = c
		}
		m.Sources = append(m.Sources, manifestSource{Name: src.Name, Kind: src.Kind, Cursor: cursor})
	}
	// An unchanged node set that is still unloaded keeps the chunks of the manifest it came from.
	reused := false
	if snap.Load != nil && snap.NodesKey != "" && b.known && snap.NodesKey == b.nodesKey {
		reused = true
		for i := range m.Sources {
			old, ok := b.sources[m.Sources[i].Name]
			if !ok || old.Kind != m.Sources[i].Kind {
				reused = false
				break
			}
			m.Sources[i].Count, m.Sources[i].Chunks = old.Count, old.Chunks
		}
	}
	if !reused {
		var err error
		if streamed(snap) {
			// A disk-backed build's snapshot: chunks are cut as its nodes stream by.
			err = s.writeChunksStreamed(ctx, snap, m, b)
		} else if err = snap.ReadNodes(ctx); err == nil {
			err = s.writeChunks(ctx, snap, m, b)
		}
		if err != nil {
			return err
		}
	}
	m.NodesKey = m.nodesKey()
	data, err := encodeManifest(m)
	if err != nil {
		return err
	}
	opts := minio.PutObjectOptions{ContentType: "application/json", DisableContentSha256: true}
	if b.known && b.etag != "" {
		opts.SetMatchETag(b.etag)
	} else {
		// No manifest was read (there was none, or Load was not called): create only.
		opts.SetMatchETagExcept("*")
	}
	info, err := s.put(ctx, s.manifestKey(), data, opts)
	if err != nil {
		if isConflict(err) {
			return fmt.Errorf("%s: %w", s.url(s.manifestKey()), mesh.ErrSnapshotConflict)
		}
		return s.opError("PUT", s.manifestKey(), err)
	}
	snap.NodesKey = m.NodesKey
	nb := baseOf(info.ETag, m)
	s.setBase(nb)
	if s.grace > 0 {
		if n, err := s.collect(ctx, nb.chunks); err != nil {
			s.log.Warn("snapshot chunk garbage collection failed; it runs again after the next save", "store", s.String(), "err", err)
		} else if n > 0 {
			s.log.Debug("deleted unreferenced snapshot chunks", "store", s.String(), "chunks", n)
		}
	}
	return nil
}

// put uploads data in one PUT with its MD5 and SHA-256 (the server checks both; no streaming
// signature, no multipart, so conditions apply to the whole write).
func (s *Store) put(ctx context.Context, key string, data []byte, opts minio.PutObjectOptions) (minio.UploadInfo, error) {
	md := md5.Sum(data)
	sh := sha256.Sum256(data)
	return s.core.PutObject(ctx, s.bucket, key, bytes.NewReader(data), int64(len(data)),
		base64.StdEncoding.EncodeToString(md[:]), hex.EncodeToString(sh[:]), opts)
}

// url names an object for errors.
func (s *Store) url(key string) string { return "s3://" + s.bucket + "/" + key }

// opError wraps an S3 error with the operation and object, mapping authentication failures to the
// mesh sentinels (so the CLI can hint at the fix).
func (s *Store) opError(op, key string, err error) error {
	r := minio.ToErrorResponse(err)
	switch {
	case r.Code == "NoSuchBucket":
		return fmt.Errorf("%s %s: bucket %q does not exist: %w", op, s.url(key), s.bucket, mesh.ErrNotFound)
	case r.Code == "InvalidAccessKeyId" || r.Code == "SignatureDoesNotMatch" || r.Code == "ExpiredToken" || r.Code == "InvalidToken" || r.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("%s %s: %s: %w", op, s.url(key), r.Code, mesh.ErrUnauthorized)
	case r.Code == "AccessDenied" || r.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%s %s: %s: %w", op, s.url(key), r.Code, mesh.ErrForbidden)
	}
	return fmt.Errorf("%s %s: %w", op, s.url(key), err)
}

func isNoSuchKey(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.Code == "NoSuchKey" || (r.StatusCode == http.StatusNotFound && r.Code != "NoSuchBucket")
}

// isConflict reports a failed write condition: 412, AWS's 409 for a conditional write racing
// another, or (If-Match) the manifest deleted since it was read.
func isConflict(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.StatusCode == http.StatusPreconditionFailed || r.Code == "PreconditionFailed" ||
		r.Code == "ConditionalRequestConflict" || isNoSuchKey(err)
}
