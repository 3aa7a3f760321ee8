package mesh

import (
	"strings"
	"testing"
)

// skipValueBytewise is skipValue as it was before it skipped strings eight bytes at a time: the
// reference for the differential test and fuzz target.
func skipValueBytewise(b []byte) int {
	if len(b) == 0 || (b[0] != '{' && b[0] != '[') {
		return -1
	}
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

var skipValueCases = []string{
	`{}`, `[]`, `{"a":1}`, `{"a":"}"}`, `{"a":"\""}`, `{"a":"\\"}`, `{"a":"\\\""}`, `[1,[2,{"x":[]}]]`,
	`{"body":"` + strings.Repeat("abcdefgh", 20) + `"},"refs":[]}`,
	`{"body":"` + strings.Repeat("abc\\\"defg", 13) + `"}`,
	`{"body":"` + strings.Repeat("é漢字", 9) + `\\"}trailing`,
	`{"a":"unterminated`, `{"a":"ends in a backslash\`, `{"a":[}`, `"x"`, ``, `{"a":"1234567"}`, `{"a":"12345678\"9"}`,
}

func TestSkipValue(t *testing.T) {
	for _, c := range skipValueCases {
		for cut := 0; cut <= len(c); cut++ { // every prefix: the fast path must stop where the bytes do
			b := []byte(c[:cut])
			if got, want := skipValue(b), skipValueBytewise(b); got != want {
				t.Errorf("skipValue(%q) = %d, want %d", b, got, want)
			}
		}
	}
}

func FuzzSkipValue(f *testing.F) {
	for _, c := range skipValueCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := skipValue(b), skipValueBytewise(b); got != want {
			t.Fatalf("skipValue(%q) = %d, want %d", b, got, want)
		}
	})
}
