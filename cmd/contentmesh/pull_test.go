package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/contentmesh/contentmesh/mesh"
)

// withCache rewrites the fixture's config to use another cache.
func withCache(t *testing.T, f *fixture, cache string) string {
	t.Helper()
	p := filepath.Join(f.dir, "mesh.yaml")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "cache: cache\n", "cache: "+cache+"\n", 1)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// graphFiles are the files of an output folder that depend only on the graph.
func graphFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	names := []string{"graph.json", "nodes.ndjson", "schema.json", "mesh.d.ts"}
	types, _ := filepath.Glob(filepath.Join(dir, "types", "*.json"))
	for _, p := range types {
		names = append(names, filepath.Join("types", filepath.Base(p)))
	}
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		out[n] = string(data)
	}
	return out
}

func merged(envs ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, e := range envs {
		maps.Copy(out, e)
	}
	return out
}

// testPull builds with cache, then pulls into another folder with only cacheEnv set (no source
// secret), and checks that the pulled folder is the build's.
func testPull(t *testing.T, cache string, cacheEnv map[string]string) {
	f := newFixture(t)
	cfg := withCache(t, f, cache)
	buildEnv := merged(goodEnv, cacheEnv)
	if code, out, errs := runCLI([]string{"build", "-config", cfg}, buildEnv); code != exitOK {
		t.Fatalf("build: exit %d\n%s\n%s", code, out, errs)
	}
	built := filepath.Join(f.dir, "out")
	requests := f.requests.Load()
	pulled := filepath.Join(t.TempDir(), "pulled")

	code, stdout, errs := runCLI([]string{"pull", "-config", cfg, "-out", pulled}, cacheEnv)
	if code != exitOK {
		t.Fatalf("pull: exit %d\n%s\n%s", code, stdout, errs)
	}
	if !strings.Contains(stdout, "pulled 3 nodes") || !strings.Contains(stdout, "3 added, 0 updated, 0 deleted") {
		t.Errorf("pull output:\n%s", stdout)
	}
	if f.requests.Load() != requests {
		t.Errorf("pull called the source API")
	}
	if got, want := graphFiles(t, pulled), graphFiles(t, built); !maps.Equal(got, want) {
		t.Errorf("pulled files differ from the build's:\n%v\n%v", got, want)
	}
	var report mesh.Report
	data, _ := os.ReadFile(filepath.Join(pulled, "report.json"))
	if err := json.Unmarshal(data, &report); err != nil || len(report.Sources) != 2 || report.Nodes != 3 {
		t.Fatalf("report.json: %v\n%s", err, data)
	}
	if s := report.Sources[1]; s.Name != "shop" || s.Type != "rest" || s.Nodes != 2 || s.Requests != 0 {
		t.Errorf("report source %+v", s)
	}

	// Again: nothing changed since the folder's graph.
	code, stdout, _ = runCLI([]string{"pull", "-config", cfg, "-out", pulled, "-quiet"}, cacheEnv)
	changes, _ := os.ReadFile(filepath.Join(pulled, "changes.json"))
	if code != exitOK || stdout != "" || !strings.Contains(string(changes), `"added": []`) {
		t.Errorf("second pull: exit %d %q\n%s", code, stdout, changes)
	}

	// The content changes and a build runs elsewhere: the pull sees the build's changes.
	f.serve(`{"data":[{"id":"1","handle":"mug","title":"Mug, new"},{"id":"3","handle":"bowl","title":"Bowl"}]}`)
	if code, out, errs := runCLI([]string{"build", "-config", cfg, "-quiet"}, buildEnv); code != exitOK {
		t.Fatalf("second build: exit %d\n%s\n%s", code, out, errs)
	}
	if code, stdout, errs = runCLI([]string{"pull", "-config", cfg, "-out", pulled}, cacheEnv); code != exitOK {
		t.Fatalf("pull after the change: exit %d\n%s", code, errs)
	}
	want, _ := os.ReadFile(filepath.Join(built, "changes.json"))
	got, _ := os.ReadFile(filepath.Join(pulled, "changes.json"))
	if !bytes.Equal(got, want) || !strings.Contains(string(got), "shop/product/3") {
		t.Errorf("changes.json of the pull:\n%s\nof the build:\n%s", got, want)
	}
	if got, want := graphFiles(t, pulled), graphFiles(t, built); !maps.Equal(got, want) {
		t.Errorf("pulled files differ from the second build's")
	}
	if strings.Contains(stdout+errs, "s3cret-token") {
		t.Errorf("a secret leaked")
	}
}

func TestPullFromDirCache(t *testing.T) {
	testPull(t, "cache", nil)
}

// TestPullOnDisk: with graph: disk both the build and the pull keep the graph in a scratch
// database (the pull streams the snapshot in); the folders are the same, and changes.json walks the
// old graph.json beside the new graph.
func TestPullOnDisk(t *testing.T) {
	testPull(t, "cache\ngraph: disk\ngraphDir: scratch", nil)
}

func TestPullErrors(t *testing.T) {
	f := newFixture(t)
	cfg := filepath.Join(f.dir, "mesh.yaml")
	code, _, errs := runCLI([]string{"pull", "-config", cfg}, nil)
	if code != exitFailed || !strings.Contains(errs, "no snapshot yet") {
		t.Errorf("before any build: exit %d\n%s", code, errs)
	}
	if code, out, errs := runCLI([]string{"build", "-config", cfg}, goodEnv); code != exitOK {
		t.Fatalf("build: exit %d\n%s\n%s", code, out, errs)
	}
	// Other link rules than the build's would give another graph.
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, bytes.Replace(data, []byte("as: productRefs"), []byte("as: items"), 1), 0o644)
	if code, _, errs := runCLI([]string{"pull", "-config", cfg}, nil); code != exitUsage || !strings.Contains(errs, "link rules") {
		t.Errorf("other links: exit %d\n%s", code, errs)
	}
	os.WriteFile(cfg, data, 0o644)
	// The cache itself must resolve.
	withCache(t, f, "s3://${CACHE_BUCKET}/site")
	if code, _, errs := runCLI([]string{"pull", "-config", cfg}, nil); code != exitUsage || !strings.Contains(errs, "CACHE_BUCKET is not set") {
		t.Errorf("unset cache variable: exit %d\n%s", code, errs)
	}
	if code, _, errs := runCLI([]string{"pull", "-config", cfg}, map[string]string{"CACHE_BUCKET": "b/../x"}); code != exitUsage || !strings.Contains(errs, "cache") {
		t.Errorf("bad s3 URL: exit %d\n%s", code, errs)
	}
	if code, _, _ := runCLI([]string{"pull", "-h"}, nil); code != exitOK {
		t.Errorf("pull -h: exit %d", code)
	}
	if code, _, _ := runCLI([]string{"pull", "extra"}, nil); code != exitUsage {
		t.Errorf("pull extra: exit %d", code)
	}
}

// s3Server returns the endpoint and credentials of the test S3 server (Versity S3 Gateway from
// scripts/realservers/versitygw-s3-up.sh by default), with a bucket for these tests; it skips when
// there is none, unless CI=true.
func s3Server(t *testing.T) (endpoint, bucket string, env map[string]string, c *minio.Client) {
	t.Helper()
	get := func(k, def string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return def
	}
	endpoint = get("S3_ENDPOINT", "http://127.0.0.1:7070")
	env = map[string]string{"AWS_ACCESS_KEY_ID": get("S3_ACCESS_KEY", "testkey"), "AWS_SECRET_ACCESS_KEY": get("S3_SECRET_KEY", "testsecret"), "AWS_REGION": get("S3_REGION", "us-east-1")}
	bucket = "contentmesh-cli-test"
	tr, err := minio.DefaultTransport(false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.CloseIdleConnections)
	c, err = minio.New(strings.TrimPrefix(endpoint, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], ""), Region: env["AWS_REGION"], Transport: tr, MaxRetries: 1})
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var ok bool
		if ok, err = c.BucketExists(ctx, bucket); err == nil && !ok {
			err = c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: env["AWS_REGION"]})
		}
	}
	if err != nil {
		msg := "no S3 server at " + endpoint + " (start scripts/realservers/versitygw-s3-up.sh): " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return endpoint, bucket, env, c
}

func TestPullFromS3Cache(t *testing.T) {
	endpoint, bucket, env, client := s3Server(t)
	b := make([]byte, 4)
	rand.Read(b)
	prefix := "cli/" + hex.EncodeToString(b)
	cache := "s3://" + bucket + "/" + prefix + "?endpoint=" + endpoint
	t.Cleanup(func() {
		ctx := context.Background()
		for obj := range client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix + "/", Recursive: true}) {
			if obj.Err == nil {
				client.RemoveObject(ctx, bucket, obj.Key, minio.RemoveObjectOptions{})
			}
		}
	})
	testPull(t, cache, env)

	// Wrong credentials: a clear error with a hint, and no secret in it.
	bad := merged(env, map[string]string{"AWS_SECRET_ACCESS_KEY": "not-the-secret"})
	f := newFixture(t)
	cfg := withCache(t, f, cache)
	code, stdout, errs := runCLI([]string{"pull", "-config", cfg}, bad)
	if code != exitFailed || !strings.Contains(errs, "hint: the storage refused the credentials") || strings.Contains(stdout+errs, "not-the-secret") {
		t.Errorf("wrong secret: exit %d\n%s%s", code, stdout, errs)
	}
}
