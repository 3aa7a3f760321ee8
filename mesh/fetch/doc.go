// Package fetch is the HTTP layer every contentmesh adapter uses: one Client per source instance
// that retries politely, limits itself, keeps secrets out of errors and logs, counts what it did, and
// walks paginated listings.
//
// # Setting up
//
// The user's knobs are Options (timeout, retries, concurrency, requestsPerSecond, maxRetryAfter,
// maxBodyBytes, retryWaitMin, retryWaitMax), inlined in every adapter's YAML config. The adapter's
// knowledge of its provider is Config: BaseURL, an Auth function, extra secret query parameter names,
// and hooks for the provider's error bodies, reset headers, retry hints and throttling bodies. New
// validates both and does no I/O; it starts no goroutine.
//
// # Retries
//
// Do sends a Request and retries it when the answer is a connection error, 408, 429, or a 5xx other
// than 501, up to Options.Retries times (retries, not attempts), and only when the request is
// idempotent: GET, HEAD, OPTIONS, or a request with Idempotent set (GraphQL queries, read-only
// POSTs). A non-idempotent request is retried only when its connection could not be established, so
// nothing was sent. Config.ShouldRetry (Stripe-Should-Retry) overrides the decision for an answer.
//
// The wait before a retry is what the server asks for, when it says (see ServerWait: Retry-After in
// seconds or as a date, X-Contentful-RateLimit-Reset, X-RateLimit-Reset as a Unix time or seconds,
// BigCommerce's X-Rate-Limit-Time-Reset-Ms, and Config.RetryAfter first); otherwise exponential
// backoff between retryWaitMin and retryWaitMax with jitter. A server asking for more than
// maxRetryAfter fails the request at once with a *StatusError wrapping mesh.ErrRateLimited (429) or
// mesh.ErrUpstream (503) that says so, instead of hanging the build. Each attempt has its own timeout,
// body read included (ErrTimeout). Every wait honors the context.
//
// The retry loop is written here rather than delegated to retryablehttp.Client.Do; the transport
// error classification is retryablehttp's DefaultRetryPolicy. retryablehttp.Client.Do cannot fail
// at once on a too-long Retry-After from its Backoff hook, reads bodies outside its loop (so a body
// cut mid-read is not retried and the attempt timeout does not cover it), hides the wait it chose,
// and calls CloseIdleConnections on the shared transport after every failed call, which would drop
// the keep-alive connections of every other request of the source.
//
// # Politeness
//
// All requests of a Client share one limiter:
//
//   - at most Concurrency requests in flight, adaptively (AIMD): a 429 (or a throttling body) halves
//     the limit, at least 1, once per generation of requests (the requests in flight when it was
//     cut do not cut it again); it grows back by one after each window of `limit` successes, up to
//     Concurrency;
//   - a token bucket of requestsPerSecond, burst 1 (requests spaced evenly);
//   - a reset gate: when a 429 (or a 503) says when to come back, no request of the client is sent
//     before that time, not only the retried one.
//
// # Errors
//
// A failed answer is a *StatusError: method, redacted URL, status, the provider's message picked
// from its body (Config.ErrorMessage, by default DefaultErrorMessage, reading at most ErrorBodyBytes)
// and the wait the server asked for. It unwraps to the mesh sentinel of its status (401
// mesh.ErrUnauthorized, 403 mesh.ErrForbidden, 404 mesh.ErrNotFound, 429 mesh.ErrRateLimited, 5xx
// mesh.ErrUpstream), so errors.Is and errors.As both work. No answer is a *RequestError naming the
// method and redacted URL. A body over maxBodyBytes, or a body that is not JSON where JSON is expected
// (DoJSON, GetJSON, the pagination helpers), is an error wrapping mesh.ErrBadResponse. GraphQL
// answers with errors are a *GraphQLError.
//
// # Secrets
//
// URLs in errors, logs, responses and request events are redacted (RedactURL): secret query values
// (access_token, token, key, api_key, client_secret, signature, ... and Config.SecretParams) and user
// information become REDACTED. Header values are never printed. The values of credential headers,
// of the headers Config.Auth sets and of secret query parameters are also scrubbed from provider
// messages and transport errors, in case they are echoed back.
//
// Short-lived tokens (OAuth client credentials, Auth0's Management API) go through a TokenCache:
// its Bearer method is a Config.Auth that fetches the token once for all concurrent requests and
// refreshes it before it expires.
//
// # Caching and conditional requests
//
// Request.IfNoneMatch and IfModifiedSince send If-None-Match and If-Modified-Since; a 304 is a
// Response with NotModified set, not an error. Response.ETag and LastModified are what to keep in
// a source's cursor for next time.
//
// # Observability
//
// Stats returns the client's counters (requests, retries, throttled answers, 304s, failures, bytes,
// time spent waiting, the adaptive limit). Every attempt is also reported to the mesh.Recorder of the
// request's context (mesh.WithRecorder) as a mesh.RequestEvent: the engine builds its per-source
// report from those. Options.Logger receives a Debug record per attempt and an Info record per retry.
//
// # Pagination
//
//   - Offset: offset or page-number listings. The first page gives the total; the other pages are
//     then fetched concurrently (bounded by the client's concurrency, with errgroup) and handed to a
//     callback that may run concurrently. UntilShort keeps going until a short page for APIs whose
//     totals cannot be trusted.
//   - Cursor: sequential; the adapter reads the next cursor from each page. A repeated cursor is an
//     error (loop guard), and so is going past MaxPages.
//   - FollowLinks: follows Link rel="next" headers (LinkNext and ParseLinks read every Link header
//     value, several links per value, several relations per link).
//   - Connection: GraphQL connections with pageInfo { hasNextPage endCursor }.
//
// Every page body is checked to be JSON once (as encoding/json.Valid would, twice as fast as
// gjson.ValidBytes), so gjson's reads cannot silently misread a broken body; read it with
// Response.Get. No helper leaves a goroutine running when it returns.
//
// # Goroutines and connections
//
// Do and the helpers start no goroutine that outlives them. Idle keep-alive connections of the
// client's own transport stay open for reuse; CloseIdleConnections closes them when the source is
// done.
package fetch
