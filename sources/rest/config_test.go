package rest

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// TestConfigYAML decodes the package documentation's example (the contract's keys) strictly.
func TestConfigYAML(t *testing.T) {
	const block = `
url: https://api.example.com/v1/users?status=active
items: data
id: id
nodeType: User
next: links.next
headers:
  Authorization: Bearer xyz
namespace: user
updatedAt: updated_at
refs:
  managerId: user
  teamId: teams/team
pageSize: 100
pageParam: limit
baseURL: http://127.0.0.1:9000
timeout: 30s
retries: 3
concurrency: 4
requestsPerSecond: 5
maxRetryAfter: 1m
`
	dec := yaml.NewDecoder(strings.NewReader(block))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.URL != "https://api.example.com/v1/users?status=active" || c.Items != "data" || c.ID != "id" ||
		c.NodeType != "User" || c.Next != "links.next" || c.Headers["Authorization"] != "Bearer xyz" ||
		c.Namespace != "user" || c.UpdatedAt != "updated_at" || c.Refs["teamId"] != "teams/team" ||
		c.PageSize != 100 || c.PageParam != "limit" || c.BaseURL != "http://127.0.0.1:9000" {
		t.Errorf("decoded %+v", c)
	}
	if c.Timeout != 30*time.Second || c.Retries == nil || *c.Retries != 3 || c.Concurrency != 4 ||
		c.RequestsPerSecond != 5 || c.MaxRetryAfter != time.Minute {
		t.Errorf("fetch options decoded as %+v", c.Options)
	}
	if _, err := New(c); err != nil {
		t.Fatal(err)
	}
	// An unknown key is rejected by a strict decoder.
	dec = yaml.NewDecoder(bytes.NewReader([]byte("url: x\nitem: data\n")))
	dec.KnownFields(true)
	if err := dec.Decode(&Config{}); err == nil || !strings.Contains(err.Error(), "item") {
		t.Errorf("unknown key: err = %v", err)
	}
}
