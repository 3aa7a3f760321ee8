// Package strapi is a mesh.Source for Strapi's REST Content API, v4 and v5: the entries of the
// configured collection types with their relations, components and media, in one locale or all,
// published or drafts.
//
// # Configuration
//
//	sources:
//	  - name: cms
//	    type: strapi
//	    url: https://cms.example.com       # the server's origin; the API is at <url>/api/
//	    token: ${STRAPI_TOKEN}             # an API token; none for content the Public role may read
//	    collections: [articles, authors, categories]   # plural API ids of collection types
//	    locale: all                        # optional: a locale code (fr), or all; default: the default locale
//	    preview: true                      # optional: drafts (v5 status=draft, v4 publicationState=preview)
//	    version: 5                         # optional: 4 or 5; detected when absent
//	    baseURL: http://127.0.0.1:1337     # optional; see below
//	    timeout: 30s                       # and the other mesh/fetch options: retries, concurrency,
//	    requestsPerSecond: 5               # requestsPerSecond, maxRetryAfter, maxBodyBytes, ...
//
// collections lists plural API ids, as in /api/<pluralApiId> (articles, not article). A single
// type listed there (its answer's data is one object) gives one node. url is the server's origin,
// which is already the API's origin (plus /api): baseURL, accepted like in every adapter, replaces it
// for the requests when set (a proxy, a test server); giving only baseURL is the same as giving only
// url. Media URLs that Strapi writes relative (/uploads/x.png, the local provider) are made absolute
// against url.
//
// version says which response shape and query parameters to expect. When absent, each entry is
// read in the shape it comes in (v4 {"id", "attributes"} or v5 flat with documentId; a v5 server
// answering in the v4 shape, Strapi-Response-Format: v4, works too), and when preview or locale: all
// needs version-specific parameters, one probe request (the first entry of the first collection)
// decides: an answer with documentId is v5.
//
// # Authentication
//
// token is sent as "Authorization: Bearer <token>", never printed by Config's String, GoString or
// LogValue, and scrubbed from errors. Without it, requests are anonymous: the Public role's
// permissions apply. Two reads are optional and degrade gracefully when the token may not make them
// (read-only tokens and the Public role may not): the content-type schema
// (/api/content-type-builder/content-types, which a full-access token may read) and the media
// library (/api/upload/files, which read-only and full-access tokens may read). See Mapping.
//
// # Rate limits
//
// Strapi has none on the Content API by default; a proxy or a plugin may answer 429 with Retry-After,
// which mesh/fetch honors up to maxRetryAfter. Listings ask for pagination[pageSize]=100 (the
// generated projects' api.rest.maxLimit) in id order (sort[0]=id:asc, so that no entry is skipped or
// repeated), with populate=* (one level: relations, media, components, dynamic zones); once the
// first page has given meta.pagination.total, the other pages are fetched concurrently, at most
// `concurrency` at a time. A server whose maxLimit is lower caps the page size silently: the
// listing sees meta.pagination.pageSize and reads again with that size. A listing whose total changes
// while it is read is read again from the start (at most three times), and entries seen only in an
// abandoned pass are deleted again. A server configured without counts (withCount false) is read one
// page after the other until a short page.
//
// # Mapping
//
// Every entry is one node of type PascalCase(singularName) (articles -> Article; from the schema,
// else a guess: categories -> Category), ID <source>/<collection>/<documentId> (v4: the numeric id)
// with "@<locale>" for localized entries, updatedAt from updatedAt. Fields keep Strapi's names, v4
// attributes flattened to the top; id and documentId are left out (the row id changes with every
// publication); createdAt, updatedAt and publishedAt are RFC 3339 UTC. Rich text stays as Strapi
// sends it: markdown strings, and blocks as their JSON arrays; components and dynamic zones stay
// objects.
//
// Relations (v4 {"data": {...}} or {"data": [...]}, v5 objects and arrays with documentId) become
// {"$ref"} and arrays of them, localized when the target is. With one locale, the i18n field
// localizations becomes the sorted list of the other locales' codes (their nodes are not fetched);
// with locale: all it is left out: every locale of a document is a node of its own, with the same
// documentId (and Strapi 5 fills the field unreliably under locale=*: empty on pages of several
// entries, filled on pages of one). With one locale, relations from types that are not localized
// (author.articles) may point at entries of another locale: those refs dangle.
//
// The target collection of a relation comes from the schema (a target that is not configured gives
// a ref that dangles, reported by the build). When the token may not read the schema, the adapter
// first reads the ids of every configured collection (fields[0]=id, 100 per page, concurrently) and
// resolves each relation to the collection holding its key: a v5 documentId is unique; a v4 id
// repeats across collections, so it is taken only when the field's name matches the collection's
// (author or authors -> authors). A relation that cannot be resolved so (its collection is not
// configured, or a v4 field named otherwise) is kept as Strapi sent it, with a warning.
//
// Media (objects with mime and url) become Asset nodes, ID <source>/files/<file id>, with url
// (absolute), mimeType, width, height, size (bytes: Strapi stores kilobytes rounded to two decimals,
// times 1000), title and fileName (name), alt (alternativeText), caption, formats, ext, hash,
// createdAt, updatedAt; fields holding media become $refs. The Assets are the media library
// (/api/upload/files) when the token may list it, else the media that entries use.
//
// # Incremental sync
//
// The cursor keeps, per collection, the newest updatedAt seen and the keys (documentId@locale) of
// the last listing, and the media library's ids. The next fetch is a delta: per collection it lists
// the entries with filters[updatedAt][$gt] (one second before the newest seen, so that nothing saved
// in the same second is missed), sweeps the keys that exist now (fields[0]=id, plus locale for
// localized collections), deletes the ones that are gone, and reads the few that reappeared without
// a newer updatedAt by documentId. Editing one side of a relation does not change the other side's
// updatedAt (an author's articles when an article moves; the localizations of the other locales
// when one is added): after a delta that found changes in a collection, the collections linking to
// it (all of them without the schema) are read again whole, the entries the delta already read
// excepted. The media library, one unpaginated request, is read whole; when files were deleted from
// it, the fetch is full, since the entries that used them keep their updatedAt. When the token may not list the media library, Assets come from the
// entries a delta reads, and media deleted upstream stay until a full build. A cursor made by another
// configuration (url, collections, locale, preview, version) is ignored, and the fetch is full.
package strapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/contentmesh/contentmesh/sources/internal/emit"
	"log/slog"
	"math"
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

// Kind is the adapter's name, the config's `type: strapi`.
const Kind = "strapi"

// Config configures a Strapi Source. Its yaml keys are part of the configuration contract.
type Config struct {
	// URL is the server's origin, e.g. "https://cms.example.com"; the API is at URL + "/api/".
	URL string `yaml:"url"`
	// Token is an API token (Settings > API Tokens), sent as a Bearer token; empty: the Public role.
	Token string `yaml:"token,omitempty"`
	// Collections lists the plural API ids of the collection types to fetch. Required.
	Collections []string `yaml:"collections"`
	// Locale is a locale code, or "all" (or "*") for every locale; empty: the default locale.
	Locale string `yaml:"locale,omitempty"`
	// Preview fetches drafts: v5 status=draft (the latest draft of every document), v4
	// publicationState=preview (drafts and published entries).
	Preview bool `yaml:"preview,omitempty"`
	// Version is 4 or 5; 0 detects it (see the package documentation).
	Version int `yaml:"version,omitempty"`
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
	return fmt.Sprintf("strapi.Config{URL:%q BaseURL:%q Token:%q Collections:%q Locale:%q Preview:%v Version:%d}",
		c.URL, c.BaseURL, tok, c.Collections, c.Locale, c.Preview, c.Version)
}

// GoString is String, so that %#v does not print the token either.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the token.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Source reads a Strapi server. It is safe for concurrent use.
type Source struct {
	cfg         Config
	client      *fetch.Client
	origin      string // for absolute media URLs
	localeAll   bool
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
		return &mesh.ConfigError{Where: fmt.Sprintf("strapi: key %q", key), Msg: fmt.Sprintf(format, args...)}
	}
	origin, originKey := cfg.BaseURL, "baseURL"
	if origin == "" {
		origin, originKey = cfg.URL, "url"
	}
	if origin == "" {
		return nil, bad("url", "required: the server's origin, e.g. https://cms.example.com")
	}
	for _, k := range []struct{ key, v string }{{"url", cfg.URL}, {"baseURL", cfg.BaseURL}} {
		if k.v == "" {
			continue
		}
		u, err := url.Parse(k.v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, bad(k.key, "want an http or https URL of the server's origin, got %q", fetch.RedactURLString(k.v, nil))
		}
		if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, bad(k.key, "want the server's origin, without query, fragment or credentials (the API is at <url>/api/)")
		}
		if strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/api") {
			return nil, bad(k.key, "want the server's origin without /api (the adapter adds /api/<collection>)")
		}
	}
	if len(cfg.Collections) == 0 {
		return nil, bad("collections", "required: the plural API ids to fetch, e.g. [articles, authors]")
	}
	seen := map[string]bool{}
	for _, c := range cfg.Collections {
		switch {
		case c == "":
			return nil, bad("collections", "empty name")
		case strings.ContainsAny(c, "/?#@% .:"):
			return nil, bad("collections", "%q: want a plural API id such as articles", c)
		case c == filesNamespace:
			return nil, bad("collections", "%q: the media library is read on its own (Assets)", c)
		case seen[c]:
			return nil, bad("collections", "%q is listed twice", c)
		}
		seen[c] = true
	}
	if strings.ContainsAny(cfg.Locale, "/?#&=@% ") {
		return nil, bad("locale", "%q: want a locale code such as fr or en-US, or all", cfg.Locale)
	}
	if cfg.Version != 0 && cfg.Version != 4 && cfg.Version != 5 {
		return nil, bad("version", "%d: want 4 or 5 (or leave it out to detect it)", cfg.Version)
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
		return nil, fmt.Errorf("strapi: %w", err)
	}
	pub := cfg.URL
	if pub == "" {
		pub = cfg.BaseURL
	}
	all := cfg.Locale == "all" || cfg.Locale == "*"
	fp := sha256.Sum256(fmt.Appendf(nil, "v1\x00%s\x00%q\x00%s\x00%v\x00%d\x00%v",
		strings.TrimRight(origin, "/"), cfg.Collections, cfg.Locale, cfg.Preview, cfg.Version, token != ""))
	return &Source{cfg: cfg, client: client, origin: strings.TrimRight(pub, "/"), localeAll: all,
		fingerprint: hex.EncodeToString(fp[:8])}, nil
}

// Kind implements mesh.Source.
func (s *Source) Kind() string { return Kind }

// Check implements mesh.Checker: it reads one entry of the first collection.
func (s *Source) Check(ctx context.Context) error {
	defer s.client.CloseIdleConnections()
	c := s.cfg.Collections[0]
	q := url.Values{paramPageSize: {"1"}}
	if _, err := s.client.DoJSON(ctx, &fetch.Request{URL: apiPrefix + c, Query: q}); err != nil {
		return s.explain("check "+c, c, err)
	}
	return nil
}

// pageSize is the page size to request: the engine's when set, at most maxPageSize.
func pageSize(req mesh.FetchRequest) int {
	if req.PageSize > 0 {
		return min(req.PageSize, maxPageSize)
	}
	return maxPageSize
}

// baseQuery holds the parameters every listing sends: locale and drafts.
func (s *Source) baseQuery(version int) url.Values {
	q := url.Values{paramSort: {sortByID}}
	switch {
	case s.localeAll:
		q.Set(paramLocale, localeAll(version))
	case s.cfg.Locale != "":
		q.Set(paramLocale, s.cfg.Locale)
	}
	if s.cfg.Preview {
		if version == 4 {
			q.Set(paramPubState, pubStatePreview)
		} else {
			q.Set(paramStatus, statusDraft)
		}
	}
	return q
}

// fetchRun is the state of one Fetch.
type fetchRun struct {
	s       *Source
	req     mesh.FetchRequest
	log     *slog.Logger
	version int
	sch     *schema // nil when the token may not read it
	em      *emit.Guard

	// index maps an entry's key (documentId, or a v4 id) to the collections holding it, when the
	// schema is not readable.
	imu   sync.Mutex
	index map[string][]string

	// Assets: listed from the media library (filesListed), else taken from entries (seenAssets).
	filesListed bool
	amu         sync.Mutex
	seenAssets  map[string]bool

	warned sync.Map // "collection.field" of unresolvable relations already warned about
}

// Fetch implements mesh.Source (see the package documentation).
func (s *Source) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	defer s.client.CloseIdleConnections()
	log := req.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	run := &fetchRun{s: s, req: req, log: log, version: s.cfg.Version, em: emit.NewGuard(out),
		seenAssets: map[string]bool{}}
	res, err := run.fetch(ctx)
	if e := run.em.Err(); e != nil {
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

func (r *fetchRun) fetch(ctx context.Context) (mesh.FetchResult, error) {
	s := r.s
	prev := s.readCursor(r.req, r.log)

	// Phase 1, at once: the schema, the media library and (when parameters depend on it) the version.
	var filesBody []byte
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		resp, err := s.client.DoJSON(gctx, &fetch.Request{URL: pathSchema})
		switch {
		case optionalDenied(err):
			r.log.Debug("strapi: the content-type schema is not readable with this token; resolving relations by id")
			return nil
		case err != nil:
			return s.explain("read the content-type schema", "content-type-builder", err)
		}
		sch, err := parseSchema(resp.Body)
		if err != nil {
			return fmt.Errorf("strapi: %s: %w", resp.URL, err)
		}
		r.sch = sch
		return nil
	})
	g.Go(func() error {
		resp, err := s.client.DoJSON(gctx, &fetch.Request{URL: pathFiles})
		switch {
		case optionalDenied(err):
			r.log.Debug("strapi: the media library is not listable with this token; Assets come from the entries")
			return nil
		case err != nil:
			return s.explain("list the media library", "upload/files", err)
		}
		filesBody = resp.Body
		r.filesListed = true
		return nil
	})
	if r.version == 0 && (s.cfg.Preview || s.localeAll) {
		g.Go(func() error {
			v, err := s.probeVersion(gctx)
			r.version = v
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return mesh.FetchResult{}, err
	}
	if prev != nil && (prev.Version != r.version || (prev.Files != nil) != r.filesListed) {
		prev = nil // what the last fetch saw is not comparable
	}
	if prev != nil && r.filesListed && filesDeleted(prev.Files, filesBody) {
		// Deleting a file does not touch the entries that used it (their updatedAt stays): only a
		// full listing drops their references to it.
		r.log.Info("strapi: files were deleted from the media library since the last fetch, fetching everything")
		prev = nil
	}
	if r.sch == nil {
		r.index = map[string][]string{}
	}

	next := cursor{V: 1, Fingerprint: s.fingerprint, Source: r.req.Source, Version: r.version,
		Collections: map[string]collState{}}
	var nmu sync.Mutex

	// Phase 2: the keys that exist now, for every collection, when a delta needs them or relations
	// must be resolved without the schema.
	now := map[string]*sweepResult{}
	if prev != nil || r.sch == nil {
		g, gctx := errgroup.WithContext(ctx)
		for _, c := range s.cfg.Collections {
			localized := r.localized(c, prev)
			g.Go(func() error {
				sw, err := r.sweep(gctx, c, localized)
				if err != nil {
					return err
				}
				nmu.Lock()
				now[c] = sw
				nmu.Unlock()
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return mesh.FetchResult{}, err
		}
	}

	// Phase 3: the media library, then the entries of every collection.
	if r.filesListed {
		ids, err := r.emitFiles(filesBody)
		if err != nil {
			return mesh.FetchResult{}, err
		}
		if prev != nil {
			have := map[string]bool{}
			for _, id := range ids {
				have[id] = true
			}
			for _, id := range prev.Files {
				if !have[id] {
					if err := r.em.Delete(mesh.NodeID(r.req.Source, filesNamespace, id)); err != nil {
						return mesh.FetchResult{}, err
					}
				}
			}
		}
		next.Files = ids
	}
	results := map[string]*listResult{}
	g, gctx = errgroup.WithContext(ctx)
	for _, c := range s.cfg.Collections {
		g.Go(func() error {
			var p *collState
			if prev != nil {
				if st, ok := prev.Collections[c]; ok {
					p = &st
				}
			}
			res, err := r.fetchCollection(gctx, c, p, now[c])
			if err != nil {
				return err
			}
			nmu.Lock()
			next.Collections[c] = res.state
			results[c] = res
			nmu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return mesh.FetchResult{}, err
	}
	if prev != nil {
		if err := r.refreshRelated(ctx, results); err != nil {
			return mesh.FetchResult{}, err
		}
	}
	cur, err := json.Marshal(next)
	if err != nil {
		return mesh.FetchResult{}, fmt.Errorf("strapi: encode cursor: %w", err)
	}
	return mesh.FetchResult{Delta: prev != nil, Cursor: cur}, nil
}

// filesDeleted reports whether a file of the last fetch is missing from the media library's answer.
func filesDeleted(before []string, body []byte) bool {
	now := map[string]bool{}
	arr := gjson.ParseBytes(body)
	if arr.IsObject() {
		arr = arr.Get("data")
	}
	arr.ForEach(func(_, f gjson.Result) bool {
		now[f.Get("id").Raw] = true
		return true
	})
	for _, id := range before {
		if !now[id] {
			return true
		}
	}
	return false
}

// optionalDenied reports whether an optional read (schema, media library) was refused or does not
// exist: the fetch goes on without it. A 401 is not: the token itself is wrong.
func optionalDenied(err error) bool {
	var se *fetch.StatusError
	return errors.As(err, &se) && (se.StatusCode == http.StatusForbidden || se.StatusCode == http.StatusNotFound)
}

// probeVersion reads the first entry of the configured collections: documentId means v5.
func (s *Source) probeVersion(ctx context.Context) (int, error) {
	for _, c := range s.cfg.Collections {
		resp, err := s.client.DoJSON(ctx, &fetch.Request{URL: apiPrefix + c, Query: url.Values{paramPageSize: {"1"}}})
		if err != nil {
			return 0, s.explain("detect the Strapi version from "+c, c, err)
		}
		first := resp.Get("data")
		if first.IsArray() {
			first = first.Get("0")
		}
		switch {
		case first.Get("documentId").Exists():
			return 5, nil
		case first.Get("attributes").IsObject():
			return 4, nil
		}
	}
	return 5, nil // nothing to tell by; v5 is the current major version
}

// localized says whether a collection's entries carry a locale: from the schema, else from what the
// last fetch saw.
func (r *fetchRun) localized(c string, prev *cursor) bool {
	if r.sch != nil {
		if cs, ok := r.sch.colls[c]; ok {
			return cs.localized
		}
	}
	if prev != nil {
		return prev.Collections[c].Localized
	}
	return false
}

// readCursor decodes the request's cursor; nil means a full fetch.
func (s *Source) readCursor(req mesh.FetchRequest, log *slog.Logger) *cursor {
	if len(req.Cursor) == 0 {
		return nil
	}
	var c cursor
	if err := json.Unmarshal(req.Cursor, &c); err != nil || c.V != 1 || c.Collections == nil {
		log.Warn("strapi: unreadable cursor, fetching everything", "err", err)
		return nil
	}
	if c.Fingerprint != s.fingerprint || c.Source != req.Source {
		log.Info("strapi: configuration changed since the last fetch, fetching everything")
		return nil
	}
	for _, name := range s.cfg.Collections {
		if _, ok := c.Collections[name]; !ok {
			return nil
		}
	}
	return &c
}

// sweepResult is what a sweep of a collection found: the keys of its entries, and whether they
// carry documentIds (v5) rather than numeric ids only (v4).
type sweepResult struct {
	keys   map[string]bool
	hasDoc bool
}

// sweep lists the keys of a collection's entries (fields[0]=id), and adds them to the index.
func (r *fetchRun) sweep(ctx context.Context, c string, localized bool) (*sweepResult, error) {
	q := r.s.baseQuery(r.version)
	q.Set("fields[0]", "id")
	if localized {
		q.Set("fields[1]", "locale")
	}
	sw := &sweepResult{keys: map[string]bool{}}
	var mu sync.Mutex
	last := 0
	err := r.s.list(ctx, apiPrefix+c, q, maxPageSize, func(attempt int, item gjson.Result) error {
		e, err := entryOf(item)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if attempt > last {
			clear(sw.keys)
			last = attempt
		}
		sw.keys[itemKey(e.native, e.attrs.Get("locale").String())] = true
		sw.hasDoc = sw.hasDoc || e.documentID != ""
		if r.index != nil {
			r.imu.Lock()
			if !slices.Contains(r.index[e.native], c) {
				r.index[e.native] = append(r.index[e.native], c)
			}
			r.imu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, r.s.explain("sweep the ids of "+c, c, err)
	}
	return sw, nil
}

// emitFiles upserts an Asset for every file of the media library and returns their ids, sorted.
func (r *fetchRun) emitFiles(body []byte) ([]string, error) {
	arr := gjson.ParseBytes(body)
	if arr.IsObject() && arr.Get("data").IsArray() { // a wrapped answer, should a version wrap it
		arr = arr.Get("data")
	}
	if !arr.IsArray() {
		return nil, fmt.Errorf("strapi: %s: %w: want a JSON array of files", pathFiles, mesh.ErrBadResponse)
	}
	d := r.decoder("")
	ids := []string{}
	var err error
	arr.ForEach(func(_, f gjson.Result) bool {
		var n mesh.Node
		if n, err = d.asset(f); err != nil {
			err = fmt.Errorf("strapi: %s: %w", pathFiles, err)
			return false
		}
		ids = append(ids, n.NativeID)
		if err = r.em.Upsert(n); err != nil {
			return false
		}
		return true
	})
	slices.Sort(ids)
	return slices.Compact(ids), err
}

// listResult is what fetching one collection did.
type listResult struct {
	state collState
	// upserted and deleted count the entries a delta found changed, new or gone.
	upserted, deleted int
	// emitted holds the keys upserted in this fetch.
	emitted map[string]bool
	delta   bool
}

// refreshRelated re-reads, after a delta, the collections whose relations may have changed without
// their own updatedAt changing: editing the other side of a relation (an author's articles, a
// category's articles) changes the link, not this side's entry; a new locale changes the other
// locales' localizations. With the schema, a collection is read again when a collection it links to
// (or itself, when localized) changed; without it, when any collection changed. The entries the
// delta already read are not read again.
func (r *fetchRun) refreshRelated(ctx context.Context, results map[string]*listResult) error {
	changed := map[string]bool{}
	for c, res := range results {
		if res.upserted > 0 || res.deleted > 0 {
			changed[c] = true
		}
	}
	if len(changed) == 0 {
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, c := range r.s.cfg.Collections {
		res := results[c]
		if !res.delta {
			continue // listed whole already
		}
		stale := r.sch == nil
		if cs := r.schemaOf(c); cs != nil {
			stale = changed[c] && cs.localized
			for _, target := range cs.relations {
				stale = stale || changed[target]
			}
		}
		if !stale {
			continue
		}
		d := r.decoder(c)
		q := r.s.baseQuery(r.version)
		q.Set(paramPopulate, populateAll)
		g.Go(func() error {
			err := r.s.list(gctx, apiPrefix+c, q, pageSize(r.req), func(_ int, item gjson.Result) error {
				n, assets, _, err := d.entry(item)
				if err != nil || res.emitted[itemKey(n.NativeID, n.Locale)] {
					return err
				}
				if err := r.em.Upsert(n); err != nil {
					return err
				}
				for _, a := range assets {
					if r.firstAsset(a.ID) {
						if err := r.em.Upsert(a); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				return r.s.explain("read "+c+" again (a collection it links to changed)", c, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// schemaOf returns the schema of a collection, nil without one.
func (r *fetchRun) schemaOf(c string) *collSchema {
	if r.sch == nil {
		return nil
	}
	return r.sch.colls[c]
}

// fetchCollection fetches one collection: a full listing, or (with prev and the sweep) a delta.
func (r *fetchRun) fetchCollection(ctx context.Context, c string, prev *collState, sw *sweepResult) (*listResult, error) {
	s := r.s
	d := r.decoder(c)
	size := pageSize(r.req)
	st := collState{}
	res := &listResult{}
	var mu sync.Mutex
	emitted := map[string]int{} // key -> attempt
	lastAttempt := 0
	upsert := func(attempt int, item gjson.Result) error {
		n, assets, updated, err := d.entry(item)
		if err != nil {
			return err
		}
		key := itemKey(n.NativeID, n.Locale)
		mu.Lock()
		emitted[key] = attempt
		lastAttempt = max(lastAttempt, attempt)
		if updated > st.Since {
			st.Since = updated
		}
		if n.Locale != "" {
			st.Localized = true
		}
		mu.Unlock()
		if err := r.em.Upsert(n); err != nil {
			return err
		}
		for _, a := range assets {
			if r.firstAsset(a.ID) {
				if err := r.em.Upsert(a); err != nil {
					return err
				}
			}
		}
		return nil
	}
	q := s.baseQuery(r.version)
	q.Set(paramPopulate, populateAll)
	delta := prev != nil && sw != nil && prev.Since != ""
	if delta {
		st.Since, st.Localized = prev.Since, prev.Localized
		q.Set(paramUpdatedGT, sinceParam(prev.Since))
	}
	if err := s.list(ctx, apiPrefix+c, q, size, upsert); err != nil {
		what := "list " + c
		if delta {
			what = "list changed " + c
		}
		return nil, s.explain(what, c, err)
	}
	current := map[string]bool{}
	for k, a := range emitted {
		if a == lastAttempt {
			current[k] = true
		}
	}
	// Keys seen only in an abandoned pass of the listing are deleted again, unless (in a delta) the
	// sweep says they exist.
	keep := func(k string) bool { return delta && sw.keys[k] }
	for _, k := range sortedKeys(emitted) {
		if !current[k] && !keep(k) {
			if err := r.em.Delete(r.nodeID(c, k)); err != nil {
				return nil, err
			}
		}
	}
	res.delta, res.emitted, res.upserted = delta, current, len(current)
	if !delta {
		st.Keys = sortedKeys(current)
		res.state = st
		if prev != nil && sw != nil { // a delta of a collection that was empty: deletions by key
			for _, k := range prev.Keys {
				if !current[k] {
					res.deleted++
					if err := r.em.Delete(r.nodeID(c, k)); err != nil {
						return nil, err
					}
				}
			}
		}
		return res, nil
	}

	// Keys that exist now, were not there last time and did not come back as changed: read them.
	had := map[string]bool{}
	for _, k := range prev.Keys {
		had[k] = true
	}
	var missing []string
	for k := range sw.keys {
		if !had[k] && !current[k] {
			if native, _ := splitKey(k); !slices.Contains(missing, native) {
				missing = append(missing, native)
			}
		}
	}
	slices.Sort(missing)
	field := "id"
	if sw.hasDoc {
		field = "documentId"
	}
	final := lastAttempt
	for chunk := range slices.Chunk(missing, maxPageSize) {
		mq := s.baseQuery(r.version)
		mq.Set(paramPopulate, populateAll)
		for i, id := range chunk {
			mq.Set(fmt.Sprintf("filters[%s][$in][%d]", field, i), id)
		}
		if err := s.list(ctx, apiPrefix+c, mq, maxPageSize, func(_ int, item gjson.Result) error {
			return upsert(final, item)
		}); err != nil {
			return nil, s.explain("read "+c+" by id", c, err)
		}
	}
	st.Keys = sortedKeys(sw.keys)
	res.state = st
	mu.Lock()
	for k := range emitted {
		res.emitted[k] = true
	}
	res.upserted = len(res.emitted)
	mu.Unlock()
	// Gone: known last time, or upserted just now, and not in the sweep.
	gone := map[string]bool{}
	for _, k := range prev.Keys {
		gone[k] = true
	}
	for k := range emitted {
		gone[k] = true
	}
	for _, k := range sortedKeys(gone) {
		if !sw.keys[k] {
			res.deleted++
			if err := r.em.Delete(r.nodeID(c, k)); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

// nodeID is the node ID of a cursor key in a collection.
func (r *fetchRun) nodeID(c, key string) string {
	native, locale := splitKey(key)
	return mesh.LocalizedNodeID(r.req.Source, c, native, locale)
}

// firstAsset reports whether an Asset taken from an entry is seen for the first time in this fetch.
func (r *fetchRun) firstAsset(id string) bool {
	r.amu.Lock()
	defer r.amu.Unlock()
	if r.seenAssets[id] {
		return false
	}
	r.seenAssets[id] = true
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// sinceParam is the filters[updatedAt][$gt] value for a cursor's Since: one second earlier, so that
// an entry saved in the same second as the newest one seen is not missed.
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
	errNoTotals = errors.New("no meta.pagination.total")
)

// errCapped says that the server answered with a smaller page size than asked (api.rest.maxLimit).
type errCapped struct{ size int }

func (e *errCapped) Error() string {
	return fmt.Sprintf("the server caps the page size at %d", e.size)
}

const maxListAttempts = 3

// list reads every entry of a listing, calling each (concurrently) with the attempt number and the
// entry. A listing that changes while it is read, or whose page size the server capped, is read
// again from the start.
func (s *Source) list(ctx context.Context, path string, q url.Values, size int, each func(attempt int, item gjson.Result) error) error {
	for attempt := 0; ; attempt++ {
		err := s.listOnce(ctx, path, q, size, func(item gjson.Result) error { return each(attempt, item) })
		var capped *errCapped
		if errors.As(err, &capped) && capped.size < size && capped.size > 0 && attempt+1 < maxListAttempts {
			size = capped.size
			continue
		}
		if errors.Is(err, errChanged) && attempt+1 < maxListAttempts && ctx.Err() == nil {
			continue
		}
		return err
	}
}

// listOnce is one pass over a listing.
func (s *Source) listOnce(ctx context.Context, path string, q url.Values, size int, each func(gjson.Result) error) error {
	page := func(i int) *fetch.Request { return &fetch.Request{URL: path, Query: pageQuery(q, i, size)} }
	var total int64
	err := s.client.Offset(ctx, fetch.OffsetPages{
		Page:     page,
		PageSize: size,
		Total: func(r *fetch.Response) (int, error) {
			if r.Get("data").IsObject() { // a single type
				return 1, nil
			}
			p := r.Get("meta.pagination")
			if ps := p.Get("pageSize"); ps.Type == gjson.Number && int(ps.Int()) != size && ps.Int() > 0 {
				return 0, &errCapped{size: int(ps.Int())}
			}
			t := p.Get("total")
			if !t.Exists() {
				return 0, errNoTotals
			}
			if t.Type != gjson.Number || t.Int() < 0 {
				return 0, fmt.Errorf("%w: meta.pagination.total %.40s is not a count", mesh.ErrBadResponse, t.Raw)
			}
			total = t.Int()
			return int(total), nil
		},
	}, func(i int, r *fetch.Response) error {
		if t := r.Get("meta.pagination.total"); i > 0 && t.Exists() && t.Int() != total {
			return fmt.Errorf("%s: %w (total %d, then %d)", r.URL, errChanged, total, t.Int())
		}
		return eachEntry(r, each)
	})
	if errors.Is(err, errNoTotals) {
		return s.listSequential(ctx, page, size, each)
	}
	return err
}

// listSequential walks a listing without totals one page after the other, until a short page.
func (s *Source) listSequential(ctx context.Context, page func(int) *fetch.Request, size int, each func(gjson.Result) error) error {
	current := 0
	return s.client.Cursor(ctx, fetch.CursorPages{
		Request: func(c string) *fetch.Request {
			current = 0
			if c != "" {
				current, _ = strconv.Atoi(c)
			}
			return page(current)
		},
		Next: func(r *fetch.Response) (string, error) {
			if n := len(r.Get("data").Array()); n < size || r.Get("data").IsObject() {
				return "", nil
			}
			return strconv.Itoa(current + 1), nil
		},
	}, func(_ int, r *fetch.Response) error { return eachEntry(r, each) })
}

// eachEntry calls each for every entry of a page: data is an array (a collection type) or an object
// (a single type).
func eachEntry(r *fetch.Response, each func(gjson.Result) error) error {
	data := r.Get("data")
	switch {
	case data.IsObject():
		if err := each(data); err != nil {
			return wrapURL(r.URL, err)
		}
		return nil
	case !data.IsArray():
		return fmt.Errorf("%s: %w: want {\"data\": [...]} with the entries", r.URL, mesh.ErrBadResponse)
	}
	var err error
	data.ForEach(func(_, item gjson.Result) bool {
		err = each(item)
		return err == nil
	})
	return wrapURL(r.URL, err)
}

func wrapURL(u string, err error) error {
	if err != nil && errors.Is(err, mesh.ErrBadResponse) && !strings.Contains(err.Error(), u) {
		return fmt.Errorf("%s: %w", u, err)
	}
	return err
}

// explain wraps a request error with what to fix, by status and Strapi error name.
func (s *Source) explain(op, collection string, err error) error {
	var se *fetch.StatusError
	if !errors.As(err, &se) {
		return fmt.Errorf("strapi: %s: %w", op, err)
	}
	var hint string
	switch {
	case se.StatusCode == http.StatusUnauthorized && s.cfg.Token != "":
		hint = "check token: an API token from Settings > API Tokens, valid and not expired"
	case se.StatusCode == http.StatusUnauthorized:
		hint = "this content needs a token: set token to an API token"
	case se.StatusCode == http.StatusForbidden && s.cfg.Token != "":
		hint = fmt.Sprintf("the token may not read %q: give it find and findOne on that type (or use a read-only token)", collection)
	case se.StatusCode == http.StatusForbidden:
		hint = fmt.Sprintf("the Public role may not read %q: set token, or allow find and findOne for Public", collection)
	case se.StatusCode == http.StatusNotFound:
		hint = fmt.Sprintf("no collection %q at <url>/api/%s: list plural API ids in collections (articles, not article) and check that url is the server's origin", collection, collection)
	case se.StatusCode == http.StatusBadRequest && errorName(se.Body) == "ValidationError":
		hint = "Strapi rejected a query parameter: if the server is Strapi 4, set version: 4 (or 5 for Strapi 5)"
	}
	if hint == "" {
		return fmt.Errorf("strapi: %s: %w", op, err)
	}
	return fmt.Errorf("strapi: %s: %w (%s)", op, err, hint)
}

// decoder returns the decoder of a collection's entries ("" for the media library).
func (r *fetchRun) decoder(c string) *decoder {
	d := &decoder{source: r.req.Source, collection: c, origin: r.s.origin, localeAll: r.s.localeAll,
		assets: !r.filesListed}
	if r.sch != nil {
		d.schema = r.sch.colls[c]
	}
	if r.index != nil {
		d.resolve = func(field, key string) (string, bool) {
			r.imu.Lock()
			colls := slices.Clone(r.index[key])
			r.imu.Unlock()
			return pickCollection(field, key, colls)
		}
	}
	d.warn = func(field string) {
		if _, dup := r.warned.LoadOrStore(c+"."+field, true); !dup {
			r.log.Warn("strapi: a relation points at a collection that is not configured; it is kept as Strapi sent it (add that collection, or give the token read access to the content-type schema)",
				"collection", c, "field", field)
		}
	}
	return d
}

// pickCollection chooses the collection of a relation's target among the configured collections
// holding its key. A documentId (v5) is unique: the only collection holding it is the one. A v4 id
// repeats across collections, and a relation to a collection that is not configured may hit another
// one's id: it is taken only when the field's name matches the collection's (author -> authors).
func pickCollection(field, key string, colls []string) (string, bool) {
	if len(colls) == 0 {
		return "", false
	}
	if len(colls) == 1 && !isDigits(key) {
		return colls[0], true
	}
	for _, c := range colls {
		if c == field || singular(c) == field || singular(c) == singular(field) {
			return c, true
		}
	}
	return "", false
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// decoder maps the entries of one collection to nodes.
type decoder struct {
	source     string
	collection string
	origin     string
	localeAll  bool
	schema     *collSchema // nil without the schema
	// resolve names the collection of a relation's target by its key, without the schema.
	resolve func(field, key string) (string, bool)
	// assets makes the decoder return the Assets of the media it finds (no media library listing).
	assets bool
	warn   func(field string)
}

// nodeType is the type of the collection's nodes.
func (d *decoder) nodeType() string {
	name := ""
	if d.schema != nil {
		name = d.schema.singular
	}
	if name == "" {
		name = singular(d.collection)
	}
	if t := normalize.TypeName(name); t != "" {
		return t
	}
	return "T"
}

// entry is an item read in either shape: v5 flat (attrs is the item) or v4 {"id", "attributes"}.
type entry struct {
	native     string // documentId when there is one, else the id
	documentID string
	attrs      gjson.Result
	v4         bool
}

// entryOf reads an item's identity and attributes.
func entryOf(item gjson.Result) (entry, error) {
	if !item.IsObject() {
		return entry{}, fmt.Errorf("%w: an entry is not a JSON object", mesh.ErrBadResponse)
	}
	e := entry{attrs: item}
	if a := item.Get("attributes"); a.IsObject() {
		e.attrs, e.v4 = a, true
	}
	id := item.Get("id")
	if doc := item.Get("documentId"); doc.Exists() {
		if doc.Type != gjson.String || doc.Str == "" {
			return entry{}, fmt.Errorf("%w: an entry has a documentId that is not a string (%.40s)", mesh.ErrBadResponse, doc.Raw)
		}
		e.documentID, e.native = doc.Str, doc.Str
		return e, nil
	}
	switch id.Type {
	case gjson.Number:
		if _, err := strconv.ParseUint(id.Raw, 10, 64); err != nil {
			return entry{}, fmt.Errorf("%w: an entry's id %.40s is not an integer", mesh.ErrBadResponse, id.Raw)
		}
		e.native = id.Raw
	case gjson.String:
		if id.Str == "" {
			return entry{}, fmt.Errorf("%w: an entry has an empty id", mesh.ErrBadResponse)
		}
		e.native = id.Str
	default:
		return entry{}, fmt.Errorf("%w: an entry has neither documentId nor id", mesh.ErrBadResponse)
	}
	return e, nil
}

// page maps every entry of a page body: the decoder that the fuzz target exercises.
func (d *decoder) page(body []byte) ([]mesh.Node, error) {
	if !gjson.ValidBytes(body) {
		return nil, fmt.Errorf("%w: not JSON", mesh.ErrBadResponse)
	}
	data := gjson.GetBytes(body, "data")
	if data.IsObject() {
		data = gjson.Parse("[" + data.Raw + "]")
	}
	if !data.IsArray() {
		return nil, fmt.Errorf("%w: want {\"data\": [...]}", mesh.ErrBadResponse)
	}
	var out []mesh.Node
	var err error
	data.ForEach(func(_, item gjson.Result) bool {
		var n mesh.Node
		var assets []mesh.Node
		if n, assets, _, err = d.entry(item); err != nil {
			return false
		}
		out = append(out, n)
		out = append(out, assets...)
		return true
	})
	return out, err
}

// timeFields are normalized to RFC 3339 UTC.
var timeFields = map[string]bool{"createdAt": true, "updatedAt": true, "publishedAt": true}

// entry maps one entry to its node, the Assets of its media (when the decoder takes Assets from
// entries), and its updatedAt as Strapi wrote it.
func (d *decoder) entry(item gjson.Result) (mesh.Node, []mesh.Node, string, error) {
	e, err := entryOf(item)
	if err != nil {
		return mesh.Node{}, nil, "", err
	}
	locale := ""
	if l := e.attrs.Get("locale"); l.Type == gjson.String {
		locale = l.Str
	}
	n := mesh.Node{
		ID:       mesh.LocalizedNodeID(d.source, d.collection, e.native, locale),
		Type:     d.nodeType(),
		NativeID: e.native,
		Locale:   locale,
	}
	o := mesh.NewObject()
	var assets []mesh.Node
	e.attrs.ForEach(func(k, v gjson.Result) bool {
		key := k.String()
		switch {
		case !e.v4 && (key == "id" || key == "documentId"):
		case timeFields[key]:
			if s := normalize.TimeString(v.String()); s != "" {
				o.SetString(key, s)
			} else {
				o.SetNull(key)
			}
		case key == "localizations" && d.localeAll:
			// Every locale is a node of its own with the same documentId; Strapi 5 fills this
			// field unreliably under locale=* (empty on pages of several entries).
		case key == "localizations":
			err = d.localizations(o, v)
		default:
			var a []mesh.Node
			a, err = d.value(o, key, v)
			assets = append(assets, a...)
		}
		return err == nil
	})
	if err != nil {
		return mesh.Node{}, nil, "", fmt.Errorf("%s %s: %w", d.collection, e.native, err)
	}
	updated := e.attrs.Get("updatedAt").String()
	if t, terr := normalize.Time(updated); terr == nil {
		n.UpdatedAt = t
	} else {
		updated = ""
	}
	n.Fields = o.JSON()
	return n, assets, updated, nil
}

// linkShape tells what a field value is: a v4 {"data": ...} wrapper, or a v5 relation or media
// object or array; elems are the linked objects (empty for null or []).
type linkShape struct {
	link  bool // a relation or media value
	many  bool
	elems []gjson.Result
}

func shapeOf(v gjson.Result) linkShape {
	if v.IsObject() {
		if data := v.Get("data"); data.Exists() && isWrapper(v) {
			switch {
			case data.Type == gjson.Null:
				return linkShape{link: true}
			case data.IsObject():
				return linkShape{link: true, elems: []gjson.Result{data}}
			case data.IsArray():
				return linkShape{link: true, many: true, elems: data.Array()}
			}
		}
		if isLinked(v) {
			return linkShape{link: true, elems: []gjson.Result{v}}
		}
		return linkShape{}
	}
	if v.IsArray() {
		elems := v.Array()
		if len(elems) == 0 {
			return linkShape{}
		}
		for _, e := range elems {
			if !isLinked(e) {
				return linkShape{}
			}
		}
		return linkShape{link: true, many: true, elems: elems}
	}
	return linkShape{}
}

// isWrapper reports a v4 relation or media value: an object with "data" (and at most "meta").
func isWrapper(v gjson.Result) bool {
	ok := true
	v.ForEach(func(k, _ gjson.Result) bool {
		ok = k.String() == "data" || k.String() == "meta"
		return ok
	})
	return ok
}

// isLinked reports a linked object: v5 (documentId), or v4 inside a wrapper ({"id", "attributes"}).
func isLinked(v gjson.Result) bool {
	return v.IsObject() && (v.Get("documentId").Type == gjson.String || (v.Get("id").Exists() && v.Get("attributes").IsObject()))
}

// isMedia reports whether a linked object is a media file.
func isMedia(e gjson.Result) bool {
	a := e
	if at := e.Get("attributes"); at.IsObject() {
		a = at
	}
	return a.Get("mime").Type == gjson.String && a.Get("url").Type == gjson.String
}

// value sets one field: relations and media become $refs, anything else is kept.
func (d *decoder) value(o *mesh.Object, key string, v gjson.Result) ([]mesh.Node, error) {
	sh := shapeOf(v)
	if d.schema != nil {
		if t, known := d.schema.kinds[key]; known && t != "relation" && t != "media" {
			sh.link = false // a JSON field may hold anything, documentId keys included
		}
	}
	if !sh.link {
		o.Set(key, []byte(v.Raw))
		return nil, nil
	}
	ids := make([]string, 0, len(sh.elems))
	var assets []mesh.Node
	for _, e := range sh.elems {
		if isMedia(e) {
			a, err := d.asset(e)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", key, err)
			}
			ids = append(ids, a.ID)
			if d.assets {
				assets = append(assets, a)
			}
			continue
		}
		le, err := entryOf(e)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", key, err)
		}
		target, ok := "", false
		if d.schema != nil {
			target, ok = d.schema.relations[key]
		}
		if !ok && d.resolve != nil {
			target, ok = d.resolve(key, le.native)
		}
		if !ok {
			d.warn(key)
			o.Set(key, []byte(v.Raw))
			return nil, nil
		}
		ids = append(ids, mesh.LocalizedNodeID(d.source, target, le.native, le.attrs.Get("locale").String()))
	}
	switch {
	case sh.many:
		o.SetRefs(key, ids)
	case len(ids) == 0:
		o.SetNull(key)
	default:
		o.SetRef(key, ids[0])
	}
	return assets, nil
}

// localizations maps the i18n localizations field to the sorted locale codes of the entry's other
// locales (their nodes are not fetched unless locale is all, when the field is left out).
func (d *decoder) localizations(o *mesh.Object, v gjson.Result) error {
	sh := shapeOf(v)
	if !sh.link && !(v.IsArray() && len(v.Array()) == 0) {
		o.Set("localizations", []byte(v.Raw))
		return nil
	}
	var codes []string
	for _, e := range sh.elems {
		le, err := entryOf(e)
		if err != nil {
			return fmt.Errorf("field localizations: %w", err)
		}
		codes = append(codes, le.attrs.Get("locale").String())
	}
	slices.Sort(codes)
	b, _ := json.Marshal(codes)
	if codes == nil {
		b = []byte("[]")
	}
	o.Set("localizations", b)
	return nil
}

// asset maps a media file (v5 flat, v4 {"id", "attributes"}, or an /api/upload/files item).
func (d *decoder) asset(f gjson.Result) (mesh.Node, error) {
	if !f.IsObject() {
		return mesh.Node{}, fmt.Errorf("%w: a media file is not a JSON object", mesh.ErrBadResponse)
	}
	a := f
	if at := f.Get("attributes"); at.IsObject() {
		a = at
	}
	id := f.Get("id")
	if _, err := strconv.ParseUint(id.Raw, 10, 64); id.Type != gjson.Number || err != nil {
		return mesh.Node{}, fmt.Errorf("%w: a media file has no integer id (%.40s)", mesh.ErrBadResponse, id.Raw)
	}
	native := id.Raw
	o := mesh.NewObject()
	o.SetString("url", d.absolute(a.Get("url").String()))
	o.SetString("mimeType", a.Get("mime").String())
	for _, k := range []string{"width", "height"} {
		if v := a.Get(k); v.Type == gjson.Number {
			o.Set(k, []byte(v.Raw))
		}
	}
	if v := a.Get("size"); v.Type == gjson.Number && v.Float() >= 0 && v.Float() < 1e12 {
		o.SetInt("size", int64(math.Round(v.Float()*1000)))
	}
	name := a.Get("name").String()
	o.SetString("title", name)
	o.SetString("fileName", name)
	o.SetString("alt", a.Get("alternativeText").String())
	for _, k := range []string{"caption", "ext", "hash"} {
		if v := a.Get(k); v.Exists() {
			o.Set(k, []byte(v.Raw))
		}
	}
	if fm := a.Get("formats"); fm.IsObject() {
		fo := mesh.NewObject()
		fm.ForEach(func(k, v gjson.Result) bool {
			if u := v.Get("url"); u.Type == gjson.String && v.IsObject() {
				vo := mesh.NewObject()
				v.ForEach(func(kk, vv gjson.Result) bool {
					if kk.String() != "url" {
						vo.Set(kk.String(), []byte(vv.Raw))
					}
					return true
				})
				vo.SetString("url", d.absolute(u.Str))
				fo.Set(k.String(), vo.JSON())
			} else {
				fo.Set(k.String(), []byte(v.Raw))
			}
			return true
		})
		o.Set("formats", fo.JSON())
	}
	var updated time.Time
	for k := range timeFields {
		if v := a.Get(k); v.Exists() && k != "publishedAt" {
			if s := normalize.TimeString(v.String()); s != "" {
				o.SetString(k, s)
				if k == "updatedAt" {
					updated, _ = normalize.Time(s)
				}
			}
		}
	}
	return mesh.Node{
		ID:        mesh.NodeID(d.source, filesNamespace, native),
		Type:      "Asset",
		NativeID:  native,
		UpdatedAt: updated,
		Fields:    o.JSON(),
	}, nil
}

// absolute makes a relative media URL (/uploads/x.png, the local provider) absolute against url.
func (d *decoder) absolute(u string) string {
	if strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") {
		return d.origin + u
	}
	return u
}
