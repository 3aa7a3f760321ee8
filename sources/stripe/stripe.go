// Package stripe is a mesh.Source for a Stripe account's catalog: its Products, and its Prices as
// the products' variants, read from the Stripe REST API.
//
// # Configuration
//
//	sources:
//	  - name: billing
//	    type: stripe
//	    secretKey: ${STRIPE_SECRET_KEY}  # a secret key (sk_...) or, better, a restricted key (rk_...)
//	    apiVersion: 2024-06-20           # optional Stripe-Version; this is the default
//	    raw: false                       # true: keep each product's and price's JSON under _raw
//	    baseURL: http://127.0.0.1:12111  # optional, e.g. stripe-mock; default https://api.stripe.com
//	    timeout: 30s                     # and the other mesh/fetch options: retries, concurrency,
//	    requestsPerSecond: 20            # requestsPerSecond, maxRetryAfter, maxBodyBytes, ...
//
// # Authentication
//
// The key is sent as Authorization: Bearer <key>. A restricted key needs read access to Products
// and Prices, and to Events for incremental sync (without it every fetch is full). The key is never
// printed: not by Config's String, GoString or LogValue, not in errors, not in logs. A publishable
// key (pk_...) cannot read the catalog and is refused by New.
//
// # Rate limits
//
// Stripe allows about 100 read requests a second in live mode and 25 in test mode, and answers 429
// beyond that without any reset header: mesh/fetch then backs off exponentially with full jitter and
// halves the source's concurrency (AIMD). The Stripe-Should-Retry header is honored both ways
// (fetch.Config.ShouldRetry): "true" retries even a 409, "false" retries nothing. Set
// requestsPerSecond below the account's limit when other programs share it.
//
// Listings are cursor-paged (limit=100, starting_after=<last id>, has_more), so each listing is one
// chain of requests; products, all prices (one listing, not one per product) and the events probe are
// fetched concurrently. Nodes are emitted when both listings are complete, since a product's variants
// and price range need all its prices; the pages' items are kept meanwhile as their raw JSON.
//
// # Mapping
//
// Node types and ID namespaces (<source>/<namespace>/<nativeId>), shared with the other commerce
// adapters so that a site's templates do not depend on the provider:
//
//	Product         product/<prod_...>    a Stripe Product
//	ProductVariant  variant/<price_...>   one per Price with a unit amount (active or not)
//	Asset           asset/<prod_...>:<i>  the product's i-th image URL
//
// The fields are exactly the contract's keys (DESIGN section 3), null where Stripe has no such thing;
// with raw: true the Stripe object is kept under _raw as well.
//
// Product: handle (metadata["handle"], else the product id), title (name), description (the plain
// text, or null), descriptionHtml (the description HTML-escaped: Stripe has no rich text), vendor
// (metadata["vendor"] or null), productType (metadata["productType"] or metadata["product_type"], or
// null), tags (metadata["tags"] split on commas; [] without it), status ("active", or "archived" for
// an inactive product), priceRange {min, max} over the active prices in the currency of the first
// variant (null without one), images ($refs to Asset), options ([]: Stripe has no options), variants
// ($refs: the default price first, then by creation), collections ([]: Stripe has none).
//
// ProductVariant: sku (the price's lookup_key, or null), title (the nickname; else the billing
// interval: "Monthly", "Yearly", "Weekly", "Daily", "Every 3 months"; else "One-time"), price,
// compareAtPrice (null), available (the price and its product are active), inventoryQuantity (null:
// Stripe keeps no stock), selectedOptions ([]), image (the product's first image, or null: prices have
// none), product ($ref). A price without a unit amount (tiered, or chosen by the customer) is not a
// variant: a variant needs a price. A price whose product is not in the product listing is left out
// (and logged).
//
// Asset: url; fileName and mimeType from the URL's last path segment when it has an extension
// (Stripe's own file links have none); width, height, size, title and alt are null: Stripe keeps
// nothing else about product images.
//
// Money is {"amount": "<decimal>", "currencyCode": "<ISO 4217>"}: unit_amount is an integer in the
// currency's minor unit, shifted by the currency's exponent (JPY and KRW have none, KWD, BHD, JOD,
// OMR and TND three, the rest two) as digits, never through a float. A price with only
// unit_amount_decimal (sub-minor-unit precision) is rounded half to even to the currency's decimals.
// Node.UpdatedAt is the product's updated time (Unix seconds to UTC), a price's created time.
//
// # Incremental sync
//
// Stripe's list filters only know created, which misses updates, so deltas come from the Events API.
// A full fetch first asks for the newest product.* or price.* event (GET /v1/events?limit=1) and keeps
// its time in the cursor. The next fetch lists the events since then (created[gte], with a minute of
// overlap, types[] = product.created/updated/deleted and price.created/updated/deleted), and for each
// product an event touched it reads the product (GET /v1/products/{id}) and its prices
// (GET /v1/prices?product={id}) again and re-emits the product, its variants and its images: the
// current state, never the event's snapshot, so replaying an event is harmless. A product that is
// gone (404, or deleted: true) is deleted with the images and prices the events name; a price.deleted
// event deletes its variant; images dropped by an update (data.previous_attributes.images) are
// deleted. Stripe refuses to delete a product that still has prices, so a product's variants are
// always deleted by their own events.
//
// The result is a full fetch instead when the cursor is missing or unreadable, was made for
// another base URL, API version or key, is older than 29 days (Stripe keeps events for 30), or when
// the events touch more than 200 products (reading each would cost more than the listings). When
// the key may not read events (403), incremental sync is off: every fetch is full and no cursor is
// returned.
package stripe

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
	"golang.org/x/sync/errgroup"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/sources/internal/money"
	"github.com/contentmesh/contentmesh/sources/internal/normalize"
)

// Kind is the adapter's name, the config's `type: stripe`.
const Kind = "stripe"

// ID namespaces (DESIGN section 3, shared by the commerce adapters).
const (
	nsProduct = "product"
	nsVariant = "variant"
	nsAsset   = "asset"
)

// Node types.
const (
	typeProduct = "Product"
	typeVariant = "ProductVariant"
	typeAsset   = "Asset"
)

const (
	// eventOverlap is how far back of the newest event seen the next event listing starts: an
	// event that becomes visible late is not missed, and replaying one is harmless.
	eventOverlap = 60
	// eventRetention is how old a cursor may be: Stripe keeps events for 30 days.
	eventRetention = 29 * 24 * time.Hour
	// maxDeltaProducts is the most products a delta reads one by one before a full fetch is cheaper.
	maxDeltaProducts = 200
)

// Config configures a Stripe Source. Its yaml keys are part of the configuration contract.
type Config struct {
	// SecretKey is a secret (sk_...) or restricted (rk_...) API key. Required. Never printed.
	SecretKey string `yaml:"secretKey"`
	// APIVersion is sent as Stripe-Version; empty means DefaultAPIVersion.
	APIVersion string `yaml:"apiVersion,omitempty"`
	// BaseURL replaces https://api.stripe.com (stripe-mock, a test server or a proxy).
	BaseURL string `yaml:"baseURL,omitempty"`
	// Raw keeps each product's and price's upstream JSON under fields._raw.
	Raw bool `yaml:"raw,omitempty"`

	// Options are the mesh/fetch knobs: timeout, retries, concurrency, requestsPerSecond, ...
	fetch.Options `yaml:",inline"`
}

// String describes the configuration with the key redacted.
func (c Config) String() string {
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	key := ""
	if c.SecretKey != "" {
		key = fetch.Redacted
	}
	return fmt.Sprintf("stripe.Config{SecretKey:%s APIVersion:%s BaseURL:%s}", key, c.APIVersion, fetch.RedactURLString(base, nil))
}

// GoString is String, so that %#v does not print the key either.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the key.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Source reads a Stripe account's products and prices. It is safe for concurrent use.
type Source struct {
	cfg         Config
	client      *fetch.Client
	fingerprint string
	// now is the clock that dates cursors; time.Now outside tests.
	now func() time.Time
}

var (
	_ mesh.Source  = (*Source)(nil)
	_ mesh.Checker = (*Source)(nil)
)

// New validates cfg and returns a Source. It does no I/O. Errors wrap mesh.ErrInvalidConfig and name
// the key; they never include the secret key.
func New(cfg Config) (*Source, error) {
	bad := func(key, format string, args ...any) error {
		return &mesh.ConfigError{Where: fmt.Sprintf("stripe: key %q", key), Msg: fmt.Sprintf(format, args...)}
	}
	key := cfg.SecretKey
	switch {
	case strings.TrimSpace(key) == "":
		return nil, bad("secretKey", "required: a secret key (sk_...) or a restricted key (rk_...)")
	case strings.ContainsAny(key, " \t\r\n\x00"):
		return nil, bad("secretKey", "contains white space or a control character (a copy-paste accident?)")
	case strings.HasPrefix(key, "pk_"):
		return nil, bad("secretKey", "this is a publishable key (pk_...), which cannot read products: use a secret (sk_...) or restricted (rk_...) key")
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = DefaultAPIVersion
	}
	if strings.ContainsAny(cfg.APIVersion, " \t\r\n\x00") {
		return nil, bad("apiVersion", "%q: want a Stripe API version such as %s", cfg.APIVersion, DefaultAPIVersion)
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, bad("baseURL", "want an http or https URL such as %s", DefaultBaseURL)
	}
	base = strings.TrimSuffix(base, "/")
	apiVersion := cfg.APIVersion
	client, err := fetch.New(fetch.Config{
		BaseURL: base,
		Auth: func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+key)
			r.Header.Set(headerVersion, apiVersion)
			return nil
		},
		ErrorMessage: errorMessage,
		ShouldRetry:  shouldRetry,
	}, cfg.Options)
	if err != nil {
		return nil, &mesh.ConfigError{Where: "stripe", Msg: err.Error()}
	}
	// The cursor is only good for the account and API that made it: a short hash of the key (not
	// reversible for a Stripe key's entropy) tells two accounts apart without keeping the key.
	h := sha256.Sum256([]byte("contentmesh/stripe\x00" + base + "\x00" + apiVersion + "\x00" + key))
	return &Source{cfg: cfg, client: client, fingerprint: hex.EncodeToString(h[:8]), now: time.Now}, nil
}

// Kind implements mesh.Source.
func (s *Source) Kind() string { return Kind }

// String describes the source without its key.
func (s *Source) String() string { return "stripe " + s.client.Redact(s.baseURL()) }

func (s *Source) baseURL() string {
	if s.cfg.BaseURL != "" {
		return s.cfg.BaseURL
	}
	return DefaultBaseURL
}

// Check implements mesh.Checker: it lists one product, which proves the key may read the catalog.
func (s *Source) Check(ctx context.Context) error {
	defer s.client.CloseIdleConnections()
	r, err := s.client.GetJSON(ctx, pathProducts, url.Values{paramLimit: {"1"}})
	if err != nil {
		return fmt.Errorf("stripe: %w", err)
	}
	if _, _, err := decodeList(r.Body, "product"); err != nil {
		return fmt.Errorf("stripe: %s: %w", r.URL, err)
	}
	return nil
}

// cursor is the incremental state: where the next event listing starts.
type cursor struct {
	V   int    `json:"v"`
	Key string `json:"key"`   // fingerprint of base URL, API version and key
	Src string `json:"src"`   // source instance name
	Sin int64  `json:"since"` // created time of the newest event seen (Unix seconds; 0: none yet)
	At  int64  `json:"at"`    // when the last fetch started (local clock, Unix seconds)
}

// Fetch implements mesh.Source: a full listing of products and prices, or, from a cursor, the delta
// the Events API describes (see the package documentation).
func (s *Source) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	defer s.client.CloseIdleConnections()
	log := req.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	em := &emitter{out: out}
	res, err := s.fetch(ctx, req, log, em)
	if e := em.failed(); e != nil {
		return mesh.FetchResult{}, e // unchanged, as the Source contract asks
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return mesh.FetchResult{}, ctxErr
		}
		return mesh.FetchResult{}, fmt.Errorf("stripe: %w", err)
	}
	return res, nil
}

func (s *Source) fetch(ctx context.Context, req mesh.FetchRequest, log *slog.Logger, em *emitter) (mesh.FetchResult, error) {
	size := maxPageSize
	if req.PageSize > 0 {
		size = min(req.PageSize, maxPageSize)
	}
	if prev := s.readCursor(req, log); prev != nil {
		res, ok, err := s.fetchDelta(ctx, req, prev, size, em)
		if err != nil || ok {
			return res, err
		}
		log.Info("stripe: no delta (too many changed products, or events no longer readable), fetching everything")
	}
	return s.fetchAll(ctx, req, size, log, em)
}

// readCursor decodes the request's cursor; nil means a full fetch.
func (s *Source) readCursor(req mesh.FetchRequest, log *slog.Logger) *cursor {
	if len(req.Cursor) == 0 {
		return nil
	}
	var c cursor
	if err := json.Unmarshal(req.Cursor, &c); err != nil || c.V != 1 {
		log.Warn("stripe: unreadable cursor, fetching everything", "err", err)
		return nil
	}
	if c.Key != s.fingerprint || c.Src != req.Source {
		log.Info("stripe: key, base URL or API version changed since the last fetch, fetching everything")
		return nil
	}
	if age := s.now().Sub(time.Unix(c.At, 0)); age > eventRetention || age < -time.Hour {
		log.Info("stripe: the last fetch is older than Stripe keeps events, fetching everything", "age", age.Round(time.Hour))
		return nil
	}
	return &c
}

func (s *Source) newCursor(src string, since int64, started time.Time) json.RawMessage {
	b, _ := json.Marshal(cursor{V: 1, Key: s.fingerprint, Src: src, Sin: since, At: started.Unix()})
	return b
}

// fetchAll lists every product and price (and the newest event, for the cursor), then emits.
func (s *Source) fetchAll(ctx context.Context, req mesh.FetchRequest, size int, log *slog.Logger, em *emitter) (mesh.FetchResult, error) {
	started := s.now()
	var (
		products, prices []record
		since            int64
		eventsReadable   = true
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		since, err = s.newestEvent(gctx)
		if errors.Is(err, mesh.ErrForbidden) {
			log.Info("stripe: the key may not read events: incremental sync is off", "err", err)
			eventsReadable = false
			return nil
		}
		return err
	})
	g.Go(func() error {
		var err error
		products, err = s.list(gctx, pathProducts, nil, size, "product", nil)
		return err
	})
	g.Go(func() error {
		var err error
		prices, err = s.list(gctx, pathPrices, nil, size, "price", nil)
		return err
	})
	if err := g.Wait(); err != nil {
		return mesh.FetchResult{}, err
	}
	nodes, st, err := mapper{src: req.Source, raw: s.cfg.Raw}.catalog(products, prices)
	if err != nil {
		return mesh.FetchResult{}, err
	}
	if st.orphans > 0 {
		log.Warn("stripe: prices whose product is not listed were left out", "prices", st.orphans)
	}
	if st.unpriced > 0 {
		log.Info("stripe: prices without a unit amount (tiered or customer-chosen) are not variants", "prices", st.unpriced)
	}
	for _, n := range nodes {
		if err := em.upsert(n); err != nil {
			return mesh.FetchResult{}, err
		}
	}
	res := mesh.FetchResult{}
	if eventsReadable {
		res.Cursor = s.newCursor(req.Source, since, started)
	}
	return res, nil
}

// newestEvent returns the created time of the newest catalog event, 0 when there is none.
func (s *Source) newestEvent(ctx context.Context) (int64, error) {
	q := url.Values{paramLimit: {"1"}, paramTypes: eventTypes}
	r, err := s.client.GetJSON(ctx, pathEvents, q)
	if err != nil {
		return 0, fmt.Errorf("newest event: %w", err)
	}
	events, _, err := decodeList(r.Body, "event")
	if err != nil {
		return 0, fmt.Errorf("%s: %w", r.URL, err)
	}
	if len(events) == 0 {
		return 0, nil
	}
	return eventCreated(gjson.ParseBytes(events[0].raw))
}

// list walks a cursor-paged listing (limit, starting_after, has_more), checking that every item is
// an object of the given kind, and returns the items. each, when set, also sees each page's items.
func (s *Source) list(ctx context.Context, path string, query url.Values, size int, object string, each func([]record) error) ([]record, error) {
	var all []record
	err := s.client.Cursor(ctx, fetch.CursorPages{
		Request: func(after string) *fetch.Request {
			q := url.Values{paramLimit: {strconv.Itoa(size)}}
			for k, v := range query {
				q[k] = v
			}
			if after != "" {
				q.Set(paramStartingAfter, after)
			}
			return &fetch.Request{URL: path, Query: q}
		},
		Next: func(r *fetch.Response) (string, error) {
			if !r.Get(jsonHasMore).Bool() {
				return "", nil
			}
			n := r.Get(jsonData + ".#").Int()
			last := r.Get(jsonData + "." + strconv.FormatInt(n-1, 10) + ".id")
			if n == 0 || last.Type != gjson.String || last.Str == "" {
				return "", fmt.Errorf("%s: %w: has_more is true but the page's last item has no id", r.URL, mesh.ErrBadResponse)
			}
			return last.Str, nil
		},
	}, func(_ int, r *fetch.Response) error {
		items, _, err := decodeList(r.Body, object)
		if err != nil {
			return fmt.Errorf("%s: %w", r.URL, err)
		}
		if each != nil {
			if err := each(items); err != nil {
				return err
			}
		}
		all = append(all, items...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", path, err)
	}
	return all, nil
}

// productChange is what the events say about one product.
type productChange struct {
	maxImages int                 // the most images any event showed it with
	prices    map[string]struct{} // price ids the events name for it
}

// changes is the summary of an event listing.
type changes struct {
	products      map[string]*productChange
	deletedPrices map[string]string // price id -> product id
	newest        int64
}

// fetchDelta applies the events since the cursor. ok is false when a full fetch is cheaper.
func (s *Source) fetchDelta(ctx context.Context, req mesh.FetchRequest, prev *cursor, size int, em *emitter) (mesh.FetchResult, bool, error) {
	started := s.now()
	q := url.Values{paramCreatedGTE: {strconv.FormatInt(max(prev.Sin-eventOverlap, 0), 10)}, paramTypes: eventTypes}
	ch := changes{products: map[string]*productChange{}, deletedPrices: map[string]string{}, newest: prev.Sin}
	if _, err := s.list(ctx, pathEvents, q, size, "event", func(events []record) error {
		return ch.add(events)
	}); err != nil {
		if errors.Is(err, mesh.ErrForbidden) {
			return mesh.FetchResult{}, false, nil // the key lost access to events: a full fetch says so
		}
		return mesh.FetchResult{}, false, err
	}
	if len(ch.products) > maxDeltaProducts {
		return mesh.FetchResult{}, false, nil
	}
	ids := make([]string, 0, len(ch.products))
	for id := range ch.products {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, s.client.Options().Concurrency/2)) // each product is two requests
	for _, id := range ids {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return s.refreshProduct(gctx, req.Source, id, ch.products[id], size, em) })
	}
	if err := g.Wait(); err != nil {
		return mesh.FetchResult{}, false, err
	}
	if err := ctx.Err(); err != nil {
		return mesh.FetchResult{}, false, err
	}
	gone := make([]string, 0, len(ch.deletedPrices))
	for id := range ch.deletedPrices {
		gone = append(gone, id)
	}
	slices.Sort(gone)
	for _, id := range gone {
		if err := em.delete(mesh.NodeID(req.Source, nsVariant, id)); err != nil {
			return mesh.FetchResult{}, false, err
		}
	}
	return mesh.FetchResult{Delta: true, Cursor: s.newCursor(req.Source, ch.newest, started)}, true, nil
}

// add folds a page of events into the summary.
func (c *changes) add(events []record) error {
	for _, ev := range events {
		e := gjson.ParseBytes(ev.raw)
		created, err := eventCreated(e)
		if err != nil {
			return fmt.Errorf("event %s: %w", ev.id, err)
		}
		c.newest = max(c.newest, created)
		typ := e.Get(jsonEventType).String()
		obj := e.Get(jsonEventObject)
		kind, action, _ := strings.Cut(typ, ".")
		switch kind {
		case "product":
			id := obj.Get("id").String()
			if id == "" {
				return fmt.Errorf("event %s (%s): %w: data.object has no id", ev.id, typ, mesh.ErrBadResponse)
			}
			pc := c.product(id)
			pc.maxImages = max(pc.maxImages, len(obj.Get("images").Array()))
			if prevImages := e.Get(jsonEventPrevious + ".images"); prevImages.IsArray() {
				pc.maxImages = max(pc.maxImages, len(prevImages.Array()))
			}
		case "price":
			id := obj.Get("id").String()
			product := refID(obj.Get("product"))
			if id == "" || product == "" {
				return fmt.Errorf("event %s (%s): %w: data.object has no id or product", ev.id, typ, mesh.ErrBadResponse)
			}
			c.product(product).prices[id] = struct{}{}
			if action == "deleted" {
				c.deletedPrices[id] = product
			}
		}
	}
	return nil
}

func (c *changes) product(id string) *productChange {
	pc := c.products[id]
	if pc == nil {
		pc = &productChange{prices: map[string]struct{}{}}
		c.products[id] = pc
	}
	return pc
}

// refreshProduct reads one product and its prices again and emits them, or deletes what the events
// name when the product is gone.
func (s *Source) refreshProduct(ctx context.Context, src, id string, pc *productChange, size int, em *emitter) error {
	r, err := s.client.GetJSON(ctx, pathProducts+"/"+url.PathEscape(id), nil)
	gone := false
	switch {
	case err == nil:
		gone = r.Get("deleted").Bool()
	case errors.Is(err, mesh.ErrNotFound) && isResourceMissing(err):
		gone = true
	default:
		return fmt.Errorf("product %s: %w", id, err)
	}
	if gone {
		if err := em.delete(mesh.NodeID(src, nsProduct, id)); err != nil {
			return err
		}
		for i := range pc.maxImages {
			if err := em.delete(assetID(src, id, i)); err != nil {
				return err
			}
		}
		for _, price := range slices.Sorted(maps.Keys(pc.prices)) {
			if err := em.delete(mesh.NodeID(src, nsVariant, price)); err != nil {
				return err
			}
		}
		return nil
	}
	p, err := decodeObject(r.Body, "product")
	if err != nil {
		return fmt.Errorf("%s: %w", r.URL, err)
	}
	prices, err := s.list(ctx, pathPrices, url.Values{paramProduct: {id}}, size, "price", nil)
	if err != nil {
		return err
	}
	nodes, _, err := mapper{src: src, raw: s.cfg.Raw}.product(p, prices)
	if err != nil {
		return err
	}
	images := 0
	for _, n := range nodes {
		if n.Type == typeAsset {
			images++
		}
		if err := em.upsert(n); err != nil {
			return err
		}
	}
	for i := images; i < pc.maxImages; i++ {
		if err := em.delete(assetID(src, id, i)); err != nil {
			return err
		}
	}
	return nil
}

// isResourceMissing reports whether a 404 is Stripe's own "no such object" answer, not a proxy's or
// a wrong base URL's.
func isResourceMissing(err error) bool {
	var se *fetch.StatusError
	if !errors.As(err, &se) {
		return false
	}
	e := gjson.GetBytes(se.Body, "error")
	return e.Get("code").String() == "resource_missing" || e.Get("type").String() == "invalid_request_error"
}

// emitter wraps the engine's Emitter and remembers its first error, which Fetch returns unchanged.
type emitter struct {
	out mesh.Emitter
	mu  sync.Mutex
	err error
}

func (e *emitter) upsert(n mesh.Node) error {
	if err := e.out.Upsert(n); err != nil {
		e.fail(err)
		return err
	}
	return nil
}

func (e *emitter) delete(id string) error {
	if err := e.out.Delete(id); err != nil {
		e.fail(err)
		return err
	}
	return nil
}

func (e *emitter) fail(err error) {
	e.mu.Lock()
	if e.err == nil {
		e.err = err
	}
	e.mu.Unlock()
}

func (e *emitter) failed() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// record is one item of a listing: its id and its JSON, copied out of the page.
type record struct {
	id  string
	raw []byte
}

// decodeList reads a list envelope {"object": "list", "data": [...], "has_more": ...} whose items
// are objects of the given kind ("product", "price", "event") with a string id.
func decodeList(body []byte, object string) (items []record, hasMore bool, err error) {
	if !gjson.ValidBytes(body) {
		return nil, false, fmt.Errorf("%w: the body is not JSON", mesh.ErrBadResponse)
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, false, fmt.Errorf("%w: want a list object, got %s", mesh.ErrBadResponse, kindOf(root))
	}
	if o := root.Get(jsonObject); o.Exists() && o.String() != "list" {
		return nil, false, fmt.Errorf("%w: want object \"list\", got %q", mesh.ErrBadResponse, normalize.Truncate(o.String(), 40))
	}
	data := root.Get(jsonData)
	if !data.IsArray() {
		return nil, false, fmt.Errorf("%w: no data array in the list", mesh.ErrBadResponse)
	}
	var bad error
	data.ForEach(func(i, item gjson.Result) bool {
		rec, err := checkObject(item, object)
		if err != nil {
			bad = fmt.Errorf("data[%d]: %w", i.Int(), err)
			return false
		}
		items = append(items, rec)
		return true
	})
	if bad != nil {
		return nil, false, bad
	}
	return items, root.Get(jsonHasMore).Bool(), nil
}

// decodeObject reads one object of the given kind (a retrieve answer).
func decodeObject(body []byte, object string) (record, error) {
	if !gjson.ValidBytes(body) {
		return record{}, fmt.Errorf("%w: the body is not JSON", mesh.ErrBadResponse)
	}
	return checkObject(gjson.ParseBytes(body), object)
}

func checkObject(item gjson.Result, object string) (record, error) {
	if !item.IsObject() {
		return record{}, fmt.Errorf("%w: want a %s object, got %s", mesh.ErrBadResponse, object, kindOf(item))
	}
	if o := item.Get(jsonObject); o.Exists() && o.String() != object {
		return record{}, fmt.Errorf("%w: want object %q, got %q", mesh.ErrBadResponse, object, normalize.Truncate(o.String(), 40))
	}
	id := item.Get("id")
	if id.Type != gjson.String || id.Str == "" {
		return record{}, fmt.Errorf("%w: a %s without a string id", mesh.ErrBadResponse, object)
	}
	return record{id: strings.Clone(id.Str), raw: []byte(item.Raw)}, nil
}

func kindOf(r gjson.Result) string {
	switch {
	case r.IsArray():
		return "an array"
	case r.IsObject():
		return "an object"
	case r.Type == gjson.String:
		return "a string"
	case r.Type == gjson.Number:
		return "a number"
	case r.Type == gjson.Null:
		return "null"
	}
	return "a boolean"
}

func eventCreated(e gjson.Result) (int64, error) {
	c := e.Get(jsonEventCreated)
	if c.Type != gjson.Number {
		return 0, fmt.Errorf("%w: event without a created time", mesh.ErrBadResponse)
	}
	n, err := strconv.ParseInt(c.Raw, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: event created %q is not Unix seconds", mesh.ErrBadResponse, normalize.Truncate(c.Raw, 40))
	}
	return n, nil
}

// refID reads a field that holds an id, or the expanded object with its id.
func refID(r gjson.Result) string {
	if r.IsObject() {
		r = r.Get("id")
	}
	if r.Type != gjson.String {
		return ""
	}
	return r.Str
}

// mapper maps Stripe records to nodes of one source instance.
type mapper struct {
	src string
	raw bool // keep the upstream record under fields._raw
}

// mapStats counts what the mapping left out.
type mapStats struct {
	orphans  int // prices whose product is not listed
	unpriced int // prices without a unit amount (tiered, customer-chosen)
}

// catalog maps every product with its prices.
func (m mapper) catalog(products, prices []record) ([]mesh.Node, mapStats, error) {
	var st mapStats
	byProduct := make(map[string][]record, len(products))
	known := make(map[string]bool, len(products))
	for _, p := range products {
		known[p.id] = true
	}
	for _, pr := range prices {
		pid := refID(gjson.GetBytes(pr.raw, "product"))
		if !known[pid] {
			st.orphans++
			continue
		}
		byProduct[pid] = append(byProduct[pid], pr)
	}
	var nodes []mesh.Node
	for _, p := range products {
		ns, unpriced, err := m.product(p, byProduct[p.id])
		if err != nil {
			return nil, st, err
		}
		st.unpriced += unpriced
		nodes = append(nodes, ns...)
	}
	return nodes, st, nil
}

// variant is a price mapped to its node, kept with what the product node needs.
type variant struct {
	id      string
	fields  *mesh.Object
	price   money.Money
	active  bool
	created int64
	updated time.Time
	raw     []byte
}

// product maps a product and its prices: the Product node, a ProductVariant per price with a unit
// amount, an Asset per image. unpriced counts the prices left out for want of a unit amount.
func (m mapper) product(p record, prices []record) (nodes []mesh.Node, unpriced int, err error) {
	pj := gjson.ParseBytes(p.raw)
	productID := mesh.NodeID(m.src, nsProduct, p.id)
	active := pj.Get("active").Type == gjson.True
	defaultPrice := refID(pj.Get("default_price"))

	vars := make([]variant, 0, len(prices))
	for _, pr := range prices {
		v, ok, err := variantOf(pr)
		if err != nil {
			return nil, 0, fmt.Errorf("product %s: %w", p.id, err)
		}
		if !ok {
			unpriced++
			continue
		}
		vars = append(vars, v)
	}
	slices.SortFunc(vars, func(a, b variant) int {
		switch {
		case a.id == defaultPrice && b.id != defaultPrice:
			return -1
		case b.id == defaultPrice && a.id != defaultPrice:
			return 1
		case a.created != b.created:
			if a.created < b.created {
				return -1
			}
			return 1
		}
		return strings.Compare(a.id, b.id)
	})

	// Images first: a variant's image is the product's first image (Stripe prices have none).
	images := pj.Get("images").Array()
	imageIDs := make([]string, 0, len(images))
	assets := make([]mesh.Node, 0, len(images))
	for i, img := range images {
		if img.Type != gjson.String || img.Str == "" {
			return nil, 0, fmt.Errorf("product %s: %w: images[%d] is not a URL string", p.id, mesh.ErrBadResponse, i)
		}
		aid := assetID(m.src, p.id, i)
		imageIDs = append(imageIDs, aid)
		assets = append(assets, mesh.Node{ID: aid, Type: typeAsset, NativeID: p.id + ":" + strconv.Itoa(i), Fields: imageAsset(img.Str)})
	}

	variantIDs := make([]string, len(vars))
	var amounts []money.Money
	variants := make([]mesh.Node, len(vars))
	for i, v := range vars {
		id := mesh.NodeID(m.src, nsVariant, v.id)
		variantIDs[i] = id
		if v.active {
			amounts = append(amounts, v.price)
		}
		v.fields.SetBool("available", v.active && active)
		if len(imageIDs) > 0 {
			v.fields.SetRef("image", imageIDs[0])
		} else {
			v.fields.SetNull("image")
		}
		v.fields.SetRef("product", productID)
		if m.raw {
			v.fields.Set("_raw", v.raw)
		}
		variants[i] = mesh.Node{ID: id, Type: typeVariant, NativeID: v.id, UpdatedAt: v.updated, Fields: v.fields.JSON()}
	}

	o := mesh.NewObject()
	meta := pj.Get("metadata")
	handle := strings.TrimSpace(meta.Get("handle").String())
	if handle == "" {
		handle = p.id
	}
	o.SetString("handle", handle)
	o.SetString("title", pj.Get("name").String())
	// Descriptions are always strings, "" when there is none (the commerce types' shared rule).
	d := pj.Get("description").String()
	o.SetString("description", d)
	o.SetString("descriptionHtml", html.EscapeString(d))
	setStringOrNull(o, "vendor", meta.Get("vendor").String())
	pt := meta.Get("productType").String()
	if pt == "" {
		pt = meta.Get("product_type").String()
	}
	setStringOrNull(o, "productType", pt)
	tags := []string{}
	for t := range strings.SplitSeq(meta.Get("tags").String(), ",") {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	if err := o.SetValue("tags", tags); err != nil {
		return nil, 0, err
	}
	if active {
		o.SetString("status", "active")
	} else {
		o.SetString("status", "archived")
	}
	if r, ok := money.RangeOf(amounts); ok {
		o.Set("priceRange", r.JSON())
	} else {
		o.SetNull("priceRange")
	}
	o.SetRefs("images", imageIDs)
	o.Set("options", []byte("[]"))
	o.SetRefs("variants", variantIDs)
	o.Set("collections", []byte("[]"))
	if m.raw {
		o.Set("_raw", p.raw)
	}
	updated := unixTime(pj.Get("updated"))
	if updated.IsZero() {
		updated = unixTime(pj.Get("created"))
	}
	nodes = make([]mesh.Node, 0, 1+len(variants)+len(assets))
	nodes = append(nodes, mesh.Node{ID: productID, Type: typeProduct, NativeID: p.id, UpdatedAt: updated, Fields: o.JSON()})
	nodes = append(nodes, variants...)
	return append(nodes, assets...), unpriced, nil
}

// variantOf maps the fields of a price that do not depend on its product. ok is false for a price
// without a unit amount (tiered, or chosen by the customer): a variant needs a price.
func variantOf(pr record) (v variant, ok bool, err error) {
	pj := gjson.ParseBytes(pr.raw)
	price, err := priceOf(pj)
	if err != nil {
		return v, false, fmt.Errorf("price %s: %w", pr.id, err)
	}
	if price == nil {
		return v, false, nil
	}
	v = variant{id: pr.id, price: *price, active: pj.Get("active").Type == gjson.True, raw: pr.raw}
	o := mesh.NewObject()
	setStringOrNull(o, "sku", pj.Get("lookup_key").String())
	title := strings.TrimSpace(pj.Get("nickname").String())
	if title == "" {
		title = intervalTitle(pj.Get("recurring"))
	}
	o.SetString("title", title)
	o.Set("price", price.JSON())
	o.SetNull("compareAtPrice")
	o.SetNull("inventoryQuantity")
	o.Set("selectedOptions", []byte("[]"))
	v.fields = o
	v.updated = unixTime(pj.Get("created"))
	if !v.updated.IsZero() {
		v.created = v.updated.Unix()
	}
	return v, true, nil
}

// imageAsset is the Asset of a product image URL: Stripe keeps nothing else about it, so the file
// name and type come from the URL's last path segment when it has an extension.
func imageAsset(rawURL string) json.RawMessage {
	o := mesh.NewObject().SetString("url", rawURL)
	name := ""
	if u, err := url.Parse(rawURL); err == nil {
		name = path.Base(u.Path)
	}
	ext := path.Ext(name)
	if ext == "" || ext == name || name == "/" || name == "." {
		o.SetNull("fileName").SetNull("mimeType")
	} else {
		o.SetString("fileName", name)
		mt, _, _ := strings.Cut(mime.TypeByExtension(strings.ToLower(ext)), ";")
		setStringOrNull(o, "mimeType", mt)
	}
	o.SetNull("width").SetNull("height").SetNull("size").SetNull("title").SetNull("alt")
	return o.JSON()
}

// priceOf converts a price's amount: unit_amount (integer minor units), else unit_amount_decimal
// (decimal minor units, rounded half to even to the currency's decimals); nil for tiered and
// customer-chosen prices, which have neither.
func priceOf(pj gjson.Result) (*money.Money, error) {
	cur := pj.Get("currency").String()
	ua := pj.Get("unit_amount")
	switch {
	case ua.Type == gjson.Number:
		m, err := money.FromMinor(ua.Raw, cur)
		if err != nil {
			return nil, fmt.Errorf("%w: unit_amount %s %s: %v", mesh.ErrBadResponse,
				normalize.Truncate(ua.Raw, 40), normalize.Truncate(cur, 10), err)
		}
		return &m, nil
	case ua.Exists() && ua.Type != gjson.Null:
		return nil, fmt.Errorf("%w: unit_amount is %s, want an integer", mesh.ErrBadResponse, kindOf(ua))
	}
	uad := pj.Get("unit_amount_decimal")
	if uad.Type != gjson.String || uad.Str == "" {
		return nil, nil
	}
	major, err := minorToMajor(uad.Str, money.Exponent(cur))
	if err != nil {
		return nil, fmt.Errorf("%w: unit_amount_decimal: %v", mesh.ErrBadResponse, err)
	}
	m, err := money.FromDecimal(major, cur)
	if err != nil {
		return nil, fmt.Errorf("%w: unit_amount_decimal %s %s: %v", mesh.ErrBadResponse,
			normalize.Truncate(uad.Str, 40), normalize.Truncate(cur, 10), err)
	}
	return &m, nil
}

// minorToMajor moves the decimal point of a decimal amount in minor units exp places left, as text:
// "1234.5", 2 -> "12.345".
func minorToMajor(s string, exp int) (string, error) {
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(body, ".")
	if intPart == "" || strings.Trim(intPart, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" || len(body) > 64 {
		return "", fmt.Errorf("%q is not a decimal number", normalize.Truncate(s, 40))
	}
	if len(intPart) <= exp {
		intPart = strings.Repeat("0", exp-len(intPart)+1) + intPart
	}
	out := intPart[:len(intPart)-exp] + "." + intPart[len(intPart)-exp:] + frac
	if neg {
		out = "-" + out
	}
	return out, nil
}

// intervalTitle names a price by its billing interval: "Monthly", "Every 3 months", or "One-time".
func intervalTitle(recurring gjson.Result) string {
	if !recurring.IsObject() {
		return "One-time"
	}
	interval := recurring.Get("interval").String()
	count := recurring.Get("interval_count").Int()
	if count <= 1 {
		switch interval {
		case "day":
			return "Daily"
		case "week":
			return "Weekly"
		case "month":
			return "Monthly"
		case "year":
			return "Yearly"
		}
		return "Every " + interval
	}
	return fmt.Sprintf("Every %d %ss", count, interval)
}

func assetID(src, productID string, i int) string {
	return mesh.NodeID(src, nsAsset, productID+":"+strconv.Itoa(i))
}

func setStringOrNull(o *mesh.Object, key, v string) {
	if v == "" {
		o.SetNull(key)
		return
	}
	o.SetString(key, v)
}

// unixTime reads Unix seconds (Stripe's created and updated); zero when absent or not an integer.
func unixTime(v gjson.Result) time.Time {
	if v.Type != gjson.Number {
		return time.Time{}
	}
	n, err := strconv.ParseInt(v.Raw, 10, 64)
	if err != nil || n < 0 || n > 1<<40 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}
