package fetch

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
)

// GraphQLError is a GraphQL answer (HTTP 2xx) whose "errors" array is not empty.
type GraphQLError struct {
	Source string
	Method string
	URL    string // redacted
	// Messages and Codes (extensions.code, or "" when absent) of the errors, in order.
	Messages []string
	Codes    []string
	// Partial is set when the answer also carried data; Response then holds it, for an adapter that
	// chooses to accept partial data. Without data, Response is nil.
	Partial  bool
	Response *Response
}

func (e *GraphQLError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: GraphQL ", e.Method, e.URL)
	if e.Partial {
		b.WriteString("partial data with ")
	}
	if len(e.Messages) == 1 {
		b.WriteString("error: ")
	} else {
		fmt.Fprintf(&b, "%d errors: ", len(e.Messages))
	}
	for i, m := range e.Messages {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Messages)-3)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		if e.Codes[i] != "" {
			b.WriteString(e.Codes[i])
			b.WriteString(": ")
		}
		b.WriteString(m)
	}
	return b.String()
}

// Unwrap maps well-known error codes to mesh sentinels: UNAUTHENTICATED to mesh.ErrUnauthorized,
// FORBIDDEN and ACCESS_DENIED to mesh.ErrForbidden, NOT_FOUND to mesh.ErrNotFound, THROTTLED to
// mesh.ErrRateLimited.
func (e *GraphQLError) Unwrap() []error {
	var out []error
	add := func(err error) {
		for _, o := range out {
			if o == err {
				return
			}
		}
		out = append(out, err)
	}
	for _, code := range e.Codes {
		switch strings.ToUpper(code) {
		case "UNAUTHENTICATED", "UNAUTHORIZED":
			add(mesh.ErrUnauthorized)
		case "FORBIDDEN", "ACCESS_DENIED":
			add(mesh.ErrForbidden)
		case "NOT_FOUND":
			add(mesh.ErrNotFound)
		case "THROTTLED":
			add(mesh.ErrRateLimited)
		}
	}
	return out
}

// GraphQL posts a query (never a mutation: the request is marked idempotent and retried) with its
// variables (nil, a map or a struct; encoded with encoding/json) and returns the answer once its body
// is valid JSON with no "errors". An answer with errors is a *GraphQLError (wrapping the sentinels of
// known codes); THROTTLED errors are retried like a 429, waiting what Shopify's cost extension says
// (see GraphQLThrottled) unless Config.Throttled is set.
func (c *Client) GraphQL(ctx context.Context, endpoint, query string, variables any) (*Response, error) {
	resp, err := c.graphQL(ctx, endpoint, query, variables)
	if err != nil {
		if _, ok := err.(*GraphQLError); ok {
			c.failures.Add(1)
		}
		return nil, err
	}
	return resp, nil
}

func (c *Client) graphQL(ctx context.Context, endpoint, query string, variables any) (*Response, error) {
	payload := struct {
		Query     string `json:"query"`
		Variables any    `json:"variables,omitempty"`
	}{query, variables}
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("POST %s: encoding GraphQL variables: %w", c.Redact(endpoint), err)
	}
	r := &Request{
		Method:     http.MethodPost,
		URL:        endpoint,
		Header:     http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}},
		Body:       body,
		Idempotent: true,
		throttled:  c.cfg.Throttled,
	}
	if r.throttled == nil {
		r.throttled = GraphQLThrottled
	}
	resp, err := c.DoJSON(ctx, r)
	if err != nil {
		return nil, err
	}
	errs := resp.Get("errors")
	if !errs.IsArray() || len(errs.Array()) == 0 {
		return resp, nil
	}
	ge := &GraphQLError{Source: c.cfg.Source, Method: http.MethodPost, URL: resp.URL}
	for _, e := range errs.Array() {
		msg := oneLine(resp.Scrub(e.Get("message").String()))
		if msg == "" {
			msg = "(no message)"
		}
		code := e.Get("extensions.code").String()
		if code == "" {
			code = e.Get("extensions.exception.code").String() // Vendure
		}
		ge.Messages = append(ge.Messages, msg)
		ge.Codes = append(ge.Codes, oneLine(resp.Scrub(code)))
	}
	if d := resp.Get("data"); d.Exists() && d.Type != gjson.Null {
		ge.Partial = true
		ge.Response = resp
	}
	return nil, ge
}

// GraphQLThrottled is the default throttling check of GraphQL: it reports a throttled answer when an
// error has extensions.code "THROTTLED". The wait comes from Shopify's cost extension when present
// (the points missing for the query divided by the restore rate), else it is 0 (exponential backoff).
func GraphQLThrottled(r *Response) (time.Duration, bool) {
	if !r.Get(`errors.#(extensions.code=="THROTTLED")`).Exists() {
		return 0, false
	}
	cost := r.Get("extensions.cost")
	requested := cost.Get("requestedQueryCost").Float()
	available := cost.Get("throttleStatus.currentlyAvailable").Float()
	rate := cost.Get("throttleStatus.restoreRate").Float()
	if rate <= 0 || requested <= available {
		return 0, true
	}
	secs := (requested - available) / rate
	if math.IsNaN(secs) || math.IsInf(secs, 0) {
		return 0, true
	}
	return durationOf(secs), true
}
