package s3store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"go.uber.org/goleak"
)

// The store tests run against a real S3 server on 127.0.0.1: by default the Versity S3 Gateway
// that scripts/realservers/versitygw-s3-up.sh starts (port 7070, testkey/testsecret); S3_ENDPOINT,
// S3_ACCESS_KEY, S3_SECRET_KEY and S3_REGION point them elsewhere. Without a server they skip, unless
// CI=true, where they fail.

// testTransport carries every test client's connections, closed before the leak check.
var testTransport = func() *http.Transport {
	tr, err := minio.DefaultTransport(false)
	if err != nil {
		panic(err)
	}
	return tr
}()

func TestMain(m *testing.M) {
	code := m.Run()
	testTransport.CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

const testBucket = "contentmesh-s3store-test"

type server struct {
	host, access, secret, region string
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

var (
	serverOnce sync.Once
	serverInfo server
	serverErr  error
)

// needServer returns the test server, after checking once that it answers and that the test bucket
// exists. It skips (or fails under CI=true) when there is none.
func needServer(t testing.TB) server {
	t.Helper()
	serverOnce.Do(func() {
		endpoint := env("S3_ENDPOINT", "http://127.0.0.1:7070")
		host, _, err := parseEndpoint(endpoint, true)
		if err != nil {
			serverErr = err
			return
		}
		serverInfo = server{host: host, access: env("S3_ACCESS_KEY", "testkey"), secret: env("S3_SECRET_KEY", "testsecret"), region: env("S3_REGION", "us-east-1")}
		c := serverInfo.client(nil)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ok, err := c.BucketExists(ctx, testBucket)
		if err == nil && !ok {
			err = c.MakeBucket(ctx, testBucket, minio.MakeBucketOptions{Region: serverInfo.region})
		}
		serverErr = err
	})
	if serverErr != nil {
		msg := fmt.Sprintf("no S3 server (start scripts/realservers/versitygw-s3-up.sh, or set S3_ENDPOINT): %v", serverErr)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return serverInfo
}

// client returns a minio client for the server, counting requests in c when it is not nil. Retries
// are off (MaxRetries 1) so that counts are exact.
func (s server) client(c *counter) *minio.Client {
	var rt http.RoundTripper = testTransport
	if c != nil {
		rt = &countingTransport{next: testTransport, c: c}
	}
	cl, err := minio.New(s.host, &minio.Options{
		Creds:      credentials.NewStaticV4(s.access, s.secret, ""),
		Region:     s.region,
		Transport:  rt,
		MaxRetries: 1,
	})
	if err != nil {
		panic(err)
	}
	return cl
}

// counter counts requests by method and by kind of object (manifest or chunk).
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(k string) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[k]++
	c.mu.Unlock()
}

// get returns the count of "METHOD kind" (kind: manifest, chunk, other), e.g. "PUT chunk".
func (c *counter) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

func (c *counter) reset() {
	c.mu.Lock()
	c.n = nil
	c.mu.Unlock()
}

func (c *counter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprint(c.n)
}

type countingTransport struct {
	next http.RoundTripper
	c    *counter
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	kind := "other"
	switch {
	case strings.HasSuffix(r.URL.Path, "/manifest.json"):
		kind = "manifest"
	case strings.Contains(r.URL.Path, "/chunks/"):
		kind = "chunk"
	}
	t.c.add(r.Method + " " + kind)
	return t.next.RoundTrip(r)
}

// testPrefix is a fresh prefix for one test; its objects are deleted when the test ends.
func testPrefix(t *testing.T, srv server) string {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	prefix := "t/" + name + "-" + hex.EncodeToString(b)
	t.Cleanup(func() { removePrefix(srv, prefix) })
	return prefix
}

// removePrefix deletes every object under prefix.
func removePrefix(srv server, prefix string) {
	c := srv.client(nil)
	ctx := context.Background()
	for obj := range c.ListObjects(ctx, testBucket, minio.ListObjectsOptions{Prefix: prefix + "/", Recursive: true}) {
		if obj.Err == nil {
			c.RemoveObject(ctx, testBucket, obj.Key, minio.RemoveObjectOptions{})
		}
	}
}

// newTestStore returns a Store on prefix with its own counting client.
func newTestStore(t *testing.T, srv server, prefix string, cfg Config) (*Store, *counter) {
	t.Helper()
	c := &counter{}
	cfg.Bucket, cfg.Prefix, cfg.Client = testBucket, prefix, srv.client(c)
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// listKeys lists every key under prefix, with its LastModified.
func listKeys(t *testing.T, srv server, prefix string) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	for obj := range srv.client(nil).ListObjects(context.Background(), testBucket, minio.ListObjectsOptions{Prefix: prefix + "/", Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		out[obj.Key] = obj.LastModified
	}
	return out
}
