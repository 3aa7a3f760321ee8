package mesh

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestCanonicalize(t *testing.T) {
	tests := []struct {
		name, in, want string
		refs           []Ref
	}{
		{"sorted keys", `{"b":1,"a":2}`, `{"a":2,"b":1}`, nil},
		{"white space", " { \"a\" : [ 1 , 2 ] ,\n\"b\":{ } } ", `{"a":[1,2],"b":{}}`, nil},
		{"nested sort", `{"z":{"y":1,"x":[{"d":1,"c":2}]},"a":null}`, `{"a":null,"z":{"x":[{"c":2,"d":1}],"y":1}}`, nil},
		{"duplicate last wins", `{"a":1,"b":2,"a":3}`, `{"a":3,"b":2}`, nil},
		{"escapes normalized", `{"s":"\u0041\/\u00e9\n\u001f\"\\"}`, `{"s":"A/é\n\u001f\"\\"}`, nil},
		{"html kept", `{"s":"<a href=\"x\">&</a>"}`, `{"s":"<a href=\"x\">&</a>"}`, nil},
		{"surrogate pair", `{"s":"\ud83d\ude00"}`, `{"s":"😀"}`, nil},
		{"lone surrogate", `{"s":"\ud83d"}`, `{"s":"` + "\uFFFD" + `"}`, nil},
		{"invalid utf8", "{\"s\":\"a\xffb\"}", "{\"s\":\"a\uFFFDb\"}", nil},
		{"big integer kept", `{"n":123456789012345678901234567890}`, `{"n":123456789012345678901234567890}`, nil},
		{"negative zero", `{"n":-0}`, `{"n":0}`, nil},
		{"float forms", `{"a":1.0,"b":1e2,"c":0.10,"d":1.5e-7,"e":-2.50}`, `{"a":1,"b":100,"c":0.1,"d":1.5e-7,"e":-2.5}`, nil},
		{"literals", `[true,false,null]`, `[true,false,null]`, nil},
		{"ref", `{"author":{"$ref":"s/user/1"}}`, `{"author":{"$ref":"s/user/1"}}`,
			[]Ref{{Field: "author", To: "s/user/1"}}},
		{"refs in path order after sort", `{"tags":[{"$ref":"s/t/2"},{"$ref":"s/t/1"}],"author":{"$ref":"s/u/1"},"body":{"links":[{"$ref":"s/p/9"}]}}`,
			`{"author":{"$ref":"s/u/1"},"body":{"links":[{"$ref":"s/p/9"}]},"tags":[{"$ref":"s/t/2"},{"$ref":"s/t/1"}]}`,
			[]Ref{{"author", "s/u/1"}, {"body.links", "s/p/9"}, {"tags", "s/t/2"}, {"tags", "s/t/1"}}},
		{"not a ref: two keys", `{"x":{"$ref":"s/u/1","extra":1}}`, `{"x":{"$ref":"s/u/1","extra":1}}`, nil},
		{"not a ref: number", `{"x":{"$ref":1}}`, `{"x":{"$ref":1}}`, nil},
		{"escaped path key", `{"a.b":{"$ref":"s/u/1"}}`, `{"a.b":{"$ref":"s/u/1"}}`, []Ref{{`a\.b`, "s/u/1"}}},
		{"escaped key sorting", `{"\u0062":1,"a":2}`, `{"a":2,"b":1}`, nil},
		{"escaped ref value", `{"r":{"$ref":"s\/u\/1"}}`, `{"r":{"$ref":"s/u/1"}}`, []Ref{{"r", "s/u/1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, refs, err := Canonicalize([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if len(refs) == 0 {
				refs = nil
			}
			if !reflect.DeepEqual(refs, tt.refs) {
				t.Errorf("refs %v, want %v", refs, tt.refs)
			}
		})
	}
}

func TestCanonicalizeErrors(t *testing.T) {
	for _, in := range []string{``, `{`, `{"a"}`, `{"a":}`, `[1,]`, `{"a":1}x`, `01`, `1.`, `1e`, `"\x"`, "\"a\x01\"", `tru`, `{1:2}`, `"abc`, strings.Repeat("[", 600) + strings.Repeat("]", 600)} {
		if _, _, err := Canonicalize([]byte(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestDigestIgnoresKeyOrderAndSpace(t *testing.T) {
	a, err := Digest("Post", "en", []byte(`{"b":[1,2],"a":{"y":1,"x":"é"}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Digest("Post", "en", []byte(` { "a" : { "x" : "\u00e9", "y" : 1.0 }, "b" : [ 1, 2 ] } `))
	if a != b {
		t.Errorf("digests differ: %s %s", a, b)
	}
	for _, other := range [][3]string{{"Page", "en", `{"a":{"x":"é","y":1},"b":[1,2]}`}, {"Post", "de", `{"a":{"x":"é","y":1},"b":[1,2]}`}, {"Post", "en", `{"a":{"x":"é","y":1},"b":[2,1]}`}} {
		d, _ := Digest(other[0], other[1], []byte(other[2]))
		if d == a {
			t.Errorf("%v: same digest as a different node", other)
		}
	}
	if !strings.HasPrefix(a, "sha256:") || len(a) != 71 {
		t.Errorf("digest form %q", a)
	}
}

// FuzzCanonicalize checks that canonical output is valid JSON, equal in meaning to the input, and a
// fixed point.
func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[1,2,{"$ref":"x/y/z"}]}`, `"\u00e9"`, `[1.5e3,-0,null]`, `{"a":{"a":{"a":1}}}`, `{"a":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, _, err := Canonicalize(in)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("output not valid JSON: %q -> %q", in, out)
		}
		again, _, err := Canonicalize(out)
		if err != nil || string(again) != string(out) {
			t.Fatalf("not a fixed point: %q -> %q -> %q (%v)", in, out, again, err)
		}
		var a, b any
		if json.Unmarshal(in, &a) == nil && json.Unmarshal(out, &b) == nil && !reflect.DeepEqual(a, b) {
			t.Fatalf("meaning changed: %q -> %q", in, out)
		}
	})
}
