// Package directus is a mesh.Source for the Directus REST API: the items of the configured
// collections, with their relational fields (many-to-one, one-to-many, many-to-many, files) as
// references, and the files they use as Assets.
//
// # Configuration
//
//	sources:
//	  - name: site
//	    type: directus
//	    url: https://directus.example.com   # the project's origin; items are at <url>/items/<collection>
//	    token: ${DIRECTUS_TOKEN}            # a static token or an access token; none for the public role
//	    collections: [articles, authors, categories]
//	    baseURL: http://127.0.0.1:8055      # optional; see below
//	    timeout: 30s                        # and the other mesh/fetch options: retries, concurrency,
//	    requestsPerSecond: 5                # requestsPerSecond, maxRetryAfter, maxBodyBytes, ...
//
// collections lists collection names as in /items/<collection>. url is the project's origin, which
// is already the API's origin: baseURL, accepted like in every adapter, replaces it for the
// requests when set (a proxy, a test server); giving only baseURL is the same as giving only url.
// Asset URLs are <url>/assets/<file id>.
//
// # Authentication
//
// token is sent as "Authorization: Bearer <token>", never printed by Config's String, GoString or
// LogValue, and scrubbed from errors. Without it, the public role's permissions apply. The adapter
// reads the schema (/fields and /relations) to know which fields are relations: the token's role (or
// the public policy) needs read access to the configured collections, to directus_files when they
// use files, and to the system collections directus_fields and directus_relations; a 403 on those
// says so.
//
// # Rate limits
//
// Directus' rate limiter is off by default; when on, it answers 429 REQUESTS_EXCEEDED with
// Retry-After, which mesh/fetch honors up to maxRetryAfter. Listings ask for limit=100 (Directus'
// default QUERY_LIMIT_DEFAULT; a server's QUERY_LIMIT_MAX may be lower than larger pages) in primary
// key order (sort=<pk>, so that no item is skipped or repeated) with meta=filter_count; once the first
// page has given the count, the other pages are fetched concurrently, at most `concurrency` at a
// time. A listing whose count changes while it is read is read again from the start (at most three
// times), and items seen only in an abandoned pass are deleted again.
//
// # Mapping
//
// Every item is one node of type PascalCase(singular of the collection name) (articles -> Article,
// categories -> Category, news -> News), ID <source>/<collection>/<primary key>, updatedAt from
// the date-updated field (else the date-created one). Fields keep Directus' names; timestamp fields
// are RFC 3339 UTC. Relational fields become references: a many-to-one field (its foreign key, or
// the object when a proxy expanded it) one {"$ref"}, or null; a one-to-many alias the array of
// $refs to the items listing it; a many-to-many alias (read with fields=*,<alias>.<junction field>)
// the array of $refs to the items on the far side of the junction. Files (many-to-one to
// directus_files, or many-to-many through a junction) point at Asset nodes, ID <source>/files/<uuid>,
// read from /files when a configured collection uses files: url (<url>/assets/<id>), mimeType, width,
// height, size, title, alt (the description), fileName (filename_download), description, folder,
// uploaded_on, modified_on. References to a collection that is not configured dangle (the build
// reports them); fields to directus_users and other system collections keep their ids, and
// translations and many-to-any fields stay as Directus sends them.
//
// # Incremental sync
//
// The cursor keeps, per collection, the newest date_updated or date_created seen and the primary
// keys of the last listing. The next fetch is a delta: per collection it lists the items with
// filter[<date-updated field>][_gt] (one second before the newest time seen), sweeps the keys that
// exist now (fields=<pk>, 100 per page, concurrently), deletes the ones that are gone, and reads the
// ones that are new without an update time (Directus leaves date_updated null until the first edit)
// with filter[<pk>][_in]. A collection without a date-updated field is listed whole each time, its
// deletions found the same way; files use modified_on. Editing one side of a relation does not
// change the other side's update time (an author's list of articles when an article moves, a
// reference to a file deleted with ON DELETE SET NULL): after a delta that found changes in a
// collection, the collections with relational fields pointing at it are read again whole (the items
// the delta already read excepted), so their references are current. A cursor made by another
// configuration (url, token or not, collections) is ignored, and the fetch is full.
package directus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/contentmesh/contentmesh/sources/internal/emit"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
	"golang.org/x/sync/errgroup"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/sources/internal/normalize"
)

// Kind is the adapter's name, the config's `type: directus`.
const Kind = "directus"

// Config configures a Directus Source. Its yaml keys are part of the configuration contract.
type Config struct {
	// URL is the project's origin, e.g. "https://directus.example.com".
	URL string `yaml:"url"`
	// Token is a static token (or an access token), sent as a Bearer token; empty: the public role.
	Token string `yaml:"token,omitempty"`
	// Collections lists the collections to fetch. Required.
	Collections []string `yaml:"collections"`
	// BaseURL, when set, is where requests go instead of URL (a proxy or a test server).
	BaseURL string `yaml:"baseURL,omitempty"`

	// Options are the mesh/fetch knobs: timeout, retries, concurrency, requestsPerSecond, ...
	fetch.Options `yaml:",inline"`
}

// String describes the configuration without its token.
func (c Config) String() string {
	tok := ""
	if c.Token != "" {
		tok = fetch.Redacted
	}
	return fmt.Sprintf("directus.Config{URL:%q BaseURL:%q Token:%q Collections:%q}", c.URL, c.BaseURL, tok, c.Collections)
}

// GoString is String, so that %#v does not print the token either.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the token.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Source reads a Directus project. It is safe for concurrent use.
type Source struct {
	cfg         Config
	client      *fetch.Client
	origin      string
	fingerprint string
}

var (
	_ mesh.Source  = (*Source)(nil)
	_ mesh.Checker = (*Source)(nil)
)

// New validates cfg and returns a Source. It does no I/O. Errors wrap mesh.ErrInvalidConfig and name
// the key.
func New(cfg Config) (*Source, error) {
	bad := func(key, format string, args ...any) error {
		return &mesh.ConfigError{Where: fmt.Sprintf("directus: key %q", key), Msg: fmt.Sprintf(format, args...)}
	}
	origin, originKey := cfg.BaseURL, "baseURL"
	if origin == "" {
		origin, originKey = cfg.URL, "url"
	}
	if origin == "" {
		return nil, bad("url", "required: the project's origin, e.g. https://directus.example.com")
	}
	for _, k := range []struct{ key, v string }{{"url", cfg.URL}, {"baseURL", cfg.BaseURL}} {
		if k.v == "" {
			continue
		}
		u, err := url.Parse(k.v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, bad(k.key, "want an http or https URL of the project's origin, got %q", fetch.RedactURLString(k.v, nil))
		}
		if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, bad(k.key, "want the project's origin, without query, fragment or credentials (put the token in token)")
		}
		if strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/items") {
			return nil, bad(k.key, "want the project's origin without /items (the adapter adds /items/<collection>)")
		}
	}
	if len(cfg.Collections) == 0 {
		return nil, bad("collections", "required: the collections to fetch, e.g. [articles, authors]")
	}
	seen := map[string]bool{}
	for _, c := range cfg.Collections {
		switch {
		case c == "":
			return nil, bad("collections", "empty name")
		case strings.ContainsAny(c, "/?#@% .:"):
			return nil, bad("collections", "%q: want a collection name such as articles", c)
		case strings.HasPrefix(c, "directus_"):
			return nil, bad("collections", "%q: system collections are not content (files are read as Assets when collections use them)", c)
		case seen[c]:
			return nil, bad("collections", "%q is listed twice", c)
		}
		seen[c] = true
	}
	if strings.ContainsAny(cfg.Token, "\r\n") {
		return nil, bad("token", "has a line break")
	}
	token := cfg.Token
	client, err := fetch.New(fetch.Config{
		BaseURL:      strings.TrimRight(origin, "/"),
		ErrorMessage: ErrorMessage,
		Auth: func(r *http.Request) error {
			if token != "" {
				r.Header.Set("Authorization", "Bearer "+token)
			}
			return nil
		},
	}, cfg.Options)
	if err != nil {
		var ce *mesh.ConfigError
		if errors.As(err, &ce) && strings.Contains(ce.Where, `"baseURL"`) {
			return nil, bad(originKey, "%v", ce.Msg)
		}
		return nil, fmt.Errorf("directus: %w", err)
	}
	pub := cfg.URL
	if pub == "" {
		pub = cfg.BaseURL
	}
	fp := sha256.Sum256(fmt.Appendf(nil, "v1\x00%s\x00%q\x00%v", strings.TrimRight(origin, "/"), cfg.Collections, token != ""))
	return &Source{cfg: cfg, client: client, origin: strings.TrimRight(pub, "/"), fingerprint: hex.EncodeToString(fp[:8])}, nil
}

// Kind implements mesh.Source.
func (s *Source) Kind() string { return Kind }

// Check implements mesh.Checker: it reads the schema and one item of the first collection.
func (s *Source) Check(ctx context.Context) error {
	defer s.client.CloseIdleConnections()
	if _, err := s.readSchema(ctx); err != nil {
		return err
	}
	c := s.cfg.Collections[0]
	if _, err := s.client.DoJSON(ctx, &fetch.Request{URL: pathItems + c, Query: url.Values{paramLimit: {"1"}}}); err != nil {
		return s.explain("check "+c, c, err)
	}
	return nil
}

// readSchema reads /fields and /relations at once.
func (s *Source) readSchema(ctx context.Context) (schema, error) {
	var fb, rb []byte
	g, gctx := errgroup.WithContext(ctx)
	for _, p := range []struct {
		path string
		dst  *[]byte
	}{{pathFields, &fb}, {pathRelations, &rb}} {
		g.Go(func() error {
			r, err := s.client.DoJSON(gctx, &fetch.Request{URL: p.path})
			if err != nil {
				return s.explain("read the schema ("+p.path+")", schemaCollections, err)
			}
			*p.dst = r.Body
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sch, err := parseSchema(fb, rb)
	if err != nil {
		return nil, fmt.Errorf("directus: %w", err)
	}
	return sch, nil
}

// schemaCollections names, in errors, the system collections the schema is read from.
const schemaCollections = "directus_fields and directus_relations"

// pageSize is the page size to request: the engine's when set, else Directus' default limit.
func pageSize(req mesh.FetchRequest) int {
	if req.PageSize > 0 {
		return req.PageSize
	}
	return defaultPageSize
}

// listing is one collection to fetch: where, how its items map, how a delta asks for changes.
type listing struct {
	name  string // collection name (directus_files for files)
	path  string
	info  *collInfo
	since string // the field whose _gt filter asks for changes; "" lists everything each time
	query url.Values
}

// Fetch implements mesh.Source (see the package documentation).
func (s *Source) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	defer s.client.CloseIdleConnections()
	log := req.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	em := emit.NewGuard(out)
	res, err := s.fetch(ctx, req, log, em)
	if e := em.Err(); e != nil {
		return mesh.FetchResult{}, e // unchanged, as the Source contract asks
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return mesh.FetchResult{}, ctxErr
		}
		return mesh.FetchResult{}, err
	}
	return res, nil
}

func (s *Source) fetch(ctx context.Context, req mesh.FetchRequest, log *slog.Logger, em *emit.Guard) (mesh.FetchResult, error) {
	prev := s.readCursor(req, log)
	sch, err := s.readSchema(ctx)
	if err != nil {
		return mesh.FetchResult{}, err
	}
	var lists []*listing
	files := false
	for _, c := range s.cfg.Collections {
		info := sch[c]
		if info == nil {
			// Directus answers 403 for a collection that does not exist, and leaves the ones the
			// role may not read out of /fields: the listing's own error will say which.
			info = &collInfo{name: c, pk: "id", timestamps: map[string]bool{}, rels: map[string]relField{}}
		}
		q := url.Values{paramSort: {info.pk}, paramMeta: {metaCount}}
		fields := []string{"*"}
		for _, f := range sortedKeys(info.rels) {
			r := info.rels[f]
			if r.kind == relM2M {
				fields = append(fields, f+"."+r.junction)
			}
			if r.target == filesCollection {
				files = true
			}
		}
		q.Set(paramFields, strings.Join(fields, ","))
		lists = append(lists, &listing{name: c, path: pathItems + c, info: info, since: info.dateUpdated, query: q})
	}
	if files {
		info := sch[filesCollection]
		if info == nil {
			info = &collInfo{name: filesCollection, pk: "id", timestamps: map[string]bool{}, rels: map[string]relField{}}
		}
		lists = append(lists, &listing{name: filesCollection, path: pathFiles, info: info, since: "modified_on",
			query: url.Values{paramSort: {"id"}, paramMeta: {metaCount}}})
	}
	if prev != nil {
		for _, l := range lists {
			if _, ok := prev.Collections[l.name]; !ok {
				prev = nil // a collection began to use files: nothing to compare with
				break
			}
		}
	}
	next := cursor{V: 1, Fingerprint: s.fingerprint, Source: req.Source, Collections: map[string]collState{}}
	var mu sync.Mutex
	results := map[string]*listResult{}
	g, gctx := errgroup.WithContext(ctx)
	for _, l := range lists {
		g.Go(func() error {
			var p *collState
			if prev != nil {
				st := prev.Collections[l.name]
				p = &st
			}
			res, err := s.fetchListing(gctx, req, l, p, em)
			if err != nil {
				return err
			}
			mu.Lock()
			next.Collections[l.name] = res.state
			results[l.name] = res
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return mesh.FetchResult{}, err
	}
	if prev != nil {
		if err := s.refreshRelated(ctx, req, lists, results, em); err != nil {
			return mesh.FetchResult{}, err
		}
	}
	cur, err := json.Marshal(next)
	if err != nil {
		return mesh.FetchResult{}, fmt.Errorf("directus: encode cursor: %w", err)
	}
	return mesh.FetchResult{Delta: prev != nil, Cursor: cur}, nil
}

// readCursor decodes the request's cursor; nil means a full fetch.
func (s *Source) readCursor(req mesh.FetchRequest, log *slog.Logger) *cursor {
	if len(req.Cursor) == 0 {
		return nil
	}
	var c cursor
	if err := json.Unmarshal(req.Cursor, &c); err != nil || c.V != 1 || c.Collections == nil {
		log.Warn("directus: unreadable cursor, fetching everything", "err", err)
		return nil
	}
	if c.Fingerprint != s.fingerprint || c.Source != req.Source {
		log.Info("directus: configuration changed since the last fetch, fetching everything")
		return nil
	}
	return &c
}

// listResult is what fetching one collection did.
type listResult struct {
	state collState
	// upserted and deleted count the items a delta found changed, new or gone.
	upserted, deleted int
	// emitted holds the keys upserted in this fetch.
	emitted map[string]bool
	delta   bool
}

// refreshRelated re-reads, after a delta, the collections whose relational fields may have changed
// without their own update time changing: a field that points at (or lists) items of a collection
// that changed. Editing the other side of a relation (an author's list of articles, a file deleted
// with ON DELETE SET NULL, a junction row) does not touch this side's date_updated. The items the
// delta already read are not read again.
func (s *Source) refreshRelated(ctx context.Context, req mesh.FetchRequest, lists []*listing, results map[string]*listResult, em *emit.Guard) error {
	changed := map[string]bool{}
	for name, r := range results {
		if r.deleted > 0 || (r.upserted > 0 && name != filesCollection) {
			changed[name] = true // a file's own edits change no reference to it; its deletion does
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, l := range lists {
		r := results[l.name]
		if !r.delta || l.name == filesCollection {
			continue // listed whole already
		}
		stale := false
		for _, rel := range l.info.rels {
			stale = stale || changed[rel.target]
		}
		if !stale {
			continue
		}
		d := &decoder{source: req.Source, origin: s.origin, info: l.info}
		g.Go(func() error {
			err := s.list(gctx, l.path, cloneQuery(l.query), pageSize(req), func(_ int, item gjson.Result) error {
				k, err := d.key(item)
				if err != nil || r.emitted[k] {
					return err
				}
				n, _, err := d.item(item)
				if err != nil {
					return err
				}
				return em.Upsert(n)
			})
			if err != nil {
				return s.explain("read "+l.name+" again (a collection it links to changed)", l.name, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// fetchListing fetches one collection: a full listing, or (with prev) the delta of the package
// documentation.
func (s *Source) fetchListing(ctx context.Context, req mesh.FetchRequest, l *listing, prev *collState, em *emit.Guard) (*listResult, error) {
	d := &decoder{source: req.Source, origin: s.origin, info: l.info, files: l.name == filesCollection}
	size := pageSize(req)
	st := collState{}
	res := &listResult{}
	var mu sync.Mutex
	emitted := map[string]int{} // key -> listing attempt
	lastAttempt := 0
	upsert := func(attempt int, item gjson.Result) error {
		n, stamp, err := d.item(item)
		if err != nil {
			return err
		}
		mu.Lock()
		emitted[n.NativeID] = attempt
		lastAttempt = max(lastAttempt, attempt)
		if laterTime(stamp, st.Since) {
			st.Since = stamp
		}
		mu.Unlock()
		return em.Upsert(n)
	}
	nodeID := func(key string) string { return d.nodeID(key) }
	delta := prev != nil && l.since != "" && prev.Since != ""
	q := cloneQuery(l.query)
	if delta {
		st.Since = prev.Since
		q.Set("filter["+l.since+"][_gt]", sinceParam(prev.Since))
	}

	var now map[string]bool
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := s.list(gctx, l.path, q, size, upsert); err != nil {
			what := "list " + l.name
			if delta {
				what = "list changed " + l.name
			}
			return s.explain(what, l.name, err)
		}
		return nil
	})
	if delta {
		now = map[string]bool{}
		g.Go(func() error {
			sq := url.Values{paramSort: {l.info.pk}, paramMeta: {metaCount}, paramFields: {l.info.pk}}
			var nmu sync.Mutex
			last := 0
			err := s.list(gctx, l.path, sq, defaultPageSize, func(attempt int, item gjson.Result) error {
				key, err := d.key(item)
				if err != nil {
					return err
				}
				nmu.Lock()
				defer nmu.Unlock()
				if attempt > last {
					clear(now)
					last = attempt
				}
				now[key] = true
				return nil
			})
			if err != nil {
				return s.explain("sweep the keys of "+l.name, l.name, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	current := map[string]bool{}
	for k, a := range emitted {
		if a == lastAttempt {
			current[k] = true
		}
	}
	for _, k := range sortedKeys(emitted) {
		if !current[k] && !(delta && now[k]) {
			if err := em.Delete(nodeID(k)); err != nil {
				return nil, err
			}
		}
	}
	res.delta = delta
	res.emitted = current
	res.upserted = len(current)
	if !delta {
		st.Keys = sortedKeys(current)
		res.state = st
		if prev != nil { // no update times: everything was listed, deletions by key
			for _, k := range prev.Keys {
				if !current[k] {
					res.deleted++
					if err := em.Delete(nodeID(k)); err != nil {
						return nil, err
					}
				}
			}
		}
		return res, nil
	}

	// Keys that exist now, were not there last time and did not come back as changed (new items
	// have no date_updated): read them.
	had := map[string]bool{}
	for _, k := range prev.Keys {
		had[k] = true
	}
	var missing []string
	for k := range now {
		if !had[k] && !current[k] {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	final := lastAttempt
	for chunk := range slices.Chunk(missing, defaultPageSize) {
		mq := cloneQuery(l.query)
		mq.Set("filter["+l.info.pk+"][_in]", strings.Join(chunk, ","))
		if err := s.list(ctx, l.path, mq, defaultPageSize, func(_ int, item gjson.Result) error {
			return upsert(final, item)
		}); err != nil {
			return nil, s.explain("read new "+l.name+" by key", l.name, err)
		}
	}
	st.Keys = sortedKeys(now)
	res.state = st
	mu.Lock()
	for k := range emitted {
		res.emitted[k] = true
	}
	res.upserted = len(res.emitted)
	mu.Unlock()
	gone := map[string]bool{}
	for _, k := range prev.Keys {
		gone[k] = true
	}
	for k := range emitted {
		gone[k] = true
	}
	for _, k := range sortedKeys(gone) {
		if !now[k] {
			res.deleted++
			if err := em.Delete(nodeID(k)); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

func cloneQuery(q url.Values) url.Values {
	out := make(url.Values, len(q)+3)
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// laterTime reports whether the timestamp a is after b ("" is before everything).
func laterTime(a, b string) bool {
	if a == "" {
		return false
	}
	if b == "" {
		return true
	}
	ta, err1 := normalize.Time(a)
	tb, err2 := normalize.Time(b)
	if err1 != nil || err2 != nil {
		return a > b
	}
	return ta.After(tb)
}

// sinceParam is the _gt filter value for a cursor's Since: one second earlier, so that an item saved
// in the same second as the newest one seen is not missed.
func sinceParam(since string) string {
	t, err := normalize.Time(since)
	if err != nil {
		return since
	}
	return t.Add(-time.Second).UTC().Format("2006-01-02T15:04:05.000Z")
}

// Listing errors that make the listing start again.
var (
	errChanged  = errors.New("the listing changed while it was read")
	errNoTotals = errors.New("no meta.filter_count")
)

const maxListAttempts = 3

// list reads every item of a listing, calling each (concurrently) with the attempt number and the
// item. A listing whose count changes while it is read is read again from the start.
func (s *Source) list(ctx context.Context, path string, q url.Values, size int, each func(attempt int, item gjson.Result) error) error {
	for attempt := 0; ; attempt++ {
		err := s.listOnce(ctx, path, q, size, func(item gjson.Result) error { return each(attempt, item) })
		if errors.Is(err, errChanged) && attempt+1 < maxListAttempts && ctx.Err() == nil {
			continue
		}
		return err
	}
}

// listOnce is one pass over a listing.
func (s *Source) listOnce(ctx context.Context, path string, q url.Values, size int, each func(gjson.Result) error) error {
	page := func(i int) *fetch.Request {
		qq := cloneQuery(q)
		qq.Set(paramLimit, strconv.Itoa(size))
		qq.Set(paramPage, strconv.Itoa(i+1))
		return &fetch.Request{URL: path, Query: qq}
	}
	var total int64
	err := s.client.Offset(ctx, fetch.OffsetPages{
		Page:     page,
		PageSize: size,
		Items:    func(r *fetch.Response) int { return len(r.Get("data").Array()) },
		Total: func(r *fetch.Response) (int, error) {
			t := r.Get("meta.filter_count")
			if !t.Exists() {
				return 0, errNoTotals
			}
			if t.Type != gjson.Number || t.Int() < 0 {
				return 0, fmt.Errorf("%w: meta.filter_count %.40s is not a count", mesh.ErrBadResponse, t.Raw)
			}
			total = t.Int()
			return int(total), nil
		},
	}, func(i int, r *fetch.Response) error {
		if t := r.Get("meta.filter_count"); i > 0 && t.Exists() && t.Int() != total {
			return fmt.Errorf("%s: %w (filter_count %d, then %d)", r.URL, errChanged, total, t.Int())
		}
		return eachItem(r, each)
	})
	if errors.Is(err, errNoTotals) {
		// A proxy that drops meta: read until a short page (Directus answers [] past the end).
		return s.client.Offset(ctx, fetch.OffsetPages{Page: page, PageSize: size, UntilShort: true,
			Items: func(r *fetch.Response) int { return len(r.Get("data").Array()) }},
			func(_ int, r *fetch.Response) error { return eachItem(r, each) })
	}
	return err
}

// eachItem calls each for every item of a page, {"data": [...]}.
func eachItem(r *fetch.Response, each func(gjson.Result) error) error {
	data := r.Get("data")
	if !data.IsArray() {
		return fmt.Errorf("%s: %w: want {\"data\": [...]} with the items", r.URL, mesh.ErrBadResponse)
	}
	var err error
	data.ForEach(func(_, item gjson.Result) bool {
		err = each(item)
		return err == nil
	})
	if err != nil && errors.Is(err, mesh.ErrBadResponse) && !strings.Contains(err.Error(), r.URL) {
		return fmt.Errorf("%s: %w", r.URL, err)
	}
	return err
}

// explain wraps a request error with what to fix, by status and Directus error code.
func (s *Source) explain(op, collection string, err error) error {
	var se *fetch.StatusError
	if !errors.As(err, &se) {
		return fmt.Errorf("directus: %s: %w", op, err)
	}
	var hint string
	switch {
	case se.StatusCode == http.StatusUnauthorized && s.cfg.Token != "":
		hint = "check token: a user's static token (or a valid access token)"
	case se.StatusCode == http.StatusUnauthorized:
		hint = "this project wants a token: set token"
	case se.StatusCode == http.StatusForbidden && strings.HasPrefix(collection, "directus_"):
		hint = fmt.Sprintf("the role (or the public policy, without token) may not read %s: give it read access, or use a token whose role may", collection)
	case se.StatusCode == http.StatusForbidden:
		hint = fmt.Sprintf("collection %q does not exist, or the role (the public policy, without token) may not read it: Directus answers 403 for both", collection)
	case se.StatusCode == http.StatusNotFound:
		hint = "check that url is the project's origin (items are at <url>/items/<collection>)"
	}
	if hint == "" {
		return fmt.Errorf("directus: %s: %w", op, err)
	}
	return fmt.Errorf("directus: %s: %w (%s)", op, err, hint)
}

// decoder maps the items of one collection (or the files) to nodes.
type decoder struct {
	source string
	origin string
	info   *collInfo
	files  bool
}

func (d *decoder) namespace() string {
	if d.files {
		return filesNamespace
	}
	return d.info.name
}

func (d *decoder) nodeID(key string) string { return mesh.NodeID(d.source, d.namespace(), key) }

// keyOf reads a primary key or foreign key value: a string or an integer, as a string.
func keyOf(v gjson.Result) (string, bool) {
	switch v.Type {
	case gjson.String:
		return v.Str, v.Str != ""
	case gjson.Number:
		if _, err := strconv.ParseInt(v.Raw, 10, 64); err == nil {
			return v.Raw, true
		}
	}
	return "", false
}

// key reads an item's primary key.
func (d *decoder) key(item gjson.Result) (string, error) {
	if !item.IsObject() {
		return "", fmt.Errorf("%w: an item is not a JSON object", mesh.ErrBadResponse)
	}
	v := item.Get(gjson.Escape(d.info.pk))
	k, ok := keyOf(v)
	if !ok {
		return "", fmt.Errorf("%w: an item of %s has no usable primary key %q (%.40s)", mesh.ErrBadResponse, d.info.name, d.info.pk, v.Raw)
	}
	return k, nil
}

// page maps every item of a page body: the decoder that the fuzz target exercises.
func (d *decoder) page(body []byte) ([]mesh.Node, error) {
	if !gjson.ValidBytes(body) {
		return nil, fmt.Errorf("%w: not JSON", mesh.ErrBadResponse)
	}
	data := gjson.GetBytes(body, "data")
	if !data.IsArray() {
		return nil, fmt.Errorf("%w: want {\"data\": [...]}", mesh.ErrBadResponse)
	}
	var out []mesh.Node
	var err error
	data.ForEach(func(_, item gjson.Result) bool {
		var n mesh.Node
		if n, _, err = d.item(item); err != nil {
			return false
		}
		out = append(out, n)
		return true
	})
	return out, err
}

// item maps one item to its node, and returns its newest time stamp as Directus wrote it.
func (d *decoder) item(item gjson.Result) (mesh.Node, string, error) {
	key, err := d.key(item)
	if err != nil {
		return mesh.Node{}, "", err
	}
	n := mesh.Node{ID: d.nodeID(key), NativeID: key}
	var o *mesh.Object
	var stamp string
	if d.files {
		n.Type = "Asset"
		o = d.asset(item, key)
		stamp = item.Get("modified_on").String()
		if stamp == "" {
			stamp = item.Get("uploaded_on").String()
		}
	} else {
		n.Type = nodeType(d.info.name)
		if o, err = d.fields(item); err != nil {
			return mesh.Node{}, "", fmt.Errorf("%s %s: %w", d.info.name, key, err)
		}
		for _, f := range []string{d.info.dateUpdated, d.info.dateCreated} {
			if v := item.Get(gjson.Escape(f)); f != "" && v.Type == gjson.String && laterTime(v.Str, stamp) {
				stamp = v.Str
			}
		}
	}
	updated := stamp
	if !d.files && d.info.dateUpdated != "" {
		if v := item.Get(gjson.Escape(d.info.dateUpdated)); v.Type == gjson.String {
			updated = v.Str
		}
	}
	if t, err := normalize.Time(updated); err == nil {
		n.UpdatedAt = t
	}
	n.Fields = o.JSON()
	return n, stamp, nil
}

// nodeType is the node type of a collection.
func nodeType(collection string) string {
	if t := normalize.TypeName(singular(collection)); t != "" {
		return t
	}
	return "T"
}

// fields maps an item's fields: relations to $refs, timestamps to RFC 3339 UTC, the rest as is.
func (d *decoder) fields(item gjson.Result) (*mesh.Object, error) {
	o := mesh.NewObject()
	var err error
	item.ForEach(func(k, v gjson.Result) bool {
		key := k.String()
		r, isRel := d.info.rels[key]
		switch {
		case isRel && !strings.HasPrefix(r.target, "directus_") || isRel && r.target == filesCollection:
			err = d.relation(o, key, r, v)
		case d.info.timestamps[key] && v.Type == gjson.String:
			if s := normalize.TimeString(v.Str); s != "" {
				o.SetString(key, s)
			} else {
				o.Set(key, []byte(v.Raw))
			}
		default:
			o.Set(key, []byte(v.Raw))
		}
		return err == nil
	})
	return o, err
}

// refTo is the node ID an item of target is referenced by.
func (d *decoder) refTo(target, key string) string {
	if target == filesCollection {
		return mesh.NodeID(d.source, filesNamespace, key)
	}
	return mesh.NodeID(d.source, target, key)
}

// relation sets a relational field.
func (d *decoder) relation(o *mesh.Object, key string, r relField, v gjson.Result) error {
	// linked reads one linked value: a key, or an expanded object holding one.
	linked := func(e gjson.Result, inner string) (string, bool, error) {
		if e.Type == gjson.Null {
			return "", false, nil
		}
		if e.IsObject() {
			if inner == "" {
				inner = "id"
			}
			e = e.Get(gjson.Escape(inner))
			if e.Type == gjson.Null || !e.Exists() {
				return "", false, nil
			}
			if e.IsObject() { // m2m rows expanded one level deeper
				e = e.Get("id")
			}
		}
		k, ok := keyOf(e)
		if !ok {
			return "", false, fmt.Errorf("%w: field %s: want a key, got %.40s", mesh.ErrBadResponse, key, e.Raw)
		}
		return k, true, nil
	}
	switch r.kind {
	case relM2O:
		k, ok, err := linked(v, "")
		if err != nil {
			return err
		}
		if !ok {
			o.SetNull(key)
			return nil
		}
		o.SetRef(key, d.refTo(r.target, k))
		return nil
	default:
		if v.Type == gjson.Null {
			o.SetRefs(key, nil)
			return nil
		}
		if !v.IsArray() {
			return fmt.Errorf("%w: field %s: want an array, got %.40s", mesh.ErrBadResponse, key, v.Raw)
		}
		ids := []string{}
		var err error
		v.ForEach(func(_, e gjson.Result) bool {
			inner := ""
			if r.kind == relM2M {
				inner = r.junction
				if !e.IsObject() {
					// Junction row ids (fields=* alone): they do not name the far side.
					err = fmt.Errorf("%w: field %s: want junction rows {%q: key}, got %.40s", mesh.ErrBadResponse, key, r.junction, e.Raw)
					return false
				}
			}
			var k string
			var ok bool
			if k, ok, err = linked(e, inner); err != nil {
				return false
			}
			if ok {
				ids = append(ids, d.refTo(r.target, k))
			}
			return true
		})
		if err != nil {
			return err
		}
		o.SetRefs(key, ids)
		return nil
	}
}

// asset maps a directus_files item to an Asset.
func (d *decoder) asset(f gjson.Result, id string) *mesh.Object {
	o := mesh.NewObject()
	o.SetString("url", d.origin+"/assets/"+url.PathEscape(id))
	o.SetString("mimeType", f.Get("type").String())
	for _, k := range []string{"width", "height"} {
		if v := f.Get(k); v.Type == gjson.Number {
			o.Set(k, []byte(v.Raw))
		}
	}
	// filesize is a bigInteger: a number, or a string on databases that return them as strings.
	if v := f.Get("filesize"); v.Type == gjson.Number {
		o.Set("size", []byte(v.Raw))
	} else if n, err := strconv.ParseInt(v.String(), 10, 64); err == nil && v.Type == gjson.String {
		o.SetInt("size", n)
	}
	o.SetString("title", f.Get("title").String())
	o.SetString("alt", f.Get("description").String())
	o.SetString("fileName", f.Get("filename_download").String())
	for _, k := range []string{"description", "folder", "tags", "focal_point_x", "focal_point_y"} {
		if v := f.Get(k); v.Exists() {
			o.Set(k, []byte(v.Raw))
		}
	}
	for _, k := range []string{"uploaded_on", "modified_on", "created_on"} {
		if v := f.Get(k); v.Type == gjson.String {
			if s := normalize.TimeString(v.Str); s != "" {
				o.SetString(k, s)
			}
		}
	}
	return o
}
