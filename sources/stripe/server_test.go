package stripe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tidwall/gjson"
)

// testKey is the secret key the fake API accepts.
const testKey = "sk_test_51FakeKeyForContentmeshTests0000"

// fakeStripe is Stripe's REST API over an in-memory catalog, as the api-notes describe it: list
// endpoints with limit (1-100, default 10), starting_after and has_more, newest first; retrieve by id
// with Stripe's 404 error shape; events with created[gte] and types[]. Parameters it does not know
// are a 400 in Stripe's error shape (stripe-mock validates them too). It checks Stripe-Version.
// Mutations record the events Stripe would send.
type fakeStripe struct {
	mu       sync.Mutex
	products []json.RawMessage // newest first, as Stripe lists them
	prices   []json.RawMessage
	events   []json.RawMessage
	clock    int64 // created time of the next event
	version  string
	seq      int
}

// newFakeStripe loads testdata/catalog.
func newFakeStripe(t testing.TB) *fakeStripe {
	t.Helper()
	f := &fakeStripe{clock: 1_800_000_000, version: DefaultAPIVersion}
	for name, dst := range map[string]*[]json.RawMessage{"products": &f.products, "prices": &f.prices, "events": &f.events} {
		b, err := os.ReadFile(filepath.Join("testdata", "catalog", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatalf("%s.json: %v", name, err)
		}
	}
	return f
}

// newEmptyFake has no products, prices or events.
func newEmptyFake() *fakeStripe {
	return &fakeStripe{clock: 1_800_000_000, version: DefaultAPIVersion}
}

func stripeError(w http.ResponseWriter, status int, typ, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_fake")
	w.WriteHeader(status)
	e := map[string]any{"type": typ, "message": msg}
	if code != "" {
		e["code"] = code
	}
	json.NewEncoder(w).Encode(map[string]any{"error": e})
}

func (f *fakeStripe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+testKey {
		stripeError(w, http.StatusUnauthorized, "invalid_request_error", "", "Invalid API Key provided: sk_test_****")
		return
	}
	if v := r.Header.Get(headerVersion); v != f.version {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "", fmt.Sprintf("Invalid Stripe API version: %q", v))
		return
	}
	if r.Method != http.MethodGet {
		stripeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "", "only GET here")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	switch {
	case r.URL.Path == pathProducts:
		f.list(w, q, f.products, nil, "product")
	case strings.HasPrefix(r.URL.Path, pathProducts+"/"):
		id := strings.TrimPrefix(r.URL.Path, pathProducts+"/")
		if len(q) > 0 {
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_unknown", "Received unknown parameter")
			return
		}
		if p := find(f.products, id); p != nil {
			w.Header().Set("Content-Type", "application/json")
			w.Write(p)
			return
		}
		stripeError(w, http.StatusNotFound, "invalid_request_error", "resource_missing", fmt.Sprintf("No such product: '%s'", id))
	case r.URL.Path == pathPrices:
		var keep func(gjson.Result) bool
		if pid := q.Get(paramProduct); pid != "" {
			keep = func(p gjson.Result) bool { return p.Get("product").String() == pid }
		}
		q.Del(paramProduct)
		f.list(w, q, f.prices, keep, "price")
	case r.URL.Path == pathEvents:
		types := q[paramTypes]
		if len(types) > 20 {
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "", "types: at most 20")
			return
		}
		for _, typ := range types {
			if strings.Contains(typ, "*") {
				stripeError(w, http.StatusBadRequest, "invalid_request_error", "", "types[] takes event names, not wildcards")
				return
			}
		}
		var gte int64 = -1
		if s := q.Get(paramCreatedGTE); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				stripeError(w, http.StatusBadRequest, "invalid_request_error", "", "created[gte]: want an integer")
				return
			}
			gte = n
		}
		q.Del(paramTypes)
		q.Del(paramCreatedGTE)
		f.list(w, q, f.events, func(e gjson.Result) bool {
			return (len(types) == 0 || slices.Contains(types, e.Get("type").String())) && e.Get("created").Int() >= gte
		}, "event")
	default:
		stripeError(w, http.StatusNotFound, "invalid_request_error", "", "Unrecognized request URL (GET: "+r.URL.Path+")")
	}
}

// list answers a list request over items (newest first) with Stripe's envelope.
func (f *fakeStripe) list(w http.ResponseWriter, q url.Values, items []json.RawMessage, keep func(gjson.Result) bool, object string) {
	limit := 10
	if s := q.Get(paramLimit); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_invalid_integer", "limit must be between 1 and 100")
			return
		}
		limit = n
	}
	after := q.Get(paramStartingAfter)
	q.Del(paramLimit)
	q.Del(paramStartingAfter)
	for k := range q {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "parameter_unknown", "Received unknown parameter: "+k)
		return
	}
	var sel []json.RawMessage
	for _, it := range items {
		if keep == nil || keep(gjson.ParseBytes(it)) {
			sel = append(sel, it)
		}
	}
	start := 0
	if after != "" {
		start = -1
		for i, it := range sel {
			if gjson.GetBytes(it, "id").String() == after {
				start = i + 1
			}
		}
		if start < 0 {
			stripeError(w, http.StatusBadRequest, "invalid_request_error", "resource_missing", "No such "+object+": '"+after+"'")
			return
		}
	}
	end := min(start+limit, len(sel))
	page := append([]json.RawMessage{}, sel[start:end]...)
	if page == nil {
		page = []json.RawMessage{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_fake")
	json.NewEncoder(w).Encode(map[string]any{"object": "list", "url": "/v1/" + object + "s", "has_more": end < len(sel), "data": page})
}

func find(items []json.RawMessage, id string) json.RawMessage {
	for _, it := range items {
		if gjson.GetBytes(it, "id").String() == id {
			return it
		}
	}
	return nil
}

func index(items []json.RawMessage, id string) int {
	for i, it := range items {
		if gjson.GetBytes(it, "id").String() == id {
			return i
		}
	}
	return -1
}

// event records an event of the given type for obj, newest first.
func (f *fakeStripe) eventLocked(typ string, obj json.RawMessage, previous map[string]any) {
	f.seq++
	f.clock++
	data := map[string]any{"object": obj}
	if previous != nil {
		data["previous_attributes"] = previous
	}
	ev, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("evt_fake%04d", f.seq), "object": "event", "api_version": f.version,
		"created": f.clock, "data": data, "livemode": false, "pending_webhooks": 0, "type": typ})
	f.events = append([]json.RawMessage{ev}, f.events...)
}

// setProduct creates or replaces a product (by id) and records product.created or product.updated,
// with the previous values of the changed top-level attributes.
func (f *fakeStripe) setProduct(t testing.TB, obj string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	raw := json.RawMessage(obj)
	id := gjson.Get(obj, "id").String()
	if i := index(f.products, id); i >= 0 {
		old := gjson.ParseBytes(f.products[i])
		prev := map[string]any{}
		gjson.Parse(obj).ForEach(func(k, v gjson.Result) bool {
			if o := old.Get(k.Str); o.Raw != v.Raw {
				prev[k.Str] = o.Value()
			}
			return true
		})
		f.products[i] = raw
		f.eventLocked("product.updated", raw, prev)
		return
	}
	f.products = append([]json.RawMessage{raw}, f.products...)
	f.eventLocked("product.created", raw, nil)
}

// deleteProduct removes a product, as Stripe allows only for a product without prices.
func (f *fakeStripe) deleteProduct(t testing.TB, id string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	i := index(f.products, id)
	if i < 0 {
		t.Fatalf("no product %s", id)
	}
	for _, pr := range f.prices {
		if gjson.GetBytes(pr, "product").String() == id {
			t.Fatalf("Stripe refuses to delete product %s: it has prices", id)
		}
	}
	obj := f.products[i]
	f.products = slices.Delete(f.products, i, i+1)
	f.eventLocked("product.deleted", obj, nil)
}

// setPrice creates or replaces a price and records price.created or price.updated.
func (f *fakeStripe) setPrice(t testing.TB, obj string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	raw := json.RawMessage(obj)
	id := gjson.Get(obj, "id").String()
	if i := index(f.prices, id); i >= 0 {
		f.prices[i] = raw
		f.eventLocked("price.updated", raw, map[string]any{})
		return
	}
	f.prices = append([]json.RawMessage{raw}, f.prices...)
	f.eventLocked("price.created", raw, nil)
}

// deletePrice removes a price and records price.deleted.
func (f *fakeStripe) deletePrice(t testing.TB, id string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	i := index(f.prices, id)
	if i < 0 {
		t.Fatalf("no price %s", id)
	}
	obj := f.prices[i]
	f.prices = slices.Delete(f.prices, i, i+1)
	f.eventLocked("price.deleted", obj, nil)
}

// edit returns the stored product or price with top-level attributes changed (key, value pairs).
func (f *fakeStripe) edit(t testing.TB, id string, kv ...any) string {
	t.Helper()
	f.mu.Lock()
	obj := find(f.products, id)
	if obj == nil {
		obj = find(f.prices, id)
	}
	f.mu.Unlock()
	if obj == nil {
		t.Fatalf("no object %s", id)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
