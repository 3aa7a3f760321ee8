package mesh

import (
	"errors"
	"fmt"
)

// Sentinel errors that callers branch on with errors.Is. Errors from mesh/fetch and the adapters wrap
// one of these where it applies.
var (
	// ErrUnauthorized means the provider rejected the credentials (HTTP 401): the token is wrong or expired.
	ErrUnauthorized = errors.New("unauthorized: check the source's credentials")
	// ErrForbidden means the credentials lack a permission (HTTP 403).
	ErrForbidden = errors.New("forbidden: the credentials lack a permission")
	// ErrNotFound means the resource does not exist (HTTP 404): a wrong space, project, store or path.
	ErrNotFound = errors.New("not found")
	// ErrRateLimited means the provider kept answering 429 until retries ran out, or asked for a wait
	// longer than allowed.
	ErrRateLimited = errors.New("rate limited")
	// ErrUpstream means the provider failed (5xx) until retries ran out.
	ErrUpstream = errors.New("upstream error")
	// ErrBadResponse means a response body was not what the API documents (not JSON, truncated, too large).
	ErrBadResponse = errors.New("bad response")
	// ErrInvalidConfig means a configuration value is missing or wrong; it is reported before any request.
	ErrInvalidConfig = errors.New("invalid config")
	// ErrInvalidNode means an adapter emitted a node that breaks the graph's rules.
	ErrInvalidNode = errors.New("invalid node")
	// ErrDanglingRefs means references point at nodes that do not exist and the build is strict.
	ErrDanglingRefs = errors.New("dangling references")
	// ErrCorruptSnapshot means a stored snapshot failed its checksum or could not be decoded.
	ErrCorruptSnapshot = errors.New("corrupt snapshot")
	// ErrSnapshotConflict means another build saved a snapshot since this build loaded its own (a
	// store with conditional writes reports it); the engine then rebuilds on top of the winner's.
	ErrSnapshotConflict = errors.New("snapshot conflict: another build saved first")
	// ErrPanic means an adapter panicked; the engine recovered it into that source's error.
	ErrPanic = errors.New("adapter panicked")
)

// SourceError is the error of one source in a build: it names the source instance and its adapter.
type SourceError struct {
	Source string // instance name
	Kind   string // adapter kind
	Err    error
}

func (e *SourceError) Error() string {
	return fmt.Sprintf("source %q (%s): %v", e.Source, e.Kind, e.Err)
}

// Unwrap returns the underlying error.
func (e *SourceError) Unwrap() error { return e.Err }

// ConfigError reports a configuration problem in one named place (a source, a key, a link rule).
type ConfigError struct {
	Where string // e.g. `source "cms": key "space"`
	Msg   string
}

func (e *ConfigError) Error() string { return e.Where + ": " + e.Msg }

// Unwrap makes errors.Is(err, ErrInvalidConfig) true.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }
