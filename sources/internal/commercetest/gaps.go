package commercetest

import "slices"

// gaps lists, per adapter kind, the View paths its provider cannot express, each with the reason.
// A kind not listed has no gap: its graph must match the reference catalog entirely.
var gaps = map[string][]struct{ pattern, why string }{
	"shopify": {},
	"bigcommerce": {
		{"products.*.productType", "no such field (`type` is physical or digital)"},
		{"products.*.tags", "no product tags"},
		{"products.*.images.*.width", "the API gives no image dimensions"},
		{"products.*.images.*.height", "the API gives no image dimensions"},
		{"products.*.variants.*.image.width", "the API gives no image dimensions"},
		{"products.*.variants.*.image.height", "the API gives no image dimensions"},
		{"collections.*.image.alt", "a category image is a bare image_url"},
		{"collections.*.image.width", "a category image is a bare image_url"},
		{"collections.*.image.height", "a category image is a bare image_url"},
	},
}

// Gaps returns the Diff ignore patterns of an adapter kind: the fields of the reference catalog its
// provider cannot express. It returns nil for a kind without gaps (or not listed yet: add it here,
// with the reason for each pattern, when adding a commerce adapter).
func Gaps(kind string) []string {
	var out []string
	for _, g := range gaps[kind] {
		out = append(out, g.pattern)
	}
	return slices.Clip(out)
}

// GapReasons returns an adapter kind's gaps with their reasons ("pattern: reason"), for messages.
func GapReasons(kind string) []string {
	var out []string
	for _, g := range gaps[kind] {
		out = append(out, g.pattern+": "+g.why)
	}
	return out
}
