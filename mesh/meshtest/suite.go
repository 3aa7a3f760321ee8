package meshtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
)

// Run runs the conformance suite against the source that h builds, one t.Run subtest per property,
// each through the real engine (mesh.New, Add, Build) unless it must call Fetch directly:
//
//   - Nodes: a full fetch emits at least Expect.MinNodes nodes, each once, with a well-formed ID
//     (mesh.ValidNodeID) that starts with the instance name and agrees with NativeID and Locale, a
//     type, and a sha256 digest; the expected types, counts and IDs are there; the report counts
//     every request the server received; no request went unanswered by the fixtures (404s);
//     no secret reaches an output file.
//   - Determinism: two fetches give the same nodes and digests, and byte-identical graph.json.
//   - Refs: every ref resolves in the graph or matches Expect.DanglingPrefixes; the report's
//     dangling refs are exactly the unresolved ones; Expect.Refs are present.
//   - PageSize1: page size 1 (Env.PageSize and FetchRequest.PageSize) gives the same graph, with
//     no node emitted twice, and (for HTTP sources) more requests than the default page size.
//   - EmitError: when the Emitter fails (at the first Upsert, and at the last), Fetch returns its
//     error unchanged (errors.Is).
//   - Cancel: cancelled while the server holds a request (HTTP sources) or at the first Upsert
//     (others), Fetch returns an error wrapping context.Canceled without waiting for the server,
//     and leaves no goroutine behind (goleak).
//   - Incremental (when Fetch returns a cursor): a second build from the saved cursor with no
//     upstream change gives the same graph and an empty change set; a full build equals both.
//   - RateLimit (HTTP): after one 429 with the provider's reset headers the build succeeds with the
//     same graph; the retry arrives no earlier than the reset time; the report counts a retry and
//     a throttled request.
//   - ServerError (HTTP): with every request failing with a 5xx the build fails with an error
//     wrapping mesh.ErrUpstream that holds the status, the source name and the server's address;
//     each request is tried exactly Env.Retries+1 times; the output folder and the snapshot of an
//     earlier good build are unchanged.
//   - Unauthorized (HTTP): configured with Env.BadCredential, the build fails with an error
//     wrapping mesh.ErrUnauthorized naming the source, without the credential in the error or the
//     report, and a rejected request is not retried more than once.
//   - NotFound (HTTP): with every request answered 404 (a wrong space, project or store), the build
//     fails with an error wrapping mesh.ErrNotFound naming the source: never an empty graph.
//   - BadResponse (HTTP): an HTML page with status 200, and a truncated JSON body, fail the build
//     with mesh.ErrBadResponse naming the source and the server's address: never a silently empty
//     page.
//   - Checker (when the source implements mesh.Checker): Check passes, and with a bad credential
//     fails with mesh.ErrUnauthorized.
//
// The names are the keys of Harness.Skip. Run must not run in parallel with other tests of the
// package: the Cancel subtest checks for leaked goroutines.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.NewSource == nil {
		t.Fatal("meshtest: Harness.NewSource is nil")
	}
	all := scenarios()
	for name, reason := range h.Skip {
		if !slices.ContainsFunc(all, func(s scenario) bool { return s.name == name }) {
			t.Errorf("meshtest: Harness.Skip names unknown subtest %q", name)
		}
		if strings.TrimSpace(reason) == "" {
			t.Errorf("meshtest: Harness.Skip[%q] needs a reason", name)
		}
	}
	for _, sc := range all {
		t.Run(sc.name, func(t *testing.T) {
			if reason, ok := h.Skip[sc.name]; ok {
				t.Skip(reason)
			}
			if sc.http && h.NewServer == nil {
				t.Skip("the source makes no HTTP requests (Harness.NewServer is nil)")
			}
			err := sc.run(t, &h)
			var skip skipError
			if errors.As(err, &skip) {
				t.Skip(string(skip))
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
}

// scenario is one subtest: run sets up its own server and source and returns what went wrong.
type scenario struct {
	name string
	http bool
	run  func(t *testing.T, h *Harness) error
}

func scenarios() []scenario {
	return []scenario{
		{"Nodes", false, checkNodes},
		{"Determinism", false, checkDeterminism},
		{"Refs", false, checkRefs},
		{"PageSize1", false, checkPageSize1},
		{"EmitError", false, checkEmitError},
		{"Cancel", false, checkCancel},
		{"Incremental", false, checkIncremental},
		{"RateLimit", true, checkRateLimit},
		{"ServerError", true, checkServerError},
		{"Unauthorized", true, checkUnauthorized},
		{"NotFound", true, checkNotFound},
		{"BadResponse", true, checkBadResponse},
		{"Checker", false, checkChecker},
	}
}

// skipError makes Run skip a subtest that does not apply.
type skipError string

func (e skipError) Error() string { return "skipped: " + string(e) }

// problems collects the failures of one scenario.
type problems struct {
	list []string
	more int
}

func (p *problems) addf(format string, args ...any) {
	if len(p.list) >= 25 {
		p.more++
		return
	}
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	msg := strings.Join(p.list, "\n")
	if p.more > 0 {
		msg += fmt.Sprintf("\n... and %d more", p.more)
	}
	return errors.New(msg)
}

// setup is one scenario's server and environment.
type setup struct {
	t   *testing.T
	h   *Harness
	srv *FixtureServer
	env Env
}

func newSetup(t *testing.T, h *Harness) (*setup, error) {
	s := &setup{t: t, h: h, env: Env{
		Name:          SourceName,
		Retries:       2,
		RetryWaitMin:  time.Millisecond,
		RetryWaitMax:  20 * time.Millisecond,
		MaxRetryAfter: 10 * time.Second,
		Timeout:       10 * time.Second,
	}}
	if h.NewServer != nil {
		s.srv = h.NewServer(t)
		if s.srv == nil {
			return nil, errors.New("Harness.NewServer returned nil")
		}
		s.env.BaseURL = s.srv.URL
		s.env.Server = s.srv
	}
	return s, nil
}

// source calls the harness's NewSource with the scenario's env, changed by mod.
func (s *setup) source(mod func(*Env)) (mesh.Source, error) {
	env := s.env
	if mod != nil {
		mod(&env)
	}
	src, err := s.h.NewSource(s.t, env)
	if err != nil {
		return nil, fmt.Errorf("Harness.NewSource: %w", err)
	}
	if src == nil {
		return nil, errors.New("Harness.NewSource returned a nil source")
	}
	if c, ok := src.(io.Closer); ok {
		s.t.Cleanup(func() { c.Close() })
	}
	return src, nil
}

func (s *setup) requests() []Recorded {
	if s.srv == nil {
		return nil
	}
	return s.srv.Requests()
}

// newSourceSetup is newSetup followed by source(nil).
func newSourceSetup(t *testing.T, h *Harness) (*setup, mesh.Source, error) {
	s, err := newSetup(t, h)
	if err != nil {
		return nil, nil, err
	}
	src, err := s.source(nil)
	return s, src, err
}

// tap wraps the source under test: it sets the page size and records what Fetch was asked, what it
// emitted (before the engine merges duplicates) and what it returned.
type tap struct {
	mesh.Source
	pageSize int

	mu      sync.Mutex
	req     mesh.FetchRequest
	res     mesh.FetchResult
	err     error
	upserts []emitted
	deletes []string
}

// emitted is the identity of one upserted node.
type emitted struct {
	ID, Type, NativeID, Locale string
}

func (t *tap) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	if t.pageSize > 0 {
		req.PageSize = t.pageSize
	}
	t.mu.Lock()
	t.req = req
	t.mu.Unlock()
	res, err := t.Source.Fetch(ctx, req, &tapEmitter{t: t, out: out})
	t.mu.Lock()
	t.res, t.err = res, err
	t.mu.Unlock()
	return res, err
}

type tapEmitter struct {
	t   *tap
	out mesh.Emitter
}

func (e *tapEmitter) Upsert(n mesh.Node) error {
	e.t.mu.Lock()
	e.t.upserts = append(e.t.upserts, emitted{n.ID, n.Type, n.NativeID, n.Locale})
	e.t.mu.Unlock()
	return e.out.Upsert(n)
}

func (e *tapEmitter) Delete(id string) error {
	e.t.mu.Lock()
	e.t.deletes = append(e.t.deletes, id)
	e.t.mu.Unlock()
	return e.out.Delete(id)
}

type buildOpts struct {
	store    mesh.Store
	out      string
	pageSize int
	full     bool
}

type built struct {
	b   *mesh.Build
	err error
	tap *tap
}

// build runs one build of src through the engine.
func build(ctx context.Context, src mesh.Source, o buildOpts) built {
	tp := &tap{Source: src, pageSize: o.pageSize}
	m, err := mesh.New(mesh.Options{Store: o.store, Out: o.out, Full: o.full})
	if err != nil {
		return built{err: err, tap: tp}
	}
	if err := m.Add(SourceName, tp); err != nil {
		return built{err: err, tap: tp}
	}
	b, err := m.Build(ctx)
	return built{b: b, err: err, tap: tp}
}

// nodePrint is what two builds of the same content must agree on, per node.
type nodePrint struct {
	Type, NativeID, Locale, UpdatedAt, Digest, Refs string
}

func fingerprint(g *mesh.Graph) map[string]nodePrint {
	out := map[string]nodePrint{}
	if g == nil {
		return out
	}
	for n := range g.Nodes() {
		refs, _ := json.Marshal(n.Refs)
		out[n.ID] = nodePrint{n.Type, n.NativeID, n.Locale, n.UpdatedAt.UTC().Format(time.RFC3339Nano), n.Digest, string(refs)}
	}
	return out
}

// diffGraphs adds a problem per node that differs between the graphs of two builds (at most 10).
func diffGraphs(p *problems, what string, want, got *mesh.Graph) {
	fa, fb := fingerprint(want), fingerprint(got)
	ids := make([]string, 0, len(fa)+len(fb))
	for id := range fa {
		ids = append(ids, id)
	}
	for id := range fb {
		if _, ok := fa[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	n := 0
	for _, id := range ids {
		x, inA := fa[id]
		y, inB := fb[id]
		var msg string
		switch {
		case !inB:
			msg = fmt.Sprintf("%s: node %s is missing", what, id)
		case !inA:
			msg = fmt.Sprintf("%s: node %s is extra", what, id)
		case x != y:
			msg = fmt.Sprintf("%s: node %s differs: %s", what, id, x.diff(y))
		default:
			continue
		}
		if n++; n <= 10 {
			p.addf("%s", msg)
		}
	}
	if n > 10 {
		p.addf("%s: ... and %d more nodes differ", what, n-10)
	}
}

// diff says which parts of two prints differ: "digest sha256:1a2b3c4d5e6f.. -> sha256:...".
func (a nodePrint) diff(b nodePrint) string {
	short := func(d string) string {
		if len(d) > 19 {
			return d[:19] + ".."
		}
		return d
	}
	var parts []string
	add := func(name, x, y string) {
		if x != y {
			parts = append(parts, fmt.Sprintf("%s %q -> %q", name, x, y))
		}
	}
	add("type", a.Type, b.Type)
	add("nativeId", a.NativeID, b.NativeID)
	add("locale", a.Locale, b.Locale)
	add("updatedAt", a.UpdatedAt, b.UpdatedAt)
	add("digest", short(a.Digest), short(b.Digest))
	add("refs", a.Refs, b.Refs)
	return strings.Join(parts, ", ")
}

// secret is a value that must not be shown, with a name to report it by.
type secret struct{ name, value string }

// secretsOf lists the harness's secrets, and the bad credential when bad is true.
func secretsOf(h *Harness, bad bool) []secret {
	var out []secret
	if bad {
		out = append(out, secret{"Env.BadCredential", BadCredential})
	}
	for i, v := range h.Secrets {
		out = append(out, secret{fmt.Sprintf("Harness.Secrets[%d]", i), v})
	}
	return out
}

// checkSecrets adds a problem for each secret found in text.
func checkSecrets(p *problems, where, text string, secrets []secret) {
	for _, s := range secrets {
		if s.value != "" && strings.Contains(text, s.value) {
			p.addf("%s holds the secret %s", where, s.name)
		}
	}
}

func reportJSON(b *mesh.Build) string {
	if b == nil {
		return ""
	}
	j, _ := json.Marshal(b.Report)
	return string(j)
}

func sourceReport(b *mesh.Build) (mesh.SourceReport, bool) {
	if b == nil || len(b.Report.Sources) != 1 {
		return mesh.SourceReport{}, false
	}
	return b.Report.Sources[0], true
}

func rel(id string) string { return SourceName + "/" + id }

// readDir reads every file under dir (none when it does not exist).
func readDir(dir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == dir {
			return fs.SkipAll
		}
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(r)] = b
		return nil
	})
	return out, err
}

// dirDigest maps every file under dir to the SHA-256 of its content.
func dirDigest(dir string) (map[string]string, error) {
	files, err := readDir(dir)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(files))
	for name, b := range files {
		sum := sha256.Sum256(b)
		out[name] = hex.EncodeToString(sum[:])
	}
	return out, nil
}
