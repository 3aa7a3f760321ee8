// Package bigcommerce is a mesh.Source for a BigCommerce store's catalog, read through the REST
// Catalog API v3: products with their variants and images, and categories, as the commerce domain
// types of the graph (Product, ProductVariant, Collection, Asset).
//
// # Configuration
//
//	sources:
//	  - name: shop
//	    type: bigcommerce
//	    storeHash: abc123                  # from https://api.bigcommerce.com/stores/<storeHash>/v3
//	    token: ${BIGCOMMERCE_TOKEN}        # an API account's access token
//	    currency: USD                      # optional; default: the store's, read from /v2/store
//	    raw: false                         # optional: keep each upstream record under fields._raw
//	    baseURL: http://127.0.0.1:9000     # optional: replaces https://api.bigcommerce.com
//	    timeout: 30s                       # and the other mesh/fetch options: retries,
//	    concurrency: 4                     # concurrency, requestsPerSecond, maxRetryAfter, ...
//
// Requests go to <baseURL>/stores/<storeHash>/v3/catalog/... and /stores/<storeHash>/v2/store.
//
// # Authentication
//
// The API account's access token in the X-Auth-Token header (X-Auth-Client is no longer needed). It
// needs read access to Products (and Information & Settings when currency is not configured). The
// token never appears in errors, logs or outputs.
//
// # Rate limits
//
// Every store has one request quota per 30-second window shared by all its apps (150 requests on
// Standard and Plus plans, 450 on Pro). Every answer says what is left in X-Rate-Limit-* headers,
// in milliseconds; a 429 is retried after X-Rate-Limit-Time-Reset-Ms (mesh/fetch reads it), and no
// other request of the source goes out before then. A 429 without those headers (platform load) is
// retried with exponential backoff. Listings are paged by page number: the first page tells the
// total and the other pages are fetched concurrently, up to concurrency at a time.
//
// Pages hold 250 products with their variants and images. A page that includes options or modifiers
// holds at most 10 products; the adapter does not ask for them (see Mapping), so it needs 25 times
// fewer requests, which matters against a quota that other apps share.
//
// # Mapping
//
//   - Product (namespace "product"): handle (custom_url.url without its slashes), title (name),
//     description (the HTML description as plain text), descriptionHtml, vendor (the brand's name;
//     null without a brand), productType (null: BigCommerce has no such field; `type` says
//     physical or digital), tags ([]: BigCommerce has no product tags), status ("active" when
//     is_visible, else "draft"), priceRange {min, max} of the variants' prices, images ($refs, in
//     sort_order), options (each variant's option_values, options and values in the order the
//     variants show them), variants ($refs), collections ($refs to its visible categories).
//   - ProductVariant (namespace "variant"): sku (null when empty), title (the option values joined
//     by " / ", or the product's name without options), price (calculated_price: the sale price when
//     there is one), compareAtPrice (the regular price, the variant's or else the product's, when
//     it is higher than price; null otherwise), available (the product is not disabled, purchasing
//     is not disabled, and stock is not tracked or above 0), inventoryQuantity (the variant's
//     inventory_level when stock is tracked per variant, the product's when tracked per product,
//     null when not tracked), selectedOptions, image (image_url: the product image with that URL, or
//     an Asset of its own; without one, the product's thumbnail, as Shopify does), product ($ref).
//   - Collection (namespace "collection"), one per visible category: handle (custom_url.url without
//     its slashes), title (name), description (plain text), image (image_url), products ($refs,
//     in product id order). Hidden categories are left out, as a storefront hides them.
//   - Asset (namespace "asset"): a product image is its id, with url (url_zoom, the largest),
//     alt (description), fileName (image_file's name without the "__<id>" BigCommerce adds),
//     mimeType (from the extension); width, height, size and title are null (the API does not say).
//     A variant's own image is "variant-<id>", a category's "category-<id>".
//
// Prices arrive as JSON floats: each is read as its raw text and converted to the currency's
// decimals exactly (0.30000000000000004 USD is "0.30"), never through a float64; the currency is
// the configured one, else the store's default from GET /v2/store. Ids are read as their text.
//
// # Incremental sync
//
// The cursor keeps the newest product date_modified seen and, for each product, its variants,
// assets and categories. The next fetch lists only the products with date_modified:min at that
// time (a full timestamp: with a bare date the API would add the time of the request), sweeps the
// ids and categories of every product (include_fields=categories,date_modified, 250 a page) to find
// deleted products and category changes, fetches by id (id:in) the products the sweep shows with
// other categories than the cursor recorded, and lists the categories and brands whole. It returns
// a delta: the changed products with their variants and assets, every category, and deletes for
// deleted products, their variants and assets, and for variants and assets a changed product no
// longer has. Changes that do not touch a product's date_modified (a brand renamed; stock moved by
// an order, if BigCommerce does not count that as a change: not verified) show at the next full
// build (contentmesh build -full). A cursor from another store, currency or raw setting is ignored:
// the fetch is then full.
package bigcommerce

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"path"
	"regexp"
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

// Kind is the adapter's name, the config's `type: bigcommerce`.
const Kind = "bigcommerce"

// Config configures a Source. Its yaml keys are part of the configuration contract.
type Config struct {
	// StoreHash identifies the store (the <hash> in /stores/<hash>/v3).
	StoreHash string `yaml:"storeHash"`
	// Token is the API account's access token. It is a secret: never logged or printed.
	Token string `yaml:"token"`
	// Currency is the ISO 4217 code of the catalog's prices; empty: the store's default currency.
	Currency string `yaml:"currency,omitempty"`
	// BaseURL replaces https://api.bigcommerce.com as the API origin (a test server or a proxy).
	BaseURL string `yaml:"baseURL,omitempty"`
	// Raw keeps each upstream record under fields._raw.
	Raw bool `yaml:"raw,omitempty"`

	// Options are the mesh/fetch knobs: timeout, retries, concurrency, requestsPerSecond, ...
	fetch.Options `yaml:",inline"`
}

// String describes the configuration without its token.
func (c Config) String() string {
	return fmt.Sprintf("bigcommerce.Config{StoreHash:%q Currency:%q BaseURL:%q Token:%s}", c.StoreHash, c.Currency, c.BaseURL, fetch.Redacted)
}

// GoString is String, so that %#v does not print the token either.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the token.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Source reads a BigCommerce store. It is safe for concurrent use.
type Source struct {
	cfg      Config
	hash     string
	currency string // configured, upper case; "" means ask the store
	client   *fetch.Client
	config   string // what a cursor must have been made with
}

var (
	_ mesh.Source  = (*Source)(nil)
	_ mesh.Checker = (*Source)(nil)
)

// decimalRE is the text a price may have: at most 30 digits before the point and 30 after, and a
// small exponent (a JSON number's). Anything else is not a price, and a huge exponent would make an
// exact decimal of millions of digits.
var decimalRE = regexp.MustCompile(`^-?[0-9]{1,30}(\.[0-9]{1,30})?([eE][-+]?[0-9]{1,2})?$`)

var (
	hashRE     = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
)

// New validates cfg and returns a Source. It does no I/O. Errors wrap mesh.ErrInvalidConfig and name
// the key.
func New(cfg Config) (*Source, error) {
	bad := func(key, format string, args ...any) error {
		return &mesh.ConfigError{Where: fmt.Sprintf("bigcommerce: key %q", key), Msg: fmt.Sprintf(format, args...)}
	}
	hash := strings.TrimSpace(cfg.StoreHash)
	cur := strings.ToUpper(strings.TrimSpace(cfg.Currency))
	switch {
	case hash == "":
		return nil, bad("storeHash", "required: the store hash, as in https://api.bigcommerce.com/stores/<storeHash>/v3")
	case !hashRE.MatchString(hash):
		return nil, bad("storeHash", "%q: want letters and digits only (the hash, not the store's URL)", cfg.StoreHash)
	case cfg.Token == "":
		return nil, bad("token", "required: the API account's access token")
	case strings.ContainsAny(cfg.Token, "\r\n\x00 "):
		return nil, bad("token", "holds a space or a line break")
	case cur != "" && !currencyRE.MatchString(cur):
		return nil, bad("currency", "%q: want a three-letter ISO 4217 code such as USD", cfg.Currency)
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	} else if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, bad("baseURL", "want an http or https URL")
	}
	token := cfg.Token
	client, err := fetch.New(fetch.Config{
		BaseURL: strings.TrimSuffix(base, "/"),
		Auth: func(r *http.Request) error {
			r.Header.Set(tokenHeader, token)
			return nil
		},
		ErrorMessage: errorMessage,
	}, cfg.Options)
	if err != nil {
		return nil, fmt.Errorf("bigcommerce: %w", err)
	}
	h := sha256.Sum256(fmt.Appendf(nil, "v1\x00%s\x00%s\x00%t", hash, cur, cfg.Raw))
	return &Source{cfg: cfg, hash: hash, currency: cur, client: client, config: hex.EncodeToString(h[:8])}, nil
}

// Kind implements mesh.Source.
func (s *Source) Kind() string { return Kind }

// String describes the source without its token.
func (s *Source) String() string { return "bigcommerce store " + s.hash }

// Check implements mesh.Checker: it reads one product id.
func (s *Source) Check(ctx context.Context) error {
	defer s.client.CloseIdleConnections()
	r, err := s.client.GetJSON(ctx, storeURL(s.hash, productsPath), url.Values{paramLimit: {"1"}, paramIncludeFields: {"id"}})
	if err != nil {
		return fmt.Errorf("bigcommerce: %w", err)
	}
	if !r.Get(pathData).IsArray() {
		return fmt.Errorf("bigcommerce: %s: %w: no data array", r.URL, mesh.ErrBadResponse)
	}
	return nil
}

// Fetch implements mesh.Source: see the package documentation for what it emits and how.
func (s *Source) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	defer s.client.CloseIdleConnections()
	log := req.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	prev := s.readCursor(req, log)
	size := maxLimit
	if req.PageSize > 0 {
		size = req.PageSize
	}
	r := &run{s: s, out: out, size: size, m: mapper{source: req.Source, currency: s.currency, raw: s.cfg.Raw,
		brands: map[string]string{}, categories: map[string]bool{}},
		assets: map[string]bool{}, products: map[string]owned{}, seen: map[string]bool{}}
	res, err := r.fetch(ctx, prev)
	if e := r.emitError(); e != nil {
		return mesh.FetchResult{}, e // unchanged, as the Source contract asks
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return mesh.FetchResult{}, ctxErr
		}
		return mesh.FetchResult{}, fmt.Errorf("bigcommerce: %w", err)
	}
	return res, nil
}

// readCursor decodes the request's cursor; nil means a full fetch.
func (s *Source) readCursor(req mesh.FetchRequest, log *slog.Logger) *cursor {
	if len(req.Cursor) == 0 {
		return nil
	}
	var c cursor
	if err := json.Unmarshal(req.Cursor, &c); err != nil || c.V != cursorVersion {
		log.Warn("bigcommerce: unreadable cursor, fetching everything", "err", err)
		return nil
	}
	if c.Config != s.config {
		log.Info("bigcommerce: store, currency or raw setting changed since the last fetch, fetching everything")
		return nil
	}
	if _, err := time.Parse(time.RFC3339, c.Since); err != nil {
		return nil
	}
	if c.Products == nil {
		c.Products = map[string]owned{}
	}
	if c.Collections == nil {
		c.Collections = map[string]owned{}
	}
	return &c
}

// run is the state of one Fetch.
type run struct {
	s    *Source
	out  mesh.Emitter
	size int
	m    mapper // read-only once the products are listed

	mu       sync.Mutex
	assets   map[string]bool  // asset native ids emitted
	products map[string]owned // products emitted, by native id
	seen     map[string]bool  // products emitted (a product on two pages is emitted once)
	since    time.Time
	emitErr  error
	// sweep maps every product (delta) to its categories.
	sweep map[string][]string
	// categoryNodes are the visible categories, by native id.
	categoryNodes map[string]gjson.Result
}

func (r *run) emitError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.emitErr
}

func (r *run) upsert(n mesh.Node) error {
	if err := r.out.Upsert(n); err != nil {
		r.mu.Lock()
		if r.emitErr == nil {
			r.emitErr = err
		}
		r.mu.Unlock()
		return err
	}
	return nil
}

func (r *run) fetch(ctx context.Context, prev *cursor) (mesh.FetchResult, error) {
	// What the products' mapping needs: the currency, the brands, the visible categories.
	g, gctx := errgroup.WithContext(ctx)
	if r.m.currency == "" {
		g.Go(func() error { return r.storeCurrency(gctx) })
	}
	g.Go(func() error { return r.listBrands(gctx) })
	g.Go(func() error { return r.listCategories(gctx) })
	if err := g.Wait(); err != nil {
		return mesh.FetchResult{}, err
	}

	// The products (changed ones for a delta) and, for a delta, the sweep.
	g, gctx = errgroup.WithContext(ctx)
	extra := url.Values{paramInclude: {includeProductParts}, paramSort: {sortByID}, paramDirection: {sortAscend}}
	if prev != nil {
		extra.Set(paramModifiedSince, prev.Since)
		r.sweep = map[string][]string{}
		g.Go(func() error { return r.sweepProducts(gctx) })
	}
	g.Go(func() error { return r.listProducts(gctx, extra) })
	if err := g.Wait(); err != nil {
		return mesh.FetchResult{}, err
	}
	if prev != nil {
		if err := r.fetchByID(ctx, r.stale(prev)); err != nil {
			return mesh.FetchResult{}, err
		}
	}

	// The categories, with their products.
	collections, err := r.emitCategories()
	if err != nil {
		return mesh.FetchResult{}, err
	}
	next := cursor{V: cursorVersion, Config: r.s.config, Products: r.products, Collections: collections}
	if prev != nil {
		if err := r.deletes(prev, &next); err != nil {
			return mesh.FetchResult{}, err
		}
	}
	since := r.since
	if prev != nil {
		if t, err := time.Parse(time.RFC3339, prev.Since); err == nil && t.After(since) {
			since = t
		}
	}
	if !since.IsZero() {
		next.Since = since.UTC().Format(time.RFC3339)
	}
	c, err := json.Marshal(next)
	if err != nil {
		return mesh.FetchResult{}, fmt.Errorf("encode cursor: %w", err)
	}
	return mesh.FetchResult{Delta: prev != nil, Cursor: c}, nil
}

// storeCurrency reads the store's default currency from GET /v2/store.
func (r *run) storeCurrency(ctx context.Context) error {
	resp, err := r.s.client.GetJSON(ctx, storeURL(r.s.hash, storePath), nil)
	if err != nil {
		return fmt.Errorf("store currency: %w (or set the source's currency key)", err)
	}
	cur := strings.ToUpper(resp.Get(pathCurrency).String())
	if !currencyRE.MatchString(cur) {
		return fmt.Errorf("%s: %w: no ISO 4217 currency in the store's %q field (set the source's currency key)",
			resp.URL, mesh.ErrBadResponse, pathCurrency)
	}
	r.m.currency = cur
	return nil
}

// offset lists a collection page by page, the pages after the first concurrently.
func (r *run) offset(ctx context.Context, p string, extra url.Values, each func(items []gjson.Result, resp *fetch.Response) error) error {
	limit := pageLimit(r.size, extra.Get(paramInclude))
	return r.s.client.Offset(ctx, fetch.OffsetPages{
		Page:     func(i int) *fetch.Request { return &fetch.Request{URL: p, Query: listQuery(i, limit, extra)} },
		PageSize: limit,
		Total: func(first *fetch.Response) (int, error) {
			t := first.Get(pathTotal)
			if t.Type != gjson.Number {
				return 0, fmt.Errorf("%w: no %s", mesh.ErrBadResponse, pathTotal)
			}
			return int(t.Int()), nil
		},
		Items: func(resp *fetch.Response) int { return len(resp.Get(pathData).Array()) },
	}, func(_ int, resp *fetch.Response) error {
		data := resp.Get(pathData)
		if !data.IsArray() {
			return fmt.Errorf("%s: %w: data is not an array", resp.URL, mesh.ErrBadResponse)
		}
		return each(data.Array(), resp)
	})
}

func (r *run) listBrands(ctx context.Context) error {
	var mu sync.Mutex
	return r.offset(ctx, storeURL(r.s.hash, brandsPath), url.Values{}, func(items []gjson.Result, resp *fetch.Response) error {
		for _, b := range items {
			id, err := idText(b.Get("id"))
			if err != nil {
				return fmt.Errorf("%s: brand: %w", resp.URL, err)
			}
			mu.Lock()
			r.m.brands[id] = b.Get("name").String()
			mu.Unlock()
		}
		return nil
	})
}

func (r *run) listCategories(ctx context.Context) error {
	var mu sync.Mutex
	nodes := map[string]gjson.Result{}
	err := r.offset(ctx, storeURL(r.s.hash, categoriesPath), url.Values{}, func(items []gjson.Result, resp *fetch.Response) error {
		for _, c := range items {
			id, err := idText(c.Get("id"))
			if err != nil {
				return fmt.Errorf("%s: category: %w", resp.URL, err)
			}
			if v := c.Get("is_visible"); v.Type == gjson.False {
				continue
			}
			mu.Lock()
			nodes[id] = c
			r.m.categories[id] = true
			mu.Unlock()
		}
		return nil
	})
	r.categoryNodes = nodes
	return err
}

func (r *run) listProducts(ctx context.Context, extra url.Values) error {
	return r.offset(ctx, storeURL(r.s.hash, productsPath), extra, func(items []gjson.Result, resp *fetch.Response) error {
		return r.productPage(items, resp.URL)
	})
}

// productPage maps and emits the products of one page.
func (r *run) productPage(items []gjson.Result, pageURL string) error {
	for i, it := range items {
		p, err := r.m.product(it)
		if err != nil {
			return fmt.Errorf("%s: product %d of the page: %w", pageURL, i, err)
		}
		if err := r.emitProduct(p); err != nil {
			return err
		}
	}
	return nil
}

// emitProduct emits a product, its variants and its assets (each once per fetch).
func (r *run) emitProduct(p *productOut) error {
	r.mu.Lock()
	dup := r.seen[p.id]
	r.seen[p.id] = true
	r.mu.Unlock()
	if dup {
		return nil // the same product on two pages (the catalog moved during the listing)
	}
	for _, n := range p.nodes {
		if n.Type == "Asset" {
			r.mu.Lock()
			seen := r.assets[n.NativeID]
			r.assets[n.NativeID] = true
			r.mu.Unlock()
			if seen {
				continue
			}
		}
		if err := r.upsert(n); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.products[p.id] = p.own
	if p.updatedAt.After(r.since) {
		r.since = p.updatedAt
	}
	r.mu.Unlock()
	return nil
}

// sweepProducts lists the id, categories and date_modified of every product.
func (r *run) sweepProducts(ctx context.Context) error {
	var mu sync.Mutex
	return r.offset(ctx, storeURL(r.s.hash, productsPath), url.Values{paramIncludeFields: {includeSweepFields},
		paramSort: {sortByID}, paramDirection: {sortAscend}}, func(items []gjson.Result, resp *fetch.Response) error {
		for _, it := range items {
			id, err := idText(it.Get("id"))
			if err != nil {
				return fmt.Errorf("%s: product: %w", resp.URL, err)
			}
			cats, err := r.m.visibleCategories(it.Get("categories"))
			if err != nil {
				return fmt.Errorf("%s: product %s: %w", resp.URL, id, err)
			}
			mu.Lock()
			r.sweep[id] = cats
			mu.Unlock()
		}
		return nil
	})
}

// stale lists the products a delta must fetch by id although date_modified:min did not return
// them: those the sweep found but the cursor does not know, and those whose categories are not what
// the cursor recorded.
func (r *run) stale(prev *cursor) []string {
	var out []string
	for id, cats := range r.sweep {
		if r.seen[id] {
			continue
		}
		if old, known := prev.Products[id]; !known || !slices.Equal(old.Collections, cats) {
			out = append(out, id)
		}
	}
	slices.SortFunc(out, compareIDs)
	return out
}

// fetchByID fetches products by id, byIDBatch a request, up to concurrency requests at a time,
// and emits them.
func (r *run) fetchByID(ctx context.Context, ids []string) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, r.s.client.Options().Concurrency))
	for start := 0; start < len(ids); start += byIDBatch {
		batch := ids[start:min(start+byIDBatch, len(ids))]
		g.Go(func() error {
			q := url.Values{paramIDIn: {strings.Join(batch, ",")}, paramInclude: {includeProductParts},
				paramLimit: {strconv.Itoa(byIDBatch)}, paramSort: {sortByID}, paramDirection: {sortAscend}}
			resp, err := r.s.client.GetJSON(gctx, storeURL(r.s.hash, productsPath), q)
			if err != nil {
				return err
			}
			data := resp.Get(pathData)
			if !data.IsArray() {
				return fmt.Errorf("%s: %w: data is not an array", resp.URL, mesh.ErrBadResponse)
			}
			return r.productPage(data.Array(), resp.URL)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	// A product the sweep saw and id:in did not return was deleted in between.
	for _, id := range ids {
		if !r.seen[id] {
			delete(r.sweep, id)
		}
	}
	return nil
}

// emitCategories emits every visible category with its products (in product id order) and image,
// and returns what each owns.
func (r *run) emitCategories() (map[string]owned, error) {
	members := map[string][]string{}
	add := func(pid string, cats []string) {
		for _, c := range cats {
			members[c] = append(members[c], pid)
		}
	}
	if r.sweep != nil {
		for pid, cats := range r.sweep {
			if own, ok := r.products[pid]; ok {
				cats = own.Collections
			}
			add(pid, cats)
		}
	} else {
		for pid, own := range r.products {
			add(pid, own.Collections)
		}
	}
	out := map[string]owned{}
	for id, c := range r.categoryNodes {
		pids := members[id]
		slices.SortFunc(pids, compareIDs)
		nodes := r.m.category(id, c, pids)
		own := owned{}
		for _, n := range nodes {
			if n.Type == "Asset" {
				own.Assets = append(own.Assets, n.NativeID)
				if r.assets[n.NativeID] {
					continue
				}
				r.assets[n.NativeID] = true
			}
			if err := r.upsert(n); err != nil {
				return nil, err
			}
		}
		out[id] = own
	}
	return out, nil
}

// deletes emits the deletes of a delta and fills next with the state after it.
func (r *run) deletes(prev *cursor, next *cursor) error {
	for id, own := range prev.Products {
		if _, changed := r.products[id]; !changed {
			if _, alive := r.sweep[id]; alive {
				next.Products[id] = own
			}
		}
	}
	keepAssets, keepVariants := map[string]bool{}, map[string]bool{}
	for _, own := range next.Products {
		for _, a := range own.Assets {
			keepAssets[a] = true
		}
		for _, v := range own.Variants {
			keepVariants[v] = true
		}
	}
	for _, own := range next.Collections {
		for _, a := range own.Assets {
			keepAssets[a] = true
		}
	}
	src := r.m.source
	var ids []string
	for id, own := range prev.Products {
		if _, ok := next.Products[id]; !ok {
			ids = append(ids, mesh.NodeID(src, "product", id))
		}
		for _, v := range own.Variants {
			if !keepVariants[v] {
				ids = append(ids, mesh.NodeID(src, "variant", v))
			}
		}
		for _, a := range own.Assets {
			if !keepAssets[a] {
				ids = append(ids, mesh.NodeID(src, "asset", a))
			}
		}
	}
	for id, own := range prev.Collections {
		if _, ok := next.Collections[id]; !ok {
			ids = append(ids, mesh.NodeID(src, "collection", id))
		}
		for _, a := range own.Assets {
			if !keepAssets[a] {
				ids = append(ids, mesh.NodeID(src, "asset", a))
			}
		}
	}
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		if err := r.out.Delete(id); err != nil {
			return err
		}
	}
	return nil
}

// compareIDs orders numeric ids by value (shorter first), others as text.
func compareIDs(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// ---- mapping ----

// mapper maps catalog records to nodes. It is read-only while products are mapped.
type mapper struct {
	source   string
	currency string
	raw      bool
	// brands maps a brand id to its name.
	brands map[string]string
	// categories holds the ids of the visible categories.
	categories map[string]bool
}

// productOut is a mapped product: its nodes (the product, its variants, its assets; an asset may
// appear twice) and what it owns.
type productOut struct {
	id        string
	updatedAt time.Time
	nodes     []mesh.Node
	own       owned
}

type option struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

type selected struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// idText reads an id as its text: a JSON integer as written, or a non-empty string.
func idText(v gjson.Result) (string, error) {
	switch v.Type {
	case gjson.Number:
		if v.Raw != "" && strings.Trim(v.Raw, "0123456789") == "" {
			return v.Raw, nil
		}
	case gjson.String:
		if v.Str != "" && !strings.ContainsAny(v.Str, ",") {
			return v.Str, nil
		}
	}
	return "", fmt.Errorf("%w: id: want an integer, have %s", mesh.ErrBadResponse, describe(v))
}

// intText reads an integer (or null) as its text, never through a float; "" for null or absent.
func intText(v gjson.Result, what string) (string, error) {
	switch v.Type {
	case gjson.Null:
		return "", nil
	case gjson.Number:
		digits := strings.TrimPrefix(v.Raw, "-")
		if digits != "" && strings.Trim(digits, "0123456789") == "" && len(digits) <= 18 {
			return v.Raw, nil
		}
	}
	return "", fmt.Errorf("%w: %s: want an integer, have %s", mesh.ErrBadResponse, what, describe(v))
}

// price reads a price (a JSON float, or null) as money from its raw text; ok is false for null or
// absent.
func (m *mapper) price(v gjson.Result, what string) (money.Money, bool, error) {
	var text string
	switch v.Type {
	case gjson.Null:
		return money.Money{}, false, nil
	case gjson.Number:
		text = v.Raw
	case gjson.String:
		text = v.Str
	default:
		return money.Money{}, false, fmt.Errorf("%w: %s: want a number, have %s", mesh.ErrBadResponse, what, describe(v))
	}
	if !decimalRE.MatchString(text) {
		return money.Money{}, false, fmt.Errorf("%w: %s %.40q: want a decimal number", mesh.ErrBadResponse, what, text)
	}
	p, err := money.FromDecimal(text, m.currency)
	if err != nil {
		return money.Money{}, false, fmt.Errorf("%w: %s: %v", mesh.ErrBadResponse, what, err)
	}
	return p, true, nil
}

// less compares two amounts of one currency exactly.
func less(a, b money.Money) bool {
	x, ok1 := new(big.Rat).SetString(a.Amount)
	y, ok2 := new(big.Rat).SetString(b.Amount)
	return ok1 && ok2 && x.Cmp(y) < 0
}

// positive reports an amount above zero.
func positive(a money.Money) bool {
	x, ok := new(big.Rat).SetString(a.Amount)
	return ok && x.Sign() > 0
}

// visibleCategories reads a product's category ids, keeping the visible ones, sorted.
func (m *mapper) visibleCategories(v gjson.Result) ([]string, error) {
	if v.Exists() && v.Type != gjson.Null && !v.IsArray() {
		return nil, fmt.Errorf("%w: categories: want an array, have %s", mesh.ErrBadResponse, describe(v))
	}
	var out []string
	for _, c := range v.Array() {
		id, err := idText(c)
		if err != nil {
			return nil, fmt.Errorf("categories: %w", err)
		}
		if m.categories[id] {
			out = append(out, id)
		}
	}
	slices.SortFunc(out, compareIDs)
	return slices.Compact(out), nil
}

// handle is a custom_url's path without its slashes ("/garden/bath/" is "garden/bath").
func handle(v gjson.Result, fallback string) string {
	if h := strings.Trim(v.Get("custom_url.url").String(), "/"); h != "" {
		return h
	}
	return normalize.Slug(fallback)
}

func setRaw(o *mesh.Object, raw bool, v gjson.Result) {
	if raw {
		o.Set("_raw", []byte(v.Raw))
	}
}

type imageOut struct {
	id    string
	urls  []string // every size's URL, to match a variant's image_url
	sort  int64
	thumb bool
	node  mesh.Node
}

// product maps one product record (with include=variants,images).
func (m *mapper) product(v gjson.Result) (*productOut, error) {
	if !v.IsObject() {
		return nil, fmt.Errorf("%w: want an object, have %s", mesh.ErrBadResponse, describe(v))
	}
	id, err := idText(v.Get("id"))
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*productOut, error) { return nil, fmt.Errorf("product %s: %w", id, err) }
	out := &productOut{id: id}
	if d := v.Get("date_modified"); d.Type == gjson.String {
		t, err := normalize.Time(d.Str)
		if err != nil {
			return fail(fmt.Errorf("%w: date_modified: %v", mesh.ErrBadResponse, err))
		}
		out.updatedAt = t
	}
	name := v.Get("name").String()
	if name == "" {
		return fail(fmt.Errorf("%w: no name", mesh.ErrBadResponse))
	}
	productID := mesh.NodeID(m.source, "product", id)

	// Images, in sort_order.
	var images []imageOut
	imgs := v.Get("images")
	if imgs.Exists() && imgs.Type != gjson.Null && !imgs.IsArray() {
		return fail(fmt.Errorf("%w: images: want an array, have %s", mesh.ErrBadResponse, describe(imgs)))
	}
	for _, img := range imgs.Array() {
		io, err := m.image(img)
		if err != nil {
			return fail(err)
		}
		images = append(images, io)
	}
	slices.SortStableFunc(images, func(a, b imageOut) int {
		if a.sort != b.sort {
			if a.sort < b.sort {
				return -1
			}
			return 1
		}
		return compareIDs(a.id, b.id)
	})
	var thumbnail *imageOut
	for i := range images {
		if images[i].thumb && thumbnail == nil {
			thumbnail = &images[i]
		}
	}
	if thumbnail == nil && len(images) > 0 {
		thumbnail = &images[0]
	}

	// Prices and stock at the product level.
	basePrice, _, err := m.price(v.Get("price"), "price")
	if err != nil {
		return fail(err)
	}
	baseSale, hasSale, err := m.price(v.Get("sale_price"), "sale_price")
	if err != nil {
		return fail(err)
	}
	tracking := v.Get("inventory_tracking").String()
	productLevel, err := intText(v.Get("inventory_level"), "inventory_level")
	if err != nil {
		return fail(err)
	}
	disabled := v.Get("availability").String() == "disabled"

	// Variants.
	vars := v.Get("variants")
	if vars.Exists() && vars.Type != gjson.Null && !vars.IsArray() {
		return fail(fmt.Errorf("%w: variants: want an array, have %s", mesh.ErrBadResponse, describe(vars)))
	}
	var options []option
	optIndex := map[string]int{}
	var variantIDs, imageIDs []string
	var prices []money.Money
	for _, img := range images {
		imageIDs = append(imageIDs, img.node.ID)
		out.own.Assets = append(out.own.Assets, img.id)
		out.nodes = append(out.nodes, img.node)
	}
	for _, vv := range vars.Array() {
		if !vv.IsObject() {
			return fail(fmt.Errorf("%w: variant: want an object, have %s", mesh.ErrBadResponse, describe(vv)))
		}
		vid, err := idText(vv.Get("id"))
		if err != nil {
			return fail(fmt.Errorf("variant: %w", err))
		}
		vfail := func(err error) (*productOut, error) { return fail(fmt.Errorf("variant %s: %w", vid, err)) }
		o := mesh.NewObject()
		if sku := vv.Get("sku").String(); sku != "" {
			o.SetString("sku", sku)
		} else {
			o.SetNull("sku")
		}
		var sel []selected
		var labels []string
		ovs := vv.Get("option_values")
		if ovs.Exists() && ovs.Type != gjson.Null && !ovs.IsArray() {
			return vfail(fmt.Errorf("%w: option_values: want an array, have %s", mesh.ErrBadResponse, describe(ovs)))
		}
		for _, ov := range ovs.Array() {
			oname, label := ov.Get("option_display_name").String(), ov.Get("label").String()
			sel = append(sel, selected{oname, label})
			labels = append(labels, label)
			k, ok := optIndex[oname]
			if !ok {
				k = len(options)
				optIndex[oname] = k
				options = append(options, option{Name: oname, Values: []string{}})
			}
			if !slices.Contains(options[k].Values, label) {
				options[k].Values = append(options[k].Values, label)
			}
		}
		if sel == nil {
			sel = []selected{}
		}
		title := strings.Join(labels, " / ")
		if title == "" {
			title = name
		}
		o.SetString("title", title)

		regular, hasRegular, err := m.price(vv.Get("price"), "price")
		if err != nil {
			return vfail(err)
		}
		if !hasRegular {
			regular = basePrice
		}
		sellPrice, hasCalc, err := m.price(vv.Get("calculated_price"), "calculated_price")
		if err != nil {
			return vfail(err)
		}
		if !hasCalc {
			sale, hasVSale, err := m.price(vv.Get("sale_price"), "sale_price")
			if err != nil {
				return vfail(err)
			}
			if !hasVSale && hasSale {
				sale, hasVSale = baseSale, true
			}
			sellPrice = regular
			if hasVSale && positive(sale) && less(sale, regular) {
				sellPrice = sale
			}
		}
		prices = append(prices, sellPrice)
		o.Set("price", sellPrice.JSON())
		if less(sellPrice, regular) {
			o.Set("compareAtPrice", regular.JSON())
		} else {
			o.SetNull("compareAtPrice")
		}

		level := ""
		switch tracking {
		case "variant":
			if level, err = intText(vv.Get("inventory_level"), "inventory_level"); err != nil {
				return vfail(err)
			}
		case "product":
			level = productLevel
		}
		if level == "" {
			o.SetNull("inventoryQuantity")
		} else {
			o.Set("inventoryQuantity", []byte(level))
		}
		inStock := level == "" || (!strings.HasPrefix(level, "-") && strings.Trim(level, "0") != "")
		o.SetBool("available", !disabled && !vv.Get("purchasing_disabled").Bool() && inStock)
		_ = o.SetValue("selectedOptions", sel)

		// The variant's image: a product image with that URL, an asset of its own, or the product's
		// thumbnail.
		var imageRef string
		if u := vv.Get("image_url").String(); u != "" {
			for _, img := range images {
				if slices.Contains(img.urls, u) {
					imageRef = img.node.ID
					break
				}
			}
			if imageRef == "" {
				a := m.asset("variant-"+vid, u, "", vv)
				imageRef = a.ID
				out.nodes = append(out.nodes, a)
				out.own.Assets = append(out.own.Assets, a.NativeID)
			}
		} else if thumbnail != nil {
			imageRef = thumbnail.node.ID
		}
		if imageRef != "" {
			o.SetRef("image", imageRef)
		} else {
			o.SetNull("image")
		}
		o.SetRef("product", productID)
		setRaw(o, m.raw, vv)
		vnode := mesh.NodeID(m.source, "variant", vid)
		variantIDs = append(variantIDs, vnode)
		out.own.Variants = append(out.own.Variants, vid)
		out.nodes = append(out.nodes, mesh.Node{ID: vnode, Type: "ProductVariant", NativeID: vid,
			UpdatedAt: out.updatedAt, Fields: o.JSON()})
	}

	cats, err := m.visibleCategories(v.Get("categories"))
	if err != nil {
		return fail(err)
	}
	out.own.Collections = cats

	o := mesh.NewObject()
	o.SetString("handle", handle(v, name))
	o.SetString("title", name)
	desc := v.Get("description").String()
	o.SetString("description", PlainText(desc))
	o.SetString("descriptionHtml", desc)
	brand, err := idText(v.Get("brand_id"))
	if brandName := m.brands[brand]; err == nil && brandName != "" {
		o.SetString("vendor", brandName)
	} else {
		o.SetNull("vendor")
	}
	o.SetNull("productType")
	o.Set("tags", []byte("[]"))
	if v.Get("is_visible").Type == gjson.False {
		o.SetString("status", "draft")
	} else {
		o.SetString("status", "active")
	}
	if pr, ok := money.RangeOf(prices); ok {
		o.Set("priceRange", pr.JSON())
	} else {
		o.SetNull("priceRange")
	}
	o.SetRefs("images", imageIDs)
	if options == nil {
		options = []option{}
	}
	_ = o.SetValue("options", options)
	o.SetRefs("variants", variantIDs)
	colIDs := make([]string, len(cats))
	for i, c := range cats {
		colIDs[i] = mesh.NodeID(m.source, "collection", c)
	}
	o.SetRefs("collections", colIDs)
	setRaw(o, m.raw, v)
	out.nodes = append(out.nodes, mesh.Node{ID: productID, Type: "Product", NativeID: id, UpdatedAt: out.updatedAt,
		Fields: o.JSON()})
	return out, nil
}

// image maps a product image.
func (m *mapper) image(v gjson.Result) (imageOut, error) {
	if !v.IsObject() {
		return imageOut{}, fmt.Errorf("%w: image: want an object, have %s", mesh.ErrBadResponse, describe(v))
	}
	id, err := idText(v.Get("id"))
	if err != nil {
		return imageOut{}, fmt.Errorf("image: %w", err)
	}
	io := imageOut{id: id, sort: v.Get("sort_order").Int(), thumb: v.Get("is_thumbnail").Bool()}
	for _, k := range []string{"url_zoom", "url_standard", "url_thumbnail", "url_tiny"} {
		if u := v.Get(k).String(); u != "" {
			io.urls = append(io.urls, u)
		}
	}
	if len(io.urls) == 0 {
		return imageOut{}, fmt.Errorf("%w: image %s has no url", mesh.ErrBadResponse, id)
	}
	io.node = m.assetAlt(id, io.urls[0], fileName(v.Get("image_file").String()), v.Get("description").String(), v)
	return io, nil
}

func (m *mapper) asset(nativeID, u, name string, v gjson.Result) mesh.Node {
	return m.assetAlt(nativeID, u, name, "", v)
}

// assetAlt maps an image URL to an Asset node; empty name is taken from the URL, empty alt is null.
func (m *mapper) assetAlt(nativeID, u, name, alt string, v gjson.Result) mesh.Node {
	if name == "" {
		name = fileName(u)
	}
	o := mesh.NewObject()
	o.SetString("url", u)
	if mt := imageTypes[strings.ToLower(path.Ext(name))]; mt != "" {
		o.SetString("mimeType", mt)
	} else {
		o.SetNull("mimeType")
	}
	o.SetNull("width")
	o.SetNull("height")
	o.SetNull("size")
	o.SetNull("title")
	if alt != "" {
		o.SetString("alt", alt)
	} else {
		o.SetNull("alt")
	}
	if name != "" {
		o.SetString("fileName", name)
	} else {
		o.SetNull("fileName")
	}
	setRaw(o, m.raw, v)
	return mesh.Node{ID: mesh.NodeID(m.source, "asset", nativeID), Type: "Asset", NativeID: nativeID, Fields: o.JSON()}
}

// category maps a visible category with its products (native ids, sorted).
func (m *mapper) category(id string, v gjson.Result, products []string) []mesh.Node {
	var out []mesh.Node
	name := v.Get("name").String()
	o := mesh.NewObject()
	o.SetString("handle", handle(v, name))
	o.SetString("title", name)
	o.SetString("description", PlainText(v.Get("description").String()))
	if u := v.Get("image_url").String(); u != "" {
		a := m.asset("category-"+id, u, fileName(u), v)
		out = append(out, a)
		o.SetRef("image", a.ID)
	} else {
		o.SetNull("image")
	}
	ids := make([]string, len(products))
	for i, p := range products {
		ids[i] = mesh.NodeID(m.source, "product", p)
	}
	o.SetRefs("products", ids)
	setRaw(o, m.raw, v)
	return append(out, mesh.Node{ID: mesh.NodeID(m.source, "collection", id), Type: "Collection", NativeID: id,
		Fields: o.JSON()})
}

// imageTypes maps image file extensions to their media types (a fixed table: mime's tables depend
// on the machine).
var imageTypes = map[string]string{
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif", ".webp": "image/webp",
	".avif": "image/avif", ".svg": "image/svg+xml", ".heic": "image/heic", ".tif": "image/tiff", ".tiff": "image/tiff",
}

// uploadSuffix is what BigCommerce adds to an uploaded file's name: "__<id>" and sometimes
// ".<timestamp>" before the extension ("cwb__12345.1584373311.jpg" was "cwb.jpg").
var uploadSuffix = regexp.MustCompile(`__[0-9]+(\.[0-9]+)?(\.[A-Za-z0-9]+)$`)

// fileName is the last segment of a URL or path, without BigCommerce's upload suffix; "" when
// there is none.
func fileName(s string) string {
	if s == "" {
		return ""
	}
	p := s
	if u, err := url.Parse(s); err == nil {
		p = u.Path
	}
	base := path.Base(p)
	if base == "/" || base == "." {
		return ""
	}
	return uploadSuffix.ReplaceAllString(base, "$2")
}

// blockTags are the HTML elements whose boundaries separate words.
var blockTags = map[string]bool{"p": true, "div": true, "br": true, "li": true, "ul": true, "ol": true, "tr": true,
	"td": true, "th": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "blockquote": true,
	"section": true, "article": true, "header": true, "footer": true, "table": true, "hr": true, "dd": true, "dt": true}

// PlainText turns an HTML description into one line of plain text, as Shopify's `description` is:
// tags removed (block elements such as <p> and <br> separate words with a space; script and style
// elements are dropped with their content), entities decoded, white space (no-break spaces
// included) collapsed to single spaces, trimmed. Text that is not HTML comes back with only its
// white space collapsed.
func PlainText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '<' || i+1 >= len(s) || !(isLetter(s[i+1]) || s[i+1] == '/' || s[i+1] == '!') {
			b.WriteByte(c)
			i++
			continue
		}
		if strings.HasPrefix(s[i:], "<!--") {
			end := strings.Index(s[i+4:], "-->")
			if end < 0 {
				break
			}
			i += 4 + end + 3
			continue
		}
		end := tagEnd(s, i)
		if end < 0 {
			break // an unclosed tag: drop the rest
		}
		name := tagName(s[i+1 : end])
		i = end + 1
		if name == "script" || name == "style" {
			if close := normalize.IndexClosingTag(s[i:], name); close >= 0 {
				i += close
				if e := tagEnd(s, i); e >= 0 {
					i = e + 1
				} else {
					i = len(s)
				}
			} else {
				i = len(s)
			}
		}
		if blockTags[name] {
			b.WriteByte(' ')
		}
	}
	text := html.UnescapeString(b.String())
	return strings.Join(strings.FieldsFunc(text, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v' || r == '\u00a0' || r == '\u2028' || r == '\u2029'
	}), " ")
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// tagEnd returns the index of the '>' that closes the tag starting at s[i] == '<', skipping quoted
// attribute values; -1 when there is none.
func tagEnd(s string, i int) int {
	var quote byte
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return j
		}
	}
	return -1
}

// tagName is the lower-case element name of a tag's inside ("/p" is "p", "br/" is "br").
func tagName(inside string) string {
	inside = strings.TrimPrefix(inside, "/")
	end := 0
	for end < len(inside) && (isLetter(inside[end]) || (end > 0 && inside[end] >= '0' && inside[end] <= '9')) {
		end++
	}
	return strings.ToLower(inside[:end])
}

func describe(v gjson.Result) string {
	switch {
	case !v.Exists():
		return "nothing"
	case v.IsArray():
		return "an array"
	case v.IsObject():
		return "an object"
	}
	switch v.Type {
	case gjson.String:
		return "a string"
	case gjson.Number:
		return "a number"
	case gjson.True, gjson.False:
		return "a boolean"
	}
	return "null"
}
