package vendure

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
)

// headerChannelToken selects the channel (Vendure's default apiOptions.channelTokenKey).
const headerChannelToken = "vendure-token"

// maxPageSize is Vendure's default apiOptions.shopListQueryLimit: a larger take is a GraphQL error.
const maxPageSize = 100

// assetFields are the Asset fields the mapping reads.
const assetFields = `fragment AssetFields on Asset { id name type mimeType width height fileSize source }`

// queryProducts lists one page of products with everything the mapping needs. Sorting by id keeps
// the offset pages stable while they are fetched concurrently.
const queryProducts = `query Products($options: ProductListOptions) {
  activeChannel { token }
  products(options: $options) {
    totalItems
    items {
      id name slug description enabled updatedAt
      featuredAsset { ...AssetFields }
      assets { ...AssetFields }
      optionGroups { id name options { id name } }
      facetValues { id code name facet { id code name } }
      variants {
        id sku name price currencyCode stockLevel updatedAt
        featuredAsset { ...AssetFields }
        options { id name groupId }
      }
    }
  }
}
` + assetFields

// queryCollections lists one page of the channel's public collections, each with the first page of
// its variants' product ids. Memberships are read from the collections' side: asking each product for
// its collections costs Vendure about 40 ms of server time per product (measured on 3.7.3), listing a
// collection's variants a fraction of that.
const queryCollections = `query Collections($options: CollectionListOptions, $variants: ProductVariantListOptions) {
  activeChannel { token }
  collections(options: $options) {
    totalItems
    items {
      id name slug description updatedAt featuredAsset { ...AssetFields }
      productVariants(options: $variants) { totalItems items { productId } }
    }
  }
}
` + assetFields

// queryCollectionProducts lists one page of a collection's variants' product ids, for collections with
// more variants than the first page held.
const queryCollectionProducts = `query CollectionProducts($id: ID!, $options: ProductVariantListOptions) {
  activeChannel { token }
  collection(id: $id) { productVariants(options: $options) { totalItems items { productId } } }
}`

// queryChannel is the Checker's query.
const queryChannel = `query Channel { activeChannel { code token defaultCurrencyCode } }`

// gjson paths of the answers.
const (
	jsonProducts       = "data.products"
	jsonCollections    = "data.collections"
	jsonCollectionVars = "data.collection.productVariants"
	jsonVariantsPage   = "productVariants"
	jsonChannelToken   = "data.activeChannel.token"
	jsonTotalItems     = "totalItems"
	jsonItems          = "items"
	jsonErrors         = "errors"
	codeChannelMissing = "CHANNEL_NOT_FOUND"
)

// listOptions are the options of a list query page, sorted by id so that pages fetched concurrently
// neither skip nor repeat an item.
func listOptions(take, skip int) map[string]any {
	return map[string]any{"take": take, "skip": skip, "sort": map[string]string{"id": "ASC"}}
}

// graphQLRequest is a POST of a query, marked idempotent (it only reads) so that it is retried.
func graphQLRequest(endpoint, query string, variables map[string]any) *fetch.Request {
	// Strings, ints and maps of them: encoding cannot fail.
	body, _ := json.Marshal(map[string]any{"query": query, "variables": variables})
	return &fetch.Request{
		Method:     http.MethodPost,
		URL:        endpoint,
		Header:     http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}},
		Body:       body,
		Idempotent: true,
	}
}

// answerError turns the errors of a GraphQL answer (HTTP 200) into a *fetch.GraphQLError, which
// unwraps to the mesh sentinel of known codes (FORBIDDEN: mesh.ErrForbidden, ...); Vendure's
// CHANNEL_NOT_FOUND (an unknown vendure-token on a server with several channels) becomes
// mesh.ErrUnauthorized through channelError. nil when the answer has no errors.
func answerError(r *fetch.Response) error {
	errs := r.Get(jsonErrors)
	if !errs.IsArray() || len(errs.Array()) == 0 {
		return nil
	}
	ge := &fetch.GraphQLError{Method: http.MethodPost, URL: r.URL}
	channelMissing := false
	for _, e := range errs.Array() {
		msg := strings.TrimSpace(e.Get("message").String())
		if msg == "" {
			msg = "(no message)"
		}
		code := e.Get("extensions.code").String()
		if code == codeChannelMissing {
			channelMissing = true
			// The message repeats the token: keep the code only.
			msg = "no channel has the configured channel token"
		}
		ge.Messages = append(ge.Messages, oneLine(msg))
		ge.Codes = append(ge.Codes, oneLine(code))
	}
	if d := r.Get("data"); d.Exists() && d.Type != gjson.Null {
		ge.Partial = true
	}
	if channelMissing {
		return &channelError{err: ge}
	}
	return ge
}

// channelError is an unknown channel token: it wraps mesh.ErrUnauthorized (the token is what selects
// and admits to a channel) and the GraphQL error.
type channelError struct{ err error }

func (e *channelError) Error() string {
	return "the channel token is not known to the server: check channelToken: " + e.err.Error()
}

func (e *channelError) Unwrap() []error { return []error{mesh.ErrUnauthorized, e.err} }

// checkChannel verifies that the server answered for the configured channel: Vendure with a single
// channel ignores an unknown token and answers for the default channel.
func checkChannel(r *fetch.Response, want string) error {
	if want == "" {
		return nil
	}
	got := r.Get(jsonChannelToken)
	if got.Type == gjson.String && got.Str == want {
		return nil
	}
	return fmt.Errorf("%s: %w: the server answered for another channel than the one channelToken names "+
		"(Vendure with a single channel ignores an unknown token): check channelToken", r.URL, mesh.ErrUnauthorized)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
