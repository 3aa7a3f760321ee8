package commercetest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/contentmesh/contentmesh/mesh/meshtest"
	"github.com/contentmesh/contentmesh/sources/internal/money"
)

// BigCommerce page size limits (api-notes section 2).
const (
	// BigCommerceMaxLimit is the largest `limit`; more is answered 413.
	BigCommerceMaxLimit = 250
	// BigCommerceOptionsLimit is the page size when `include` asks for options or modifiers.
	BigCommerceOptionsLimit = 10
)

// BigCommerceFake answers Catalog v3 and v2 store requests under /stores/<hash>/ from a Catalog, in
// the shapes api-notes section 2 documents:
//
//	GET /stores/<hash>/v2/store                  the store's currency
//	GET /stores/<hash>/v3/catalog/products       include=variants,images,options,...; include_fields;
//	                                             page, limit; sort=id|date_modified, direction;
//	                                             date_modified:min; id:in; is_visible
//	GET /stores/<hash>/v3/catalog/categories     page, limit
//	GET /stores/<hash>/v3/catalog/brands         page, limit
//
// Ids are integers (products from 101, variants from 501, images from 301, categories from 21,
// brands from 1, in catalog order); prices are JSON numbers, written with the catalog's PriceWire
// float noise when it has one; a variant's price is null when it inherits the product's; the sale
// price rides in sale_price and calculated_price; stock is tracked per variant, per product (a single
// variant) or not at all (a variant with a nil InventoryQuantity); variant images are the product
// image's url_zoom; handles are custom_url paths ("/trail-runner/"); lists carry meta.pagination with
// query-string links; limit over 250 is a 413, and a page that includes options or modifiers holds
// at most 10. Every answer carries the X-Rate-Limit-* headers. Credentials are the FixtureServer's
// business (RequireHeader "X-Auth-Token"). It is safe for concurrent use.
type BigCommerceFake struct {
	// StoreHash is the store the paths must name.
	StoreHash string

	mu   sync.Mutex
	cat  Catalog
	ids  map[string]int
	next map[string]int
}

// NewBigCommerceFake returns a fake serving cat for the store hash (a copy is kept; change it with
// Update).
func NewBigCommerceFake(storeHash string, cat Catalog) *BigCommerceFake {
	f := &BigCommerceFake{StoreHash: storeHash, ids: map[string]int{}, next: map[string]int{
		"product": 101, "variant": 501, "image": 301, "category": 21, "brand": 1, "option": 15, "value": 71,
	}}
	f.Update(func(c *Catalog) { *c = cat })
	return f
}

// Update changes the catalog. Items keep their ids across updates; new ones get new ids.
func (f *BigCommerceFake) Update(fn func(*Catalog)) {
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
		if p.Vendor != "" {
			f.id("brand", p.Vendor)
		}
	}
	for _, c := range f.cat.Collections {
		f.id("category", c.Handle)
	}
}

func (f *BigCommerceFake) id(kind, key string) int {
	k := kind + ":" + key
	if n, ok := f.ids[k]; ok {
		return n
	}
	n := f.next[kind]
	f.next[kind]++
	f.ids[k] = n
	return n
}

// ID returns the numeric id the fake gives an item: kind "product" (by handle), "variant" (by SKU),
// "image" (by file name), "category" (by handle) or "brand" (by name). It panics for an item the
// fake never saw.
func (f *BigCommerceFake) ID(kind, key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.ids[kind+":"+key]
	if !ok {
		panic(fmt.Sprintf("commercetest: no %s %q", kind, key))
	}
	return n
}

// ServeHTTP answers one request.
func (f *BigCommerceFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Rate-Limit-Requests-Left", "148")
	h.Set("X-Rate-Limit-Requests-Quota", "150")
	h.Set("X-Rate-Limit-Time-Reset-Ms", "29410")
	h.Set("X-Rate-Limit-Time-Window-Ms", "30000")
	prefix := "/stores/" + f.StoreHash + "/"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok || r.Method != http.MethodGet {
		bcError(w, http.StatusNotFound, "Store not found or route does not exist")
		return
	}
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	switch rest {
	case "v2/store":
		meshtest.WriteJSON(w, http.StatusOK, map[string]any{
			"id": f.StoreHash, "domain": "reference.example", "name": "Reference Store", "status": "live",
			"currency": f.cat.Currency, "currency_symbol": "", "decimal_places": money.Exponent(f.cat.Currency),
			"decimal_separator": ".", "thousands_separator": ",", "language": "en",
		})
	case "v3/catalog/products":
		f.products(w, q)
	case "v3/catalog/categories":
		var items []map[string]any
		for _, c := range f.cat.Collections {
			items = append(items, f.category(&c))
		}
		f.list(w, q, items, "")
	case "v3/catalog/brands":
		var items []map[string]any
		seen := map[string]bool{}
		for _, p := range f.cat.Products {
			if p.Vendor == "" || seen[p.Vendor] {
				continue
			}
			seen[p.Vendor] = true
			items = append(items, map[string]any{"id": f.id("brand", p.Vendor), "name": p.Vendor, "page_title": "",
				"meta_keywords": []string{}, "meta_description": "", "image_url": "", "search_keywords": "",
				"custom_url": map[string]any{"url": "/brands/" + url.PathEscape(p.Vendor) + ".html", "is_customized": false}})
		}
		f.list(w, q, items, "")
	default:
		bcError(w, http.StatusNotFound, "The route is not found, check the URL")
	}
}

// bcError writes BigCommerce's error shape.
func bcError(w http.ResponseWriter, status int, title string) {
	meshtest.WriteJSON(w, status, map[string]any{"status": status, "title": title,
		"type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"})
}

func (f *BigCommerceFake) products(w http.ResponseWriter, q url.Values) {
	include := strings.Split(q.Get("include"), ",")
	products := slices.Clone(f.cat.Products)
	if s := q.Get("date_modified:min"); s != "" {
		since, err := time.Parse(time.RFC3339, s)
		if err != nil {
			// BigCommerce reads a bare date with the current time of day; the fake wants full
			// timestamps, as the notes advise.
			meshtest.WriteJSON(w, http.StatusUnprocessableEntity, map[string]any{"status": 422,
				"title": "Invalid date_modified:min", "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes",
				"errors": map[string]any{"date_modified:min": "must be a full ISO 8601 timestamp"}})
			return
		}
		products = slices.DeleteFunc(products, func(p Product) bool { return p.UpdatedAt.Before(since) })
	}
	if ids := q.Get("id:in"); ids != "" {
		want := map[int]bool{}
		for _, s := range strings.Split(ids, ",") {
			n, _ := strconv.Atoi(s)
			want[n] = true
		}
		products = slices.DeleteFunc(products, func(p Product) bool { return !want[f.id("product", p.Handle)] })
	}
	switch q.Get("sort") {
	case "", "id":
		slices.SortStableFunc(products, func(a, b Product) int { return f.id("product", a.Handle) - f.id("product", b.Handle) })
	case "date_modified":
		slices.SortStableFunc(products, func(a, b Product) int {
			if c := a.UpdatedAt.Compare(b.UpdatedAt); c != 0 {
				return c
			}
			return f.id("product", a.Handle) - f.id("product", b.Handle)
		})
	default:
		bcError(w, http.StatusBadRequest, "Invalid sort")
		return
	}
	if q.Get("direction") == "desc" {
		slices.Reverse(products)
	}
	var items []map[string]any
	for i := range products {
		items = append(items, f.product(&products[i], include))
	}
	limitCap := ""
	if slices.Contains(include, "options") || slices.Contains(include, "modifiers") {
		limitCap = "options"
	}
	if fields := q.Get("include_fields"); fields != "" {
		keep := map[string]bool{"id": true}
		for _, k := range strings.Split(fields, ",") {
			keep[k] = true
		}
		for _, inc := range include {
			keep[inc] = true
		}
		for _, it := range items {
			for k := range it {
				if !keep[k] {
					delete(it, k)
				}
			}
		}
	}
	f.list(w, q, items, limitCap)
}

// list writes one page of items with meta.pagination.
func (f *BigCommerceFake) list(w http.ResponseWriter, q url.Values, items []map[string]any, limitCap string) {
	page, limit := 1, 50
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			bcError(w, http.StatusBadRequest, "The page must be a positive integer")
			return
		}
		page = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			bcError(w, http.StatusBadRequest, "The limit must be a positive integer")
			return
		}
		limit = n
	}
	if limit > BigCommerceMaxLimit {
		bcError(w, http.StatusRequestEntityTooLarge, "The limit exceeds the maximum of 250")
		return
	}
	if limitCap != "" {
		limit = min(limit, BigCommerceOptionsLimit)
	}
	total := len(items)
	pages := (total + limit - 1) / limit
	start := min((page-1)*limit, total)
	end := min(start+limit, total)
	data := items[start:end]
	if data == nil {
		data = []map[string]any{}
	}
	links := map[string]any{"current": fmt.Sprintf("?page=%d&limit=%d", page, limit)}
	if page > 1 {
		links["previous"] = fmt.Sprintf("?page=%d&limit=%d", page-1, limit)
	}
	if page < pages {
		links["next"] = fmt.Sprintf("?page=%d&limit=%d", page+1, limit)
	}
	meshtest.WriteJSON(w, http.StatusOK, map[string]any{"data": data, "meta": map[string]any{"pagination": map[string]any{
		"total": total, "count": len(data), "per_page": limit, "current_page": page, "total_pages": pages, "links": links,
	}}})
}

// rawNumber is a JSON number written as given (float noise included).
type rawNumber string

// MarshalJSON writes the number's text.
func (n rawNumber) MarshalJSON() ([]byte, error) { return []byte(n), nil }

// BigCommerceNumber writes a decimal amount as a JSON float the way the API does: "129.00" ->
// 129.0, "0.30" -> 0.3.
func BigCommerceNumber(amount string) string { return ShopifyAmount(amount) }

// BigCommerceImageURL is the CDN URL the fake gives an image file at a size ("1280x1280").
func BigCommerceImageURL(storeHash string, productID, imageID int, fileName, size string) string {
	stem, ext, _ := strings.Cut(fileName, ".")
	return fmt.Sprintf("https://cdn11.bigcommerce.com/s-%s/images/stencil/%s/products/%d/%d/%s__%d.1726309351.%s",
		storeHash, size, productID, imageID, stem, imageID, ext)
}

func (f *BigCommerceFake) product(p *Product, include []string) map[string]any {
	pid := f.id("product", p.Handle)
	regular := func(v *Variant) money.Money {
		if v.CompareAtPrice != nil {
			return *v.CompareAtPrice
		}
		return v.Price
	}
	wire := func(v *Variant) rawNumber {
		if v.PriceWire != "" {
			return rawNumber(v.PriceWire)
		}
		return rawNumber(BigCommerceNumber(v.Price.Amount))
	}
	base := &p.Variants[0]
	baseRegular := regular(base)
	basePrice := rawNumber(BigCommerceNumber(baseRegular.Amount))
	if base.CompareAtPrice == nil {
		basePrice = wire(base)
	}
	tracking := "variant"
	if len(p.Variants) == 1 {
		tracking = "product"
	}
	level := 0
	for _, v := range p.Variants {
		if v.InventoryQuantity == nil {
			tracking = "none"
		} else {
			level += *v.InventoryQuantity
		}
	}
	if tracking == "none" {
		level = 0
	}
	images := []any{}
	imageURL := map[string]string{}
	for i, img := range p.Images {
		iid := f.id("image", img.FileName)
		zoom := BigCommerceImageURL(f.StoreHash, pid, iid, img.FileName, "1280x1280")
		imageURL[img.FileName] = zoom
		stem, ext, _ := strings.Cut(img.FileName, ".")
		images = append(images, map[string]any{
			"id": iid, "product_id": pid, "is_thumbnail": i == 0, "sort_order": i, "description": img.Alt,
			"image_file":    fmt.Sprintf("%c/%03d/%s__%d.%s", stem[0], iid%1000, stem, iid, ext),
			"url_zoom":      zoom,
			"url_standard":  BigCommerceImageURL(f.StoreHash, pid, iid, img.FileName, "500x659"),
			"url_thumbnail": BigCommerceImageURL(f.StoreHash, pid, iid, img.FileName, "100x100"),
			"url_tiny":      BigCommerceImageURL(f.StoreHash, pid, iid, img.FileName, "44x44"),
			"date_modified": p.UpdatedAt.UTC().Format("2006-01-02T15:04:05+00:00"),
		})
	}
	// Options get ids per product and name; values per product, option and label.
	optionID := func(name string) int { return f.id("option", p.Handle+"\x00"+name) }
	valueID := func(name, label string) int { return f.id("value", p.Handle+"\x00"+name+"\x00"+label) }
	variants := []any{}
	for i := range p.Variants {
		v := &p.Variants[i]
		var price, sale any
		if r := regular(v); r.Amount != baseRegular.Amount {
			price = rawNumber(BigCommerceNumber(r.Amount))
			if v.CompareAtPrice == nil {
				price = wire(v)
			}
		}
		if v.CompareAtPrice != nil {
			sale = wire(v)
		}
		var vlevel any = 0
		if v.InventoryQuantity != nil {
			vlevel = *v.InventoryQuantity
		}
		ovs := []any{}
		for _, so := range v.SelectedOptions {
			ovs = append(ovs, map[string]any{"id": valueID(so.Name, so.Value), "label": so.Value,
				"option_id": optionID(so.Name), "option_display_name": so.Name})
		}
		tracked := v.InventoryQuantity != nil
		disabled := !v.Available && !(tracked && *v.InventoryQuantity <= 0)
		variants = append(variants, map[string]any{
			"id": f.id("variant", v.SKU), "product_id": pid, "sku": v.SKU, "sku_id": nil, "price": price,
			"calculated_price": wire(v), "sale_price": sale, "retail_price": nil, "inventory_level": vlevel,
			"purchasing_disabled": disabled, "image_url": imageURL[v.Image], "option_values": ovs,
		})
	}
	var categories []int
	for _, h := range p.Collections {
		if f.cat.Collection(h) != nil {
			categories = append(categories, f.id("category", h))
		}
	}
	slices.Sort(categories)
	if categories == nil {
		categories = []int{}
	}
	brand := 0
	if p.Vendor != "" {
		brand = f.id("brand", p.Vendor)
	}
	var saleP any = 0
	if base.CompareAtPrice != nil {
		saleP = wire(base)
	}
	out := map[string]any{
		"id": pid, "name": p.Title, "type": "physical", "sku": "", "description": p.DescriptionHTML,
		"price": basePrice, "sale_price": saleP, "retail_price": 0, "calculated_price": wire(base),
		"inventory_level": level, "inventory_tracking": tracking, "is_visible": p.Status == "active",
		"availability": "available", "categories": categories, "brand_id": brand,
		"base_variant_id": f.id("variant", base.SKU), "search_keywords": strings.Join(p.Tags, ","),
		"custom_url":   map[string]any{"url": "/" + p.Handle + "/", "is_customized": false},
		"date_created": "2024-11-02T09:12:44+00:00", "date_modified": p.UpdatedAt.UTC().Format("2006-01-02T15:04:05+00:00"),
	}
	if slices.Contains(include, "variants") {
		out["variants"] = variants
	}
	if slices.Contains(include, "images") {
		out["images"] = images
	}
	if slices.Contains(include, "options") {
		opts := []any{}
		for i, o := range p.Options {
			vals := []any{}
			for j, val := range o.Values {
				vals = append(vals, map[string]any{"id": valueID(o.Name, val), "label": val, "sort_order": j, "is_default": false})
			}
			opts = append(opts, map[string]any{"id": optionID(o.Name), "product_id": pid, "display_name": o.Name,
				"type": "dropdown", "sort_order": i, "option_values": vals})
		}
		out["options"] = opts
	}
	return out
}

// BigCommerceCategoryImageURL is the URL the fake gives a category image file.
func BigCommerceCategoryImageURL(storeHash string, categoryID int, fileName string) string {
	stem, ext, _ := strings.Cut(fileName, ".")
	return fmt.Sprintf("https://cdn11.bigcommerce.com/s-%s/product_images/k/%s__%d.%s", storeHash, stem, categoryID, ext)
}

func (f *BigCommerceFake) category(c *Collection) map[string]any {
	cid := f.id("category", c.Handle)
	img := ""
	if c.Image != nil {
		img = BigCommerceCategoryImageURL(f.StoreHash, cid, c.Image.FileName)
	}
	return map[string]any{
		"id": cid, "parent_id": 0, "name": c.Title, "description": "<p>" + c.Description + "</p>", "views": 0,
		"sort_order": 0, "page_title": "", "meta_keywords": []string{""}, "meta_description": "",
		"layout_file": "category.html", "image_url": img, "is_visible": true, "search_keywords": "",
		"default_product_sort": "use_store_settings",
		"custom_url":           map[string]any{"url": "/" + c.Handle + "/", "is_customized": false},
	}
}
