// Package shopify is a mesh.Source for a Shopify store's catalog, read through the Storefront
// GraphQL API: products with their variants, images and options, and collections with their
// products, as the commerce domain types of the graph (Product, ProductVariant, Collection, Asset).
//
// # Configuration
//
//	sources:
//	  - name: shop
//	    type: shopify
//	    store: acme.myshopify.com        # the shop's domain ("acme" means acme.myshopify.com)
//	    token: ${SHOPIFY_STOREFRONT_TOKEN}
//	    apiVersion: 2025-10              # optional; 2024-07 or later, or "unstable"
//	    raw: false                       # optional: keep each upstream record under fields._raw
//	    baseURL: http://127.0.0.1:9000   # optional: replaces https://<store>
//	    timeout: 30s                     # and the other mesh/fetch options: retries, concurrency,
//	    requestsPerSecond: 4             # requestsPerSecond, maxRetryAfter, ...
//
// Requests go to POST <baseURL or https://store>/api/<apiVersion>/graphql.json. Versions are named
// YYYY-MM after the quarter they were released in; Shopify answers a request for a version it no
// longer supports with the oldest one it does, and says so in X-Shopify-API-Version (the adapter
// logs it). The queries need ProductOption.optionValues, which arrived in 2024-07.
//
// # Authentication
//
// The Storefront access token in the X-Shopify-Storefront-Access-Token header (a public token from
// the Headless channel or the Admin API's storefrontAccessTokenCreate). It needs the
// unauthenticated_read_product_listings scope; with unauthenticated_read_product_inventory too,
// variants carry their stock (inventoryQuantity), otherwise the adapter notices the refusal, logs it
// once and goes on with inventoryQuantity null. The token never appears in errors, logs or outputs.
//
// # Rate limits
//
// The Storefront API has no fixed request quota, but throttles automated traffic: a 429 with
// Retry-After is honored (mesh/fetch); a 430 "Shopify Security Rejection" (bot protection, no
// Retry-After) is retried with exponential backoff and, when it persists, fails with an error that
// says what it is; a 200 answer with a THROTTLED error is retried after the wait its cost extension
// implies. Lower concurrency and requestsPerSecond if 430s persist. The product listing walks one
// page after another (connections are cursor-paged, at most 250 items a page); the collection
// listing runs beside it, and so do the follow-up queries of one page's products.
//
// Since 2025-06-17 the Storefront API refuses to list past the 25,000th item of a connection. The
// adapter counts, and when a listing reaches 25,000 items with more to come it fails with an error
// wrapping ErrListCeiling instead of building an incomplete graph. The way past it is the Admin
// API's bulk export (bulkOperationRunQuery, then the JSONL file it writes, where children follow
// their parent through __parentId), which needs an Admin API token and is not implemented here.
//
// # Mapping
//
//   - Product (namespace "product"): handle, title, description (plain text), descriptionHtml,
//     vendor, productType (null when empty), tags, status ("active": the Storefront API shows only
//     products published to it), priceRange {min, max} (from minVariantPrice and maxVariantPrice),
//     images ($refs to Asset), options [{"name", "values"}], variants ($refs), collections ($refs).
//   - ProductVariant (namespace "variant"): sku (null when empty), title, price, compareAtPrice
//     (null when not on sale), available (availableForSale), inventoryQuantity (quantityAvailable;
//     null when the token may not read it), selectedOptions [{"name", "value"}], image ($ref; Shopify
//     falls back to the product's featured image), product ($ref).
//   - Collection (namespace "collection"): handle, title, description (plain text), image, products
//     ($refs, in the collection's order).
//   - Asset (namespace "asset"): url, mimeType (from the file extension), width, height, size (null),
//     title (null), alt, fileName.
//
// A product without options is, in Shopify, a product with one option "Title" whose one value is
// "Default Title": it is mapped to no options, variants with no selectedOptions, and the variant
// titled after the product, as every commerce adapter does. Money is {"amount", "currencyCode"}
// with the currency's decimals ("129.0" EUR is "129.00", "1500.0" JPY is "1500"), computed from the
// decimal text, never through a float.
//
// Native ids: a product, variant or collection is the numeric tail of its GID
// (gid://shopify/Product/8001 is product 8001; the GID is gid://shopify/<Type>/<nativeId> again),
// which is also the id the Admin API, webhooks and the admin's URLs use. An image is its GID without
// the gid://shopify/ prefix ("ProductImage/3001"), since images of different kinds number apart;
// an image without an id is "url:" and a hash of its URL. A GID of another form is kept whole.
//
// Nested connections (a product's variants, images and collections, a collection's products) come
// with their parent, up to a page each; when one has more, it is listed again whole with follow-up
// queries on the node (product(id:) or collection(id:)), 250 items a page.
//
// # Incremental sync
//
// The cursor keeps the newest product updatedAt seen and, for each product and collection, the
// variants and assets it emitted. The next fetch lists only the products whose updatedAt is later
// (the products query filter updated_at:>'<time>', five minutes early because that filter reads a
// search index that lags behind writes), sweeps the ids of every product (250 a page) to find the
// deleted ones, and lists the collections whole (their membership is not in the products' change
// times). It returns a delta: the changed products with their variants and assets, every
// collection, and deletes for deleted products, their variants and assets, and for variants and
// assets a changed product no longer has. A product that the sweep finds but neither the filter nor
// the cursor knows (the index lagged) is fetched by id. Stock changes that do not change a
// product's updatedAt are not seen until a full build (contentmesh build -full). A cursor from
// another store, API version or raw setting is ignored: the fetch is then full.
package shopify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
	"golang.org/x/sync/errgroup"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/sources/internal/money"
)

// Kind is the adapter's name, the config's `type: shopify`.
const Kind = "shopify"

// ErrListCeiling is wrapped by the error of a listing that reached the Storefront API's 25,000-item
// ceiling with more items to come.
var ErrListCeiling = errors.New("the Storefront API lists at most 25,000 items of a connection")

// Config configures a Source. Its yaml keys are part of the configuration contract.
type Config struct {
	// Store is the shop's domain, e.g. "acme.myshopify.com" ("acme" alone means that).
	Store string `yaml:"store"`
	// Token is the Storefront access token. It is a secret: never logged or printed.
	Token string `yaml:"token"`
	// APIVersion is the Storefront API version, "YYYY-MM" (2024-07 or later) or "unstable";
	// empty means DefaultAPIVersion.
	APIVersion string `yaml:"apiVersion,omitempty"`
	// BaseURL replaces https://<store> as the API origin (a test server or a proxy).
	BaseURL string `yaml:"baseURL,omitempty"`
	// Raw keeps each upstream record under fields._raw.
	Raw bool `yaml:"raw,omitempty"`

	// Options are the mesh/fetch knobs: timeout, retries, concurrency, requestsPerSecond, ...
	fetch.Options `yaml:",inline"`
}

// String describes the configuration without its token.
func (c Config) String() string {
	return fmt.Sprintf("shopify.Config{Store:%q APIVersion:%q BaseURL:%q Token:%s}", c.Store, c.APIVersion, c.BaseURL, fetch.Redacted)
}

// GoString is String, so that %#v does not print the token either.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the token.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Source reads a Shopify store. It is safe for concurrent use.
type Source struct {
	cfg      Config
	store    string // normalized domain
	version  string
	endpoint string
	client   *fetch.Client
	config   string // what a cursor must have been made with
	// ceiling is the list ceiling (ListCeiling; tests lower it).
	ceiling int
}

var (
	_ mesh.Source  = (*Source)(nil)
	_ mesh.Checker = (*Source)(nil)
)

var (
	storeRE   = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)
	versionRE = regexp.MustCompile(`^20[0-9]{2}-(01|04|07|10)$`)
)

// New validates cfg and returns a Source. It does no I/O. Errors wrap mesh.ErrInvalidConfig and name
// the key.
func New(cfg Config) (*Source, error) {
	bad := func(key, format string, args ...any) error {
		return &mesh.ConfigError{Where: fmt.Sprintf("shopify: key %q", key), Msg: fmt.Sprintf(format, args...)}
	}
	store := strings.ToLower(strings.TrimSpace(cfg.Store))
	store = strings.TrimPrefix(strings.TrimPrefix(store, "https://"), "http://")
	store = strings.TrimSuffix(store, "/")
	switch {
	case store == "":
		return nil, bad("store", "required: the shop's domain, e.g. acme.myshopify.com")
	case !storeRE.MatchString(store):
		return nil, bad("store", "%q is not a domain name (want e.g. acme.myshopify.com, without a path)", cfg.Store)
	case cfg.Token == "":
		return nil, bad("token", "required: the Storefront access token")
	case strings.ContainsAny(cfg.Token, "\r\n\x00 "):
		return nil, bad("token", "holds a space or a line break")
	}
	if !strings.Contains(store, ".") {
		store += ".myshopify.com"
	}
	version := cfg.APIVersion
	if version == "" {
		version = DefaultAPIVersion
	}
	if version != "unstable" {
		if !versionRE.MatchString(version) {
			return nil, bad("apiVersion", "%q: want a release such as %s (YYYY-01, -04, -07 or -10) or \"unstable\"", version, DefaultAPIVersion)
		}
		if version < minAPIVersion {
			return nil, bad("apiVersion", "%s is older than %s, the first version with ProductOption.optionValues", version, minAPIVersion)
		}
	}
	base := cfg.BaseURL
	if base == "" {
		base = "https://" + store
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
		ShouldRetry:  shouldRetry,
	}, cfg.Options)
	if err != nil {
		return nil, fmt.Errorf("shopify: %w", err)
	}
	h := sha256.Sum256(fmt.Appendf(nil, "v1\x00%s\x00%s\x00%t", store, version, cfg.Raw))
	return &Source{cfg: cfg, store: store, version: version, endpoint: endpointPath(version), client: client,
		config: hex.EncodeToString(h[:8]), ceiling: ListCeiling}, nil
}

// Kind implements mesh.Source.
func (s *Source) Kind() string { return Kind }

// String describes the source without its token.
func (s *Source) String() string { return "shopify " + s.store + " " + s.version }

// Check implements mesh.Checker: it asks for the shop's name.
func (s *Source) Check(ctx context.Context) error {
	defer s.client.CloseIdleConnections()
	r, err := s.client.GraphQL(ctx, s.endpoint, queryShop, nil)
	if err != nil {
		return s.wrap(err)
	}
	if r.Get("data.shop.name").Type != gjson.String {
		return fmt.Errorf("shopify: %s: %w: no data.shop.name in the answer", r.URL, mesh.ErrBadResponse)
	}
	return nil
}

// wrap names the adapter and explains the errors that need it.
func (s *Source) wrap(err error) error {
	var se *fetch.StatusError
	if errors.As(err, &se) && se.StatusCode == statusSecurityRejection {
		return fmt.Errorf("shopify: %w (430 is Shopify's bot protection: lower concurrency and requestsPerSecond, "+
			"or ask Shopify about identifying the crawler)", err)
	}
	return fmt.Errorf("shopify: %w", err)
}

// sizes are the page sizes of one fetch.
type sizes struct {
	products, variants, images, collections, ids, collectionsPage, collectionProducts, followUp int
}

func sizesFor(pageSize int) sizes {
	if pageSize > 0 {
		n := min(pageSize, maxFirst)
		return sizes{n, n, n, n, n, n, n, n}
	}
	return sizes{defaultProductsFirst, defaultVariantsFirst, defaultImagesFirst, defaultCollectionsFirst,
		defaultProductIDsFirst, defaultCollectionsPage, defaultCollProdsFirst, maxFirst}
}

// Fetch implements mesh.Source: see the package documentation for what it emits and how.
func (s *Source) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	defer s.client.CloseIdleConnections()
	log := req.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	prev := s.readCursor(req, log)
	r := &run{s: s, source: req.Source, out: out, log: log, sz: sizesFor(req.PageSize), inventory: true,
		assets: map[string]bool{}, products: map[string]owned{}, collections: map[string]owned{}}

	var alive map[string]bool
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return r.listProducts(gctx, prev) })
	g.Go(func() error { return r.listCollections(gctx) })
	if prev != nil {
		g.Go(func() error {
			var err error
			alive, err = r.productIDs(gctx)
			return err
		})
	}
	err := g.Wait()
	if prev != nil && err == nil {
		err = r.fetchByID(ctx, r.stale(prev, alive), alive)
	}
	if e := r.emitError(); e != nil {
		return mesh.FetchResult{}, e // unchanged, as the Source contract asks
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return mesh.FetchResult{}, ctxErr
		}
		return mesh.FetchResult{}, s.wrap(err)
	}
	next := cursor{V: cursorVersion, Config: s.config, Products: r.products, Collections: r.collections}
	if prev != nil {
		if err := r.deletes(prev, alive, &next); err != nil {
			return mesh.FetchResult{}, err
		}
	}
	since := r.since
	if prev != nil {
		if t, err := time.Parse(time.RFC3339Nano, prev.Since); err == nil && t.After(since) {
			since = t
		}
	}
	if !since.IsZero() {
		next.Since = since.UTC().Format(time.RFC3339Nano)
	}
	c, err := json.Marshal(next)
	if err != nil {
		return mesh.FetchResult{}, fmt.Errorf("shopify: encode cursor: %w", err)
	}
	return mesh.FetchResult{Delta: prev != nil, Cursor: c}, nil
}

// readCursor decodes the request's cursor; nil means a full fetch.
func (s *Source) readCursor(req mesh.FetchRequest, log *slog.Logger) *cursor {
	if len(req.Cursor) == 0 {
		return nil
	}
	var c cursor
	if err := json.Unmarshal(req.Cursor, &c); err != nil || c.V != cursorVersion {
		log.Warn("shopify: unreadable cursor, fetching everything", "err", err)
		return nil
	}
	if c.Config != s.config {
		log.Info("shopify: store, API version or raw setting changed since the last fetch, fetching everything")
		return nil
	}
	if _, err := time.Parse(time.RFC3339Nano, c.Since); err != nil {
		return nil // nothing was listed last time: nothing to compare with
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
	s      *Source
	source string
	out    mesh.Emitter
	log    *slog.Logger
	sz     sizes

	mu          sync.Mutex
	inventory   bool            // ask for quantityAvailable
	assets      map[string]bool // asset native ids emitted
	products    map[string]owned
	collections map[string]owned
	since       time.Time
	emitErr     error
	versionSeen bool
}

func (r *run) withInventory() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inventory
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

// noteVersion logs, once, a served API version other than the one asked for.
func (r *run) noteVersion(resp *fetch.Response) {
	v := resp.Header.Get(versionHeader)
	r.mu.Lock()
	seen := r.versionSeen
	r.versionSeen = true
	r.mu.Unlock()
	if !seen && v != "" && v != r.s.version {
		r.log.Warn("shopify: the store answered with another API version (the one asked for is no longer supported)",
			"asked", r.s.version, "served", v)
	}
}

// connection walks a GraphQL connection, calling each with the nodes of every page, and fails
// with ErrListCeiling when the listing reaches the ceiling with more to come.
func (r *run) connection(ctx context.Context, what string, p fetch.ConnectionPages, each func(nodes []gjson.Result) error) error {
	count := 0
	return r.s.client.Connection(ctx, p, func(_ int, resp *fetch.Response) error {
		r.noteVersion(resp)
		conn := resp.Get(p.Path)
		nodes := conn.Get("nodes")
		if !nodes.IsArray() {
			return fmt.Errorf("%s: %w: %s.nodes is not an array", resp.URL, mesh.ErrBadResponse, p.Path)
		}
		list := nodes.Array()
		if err := each(list); err != nil {
			return err
		}
		count += len(list)
		if count >= r.s.ceiling && conn.Get("pageInfo.hasNextPage").Bool() {
			return fmt.Errorf("%s: %w: %d listed and there are more; the graph would be incomplete. "+
				"The way past it is the Admin API's bulk export (bulkOperationRunQuery and its JSONL file), "+
				"which needs an Admin API token and is not implemented", what, ErrListCeiling, count)
		}
		return nil
	})
}

func (r *run) productVars() map[string]any {
	return map[string]any{"imagesFirst": r.sz.images, "variantsFirst": r.sz.variants,
		"collectionsFirst": r.sz.collections, "inventory": r.withInventory()}
}

// listProducts lists the products (those changed since the cursor's time, for a delta) and emits
// each with its variants and assets. A token that may not read stock gets the listing again
// without it.
func (r *run) listProducts(ctx context.Context, prev *cursor) error {
	vars := r.productVars()
	vars["first"] = r.sz.products
	if prev != nil {
		since, _ := time.Parse(time.RFC3339Nano, prev.Since)
		vars["query"] = "updated_at:>'" + since.Add(-sinceMargin).UTC().Format(time.RFC3339) + "'"
	}
	emitted := 0
	err := r.connection(ctx, "products", fetch.ConnectionPages{Endpoint: r.s.endpoint, Query: queryProducts,
		Variables: vars, Path: pathProducts}, func(nodes []gjson.Result) error {
		n, err := r.productPage(ctx, nodes)
		emitted += n
		return err
	})
	if err != nil && emitted == 0 && inventoryDenied(err) && r.withInventory() {
		r.log.Warn("shopify: the token may not read stock (scope unauthenticated_read_product_inventory): " +
			"inventoryQuantity will be null")
		r.mu.Lock()
		r.inventory = false
		r.mu.Unlock()
		return r.listProducts(ctx, prev)
	}
	return err
}

// productPage decodes one page of products, completes their nested connections and emits them.
func (r *run) productPage(ctx context.Context, nodes []gjson.Result) (int, error) {
	recs := make([]*productRec, len(nodes))
	for i, n := range nodes {
		rec, err := decodeProduct(n)
		if err != nil {
			return 0, fmt.Errorf("product %d of the page: %w", i, err)
		}
		recs[i] = rec
	}
	if err := r.complete(ctx, recs); err != nil {
		return 0, err
	}
	for _, rec := range recs {
		if err := r.emitProduct(rec); err != nil {
			return 0, err
		}
	}
	return len(recs), nil
}

// complete runs the follow-up queries of products whose nested connections have more items.
func (r *run) complete(ctx context.Context, recs []*productRec) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, r.s.client.Options().Concurrency))
	for _, rec := range recs {
		if rec.moreVariants {
			g.Go(func() error {
				var all []variantRec
				err := r.connection(gctx, "variants of product "+rec.gid, fetch.ConnectionPages{Endpoint: r.s.endpoint,
					Query: queryProductVariants, Path: pathProductVariants,
					Variables: map[string]any{"id": rec.gid, "first": r.sz.followUp, "inventory": r.withInventory()}},
					func(nodes []gjson.Result) error {
						for _, n := range nodes {
							v, err := decodeVariant(n)
							if err != nil {
								return err
							}
							all = append(all, v)
						}
						return nil
					})
				rec.variants = all
				return err
			})
		}
		if rec.moreImages {
			g.Go(func() error {
				var all []imageRec
				err := r.connection(gctx, "images of product "+rec.gid, fetch.ConnectionPages{Endpoint: r.s.endpoint,
					Query: queryProductImages, Path: pathProductImages,
					Variables: map[string]any{"id": rec.gid, "first": r.sz.followUp}},
					func(nodes []gjson.Result) error {
						for _, n := range nodes {
							img, err := decodeImage(n)
							if err != nil {
								return err
							}
							all = append(all, img)
						}
						return nil
					})
				rec.images = all
				return err
			})
		}
		if rec.moreCollections {
			g.Go(func() error {
				var all []string
				err := r.connection(gctx, "collections of product "+rec.gid, fetch.ConnectionPages{Endpoint: r.s.endpoint,
					Query: queryProductCollections, Path: pathProductCollections,
					Variables: map[string]any{"id": rec.gid, "first": r.sz.followUp}},
					func(nodes []gjson.Result) error {
						for _, n := range nodes {
							id, err := nativeID(n.Get("id"), "Collection")
							if err != nil {
								return err
							}
							all = append(all, id)
						}
						return nil
					})
				rec.collections = all
				return err
			})
		}
	}
	return g.Wait()
}

// emitProduct emits a product, its variants and its assets (each asset once per fetch), and
// records what it owns for the cursor.
func (r *run) emitProduct(rec *productRec) error {
	nodes := rec.nodes(r.source, r.s.cfg.Raw)
	own := owned{}
	for _, n := range nodes {
		switch n.Type {
		case "ProductVariant":
			own.Variants = append(own.Variants, n.NativeID)
		case "Asset":
			if !slices.Contains(own.Assets, n.NativeID) {
				own.Assets = append(own.Assets, n.NativeID)
			}
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
	own.Collections = slices.Clone(rec.collections)
	slices.Sort(own.Collections)
	own.Collections = slices.Compact(own.Collections)
	r.mu.Lock()
	r.products[rec.id] = own
	if rec.updatedAt.After(r.since) {
		r.since = rec.updatedAt
	}
	r.mu.Unlock()
	return nil
}

// listCollections lists every collection with its products and emits it with its image.
func (r *run) listCollections(ctx context.Context) error {
	return r.connection(ctx, "collections", fetch.ConnectionPages{Endpoint: r.s.endpoint, Query: queryCollections,
		Variables: map[string]any{"first": r.sz.collectionsPage, "productsFirst": r.sz.collectionProducts},
		Path:      pathCollections}, func(nodes []gjson.Result) error {
		recs := make([]*collectionRec, len(nodes))
		for i, n := range nodes {
			rec, err := decodeCollection(n)
			if err != nil {
				return fmt.Errorf("collection %d of the page: %w", i, err)
			}
			recs[i] = rec
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(max(1, r.s.client.Options().Concurrency))
		for _, rec := range recs {
			if !rec.moreProducts {
				continue
			}
			g.Go(func() error {
				var all []string
				err := r.connection(gctx, "products of collection "+rec.gid, fetch.ConnectionPages{Endpoint: r.s.endpoint,
					Query: queryCollectionProducts, Path: pathCollectionProducts,
					Variables: map[string]any{"id": rec.gid, "first": r.sz.followUp}},
					func(nodes []gjson.Result) error {
						for _, n := range nodes {
							id, err := nativeID(n.Get("id"), "Product")
							if err != nil {
								return err
							}
							all = append(all, id)
						}
						return nil
					})
				rec.products = all
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		for _, rec := range recs {
			own := owned{products: rec.products}
			for _, n := range rec.nodes(r.source, r.s.cfg.Raw) {
				if n.Type == "Asset" {
					own.Assets = append(own.Assets, n.NativeID)
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
			r.collections[rec.id] = own
			r.mu.Unlock()
		}
		return nil
	})
}

// productIDs sweeps the native ids of every product.
func (r *run) productIDs(ctx context.Context) (map[string]bool, error) {
	alive := map[string]bool{}
	err := r.connection(ctx, "product ids", fetch.ConnectionPages{Endpoint: r.s.endpoint, Query: queryProductIDs,
		Variables: map[string]any{"first": r.sz.ids}, Path: pathProducts}, func(nodes []gjson.Result) error {
		for _, n := range nodes {
			id, err := nativeID(n.Get("id"), "Product")
			if err != nil {
				return err
			}
			alive[id] = true
		}
		return nil
	})
	return alive, err
}

// stale lists the products a delta must fetch by id although the updated_at filter did not return
// them: those the sweep found but the cursor does not know (the search index behind the filter
// lagged), and those whose collections, as the full collection listing tells, are not what the
// cursor recorded (membership changes do not change a product's updatedAt).
func (r *run) stale(prev *cursor, alive map[string]bool) []string {
	member := map[string][]string{}
	for cid, own := range r.collections {
		for _, pid := range own.products {
			member[pid] = append(member[pid], cid)
		}
	}
	var out []string
	for id := range alive {
		if _, got := r.products[id]; got {
			continue
		}
		old, known := prev.Products[id]
		now := member[id]
		slices.Sort(now)
		if !known || !slices.Equal(old.Collections, slices.Compact(now)) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// fetchByID fetches products by id, with their nested connections, up to concurrency at a time,
// and emits them. A product gone since the sweep is dropped from alive.
func (r *run) fetchByID(ctx context.Context, ids []string, alive map[string]bool) error {
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, r.s.client.Options().Concurrency))
	for _, id := range ids {
		g.Go(func() error {
			vars := r.productVars()
			vars["id"] = gidPrefix + "Product/" + id
			resp, err := r.s.client.GraphQL(gctx, r.s.endpoint, queryProduct, vars)
			if err != nil {
				return fmt.Errorf("product %s: %w", id, err)
			}
			node := resp.Get(pathProduct)
			if node.Type == gjson.Null {
				mu.Lock()
				delete(alive, id) // gone since the sweep
				mu.Unlock()
				return nil
			}
			rec, err := decodeProduct(node)
			if err != nil {
				return fmt.Errorf("product %s: %w", id, err)
			}
			if err := r.complete(gctx, []*productRec{rec}); err != nil {
				return err
			}
			return r.emitProduct(rec)
		})
	}
	return g.Wait()
}

// deletes emits the deletes of a delta and fills next with the state after it: products gone from
// the sweep go with their variants and assets; a changed product's variants and assets that it no
// longer has go; collections gone go with their assets. An asset still owned by anything stays.
func (r *run) deletes(prev *cursor, alive map[string]bool, next *cursor) error {
	for id, own := range prev.Products {
		if _, changed := r.products[id]; !changed && alive[id] {
			next.Products[id] = own
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
	var ids []string
	for id, own := range prev.Products {
		if _, ok := next.Products[id]; !ok {
			ids = append(ids, mesh.NodeID(r.source, "product", id))
		}
		for _, v := range own.Variants {
			if !keepVariants[v] {
				ids = append(ids, mesh.NodeID(r.source, "variant", v))
			}
		}
		for _, a := range own.Assets {
			if !keepAssets[a] {
				ids = append(ids, mesh.NodeID(r.source, "asset", a))
			}
		}
	}
	for id, own := range prev.Collections {
		if _, ok := next.Collections[id]; !ok {
			ids = append(ids, mesh.NodeID(r.source, "collection", id))
		}
		for _, a := range own.Assets {
			if !keepAssets[a] {
				ids = append(ids, mesh.NodeID(r.source, "asset", a))
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

// isDefaultOptions reports Shopify's stand-in for "no options": one option "Title" whose only
// value is "Default Title".
func isDefaultOptions(opts []option) bool {
	return len(opts) == 1 && opts[0].Name == "Title" && len(opts[0].Values) == 1 && opts[0].Values[0] == "Default Title"
}

func nullableString(o *mesh.Object, key, v string) {
	if v == "" {
		o.SetNull(key)
		return
	}
	o.SetString(key, v)
}

func setRaw(o *mesh.Object, raw bool, v gjson.Result) {
	if raw {
		o.Set("_raw", []byte(v.Raw))
	}
}

// nodes maps a product to its Product node, its ProductVariant nodes and the Asset nodes of its
// images and variant images (an asset may appear more than once).
func (p *productRec) nodes(source string, raw bool) []mesh.Node {
	v := p.node
	productID := mesh.NodeID(source, "product", p.id)
	defaultOnly := isDefaultOptions(p.options)
	title := v.Get("title").String()

	var out []mesh.Node
	o := mesh.NewObject()
	o.SetString("handle", v.Get("handle").String())
	o.SetString("title", title)
	o.SetString("description", v.Get("description").String())
	o.SetString("descriptionHtml", v.Get("descriptionHtml").String())
	nullableString(o, "vendor", v.Get("vendor").String())
	nullableString(o, "productType", v.Get("productType").String())
	tags := []string{}
	for _, t := range v.Get("tags").Array() {
		tags = append(tags, t.Str)
	}
	_ = o.SetValue("tags", tags)
	o.SetString("status", "active")
	o.Set("priceRange", priceRange(v.Get("priceRange"), p.variants))
	opts := p.options
	if defaultOnly || opts == nil {
		opts = []option{}
	}
	_ = o.SetValue("options", opts)
	var imageIDs []string
	for _, img := range p.images {
		imageIDs = append(imageIDs, mesh.NodeID(source, "asset", img.id))
		out = append(out, img.asset(source, raw))
	}
	o.SetRefs("images", imageIDs)
	var variantIDs []string
	for _, vr := range p.variants {
		variantIDs = append(variantIDs, mesh.NodeID(source, "variant", vr.id))
		vo := mesh.NewObject()
		if vr.sku == "" {
			vo.SetNull("sku")
		} else {
			vo.SetString("sku", vr.sku)
		}
		sel := vr.selected
		vtitle := vr.title
		if defaultOnly || sel == nil {
			if defaultOnly || vtitle == "Default Title" {
				vtitle = title
			}
			sel = []selected{}
		}
		vo.SetString("title", vtitle)
		vo.Set("price", vr.price.JSON())
		if vr.compareAt != nil {
			vo.Set("compareAtPrice", vr.compareAt.JSON())
		} else {
			vo.SetNull("compareAtPrice")
		}
		vo.SetBool("available", vr.available)
		if vr.qty == "" {
			vo.SetNull("inventoryQuantity")
		} else {
			vo.Set("inventoryQuantity", []byte(vr.qty))
		}
		_ = vo.SetValue("selectedOptions", sel)
		if vr.image != nil {
			vo.SetRef("image", mesh.NodeID(source, "asset", vr.image.id))
			out = append(out, vr.image.asset(source, raw))
		} else {
			vo.SetNull("image")
		}
		vo.SetRef("product", productID)
		setRaw(vo, raw, vr.node)
		out = append(out, mesh.Node{ID: mesh.NodeID(source, "variant", vr.id), Type: "ProductVariant", NativeID: vr.id,
			UpdatedAt: p.updatedAt, Fields: vo.JSON()})
	}
	o.SetRefs("variants", variantIDs)
	var colIDs []string
	for _, c := range p.collections {
		colIDs = append(colIDs, mesh.NodeID(source, "collection", c))
	}
	o.SetRefs("collections", colIDs)
	setRaw(o, raw, v)
	out = append(out, mesh.Node{ID: productID, Type: "Product", NativeID: p.id, UpdatedAt: p.updatedAt, Fields: o.JSON()})
	return out
}

// priceRange is the API's priceRange, or the range of the variants' prices when it has none.
func priceRange(v gjson.Result, variants []variantRec) []byte {
	if v.IsObject() {
		lo, err1 := readMoney(v.Get("minVariantPrice"), "priceRange.minVariantPrice")
		hi, err2 := readMoney(v.Get("maxVariantPrice"), "priceRange.maxVariantPrice")
		if err1 == nil && err2 == nil {
			return money.Range{Min: lo, Max: hi}.JSON()
		}
	}
	prices := make([]money.Money, len(variants))
	for i, vr := range variants {
		prices[i] = vr.price
	}
	if r, ok := money.RangeOf(prices); ok {
		return r.JSON()
	}
	return nil
}

// asset maps an image to its Asset node.
func (img *imageRec) asset(source string, raw bool) mesh.Node {
	o := mesh.NewObject()
	o.SetString("url", img.url)
	nullableString(o, "mimeType", mimeType(img.url))
	for _, kv := range [][2]string{{"width", img.width}, {"height", img.height}} {
		if kv[1] == "" {
			o.SetNull(kv[0])
		} else {
			o.Set(kv[0], []byte(kv[1]))
		}
	}
	o.SetNull("size")
	o.SetNull("title")
	if img.hasAlt {
		o.SetString("alt", img.alt)
	} else {
		o.SetNull("alt")
	}
	nullableString(o, "fileName", fileName(img.url))
	setRaw(o, raw, img.node)
	return mesh.Node{ID: mesh.NodeID(source, "asset", img.id), Type: "Asset", NativeID: img.id, Fields: o.JSON()}
}

// nodes maps a collection to its Collection node and the Asset of its image.
func (c *collectionRec) nodes(source string, raw bool) []mesh.Node {
	var out []mesh.Node
	o := mesh.NewObject()
	o.SetString("handle", c.node.Get("handle").String())
	o.SetString("title", c.node.Get("title").String())
	o.SetString("description", c.node.Get("description").String())
	if c.image != nil {
		o.SetRef("image", mesh.NodeID(source, "asset", c.image.id))
		out = append(out, c.image.asset(source, raw))
	} else {
		o.SetNull("image")
	}
	ids := make([]string, len(c.products))
	for i, p := range c.products {
		ids[i] = mesh.NodeID(source, "product", p)
	}
	o.SetRefs("products", ids)
	setRaw(o, raw, c.node)
	var updated time.Time
	if t, err := time.Parse(time.RFC3339Nano, c.node.Get("updatedAt").String()); err == nil {
		updated = t.UTC()
	}
	return append(out, mesh.Node{ID: mesh.NodeID(source, "collection", c.id), Type: "Collection", NativeID: c.id,
		UpdatedAt: updated, Fields: o.JSON()})
}

// imageTypes maps image file extensions to their media types (a fixed table: mime's tables depend
// on the machine).
var imageTypes = map[string]string{
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif", ".webp": "image/webp",
	".avif": "image/avif", ".svg": "image/svg+xml", ".heic": "image/heic", ".tif": "image/tiff", ".tiff": "image/tiff",
}

// mimeType guesses an image's media type from its URL's file extension; "" when unknown.
func mimeType(rawURL string) string {
	return imageTypes[strings.ToLower(path.Ext(fileName(rawURL)))]
}

// fileName is the last segment of the URL's path, unescaped; "" when there is none.
func fileName(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	base := path.Base(u.Path)
	if base == "/" || base == "." {
		return ""
	}
	return base
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

func describeRaw(v gjson.Result) string {
	if v.Type == gjson.Number {
		return v.Raw
	}
	return describe(v)
}
