package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// APIGatewayProxyRequest is the event AWS API Gateway (REST API, Lambda proxy integration) sends to
// a function: the fields this adapter reads, with the JSON names of the event, so it decodes the
// same JSON as github.com/aws/aws-lambda-go/events.APIGatewayProxyRequest (which this example does
// not import: a function built with that SDK converts with a plain struct conversion or re-encoding).
type APIGatewayProxyRequest struct {
	Resource                        string                        `json:"resource"`
	Path                            string                        `json:"path"`
	HTTPMethod                      string                        `json:"httpMethod"`
	Headers                         map[string]string             `json:"headers"`
	MultiValueHeaders               map[string][]string           `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string             `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string           `json:"multiValueQueryStringParameters"`
	RequestContext                  APIGatewayProxyRequestContext `json:"requestContext"`
	Body                            string                        `json:"body"`
	IsBase64Encoded                 bool                          `json:"isBase64Encoded,omitempty"`
}

// APIGatewayProxyRequestContext is the part of the event's requestContext the adapter reads.
type APIGatewayProxyRequestContext struct {
	// Path is the path as the client sent it, the stage (or a custom domain's base path) included;
	// Contentful signs that path.
	Path       string `json:"path"`
	Stage      string `json:"stage"`
	RequestID  string `json:"requestId"`
	DomainName string `json:"domainName"`
	Identity   struct {
		SourceIP string `json:"sourceIp"`
	} `json:"identity"`
}

// APIGatewayProxyResponse is what the function returns to API Gateway.
type APIGatewayProxyResponse struct {
	StatusCode        int                 `json:"statusCode"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded,omitempty"`
}

// LambdaFunc has the shape lambda.Start accepts for API Gateway proxy events.
type LambdaFunc func(ctx context.Context, ev APIGatewayProxyRequest) (APIGatewayProxyResponse, error)

// NewLambdaFunction adapts an http.Handler (the webhook handler) to API Gateway's Lambda proxy
// events: each event becomes an *http.Request (method, path, query, headers, body decoded from
// base64 when the event says so, the invocation's context), the handler writes into an in-memory
// response, and that becomes the function's result (a body that is not UTF-8 goes back in base64).
//
// An event the adapter cannot turn into a request is answered 400; the function's error result is
// kept for failures of the function itself, which makes Lambda retry or report the invocation.
//
// Lambda gives an instance one event at a time, so a webhook handler behind this function sees no
// burst to coalesce: configure it with a negative Debounce, and let the snapshot store settle
// concurrent instances (a store with conditional writes makes the engine rebuild on the winner's
// snapshot). API Gateway hands the query string over as a map, so its parameters' order is not
// kept: do not put a query in a Contentful webhook URL.
func NewLambdaFunction(h http.Handler) LambdaFunc {
	return func(ctx context.Context, ev APIGatewayProxyRequest) (APIGatewayProxyResponse, error) {
		req, err := eventRequest(ctx, ev)
		if err != nil {
			return APIGatewayProxyResponse{
				StatusCode: http.StatusBadRequest,
				Headers:    map[string]string{"Content-Type": "application/json"},
				Body:       fmt.Sprintf(`{"error":%q}`, err.Error()),
			}, nil
		}
		w := &responseRecorder{header: http.Header{}}
		h.ServeHTTP(w, req)
		return w.result(), nil
	}
}

// eventRequest builds the request the event describes.
func eventRequest(ctx context.Context, ev APIGatewayProxyRequest) (*http.Request, error) {
	if ev.HTTPMethod == "" || !strings.HasPrefix(ev.Path, "/") {
		return nil, errors.New("not an API Gateway proxy event: no httpMethod or path")
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, errors.New("the event's body is not base64")
		}
	}
	query := url.Values{}
	for k, vs := range ev.MultiValueQueryStringParameters {
		query[k] = append([]string(nil), vs...)
	}
	if len(query) == 0 {
		for k, v := range ev.QueryStringParameters {
			query.Set(k, v)
		}
	}
	u := &url.URL{Path: ev.Path, RawQuery: query.Encode()}
	req, err := http.NewRequestWithContext(ctx, ev.HTTPMethod, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("bad request line: %w", err)
	}
	for k, vs := range ev.MultiValueHeaders {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if len(ev.MultiValueHeaders) == 0 {
		for k, v := range ev.Headers {
			req.Header.Set(k, v)
		}
	}
	req.Host = req.Header.Get("Host")
	req.Header.Del("Host")
	if req.Host == "" {
		req.Host = ev.RequestContext.DomainName
	}
	// The request target as the client sent it, as a server would record it.
	req.RequestURI = u.RequestURI()
	if p := ev.RequestContext.Path; strings.HasPrefix(p, "/") {
		req.RequestURI = (&url.URL{Path: p, RawQuery: u.RawQuery}).RequestURI()
	}
	req.RemoteAddr = ev.RequestContext.Identity.SourceIP
	req.ContentLength = int64(len(body))
	return req, nil
}

// responseRecorder is the in-memory http.ResponseWriter the function's handler writes to.
type responseRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *responseRecorder) Header() http.Header { return r.header }

func (r *responseRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *responseRecorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

func (r *responseRecorder) result() APIGatewayProxyResponse {
	resp := APIGatewayProxyResponse{StatusCode: r.status, Headers: map[string]string{}, MultiValueHeaders: map[string][]string{}}
	if resp.StatusCode == 0 {
		resp.StatusCode = http.StatusOK
	}
	for k, vs := range r.header {
		if len(vs) > 0 {
			resp.Headers[k] = vs[0]
			resp.MultiValueHeaders[k] = append([]string(nil), vs...)
		}
	}
	if b := r.body.Bytes(); utf8.Valid(b) {
		resp.Body = string(b)
	} else {
		resp.Body = base64.StdEncoding.EncodeToString(b)
		resp.IsBase64Encoded = true
	}
	return resp
}
