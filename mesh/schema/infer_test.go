package schema_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/memsource"
	"github.com/contentmesh/contentmesh/mesh/schema"
)

// node is a test node: id "<source>/<type>/<n>".
func node(source, typ, id, fields string) *mesh.Node {
	return &mesh.Node{ID: source + "/" + strings.ToLower(typ) + "/" + id, Type: typ, Source: source, NativeID: id,
		Fields: json.RawMessage(fields)}
}

func graph(nodes ...*mesh.Node) *mesh.Graph { return mesh.NewGraph(nodes) }

// field finds a field by path ("seo.title", "images[].url", "byLocale{}.x") in a type.
func field(t *testing.T, s *schema.Schema, typ, path string) *schema.Field {
	t.Helper()
	ty := s.Type(typ)
	if ty == nil {
		t.Fatalf("no type %s in %+v", typ, s.Types)
	}
	fs := ty.Fields
	var f *schema.Field
	for part := range strings.SplitSeq(path, ".") {
		var v *schema.Value
		if f != nil {
			v = &f.Value
			fs = v.Fields
		}
		name := strings.TrimRight(part, "[]{}")
		f = nil
		for i := range fs {
			if fs[i].Name == name {
				f = &fs[i]
			}
		}
		if f == nil {
			t.Fatalf("%s: no field %q in %s", typ, name, path)
		}
		for rest := part[len(name):]; rest != ""; rest = rest[2:] {
			var next *schema.Value
			if strings.HasPrefix(rest, "[]") {
				next = f.Items
			} else {
				next = f.Values
			}
			if next == nil {
				t.Fatalf("%s.%s: no %s", typ, path, rest[:2])
			}
			f = &schema.Field{Name: name + rest[:2], Value: *next}
		}
	}
	return f
}

// want is what a test expects of one field.
type want struct {
	path     string
	sig      string // Signature
	optional bool
	refTo    []string
	unres    int
	count    int // 0: not checked
}

func TestInfer(t *testing.T) {
	tests := []struct {
		name  string
		nodes []*mesh.Node
		typ   string
		want  []want
	}{
		{
			name: "every kind",
			nodes: []*mesh.Node{
				node("shop", "Product", "1", `{"a":["x"],"b":true,"i":3,"m":{"amount":"19.99","currencyCode":"USD"},"n":1.5,"o":{"k":1},"r":{"$ref":"shop/product/1"},"s":"x","t":"2026-03-01T00:00:00Z","z":null}`),
			},
			typ: "Product",
			want: []want{
				{path: "a", sig: "array", count: 1}, {path: "a[]", sig: "string"},
				{path: "b", sig: "boolean"}, {path: "i", sig: "integer"},
				{path: "m", sig: "money"}, {path: "n", sig: "number"}, {path: "o", sig: "object"},
				{path: "o.k", sig: "integer"}, {path: "r", sig: "ref<Product>", refTo: []string{"Product"}},
				{path: "s", sig: "string"}, {path: "t", sig: "time"}, {path: "z", sig: "null"},
			},
		},
		{
			name: "optional and nullable",
			nodes: []*mesh.Node{
				node("cms", "Post", "1", `{"title":"A","subtitle":"x","cover":null}`),
				node("cms", "Post", "2", `{"title":"B","cover":"c.png"}`),
				node("cms", "Post", "3", `{"title":"C","cover":"d.png"}`),
			},
			typ: "Post",
			want: []want{
				{path: "title", sig: "string", count: 3},
				{path: "subtitle", sig: "string", optional: true, count: 1},
				{path: "cover", sig: "string|null", count: 3},
			},
		},
		{
			name: "refs to which types, unresolved",
			nodes: []*mesh.Node{
				node("cms", "Post", "1", `{"about":{"$ref":"shop/product/1"},"links":[{"$ref":"shop/collection/1"},{"$ref":"shop/product/1"}],"gone":{"$ref":"cms/user/nobody"}}`),
				node("cms", "Post", "2", `{"about":{"$ref":"shop/collection/1"},"links":[],"gone":{"$ref":"cms/user/ghost"}}`),
				node("shop", "Product", "1", `{}`),
				node("shop", "Collection", "1", `{}`),
			},
			typ: "Post",
			want: []want{
				{path: "about", sig: "ref<Collection|Product>", refTo: []string{"Collection", "Product"}},
				{path: "links", sig: "array", count: 2},
				{path: "links[]", sig: "ref<Collection|Product>", refTo: []string{"Collection", "Product"}, count: 2},
				{path: "gone", sig: "ref<?>", unres: 2},
			},
		},
		{
			name: "mixed kinds and folding",
			nodes: []*mesh.Node{
				node("x", "Thing", "1", `{"mixed":"a","when":"2026-01-01T00:00:00Z","num":1,"price":{"amount":"1.00","currencyCode":"EUR"},"date":"2026-01-01"}`),
				node("x", "Thing", "2", `{"mixed":2,"when":"soon","num":2.5,"price":{"amount":"2.00","currencyCode":"EUR","note":"sale"},"date":"2026-01-02"}`),
				node("x", "Thing", "3", `{"mixed":true,"when":"2026-01-02T00:00:00.5+02:00","num":-7,"price":null,"date":"2026-01-03"}`),
			},
			typ: "Thing",
			want: []want{
				{path: "mixed", sig: "string|integer|boolean"},
				{path: "when", sig: "string"},                       // time folded into string
				{path: "num", sig: "number"},                        // integer folded into number
				{path: "price", sig: "object|null", count: 3},       // money folded into object
				{path: "price.amount", sig: "string", count: 2},     // present in both objects
				{path: "price.note", sig: "string", optional: true}, // only in one of two objects
				{path: "date", sig: "string"},                       // a date is not a date-time
			},
		},
		{
			name: "not canonical: spaces, key order",
			nodes: []*mesh.Node{
				node("x", "Loose", "1", `{ "r" : { "$ref" : "x/loose/1" }, "m" : {"currencyCode": "USD", "amount": "1"} }`),
			},
			typ:  "Loose",
			want: []want{{path: "r", sig: "ref<Loose>", refTo: []string{"Loose"}}, {path: "m", sig: "money"}},
		},
		{
			name: "nested arrays and objects",
			nodes: []*mesh.Node{
				node("x", "Grid", "1", `{"rows":[[1,2],[3]],"images":[{"url":"a","alt":"A"},{"url":"b"}],"empty":[],"seo":{"meta":{"title":"t"}}}`),
				node("x", "Grid", "2", `{"rows":[],"images":[{"url":"c","width":10}],"empty":[],"seo":{"meta":{"title":"u","robots":null}}}`),
			},
			typ: "Grid",
			want: []want{
				{path: "rows", sig: "array"}, {path: "rows[]", sig: "array", count: 2}, {path: "rows[][]", sig: "integer", count: 3},
				{path: "images[]", sig: "object", count: 3},
				{path: "images[].url", sig: "string", count: 3},
				{path: "images[].alt", sig: "string", optional: true},
				{path: "images[].width", sig: "integer", optional: true},
				{path: "empty", sig: "array", count: 2},
				{path: "seo.meta.title", sig: "string"},
				{path: "seo.meta.robots", sig: "null", optional: true},
			},
		},
		{
			name: "not money, not refs",
			nodes: []*mesh.Node{
				node("x", "Odd", "1", `{"m1":{"amount":19.99,"currencyCode":"USD"},"m2":{"amount":"1","currencyCode":"usd"},"m3":{"amount":"1.","currencyCode":"USD"},"r1":{"$ref":"x/odd/1","extra":1},"r2":{"$ref":5}}`),
			},
			typ: "Odd",
			want: []want{
				{path: "m1", sig: "object"}, {path: "m2", sig: "object"}, {path: "m3", sig: "object"},
				{path: "r1", sig: "object"}, {path: "r1.$ref", sig: "string"}, {path: "r2", sig: "object"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := schema.Infer(graph(tt.nodes...))
			for _, w := range tt.want {
				f := field(t, s, tt.typ, w.path)
				if got := schema.Signature(&f.Value); got != w.sig {
					t.Errorf("%s: signature %q, want %q", w.path, got, w.sig)
				}
				if f.Optional != w.optional {
					t.Errorf("%s: optional %v, want %v", w.path, f.Optional, w.optional)
				}
				if !slices.Equal(f.RefTo, w.refTo) {
					t.Errorf("%s: refTo %v, want %v", w.path, f.RefTo, w.refTo)
				}
				if f.UnresolvedRefs != w.unres {
					t.Errorf("%s: unresolved %d, want %d", w.path, f.UnresolvedRefs, w.unres)
				}
				if w.count != 0 && f.Count != w.count {
					t.Errorf("%s: count %d, want %d", w.path, f.Count, w.count)
				}
				if f.Nullable != f.Has(schema.KindNull) {
					t.Errorf("%s: nullable %v but kinds %v", w.path, f.Nullable, f.Kinds)
				}
			}
		})
	}
}

func TestInferEmptyArrayHasNoItems(t *testing.T) {
	s := schema.Infer(graph(node("x", "T", "1", `{"tags":[]}`)))
	if f := field(t, s, "T", "tags"); f.Items != nil {
		t.Errorf("items of an always-empty array: %+v", f.Items)
	}
}

func TestInferTypesAndSources(t *testing.T) {
	s := schema.Infer(graph(
		node("shop", "Product", "1", `{"a":1}`),
		node("erp", "Product", "2", `{"a":2}`),
		node("cms", "Post", "1", `{}`),
	))
	var names []string
	for _, ty := range s.Types {
		names = append(names, ty.Name)
	}
	if !slices.Equal(names, []string{"Post", "Product"}) {
		t.Errorf("types %v", names)
	}
	p := s.Type("Product")
	if p.Count != 2 || !slices.Equal(p.Sources, []string{"erp", "shop"}) {
		t.Errorf("Product: count %d sources %v", p.Count, p.Sources)
	}
	if post := s.Type("Post"); post.Fields == nil || len(post.Fields) != 0 {
		t.Errorf("Post fields %#v, want empty", post.Fields)
	}
	if s.Type("Nope") != nil {
		t.Errorf("Type(Nope) found something")
	}
	if got := schema.Infer(nil); got.Version != schema.Version || len(got.Types) != 0 {
		t.Errorf("Infer(nil) = %+v", got)
	}
}

func TestInferFoldsMaps(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"byLocale":{`)
	for i := range schema.MaxObjectFields + 1 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%03d":{"title":"t%d"}`, i, i)
	}
	b.WriteString(`},"small":{"a":1}}`)
	s := schema.Infer(graph(node("x", "T", "1", b.String()), node("x", "T", "2", `{"byLocale":{"en":{"title":"x","extra":true}},"small":{"b":2}}`)))
	f := field(t, s, "T", "byLocale")
	if got := schema.Signature(&f.Value); got != "map" || f.Values == nil || len(f.Fields) != 0 {
		t.Fatalf("byLocale: %s, values %v, %d fields", got, f.Values, len(f.Fields))
	}
	if f.Values.Count != schema.MaxObjectFields+2 {
		t.Errorf("map values count %d, want %d", f.Values.Count, schema.MaxObjectFields+2)
	}
	title := field(t, s, "T", "byLocale{}.title")
	if schema.Signature(&title.Value) != "string" || title.Optional {
		t.Errorf("map value title: %+v", title)
	}
	if extra := field(t, s, "T", "byLocale{}.extra"); !extra.Optional {
		t.Errorf("map value extra should be optional: %+v", extra)
	}
	if small := field(t, s, "T", "small"); schema.Signature(&small.Value) != "object" || len(small.Fields) != 2 {
		t.Errorf("small object folded: %+v", small)
	}
}

// sampleNodes have every kind, refs between types, nesting and awkward names: the input of the
// output tests.
func sampleNodes() []*mesh.Node {
	return []*mesh.Node{
		node("blog", "Post", "1", `{"title":"Hello","author":{"$ref":"people/user/1"},"products":[{"$ref":"shop/product/1"}],"publishedAt":"2026-03-01T00:00:00Z","tags":["a","b"],"seo":{"title":"Hello!","noindex":false},"product-handles":["mug"],"rating":4.5,"views":10,"extra":null,"body html":"<p>x</p>","123":"digits","-":"dash","a\"b":"quote","_raw":{"x":1}}`),
		node("blog", "Post", "2", `{"title":"Bye","author":{"$ref":"people/user/1"},"products":[],"publishedAt":"2026-03-02T00:00:00Z","tags":[],"seo":{"title":"Bye!"},"rating":3,"views":"many","extra":[]}`),
		node("shop", "Product", "1", `{"handle":"mug","title":"Mug","price":{"amount":"9.50","currencyCode":"EUR"},"priceRange":{"min":{"amount":"9.50","currencyCode":"EUR"},"max":{"amount":"12.00","currencyCode":"EUR"}},"variants":[{"sku":"M-1","available":true,"image":{"$ref":"shop/asset/1"}}],"images":[{"$ref":"shop/asset/1"}],"related":{"$ref":"shop/product/404"},"options":[[{"name":"Size"}]],"createdAt":"2026-01-01T10:00:00Z"}`),
		node("shop", "Asset", "1", `{"url":"https://cdn.example/mug.png","width":640,"height":480,"mimeType":"image/png"}`),
		node("people", "User", "1", `{"displayName":"Milo","roles":[{"$ref":"people/role/1"}]}`),
		node("people", "Role", "1", `{"name":"editor"}`),
		node("x", "Node", "1", `{"ref":{"$ref":"blog/post/1"}}`),
		node("x", "lower-case type", "1", `{"v":1}`),
	}
}

// sample is the graph of sampleNodes as a build makes it (refs, backrefs and digests filled).
func sample() *mesh.Graph {
	bySource := map[string][]memsource.Record{}
	for _, n := range sampleNodes() {
		ns := strings.ToLower(n.Type)
		bySource[n.Source] = append(bySource[n.Source], memsource.Record{Namespace: ns, NativeID: n.NativeID, Type: n.Type, Fields: n.Fields})
	}
	m, err := mesh.New(mesh.Options{})
	if err != nil {
		panic(err)
	}
	for _, name := range slices.Sorted(maps.Keys(bySource)) {
		src, err := memsource.New(bySource[name]...)
		if err != nil {
			panic(err)
		}
		m.Add(name, src)
	}
	b, err := m.Build(context.Background())
	if err != nil {
		panic(err)
	}
	return b.Graph
}

func TestJSONStableAndParseRoundTrip(t *testing.T) {
	s1 := schema.Infer(sample())
	s2 := schema.Infer(sample())
	j1, err := s1.JSON()
	if err != nil {
		t.Fatal(err)
	}
	j2, _ := s2.JSON()
	if !bytes.Equal(j1, j2) {
		t.Fatalf("two inferences of the same graph differ")
	}
	if !bytes.HasSuffix(j1, []byte("}\n")) || !bytes.Contains(j1, []byte(`"version": 1`)) {
		t.Errorf("schema.json form:\n%s", j1)
	}
	back, err := schema.Parse(j1)
	if err != nil {
		t.Fatal(err)
	}
	j3, _ := back.JSON()
	if !bytes.Equal(j1, j3) {
		t.Errorf("Parse(JSON()) does not give the same bytes:\n%s\n---\n%s", j1, j3)
	}
	if !reflect.DeepEqual(back.TypeScript(), s1.TypeScript()) {
		t.Errorf("the parsed schema gives other TypeScript")
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"not json", `{`, "invalid schema"},
		{"version", `{"version":2,"types":[]}`, "version 2"},
		{"unnamed type", `{"version":1,"types":[{"name":"","count":1,"sources":[],"fields":[]}]}`, "no name"},
		{"unsorted types", `{"version":1,"types":[{"name":"B"},{"name":"A"}]}`, "not sorted"},
		{"unknown kind", `{"version":1,"types":[{"name":"A","fields":[{"name":"x","kinds":["float"],"count":1}]}]}`, `unknown kind "float"`},
		{"kinds order", `{"version":1,"types":[{"name":"A","fields":[{"name":"x","kinds":["null","string"],"count":1,"nullable":true}]}]}`, "out of order"},
		{"nullable mismatch", `{"version":1,"types":[{"name":"A","fields":[{"name":"x","kinds":["string","null"],"count":1}]}]}`, "nullable"},
		{"items without array", `{"version":1,"types":[{"name":"A","fields":[{"name":"x","kinds":["string"],"count":1,"items":{"kinds":["string"],"count":1}}]}]}`, "items without"},
		{"duplicate field", `{"version":1,"types":[{"name":"A","fields":[{"name":"x","kinds":["string"],"count":1},{"name":"x","kinds":["string"],"count":1}]}]}`, "twice"},
		{"refTo without ref", `{"version":1,"types":[{"name":"A","fields":[{"name":"x","kinds":["string"],"count":1,"refTo":["B"]}]}]}`, "ref targets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := schema.Parse([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	seed, _ := schema.Infer(sample()).JSON()
	f.Add(seed)
	f.Add([]byte(`{"version":1,"types":[]}`))
	f.Add([]byte(`{"version":1,"types":[{"name":"A","fields":[{"name":"x","kinds":["array"],"count":1,"items":{"kinds":["object"],"count":1,"fields":[{"name":"y","kinds":["map"],"count":1,"values":{"kinds":["ref"],"count":1,"refTo":["A"]}}]}}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := schema.Parse(data)
		if err != nil {
			return
		}
		// Whatever parses can be written, read back, diffed and turned into code.
		j, err := s.JSON()
		if err != nil {
			t.Fatal(err)
		}
		back, err := schema.Parse(j)
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, j)
		}
		j2, _ := back.JSON()
		if !bytes.Equal(j, j2) {
			t.Fatalf("not stable:\n%s\n%s", j, j2)
		}
		schema.Diff(s, back)
		s.TypeScript()
		if _, err := s.Go("content"); err != nil {
			t.Fatalf("Go: %v", err)
		}
	})
}
