package fetch

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
)

// Defaults of Options. A zero field in Options means "use the default".
const (
	DefaultTimeout       = 30 * time.Second
	DefaultRetries       = 5
	DefaultConcurrency   = 8
	DefaultMaxRetryAfter = 60 * time.Second
	DefaultMaxBodyBytes  = 64 << 20
	DefaultRetryWaitMin  = 250 * time.Millisecond
	DefaultRetryWaitMax  = 10 * time.Second
	// DefaultUserAgent is sent when Options.UserAgent is empty.
	DefaultUserAgent = "contentmesh (mesh/fetch)"
)

// Options are the user-facing knobs of a source's HTTP client. Every adapter's Config inlines them
// (`yaml:",inline"`), so the keys below are part of the configuration contract:
//
//	timeout: 30s            # per attempt, body read included
//	retries: 5              # retries after the first attempt; 0 disables retries
//	concurrency: 8          # requests in flight for this source, at most
//	requestsPerSecond: 10   # token bucket; 0 or absent: unlimited
//	maxRetryAfter: 60s      # a server asking for a longer wait fails the request at once
//	maxBodyBytes: 67108864  # larger responses are an error
//	retryWaitMin: 250ms     # exponential backoff bounds, used when the server gives no wait
//	retryWaitMax: 10s
//
// Durations are YAML strings such as "30s" or "1m30s". A zero or absent value takes the default;
// Retries is a pointer so that an explicit 0 can be told from an absent key.
type Options struct {
	// Timeout bounds one attempt, from sending the request to the end of reading the body.
	Timeout time.Duration `yaml:"timeout,omitempty"`
	// Retries is how many times a failed idempotent request is retried (not the number of attempts).
	// Nil means DefaultRetries; a pointer to 0 disables retries.
	Retries *int `yaml:"retries,omitempty"`
	// Concurrency is the most requests in flight at once for this source; the adaptive limit (AIMD)
	// moves between 1 and this value.
	Concurrency int `yaml:"concurrency,omitempty"`
	// RequestsPerSecond is the token bucket's rate; 0 means no rate limit. Fractions are allowed
	// (0.5 = one request every two seconds).
	RequestsPerSecond float64 `yaml:"requestsPerSecond,omitempty"`
	// MaxRetryAfter caps the wait a server may ask for (Retry-After or a vendor reset header). A server
	// asking for more fails the request at once with an error wrapping mesh.ErrRateLimited (429) or
	// mesh.ErrUpstream (503) instead of hanging the build.
	MaxRetryAfter time.Duration `yaml:"maxRetryAfter,omitempty"`
	// MaxBodyBytes is the largest response body accepted; a larger one is an error wrapping
	// mesh.ErrBadResponse.
	MaxBodyBytes int64 `yaml:"maxBodyBytes,omitempty"`
	// RetryWaitMin and RetryWaitMax bound the exponential backoff used when the server says nothing
	// about when to come back.
	RetryWaitMin time.Duration `yaml:"retryWaitMin,omitempty"`
	RetryWaitMax time.Duration `yaml:"retryWaitMax,omitempty"`

	// HTTPClient sends the requests. Nil: a client with its own transport (cloned from
	// http.DefaultTransport, with idle connections per host raised to Concurrency). Its Timeout, if
	// any, applies on top of Timeout.
	HTTPClient *http.Client `yaml:"-"`
	// Logger receives one Debug record per attempt and one Info record per retry, with secrets
	// redacted. Nil: nothing is logged.
	Logger *slog.Logger `yaml:"-"`
	// UserAgent is sent with every request; empty means DefaultUserAgent.
	UserAgent string `yaml:"-"`
}

// resolved returns the options with defaults applied.
func (o Options) resolved() Options {
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Retries == nil {
		n := DefaultRetries
		o.Retries = &n
	} else {
		n := *o.Retries // copy: the caller's pointer is not kept
		o.Retries = &n
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.MaxRetryAfter == 0 {
		o.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.RetryWaitMin == 0 {
		o.RetryWaitMin = DefaultRetryWaitMin
	}
	if o.RetryWaitMax == 0 {
		o.RetryWaitMax = max(DefaultRetryWaitMax, o.RetryWaitMin)
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	return o
}

// validate checks resolved options.
func (o Options) validate(where func(key string) string) error {
	bad := func(key, format string, args ...any) error {
		return &mesh.ConfigError{Where: where(key), Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case o.Timeout < 0:
		return bad("timeout", "must not be negative, got %s", o.Timeout)
	case *o.Retries < 0:
		return bad("retries", "must not be negative, got %d", *o.Retries)
	case *o.Retries > 100:
		return bad("retries", "at most 100, got %d", *o.Retries)
	case o.Concurrency < 0:
		return bad("concurrency", "must not be negative, got %d", o.Concurrency)
	case o.Concurrency > 1024:
		return bad("concurrency", "at most 1024, got %d", o.Concurrency)
	case o.RequestsPerSecond < 0 || o.RequestsPerSecond != o.RequestsPerSecond:
		return bad("requestsPerSecond", "must be a non-negative number, got %v", o.RequestsPerSecond)
	case o.MaxRetryAfter < 0:
		return bad("maxRetryAfter", "must not be negative, got %s", o.MaxRetryAfter)
	case o.MaxBodyBytes < 0:
		return bad("maxBodyBytes", "must not be negative, got %d", o.MaxBodyBytes)
	case o.RetryWaitMin < 0:
		return bad("retryWaitMin", "must not be negative, got %s", o.RetryWaitMin)
	case o.RetryWaitMax < o.RetryWaitMin:
		return bad("retryWaitMax", "%s is less than retryWaitMin %s", o.RetryWaitMax, o.RetryWaitMin)
	}
	return nil
}

// Config is what an adapter (not the user) sets up: where the API is, how to authenticate and how the
// provider reports errors and limits. Every function field is optional.
type Config struct {
	// Source is the source instance name; it is kept in errors (StatusError.Source) and logs.
	Source string
	// BaseURL is the API origin, e.g. "https://cdn.contentful.com" or a test server. A Request whose
	// URL is not absolute is appended to it as is (path prefixes of BaseURL are kept). Empty: every
	// Request must carry an absolute URL.
	BaseURL string
	// Auth sets the credentials on each attempt's request (headers, query or basic auth). It is
	// called again on every retry, so a refreshed token is picked up. Header values are never printed;
	// the values it sets are also scrubbed from provider error messages. An error fails the request
	// without a retry.
	Auth func(*http.Request) error
	// SecretParams are extra query parameter names whose values are redacted from URLs in errors,
	// logs and request events. These are always redacted: access_token, token, key, api_key, apikey,
	// client_secret, secret, password, sig, signature, and any name containing "token", "secret",
	// "password" or "signature" or ending in "key".
	SecretParams []string
	// ErrorMessage picks the provider's message out of an error body (at most ErrorBodyBytes). Nil:
	// DefaultErrorMessage, which knows the common shapes.
	ErrorMessage func(status int, body []byte) string
	// RetryAfter reads a vendor-specific wait from a retryable response; it is consulted before the
	// built-in headers (see ServerWait). Return ok=false to fall back to them.
	RetryAfter func(resp *http.Response, now time.Time) (wait time.Duration, ok bool)
	// ShouldRetry overrides the retry decision for a response when decided is true (for example
	// Stripe-Should-Retry). It can make a non-idempotent request retryable; MaxRetryAfter and Retries
	// still apply.
	ShouldRetry func(resp *http.Response) (retry bool, decided bool)
	// Throttled reports that a 2xx response is a throttling answer (APIs that say so in the body, such
	// as GraphQL THROTTLED errors); it is then treated like a 429: AIMD backs off and an idempotent
	// request is retried after wait, or after the backoff when wait is 0.
	Throttled func(*Response) (wait time.Duration, throttled bool)
	// ThrottledError reports that an error answer other than a 429 is a throttling answer, from its
	// status and the start of its body (at most ErrorBodyBytes): DynamoDB's 400
	// ProvisionedThroughputExceededException, for example. It is then treated like a 429: AIMD backs
	// off, the answer counts as throttled, an idempotent request is retried after wait (or the
	// server's Retry-After, or the backoff when both are 0), and the final error unwraps to
	// mesh.ErrRateLimited.
	ThrottledError func(status int, body []byte) (wait time.Duration, throttled bool)
}

// base parses BaseURL.
func (c Config) base() (*url.URL, error) {
	if c.BaseURL == "" {
		return nil, nil
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %s", redactParseError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("want an http or https URL, got scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("no host in %q", RedactURL(u, nil))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("must not have a query or fragment")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u, nil
}
