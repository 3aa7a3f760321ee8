// Package meshtest is the contract every mesh.Source must pass: a fixture server with fault
// injection, and Run, the conformance suite (the Go CDK drivertest and rclone fstests model).
//
// # Writing a harness
//
// An adapter's conformance test is a Harness: how to start its fixture server, how to build the
// source from an Env, and what the fixtures hold. Run does the rest, through the real engine.
//
//	func TestConformance(t *testing.T) {
//		meshtest.Run(t, meshtest.Harness{
//			NewServer: func(t *testing.T) *meshtest.FixtureServer {
//				srv := meshtest.NewFixtureServer(t, "testdata/http")
//				srv.RequireHeader("Authorization", "Bearer test-token")
//				srv.SetUnauthorized(401, nil, []byte(`{"code":"rest_forbidden","message":"Sorry."}`))
//				srv.Handle("GET /wp-json/wp/v2/posts", paginate(t, "testdata/posts.json"))
//				return srv
//			},
//			NewSource: func(t *testing.T, env meshtest.Env) (mesh.Source, error) {
//				return wordpress.New(wordpress.Config{
//					BaseURL: env.BaseURL, Token: env.Credential("test-token"), PerPage: env.PageSize,
//					Options: fetch.Options{Retries: &env.Retries, RetryWaitMin: env.RetryWaitMin,
//						RetryWaitMax: env.RetryWaitMax, MaxRetryAfter: env.MaxRetryAfter, Timeout: env.Timeout},
//				})
//			},
//			Expect: meshtest.Expectations{MinNodes: 12, Types: []string{"Post", "Category"},
//				IDs: []string{"post/1"}, Refs: []meshtest.ExpectedRef{{From: "post/1", Field: "author", To: "user/1"}}},
//			RateLimit: meshtest.RateLimit{Reset: []meshtest.ResetHeader{meshtest.RetryAfter}},
//			Secrets:   []string{"test-token"},
//		})
//	}
//
// A source that makes no HTTP requests leaves NewServer nil; the HTTP subtests are then skipped.
// Subtests that cannot apply are excused by name in Harness.Skip, with the reason. See Run for the
// list of subtests and what each checks. Every check is written so that it can fail: the package's
// own tests run it against deliberately broken sources.
//
// # Fixture files
//
// NewFixtureServer(t, dir) serves the files under dir. A request is answered by the file named
// after its method, path and query:
//
//	<dir>/<METHOD>/<path>[__<query>].<ext>
//
//	GET /wp-json/wp/v2/posts?per_page=100&page=1   GET/wp-json/wp/v2/posts__page=1&per_page=100.json
//	GET /spaces/s1/entries/abc                     GET/spaces/s1/entries/abc.json
//	GET /api/ (a path ending in "/")               GET/api/_index.json
//	GET /?locale=*                                 GET/_index__locale=%2A.json
//
// The query part is canonical: keys, and the values of a repeated key, sorted, each URL-encoded
// (url.QueryEscape: "*" is %2A, "/" is %2F, space is "+"). Files may name the parameters in any
// order: they are parsed and put in canonical form when loaded. A file without a query part answers
// only requests without a query. IgnoreQuery drops volatile parameters (cache busters, tokens) from
// the comparison on both sides: "any value, or absent". FixtureFile gives the name for a request, and
// the 404 answer to a request that matched nothing names the file it looked for. Only the top-level
// folders named after a method (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS) hold fixtures; other
// files in dir (datasets for Handle routes, READMEs) are left alone. A HEAD request without its own
// fixture gets the GET fixture's headers.
//
// The extension sets the Content-Type (.json application/json, .html, .txt, .xml, .ndjson, others
// by mime type) and is not part of the path: /feed.json is served by feed.json.json. A sidecar file
// with the same name and the extension .headers sets the status and response headers:
//
//	# GET/wp-json/wp/v2/posts__page=1&per_page=100.headers
//	Status: 200
//	X-WP-Total: 12
//	X-WP-TotalPages: 2
//	Link: <{{baseURL}}/wp-json/wp/v2/posts?page=2&per_page=100>; rel="next"
//
// A .headers file alone answers with an empty body. {{baseURL}} (BaseURLPlaceholder) in a body or a
// header value is replaced by the server's URL, for absolute links back to the server.
//
// Static files answer one page size. Listings that the PageSize1 subtest must page through one
// item at a time are served by a programmable route instead: Handle(pattern, handler) with an
// http.ServeMux pattern, usually a small fake of the provider's API over a dataset read from
// testdata (ReadJSON, QueryInt and WriteJSON help). Routes are tried before files. POST bodies
// (GraphQL) are matched by routes, not files.
//
// # Credentials
//
// RequireHeader, RequireQuery and RequireFunc state what a request must carry; a request that
// fails any of them gets the SetUnauthorized response (by default 401 with a JSON body), shaped like
// the provider's. Env.Credential(good) returns Env.BadCredential when the Unauthorized subtest asks
// for a wrong credential. A credential sent in the query (access_token) belongs in RequireQuery and
// IgnoreQuery, not in fixture file names.
//
// # Faults
//
// Faults apply before the credential check and the routes, to every path or to a Prefix, for a
// Count of requests or Always: Fail429 (with reset headers in the provider's format: ResetHeader
// with ResetSeconds, ResetMilliseconds, ResetUnixSeconds or ResetHTTPDate), Fail5xx, Status,
// Latency, Truncate (a cut JSON body with a matching Content-Length), NonJSON (an HTML page with
// status 200) and Drop (the connection closes without an answer); Inject takes a Fault for any mix.
// Remove and ClearFaults end them; a removed Latency releases the requests it holds.
//
// # Recorded requests
//
// Requests returns every request received, in order: method, path, query, headers, body, arrival
// time, when and how it was answered, and for a throttled answer the earliest retry time its
// headers allow (ResetAt), so that tests assert on order rather than on wall-clock time. The values
// of secret-looking headers, query parameters and body fields (IsSecretName) are Masked. Await
// blocks until the requests satisfy a condition.
package meshtest
