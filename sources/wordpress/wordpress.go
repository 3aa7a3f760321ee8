// Package wordpress is a mesh.Source for the WordPress REST API (wp/v2): posts, pages, custom post
// types, media, categories, tags, custom taxonomies and users, with drafts when given an
// application password.
//
// # Configuration
//
//	sources:
//	  - name: blog
//	    type: wordpress
//	    url: https://example.com          # the site root; the API is at <url>/wp-json/wp/v2/
//	    types: [posts, pages, media, categories, tags, users]   # rest_base names; this is the default
//	    username: editor                  # optional, with appPassword: drafts and private content
//	    appPassword: ${WP_APP_PASSWORD}
//	    baseURL: http://127.0.0.1:8081    # optional; see below
//	    timeout: 30s                      # and the other mesh/fetch options: retries, concurrency,
//	    requestsPerSecond: 5              # requestsPerSecond, maxRetryAfter, maxBodyBytes, ...
//
// types lists rest_base names: the built-in posts, pages, media, categories, tags and users, and any
// custom post type or taxonomy the site exposes in REST (its rest_base, e.g. products or genres).
// When types names a custom one, the adapter reads /wp-json/wp/v2/types and /taxonomies once per
// fetch to learn its slug and which taxonomy fields point where; a name that is neither is an error.
//
// url is the site root, which for WordPress is already the API's origin (plus /wp-json). baseURL is
// accepted like in every adapter: when set, requests go there instead of url (a proxy, a test
// server); giving only baseURL is the same as giving only url.
//
// # Authentication
//
// Published content needs none. With username and appPassword (an Application Password, WordPress
// 5.6+, made under Users > Profile; not the login password) every request carries HTTP Basic
// credentials, and posts, pages and custom post types are listed with status=any: drafts, pending,
// future and private items too (never trash). The password is a secret: it is sent only in the
// Authorization header, never printed by Config's String, GoString or LogValue, and scrubbed from
// errors. WordPress 6.1 (checked on the real server) ignores credentials it does not accept and
// answers as to an anonymous visitor, who may not list drafts: status=any then fails with 400
// rest_invalid_param (rest_forbidden_status in its details). That answer, and a 401 (incorrect_password,
// rest_not_logged_in), become errors wrapping mesh.ErrUnauthorized that say to check username and
// appPassword. A configuration without post types asks users/me once per fetch to prove the
// credentials, so that they cannot be ignored silently.
//
// # Rate limits
//
// Core WordPress has none; hosts, WAFs and plugins may answer 429 (or 503) with Retry-After, which
// mesh/fetch honors up to maxRetryAfter. Listings are paged with per_page=100 (the API's maximum)
// in id order (orderby=id&order=asc, so that no item is skipped or repeated); once the first page
// has given X-WP-Total, the other pages are fetched concurrently, at most `concurrency` at a time.
// A host that strips the X-WP-Total header is walked one page after the other until a short page
// (or the 400 that answers the page after a full last one).
// When a listing changes while it is read (a page reports another X-WP-Total than the first, or a
// page past the new end answers 400 rest_post_invalid_page_number), the listing is read again from
// the start, at most three times, and items seen only in an abandoned pass are deleted again.
//
// # Mapping
//
// Every item is one node, ID <source>/<namespace>/<id>:
//
//	posts        Post      namespace post       pages  Page  namespace page
//	media        Asset     namespace media      users  User  namespace user
//	categories   Category  namespace category   tags   Tag   namespace tag
//	custom post type or taxonomy: the PascalCase of its slug, namespace the slug
//
// Fields keep WordPress' names. Rendered objects ({"rendered": ..., "protected": ...}: title,
// content, excerpt, guid, caption, description) become their rendered HTML string. date and
// modified are the _gmt values in RFC 3339 UTC (null for a draft without a date); the _gmt, _links
// and _embedded keys are dropped. Links become references: author ($ref to user), featured_media
// ($ref to media, null for 0), parent ($ref to the same namespace, null for 0), categories and tags
// (and the fields of custom taxonomies) arrays of $refs. Media become Assets with url, mimeType,
// width, height, size (media_details.filesize, when WordPress knows it), title, alt, fileName,
// plus caption, description, media_type, sizes, slug, link, date, modified, author and post (the id
// of the post it is attached to, as a number: its type is not known).
//
// # Incremental sync
//
// The cursor keeps, per type, the ids of the last listing (as runs, "1-5,7") and, for post types and
// media, the newest "modified" seen. The next fetch is a delta: for post types and media it lists
// only the items modified after that time (modified_after, minus one second so that nothing edited
// in the same second is missed), sweeps the ids that exist now (_fields=id, 100 per page,
// concurrently), deletes the ids that are gone, and reads the few ids that reappeared without a
// newer modification time (a restored item) with include=. WordPress removes links to deleted
// terms, media and users (and re-parents a deleted page's children) without touching the linking
// posts' modification time: after a delta that deleted any of those, the post types linking there
// are read again whole, the items the delta already read excepted. Taxonomies and users have no
// modification time: they are listed whole each time, and their deletions come from the same
// comparison of ids. A cursor made by another configuration (url, types, credentials) is ignored,
// and the fetch is full.
package wordpress

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
	"path"
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

// Kind is the adapter's name, the config's `type: wordpress`.
const Kind = "wordpress"

// Config configures a WordPress Source. Its yaml keys are part of the configuration contract.
type Config struct {
	// URL is the site root, e.g. "https://example.com"; the API is at URL + "/wp-json/wp/v2/".
	URL string `yaml:"url"`
	// Username and AppPassword (an Application Password) authenticate with HTTP Basic: drafts,
	// pending, future and private items are then fetched too. Give both or neither.
	Username    string `yaml:"username,omitempty"`
	AppPassword string `yaml:"appPassword,omitempty"`
	// Types lists the rest_base names to fetch; empty means posts, pages, media, categories, tags
	// and users.
	Types []string `yaml:"types,omitempty"`
	// BaseURL, when set, is where requests go instead of URL (a proxy or a test server).
	BaseURL string `yaml:"baseURL,omitempty"`

	// Options are the mesh/fetch knobs: timeout, retries, concurrency, requestsPerSecond, ...
	fetch.Options `yaml:",inline"`
}

// String describes the configuration without its secret.
func (c Config) String() string {
	pw := ""
	if c.AppPassword != "" {
		pw = fetch.Redacted
	}
	return fmt.Sprintf("wordpress.Config{URL:%q BaseURL:%q Username:%q AppPassword:%q Types:%q}",
		c.URL, c.BaseURL, c.Username, pw, c.Types)
}

// GoString is String, so that %#v does not print the password either.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the password.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Source reads a WordPress site. It is safe for concurrent use.
type Source struct {
	cfg         Config
	client      *fetch.Client
	types       []string // rest_bases, in config order
	auth        bool
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
		return &mesh.ConfigError{Where: fmt.Sprintf("wordpress: key %q", key), Msg: fmt.Sprintf(format, args...)}
	}
	origin := cfg.BaseURL
	originKey := "baseURL"
	if origin == "" {
		origin, originKey = cfg.URL, "url"
	}
	if origin == "" {
		return nil, bad("url", "required: the site root, e.g. https://example.com")
	}
	for _, k := range []struct{ key, v string }{{"url", cfg.URL}, {"baseURL", cfg.BaseURL}} {
		if k.v == "" {
			continue
		}
		u, err := url.Parse(k.v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, bad(k.key, "want an http or https URL of the site root, got %q", fetch.RedactURLString(k.v, nil))
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return nil, bad(k.key, "the site root takes no query or fragment (the API is at <url>/wp-json/)")
		}
		if u.User != nil {
			return nil, bad(k.key, "put credentials in username and appPassword, not in the URL")
		}
	}
	if (cfg.Username == "") != (cfg.AppPassword == "") {
		if cfg.Username == "" {
			return nil, bad("username", "required with appPassword")
		}
		return nil, bad("appPassword", "required with username (an Application Password from Users > Profile)")
	}
	if strings.Contains(cfg.Username, ":") {
		return nil, bad("username", "must not contain ':'")
	}
	types := cfg.Types
	if len(types) == 0 {
		types = defaultTypes
	}
	seen := map[string]bool{}
	for _, t := range types {
		switch {
		case t == "":
			return nil, bad("types", "empty name: list rest_base names such as posts or categories")
		case strings.ContainsAny(t, "/?#@% "):
			return nil, bad("types", "%q: want a rest_base such as posts, pages or products", t)
		case seen[t]:
			return nil, bad("types", "%q is listed twice", t)
		}
		seen[t] = true
	}
	auth := cfg.Username != ""
	user, pass := cfg.Username, cfg.AppPassword
	client, err := fetch.New(fetch.Config{
		BaseURL:      strings.TrimRight(origin, "/"),
		ErrorMessage: ErrorMessage,
		Auth: func(r *http.Request) error {
			if auth {
				r.SetBasicAuth(user, pass)
			}
			return nil
		},
	}, cfg.Options)
	if err != nil {
		var ce *mesh.ConfigError
		if errors.As(err, &ce) && strings.Contains(ce.Where, `"baseURL"`) {
			return nil, bad(originKey, "%v", ce.Msg)
		}
		return nil, fmt.Errorf("wordpress: %w", err)
	}
	fp := sha256.Sum256(fmt.Appendf(nil, "v1\x00%s\x00%s\x00%q", strings.TrimRight(origin, "/"), cfg.Username, types))
	return &Source{cfg: cfg, client: client, types: slices.Clone(types), auth: auth,
		fingerprint: hex.EncodeToString(fp[:8])}, nil
}

// Kind implements mesh.Source.
func (s *Source) Kind() string { return Kind }

// Check implements mesh.Checker: it verifies the credentials when set (users/me), then reads one
// item of the first type.
func (s *Source) Check(ctx context.Context) error {
	defer s.client.CloseIdleConnections()
	if err := s.checkCredentials(ctx); err != nil {
		return err
	}
	infos, err := s.resolveTypes(ctx)
	if err != nil {
		return err
	}
	t := infos[0]
	q := s.listQuery(t)
	q.Set(paramPerPage, "1")
	if _, err := s.client.DoJSON(ctx, &fetch.Request{URL: apiPrefix + t.restBase, Query: q}); err != nil {
		return s.explain("check "+t.restBase, t.restBase, err)
	}
	return nil
}

// checkCredentials asks for the authenticated user, when credentials are set: WordPress ignores
// credentials it does not accept and answers as to an anonymous visitor, and this request is the one
// that then fails (401 rest_not_logged_in) instead of silently leaving the drafts out.
func (s *Source) checkCredentials(ctx context.Context) error {
	if !s.auth {
		return nil
	}
	if _, err := s.client.DoJSON(ctx, &fetch.Request{URL: pathMe, Query: url.Values{paramFields: {"id"}}}); err != nil {
		return s.explain("check the credentials", "users/me", err)
	}
	return nil
}

// pageSize is the page size to request: the engine's when set, at most the API's maximum.
func pageSize(req mesh.FetchRequest) int {
	if req.PageSize > 0 {
		return min(req.PageSize, maxPerPage)
	}
	return maxPerPage
}

// listQuery is the query every listing of t starts from: id order, and every status for an
// authenticated request on a post type.
func (s *Source) listQuery(t *typeInfo) url.Values {
	q := url.Values{paramOrderBy: {"id"}, paramOrder: {"asc"}}
	if s.auth && t.kind == kindPostType {
		q.Set(paramStatus, statusAny)
	}
	return q
}

// Fetch implements mesh.Source: every configured type, concurrently; a delta when the cursor allows
// (see the package documentation).
func (s *Source) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	defer s.client.CloseIdleConnections()
	log := req.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	prev := s.readCursor(req, log)
	infos, err := s.resolveTypes(ctx)
	if err != nil {
		return mesh.FetchResult{}, ctxOr(ctx, err)
	}
	// Listing a post type with status=any proves the credentials; without one, ask for them.
	if !slices.ContainsFunc(infos, func(t *typeInfo) bool { return t.kind == kindPostType }) {
		if err := s.checkCredentials(ctx); err != nil {
			return mesh.FetchResult{}, ctxOr(ctx, err)
		}
	}
	em := emit.NewGuard(out)
	next := cursor{V: 1, Fingerprint: s.fingerprint, Source: req.Source, Types: map[string]typeState{}}
	var mu sync.Mutex
	results := map[string]*typeResult{}
	g, gctx := errgroup.WithContext(ctx)
	for _, t := range infos {
		g.Go(func() error {
			var prevState *typeState
			if prev != nil {
				if st, ok := prev.Types[t.restBase]; ok {
					prevState = &st
				}
			}
			res, err := s.fetchType(gctx, req, t, prevState, em)
			if err != nil {
				return err
			}
			mu.Lock()
			next.Types[t.restBase] = res.state
			results[t.restBase] = res
			mu.Unlock()
			return nil
		})
	}
	err = g.Wait()
	if err == nil && prev != nil {
		err = s.refreshRelated(ctx, req, infos, results, em)
	}
	if e := em.Err(); e != nil {
		return mesh.FetchResult{}, e // unchanged, as the Source contract asks
	}
	if err != nil {
		return mesh.FetchResult{}, ctxOr(ctx, err)
	}
	cur, err := json.Marshal(next)
	if err != nil {
		return mesh.FetchResult{}, fmt.Errorf("wordpress: encode cursor: %w", err)
	}
	return mesh.FetchResult{Delta: prev != nil, Cursor: cur}, nil
}

// ctxOr returns the context's error when it ended (so that errors.Is(err, context.Canceled) holds
// plainly), else err.
func ctxOr(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return ctxErr
	}
	return err
}

// readCursor decodes the request's cursor; nil means a full fetch.
func (s *Source) readCursor(req mesh.FetchRequest, log *slog.Logger) *cursor {
	if len(req.Cursor) == 0 {
		return nil
	}
	var c cursor
	if err := json.Unmarshal(req.Cursor, &c); err != nil || c.V != 1 || c.Types == nil {
		log.Warn("wordpress: unreadable cursor, fetching everything", "err", err)
		return nil
	}
	if c.Fingerprint != s.fingerprint || c.Source != req.Source {
		log.Info("wordpress: configuration changed since the last fetch, fetching everything")
		return nil
	}
	for _, t := range s.types {
		if _, ok := c.Types[t]; !ok {
			return nil
		}
	}
	return &c
}

// resolveTypes maps the configured rest_bases to typeInfos: from the built-in table, or, when a
// custom one is configured, from the site's /types and /taxonomies.
func (s *Source) resolveTypes(ctx context.Context) ([]*typeInfo, error) {
	custom := false
	for _, t := range s.types {
		if _, ok := builtins[t]; !ok {
			custom = true
		}
	}
	out := make([]*typeInfo, 0, len(s.types))
	if !custom {
		for _, t := range s.types {
			b := builtins[t]
			out = append(out, &b)
		}
		return out, nil
	}
	var typesBody, taxBody []byte
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		r, err := s.client.DoJSON(gctx, &fetch.Request{URL: pathTypes})
		if err != nil {
			return s.explain("read post types", "types", err)
		}
		typesBody = r.Body
		return nil
	})
	g.Go(func() error {
		r, err := s.client.DoJSON(gctx, &fetch.Request{URL: pathTaxonomies})
		if err != nil {
			return s.explain("read taxonomies", "taxonomies", err)
		}
		taxBody = r.Body
		return nil
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sch, err := parseSchema(typesBody, taxBody)
	if err != nil {
		return nil, fmt.Errorf("wordpress: %w", err)
	}
	for _, t := range s.types {
		info, ok := sch[t]
		if !ok {
			if b, isBuiltin := builtins[t]; isBuiltin {
				info = &b
			} else {
				return nil, &mesh.ConfigError{Where: `wordpress: key "types"`,
					Msg: fmt.Sprintf("%q is neither a post type nor a taxonomy of this site: list their rest_base (see /wp-json/wp/v2/types and /taxonomies)", t)}
			}
		}
		out = append(out, info)
	}
	return out, nil
}

// parseSchema reads /wp-json/wp/v2/types and /taxonomies (objects keyed by slug) into typeInfos keyed
// by rest_base.
func parseSchema(typesBody, taxBody []byte) (map[string]*typeInfo, error) {
	tr, xr := gjson.ParseBytes(typesBody), gjson.ParseBytes(taxBody)
	if !tr.IsObject() || !xr.IsObject() {
		return nil, fmt.Errorf("%w: /types and /taxonomies must be JSON objects keyed by slug", mesh.ErrBadResponse)
	}
	out := map[string]*typeInfo{}
	taxNS := map[string]string{}   // taxonomy slug -> namespace
	taxBase := map[string]string{} // taxonomy slug -> rest_base
	xr.ForEach(func(k, v gjson.Result) bool {
		slug, base := k.String(), v.Get("rest_base").String()
		if base == "" || slug == "" {
			return true
		}
		ns, ok := builtinNamespace(slug)
		if !ok {
			ns = slug
		}
		taxNS[slug], taxBase[slug] = ns, base
		out[base] = &typeInfo{restBase: base, kind: kindTaxonomy, slug: slug, namespace: ns, nodeType: nodeTypeOf(slug, ns)}
		return true
	})
	tr.ForEach(func(k, v gjson.Result) bool {
		slug, base := k.String(), v.Get("rest_base").String()
		if base == "" || slug == "" {
			return true
		}
		ns, ok := builtinNamespace(slug)
		if !ok {
			ns = slug
		}
		info := &typeInfo{restBase: base, kind: kindPostType, slug: slug, namespace: ns, nodeType: nodeTypeOf(slug, ns)}
		if slug == "attachment" {
			info.kind = kindMedia
		}
		for _, tax := range v.Get("taxonomies").Array() {
			if b, ok := taxBase[tax.String()]; ok {
				if info.taxFields == nil {
					info.taxFields = map[string]string{}
				}
				info.taxFields[b] = taxNS[tax.String()]
			}
		}
		out[base] = info
		return true
	})
	u := builtins["users"]
	out["users"] = &u
	return out, nil
}

// nodeTypeOf is the node type of a slug: the built-in's, or its PascalCase.
func nodeTypeOf(slug, ns string) string {
	for _, b := range builtins {
		if b.slug == slug {
			return b.nodeType
		}
	}
	if t := normalize.TypeName(ns); t != "" {
		return t
	}
	return "T"
}

// typeResult is what fetching one type did.
type typeResult struct {
	state typeState
	// deleted counts the items a delta deleted; emitted holds the ids upserted in this fetch.
	deleted int
	emitted idSet
	delta   bool
}

// refreshRelated re-reads, after a delta, the post types whose links may have changed without their
// own "modified": WordPress deletes a term's relationships, a deleted attachment's _thumbnail_id
// meta, a deleted user's posts' author (reassigned) and a deleted page's children's parent with
// direct queries that leave the posts' modification time alone. So when a delta deleted users,
// media, terms of a taxonomy or items of the type itself, the post types (and media) linking there
// are read again whole, the items the delta already read excepted.
func (s *Source) refreshRelated(ctx context.Context, req mesh.FetchRequest, infos []*typeInfo, results map[string]*typeResult, em *emit.Guard) error {
	deleted := map[string]bool{} // namespaces with deletions
	for _, t := range infos {
		if results[t.restBase].deleted > 0 {
			deleted[t.namespace] = true
		}
	}
	if len(deleted) == 0 {
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, t := range infos {
		res := results[t.restBase]
		if !res.delta {
			continue // listed whole already
		}
		stale := deleted["user"] || deleted[t.namespace]
		if t.kind == kindPostType {
			stale = stale || deleted["media"]
			for _, ns := range t.taxFields {
				stale = stale || deleted[ns]
			}
		}
		if !stale {
			continue
		}
		dec := decoder{source: req.Source, t: t}
		g.Go(func() error {
			err := s.list(gctx, apiPrefix+t.restBase, s.listQuery(t), pageSize(req), func(_ int, item gjson.Result) error {
				n, id, _, err := dec.item(item)
				if err != nil || res.emitted.has(id) {
					return err
				}
				return em.Upsert(n)
			})
			if err != nil {
				return s.explain("read "+t.restBase+" again (items it links to were deleted)", t.restBase, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// fetchType fetches one type: a full listing, or (with prev) the delta described in the package
// documentation. It returns the type's state for the next cursor.
func (s *Source) fetchType(ctx context.Context, req mesh.FetchRequest, t *typeInfo, prev *typeState, em *emit.Guard) (*typeResult, error) {
	size := pageSize(req)
	path := apiPrefix + t.restBase
	dec := decoder{source: req.Source, t: t}
	st := typeState{IDs: idSet{}}
	var mu sync.Mutex
	maxModified := func(m string) {
		if m > st.Since {
			st.Since = m
		}
	}
	// emitted tracks, per listing attempt, the ids upserted, so that ids seen only in an abandoned
	// attempt are deleted again.
	emitted := map[int64]int{}
	lastAttempt := 0
	upsertItem := func(attempt int, item gjson.Result) error {
		n, id, modified, err := dec.item(item)
		if err != nil {
			return err
		}
		mu.Lock()
		emitted[id] = attempt
		lastAttempt = max(lastAttempt, attempt)
		maxModified(modified)
		mu.Unlock()
		return em.Upsert(n)
	}
	dropStale := func(keep func(int64) bool) error {
		var gone []int64
		for id, a := range emitted {
			if a < lastAttempt && !keep(id) {
				gone = append(gone, id)
			}
		}
		slices.Sort(gone)
		for _, id := range gone {
			if err := em.Delete(mesh.NodeID(req.Source, t.namespace, strconv.FormatInt(id, 10))); err != nil {
				return err
			}
		}
		return nil
	}

	incremental := prev != nil && (t.kind == kindPostType || t.kind == kindMedia) && prev.Since != ""
	if !incremental {
		// A full listing of the type; with prev (taxonomies, users) deletions come from the ids.
		err := s.list(ctx, path, s.listQuery(t), size, upsertItem)
		if err != nil {
			return nil, s.explain("list "+t.restBase, t.restBase, err)
		}
		for id, a := range emitted {
			if a == lastAttempt {
				st.IDs.add(id)
			}
		}
		if err := dropStale(func(int64) bool { return false }); err != nil {
			return nil, err
		}
		res := &typeResult{emitted: st.IDs}
		if prev != nil {
			if prev.Since > st.Since {
				st.Since = prev.Since
			}
			n, err := s.deleteGone(req, t, prev.IDs, st.IDs, em)
			if err != nil {
				return nil, err
			}
			res.deleted = n
		}
		res.state = st
		return res, nil
	}

	// Delta: what changed since the cursor, and the ids that exist now, at once.
	st.Since = prev.Since
	now := idSet{}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		q := s.listQuery(t)
		q.Set(paramModifiedAfter, sinceParam(prev.Since))
		if err := s.list(gctx, path, q, size, upsertItem); err != nil {
			return s.explain("list changed "+t.restBase, t.restBase, err)
		}
		return nil
	})
	g.Go(func() error {
		q := s.listQuery(t)
		q.Set(paramFields, "id")
		var nmu sync.Mutex
		last := 0
		err := s.list(gctx, path, q, maxPerPage, func(attempt int, item gjson.Result) error {
			id, err := itemID(item)
			if err != nil {
				return err
			}
			nmu.Lock()
			defer nmu.Unlock()
			if attempt > last {
				clear(now)
				last = attempt
			}
			now.add(id)
			return nil
		})
		if err != nil {
			return s.explain("sweep ids of "+t.restBase, t.restBase, err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	changed := idSet{}
	for id, a := range emitted {
		if a == lastAttempt {
			changed.add(id)
		}
	}
	if err := dropStale(now.has); err != nil {
		return nil, err
	}
	// Ids that exist now, were not there last time and did not show up as modified: read them.
	var missing []int64
	for _, id := range now.sorted() {
		if !prev.IDs.has(id) && !changed.has(id) {
			missing = append(missing, id)
		}
	}
	final := lastAttempt
	for chunk := range slices.Chunk(missing, maxPerPage) {
		q := s.listQuery(t)
		ids := make([]string, len(chunk))
		for i, id := range chunk {
			ids[i] = strconv.FormatInt(id, 10)
		}
		q.Set(paramInclude, strings.Join(ids, ","))
		if err := s.list(ctx, path, q, maxPerPage, func(_ int, item gjson.Result) error {
			return upsertItem(final, item)
		}); err != nil {
			return nil, s.explain("read "+t.restBase+" by id", t.restBase, err)
		}
	}
	st.IDs = now
	// Gone: known last time, or upserted just now, and not in the sweep.
	all := idSet{}
	for id := range prev.IDs {
		all.add(id)
	}
	res := &typeResult{state: st, emitted: idSet{}, delta: true}
	for id := range emitted {
		all.add(id)
		res.emitted.add(id)
	}
	n, err := s.deleteGone(req, t, all, now, em)
	res.deleted = n
	return res, err
}

// deleteGone deletes the nodes of the ids in before that are not in now, and counts them.
func (s *Source) deleteGone(req mesh.FetchRequest, t *typeInfo, before, now idSet, em *emit.Guard) (int, error) {
	n := 0
	for _, id := range before.sorted() {
		if !now.has(id) {
			n++
			if err := em.Delete(mesh.NodeID(req.Source, t.namespace, strconv.FormatInt(id, 10))); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// sinceParam is the modified_after value for a cursor's Since: one second earlier, so that an item
// saved in the same second as the newest one seen is not missed (re-reading one is harmless).
func sinceParam(since string) string {
	t, err := time.Parse(modifiedLayout, since)
	if err != nil {
		return since
	}
	return t.Add(-time.Second).Format(modifiedLayout)
}

// Errors of a listing that changed while it was read.
var (
	errChanged  = errors.New("the listing changed while it was read")
	errNoTotals = errors.New("no " + headerTotal + " header")
)

// maxListAttempts bounds how often a listing that keeps changing is read again.
const maxListAttempts = 3

// list reads every item of a listing, calling each (concurrently) with the attempt number and the
// item. A listing that changes while it is read is read again from the start.
func (s *Source) list(ctx context.Context, path string, q url.Values, size int, each func(attempt int, item gjson.Result) error) error {
	for attempt := 0; ; attempt++ {
		err := s.listOnce(ctx, path, q, size, func(item gjson.Result) error { return each(attempt, item) })
		if errors.Is(err, errChanged) && attempt+1 < maxListAttempts && ctx.Err() == nil {
			continue
		}
		return err
	}
}

// listOnce is one pass over a listing: concurrent pages once X-WP-Total is known, else the
// page numbers one after the other.
func (s *Source) listOnce(ctx context.Context, path string, q url.Values, size int, each func(gjson.Result) error) error {
	page := func(i int) *fetch.Request {
		qq := make(url.Values, len(q)+2)
		for k, v := range q {
			qq[k] = v
		}
		qq.Set(paramPage, strconv.Itoa(i+1))
		qq.Set(paramPerPage, strconv.Itoa(size))
		return &fetch.Request{URL: path, Query: qq}
	}
	var total string
	err := s.client.Offset(ctx, fetch.OffsetPages{
		Page:     page,
		PageSize: size,
		Total: func(r *fetch.Response) (int, error) {
			total = r.Header.Get(headerTotal)
			if total == "" {
				return 0, errNoTotals
			}
			n, err := strconv.Atoi(strings.TrimSpace(total))
			if err != nil || n < 0 {
				return 0, fmt.Errorf("%w: %s %q is not a count", mesh.ErrBadResponse, headerTotal, total)
			}
			return n, nil
		},
	}, func(i int, r *fetch.Response) error {
		if h := r.Header.Get(headerTotal); i > 0 && h != "" && h != total {
			return fmt.Errorf("%s: %w (%s %s, then %s)", r.URL, errChanged, headerTotal, total, h)
		}
		return eachItem(r, each)
	})
	if errors.Is(err, errNoTotals) {
		return s.listSequential(ctx, page, size, each)
	}
	if isInvalidPage(err) {
		return fmt.Errorf("%w: %w", errChanged, err)
	}
	return err
}

// isInvalidPage reports whether err is WordPress' 400 rest_post_invalid_page_number: a page past the
// end of the listing.
func isInvalidPage(err error) bool {
	var se *fetch.StatusError
	return errors.As(err, &se) && se.StatusCode == http.StatusBadRequest && errorCode(se.Body) == codeInvalidPage
}

// listSequential walks a listing whose totals the host hides, one page after the other, until a
// short page; the 400 rest_post_invalid_page_number that answers the page after a full last page
// ends the listing.
func (s *Source) listSequential(ctx context.Context, page func(int) *fetch.Request, size int, each func(gjson.Result) error) error {
	current := 0
	err := s.client.Cursor(ctx, fetch.CursorPages{
		Request: func(c string) *fetch.Request {
			current = 0
			if c != "" {
				current, _ = strconv.Atoi(c)
			}
			return page(current)
		},
		Next: func(r *fetch.Response) (string, error) {
			if n := len(gjson.ParseBytes(r.Body).Array()); n < size {
				return "", nil
			}
			return strconv.Itoa(current + 1), nil
		},
	}, func(_ int, r *fetch.Response) error { return eachItem(r, each) })
	if isInvalidPage(err) {
		return nil
	}
	return err
}

// eachItem calls each for every item of a page, which must be a JSON array.
func eachItem(r *fetch.Response, each func(gjson.Result) error) error {
	arr := gjson.ParseBytes(r.Body)
	if !arr.IsArray() {
		return fmt.Errorf("%s: %w: want a JSON array of items", r.URL, mesh.ErrBadResponse)
	}
	var err error
	arr.ForEach(func(_, item gjson.Result) bool {
		if e := each(item); e != nil {
			err = e
			return false
		}
		return true
	})
	if err != nil && errors.Is(err, mesh.ErrBadResponse) && !strings.Contains(err.Error(), r.URL) {
		return fmt.Errorf("%s: %w", r.URL, err)
	}
	return err
}

// explain wraps a request error with what to fix, by status and WordPress error code.
func (s *Source) explain(op, restBase string, err error) error {
	var se *fetch.StatusError
	if !errors.As(err, &se) {
		return fmt.Errorf("wordpress: %s: %w", op, err)
	}
	code := errorCode(se.Body)
	var hint string
	switch {
	case se.StatusCode == http.StatusBadRequest && code == "rest_invalid_param" &&
		gjson.GetBytes(se.Body, "data.details.status.code").String() == codeForbiddenStatus:
		// WordPress ignores credentials it does not accept and treats the request as anonymous,
		// which may not list drafts: status=any then fails as an invalid parameter.
		hint = "WordPress did not accept username and appPassword (an Application Password from Users > Profile, not the login password), so it may not list drafts"
		if !s.auth {
			hint = "listing drafts needs username and appPassword"
		}
		return fmt.Errorf("wordpress: %s: %w: %w (%s)", op, mesh.ErrUnauthorized, err, hint)
	case se.StatusCode == http.StatusUnauthorized && s.auth:
		hint = "check username and appPassword (an Application Password from Users > Profile, not the login password)"
	case se.StatusCode == http.StatusUnauthorized:
		hint = "the site wants credentials for this: set username and appPassword"
	case se.StatusCode == http.StatusForbidden:
		hint = "the user may not read " + restBase + ", or a security plugin or firewall blocks the REST API"
	case se.StatusCode == http.StatusNotFound && code == "rest_no_route":
		hint = fmt.Sprintf("no REST route for %q: check that url is the site root (the API is at <url>/wp-json/) and that %q is a rest_base of this site", restBase, restBase)
	case se.StatusCode == http.StatusNotFound:
		hint = "check that url is the site root of a WordPress site with the REST API at <url>/wp-json/"
	}
	if hint == "" {
		return fmt.Errorf("wordpress: %s: %w", op, err)
	}
	return fmt.Errorf("wordpress: %s: %w (%s)", op, err, hint)
}

// decoder maps the items of one type to nodes.
type decoder struct {
	source string // instance name
	t      *typeInfo
}

// itemID reads an item's id: a positive integer.
func itemID(item gjson.Result) (int64, error) {
	if !item.IsObject() {
		return 0, fmt.Errorf("%w: an item is not a JSON object", mesh.ErrBadResponse)
	}
	v := item.Get("id")
	id, err := strconv.ParseInt(v.Raw, 10, 64)
	if v.Type != gjson.Number || err != nil || id <= 0 {
		return 0, fmt.Errorf("%w: an item has no positive integer id (id: %.40s)", mesh.ErrBadResponse, v.Raw)
	}
	return id, nil
}

// page maps every item of a page body (a JSON array): the decoder that the fuzz target exercises.
func (d decoder) page(body []byte) ([]mesh.Node, error) {
	if !gjson.ValidBytes(body) {
		return nil, fmt.Errorf("%w: not JSON", mesh.ErrBadResponse)
	}
	arr := gjson.ParseBytes(body)
	if !arr.IsArray() {
		return nil, fmt.Errorf("%w: want a JSON array of items", mesh.ErrBadResponse)
	}
	var out []mesh.Node
	var err error
	arr.ForEach(func(_, item gjson.Result) bool {
		var n mesh.Node
		if n, _, _, err = d.item(item); err != nil {
			return false
		}
		out = append(out, n)
		return true
	})
	return out, err
}

// item maps one item to its node, and returns its id and site-local "modified" ("" when none).
func (d decoder) item(item gjson.Result) (mesh.Node, int64, string, error) {
	id, err := itemID(item)
	if err != nil {
		return mesh.Node{}, 0, "", err
	}
	native := strconv.FormatInt(id, 10)
	n := mesh.Node{
		ID:       mesh.NodeID(d.source, d.t.namespace, native),
		Type:     d.t.nodeType,
		NativeID: native,
	}
	var o *mesh.Object
	switch d.t.kind {
	case kindMedia:
		o, err = d.assetFields(item)
	default:
		o, err = d.contentFields(item)
	}
	if err != nil {
		return mesh.Node{}, 0, "", fmt.Errorf("%s %s: %w", d.t.restBase, native, err)
	}
	if m := item.Get("modified_gmt"); m.Type == gjson.String {
		if t, err := normalize.Time(m.Str); err == nil {
			n.UpdatedAt = t
		}
	}
	n.Fields = o.JSON()
	modified := ""
	if m := item.Get("modified"); m.Type == gjson.String {
		if _, err := time.Parse(modifiedLayout, m.Str); err == nil {
			modified = m.Str
		}
	}
	return n, id, modified, nil
}

// dropped are keys that never reach a node: hypermedia, and the dates set from their _gmt twins.
var dropped = map[string]bool{
	"_links": true, "_embedded": true, "date": true, "date_gmt": true, "modified": true, "modified_gmt": true,
}

// contentFields maps a post, page, custom post type item, term or user.
func (d decoder) contentFields(item gjson.Result) (*mesh.Object, error) {
	o := mesh.NewObject()
	var err error
	item.ForEach(func(k, v gjson.Result) bool {
		key := k.String()
		if dropped[key] {
			return true
		}
		switch {
		case key == "author" && d.t.kind != kindUsers:
			err = d.setRef(o, key, "user", v)
		case key == "featured_media":
			err = d.setRef(o, key, "media", v)
		case key == "parent":
			err = d.setRef(o, key, d.t.namespace, v)
		case d.t.taxFields[key] != "":
			err = d.setRefs(o, key, d.t.taxFields[key], v)
		default:
			setValue(o, key, v)
		}
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	setDates(o, item)
	return o, nil
}

// assetFields maps a media item to an Asset.
func (d decoder) assetFields(item gjson.Result) (*mesh.Object, error) {
	o := mesh.NewObject()
	src := item.Get("source_url").String()
	o.SetString("url", src)
	if m := item.Get("mime_type"); m.Exists() {
		o.SetString("mimeType", m.String())
	}
	md := item.Get("media_details")
	for _, k := range []struct{ from, to string }{{"width", "width"}, {"height", "height"}, {"filesize", "size"}} {
		if v := md.Get(k.from); v.Type == gjson.Number {
			o.Set(k.to, []byte(v.Raw))
		}
	}
	o.SetString("title", rendered(item.Get("title")))
	o.SetString("alt", item.Get("alt_text").String())
	file := md.Get("file").String()
	if file == "" {
		if u, err := url.Parse(src); err == nil {
			file = u.Path
		}
	}
	if file != "" {
		o.SetString("fileName", path.Base(file))
	}
	for _, k := range []string{"caption", "description", "media_type", "slug", "link", "status"} {
		if v := item.Get(k); v.Exists() {
			setValue(o, k, v)
		}
	}
	if sizes := md.Get("sizes"); sizes.IsObject() {
		o.Set("sizes", []byte(sizes.Raw))
	}
	if v := item.Get("post"); v.Type == gjson.Number {
		o.Set("post", []byte(v.Raw))
	}
	if v := item.Get("author"); v.Exists() {
		if err := d.setRef(o, "author", "user", v); err != nil {
			return nil, err
		}
	}
	setDates(o, item)
	return o, nil
}

// setDates sets date and modified from date_gmt and modified_gmt, in RFC 3339 UTC; null when
// WordPress has none (a draft's floating date).
func setDates(o *mesh.Object, item gjson.Result) {
	for _, k := range []string{"date", "modified"} {
		if !item.Get(k).Exists() && !item.Get(k+"_gmt").Exists() {
			continue
		}
		if s := normalize.TimeString(item.Get(k + "_gmt").String()); s != "" {
			o.SetString(k, s)
		} else {
			o.SetNull(k)
		}
	}
}

// setValue copies a value, flattening WordPress' rendered objects to their HTML.
func setValue(o *mesh.Object, key string, v gjson.Result) {
	if isRendered(v) {
		o.SetString(key, v.Get("rendered").String())
		return
	}
	o.Set(key, []byte(v.Raw))
}

// isRendered reports whether v is a rendered object: {"rendered": ..., ["protected", "raw",
// "block_version"]}.
func isRendered(v gjson.Result) bool {
	if !v.IsObject() || !v.Get("rendered").Exists() {
		return false
	}
	ok := true
	v.ForEach(func(k, _ gjson.Result) bool {
		switch k.String() {
		case "rendered", "protected", "raw", "block_version":
		default:
			ok = false
		}
		return ok
	})
	return ok
}

// rendered returns a rendered object's HTML, or a plain string as is.
func rendered(v gjson.Result) string {
	if v.IsObject() {
		return v.Get("rendered").String()
	}
	return v.String()
}

// refID reads a linked id: a non-negative integer (0 means none). The empty string is none.
func refID(v gjson.Result) (string, error) {
	if v.Type == gjson.Null || !v.Exists() {
		return "", nil
	}
	var raw string
	switch v.Type {
	case gjson.Number:
		raw = v.Raw
	case gjson.String:
		raw = v.Str
	default:
		return "", fmt.Errorf("%w: want an id, got %.40s", mesh.ErrBadResponse, v.Raw)
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 0 {
		return "", fmt.Errorf("%w: want an id, got %.40s", mesh.ErrBadResponse, v.Raw)
	}
	if id == 0 {
		return "", nil
	}
	return strconv.FormatInt(id, 10), nil
}

// setRef sets key to a $ref into namespace, or null for 0.
func (d decoder) setRef(o *mesh.Object, key, namespace string, v gjson.Result) error {
	id, err := refID(v)
	if err != nil {
		return fmt.Errorf("field %s: %w", key, err)
	}
	if id == "" {
		o.SetNull(key)
		return nil
	}
	o.SetRef(key, mesh.NodeID(d.source, namespace, id))
	return nil
}

// setRefs sets key to an array of $refs into namespace.
func (d decoder) setRefs(o *mesh.Object, key, namespace string, v gjson.Result) error {
	if !v.IsArray() {
		setValue(o, key, v)
		return nil
	}
	var ids []string
	var err error
	v.ForEach(func(_, e gjson.Result) bool {
		var id string
		if id, err = refID(e); err != nil {
			err = fmt.Errorf("field %s: %w", key, err)
			return false
		}
		if id != "" {
			ids = append(ids, mesh.NodeID(d.source, namespace, id))
		}
		return true
	})
	if err != nil {
		return err
	}
	o.SetRefs(key, ids)
	return nil
}
