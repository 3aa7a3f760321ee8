package dynamodb

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/internal/realserver"
	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
)

// realDynamo is the dynalite started by scripts/realservers/dynalite-up.sh, read from its env file.
type realDynamo struct {
	url, region, keyID, secret string
	admin                      *fetch.Client
}

// startRealDynamo reads the env file of scripts/realservers/dynalite-up.sh. Without it the test is
// skipped, except under CI (CI=true), where the server must be there.
func startRealDynamo(t *testing.T) *realDynamo {
	t.Helper()
	dir := os.Getenv("REALSERVERS_DIR")
	if dir == "" {
		dir = "/tmp/contentmesh-realservers"
	}
	file := filepath.Join(dir, "dynalite", "env")
	f, err := os.Open(file)
	if err != nil {
		realserver.Missing(t, "dynalite", err)
		return nil
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	realserver.RequireUp(t, "dynalite", env["DYNALITE_URL"])
	rd := &realDynamo{url: env["DYNALITE_URL"], region: env["DYNALITE_REGION"],
		keyID: env["DYNALITE_ACCESS_KEY_ID"], secret: env["DYNALITE_SECRET_ACCESS_KEY"]}
	if rd.url == "" || rd.region == "" || rd.keyID == "" || rd.secret == "" {
		t.Fatalf("%s lacks DYNALITE_URL, DYNALITE_REGION, DYNALITE_ACCESS_KEY_ID or DYNALITE_SECRET_ACCESS_KEY", file)
	}
	// The tests write through the same signer and HTTP layer the source reads with.
	rd.admin, err = fetch.New(fetch.Config{BaseURL: rd.url, Auth: newSigner(rd.keyID, rd.secret, "", rd.region).sign,
		ErrorMessage: errorMessage}, fetch.Options{Retries: ptr(0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rd.admin.CloseIdleConnections)
	return rd
}

// call sends one operation of the JSON protocol and returns the answer.
func (rd *realDynamo) call(t *testing.T, op string, body any) *fetch.Response {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req := apiRequest(op, b)
	req.Idempotent = false
	resp, err := rd.admin.DoJSON(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return resp
}

// createTable makes a table from a fixture table's key schema, waits until it is ACTIVE, and drops it
// when the test ends.
func (rd *realDynamo) createTable(t *testing.T, name string, tb *fakeTable) {
	t.Helper()
	rd.call(t, "CreateTable", map[string]any{
		"TableName": name, "KeySchema": tb.KeySchema, "AttributeDefinitions": tb.AttrDefs,
		"ProvisionedThroughput": map[string]int{"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
	})
	t.Cleanup(func() { rd.call(t, "DeleteTable", map[string]string{"TableName": name}) })
	deadline := time.Now().Add(10 * time.Second)
	for rd.call(t, opDescribeTable, map[string]string{"TableName": name}).Get("Table.TableStatus").String() != "ACTIVE" {
		if time.Now().After(deadline) {
			t.Fatalf("table %s is not ACTIVE after 10 s", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// putItems writes items with BatchWriteItem, 25 at a time.
func (rd *realDynamo) putItems(t *testing.T, table string, items []map[string]json.RawMessage) {
	t.Helper()
	for len(items) > 0 {
		n := min(25, len(items))
		var puts []any
		for _, it := range items[:n] {
			puts = append(puts, map[string]any{"PutRequest": map[string]any{"Item": it}})
		}
		resp := rd.call(t, "BatchWriteItem", map[string]any{"RequestItems": map[string]any{table: puts}})
		if left := resp.Get("UnprocessedItems." + table); left.Exists() && len(left.Array()) > 0 {
			t.Fatalf("BatchWriteItem left %d items unprocessed", len(left.Array()))
		}
		items = items[n:]
	}
}

// TestRealDynalite seeds the fixture tables and a bulk table into a real DynamoDB-compatible server,
// then builds a graph through the engine with parallel segments and small pages, and checks it
// against what was seeded, and against the graph the fake gives for the same items.
func TestRealDynalite(t *testing.T) {
	rd := startRealDynamo(t)
	prefix := "cm_it_" + strconv.FormatInt(time.Now().UnixNano(), 36) + "_"
	fake := newFakeDynamo(t)
	tables := testTables()
	for i := range tables {
		fixture := fake.tables[tables[i].Name]
		tables[i].Name = prefix + fixture.Name
		rd.createTable(t, tables[i].Name, fixture)
		rd.putItems(t, tables[i].Name, fixture.Items)
	}
	// A bulk table: enough items, of about 1 KB each, for many pages in every segment.
	bulk := &fakeTable{
		KeySchema: []map[string]string{{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}},
		AttrDefs:  []map[string]string{{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}},
	}
	const bulkItems = 150
	var items []map[string]json.RawMessage
	for i := range bulkItems {
		items = append(items, map[string]json.RawMessage{
			"pk":     json.RawMessage(fmt.Sprintf(`{"S":"tenant-%d"}`, i%7)),
			"sk":     json.RawMessage(fmt.Sprintf(`{"N":"%d"}`, i)),
			"body":   json.RawMessage(fmt.Sprintf(`{"S":%q}`, strings.Repeat("x", 1000))),
			"postId": json.RawMessage(`{"S":"hello-world"}`),
		})
	}
	rd.createTable(t, prefix+"bulk", bulk)
	rd.putItems(t, prefix+"bulk", items)
	tables = append(tables, Table{Name: prefix + "bulk", NodeType: "Row", Namespace: "row", Refs: map[string]string{"postId": "post"}})

	cfg := Config{Tables: tables, Region: rd.region, Endpoint: rd.url, AccessKeyID: rd.keyID, SecretAccessKey: rd.secret,
		Segments: 4, PageSize: 7, ConsistentRead: true}
	src := mustNew(t, cfg)
	defer src.Close()
	if err := src.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	b := mustBuild(t, src, mesh.Options{})
	g := b.Graph
	counts := g.CountByType()
	if counts["Post"] != 5 || counts["Author"] != 3 || counts["Comment"] != 6 || counts["Row"] != bulkItems {
		t.Errorf("counts %v", counts)
	}
	if d := g.Dangling(); len(d) != 0 {
		t.Errorf("dangling refs %v", d)
	}
	// Paged: 150 rows of 7 a page over 4 segments take at least 150/7 pages, plus one per segment
	// and table at least.
	if r := b.Report.Sources[0]; r.Requests < bulkItems/7+4*4 || r.Status != "ok" {
		t.Errorf("report %+v", r)
	}
	row := node(t, g, "row/tenant-3#10")
	if row.Get("sk").Raw != "10" || len(row.Get("body").String()) != 1000 || row.Get("postId.$ref").String() != "app/post/hello-world" {
		t.Errorf("row fields %.200s", row.Fields)
	}
	post := node(t, g, "post/hello-world")
	if got := post.Get("bigNumber").Raw; got != "12345678901234567890123456789012345678" {
		t.Errorf("38-digit number came back as %s", got)
	}
	var backrefs int
	for range g.Backrefs(post, "postId") {
		backrefs++
	}
	if backrefs != 3+bulkItems {
		t.Errorf("%d postId backrefs to the post, want %d", backrefs, 3+bulkItems)
	}

	// The fixture tables give the same graph from the real server as from the fake.
	f2 := newFakeDynamo(t)
	srv := testServer(t, f2)
	fromFake := mustBuild(t, mustNew(t, fastConfig(srv.URL)), mesh.Options{})
	realOnly := mustNew(t, Config{Tables: tables[:3], Region: rd.region, Endpoint: rd.url, AccessKeyID: rd.keyID, SecretAccessKey: rd.secret})
	fromReal := mustBuild(t, realOnly, mesh.Options{})
	if a, b := graphJSON(t, fromReal.Graph), graphJSON(t, fromFake.Graph); a != b {
		t.Errorf("the real server's graph differs from the fake's:\nreal %.2000s\nfake %.2000s", a, b)
	}

	// A table that does not exist: DynamoDB's ResourceNotFoundException, as the real server words it.
	missing := mustNew(t, Config{Tables: []Table{{Name: prefix + "missing"}}, Region: rd.region, Endpoint: rd.url,
		AccessKeyID: rd.keyID, SecretAccessKey: rd.secret})
	_, err := build(t, missing, mesh.Options{})
	var de *Error
	if !errors.Is(err, mesh.ErrNotFound) || !errors.As(err, &de) || de.Type != "ResourceNotFoundException" || !strings.Contains(err.Error(), prefix+"missing") {
		t.Errorf("missing table: err = %v", err)
	}
}
