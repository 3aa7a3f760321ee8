package meshtest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/memsource"
)

// The toy HTTP source passes the whole suite, HTTP subtests included.
func TestToySourcePassesSuite(t *testing.T) {
	Run(t, toyHarness(t, 0))
}

// Each check fails for a source with the bug it exists to catch, with a message that says so.
func TestChecksCatchBrokenHTTPSources(t *testing.T) {
	tests := []struct {
		bug   toyBug
		check func(*testing.T, *Harness) error
		want  string
	}{
		{bugWrongPrefix, checkNodes, `must start with the source name "meshtest"`},
		{bugNoRecorder, checkNodes, "the report counts 0 requests, the server received 4"},
		{bugSwallow404, checkNodes, "no fixture answered GET /api/tags (looked for GET/api/tags.json)"},
		{bugPageZero, checkNodes, "was emitted more than once"},
		{bugNondeterministic, checkDeterminism, "second fetch: node meshtest/post/p1 differs: digest \"sha256:"},
		{bugNondeterministic, checkDeterminism, "graph.json differs"},
		{bugDangling, checkRefs, `field "tags" refers to meshtest/tag/t1, which is not in the graph`},
		{bugIgnorePageSize, checkPageSize1, "page size 1 took 4 requests, the default page size 4"},
		{bugPageZero, checkPageSize1, "page size 1: node meshtest/author/a1 was emitted more than once"},
		{bugSwallowEmitErr, checkEmitError, "want the Emitter's error"},
		{bugIgnoreCancel, checkCancel, "Build did not return within 3s of the context's cancellation"},
		{bugLeakGoroutine, checkCancel, "goroutines left running after Fetch returned"},
		{bugSwallow429, checkRateLimit, "build with one 429: node meshtest/site/main is missing"},
		{bugSwallow429, checkRateLimit, "was not retried"},
		{bugRetryEarly, checkRateLimit, "before the reset time its 429 gave ([Retry-After])"},
		{bugNoRecorder, checkRateLimit, "the report must count the 429 and its retry"},
		{bugNoRetry5xx, checkServerError, "GET /api/info was tried 1 times, want 3"},
		{bugNoStatusInError, checkServerError, "does not hold the status 503"},
		{bugLeakSecret, checkUnauthorized, "the error holds the secret Env.BadCredential"},
		{bug401AsUpstream, checkUnauthorized, "does not wrap mesh.ErrUnauthorized"},
		{bugSwallow404, checkNotFound, "every request was answered 404, yet the build succeeded with 0 nodes"},
		{bugAcceptHTML, checkBadResponse, "every response was an HTML page with status 200, yet the build succeeded"},
		{bugAcceptHTML, checkBadResponse, "every response was a truncated JSON body, yet the build succeeded"},
		{bugCheckIgnores401, checkChecker, "Check with a wrong credential passed"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			h := toyHarness(t, tt.bug)
			err := tt.check(t, &h)
			if err == nil {
				t.Fatalf("the check passed a source with bug %#x", tt.bug)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error does not say %q:\n%v", tt.want, err)
			}
		})
	}
}

// Harness mistakes are reported as such.
func TestChecksCatchBrokenHarnesses(t *testing.T) {
	t.Run("no credential requirement", func(t *testing.T) {
		h := toyHarness(t, 0)
		h.NewServer = func(t *testing.T) *FixtureServer {
			srv := NewFixtureServer(t, "testdata/toy")
			srv.Handle("GET /api/items", toyItemsHandler(loadToyItems(t)))
			return srv
		}
		err := checkUnauthorized(t, &h)
		if err == nil || !strings.Contains(err.Error(), "the server rejected no request") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("expectations not met", func(t *testing.T) {
		h := toyHarness(t, 0)
		h.Expect.Types = append(h.Expect.Types, "Comment")
		h.Expect.Counts["Post"] = 6
		h.Expect.IDs = append(h.Expect.IDs, "post/p6")
		h.Expect.MinNodes = 9
		err := checkNodes(t, &h)
		for _, want := range []string{`no node of type "Comment"`, `5 nodes of type "Post", want 6`, "no node meshtest/post/p6", "want at least 9"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error does not say %q: %v", want, err)
			}
		}
	})
	t.Run("dangling refs not allowed", func(t *testing.T) {
		h := toyHarness(t, 0)
		h.Expect.DanglingPrefixes = nil
		h.Expect.Refs = append(h.Expect.Refs, ExpectedRef{From: "post/p2", Field: "author", To: "author/a1"})
		err := checkRefs(t, &h)
		for _, want := range []string{`node meshtest/post/p%2F4: field "draft" refers to meshtest/draft/d1`, `node meshtest/post/p2 has no ref "author" -> meshtest/author/a1`} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error does not say %q: %v", want, err)
			}
		}
	})
	t.Run("secret in outputs", func(t *testing.T) {
		h := toyHarness(t, 0)
		h.Secrets = []string{"Unicode: Grüße"} // content that does reach graph.json stands in for a secret
		err := checkNodes(t, &h)
		if err == nil || !strings.Contains(err.Error(), "output file graph.json holds the secret Harness.Secrets[0]") {
			t.Fatalf("got %v", err)
		}
	})
}

// memHarness serves a memsource; wrap turns it into a broken source.
func memHarness(wrap func(*memsource.Source) mesh.Source) Harness {
	return Harness{
		NewSource: func(t *testing.T, env Env) (mesh.Source, error) {
			var recs []memsource.Record
			for _, id := range []string{"1", "2", "3"} {
				recs = append(recs, memsource.Record{Namespace: "item", NativeID: id, Type: "Item",
					Fields: json.RawMessage(`{"n":` + id + `}`)})
			}
			src, err := memsource.New(recs...)
			if err != nil {
				return nil, err
			}
			return wrap(src), nil
		},
		Expect:      Expectations{MinNodes: 3},
		cancelGrace: 3e9,
	}
}

// ignoresCtx fetches with a context that is never cancelled.
type ignoresCtx struct{ *memsource.Source }

func (s ignoresCtx) Fetch(_ context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	return s.Source.Fetch(context.Background(), req, out)
}

// forgetsOnCursor answers a cursor with an empty full set.
type forgetsOnCursor struct{ *memsource.Source }

func (s forgetsOnCursor) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	if req.Cursor != nil {
		return mesh.FetchResult{Cursor: req.Cursor}, nil
	}
	return s.Source.Fetch(ctx, req, out)
}

// wrapsEmitErr hides the Emitter's error behind its own text.
type wrapsEmitErr struct{ *memsource.Source }

type opaqueEmitter struct{ mesh.Emitter }

func (e opaqueEmitter) Upsert(n mesh.Node) error {
	if err := e.Emitter.Upsert(n); err != nil {
		return &opaqueError{err.Error()}
	}
	return nil
}

type opaqueError struct{ msg string }

func (e *opaqueError) Error() string { return e.msg }

func (s wrapsEmitErr) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	return s.Source.Fetch(ctx, req, opaqueEmitter{out})
}

func TestChecksCatchBrokenLocalSources(t *testing.T) {
	plain := func(s *memsource.Source) mesh.Source { return s }
	tests := []struct {
		name  string
		wrap  func(*memsource.Source) mesh.Source
		check func(*testing.T, *Harness) error
		want  string
	}{
		{"ignores cancellation", func(s *memsource.Source) mesh.Source { return ignoresCtx{s} }, checkCancel,
			"Fetch went on to 3 Upserts and returned <nil>, want an error wrapping context.Canceled"},
		{"forgets on cursor", func(s *memsource.Source) mesh.Source { return forgetsOnCursor{s} }, checkIncremental,
			"build from the cursor, nothing changed upstream: node meshtest/item/1 is missing"},
		{"hides the emit error", func(s *memsource.Source) mesh.Source { return wrapsEmitErr{s} }, checkEmitError,
			"want the Emitter's error (errors.Is)"},
		{"no checker", plain, checkChecker, "skipped: the source does not implement mesh.Checker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := memHarness(tt.wrap)
			err := tt.check(t, &h)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error does not say %q: %v", tt.want, err)
			}
		})
	}
	// The same checks pass the plain memsource.
	for _, check := range []func(*testing.T, *Harness) error{checkCancel, checkIncremental, checkEmitError} {
		h := memHarness(plain)
		if err := check(t, &h); err != nil {
			t.Errorf("memsource: %v", err)
		}
	}
}

func TestCheckEmitted(t *testing.T) {
	ups := []emitted{
		{ID: "meshtest/post/1", Type: "Post", NativeID: "1"},
		{ID: "meshtest/post/1", Type: "Post", NativeID: "1"},
		{ID: "other/post/2", Type: "Post", NativeID: "2"},
		{ID: "meshtest/post", Type: "Post"},
		{ID: "meshtest/post/3", NativeID: "3"},
		{ID: "meshtest/post/4@en", Type: "Post", NativeID: "four", Locale: "de"},
		{ID: "meshtest/post/p%2F5", Type: "Post", NativeID: "p/5"},
	}
	var p problems
	checkEmitted(&p, "fetch", ups, false)
	want := []string{
		"fetch: node meshtest/post/1 was emitted more than once",
		`fetch: node id "other/post/2" does not start with the instance name "meshtest"`,
		`fetch: node id "meshtest/post": want <source>/<namespace>/<nativeId>[@locale]`,
		"fetch: node meshtest/post/3 has no type",
		`fetch: node meshtest/post/4@en: NativeID "four", but the ID says "4"`,
		`fetch: node meshtest/post/4@en: Locale "de", but the ID says "en"`,
	}
	err := p.err()
	if err == nil || len(p.list) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(p.list), len(want), err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
	var q problems
	checkEmitted(&q, "delta", ups[:2], true)
	if q.err() != nil {
		t.Errorf("a delta may upsert a node twice: %v", q.err())
	}
}

func TestValidDigest(t *testing.T) {
	good := "sha256:" + strings.Repeat("0a", 32)
	for d, want := range map[string]bool{
		good:                                 true,
		"sha256:" + strings.Repeat("0A", 32): false,
		"sha1:" + strings.Repeat("0a", 32):   false,
		good[:len(good)-1]:                   false,
		"sha256:" + strings.Repeat("zz", 32): false,
		"":                                   false,
	} {
		if validDigest(d) != want {
			t.Errorf("validDigest(%q) = %v", d, !want)
		}
	}
}
