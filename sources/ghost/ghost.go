// Package ghost is a mesh.Source for the Ghost Content API: posts, pages, authors and tags become
// nodes, the images they show become Asset nodes, and authors, tags and images become
// {"$ref": id}, so backrefs work without a link rule.
//
// # Configuration
//
//	sources:
//	  - name: blog
//	    type: ghost
//	    url: https://demo.ghost.io        # required: the site's (or admin domain's) URL, with its subdirectory if any
//	    key: ${GHOST_CONTENT_API_KEY}     # required: the Content API key of a Custom Integration
//	    baseURL: http://127.0.0.1:2368    # optional: requests go there instead of url
//	    timeout: 30s                      # and the other mesh/fetch options: retries, concurrency,
//	    requestsPerSecond: 10             # requestsPerSecond, maxRetryAfter, maxBodyBytes, ...
//
// The API lives at <url>/ghost/api/content/. Requests send Accept-Version: v5.0, which Ghost 5 and
// Ghost 6 both serve.
//
// # Authentication
//
// The Content API key travels in the query (key=...), as Ghost requires. It is read-only and meant
// to be public in a browser, but it is still redacted from every URL in errors, logs and outputs.
//
// The Content API serves only published content: Ghost has no drafts, scheduled posts or preview
// through it (those need the Admin API and its signed tokens), so this source has no draft mode.
//
// # Rate limits
//
// Ghost publishes no Content API limits and sends no rate-limit headers; Ghost(Pro) and most
// self-hosted sites sit behind a CDN or a proxy, whose 429s and 503s (with Retry-After when they
// send one) mesh/fetch retries, halving the source's concurrency. Set requestsPerSecond for a small
// self-hosted server.
//
// # Mapping
//
// Each resource is listed with GET /ghost/api/content/<resource>/?limit=100&page=N&order=id asc
// (posts and pages with include=authors,tags): 100 is Ghost 6's largest page, and limit=all, which
// Ghost 6 removed, is never sent. The first page's meta.pagination.total gives the number of pages,
// and the others are fetched at once; the order by id keeps pages from overlapping while editors
// publish. FetchRequest.PageSize, when positive, replaces 100.
//
// Nodes, with IDs mesh.NodeID(source, <namespace>, id):
//
//	posts    namespace post     type Post
//	pages    namespace page     type Page
//	authors  namespace author   type Author
//	tags     namespace tag      type Tag      (internal "#" tags too, with visibility internal)
//
// Fields are the resource as Ghost sends it (html, excerpt, slug, url, meta fields, ...), with
// created_at, updated_at and published_at in RFC 3339 UTC. Content stays rendered HTML: the Content
// API does not serve Lexical or Mobiledoc. UpdatedAt is updated_at (authors and tags have none).
// authors and tags become arrays of $refs, primary_author and primary_tag a $ref (or null), so an
// author's or a tag's backrefs list its posts and pages.
//
// Images are URLs in Ghost: feature_image, og_image and twitter_image (posts, pages, tags),
// profile_image and cover_image (authors) become a $ref to an Asset node whose native ID is a short
// hash of the URL, with fields url, fileName and mimeType (by the file's extension). Alt texts and
// captions (feature_image_alt, feature_image_caption) stay on the post: they belong to that use of
// the image. Images inside html stay in the HTML.
//
// Ghost sites have one locale (settings.locale); nodes carry no locale.
//
// # Incremental sync
//
// The cursor keeps the highest updated_at seen and, for every post, page, author and tag, its
// updated_at and the images it uses. The next fetch runs, concurrently: posts and pages with
// filter=updated_at:>'<since>' (a server that rejects the filter gets a warning in the log, and the
// sweep alone finds the changes), a sweep of posts and pages with fields=id,updated_at (every ID,
// 100 a page, fanned out), and the full author and tag listings (Ghost gives them no updated_at;
// they are few). It returns a delta: the changed posts and pages, then those that the sweep shows
// new or changed but the filter did not return (clock ties within a second) fetched with
// filter=id:[...], the authors and tags, a delete for each post or page the sweep no longer lists
// and each author or tag no longer listed (deleted, unpublished, or for tags and authors: no longer
// used by a published post), and a delete for each image nothing uses any more. A cursor made by
// another configuration is ignored (a full fetch).
package ghost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
)

// Kind is the adapter's name, the config's `type: ghost`.
const Kind = "ghost"

const (
	// DefaultPageSize is Ghost 6's largest page (limit=all is gone).
	DefaultPageSize = 100
	// idBatch is how many IDs one filter=id:[...] request asks for.
	idBatch = 50
	// acceptVersion is sent as Accept-Version: the oldest API version this adapter reads.
	acceptVersion = "v5.0"
)

// Config configures a Ghost source. Its yaml keys are part of the configuration contract.
type Config struct {
	// URL is the site's URL (or its admin domain's), with the subdirectory of a subdirectory install,
	// e.g. https://demo.ghost.io or https://example.com/blog. Required.
	URL string `yaml:"url"`
	// Key is the Content API key of a Custom Integration (Ghost Admin, Settings, Integrations).
	// Required. It is redacted from URLs, logs and String.
	Key string `yaml:"key"`
	// BaseURL, when set, receives the requests instead of URL (a test server or a proxy); it includes
	// the subdirectory, if any. The paths (/ghost/api/content/...) are appended as Ghost documents them.
	BaseURL string `yaml:"baseURL,omitempty"`

	// Options are the mesh/fetch knobs: timeout, retries, concurrency, requestsPerSecond, ...
	fetch.Options `yaml:",inline"`
}

// String describes the configuration without its key.
func (c Config) String() string {
	key := ""
	if c.Key != "" {
		key = " key=" + fetch.Redacted
	}
	return fmt.Sprintf("ghost url=%s%s", fetch.RedactURLString(c.URL, secretParams), key)
}

// GoString is String, so that %#v does not print the key either.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the key.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// secretParams are the query parameters whose values are redacted: the Content API key.
var secretParams = []string{"key"}

// Source reads one Ghost site. It is safe for concurrent use.
type Source struct {
	cfg         Config
	client      *fetch.Client
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
		return &mesh.ConfigError{Where: fmt.Sprintf("ghost: key %q", key), Msg: fmt.Sprintf(format, args...)}
	}
	if cfg.URL == "" {
		return nil, bad("url", "required: the site's URL, e.g. https://demo.ghost.io")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, bad("url", "want an http or https URL such as https://demo.ghost.io")
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.Contains(u.Path, "/ghost/api") {
		return nil, bad("url", "want the site's URL only, without /ghost/api/..., query or fragment")
	}
	switch {
	case cfg.Key == "":
		return nil, bad("key", "required: the Content API key of a Custom Integration (Ghost Admin, Settings, Integrations)")
	case strings.ContainsAny(cfg.Key, " \t\r\n&#?=/"):
		return nil, bad("key", "has spaces or URL delimiters: paste the Content API key alone")
	}
	root := strings.TrimSuffix(cfg.URL, "/")
	if cfg.BaseURL != "" {
		b, err := url.Parse(cfg.BaseURL)
		if err != nil || (b.Scheme != "http" && b.Scheme != "https") || b.Host == "" {
			return nil, bad("baseURL", "want an http or https URL such as http://127.0.0.1:2368")
		}
		root = strings.TrimSuffix(cfg.BaseURL, "/")
	}
	key := cfg.Key
	client, err := fetch.New(fetch.Config{
		BaseURL: root + apiPath,
		Auth: func(r *http.Request) error {
			q := r.URL.Query()
			q.Set("key", key)
			r.URL.RawQuery = q.Encode()
			r.Header.Set("Accept-Version", acceptVersion)
			return nil
		},
		SecretParams: secretParams,
		ErrorMessage: errorMessage,
	}, cfg.Options)
	if err != nil {
		return nil, fmt.Errorf("ghost: %w", err)
	}
	h := sha256.Sum256(fmt.Appendf(nil, "v1\x00%q", root))
	return &Source{cfg: cfg, client: client, fingerprint: hex.EncodeToString(h[:8])}, nil
}

// Kind implements mesh.Source.
func (s *Source) Kind() string { return Kind }

// String describes the source without its key.
func (s *Source) String() string { return s.cfg.String() }

// Check implements mesh.Checker: it reads the site's settings (GET /settings/), which fails with
// mesh.ErrUnauthorized for a wrong key and mesh.ErrNotFound for a wrong url.
func (s *Source) Check(ctx context.Context) error {
	defer s.client.CloseIdleConnections()
	r, err := s.client.DoJSON(ctx, &fetch.Request{URL: settingsPath})
	if err != nil {
		return s.explain(err)
	}
	if !r.Get("settings").IsObject() {
		return fmt.Errorf("ghost: %s: %w: no settings object (is url a Ghost site?)", r.URL, mesh.ErrBadResponse)
	}
	return nil
}

// run is the state of one Fetch.
type run struct {
	s        *Source
	out      mesh.Emitter
	dec      decoder
	log      *slog.Logger
	pageSize int

	mu      sync.Mutex
	emitErr error
	emitted map[string]*entry // "<namespace>/<id>" -> what was emitted
	assets  map[string]bool   // asset native IDs emitted
	latest  string            // the highest updated_at emitted (RFC 3339 UTC)
}

// Fetch implements mesh.Source: a full fetch without a cursor, a delta with one (see the package
// documentation).
func (s *Source) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	defer s.client.CloseIdleConnections()
	log := req.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &run{
		s:        s,
		out:      out,
		dec:      decoder{source: req.Source},
		log:      log,
		pageSize: DefaultPageSize,
		emitted:  map[string]*entry{},
		assets:   map[string]bool{},
	}
	if req.PageSize > 0 {
		r.pageSize = min(req.PageSize, DefaultPageSize)
	}
	prev := s.readCursor(req, log)
	var next *cursor
	var err error
	if prev == nil {
		err = r.full(ctx)
		if err == nil {
			next = r.newCursor(nil, nil, nil)
		}
	} else {
		next, err = r.incremental(ctx, prev)
	}
	if r.emitErr != nil {
		return mesh.FetchResult{}, r.emitErr // unchanged, as the Source contract asks
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return mesh.FetchResult{}, ctxErr
		}
		return mesh.FetchResult{}, s.explain(err)
	}
	next.Source, next.Fingerprint = req.Source, s.fingerprint
	cur, err := json.Marshal(next)
	if err != nil {
		return mesh.FetchResult{}, fmt.Errorf("ghost: encode cursor: %w", err)
	}
	return mesh.FetchResult{Delta: prev != nil, Cursor: cur}, nil
}

// full lists the four resources at once.
func (r *run) full(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, res := range resources {
		g.Go(func() error { return r.list(gctx, res, nil) })
	}
	return g.Wait()
}

// list reads a resource's listing, with extra parameters (a filter), fanning out the pages after
// the first, and emits every item.
func (r *run) list(ctx context.Context, res resource, extra url.Values) error {
	return r.s.client.Offset(ctx, fetch.OffsetPages{
		Page: func(i int) *fetch.Request {
			q := r.listQuery(res, i+1)
			for k, v := range extra {
				q[k] = v
			}
			return &fetch.Request{URL: res.path(), Query: q}
		},
		PageSize: r.pageSize,
		Total:    bodyTotal,
	}, func(_ int, resp *fetch.Response) error {
		items, err := r.dec.decodePage(resp.Body, resp.URL, res)
		if err != nil {
			return err
		}
		return r.emit(items)
	})
}

// listQuery is the query of one page of a resource.
func (r *run) listQuery(res resource, page int) url.Values {
	q := url.Values{
		"limit": {strconv.Itoa(r.pageSize)},
		"page":  {strconv.Itoa(page)},
		"order": {stableOrder},
	}
	if res.include != "" {
		q.Set("include", res.include)
	}
	return q
}

// emit upserts decoded items and the images they use (once each), and records them for the cursor.
func (r *run) emit(items []item) error {
	fail := func(err error) error {
		r.mu.Lock()
		if r.emitErr == nil {
			r.emitErr = err
		}
		r.mu.Unlock()
		return err
	}
	for _, it := range items {
		if err := r.out.Upsert(it.node); err != nil {
			return fail(err)
		}
		for _, a := range it.assets {
			r.mu.Lock()
			seen := r.assets[a.id]
			r.assets[a.id] = true
			r.mu.Unlock()
			if seen {
				continue
			}
			if err := r.out.Upsert(a.node(r.dec.source)); err != nil {
				return fail(err)
			}
		}
		r.mu.Lock()
		r.emitted[it.key] = it.entry()
		if it.updatedAt > r.latest {
			r.latest = it.updatedAt
		}
		r.mu.Unlock()
	}
	return nil
}

// incremental reads what changed since prev (see the package documentation) and returns the next
// cursor.
func (r *run) incremental(ctx context.Context, prev *cursor) (*cursor, error) {
	var mu sync.Mutex
	swept := map[string]string{} // "<namespace>/<id>" -> updated_at, for posts and pages
	g, gctx := errgroup.WithContext(ctx)
	for _, res := range resources {
		if !res.dated {
			g.Go(func() error { return r.list(gctx, res, nil) }) // authors and tags: everything, they are few
			continue
		}
		if filter := sinceFilter(prev.Since); filter != "" {
			g.Go(func() error {
				err := r.list(gctx, res, url.Values{"filter": {filter}})
				if rejected(err) {
					// The sweep below finds every change too (and the by-id fetch reads it): a
					// server that does not take the date filter costs requests, not correctness.
					r.log.Warn("ghost: the updated_at filter was rejected; finding changes with the sweep alone", "err", err)
					return nil
				}
				return err
			})
		}
		g.Go(func() error {
			return r.sweep(gctx, res, func(key, at string) {
				mu.Lock()
				swept[key] = at
				mu.Unlock()
			})
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Posts and pages that the sweep shows new or changed, and the filter did not return.
	missed := map[resource][]string{}
	for key, at := range swept {
		if _, ok := r.emitted[key]; ok {
			continue
		}
		if old, ok := prev.Items[key]; !ok || old.At != at {
			res, id := splitKey(key)
			missed[res] = append(missed[res], id)
		}
	}
	for _, res := range resources {
		ids := missed[res]
		slices.Sort(ids)
		for len(ids) > 0 {
			batch := ids[:min(idBatch, len(ids))]
			ids = ids[len(batch):]
			if err := r.list(ctx, res, url.Values{"filter": {"id:[" + strings.Join(batch, ",") + "]"}}); err != nil {
				return nil, err
			}
		}
	}
	// Deletes: posts and pages the sweep no longer lists (unless just emitted), and authors and
	// tags no longer listed.
	var deletes []string
	for key := range prev.Items {
		if _, ok := r.emitted[key]; ok {
			continue
		}
		res, _ := splitKey(key)
		if _, ok := swept[key]; ok && res.dated {
			// Listed by the sweep: kept unless it was to be fetched again and did not come back.
			if old := prev.Items[key]; old.At == swept[key] {
				continue
			}
		}
		deletes = append(deletes, key)
	}
	slices.Sort(deletes)
	for _, key := range deletes {
		res, id := splitKey(key)
		if err := r.out.Delete(mesh.NodeID(r.dec.source, res.namespace, id)); err != nil {
			r.emitErr = err
			return nil, err
		}
	}
	next := r.newCursor(prev, swept, deletes)
	used := map[string]bool{}
	for _, e := range next.Items {
		for _, a := range e.Assets {
			used[a] = true
		}
	}
	var unused []string
	for _, e := range prev.Items {
		for _, a := range e.Assets {
			if !used[a] && !slices.Contains(unused, a) {
				unused = append(unused, a)
			}
		}
	}
	slices.Sort(unused)
	for _, a := range unused {
		if err := r.out.Delete(mesh.NodeID(r.dec.source, assetNamespace, a)); err != nil {
			r.emitErr = err
			return nil, err
		}
	}
	return next, nil
}

// rejected reports a request the server refused as malformed (400, 422): not a credential, a
// missing resource, a rate limit or an outage.
func rejected(err error) bool {
	var se *fetch.StatusError
	return errors.As(err, &se) && (se.StatusCode == http.StatusBadRequest || se.StatusCode == http.StatusUnprocessableEntity)
}

// sweep lists the IDs and updated_at of every item of a dated resource (posts, pages).
func (r *run) sweep(ctx context.Context, res resource, each func(key, at string)) error {
	return r.s.client.Offset(ctx, fetch.OffsetPages{
		Page: func(i int) *fetch.Request {
			return &fetch.Request{URL: res.path(), Query: url.Values{
				"limit":  {strconv.Itoa(r.pageSize)},
				"page":   {strconv.Itoa(i + 1)},
				"order":  {stableOrder},
				"fields": {"id,updated_at"},
			}}
		},
		PageSize: r.pageSize,
		Total:    bodyTotal,
	}, func(_ int, resp *fetch.Response) error {
		stamps, err := decodeStamps(resp.Body, resp.URL, res)
		if err != nil {
			return err
		}
		for _, st := range stamps {
			each(res.name+"/"+st.id, st.at)
		}
		return nil
	})
}

// newCursor is the state after this fetch: what was emitted, plus the items of prev that are still
// there unchanged.
func (r *run) newCursor(prev *cursor, swept map[string]string, deleted []string) *cursor {
	c := &cursor{V: cursorVersion, Items: map[string]*entry{}}
	if prev != nil {
		for key, e := range prev.Items {
			if res, _ := splitKey(key); res.dated && swept[key] == e.At && !slices.Contains(deleted, key) {
				c.Items[key] = e
			}
		}
		c.Since = prev.Since
	}
	for key, e := range r.emitted {
		c.Items[key] = e
	}
	if r.latest > c.Since {
		c.Since = r.latest
	}
	return c
}

// readCursor decodes the request's cursor; nil means a full fetch.
func (s *Source) readCursor(req mesh.FetchRequest, log *slog.Logger) *cursor {
	if len(req.Cursor) == 0 {
		return nil
	}
	var c cursor
	if err := json.Unmarshal(req.Cursor, &c); err != nil || c.V != cursorVersion {
		log.Warn("ghost: unreadable cursor, fetching everything", "err", err)
		return nil
	}
	if c.Fingerprint != s.fingerprint || c.Source != req.Source {
		log.Info("ghost: configuration changed since the last fetch, fetching everything")
		return nil
	}
	for key := range c.Items {
		if res, id := splitKey(key); res.name == "" || id == "" {
			log.Warn("ghost: unreadable cursor, fetching everything", "key", key)
			return nil
		}
	}
	if c.Items == nil {
		c.Items = map[string]*entry{}
	}
	return &c
}

// explain wraps an error with what to fix, by the sentinel it carries.
func (s *Source) explain(err error) error {
	var se *fetch.StatusError
	hint := ""
	site := fetch.RedactURLString(strings.TrimSuffix(s.cfg.URL, "/"), secretParams)
	switch {
	case errors.Is(err, mesh.ErrUnauthorized):
		hint = "the key was rejected: check the key (the Content API key of a Custom Integration, not the Admin API key)"
	case errors.Is(err, mesh.ErrForbidden):
		hint = "the key may not read this: check that the integration is enabled"
	case errors.Is(err, mesh.ErrNotFound):
		hint = "check url " + site + ": the Content API must answer at " + site + apiPath + "/ (add the subdirectory of a subdirectory install)"
	case errors.As(err, &se) && se.StatusCode == http.StatusBadRequest:
		hint = "Ghost rejected a parameter: is " + site + " Ghost 5 or later?"
	}
	if hint == "" {
		return fmt.Errorf("ghost: %w", err)
	}
	return fmt.Errorf("ghost: %w: %s", err, hint)
}
