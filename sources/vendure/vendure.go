// Package vendure is a mesh.Source for a Vendure store's catalog, read from its Shop API (GraphQL):
// products with their variants, options, facets and assets, and the channel's collections.
//
// # Configuration
//
//	sources:
//	  - name: shop
//	    type: vendure
//	    url: https://shop.example.com/shop-api   # the Shop API endpoint
//	    channelToken: ${VENDURE_CHANNEL_TOKEN}   # optional: the channel (vendure-token header)
//	    languageCode: de                         # optional: the translation to read (?languageCode=)
//	    raw: false                               # true: keep each object's Shop API JSON under _raw
//	    baseURL: http://127.0.0.1:3000           # optional: replaces url's origin (a test server, a proxy)
//	    timeout: 30s                             # and the other mesh/fetch options: retries, concurrency,
//	    concurrency: 4                           # requestsPerSecond, maxRetryAfter, maxBodyBytes, ...
//
// # Authentication
//
// None: the Shop API serves a channel's catalog publicly. channelToken selects the channel (without
// it, the default channel); its value is sent as the vendure-token header and never printed. A token
// the server does not know is an error wrapping mesh.ErrUnauthorized: Vendure answers
// CHANNEL_NOT_FOUND when it has several channels, and silently serves the default channel when it
// has one, which the adapter detects by asking for activeChannel { token } with every page.
//
// # Rate limits
//
// Vendure has none built in (the notes: @vendure/harden-plugin adds query-complexity limits). The
// mesh/fetch options apply: at most concurrency requests in flight, requestsPerSecond, retries of 429
// and 5xx honoring Retry-After. GraphQL queries are POSTs marked idempotent, so they are retried.
//
// Listings are offset-paged: options {take, skip, sort: {id: ASC}} with totalItems in the answer. The
// first page of products tells the total; the other pages are then fetched concurrently
// (fetch.Offset). take is 100, Vendure's default shopListQueryLimit (FetchRequest.PageSize, when set,
// wins); a server configured with a lower limit answers with a GraphQL error saying so.
//
// Collections are listed first, each with the first page of its variants' product ids; a collection
// with more variants than that is listed whole (collection(id).productVariants, paged the same way).
// Memberships come from the collections' side because asking each product for its collections costs
// Vendure about 40 ms of server time per product (measured on 3.7.3: 2.3 s for the 54 sample
// products, against 0.55 s for the 9 collections' variants). Then the products are listed.
//
// # Mapping
//
// Node types and ID namespaces (<source>/<namespace>/<nativeId>), shared with the other commerce
// adapters so that a site's templates do not depend on the provider:
//
//	Product         product/<id>
//	ProductVariant  variant/<id>
//	Collection      collection/<id>
//	Asset           asset/<id>     every asset a product, variant or collection shows, once
//
// The fields are exactly the contract's keys (DESIGN section 3), null where Vendure has no such
// thing; with raw: true the Shop API object is kept under _raw as well.
//
// Product: handle (slug), title (name), descriptionHtml (the description, which Vendure keeps as
// HTML), description (the same as plain text: tags removed, entities decoded, white space collapsed),
// vendor (the first value of the facet whose code is "brand" or "vendor"), productType (the first
// value of the facet whose code is "product-type", "productType" or "type"), tags (the names of the
// values of every other facet, in order, without repeats), status ("active"; the Shop API serves
// enabled products only, a disabled one would be "draft"), priceRange {min, max} over the variants,
// images ($refs: the featured asset first, then the others in order), options (the option groups:
// [{"name", "values"}]), variants ($refs, in the API's order), collections ($refs).
//
// ProductVariant: sku, title (name), price, compareAtPrice (null: Vendure has none), available and
// inventoryQuantity from stockLevel (Vendure's StockDisplayStrategy: "OUT_OF_STOCK" is unavailable,
// "IN_STOCK" and "LOW_STOCK" available with an unknown quantity; a strategy that shows the number
// gives it, available when above 0), selectedOptions ([{"name", "value"}] in the option groups'
// order), image (the variant's featured asset, else the product's first image, else null), product
// ($ref).
//
// Collection: handle (slug), title (name), description (plain text), image (the featured asset or
// null), products ($refs to the products whose collections list it, in id order).
//
// Asset: url (source), mimeType, width, height, size (fileSize), title (name), alt (null: Vendure
// assets have no alternative text), fileName (the last segment of the source URL's path).
//
// Money is {"amount": "<decimal>", "currencyCode": "<ISO 4217>"}: Vendure prices are integers in
// the minor unit of the variant's currencyCode (the channel's currency), shifted by the currency's
// exponent as digits (JPY 1500 is "1500", USD 129900 is "1299.00", KWD 1250 is "1.250"), never
// through a float. price is without tax (priceWithTax is in _raw). Node.UpdatedAt is Vendure's
// updatedAt.
//
// # Incremental sync
//
// None: every fetch is full and the engine diffs the result by digest. The Shop API does accept an
// updatedAt filter on products, but a product's updatedAt does not move when a variant's price or
// stock changes (checked on Vendure 3.7.3), when its collections change, or when it is disabled or
// deleted (it then just disappears); a filtered fetch would miss those. The Admin API, which the
// notes name for incremental reads, needs an administrator's credentials, which a build should not
// hold.
package vendure

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/tidwall/gjson"
	"golang.org/x/sync/errgroup"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/sources/internal/money"
	"github.com/contentmesh/contentmesh/sources/internal/normalize"
)

// Kind is the adapter's name, the config's `type: vendure`.
const Kind = "vendure"

// ID namespaces (DESIGN section 3, shared by the commerce adapters).
const (
	nsProduct    = "product"
	nsVariant    = "variant"
	nsCollection = "collection"
	nsAsset      = "asset"
)

// Node types.
const (
	typeProduct    = "Product"
	typeVariant    = "ProductVariant"
	typeCollection = "Collection"
	typeAsset      = "Asset"
)

// Config configures a Vendure Source. Its yaml keys are part of the configuration contract.
type Config struct {
	// URL is the Shop API endpoint, e.g. https://shop.example.com/shop-api. Required.
	URL string `yaml:"url"`
	// ChannelToken selects the channel (the vendure-token header); empty: the default channel.
	ChannelToken string `yaml:"channelToken,omitempty"`
	// LanguageCode, when set, asks for that translation (?languageCode=de).
	LanguageCode string `yaml:"languageCode,omitempty"`
	// BaseURL, when set, replaces URL's origin (scheme and host); URL may then be a path.
	BaseURL string `yaml:"baseURL,omitempty"`
	// Raw keeps each object's Shop API JSON under fields._raw.
	Raw bool `yaml:"raw,omitempty"`

	// Options are the mesh/fetch knobs: timeout, retries, concurrency, requestsPerSecond, ...
	fetch.Options `yaml:",inline"`
}

// String describes the configuration with the channel token redacted.
func (c Config) String() string {
	tok := ""
	if c.ChannelToken != "" {
		tok = fetch.Redacted
	}
	return fmt.Sprintf("vendure.Config{URL:%s ChannelToken:%s LanguageCode:%s BaseURL:%s}",
		fetch.RedactURLString(c.URL, nil), tok, c.LanguageCode, fetch.RedactURLString(c.BaseURL, nil))
}

// GoString is String, so that %#v does not print the token either.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the token.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Source reads a Vendure channel's catalog. It is safe for concurrent use.
type Source struct {
	cfg      Config
	client   *fetch.Client
	endpoint string // absolute Shop API URL
}

var (
	_ mesh.Source  = (*Source)(nil)
	_ mesh.Checker = (*Source)(nil)
)

var languageRE = regexp.MustCompile(`^[A-Za-z]{2,3}(_[A-Za-z0-9]{2,4})?$`)

// New validates cfg and returns a Source. It does no I/O. Errors wrap mesh.ErrInvalidConfig and name
// the key.
func New(cfg Config) (*Source, error) {
	bad := func(key, format string, args ...any) error {
		return &mesh.ConfigError{Where: fmt.Sprintf("vendure: key %q", key), Msg: fmt.Sprintf(format, args...)}
	}
	if strings.TrimSpace(cfg.URL) == "" {
		return nil, bad("url", "required: the Shop API endpoint, e.g. https://shop.example.com/shop-api")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, bad("url", "not a URL")
	}
	if cfg.BaseURL != "" {
		b, err := url.Parse(cfg.BaseURL)
		if err != nil || (b.Scheme != "http" && b.Scheme != "https") || b.Host == "" {
			return nil, bad("baseURL", "want an http or https origin such as http://127.0.0.1:3000")
		}
		// Keep url's path and query; take the origin (and any path prefix) from baseURL.
		u = &url.URL{Scheme: b.Scheme, Host: b.Host, User: b.User,
			Path: strings.TrimSuffix(b.Path, "/") + "/" + strings.TrimPrefix(u.Path, "/"), RawQuery: u.RawQuery}
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, bad("url", "want an absolute http or https URL such as https://shop.example.com/shop-api (or set baseURL)")
	}
	if strings.ContainsAny(cfg.ChannelToken, " \t\r\n\x00") {
		return nil, bad("channelToken", "contains white space or a control character")
	}
	if cfg.LanguageCode != "" {
		if !languageRE.MatchString(cfg.LanguageCode) {
			return nil, bad("languageCode", "%q: want a Vendure LanguageCode such as en, de or pt_BR", cfg.LanguageCode)
		}
		q := u.Query()
		q.Set("languageCode", cfg.LanguageCode)
		u.RawQuery = q.Encode()
	}
	token := cfg.ChannelToken
	client, err := fetch.New(fetch.Config{
		Auth: func(r *http.Request) error {
			if token != "" {
				r.Header.Set(headerChannelToken, token)
			}
			return nil
		},
	}, cfg.Options)
	if err != nil {
		return nil, &mesh.ConfigError{Where: "vendure", Msg: err.Error()}
	}
	return &Source{cfg: cfg, client: client, endpoint: u.String()}, nil
}

// Kind implements mesh.Source.
func (s *Source) Kind() string { return Kind }

// String describes the source without its channel token.
func (s *Source) String() string { return "vendure " + s.client.Redact(s.endpoint) }

// Check implements mesh.Checker: it asks for the active channel, which proves that the endpoint is a
// Vendure Shop API and that the channel token is known.
func (s *Source) Check(ctx context.Context) error {
	defer s.client.CloseIdleConnections()
	r, err := s.client.DoJSON(ctx, graphQLRequest(s.endpoint, queryChannel, nil))
	if err != nil {
		return fmt.Errorf("vendure: %w", err)
	}
	if err := answerError(r); err != nil {
		return fmt.Errorf("vendure: %w", err)
	}
	if err := checkChannel(r, s.cfg.ChannelToken); err != nil {
		return fmt.Errorf("vendure: %w", err)
	}
	return nil
}

// Fetch implements mesh.Source: the channel's collections with their products (listed from the
// collections' side), then the products page by page (pages after the first concurrently), each page
// mapped and emitted as it arrives; the collections last, with the products that were emitted.
func (s *Source) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	defer s.client.CloseIdleConnections()
	size := maxPageSize
	if req.PageSize > 0 {
		size = min(req.PageSize, maxPageSize)
	}
	f := &fetchState{s: s, m: mapper{src: req.Source, raw: s.cfg.Raw}, out: out,
		assets: map[string]bool{}, members: map[string][]string{}, products: map[string]bool{}}
	err := f.run(ctx, size)
	if f.emitErr != nil {
		return mesh.FetchResult{}, f.emitErr // unchanged, as the Source contract asks
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return mesh.FetchResult{}, ctxErr
		}
		return mesh.FetchResult{}, fmt.Errorf("vendure: %w", err)
	}
	return mesh.FetchResult{}, nil
}

// fetchState is one Fetch: what has been emitted, and the collection memberships.
type fetchState struct {
	s   *Source
	m   mapper
	out mesh.Emitter

	mu       sync.Mutex
	emitErr  error
	assets   map[string]bool     // asset node IDs emitted
	members  map[string][]string // product id -> collection ids (sorted, once each)
	products map[string]bool     // product ids emitted
}

func (f *fetchState) run(ctx context.Context, size int) error {
	// 1. Collections, with the first page of their variants' products.
	var collections []gjson.Result
	byCollection := map[string]map[string]bool{} // collection id -> product ids
	var more []string                            // collections whose variants need more pages
	err := f.list(ctx, "collections", queryCollections, jsonCollections, size, func(i int) map[string]any {
		return map[string]any{"options": listOptions(size, i*size), "variants": listOptions(size, 0)}
	}, func(items []gjson.Result) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, c := range items {
			id, err := idOf(c, "collection")
			if err != nil {
				return err
			}
			collections = append(collections, c)
			set := map[string]bool{}
			byCollection[id] = set
			pv := c.Get(jsonVariantsPage)
			vs := pv.Get(jsonItems).Array()
			for _, v := range vs {
				set[v.Get("productId").String()] = true
			}
			if total := pv.Get(jsonTotalItems); total.Type == gjson.Number && int(total.Int()) > len(vs) {
				more = append(more, id)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Collections with more variants than one page: list them whole, a few collections at a time.
	slices.SortFunc(more, compareIDs)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(2)
	for _, cid := range more {
		if gctx.Err() != nil {
			break
		}
		set := byCollection[cid]
		g.Go(func() error {
			return f.list(gctx, "the products of collection "+cid, queryCollectionProducts, jsonCollectionVars, size,
				func(i int) map[string]any { return map[string]any{"id": cid, "options": listOptions(size, i*size)} },
				func(items []gjson.Result) error {
					f.mu.Lock()
					defer f.mu.Unlock()
					for _, v := range items {
						set[v.Get("productId").String()] = true
					}
					return nil
				})
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for cid, set := range byCollection {
		for pid := range set {
			if pid != "" {
				f.members[pid] = append(f.members[pid], cid)
			}
		}
	}
	for pid := range f.members {
		slices.SortFunc(f.members[pid], compareIDs)
	}

	// 2. Products, each page mapped and emitted as it arrives.
	if err := f.list(ctx, "products", queryProducts, jsonProducts, size, func(i int) map[string]any {
		return map[string]any{"options": listOptions(size, i*size)}
	}, func(items []gjson.Result) error {
		for _, item := range items {
			id, err := idOf(item, "product")
			if err != nil {
				return err
			}
			nodes, err := f.m.product(item, f.members[id])
			if err != nil {
				return err
			}
			if err := f.emit(nodes); err != nil {
				return err
			}
			f.mu.Lock()
			f.products[id] = true
			f.mu.Unlock()
		}
		return nil
	}); err != nil {
		return err
	}

	// 3. Collections, with the products that were emitted.
	slices.SortFunc(collections, func(a, b gjson.Result) int { return compareIDs(a.Get("id").String(), b.Get("id").String()) })
	for _, c := range collections {
		var products []string
		for pid := range byCollection[c.Get("id").String()] {
			if f.products[pid] {
				products = append(products, pid)
			}
		}
		slices.SortFunc(products, compareIDs)
		nodes, err := f.m.collection(c, products)
		if err != nil {
			return err
		}
		if err := f.emit(nodes); err != nil {
			return err
		}
	}
	return nil
}

// list walks one offset-paged list query: the first page gives totalItems, the others are fetched
// concurrently; each page's items go to each (possibly from several goroutines). vars gives the
// variables of page i.
func (f *fetchState) list(ctx context.Context, what, query, at string, size int, vars func(i int) map[string]any,
	each func([]gjson.Result) error) error {
	check := func(r *fetch.Response) (gjson.Result, error) {
		if err := answerError(r); err != nil {
			return gjson.Result{}, err
		}
		if err := checkChannel(r, f.s.cfg.ChannelToken); err != nil {
			return gjson.Result{}, err
		}
		list := r.Get(at)
		if !list.IsObject() {
			return gjson.Result{}, fmt.Errorf("%s: %w: no %s in the answer", r.URL, mesh.ErrBadResponse, at)
		}
		return list, nil
	}
	err := f.s.client.Offset(ctx, fetch.OffsetPages{
		Page: func(i int) *fetch.Request {
			return graphQLRequest(f.s.endpoint, query, vars(i))
		},
		PageSize: size,
		Total: func(first *fetch.Response) (int, error) {
			list, err := check(first)
			if err != nil {
				return 0, err
			}
			t := list.Get(jsonTotalItems)
			if t.Type != gjson.Number {
				return 0, fmt.Errorf("%w: no totalItems", mesh.ErrBadResponse)
			}
			n, err := strconv.Atoi(t.Raw)
			if err != nil {
				return 0, fmt.Errorf("%w: totalItems %s is not an integer", mesh.ErrBadResponse, normalize.Truncate(t.Raw, 40))
			}
			return n, nil
		},
	}, func(_ int, r *fetch.Response) error {
		list, err := check(r)
		if err != nil {
			return err
		}
		items := list.Get(jsonItems)
		if !items.IsArray() {
			return fmt.Errorf("%s: %w: %s.items is not an array", r.URL, mesh.ErrBadResponse, at)
		}
		return each(items.Array())
	})
	if err != nil {
		return fmt.Errorf("list %s: %w", what, err)
	}
	return nil
}

// emit upserts nodes; an Asset already emitted in this fetch (shared by products, variants and
// collections) is skipped.
func (f *fetchState) emit(nodes []mesh.Node) error {
	for _, n := range nodes {
		if n.Type == typeAsset {
			f.mu.Lock()
			seen := f.assets[n.ID]
			f.assets[n.ID] = true
			f.mu.Unlock()
			if seen {
				continue
			}
		}
		if err := f.out.Upsert(n); err != nil {
			f.mu.Lock()
			if f.emitErr == nil {
				f.emitErr = err
			}
			f.mu.Unlock()
			return err
		}
	}
	return nil
}

// compareIDs orders ids numerically when both are decimal integers (Vendure's default ids), else as
// text.
func compareIDs(a, b string) int {
	if isDigits(a) && isDigits(b) {
		a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if len(a) != len(b) {
			return len(a) - len(b)
		}
	}
	return strings.Compare(a, b)
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// mapper maps Shop API objects to nodes of one source instance.
type mapper struct {
	src string
	raw bool // keep the upstream object under fields._raw
}

func idOf(r gjson.Result, what string) (string, error) {
	id := r.Get("id")
	if (id.Type != gjson.String && id.Type != gjson.Number) || id.String() == "" {
		return "", fmt.Errorf("%w: a %s without an id", mesh.ErrBadResponse, what)
	}
	if id.Type == gjson.Number {
		return id.Raw, nil
	}
	return id.Str, nil
}

// product maps one product of the products query to its nodes: the product, its variants and its
// assets (an asset may come again with another product: the caller emits it once). collections are
// the ids of the collections it is in.
func (m mapper) product(p gjson.Result, collections []string) ([]mesh.Node, error) {
	if !p.IsObject() {
		return nil, fmt.Errorf("%w: a product that is not an object", mesh.ErrBadResponse)
	}
	id, err := idOf(p, "product")
	if err != nil {
		return nil, err
	}
	fail := func(err error) ([]mesh.Node, error) { return nil, fmt.Errorf("product %s: %w", id, err) }
	productID := mesh.NodeID(m.src, nsProduct, id)

	// Images: the featured asset first, then the others.
	var imageIDs []string
	var assets []mesh.Node
	addAsset := func(a gjson.Result) (string, error) {
		n, err := m.asset(a)
		if err != nil {
			return "", err
		}
		if !slices.Contains(imageIDs, n.ID) {
			imageIDs = append(imageIDs, n.ID)
			assets = append(assets, n)
		}
		return n.ID, nil
	}
	if fa := p.Get("featuredAsset"); fa.IsObject() {
		if _, err := addAsset(fa); err != nil {
			return fail(err)
		}
	}
	for _, a := range p.Get("assets").Array() {
		if _, err := addAsset(a); err != nil {
			return fail(err)
		}
	}
	images := slices.Clone(imageIDs)

	// Options: the groups in order; a variant's options follow the same order.
	type group struct {
		name  string
		order int
	}
	groups := map[string]group{}
	optionGroup := map[string]string{} // option id -> group id
	optionsJSON := []byte{'['}
	for i, g := range p.Get("optionGroups").Array() {
		gid := g.Get("id").String()
		name := g.Get("name").String()
		groups[gid] = group{name: name, order: i}
		if i > 0 {
			optionsJSON = append(optionsJSON, ',')
		}
		optionsJSON = append(optionsJSON, `{"name":`...)
		optionsJSON = mesh.AppendString(optionsJSON, name)
		optionsJSON = append(optionsJSON, `,"values":[`...)
		for j, o := range g.Get("options").Array() {
			optionGroup[o.Get("id").String()] = gid
			if j > 0 {
				optionsJSON = append(optionsJSON, ',')
			}
			optionsJSON = mesh.AppendString(optionsJSON, o.Get("name").String())
		}
		optionsJSON = append(optionsJSON, "]}"...)
	}
	optionsJSON = append(optionsJSON, ']')

	// Variants.
	var variantIDs []string
	var prices []money.Money
	var variants []mesh.Node
	for _, v := range p.Get("variants").Array() {
		vid, err := idOf(v, "variant")
		if err != nil {
			return fail(err)
		}
		o := mesh.NewObject()
		setStringOrNull(o, "sku", v.Get("sku").String())
		o.SetString("title", v.Get("name").String())
		price, err := priceOf(v)
		if err != nil {
			return fail(fmt.Errorf("variant %s: %w", vid, err))
		}
		prices = append(prices, price)
		o.Set("price", price.JSON())
		o.SetNull("compareAtPrice")
		available, qty, known := stock(v.Get("stockLevel").String())
		o.SetBool("available", available)
		if known {
			o.SetInt("inventoryQuantity", qty)
		} else {
			o.SetNull("inventoryQuantity")
		}
		type sel struct {
			order       int
			name, value string
		}
		var sels []sel
		for _, opt := range v.Get("options").Array() {
			gid := opt.Get("groupId").String()
			if gid == "" {
				gid = optionGroup[opt.Get("id").String()]
			}
			g, ok := groups[gid]
			if !ok {
				continue // an option of a group the product does not list
			}
			sels = append(sels, sel{g.order, g.name, opt.Get("name").String()})
		}
		slices.SortStableFunc(sels, func(a, b sel) int { return a.order - b.order })
		selJSON := []byte{'['}
		for i, s := range sels {
			if i > 0 {
				selJSON = append(selJSON, ',')
			}
			selJSON = append(selJSON, `{"name":`...)
			selJSON = mesh.AppendString(selJSON, s.name)
			selJSON = append(selJSON, `,"value":`...)
			selJSON = mesh.AppendString(selJSON, s.value)
			selJSON = append(selJSON, '}')
		}
		o.Set("selectedOptions", append(selJSON, ']'))
		switch fa := v.Get("featuredAsset"); {
		case fa.IsObject():
			n, err := m.asset(fa)
			if err != nil {
				return fail(err)
			}
			assets = append(assets, n) // emitted once per fetch whatever the repeats
			o.SetRef("image", n.ID)
		case len(images) > 0:
			o.SetRef("image", images[0])
		default:
			o.SetNull("image")
		}
		o.SetRef("product", productID)
		if m.raw {
			o.Set("_raw", []byte(v.Raw))
		}
		nid := mesh.NodeID(m.src, nsVariant, vid)
		variantIDs = append(variantIDs, nid)
		variants = append(variants, mesh.Node{ID: nid, Type: typeVariant, NativeID: vid,
			UpdatedAt: timeOf(v.Get("updatedAt")), Fields: o.JSON()})
	}

	// Facets: vendor, product type, tags.
	vendor, productType := "", ""
	tags := []string{}
	for _, fv := range p.Get("facetValues").Array() {
		name := fv.Get("name").String()
		switch strings.ToLower(fv.Get("facet.code").String()) {
		case "brand", "vendor":
			if vendor == "" {
				vendor = name
			}
			continue
		case "product-type", "producttype", "product_type", "type":
			if productType == "" {
				productType = name
			}
			continue
		}
		if name != "" && !slices.Contains(tags, name) {
			tags = append(tags, name)
		}
	}

	collectionRefs := make([]string, len(collections))
	for i, cid := range collections {
		collectionRefs[i] = mesh.NodeID(m.src, nsCollection, cid)
	}

	o := mesh.NewObject()
	o.SetString("handle", p.Get("slug").String())
	o.SetString("title", p.Get("name").String())
	// Descriptions are always strings, "" when there is none (the commerce types' shared rule).
	o.SetString("description", htmlText(p.Get("description").String()))
	o.SetString("descriptionHtml", p.Get("description").String())
	setStringOrNull(o, "vendor", vendor)
	setStringOrNull(o, "productType", productType)
	if err := o.SetValue("tags", tags); err != nil {
		return fail(err)
	}
	if e := p.Get("enabled"); e.Type == gjson.False {
		o.SetString("status", "draft")
	} else {
		o.SetString("status", "active")
	}
	if r, ok := money.RangeOf(prices); ok {
		o.Set("priceRange", r.JSON())
	} else {
		o.SetNull("priceRange")
	}
	o.SetRefs("images", images)
	o.Set("options", optionsJSON)
	o.SetRefs("variants", variantIDs)
	o.SetRefs("collections", collectionRefs)
	if m.raw {
		o.Set("_raw", []byte(p.Raw))
	}
	nodes := make([]mesh.Node, 0, 1+len(variants)+len(assets))
	nodes = append(nodes, mesh.Node{ID: productID, Type: typeProduct, NativeID: id,
		UpdatedAt: timeOf(p.Get("updatedAt")), Fields: o.JSON()})
	nodes = append(nodes, variants...)
	return append(nodes, assets...), nil
}

// collection maps one collection with the ids of its products.
func (m mapper) collection(c gjson.Result, products []string) ([]mesh.Node, error) {
	if !c.IsObject() {
		return nil, fmt.Errorf("%w: a collection that is not an object", mesh.ErrBadResponse)
	}
	id, err := idOf(c, "collection")
	if err != nil {
		return nil, err
	}
	var nodes []mesh.Node
	o := mesh.NewObject()
	o.SetString("handle", c.Get("slug").String())
	o.SetString("title", c.Get("name").String())
	o.SetString("description", htmlText(c.Get("description").String()))
	if fa := c.Get("featuredAsset"); fa.IsObject() {
		a, err := m.asset(fa)
		if err != nil {
			return nil, fmt.Errorf("collection %s: %w", id, err)
		}
		nodes = append(nodes, a)
		o.SetRef("image", a.ID)
	} else {
		o.SetNull("image")
	}
	refs := make([]string, len(products))
	for i, p := range products {
		refs[i] = mesh.NodeID(m.src, nsProduct, p)
	}
	o.SetRefs("products", refs)
	if m.raw {
		o.Set("_raw", []byte(c.Raw))
	}
	n := mesh.Node{ID: mesh.NodeID(m.src, nsCollection, id), Type: typeCollection, NativeID: id,
		UpdatedAt: timeOf(c.Get("updatedAt")), Fields: o.JSON()}
	return append([]mesh.Node{n}, nodes...), nil
}

// asset maps an Asset object.
func (m mapper) asset(a gjson.Result) (mesh.Node, error) {
	id, err := idOf(a, "asset")
	if err != nil {
		return mesh.Node{}, err
	}
	src := a.Get("source")
	if src.Type != gjson.String || src.Str == "" {
		return mesh.Node{}, fmt.Errorf("asset %s: %w: no source URL", id, mesh.ErrBadResponse)
	}
	o := mesh.NewObject()
	o.SetString("url", src.Str)
	setStringOrNull(o, "mimeType", a.Get("mimeType").String())
	setCount(o, "width", a.Get("width"))
	setCount(o, "height", a.Get("height"))
	setCount(o, "size", a.Get("fileSize"))
	setStringOrNull(o, "title", a.Get("name").String())
	o.SetNull("alt")
	name := ""
	if u, err := url.Parse(src.Str); err == nil {
		if b := path.Base(u.Path); b != "/" && b != "." {
			name = b
		}
	}
	setStringOrNull(o, "fileName", name)
	if m.raw {
		o.Set("_raw", []byte(a.Raw))
	}
	return mesh.Node{ID: mesh.NodeID(m.src, nsAsset, id), Type: typeAsset, NativeID: id, Fields: o.JSON()}, nil
}

// priceOf reads a variant's price: an integer in the minor unit of its currencyCode.
func priceOf(v gjson.Result) (money.Money, error) {
	p, cur := v.Get("price"), v.Get("currencyCode").String()
	if p.Type != gjson.Number {
		return money.Money{}, fmt.Errorf("%w: price is %s, want an integer in minor units", mesh.ErrBadResponse, kindOf(p))
	}
	m, err := money.FromMinor(p.Raw, cur)
	if err != nil {
		return money.Money{}, fmt.Errorf("%w: price %s %s: %v", mesh.ErrBadResponse,
			normalize.Truncate(p.Raw, 40), normalize.Truncate(cur, 10), err)
	}
	return m, nil
}

// stock reads a stockLevel: "OUT_OF_STOCK" is unavailable, a number (a StockDisplayStrategy that
// shows it) is the quantity, anything else ("IN_STOCK", "LOW_STOCK") available with no quantity.
func stock(level string) (available bool, qty int64, known bool) {
	if isDigits(level) || (strings.HasPrefix(level, "-") && isDigits(level[1:])) {
		if n, err := strconv.ParseInt(level, 10, 64); err == nil {
			return n > 0, n, true
		}
	}
	return level != "OUT_OF_STOCK", 0, false
}

func kindOf(r gjson.Result) string {
	switch {
	case !r.Exists():
		return "missing"
	case r.IsArray():
		return "an array"
	case r.IsObject():
		return "an object"
	case r.Type == gjson.String:
		return "a string"
	case r.Type == gjson.Null:
		return "null"
	case r.Type == gjson.Number:
		return "a number"
	}
	return "a boolean"
}

func setStringOrNull(o *mesh.Object, key, v string) {
	if v == "" {
		o.SetNull(key)
		return
	}
	o.SetString(key, v)
}

// setCount sets a non-negative integer (width, height, size), or null.
func setCount(o *mesh.Object, key string, v gjson.Result) {
	if v.Type == gjson.Number {
		if n, err := strconv.ParseInt(v.Raw, 10, 64); err == nil && n >= 0 {
			o.SetInt(key, n)
			return
		}
	}
	o.SetNull(key)
}

func timeOf(v gjson.Result) time.Time {
	if v.Type != gjson.String {
		return time.Time{}
	}
	t, err := normalize.Time(v.Str)
	if err != nil {
		return time.Time{}
	}
	return t
}

// blockTags are the HTML elements whose boundaries separate words.
var blockTags = map[string]bool{
	"address": true, "article": true, "aside": true, "blockquote": true, "br": true, "dd": true, "div": true,
	"dl": true, "dt": true, "figcaption": true, "figure": true, "footer": true, "h1": true, "h2": true, "h3": true,
	"h4": true, "h5": true, "h6": true, "header": true, "hr": true, "li": true, "main": true, "nav": true, "ol": true,
	"p": true, "pre": true, "section": true, "table": true, "td": true, "th": true, "tr": true, "ul": true,
}

// htmlText is an HTML fragment as plain text: tags removed (block elements separate words), script
// and style contents dropped, entities decoded, white space (no-break spaces included) collapsed to
// single spaces, trimmed.
func htmlText(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return collapseSpace(s)
	}
	var b strings.Builder
	for len(s) > 0 {
		lt := strings.IndexByte(s, '<')
		if lt < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:lt])
		s = s[lt:]
		// A tag starts with a letter, '/' or '!': anything else ("1 < 2") is text.
		if len(s) < 2 || !(isASCIILetter(s[1]) || s[1] == '/' || s[1] == '!') {
			b.WriteByte('<')
			s = s[1:]
			continue
		}
		if strings.HasPrefix(s, "<!--") {
			end := strings.Index(s, "-->")
			if end < 0 {
				break
			}
			s = s[end+3:]
			continue
		}
		gt := strings.IndexByte(s, '>')
		if gt < 0 {
			b.WriteString(s) // an unclosed tag is text
			break
		}
		tag := s[1:gt]
		s = s[gt+1:]
		closing := strings.HasPrefix(tag, "/")
		name := strings.ToLower(strings.TrimLeft(tag, "/"))
		if i := strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || r == '/' }); i >= 0 {
			name = name[:i]
		}
		switch {
		case !closing && (name == "script" || name == "style"):
			// Their content is not text: skip to the closing tag.
			end := normalize.IndexClosingTag(s, name)
			if end < 0 {
				s = ""
				break
			}
			s = s[end:]
			if gt := strings.IndexByte(s, '>'); gt >= 0 {
				s = s[gt+1:]
			} else {
				s = ""
			}
		case blockTags[name]:
			b.WriteByte(' ')
		}
	}
	return collapseSpace(html.UnescapeString(b.String()))
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func collapseSpace(s string) string {
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}
