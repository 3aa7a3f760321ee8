package mesh

import (
	"context"
	"time"
)

// RequestEvent describes one HTTP attempt made on behalf of a source. mesh/fetch reports one per
// attempt to the Recorder found in the request's context; the engine uses them for the report.
type RequestEvent struct {
	Method string
	// URL is redacted: no secret query values.
	URL string
	// Status is the HTTP status, 0 when no response arrived.
	Status int
	// Attempt counts from 0 (the first try); a positive Attempt is a retry.
	Attempt int
	// Start is when the attempt was sent; Duration how long until its body was read.
	Start    time.Time
	Duration time.Duration
	// Wait is how long the client waited before this attempt (backoff, Retry-After, rate limiter).
	Wait time.Duration
	// Bytes is the size of the response body read.
	Bytes int64
	// NotModified is true for a 304 answer to a conditional request.
	NotModified bool
	// Throttled is true when the provider asked to slow down: a 429, or its own throttling signal
	// (a 400 throttling exception, a GraphQL THROTTLED error, a 430).
	Throttled bool
	// Err is the transport error, if any.
	Err string
}

// Recorder receives request events. Implementations are safe for concurrent use.
type Recorder interface {
	RecordRequest(RequestEvent)
}

type recorderKey struct{}

// WithRecorder returns a context whose requests made through mesh/fetch are reported to r.
func WithRecorder(ctx context.Context, r Recorder) context.Context {
	return context.WithValue(ctx, recorderKey{}, r)
}

// RecorderFrom returns the Recorder set by WithRecorder, or nil.
func RecorderFrom(ctx context.Context) Recorder {
	r, _ := ctx.Value(recorderKey{}).(Recorder)
	return r
}
