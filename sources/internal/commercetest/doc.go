// Package commercetest is the shared test kit of the commerce adapters (shopify, bigcommerce,
// stripe, vendure): one reference catalog as a Go value, fakes of the providers' APIs that serve it
// in each provider's shapes, and a way to read a built graph back into provider-neutral terms, so
// that one test can assert that every commerce adapter yields the same normalized fields for the
// same products: a site must be able to switch provider without changing its templates.
//
// # The contract (DESIGN section 3, made precise)
//
// Every node of these types has every key listed, null when the provider does not know the value:
//
//	Product         handle, title, description, descriptionHtml, vendor, productType, tags, status,
//	                priceRange, images, options, variants, collections
//	ProductVariant  sku, title, price, compareAtPrice, available, inventoryQuantity,
//	                selectedOptions, image, product
//	Collection      handle, title, description, image, products
//	Asset           url, mimeType, width, height, size, title, alt, fileName
//
// (plus _raw when the source's raw setting is on). The shapes:
//
//   - handle: a non-empty string, unique among the source's products (collections).
//   - description: plain text, one line: HTML tags removed (block elements separate words with a
//     space), entities decoded, white space (no-break spaces too) collapsed to single spaces.
//     descriptionHtml: the HTML as the provider has it. Both "" when there is none.
//   - vendor, productType: a string, or null when the provider has none (never "").
//   - tags: an array of strings ([] when none).
//   - status: "active", "draft" or "archived".
//   - money (price, compareAtPrice, priceRange.min/max): {"amount": "<decimal string with the
//     currency's decimals>", "currencyCode": "<ISO 4217, upper case>"}, built with
//     sources/internal/money from the provider's text, never through a float64. compareAtPrice is
//     the regular price when the variant is on sale, else null. priceRange is the lowest and highest
//     variant price, or null for a product without variants.
//   - options: [{"name": string, "values": [string...]}] in display order; [] for a product
//     without options. Shopify's stand-in for that (one option "Title" with the value "Default
//     Title") is mapped to [].
//   - selectedOptions: [{"name": string, "value": string}]; [] without options.
//   - variant title: the selected values joined by " / ", or the product's title without options.
//   - available: a boolean. inventoryQuantity: an integer, or null when stock is not tracked (or
//     the credentials may not read it).
//   - variant image: a $ref to an Asset: the variant's own image, else the product's featured
//     (first) image, else null.
//   - images, variants, collections, products: arrays of {"$ref": id}; image (variant, collection)
//     and product (variant): one {"$ref": id} or null.
//   - Asset width, height, size: integers or null; the other keys strings or null. mimeType may
//     come from the file extension; fileName is the name the file was uploaded with when the
//     provider says it (BigCommerce's "__<id>" upload suffix removed).
//   - node ID namespaces: "product", "variant", "collection", "asset".
//
// # The reference catalog
//
// Reference(currency) returns three products and two collections priced in USD, JPY (no decimals)
// or KWD (three decimals): a shoe with two options, three variants, a sale price, stock, an out of
// stock variant and a variant with its own image; a sock with no options and no image; a sticker
// pack whose prices reach float-sending providers as float noise (PriceWire
// "0.30000000000000004" must come out "0.30") and whose stock is not tracked. Catalog.View is what
// an adapter must yield for it.
//
// # Fakes
//
// ShopifyFake (Storefront GraphQL) and BigCommerceFake (Catalog v3) serve a Catalog the way the
// api-notes document each API: ids, paging, money as the provider writes it, the provider's quirks.
// Mount them on a meshtest.FixtureServer with Handle, which also checks credentials and injects
// faults. Update changes the catalog between builds (incremental tests); items keep their ids.
// A fake for another provider follows the same pattern: NewXFake(cat Catalog) with ServeHTTP and
// Update, and is registered in the cross-adapter test (cross_test.go).
//
// # Reading a graph back
//
// FromGraph(g, source) checks every node of the source against the contract (listing every
// violation) and returns its View: products and collections by handle, references replaced by
// what they point at, provider ids and URLs left out. Diff(want, got, ignore...) compares two Views
// path by path; ignore takes path.Match patterns over the dotted paths, and Gaps(kind) lists the
// patterns a provider needs, each because it cannot express that field.
package commercetest
