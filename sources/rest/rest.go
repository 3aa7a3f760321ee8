// Package rest is a mesh.Source for any JSON API, configured rather than programmed: the first page's
// URL, the headers, gjson paths to the items, to each item's id and to the next page, and the node
// type. A user adds a service that has no adapter of its own without writing Go.
//
// # Configuration
//
//	sources:
//	  - name: users
//	    type: rest
//	    url: https://api.example.com/v1/users?status=active   # the first page
//	    items: data                # gjson path to the array of items; "@this" for a bare array
//	    id: id                     # gjson path, in each item, to its id (a string or a number)
//	    nodeType: User             # the node type, PascalCase
//	    next: links.next           # gjson path to the next page's URL, or "link" for the Link header
//	    headers:                   # sent with every request; values are secrets
//	      Authorization: Bearer ${EXAMPLE_TOKEN}
//	    namespace: user            # optional; default: nodeType in lower case
//	    updatedAt: updated_at      # optional gjson path to an RFC 3339 time or Unix seconds
//	    refs:                      # optional: fields holding ids of other nodes
//	      managerId: user          #   a namespace of this source
//	      teamId: teams/team       #   "<source>/<namespace>" of another source
//	    pageSize: 100              # optional page size, sent as pageParam
//	    pageParam: limit
//	    baseURL: http://127.0.0.1:9000  # optional; url may then be a path under it
//	    timeout: 30s               # and the other mesh/fetch options: retries, concurrency,
//	    requestsPerSecond: 5       # requestsPerSecond, maxRetryAfter, maxBodyBytes, ...
//
// url is the first page; next page URLs come from the API, absolute or relative to the page that
// named them. An empty next key means a single page. next names a gjson path whose value is the next
// URL; absent, null, false or "" there ends the listing. With next: link, the listing follows the
// Link header's rel="next" target until a page has none. A next URL on another host than url's is an
// error: the headers, which carry credentials, are sent to the configured host only.
//
// pageSize and pageParam set the page size when the API takes one: the first page's URL gets
// pageParam=pageSize (replacing a value written in url), and so does a next URL that lacks the
// parameter. When the engine asks for a page size (mesh.FetchRequest.PageSize, as the conformance
// suite does), it wins over pageSize, provided pageParam is set.
//
// # Authentication
//
// Whatever the API needs, as headers (Authorization: Bearer ..., X-Api-Key: ...). Header values are
// secrets: they are never logged, never printed by Config's String or LogValue, and scrubbed from
// provider messages echoed in errors. Secrets in the URL's query (token, key, api_key, ...) are
// redacted from every URL shown (see mesh/fetch).
//
// # Rate limits
//
// Those of mesh/fetch, set by the inlined options: at most concurrency requests in flight,
// requestsPerSecond, retries of 429 and 5xx answers honoring Retry-After and X-RateLimit-Reset up to
// maxRetryAfter. Pages of one listing are fetched one after the other, since each names the next.
//
// # Mapping
//
// Each item of each page is one node: ID mesh.NodeID(source, namespace, id), type nodeType,
// nativeId the item's id, fields the item object as the API sent it (the engine normalizes the
// JSON), with each refs field rewritten. The id is read as a string: a string as is, a number as
// written (never through a float, so large ids keep every digit). An item without an id, an item that
// is not an object, or an items path that does not hold an array is an error naming the page, the
// item's index and the redacted URL; so is a page repeating an earlier URL (a loop).
//
// A refs entry maps a field of the item (a gjson path such as userId or author.id) to the namespace
// its value points into. A value without '/' is a namespace of this source (nodeType is accepted for
// this source's own namespace); "<source>/<namespace>" points into another source. The field's value
// (an id, or an array of ids) becomes {"$ref": "<source>/<namespace>/<id>"} (or an array of them);
// an absent or null field is left alone. The API's own objects whose only key is "$ref" (JSON Schema
// documents have them) would read as references: their key gets one more "$" ("$$ref"; "$$ref"
// becomes "$$$ref", and so on). Two rest sources reference each other this way
// (refs: {userId: users/user}), and a files source's nodes are reached through their folder
// (refs: {authorHandle: blog/authors} points at blog/authors/<handle>, the node of
// authors/<handle>.md).
//
// # Incremental sync
//
// The cursor keeps, for every page of the last fetch, its URL, its ETag and Last-Modified
// validators, the next URL it named and the IDs it held. The next fetch sends each page's request
// with If-None-Match / If-Modified-Since when its URL is the same as last time. A page answered 304
// is taken from the cursor (its IDs and next URL); a page answered 200 is read and its items
// upserted. When at least one page was 304 the result is a delta (Delta=true): the upserts, plus
// deletes for the IDs no page holds any more; an unchanged single-page API costs one request. When
// no page was 304 (the API sends no validators) the result is a full fetch. A cursor made by another
// configuration is ignored.
package rest

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

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
)

// Kind is the adapter's name, the config's `type: rest`.
const Kind = "rest"

// Config configures a rest Source. Its yaml keys are part of the configuration contract.
type Config struct {
	// URL is the first page: absolute, or a path under BaseURL.
	URL string `yaml:"url"`
	// BaseURL, when set, is the API origin that a relative URL is appended to (a test server or a
	// proxy). Next URLs named by the API are used as they are.
	BaseURL string `yaml:"baseURL,omitempty"`
	// Items is the gjson path to the array of items on a page; "@this" for a bare array.
	Items string `yaml:"items"`
	// ID is the gjson path to an item's id, inside the item.
	ID string `yaml:"id"`
	// NodeType is the type of the nodes, PascalCase (e.g. "Product").
	NodeType string `yaml:"nodeType"`
	// Next is the gjson path to the next page's URL, or "link" for the Link header's rel="next";
	// empty for a single page.
	Next string `yaml:"next,omitempty"`
	// Headers are sent with every request. Their values are secrets: never logged or printed.
	Headers Headers `yaml:"headers,omitempty"`
	// Namespace is the middle part of node IDs; empty means NodeType in lower case.
	Namespace string `yaml:"namespace,omitempty"`
	// UpdatedAt is an optional gjson path to the item's change time (RFC 3339 or Unix seconds).
	UpdatedAt string `yaml:"updatedAt,omitempty"`
	// Refs maps an item field (a gjson path of plain keys) to the namespace its ids point into: a
	// namespace of this source, or "<source>/<namespace>".
	Refs map[string]string `yaml:"refs,omitempty"`
	// PageSize, with PageParam, sets the page size when the API takes one.
	PageSize int `yaml:"pageSize,omitempty"`
	// PageParam is the query parameter that carries the page size (e.g. "limit", "per_page").
	PageParam string `yaml:"pageParam,omitempty"`

	// Options are the mesh/fetch knobs: timeout, retries, concurrency, requestsPerSecond, ...
	fetch.Options `yaml:",inline"`
}

// Headers are HTTP headers whose values are secrets: String, GoString, LogValue, MarshalJSON and
// MarshalYAML show the names with REDACTED values, so a config that is printed, logged or saved never
// carries them. Decoding is the ordinary map decoding.
type Headers map[string]string

// redacted returns the headers with every value replaced by fetch.Redacted.
func (h Headers) redacted() map[string]string {
	out := make(map[string]string, len(h))
	for k := range h {
		out[k] = fetch.Redacted
	}
	return out
}

// MarshalJSON writes the header names with redacted values.
func (h Headers) MarshalJSON() ([]byte, error) { return json.Marshal(h.redacted()) }

// MarshalYAML writes the header names with redacted values.
func (h Headers) MarshalYAML() (any, error) { return h.redacted(), nil }

// String lists the header names with their values redacted.
func (h Headers) String() string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString("map[")
	for i, k := range names {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteString(":" + fetch.Redacted)
	}
	b.WriteByte(']')
	return b.String()
}

// GoString is String, so that %#v does not print the values either.
func (h Headers) GoString() string { return "rest.Headers" + h.String() }

// LogValue implements slog.LogValuer: the names with redacted values.
func (h Headers) LogValue() slog.Value { return slog.StringValue(h.String()) }

// Source reads a JSON API. It is safe for concurrent use.
type Source struct {
	cfg         Config
	client      *fetch.Client
	dec         decoder // template; source filled per Fetch
	fingerprint string
	header      http.Header
	host        string // the first page's host: next pages must stay on it
}

var (
	_ mesh.Source  = (*Source)(nil)
	_ mesh.Checker = (*Source)(nil)
)

var (
	nodeTypeRE = regexp.MustCompile(`^[A-Z][A-Za-z0-9_]*$`)
	// plainPathRE is a gjson path of plain keys separated by dots.
	plainPathRE = regexp.MustCompile(`^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$`)
	headerRE    = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
)

// New validates cfg and returns a Source. It does no I/O. Errors wrap mesh.ErrInvalidConfig and name
// the key.
func New(cfg Config) (*Source, error) {
	bad := func(key, format string, args ...any) error {
		return &mesh.ConfigError{Where: fmt.Sprintf("rest: key %q", key), Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case cfg.URL == "":
		return nil, bad("url", "required: the first page's URL")
	case cfg.Items == "":
		return nil, bad("items", "required: the gjson path to the array of items (\"@this\" for a bare array)")
	case cfg.ID == "":
		return nil, bad("id", "required: the gjson path to each item's id")
	case cfg.NodeType == "":
		return nil, bad("nodeType", "required: the node type, e.g. Product")
	case !nodeTypeRE.MatchString(cfg.NodeType):
		return nil, bad("nodeType", "%q: want PascalCase letters and digits, e.g. BlogPost", cfg.NodeType)
	case cfg.PageSize < 0:
		return nil, bad("pageSize", "must not be negative")
	case cfg.PageSize > 0 && cfg.PageParam == "":
		return nil, bad("pageParam", "required with pageSize: the query parameter that takes the page size")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, bad("url", "not a URL")
	}
	if u.IsAbs() {
		if u.Scheme != "http" && u.Scheme != "https" {
			return nil, bad("url", "want an http or https URL, got scheme %q", u.Scheme)
		}
		if u.Host == "" {
			return nil, bad("url", "no host in %s", fetch.RedactURL(u, nil))
		}
	} else if cfg.BaseURL == "" {
		return nil, bad("url", "%s is relative: set baseURL or write the whole URL", fetch.RedactURL(u, nil))
	}
	host := u.Host
	if !u.IsAbs() {
		if bu, err := url.Parse(cfg.BaseURL); err == nil {
			host = bu.Host
		}
	}
	if cfg.Namespace == "" {
		cfg.Namespace = strings.ToLower(cfg.NodeType)
	}
	if strings.ContainsAny(cfg.Namespace, "/@%") {
		return nil, bad("namespace", "%q: '/', '@' and '%%' are not allowed", cfg.Namespace)
	}
	header := http.Header{}
	for k, v := range cfg.Headers {
		if !headerRE.MatchString(k) {
			return nil, bad("headers", "%q is not a header name", k)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, bad("headers", "the value of %s has a line break", k)
		}
		header.Set(k, v)
	}
	dec := decoder{items: cfg.Items, id: cfg.ID, namespace: cfg.Namespace, nodeType: cfg.NodeType, updatedAt: cfg.UpdatedAt}
	for field, target := range cfg.Refs {
		if !plainPathRE.MatchString(field) {
			return nil, bad("refs", "field %q: want plain keys separated by dots (e.g. author.id)", field)
		}
		t, err := parseRefTarget(target, cfg)
		if err != nil {
			return nil, bad("refs", "field %s: %v", field, err)
		}
		dec.refs = append(dec.refs, refField{path: field, target: t})
	}
	slices.SortFunc(dec.refs, func(a, b refField) int { return strings.Compare(a.path, b.path) })
	for i := 1; i < len(dec.refs); i++ {
		if strings.HasPrefix(dec.refs[i].path, dec.refs[i-1].path+".") {
			return nil, bad("refs", "field %s is inside field %s", dec.refs[i].path, dec.refs[i-1].path)
		}
	}
	client, err := fetch.New(fetch.Config{
		BaseURL: cfg.BaseURL,
		Auth: func(r *http.Request) error {
			for k := range header {
				r.Header.Set(k, header.Get(k))
			}
			return nil
		},
	}, cfg.Options)
	if err != nil {
		return nil, err
	}
	// The cursor is only good for the configuration that made it.
	fp := fmt.Appendf(nil, "v1\x00%q\x00%q\x00%q\x00%q\x00%q\x00%q\x00%q\x00%q\x00%d\x00%q",
		cfg.URL, cfg.BaseURL, cfg.Items, cfg.ID, cfg.NodeType, cfg.Next, cfg.Namespace, cfg.UpdatedAt, cfg.PageSize, cfg.PageParam)
	for _, rf := range dec.refs {
		fp = fmt.Appendf(fp, "\x00%q=%q/%q", rf.path, rf.target.source, rf.target.namespace)
	}
	h := sha256.Sum256(fp)
	return &Source{cfg: cfg, client: client, dec: dec, fingerprint: hex.EncodeToString(h[:8]), header: header, host: host}, nil
}

// parseRefTarget reads a refs value: "<namespace>" of this source (the node type names this source's
// own namespace) or "<source>/<namespace>".
func parseRefTarget(v string, cfg Config) (refTarget, error) {
	src, ns, other := strings.Cut(v, "/")
	if !other {
		ns, src = v, ""
		if ns == cfg.NodeType {
			ns = cfg.Namespace
		}
	} else if !mesh.ValidSourceName(src) {
		return refTarget{}, fmt.Errorf("%q: want <namespace> or <source>/<namespace> with a valid source name", v)
	}
	if ns == "" || strings.ContainsAny(ns, "/@%") {
		return refTarget{}, fmt.Errorf("%q: want <namespace> or <source>/<namespace>", v)
	}
	return refTarget{source: src, namespace: ns}, nil
}

// Kind implements mesh.Source.
func (s *Source) Kind() string { return Kind }

// String describes the source without its secrets.
func (s *Source) String() string {
	return fmt.Sprintf("rest %s %s", s.cfg.NodeType, s.client.Redact(s.cfg.URL))
}

// Check implements mesh.Checker: it requests the first page and checks that its items path holds an
// array.
func (s *Source) Check(ctx context.Context) error {
	defer s.client.CloseIdleConnections()
	r, err := s.client.DoJSON(ctx, &fetch.Request{URL: s.firstURL(0)})
	if err != nil {
		return fmt.Errorf("rest: %w", err)
	}
	d := s.dec
	d.source = "check"
	if _, err := d.decodePage(r.Body, r.URL); err != nil {
		return fmt.Errorf("rest: %w", err)
	}
	return nil
}

// pageSize is the page size to request: the engine's, else the config's; 0 means none.
func (s *Source) pageSize(req mesh.FetchRequest) int {
	if s.cfg.PageParam == "" {
		return 0
	}
	if req.PageSize > 0 {
		return req.PageSize
	}
	return s.cfg.PageSize
}

// firstURL is the first page's URL with the page size set.
func (s *Source) firstURL(size int) string {
	if size <= 0 {
		return s.cfg.URL
	}
	return setParam(s.cfg.URL, s.cfg.PageParam, strconv.Itoa(size), true)
}

// setParam sets a query parameter of raw. Unless replace is set, a URL that already has it is kept.
// The rest of the query is kept byte for byte.
func setParam(raw, name, value string, replace bool) string {
	base, frag, hasFrag := strings.Cut(raw, "#")
	path, query, _ := strings.Cut(base, "?")
	var parts []string
	found := false
	for _, p := range strings.Split(query, "&") {
		if p == "" {
			continue
		}
		k, _, _ := strings.Cut(p, "=")
		if uk, err := url.QueryUnescape(k); err == nil && uk == name {
			found = true
			if replace {
				continue
			}
		}
		parts = append(parts, p)
	}
	if found && !replace {
		return raw
	}
	parts = append(parts, url.QueryEscape(name)+"="+url.QueryEscape(value))
	out := path + "?" + strings.Join(parts, "&")
	if hasFrag {
		out += "#" + frag
	}
	return out
}

// Fetch implements mesh.Source: it walks the pages from url, emitting one node per item (see the
// package documentation for the incremental behavior).
func (s *Source) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	defer s.client.CloseIdleConnections()
	log := req.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	prev := s.readCursor(req, log)
	dec := s.dec
	dec.source = req.Source
	size := s.pageSize(req)

	next := cursor{V: 1, Fingerprint: s.fingerprint, Source: req.Source}
	notModified := 0
	page := 0           // the page being fetched: Request, Next and each run in turn for it
	pageURL := ""       // the URL it was requested with
	var cond *pageState // the previous state of that page, when the request was conditional
	var emitErr error
	err := s.client.Cursor(ctx, fetch.CursorPages{
		Request: func(c string) *fetch.Request {
			u := c
			if c == "" {
				u = s.firstURL(size)
			} else if size > 0 {
				u = setParam(c, s.cfg.PageParam, strconv.Itoa(size), false)
			}
			pageURL, cond = u, nil
			r := &fetch.Request{URL: u}
			if prev != nil && page < len(prev.Pages) {
				if p := &prev.Pages[page]; p.URL == u && (p.ETag != "" || p.LastModified != "") {
					cond = p
					r.IfNoneMatch, r.IfModifiedSince = p.ETag, p.LastModified
				}
			}
			return r
		},
		Next: func(r *fetch.Response) (string, error) {
			if r.NotModified {
				if cond == nil {
					return "", fmt.Errorf("%s: %w: 304 Not Modified to a request that was not conditional", r.URL, mesh.ErrBadResponse)
				}
				return cond.Next, nil
			}
			if s.cfg.Next == "" {
				return "", nil
			}
			n, err := nextURL(r, s.cfg.Next)
			if err != nil || n == "" {
				return n, err
			}
			// The headers carry credentials: they go to the host the user configured, and to no
			// other host an API (or whoever controls its data) names.
			if nu, err := url.Parse(n); err != nil || !strings.EqualFold(nu.Host, s.host) {
				return "", fmt.Errorf("%s: %w: the next page %s is on another host than url: refusing to send the headers there",
					r.URL, mesh.ErrBadResponse, s.client.Redact(n))
			}
			return n, nil
		},
	}, func(i int, r *fetch.Response) error {
		page = i + 1
		st := pageState{URL: pageURL}
		if r.NotModified {
			notModified++
			st.ETag, st.LastModified, st.Next, st.IDs = cond.ETag, cond.LastModified, cond.Next, cond.IDs
			next.Pages = append(next.Pages, st)
			return nil
		}
		nodes, err := dec.decodePage(r.Body, r.URL)
		if err != nil {
			return err
		}
		st.ETag, st.LastModified = r.ETag, r.LastModified
		if s.cfg.Next != "" {
			if st.Next, err = nextURL(r, s.cfg.Next); err != nil {
				return err
			}
		}
		st.IDs = make([]string, len(nodes))
		for k, n := range nodes {
			st.IDs[k] = n.ID
			if err := out.Upsert(n); err != nil {
				emitErr = err
				return err
			}
		}
		next.Pages = append(next.Pages, st)
		return nil
	})
	if emitErr != nil {
		return mesh.FetchResult{}, emitErr // unchanged, as the Source contract asks
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return mesh.FetchResult{}, ctxErr
		}
		return mesh.FetchResult{}, fmt.Errorf("rest: %w", err)
	}

	delta := prev != nil && notModified > 0
	if delta {
		held := map[string]bool{}
		for _, p := range next.Pages {
			for _, id := range p.IDs {
				held[id] = true
			}
		}
		var gone []string
		for _, p := range prev.Pages {
			for _, id := range p.IDs {
				if !held[id] {
					gone = append(gone, id)
				}
			}
		}
		slices.Sort(gone)
		for _, id := range slices.Compact(gone) {
			if err := out.Delete(id); err != nil {
				return mesh.FetchResult{}, err
			}
		}
	}
	cur, err := json.Marshal(next)
	if err != nil {
		return mesh.FetchResult{}, fmt.Errorf("rest: encode cursor: %w", err)
	}
	return mesh.FetchResult{Delta: delta, Cursor: cur}, nil
}

// readCursor decodes the request's cursor; nil means no conditional requests.
func (s *Source) readCursor(req mesh.FetchRequest, log *slog.Logger) *cursor {
	if len(req.Cursor) == 0 {
		return nil
	}
	var c cursor
	if err := json.Unmarshal(req.Cursor, &c); err != nil || c.V != 1 {
		log.Warn("rest: unreadable cursor, fetching everything", "err", err)
		return nil
	}
	if c.Fingerprint != s.fingerprint || c.Source != req.Source {
		log.Info("rest: configuration changed since the last fetch, fetching everything")
		return nil
	}
	return &c
}
