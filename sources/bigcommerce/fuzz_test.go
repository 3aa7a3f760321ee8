package bigcommerce

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/internal/commercetest"
)

// fakePage asks a BigCommerceFake over the reference catalog for one page.
func fakePage(t testing.TB, cur, target string) []byte {
	fake := commercetest.NewBigCommerceFake(testHash, commercetest.Reference(cur))
	w := httptest.NewRecorder()
	fake.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	if w.Code != 200 {
		t.Fatalf("fake answered %d", w.Code)
	}
	return w.Body.Bytes()
}

func fuzzMapper(currency string) *mapper {
	return &mapper{source: "fz", currency: currency, brands: map[string]string{"1": "Northpeak", "7": "Fieldworks"},
		categories: map[string]bool{"21": true, "22": true, "23": true, "41": true}}
}

// checkNodes fails when a mapped node is one the engine would reject.
func checkNodes(t *testing.T, nodes []mesh.Node) {
	for _, n := range nodes {
		if !mesh.ValidNodeID(n.ID) || !strings.HasPrefix(n.ID, "fz/") || n.NativeID == "" || n.Type == "" {
			t.Fatalf("bad node id %q (native %q, type %q)", n.ID, n.NativeID, n.Type)
		}
		c, refs, err := mesh.Canonicalize(n.Fields)
		if err != nil || len(c) == 0 || c[0] != '{' {
			t.Fatalf("node %s: fields %s: %v", n.ID, n.Fields, err)
		}
		for _, r := range refs {
			if !mesh.ValidNodeID(r.To) || !strings.HasPrefix(r.To, "fz/") {
				t.Fatalf("node %s: bad ref %+v", n.ID, r)
			}
		}
		for _, k := range []string{"price", "compareAtPrice", "priceRange.min", "priceRange.max"} {
			if m := gjson.GetBytes(n.Fields, k); m.IsObject() && m.Get("amount").Type != gjson.String {
				t.Fatalf("node %s: %s amount is not a string: %s", n.ID, k, m.Raw)
			}
		}
	}
}

// FuzzMapProducts feeds arbitrary product pages to the mapping: it must never panic, and what it
// accepts must be nodes the engine accepts.
func FuzzMapProducts(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "products_page.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b, "USD", false)
	// Small seeds: the fuzzer minimizes every new interesting input, which is slow for large ones.
	f.Add(fakePage(f, "KWD", "/stores/abc123/v3/catalog/products?include=variants,images&limit=1&page=3"), "KWD", true)
	for _, s := range []string{
		`{"data":[{"id":1,"name":"n","price":1e400,"variants":[{"id":2,"price":null,"calculated_price":"x"}]}]}`,
		`{"data":[{"id":"a/b@c%","name":"n","price":0.1,"inventory_tracking":"product","inventory_level":1.5}]}`,
		`{"data":[{"id":1,"name":"n","price":-0.005,"sale_price":-1,"images":[{"id":3,"url_zoom":"::","sort_order":-1,"is_thumbnail":true}],
		  "variants":[{"id":2,"image_url":"::","option_values":[{"option_display_name":null,"label":5}]}],"categories":[21,"x"]}]}`,
		`{"data":[{"id":18446744073709551616,"name":"n","custom_url":{"url":"///"},"brand_id":"7","description":"<p"}]}`,
	} {
		f.Add([]byte(s), "USD", false)
	}
	f.Fuzz(func(t *testing.T, body []byte, currency string, raw bool) {
		if !gjson.ValidBytes(body) || !currencyRE.MatchString(currency) {
			return // mesh/fetch never hands an invalid body to the mapping; the currency is checked first
		}
		m := fuzzMapper(currency)
		m.raw = raw
		for _, it := range gjson.GetBytes(body, pathData).Array() {
			p, err := m.product(it)
			if err != nil {
				continue
			}
			checkNodes(t, p.nodes)
		}
	})
}

// FuzzMapCategories does the same for category pages.
func FuzzMapCategories(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "categories_page.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(fakePage(f, "USD", "/stores/abc123/v3/catalog/categories"))
	f.Add([]byte(`{"data":[{"id":1,"name":null,"image_url":"%zz","custom_url":null,"description":"<scr"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if !gjson.ValidBytes(body) {
			return
		}
		m := fuzzMapper("USD")
		for _, it := range gjson.GetBytes(body, pathData).Array() {
			id, err := idText(it.Get("id"))
			if err != nil {
				continue
			}
			checkNodes(t, m.category(id, it, []string{"101", "7"}))
		}
	})
}

// FuzzPlainText: any text gives one line without tags' leftovers at its ends, and valid UTF-8 in
// gives valid UTF-8 out.
func FuzzPlainText(f *testing.F) {
	for _, s := range []string{"<p>a &amp; b</p>", "<script>x</script>y", "<!-- c", "<a href='>'>t</a>", "a\u00a0\u00a0b", "&#0;&#xD800;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := PlainText(s)
		if strings.HasPrefix(out, " ") || strings.HasSuffix(out, " ") || strings.Contains(out, "  ") || strings.ContainsAny(out, "\n\t") {
			t.Fatalf("PlainText(%q) = %q: white space not collapsed", s, out)
		}
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("PlainText(%q) = %q: invalid UTF-8", s, out)
		}
	})
}

// TestPlainTextScriptAfterInvalidUTF8: the end of a script element is found by byte index even when
// the script holds invalid UTF-8 (Vendure's copy of this search panicked on such input in CI's fuzz
// run; here it cut the text after it).
func TestPlainTextScriptAfterInvalidUTF8(t *testing.T) {
	for in, want := range map[string]string{
		"<sCript>\x85\xb2\xb7\xe3\xd2</sCript>after": "after",
		"a<STYLE>\xff\xff\xff\xff</style><p>b</p>":   "a b",
	} {
		if got := PlainText(in); got != want {
			t.Errorf("PlainText(%q) = %q, want %q", in, got, want)
		}
	}
}
