package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParse(t *testing.T) {
	text := `out: public/data
cache: .cache
onError: stale
strict: true
sources:
  - name: cms
    type: contentful
    space: ${SPACE}
    accessToken: "${TOKEN}"
  - name: shop
    type: rest
    url: http://127.0.0.1:${PORT}/items
links:
  - {from: Post.productHandles, to: Product.handle, as: products}
`
	f, err := Parse("mesh.yaml", []byte(text), env(map[string]string{"SPACE": "abc", "TOKEN": "123", "PORT": "8080"}))
	if err != nil {
		t.Fatal(err)
	}
	if f.Out != "public/data" || f.Cache != ".cache" || f.OnError != "stale" || !f.Strict || len(f.Sources) != 2 || len(f.Links) != 1 {
		t.Fatalf("%+v", f)
	}
	if f.Sources[0].Name != "cms" || f.Sources[0].Type != "contentful" || f.Sources[0].Line != 6 {
		t.Errorf("source %+v", f.Sources[0])
	}
	var c struct {
		Space       string `yaml:"space"`
		AccessToken string `yaml:"accessToken"`
	}
	if err := DecodeStrict("mesh.yaml", f.Sources[0].Node, &c, "name", "type"); err != nil {
		t.Fatal(err)
	}
	if c.Space != "abc" || c.AccessToken != "123" {
		t.Errorf("expanded %+v", c)
	}
	var r struct {
		URL string `yaml:"url"`
	}
	DecodeStrict("mesh.yaml", f.Sources[1].Node, &r, "name", "type")
	if r.URL != "http://127.0.0.1:8080/items" {
		t.Errorf("url %q", r.URL)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
		line             int
	}{
		{"unset var", "sources:\n  - name: a\n    type: rest\n    url: ${NOPE}\n", "environment variable NOPE is not set", 4},
		{"unknown top key", "output: x\nsources:\n  - {name: a, type: rest}\n", `unknown key "output" (did you mean "out"?)`, 1},
		{"no sources", "out: x\n", "sources: want a list", 1},
		{"dup name", "sources:\n  - {name: a, type: rest}\n  - {name: a, type: files}\n", `"a" is used twice (first on line 2)`, 3},
		{"bad name", "sources:\n  - {name: a b, type: rest}\n", "source name", 2},
		{"no type", "sources:\n  - {name: a}\n", "has no type", 2},
		{"onError", "onError: maybe\nsources:\n  - {name: a, type: rest}\n", `onError "maybe"`, 1},
		{"bad yaml", "sources: [\n", "", 0},
		{"wrong type", "strict: perhaps\nsources:\n  - {name: a, type: rest}\n", "cannot unmarshal", 1},
		{"link incomplete", "sources:\n  - {name: a, type: rest}\nlinks:\n  - {from: A.b}\n", "links[0]", 3},
		{"diskThreshold as a node count", "out: x\ndiskThreshold: 500000\nsources:\n  - {name: a, type: rest}\n", "no unit", 2},
		{"diskThreshold unit", "diskThreshold: 2 GB per node\nsources:\n  - {name: a, type: rest}\n", "unknown unit", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("mesh.yaml", []byte(tt.text), env(nil))
			var ce *Error
			if !errors.As(err, &ce) || !errors.Is(err, mesh.ErrInvalidConfig) {
				t.Fatalf("err = %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) || (tt.line > 0 && ce.Line != tt.line) {
				t.Errorf("err = %q (line %d), want %q on line %d", err, ce.Line, tt.want, tt.line)
			}
		})
	}
}

func TestDecodeStrictUnknownAdapterKey(t *testing.T) {
	f, err := Parse("mesh.yaml", []byte("sources:\n  - name: a\n    type: rest\n    url: x\n    itmes: data\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	type Inner struct {
		Retries int `yaml:"retries"`
	}
	var c struct {
		URL   string `yaml:"url"`
		Items string `yaml:"items"`
		Inner `yaml:",inline"`
	}
	err = DecodeStrict("mesh.yaml", f.Sources[0].Node, &c, "name", "type")
	if err == nil || !strings.Contains(err.Error(), `mesh.yaml:5: unknown key "itmes" (did you mean "items"?)`) {
		t.Errorf("err = %v", err)
	}
}

func TestExpandEscapeAndQuoting(t *testing.T) {
	f, err := Parse("m", []byte("sources:\n  - name: a\n    type: rest\n    url: \"$${NOT_A_VAR}/${V}\"\n    retries: ${N}\n"), env(map[string]string{"V": "v", "N": "3"}))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		URL     string `yaml:"url"`
		Retries int    `yaml:"retries"`
	}
	if err := DecodeStrict("m", f.Sources[0].Node, &c, "name", "type"); err != nil {
		t.Fatal(err)
	}
	if c.URL != "${NOT_A_VAR}/v" || c.Retries != 3 {
		t.Errorf("%+v", c)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  string
	}{
		{"1GiB", 1 << 30, ""},
		{"1 GiB", 1 << 30, ""},
		{"512mb", 512_000_000, ""},
		{"1.5GiB", 3 << 29, ""},
		{"100KiB", 100 << 10, ""},
		{"2TB", 2e12, ""},
		{"4096B", 4096, ""},
		{"500000", 0, "no unit"},
		{"GiB", 0, "number"},
		{"1..5GiB", 0, "number"},
		{"1 parsec", 0, "unknown unit"},
		{"-1GiB", 0, "unknown unit"},
		{"0GiB", 0, "out of range"},
		{"99999999TiB", 0, "out of range"},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseSize(%q) = %d, %v; want an error with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	f, err := Parse("mesh.yaml", []byte("graph: auto\ndiskThreshold: 2GiB\nsources:\n  - {name: a, type: rest}\n"), env(nil))
	if err != nil || f.DiskThreshold != 2<<30 {
		t.Errorf("diskThreshold: %v, %d", err, f.DiskThreshold)
	}
}
