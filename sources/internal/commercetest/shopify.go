package commercetest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/contentmesh/contentmesh/mesh/meshtest"
)

// ShopifyListCeiling is how far the Storefront API lists a connection: since 2025-06-17 it refuses
// to paginate past the 25,000th item (api-notes section 1.1).
const ShopifyListCeiling = 25_000

// ShopifyFake answers Storefront GraphQL requests (POST /api/<version>/graphql.json) from a Catalog,
// in the shapes api-notes section 1.1 documents: Relay connections with nodes and pageInfo, opaque
// base64 cursors, GIDs (gid://shopify/Product/8001), MoneyV2 amounts as decimal strings ("129.0"),
// variant images falling back to the product's featured image, a product without options showing
// Shopify's single "Title" option with its "Default Title" variant, `first` limited to 250, the
// `updated_at:>'<time>'` products query filter, and the 25,000-item ceiling.
//
// There is no GraphQL parser: the fake knows the operations the shopify adapter sends by their
// operation name and reads their variables (first, after, query, id, and variantsFirst,
// imagesFirst, collectionsFirst, productsFirst for nested connections):
//
//	Products, ProductIDs                       data.products
//	Product                                    data.product (by id)
//	ProductVariants, ProductImages,
//	ProductCollections                         data.product.{variants,images,collections}
//	Collections                                data.collections
//	CollectionProducts                         data.collection.products
//	Shop                                       data.shop.name
//
// It answers every node with all the fields it knows, whatever the selection, except
// quantityAvailable, which it leaves out when the variable $inventory is false (the adapter's
// @include(if: $inventory)). With DenyInventory set it refuses $inventory true the way a token
// without the unauthenticated_read_product_inventory scope is refused (an ACCESS_DENIED error;
// the wording is invented). Credentials are the
// FixtureServer's business (RequireHeader). It is safe for concurrent use.
type ShopifyFake struct {
	mu  sync.Mutex
	cat Catalog
	ids map[string]int // "product:<handle>", "variant:<sku>", "image:<file>", "collection:<handle>" -> numeric id
	// next numeric id per kind
	next map[string]int
	// ceiling is the list ceiling (ShopifyListCeiling unless SetCeiling was called).
	ceiling int
	// denyInventory refuses quantityAvailable.
	denyInventory bool
}

// DenyInventory makes the fake refuse to show stock, as for a token without the
// unauthenticated_read_product_inventory scope.
func (f *ShopifyFake) DenyInventory(deny bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.denyInventory = deny
}

// NewShopifyFake returns a fake serving cat (a copy is kept; change it with Update).
func NewShopifyFake(cat Catalog) *ShopifyFake {
	f := &ShopifyFake{ids: map[string]int{}, next: map[string]int{
		"product": 8001, "variant": 44001, "image": 3001, "collection": 5101, "collectionImage": 9001,
	}, ceiling: ShopifyListCeiling}
	f.Update(func(c *Catalog) { *c = cat })
	return f
}

// SetCeiling lowers the list ceiling, so that a test can reach it with a few items.
func (f *ShopifyFake) SetCeiling(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ceiling = n
}

// Update changes the catalog. Items keep their ids across updates; new ones get new ids.
func (f *ShopifyFake) Update(fn func(*Catalog)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.cat)
	for _, p := range f.cat.Products {
		f.id("product", p.Handle)
		for _, v := range p.Variants {
			f.id("variant", v.SKU)
		}
		for _, img := range p.Images {
			f.id("image", img.FileName)
		}
	}
	for _, c := range f.cat.Collections {
		f.id("collection", c.Handle)
		if c.Image != nil {
			f.id("collectionImage", c.Image.FileName)
		}
	}
}

func (f *ShopifyFake) id(kind, key string) int {
	k := kind + ":" + key
	if n, ok := f.ids[k]; ok {
		return n
	}
	n := f.next[kind]
	f.next[kind]++
	f.ids[k] = n
	return n
}

// GID returns the GID the fake gives an item: kind "Product" (by handle), "ProductVariant" (by
// SKU), "ProductImage" (by file name), "Collection" (by handle) or "CollectionImage" (by file name).
// It panics for an item the fake never saw.
func (f *ShopifyFake) GID(kind, key string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	internal := map[string]string{"Product": "product", "ProductVariant": "variant", "ProductImage": "image",
		"Collection": "collection", "CollectionImage": "collectionImage"}[kind]
	n, ok := f.ids[internal+":"+key]
	if !ok {
		panic(fmt.Sprintf("commercetest: no %s %q", kind, key))
	}
	return fmt.Sprintf("gid://shopify/%s/%d", kind, n)
}

var shopifyPathRE = regexp.MustCompile(`^/api/([0-9]{4}-[0-9]{2}|unstable)/graphql\.json$`)
var operationRE = regexp.MustCompile(`^\s*query\s+([A-Za-z_][A-Za-z0-9_]*)`)
var updatedSinceRE = regexp.MustCompile(`^updated_at:>(?:'([^']*)'|"([^"]*)")$`)

// ServeHTTP answers one GraphQL request.
func (f *ShopifyFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := shopifyPathRE.FindStringSubmatch(r.URL.Path)
	if m == nil || r.Method != http.MethodPost {
		meshtest.WriteJSON(w, http.StatusNotFound, map[string]any{"errors": "Not Found"})
		return
	}
	w.Header().Set("X-Shopify-API-Version", m[1])
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		meshtest.WriteJSON(w, http.StatusBadRequest, map[string]any{"errors": "Content-Type must be application/json"})
		return
	}
	var req struct {
		Query     string          `json:"query"`
		Variables json.RawMessage `json:"variables"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		meshtest.WriteJSON(w, http.StatusBadRequest, map[string]any{"errors": "bad JSON body"})
		return
	}
	var vars map[string]any
	if len(req.Variables) > 0 && string(req.Variables) != "null" {
		if err := json.Unmarshal(req.Variables, &vars); err != nil {
			gqlError(w, "Variables must be an object")
			return
		}
	}
	op := operationRE.FindStringSubmatch(req.Query)
	if op == nil {
		gqlError(w, "commercetest: the fake needs a named query operation")
		return
	}
	f.mu.Lock()
	data, err := f.answer(op[1], vars)
	f.mu.Unlock()
	if err != nil {
		var ce codedError
		if errors.As(err, &ce) {
			meshtest.WriteJSON(w, http.StatusOK, map[string]any{"errors": []any{map[string]any{
				"message": ce.msg, "extensions": map[string]any{"code": ce.code}}}})
			return
		}
		gqlError(w, err.Error())
		return
	}
	meshtest.WriteJSON(w, http.StatusOK, map[string]any{"data": data})
}

// codedError is a GraphQL error with an extensions.code.
type codedError struct{ code, msg string }

func (e codedError) Error() string { return e.code + ": " + e.msg }

func gqlError(w http.ResponseWriter, msg string) {
	meshtest.WriteJSON(w, http.StatusOK, map[string]any{"errors": []any{map[string]any{"message": msg}}})
}

// vars helpers
func intVar(vars map[string]any, name string) (int, error) {
	v, ok := vars[name].(float64)
	if !ok || v != float64(int(v)) {
		return 0, fmt.Errorf("Variable $%s of type Int! was provided invalid value", name)
	}
	if v < 0 || v > 250 {
		return 0, fmt.Errorf("Argument 'first' on connection must be between 0 and 250 (got %d)", int(v))
	}
	return int(v), nil
}

func strVar(vars map[string]any, name string) string {
	s, _ := vars[name].(string)
	return s
}

func (f *ShopifyFake) answer(op string, vars map[string]any) (any, error) {
	if inv, _ := vars["inventory"].(bool); inv && f.denyInventory {
		return nil, codedError{"ACCESS_DENIED", "Access denied for quantityAvailable field. Required access: `unauthenticated_read_product_inventory` access scope."}
	}
	switch op {
	case "Shop":
		return map[string]any{"shop": map[string]any{"name": "Reference Store"}}, nil
	case "Product":
		p := f.productByGID(strVar(vars, "id"))
		if p == nil {
			return map[string]any{"product": nil}, nil
		}
		node, err := f.product(p, vars)
		if err != nil {
			return nil, err
		}
		return map[string]any{"product": node}, nil
	case "Products", "ProductIDs":
		first, err := intVar(vars, "first")
		if err != nil {
			return nil, err
		}
		products := f.cat.Products
		if q := strVar(vars, "query"); q != "" {
			m := updatedSinceRE.FindStringSubmatch(q)
			if m == nil {
				return nil, fmt.Errorf("commercetest: unsupported products query %q", q)
			}
			since, err := time.Parse(time.RFC3339, m[1]+m[2])
			if err != nil {
				return nil, fmt.Errorf("Invalid date in query %q", q)
			}
			products = nil
			for _, p := range f.cat.Products {
				if p.UpdatedAt.After(since) {
					products = append(products, p)
				}
			}
		}
		items := make([]pageItem, len(products))
		for i := range products {
			items[i] = pageItem{id: f.id("product", products[i].Handle), v: &products[i]}
		}
		sortItems(items)
		conn, err := f.connection(items, true, first, strVar(vars, "after"), func(it pageItem) (any, error) {
			p := it.v.(*Product)
			if op == "ProductIDs" {
				return map[string]any{"id": gid("Product", it.id)}, nil
			}
			return f.product(p, vars)
		})
		if err != nil {
			return nil, err
		}
		return map[string]any{"products": conn}, nil
	case "ProductVariants", "ProductImages", "ProductCollections":
		first, err := intVar(vars, "first")
		if err != nil {
			return nil, err
		}
		p := f.productByGID(strVar(vars, "id"))
		if p == nil {
			return map[string]any{"product": nil}, nil
		}
		var conn any
		switch op {
		case "ProductVariants":
			conn, err = f.variants(p, first, strVar(vars, "after"), vars)
		case "ProductImages":
			conn, err = f.images(p, first, strVar(vars, "after"))
		default:
			conn, err = f.productCollections(p, first, strVar(vars, "after"))
		}
		if err != nil {
			return nil, err
		}
		key := map[string]string{"ProductVariants": "variants", "ProductImages": "images", "ProductCollections": "collections"}[op]
		return map[string]any{"product": map[string]any{"id": gid("Product", f.id("product", p.Handle)), key: conn}}, nil
	case "Collections":
		first, err := intVar(vars, "first")
		if err != nil {
			return nil, err
		}
		items := make([]pageItem, len(f.cat.Collections))
		for i := range f.cat.Collections {
			items[i] = pageItem{id: f.id("collection", f.cat.Collections[i].Handle), v: &f.cat.Collections[i]}
		}
		sortItems(items)
		conn, err := f.connection(items, true, first, strVar(vars, "after"), func(it pageItem) (any, error) {
			return f.collection(it.v.(*Collection), vars)
		})
		if err != nil {
			return nil, err
		}
		return map[string]any{"collections": conn}, nil
	case "CollectionProducts":
		first, err := intVar(vars, "first")
		if err != nil {
			return nil, err
		}
		c := f.collectionByGID(strVar(vars, "id"))
		if c == nil {
			return map[string]any{"collection": nil}, nil
		}
		conn, err := f.collectionProducts(c, first, strVar(vars, "after"))
		if err != nil {
			return nil, err
		}
		return map[string]any{"collection": map[string]any{"id": gid("Collection", f.id("collection", c.Handle)), "products": conn}}, nil
	}
	return nil, fmt.Errorf("commercetest: unknown operation %q", op)
}

func gid(kind string, n int) string { return fmt.Sprintf("gid://shopify/%s/%d", kind, n) }

func gidNumber(s, kind string) (int, bool) {
	tail, ok := strings.CutPrefix(s, "gid://shopify/"+kind+"/")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(tail)
	return n, err == nil
}

func (f *ShopifyFake) productByGID(s string) *Product {
	n, ok := gidNumber(s, "Product")
	if !ok {
		return nil
	}
	for i := range f.cat.Products {
		if f.id("product", f.cat.Products[i].Handle) == n {
			return &f.cat.Products[i]
		}
	}
	return nil
}

func (f *ShopifyFake) collectionByGID(s string) *Collection {
	n, ok := gidNumber(s, "Collection")
	if !ok {
		return nil
	}
	for i := range f.cat.Collections {
		if f.id("collection", f.cat.Collections[i].Handle) == n {
			return &f.cat.Collections[i]
		}
	}
	return nil
}

type pageItem struct {
	id int
	v  any
}

func sortItems(items []pageItem) {
	for i := 1; i < len(items); i++ {
		for j := i; j > 0 && items[j].id < items[j-1].id; j-- {
			items[j], items[j-1] = items[j-1], items[j]
		}
	}
}

// cursorFor is Shopify's cursor form: base64 of {"last_id":N,"last_value":"N"}.
func cursorFor(id int) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, `{"last_id":%d,"last_value":"%d"}`, id, id))
}

func cursorID(c string) (int, error) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, fmt.Errorf("Invalid cursor for current pagination")
	}
	var v struct {
		LastID int `json:"last_id"`
	}
	if err := json.Unmarshal(b, &v); err != nil || v.LastID == 0 {
		return 0, fmt.Errorf("Invalid cursor for current pagination")
	}
	return v.LastID, nil
}

// connection pages items (sorted by id when sortedByID) after the cursor.
func (f *ShopifyFake) connection(items []pageItem, sortedByID bool, first int, after string, node func(pageItem) (any, error)) (any, error) {
	start := 0
	if after != "" {
		last, err := cursorID(after)
		if err != nil {
			return nil, err
		}
		start = -1
		for i, it := range items {
			if it.id == last {
				start = i + 1
				break
			}
		}
		if start < 0 {
			if !sortedByID {
				return nil, fmt.Errorf("Invalid cursor for current pagination")
			}
			start = len(items)
			for i, it := range items {
				if it.id > last {
					start = i
					break
				}
			}
		}
	}
	if start >= f.ceiling && start < len(items) {
		return nil, fmt.Errorf("Pagination past the %dth item is not supported (commercetest: the wording of this error is invented; api-notes section 1.1 documents only that it is an error)", f.ceiling)
	}
	end := min(start+first, len(items))
	nodes := []any{}
	var endCursor any
	for _, it := range items[start:end] {
		n, err := node(it)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
		endCursor = cursorFor(it.id)
	}
	return map[string]any{"nodes": nodes, "pageInfo": map[string]any{
		"hasNextPage": end < len(items), "hasPreviousPage": start > 0, "endCursor": endCursor,
	}}, nil
}

// ShopifyAmount writes a decimal as Shopify's MoneyV2 does: trailing zeros dropped, at least one
// decimal ("129.00" -> "129.0", "0.30" -> "0.3", "18000" -> "18000.0").
func ShopifyAmount(amount string) string {
	i, frac, _ := strings.Cut(amount, ".")
	frac = strings.TrimRight(frac, "0")
	if frac == "" {
		frac = "0"
	}
	return i + "." + frac
}

func (f *ShopifyFake) moneyV2(amount string) map[string]any {
	return map[string]any{"amount": ShopifyAmount(amount), "currencyCode": f.cat.Currency}
}

// ShopifyImageURL is the CDN URL the fake gives an image file.
func ShopifyImageURL(fileName string) string {
	return "https://cdn.shopify.com/s/files/1/0001/0002/files/" + fileName + "?v=1726309351"
}

func (f *ShopifyFake) image(kind string, img *Image) map[string]any {
	internal := map[string]string{"ProductImage": "image", "CollectionImage": "collectionImage"}[kind]
	return map[string]any{"id": gid(kind, f.id(internal, img.FileName)), "url": ShopifyImageURL(img.FileName),
		"altText": nullIfEmpty(img.Alt), "width": img.Width, "height": img.Height}
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (f *ShopifyFake) product(p *Product, vars map[string]any) (any, error) {
	vf, err := intVar(vars, "variantsFirst")
	if err != nil {
		return nil, err
	}
	imf, err := intVar(vars, "imagesFirst")
	if err != nil {
		return nil, err
	}
	cf, err := intVar(vars, "collectionsFirst")
	if err != nil {
		return nil, err
	}
	variants, err := f.variants(p, vf, "", vars)
	if err != nil {
		return nil, err
	}
	images, err := f.images(p, imf, "")
	if err != nil {
		return nil, err
	}
	cols, err := f.productCollections(p, cf, "")
	if err != nil {
		return nil, err
	}
	options := []any{}
	for _, o := range p.Options {
		vals := []any{}
		for _, v := range o.Values {
			vals = append(vals, map[string]any{"name": v})
		}
		options = append(options, map[string]any{"name": o.Name, "optionValues": vals})
	}
	if len(p.Options) == 0 {
		options = []any{map[string]any{"name": "Title", "optionValues": []any{map[string]any{"name": "Default Title"}}}}
	}
	pr, _ := p.PriceRange()
	var featured any
	if len(p.Images) > 0 {
		featured = f.image("ProductImage", &p.Images[0])
	}
	tags := p.Tags
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{
		"id": gid("Product", f.id("product", p.Handle)), "handle": p.Handle, "title": p.Title,
		"description": p.Description, "descriptionHtml": p.DescriptionHTML, "vendor": p.Vendor,
		"productType": p.ProductType, "tags": tags, "updatedAt": p.UpdatedAt.UTC().Format(time.RFC3339),
		"availableForSale": anyAvailable(p), "options": options, "featuredImage": featured,
		"priceRange": map[string]any{"minVariantPrice": f.moneyV2(pr.Min.Amount), "maxVariantPrice": f.moneyV2(pr.Max.Amount)},
		"variants":   variants, "images": images, "collections": cols,
	}, nil
}

func anyAvailable(p *Product) bool {
	for _, v := range p.Variants {
		if v.Available {
			return true
		}
	}
	return false
}

func (f *ShopifyFake) variants(p *Product, first int, after string, vars map[string]any) (any, error) {
	inventory, _ := vars["inventory"].(bool)
	items := make([]pageItem, len(p.Variants))
	for i := range p.Variants {
		items[i] = pageItem{id: f.id("variant", p.Variants[i].SKU), v: &p.Variants[i]}
	}
	return f.connection(items, false, first, after, func(it pageItem) (any, error) {
		v := it.v.(*Variant)
		title, sel := v.Title, []any{}
		for _, o := range v.SelectedOptions {
			sel = append(sel, map[string]any{"name": o.Name, "value": o.Value})
		}
		if len(p.Options) == 0 {
			title, sel = "Default Title", []any{map[string]any{"name": "Title", "value": "Default Title"}}
		}
		var img, cap, qty any
		if ri := v.ResolvedImage(p); ri != nil {
			img = f.image("ProductImage", ri)
		}
		if v.CompareAtPrice != nil {
			cap = f.moneyV2(v.CompareAtPrice.Amount)
		}
		if v.InventoryQuantity != nil {
			qty = *v.InventoryQuantity
		}
		out := map[string]any{
			"id": gid("ProductVariant", it.id), "title": title, "sku": v.SKU, "availableForSale": v.Available,
			"currentlyNotInStock": v.InventoryQuantity != nil && *v.InventoryQuantity <= 0,
			"price":               f.moneyV2(v.Price.Amount), "compareAtPrice": cap, "selectedOptions": sel, "image": img,
		}
		if inventory {
			out["quantityAvailable"] = qty
		}
		return out, nil
	})
}

func (f *ShopifyFake) images(p *Product, first int, after string) (any, error) {
	items := make([]pageItem, len(p.Images))
	for i := range p.Images {
		items[i] = pageItem{id: f.id("image", p.Images[i].FileName), v: &p.Images[i]}
	}
	return f.connection(items, false, first, after, func(it pageItem) (any, error) {
		return f.image("ProductImage", it.v.(*Image)), nil
	})
}

func (f *ShopifyFake) productCollections(p *Product, first int, after string) (any, error) {
	var items []pageItem
	for _, h := range p.Collections {
		if c := f.cat.Collection(h); c != nil {
			items = append(items, pageItem{id: f.id("collection", h), v: c})
		}
	}
	sortItems(items)
	return f.connection(items, true, first, after, func(it pageItem) (any, error) {
		c := it.v.(*Collection)
		return map[string]any{"id": gid("Collection", it.id), "handle": c.Handle}, nil
	})
}

func (f *ShopifyFake) collection(c *Collection, vars map[string]any) (any, error) {
	pf, err := intVar(vars, "productsFirst")
	if err != nil {
		return nil, err
	}
	products, err := f.collectionProducts(c, pf, "")
	if err != nil {
		return nil, err
	}
	var img any
	if c.Image != nil {
		img = f.image("CollectionImage", c.Image)
	}
	return map[string]any{
		"id": gid("Collection", f.id("collection", c.Handle)), "handle": c.Handle, "title": c.Title,
		"description": c.Description, "descriptionHtml": "<p>" + c.Description + "</p>",
		"updatedAt": c.UpdatedAt.UTC().Format(time.RFC3339), "image": img, "products": products,
	}, nil
}

func (f *ShopifyFake) collectionProducts(c *Collection, first int, after string) (any, error) {
	var items []pageItem
	for _, h := range c.Products {
		if p := f.cat.Product(h); p != nil {
			items = append(items, pageItem{id: f.id("product", h), v: p})
		}
	}
	return f.connection(items, false, first, after, func(it pageItem) (any, error) {
		return map[string]any{"id": gid("Product", it.id)}, nil
	})
}
