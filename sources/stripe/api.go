package stripe

import (
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh/fetch"
)

// DefaultBaseURL is Stripe's API origin; the paths below are appended to it as Stripe documents them.
const DefaultBaseURL = "https://api.stripe.com"

// DefaultAPIVersion is the Stripe-Version sent with every request, so that the shapes the mapping
// reads (Product.default_price, Price.unit_amount_decimal, Event.data.previous_attributes) do not
// depend on the account's default version.
const DefaultAPIVersion = "2024-06-20"

// Paths of the REST endpoints (GET, form-encoded query).
const (
	pathProducts = "/v1/products" // list: limit, starting_after; retrieve: /v1/products/{id}
	pathPrices   = "/v1/prices"   // list: limit, starting_after, product
	pathEvents   = "/v1/events"   // list: limit, starting_after, created[gte], types[]
)

// Query parameters.
const (
	paramLimit         = "limit"
	paramStartingAfter = "starting_after"
	paramProduct       = "product"
	paramCreatedGTE    = "created[gte]"
	paramTypes         = "types[]"
)

// maxPageSize is the largest page Stripe's list endpoints accept (limit 1-100).
const maxPageSize = 100

// eventTypes are the event names that change the graph. The Events API takes up to 20 exact names in
// types[] (wildcards only in the single `type` parameter).
var eventTypes = []string{
	"product.created", "product.updated", "product.deleted",
	"price.created", "price.updated", "price.deleted",
}

// gjson paths of a list envelope {"object": "list", "url": ..., "has_more": bool, "data": [...]}.
const (
	jsonData    = "data"
	jsonHasMore = "has_more"
	jsonObject  = "object"
)

// gjson paths of an Event.
const (
	jsonEventType     = "type"
	jsonEventCreated  = "created"
	jsonEventObject   = "data.object"
	jsonEventPrevious = "data.previous_attributes"
)

// Header names.
const (
	headerVersion     = "Stripe-Version"
	headerShouldRetry = "Stripe-Should-Retry"
)

// errorMessage picks Stripe's message out of an error body,
// {"error": {"type": "invalid_request_error", "code": "resource_missing", "message": "..."}}, as
// "<code>: <message>" (or "<type>: <message>" when there is no code).
func errorMessage(status int, body []byte) string {
	e := gjson.GetBytes(body, "error")
	if !e.IsObject() {
		return fetch.DefaultErrorMessage(status, body)
	}
	msg := strings.TrimSpace(e.Get("message").String())
	kind := e.Get("code").String()
	if kind == "" {
		kind = e.Get("type").String()
	}
	switch {
	case msg == "" && kind == "":
		return fetch.DefaultErrorMessage(status, body)
	case kind == "":
		return msg
	case msg == "":
		return kind
	}
	return kind + ": " + msg
}

// shouldRetry honors Stripe-Should-Retry: "true" retries (even a status fetch would not retry, such as
// 409 lock contention), "false" does not (even a 429 or a 5xx); absent leaves the decision to fetch.
func shouldRetry(resp *http.Response) (retry, decided bool) {
	switch strings.ToLower(strings.TrimSpace(resp.Header.Get(headerShouldRetry))) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}
