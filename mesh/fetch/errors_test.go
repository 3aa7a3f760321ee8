package fetch

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/contentmesh/contentmesh/mesh"
)

// The bodies are the providers' documented error shapes (shared/api-notes).
func TestDefaultErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"contentful", `{"sys": {"type": "Error", "id": "NotFound"}, "details": {"type": "Entry", "space": "abc123", "id": "missing"}, "message": "The resource could not be found.", "requestId": "85f-830831809"}`,
			"NotFound: The resource could not be found."},
		{"strapi", `{"data": null, "error": {"status": 403, "name": "ForbiddenError", "message": "Forbidden", "details": {}}}`, "Forbidden"},
		{"stripe", `{"error": {"type": "invalid_request_error", "code": "resource_missing", "message": "No such product: 'prod_x'", "param": "id"}}`, "No such product: 'prod_x'"},
		{"ory", `{"error": {"code": 404, "status": "Not Found", "reason": "Unable to locate the resource", "message": "The requested resource could not be found"}}`,
			"The requested resource could not be found: Unable to locate the resource"},
		{"sanity", `{"error": {"description": "param $slug referenced, but not provided", "end": 41, "type": "queryParseError"}}`, "param $slug referenced, but not provided"},
		{"sanity 401", `{"statusCode":401,"error":"Unauthorized","message":"Session not found"}`, "Session not found"},
		{"ghost", `{"errors": [{"message": "Authorization failed", "context": "Unknown Content API Key", "type": "UnauthorizedError"}]}`, "Authorization failed"},
		{"directus", `{"errors": [{"message": "You don't have permission to access this.", "extensions": {"code": "FORBIDDEN"}}]}`, "You don't have permission to access this."},
		{"graphql several", `{"errors": [{"message": "a"}, {"message": "b"}], "data": null}`, "a (and 1 more)"},
		{"clerk", `{"errors":[{"message":"Too many requests","long_message":"Too many requests, please try again later.","code":"too_many_requests"}],"clerk_trace_id":"3f9c"}`,
			"Too many requests, please try again later."},
		{"json:api", `{"jsonapi": {"version": "1.0"}, "errors": [{"title": "Not Found", "status": "404", "detail": "The entity was not found."}]}`, "Not Found: The entity was not found."},
		{"shopify rest", `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`, "[API] Invalid API key or access token (unrecognized login or wrong password)"},
		{"okta", `{"errorCode": "E0000047", "errorSummary": "API call exceeded rate limit due to too many requests.", "errorLink": "E0000047"}`, "API call exceeded rate limit due to too many requests."},
		{"wordpress", `{"code": "rest_no_route", "message": "No route was found matching the URL and request method.", "data": {"status": 404}}`,
			"rest_no_route: No route was found matching the URL and request method."},
		{"auth0", `{"statusCode": 429, "error": "Too Many Requests", "message": "Global limit has been reached", "errorCode": "too_many_requests"}`, "Global limit has been reached"},
		{"supabase", `{"code": 400, "error_code": "validation_failed", "msg": "Bad Pagination Parameters"}`, "Bad Pagination Parameters"},
		{"keycloak", `{"errorMessage": "User not found"}`, "User not found"},
		{"oauth", `{"error": "invalid_client", "error_description": "Client authentication failed"}`, "invalid_client: Client authentication failed"},
		{"storyblok", `{"error":"Unauthorized"}`, "Unauthorized"},
		{"storyblok 404", `["This record could not be found"]`, "This record could not be found"},
		{"bigcommerce", `{"status": 404, "title": "The requested resource was not found.", "type": "https://developer.bigcommerce.com/api-docs"}`, "The requested resource was not found."},
		{"html", "<!DOCTYPE html>\n<html><head><TITLE> 502 Bad Gateway </TITLE></head><body>nginx</body></html>", "502 Bad Gateway"},
		{"html without title", "<html><body>oops</body></html>", "HTML page"},
		{"text", "upstream connect error\nreset reason: overflow", "upstream connect error"},
		{"truncated json", `{"message": "cut here", "details": {"a": [1, 2`, "cut here"},
		{"empty", "", ""},
		{"json without message", `{"ok": false}`, ""},
		{"control characters", "{\"message\": \"a\\u0000b\\n\\tc\"}", "a b c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DefaultErrorMessage(400, []byte(tt.body)); got != tt.want {
				t.Errorf("DefaultErrorMessage = %q, want %q", got, tt.want)
			}
		})
	}
	long := DefaultErrorMessage(500, []byte(`{"message":"`+strings.Repeat("x", 5000)+`"}`))
	if n := len([]rune(long)); n != maxMessageRunes+1 || !strings.HasSuffix(long, "…") {
		t.Errorf("long message kept %d runes", n)
	}
}

func TestStatusErrorText(t *testing.T) {
	tests := []struct {
		err  *StatusError
		want string
	}{
		{&StatusError{Method: "GET", URL: "http://host/path?token=REDACTED", StatusCode: 401, Message: "bad token"},
			"GET http://host/path?token=REDACTED: 401 Unauthorized: bad token"},
		{&StatusError{Method: "GET", URL: "http://h/x", StatusCode: 404, Attempts: 1}, "GET http://h/x: 404 Not Found"},
		{&StatusError{Method: "POST", URL: "http://h/x", StatusCode: 599, Attempts: 6}, "POST http://h/x: 599 (after 6 attempts)"},
		{&StatusError{Method: "GET", URL: "http://h/x", StatusCode: 429, RetryAfter: 2 * time.Hour, TooLongWait: time.Minute, Attempts: 1},
			"GET http://h/x: 429 Too Many Requests (server asked to retry after 2h0m0s, more than maxRetryAfter 1m0s)"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func FuzzDefaultErrorMessage(f *testing.F) {
	for _, s := range []string{
		`{"sys":{"type":"Error","id":"NotFound"},"message":"x"}`, `{"errors":[{"message":"a"},{"title":"t","detail":"d"}]}`,
		`["x"]`, `<html><title>t</title>`, `<title>`, `{"error":{"message":`, "plain\ntext", `{"errors":"s"}`, "\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m := DefaultErrorMessage(500, body)
		if !utf8.ValidString(m) || strings.ContainsAny(m, "\n\r\t\x00") || utf8.RuneCountInString(m) > maxMessageRunes+1 {
			t.Fatalf("DefaultErrorMessage(%q) = %q", body, m)
		}
		if m != strings.TrimSpace(m) {
			t.Fatalf("untrimmed message %q", m)
		}
	})
}

func TestGraphQLErrorSentinels(t *testing.T) {
	tests := []struct {
		codes []string
		want  []error
	}{
		{[]string{"FORBIDDEN"}, []error{mesh.ErrForbidden}},
		{[]string{"ACCESS_DENIED", "NOT_FOUND", "FORBIDDEN"}, []error{mesh.ErrForbidden, mesh.ErrNotFound}},
		{[]string{"THROTTLED"}, []error{mesh.ErrRateLimited}},
		{[]string{"unauthenticated"}, []error{mesh.ErrUnauthorized}},
		{[]string{"BAD_USER_INPUT", ""}, nil},
	}
	all := []error{mesh.ErrForbidden, mesh.ErrNotFound, mesh.ErrRateLimited, mesh.ErrUnauthorized, mesh.ErrUpstream}
	for _, tt := range tests {
		e := &GraphQLError{Codes: tt.codes, Messages: make([]string, len(tt.codes))}
		if got := e.Unwrap(); len(got) != len(tt.want) {
			t.Errorf("%v: Unwrap = %v", tt.codes, got)
		}
		for _, s := range all {
			if got, want := errors.Is(e, s), slices.Contains(tt.want, s); got != want {
				t.Errorf("%v: errors.Is(%v) = %v", tt.codes, s, got)
			}
		}
	}
}
