package meshtest

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/contentmesh/contentmesh/mesh"
)

// checkNodes is the Nodes subtest.
func checkNodes(t *testing.T, h *Harness) error {
	s, src, err := newSourceSetup(t, h)
	if err != nil {
		return err
	}
	out := filepath.Join(t.TempDir(), "out")
	r := build(t.Context(), src, buildOpts{out: out})
	if r.err != nil {
		return fmt.Errorf("full build: %w", r.err)
	}
	var p problems
	checkEmitted(&p, "full fetch", r.tap.upserts, r.tap.res.Delta)
	g := r.b.Graph
	minNodes := max(h.Expect.MinNodes, 1)
	if g.Len() < minNodes {
		p.addf("the graph has %d nodes, want at least %d (Expect.MinNodes)", g.Len(), minNodes)
	}
	for n := range g.Nodes() {
		if !validDigest(n.Digest) {
			p.addf("node %s: digest %q is not sha256:<64 hex>", n.ID, n.Digest)
		}
		if n.Source != SourceName {
			p.addf("node %s: source %q, want %q", n.ID, n.Source, SourceName)
		}
	}
	types := g.Types()
	for _, typ := range h.Expect.Types {
		if !slices.Contains(types, typ) {
			p.addf("no node of type %q (Expect.Types); types present: %v", typ, types)
		}
	}
	counts := g.CountByType()
	for typ, want := range h.Expect.Counts {
		if counts[typ] != want {
			p.addf("%d nodes of type %q, want %d (Expect.Counts)", counts[typ], typ, want)
		}
	}
	for _, id := range h.Expect.IDs {
		if _, ok := g.Get(rel(id)); !ok {
			p.addf("no node %s (Expect.IDs)", rel(id))
		}
	}
	if sr, ok := sourceReport(r.b); !ok || sr.Status != mesh.StatusOK || sr.Nodes != g.Len() {
		p.addf("report %+v: want one source, status ok, %d nodes", r.b.Report.Sources, g.Len())
	} else if s.srv != nil {
		got := len(s.srv.Requests())
		if got == 0 {
			p.addf("the source made no request to the fixture server (does it use Env.BaseURL?)")
		}
		if sr.Requests != got {
			p.addf("the report counts %d requests, the server received %d: every request must go through "+
				"mesh/fetch, which reports each attempt to mesh.RecorderFrom(ctx)", sr.Requests, got)
		}
		for _, u := range s.srv.Unmatched() {
			p.addf("no fixture answered %s (looked for %s); a source must not swallow a 404", u.Key(),
				FixtureFile(u.Method, u.Path, u.Query))
		}
	}
	outputs, err := readDir(out)
	if err != nil {
		return err
	}
	for name, data := range outputs {
		checkSecrets(&p, "output file "+name, string(data), secretsOf(h, false))
	}
	return p.err()
}

// checkEmitted checks what one Fetch emitted, before the engine merged it.
func checkEmitted(p *problems, what string, ups []emitted, delta bool) {
	seen := map[string]int{}
	for _, n := range ups {
		seen[n.ID]++
		if seen[n.ID] == 2 && !delta {
			p.addf("%s: node %s was emitted more than once (pagination overlap?)", what, n.ID)
		}
		if seen[n.ID] > 1 {
			continue
		}
		if !strings.HasPrefix(n.ID, SourceName+"/") {
			p.addf("%s: node id %q does not start with the instance name %q (FetchRequest.Source)", what, n.ID, SourceName)
		}
		pid, err := mesh.ParseNodeID(n.ID)
		if err != nil {
			p.addf("%s: %v (build IDs with mesh.NodeID)", what, err)
			continue
		}
		if n.Type == "" {
			p.addf("%s: node %s has no type", what, n.ID)
		}
		if pid.NativeID != n.NativeID {
			p.addf("%s: node %s: NativeID %q, but the ID says %q", what, n.ID, n.NativeID, pid.NativeID)
		}
		if pid.Locale != n.Locale {
			p.addf("%s: node %s: Locale %q, but the ID says %q", what, n.ID, n.Locale, pid.Locale)
		}
	}
}

func validDigest(d string) bool {
	hexPart, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hexPart) != 64 || strings.ToLower(hexPart) != hexPart {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil
}

// checkDeterminism is the Determinism subtest.
func checkDeterminism(t *testing.T, h *Harness) error {
	_, src, err := newSourceSetup(t, h)
	if err != nil {
		return err
	}
	tmp := t.TempDir()
	outA, outB := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	a := build(t.Context(), src, buildOpts{out: outA})
	if a.err != nil {
		return fmt.Errorf("first build: %w", a.err)
	}
	b := build(t.Context(), src, buildOpts{out: outB})
	if b.err != nil {
		return fmt.Errorf("second build: %w", b.err)
	}
	var p problems
	diffGraphs(&p, "second fetch", a.b.Graph, b.b.Graph)
	ga, errA := os.ReadFile(filepath.Join(outA, "graph.json"))
	gb, errB := os.ReadFile(filepath.Join(outB, "graph.json"))
	if err := errors.Join(errA, errB); err != nil {
		return err
	}
	if !bytes.Equal(ga, gb) {
		p.addf("graph.json differs between two builds of the same content (%d and %d bytes)", len(ga), len(gb))
	}
	return p.err()
}

// checkRefs is the Refs subtest.
func checkRefs(t *testing.T, h *Harness) error {
	_, src, err := newSourceSetup(t, h)
	if err != nil {
		return err
	}
	r := build(t.Context(), src, buildOpts{})
	if r.err != nil {
		return fmt.Errorf("full build: %w", r.err)
	}
	var p problems
	g := r.b.Graph
	type key struct{ from, field, to string }
	unresolved := map[key]bool{}
	for n := range g.Nodes() {
		for _, ref := range n.Refs {
			if ref.Field == "" {
				p.addf("node %s: a ref to %s has no field", n.ID, ref.To)
			}
			if _, ok := g.Get(ref.To); ok {
				continue
			}
			unresolved[key{n.ID, ref.Field, ref.To}] = true
			if !slices.ContainsFunc(h.Expect.DanglingPrefixes, func(pre string) bool { return strings.HasPrefix(ref.To, rel(pre)) }) {
				p.addf("node %s: field %q refers to %s, which is not in the graph (nor allowed by Expect.DanglingPrefixes)", n.ID, ref.Field, ref.To)
			}
		}
	}
	reported := map[key]bool{}
	for _, d := range r.b.Report.DanglingRefs {
		k := key{d.From, d.Field, d.To}
		reported[k] = true
		if !unresolved[k] {
			p.addf("the report lists dangling ref %s.%s -> %s, which resolves or does not exist", d.From, d.Field, d.To)
		}
	}
	for k := range unresolved {
		if !reported[k] {
			p.addf("dangling ref %s.%s -> %s is missing from the report", k.from, k.field, k.to)
		}
	}
	for _, want := range h.Expect.Refs {
		from, to := rel(want.From), rel(want.To)
		n, ok := g.Get(from)
		if !ok {
			p.addf("no node %s to hold the ref %s -> %s (Expect.Refs)", from, want.Field, to)
			continue
		}
		if !slices.Contains(n.Refs, mesh.Ref{Field: want.Field, To: to}) {
			p.addf("node %s has no ref %q -> %s (Expect.Refs); its refs: %v", from, want.Field, to, n.Refs)
		}
		if target, ok := g.Get(to); ok && !slices.Contains(target.Backrefs, mesh.Backref{Field: want.Field, From: from}) {
			p.addf("node %s has no backref %q <- %s", to, want.Field, from)
		}
	}
	return p.err()
}

// checkPageSize1 is the PageSize1 subtest.
func checkPageSize1(t *testing.T, h *Harness) error {
	s, src, err := newSourceSetup(t, h)
	if err != nil {
		return err
	}
	a := build(t.Context(), src, buildOpts{})
	if a.err != nil {
		return fmt.Errorf("build with the default page size: %w", a.err)
	}
	nDefault := len(s.requests())
	if s.srv != nil {
		s.srv.ResetRequests()
	}
	src1, err := s.source(func(e *Env) { e.PageSize = 1 })
	if err != nil {
		return err
	}
	b := build(t.Context(), src1, buildOpts{pageSize: 1})
	if b.err != nil {
		return fmt.Errorf("build with page size 1: %w", b.err)
	}
	var p problems
	checkEmitted(&p, "page size 1", b.tap.upserts, b.tap.res.Delta)
	diffGraphs(&p, "page size 1", a.b.Graph, b.b.Graph)
	if s.srv != nil {
		if n1 := len(s.requests()); n1 <= nDefault {
			p.addf("page size 1 took %d requests, the default page size %d: the page size is not applied "+
				"(configure Env.PageSize or honor FetchRequest.PageSize), or skip PageSize1 with the reason", n1, nDefault)
		}
	}
	return p.err()
}

// errEmit is the failing Emitter's error.
var errEmit = errors.New("meshtest: the emitter failed")

type failingEmitter struct {
	mu     sync.Mutex
	failAt int
	n      int
}

func (e *failingEmitter) Upsert(mesh.Node) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if e.n >= e.failAt {
		return errEmit
	}
	return nil
}

func (e *failingEmitter) Delete(string) error { return nil }

func fetchRequest() mesh.FetchRequest {
	return mesh.FetchRequest{Source: SourceName, Logger: slog.New(slog.DiscardHandler)}
}

// checkEmitError is the EmitError subtest.
func checkEmitError(t *testing.T, h *Harness) error {
	_, src, err := newSourceSetup(t, h)
	if err != nil {
		return err
	}
	a := build(t.Context(), src, buildOpts{})
	if a.err != nil {
		return fmt.Errorf("full build: %w", a.err)
	}
	total := len(a.tap.upserts)
	if total == 0 {
		return errors.New("the full fetch emitted nothing")
	}
	var p problems
	for _, at := range slices.Compact([]int{1, total}) {
		em := &failingEmitter{failAt: at}
		_, err := src.Fetch(t.Context(), fetchRequest(), em)
		if !errors.Is(err, errEmit) {
			p.addf("the Emitter failed at Upsert %d of %d; Fetch returned %v, want the Emitter's error (errors.Is)", at, total, err)
		}
	}
	return p.err()
}

// cancelingEmitter cancels the fetch's context at the first Upsert.
type cancelingEmitter struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	n      int
}

func (e *cancelingEmitter) Upsert(mesh.Node) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	e.cancel()
	return nil
}

func (e *cancelingEmitter) Delete(string) error { return nil }

func (h *Harness) grace() time.Duration {
	if h.cancelGrace > 0 {
		return h.cancelGrace
	}
	return 30 * time.Second
}

// checkCancel is the Cancel subtest.
func checkCancel(t *testing.T, h *Harness) error {
	s, src, err := newSourceSetup(t, h)
	if err != nil {
		return err
	}
	leakOpts := goleak.IgnoreCurrent()
	var p problems
	if s.srv == nil {
		err = cancelAtUpsert(t, h, src, &p)
	} else {
		err = cancelWhileHeld(t, h, s, src, &p)
	}
	if err != nil {
		return err
	}
	if c, ok := src.(io.Closer); ok {
		c.Close()
	}
	if s.srv != nil {
		s.srv.CloseClientConnections() // idle keep-alive connections are not the source's leak
	}
	if err := goleak.Find(leakOpts); err != nil {
		p.addf("goroutines left running after Fetch returned: %v", err)
	}
	return p.err()
}

// cancelAtUpsert cancels a direct Fetch at its first Upsert.
func cancelAtUpsert(t *testing.T, h *Harness, src mesh.Source, p *problems) error {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	em := &cancelingEmitter{cancel: cancel}
	done := make(chan error, 1)
	go func() {
		_, err := src.Fetch(ctx, fetchRequest(), em)
		done <- err
	}()
	var err error
	timer := time.NewTimer(h.grace())
	defer timer.Stop()
	select {
	case err = <-done:
	case <-timer.C:
		return fmt.Errorf("Fetch did not return within %s of the context's cancellation", h.grace())
	}
	em.mu.Lock()
	n := em.n
	em.mu.Unlock()
	if n == 0 {
		return fmt.Errorf("Fetch emitted nothing (returned %v), so cancellation could not be tested", err)
	}
	if !errors.Is(err, context.Canceled) {
		p.addf("the context was cancelled at the first Upsert; Fetch went on to %d Upserts and returned %v, "+
			"want an error wrapping context.Canceled (check ctx between items and pages)", n, err)
	}
	return nil
}

// cancelWhileHeld cancels a build while the server holds a request.
func cancelWhileHeld(t *testing.T, h *Harness, s *setup, src mesh.Source, p *problems) error {
	grace := h.grace()
	hold := s.srv.Latency(Always, time.Hour)
	defer hold.Remove()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	awaitCtx, stopAwait := context.WithTimeout(t.Context(), grace)
	defer stopAwait()
	done := make(chan built, 1)
	go func() {
		done <- build(ctx, src, buildOpts{})
		stopAwait()
	}()
	_, awaitErr := s.srv.Await(awaitCtx, func(rs []Recorded) bool {
		return slices.ContainsFunc(rs, func(r Recorded) bool { return r.Pending() && r.Delay > 0 })
	})
	select {
	case r := <-done:
		if r.err != nil {
			return fmt.Errorf("the build failed before a request reached the server: %w", r.err)
		}
		return errors.New("the build finished without a request reaching the server")
	default:
	}
	if awaitErr != nil {
		return fmt.Errorf("no request reached the server within %s", grace)
	}
	cancel()
	var r built
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case r = <-done:
	case <-timer.C:
		p.addf("Build did not return within %s of the context's cancellation while the server held a request: "+
			"every request and wait must honor ctx", grace)
		hold.Remove()
		s.srv.CloseClientConnections()
		timer.Reset(grace)
		select {
		case r = <-done:
		case <-timer.C:
			return errors.Join(p.err(), errors.New("the build is still running; abandoned"))
		}
	}
	if !errors.Is(r.err, context.Canceled) {
		p.addf("Build after cancellation returned %v, want an error wrapping context.Canceled", r.err)
	}
	return nil
}

// checkIncremental is the Incremental subtest.
func checkIncremental(t *testing.T, h *Harness) error {
	_, src, err := newSourceSetup(t, h)
	if err != nil {
		return err
	}
	store, err := mesh.NewDirStore(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		return err
	}
	a := build(t.Context(), src, buildOpts{store: store})
	if a.err != nil {
		return fmt.Errorf("first build (empty store, no cursor): %w", a.err)
	}
	if len(a.tap.req.Cursor) != 0 {
		return fmt.Errorf("the first build passed cursor %s to an empty store's source", a.tap.req.Cursor)
	}
	cursor := a.tap.res.Cursor
	if len(cursor) == 0 {
		if h.Incremental {
			return errors.New("Harness.Incremental is set but Fetch returned no cursor")
		}
		return skipError("Fetch returned no cursor: the source does not sync incrementally")
	}
	var p problems
	if a.tap.res.Delta {
		p.addf("Fetch without a cursor returned a delta; it must return the full set")
	}
	b := build(t.Context(), src, buildOpts{store: store})
	if b.err != nil {
		return fmt.Errorf("second build (from the saved cursor): %w", b.err)
	}
	want, _, errA := mesh.Canonicalize(cursor)
	got, _, errB := mesh.Canonicalize(b.tap.req.Cursor)
	if errA != nil || errB != nil || !bytes.Equal(want, got) {
		p.addf("the second build passed cursor %s, want the first one's %s", b.tap.req.Cursor, cursor)
	}
	diffGraphs(&p, "build from the cursor, nothing changed upstream", a.b.Graph, b.b.Graph)
	if !b.b.Changes.Empty() {
		p.addf("nothing changed upstream, but the change set is %+v", b.b.Changes)
	}
	c := build(t.Context(), src, buildOpts{store: store, full: true})
	if c.err != nil {
		return fmt.Errorf("full build (Options.Full): %w", c.err)
	}
	if len(c.tap.req.Cursor) != 0 {
		p.addf("a full build passed a cursor")
	}
	diffGraphs(&p, "full build", a.b.Graph, c.b.Graph)
	return p.err()
}

// checkRateLimit is the RateLimit subtest.
func checkRateLimit(t *testing.T, h *Harness) error {
	s, src, err := newSourceSetup(t, h)
	if err != nil {
		return err
	}
	base := build(t.Context(), src, buildOpts{})
	if base.err != nil {
		return fmt.Errorf("build without faults: %w", base.err)
	}
	s.srv.ResetRequests()
	rl := h.RateLimit
	f := Fault{Count: 1, Status: 429, Wait: rl.Wait, Reset: rl.Reset, Header: rl.Header, Body: rl.Body}
	if f.Wait == 0 {
		f.Wait = time.Second
	}
	switch {
	case rl.NoHeader:
		f.Reset = nil
	case len(f.Reset) == 0:
		f.Reset = []ResetHeader{RetryAfter}
	}
	s.srv.Inject(f)
	r := build(t.Context(), src, buildOpts{})
	if r.err != nil {
		return fmt.Errorf("one 429 failed the build (it must be retried after the reset time): %w", r.err)
	}
	var p problems
	diffGraphs(&p, "build with one 429", base.b.Graph, r.b.Graph)
	reqs := s.srv.Requests()
	i := slices.IndexFunc(reqs, func(x Recorded) bool { return x.Fault == "status 429" })
	if i < 0 {
		return errors.New("the server answered no request with 429")
	}
	first := reqs[i]
	j := slices.IndexFunc(reqs[i+1:], func(x Recorded) bool { return x.Key() == first.Key() })
	if j < 0 {
		p.addf("the throttled request %s was not retried", first.Key())
	} else if retry := reqs[i+1+j]; !first.ResetAt.IsZero() && retry.Time.Before(first.ResetAt) {
		p.addf("the throttled request %s was retried %s before the reset time its 429 gave (%v)",
			first.Key(), first.ResetAt.Sub(retry.Time).Round(time.Millisecond), headerNames(f.Reset))
	}
	if sr, ok := sourceReport(r.b); !ok || sr.Throttled < 1 || sr.Retries < 1 {
		p.addf("the report must count the 429 and its retry (throttled >= 1, retries >= 1): %+v", r.b.Report.Sources)
	}
	return p.err()
}

func headerNames(hs []ResetHeader) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Name)
	}
	return out
}

// attemptsPerKey counts the requests per Key among those accepted by keep.
func attemptsPerKey(reqs []Recorded, keep func(Recorded) bool) (maxKey string, maxN int) {
	n := map[string]int{}
	for _, r := range reqs {
		if keep(r) {
			n[r.Key()]++
		}
	}
	for k, c := range n {
		if c > maxN || (c == maxN && k < maxKey) {
			maxKey, maxN = k, c
		}
	}
	return maxKey, maxN
}

// checkServerError is the ServerError subtest.
func checkServerError(t *testing.T, h *Harness) error {
	s, src, err := newSourceSetup(t, h)
	if err != nil {
		return err
	}
	tmp := t.TempDir()
	out, cache := filepath.Join(tmp, "out"), filepath.Join(tmp, "cache")
	store, err := mesh.NewDirStore(cache)
	if err != nil {
		return err
	}
	if a := build(t.Context(), src, buildOpts{store: store, out: out}); a.err != nil {
		return fmt.Errorf("good build: %w", a.err)
	}
	before, err := dirDigest(tmp)
	if err != nil {
		return err
	}
	s.srv.ResetRequests()
	status := h.ServerErrorStatus
	if status == 0 {
		status = 503
	}
	s.srv.Fail5xx(Always, status)
	r := build(t.Context(), src, buildOpts{store: store, out: out})
	if r.err == nil {
		return fmt.Errorf("the build succeeded although every request failed with %d", status)
	}
	var p problems
	msg := r.err.Error()
	if !errors.Is(r.err, mesh.ErrUpstream) {
		p.addf("error %q does not wrap mesh.ErrUpstream", msg)
	}
	// The status as a number of its own, outside the server's address (a port such as 45033
	// would otherwise hold "503").
	withoutAddr := strings.ReplaceAll(msg, s.srv.Listener.Addr().String(), "")
	if !regexp.MustCompile(`\b` + strconv.Itoa(status) + `\b`).MatchString(withoutAddr) {
		p.addf("error %q does not hold the status %d", msg, status)
	}
	if !strings.Contains(msg, SourceName) {
		p.addf("error %q does not name the source %q", msg, SourceName)
	}
	if addr := s.srv.Listener.Addr().String(); !strings.Contains(msg, addr) {
		p.addf("error %q does not name the URL (host %s)", msg, addr)
	}
	checkSecrets(&p, "the error", msg, secretsOf(h, false))
	checkSecrets(&p, "the report", reportJSON(r.b), secretsOf(h, false))
	key, n := attemptsPerKey(s.srv.Requests(), func(Recorded) bool { return true })
	if want := s.env.Retries + 1; n != want {
		p.addf("%s was tried %d times, want %d (Env.Retries = %d retries after the first attempt)", key, n, want, s.env.Retries)
	}
	after, err := dirDigest(tmp)
	if err != nil {
		return err
	}
	if !maps.Equal(before, after) {
		p.addf("the failed build changed the output folder or the snapshot of the earlier good build")
	}
	return p.err()
}

// checkUnauthorized is the Unauthorized subtest.
func checkUnauthorized(t *testing.T, h *Harness) error {
	s, err := newSetup(t, h)
	if err != nil {
		return err
	}
	src, err := s.source(func(e *Env) { e.BadCredential = BadCredential })
	if err != nil {
		return err
	}
	r := build(t.Context(), src, buildOpts{})
	reqs := s.srv.Requests()
	rejected := slices.ContainsFunc(reqs, func(x Recorded) bool { return x.Rejected })
	if !rejected {
		return fmt.Errorf("the server rejected no request (build error: %v): NewServer must require the credential "+
			"(RequireHeader, RequireQuery or RequireFunc) and NewSource must configure Env.BadCredential", r.err)
	}
	if r.err == nil {
		return errors.New("the build succeeded although the server rejected the credential")
	}
	var p problems
	msg := r.err.Error()
	if !errors.Is(r.err, mesh.ErrUnauthorized) {
		p.addf("error %q does not wrap mesh.ErrUnauthorized", msg)
	}
	if !strings.Contains(msg, SourceName) {
		p.addf("error %q does not name the source %q", msg, SourceName)
	}
	checkSecrets(&p, "the error", msg, secretsOf(h, true))
	checkSecrets(&p, "the report", reportJSON(r.b), secretsOf(h, true))
	if key, n := attemptsPerKey(reqs, func(x Recorded) bool { return x.Rejected }); n > 2 {
		p.addf("%s was rejected %d times: a 401 must not be retried (at most once, after refreshing a token)", key, n)
	}
	return p.err()
}

// checkNotFound is the NotFound subtest.
func checkNotFound(t *testing.T, h *Harness) error {
	s, src, err := newSourceSetup(t, h)
	if err != nil {
		return err
	}
	s.srv.Status(Always, 404, nil)
	r := build(t.Context(), src, buildOpts{})
	if r.err == nil {
		return fmt.Errorf("every request was answered 404, yet the build succeeded with %d nodes", r.b.Graph.Len())
	}
	var p problems
	msg := r.err.Error()
	if !errors.Is(r.err, mesh.ErrNotFound) {
		p.addf("every request was answered 404: error %q does not wrap mesh.ErrNotFound", msg)
	}
	if !strings.Contains(msg, SourceName) {
		p.addf("every request was answered 404: error %q does not name the source %q", msg, SourceName)
	}
	return p.err()
}

// checkBadResponse is the BadResponse subtest.
func checkBadResponse(t *testing.T, h *Harness) error {
	var p problems
	for _, mode := range []string{"an HTML page with status 200", "a truncated JSON body"} {
		s, src, err := newSourceSetup(t, h)
		if err != nil {
			return err
		}
		if strings.HasPrefix(mode, "an HTML") {
			s.srv.NonJSON(Always)
		} else {
			s.srv.Truncate(Always)
		}
		r := build(t.Context(), src, buildOpts{})
		if r.err == nil {
			p.addf("every response was %s, yet the build succeeded with %d nodes", mode, r.b.Graph.Len())
			continue
		}
		msg := r.err.Error()
		if !errors.Is(r.err, mesh.ErrBadResponse) {
			p.addf("every response was %s: error %q does not wrap mesh.ErrBadResponse", mode, msg)
		}
		if !strings.Contains(msg, SourceName) {
			p.addf("every response was %s: error %q does not name the source %q", mode, msg, SourceName)
		}
		if addr := s.srv.Listener.Addr().String(); !strings.Contains(msg, addr) {
			p.addf("every response was %s: error %q does not name the URL (host %s)", mode, msg, addr)
		}
	}
	return p.err()
}

// checkChecker is the Checker subtest.
func checkChecker(t *testing.T, h *Harness) error {
	s, src, err := newSourceSetup(t, h)
	if err != nil {
		return err
	}
	ch, ok := src.(mesh.Checker)
	if !ok {
		return skipError("the source does not implement mesh.Checker")
	}
	var p problems
	if err := ch.Check(t.Context()); err != nil {
		p.addf("Check with the right credential: %v", err)
	}
	if s.srv != nil {
		bad, err := s.source(func(e *Env) { e.BadCredential = BadCredential })
		if err != nil {
			return err
		}
		bc, ok := bad.(mesh.Checker)
		if !ok {
			return errors.New("NewSource returned a source without Check for a bad credential")
		}
		err = bc.Check(t.Context())
		switch {
		case err == nil:
			p.addf("Check with a wrong credential passed")
		case !errors.Is(err, mesh.ErrUnauthorized):
			p.addf("Check with a wrong credential: %q does not wrap mesh.ErrUnauthorized", err)
		default:
			checkSecrets(&p, "Check's error", err.Error(), secretsOf(h, true))
		}
	}
	return p.err()
}
