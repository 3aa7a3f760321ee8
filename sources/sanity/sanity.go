// Package sanity is a mesh.Source for the Sanity Content Lake, read through its HTTP Query API
// (GROQ). Every document the filter selects becomes a node of its type, image and file asset
// documents become Asset nodes, and every reference becomes a {"$ref": id}, so backrefs work
// without a link rule.
//
// # Configuration
//
//	sources:
//	  - name: cms
//	    type: sanity
//	    projectId: abcd1234          # required
//	    dataset: production          # required
//	    token: ${SANITY_TOKEN}       # optional for a public dataset; required for drafts
//	    apiVersion: v2025-02-19      # optional: the API version date (this is the default)
//	    query: _type in ["post", "author"]   # optional GROQ filter (default: all but system.* and sanity.* documents)
//	    useCdn: true                 # optional: read from <projectId>.apicdn.sanity.io
//	    perspective: published       # optional: published (default) or drafts (needs a token)
//	    locales: [en, de]            # optional: field-level translations, see Mapping
//	    baseURL: http://127.0.0.1:9000  # optional: replaces https://<projectId>.api.sanity.io
//	    timeout: 30s                 # and the other mesh/fetch options: retries, concurrency,
//	    requestsPerSecond: 10        # requestsPerSecond, maxRetryAfter, maxBodyBytes, ...
//
// query is a GROQ filter: the expression inside *[...]. Image and file asset documents
// (sanity.imageAsset, sanity.fileAsset) are always added to what it selects, so that image and file
// fields resolve. The API version is a fixed date rather than "today" because Sanity changes
// behavior by version; "v1" and "vX" are accepted too. perspective is sent explicitly on every
// request, so that no API version ever mixes drafts into a published build.
//
// # Authentication
//
// The token, when set, is sent as "Authorization: Bearer <token>"; it never appears in a URL, a log
// or an error. A public dataset needs none. The drafts perspective (preview builds) needs a token
// that can read drafts, and is not served by the API CDN: useCdn with drafts is a configuration
// error. For API versions before v2025-02-19 the perspective is sent under its old name,
// previewDrafts.
//
// # Rate limits
//
// Sanity limits uncached API calls per IP (hundreds per second) and answers 429 with Retry-After
// and RateLimit-Reset headers, which mesh/fetch honors (up to maxRetryAfter) while halving the
// source's concurrency. The API CDN's cached answers are not limited. Queries run as GET requests
// while their URL stays under 10,000 bytes (the API takes 11 KB), and as read-only POSTs beyond.
//
// # Mapping
//
// Pages are read with keyset pagination, the way Sanity recommends:
//
//	*[(<filter>) && _id > $lastId] | order(_id) [0...N]
//
// each page starting after the last _id of the one before, so no document is skipped or repeated
// while editors work. N is 500, or FetchRequest.PageSize when positive.
//
// Each document is one node: ID mesh.NodeID(source, "document", _id) (document IDs are unique in a
// dataset, assets included, and a reference holds only the _id), type its _type in PascalCase
// ("blogPost" -> "BlogPost"), UpdatedAt its _updatedAt. Its fields are the document's own, with
// _id, _rev, _updatedAt and _originalId left out (they are the node's ID, its change time, and
// revision bookkeeping) and _createdAt in RFC 3339 UTC. Values are kept as the API sends them:
// Portable Text stays JSON (arrays of blocks and spans), slugs stay {"_type": "slug", "current": ...}.
//
// Every reference object {"_type": "reference", "_ref": "<id>"} is replaced by {"$ref": "<node id>"},
// wherever it is: a field, an array member, a Portable Text mark definition, an image's asset. An
// image field {"_type": "image", "asset": {"_ref": "image-..."}, "alt": ...} therefore keeps its
// alt, hotspot and crop, and its asset points to the Asset node. Cross-dataset and global document
// references (with _dataset or _projectId) point outside the source and are kept as they are. In
// the drafts perspective a "drafts." prefix is dropped from IDs and references, so a preview graph
// has the same IDs as the published one.
//
// sanity.imageAsset and sanity.fileAsset documents are Asset nodes: their own fields, plus url,
// mimeType, size, width and height (from metadata.dimensions), title, alt (altText) and fileName
// (originalFilename) where Sanity has them.
//
// Locales: Sanity has no locale parameter; translations are a modeling convention. A
// document-level translation (one document per language, with a language field) needs nothing:
// each translation is its own node. For field-level translations, list the language keys in
// locales: every document except assets then becomes one node per locale, ID
// mesh.LocalizedNodeID(source, "document", _id, locale), in which each translated value is replaced
// by the locale's value (null when it has none):
//
//	{"_type": "localeString", "en": "Hello", "de": "Hallo"}      an object whose other keys are all locales
//	[{"_key": "en", "value": "Hello"}, {"_key": "de", ...}]       an internationalized array
//
// and every reference to a document that is not an asset points to the target's node in the same
// locale. A key such as en_US becomes the locale en-US.
//
// # Incremental sync
//
// The cursor keeps the highest _updatedAt seen and the _updatedAt of every document (a compact map
// of IDs). The next fetch runs, concurrently,
//
//	*[(<filter>) && _updatedAt > $since && _id > $lastId] | order(_id) [0...N]    the changes
//	*[(<filter>) && _id > $lastId] | order(_id) [0...10N] {_id, _updatedAt}       a sweep of IDs
//
// and returns a delta: the changed documents as upserts, and a delete for every document of the
// cursor that the sweep no longer lists (deleted, unpublished, or no longer matching the filter).
// A document that the sweep shows new or changed but the change query did not return (a clock
// tie within _updatedAt's precision, a late commit) is then fetched by ID, so the delta always
// equals what a full fetch would give. An unchanged dataset costs one small change query and the
// sweep's pages. A cursor made by another configuration is ignored (a full fetch).
package sanity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
)

// Kind is the adapter's name, the config's `type: sanity`.
const Kind = "sanity"

const (
	// DefaultAPIVersion is the API version date used when Config.APIVersion is empty. From this
	// version on the default perspective is "published" and the drafts perspective is called
	// "drafts".
	DefaultAPIVersion = "v2025-02-19"
	// DefaultPageSize is how many documents one query page holds.
	DefaultPageSize = 500
	// maxSweepPage bounds a page of the ID sweep ({_id, _updatedAt} only).
	maxSweepPage = 10_000
	// idBatch is how many IDs one by-ID query asks for.
	idBatch = 100
)

// Perspectives accepted in Config.Perspective.
const (
	PerspectivePublished = "published"
	PerspectiveDrafts    = "drafts"
)

// Config configures a Sanity source. Its yaml keys are part of the configuration contract.
type Config struct {
	// ProjectID is the Sanity project ID (lowercase letters and digits, e.g. "abcd1234"). Required.
	ProjectID string `yaml:"projectId"`
	// Dataset is the dataset name, e.g. "production". Required.
	Dataset string `yaml:"dataset"`
	// Token is an API token, sent as a Bearer header. Optional for a public dataset; required for
	// the drafts perspective. It is a secret: String and LogValue redact it.
	Token string `yaml:"token,omitempty"`
	// APIVersion is the API version date, "v2025-02-19" or "2025-02-19"; empty means
	// DefaultAPIVersion.
	APIVersion string `yaml:"apiVersion,omitempty"`
	// Query is a GROQ filter (the expression inside *[...]); empty selects every document except
	// system documents. Asset documents are always added.
	Query string `yaml:"query,omitempty"`
	// UseCDN reads from the API CDN (<projectId>.apicdn.sanity.io), whose cached answers are not
	// rate limited. Not with the drafts perspective.
	UseCDN bool `yaml:"useCdn,omitempty"`
	// Perspective is "published" (default) or "drafts" (drafts overlaid on published documents;
	// needs a token).
	Perspective string `yaml:"perspective,omitempty"`
	// Locales lists the keys of field-level translations; each document then becomes one node per
	// locale (see the package documentation).
	Locales []string `yaml:"locales,omitempty"`
	// BaseURL replaces the API origin https://<projectId>.api.sanity.io (or .apicdn.sanity.io): a
	// test server or a proxy. The paths are appended as Sanity documents them.
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
	return fmt.Sprintf("sanity project=%s dataset=%s apiVersion=%s perspective=%s useCdn=%t%s",
		c.ProjectID, c.Dataset, c.APIVersion, c.Perspective, c.UseCDN, tok)
}

// GoString is String, so that %#v does not print the token either.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the token.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Source reads one Sanity dataset. It is safe for concurrent use.
type Source struct {
	cfg         Config
	client      *fetch.Client
	path        string // /<apiVersion>/data/query/<dataset>
	filter      string // the whole GROQ filter: the user's, or the default, or-ed with the assets
	perspective string // the value sent
	locales     []locale
	fingerprint string
}

// locale is one field-level translation key and the BCP 47 tag it gives a node.
type locale struct {
	key, tag string
}

var (
	_ mesh.Source  = (*Source)(nil)
	_ mesh.Checker = (*Source)(nil)
)

var (
	projectRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	datasetRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	apiVersionRE = regexp.MustCompile(`^v?(\d{4}-\d{2}-\d{2}|1|X)$`)
	localeRE     = regexp.MustCompile(`^[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8})*$`)
)

// New validates cfg and returns a Source. It does no I/O. Errors wrap mesh.ErrInvalidConfig and name
// the key.
func New(cfg Config) (*Source, error) {
	bad := func(key, format string, args ...any) error {
		return &mesh.ConfigError{Where: fmt.Sprintf("sanity: key %q", key), Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case cfg.ProjectID == "":
		return nil, bad("projectId", "required: the project ID from sanity.io/manage (e.g. abcd1234)")
	case !projectRE.MatchString(cfg.ProjectID):
		return nil, bad("projectId", "%q: want lowercase letters, digits and dashes", cfg.ProjectID)
	case cfg.Dataset == "":
		return nil, bad("dataset", "required: the dataset name (e.g. production)")
	case !datasetRE.MatchString(cfg.Dataset):
		return nil, bad("dataset", "%q: want lowercase letters, digits, '_' and '-', at most 64", cfg.Dataset)
	case strings.ContainsAny(cfg.Token, "\r\n"):
		return nil, bad("token", "has a line break")
	}
	version := cfg.APIVersion
	if version == "" {
		version = DefaultAPIVersion
	}
	m := apiVersionRE.FindStringSubmatch(version)
	if m == nil {
		return nil, bad("apiVersion", "%q: want a date such as v2025-02-19 (or v1, vX)", version)
	}
	if len(m[1]) == 10 {
		if _, err := time.Parse(time.DateOnly, m[1]); err != nil {
			return nil, bad("apiVersion", "%q: not a date", version)
		}
	}
	version = "v" + m[1]
	cfg.APIVersion = version

	switch cfg.Perspective {
	case "":
		cfg.Perspective = PerspectivePublished
	case PerspectivePublished, PerspectiveDrafts:
	case "previewDrafts":
		cfg.Perspective = PerspectiveDrafts
	default:
		return nil, bad("perspective", "%q: want published or drafts", cfg.Perspective)
	}
	perspective := cfg.Perspective
	if perspective == PerspectiveDrafts {
		if cfg.Token == "" {
			return nil, bad("token", "required with perspective drafts: drafts are private (use a token that can read them)")
		}
		if cfg.UseCDN {
			return nil, bad("useCdn", "the API CDN does not serve the drafts perspective: set useCdn to false for preview builds")
		}
		if version < DefaultAPIVersion && version != "vX" {
			perspective = "previewDrafts" // the name before v2025-02-19
		}
	}
	userFilter := strings.TrimSpace(cfg.Query)
	if cfg.Query != "" && userFilter == "" {
		return nil, bad("query", "is blank: leave it out to read every document, or write a GROQ filter such as _type == \"post\"")
	}
	if userFilter == "" {
		userFilter = defaultFilter
	}
	if strings.Count(userFilter, "[") != strings.Count(userFilter, "]") ||
		strings.Count(userFilter, "(") != strings.Count(userFilter, ")") {
		return nil, bad("query", "%q: unbalanced brackets; write only the filter inside *[...]", userFilter)
	}
	var locales []locale
	seen := map[string]bool{}
	for _, l := range cfg.Locales {
		if !localeRE.MatchString(l) {
			return nil, bad("locales", "%q is not a language key such as en, de or en_US", l)
		}
		if seen[l] {
			return nil, bad("locales", "%q is listed twice", l)
		}
		seen[l] = true
		locales = append(locales, locale{key: l, tag: strings.ReplaceAll(l, "_", "-")})
	}

	base := cfg.BaseURL
	if base == "" {
		host := ".api.sanity.io"
		if cfg.UseCDN {
			host = ".apicdn.sanity.io"
		}
		base = "https://" + cfg.ProjectID + host
	} else {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, bad("baseURL", "want an http or https URL such as http://127.0.0.1:9000")
		}
		base = strings.TrimSuffix(base, "/")
	}
	token := cfg.Token
	fc := fetch.Config{BaseURL: base, ErrorMessage: errorMessage}
	if token != "" {
		fc.Auth = func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+token)
			return nil
		}
	}
	client, err := fetch.New(fc, cfg.Options)
	if err != nil {
		return nil, fmt.Errorf("sanity: %w", err)
	}
	s := &Source{
		cfg:         cfg,
		client:      client,
		path:        "/" + version + "/data/query/" + cfg.Dataset,
		filter:      "(" + userFilter + ") || " + assetFilter,
		perspective: perspective,
		locales:     locales,
	}
	fp := fmt.Appendf(nil, "v1\x00%q\x00%q\x00%q\x00%q\x00%q\x00%q\x00%t", cfg.ProjectID, cfg.Dataset, version,
		s.filter, perspective, base, cfg.UseCDN)
	for _, l := range locales {
		fp = fmt.Appendf(fp, "\x00%q", l.key)
	}
	h := sha256.Sum256(fp)
	s.fingerprint = hex.EncodeToString(h[:8])
	return s, nil
}

// Kind implements mesh.Source.
func (s *Source) Kind() string { return Kind }

// String describes the source without its token.
func (s *Source) String() string { return s.cfg.String() }

// Check implements mesh.Checker: it runs a one-document query, which fails with
// mesh.ErrUnauthorized for a rejected token and mesh.ErrNotFound for a wrong project or dataset.
func (s *Source) Check(ctx context.Context) error {
	defer s.client.CloseIdleConnections()
	r, err := s.client.DoJSON(ctx, s.request(sweepQuery(s.filter, 1), map[string]any{"lastId": ""}))
	if err != nil {
		return s.explain(err)
	}
	if res := r.Get(resultPath); !res.IsArray() {
		return fmt.Errorf("sanity: %s: %w: %q is not an array", r.URL, mesh.ErrBadResponse, resultPath)
	}
	return nil
}

// run is the state of one Fetch.
type run struct {
	s        *Source
	dec      decoder
	out      mesh.Emitter
	pageSize int

	mu      sync.Mutex
	emitErr error
	emitted map[string]string // native ID -> _updatedAt of what was upserted
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
		dec:      decoder{source: req.Source, locales: s.locales, drafts: s.cfg.Perspective == PerspectiveDrafts},
		out:      out,
		pageSize: DefaultPageSize,
		emitted:  map[string]string{},
	}
	if req.PageSize > 0 {
		r.pageSize = req.PageSize
	}
	prev := s.readCursor(req, log)
	var next *cursor
	var err error
	if prev == nil {
		err = r.full(ctx)
		if err == nil {
			next = r.newCursor(nil, nil)
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
		return mesh.FetchResult{}, fmt.Errorf("sanity: encode cursor: %w", err)
	}
	return mesh.FetchResult{Delta: prev != nil, Cursor: cur}, nil
}

// full reads every document with keyset pages.
func (r *run) full(ctx context.Context) error {
	return r.walk(ctx, pageQuery(r.s.filter, "", r.pageSize), nil, r.pageSize)
}

// walk runs a keyset-paged document query and emits what it returns. params are added to $lastId.
func (r *run) walk(ctx context.Context, query string, params map[string]any, size int) error {
	return r.s.keyset(ctx, query, params, size, func(body []byte, pageURL string) error {
		docs, err := r.dec.decodePage(body, pageURL)
		if err != nil {
			return err
		}
		return r.emit(docs)
	})
}

// keyset runs query (which takes $lastId) page after page: each page starts after the last _id of
// the one before, until a page holds fewer than size results. each reads one page.
func (s *Source) keyset(ctx context.Context, query string, params map[string]any, size int,
	each func(body []byte, pageURL string) error) error {
	return s.client.Cursor(ctx, fetch.CursorPages{
		Request: func(c string) *fetch.Request {
			p := make(map[string]any, len(params)+1)
			maps.Copy(p, params)
			p["lastId"] = c
			return s.request(query, p)
		},
		Next: func(resp *fetch.Response) (string, error) {
			return nextLastID(resp.Body, resp.URL, size)
		},
	}, func(_ int, resp *fetch.Response) error {
		return each(resp.Body, resp.URL)
	})
}

// incremental runs the change query and the ID sweep at once, fetches by ID what the change query
// missed, deletes what the sweep no longer lists, and returns the next cursor.
func (r *run) incremental(ctx context.Context, prev *cursor) (*cursor, error) {
	var swept map[string]string // native ID -> _updatedAt
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		params := map[string]any{"since": prev.Since}
		if prev.Since == "" {
			params["since"] = "0000-01-01T00:00:00Z"
		}
		return r.walk(gctx, pageQuery(r.s.filter, changedClause, r.pageSize), params, r.pageSize)
	})
	g.Go(func() error {
		var err error
		swept, err = r.s.sweep(gctx, min(r.pageSize*10, maxSweepPage))
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// What the sweep shows new or changed, and the change query did not return: fetch it by ID.
	var missed []string
	r.mu.Lock()
	for id, at := range swept {
		if _, ok := r.emitted[id]; ok {
			continue
		}
		if old, ok := prev.Docs[id]; !ok || old != at {
			missed = append(missed, id)
		}
	}
	r.mu.Unlock()
	slices.Sort(missed)
	gone, err := r.byIDs(ctx, missed)
	if err != nil {
		return nil, err
	}
	// Deletes: documents of the cursor the sweep no longer lists (unless the change query just
	// returned them: created or restored between the two queries), and those the by-ID query lost.
	var deletes []string
	for id := range prev.Docs {
		if _, ok := swept[id]; ok && !gone[id] {
			continue
		}
		if _, ok := r.emitted[id]; ok {
			continue
		}
		deletes = append(deletes, id)
	}
	slices.Sort(deletes)
	for _, id := range deletes {
		for _, nid := range r.dec.nodeIDs(id) {
			if err := r.out.Delete(nid); err != nil {
				r.emitErr = err
				return nil, err
			}
		}
	}
	return r.newCursor(prev, swept), nil
}

// byIDs fetches documents by ID, idBatch at a time, and emits them. It returns the IDs that no
// longer come back (deleted, or out of the filter since the sweep).
func (r *run) byIDs(ctx context.Context, ids []string) (map[string]bool, error) {
	gone := map[string]bool{}
	for len(ids) > 0 {
		batch := ids[:min(idBatch, len(ids))]
		ids = ids[len(batch):]
		resp, err := r.s.client.DoJSON(ctx, r.s.request(idsQuery(r.s.filter), map[string]any{"ids": batch}))
		if err != nil {
			return nil, err
		}
		docs, err := r.dec.decodePage(resp.Body, resp.URL)
		if err != nil {
			return nil, err
		}
		if err := r.emit(docs); err != nil {
			return nil, err
		}
		got := map[string]bool{}
		for _, d := range docs {
			got[d.id] = true
		}
		for _, id := range batch {
			if !got[id] {
				gone[id] = true
			}
		}
	}
	return gone, nil
}

// sweep lists every document's ID and _updatedAt, keyed by native ID.
func (s *Source) sweep(ctx context.Context, size int) (map[string]string, error) {
	out := map[string]string{}
	drafts := s.cfg.Perspective == PerspectiveDrafts
	err := s.keyset(ctx, sweepQuery(s.filter, size), nil, size, func(body []byte, pageURL string) error {
		stamps, err := decodeStamps(body, pageURL, drafts)
		if err != nil {
			return err
		}
		for _, st := range stamps {
			out[st.id] = st.updatedAt
		}
		return nil
	})
	return out, err
}

// emit upserts the nodes of decoded documents and records what was emitted.
func (r *run) emit(docs []document) error {
	for _, d := range docs {
		for _, n := range d.nodes {
			if err := r.out.Upsert(n); err != nil {
				r.mu.Lock()
				if r.emitErr == nil {
					r.emitErr = err
				}
				r.mu.Unlock()
				return err
			}
		}
		r.mu.Lock()
		r.emitted[d.id] = d.updatedAt
		r.mu.Unlock()
	}
	return nil
}

// newCursor is the state after this fetch: what was emitted, plus the unchanged documents of the
// previous cursor that the sweep still lists.
func (r *run) newCursor(prev *cursor, swept map[string]string) *cursor {
	c := &cursor{V: cursorVersion, Docs: make(map[string]string, len(r.emitted))}
	if prev != nil {
		for id, at := range prev.Docs {
			if sw, ok := swept[id]; ok && sw == at {
				c.Docs[id] = at
			}
		}
		c.Since = prev.Since
	}
	maps.Copy(c.Docs, r.emitted)
	for _, at := range c.Docs {
		if at > c.Since {
			c.Since = at
		}
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
		log.Warn("sanity: unreadable cursor, fetching everything", "err", err)
		return nil
	}
	if c.Fingerprint != s.fingerprint || c.Source != req.Source {
		log.Info("sanity: configuration changed since the last fetch, fetching everything")
		return nil
	}
	if c.Docs == nil {
		c.Docs = map[string]string{}
	}
	return &c
}

// explain wraps an error with what to fix, by the sentinel it carries.
func (s *Source) explain(err error) error {
	var se *fetch.StatusError
	hint := ""
	switch {
	case errors.Is(err, mesh.ErrUnauthorized):
		hint = "the token was rejected: check the token key (an API token from sanity.io/manage, project " + s.cfg.ProjectID + ")"
	case errors.Is(err, mesh.ErrForbidden):
		hint = "the token may not read dataset " + s.cfg.Dataset + ": give it read access"
		if s.cfg.Perspective == PerspectiveDrafts {
			hint += " (the drafts perspective needs a token that can read drafts)"
		}
	case errors.Is(err, mesh.ErrNotFound):
		hint = "check projectId " + s.cfg.ProjectID + " and dataset " + s.cfg.Dataset + " (and apiVersion " + s.cfg.APIVersion + ")"
	case errors.As(err, &se) && se.StatusCode == http.StatusBadRequest:
		hint = "the API rejected the GROQ query: check the query key (" + strings.TrimSpace(s.cfg.Query) + ")"
		if strings.TrimSpace(s.cfg.Query) == "" {
			hint = "the API rejected the query (check apiVersion " + s.cfg.APIVersion + ")"
		}
	}
	if hint == "" {
		return fmt.Errorf("sanity: %w", err)
	}
	return fmt.Errorf("sanity: %w: %s", err, hint)
}
