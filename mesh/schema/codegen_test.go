package schema_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contentmesh/contentmesh/mesh/schema"
)

// usageTS uses mesh.d.ts the way a site would; the @ts-expect-error lines must fail to compile, so a
// Ref that lost its target type (or an optional field typed as present) makes tsc fail.
const usageTS = `import type { Graph, MeshNode, Money, NodeType, Post, Product, Ref, Resolve, Time, User, Node2, LowerCaseType } from "./mesh";

declare const g: Graph;
const posts: Post[] = g.nodes.filter((n): n is Post => n.type === "Post");
const p = posts[0];
const author: Ref<"User"> = p.fields.author;
// @ts-expect-error a reference to a User is not a reference to a Product
const notProduct: Ref<"Product"> = p.fields.author;
const who: User = {} as Resolve<typeof p.fields.author>;
const products: Ref<"Product">[] = p.fields.products;
const title: string = p.fields.title;
const when: Time = p.fields.publishedAt;
const seoTitle: string = p.fields.seo.title;
const noindex: boolean | undefined = p.fields.seo.noindex;
// @ts-expect-error noindex is missing on some posts
const noindexAlways: boolean = p.fields.seo.noindex;
const handles: string[] | undefined = p.fields["product-handles"];
const views: string | number = p.fields.views;
const extra: unknown[] | null = p.fields.extra;
const odd: string | undefined = p.fields["a\"b"];
const product = g.nodes.find((n): n is Product => n.type === "Product")!;
const price: Money = product.fields.price;
const max: Money = product.fields.priceRange.max;
const image: Ref<"Asset"> = product.fields.variants[0].image;
const related: Ref = product.fields.related;
const size: string = product.fields.options[0][0].name;
const t: NodeType = "lower-case type";
const lower: LowerCaseType["type"] = "lower-case type";
const n2: Node2["fields"]["ref"] = { $ref: "blog/post/1" };
function label(n: MeshNode): string {
  switch (n.type) {
    case "Post":
      return n.fields.title;
    case "Product":
      return n.fields.handle;
    case "User":
      return n.fields.displayName;
    default:
      return n.id;
  }
}
export { author, notProduct, who, products, title, when, seoTitle, noindex, noindexAlways, handles, views, extra, odd, price, max, image, related, size, t, lower, n2, label };
`

func TestTypeScriptCompiles(t *testing.T) {
	tsc, err := exec.LookPath("tsc")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tsc is not on PATH; CI installs it (npm install -g typescript)")
		}
		t.Skip("tsc is not on PATH")
	}
	dir := t.TempDir()
	ts := schema.Infer(sample()).TypeScript()
	os.WriteFile(filepath.Join(dir, "mesh.d.ts"), ts, 0o644)
	os.WriteFile(filepath.Join(dir, "usage.ts"), []byte(usageTS), 0o644)
	cmd := exec.Command(tsc, "--noEmit", "--strict", "mesh.d.ts", "usage.ts")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tsc: %v\n%s\n--- mesh.d.ts:\n%s", err, out, ts)
	}
	// The check can fail: a usage that contradicts the declarations is rejected.
	bad := strings.Replace(usageTS, "// @ts-expect-error a reference to a User is not a reference to a Product\n", "", 1)
	os.WriteFile(filepath.Join(dir, "usage.ts"), []byte(bad), 0o644)
	if out, err := cmd2(tsc, dir).CombinedOutput(); err == nil || !strings.Contains(string(out), `Ref<"User">`) {
		t.Errorf("tsc accepted a Ref<\"User\"> as a Ref<\"Product\">: %v\n%s", err, out)
	}
}

func cmd2(tsc, dir string) *exec.Cmd {
	c := exec.Command(tsc, "--noEmit", "--strict", "mesh.d.ts", "usage.ts")
	c.Dir = dir
	return c
}

func TestTypeScriptShape(t *testing.T) {
	ts := string(schema.Infer(sample()).TypeScript())
	for _, want := range []string{
		"export interface PostFields {",
		"  author: Ref<\"User\">;\n",
		"  \"product-handles\"?: string[];\n",
		"  \"a\\\"b\"?: string;\n",
		"  views: string | number;\n",
		"  extra: unknown[] | null;\n",
		"  publishedAt: Time;\n",
		"export interface Post extends Node<\"Post\", PostFields> {}",
		"export interface Node2 extends Node<\"Node\", Node2Fields> {}",
		"export interface LowerCaseType extends Node<\"lower-case type\", LowerCaseTypeFields> {}",
		"  \"lower-case type\": LowerCaseType;\n",
		"  related: Ref;\n",
		"  images: Ref<\"Asset\">[];\n",
		"export type MeshNode =\n  | Asset\n",
	} {
		if !strings.Contains(ts, want) {
			t.Errorf("mesh.d.ts lacks %q", want)
		}
	}
	if empty := string((&schema.Schema{Version: 1}).TypeScript()); !strings.Contains(empty, "export type MeshNode = never;") {
		t.Errorf("empty schema:\n%s", empty)
	}
}

// goMain decodes graph.json with the generated package and prints what a Go build would use.
const goMain = `package main

import (
	"encoding/json"
	"fmt"
	"os"

	"example.com/gen/content"
)

func main() {
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	var g content.Graph
	if err := json.Unmarshal(data, &g); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	p := g.Post[0]
	fmt.Println(len(g.Post), p.Fields.Title, p.Fields.Author.ID, p.Fields.PublishedAt.Format("2006-01-02"), *p.Fields.SEO.Noindex, string(p.Fields.Views))
	fmt.Println(len(p.Fields.Products), p.Fields.Products[0].ID, p.Fields.ProductHandles, p.Fields.Rating, *p.Fields.X123, *p.Fields.X)
	pr := g.Product[0]
	fmt.Println(pr.Fields.Price.Amount, pr.Fields.Price.CurrencyCode, pr.Fields.PriceRange.Max.Amount, pr.Fields.Variants[0].SKU, pr.Fields.Variants[0].Image.ID, pr.Fields.Options[0][0].Name)
	fmt.Println(g.Asset[0].Fields.Width, g.Asset[0].Fields.URL, g.User[0].Fields.Roles[0].ID, g.Node2[0].Fields.Ref.ID, g.LowerCaseType[0].Fields.V)
	fmt.Println(p.ID, p.Type, p.Source, len(g.User[0].Backrefs), len(p.Refs), p.Digest != "")
}
`

func TestGoCompilesAndDecodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	src, err := schema.Infer(sample()).Go("content")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "content"), 0o755)
	os.WriteFile(filepath.Join(dir, "content", "mesh.go"), src, 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte(goMain), 0o644)
	gomod := "module example.com/gen\n\ngo 1.26.0\n\nrequire github.com/contentmesh/contentmesh v0.0.0\n\nreplace github.com/contentmesh/contentmesh => " + repo + "\n"
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644)
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644)
	var graphJSON bytes.Buffer
	if err := sample().WriteGraphJSON(&graphJSON); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "graph.json"), graphJSON.Bytes(), 0o644)

	cmd := exec.Command(goBin, "run", ".", "graph.json")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run: %v\n%s\n--- generated:\n%s", err, out, src)
	}
	want := `2 Hello people/user/1 2026-03-01 false 10
1 shop/product/1 [mug] 4.5 digits dash
9.50 EUR 12.00 M-1 shop/asset/1 Size
640 https://cdn.example/mug.png people/role/1 blog/post/1 1
blog/post/1 Post blog 2 2 true
`
	if string(out) != want {
		t.Errorf("decoded:\n%s\nwant:\n%s\n--- generated:\n%s", out, want, src)
	}
}

func TestGoRejectsBadPackage(t *testing.T) {
	for _, pkg := range []string{"", "1x", "a-b", "_"} {
		if _, err := schema.Infer(sample()).Go(pkg); err == nil {
			t.Errorf("Go(%q) accepted", pkg)
		}
	}
}
