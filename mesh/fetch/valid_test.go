package fetch

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// validCases are checked against encoding/json.Valid, the reference, and seed the fuzz target.
var validCases = []string{
	``, ` `, `{}`, `[]`, ` {} `, "\t[\r\n]\n", `{`, `}`, `[`, `]`, `{]`, `[}`, `[1,]`, `[,1]`, `{"a":1,}`,
	`{"a"}`, `{"a":}`, `{a:1}`, `{"a" : 1 , "b" : [ 1 , 2 ] }`, `{"a":1}{}`, `{} {}`, `[1] x`,
	`"x"`, `"`, `"\"`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\u00e9"`, `"\u00E9"`, `"\u00g9"`, `"\u00"`,
	`"\x"`, "\"a\x01b\"", "\"tab\tin\"", "\"\xff\xfe invalid utf-8\"", `"é ü 漢字"`,
	`"a long string with nothing to escape in it at all, longer than eight bytes"`,
	`"a long string with an escape \" in the middle of it and more after"`,
	`0`, `-0`, `01`, `-`, `1.`, `1.5`, `.5`, `1e5`, `1E+5`, `1e-5`, `1e`, `1e+`, `-1.5e10`, `+1`,
	`12345678901234567890123456789`, `1.0e`, `0x10`, `Infinity`, `NaN`,
	`true`, `false`, `null`, `tru`, `nul`, `falsey`, `[true,false,null]`, `True`,
	`{"a":{"b":{"c":[[[{"d":null}]]]}}}`, `[[[[[[[[[[]]]]]]]]]]`, `[[[[[[[[[[]]]]]]]]]`,
	`{"items":[{"id":"1","title":"x"},{"id":"2"}],"total":2}`,
}

func TestValidJSON(t *testing.T) {
	for _, c := range validCases {
		if got, want := ValidJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("ValidJSON(%q) = %v, encoding/json says %v", c, got, want)
		}
	}
	for _, depth := range []int{maxValidDepth - 1, maxValidDepth, maxValidDepth + 1, 100000} {
		for _, open := range []string{"[", `{"a":`} {
			closer := map[string]string{"[": "]", `{"a":`: "}"}[open]
			deep := []byte(strings.Repeat(open, depth) + "1" + strings.Repeat(closer, depth))
			if got, want := ValidJSON(deep), json.Valid(deep); got != want {
				t.Errorf("%d x %s: ValidJSON %v, encoding/json %v", depth, open, got, want)
			}
			if ValidJSON(deep[:len(deep)-1]) {
				t.Errorf("%d x %s: one bracket short accepted", depth, open)
			}
		}
	}
	// Every fixture of every adapter is valid JSON.
	files, _ := filepath.Glob("../../sources/*/testdata/*.json")
	if len(files) == 0 {
		t.Fatal("no fixtures found")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ValidJSON(data), json.Valid(data); got != want {
			t.Errorf("%s: ValidJSON %v, encoding/json %v", f, got, want)
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, c := range validCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := ValidJSON(data), json.Valid(data); got != want {
			t.Fatalf("ValidJSON(%q) = %v, encoding/json says %v", data, got, want)
		}
	})
}

// BenchmarkValidJSON compares ValidJSON with gjson.ValidBytes on a page of 100 items of 1 KB (the
// benchmark's scenario a).
func BenchmarkValidJSON(b *testing.B) {
	var page bytes.Buffer
	page.WriteString(`{"items":[`)
	for i := range 100 {
		if i > 0 {
			page.WriteByte(',')
		}
		page.WriteString(`{"id":"item-0000001","title":"Item 1","handle":"item-1","v":0,"price":{"amount":"1.99","currencyCode":"EUR"},"body":"`)
		page.WriteString(strings.Repeat("abcdefghij", 88))
		page.WriteString(`"}`)
	}
	page.WriteString(`],"total":10000}`)
	data := page.Bytes()
	b.Run("ValidJSON", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if !ValidJSON(data) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("gjson", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if !gjson.ValidBytes(data) {
				b.Fatal("invalid")
			}
		}
	})
}
