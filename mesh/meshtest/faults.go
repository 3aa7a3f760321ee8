package meshtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Always as a Fault's Count applies the fault to every matching request until it is removed.
const Always = -1

// ResetFormat is how a rate-limit header says when to come back.
type ResetFormat int

const (
	// ResetSeconds: whole seconds to wait, rounded up (Retry-After, X-Contentful-RateLimit-Reset,
	// X-Retry-After).
	ResetSeconds ResetFormat = iota
	// ResetMilliseconds: milliseconds to wait, rounded up (BigCommerce X-Rate-Limit-Time-Reset-Ms).
	ResetMilliseconds
	// ResetUnixSeconds: the Unix time in seconds at which the limit resets, rounded up (Auth0
	// x-ratelimit-reset, Okta X-Rate-Limit-Reset).
	ResetUnixSeconds
	// ResetHTTPDate: the HTTP date at which to come back, rounded up to the second (Retry-After's
	// other form).
	ResetHTTPDate
)

// ResetHeader is a response header that tells a throttled client when to retry.
type ResetHeader struct {
	Name   string
	Format ResetFormat
}

// RetryAfter is the standard Retry-After header in seconds.
var RetryAfter = ResetHeader{Name: "Retry-After", Format: ResetSeconds}

// value renders the header for a wait starting now, and returns the instant it allows a retry.
func (h ResetHeader) value(now time.Time, wait time.Duration) (string, time.Time) {
	switch h.Format {
	case ResetMilliseconds:
		ms := (wait + time.Millisecond - 1) / time.Millisecond
		return strconv.FormatInt(int64(ms), 10), now.Add(ms * time.Millisecond)
	case ResetUnixSeconds, ResetHTTPDate:
		at := now.Add(wait)
		sec := at.Unix()
		if at.Nanosecond() > 0 {
			sec++
		}
		at = time.Unix(sec, 0)
		if h.Format == ResetHTTPDate {
			return at.UTC().Format(http.TimeFormat), at
		}
		return strconv.FormatInt(sec, 10), at
	default:
		secs := (wait + time.Second - 1) / time.Second
		return strconv.FormatInt(int64(secs), 10), now.Add(secs * time.Second)
	}
}

// Fault is a misbehavior of the server, injected with FixtureServer.Inject. A fault either only
// delays requests (Delay alone: latency, which stacks with other faults) or answers them instead of
// the route (Status, Truncate or Drop, with an optional Delay first). For each request the server
// applies every matching latency fault and the first matching answering fault, in the order they
// were injected; each applied fault uses up one of its Count.
type Fault struct {
	// Count is how many requests the fault applies to; Always (-1) for every matching request. It
	// must not be 0.
	Count int
	// Prefix limits the fault to requests whose escaped path starts with it; empty: every path.
	Prefix string
	// Match, when set, further limits the fault to the requests it accepts. It must not read the
	// request body.
	Match func(*http.Request) bool

	// Delay holds the request this long before it is answered. A held request is released early
	// when the client goes away (nothing is answered), when the fault is removed, or when the
	// server closes.
	Delay time.Duration

	// Status, when set, answers with this status, Header and Body. Body nil gives a small JSON
	// error body naming the status.
	Status int
	Header http.Header
	Body   []byte
	// Wait and Reset: the answer carries each Reset header telling the client to come back after
	// Wait (see ResetFormat). Recorded.ResetAt holds the earliest instant they allow.
	Wait  time.Duration
	Reset []ResetHeader

	// Truncate answers with the route's response cut to KeepBytes of its body (0: half), sent with
	// a Content-Length that matches the cut body: the HTTP exchange is sound, the body is not.
	Truncate  bool
	KeepBytes int

	// Drop closes the connection without answering.
	Drop bool
}

func (f Fault) answers() bool { return f.Status != 0 || f.Truncate || f.Drop }

func (f Fault) check() error {
	switch {
	case f.Count == 0 || f.Count < Always:
		return fmt.Errorf("count %d: want a positive count or Always", f.Count)
	case f.Delay < 0 || f.Wait < 0 || f.KeepBytes < 0:
		return fmt.Errorf("negative Delay, Wait or KeepBytes")
	case f.Status != 0 && (f.Status < 100 || f.Status > 999):
		return fmt.Errorf("status %d is not an HTTP status", f.Status)
	case f.Drop && (f.Status != 0 || f.Truncate), f.Truncate && f.Status != 0:
		return fmt.Errorf("at most one of Status, Truncate and Drop")
	case !f.answers() && f.Delay == 0:
		return fmt.Errorf("the fault does nothing: set Delay, Status, Truncate or Drop")
	case len(f.Reset) > 0 && f.Status == 0:
		return fmt.Errorf("Reset headers need a Status")
	}
	return nil
}

func (f Fault) matches(r *http.Request) bool {
	return strings.HasPrefix(r.URL.EscapedPath(), f.Prefix) && (f.Match == nil || f.Match(r))
}

// Injection is a fault in effect on a FixtureServer.
type Injection struct {
	s         *FixtureServer
	f         Fault
	remaining int
	hits      int
	removed   bool
}

// Hits is how many requests the fault has applied to.
func (in *Injection) Hits() int {
	in.s.mu.Lock()
	defer in.s.mu.Unlock()
	return in.hits
}

// Remove ends the fault; requests it holds (Delay) are released and go on to be answered.
func (in *Injection) Remove() {
	s := in.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.removed {
		return
	}
	in.removed = true
	s.faults = slices.DeleteFunc(s.faults, func(x *Injection) bool { return x == in })
	close(s.released)
	s.released = make(chan struct{})
}

// Inject puts a fault into effect. A fault that breaks the rules in Fault's documentation fails the
// test.
func (s *FixtureServer) Inject(f Fault) *Injection {
	s.t.Helper()
	if err := f.check(); err != nil {
		s.t.Fatalf("meshtest: Inject: %v", err)
	}
	f.Header = f.Header.Clone()
	f.Body = slices.Clone(f.Body)
	f.Reset = slices.Clone(f.Reset)
	in := &Injection{s: s, f: f, remaining: f.Count}
	s.mu.Lock()
	s.faults = append(s.faults, in)
	s.mu.Unlock()
	return in
}

// ClearFaults removes every fault.
func (s *FixtureServer) ClearFaults() {
	s.mu.Lock()
	faults := slices.Clone(s.faults)
	s.mu.Unlock()
	for _, in := range faults {
		in.Remove()
	}
}

// Fail429 answers n requests (or Always) with 429 Too Many Requests and the given reset headers
// saying to come back after wait; no header given means Retry-After. For a provider that sends no
// header at all, or a body in its own shape, use Inject.
func (s *FixtureServer) Fail429(n int, wait time.Duration, reset ...ResetHeader) *Injection {
	s.t.Helper()
	if len(reset) == 0 {
		reset = []ResetHeader{RetryAfter}
	}
	return s.Inject(Fault{Count: n, Status: http.StatusTooManyRequests, Wait: wait, Reset: reset})
}

// Fail5xx answers n requests (or Always: a persistent failure) with status, a 5xx code.
func (s *FixtureServer) Fail5xx(n, status int) *Injection {
	s.t.Helper()
	if status < 500 || status > 599 {
		s.t.Fatalf("meshtest: Fail5xx: status %d is not a 5xx", status)
	}
	return s.Inject(Fault{Count: n, Status: status})
}

// Status answers n requests (or Always) with status and body (nil: a small JSON error body).
func (s *FixtureServer) Status(n, status int, body []byte) *Injection {
	s.t.Helper()
	return s.Inject(Fault{Count: n, Status: status, Body: body})
}

// Latency delays n requests (or Always) by d before they are answered.
func (s *FixtureServer) Latency(n int, d time.Duration) *Injection {
	s.t.Helper()
	return s.Inject(Fault{Count: n, Delay: d})
}

// Truncate answers n requests (or Always) with the first half of the body they would get, with a
// matching Content-Length: a 200 whose JSON is cut short.
func (s *FixtureServer) Truncate(n int) *Injection {
	s.t.Helper()
	return s.Inject(Fault{Count: n, Truncate: true})
}

// NonJSONPage is the body NonJSON answers with: a proxy's HTML error page.
const NonJSONPage = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n" +
	"<body><h1>Bad Gateway</h1><p>meshtest: an HTML page where JSON was expected</p></body></html>\n"

// NonJSON answers n requests (or Always) with 200 and an HTML error page (NonJSONPage), as a
// misconfigured proxy or a captive portal does.
func (s *FixtureServer) NonJSON(n int) *Injection {
	s.t.Helper()
	return s.Inject(Fault{Count: n, Status: http.StatusOK, Header: http.Header{"Content-Type": {"text/html; charset=utf-8"}},
		Body: []byte(NonJSONPage)})
}

// Drop closes the connection of n requests (or Always) without answering.
func (s *FixtureServer) Drop(n int) *Injection {
	s.t.Helper()
	return s.Inject(Fault{Count: n, Drop: true})
}

// pickFaultsLocked applies the matching faults to a request: the total latency, the latency faults
// that hold it, and the answering fault (nil for none).
func (s *FixtureServer) pickFaultsLocked(r *http.Request) (time.Duration, []*Injection, *Injection) {
	var delay time.Duration
	var holders []*Injection
	var answer *Injection
	for _, in := range s.faults {
		if in.remaining == 0 || !in.f.matches(r) {
			continue
		}
		if in.f.answers() {
			if answer != nil {
				continue
			}
			answer = in
		}
		if in.remaining > 0 {
			in.remaining--
		}
		in.hits++
		if in.f.Delay > 0 {
			delay += in.f.Delay
			holders = append(holders, in)
		}
	}
	return delay, holders, answer
}

// drop closes the request's connection without an answer.
func (s *FixtureServer) drop(w *statusWriter, update func(func(*Recorded))) {
	update(func(x *Recorded) { x.Fault, x.Route, x.Answered = "drop", "fault", time.Now() })
	conn, _, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // net/http closes the connection without a response
	}
	conn.Close()
}

// answerFault answers a request with a Status or Truncate fault.
func (s *FixtureServer) answerFault(w *statusWriter, r *http.Request, in *Injection, update func(func(*Recorded))) {
	f := in.f
	switch {
	case f.Truncate:
		rec := httptest.NewRecorder()
		s.respond(rec, r, update)
		body := rec.Body.Bytes()
		keep := f.KeepBytes
		if keep == 0 {
			keep = len(body) / 2
		}
		keep = min(keep, len(body))
		update(func(x *Recorded) { x.Fault = "truncate" })
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.Header().Set("Content-Length", strconv.Itoa(keep))
		w.WriteHeader(rec.Code)
		w.Write(body[:keep])
	default:
		h := w.Header()
		for k, vs := range f.Header {
			h[k] = slices.Clone(vs)
		}
		body := f.Body
		if body == nil {
			body, _ = json.Marshal(map[string]string{
				"error": fmt.Sprintf("meshtest: injected %d %s", f.Status, http.StatusText(f.Status)),
			})
		}
		if h.Get("Content-Type") == "" {
			if json.Valid(body) {
				h.Set("Content-Type", "application/json")
			} else {
				h.Set("Content-Type", "text/plain; charset=utf-8")
			}
		}
		now := time.Now()
		var resetAt time.Time
		for _, rh := range f.Reset {
			v, at := rh.value(now, f.Wait)
			h.Set(rh.Name, v)
			if resetAt.IsZero() || at.Before(resetAt) {
				resetAt = at
			}
		}
		update(func(x *Recorded) { x.Fault, x.Route, x.ResetAt = "status "+strconv.Itoa(f.Status), "fault", resetAt })
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(f.Status)
		w.Write(body)
	}
}
