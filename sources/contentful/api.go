package contentful

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/tidwall/gjson"
	"golang.org/x/sync/errgroup"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
)

// API origins: the Content Delivery API (published content, Sync API) and the Content Preview API
// (drafts too, no Sync API).
const (
	DeliveryBaseURL = "https://cdn.contentful.com"
	PreviewBaseURL  = "https://preview.contentful.com"
)

// Paths under /spaces/{space}/environments/{environment}.
const (
	pathLocales      = "/locales"
	pathContentTypes = "/content_types"
	pathEntries      = "/entries"
	pathAssets       = "/assets"
	pathSync         = "/sync"
)

// Query parameters.
const (
	paramSkip        = "skip"
	paramLimit       = "limit"
	paramOrder       = "order"
	paramLocale      = "locale"
	paramInclude     = "include"
	paramContentType = "content_type"
	paramInitial     = "initial"
	paramType        = "type"
	paramSyncToken   = "sync_token"
)

// Page sizes. The delivery API's collections take at most 1000 items per page; the Sync API's
// reference says "Max is 100, default is 100" (contentful.js types say 1000: not relied upon).
const (
	maxListLimit = 1000
	maxSyncLimit = 100
)

// Sync chain types (the `type` parameter of an initial sync).
const (
	syncAll      = "all"
	syncAsset    = "Asset"
	syncEntry    = "Entry"
	syncDeletion = "Deletion"
)

// gjson paths into collections, items and sync pages.
const (
	gjTotal         = "total"
	gjItems         = "items"
	gjSys           = "sys"
	gjSysType       = "sys.type"
	gjSysID         = "sys.id"
	gjSysUpdatedAt  = "sys.updatedAt"
	gjSysDeletedAt  = "sys.deletedAt"
	gjFields        = "fields"
	gjNextPageURL   = "nextPageUrl"
	gjNextSyncURL   = "nextSyncUrl"
	gjLinkType      = "linkType"
	gjLocaleCode    = "code"
	gjLocaleDefault = "default"
	gjLocaleFall    = "fallbackCode"
)

// Item types (sys.type).
const (
	typeEntry        = "Entry"
	typeAsset        = "Asset"
	typeDeletedEntry = "DeletedEntry"
	typeDeletedAsset = "DeletedAsset"
	typeLink         = "Link"
)

// Node ID namespaces (DESIGN section 3).
const (
	nsEntry = "Entry"
	nsAsset = "Asset"
)

// envPath is the space and environment prefix of every path.
func envPath(space, env string) string {
	return "/spaces/" + url.PathEscape(space) + "/environments/" + url.PathEscape(env)
}

// Error is an error answer of Contentful, with what to fix. It unwraps to the *fetch.StatusError,
// and through it to the mesh sentinel of the status (mesh.ErrUnauthorized for 401, mesh.ErrForbidden
// for 403, mesh.ErrNotFound for 404, ...).
type Error struct {
	// ID is Contentful's error id (sys.id of the error body): AccessTokenInvalid, AccessDenied,
	// NotFound, BadRequest, InvalidQuery, RateLimitExceeded, ServerError, ...; empty when the body
	// had none.
	ID string
	// RequestID is Contentful's request id (requestId, or the X-Contentful-Request-Id header), to
	// quote to Contentful's support.
	RequestID string
	// Hint says what to fix, naming the configuration key.
	Hint string
	// Err is the underlying error, usually a *fetch.StatusError.
	Err error
}

func (e *Error) Error() string { return "contentful: " + e.Hint + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// errorBody reads Contentful's error shape:
//
//	{"sys": {"type": "Error", "id": "NotFound"}, "message": "...", "details": {...}, "requestId": "..."}
//
// ok is false when body is not that shape.
func errorBody(body []byte) (id, message, requestID string, ok bool) {
	if !gjson.ValidBytes(body) {
		return "", "", "", false
	}
	r := gjson.ParseBytes(body)
	if !r.IsObject() || r.Get(gjSysType).String() != "Error" {
		return "", "", "", false
	}
	id = r.Get(gjSysID).String()
	message = r.Get("message").String()
	// 400s may carry details.errors[] ({"name": "unknown", "path": [...], "details": "..."}).
	if d := r.Get("details.errors.0"); d.IsObject() {
		detail := d.Get("details").String()
		if detail == "" {
			detail = d.Get("name").String()
		}
		if p := d.Get("path"); p.Exists() && detail != "" {
			detail += " at " + p.Raw
		}
		if detail != "" {
			message = strings.TrimSuffix(message, ".") + ": " + detail
		}
	}
	return id, message, r.Get("requestId").String(), true
}

// errorMessage is the fetch.Config.ErrorMessage of the adapter: "NotFound: The resource could not
// be found. (requestId 85f-830831809)", or the default picker for bodies of another shape.
func errorMessage(status int, body []byte) string {
	id, msg, reqID, ok := errorBody(body)
	if !ok {
		return fetch.DefaultErrorMessage(status, body)
	}
	var b strings.Builder
	b.WriteString(id)
	if msg != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(msg)
	}
	if reqID != "" {
		b.WriteString(" (requestId " + reqID + ")")
	}
	return oneLine(b.String(), 400)
}

// oneLine collapses white space and control characters, drops invalid UTF-8 and bounds the length.
func oneLine(s string, maxRunes int) string {
	var b strings.Builder
	space, n := false, 0
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if n >= maxRunes {
			b.WriteString("…")
			break
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// tooBig reports an answer to a page that was larger than Contentful's maximum response size:
// 400 BadRequest "Response size too big. Maximum allowed response size: 7340032B." The cure is a
// smaller page (a lower limit).
func tooBig(err error) bool {
	var se *fetch.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusBadRequest {
		return false
	}
	_, msg, _, ok := errorBody(se.Body)
	if !ok {
		msg = string(se.Body)
	}
	return strings.Contains(strings.ToLower(msg), "response size too big")
}

// statusOf returns the HTTP status of a failed request, 0 when there was no answer.
func statusOf(err error) int {
	var se *fetch.StatusError
	if errors.As(err, &se) {
		return se.StatusCode
	}
	return 0
}

// tokenRejected reports a delta sync request whose stored token the API no longer accepts (400,
// 404 or 410 to a request made with a token from the last build): the chain starts over with an
// initial sync.
func tokenRejected(err error) bool {
	switch statusOf(err) {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusGone:
		return !tooBig(err)
	}
	return false
}

// syncToken reads the sync_token parameter of a nextPageUrl or nextSyncUrl.
func syncToken(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: unparsable sync URL", mesh.ErrBadResponse)
	}
	tok := u.Query().Get(paramSyncToken)
	if tok == "" {
		return "", fmt.Errorf("%w: sync URL %s has no sync_token", mesh.ErrBadResponse, fetch.RedactURL(u, nil))
	}
	return tok, nil
}

// syncPage reads the continuation of a sync page: the token of nextPageUrl (more pages in this
// sync) or of nextSyncUrl (the sync is complete; done is true).
func syncPage(body gjson.Result) (token string, done bool, err error) {
	if next := body.Get(gjNextPageURL); next.Exists() {
		if next.Type != gjson.String {
			return "", false, fmt.Errorf("%w: nextPageUrl is not a string", mesh.ErrBadResponse)
		}
		tok, err := syncToken(next.Str)
		return tok, false, err
	}
	if next := body.Get(gjNextSyncURL); next.Exists() {
		if next.Type != gjson.String {
			return "", false, fmt.Errorf("%w: nextSyncUrl is not a string", mesh.ErrBadResponse)
		}
		tok, err := syncToken(next.Str)
		return tok, true, err
	}
	return "", false, fmt.Errorf("%w: sync page has neither nextPageUrl nor nextSyncUrl", mesh.ErrBadResponse)
}

// listing is one collection of the delivery API: a path and its query, without skip and limit.
type listing struct {
	path  string
	query url.Values
}

// itemsFunc receives the items array of one page. It may be called from several goroutines at once.
type itemsFunc func(items gjson.Result) error

// list reads every page of a collection, limit items per page: the first page, then (its total
// known) every other page concurrently, with the shared fetch.Offset helper. Pages that Contentful
// refuses as too large are fetched again in halves (see listRange).
func (s *Source) list(ctx context.Context, l listing, limit int, each itemsFunc) error {
	return s.listRange(ctx, l, 0, -1, limit, each)
}

// listRange reads the items [start, start+count) of a collection (count < 0: to the end) in pages
// of limit. When a page is refused with "Response size too big", the pages that did not arrive are
// read again as ranges of their own with half the limit, concurrently, down to one item per page;
// the pages that arrived are not read again, so no item is emitted twice.
func (s *Source) listRange(ctx context.Context, l listing, start, count, limit int, each itemsFunc) error {
	if count == 0 {
		return nil
	}
	var (
		mu      sync.Mutex
		done    = map[int]bool{}
		total   = -1
		eachErr error
	)
	err := s.client.Offset(ctx, fetch.OffsetPages{
		Page: func(i int) *fetch.Request {
			skip := start + i*limit
			n := limit
			if count > 0 {
				n = min(limit, start+count-skip)
			}
			q := cloneValues(l.query)
			q.Set(paramSkip, strconv.Itoa(skip))
			q.Set(paramLimit, strconv.Itoa(n))
			return &fetch.Request{URL: l.path, Query: q}
		},
		PageSize: limit,
		Total: func(first *fetch.Response) (int, error) {
			t := first.Get(gjTotal)
			if t.Type != gjson.Number || t.Num < 0 || t.Num != float64(int64(t.Num)) || t.Num > 1e9 {
				return 0, fmt.Errorf("%w: no total", mesh.ErrBadResponse)
			}
			n := int(t.Num)
			mu.Lock()
			total = n
			mu.Unlock()
			rest := n - start
			if count > 0 {
				rest = min(rest, count)
			}
			return max(rest, 0), nil
		},
	}, func(i int, r *fetch.Response) error {
		items := r.Get(gjItems)
		if !items.IsArray() {
			return fmt.Errorf("%s: %w: no items array", r.URL, mesh.ErrBadResponse)
		}
		if err := each(items); err != nil {
			mu.Lock()
			if eachErr == nil {
				eachErr = fmt.Errorf("%s: %w", r.URL, err)
			}
			mu.Unlock()
			return err
		}
		mu.Lock()
		done[i] = true
		mu.Unlock()
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	switch {
	case err == nil:
		return nil
	case eachErr != nil:
		return eachErr
	case !tooBig(err) || limit <= 1:
		return err
	}
	half := limit / 2
	if total < 0 { // the first page was refused: start over with smaller pages
		return s.listRange(ctx, l, start, count, half, each)
	}
	rest := total - start
	if count > 0 {
		rest = min(rest, count)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.client.Options().Concurrency)
	for i := 0; i*limit < rest; i++ {
		if done[i] {
			continue
		}
		from, n := start+i*limit, min(limit, rest-i*limit)
		g.Go(func() error { return s.listRange(gctx, l, from, n, half, each) })
	}
	return g.Wait()
}

// chain is one sync chain: the `type` of its initial sync and, for entries, the content type.
type chain struct {
	// key names the chain in the cursor: "Asset", "Deletion", "Entry:<content type>", or "all".
	key string
	typ string
	ct  string
	// schema is the content type's fingerprint (Entry chains).
	schema string
}

// walkChain walks a sync chain with the shared fetch.Cursor helper: from token (a nextSyncUrl token
// of the last build), or from an initial sync when token is empty, page after page (nextPageUrl),
// calling each for every page's items (and its redacted URL) in order, to the nextSyncUrl, whose
// token it returns. pages counts the pages handed to each, so that a caller can tell a refused first
// request.
func (s *Source) walkChain(ctx context.Context, c chain, token string, limit int, pages *int, each func(items gjson.Result, pageURL string) error) (string, error) {
	final := ""
	err := s.client.Cursor(ctx, fetch.CursorPages{
		Request: func(cur string) *fetch.Request {
			q := url.Values{}
			switch {
			case cur != "":
				q.Set(paramSyncToken, cur)
			case token != "":
				q.Set(paramSyncToken, token)
			default:
				q.Set(paramInitial, "true")
				if c.typ != syncAll {
					q.Set(paramType, c.typ)
				}
				if c.ct != "" {
					q.Set(paramContentType, c.ct)
				}
				q.Set(paramLimit, strconv.Itoa(limit))
			}
			return &fetch.Request{URL: s.base + pathSync, Query: q}
		},
		Next: func(r *fetch.Response) (string, error) {
			tok, done, err := syncPage(gjson.ParseBytes(r.Body))
			if err != nil {
				return "", fmt.Errorf("%s: %w", r.URL, err)
			}
			if done {
				final = tok
				return "", nil
			}
			return tok, nil
		},
	}, func(_ int, r *fetch.Response) error {
		items := r.Get(gjItems)
		if !items.IsArray() {
			return fmt.Errorf("%s: %w: no items array", r.URL, mesh.ErrBadResponse)
		}
		*pages++
		return each(items, r.URL)
	})
	if err != nil {
		return "", err
	}
	return final, nil
}
