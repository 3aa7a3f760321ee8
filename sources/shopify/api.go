package shopify

// This file holds the wire details of the Storefront GraphQL API: the endpoint, the queries and
// their variables, the gjson paths of the answers and their decoding, the error shape, and the
// cursor's form.

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/sources/internal/money"
)

const (
	// DefaultAPIVersion is the Storefront API version the adapter was written against.
	DefaultAPIVersion = "2025-10"
	// minAPIVersion is the oldest version with ProductOption.optionValues.
	minAPIVersion = "2024-07"

	// tokenHeader carries the Storefront access token.
	tokenHeader = "X-Shopify-Storefront-Access-Token"
	// versionHeader is the version that served the request (Shopify falls forward from an
	// unsupported one).
	versionHeader = "X-Shopify-API-Version"

	// maxFirst is the most items a connection returns per page.
	maxFirst = 250
	// ListCeiling is how far the Storefront API lists a connection: since 2025-06-17 it refuses to
	// paginate past the 25,000th item.
	ListCeiling = 25_000

	// Default page sizes: the product listing, and the nested connections of each product (and the
	// products of each collection) fetched along with it. Nested connections that have more items
	// are completed with follow-up queries on the node, 250 at a time.
	defaultProductsFirst    = 100
	defaultVariantsFirst    = 100
	defaultImagesFirst      = 20
	defaultCollectionsFirst = 20
	defaultProductIDsFirst  = maxFirst
	defaultCollectionsPage  = 50
	defaultCollProdsFirst   = maxFirst

	// statusSecurityRejection is Shopify's 430: the request was judged to come from a bot.
	statusSecurityRejection = 430

	// sinceMargin is subtracted from the last change time seen when asking for changed products:
	// the products query filter reads a search index that lags behind writes.
	sinceMargin = 5 * time.Minute
)

// endpointPath is the GraphQL endpoint under the store's origin.
func endpointPath(version string) string { return "/api/" + version + "/graphql.json" }

// The GraphQL documents. Operation names are part of the test fakes' contract
// (sources/internal/commercetest.ShopifyFake answers by operation name).
const (
	imageFields = `fragment ImageFields on Image { id url altText width height }`

	variantFields = `fragment VariantFields on ProductVariant {
  id title sku availableForSale quantityAvailable @include(if: $inventory)
  price { amount currencyCode } compareAtPrice { amount currencyCode }
  selectedOptions { name value } image { ...ImageFields }
}`

	productFields = `fragment ProductFields on Product {
  id handle title description descriptionHtml vendor productType tags updatedAt
  options { name optionValues { name } }
  priceRange { minVariantPrice { amount currencyCode } maxVariantPrice { amount currencyCode } }
  images(first: $imagesFirst) { nodes { ...ImageFields } pageInfo { hasNextPage endCursor } }
  variants(first: $variantsFirst) { nodes { ...VariantFields } pageInfo { hasNextPage endCursor } }
  collections(first: $collectionsFirst) { nodes { id } pageInfo { hasNextPage endCursor } }
}`

	productVars = `$imagesFirst: Int!, $variantsFirst: Int!, $collectionsFirst: Int!, $inventory: Boolean!`

	queryProducts = `query Products($first: Int!, $after: String, $query: String, ` + productVars + `) {
  products(first: $first, after: $after, query: $query, sortKey: ID) {
    nodes { ...ProductFields } pageInfo { hasNextPage endCursor }
  }
}
` + productFields + "\n" + variantFields + "\n" + imageFields

	queryProduct = `query Product($id: ID!, ` + productVars + `) { product(id: $id) { ...ProductFields } }
` + productFields + "\n" + variantFields + "\n" + imageFields

	queryProductIDs = `query ProductIDs($first: Int!, $after: String) {
  products(first: $first, after: $after, sortKey: ID) { nodes { id } pageInfo { hasNextPage endCursor } }
}`

	queryProductVariants = `query ProductVariants($id: ID!, $first: Int!, $after: String, $inventory: Boolean!) {
  product(id: $id) { variants(first: $first, after: $after) { nodes { ...VariantFields } pageInfo { hasNextPage endCursor } } }
}
` + variantFields + "\n" + imageFields

	queryProductImages = `query ProductImages($id: ID!, $first: Int!, $after: String) {
  product(id: $id) { images(first: $first, after: $after) { nodes { ...ImageFields } pageInfo { hasNextPage endCursor } } }
}
` + imageFields

	queryProductCollections = `query ProductCollections($id: ID!, $first: Int!, $after: String) {
  product(id: $id) { collections(first: $first, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }
}`

	queryCollections = `query Collections($first: Int!, $after: String, $productsFirst: Int!) {
  collections(first: $first, after: $after, sortKey: ID) {
    nodes {
      id handle title description updatedAt image { ...ImageFields }
      products(first: $productsFirst) { nodes { id } pageInfo { hasNextPage endCursor } }
    }
    pageInfo { hasNextPage endCursor }
  }
}
` + imageFields

	queryCollectionProducts = `query CollectionProducts($id: ID!, $first: Int!, $after: String) {
  collection(id: $id) { products(first: $first, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }
}`

	queryShop = `query Shop { shop { name } }`
)

// gjson paths of the connections in the answers.
const (
	pathProducts           = "data.products"
	pathProduct            = "data.product"
	pathProductVariants    = "data.product.variants"
	pathProductImages      = "data.product.images"
	pathProductCollections = "data.product.collections"
	pathCollections        = "data.collections"
	pathCollectionProducts = "data.collection.products"
)

// gidPrefix starts every Shopify global id.
const gidPrefix = "gid://shopify/"

// errorMessage picks Shopify's message out of an error body: {"errors": "..."} (REST style, also
// sent for a bad token), {"errors": [{"message": ...}]} (GraphQL); a 430 usually comes without a
// body, so it gets an explanation.
func errorMessage(status int, body []byte) string {
	if msg := fetch.DefaultErrorMessage(status, body); msg != "" {
		return msg
	}
	if status == statusSecurityRejection {
		return "Shopify Security Rejection: the requests were judged to come from a bot"
	}
	return ""
}

// shouldRetry retries a 430 (Shopify's bot protection, sent without Retry-After) with the client's
// exponential backoff, like a 429; everything else is fetch's default decision.
func shouldRetry(resp *http.Response) (retry, decided bool) {
	if resp.StatusCode == statusSecurityRejection {
		return true, true
	}
	return false, false
}

// inventoryDenied reports whether a GraphQL error says the token may not read quantityAvailable
// (the unauthenticated_read_product_inventory scope is missing).
func inventoryDenied(err error) bool {
	var ge *fetch.GraphQLError
	if !errors.As(err, &ge) {
		return false
	}
	for i, m := range ge.Messages {
		if strings.Contains(m, "quantityAvailable") || strings.Contains(m, "unauthenticated_read_product_inventory") ||
			(ge.Codes[i] == "ACCESS_DENIED" && strings.Contains(strings.ToLower(m), "inventory")) {
			return true
		}
	}
	return false
}

// cursor is the incremental state: when the newest product changed, and what each product and
// collection emitted besides itself, so that a delta can delete what a changed or deleted item no
// longer has. Ids are native ids.
type cursor struct {
	V int `json:"v"`
	// Config is the store, API version and options that made the cursor: another configuration
	// fetches everything.
	Config string `json:"config"`
	// Since is the newest product updatedAt seen (RFC 3339).
	Since string `json:"since"`
	// Products maps a product's native id to its variants and assets.
	Products map[string]owned `json:"products"`
	// Collections maps a collection's native id to its assets.
	Collections map[string]owned `json:"collections"`
}

// owned lists the nodes an item emits besides itself, and for a product the collections it is in
// (sorted), to notice membership changes that do not change the product's updatedAt.
type owned struct {
	Variants    []string `json:"v,omitempty"`
	Assets      []string `json:"a,omitempty"`
	Collections []string `json:"c,omitempty"`
	// products are a collection's products (native ids) in this fetch; not kept in the cursor.
	products []string
}

const cursorVersion = 1

// decimalRE is the decimal text an amount may have: at most 30 digits before the point and 30
// after, and a small exponent (a JSON number's). Anything else is not a price, and a huge exponent
// would make an exact decimal of millions of digits.
var decimalRE = regexp.MustCompile(`^-?[0-9]{1,30}(\.[0-9]{1,30})?([eE][-+]?[0-9]{1,2})?$`)

// Decoding: the records of one answer, read with gjson, checked, ids and money as text.

// productRec is a product as decoded from the API, with its nested lists.
type productRec struct {
	gid, id   string
	updatedAt time.Time
	node      gjson.Result
	options   []option
	variants  []variantRec
	images    []imageRec
	// collections are native ids
	collections                               []string
	moreVariants, moreImages, moreCollections bool
}

type option struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

type selected struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type variantRec struct {
	gid, id   string
	title     string
	sku       string
	available bool
	qty       string // integer text, "" for null
	price     money.Money
	compareAt *money.Money
	selected  []selected
	image     *imageRec
	node      gjson.Result
}

type imageRec struct {
	id            string // asset native id
	url           string
	alt           string
	hasAlt        bool
	width, height string // integer text, "" for null
	node          gjson.Result
}

type collectionRec struct {
	gid, id      string
	node         gjson.Result
	image        *imageRec
	products     []string
	moreProducts bool
}

// nativeID reads a GID of the expected type and returns its numeric tail; a GID of another form is
// kept whole.
func nativeID(v gjson.Result, typ string) (string, error) {
	if v.Type != gjson.String || v.Str == "" {
		return "", fmt.Errorf("%w: want a %s GID, have %s", mesh.ErrBadResponse, typ, describe(v))
	}
	if tail, ok := strings.CutPrefix(v.Str, gidPrefix+typ+"/"); ok && tail != "" && strings.Trim(tail, "0123456789") == "" {
		return tail, nil
	}
	return v.Str, nil
}

func str(v gjson.Result, what string) (string, error) {
	switch v.Type {
	case gjson.String:
		return v.Str, nil
	case gjson.Null:
		return "", nil
	}
	return "", fmt.Errorf("%w: %s: want a string, have %s", mesh.ErrBadResponse, what, describe(v))
}

// intText reads an integer (or null) as its decimal text, never through a float.
func intText(v gjson.Result, what string) (string, error) {
	switch v.Type {
	case gjson.Null:
		return "", nil
	case gjson.Number:
		raw := v.Raw
		digits := strings.TrimPrefix(raw, "-")
		if digits != "" && strings.Trim(digits, "0123456789") == "" && len(digits) <= 18 {
			return raw, nil
		}
	}
	return "", fmt.Errorf("%w: %s: want an integer, have %s", mesh.ErrBadResponse, what, describeRaw(v))
}

// readMoney reads a MoneyV2 {amount, currencyCode}: the amount as decimal text (a string, or a
// number's raw text), never through a float.
func readMoney(v gjson.Result, what string) (money.Money, error) {
	if !v.IsObject() {
		return money.Money{}, fmt.Errorf("%w: %s: want {amount, currencyCode}, have %s", mesh.ErrBadResponse, what, describe(v))
	}
	a := v.Get("amount")
	var text string
	switch a.Type {
	case gjson.String:
		text = a.Str
	case gjson.Number:
		text = a.Raw
	default:
		return money.Money{}, fmt.Errorf("%w: %s.amount: want a decimal, have %s", mesh.ErrBadResponse, what, describe(a))
	}
	if !decimalRE.MatchString(text) {
		return money.Money{}, fmt.Errorf("%w: %s.amount %.40q: want a decimal number", mesh.ErrBadResponse, what, text)
	}
	m, err := money.FromDecimal(text, v.Get("currencyCode").String())
	if err != nil {
		return money.Money{}, fmt.Errorf("%w: %s: %v", mesh.ErrBadResponse, what, err)
	}
	return m, nil
}

func decodeImage(v gjson.Result) (imageRec, error) {
	if !v.IsObject() {
		return imageRec{}, fmt.Errorf("%w: image: want an object, have %s", mesh.ErrBadResponse, describe(v))
	}
	u, err := str(v.Get("url"), "image url")
	if err != nil {
		return imageRec{}, err
	}
	if u == "" {
		return imageRec{}, fmt.Errorf("%w: image without a url", mesh.ErrBadResponse)
	}
	img := imageRec{url: u, node: v}
	switch id := v.Get("id"); id.Type {
	case gjson.String:
		if rest, ok := strings.CutPrefix(id.Str, gidPrefix); ok && rest != "" {
			img.id = rest
		} else if id.Str != "" {
			img.id = id.Str
		}
	case gjson.Null:
	default:
		return imageRec{}, fmt.Errorf("%w: image id: want a string, have %s", mesh.ErrBadResponse, describe(id))
	}
	if img.id == "" {
		h := sha256.Sum256([]byte(u))
		img.id = "url:" + hex.EncodeToString(h[:8])
	}
	alt := v.Get("altText")
	if img.alt, err = str(alt, "image altText"); err != nil {
		return imageRec{}, err
	}
	img.hasAlt = alt.Type == gjson.String
	if img.width, err = intText(v.Get("width"), "image width"); err != nil {
		return imageRec{}, err
	}
	if img.height, err = intText(v.Get("height"), "image height"); err != nil {
		return imageRec{}, err
	}
	return img, nil
}

func decodeVariant(v gjson.Result) (variantRec, error) {
	if !v.IsObject() {
		return variantRec{}, fmt.Errorf("%w: variant: want an object, have %s", mesh.ErrBadResponse, describe(v))
	}
	id, err := nativeID(v.Get("id"), "ProductVariant")
	if err != nil {
		return variantRec{}, fmt.Errorf("variant: %w", err)
	}
	rec := variantRec{gid: v.Get("id").Str, id: id, node: v}
	fail := func(err error) (variantRec, error) { return variantRec{}, fmt.Errorf("variant %s: %w", id, err) }
	if rec.title, err = str(v.Get("title"), "title"); err != nil {
		return fail(err)
	}
	if rec.sku, err = str(v.Get("sku"), "sku"); err != nil {
		return fail(err)
	}
	switch a := v.Get("availableForSale"); a.Type {
	case gjson.True:
		rec.available = true
	case gjson.False, gjson.Null:
	default:
		return fail(fmt.Errorf("%w: availableForSale: want a boolean, have %s", mesh.ErrBadResponse, describe(a)))
	}
	if rec.qty, err = intText(v.Get("quantityAvailable"), "quantityAvailable"); err != nil {
		return fail(err)
	}
	if rec.price, err = readMoney(v.Get("price"), "price"); err != nil {
		return fail(err)
	}
	if c := v.Get("compareAtPrice"); c.Exists() && c.Type != gjson.Null {
		m, err := readMoney(c, "compareAtPrice")
		if err != nil {
			return fail(err)
		}
		rec.compareAt = &m
	}
	so := v.Get("selectedOptions")
	if so.Exists() && !so.IsArray() {
		return fail(fmt.Errorf("%w: selectedOptions: want an array, have %s", mesh.ErrBadResponse, describe(so)))
	}
	for _, o := range so.Array() {
		name, err := str(o.Get("name"), "selectedOptions name")
		if err != nil {
			return fail(err)
		}
		value, err := str(o.Get("value"), "selectedOptions value")
		if err != nil {
			return fail(err)
		}
		rec.selected = append(rec.selected, selected{name, value})
	}
	if img := v.Get("image"); img.Exists() && img.Type != gjson.Null {
		ir, err := decodeImage(img)
		if err != nil {
			return fail(err)
		}
		rec.image = &ir
	}
	return rec, nil
}

// nested reads a nested connection: its nodes, and whether it has more.
func nested(v gjson.Result, what string) ([]gjson.Result, bool, error) {
	if !v.Exists() || v.Type == gjson.Null {
		return nil, false, nil
	}
	nodes := v.Get("nodes")
	if !nodes.IsArray() {
		return nil, false, fmt.Errorf("%w: %s.nodes: want an array, have %s", mesh.ErrBadResponse, what, describe(nodes))
	}
	return nodes.Array(), v.Get("pageInfo.hasNextPage").Bool(), nil
}

// decodeProduct reads one product node of a page.
func decodeProduct(v gjson.Result) (*productRec, error) {
	if !v.IsObject() {
		return nil, fmt.Errorf("%w: product: want an object, have %s", mesh.ErrBadResponse, describe(v))
	}
	id, err := nativeID(v.Get("id"), "Product")
	if err != nil {
		return nil, fmt.Errorf("product: %w", err)
	}
	rec := &productRec{gid: v.Get("id").Str, id: id, node: v}
	fail := func(err error) (*productRec, error) { return nil, fmt.Errorf("product %s: %w", id, err) }
	if u := v.Get("updatedAt"); u.Type == gjson.String {
		t, err := time.Parse(time.RFC3339Nano, u.Str)
		if err != nil {
			return fail(fmt.Errorf("%w: updatedAt %q: %v", mesh.ErrBadResponse, u.Str, err))
		}
		rec.updatedAt = t.UTC()
	}
	opts := v.Get("options")
	if opts.Exists() && !opts.IsArray() {
		return fail(fmt.Errorf("%w: options: want an array, have %s", mesh.ErrBadResponse, describe(opts)))
	}
	for _, o := range opts.Array() {
		name, err := str(o.Get("name"), "option name")
		if err != nil {
			return fail(err)
		}
		op := option{Name: name, Values: []string{}}
		vals := o.Get("optionValues")
		if !vals.Exists() {
			vals = o.Get("values") // before 2024-07
		}
		for _, val := range vals.Array() {
			if val.IsObject() {
				val = val.Get("name")
			}
			s, err := str(val, "option value")
			if err != nil {
				return fail(err)
			}
			op.Values = append(op.Values, s)
		}
		rec.options = append(rec.options, op)
	}
	nodes, more, err := nested(v.Get("variants"), "variants")
	if err != nil {
		return fail(err)
	}
	rec.moreVariants = more
	for _, n := range nodes {
		vr, err := decodeVariant(n)
		if err != nil {
			return fail(err)
		}
		rec.variants = append(rec.variants, vr)
	}
	if nodes, rec.moreImages, err = nested(v.Get("images"), "images"); err != nil {
		return fail(err)
	}
	for _, n := range nodes {
		img, err := decodeImage(n)
		if err != nil {
			return fail(err)
		}
		rec.images = append(rec.images, img)
	}
	if nodes, rec.moreCollections, err = nested(v.Get("collections"), "collections"); err != nil {
		return fail(err)
	}
	for _, n := range nodes {
		cid, err := nativeID(n.Get("id"), "Collection")
		if err != nil {
			return fail(err)
		}
		rec.collections = append(rec.collections, cid)
	}
	for _, k := range []string{"handle", "title", "description", "descriptionHtml", "vendor", "productType"} {
		if _, err := str(v.Get(k), k); err != nil {
			return fail(err)
		}
	}
	if v.Get("handle").String() == "" {
		return fail(fmt.Errorf("%w: no handle", mesh.ErrBadResponse))
	}
	tags := v.Get("tags")
	if tags.Exists() && !tags.IsArray() {
		return fail(fmt.Errorf("%w: tags: want an array, have %s", mesh.ErrBadResponse, describe(tags)))
	}
	for _, t := range tags.Array() {
		if t.Type != gjson.String {
			return fail(fmt.Errorf("%w: tags: want strings, have %s", mesh.ErrBadResponse, describe(t)))
		}
	}
	return rec, nil
}

func decodeCollection(v gjson.Result) (*collectionRec, error) {
	if !v.IsObject() {
		return nil, fmt.Errorf("%w: collection: want an object, have %s", mesh.ErrBadResponse, describe(v))
	}
	id, err := nativeID(v.Get("id"), "Collection")
	if err != nil {
		return nil, fmt.Errorf("collection: %w", err)
	}
	rec := &collectionRec{gid: v.Get("id").Str, id: id, node: v}
	fail := func(err error) (*collectionRec, error) { return nil, fmt.Errorf("collection %s: %w", id, err) }
	for _, k := range []string{"handle", "title", "description"} {
		if _, err := str(v.Get(k), k); err != nil {
			return fail(err)
		}
	}
	if v.Get("handle").String() == "" {
		return fail(fmt.Errorf("%w: no handle", mesh.ErrBadResponse))
	}
	if img := v.Get("image"); img.Exists() && img.Type != gjson.Null {
		ir, err := decodeImage(img)
		if err != nil {
			return fail(err)
		}
		rec.image = &ir
	}
	nodes, more, err := nested(v.Get("products"), "products")
	if err != nil {
		return fail(err)
	}
	rec.moreProducts = more
	for _, n := range nodes {
		pid, err := nativeID(n.Get("id"), "Product")
		if err != nil {
			return fail(err)
		}
		rec.products = append(rec.products, pid)
	}
	return rec, nil
}
