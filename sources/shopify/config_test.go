package shopify

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/contentmesh/contentmesh/internal/config"
)

// TestConfigYAML decodes the package documentation's example (the contract's keys) strictly, as
// the registry does.
func TestConfigYAML(t *testing.T) {
	const block = `
name: shop
type: shopify
store: acme.myshopify.com
token: shpat-secret
apiVersion: 2025-10
raw: true
baseURL: http://127.0.0.1:9000
timeout: 30s
requestsPerSecond: 4
`
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(block), &n); err != nil {
		t.Fatal(err)
	}
	var c Config
	if err := config.DecodeStrict("mesh.yaml", n.Content[0], &c, "name", "type"); err != nil {
		t.Fatal(err)
	}
	if c.Store != "acme.myshopify.com" || c.Token != "shpat-secret" || c.APIVersion != "2025-10" || !c.Raw ||
		c.BaseURL != "http://127.0.0.1:9000" || c.Timeout != 30*time.Second || c.RequestsPerSecond != 4 {
		t.Errorf("decoded %v %+v", c, c.Options)
	}
	if _, err := New(c); err != nil {
		t.Error(err)
	}
	var bad yaml.Node
	_ = yaml.Unmarshal([]byte("store: a\ntoken: b\nshop: c\n"), &bad)
	if err := config.DecodeStrict("mesh.yaml", bad.Content[0], &c); err == nil || !strings.Contains(err.Error(), "shop") {
		t.Errorf("unknown key: %v", err)
	}
}
