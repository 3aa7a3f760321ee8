package meshtest

import (
	"net/http"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
)

// SourceName is the instance name the suite gives the source under test: node IDs must start with
// it (not with the adapter's Kind).
const SourceName = "meshtest"

// BadCredential is the wrong credential the suite hands to a harness in Env.BadCredential.
const BadCredential = "meshtest-wrong-credential-5be1c0de"

// Env is what a harness needs to configure the source under test. Its fields are plain values so
// that meshtest does not depend on mesh/fetch: the harness copies them into its adapter's Config
// (BaseURL, and the fetch.Options fields of the same names).
type Env struct {
	// Name is the instance name the suite adds the source under (SourceName). A source that
	// needs it before Fetch (memsource records holding $refs) can read it here.
	Name string
	// BaseURL is the fixture server's URL; empty for a source without a server.
	BaseURL string
	// Server is the fixture server of this subtest (the one NewServer returned); nil without one.
	Server *FixtureServer
	// PageSize, when positive, is the page size to configure. The suite also sets it in
	// FetchRequest.PageSize, so an adapter that honors the request needs no configuration.
	PageSize int
	// Retries, RetryWaitMin, RetryWaitMax, MaxRetryAfter and Timeout are the retry settings to
	// configure (fetch.Options fields of the same names; Retries is a count, copy its address).
	// They keep the HTTP subtests fast: Retries 2, waits of 1-20ms, MaxRetryAfter 10s, Timeout 10s.
	Retries       int
	RetryWaitMin  time.Duration
	RetryWaitMax  time.Duration
	MaxRetryAfter time.Duration
	Timeout       time.Duration
	// BadCredential, when not empty, must be configured instead of the source's real credential
	// (its token, key or secret): the Unauthorized subtest expects the server to reject it.
	BadCredential string
}

// Credential returns BadCredential when it is set, else good: the one-liner a harness uses for its
// secret.
func (e Env) Credential(good string) string {
	if e.BadCredential != "" {
		return e.BadCredential
	}
	return good
}

// Expectations describe what the fixtures hold. IDs are relative to the instance name and escaped
// as mesh.NodeID escapes them: "Entry/abc@en-US" stands for "meshtest/Entry/abc@en-US", and
// "post/p%2F4" for the post whose native id is "p/4".
type Expectations struct {
	// MinNodes is the least number of nodes a full fetch emits; 0 means 1.
	MinNodes int
	// Types must each be present in the graph.
	Types []string
	// Counts, when set, is the exact number of nodes of each type listed.
	Counts map[string]int
	// IDs must each be present.
	IDs []string
	// Refs must each be present: a ref From a node through Field To another.
	Refs []ExpectedRef
	// DanglingPrefixes are ID prefixes (relative) whose targets may be missing from the graph
	// (links to content the API does not return, such as unpublished entries). Any other ref must
	// resolve.
	DanglingPrefixes []string
}

// ExpectedRef is a reference the graph must hold, with IDs relative to the instance name.
type ExpectedRef struct {
	From, Field, To string
}

// RateLimit describes the provider's 429 for the RateLimit subtest.
type RateLimit struct {
	// Wait is how long the reset headers ask the client to wait; 0 means 1s.
	Wait time.Duration
	// Reset are the headers the provider sends; nil means Retry-After in seconds.
	Reset []ResetHeader
	// NoHeader sends no reset header at all (the client then backs off on its own).
	NoHeader bool
	// Header and Body give the answer the provider's shape; nil Body: a small JSON error.
	Header http.Header
	Body   []byte
}

// Harness connects an adapter to the suite. NewSource is required; every other field is optional.
type Harness struct {
	// NewServer returns the fixture server with the adapter's fixtures, routes and credential
	// requirements (RequireHeader, SetUnauthorized in the provider's shape). Nil means the source
	// makes no HTTP requests: the HTTP subtests are skipped. It is called for every subtest (and
	// every case of BadResponse), so faults and recorded requests do not carry over.
	NewServer func(t *testing.T) *FixtureServer
	// NewSource returns the source under test configured from env. It must do no I/O. A source
	// that implements io.Closer is closed at the end of its subtest.
	NewSource func(t *testing.T, env Env) (mesh.Source, error)
	// Expect describes the fixtures.
	Expect Expectations
	// RateLimit shapes the provider's 429.
	RateLimit RateLimit
	// ServerErrorStatus is the status of the persistent failure; 0 means 503.
	ServerErrorStatus int
	// Incremental says the source returns a cursor: the Incremental subtest then fails instead of
	// skipping when none comes back.
	Incremental bool
	// Secrets are credential values that must never appear in an error, a report or an output.
	Secrets []string
	// Skip excuses subtests by name, each with the reason (rclone's UnimplementableFsMethods):
	// {"PageSize1": "the API has no page size"}. An unknown name fails the suite.
	Skip map[string]string

	// cancelGrace bounds how long Cancel waits for Fetch to return after cancellation before it
	// reports a hang; 0 means 30s. Unexported: the suite's own tests shorten it.
	cancelGrace time.Duration
}
