// Package contentful is a mesh.Source for a Contentful space: entries of every content type and
// assets, in one or all locales, read from the Content Delivery API (its Sync API for incremental
// builds) or the Content Preview API (drafts).
//
// # Configuration
//
//	sources:
//	  - name: cms
//	    type: contentful
//	    space: ${CONTENTFUL_SPACE_ID}
//	    environment: master            # default master
//	    accessToken: ${CONTENTFUL_DELIVERY_TOKEN}
//	    preview: false                 # true: the Preview API (drafts), with previewToken
//	    previewToken: ${CONTENTFUL_PREVIEW_TOKEN}
//	    locales: "*"                   # or a list [en-US, de-DE]; absent: the default locale only
//	    fallbacks: {de-CH: de-DE}      # optional: overrides the space's locale fallbacks ("" = none)
//	    contentTypes: [blogPost, person]  # optional: only these content types' entries
//	    raw: false                     # true: each node keeps the upstream item under fields._raw
//	    baseURL: http://127.0.0.1:9000 # optional: replaces https://cdn.contentful.com
//	    timeout: 30s                   # and the other mesh/fetch options: retries, concurrency,
//	    requestsPerSecond: 50          # requestsPerSecond, maxRetryAfter, maxBodyBytes, ...
//
// space and accessToken are required (previewToken instead of accessToken with preview: true).
// baseURL replaces the API origin (https://cdn.contentful.com, or https://preview.contentful.com
// with preview: true); paths are appended as Contentful documents them, so a proxy or a test server
// can stand in. locales, contentTypes and fallbacks are checked against the space when Fetch starts:
// an unknown locale or content type is an error wrapping mesh.ErrInvalidConfig that names the key.
//
// # Authentication
//
// The token is sent as "Authorization: Bearer <token>", never in the URL. A Content Delivery API
// token reads published content; the Preview API needs a Content Preview API token (delivery tokens
// do not work there). Tokens are scoped to environments. A rejected token (401 AccessTokenInvalid),
// a token without access to the environment (403 AccessDenied) and an unknown space or environment
// (404 NotFound) fail the build with an *Error naming the key to fix, Contentful's error id, message
// and requestId; it wraps mesh.ErrUnauthorized, mesh.ErrForbidden or mesh.ErrNotFound. Tokens never
// appear in errors, logs or outputs (Config's String and LogValue redact them).
//
// # Rate limits
//
// Those of mesh/fetch: at most concurrency requests in flight (adaptive: a 429 halves it), a token
// bucket of requestsPerSecond, and retries of 429 and 5xx answers that wait as
// X-Contentful-RateLimit-Reset (or Retry-After) says, up to maxRetryAfter; during that wait no other
// request of the source is sent. Uncached delivery requests are limited per space (55 per second is
// the figure quoted for the CDA): set requestsPerSecond when several builds share a space.
//
// Listings of the delivery API (/locales, /content_types, and /entries and /assets in preview mode)
// ask for limit=1000 items per page, sorted by sys.id so that no item is skipped or repeated, and
// fetch every page after the first concurrently, once the first page's total says how many there
// are. A page that Contentful refuses as larger than its maximum response size (400 BadRequest
// "Response size too big") is fetched again as two pages of half the size, recursively, without
// fetching again the pages that did arrive.
//
// # Mapping
//
// Each entry becomes a node of its content type in PascalCase (blogPost -> BlogPost; a content type
// called asset becomes AssetEntry, Asset being the assets' type) with ID
// <source>/Entry/<entry id>; each asset becomes an Asset node <source>/Asset/<asset id>. Entry fields
// keep their field ids. Asset fields are url (https: added to Contentful's protocol-relative URLs),
// mimeType, fileName, size, width, height, title, description and alt (the description).
// UpdatedAt is sys.updatedAt. Date fields become RFC 3339 UTC times; other values are kept as JSON.
//
// Every link, {"sys": {"type": "Link", "linkType": "Entry" or "Asset", "id": ...}}, anywhere in a
// field (reference fields, arrays of references, rich text's data.target of embedded entries and
// assets and of entry and asset hyperlinks) becomes {"$ref": "<node id>"}, so references and
// backreferences need no link rule. Rich text stays the JSON document Contentful sends. A link to an
// entry that is not published (or whose content type contentTypes leaves out) is a dangling
// reference, reported by the engine. Objects of the content whose only key is "$ref" would read as
// references: their key gets one more "$".
//
// Locales: without locales, each item gives one node in the space's default locale, with no locale
// suffix. With locales ("*" for every locale of the space, or a list), each item gives one node per
// locale, ID suffixed @<locale> (mesh.LocalizedNodeID), with Node.Locale set; references point at the
// target's node of the same locale. A localized field missing in a locale takes the value of the
// locale's fallback, then of the fallback's fallback (Contentful's fallbackCode from /locales, or
// fallbacks from the configuration); a field that is not localized takes the default locale's value,
// as the delivery API does.
//
// # Incremental sync
//
// With the delivery API the content comes from the Sync API, in several sync chains walked in
// parallel: one for assets, one per content type (type=Entry&content_type=<id>), and one for
// deletions (type=Deletion). Each chain is a sequence of pages of 100 items (nextPageUrl), each
// page mapped while the next one is requested, so the first build lasts about as long as the longest
// chain's requests, not as long as the whole space would take in one chain. The cursor keeps each chain's nextSyncUrl token, a fingerprint of the configuration and of
// the locales, and of each content type's fields:
//
//	{"v": 1, "config": "…", "locales": "…", "chains": {"Asset": {"token": "…"},
//	 "Deletion": {"token": "…"}, "Entry:blogPost": {"token": "…", "schema": "…"}}}
//
// The next build sends each token and gets only what changed: entries and assets published or
// updated since are upserted, DeletedEntry and DeletedAsset items (deletion and unpublishing) delete
// the item's nodes in every locale, and the result is a delta. When an item was both deleted and
// published again since the last build, the later of the two wins. A content type added since gets an
// initial sync of its own; one whose fields changed is synced again from scratch; one that is gone
// is dropped. A configuration or locale change, or a deletion token that Contentful no longer
// accepts, makes a full fetch. The Preview API has no Sync API: with preview: true every build is a
// full fetch of /entries and /assets (with locale=*), and there is no cursor.
package contentful

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
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
	"go.yaml.in/yaml/v3"
	"golang.org/x/sync/errgroup"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/sources/internal/normalize"
)

// Kind is the adapter's name, the config's `type: contentful`.
const Kind = "contentful"

// DefaultEnvironment is the environment read when Config.Environment is empty.
const DefaultEnvironment = "master"

// AllLocales is the Locales value that selects every locale of the space.
const AllLocales = "*"

// Config configures a Contentful Source. Its yaml keys are part of the configuration contract.
type Config struct {
	// Space is the space id. Required.
	Space string `yaml:"space"`
	// Environment is the environment id; empty means DefaultEnvironment (master).
	Environment string `yaml:"environment,omitempty"`
	// AccessToken is a Content Delivery API token. Required unless Preview is set.
	AccessToken string `yaml:"accessToken,omitempty"`
	// Preview reads the Content Preview API (drafts and published content) with PreviewToken.
	Preview bool `yaml:"preview,omitempty"`
	// PreviewToken is a Content Preview API token; required with Preview.
	PreviewToken string `yaml:"previewToken,omitempty"`
	// Locales selects the locales that get nodes: nil for the default locale only (IDs without a
	// locale suffix), {"*"} for every locale of the space, or a list of locale codes.
	Locales Locales `yaml:"locales,omitempty"`
	// ContentTypes, when set, restricts the entries to these content type ids. Assets are all read.
	ContentTypes []string `yaml:"contentTypes,omitempty"`
	// Fallbacks overrides the space's locale fallbacks: locale code -> fallback locale code, ""
	// for none.
	Fallbacks map[string]string `yaml:"fallbacks,omitempty"`
	// Raw keeps each upstream item (all its locales, links as Contentful sends them) under
	// fields._raw.
	Raw bool `yaml:"raw,omitempty"`
	// BaseURL replaces the API origin (https://cdn.contentful.com, or https://preview.contentful.com
	// with Preview).
	BaseURL string `yaml:"baseURL,omitempty"`

	// Options are the mesh/fetch knobs: timeout, retries, concurrency, requestsPerSecond, ...
	fetch.Options `yaml:",inline"`
}

// String describes the configuration with its tokens redacted.
func (c Config) String() string {
	red := func(s string) string {
		if s == "" {
			return ""
		}
		return fetch.Redacted
	}
	return fmt.Sprintf("contentful{space:%s environment:%s accessToken:%s preview:%t previewToken:%s locales:%v contentTypes:%v baseURL:%s}",
		c.Space, c.Environment, red(c.AccessToken), c.Preview, red(c.PreviewToken), []string(c.Locales), c.ContentTypes, c.BaseURL)
}

// GoString is String, so that %#v does not print the tokens either.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the tokens.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Locales is the locales setting: a list of locale codes, or "*" (every locale of the space). In
// YAML it is either the string "*" or a sequence of codes.
type Locales []string

// UnmarshalYAML accepts a scalar ("*" or one code) or a sequence of codes.
func (l *Locales) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			*l = nil
			return nil
		}
		*l = Locales{n.Value}
		return nil
	case yaml.SequenceNode:
		var codes []string
		if err := n.Decode(&codes); err != nil {
			return err
		}
		*l = codes
		return nil
	}
	return fmt.Errorf("line %d: locales: want \"*\" or a list of locale codes", n.Line)
}

// All reports whether the setting selects every locale.
func (l Locales) All() bool { return len(l) == 1 && l[0] == AllLocales }

// Source reads a Contentful space. It is safe for concurrent use; each Fetch is independent.
type Source struct {
	cfg    Config
	base   string // /spaces/{space}/environments/{env}
	client *fetch.Client
	// singleChain walks one sync chain for everything (type=all), as Gatsby does: the baseline of
	// the benchmark, not a configuration.
	singleChain bool
}

var (
	_ mesh.Source    = (*Source)(nil)
	_ mesh.Checker   = (*Source)(nil)
	_ mesh.Describer = (*Source)(nil)
)

var (
	idRE     = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	localeRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// New validates cfg and returns a Source. It does no I/O and starts no goroutine. Errors wrap
// mesh.ErrInvalidConfig and name the key.
func New(cfg Config) (*Source, error) {
	bad := func(key, format string, args ...any) error {
		return &mesh.ConfigError{Where: fmt.Sprintf("contentful: key %q", key), Msg: fmt.Sprintf(format, args...)}
	}
	if cfg.Environment == "" {
		cfg.Environment = DefaultEnvironment
	}
	token, tokenKey := cfg.AccessToken, "accessToken"
	if cfg.Preview {
		token, tokenKey = cfg.PreviewToken, "previewToken"
	}
	switch {
	case cfg.Space == "":
		return nil, bad("space", "required: the space id (Settings > General settings)")
	case !idRE.MatchString(cfg.Space):
		return nil, bad("space", "%q: want letters, digits, '-', '_' or '.'", cfg.Space)
	case !idRE.MatchString(cfg.Environment):
		return nil, bad("environment", "%q: want letters, digits, '-', '_' or '.'", cfg.Environment)
	case token == "" && cfg.Preview:
		return nil, bad("previewToken", "required with preview: true (a Content Preview API token)")
	case token == "":
		return nil, bad("accessToken", "required: a Content Delivery API token")
	case strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return nil, bad(tokenKey, "holds white space or control characters")
	case !cfg.Preview && cfg.PreviewToken != "" && cfg.AccessToken == "":
		return nil, bad("accessToken", "required without preview: true")
	}
	seen := map[string]bool{}
	for _, code := range cfg.Locales {
		switch {
		case code == AllLocales && len(cfg.Locales) > 1:
			return nil, bad("locales", "\"*\" selects every locale: use it alone")
		case code != AllLocales && !localeRE.MatchString(code):
			return nil, bad("locales", "%q is not a locale code", code)
		case seen[code]:
			return nil, bad("locales", "%q is listed twice", code)
		}
		seen[code] = true
	}
	clear(seen)
	for _, ct := range cfg.ContentTypes {
		switch {
		case !idRE.MatchString(ct):
			return nil, bad("contentTypes", "%q is not a content type id", ct)
		case seen[ct]:
			return nil, bad("contentTypes", "%q is listed twice", ct)
		}
		seen[ct] = true
	}
	for code, fb := range cfg.Fallbacks {
		switch {
		case !localeRE.MatchString(code):
			return nil, bad("fallbacks", "%q is not a locale code", code)
		case fb != "" && !localeRE.MatchString(fb):
			return nil, bad("fallbacks", "%s: %q is not a locale code", code, fb)
		case fb == code:
			return nil, bad("fallbacks", "%s falls back to itself", code)
		}
	}
	base := cfg.BaseURL
	if base == "" {
		base = DeliveryBaseURL
		if cfg.Preview {
			base = PreviewBaseURL
		}
	}
	header := "Bearer " + token
	client, err := fetch.New(fetch.Config{
		BaseURL: base,
		Auth: func(r *http.Request) error {
			r.Header.Set("Authorization", header)
			return nil
		},
		ErrorMessage: errorMessage,
	}, cfg.Options)
	if err != nil {
		return nil, err
	}
	cfg.Locales = slices.Clone(cfg.Locales)
	cfg.ContentTypes = slices.Clone(cfg.ContentTypes)
	if cfg.Fallbacks != nil {
		cfg.Fallbacks = cloneMap(cfg.Fallbacks)
	}
	return &Source{cfg: cfg, base: envPath(cfg.Space, cfg.Environment), client: client}, nil
}

// Kind implements mesh.Source.
func (s *Source) Kind() string { return Kind }

// String describes the source without its secrets.
func (s *Source) String() string {
	mode := "delivery"
	if s.cfg.Preview {
		mode = "preview"
	}
	return fmt.Sprintf("contentful space %s environment %s (%s)", s.cfg.Space, s.cfg.Environment, mode)
}

// Check implements mesh.Checker: one small request (the first locale) that proves the token, the
// space and the environment.
func (s *Source) Check(ctx context.Context) error {
	defer s.client.CloseIdleConnections()
	q := url.Values{paramLimit: {"1"}}
	if _, err := s.client.GetJSON(ctx, s.base+pathLocales, q); err != nil {
		return s.explain(ctx, err)
	}
	return nil
}

// Describe implements mesh.Describer: the node types the space's content types give (restricted by
// ContentTypes), with their field ids, and Asset.
func (s *Source) Describe(ctx context.Context) ([]mesh.ContentType, error) {
	defer s.client.CloseIdleConnections()
	sp, err := s.loadSpace(ctx, 0)
	if err != nil {
		return nil, s.explain(ctx, err)
	}
	m, err := s.newMapper("describe", sp)
	if err != nil {
		return nil, err
	}
	out := []mesh.ContentType{{Name: nsAsset, Fields: slices.Clone(assetFields)}}
	for _, id := range m.typeIDs {
		ct := m.types[id]
		f := make([]string, len(ct.fields))
		for i, fd := range ct.fields {
			f[i] = fd.id
		}
		out = append(out, mesh.ContentType{Name: ct.nodeType, Fields: f})
	}
	slices.SortFunc(out, func(a, b mesh.ContentType) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Fetch implements mesh.Source: see the package documentation for what it reads and emits.
func (s *Source) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	defer s.client.CloseIdleConnections()
	log := req.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	em := &guard{out: out}
	res, err := s.fetch(ctx, req, log, em)
	if e := em.failed(); e != nil {
		return mesh.FetchResult{}, e // the Emitter's error, unchanged
	}
	if err != nil {
		return mesh.FetchResult{}, s.explain(ctx, err)
	}
	return res, nil
}

func (s *Source) fetch(ctx context.Context, req mesh.FetchRequest, log *slog.Logger, em *guard) (mesh.FetchResult, error) {
	sp, err := s.loadSpace(ctx, req.PageSize)
	if err != nil {
		return mesh.FetchResult{}, err
	}
	m, err := s.newMapper(req.Source, sp)
	if err != nil {
		return mesh.FetchResult{}, err
	}
	if s.cfg.Preview {
		return mesh.FetchResult{}, s.fetchLists(ctx, req, m, em)
	}
	return s.sync(ctx, req, log, m, em)
}

// guard passes nodes to the Emitter and remembers its first error, so that Fetch can return it
// unchanged wherever in the pagination it surfaced.
type guard struct {
	out mesh.Emitter
	mu  sync.Mutex
	err error
}

func (g *guard) Upsert(n mesh.Node) error {
	if err := g.out.Upsert(n); err != nil {
		g.fail(err)
		return err
	}
	return nil
}

func (g *guard) Delete(id string) error {
	if err := g.out.Delete(id); err != nil {
		g.fail(err)
		return err
	}
	return nil
}

func (g *guard) fail(err error) {
	g.mu.Lock()
	if g.err == nil {
		g.err = err
	}
	g.mu.Unlock()
}

func (g *guard) failed() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// explain turns a failed request into an error that says what to fix.
func (s *Source) explain(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return ctxErr
	}
	var ce *mesh.ConfigError
	if errors.As(err, &ce) {
		return err
	}
	var se *fetch.StatusError
	if !errors.As(err, &se) {
		return fmt.Errorf("contentful: %w", err)
	}
	id, _, reqID, _ := errorBody(se.Body)
	where := fmt.Sprintf("space %q, environment %q", s.cfg.Space, s.cfg.Environment)
	var hint string
	switch se.StatusCode {
	case http.StatusUnauthorized:
		hint = "the access token was rejected: check accessToken (a Content Delivery API token of " + where + ")"
		if s.cfg.Preview {
			hint = "the preview token was rejected: check previewToken (a Content Preview API token of " + where +
				"; delivery tokens do not work on the Preview API)"
		}
	case http.StatusForbidden:
		hint = "access denied to " + where + ": check environment, and that the API key may read this environment"
	case http.StatusNotFound:
		hint = where + " not found: check space and environment"
		if s.cfg.BaseURL != "" {
			hint += " (and baseURL)"
		}
	case http.StatusTooManyRequests:
		hint = "rate limited until retries ran out: lower concurrency or requestsPerSecond, or raise retries"
	case http.StatusBadRequest:
		hint = "Contentful rejected the request"
		if tooBig(err) {
			hint = "an item is larger than Contentful's maximum response size even alone (limit=1); it cannot be read"
		}
	default:
		hint = "Contentful failed"
		if se.StatusCode < 500 {
			hint = "unexpected answer"
		}
	}
	return &Error{ID: id, RequestID: reqID, Hint: hint, Err: err}
}

// listLimit is the page size of delivery API listings.
func listLimit(req mesh.FetchRequest) int {
	if req.PageSize > 0 {
		return min(req.PageSize, maxListLimit)
	}
	return maxListLimit
}

// syncLimit is the page size of sync chains.
func syncLimit(req mesh.FetchRequest) int {
	if req.PageSize > 0 {
		return min(req.PageSize, maxSyncLimit)
	}
	return maxSyncLimit
}

// fetchLists reads every entry and asset through the delivery (or preview) API's listings: the full
// set, no cursor.
func (s *Source) fetchLists(ctx context.Context, req mesh.FetchRequest, m *mapper, em *guard) error {
	limit := listLimit(req)
	base := url.Values{paramLocale: {"*"}, paramOrder: {"sys.id"}, paramInclude: {"0"}}
	lists := []listing{{path: s.base + pathAssets, query: base}}
	if m.restricted {
		for _, id := range m.typeIDs {
			q := cloneValues(base)
			q.Set(paramContentType, id)
			lists = append(lists, listing{path: s.base + pathEntries, query: q})
		}
	} else {
		lists = append(lists, listing{path: s.base + pathEntries, query: base})
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.client.Options().Concurrency)
	for _, l := range lists {
		g.Go(func() error {
			return s.list(gctx, l, limit, func(items gjson.Result) error {
				var err error
				items.ForEach(func(_, item gjson.Result) bool {
					_, err = m.mapItem(item, em.Upsert)
					return err == nil
				})
				return err
			})
		})
	}
	return g.Wait()
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v)+1)
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// space is what Fetch learns about the space before reading content.
type space struct {
	locales       []localeInfo // sorted by code
	defaultLocale string
	types         map[string]*contentType
}

type localeInfo struct {
	code, fallback string
}

// contentType is what the mapping needs of a content type.
type contentType struct {
	id       string
	nodeType string
	fields   []ctField
	// localized and date tell, per field id, whether it is localized and whether it is a Date.
	localized map[string]bool
	date      map[string]bool
	// schema is a fingerprint of what the mapping reads, kept in the cursor.
	schema string
}

type ctField struct {
	id, typ   string
	localized bool
}

// loadSpace reads the locales and the content types, concurrently.
func (s *Source) loadSpace(ctx context.Context, pageSize int) (*space, error) {
	limit := maxListLimit
	if pageSize > 0 {
		limit = min(pageSize, maxListLimit)
	}
	var (
		mu         sync.Mutex
		locs, ctys []gjson.Result
	)
	collect := func(dst *[]gjson.Result) itemsFunc {
		return func(items gjson.Result) error {
			arr := items.Array()
			mu.Lock()
			*dst = append(*dst, arr...)
			mu.Unlock()
			return nil
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return s.list(gctx, listing{path: s.base + pathLocales, query: url.Values{}}, limit, collect(&locs))
	})
	g.Go(func() error {
		return s.list(gctx, listing{path: s.base + pathContentTypes, query: url.Values{paramOrder: {"sys.id"}}}, limit, collect(&ctys))
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sp := &space{}
	var err error
	if sp.locales, sp.defaultLocale, err = decodeLocales(locs); err != nil {
		return nil, fmt.Errorf("%s%s: %w", s.base, pathLocales, err)
	}
	if sp.types, err = decodeContentTypes(ctys); err != nil {
		return nil, fmt.Errorf("%s%s: %w", s.base, pathContentTypes, err)
	}
	return sp, nil
}

// decodeLocales reads the items of /locales: {"code": "de-DE", "default": false, "fallbackCode":
// "en-US"}. Exactly one is the default.
func decodeLocales(items []gjson.Result) ([]localeInfo, string, error) {
	var out []localeInfo
	def := ""
	seen := map[string]bool{}
	for i, it := range items {
		code := it.Get(gjLocaleCode)
		if code.Type != gjson.String || !localeRE.MatchString(code.Str) {
			return nil, "", fmt.Errorf("%w: locale %d has no valid code", mesh.ErrBadResponse, i)
		}
		if seen[code.Str] {
			return nil, "", fmt.Errorf("%w: locale %q is listed twice", mesh.ErrBadResponse, code.Str)
		}
		seen[code.Str] = true
		fb := it.Get(gjLocaleFall)
		switch fb.Type {
		case gjson.Null:
		case gjson.String:
			if fb.Str != "" && !localeRE.MatchString(fb.Str) {
				return nil, "", fmt.Errorf("%w: locale %q: fallbackCode %q is not a locale code", mesh.ErrBadResponse, code.Str, fb.Str)
			}
		default:
			return nil, "", fmt.Errorf("%w: locale %q: fallbackCode is not a string", mesh.ErrBadResponse, code.Str)
		}
		if it.Get(gjLocaleDefault).Bool() {
			if def != "" {
				return nil, "", fmt.Errorf("%w: two default locales, %q and %q", mesh.ErrBadResponse, def, code.Str)
			}
			def = code.Str
		}
		out = append(out, localeInfo{code: strings.Clone(code.Str), fallback: strings.Clone(fb.Str)})
	}
	if def == "" {
		return nil, "", fmt.Errorf("%w: no default locale", mesh.ErrBadResponse)
	}
	slices.SortFunc(out, func(a, b localeInfo) int { return strings.Compare(a.code, b.code) })
	return out, strings.Clone(def), nil
}

// decodeContentTypes reads the items of /content_types: {"sys": {"id": "blogPost"}, "fields":
// [{"id": "title", "type": "Symbol", "localized": true}, ...]}.
func decodeContentTypes(items []gjson.Result) (map[string]*contentType, error) {
	out := make(map[string]*contentType, len(items))
	for i, it := range items {
		id := it.Get(gjSysID)
		if id.Type != gjson.String || id.Str == "" {
			return nil, fmt.Errorf("%w: content type %d has no sys.id", mesh.ErrBadResponse, i)
		}
		if _, dup := out[id.Str]; dup {
			return nil, fmt.Errorf("%w: content type %q is listed twice", mesh.ErrBadResponse, id.Str)
		}
		ct := &contentType{id: strings.Clone(id.Str), localized: map[string]bool{}, date: map[string]bool{}}
		ct.nodeType = nodeTypeOf(ct.id)
		fields := it.Get(gjFields)
		if fields.Exists() && !fields.IsArray() {
			return nil, fmt.Errorf("%w: content type %q: fields is not an array", mesh.ErrBadResponse, ct.id)
		}
		var ferr error
		fields.ForEach(func(_, f gjson.Result) bool {
			fid := f.Get("id")
			if fid.Type != gjson.String || fid.Str == "" {
				ferr = fmt.Errorf("%w: content type %q: a field has no id", mesh.ErrBadResponse, ct.id)
				return false
			}
			fd := ctField{id: strings.Clone(fid.Str), typ: strings.Clone(f.Get("type").String()), localized: f.Get("localized").Bool()}
			ct.fields = append(ct.fields, fd)
			ct.localized[fd.id] = fd.localized
			ct.date[fd.id] = fd.typ == "Date"
			return true
		})
		if ferr != nil {
			return nil, ferr
		}
		h := sha256.New()
		fmt.Fprintf(h, "%q\x00", ct.nodeType)
		for _, f := range ct.fields {
			fmt.Fprintf(h, "%q\x00%q\x00%t\x00", f.id, f.typ, f.localized)
		}
		ct.schema = hex.EncodeToString(h.Sum(nil)[:8])
		out[ct.id] = ct
	}
	return out, nil
}

// nodeTypeOf is the node type of a content type id: PascalCase, never Asset (the assets' type).
func nodeTypeOf(ctID string) string {
	t := normalize.TypeName(ctID)
	switch t {
	case "":
		return "Entry"
	case nsAsset:
		return "AssetEntry"
	}
	return t
}

// assetFields are the fields of Asset nodes.
var assetFields = []string{"alt", "description", "fileName", "height", "mimeType", "size", "title", "url", "width"}

// mapper turns Contentful items (entries and assets with locale-keyed fields, as the Sync API and
// the delivery API with locale=* send them) into nodes. It is read-only once made: safe for
// concurrent use.
type mapper struct {
	source string
	// locales are the locales that get nodes; localized says whether node IDs carry them.
	locales   []string
	localized bool
	// order is, per emitted locale, where a localized field is looked for: the locale, its
	// fallback, the fallback's fallback, ...
	order         map[string][]string
	defaultLocale string
	types         map[string]*contentType
	typeIDs       []string // the content types read, sorted
	restricted    bool     // ContentTypes is set: entries of other types are skipped
	raw           bool
	// fingerprint of the locale setup, kept in the cursor.
	localeFP string
}

// newMapper checks the configuration against the space and prepares the mapping.
func (s *Source) newMapper(source string, sp *space) (*mapper, error) {
	bad := func(key, format string, args ...any) error {
		return &mesh.ConfigError{Where: fmt.Sprintf("contentful: key %q", key), Msg: fmt.Sprintf(format, args...)}
	}
	known := map[string]string{} // code -> fallback
	var codes []string
	for _, l := range sp.locales {
		known[l.code] = l.fallback
		codes = append(codes, l.code)
	}
	where := fmt.Sprintf("space %q, environment %q", s.cfg.Space, s.cfg.Environment)
	m := &mapper{source: source, defaultLocale: sp.defaultLocale, types: sp.types, raw: s.cfg.Raw, order: map[string][]string{}}
	switch {
	case len(s.cfg.Locales) == 0:
		m.locales = []string{sp.defaultLocale}
	case s.cfg.Locales.All():
		m.locales, m.localized = codes, true
	default:
		for _, c := range s.cfg.Locales {
			if _, ok := known[c]; !ok {
				return nil, bad("locales", "%q is not a locale of %s (it has %s)", c, where, strings.Join(codes, ", "))
			}
		}
		m.locales, m.localized = slices.Clone(s.cfg.Locales), true
	}
	fallback := cloneMap(known)
	for code, fb := range s.cfg.Fallbacks {
		if _, ok := known[code]; !ok {
			return nil, bad("fallbacks", "%q is not a locale of %s (it has %s)", code, where, strings.Join(codes, ", "))
		}
		if _, ok := known[fb]; fb != "" && !ok {
			return nil, bad("fallbacks", "%s: %q is not a locale of %s (it has %s)", code, fb, where, strings.Join(codes, ", "))
		}
		fallback[code] = fb
	}
	h := sha256.New()
	fmt.Fprintf(h, "%t\x00%q\x00", m.localized, m.defaultLocale)
	for _, l := range m.locales {
		var order []string
		for c := l; c != "" && !slices.Contains(order, c); c = fallback[c] {
			if _, ok := known[c]; !ok {
				break // a fallbackCode naming a locale the space does not have
			}
			order = append(order, c)
		}
		m.order[l] = order
		fmt.Fprintf(h, "%q\x00", order)
	}
	m.localeFP = hex.EncodeToString(h.Sum(nil)[:8])

	if len(s.cfg.ContentTypes) > 0 {
		m.restricted = true
		var all []string
		for id := range sp.types {
			all = append(all, id)
		}
		slices.Sort(all)
		for _, id := range s.cfg.ContentTypes {
			if _, ok := sp.types[id]; !ok {
				return nil, bad("contentTypes", "%q is not a content type of %s (it has %s)", id, where, strings.Join(all, ", "))
			}
		}
		m.typeIDs = slices.Clone(s.cfg.ContentTypes)
	} else {
		for id := range sp.types {
			m.typeIDs = append(m.typeIDs, id)
		}
	}
	slices.Sort(m.typeIDs)
	return m, nil
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// nodeID is the ID of an item's node in one locale.
func (m *mapper) nodeID(ns, id, locale string) string {
	if m.localized {
		return mesh.LocalizedNodeID(m.source, ns, id, locale)
	}
	return mesh.NodeID(m.source, ns, id)
}

// appendRef appends {"$ref": nodeID(ns, id, locale)} without making the ID string: locale codes
// are checked to hold no character that IDs or JSON escape, so the localized ID is the ID, "@" and
// the locale (what mesh.LocalizedNodeID makes).
func (m *mapper) appendRef(dst []byte, ns, id, locale string) []byte {
	if !m.localized {
		return mesh.AppendRef(dst, mesh.NodeID(m.source, ns, id))
	}
	dst = mesh.AppendRef(dst, mesh.NodeID(m.source, ns, id))
	dst = dst[:len(dst)-2] // `"}`
	dst = append(dst, '@')
	dst = append(dst, locale...)
	return append(dst, '"', '}')
}

// nodeIDs are the IDs of an item's nodes in every emitted locale.
func (m *mapper) nodeIDs(ns, id string) []string {
	out := make([]string, len(m.locales))
	for i, l := range m.locales {
		out[i] = m.nodeID(ns, id, l)
	}
	return out
}

// itemInfo identifies an item: its namespace (Entry or Asset), id and sys.updatedAt text.
type itemInfo struct {
	ns, id, updatedAt string
}

// maxDepth bounds the nesting of field values.
const maxDepth = 256

// splitItem returns an item's sys and fields objects, reading the item once: gjson paths into sys
// would otherwise skip over the fields (which often come first, and are most of the item) at each
// lookup.
func splitItem(item gjson.Result) (sys, fields gjson.Result) {
	item.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case gjSys:
			sys = v
		case gjFields:
			fields = v
		}
		return !sys.Exists() || !fields.Exists()
	})
	return sys, fields
}

// mapItem emits the nodes of one entry or asset, one per emitted locale. An entry of a content type
// left out by ContentTypes emits nothing. It returns what the item is.
func (m *mapper) mapItem(item gjson.Result, emit func(mesh.Node) error) (itemInfo, error) {
	if !item.IsObject() {
		return itemInfo{}, fmt.Errorf("%w: an item is not an object", mesh.ErrBadResponse)
	}
	sys, fieldsRaw := splitItem(item)
	return m.mapParts(item, sys, fieldsRaw, emit)
}

// mapParts is mapItem with the item's sys and fields already found.
func (m *mapper) mapParts(item, sys, fieldsRaw gjson.Result, emit func(mesh.Node) error) (itemInfo, error) {
	typ := sys.Get("type").String()
	id := sys.Get("id")
	if id.Type != gjson.String || id.Str == "" {
		return itemInfo{}, fmt.Errorf("%w: an item (sys.type %q) has no sys.id", mesh.ErrBadResponse, typ)
	}
	info := itemInfo{id: strings.Clone(id.Str)}
	var ct *contentType
	nodeType := nsAsset
	switch typ {
	case typeEntry:
		info.ns = nsEntry
		ctID := sys.Get("contentType.sys.id").String()
		if ctID == "" {
			return info, fmt.Errorf("%w: entry %q has no sys.contentType", mesh.ErrBadResponse, info.id)
		}
		if m.restricted && !slices.Contains(m.typeIDs, ctID) {
			return info, nil
		}
		ct = m.types[ctID]
		if ct != nil {
			nodeType = ct.nodeType
		} else {
			nodeType = nodeTypeOf(ctID) // a content type made since /content_types was read
		}
	case typeAsset:
		info.ns = nsAsset
	default:
		return info, fmt.Errorf("%w: item %q has sys.type %q, want Entry or Asset", mesh.ErrBadResponse, info.id, typ)
	}
	var updated time.Time
	if u := sys.Get("updatedAt"); u.Exists() {
		info.updatedAt = strings.Clone(u.String())
		t, err := normalize.Time(u.String())
		if err != nil {
			return info, fmt.Errorf("%w: %s %q: sys.updatedAt: %v", mesh.ErrBadResponse, strings.ToLower(info.ns), info.id, err)
		}
		updated = t
	}
	fields, err := readFields(fieldsRaw)
	if err != nil {
		return info, fmt.Errorf("%s %q: %w", strings.ToLower(info.ns), info.id, err)
	}
	var raw []byte
	if m.raw {
		if raw, err = m.appendValue(nil, item, "", false); err != nil {
			return info, fmt.Errorf("%s %q: %w", strings.ToLower(info.ns), info.id, err)
		}
	}
	for _, loc := range m.locales {
		o := object{b: make([]byte, 0, len(fieldsRaw.Raw)/len(m.locales)+len(raw)+64)}
		if info.ns == nsAsset {
			m.assetFields(&o, fields, loc)
		} else if err := m.entryFields(&o, fields, ct, loc); err != nil {
			return info, fmt.Errorf("entry %q: %w", info.id, err)
		}
		if raw != nil {
			o.key("_raw")
			o.b = append(o.b, raw...)
		}
		n := mesh.Node{
			ID:        m.nodeID(info.ns, info.id, loc),
			Type:      nodeType,
			NativeID:  info.id,
			UpdatedAt: updated,
			Fields:    o.json(),
		}
		if m.localized {
			n.Locale = loc
		}
		if err := emit(n); err != nil {
			return info, err
		}
	}
	return info, nil
}

// deletion reads a DeletedEntry or DeletedAsset item: the namespace, id and sys.deletedAt.
func deletion(item gjson.Result) (itemInfo, error) {
	var info itemInfo
	switch item.Get(gjSysType).String() {
	case typeDeletedEntry:
		info.ns = nsEntry
	case typeDeletedAsset:
		info.ns = nsAsset
	default:
		return info, fmt.Errorf("%w: not a deletion", mesh.ErrBadResponse)
	}
	id := item.Get(gjSysID)
	if id.Type != gjson.String || id.Str == "" {
		return info, fmt.Errorf("%w: a deletion has no sys.id", mesh.ErrBadResponse)
	}
	info.id = strings.Clone(id.Str)
	at := item.Get(gjSysDeletedAt)
	if !at.Exists() {
		at = item.Get(gjSysUpdatedAt)
	}
	info.updatedAt = strings.Clone(at.String())
	return info, nil
}

// field is one field of an item: its id and its value per locale code.
type field struct {
	id     string
	values []localeValue
	// dateIn and dateOut memoize the last Date value normalized (the same value serves several
	// locales).
	dateIn, dateOut string
}

type localeValue struct {
	code  string
	value gjson.Result
}

// readFields reads an item's fields object: field id -> {locale code: value}.
func readFields(fields gjson.Result) ([]field, error) {
	if !fields.Exists() || fields.Type == gjson.Null {
		return nil, nil
	}
	if !fields.IsObject() {
		return nil, fmt.Errorf("%w: fields is not an object", mesh.ErrBadResponse)
	}
	var out []field
	var err error
	fields.ForEach(func(k, v gjson.Result) bool {
		if !v.IsObject() {
			err = fmt.Errorf("%w: field %q is not keyed by locale (want locale=* or Sync API items)", mesh.ErrBadResponse, k.Str)
			return false
		}
		f := field{id: k.Str}
		v.ForEach(func(lk, lv gjson.Result) bool {
			if lv.Type != gjson.Null {
				f.values = append(f.values, localeValue{code: lk.Str, value: lv})
			}
			return true
		})
		out = append(out, f)
		return true
	})
	return out, err
}

// lookup returns the first value present in the given locale order.
func (f *field) lookup(order []string) (gjson.Result, bool) {
	for _, code := range order {
		for _, lv := range f.values {
			if lv.code == code {
				return lv.value, true
			}
		}
	}
	return gjson.Result{}, false
}

// orderFor is where to look for a field's value in a locale: the fallback order for a localized
// field, the default locale for one that is not.
func (m *mapper) orderFor(ct *contentType, fieldID, loc string) []string {
	if ct != nil {
		if localized, known := ct.localized[fieldID]; known && !localized {
			return []string{m.defaultLocale}
		}
	}
	return m.order[loc]
}

// entryFields sets an entry's fields in one locale.
// object writes a node's fields object into one buffer, each value appended in place (where
// mesh.Object would copy it in, then copy the whole out). Keys are written as given; the engine
// sorts them.
type object struct{ b []byte }

// key starts a member.
func (o *object) key(k string) {
	if len(o.b) == 0 {
		o.b = append(o.b, '{')
	} else {
		o.b = append(o.b, ',')
	}
	o.b = mesh.AppendString(o.b, k)
	o.b = append(o.b, ':')
}

func (o *object) setString(k, v string) {
	o.key(k)
	o.b = mesh.AppendString(o.b, v)
}

// json ends the object.
func (o *object) json() json.RawMessage {
	if len(o.b) == 0 {
		return json.RawMessage("{}")
	}
	return append(o.b, '}')
}

func (m *mapper) entryFields(o *object, fields []field, ct *contentType, loc string) error {
	for i := range fields {
		f := &fields[i]
		v, ok := f.lookup(m.orderFor(ct, f.id, loc))
		if !ok {
			continue
		}
		if ct != nil && ct.date[f.id] && v.Type == gjson.String {
			if f.dateIn != v.Str || f.dateOut == "" {
				f.dateIn, f.dateOut = v.Str, ""
				if t, err := parseDate(v.Str); err == nil {
					f.dateOut = t.Format(time.RFC3339Nano)
				}
			}
			if f.dateOut != "" {
				o.setString(f.id, f.dateOut)
				continue
			}
		}
		o.key(f.id)
		var err error
		if o.b, err = m.appendValue(o.b, v, loc, true); err != nil {
			return fmt.Errorf("field %q: %w", f.id, err)
		}
	}
	return nil
}

// dateLayouts are the forms Contentful's web app writes in Date fields (a date; a time to the
// minute, with or without an offset), tried before normalize.Time's longer list.
var dateLayouts = []string{"2006-01-02", "2006-01-02T15:04Z07:00", "2006-01-02T15:04", time.RFC3339Nano}

// parseDate reads a Date field: a date, a local time (taken as UTC), or a time with an offset.
func parseDate(s string) (time.Time, error) {
	if len(s) < len("2006-01-02") || s[4] != '-' || s[7] != '-' {
		return time.Time{}, fmt.Errorf("date %q: want YYYY-MM-DD[Thh:mm[:ss][zone]]", s)
	}
	for _, l := range dateLayouts {
		if len(s) >= len("2006-01-02") && (len(l) == len(s) || l == time.RFC3339Nano || strings.HasSuffix(l, "Z07:00")) {
			if t, err := time.Parse(l, s); err == nil {
				return t.UTC(), nil
			}
		}
	}
	return normalize.Time(s)
}

// assetFields sets an asset's fields in one locale: title, description, alt, and what file says.
func (m *mapper) assetFields(o *object, fields []field, loc string) {
	order := m.order[loc]
	for i := range fields {
		f := &fields[i]
		v, ok := f.lookup(order)
		if !ok {
			continue
		}
		switch f.id {
		case "title":
			if v.Type == gjson.String {
				o.setString("title", v.Str)
			}
		case "description":
			if v.Type == gjson.String {
				o.setString("description", v.Str)
				o.setString("alt", v.Str)
			}
		case "file":
			if u := v.Get("url"); u.Type == gjson.String && u.Str != "" {
				o.setString("url", absoluteURL(u.Str))
			}
			if c := v.Get("contentType"); c.Type == gjson.String {
				o.setString("mimeType", c.Str)
			}
			if n := v.Get("fileName"); n.Type == gjson.String {
				o.setString("fileName", n.Str)
			}
			for _, kp := range [...][2]string{{"size", "details.size"}, {"width", "details.image.width"}, {"height", "details.image.height"}} {
				if n := v.Get(kp[1]); n.Type == gjson.Number {
					o.key(kp[0])
					o.b = append(o.b, n.Raw...)
				}
			}
		}
	}
}

// absoluteURL prefixes Contentful's protocol-relative asset URLs (//images.ctfassets.net/...) with
// https:.
func absoluteURL(u string) string {
	if strings.HasPrefix(u, "//") {
		return "https:" + u
	}
	return u
}

// appendValue appends a field value (or, for raw, a whole item), with every Entry or Asset link
// replaced by a $ref to the target's node in locale loc when links is set, and the key of every
// object whose only key is $ref (or $$ref, ...) given one more "$". White space is dropped.
func (m *mapper) appendValue(dst []byte, v gjson.Result, loc string, links bool) ([]byte, error) {
	if !needsWalk(v.Raw) {
		return append(dst, v.Raw...), nil
	}
	w := rewriter{m: m, loc: loc, links: links, src: v.Raw}
	dst, err := w.value(dst, 0)
	if err == nil {
		w.space()
		if w.pos != len(w.src) {
			err = w.errorf("unexpected data after the value")
		}
	}
	return dst, err
}

// needsWalk reports whether a raw JSON value may hold a link or a $ref key: if it has no "sys",
// no "ref" and no escape sequence, it is copied as is.
func needsWalk(raw string) bool {
	return strings.Contains(raw, "sys") || strings.Contains(raw, "ref") || strings.Contains(raw, `\`)
}

// rewriter copies a JSON value in one pass, rewriting links and $ref keys on the way out: an object
// is copied, then replaced when it turns out to be a link (its only key is sys, and sys says Link).
type rewriter struct {
	m     *mapper
	loc   string
	links bool
	src   string
	pos   int
}

func (w *rewriter) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: value at offset %d: %s", mesh.ErrBadResponse, w.pos, fmt.Sprintf(format, args...))
}

func (w *rewriter) space() {
	for w.pos < len(w.src) {
		switch w.src[w.pos] {
		case ' ', '\t', '\n', '\r':
			w.pos++
		default:
			return
		}
	}
}

func (w *rewriter) value(dst []byte, depth int) ([]byte, error) {
	if depth > maxDepth {
		return dst, w.errorf("nested deeper than %d", maxDepth)
	}
	w.space()
	if w.pos >= len(w.src) {
		return dst, w.errorf("unexpected end")
	}
	switch w.src[w.pos] {
	case '{':
		return w.object(dst, depth)
	case '[':
		return w.array(dst, depth)
	case '"':
		raw, _, err := w.str()
		return append(dst, raw...), err
	}
	start := w.pos
	for w.pos < len(w.src) {
		c := w.src[w.pos]
		if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			break
		}
		w.pos++
	}
	if w.pos == start {
		return dst, w.errorf("unexpected character %q", w.src[w.pos])
	}
	return append(dst, w.src[start:w.pos]...), nil
}

// str reads a string: its raw text (quotes included) and, when it has escapes, its value decoded
// (else the raw text without the quotes).
func (w *rewriter) str() (raw, value string, err error) {
	start := w.pos
	w.pos++
	escaped := false
	for w.pos < len(w.src) {
		switch w.src[w.pos] {
		case '\\':
			escaped = true
			w.pos += 2
			continue
		case '"':
			w.pos++
			raw = w.src[start:w.pos]
			if !escaped {
				return raw, raw[1 : len(raw)-1], nil
			}
			return raw, unquote(raw), nil
		}
		w.pos++
	}
	return w.src[start:], "", w.errorf("unterminated string")
}

// unquote decodes a JSON string with escapes (rare in keys, which is where it is needed); a string
// that does not decode gives "", which matches no key the rewriter looks for.
func unquote(raw string) string {
	var v string
	if json.Unmarshal([]byte(raw), &v) != nil {
		return ""
	}
	return v
}

func (w *rewriter) array(dst []byte, depth int) ([]byte, error) {
	w.pos++ // [
	dst = append(dst, '[')
	w.space()
	if w.pos < len(w.src) && w.src[w.pos] == ']' {
		w.pos++
		return append(dst, ']'), nil
	}
	for {
		var err error
		if dst, err = w.value(dst, depth+1); err != nil {
			return dst, err
		}
		w.space()
		if w.pos >= len(w.src) {
			return dst, w.errorf("unterminated array")
		}
		switch w.src[w.pos] {
		case ',':
			w.pos++
			dst = append(dst, ',')
		case ']':
			w.pos++
			return append(dst, ']'), nil
		default:
			return dst, w.errorf("expected ',' or ']'")
		}
	}
}

func (w *rewriter) object(dst []byte, depth int) ([]byte, error) {
	start := len(dst)
	w.pos++ // {
	dst = append(dst, '{')
	w.space()
	if w.pos < len(w.src) && w.src[w.pos] == '}' {
		w.pos++
		return append(dst, '}'), nil
	}
	firstKey, distinct := "", 0
	for {
		w.space()
		if w.pos >= len(w.src) || w.src[w.pos] != '"' {
			return dst, w.errorf("expected a key")
		}
		raw, key, err := w.str()
		if err != nil {
			return dst, err
		}
		if distinct == 0 || (distinct == 1 && key != firstKey) {
			if distinct == 0 {
				firstKey = key
			}
			distinct++
		}
		dst = append(dst, raw...)
		w.space()
		if w.pos >= len(w.src) || w.src[w.pos] != ':' {
			return dst, w.errorf("expected ':'")
		}
		w.pos++
		dst = append(dst, ':')
		if dst, err = w.value(dst, depth+1); err != nil {
			return dst, err
		}
		w.space()
		if w.pos >= len(w.src) {
			return dst, w.errorf("unterminated object")
		}
		if w.src[w.pos] == ',' {
			w.pos++
			dst = append(dst, ',')
			continue
		}
		if w.src[w.pos] != '}' {
			return dst, w.errorf("expected ',' or '}'")
		}
		w.pos++
		dst = append(dst, '}')
		break
	}
	if distinct != 1 {
		return dst, nil
	}
	if w.links && firstKey == gjSys {
		if ns, id, ok := linkTarget(gjson.Parse(string(dst[start:]))); ok {
			return w.m.appendRef(dst[:start], ns, id, w.loc), nil
		}
	}
	if rest := strings.TrimLeft(firstKey, "$"); rest == "ref" && len(rest) < len(firstKey) {
		obj := gjson.Parse(string(dst[start:]))
		// The engine would read this object as a reference: give its key one more "$".
		out := append(dst[:start], '{') // obj is a copy: dst can be overwritten
		first := true
		obj.ForEach(func(_, v gjson.Result) bool {
			if !first {
				out = append(out, ',')
			}
			first = false
			out = mesh.AppendString(out, "$"+firstKey)
			out = append(out, ':')
			out = append(out, v.Raw...)
			return true
		})
		return append(out, '}'), nil
	}
	return dst, nil
}

// linkTarget reads a link object, {"sys": {"type": "Link", "linkType": "Entry", "id": "..."}} (its
// only key is sys; when repeated, the last one counts, as for the engine): the namespace and id of
// its target.
func linkTarget(v gjson.Result) (ns, id string, ok bool) {
	var sys gjson.Result
	only := true
	v.ForEach(func(k, val gjson.Result) bool {
		only, sys = k.Str == gjSys, val
		return only
	})
	if !only || sys.Get("type").String() != typeLink {
		return "", "", false
	}
	tid := sys.Get("id")
	if tid.Type != gjson.String || tid.Str == "" {
		return "", "", false
	}
	switch sys.Get(gjLinkType).String() {
	case typeEntry:
		return nsEntry, tid.Str, true
	case typeAsset:
		return nsAsset, tid.Str, true
	}
	return "", "", false
}
