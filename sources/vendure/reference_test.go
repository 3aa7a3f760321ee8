package vendure

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/contentmesh/contentmesh/sources/internal/commercetest"
)

// referenceFake serves the shared reference catalog the way a Vendure store holds it: the
// description as HTML, images as assets (the first one featured), options as option groups, vendor,
// product type and tags as values of the facets "brand", "product-type" and "tag", prices in minor
// units, stock shown as numbers by a StockDisplayStrategy where the catalog tracks it ("IN_STOCK" or
// "OUT_OF_STOCK" otherwise), a variant's own image as its featured asset.
func referenceFake(t testing.TB, cat commercetest.Catalog) *fakeVendure {
	t.Helper()
	assetIDs := map[string]string{}
	asset := func(img commercetest.Image) map[string]any {
		id, ok := assetIDs[img.FileName]
		if !ok {
			id = strconv.Itoa(len(assetIDs) + 1)
			assetIDs[img.FileName] = id
		}
		return map[string]any{"id": id, "name": img.FileName, "type": "IMAGE", "mimeType": img.MimeType,
			"width": img.Width, "height": img.Height, "fileSize": 1000 + len(img.FileName),
			"source": "http://127.0.0.1:3000/assets/source/" + id + "/" + img.FileName}
	}
	collectionIDs := map[string]string{}
	var collections []json.RawMessage
	for i, c := range cat.Collections {
		id := strconv.Itoa(101 + i)
		collectionIDs[c.Handle] = id
		var fa any
		if c.Image != nil {
			fa = asset(*c.Image)
		}
		collections = append(collections, mustJSON(t, map[string]any{"id": id, "name": c.Title, "slug": c.Handle,
			"description": c.Description, "updatedAt": c.UpdatedAt, "featuredAsset": fa}))
	}
	facetValue := func(facet, name string) map[string]any {
		return map[string]any{"id": facet + ":" + name, "code": strings.ToLower(name), "name": name,
			"facet": map[string]any{"id": facet, "code": facet, "name": facet}}
	}
	var products []json.RawMessage
	optionIDs := 0
	for i, p := range cat.Products {
		var assets []any
		for _, img := range p.Images {
			assets = append(assets, asset(img))
		}
		var featured any
		if len(assets) > 0 {
			featured = assets[0]
		}
		optionID := map[string]string{} // group name + "\x00" + value -> option id
		var groups []any
		for gi, o := range p.Options {
			var opts []any
			for _, v := range o.Values {
				optionIDs++
				id := strconv.Itoa(optionIDs)
				optionID[o.Name+"\x00"+v] = id
				opts = append(opts, map[string]any{"id": id, "name": v})
			}
			groups = append(groups, map[string]any{"id": fmt.Sprintf("%d-%d", i+1, gi), "name": o.Name, "options": opts})
		}
		groupID := func(name string) string {
			for gi, o := range p.Options {
				if o.Name == name {
					return fmt.Sprintf("%d-%d", i+1, gi)
				}
			}
			return ""
		}
		facets := []any{}
		if p.Vendor != "" {
			facets = append(facets, facetValue("brand", p.Vendor))
		}
		if p.ProductType != "" {
			facets = append(facets, facetValue("product-type", p.ProductType))
		}
		for _, tag := range p.Tags {
			facets = append(facets, facetValue("tag", tag))
		}
		var variants []any
		for j, v := range p.Variants {
			level := "IN_STOCK"
			switch {
			case v.InventoryQuantity != nil:
				level = strconv.Itoa(*v.InventoryQuantity)
			case !v.Available:
				level = "OUT_OF_STOCK"
			}
			var fa any
			if v.Image != "" {
				fa = asset(*p.Image(v.Image))
			}
			var opts []any
			for _, so := range v.SelectedOptions {
				opts = append(opts, map[string]any{"id": optionID[so.Name+"\x00"+so.Value], "name": so.Value, "groupId": groupID(so.Name)})
			}
			variants = append(variants, map[string]any{"id": strconv.Itoa((i+1)*100 + j), "sku": v.SKU, "name": v.Title,
				"price": json.Number(minorUnits(t, v.Price.Amount)), "currencyCode": v.Price.CurrencyCode, "stockLevel": level,
				"updatedAt": p.UpdatedAt, "featuredAsset": fa, "options": opts})
		}
		var colls []any
		for _, c := range cat.Collections {
			if slices.Contains(c.Products, p.Handle) {
				colls = append(colls, map[string]string{"id": collectionIDs[c.Handle]})
			}
		}
		products = append(products, mustJSON(t, map[string]any{"id": strconv.Itoa(i + 1), "name": p.Title, "slug": p.Handle,
			"description": p.DescriptionHTML, "enabled": p.Status == "active", "updatedAt": p.UpdatedAt,
			"featuredAsset": featured, "assets": assets, "optionGroups": groups, "facetValues": facets,
			"collections": colls, "variants": variants}))
	}
	return &fakeVendure{def: testToken, channels: map[string]*channel{testToken: {products: products, collections: collections}}}
}

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// minorUnits writes a decimal amount with the currency's decimals as the integer of minor units.
func minorUnits(t testing.TB, amount string) string {
	t.Helper()
	digits := strings.TrimLeft(strings.ReplaceAll(amount, ".", ""), "0")
	if digits == "" {
		digits = "0"
	}
	if strings.Trim(digits, "0123456789") != "" {
		t.Fatalf("amount %q", amount)
	}
	return digits
}

// TestReferenceCatalog builds the shared reference catalog, in a currency of each exponent class,
// through the Vendure adapter and compares what templates would see with what every commerce
// adapter must yield. What Vendure cannot express is listed, each with the reason.
func TestReferenceCatalog(t *testing.T) {
	for _, currency := range commercetest.Currencies {
		t.Run(currency, func(t *testing.T) {
			cat := commercetest.Reference(currency)
			srv := serve(t, referenceFake(t, cat))
			for _, size := range []int{0, 1} {
				m := newTestSource(t, srv.URL, nil)
				b, err := buildPaged(t, m, size)
				if err != nil {
					t.Fatal(err)
				}
				got, err := commercetest.FromGraph(b.Graph, "shop")
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range commercetest.Diff(cat.View(), got,
					"products.*.variants.*.compareAtPrice", // Vendure has no compare-at price
					"products.*.images.*.alt",              // Vendure assets have no alternative text
					"products.*.variants.*.image.alt",      //
					"collections.*.image.alt",              //
				) {
					t.Errorf("page size %d: %s", size, d)
				}
			}
		})
	}
}
