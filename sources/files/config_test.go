package files

import (
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestConfigYAML decodes the package documentation's example (the contract's keys) strictly.
func TestConfigYAML(t *testing.T) {
	const block = `
dir: content
include:
  - "**/*.md"
  - "data/*.yaml"
unsafeHTML: true
`
	dec := yaml.NewDecoder(strings.NewReader(block))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.Dir != "content" || !slices.Equal(c.Include, []string{"**/*.md", "data/*.yaml"}) || !c.UnsafeHTML {
		t.Errorf("decoded %+v", c)
	}
	if _, err := New(c); err != nil {
		t.Fatal(err)
	}
}
