package auth0

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/contentmesh/contentmesh/internal/config"
)

// TestConfigYAML decodes a source block with every contract key strictly (as the registry does),
// and rejects an unknown key with its line.
func TestConfigYAML(t *testing.T) {
	const block = `name: people
type: auth0
domain: acme.eu.auth0.com
clientId: abc
clientSecret: s3cret
fields: [email, lastLogin]
baseURL: http://127.0.0.1:9000
timeout: 30s
retries: 3
concurrency: 4
requestsPerSecond: 2
maxRetryAfter: 1m
`
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(block), &n); err != nil {
		t.Fatal(err)
	}
	var c Config
	if err := config.DecodeStrict("mesh.yaml", n.Content[0], &c, "name", "type"); err != nil {
		t.Fatal(err)
	}
	if c.Domain != "acme.eu.auth0.com" || c.ClientID != "abc" || c.ClientSecret != "s3cret" || len(c.Fields) == 0 || c.BaseURL != "http://127.0.0.1:9000" ||
		c.Timeout != 30*time.Second || c.Retries == nil || *c.Retries != 3 || c.Concurrency != 4 || c.RequestsPerSecond != 2 {
		t.Fatalf("decoded %+v", c)
	}
	if _, err := New(c); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(block+"feilds: [email]\n"), &n); err != nil {
		t.Fatal(err)
	}
	var c2 Config
	err := config.DecodeStrict("mesh.yaml", n.Content[0], &c2, "name", "type")
	if err == nil || !strings.Contains(err.Error(), "feilds") {
		t.Fatalf("unknown key: %v", err)
	}
}
