package schema_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/memsource"
	"github.com/contentmesh/contentmesh/mesh/schema"
)

func TestDiff(t *testing.T) {
	product := func(fields string) *mesh.Node { return node("shop", "Product", "1", fields) }
	tests := []struct {
		name     string
		old, new []*mesh.Node
		want     []string
	}{
		{
			name: "nothing changed",
			old:  []*mesh.Node{product(`{"title":"Mug","price":{"amount":"1.00","currencyCode":"EUR"}}`)},
			new:  []*mesh.Node{product(`{"title":"Cup","price":{"amount":"2.00","currencyCode":"EUR"}}`)},
		},
		{
			name: "added fields and types are not drift",
			old:  []*mesh.Node{product(`{"title":"Mug"}`)},
			new:  []*mesh.Node{product(`{"title":"Mug","vendor":"Acme"}`), node("cms", "Post", "1", `{}`)},
		},
		{
			name: "kind changed",
			old:  []*mesh.Node{product(`{"price":{"amount":"1.00","currencyCode":"EUR"},"stock":3}`)},
			new:  []*mesh.Node{product(`{"price":"1.00 EUR","stock":3.5}`)},
			want: []string{"Product.price: money -> string", "Product.stock: integer -> number"},
		},
		{
			name: "became nullable",
			old:  []*mesh.Node{product(`{"title":"Mug"}`)},
			new:  []*mesh.Node{product(`{"title":"Mug"}`), node("shop", "Product", "2", `{"title":null}`)},
			want: []string{"Product.title: string -> string|null"},
		},
		{
			name: "removed always-present field, removed optional field is not drift",
			old:  []*mesh.Node{product(`{"sku":"A","title":"Mug"}`), node("shop", "Product", "2", `{"sku":"B"}`)},
			new:  []*mesh.Node{product(`{"title":"Mug"}`), node("shop", "Product", "2", `{}`)},
			want: []string{"Product.sku: removed (was string on every node)"},
		},
		{
			name: "became optional",
			old:  []*mesh.Node{product(`{"sku":"A"}`), node("shop", "Product", "2", `{"sku":"B"}`)},
			new:  []*mesh.Node{product(`{"sku":"A"}`), node("shop", "Product", "2", `{}`)},
			want: []string{"Product.sku: now missing on some nodes (was on every one)"},
		},
		{
			name: "ref targets changed",
			old:  []*mesh.Node{node("cms", "Post", "1", `{"about":{"$ref":"shop/product/1"}}`), product(`{}`)},
			new:  []*mesh.Node{node("cms", "Post", "1", `{"about":{"$ref":"shop/collection/1"}}`), product(`{}`), node("shop", "Collection", "1", `{}`)},
			want: []string{"Post.about: ref<Product> -> ref<Collection>"},
		},
		{
			name: "nested and array elements",
			old:  []*mesh.Node{product(`{"seo":{"title":"x","noindex":false},"images":[{"url":"a","width":1}],"tags":[]}`)},
			new:  []*mesh.Node{product(`{"seo":{"title":5},"images":[{"url":"a","width":"1px"}],"tags":["x"]}`)},
			want: []string{"Product.images[].width: integer -> string", "Product.seo.noindex: removed (was boolean on every node)",
				"Product.seo.title: string -> integer"},
		},
		{
			name: "array elements changed kind",
			old:  []*mesh.Node{product(`{"tags":["a"]}`)},
			new:  []*mesh.Node{product(`{"tags":[1]}`)},
			want: []string{"Product.tags[]: string -> integer"},
		},
		{
			name: "type gone",
			old:  []*mesh.Node{product(`{}`), node("shop", "Collection", "1", `{}`), node("shop", "Collection", "2", `{}`)},
			new:  []*mesh.Node{product(`{}`)},
			want: []string{"Collection: no nodes any more (was 2 nodes)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := schema.Diff(schema.Infer(graph(tt.old...)), schema.Infer(graph(tt.new...)))
			var got []string
			for _, x := range d {
				got = append(got, x.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("drift:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
	if d := schema.Diff(nil, schema.Infer(sample())); d != nil {
		t.Errorf("no previous schema, drift %v", d)
	}
}

// TestOutputs runs two builds through the Extras hook: the output folder gets schema.json and
// mesh.d.ts, and a field whose kind changes shows up in report.json.
func TestOutputs(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	src, _ := memsource.New(memsource.Record{Namespace: "product", NativeID: "1", Type: "Product", Fields: json.RawMessage(`{"title":"Mug","stock":3}`)})
	build := func() *mesh.Build {
		t.Helper()
		prev, err := schema.ReadFile(filepath.Join(out, schema.FileName))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		store, _ := mesh.NewDirStore(filepath.Join(dir, "cache"))
		m, err := mesh.New(mesh.Options{Out: out, Store: store, Extras: schema.Outputs(prev)})
		if err != nil {
			t.Fatal(err)
		}
		m.Add("shop", src)
		b, err := m.Build(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := build()
	if len(b.Report.SchemaDrift) != 0 {
		t.Errorf("first build has drift %s", b.Report.SchemaDrift)
	}
	js, err := os.ReadFile(filepath.Join(out, "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := schema.Parse(js)
	if err != nil || s.Type("Product") == nil {
		t.Fatalf("schema.json: %v\n%s", err, js)
	}
	ts, err := os.ReadFile(filepath.Join(out, "mesh.d.ts"))
	if err != nil || !strings.Contains(string(ts), "stock: number;") {
		t.Fatalf("mesh.d.ts: %v\n%s", err, ts)
	}
	// Unchanged rebuild: same files, no drift.
	b = build()
	if len(b.Report.SchemaDrift) != 0 {
		t.Errorf("unchanged build has drift %s", b.Report.SchemaDrift)
	}
	if js2, _ := os.ReadFile(filepath.Join(out, "schema.json")); string(js2) != string(js) {
		t.Errorf("unchanged build changed schema.json")
	}
	// The stock field turns into a string.
	src.Put(memsource.Record{Namespace: "product", NativeID: "1", Type: "Product", Fields: json.RawMessage(`{"title":"Mug","stock":"plenty"}`)})
	b = build()
	drift, err := schema.DriftOf(&b.Report)
	if err != nil || len(drift) != 1 || drift[0].String() != "Product.stock: integer -> string" {
		t.Fatalf("drift %v %v (raw %s)", drift, err, b.Report.SchemaDrift)
	}
	report, _ := os.ReadFile(filepath.Join(out, "report.json"))
	var r struct {
		SchemaDrift []schema.Drift `json:"schemaDrift"`
	}
	if err := json.Unmarshal(report, &r); err != nil || len(r.SchemaDrift) != 1 || r.SchemaDrift[0].Field != "stock" {
		t.Errorf("report.json schemaDrift: %v %+v\n%s", err, r.SchemaDrift, report)
	}
}
