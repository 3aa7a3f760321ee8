package dynamodb_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/dynamodb"
)

// dynamoDB stands in for a DynamoDB endpoint: two tables, each answered in one Scan page, to signed
// requests only.
func dynamoDB() *httptest.Server {
	tables := map[string]struct{ key, items string }{
		"posts": {`[{"AttributeName":"slug","KeyType":"HASH"}]`,
			`[{"slug":{"S":"hello"},"title":{"S":"Hello"},"views":{"N":"42"},"tags":{"SS":["intro","news"]},"authorId":{"N":"7"}}]`},
		"authors": {`[{"AttributeName":"id","KeyType":"HASH"}]`,
			`[{"id":{"N":"7"},"name":{"S":"Ada"}}]`},
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"__type":"com.amazon.coral.service#UnrecognizedClientException","message":"The security token included in the request is invalid."}`)
			return
		}
		var in struct{ TableName string }
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &in)
		t, ok := tables[in.TableName]
		switch {
		case !ok:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}`)
		case r.Header.Get("X-Amz-Target") == "DynamoDB_20120810.DescribeTable":
			fmt.Fprintf(w, `{"Table":{"TableName":%q,"KeySchema":%s,"TableStatus":"ACTIVE"}}`, in.TableName, t.key)
		case strings.Contains(string(body), `"Segment":0`):
			fmt.Fprintf(w, `{"Items":%s,"Count":1,"ScannedCount":1}`, t.items)
		default: // the other segments are empty
			fmt.Fprint(w, `{"Items":[],"Count":0,"ScannedCount":0}`)
		}
	}))
}

// ExampleNew reads two DynamoDB tables into a graph: items become nodes keyed by their partition
// key, typed attribute values become plain JSON, and authorId becomes a reference, so the author
// knows its posts.
func ExampleNew() {
	api := dynamoDB()
	defer api.Close()

	src, err := dynamodb.New(dynamodb.Config{
		Region:          "eu-west-1",
		AccessKeyID:     "AKIDEXAMPLE",       // in YAML: ${AWS_ACCESS_KEY_ID}
		SecretAccessKey: "wJalrXUtnFEMI/K7M", // in YAML: ${AWS_SECRET_ACCESS_KEY}
		Endpoint:        api.URL,             // leave out for https://dynamodb.<region>.amazonaws.com
		Tables: []dynamodb.Table{
			{Name: "posts", NodeType: "Post", Namespace: "post", Refs: map[string]string{"authorId": "author"}},
			{Name: "authors", NodeType: "Author", Namespace: "author"},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	m, err := mesh.New(mesh.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Add("app", src); err != nil {
		log.Fatal(err)
	}
	b, err := m.Build(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for n := range b.Graph.Nodes() {
		fmt.Println(n.ID, n.Type, string(n.Fields))
	}
	author, _ := b.Graph.Get("app/author/7")
	for post := range b.Graph.Backrefs(author, "authorId") {
		fmt.Println("author 7 wrote", post.Get("title").String())
	}
	// Output:
	// app/author/7 Author {"id":7,"name":"Ada"}
	// app/post/hello Post {"authorId":{"$ref":"app/author/7"},"slug":"hello","tags":["intro","news"],"title":"Hello","views":42}
	// author 7 wrote Hello
}
