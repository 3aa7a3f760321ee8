package sanity

import (
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/contentmesh/contentmesh/internal/config"
)

// registryBlock is a source entry of mesh.yaml.
const registryBlock = `
name: cms
type: sanity
projectId: abcd1234
dataset: production
token: t
apiVersion: v2025-02-19
query: _type == "post"
useCdn: true
perspective: published
locales: [en, de]
baseURL: http://127.0.0.1:1
timeout: 10s
retries: 2
concurrency: 4
requestsPerSecond: 20
maxRetryAfter: 30s
`

// TestRegistryDecode decodes a config block the way sources.Registry does (strict keys, name and
// type skipped) and builds the source from it.
func TestRegistryDecode(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(registryBlock), &doc); err != nil {
		t.Fatal(err)
	}
	var c Config
	if err := config.DecodeStrict("mesh.yaml", doc.Content[0], &c, "name", "type"); err != nil {
		t.Fatal(err)
	}
	if _, err := New(c); err != nil {
		t.Fatal(err)
	}
	var bad yaml.Node
	if err := yaml.Unmarshal([]byte(registryBlock+"\nbogus: 1\n"), &bad); err != nil {
		t.Fatal(err)
	}
	if err := config.DecodeStrict("mesh.yaml", bad.Content[0], &c, "name", "type"); err == nil {
		t.Error("an unknown key was accepted")
	}
}
