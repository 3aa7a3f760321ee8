package vendure

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/tidwall/gjson"
)

// testToken is the channel token of the fake's default channel.
const testToken = "conformance-channel-token"

// channel is one channel's catalog in Shop API shapes.
type channel struct {
	products    []json.RawMessage
	collections []json.RawMessage
}

// fakeVendure is a Vendure Shop API (POST /shop-api, GraphQL) over in-memory channels, as the
// api-notes and the real server (Vendure 3.7.3) show it: list queries with options {take, skip, sort}
// and totalItems, take above 100 refused with USER_INPUT_ERROR, the channel chosen by the
// vendure-token header (none: the default channel; an unknown token: the default channel when there
// is only one, CHANNEL_NOT_FOUND when there are several), an unknown query a 400
// GRAPHQL_VALIDATION_FAILED. There is no GraphQL parser: it knows the adapter's operations by name
// (Products, Collections with their productVariants, CollectionProducts, Channel) and answers with
// whole objects, whatever the selection. A collection's variants are those of the products whose
// "collections" field in the dataset names it.
type fakeVendure struct {
	mu       sync.Mutex
	channels map[string]*channel // by token
	def      string              // the default channel's token
	queries  []string            // operation names, in order
}

func readDataset(t testing.TB, name string) []json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "shop", name))
	if err != nil {
		t.Fatal(err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return items
}

// newFakeVendure serves testdata/shop as the default channel, whose token is testToken.
func newFakeVendure(t testing.TB) *fakeVendure {
	t.Helper()
	return &fakeVendure{def: testToken, channels: map[string]*channel{
		testToken: {products: readDataset(t, "products.json"), collections: readDataset(t, "collections.json")},
	}}
}

var operationRE = regexp.MustCompile(`^\s*query\s+([A-Za-z_][A-Za-z0-9_]*)`)

func gqlErrors(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{"message": msg,
		"locations": []any{map[string]int{"line": 1, "column": 3}}, "extensions": map[string]string{"code": code}}}, "data": nil})
}

// channelNotFound is Vendure's answer to an unknown channel token when it has several channels.
func channelNotFound(token string) []byte {
	b, _ := json.Marshal(map[string]any{"errors": []any{map[string]any{
		"message":    `No Channel with the token "` + token + `" could be found`,
		"path":       []string{"activeChannel"},
		"extensions": map[string]string{"code": "CHANNEL_NOT_FOUND"}}}, "data": nil})
	return b
}

func (f *fakeVendure) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/shop-api" {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message": "Cannot `+r.Method+" "+r.URL.Path+`", "error": "Not Found", "statusCode": 404}`)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil || !gjson.ValidBytes(body) {
		gqlErrors(w, http.StatusBadRequest, "BAD_USER_INPUT", "POST body is not JSON")
		return
	}
	query := gjson.GetBytes(body, "query").String()
	m := operationRE.FindStringSubmatch(query)
	if m == nil {
		gqlErrors(w, http.StatusBadRequest, "GRAPHQL_VALIDATION_FAILED", "the fake knows named queries only")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, m[1])
	token := r.Header.Get(headerChannelToken)
	ch, ok := f.channels[token]
	if !ok {
		if token != "" && len(f.channels) > 1 {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Write(channelNotFound(token))
			return
		}
		token, ch = f.def, f.channels[f.def]
	}
	data := map[string]any{"activeChannel": map[string]any{"code": "__default_channel__", "token": token, "defaultCurrencyCode": "USD"}}
	opts := gjson.GetBytes(body, "variables.options")
	switch m[1] {
	case "Channel":
	case "Products":
		list, ok := paginate(w, ch.products, opts)
		if !ok {
			return
		}
		data["products"] = list
	case "Collections":
		// Each collection with a page of its variants (options in $variants).
		var withVariants []json.RawMessage
		for _, c := range ch.collections {
			vl, ok := paginate(w, ch.variantsOf(gjson.GetBytes(c, "id").String()), gjson.GetBytes(body, "variables.variants"))
			if !ok {
				return
			}
			var obj map[string]any
			json.Unmarshal(c, &obj)
			obj["productVariants"] = vl
			b, _ := json.Marshal(obj)
			withVariants = append(withVariants, b)
		}
		list, ok := paginate(w, withVariants, opts)
		if !ok {
			return
		}
		data["collections"] = list
	case "CollectionProducts":
		id := gjson.GetBytes(body, "variables.id").String()
		if !slices.ContainsFunc(ch.collections, func(c json.RawMessage) bool { return gjson.GetBytes(c, "id").String() == id }) {
			data["collection"] = nil
			break
		}
		vl, ok := paginate(w, ch.variantsOf(id), opts)
		if !ok {
			return
		}
		data["collection"] = map[string]any{"productVariants": vl}
	default:
		gqlErrors(w, http.StatusBadRequest, "GRAPHQL_VALIDATION_FAILED", `Unknown operation "`+m[1]+`"`)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]any{"data": data})
}

// paginate answers list options {take, skip, sort: {id: ASC}} over items as {totalItems, items}; ok
// is false when it answered with an error (take above 100).
func paginate(w http.ResponseWriter, items []json.RawMessage, opts gjson.Result) (map[string]any, bool) {
	take, skip := int(opts.Get("take").Int()), int(opts.Get("skip").Int())
	if !opts.Get("take").Exists() {
		take = 100
	}
	if take > 100 {
		gqlErrors(w, http.StatusOK, "USER_INPUT_ERROR", "Cannot take more than 100 results from a list query")
		return nil, false
	}
	sorted := slices.Clone(items)
	if opts.Get("sort.id").String() == "ASC" {
		slices.SortStableFunc(sorted, func(a, b json.RawMessage) int {
			return compareIDs(gjson.GetBytes(a, "id").String(), gjson.GetBytes(b, "id").String())
		})
	}
	start := min(max(skip, 0), len(sorted))
	end := min(start+max(take, 0), len(sorted))
	page := sorted[start:end]
	if page == nil {
		page = []json.RawMessage{}
	}
	return map[string]any{"totalItems": len(sorted), "items": page}, true
}

// variantsOf lists the variants of the collection, as {id, productId}: the variants of the products
// whose "collections" (in the dataset, as Vendure computes them from the collection's filters) hold it.
func (c *channel) variantsOf(collection string) []json.RawMessage {
	var out []json.RawMessage
	for _, p := range c.products {
		pj := gjson.ParseBytes(p)
		if !slices.ContainsFunc(pj.Get("collections").Array(), func(r gjson.Result) bool { return r.Get("id").String() == collection }) {
			continue
		}
		for _, v := range pj.Get("variants").Array() {
			b, _ := json.Marshal(map[string]string{"id": v.Get("id").String(), "productId": pj.Get("id").String()})
			out = append(out, b)
		}
	}
	return out
}

// operations returns the operation names received since the last call.
func (f *fakeVendure) operations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.queries
	f.queries = nil
	return out
}
