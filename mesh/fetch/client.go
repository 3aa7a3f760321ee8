package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	retryablehttp "github.com/hashicorp/go-retryablehttp"
	"github.com/tidwall/gjson"
	"golang.org/x/sync/singleflight"

	"github.com/contentmesh/contentmesh/mesh"
)

// ErrTimeout is wrapped by the error of an attempt that ran longer than Options.Timeout. It is not
// context.DeadlineExceeded, which is reserved for the caller's own context.
var ErrTimeout = errors.New("attempt timed out")

// Client is the HTTP client of one source instance. It is safe for concurrent use; all its requests
// share one adaptive concurrency limit, one token bucket and one reset gate (see the package
// documentation). Make one per source instance with New.
type Client struct {
	cfg     Config
	opts    Options // resolved
	retries int
	base    *url.URL
	hc      *http.Client
	log     *slog.Logger
	errMsg  func(int, []byte) string
	lim     *limiter
	rnd     func(n int64) int64 // jitter: uniform in [0, n)

	requests, retried, throttled, notModified, failures, bytes, wait atomic.Int64

	inflight singleflight.Group // identical GETs in flight share one request
}

// New validates the configuration and returns a client. It does no I/O and starts no goroutine.
// Invalid options give an error wrapping mesh.ErrInvalidConfig that names the key.
func New(cfg Config, opts Options) (*Client, error) {
	o := opts.resolved()
	where := func(key string) string {
		if cfg.Source != "" {
			return fmt.Sprintf("source %q: key %q", cfg.Source, key)
		}
		return fmt.Sprintf("key %q", key)
	}
	if err := o.validate(where); err != nil {
		return nil, err
	}
	base, err := cfg.base()
	if err != nil {
		return nil, &mesh.ConfigError{Where: where("baseURL"), Msg: err.Error()}
	}
	hc := o.HTTPClient
	if hc == nil {
		var t *http.Transport
		if dt, ok := http.DefaultTransport.(*http.Transport); ok {
			t = dt.Clone()
		} else {
			t = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
		}
		t.MaxIdleConnsPerHost = max(o.Concurrency, 2)
		hc = &http.Client{Transport: t}
	}
	hc = withSafeRedirects(hc)
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	errMsg := cfg.ErrorMessage
	if errMsg == nil {
		errMsg = DefaultErrorMessage
	}
	cfg.SecretParams = slices.Clone(cfg.SecretParams)
	return &Client{
		cfg:     cfg,
		opts:    o,
		retries: *o.Retries,
		base:    base,
		hc:      hc,
		log:     log,
		errMsg:  errMsg,
		lim:     newLimiter(o.Concurrency, o.RequestsPerSecond),
		rnd:     rand.Int64N,
	}, nil
}

// redirectSafeHeaders are the request headers kept when a redirect leads to another host; every
// other header (credentials set by Auth such as X-Api-Key, which net/http would forward) is dropped.
var redirectSafeHeaders = map[string]bool{
	"Accept": true, "Accept-Encoding": true, "Accept-Language": true, "User-Agent": true,
	"Content-Type": true, "If-None-Match": true, "If-Modified-Since": true,
}

// withSafeRedirects returns a copy of hc whose redirects to another host carry no credentials, and
// that stops after 10 redirects. hc itself is not modified.
func withSafeRedirects(hc *http.Client) *http.Client {
	c := *hc
	prev := hc.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if prev != nil {
			if err := prev(req, via); err != nil {
				return err
			}
		}
		if req.URL.Host != via[0].URL.Host {
			for k := range req.Header {
				if !redirectSafeHeaders[k] {
					req.Header.Del(k)
				}
			}
		}
		return nil
	}
	return &c
}

// Options returns the options in force, defaults applied.
func (c *Client) Options() Options { return c.opts }

// CloseIdleConnections closes the client's idle keep-alive connections (and so their goroutines).
// Call it when the source is done; the client stays usable.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// Redact returns rawURL with its secrets redacted, using this client's secret parameter names.
func (c *Client) Redact(rawURL string) string { return RedactURLString(rawURL, c.cfg.SecretParams) }

// Stats is a snapshot of a client's counters.
type Stats struct {
	// Requests counts attempts sent, retries included.
	Requests int64
	// Retries counts attempts after the first of their request.
	Retries int64
	// Throttled counts 429 answers and 2xx answers that Config.Throttled called throttling.
	Throttled int64
	// NotModified counts 304 answers.
	NotModified int64
	// Failures counts Do calls that returned an error.
	Failures int64
	// Bytes is the total size of the response bodies read.
	Bytes int64
	// Wait is the time requests spent waiting (rate limiter, reset gate, concurrency limit, backoff),
	// summed over requests: concurrent waits add up.
	Wait time.Duration
	// Concurrency is the adaptive concurrency limit now.
	Concurrency int
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	return Stats{
		Requests:    c.requests.Load(),
		Retries:     c.retried.Load(),
		Throttled:   c.throttled.Load(),
		NotModified: c.notModified.Load(),
		Failures:    c.failures.Load(),
		Bytes:       c.bytes.Load(),
		Wait:        time.Duration(c.wait.Load()),
		Concurrency: c.lim.current(),
	}
}

// Request is one logical request; Do may send it several times.
type Request struct {
	// Method defaults to GET.
	Method string
	// URL is absolute, or a path appended to Config.BaseURL as is ("/spaces/x/entries").
	URL string
	// Query is added to the URL's own query (which is kept byte for byte).
	Query url.Values
	// Header is sent with every attempt. Credentials belong in Config.Auth.
	Header http.Header
	// Body is sent with every attempt.
	Body []byte
	// Idempotent allows retries of a method other than GET, HEAD and OPTIONS (which always are):
	// a POST that only reads, such as a GraphQL query or a search.
	Idempotent bool
	// IfNoneMatch sends If-None-Match (an ETag kept in a cursor); a 304 answer gives a Response with
	// NotModified set and no error.
	IfNoneMatch string
	// IfModifiedSince sends If-Modified-Since (a Last-Modified value kept in a cursor).
	IfModifiedSince string

	// throttled overrides Config.Throttled (GraphQL sets it).
	throttled func(*Response) (time.Duration, bool)
}

// Response is a successful answer (2xx, or 304 to a conditional request).
type Response struct {
	Status int
	Header http.Header
	// Body is the whole body, at most Options.MaxBodyBytes; empty for a 304.
	Body []byte
	// URL is the URL that answered (after redirects), redacted.
	URL string
	// ETag and LastModified are the validators to keep for the next conditional request.
	ETag, LastModified string
	// NotModified is set for a 304 answer.
	NotModified bool
	// Attempts is how many attempts the request took.
	Attempts int

	url     *url.URL // unredacted, for resolving relative links
	secrets secrets  // values to scrub from messages built from the body
}

// Get evaluates a gjson path on the body. Call it on a body checked by DoJSON or GetJSON: gjson does
// not validate.
func (r *Response) Get(path string) gjson.Result { return gjson.GetBytes(r.Body, path) }

// Scrub removes from text the secret values this response's request carried (credential header
// values, secret query parameters), for messages built from a response body.
func (r *Response) Scrub(text string) string { return r.secrets.scrub(text) }

// Resolve resolves a URL reference (a Link header target, a "next" URL in a body) against the URL
// that answered.
func (r *Response) Resolve(ref string) (string, error) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("next URL: %s", redactParseError(err))
	}
	if r.url == nil {
		return u.String(), nil
	}
	return r.url.ResolveReference(u).String(), nil
}

// GetJSON sends a GET with Accept: application/json and checks that the body is valid JSON (an HTML
// error page or a truncated body is an error wrapping mesh.ErrBadResponse that names the redacted
// URL). rawURL is absolute or a path under Config.BaseURL; query is added to it.
func (c *Client) GetJSON(ctx context.Context, rawURL string, query url.Values) (*Response, error) {
	return c.DoJSON(ctx, &Request{URL: rawURL, Query: query})
}

// DoJSON is Do with Accept: application/json (unless the request sets Accept) and a check that the
// body is valid JSON, unless the answer is a 304.
func (c *Client) DoJSON(ctx context.Context, r *Request) (*Response, error) {
	if r == nil {
		return nil, errNilRequest
	}
	if r.Header.Get("Accept") == "" {
		rr := *r
		rr.Header = r.Header.Clone()
		if rr.Header == nil {
			rr.Header = http.Header{}
		}
		rr.Header.Set("Accept", "application/json")
		r = &rr
	}
	resp, err := c.Do(ctx, r)
	if err != nil {
		return nil, err
	}
	if resp.NotModified || ValidJSON(resp.Body) {
		return resp, nil
	}
	c.failures.Add(1)
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		ct = "no Content-Type"
	}
	return nil, fmt.Errorf("%s %s: %w: body is not valid JSON (%s, %d bytes)",
		methodOf(r), resp.URL, mesh.ErrBadResponse, oneLine(ct), len(resp.Body))
}

func methodOf(r *Request) string {
	if r.Method == "" {
		return http.MethodGet
	}
	return strings.ToUpper(r.Method)
}

// resolve builds the request URL.
func (c *Client) resolve(r *Request) (*url.URL, error) {
	raw := r.URL
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s %s: bad URL: %s", methodOf(r), RedactURLString(raw, c.cfg.SecretParams), redactParseError(err))
	}
	if !u.IsAbs() {
		if c.base == nil {
			return nil, fmt.Errorf("%s %s: relative URL and no BaseURL", methodOf(r), RedactURL(u, c.cfg.SecretParams))
		}
		path := raw
		if path != "" && !strings.HasPrefix(path, "/") && !strings.HasPrefix(path, "?") {
			path = "/" + path
		}
		if u, err = url.Parse(c.base.String() + path); err != nil {
			return nil, fmt.Errorf("%s %s: bad URL: %s", methodOf(r), RedactURLString(raw, c.cfg.SecretParams), redactParseError(err))
		}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%s %s: want an http or https URL", methodOf(r), RedactURL(u, c.cfg.SecretParams))
	}
	if len(r.Query) > 0 {
		q := r.Query.Encode()
		if u.RawQuery != "" {
			u.RawQuery += "&" + q
		} else {
			u.RawQuery = q
		}
	}
	return u, nil
}

// call is the state of one Do call.
type call struct {
	req        *Request
	method     string
	u          *url.URL
	redacted   string
	secrets    secrets
	idempotent bool
}

// attempt is what one try produced.
type attempt struct {
	start    time.Time
	duration time.Duration
	resp     *http.Response // headers and status; body already read and closed
	body     []byte
	err      error // no answer, or the body could not be read
	rawErr   error // err before unwrapping, for the retry policy
	fatal    bool  // err must not be retried (bad request, auth failure)
	tooLarge bool
}

// Do sends the request, retrying as the package documentation describes, and returns the answer
// when it is a success (2xx, or 304). Otherwise the error is a *StatusError (an HTTP answer), a
// *RequestError (no answer), or an error wrapping mesh.ErrBadResponse (a body over the size limit).
// Every attempt is reported to the mesh.Recorder of ctx, if any.
//
// Identical GET and HEAD requests (same URL and headers, no body) made while one is in flight share
// its answer: the Response is then shared and must be treated as read-only (its Body and Header).
func (c *Client) Do(ctx context.Context, r *Request) (*Response, error) {
	if key, ok := dedupKey(r); ok {
		v, err, shared := c.inflight.Do(key, func() (any, error) { return c.do(ctx, r) })
		if shared && err != nil && ctx.Err() == nil && errors.Is(err, context.Canceled) {
			// The request we joined was cancelled by its own caller, not by ours: send ours.
			v, err = c.do(ctx, r)
		}
		resp, _ := v.(*Response)
		if err != nil {
			c.failures.Add(1)
		}
		return resp, err
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		c.failures.Add(1)
	}
	return resp, err
}

// dedupKey identifies a request that may share an in-flight twin: GET or HEAD, no body, no Auth
// differences (headers are part of the key).
func dedupKey(r *Request) (string, bool) {
	if r == nil || len(r.Body) > 0 {
		return "", false
	}
	m := methodOf(r)
	if m != http.MethodGet && m != http.MethodHead {
		return "", false
	}
	var b strings.Builder
	b.WriteString(m)
	b.WriteByte(' ')
	b.WriteString(r.URL)
	b.WriteByte('?')
	b.WriteString(r.Query.Encode())
	b.WriteString("\x00")
	b.WriteString(r.IfNoneMatch)
	b.WriteString("\x00")
	b.WriteString(r.IfModifiedSince)
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteString("\x00")
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strings.Join(r.Header[k], ","))
	}
	return b.String(), true
}

var errNilRequest = errors.New("fetch: nil Request")

func (c *Client) do(ctx context.Context, r *Request) (*Response, error) {
	if r == nil {
		return nil, errNilRequest
	}
	u, err := c.resolve(r)
	if err != nil {
		return nil, err
	}
	cl := &call{req: r, method: methodOf(r), u: u, redacted: RedactURL(u, c.cfg.SecretParams)}
	cl.secrets.fromURL(u, c.cfg.SecretParams)
	switch cl.method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		cl.idempotent = true
	default:
		cl.idempotent = r.Idempotent
	}
	throttledFn := c.cfg.Throttled
	if r.throttled != nil {
		throttledFn = r.throttled
	}
	rec := mesh.RecorderFrom(ctx)
	var backoffWait time.Duration
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return nil, c.requestError(cl, n, err)
		}
		p, limWait, err := c.lim.acquire(ctx)
		c.wait.Add(int64(limWait))
		if err != nil {
			return nil, c.requestError(cl, n, err)
		}
		a := c.send(ctx, cl)

		// Classify the answer and tell the limiter.
		var (
			sig        = neutral
			resetAt    time.Time
			serverWait time.Duration
			hasWait    bool
			response   *Response
			isThrottle bool
			status     int
		)
		if a.resp != nil {
			status = a.resp.StatusCode
		}
		now := time.Now()
		switch {
		case a.err != nil || a.tooLarge:
		case isSuccess(status):
			response = c.response(cl, a, n+1)
			sig = success
			if throttledFn != nil && status != http.StatusNotModified {
				if w, yes := throttledFn(response); yes {
					sig, isThrottle = throttled, true
					serverWait, hasWait = w, w > 0
				}
			}
		default:
			if status == http.StatusTooManyRequests {
				sig = throttled
			}
			serverWait, hasWait = c.serverWait(a.resp, now)
			if w, yes := c.throttledError(status, a.body); yes {
				sig, isThrottle = throttled, true
				if !hasWait && w > 0 {
					serverWait, hasWait = w, true
				}
			}
		}
		if hasWait && serverWait <= c.opts.MaxRetryAfter &&
			(sig == throttled || status == http.StatusServiceUnavailable) {
			resetAt = now.Add(serverWait)
		}
		c.lim.release(p, sig, resetAt)

		c.account(ctx, rec, cl, n, a, status, limWait+backoffWait, isThrottle)
		if response != nil && !isThrottle {
			return response, nil
		}

		// Failed: decide whether to retry.
		if a.fatal {
			return nil, c.requestError(cl, n+1, a.err)
		}
		if a.tooLarge {
			return nil, fmt.Errorf("%s %s: %w: body larger than maxBodyBytes (%d bytes)",
				cl.method, cl.redacted, mesh.ErrBadResponse, c.opts.MaxBodyBytes)
		}
		var retry bool
		switch {
		case a.err != nil:
			if ctx.Err() != nil {
				return nil, c.requestError(cl, n+1, ctx.Err())
			}
			retry = c.retryableError(ctx, cl, a)
		case isThrottle:
			retry = cl.idempotent
		default:
			retry = cl.idempotent && retryableStatus(status)
			if c.cfg.ShouldRetry != nil {
				if yes, decided := c.cfg.ShouldRetry(a.resp); decided {
					retry = yes
				}
			}
		}
		fail := func() error {
			if a.err != nil {
				return c.requestError(cl, n+1, a.err)
			}
			return c.statusError(cl, a, n+1, serverWait, isThrottle)
		}
		if !retry || n >= c.retries {
			return nil, fail()
		}
		if hasWait && serverWait > c.opts.MaxRetryAfter {
			se := c.statusError(cl, a, n+1, serverWait, isThrottle)
			se.TooLongWait = c.opts.MaxRetryAfter
			return nil, se
		}
		wait := serverWait
		if !hasWait {
			wait = backoff(c.opts.RetryWaitMin, c.opts.RetryWaitMax, n, c.rnd)
		}
		if c.log.Enabled(ctx, slog.LevelInfo) {
			reason := http.StatusText(status)
			if a.err != nil {
				reason = a.err.Error()
				reason = cl.secrets.scrub(reason)
			} else if isThrottle {
				reason = "throttled"
			}
			c.log.LogAttrs(ctx, slog.LevelInfo, "fetch: retrying",
				slog.String("source", c.cfg.Source), slog.String("method", cl.method),
				slog.String("url", cl.redacted), slog.Int("status", status), slog.String("reason", reason),
				slog.Duration("wait", wait), slog.Int("retry", n+1), slog.Int("retries", c.retries))
		}
		start := time.Now()
		err = sleep(ctx, wait)
		backoffWait = time.Since(start)
		c.wait.Add(int64(backoffWait))
		if err != nil {
			return nil, c.requestError(cl, n+1, err)
		}
		c.retried.Add(1)
	}
}

func isSuccess(status int) bool {
	return (status >= 200 && status < 300) || status == http.StatusNotModified
}

// retryableStatus: 408, 429 and 5xx except 501 Not Implemented.
func retryableStatus(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests ||
		(status >= 500 && status != http.StatusNotImplemented)
}

// retryableError decides on an attempt that got no answer. Idempotent requests follow
// retryablehttp's policy (everything but redirect loops, bad schemes, invalid headers and
// untrusted certificates); other requests are retried only when the connection could not be made, so
// nothing was sent.
func (c *Client) retryableError(ctx context.Context, cl *call, a attempt) bool {
	if errors.Is(a.err, ErrTimeout) {
		return cl.idempotent
	}
	if !cl.idempotent {
		var op *net.OpError
		return errors.As(a.rawErr, &op) && op.Op == "dial"
	}
	retry, _ := retryablehttp.DefaultRetryPolicy(ctx, nil, a.rawErr)
	return retry
}

// serverWait asks Config.RetryAfter, then the built-in headers.
func (c *Client) serverWait(resp *http.Response, now time.Time) (time.Duration, bool) {
	if c.cfg.RetryAfter != nil {
		if d, ok := c.cfg.RetryAfter(resp, now); ok {
			return max(d, 0), true
		}
	}
	return ServerWait(resp, now)
}

// send makes one attempt: build the request, authenticate, send, read the body.
func (c *Client) send(ctx context.Context, cl *call) (a attempt) {
	actx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	var body io.Reader
	if cl.req.Body != nil {
		body = bytes.NewReader(cl.req.Body)
	}
	req, err := http.NewRequestWithContext(actx, cl.method, cl.u.String(), body)
	if err != nil {
		a.err, a.rawErr, a.fatal = fmt.Errorf("bad request: %w", unwrapURLError(err)), err, true
		return a
	}
	for k, vs := range cl.req.Header {
		req.Header[k] = slices.Clone(vs)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
	if cl.req.IfNoneMatch != "" {
		req.Header.Set("If-None-Match", cl.req.IfNoneMatch)
	}
	if cl.req.IfModifiedSince != "" {
		req.Header.Set("If-Modified-Since", cl.req.IfModifiedSince)
	}
	before := req.Header.Clone()
	if c.cfg.Auth != nil {
		if err := c.cfg.Auth(req); err != nil {
			a.err, a.rawErr, a.fatal = fmt.Errorf("auth: %w", err), err, true
			return a
		}
		cl.secrets.fromURL(req.URL, c.cfg.SecretParams)
	}
	cl.secrets.fromHeaders(req.Header, before)

	a.start = time.Now()
	resp, err := c.hc.Do(req)
	defer func() { a.duration = time.Since(a.start) }()
	if err != nil {
		a.rawErr = err
		a.err = c.attemptError(ctx, actx, unwrapURLError(err))
		return a
	}
	defer resp.Body.Close()
	a.resp = resp
	limit := int64(ErrorBodyBytes)
	if isSuccess(resp.StatusCode) {
		limit = c.opts.MaxBodyBytes
		if cl.method != http.MethodHead && resp.ContentLength > limit {
			a.tooLarge = true
			return a
		}
	}
	a.body, err = readBody(resp.Body, limit+1, resp.ContentLength)
	if int64(len(a.body)) > limit {
		if isSuccess(resp.StatusCode) {
			a.tooLarge = true
			return a
		}
		a.body = a.body[:limit]
	}
	if err != nil {
		a.rawErr = err
		a.err = c.attemptError(ctx, actx, fmt.Errorf("reading body: %w", err))
		return a
	}
	if !isSuccess(resp.StatusCode) {
		// Drain a little more so that the connection can be reused.
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	}
	return a
}

// attemptError turns the attempt context's deadline into ErrTimeout.
func (c *Client) attemptError(ctx, actx context.Context, err error) error {
	if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w after %s", ErrTimeout, c.opts.Timeout)
	}
	return err
}

// unwrapURLError drops net/http's *url.Error wrapper, whose text holds the unredacted URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (c *Client) response(cl *call, a attempt, attempts int) *Response {
	h := a.resp.Header
	r := &Response{
		Status:       a.resp.StatusCode,
		Header:       h,
		Body:         a.body,
		ETag:         h.Get("ETag"),
		LastModified: h.Get("Last-Modified"),
		NotModified:  a.resp.StatusCode == http.StatusNotModified,
		Attempts:     attempts,
		url:          cl.u,
		URL:          cl.redacted,
		secrets:      cl.secrets,
	}
	if a.resp.Request != nil && a.resp.Request.URL != nil && a.resp.Request.URL.String() != cl.u.String() {
		r.url = a.resp.Request.URL // redirected
		r.URL = RedactURL(r.url, c.cfg.SecretParams)
	}
	if r.NotModified {
		r.Body = nil
	}
	return r
}

func (c *Client) statusError(cl *call, a attempt, attempts int, serverWait time.Duration, throttled bool) *StatusError {
	body := a.body
	if len(body) > ErrorBodyBytes {
		body = body[:ErrorBodyBytes]
	}
	return &StatusError{
		Source:     c.cfg.Source,
		Method:     cl.method,
		URL:        cl.redacted,
		StatusCode: a.resp.StatusCode,
		Message:    cl.secrets.scrub(c.errMsg(a.resp.StatusCode, body)),
		RetryAfter: serverWait,
		Throttled:  throttled,
		Attempts:   attempts,
		Body:       bytes.Clone(body),
	}
}

func (c *Client) requestError(cl *call, attempts int, err error) *RequestError {
	return &RequestError{
		Source:   c.cfg.Source,
		Method:   cl.method,
		URL:      cl.redacted,
		Attempts: attempts,
		Err:      err,
		text:     cl.secrets.scrub(err.Error()),
	}
}

// account updates the stats, reports the attempt to the recorder and logs it.
func (c *Client) account(ctx context.Context, rec mesh.Recorder, cl *call, n int, a attempt, status int, wait time.Duration, isThrottle bool) {
	if a.start.IsZero() {
		return // never sent (bad request, auth failure)
	}
	c.requests.Add(1)
	c.bytes.Add(int64(len(a.body)))
	if status == http.StatusTooManyRequests || isThrottle {
		c.throttled.Add(1)
	}
	if status == http.StatusNotModified {
		c.notModified.Add(1)
	}
	var errText string
	switch {
	case a.err != nil:
		errText = cl.secrets.scrub(a.err.Error())
	case a.tooLarge:
		errText = "body larger than maxBodyBytes"
	case isThrottle:
		errText = "throttled"
	}
	if rec != nil {
		rec.RecordRequest(mesh.RequestEvent{
			Method:      cl.method,
			URL:         cl.redacted,
			Status:      status,
			Attempt:     n,
			Start:       a.start,
			Duration:    a.duration,
			Wait:        wait,
			Bytes:       int64(len(a.body)),
			NotModified: status == http.StatusNotModified,
			Throttled:   status == http.StatusTooManyRequests || isThrottle,
			Err:         errText,
		})
	}
	if c.log.Enabled(ctx, slog.LevelDebug) {
		c.log.LogAttrs(ctx, slog.LevelDebug, "fetch: request",
			slog.String("source", c.cfg.Source), slog.String("method", cl.method),
			slog.String("url", cl.redacted), slog.Int("status", status), slog.Int("attempt", n),
			slog.Duration("duration", a.duration), slog.Duration("wait", wait),
			slog.Int("bytes", len(a.body)), slog.String("error", errText))
	}
}

// readBody reads at most max bytes of r into a buffer sized from the Content-Length when the
// server sent one (io.ReadAll would grow it from 512 bytes, copying a large page many times).
func readBody(r io.Reader, max, contentLength int64) ([]byte, error) {
	size := int64(32 << 10)
	if contentLength >= 0 {
		size = contentLength + 1 // +1: reading EOF needs room
	}
	buf := make([]byte, 0, min(size, max))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) >= max {
				return buf, nil
			}
			buf = append(buf, 0)[:len(buf)] // grow
		}
		n, err := r.Read(buf[len(buf):min(int64(cap(buf)), max)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
