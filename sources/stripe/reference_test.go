package stripe

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/contentmesh/contentmesh/sources/internal/commercetest"
)

// referenceFake serves the shared reference catalog the way Stripe would hold it: a product per
// catalog product (handle, vendor, productType and tags in metadata; image URLs ending in the file
// name), a price per variant (nickname = title, lookup_key = SKU, inactive when the variant is not
// available), the first variant's price as the default price.
func referenceFake(t testing.TB, cat commercetest.Catalog) *fakeStripe {
	t.Helper()
	f := newEmptyFake()
	for i, p := range cat.Products {
		pid := fmt.Sprintf("prod_ref%02d", i+1)
		var images []string
		for _, img := range p.Images {
			images = append(images, "https://files.example.com/catalog/"+img.FileName)
		}
		if images == nil {
			images = []string{}
		}
		updated := p.UpdatedAt.Unix()
		product := map[string]any{
			"id": pid, "object": "product", "active": p.Status == "active", "name": p.Title,
			"description": p.Description, "images": images,
			"metadata": map[string]string{"handle": p.Handle, "vendor": p.Vendor, "productType": p.ProductType,
				"tags": strings.Join(p.Tags, ",")},
			"default_price": fmt.Sprintf("price_ref%02d01", i+1),
			"created":       updated - 1000, "updated": updated, "livemode": false,
		}
		// Stripe lists newest first: prepend.
		f.products = append([]json.RawMessage{mustJSON(t, product)}, f.products...)
		for j, v := range p.Variants {
			price := map[string]any{
				"id": fmt.Sprintf("price_ref%02d%02d", i+1, j+1), "object": "price", "active": v.Available,
				"currency": strings.ToLower(v.Price.CurrencyCode), "unit_amount": json.Number(minorUnits(t, v.Price.Amount)),
				"type": "one_time", "recurring": nil, "billing_scheme": "per_unit", "nickname": v.Title,
				"lookup_key": v.SKU, "product": pid, "created": updated - 900 + int64(j), "metadata": map[string]string{},
			}
			f.prices = append([]json.RawMessage{mustJSON(t, price)}, f.prices...)
		}
	}
	return f
}

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// minorUnits writes a decimal amount with the currency's decimals as the integer of minor units:
// "129.00" -> "12900", "18000" -> "18000", "0.095" -> "95".
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
// through the Stripe adapter and compares what templates would see with what every commerce adapter
// must yield. What Stripe cannot express is listed, each with the reason.
func TestReferenceCatalog(t *testing.T) {
	for _, currency := range commercetest.Currencies {
		t.Run(currency, func(t *testing.T) {
			cat := commercetest.Reference(currency)
			fs := serve(t, referenceFake(t, cat))
			g := mustBuild(t, newTestSource(t, fs.URL, nil), nil).Graph
			got, err := commercetest.FromGraph(g, "shop")
			if err != nil {
				t.Fatal(err)
			}
			ignore := []string{
				"products.*.descriptionHtml",              // Stripe descriptions are plain text (escaped, not rich)
				"products.*.options",                      // Stripe prices have no options
				"products.*.variants.*.selectedOptions",   // idem
				"products.*.variants.*.compareAtPrice",    // Stripe has no compare-at price
				"products.*.variants.*.inventoryQuantity", // Stripe keeps no stock
				"products.*.images.*.alt",                 // Stripe keeps image URLs only
				"products.*.images.*.width",               //
				"products.*.images.*.height",              //
				"products.*.variants.*.image.alt",         //
				"products.*.variants.*.image.width",       //
				"products.*.variants.*.image.height",      //
				"products.*.collections",                  // Stripe has no collections
				"collections",                             //
			}
			// A price has no image: a variant shows its product's first image, so a variant with an
			// image of its own (another than the first) cannot be expressed.
			for _, p := range cat.Products {
				for i, v := range p.Variants {
					if v.Image != "" && len(p.Images) > 0 && v.Image != p.Images[0].FileName {
						ignore = append(ignore, fmt.Sprintf("products.%s.variants.%d.image.*", p.Handle, i))
					}
				}
			}
			for _, d := range commercetest.Diff(cat.View(), got, ignore...) {
				t.Error(d)
			}
		})
	}
}
