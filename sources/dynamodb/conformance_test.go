package dynamodb

import (
	"net/http"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/mesh/meshtest"
)

// throttleBody is DynamoDB's answer to a read above a table's provisioned capacity (status 400).
const throttleBody = `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."}`

// testTables configures the three tables of testdata/tables.json.
func testTables() []Table {
	return []Table{
		{Name: "posts", NodeType: "Post", Namespace: "post", UpdatedAt: "modified",
			Refs: map[string]string{"authorId": "author", "relatedIds": "post"}},
		{Name: "authors", NodeType: "Author", Namespace: "author"},
		{Name: "comments", NodeType: "Comment", Namespace: "comment",
			Refs: map[string]string{"postId": "post", "authorId": "author", "replyTo": "comment"}},
	}
}

// testConfig is the configuration of a source reading the fake at baseURL.
func testConfig(baseURL string) Config {
	return Config{
		Tables: testTables(), Region: testRegion, Endpoint: baseURL,
		AccessKeyID: testKeyID, SecretAccessKey: testSecret, SessionToken: testToken,
	}
}

func harness() meshtest.Harness {
	return meshtest.Harness{
		NewServer: func(t *testing.T) *meshtest.FixtureServer {
			srv := meshtest.NewFixtureServer(t, "")
			newFakeDynamo(t).route(srv)
			return srv
		},
		NewSource: func(t *testing.T, env meshtest.Env) (mesh.Source, error) {
			cfg := testConfig(env.BaseURL)
			cfg.AccessKeyID = env.Credential(testKeyID)
			cfg.SecretAccessKey = env.Credential(testSecret)
			cfg.Options = fetch.Options{Retries: &env.Retries, RetryWaitMin: env.RetryWaitMin, RetryWaitMax: env.RetryWaitMax,
				MaxRetryAfter: env.MaxRetryAfter, Timeout: env.Timeout}
			return New(cfg)
		},
		Expect: meshtest.Expectations{
			MinNodes: 14,
			Types:    []string{"Post", "Author", "Comment"},
			Counts:   map[string]int{"Post": 5, "Author": 3, "Comment": 6},
			IDs: []string{"post/hello-world", "post/p#3%2Fx", "author/1",
				"comment/hello-world#2024-05-03T12:00:00Z", "comment/p%25233%2Fx#2024-05-06T10:00:00Z"},
			Refs: []meshtest.ExpectedRef{
				{From: "post/hello-world", Field: "authorId", To: "author/1"},
				{From: "post/hello-world", Field: "relatedIds", To: "post/p#3%2Fx"},
				{From: "post/dynamodb-tips", Field: "relatedIds", To: "post/hello-world"},
				{From: "comment/hello-world#2024-05-03T12:00:00Z", Field: "postId", To: "post/hello-world"},
				{From: "comment/hello-world#2024-05-03T12:00:00Z", Field: "authorId", To: "author/2"},
				{From: "comment/hello-world#2024-05-03T12:30:00Z", Field: "replyTo", To: "comment/hello-world#2024-05-03T12:00:00Z"},
				{From: "comment/p%25233%2Fx#2024-05-06T10:05:00Z", Field: "replyTo", To: "comment/p%25233%2Fx#2024-05-06T10:00:00Z"},
				{From: "comment/p%25233%2Fx#2024-05-06T10:00:00Z", Field: "postId", To: "post/p#3%2Fx"},
			},
		},
		// DynamoDB itself throttles with a 400 and no header (see TestThrottling); a 429 comes from
		// a proxy in front of it, with DynamoDB's body here.
		RateLimit: meshtest.RateLimit{NoHeader: true, Header: http.Header{"Content-Type": {contentType}}, Body: []byte(throttleBody)},
		Secrets:   []string{testSecret, testToken},
		Skip:      map[string]string{"Incremental": "Scan has no change feed: every fetch returns the full set, with no cursor"},
	}
}

func TestConformance(t *testing.T) { meshtest.Run(t, harness()) }
