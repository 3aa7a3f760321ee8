package commercetest

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
)

// View is a catalog as templates see it, with every provider-specific thing taken out: node IDs,
// native ids and URLs are gone, references are replaced by what they point at (a product by its
// handle, an asset by its fields). Two adapters that yield equal Views for the same catalog can be
// swapped under a site's templates.
//
// Its JSON form (what Diff compares, path by path):
//
//	{"products": {"<handle>": {"title", "description", "descriptionHtml", "vendor", "productType",
//	   "tags", "status", "priceRange", "options",
//	   "images": [<asset>...], "collections": [<handle>... sorted],
//	   "variants": [{"sku", "title", "price", "compareAtPrice", "available", "inventoryQuantity",
//	                 "selectedOptions", "image": <asset>|null, "product": "<handle>"}...]}},
//	 "collections": {"<handle>": {"title", "description", "image": <asset>|null,
//	   "products": [<handle>... sorted]}}}
//
// where <asset> is {"alt", "width", "height", "mimeType", "fileName"}. Membership lists
// (collections of a product, products of a collection) are compared as sets because providers
// order them differently; variants, images, options and their values keep their order.
type View map[string]any

// View returns what an adapter must yield for the catalog.
func (c Catalog) View() View {
	products := map[string]any{}
	for i := range c.Products {
		p := &c.Products[i]
		pr, _ := p.PriceRange()
		var images []any
		for _, img := range p.Images {
			images = append(images, img.view())
		}
		var variants []any
		for j := range p.Variants {
			v := &p.Variants[j]
			var img any
			if ri := v.ResolvedImage(p); ri != nil {
				img = ri.view()
			}
			var cap any
			if v.CompareAtPrice != nil {
				cap = toAny(v.CompareAtPrice)
			}
			var qty any
			if v.InventoryQuantity != nil {
				qty = float64(*v.InventoryQuantity)
			}
			variants = append(variants, map[string]any{
				"sku": v.SKU, "title": v.Title, "price": toAny(v.Price), "compareAtPrice": cap,
				"available": v.Available, "inventoryQuantity": qty, "selectedOptions": toAny(nonNil(v.SelectedOptions)),
				"image": img, "product": p.Handle,
			})
		}
		products[p.Handle] = map[string]any{
			"title": p.Title, "description": p.Description, "descriptionHtml": p.DescriptionHTML,
			"vendor": nullIfEmpty(p.Vendor), "productType": nullIfEmpty(p.ProductType), "tags": toAny(nonNil(p.Tags)), "status": p.Status,
			"priceRange": toAny(pr), "options": toAny(nonNil(p.Options)), "images": nonNilAny(images),
			"variants": nonNilAny(variants), "collections": sortedAny(p.Collections),
		}
	}
	collections := map[string]any{}
	for _, col := range c.Collections {
		var img any
		if col.Image != nil {
			img = col.Image.view()
		}
		collections[col.Handle] = map[string]any{
			"title": col.Title, "description": col.Description, "image": img, "products": sortedAny(col.Products),
		}
	}
	return View{"products": products, "collections": collections}
}

func (img Image) view() map[string]any {
	return map[string]any{"alt": img.Alt, "width": float64(img.Width), "height": float64(img.Height),
		"mimeType": img.MimeType, "fileName": img.FileName}
}

// toAny turns a value into its generic JSON form (what encoding/json decodes into any).
func toAny(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func nonNilAny(s []any) []any {
	if s == nil {
		return []any{}
	}
	return s
}

func sortedAny(s []string) []any {
	c := slices.Clone(s)
	slices.Sort(c)
	out := make([]any, len(c))
	for i, v := range c {
		out[i] = v
	}
	return out
}

// FromGraph reads the commerce nodes of one source out of a built graph into a View, checking on
// the way that every node has the contract's shape (see the package documentation): all keys of its
// type present with the right JSON types, money as {"amount": decimal string, "currencyCode": ISO
// code}, references pointing at nodes of the right type. Every violation is listed in the error.
func FromGraph(g *mesh.Graph, source string) (View, error) {
	r := reader{g: g, source: source}
	products := map[string]any{}
	collections := map[string]any{}
	for n := range g.Nodes() {
		if n.Source != source {
			continue
		}
		switch n.Type {
		case "Product":
			if h, v := r.product(n); h != "" {
				if _, dup := products[h]; dup {
					r.errf(n, "handle %q is used by another product too", h)
				}
				products[h] = v
			}
		case "Collection":
			if h, v := r.collection(n); h != "" {
				if _, dup := collections[h]; dup {
					r.errf(n, "handle %q is used by another collection too", h)
				}
				collections[h] = v
			}
		case "ProductVariant":
			r.variantOwner(n)
		case "Asset":
			r.asset(n)
		}
	}
	if len(r.errs) > 0 {
		return nil, fmt.Errorf("commercetest: %d contract violations in source %q:\n  %s", len(r.errs), source,
			strings.Join(r.errs, "\n  "))
	}
	return View{"products": products, "collections": collections}, nil
}

type reader struct {
	g      *mesh.Graph
	source string
	errs   []string
}

func (r *reader) errf(n *mesh.Node, format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf("%s %s: %s", n.Type, n.ID, fmt.Sprintf(format, args...)))
}

// keys checks that the node's fields have exactly the contract's keys (plus `_raw`).
func (r *reader) keys(n *mesh.Node, want ...string) gjson.Result {
	f := gjson.ParseBytes(n.Fields)
	have := map[string]bool{}
	f.ForEach(func(k, _ gjson.Result) bool {
		have[k.Str] = true
		return true
	})
	for _, k := range want {
		if !have[k] {
			r.errf(n, "field %q is missing (every key of the type must be present; null when unknown)", k)
		}
		delete(have, k)
	}
	delete(have, "_raw")
	for k := range have {
		r.errf(n, "field %q is not in the contract", k)
	}
	return f
}

func (r *reader) str(n *mesh.Node, f gjson.Result, key string, nullable bool) any {
	v := f.Get(gjson.Escape(key))
	switch {
	case v.Type == gjson.String:
		return v.Str
	case v.Type == gjson.Null && nullable:
		return nil
	}
	r.errf(n, "field %q: want a string%s, have %s", key, map[bool]string{true: " or null"}[nullable], kind(v))
	return nil
}

func (r *reader) strs(n *mesh.Node, f gjson.Result, key string) any {
	v := f.Get(key)
	if !v.IsArray() {
		r.errf(n, "field %q: want an array of strings, have %s", key, kind(v))
		return []any{}
	}
	out := []any{}
	for _, e := range v.Array() {
		if e.Type != gjson.String {
			r.errf(n, "field %q: want an array of strings, has %s", key, kind(e))
			continue
		}
		out = append(out, e.Str)
	}
	return out
}

func (r *reader) money(n *mesh.Node, v gjson.Result, key string, nullable bool) any {
	if v.Type == gjson.Null && nullable {
		return nil
	}
	if !v.IsObject() {
		r.errf(n, "field %q: want a money object, have %s", key, kind(v))
		return nil
	}
	amount, code := v.Get("amount"), v.Get("currencyCode")
	ok := amount.Type == gjson.String && isDecimal(amount.Str) && code.Type == gjson.String && isCurrency(code.Str)
	n2 := 0
	v.ForEach(func(_, _ gjson.Result) bool { n2++; return true })
	if !ok || n2 != 2 {
		r.errf(n, "field %q: want {\"amount\": \"<decimal string>\", \"currencyCode\": \"<ISO 4217>\"}, have %s", key, v.Raw)
		return nil
	}
	return map[string]any{"amount": amount.Str, "currencyCode": code.Str}
}

func isDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasDot := strings.Cut(s, ".")
	digits := func(t string) bool { return t != "" && strings.Trim(t, "0123456789") == "" }
	return digits(intPart) && (!hasDot || digits(frac))
}

func isCurrency(s string) bool {
	return len(s) == 3 && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == ""
}

// ref follows a {"$ref"} to a node of the given type.
func (r *reader) ref(n *mesh.Node, v gjson.Result, key, typ string) *mesh.Node {
	id := v.Get(`\$ref`)
	if !v.IsObject() || id.Type != gjson.String {
		r.errf(n, "field %q: want {\"$ref\": id}, have %s", key, kind(v))
		return nil
	}
	to, ok := r.g.Get(id.Str)
	if !ok {
		r.errf(n, "field %q: $ref %q is not in the graph", key, id.Str)
		return nil
	}
	if to.Type != typ {
		r.errf(n, "field %q: $ref %q is a %s, want a %s", key, id.Str, to.Type, typ)
		return nil
	}
	return to
}

func (r *reader) refs(n *mesh.Node, f gjson.Result, key, typ string) []*mesh.Node {
	v := f.Get(key)
	if !v.IsArray() {
		r.errf(n, "field %q: want an array of {\"$ref\"}, have %s", key, kind(v))
		return nil
	}
	var out []*mesh.Node
	for _, e := range v.Array() {
		if to := r.ref(n, e, key, typ); to != nil {
			out = append(out, to)
		}
	}
	return out
}

func (r *reader) handleOf(n *mesh.Node) string {
	return gjson.GetBytes(n.Fields, "handle").String()
}

func (r *reader) handles(nodes []*mesh.Node) []any {
	hs := make([]string, 0, len(nodes))
	for _, n := range nodes {
		hs = append(hs, r.handleOf(n))
	}
	return sortedAny(hs)
}

func (r *reader) product(n *mesh.Node) (string, any) {
	f := r.keys(n, "handle", "title", "description", "descriptionHtml", "vendor", "productType", "tags", "status",
		"priceRange", "images", "options", "variants", "collections")
	h, _ := r.str(n, f, "handle", false).(string)
	if h == "" {
		r.errf(n, "field \"handle\": want a non-empty string")
		return "", nil
	}
	status := f.Get("status").String()
	if !slices.Contains([]string{"active", "draft", "archived"}, status) {
		r.errf(n, "field \"status\": want \"active\", \"draft\" or \"archived\", have %s", f.Get("status").Raw)
	}
	var pr any
	if prv := f.Get("priceRange"); prv.Type == gjson.Null {
		pr = nil
	} else if !prv.IsObject() {
		r.errf(n, "field \"priceRange\": want {\"min\", \"max\"} or null, have %s", kind(prv))
	} else {
		pr = map[string]any{"min": r.money(n, prv.Get("min"), "priceRange.min", false),
			"max": r.money(n, prv.Get("max"), "priceRange.max", false)}
	}
	var images []any
	for _, a := range r.refs(n, f, "images", "Asset") {
		images = append(images, assetView(a))
	}
	var variants []any
	for _, v := range r.refs(n, f, "variants", "ProductVariant") {
		variants = append(variants, r.variant(v))
	}
	return h, map[string]any{
		"title": r.str(n, f, "title", false), "description": r.str(n, f, "description", true),
		"descriptionHtml": r.str(n, f, "descriptionHtml", true), "vendor": r.str(n, f, "vendor", true),
		"productType": r.str(n, f, "productType", true), "tags": r.strs(n, f, "tags"), "status": status,
		"priceRange": pr, "options": r.options(n, f), "images": nonNilAny(images), "variants": nonNilAny(variants),
		"collections": r.handles(r.refs(n, f, "collections", "Collection")),
	}
}

func (r *reader) options(n *mesh.Node, f gjson.Result) any {
	v := f.Get("options")
	out := []any{}
	if !v.IsArray() {
		r.errf(n, "field \"options\": want [{\"name\", \"values\"}], have %s", kind(v))
		return out
	}
	for _, o := range v.Array() {
		name, values := o.Get("name"), o.Get("values")
		keys := 0
		o.ForEach(func(_, _ gjson.Result) bool { keys++; return true })
		if name.Type != gjson.String || !values.IsArray() || keys != 2 {
			r.errf(n, "field \"options\": want {\"name\": string, \"values\": [strings]}, have %s", o.Raw)
			continue
		}
		vals := []any{}
		for _, s := range values.Array() {
			if s.Type != gjson.String {
				r.errf(n, "field \"options\": option %q: values must be strings", name.Str)
				continue
			}
			vals = append(vals, s.Str)
		}
		out = append(out, map[string]any{"name": name.Str, "values": vals})
	}
	return out
}

func (r *reader) variant(n *mesh.Node) any {
	f := r.keys(n, "sku", "title", "price", "compareAtPrice", "available", "inventoryQuantity", "selectedOptions",
		"image", "product")
	var qty any
	switch q := f.Get("inventoryQuantity"); {
	case q.Type == gjson.Null:
	case q.Type == gjson.Number && !strings.ContainsAny(q.Raw, ".eE"):
		qty = q.Num
	default:
		r.errf(n, "field \"inventoryQuantity\": want an integer or null, have %s", q.Raw)
	}
	avail := f.Get("available")
	if avail.Type != gjson.True && avail.Type != gjson.False {
		r.errf(n, "field \"available\": want a boolean, have %s", kind(avail))
	}
	sel := []any{}
	if so := f.Get("selectedOptions"); !so.IsArray() {
		r.errf(n, "field \"selectedOptions\": want [{\"name\", \"value\"}], have %s", kind(so))
	} else {
		for _, o := range so.Array() {
			keys := 0
			o.ForEach(func(_, _ gjson.Result) bool { keys++; return true })
			if o.Get("name").Type != gjson.String || o.Get("value").Type != gjson.String || keys != 2 {
				r.errf(n, "field \"selectedOptions\": want {\"name\": string, \"value\": string}, have %s", o.Raw)
				continue
			}
			sel = append(sel, map[string]any{"name": o.Get("name").Str, "value": o.Get("value").Str})
		}
	}
	var img any
	if iv := f.Get("image"); iv.Type != gjson.Null {
		if a := r.ref(n, iv, "image", "Asset"); a != nil {
			img = assetView(a)
		}
	}
	var product any
	if p := r.ref(n, f.Get("product"), "product", "Product"); p != nil {
		product = r.handleOf(p)
	}
	return map[string]any{
		"sku": r.str(n, f, "sku", true), "title": r.str(n, f, "title", false),
		"price": r.money(n, f.Get("price"), "price", false), "compareAtPrice": r.money(n, f.Get("compareAtPrice"), "compareAtPrice", true),
		"available": avail.Bool(), "inventoryQuantity": qty, "selectedOptions": sel, "image": img, "product": product,
	}
}

// variantOwner checks that a variant is listed by the product it points at (a variant that no
// product lists would be missing from the View).
func (r *reader) variantOwner(n *mesh.Node) {
	p := gjson.GetBytes(n.Fields, `product.\$ref`).String()
	pn, ok := r.g.Get(p)
	if !ok {
		return // reported when the product reads its variants, or by the engine as dangling
	}
	for _, v := range gjson.GetBytes(pn.Fields, "variants").Array() {
		if v.Get(`\$ref`).String() == n.ID {
			return
		}
	}
	r.errf(n, "its product %s does not list it in \"variants\"", p)
}

func (r *reader) collection(n *mesh.Node) (string, any) {
	f := r.keys(n, "handle", "title", "description", "image", "products")
	h, _ := r.str(n, f, "handle", false).(string)
	if h == "" {
		r.errf(n, "field \"handle\": want a non-empty string")
		return "", nil
	}
	var img any
	if iv := f.Get("image"); iv.Type != gjson.Null {
		if a := r.ref(n, iv, "image", "Asset"); a != nil {
			img = assetView(a)
		}
	}
	return h, map[string]any{
		"title": r.str(n, f, "title", false), "description": r.str(n, f, "description", true), "image": img,
		"products": r.handles(r.refs(n, f, "products", "Product")),
	}
}

func (r *reader) asset(n *mesh.Node) {
	f := r.keys(n, "url", "mimeType", "width", "height", "size", "title", "alt", "fileName")
	if u := f.Get("url"); u.Type != gjson.String || u.Str == "" {
		r.errf(n, "field \"url\": want a non-empty string, have %s", kind(u))
	}
	for _, k := range []string{"width", "height", "size"} {
		if v := f.Get(k); v.Type != gjson.Null && (v.Type != gjson.Number || strings.ContainsAny(v.Raw, ".eE-")) {
			r.errf(n, "field %q: want a non-negative integer or null, have %s", k, v.Raw)
		}
	}
	for _, k := range []string{"mimeType", "title", "alt", "fileName"} {
		if v := f.Get(k); v.Type != gjson.Null && v.Type != gjson.String {
			r.errf(n, "field %q: want a string or null, have %s", k, kind(v))
		}
	}
}

func assetView(a *mesh.Node) map[string]any {
	get := func(k string) any {
		v := gjson.GetBytes(a.Fields, k)
		switch v.Type {
		case gjson.String:
			return v.Str
		case gjson.Number:
			return v.Num
		}
		return nil
	}
	return map[string]any{"alt": get("alt"), "width": get("width"), "height": get("height"),
		"mimeType": get("mimeType"), "fileName": get("fileName")}
}

func kind(v gjson.Result) string {
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

// Diff lists where got differs from want, one line per difference, each naming its path (e.g.
// `products.trail-runner.variants.1.price.amount: want "129.00", have "129.0"`). Paths matching
// one of ignore are skipped: patterns in path.Match syntax over the dotted path, where `*` matches
// one segment (`products.*.productType`, `products.*.images.*.width`, `collections.*.image.alt`).
// A provider lists there what it cannot express, each with a reason in its test.
func Diff(want, got View, ignore ...string) []string {
	var out []string
	diff(&out, "", map[string]any(want), map[string]any(got), ignore)
	return out
}

func ignored(p string, ignore []string) bool {
	for _, pat := range ignore {
		if ok, _ := path.Match(pat, p); ok {
			return true
		}
	}
	return false
}

func diff(out *[]string, p string, want, got any, ignore []string) {
	if p != "" && ignored(p, ignore) {
		return
	}
	join := func(k string) string {
		if p == "" {
			return k
		}
		return p + "." + k
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: want an object, have %s", p, show(got)))
			return
		}
		keys := make([]string, 0, len(w)+len(g))
		for k := range w {
			keys = append(keys, k)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			wv, inW := w[k]
			gv, inG := g[k]
			switch {
			case !inG:
				if !ignored(join(k), ignore) {
					*out = append(*out, fmt.Sprintf("%s: missing (want %s)", join(k), show(wv)))
				}
			case !inW:
				if !ignored(join(k), ignore) {
					*out = append(*out, fmt.Sprintf("%s: unexpected (have %s)", join(k), show(gv)))
				}
			default:
				diff(out, join(k), wv, gv, ignore)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: want an array, have %s", p, show(got)))
			return
		}
		if len(w) != len(g) {
			*out = append(*out, fmt.Sprintf("%s: want %d items %s, have %d %s", p, len(w), show(w), len(g), show(g)))
			return
		}
		for i := range w {
			diff(out, join(fmt.Sprint(i)), w[i], g[i], ignore)
		}
	default:
		if show(want) != show(got) {
			*out = append(*out, fmt.Sprintf("%s: want %s, have %s", p, show(want), show(got)))
		}
	}
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
