package commercetest

import (
	"fmt"
	"time"

	"github.com/contentmesh/contentmesh/sources/internal/money"
)

// Catalog is a store's catalog in the graph's normalized terms: what every commerce adapter must
// yield, whatever its provider calls things. The fakes serve it in each provider's shape; View reads
// it back out of a graph.
type Catalog struct {
	// Currency is the store currency (ISO 4217) of every price.
	Currency string
	// Products in the store's order (the fakes give them increasing native ids in this order).
	Products []Product
	// Collections in the store's order.
	Collections []Collection
}

// Product is one product. Its normalized node is a `Product`.
type Product struct {
	Handle string
	Title  string
	// Description is DescriptionHTML as plain text (tags removed, entities decoded, white space
	// collapsed to single spaces), as Shopify's `description` is.
	Description     string
	DescriptionHTML string
	Vendor          string
	ProductType     string
	Tags            []string
	// Status is "active", "draft" or "archived".
	Status string
	// Images in display order; the first is the featured image.
	Images []Image
	// Options are the options that tell variants apart, values in display order; empty for a
	// product with a single default variant.
	Options []Option
	// Variants in display order; at least one.
	Variants []Variant
	// Collections are the handles of the collections the product is in.
	Collections []string
	// UpdatedAt is when the product last changed (the incremental filters read it).
	UpdatedAt time.Time
}

// Image is an image (an `Asset` node).
type Image struct {
	// FileName is the last segment of the image's URL path; it identifies the image in the catalog.
	FileName string
	Alt      string
	Width    int
	Height   int
	// MimeType follows from the file name's extension.
	MimeType string
}

// Option is one option of a product: {"name", "values"}.
type Option struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// SelectedOption is a variant's value of one option: {"name", "value"}.
type SelectedOption struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Variant is one purchasable variant (a `ProductVariant` node).
type Variant struct {
	SKU string
	// Title is the selected option values joined by " / ", or the product's title for a product
	// without options.
	Title string
	// Price is the selling price.
	Price money.Money
	// PriceWire, when set, is how a provider that sends prices as JSON floats writes Price: float
	// noise such as 0.30000000000000004 that must come out as "0.30". Empty: Price.Amount itself.
	PriceWire string
	// CompareAtPrice is the regular price when the variant is on sale; nil otherwise.
	CompareAtPrice *money.Money
	Available      bool
	// InventoryQuantity is nil when the stock is not tracked.
	InventoryQuantity *int
	SelectedOptions   []SelectedOption
	// Image names (by FileName) one of the product's images as the variant's own image; empty for
	// none, in which case the normalized `image` is the product's first image (Shopify's rule,
	// which every adapter follows), or null when the product has no image.
	Image string
}

// Collection is a collection (a `Collection` node; BigCommerce categories, Vendure collections).
type Collection struct {
	Handle      string
	Title       string
	Description string
	Image       *Image
	// Products are the handles of the products in the collection.
	Products  []string
	UpdatedAt time.Time
}

// Currencies are the currencies Reference prices the catalog in: a two-decimal, a zero-decimal and
// a three-decimal currency.
var Currencies = []string{"USD", "JPY", "KWD"}

// price is a variant price in every reference currency, with the float noise a float-sending
// provider may put on the wire.
type price struct {
	usd, jpy, kwd          string
	usdWire, jpyWire, kwdW string
}

func (p price) in(currency string) (amount, wire string) {
	switch currency {
	case "USD":
		return p.usd, p.usdWire
	case "JPY":
		return p.jpy, p.jpyWire
	case "KWD":
		return p.kwd, p.kwdW
	}
	panic("commercetest: no reference prices in " + currency)
}

func intp(n int) *int { return &n }

// Reference returns the reference catalog priced in currency (one of Currencies): three products
// (one with two options, three variants, a sale price and a variant image; one without options or
// images; one with prices that arrive as float noise and untracked stock) and two collections (one
// with an image). Each call returns a fresh copy that the caller may change.
func Reference(currency string) Catalog {
	m := func(p price) (money.Money, string) {
		amount, wire := p.in(currency)
		v, err := money.FromDecimal(amount, currency)
		if err != nil {
			panic(fmt.Sprintf("commercetest: reference price %q %s: %v", amount, currency, err))
		}
		return v, wire
	}
	mp := func(p price) *money.Money {
		v, _ := m(p)
		return &v
	}
	variant := func(sku, title string, p price, compareAt *money.Money, available bool, qty *int, image string, opts ...SelectedOption) Variant {
		v, wire := m(p)
		return Variant{SKU: sku, Title: title, Price: v, PriceWire: wire, CompareAtPrice: compareAt, Available: available,
			InventoryQuantity: qty, SelectedOptions: opts, Image: image}
	}
	sel := func(nv ...string) []SelectedOption {
		var out []SelectedOption
		for i := 0; i+1 < len(nv); i += 2 {
			out = append(out, SelectedOption{Name: nv[i], Value: nv[i+1]})
		}
		return out
	}
	shoe := price{usd: "129.00", jpy: "18000", kwd: "39.650"}
	shoeRegular := price{usd: "149.00", jpy: "21000", kwd: "45.800"}
	shoeBlack := price{usd: "134.99", jpy: "18900", kwd: "41.475"}
	sock := price{usd: "19.99", jpy: "2800", kwd: "6.125", jpyWire: "2800.0000000000005"}
	single := price{usd: "0.30", jpy: "45", kwd: "0.095", usdWire: "0.30000000000000004", kwdW: "0.09500000000000001"}
	triple := price{usd: "0.90", jpy: "120", kwd: "0.275", usdWire: "0.8999999999999999"}

	at := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	return Catalog{
		Currency: currency,
		Products: []Product{
			{
				Handle:          "trail-runner",
				Title:           "Trail Runner Shoe",
				Description:     "Grippy outsole, waterproof upper & recycled laces.",
				DescriptionHTML: "<p>Grippy outsole, <strong>waterproof</strong> upper &amp; recycled laces.</p>",
				Vendor:          "Northpeak",
				ProductType:     "Footwear",
				Tags:            []string{"outdoor", "running"},
				Status:          "active",
				Images: []Image{
					{FileName: "trail-runner.jpg", Alt: "Trail Runner Shoe, side view", Width: 1600, Height: 1200, MimeType: "image/jpeg"},
					{FileName: "trail-runner-black.jpg", Alt: "Trail Runner Shoe in black", Width: 1600, Height: 1200, MimeType: "image/jpeg"},
				},
				Options: []Option{{Name: "Size", Values: []string{"42", "43"}}, {Name: "Color", Values: []string{"Blue", "Black"}}},
				Variants: []Variant{
					variant("TRS-42-BLU", "42 / Blue", shoe, nil, true, intp(12), "", sel("Size", "42", "Color", "Blue")...),
					variant("TRS-43-BLU", "43 / Blue", shoe, mp(shoeRegular), false, intp(0), "", sel("Size", "43", "Color", "Blue")...),
					variant("TRS-42-BLK", "42 / Black", shoeBlack, nil, true, intp(3), "trail-runner-black.jpg", sel("Size", "42", "Color", "Black")...),
				},
				Collections: []string{"running"},
				UpdatedAt:   at("2025-09-14T10:22:31Z"),
			},
			{
				Handle:          "merino-sock",
				Title:           "Merino Sock",
				Description:     "Soft merino wool.",
				DescriptionHTML: "<p>Soft merino wool.</p>",
				Vendor:          "Northpeak",
				ProductType:     "Accessories",
				Tags:            []string{},
				Status:          "active",
				Images:          []Image{},
				Options:         []Option{},
				Variants: []Variant{
					variant("MS-1", "Merino Sock", sock, nil, true, intp(80), ""),
				},
				Collections: []string{"accessories", "running"},
				UpdatedAt:   at("2025-08-02T07:01:00Z"),
			},
			{
				Handle:          "sticker-pack",
				Title:           "Sticker Pack",
				Description:     "Vinyl stickers, 5 × 5 cm.",
				DescriptionHTML: "<p>Vinyl stickers, 5&nbsp;&times;&nbsp;5&nbsp;cm.</p>",
				Vendor:          "Paper Goods Co.",
				ProductType:     "Stationery",
				Tags:            []string{"gift"},
				Status:          "active",
				Images: []Image{
					{FileName: "sticker-pack.png", Alt: "Three vinyl stickers", Width: 800, Height: 800, MimeType: "image/png"},
				},
				Options: []Option{{Name: "Pack", Values: []string{"Single", "Triple"}}},
				Variants: []Variant{
					variant("STK-1", "Single", single, nil, true, nil, "", sel("Pack", "Single")...),
					variant("STK-3", "Triple", triple, nil, true, nil, "", sel("Pack", "Triple")...),
				},
				Collections: []string{"accessories"},
				UpdatedAt:   at("2025-09-20T18:45:00Z"),
			},
		},
		Collections: []Collection{
			{
				Handle:      "running",
				Title:       "Running",
				Description: "Gear for the trail.",
				Image:       &Image{FileName: "running-banner.jpg", Alt: "Runners on a trail", Width: 2400, Height: 800, MimeType: "image/jpeg"},
				Products:    []string{"trail-runner", "merino-sock"},
				UpdatedAt:   at("2025-07-01T09:00:00Z"),
			},
			{
				Handle:      "accessories",
				Title:       "Accessories",
				Description: "Small things that make a difference.",
				Products:    []string{"merino-sock", "sticker-pack"},
				UpdatedAt:   at("2025-07-02T09:00:00Z"),
			},
		},
	}
}

// Product returns the product with the handle, or nil.
func (c *Catalog) Product(handle string) *Product {
	for i := range c.Products {
		if c.Products[i].Handle == handle {
			return &c.Products[i]
		}
	}
	return nil
}

// Collection returns the collection with the handle, or nil.
func (c *Catalog) Collection(handle string) *Collection {
	for i := range c.Collections {
		if c.Collections[i].Handle == handle {
			return &c.Collections[i]
		}
	}
	return nil
}

// RemoveProduct deletes the product with the handle and takes it out of every collection. It reports
// whether the product was there.
func (c *Catalog) RemoveProduct(handle string) bool {
	found := false
	out := c.Products[:0]
	for _, p := range c.Products {
		if p.Handle == handle {
			found = true
			continue
		}
		out = append(out, p)
	}
	c.Products = out
	for i := range c.Collections {
		ps := c.Collections[i].Products[:0]
		for _, h := range c.Collections[i].Products {
			if h != handle {
				ps = append(ps, h)
			}
		}
		c.Collections[i].Products = ps
	}
	return found
}

// Image returns the product's image with the file name, or nil.
func (p *Product) Image(fileName string) *Image {
	for i := range p.Images {
		if p.Images[i].FileName == fileName {
			return &p.Images[i]
		}
	}
	return nil
}

// ResolvedImage is the variant's normalized image: its own, else the product's first, else nil.
func (v *Variant) ResolvedImage(p *Product) *Image {
	if v.Image != "" {
		if img := p.Image(v.Image); img != nil {
			return img
		}
	}
	if len(p.Images) > 0 {
		return &p.Images[0]
	}
	return nil
}

// PriceRange is the lowest and highest variant price.
func (p *Product) PriceRange() (money.Range, bool) {
	prices := make([]money.Money, len(p.Variants))
	for i, v := range p.Variants {
		prices[i] = v.Price
	}
	return money.RangeOf(prices)
}

// Synthetic returns a catalog of n products for benchmarks: each with two options, four variants
// (two sizes, two colors, one of them on sale and one out of stock), two images, in one of ten
// collections; prices in the currency's decimals, half of them with float noise on the wire.
func Synthetic(n int, currency string) Catalog {
	c := Catalog{Currency: currency}
	exp := money.Exponent(currency)
	amount := func(minor int) money.Money {
		m, err := money.FromMinor(fmt.Sprint(minor), currency)
		if err != nil {
			panic(err)
		}
		return m
	}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for k := range 10 {
		c.Collections = append(c.Collections, Collection{Handle: fmt.Sprintf("collection-%d", k),
			Title: fmt.Sprintf("Collection %d", k), Description: "Synthetic.", UpdatedAt: base})
	}
	for i := range n {
		h := fmt.Sprintf("product-%05d", i)
		col := &c.Collections[i%10]
		col.Products = append(col.Products, h)
		p := Product{Handle: h, Title: fmt.Sprintf("Product %d", i), Description: "A synthetic product.",
			DescriptionHTML: "<p>A <em>synthetic</em> product.</p>", Vendor: fmt.Sprintf("Vendor %d", i%7),
			ProductType: "Synthetic", Tags: []string{"bench"}, Status: "active",
			Images: []Image{
				{FileName: h + "-a.jpg", Alt: "front", Width: 1200, Height: 1200, MimeType: "image/jpeg"},
				{FileName: h + "-b.jpg", Alt: "back", Width: 1200, Height: 1200, MimeType: "image/jpeg"},
			},
			Options:     []Option{{Name: "Size", Values: []string{"S", "M"}}, {Name: "Color", Values: []string{"Red", "Blue"}}},
			Collections: []string{col.Handle},
			UpdatedAt:   base.Add(time.Duration(i) * time.Minute),
		}
		j := 0
		for _, size := range []string{"S", "M"} {
			for _, color := range []string{"Red", "Blue"} {
				minor := (1000 + i*7 + j*50) * pow10(exp) / 100
				v := Variant{SKU: fmt.Sprintf("%s-%s-%s", h, size, color), Title: size + " / " + color,
					Price: amount(minor), Available: j != 3, InventoryQuantity: intp(10 - 10*(j/3)),
					SelectedOptions: []SelectedOption{{Name: "Size", Value: size}, {Name: "Color", Value: color}}}
				if j == 1 {
					v.CompareAtPrice = new(money.Money)
					*v.CompareAtPrice = amount(minor * 2)
				}
				if j == 2 {
					v.Image = h + "-b.jpg"
				}
				if i%2 == 0 && exp == 2 {
					v.PriceWire = v.Price.Amount + "00000000000001"
				}
				p.Variants = append(p.Variants, v)
				j++
			}
		}
		c.Products = append(c.Products, p)
	}
	return c
}

func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
	}
	return p
}
