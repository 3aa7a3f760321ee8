package dynamodb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"
	"go.yaml.in/yaml/v3"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/mesh/meshtest"
)

func ptr[T any](v T) *T { return &v }

// fast are fetch options for tests: few, short retries.
var fast = fetch.Options{Retries: ptr(2), RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond, Timeout: 5 * time.Second}

func testServer(t *testing.T, f *fakeDynamo) *meshtest.FixtureServer {
	srv := meshtest.NewFixtureServer(t, "")
	f.route(srv)
	return srv
}

func mustNew(t *testing.T, cfg Config) *Source {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func fastConfig(baseURL string) Config {
	cfg := testConfig(baseURL)
	cfg.Options = fast
	return cfg
}

// build runs one build of src as the source "app".
func build(t *testing.T, src mesh.Source, opts mesh.Options) (*mesh.Build, error) {
	t.Helper()
	m, err := mesh.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add("app", src); err != nil {
		t.Fatal(err)
	}
	return m.Build(context.Background())
}

func mustBuild(t *testing.T, src mesh.Source, opts mesh.Options) *mesh.Build {
	t.Helper()
	b, err := build(t, src, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func graphJSON(t *testing.T, g *mesh.Graph) string {
	t.Helper()
	var buf bytes.Buffer
	if err := g.WriteGraphJSON(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func node(t *testing.T, g *mesh.Graph, id string) *mesh.Node {
	t.Helper()
	n, ok := g.Get("app/" + id)
	if !ok {
		t.Fatalf("no node app/%s; have %v", id, g.CountByType())
	}
	return n
}

func TestNewValidates(t *testing.T) {
	good := func() Config { return testConfig("http://127.0.0.1:4567") }
	tests := []struct {
		name string
		edit func(*Config)
		key  string // the key the error names
	}{
		{"no region", func(c *Config) { c.Region = "" }, "region"},
		{"bad region", func(c *Config) { c.Region = "EU West" }, "region"},
		{"no access key", func(c *Config) { c.AccessKeyID = "" }, "accessKeyId"},
		{"access key with a line break", func(c *Config) { c.AccessKeyID = "AKID\n" }, "accessKeyId"},
		{"no secret", func(c *Config) { c.SecretAccessKey = "" }, "secretAccessKey"},
		{"token with a space", func(c *Config) { c.SessionToken = "a b" }, "sessionToken"},
		{"negative segments", func(c *Config) { c.Segments = -1 }, "segments"},
		{"too many segments", func(c *Config) { c.Segments = maxSegments + 1 }, "segments"},
		{"negative page size", func(c *Config) { c.PageSize = -5 }, "pageSize"},
		{"no tables", func(c *Config) { c.Tables = nil }, "tables"},
		{"endpoint not a URL", func(c *Config) { c.Endpoint = "127.0.0.1:4567" }, "endpoint"},
		{"baseURL not a URL", func(c *Config) { c.Endpoint, c.BaseURL = "", "ftp://x" }, "baseURL"},
		{"endpoint with a query", func(c *Config) { c.Endpoint = "http://127.0.0.1:4567/?x=1" }, "endpoint"},
		{"endpoint and baseURL differ", func(c *Config) { c.BaseURL = "http://127.0.0.1:9999" }, "endpoint"},
		{"table without name", func(c *Config) { c.Tables[0].Name = "" }, "tables[0].name"},
		{"bad table name", func(c *Config) { c.Tables[1].Name = "a b" }, "tables[1].name"},
		{"short table name", func(c *Config) { c.Tables[1].Name = "ab" }, "tables[1].name"},
		{"table twice", func(c *Config) { c.Tables[2].Name = "posts" }, "tables[2].name"},
		{"namespace twice", func(c *Config) { c.Tables[2].Namespace = "post" }, "tables[2].namespace"},
		{"namespace with a slash", func(c *Config) { c.Tables[0].Namespace = "a/b" }, "tables[0].namespace"},
		{"ref to nothing", func(c *Config) { c.Tables[0].Refs["authorId"] = "" }, "tables[0].refs.authorId"},
		{"ref with three parts", func(c *Config) { c.Tables[0].Refs["authorId"] = "a/b/c" }, "tables[0].refs.authorId"},
		{"ref with an empty source", func(c *Config) { c.Tables[0].Refs["authorId"] = "/author" }, "tables[0].refs.authorId"},
		{"idFormat without placeholder", func(c *Config) { c.Tables[0].IDFormat = "post" }, "tables[0].idFormat"},
		{"idFormat unclosed", func(c *Config) { c.Tables[0].IDFormat = "{slug" }, "tables[0].idFormat"},
		{"idFormat empty placeholder", func(c *Config) { c.Tables[0].IDFormat = "x{}" }, "tables[0].idFormat"},
		{"idFormat stray brace", func(c *Config) { c.Tables[0].IDFormat = "{a}}" }, "tables[0].idFormat"},
		{"bad fetch option", func(c *Config) { c.Concurrency = -1 }, "concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good()
			tt.edit(&cfg)
			_, err := New(cfg)
			if !errors.Is(err, mesh.ErrInvalidConfig) {
				t.Fatalf("err = %v, want mesh.ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tt.key) {
				t.Errorf("err %q does not name %q", err, tt.key)
			}
			if strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), testToken) {
				t.Errorf("err %q holds a secret", err)
			}
		})
	}
	t.Run("good", func(t *testing.T) {
		cfg := good()
		cfg.BaseURL = cfg.Endpoint + "/" // the same URL under both names is fine
		cfg.Tables = append(cfg.Tables, Table{Name: "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders.v2", IDFormat: "{tenant}:{id}"})
		s := mustNew(t, cfg)
		if got := s.tables[3]; got.namespace != "Orders.v2" || got.nodeType != "OrdersV2" {
			t.Errorf("ARN table: namespace %q, type %q", got.namespace, got.nodeType)
		}
		if s.segments != DefaultSegments {
			t.Errorf("segments = %d", s.segments)
		}
	})
}

func TestConfigYAML(t *testing.T) {
	const doc = `
region: eu-west-1
accessKeyId: AKIDTESTEXAMPLE
secretAccessKey: s3cr3t
sessionToken: t0k3n
endpoint: http://127.0.0.1:4567
segments: 8
pageSize: 50
consistentRead: true
raw: true
timeout: 10s
concurrency: 4
tables:
  - name: posts
    nodeType: Post
    namespace: post
    refs: {authorId: author, productIds: shop/Product}
    updatedAt: modified
    idFormat: "{slug}"
`
	var cfg Config
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	want := Config{
		Region: "eu-west-1", AccessKeyID: "AKIDTESTEXAMPLE", SecretAccessKey: "s3cr3t", SessionToken: "t0k3n",
		Endpoint: "http://127.0.0.1:4567", Segments: 8, PageSize: 50, ConsistentRead: true, Raw: true,
		Options: fetch.Options{Timeout: 10 * time.Second, Concurrency: 4},
		Tables: []Table{{Name: "posts", NodeType: "Post", Namespace: "post", UpdatedAt: "modified", IDFormat: "{slug}",
			Refs: map[string]string{"authorId": "author", "productIds": "shop/Product"}}},
	}
	got, _ := json.Marshal(cfg)
	exp, _ := json.Marshal(want)
	if !bytes.Equal(got, exp) {
		t.Errorf("decoded\n %s\nwant\n %s", got, exp)
	}
	s := mustNew(t, cfg)
	if r := s.tables[0].refs["productIds"]; r != (refTarget{source: "shop", namespace: "Product"}) {
		t.Errorf("productIds ref = %+v", r)
	}
	for _, text := range []string{cfg.String(), fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg)} {
		if strings.Contains(text, "s3cr3t") || strings.Contains(text, "t0k3n") || strings.Contains(text, "AKIDTESTEXAMPLE") {
			t.Errorf("config text holds a credential: %s", text)
		}
	}
}

func TestAttributeValues(t *testing.T) {
	tests := []struct {
		name, in, want string // want "" expects an error
	}{
		{"S", `{"S":"héllo \"q\" \u00e9\n"}`, `"héllo \"q\" é\n"`},
		{"S empty", `{"S":""}`, `""`},
		{"N integer", `{"N":"42"}`, `42`},
		{"N negative decimal", `{"N":"-19.990"}`, `-19.990`},
		{"N 38 digits", `{"N":"12345678901234567890123456789012345678"}`, `12345678901234567890123456789012345678`},
		{"N exponent", `{"N":"1E+126"}`, `1E+126`},
		{"N small exponent", `{"N":"1E-130"}`, `1E-130`},
		{"N plus sign", `{"N":"+5"}`, `5`},
		{"N leading zeros", `{"N":"007.50"}`, `7.50`},
		{"N bare fraction", `{"N":"-.5"}`, `-0.5`},
		{"N trailing point", `{"N":"5."}`, `5`},
		{"N not a number", `{"N":"NaN"}`, ``},
		{"N empty", `{"N":""}`, ``},
		{"N bad exponent", `{"N":"1e"}`, ``},
		{"N as JSON number", `{"N":42}`, ``},
		{"B", `{"B":"aGVsbG8="}`, `"aGVsbG8="`},
		{"BOOL true", `{"BOOL":true}`, `true`},
		{"BOOL false", `{"BOOL":false}`, `false`},
		{"BOOL as string", `{"BOOL":"true"}`, ``},
		{"NULL", `{"NULL":true}`, `null`},
		{"NULL false", `{"NULL":false}`, ``},
		{"M", `{"M":{"a":{"S":"x"},"b":{"M":{"c":{"N":"1"}}},"d/e.f":{"NULL":true}}}`, `{"a":"x","b":{"c":1},"d/e.f":null}`},
		{"M empty", `{"M":{}}`, `{}`},
		{"L", `{"L":[{"S":"a"},{"N":"2"},{"BOOL":false},{"L":[]},{"M":{"k":{"SS":["b","a"]}}}]}`, `["a",2,false,[],{"k":["a","b"]}]`},
		{"L empty", `{"L":[]}`, `[]`},
		{"SS sorted by bytes", `{"SS":["b","a","B","é","aa"]}`, `["B","a","aa","b","é"]`},
		{"NS sorted by value", `{"NS":["10","9.5","-1","1E+2","0","-0.25","100.5","2"]}`, `[-1,-0.25,0,2,9.5,10,1E+2,100.5]`},
		{"NS normalized", `{"NS":["+3",".5"]}`, `[0.5,3]`},
		{"NS bad element", `{"NS":["1","x"]}`, ``},
		{"BS sorted", `{"BS":["d29ybGQ=","aGVsbG8=","AAE="]}`, `["AAE=","aGVsbG8=","d29ybGQ="]`},
		{"set of numbers", `{"SS":[1]}`, ``},
		{"unknown type", `{"X":"1"}`, ``},
		{"two descriptors", `{"S":"a","N":"1"}`, ``},
		{"no descriptor", `{}`, ``},
		{"not an object", `"plain"`, ``},
		{"M not an object", `{"M":[]}`, ``},
		{"L not an array", `{"L":{}}`, ``},
		{"bad value inside M", `{"M":{"a":{"Q":"1"}}}`, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := appendValue(nil, gjson.Parse(tt.in), 0)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("want an error, got %s", got)
				}
				if !errors.Is(err, mesh.ErrBadResponse) {
					t.Errorf("err %v does not wrap mesh.ErrBadResponse", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("not JSON: %s", got)
			}
		})
	}
	t.Run("nesting limit", func(t *testing.T) {
		deep := strings.Repeat(`{"L":[`, maxDepth+2) + `{"S":"x"}` + strings.Repeat(`]}`, maxDepth+2)
		if _, err := appendValue(nil, gjson.Parse(deep), 0); err == nil {
			t.Error("no error for values nested too deep")
		}
		ok := strings.Repeat(`{"M":{"a":`, 32) + `{"S":"x"}` + strings.Repeat(`}}`, 32)
		if _, err := appendValue(nil, gjson.Parse(ok), 0); err != nil {
			t.Errorf("DynamoDB's 32 levels: %v", err)
		}
	})
}

func TestDecimalOrder(t *testing.T) {
	// Each number is less than the next.
	ordered := []string{"-1E+3", "-100.5", "-2", "-1.5", "-0.001", "0", "1E-130", "0.001", "0.5", "1", "1.0000000000000000000000000000000000001", "2", "10", "1E+2", "12345678901234567890123456789012345678", "1E+126"}
	for i := range ordered {
		for j := range ordered {
			a, ok1 := parseDecimal(ordered[i])
			b, ok2 := parseDecimal(ordered[j])
			if !ok1 || !ok2 {
				t.Fatalf("parse %q %q", ordered[i], ordered[j])
			}
			if got, want := a.cmp(b), cmpInt(i, j); got != want {
				t.Errorf("cmp(%s, %s) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
	for _, eq := range [][2]string{{"1", "1.0"}, {"100", "1E+2"}, {"-0", "0"}, {"0.50", ".5"}, {"007", "7"}} {
		a, _ := parseDecimal(eq[0])
		b, _ := parseDecimal(eq[1])
		if a.cmp(b) != 0 {
			t.Errorf("%s != %s", eq[0], eq[1])
		}
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// collect runs Fetch against the fake and returns the nodes by native ID.
func collect(t *testing.T, cfg Config, req mesh.FetchRequest) (map[string]mesh.Node, error) {
	t.Helper()
	src := mustNew(t, cfg)
	defer src.Close()
	rec := &recorder{nodes: map[string]mesh.Node{}}
	if req.Source == "" {
		req.Source = "app"
	}
	_, err := src.Fetch(context.Background(), req, rec)
	return rec.nodes, err
}

type recorder struct {
	mu    sync.Mutex
	nodes map[string]mesh.Node
}

func (r *recorder) Upsert(n mesh.Node) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nodes[n.ID] = n
	return nil
}

func (r *recorder) Delete(string) error { return nil }

// TestMapping checks whole nodes of the fixtures through the engine: IDs from the key schemas,
// every attribute type, refs within the source, updatedAt.
func TestMapping(t *testing.T) {
	f := newFakeDynamo(t)
	srv := testServer(t, f)
	b := mustBuild(t, mustNew(t, fastConfig(srv.URL)), mesh.Options{})
	g := b.Graph

	post := node(t, g, "post/hello-world")
	wantFields := `{"archivedAt":null,"authorId":{"$ref":"app/author/1"},"bigNumber":12345678901234567890123456789012345678,` +
		`"body":{"blocks":[{"kind":"heading","level":2,"text":"Hi"},{"kind":"paragraph","text":"Welcome <b>aboard</b> été"}],"format":"markdown"},` +
		`"cover":"iVBORw0KGgo=","id":"hello-world","modified":"2024-05-03T11:00:00+02:00","price":19.99,"published":true,` +
		`"ratings":[-1,9.5,10,100],"relatedIds":[{"$ref":"app/post/dynamodb-tips"},{"$ref":"app/post/p#3%2Fx"}],` +
		`"tags":["Zebra","intro","news"],"title":"Hello, world","views":1024}`
	if string(post.Fields) != wantFields {
		t.Errorf("post fields\n got %s\nwant %s", post.Fields, wantFields)
	}
	if post.Type != "Post" || post.NativeID != "hello-world" || !post.UpdatedAt.Equal(time.Date(2024, 5, 3, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("post: type %q nativeId %q updatedAt %v", post.Type, post.NativeID, post.UpdatedAt)
	}
	// updatedAt as Unix seconds and milliseconds.
	if n := node(t, g, "post/dynamodb-tips"); !n.UpdatedAt.Equal(time.Unix(1714734000, 0)) {
		t.Errorf("seconds updatedAt = %v", n.UpdatedAt)
	}
	if n := node(t, g, "post/p#3%2Fx"); !n.UpdatedAt.Equal(time.UnixMilli(1714734000123)) || n.NativeID != "p#3/x" {
		t.Errorf("milliseconds updatedAt = %v, nativeId %q", n.UpdatedAt, n.NativeID)
	}
	if n := node(t, g, "post/drafts-and-sets"); string(n.Fields) !=
		`{"authorId":null,"id":"drafts-and-sets","published":false,"thumbs":["AAE=","aGVsbG8=","d29ybGQ="],"title":"Binary sets","views":-0.5}` {
		t.Errorf("BS, NULL ref: %s", n.Fields)
	}
	// A numeric partition key: the native ID is its digits.
	author := node(t, g, "author/1")
	if author.Type != "Author" || author.NativeID != "1" || string(author.Fields) != `{"authorId":1,"handles":{"mastodon":"@ada@example.social"},"name":"Ada Writer"}` {
		t.Errorf("author: %s %s %s", author.Type, author.NativeID, author.Fields)
	}
	// Composite keys: <partition>#<sort>, '#' and '%' escaped inside the parts.
	c := node(t, g, "comment/p%25233%2Fx#2024-05-06T10:05:00Z")
	if c.NativeID != "p%233/x#2024-05-06T10:00:00Z" && c.NativeID != "p%233/x#2024-05-06T10:05:00Z" {
		t.Errorf("comment nativeId %q", c.NativeID)
	}
	if got := g.Query(c.ID, "replyTo.$ref").String(); got != "app/comment/p%25233%2Fx#2024-05-06T10:00:00Z" {
		t.Errorf("replyTo = %s", got)
	}
	// Backrefs: the author knows the posts and comments pointing at it.
	var from []string
	for n := range g.Backrefs(node(t, g, "author/2"), "") {
		from = append(from, n.ID)
	}
	slices.Sort(from)
	if want := []string{"app/comment/hello-world#2024-05-03T12:00:00Z", "app/post/dynamodb-tips"}; !slices.Equal(from, want) {
		t.Errorf("author/2 backrefs %v, want %v", from, want)
	}
	if d := g.Dangling(); len(d) != 0 {
		t.Errorf("dangling refs %v", d)
	}
}

func TestRawIDFormatAndForeignRefs(t *testing.T) {
	f := newFakeDynamo(t)
	srv := testServer(t, f)
	cfg := fastConfig(srv.URL)
	cfg.Raw = true
	cfg.Tables = []Table{
		{Name: "comments", NodeType: "Comment", IDFormat: "{postId}/{createdAt}",
			Refs: map[string]string{"postId": "cms/BlogPost", "authorId": "people/user"}},
	}
	nodes, err := collect(t, cfg, mesh.FetchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	n, ok := nodes["app/comments/hello-world%2F2024-05-03T12:00:00Z"]
	if !ok {
		t.Fatalf("no node; have %v", slices.Collect(mapsKeys(nodes)))
	}
	if n.NativeID != "hello-world/2024-05-03T12:00:00Z" {
		t.Errorf("nativeId %q", n.NativeID)
	}
	fields := gjson.ParseBytes(n.Fields)
	if got := fields.Get("postId.$ref").String(); got != "cms/BlogPost/hello-world" {
		t.Errorf("postId ref %q", got)
	}
	if got := fields.Get("authorId.$ref").String(); got != "people/user/2" {
		t.Errorf("authorId ref %q", got)
	}
	if got := fields.Get("_raw.createdAt.S").String(); got != "2024-05-03T12:00:00Z" {
		t.Errorf("_raw = %s", fields.Get("_raw").Raw)
	}
	if len(nodes) != 6 {
		t.Errorf("%d nodes", len(nodes))
	}
}

func mapsKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestMappingErrors(t *testing.T) {
	tests := []struct {
		name  string
		table Table
		item  string
		want  string // in the error
	}{
		{"ref holds a map", Table{Name: "posts", Refs: map[string]string{"author": "author"}},
			`{"id":{"S":"a"},"author":{"M":{}}}`, `key "a": attribute "author": a reference holds a M value`},
		{"ref list holds a map", Table{Name: "posts", Refs: map[string]string{"related": "post"}},
			`{"id":{"S":"a"},"related":{"L":[{"M":{}}]}}`, `reference list holds a M value`},
		{"no key attribute", Table{Name: "posts"}, `{"title":{"S":"a"}}`, `the item has no attribute "id"`},
		{"key of a bad type", Table{Name: "posts"}, `{"id":{"BOOL":true}}`, `attribute "id" is a BOOL value`},
		{"empty key", Table{Name: "posts"}, `{"id":{"S":""}}`, `attribute "id" is empty`},
		{"idFormat attribute missing", Table{Name: "posts", IDFormat: "{slug}"}, `{"id":{"S":"a"}}`, `idFormat: `},
		{"bad value", Table{Name: "posts"}, `{"id":{"S":"a"},"n":{"N":"one"}}`, `key "a": attribute "n": bad response: N value "one" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := validateTables([]Table{tt.table})
			if err != nil {
				t.Fatal(err)
			}
			m := &mapper{source: "app", t: ts[0], key: keySchema{hash: "id"}, log: slog.New(slog.DiscardHandler)}
			err = m.decodeItems([]byte(`{"Items":[`+tt.item+`]}`), func(mesh.Node) error { return nil })
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `table "posts"`) {
				t.Errorf("err = %v, want it to say %q and name the table", err, tt.want)
			}
		})
	}
	t.Run("page without Items", func(t *testing.T) {
		m := &mapper{source: "app", t: &table{name: "posts"}, key: keySchema{hash: "id"}}
		err := m.decodeItems([]byte(`{"Count":0}`), func(mesh.Node) error { return nil })
		if !errors.Is(err, mesh.ErrBadResponse) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestUpdatedAtWarnsOnce(t *testing.T) {
	var logs bytes.Buffer
	ts, _ := validateTables([]Table{{Name: "posts", UpdatedAt: "modified"}})
	m := &mapper{source: "app", t: ts[0], key: keySchema{hash: "id"}, log: slog.New(slog.NewTextHandler(&logs, nil))}
	var got []mesh.Node
	err := m.decodeItems([]byte(`{"Items":[{"id":{"S":"a"},"modified":{"S":"yesterday"}},{"id":{"S":"b"},"modified":{"BOOL":true}},`+
		`{"id":{"S":"c"},"modified":{"S":"2024-01-02"}}]}`), func(n mesh.Node) error { got = append(got, n); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].UpdatedAt.IsZero() || !got[1].UpdatedAt.IsZero() || !got[2].UpdatedAt.Equal(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("updatedAt %v %v %v", got[0].UpdatedAt, got[1].UpdatedAt, got[2].UpdatedAt)
	}
	if n := strings.Count(logs.String(), "unreadable updatedAt"); n != 1 {
		t.Errorf("%d warnings:\n%s", n, logs.String())
	}
}

// TestScanRequests checks the requests: one DescribeTable per table, every segment of every table
// scanned with TotalSegments, each page's LastEvaluatedKey sent back as ExclusiveStartKey, Limit from
// pageSize or FetchRequest.PageSize, ConsistentRead.
func TestScanRequests(t *testing.T) {
	for _, tt := range []struct {
		name      string
		segments  int
		pageSize  int
		reqSize   int
		wantLimit int
	}{
		{"defaults", 0, 0, 0, 0},
		{"one segment, pageSize", 1, 2, 0, 2},
		{"request page size wins", 7, 2, 1, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDynamo(t)
			srv := testServer(t, f)
			cfg := fastConfig(srv.URL)
			cfg.Segments, cfg.PageSize, cfg.ConsistentRead = tt.segments, tt.pageSize, true
			nodes, err := collect(t, cfg, mesh.FetchRequest{PageSize: tt.reqSize})
			if err != nil {
				t.Fatal(err)
			}
			if len(nodes) != 14 {
				t.Errorf("%d nodes, want 14", len(nodes))
			}
			total := cmpOrInt(tt.segments, DefaultSegments)
			scans := f.seenScans()
			firsts := map[string][]int{}
			for _, s := range scans {
				if s.Total != total || s.Limit != tt.wantLimit || !s.Consistent {
					t.Errorf("scan %+v: want TotalSegments %d, Limit %d, ConsistentRead", s, total, tt.wantLimit)
				}
				if s.StartKey == "" {
					firsts[s.Table] = append(firsts[s.Table], s.Segment)
				}
			}
			for _, tb := range []string{"posts", "authors", "comments"} {
				segs := firsts[tb]
				slices.Sort(segs)
				if len(segs) != total || segs[0] != 0 || segs[total-1] != total-1 {
					t.Errorf("table %s: segments started %v, want 0..%d once each", tb, segs, total-1)
				}
			}
			describes := 0
			for _, target := range f.targets {
				if target == targetPrefix+opDescribeTable {
					describes++
				}
			}
			if describes != 3 {
				t.Errorf("%d DescribeTable requests, want 3", describes)
			}
			// Pages continue: a Scan with a start key for each full page (the fake validates the key).
			if tt.wantLimit == 1 && len(scans) < 14+total*3 {
				t.Errorf("%d scans with Limit 1", len(scans))
			}
		})
	}
}

func cmpOrInt(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func TestRequestHeaders(t *testing.T) {
	f := newFakeDynamo(t)
	srv := testServer(t, f)
	if _, err := collect(t, fastConfig(srv.URL), mesh.FetchRequest{}); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if len(reqs) == 0 {
		t.Fatal("no requests")
	}
	for _, r := range reqs {
		if r.Method != "POST" || r.Path != "/" || r.Header.Get("Content-Type") != contentType ||
			!strings.HasPrefix(r.Header.Get("X-Amz-Target"), targetPrefix) ||
			r.Header.Get("Authorization") == "" || r.Header.Get("X-Amz-Date") == "" {
			t.Errorf("request %s %s %v", r.Method, r.Path, r.Header)
		}
	}
	if f.verified != len(reqs) {
		t.Errorf("%d of %d requests had a valid signature", f.verified, len(reqs))
	}
}

// TestThrottling: DynamoDB's throttling answers (400 with a throttling __type) are retried with
// backoff, the source slows down, and the build gets the same graph; when they persist the error is
// mesh.ErrRateLimited naming the table.
func TestThrottling(t *testing.T) {
	for _, typ := range []string{
		"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
		"com.amazon.coral.availability#ThrottlingException",
		"com.amazonaws.dynamodb.v20120810#RequestLimitExceeded",
	} {
		short := typ[strings.IndexByte(typ, '#')+1:]
		t.Run(short, func(t *testing.T) {
			// A server per case: requests that a failed build abandoned do not reach the next case.
			srv := testServer(t, newFakeDynamo(t))
			want := graphJSON(t, mustBuild(t, mustNew(t, fastConfig(srv.URL)), mesh.Options{}).Graph)
			body := []byte(`{"__type":"` + typ + `","message":"slow down"}`)
			in := srv.Inject(meshtest.Fault{Count: 3, Status: http.StatusBadRequest, Header: http.Header{"Content-Type": {contentType}}, Body: body})
			src := mustNew(t, fastConfig(srv.URL))
			b := mustBuild(t, src, mesh.Options{})
			if in.Hits() != 3 {
				t.Errorf("fault hit %d times", in.Hits())
			}
			if got := graphJSON(t, b.Graph); got != want {
				t.Error("the graph differs from a build without throttling")
			}
			// The report counts the retries; its "throttled" counts 429s only (mesh.RequestEvent has no
			// throttled flag), so the client's own counters say the answers were taken for throttling.
			if r := b.Report.Sources[0]; r.Retries != 3 {
				t.Errorf("report: retries %d, want 3", r.Retries)
			}
			if st := src.client.Stats(); st.Throttled != 3 || st.Concurrency >= src.client.Options().Concurrency {
				t.Errorf("client stats %+v: want 3 throttled answers and a reduced concurrency", st)
			}

			persistent := srv.Inject(meshtest.Fault{Count: meshtest.Always, Status: http.StatusBadRequest, Body: body,
				Match: func(r *http.Request) bool { return r.Header.Get("X-Amz-Target") == targetPrefix+opScan }})
			defer persistent.Remove()
			_, err := build(t, mustNew(t, fastConfig(srv.URL)), mesh.Options{})
			if !errors.Is(err, mesh.ErrRateLimited) {
				t.Fatalf("err = %v, want mesh.ErrRateLimited", err)
			}
			for _, s := range []string{"Scan segment", "table", short, "slow down", "after 3 attempts", srv.URL} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("err %q does not say %q", err, s)
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(*Config, *meshtest.FixtureServer)
		sentinel error
		typ      string
		says     []string
		attempts int // requests per failing call: errors other than throttling are not retried
	}{
		{"missing table", func(c *Config, _ *meshtest.FixtureServer) { c.Tables[1].Name = "nope" },
			mesh.ErrNotFound, "ResourceNotFoundException", []string{`DescribeTable table "nope"`, "Requested resource not found", "check the table name"}, 1},
		{"unknown access key", func(c *Config, _ *meshtest.FixtureServer) { c.AccessKeyID = "AKIDWRONG" },
			mesh.ErrUnauthorized, "UnrecognizedClientException", []string{"security token included in the request is invalid", "check accessKeyId"}, 1},
		{"wrong secret", func(c *Config, _ *meshtest.FixtureServer) { c.SecretAccessKey = "wrong-secret" },
			mesh.ErrUnauthorized, "InvalidSignatureException", []string{"signature we calculated does not match"}, 1},
		{"wrong session token", func(c *Config, _ *meshtest.FixtureServer) { c.SessionToken = "other-token" },
			mesh.ErrUnauthorized, "UnrecognizedClientException", nil, 1},
		{"missing permission", func(_ *Config, s *meshtest.FixtureServer) {
			s.Inject(meshtest.Fault{Count: meshtest.Always, Status: 400, Body: []byte(`{"__type":"com.amazon.coral.service#AccessDeniedException","Message":"User: arn:aws:iam::123456789012:user/x is not authorized to perform: dynamodb:Scan"}`)})
		}, mesh.ErrForbidden, "AccessDeniedException", []string{"not authorized to perform: dynamodb:Scan", "dynamodb:DescribeTable and dynamodb:Scan"}, 1},
		{"validation", func(_ *Config, s *meshtest.FixtureServer) {
			s.Inject(meshtest.Fault{Count: meshtest.Always, Status: 400, Body: []byte(`{"__type":"com.amazon.coral.validate#ValidationException","message":"1 validation error detected"}`)})
		}, nil, "", []string{"ValidationException: 1 validation error detected"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeDynamo(t)
			srv := testServer(t, f)
			cfg := fastConfig(srv.URL)
			tt.edit(&cfg, srv)
			_, err := build(t, mustNew(t, cfg), mesh.Options{})
			if err == nil {
				t.Fatal("the build succeeded")
			}
			msg := err.Error()
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("err %q does not wrap %v", msg, tt.sentinel)
			}
			for _, s := range []error{mesh.ErrNotFound, mesh.ErrUnauthorized, mesh.ErrForbidden, mesh.ErrRateLimited} {
				if s != tt.sentinel && errors.Is(err, s) {
					t.Errorf("err %q wraps %v too", msg, s)
				}
			}
			var de *Error
			if tt.typ != "" && (!errors.As(err, &de) || de.Type != tt.typ) {
				t.Errorf("err %q: *Error type %+v, want %s", msg, de, tt.typ)
			}
			var se *fetch.StatusError
			if !errors.As(err, &se) || se.StatusCode != 400 {
				t.Errorf("err %q holds no 400 StatusError", msg)
			}
			for _, s := range append(tt.says, `source "app"`, srv.URL) {
				if !strings.Contains(msg, s) {
					t.Errorf("err %q does not say %q", msg, s)
				}
			}
			for _, s := range []string{testSecret, testToken, "wrong-secret", "other-token"} {
				if strings.Contains(msg, s) {
					t.Errorf("err %q holds the secret %q", msg, s)
				}
			}
			for _, r := range srv.Requests() {
				if n := countKey(srv.Requests(), r.Key()); n > tt.attempts {
					t.Errorf("%s sent %d times", r.Key(), n)
					break
				}
			}
		})
	}
}

func countKey(reqs []meshtest.Recorded, key string) int {
	n := 0
	for _, r := range reqs {
		if r.Key() == key {
			n++
		}
	}
	return n
}

// TestFullSetEachBuild: with no change feed every build is a full set, so the engine's diff finds
// what changed upstream: a second build over a snapshot equals a first build of the new state.
func TestFullSetEachBuild(t *testing.T) {
	f := newFakeDynamo(t)
	srv := testServer(t, f)
	store, err := mesh.NewDirStore(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	first := mustBuild(t, mustNew(t, fastConfig(srv.URL)), mesh.Options{Store: store})
	if len(first.Changes.Added) != 14 {
		t.Fatalf("first build added %d", len(first.Changes.Added))
	}

	f.deleteItem("posts", `{"S":"orphan"}`, "")
	f.deleteItem("comments", `{"S":"hello-world"}`, `{"S":"2024-05-04T08:00:00Z"}`)
	f.putItem("authors", `{"authorId":{"N":"3"},"name":{"S":"Linus Regular"},"active":{"BOOL":true}}`)
	f.putItem("authors", `{"authorId":{"N":"4"},"name":{"S":"New Person"}}`)

	second := mustBuild(t, mustNew(t, fastConfig(srv.URL)), mesh.Options{Store: store})
	want := mesh.ChangeSet{
		Added:   []string{"app/author/4"},
		Updated: []string{"app/author/3"},
		Deleted: []string{"app/comment/hello-world#2024-05-04T08:00:00Z", "app/post/orphan"},
	}
	got, _ := json.Marshal(second.Changes)
	exp, _ := json.Marshal(want)
	if !bytes.Equal(got, exp) {
		t.Errorf("changes %s, want %s", got, exp)
	}
	fresh := mustBuild(t, mustNew(t, fastConfig(srv.URL)), mesh.Options{})
	if graphJSON(t, second.Graph) != graphJSON(t, fresh.Graph) {
		t.Error("the build over the snapshot differs from a fresh build")
	}
}

func TestCheck(t *testing.T) {
	f := newFakeDynamo(t)
	srv := testServer(t, f)
	src := mustNew(t, fastConfig(srv.URL))
	if err := src.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Requests()); n != 3 {
		t.Errorf("%d requests, want 3 DescribeTable", n)
	}
	cfg := fastConfig(srv.URL)
	cfg.Tables = append(cfg.Tables, Table{Name: "missing", Namespace: "m"})
	if err := mustNew(t, cfg).Check(context.Background()); !errors.Is(err, mesh.ErrNotFound) || !strings.Contains(err.Error(), `"missing"`) {
		t.Errorf("err = %v", err)
	}
}

func TestEndpointDefault(t *testing.T) {
	for region, want := range map[string]string{
		"eu-west-1":  "https://dynamodb.eu-west-1.amazonaws.com/",
		"cn-north-1": "https://dynamodb.cn-north-1.amazonaws.com.cn/",
	} {
		cfg := testConfig("")
		cfg.Region = region
		cfg.Tables = cfg.Tables[:1]
		var got string
		cfg.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			got = r.URL.String() // one table: one request
			return nil, errors.New("no network in tests")
		})}
		retries := 0
		cfg.Retries = &retries
		_ = mustNew(t, cfg).Check(context.Background())
		if got != want {
			t.Errorf("region %s: request to %q, want %q", region, got, want)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestErrorMessage(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}`,
			"ResourceNotFoundException: Requested resource not found"},
		{`{"__type":"com.amazon.coral.service#AccessDeniedException","Message":"User is not authorized"}`,
			"AccessDeniedException: User is not authorized"},
		{`{"__type":"com.amazon.coral.service#SerializationException"}`, "SerializationException"},
		{`{"__type":"com.amazon.coral.service#InvalidSignatureException","message":"The request signature we calculated does not match.\n\nThe Canonical String for this request should have been\n'POST\n/'"}`,
			"InvalidSignatureException: The request signature we calculated does not match."},
		// A body cut at fetch.ErrorBodyBytes.
		{`{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of conf`,
			"ProvisionedThroughputExceededException"},
		// DynamoDB's (and dynalite's) 404 to a request that is not its protocol.
		{"<UnknownOperationException/>\n", "UnknownOperationException"},
		{`{"message":"Forbidden"}`, "Forbidden"},
	}
	for _, tt := range tests {
		if got := errorMessage(400, []byte(tt.body)); got != tt.want {
			t.Errorf("errorMessage(%s) = %q, want %q", tt.body, got, tt.want)
		}
	}
	if _, yes := throttledError(400, []byte(`{"__type":"x#ValidationException"}`)); yes {
		t.Error("ValidationException called throttling")
	}
	if _, yes := throttledError(500, []byte(`{"__type":"x#ThrottlingException"}`)); yes {
		t.Error("a 500 called throttling (fetch retries 5xx anyway)")
	}
}

func TestScanBody(t *testing.T) {
	tests := []struct {
		in   scanInput
		want string
	}{
		{scanInput{table: "posts", total: 1}, `{"TableName":"posts"}`},
		{scanInput{table: "posts", segment: 0, total: 4, limit: 1, consistentRead: true, startKey: `{"id":{"S":"a\"b"}}`},
			`{"TableName":"posts","Segment":0,"TotalSegments":4,"Limit":1,"ConsistentRead":true,"ExclusiveStartKey":{"id":{"S":"a\"b"}}}`},
	}
	for _, tt := range tests {
		if got := string(tt.in.body()); got != tt.want || !json.Valid([]byte(got)) {
			t.Errorf("body %s, want %s", got, tt.want)
		}
	}
}
