// Package storyblok is a mesh.Source for the Storyblok Content Delivery API v2. Every story
// becomes a node of its content type, the assets its fields hold become Asset nodes, and story
// references, links and assets become {"$ref": id}, so backrefs work without a link rule.
//
// # Configuration
//
//	sources:
//	  - name: cms
//	    type: storyblok
//	    token: ${STORYBLOK_TOKEN}    # required: a public token (published) or a preview token (draft)
//	    region: eu                   # optional: eu (default), us, ca, ap or cn: the space's region
//	    version: published           # optional: published (default) or draft (needs a preview token)
//	    languages: [de, fr]          # optional: the space's other languages, besides the default one
//	    relations: [post.author, post.categories]   # optional: reference fields, component.field
//	    baseURL: http://127.0.0.1:9000  # optional: replaces the region's https://api*.storyblok.com
//	    timeout: 30s                 # and the other mesh/fetch options: retries, concurrency,
//	    requestsPerSecond: 50        # requestsPerSecond (default 50, see Rate limits), ...
//
// relations uses the component.field syntax of Storyblok's resolve_relations: the fields that hold
// story UUIDs (references, single- and multi-option fields whose source is stories).
//
// # Authentication
//
// The token travels in the query (token=...), as the API requires; it is redacted from every URL
// in errors and logs. A public token reads published content; version draft needs a preview token.
// The region must be the space's: another region answers 404 (not 401) to every request, and the
// error then says to check region.
//
// # Rate limits
//
// Storyblok limits uncached requests per space: 50 per second for listings of up to 25 stories,
// down to 6 per second for listings of 100. The adapter therefore reads 25 stories a page and,
// unless requestsPerSecond is set, sends at most 50 requests a second; a 429 (sent without
// Retry-After) makes mesh/fetch back off exponentially and halve the concurrency. Requests carry
// the space's cache version (cv), so a rebuild is mostly served by the CDN, whose limit is
// 1000 per second: set requestsPerSecond higher for spaces that are usually cached.
//
// # Mapping
//
// A fetch first reads GET /v2/cdn/spaces/me for the space's cache version and sends it as cv with
// every other request: the API would otherwise redirect each request to the latest cv, and one cv
// for the whole crawl gives consistent pages. Stories are then read with GET /v2/cdn/stories
// (sort_by=id:asc, per_page=25): the first page's total header gives the number of pages, and the
// others are fetched at once. Each language is read the same way, concurrently.
//
// A story is one node: ID mesh.NodeID(source, "story", uuid) (UUIDs are what references hold), or
// mesh.LocalizedNodeID(source, "story", uuid, language) for a language of languages (with Locale
// set); type its content.component in PascalCase ("blog_post" -> "BlogPost"); UpdatedAt its
// published_at (updated_at with version draft). Its fields are the story object as the API sends
// it (name, slug, full_slug, tag_list, translated_slugs, content, ...), with times in RFC 3339 UTC.
// With version published, updated_at is left out: it moves with draft saves that the published
// content does not show. Rich text fields stay JSON.
//
// References become {"$ref": id}, in the same language as the story that holds them:
//
//   - a relations field: its story UUID, or each UUID of its array (a field that the API resolved
//     into a story object gets the same treatment);
//   - a link (multilink) field to a story, {"linktype": "story", "id": "<uuid>", ...}: its id
//     becomes the $ref, and cached_url, anchor and the rest stay;
//   - a rich text link to a story ({"linktype": "story", "uuid": "<uuid>"} in a link mark's
//     attrs): its uuid becomes the $ref;
//   - an asset field {"fieldtype": "asset", "id": 6201216, "filename": "https://a.storyblok.com/...",
//     "alt": ...}: its id becomes a $ref to the Asset node mesh.NodeID(source, "asset", id), and
//     filename, alt, title, focus and copyright stay beside it (they belong to this use of the
//     asset). An empty asset field (filename "") stays as it is. Multi-asset fields are arrays of
//     those.
//
// Asset nodes hold what does not depend on where an asset is used: url, fileName, mimeType (by
// the file's extension), and width and height (from the /<width>x<height>/ part of Storyblok's
// asset URLs). The CDN API has no asset listing: assets are the ones stories use. Blocks keep
// their _uid and component. Storyblok has no schema on this API, so a field holding a story UUID
// that relations does not name stays a string.
//
// # Incremental sync
//
// The cursor keeps the space's cache version, the highest publication time seen, and for each
// story a short hash of what locates and dates it (publication time, full slug, folder, position,
// name) and the assets it uses. With version published an unchanged cache version ends the fetch
// after one request: nothing was published. Otherwise the fetch runs, concurrently, the stories
// published (version draft: updated) since the cursor's time, with published_at_gt (updated_at_gt),
// in every language (a space that rejects the filter gets a warning in the log, and the sweep alone
// finds the changes), and a sweep of GET /v2/cdn/links (1000 a page, with include_dates): the list
// of every story with its dates, slug and position. It returns a delta: the changed stories, then
// the stories that the sweep shows new or changed but the first query did not return (clock
// precision, moves, renames) fetched with by_uuids, a delete for every story of the cursor that
// the sweep no longer lists (deleted or unpublished), and a delete for every asset that no story
// uses any more. A cursor made by another configuration is ignored (a full fetch).
package storyblok

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
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tidwall/gjson"
	"golang.org/x/sync/errgroup"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
)

// Kind is the adapter's name, the config's `type: storyblok`.
const Kind = "storyblok"

// Versions accepted in Config.Version.
const (
	VersionPublished = "published"
	VersionDraft     = "draft"
)

const (
	// DefaultPageSize is how many stories a page holds: 25 keeps listings in Storyblok's fastest
	// rate class (50 uncached requests a second).
	DefaultPageSize = 25
	// DefaultRequestsPerSecond is Storyblok's limit for uncached listings of up to 25 stories.
	DefaultRequestsPerSecond = 50
	// maxPageSize is the API's largest per_page for stories.
	maxPageSize = 100
	// linksPageSize is the per_page of the links sweep (the API's largest).
	linksPageSize = 1000
	// uuidBatch is how many UUIDs one by_uuids request asks for.
	uuidBatch = 50
)

// regions maps Config.Region to the API origin.
var regions = map[string]string{
	"eu": "https://api.storyblok.com",
	"us": "https://api-us.storyblok.com",
	"ca": "https://api-ca.storyblok.com",
	"ap": "https://api-ap.storyblok.com",
	"cn": "https://app.storyblokchina.cn",
}

// Config configures a Storyblok source. Its yaml keys are part of the configuration contract.
type Config struct {
	// Token is a public access token (published content) or a preview token (drafts too). Required.
	// It is a secret: String and LogValue redact it.
	Token string `yaml:"token"`
	// Region is the space's region: eu (default), us, ca, ap or cn.
	Region string `yaml:"region,omitempty"`
	// Version is "published" (default) or "draft".
	Version string `yaml:"version,omitempty"`
	// Languages lists the space's languages to read besides the default one (e.g. de, pt-br).
	Languages []string `yaml:"languages,omitempty"`
	// Relations lists the fields that hold story UUIDs, as component.field (the syntax of
	// resolve_relations).
	Relations []string `yaml:"relations,omitempty"`
	// BaseURL replaces the region's API origin (https://api.storyblok.com): a test server or a proxy.
	// The paths (/v2/cdn/...) are appended as Storyblok documents them.
	BaseURL string `yaml:"baseURL,omitempty"`

	// Options are the mesh/fetch knobs: timeout, retries, concurrency, requestsPerSecond, ...
	fetch.Options `yaml:",inline"`
}

// String describes the configuration without its token.
func (c Config) String() string {
	tok := ""
	if c.Token != "" {
		tok = " token=" + fetch.Redacted
	}
	return fmt.Sprintf("storyblok region=%s version=%s languages=%v%s", c.Region, c.Version, c.Languages, tok)
}

// GoString is String, so that %#v does not print the token either.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the token.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Source reads one Storyblok space. It is safe for concurrent use.
type Source struct {
	cfg         Config
	client      *fetch.Client
	relations   map[string]map[string]bool // component -> field -> true
	fingerprint string
}

var (
	_ mesh.Source  = (*Source)(nil)
	_ mesh.Checker = (*Source)(nil)
)

var (
	languageRE = regexp.MustCompile(`^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$`)
	relationRE = regexp.MustCompile(`^[^.\s]+\.[^.\s]+$`)
)

// New validates cfg and returns a Source. It does no I/O. Errors wrap mesh.ErrInvalidConfig and name
// the key.
func New(cfg Config) (*Source, error) {
	bad := func(key, format string, args ...any) error {
		return &mesh.ConfigError{Where: fmt.Sprintf("storyblok: key %q", key), Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case cfg.Token == "":
		return nil, bad("token", "required: a public or preview access token from the space's settings")
	case strings.ContainsAny(cfg.Token, "\r\n &#"):
		return nil, bad("token", "has spaces or URL delimiters: paste the token alone")
	}
	if cfg.Region == "" {
		cfg.Region = "eu"
	}
	base, ok := regions[strings.ToLower(cfg.Region)]
	if !ok {
		return nil, bad("region", "%q: want eu, us, ca, ap or cn (the space's region, in its settings)", cfg.Region)
	}
	cfg.Region = strings.ToLower(cfg.Region)
	switch cfg.Version {
	case "":
		cfg.Version = VersionPublished
	case VersionPublished, VersionDraft:
	default:
		return nil, bad("version", "%q: want published or draft", cfg.Version)
	}
	seen := map[string]bool{}
	for _, l := range cfg.Languages {
		if !languageRE.MatchString(l) {
			return nil, bad("languages", "%q is not a language code such as de or pt-br", l)
		}
		if l == "default" || seen[strings.ToLower(l)] {
			return nil, bad("languages", "%q is listed twice (the default language is always read)", l)
		}
		seen[strings.ToLower(l)] = true
	}
	relations := map[string]map[string]bool{}
	for _, r := range cfg.Relations {
		if !relationRE.MatchString(r) {
			return nil, bad("relations", "%q: want component.field, e.g. post.author", r)
		}
		comp, field, _ := strings.Cut(r, ".")
		if relations[comp] == nil {
			relations[comp] = map[string]bool{}
		}
		relations[comp][field] = true
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, bad("baseURL", "want an http or https URL such as http://127.0.0.1:9000")
		}
		base = strings.TrimSuffix(cfg.BaseURL, "/")
	}
	opts := cfg.Options
	if opts.RequestsPerSecond == 0 {
		opts.RequestsPerSecond = DefaultRequestsPerSecond
	}
	token := cfg.Token
	client, err := fetch.New(fetch.Config{
		BaseURL: base,
		Auth: func(r *http.Request) error {
			q := r.URL.Query()
			q.Set("token", token)
			r.URL.RawQuery = q.Encode()
			return nil
		},
		SecretParams: []string{"token"},
		ErrorMessage: errorMessage,
	}, opts)
	if err != nil {
		return nil, fmt.Errorf("storyblok: %w", err)
	}
	fp := fmt.Appendf(nil, "v1\x00%q\x00%q\x00%q\x00%q", base, cfg.Version, cfg.Languages, slices.Sorted(slices.Values(cfg.Relations)))
	h := sha256.Sum256(fp)
	return &Source{cfg: cfg, client: client, relations: relations, fingerprint: hex.EncodeToString(h[:8])}, nil
}

// Kind implements mesh.Source.
func (s *Source) Kind() string { return Kind }

// String describes the source without its token.
func (s *Source) String() string { return s.cfg.String() }

// Check implements mesh.Checker: it reads the space (GET /v2/cdn/spaces/me), which fails with
// mesh.ErrUnauthorized for a wrong token and mesh.ErrNotFound for a wrong region.
func (s *Source) Check(ctx context.Context) error {
	defer s.client.CloseIdleConnections()
	_, err := s.spaceVersion(ctx)
	return err
}

// spaceVersion reads the space's cache version.
func (s *Source) spaceVersion(ctx context.Context) (string, error) {
	r, err := s.client.DoJSON(ctx, &fetch.Request{URL: spacePath})
	if err != nil {
		return "", s.explain(err)
	}
	if v := r.Get(spaceVersionPath); v.Type == gjson.Number {
		return v.Raw, nil
	}
	return "", fmt.Errorf("storyblok: %s: %w: no number at %s", r.URL, mesh.ErrBadResponse, spaceVersionPath)
}

// run is the state of one Fetch.
type run struct {
	s        *Source
	out      mesh.Emitter
	dec      decoder
	log      *slog.Logger
	cv       string
	pageSize int

	mu      sync.Mutex
	emitErr error
	stories map[string]*entry // uuid -> what was emitted (default language: stamp; every language: assets)
	assets  map[string]asset  // asset native ID -> the node to emit
	latest  string            // the highest stamp time of what was emitted
}

// Fetch implements mesh.Source: a full fetch without a cursor, a delta with one (see the package
// documentation).
func (s *Source) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	defer s.client.CloseIdleConnections()
	log := req.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	prev := s.readCursor(req, log)
	cv, err := s.spaceVersion(ctx)
	if err != nil {
		return mesh.FetchResult{}, s.ctxErr(ctx, err)
	}
	if prev != nil && s.cfg.Version == VersionPublished && prev.CV == cv {
		// Nothing was published since the last fetch: an empty delta, the same cursor.
		return mesh.FetchResult{Delta: true, Cursor: req.Cursor}, nil
	}
	r := &run{
		s:        s,
		out:      out,
		dec:      decoder{source: req.Source, relations: s.relations, draft: s.cfg.Version == VersionDraft},
		log:      log,
		cv:       cv,
		pageSize: DefaultPageSize,
		stories:  map[string]*entry{},
		assets:   map[string]asset{},
	}
	if req.PageSize > 0 {
		r.pageSize = min(req.PageSize, maxPageSize)
	}
	var next *cursor
	if prev == nil {
		err = r.full(ctx)
		if err == nil {
			next = r.newCursor(nil, nil, nil)
		}
	} else {
		next, err = r.incremental(ctx, prev)
	}
	if err == nil {
		err = r.emitAssets()
	}
	if r.emitErr != nil {
		return mesh.FetchResult{}, r.emitErr // unchanged, as the Source contract asks
	}
	if err != nil {
		return mesh.FetchResult{}, s.ctxErr(ctx, s.explain(err))
	}
	next.Source, next.Fingerprint, next.CV = req.Source, s.fingerprint, cv
	cur, err := json.Marshal(next)
	if err != nil {
		return mesh.FetchResult{}, fmt.Errorf("storyblok: encode cursor: %w", err)
	}
	return mesh.FetchResult{Delta: prev != nil, Cursor: cur}, nil
}

// ctxErr returns the context's error when it is what stopped the fetch.
func (s *Source) ctxErr(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return ctxErr
	}
	return err
}

// languages lists the languages to read: "" (the default) first.
func (s *Source) languages() []string {
	return append([]string{""}, s.cfg.Languages...)
}

// full reads every story in every language.
func (r *run) full(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, lang := range r.s.languages() {
		g.Go(func() error { return r.listStories(gctx, lang, nil) })
	}
	return g.Wait()
}

// listStories reads the story listing of one language, with extra parameters (a date filter or
// by_uuids), fanning out the pages after the first, and emits every story.
func (r *run) listStories(ctx context.Context, lang string, extra url.Values) error {
	return r.s.client.Offset(ctx, fetch.OffsetPages{
		Page: func(i int) *fetch.Request {
			q := r.listQuery(lang, r.pageSize, i+1)
			for k, v := range extra {
				q[k] = v
			}
			return &fetch.Request{URL: storiesPath, Query: q}
		},
		PageSize: r.pageSize,
		Total:    headerTotal,
	}, func(_ int, resp *fetch.Response) error {
		stories, err := r.dec.decodePage(resp.Body, resp.URL, lang)
		if err != nil {
			return err
		}
		return r.emit(lang, stories)
	})
}

// listQuery is the query of a stories page: version, cv, a stable order, the page, the language.
func (r *run) listQuery(lang string, perPage, page int) url.Values {
	q := url.Values{
		"version":  {r.s.cfg.Version},
		"cv":       {r.cv},
		"sort_by":  {"id:asc"},
		"per_page": {strconv.Itoa(perPage)},
		"page":     {strconv.Itoa(page)},
	}
	if lang != "" {
		q.Set("language", lang)
	}
	return q
}

// emit upserts the nodes of decoded stories, records them for the cursor, and keeps their assets
// to emit at the end (once each).
func (r *run) emit(lang string, stories []story) error {
	for _, st := range stories {
		if err := r.out.Upsert(st.node); err != nil {
			r.mu.Lock()
			if r.emitErr == nil {
				r.emitErr = err
			}
			r.mu.Unlock()
			return err
		}
		r.mu.Lock()
		e := r.stories[st.uuid]
		if e == nil {
			e = &entry{}
			r.stories[st.uuid] = e
		}
		if lang == "" {
			e.Stamp = st.stamp
			if st.time > r.latest {
				r.latest = st.time
			}
		}
		for _, a := range st.assets {
			if !slices.Contains(e.Assets, a.id) {
				e.Assets = append(e.Assets, a.id)
			}
			if old, ok := r.assets[a.id]; !ok || a.url < old.url {
				r.assets[a.id] = a // the same asset seen twice: keep one, whatever the order
			}
		}
		r.mu.Unlock()
	}
	return nil
}

// emitAssets upserts the assets the emitted stories use, in ID order.
func (r *run) emitAssets() error {
	ids := make([]string, 0, len(r.assets))
	for id := range r.assets {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := r.out.Upsert(r.assets[id].node(r.dec.source)); err != nil {
			r.emitErr = err
			return err
		}
	}
	return nil
}

// incremental reads what changed since prev (see the package documentation) and returns the next
// cursor.
func (r *run) incremental(ctx context.Context, prev *cursor) (*cursor, error) {
	var swept map[string]string // uuid -> stamp
	g, gctx := errgroup.WithContext(ctx)
	if since := sinceParam(prev.Since); since != "" {
		for _, lang := range r.s.languages() {
			g.Go(func() error {
				err := r.listStories(gctx, lang, url.Values{r.dec.sinceKey(): {since}})
				if rejected(err) {
					// The sweep finds every change too (and by_uuids reads it): a space that does
					// not take the date filter costs requests, not correctness.
					r.log.Warn("storyblok: the "+r.dec.sinceKey()+" filter was rejected; finding changes with the sweep alone", "err", err)
					return nil
				}
				return err
			})
		}
	}
	g.Go(func() error {
		var err error
		swept, err = r.sweep(gctx)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Stories the sweep shows new or changed that the date query did not return.
	var missed []string
	for uuid, stamp := range swept {
		if e, ok := r.stories[uuid]; ok && e.Stamp != "" {
			continue
		}
		if old, ok := prev.Stories[uuid]; !ok || old.Stamp != stamp {
			missed = append(missed, uuid)
		}
	}
	slices.Sort(missed)
	gone, err := r.byUUIDs(ctx, missed)
	if err != nil {
		return nil, err
	}
	var deletes []string
	for uuid := range prev.Stories {
		if _, ok := swept[uuid]; ok && !gone[uuid] {
			continue
		}
		if e, ok := r.stories[uuid]; ok && e.Stamp != "" {
			continue // returned by the date query after the sweep ran: it exists
		}
		deletes = append(deletes, uuid)
	}
	slices.Sort(deletes)
	for _, uuid := range deletes {
		for _, lang := range r.s.languages() {
			if err := r.out.Delete(r.dec.storyID(uuid, lang)); err != nil {
				r.emitErr = err
				return nil, err
			}
		}
	}
	next := r.newCursor(prev, swept, gone)
	// Assets no story uses any more.
	used := map[string]bool{}
	for _, e := range next.Stories {
		for _, a := range e.Assets {
			used[a] = true
		}
	}
	var unused []string
	for _, e := range prev.Stories {
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
// missing space, a rate limit or an outage.
func rejected(err error) bool {
	var se *fetch.StatusError
	return errors.As(err, &se) && (se.StatusCode == http.StatusBadRequest || se.StatusCode == http.StatusUnprocessableEntity)
}

// byUUIDs fetches stories by UUID in every language, uuidBatch at a time, and emits them. It
// returns the UUIDs the default language no longer returns (deleted or unpublished since the sweep).
func (r *run) byUUIDs(ctx context.Context, uuids []string) (map[string]bool, error) {
	gone := map[string]bool{}
	for len(uuids) > 0 {
		batch := uuids[:min(uuidBatch, len(uuids))]
		uuids = uuids[len(batch):]
		extra := url.Values{"by_uuids": {strings.Join(batch, ",")}}
		g, gctx := errgroup.WithContext(ctx)
		for _, lang := range r.s.languages() {
			g.Go(func() error { return r.listStories(gctx, lang, extra) })
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		for _, uuid := range batch {
			if e, ok := r.stories[uuid]; !ok || e.Stamp == "" {
				gone[uuid] = true
			}
		}
	}
	return gone, nil
}

// sweep lists every story (not folders; with version published, only published stories) with its
// stamp, from the links endpoint.
func (r *run) sweep(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	var mu sync.Mutex
	err := r.s.client.Offset(ctx, fetch.OffsetPages{
		Page: func(i int) *fetch.Request {
			return &fetch.Request{URL: linksPath, Query: url.Values{
				"version":       {r.s.cfg.Version},
				"cv":            {r.cv},
				"paginated":     {"1"},
				"include_dates": {"1"},
				"per_page":      {strconv.Itoa(linksPageSize)},
				"page":          {strconv.Itoa(i + 1)},
			}}
		},
		PageSize: linksPageSize,
		Total:    headerTotal,
	}, func(_ int, resp *fetch.Response) error {
		links, err := r.dec.decodeLinks(resp.Body, resp.URL)
		if err != nil {
			return err
		}
		mu.Lock()
		for _, l := range links {
			out[l.uuid] = l.stamp
		}
		mu.Unlock()
		return nil
	})
	return out, err
}

// newCursor is the state after this fetch: what was emitted, plus the stories of prev that the
// sweep still lists unchanged.
func (r *run) newCursor(prev *cursor, swept map[string]string, gone map[string]bool) *cursor {
	c := &cursor{V: cursorVersion, Stories: map[string]*entry{}}
	if prev != nil {
		for uuid, e := range prev.Stories {
			if st, ok := swept[uuid]; ok && st == e.Stamp && !gone[uuid] {
				c.Stories[uuid] = e
			}
		}
		c.Since = prev.Since
	}
	for uuid, e := range r.stories {
		if e.Stamp == "" {
			continue // seen in another language only: the default language did not return it
		}
		slices.Sort(e.Assets)
		c.Stories[uuid] = e
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
		log.Warn("storyblok: unreadable cursor, fetching everything", "err", err)
		return nil
	}
	if c.Fingerprint != s.fingerprint || c.Source != req.Source {
		log.Info("storyblok: configuration changed since the last fetch, fetching everything")
		return nil
	}
	if c.Stories == nil {
		c.Stories = map[string]*entry{}
	}
	return &c
}

// explain wraps an error with what to fix, by the sentinel it carries.
func (s *Source) explain(err error) error {
	var se *fetch.StatusError
	hint := ""
	switch {
	case errors.Is(err, mesh.ErrUnauthorized):
		hint = "the token was rejected: check the token key (an access token of the space)"
		if s.cfg.Version == VersionDraft {
			hint += "; version draft needs a preview token, not a public one"
		}
	case errors.Is(err, mesh.ErrNotFound):
		hint = fmt.Sprintf("check region %q: a space answers only in its own region (eu, us, ca, ap, cn), and 404 otherwise", s.cfg.Region)
	case errors.As(err, &se) && se.StatusCode == http.StatusUnprocessableEntity:
		hint = "the API rejected a parameter: check languages " + fmt.Sprint(s.cfg.Languages) + " and version " + s.cfg.Version
	}
	if hint == "" {
		return fmt.Errorf("storyblok: %w", err)
	}
	return fmt.Errorf("storyblok: %w: %s", err, hint)
}
