package files

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is an Emitter that keeps what it was given.
type recorder struct {
	mu      sync.Mutex
	upserts map[string]mesh.Node
	deletes []string
	failOn  int // Upsert number (1-based) that fails; 0: never
	calls   int
}

var errEmit = errors.New("emit refused")

func newRecorder() *recorder { return &recorder{upserts: map[string]mesh.Node{}} }

func (r *recorder) Upsert(n mesh.Node) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.failOn > 0 && r.calls == r.failOn {
		return errEmit
	}
	if !json.Valid(n.Fields) {
		return errors.New("invalid fields JSON for " + n.ID)
	}
	r.upserts[n.ID] = n
	return nil
}

func (r *recorder) Delete(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deletes = append(r.deletes, id)
	return nil
}

func (r *recorder) ids() []string {
	var ids []string
	for id := range r.upserts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func mustNew(t *testing.T, cfg Config) *Source {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// canon returns the canonical JSON of b, for comparisons that ignore key order.
func canon(t *testing.T, b []byte) string {
	t.Helper()
	c, _, err := mesh.Canonicalize(b)
	if err != nil {
		t.Fatalf("canonicalize %s: %v", b, err)
	}
	return string(c)
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" = no error
	}{
		{"ok", Config{Dir: "x"}, ""},
		{"no dir", Config{}, `"dir"`},
		{"absolute glob", Config{Dir: "x", Include: []string{"/a/*.md"}}, "include[0]"},
		{"dotdot glob", Config{Dir: "x", Include: []string{"*.md", "../*.md"}}, "include[1]"},
		{"bad pattern", Config{Dir: "x", Include: []string{"[.md"}}, "bad pattern"},
		{"ends with **", Config{Dir: "x", Include: []string{"posts/**"}}, "last segment"},
		{"empty pattern", Config{Dir: "x", Include: []string{""}}, "empty pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if !errors.Is(err, mesh.ErrInvalidConfig) {
				t.Errorf("err %v does not wrap mesh.ErrInvalidConfig", err)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern string
		path    string
		want    bool
	}{
		{"**/*.md", "a.md", true},
		{"**/*.md", "x/y/a.md", true},
		{"**/*.md", "x/y/a.json", false},
		{"posts/*.md", "posts/a.md", true},
		{"posts/*.md", "posts/x/a.md", false},
		{"posts/**/*.md", "posts/a.md", true},
		{"posts/**/*.md", "posts/x/y/a.md", true},
		{"posts/**/*.md", "pages/a.md", false},
		{"*/index.md", "a/index.md", true},
		{"**/**/*.md", "a.md", true},
		{"./docs/*.md", "docs/a.md", true},
		{"a?c.md", "abc.md", true},
	}
	for _, tt := range tests {
		g, err := compileGlob(tt.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tt.pattern, err)
		}
		if got := g.match(strings.Split(tt.path, "/")); got != tt.want {
			t.Errorf("%q match %q = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
	under := []struct {
		pattern, dir string
		want         bool
	}{
		{"posts/*.md", "posts", true},
		{"posts/*.md", "pages", false},
		{"posts/*.md", "posts/x", false},
		{"**/*.md", "any/depth", true},
		{"posts/**/*.md", "posts/x/y", true},
		{"*.md", "x", false},
	}
	for _, tt := range under {
		g, _ := compileGlob(tt.pattern)
		if got := g.mayMatchUnder(strings.Split(tt.dir, "/")); got != tt.want {
			t.Errorf("%q mayMatchUnder %q = %v, want %v", tt.pattern, tt.dir, got, tt.want)
		}
	}
}

func TestNaming(t *testing.T) {
	for in, want := range map[string]string{
		"posts": "post", "authors": "author", "categories": "category", "boxes": "box",
		"classes": "class", "matches": "match", "status": "status", "analysis": "analysis",
		"news": "new", "data": "data", "s": "s",
	} {
		if got := singular(in); got != want {
			t.Errorf("singular(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"blogPost": "BlogPost", "blog-post": "BlogPost", "blog_post": "BlogPost", "blog post": "BlogPost",
		"Post": "Post", "": "", "--": "", "été": "Été", "v2-item": "V2Item",
	} {
		if got := pascalCase(in); got != want {
			t.Errorf("pascalCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestResolveRef(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "authors/jane", want: "blog/authors/jane"},
		{in: "authors/jane.md", want: "blog/authors/jane"},
		{in: "authors/omar.YAML", want: "blog/authors/omar"},
		{in: "about", want: "blog/./about"},
		{in: "data/tags#go", want: "blog/data/tags#go"},
		{in: "data/tags.yaml#go", want: "blog/data/tags#go"},
		{in: "/posts/2024/recap", want: "blog/posts/2024%2Frecap"},
		{in: "./posts/2024/recap.md", want: "blog/posts/2024%2Frecap"},
		{in: "posts/2024/x/y", want: "blog/posts/2024%2Fx%2Fy"},
		{in: "shop/Product/42", want: "shop/Product/42"},
		{in: "other/ns/a%2Fb", want: "other/ns/a%2Fb"},
		{in: "a//b", err: "not a node id"},
		{in: "../secret", err: "not a path"},
		{in: "/", err: "not a path"},
		{in: "", err: "not a path"},
		{in: "a/./b/c/d", err: "not a path"},
		{in: "data/tags#", err: "not a path"},
	}
	for _, tt := range tests {
		got, err := resolveRef("blog", tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("resolveRef(%q) = %q, %v; want error with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("resolveRef(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if !mesh.ValidNodeID(got) {
			t.Errorf("resolveRef(%q) = %q is not a valid node id", tt.in, got)
		}
	}
}

// wantNode is what a mapping test checks: every field in Fields must match (canonical JSON).
type wantNode struct {
	ID, Type, NativeID string
	UpdatedAt          string
	Fields             map[string]string // field -> canonical JSON value
	Absent             []string          // fields that must not be there
}

func TestMapping(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		data   string
		unsafe bool
		want   []wantNode
	}{
		{
			name: "markdown with front matter",
			path: "posts/hello.md",
			data: "---\ntitle: Hello\ndate: 2024-03-01\ncount: 3\nratio: 0.5\ntags: [a, b]\nauthor: {$ref: authors/jane}\n---\n# Hi\n\nText *em*.\n",
			want: []wantNode{{
				ID: "blog/posts/hello", Type: "Post", NativeID: "hello", UpdatedAt: "2024-03-01T00:00:00Z",
				Fields: map[string]string{
					"title": `"Hello"`, "date": `"2024-03-01T00:00:00Z"`, "count": `3`, "ratio": `0.5`,
					"tags": `["a","b"]`, "author": `{"$ref":"blog/authors/jane"}`,
					"body": `"# Hi\n\nText *em*.\n"`, "html": `"<h1>Hi</h1>\n<p>Text <em>em</em>.</p>\n"`,
					"path": `"posts/hello.md"`,
				},
			}},
		},
		{
			name: "no front matter at top level",
			path: "about.markdown",
			data: "Just text.",
			want: []wantNode{{ID: "blog/./about", Type: "File", NativeID: "about",
				Fields: map[string]string{"body": `"Just text."`, "path": `"about.markdown"`}}},
		},
		{
			name: "nested folder, type from front matter, updatedAt wins over date",
			path: "posts/2024/recap.md",
			data: "---\ntype: blog-post\ndate: 2024-01-01\nupdatedAt: 2024-02-03T04:05:06+01:00\n---\n",
			want: []wantNode{{ID: "blog/posts/2024%2Frecap", Type: "BlogPost", NativeID: "2024/recap", UpdatedAt: "2024-02-03T03:05:06Z",
				Fields: map[string]string{"type": `"blog-post"`, "updatedAt": `"2024-02-03T03:05:06Z"`, "body": `""`}}},
		},
		{
			name: "empty front matter and CRLF",
			path: "authors/jane.md",
			data: "---\r\n---\r\nHi\r\n",
			want: []wantNode{{ID: "blog/authors/jane", Type: "Author", NativeID: "jane",
				Fields: map[string]string{"body": `"Hi\r\n"`}}},
		},
		{
			name: "front matter closed by ... and a BOM",
			path: "categories/go.md",
			data: "\ufeff---\nname: Go\n...\nbody",
			want: []wantNode{{ID: "blog/categories/go", Type: "Category", Fields: map[string]string{"name": `"Go"`, "body": `"body"`}}},
		},
		{
			name: "date string in front matter",
			path: "posts/x.md",
			data: "---\ndate: \"2024-05-06\"\n---\n",
			want: []wantNode{{ID: "blog/posts/x", Type: "Post", UpdatedAt: "2024-05-06T00:00:00Z", Fields: map[string]string{"date": `"2024-05-06"`}}},
		},
		{
			name: "unparsable date leaves updatedAt unknown",
			path: "posts/x.md",
			data: "---\ndate: next tuesday\n---\n",
			want: []wantNode{{ID: "blog/posts/x", Type: "Post", Fields: map[string]string{"date": `"next tuesday"`}}},
		},
		{
			name: "raw HTML omitted by default",
			path: "posts/x.md",
			data: "<script>alert(1)</script>\n\n[x](javascript:alert(1)) ~~gone~~\n",
			want: []wantNode{{ID: "blog/posts/x", Type: "Post", Fields: map[string]string{
				"html": `"<!-- raw HTML omitted -->\n<p><a href=\"\">x</a> <del>gone</del></p>\n"`}}},
		},
		{
			name:   "raw HTML kept when unsafeHTML",
			path:   "posts/x.md",
			data:   "<aside>note</aside>\n",
			unsafe: true,
			want:   []wantNode{{ID: "blog/posts/x", Type: "Post", Fields: map[string]string{"html": `"<aside>note</aside>\n"`}}},
		},
		{
			name: "yaml merge keys, anchors, nulls, binary, big ints, nested dates",
			path: "authors/omar.yaml",
			data: "base: &b {a: 1, b: 2}\nmerged:\n  <<: *b\n  b: 3\nnothing: ~\nblob: !!binary aGVs\n  bG8=\nbig: 18446744073709551615\nhex: 0x1F\nwhen: [2024-01-02T03:04:05.5Z]\nemoji: \"\\u00e9\"\n",
			want: []wantNode{{ID: "blog/authors/omar", Type: "Author", NativeID: "omar", Fields: map[string]string{
				"base": `{"a":1,"b":2}`, "merged": `{"a":1,"b":3}`, "nothing": `null`, "blob": `"aGVsbG8="`,
				"big": `18446744073709551615`, "hex": `31`, "when": `["2024-01-02T03:04:05.5Z"]`, "emoji": `"é"`,
				"path": `"authors/omar.yaml"`,
			}, Absent: []string{"body", "html"}}},
		},
		{
			name: "json object keeps numbers as written, type field",
			path: "data/site.json",
			data: `{"type": "siteConfig", "n": 12345678901234567890, "f": 1.50, "s": "<b>&</b>", "r": {"$ref": "posts/hello"}}`,
			want: []wantNode{{ID: "blog/data/site", Type: "SiteConfig", NativeID: "site", Fields: map[string]string{
				"n": `12345678901234567890`, "f": `1.5`, "s": `"<b>&</b>"`, "r": `{"$ref":"blog/posts/hello"}`, "path": `"data/site.json"`,
			}}},
		},
		{
			name: "json array: id field or index, per-element type",
			path: "data/tags.json",
			data: `[{"id": "go", "name": "Go"}, {"name": "none"}, {"id": 7}, {"id": "x", "type": "special_tag", "see": [{"$ref": "data/tags#go"}]}]`,
			want: []wantNode{
				{ID: "blog/data/tags#go", Type: "Tag", NativeID: "tags#go", Fields: map[string]string{"name": `"Go"`, "path": `"data/tags.json"`}},
				{ID: "blog/data/tags#1", Type: "Tag", NativeID: "tags#1", Fields: map[string]string{"name": `"none"`}},
				{ID: "blog/data/tags#7", Type: "Tag", NativeID: "tags#7", Fields: map[string]string{"id": `7`}},
				{ID: "blog/data/tags#x", Type: "SpecialTag", Fields: map[string]string{"see": `[{"$ref":"blog/data/tags#go"}]`}},
			},
		},
		{
			name: "yaml array at top level takes the file's name",
			path: "categories.yml",
			data: "- id: a\n- id: b\n",
			want: []wantNode{{ID: "blog/./categories#a", Type: "Category"}, {ID: "blog/./categories#b", Type: "Category"}},
		},
		{
			name: "other extensions are Markdown",
			path: "notes/a.txt",
			data: "---\nx: 1\n---\n*hi*",
			want: []wantNode{{ID: "blog/notes/a", Type: "Note", Fields: map[string]string{"x": `1`, "html": `"<p><em>hi</em></p>\n"`}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, Config{Dir: ".", UnsafeHTML: tt.unsafe})
			nodes, err := s.mapFile("blog", tt.path, []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if len(nodes) != len(tt.want) {
				t.Fatalf("got %d nodes, want %d", len(nodes), len(tt.want))
			}
			for i, w := range tt.want {
				n := nodes[i]
				if n.ID != w.ID || n.Type != w.Type || (w.NativeID != "" && n.NativeID != w.NativeID) {
					t.Errorf("node %d: id/type/native = %q %q %q, want %q %q %q", i, n.ID, n.Type, n.NativeID, w.ID, w.Type, w.NativeID)
				}
				gotTime := ""
				if !n.UpdatedAt.IsZero() {
					gotTime = n.UpdatedAt.Format(time.RFC3339Nano)
				}
				if gotTime != w.UpdatedAt {
					t.Errorf("node %d: updatedAt = %q, want %q", i, gotTime, w.UpdatedAt)
				}
				var fields map[string]json.RawMessage
				if err := json.Unmarshal(n.Fields, &fields); err != nil {
					t.Fatalf("fields %s: %v", n.Fields, err)
				}
				for k, want := range w.Fields {
					got, ok := fields[k]
					if !ok {
						t.Errorf("node %d: no field %q in %s", i, k, n.Fields)
						continue
					}
					if g := canon(t, got); g != canon(t, []byte(want)) {
						t.Errorf("node %d: field %q = %s, want %s", i, k, g, want)
					}
				}
				for _, k := range w.Absent {
					if _, ok := fields[k]; ok {
						t.Errorf("node %d: field %q should not be there", i, k)
					}
				}
			}
		})
	}
}

func TestMappingErrors(t *testing.T) {
	tests := []struct {
		name string
		path string
		data string
		line int    // FileError.Line wanted; -1: don't check
		want string // substring of the message
	}{
		{"bad front matter", "posts/a.md", "---\ntitle: ok\nbad: [unclosed\nmore: x\n---\n", -1, "front matter"},
		{"bad front matter line", "posts/a.md", "---\ntitle: ok\n  bad: indent: x\n---\n", 3, "mapping values are not allowed"},
		{"unclosed front matter", "posts/a.md", "---\ntitle: x\n", 1, "never closed"},
		{"front matter is a list", "posts/a.md", "---\n- a\n- b\n---\n", 2, "want a YAML mapping"},
		{"non-string key", "posts/a.md", "---\ntitle: x\nyears:\n  2024: good\n---\n", 4, `key "2024" is a int`},
		{"bool key", "authors/a.yaml", "a: 1\ntrue: x\n", 2, `key "true" is a bool`},
		{"mapping as key", "authors/a.yaml", "? {a: 1}\n: x\n", 1, "mapping key must be a string"},
		{"duplicate key", "authors/a.yaml", "a: 1\nb: 2\na: 3\n", 3, "repeated (first at line 1)"},
		{"NaN", "posts/a.md", "---\nx: .nan\n---\n", 2, "not a finite number"},
		{"reserved key", "posts/a.md", "---\ntitle: x\npath: /custom\n---\n", 3, `"path" is reserved`},
		{"type not a string", "posts/a.md", "---\ntype: 12\n---\n", 2, `"type" is the number 12`},
		{"empty type", "posts/a.md", "---\ntype: '--'\n---\n", 2, `"type" is "--"`},
		{"ref escapes dir", "posts/a.md", "---\nauthor: {$ref: ../x}\n---\n", 2, `field "author"`},
		{"ref not a string", "posts/a.md", "---\nlist: [{$ref: 3}]\n---\n", 2, "$ref is the number 3"},
		{"two yaml docs", "authors/a.yaml", "a: 1\n---\nb: 2\n", 2, "second YAML document"},
		{"empty yaml", "authors/a.yaml", "", -1, "empty file"},
		{"yaml scalar", "authors/a.yaml", "hello\n", -1, "got a string"},
		{"json syntax line", "data/a.json", "{\n  \"a\": 1,\n  \"b\": ,\n}\n", 3, "invalid character"},
		{"json truncated", "data/a.json", "{\"a\": [1, 2", 1, "unexpected end"},
		{"json trailing data", "data/a.json", "{}\n{}", 2, "data after the JSON value"},
		{"json element not object", "data/a.json", `[{"id": "a"}, 3]`, -1, "element 1 is a number"},
		{"json duplicate element id", "data/a.json", `[{"id": "a"}, {"id": "a"}]`, -1, `elements 0 and 1 both have id "a"`},
		{"json element id float", "data/a.json", `[{"id": 1.5}]`, -1, "not an integer"},
		{"json element id object", "data/a.json", `[{"id": {}}]`, -1, "want a string or an integer"},
		{"json reserved path", "data/a.json", `{"path": "x"}`, -1, `"path" is reserved`},
		{"yaml alias bomb", "authors/a.yaml", bomb(), -1, "more than"},
		{"deep json", "data/a.json", strings.Repeat("[", 300) + strings.Repeat("]", 300), -1, "nested deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, Config{Dir: "."})
			_, err := s.mapFile("blog", tt.path, []byte(tt.data))
			if err == nil {
				t.Fatal("no error")
			}
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FileError", err)
			}
			if fe.Path != tt.path {
				t.Errorf("path = %q, want %q", fe.Path, tt.path)
			}
			if tt.line >= 0 && fe.Line != tt.line {
				t.Errorf("line = %d, want %d (%v)", fe.Line, tt.line, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || !strings.HasPrefix(msg, "files: "+tt.path) {
				t.Errorf("error %q: want prefix %q and %q", msg, "files: "+tt.path, tt.want)
			}
		})
	}
}

// bomb is a YAML alias "billion laughs" document.
func bomb() string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestFetchBlog(t *testing.T) {
	s := mustNew(t, Config{Dir: "testdata/blog"})
	rec := newRecorder()
	res, err := s.Fetch(context.Background(), mesh.FetchRequest{Source: "blog"}, rec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Delta {
		t.Error("a fetch without cursor must be full")
	}
	want := []string{
		"blog/./about", "blog/authors/jane", "blog/authors/omar", "blog/data/site", "blog/data/tags#2",
		"blog/data/tags#go", "blog/data/tags#jamstack", "blog/posts/2024%2Frecap", "blog/posts/hello-world",
		"blog/posts/second-post",
	}
	if got := rec.ids(); !slices.Equal(got, want) {
		t.Errorf("ids:\n got %q\nwant %q", got, want)
	}
	var cur cursor
	if err := json.Unmarshal(res.Cursor, &cur); err != nil {
		t.Fatal(err)
	}
	if len(cur.Files) != 8 || cur.Files["data/tags.yaml"].IDs == nil {
		t.Errorf("cursor files = %v", cur.Files)
	}

	// Only markdown under posts.
	s2 := mustNew(t, Config{Dir: "testdata/blog", Include: []string{"posts/*.md"}})
	rec2 := newRecorder()
	if _, err := s2.Fetch(context.Background(), mesh.FetchRequest{Source: "b"}, rec2); err != nil {
		t.Fatal(err)
	}
	if got, want := rec2.ids(), []string{"b/posts/hello-world", "b/posts/second-post"}; !slices.Equal(got, want) {
		t.Errorf("include posts/*.md: got %q, want %q", got, want)
	}
}

func TestFetchErrors(t *testing.T) {
	t.Run("missing dir", func(t *testing.T) {
		s := mustNew(t, Config{Dir: filepath.Join(t.TempDir(), "nope")})
		_, err := s.Fetch(context.Background(), mesh.FetchRequest{Source: "b"}, newRecorder())
		if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "nope") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("two files make one id", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"posts/a.md": "x", "posts/a.json": `{"x": 1}`})
		s := mustNew(t, Config{Dir: dir})
		_, err := s.Fetch(context.Background(), mesh.FetchRequest{Source: "b"}, newRecorder())
		if err == nil || !strings.Contains(err.Error(), "posts/a.json and posts/a.md both make node \"b/posts/a\"") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("first bad file by path, count of others", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"posts/b.md": "---\nx: [\n---\n", "posts/a.md": "---\nx: 1\n", "posts/ok.md": "fine"})
		s := mustNew(t, Config{Dir: dir})
		_, err := s.Fetch(context.Background(), mesh.FetchRequest{Source: "b"}, newRecorder())
		var fe *FileError
		if !errors.As(err, &fe) || fe.Path != "posts/a.md" || !strings.Contains(err.Error(), "and 1 more") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("emit error returned unchanged and stops", func(t *testing.T) {
		s := mustNew(t, Config{Dir: "testdata/blog"})
		rec := newRecorder()
		rec.failOn = 2
		_, err := s.Fetch(context.Background(), mesh.FetchRequest{Source: "b"}, rec)
		if !errors.Is(err, errEmit) {
			t.Fatalf("err = %v, want the emitter's error", err)
		}
		if rec.calls != 2 {
			t.Errorf("%d upserts after the failing one", rec.calls-2)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		s := mustNew(t, Config{Dir: "testdata/blog"})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		rec := newRecorder()
		_, err := s.Fetch(ctx, mesh.FetchRequest{Source: "b"}, rec)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if len(rec.upserts) != 0 {
			t.Errorf("emitted %d nodes after cancel", len(rec.upserts))
		}
	})
}

func TestHiddenAndSymlinks(t *testing.T) {
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"secret.md": "---\ntitle: secret\n---\n", "folder/x.md": "x"})
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"posts/a.md":          "a",
		"posts/.hidden.md":    "h",
		".git/config.md":      "g",
		"posts/.drafts/d.md":  "d",
		"authors/real.md":     "r",
		"posts/_index.md":     "i",
		"posts/readme.txt":    "not included",
		"posts/deep/x/y/z.md": "z",
	})
	links := map[string]string{
		"posts/leak.md":     filepath.Join(outside, "secret.md"), // outside: skipped
		"posts/leakdir":     filepath.Join(outside, "folder"),    // folder outside: skipped
		"posts/alias.md":    "../authors/real.md",                // inside: read
		"posts/dangling.md": "../nowhere.md",                     // nowhere: skipped
		"posts/loop":        "..",                                // folder inside: not walked
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Skip("symlinks unsupported:", err)
		}
	}
	s := mustNew(t, Config{Dir: dir})
	rec := newRecorder()
	if _, err := s.Fetch(context.Background(), mesh.FetchRequest{Source: "b"}, rec); err != nil {
		t.Fatal(err)
	}
	want := []string{"b/authors/real", "b/posts/_index", "b/posts/a", "b/posts/alias", "b/posts/deep%2Fx%2Fy%2Fz"}
	if got := rec.ids(); !slices.Equal(got, want) {
		t.Errorf("ids:\n got %q\nwant %q", got, want)
	}
	alias := rec.upserts["b/posts/alias"]
	if got := alias.Get("body").String(); got != "r" {
		t.Errorf("symlinked file body = %q, want the target's", got)
	}
}

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		writeFile(t, dir, name, content)
	}
}

func writeFile(t testing.TB, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func removeFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(n))); err != nil {
			t.Fatal(err)
		}
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// deltaSpy wraps a Source and remembers the last result.
type deltaSpy struct {
	*Source
	last mesh.FetchResult
	emit *recorder
}

func (d *deltaSpy) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	d.emit = newRecorder()
	res, err := d.Source.Fetch(ctx, req, teeEmitter{out, d.emit})
	d.last = res
	return res, err
}

type teeEmitter struct{ a, b mesh.Emitter }

func (t teeEmitter) Upsert(n mesh.Node) error {
	if err := t.a.Upsert(n); err != nil {
		return err
	}
	return t.b.Upsert(n)
}

func (t teeEmitter) Delete(id string) error {
	if err := t.a.Delete(id); err != nil {
		return err
	}
	return t.b.Delete(id)
}

// build runs the engine over dir with a snapshot store in cache, returning graph.json bytes.
func build(t *testing.T, dir, cache string, cfg Config) ([]byte, *mesh.Build, *deltaSpy) {
	t.Helper()
	cfg.Dir = dir
	spy := &deltaSpy{Source: mustNew(t, cfg)}
	store, err := mesh.NewDirStore(cache)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mesh.New(mesh.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add("blog", spy); err != nil {
		t.Fatal(err)
	}
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := b.Graph.WriteGraphJSON(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), b, spy
}

// TestIncremental edits, adds and deletes files between builds, and checks that the delta build
// gives the same graph as a full build of the new state.
func TestIncremental(t *testing.T) {
	type step struct {
		name    string
		write   map[string]string
		remove  []string
		upserts []string // node IDs the delta must upsert
		deletes []string // node IDs the delta must delete
		added   []string // the build's change set
		updated []string
		deleted []string
	}
	steps := []step{
		{
			name:  "nothing changed",
			added: nil, updated: nil, deleted: nil,
		},
		{
			name:    "edit a post",
			write:   map[string]string{"posts/hello-world.md": "---\ntitle: Hello again\nauthor: {$ref: authors/jane}\n---\nNew body.\n"},
			upserts: []string{"blog/posts/hello-world"},
			// The tag nodes lose their backrefs from the post: their digest is unchanged, so they are not updated.
			updated: []string{"blog/posts/hello-world"},
		},
		{
			name:    "add a post and an author",
			write:   map[string]string{"posts/third.md": "---\nauthor: {$ref: authors/li}\n---\nThird.\n", "authors/li.json": `{"name": "Li"}`},
			upserts: []string{"blog/authors/li", "blog/posts/third"},
			added:   []string{"blog/authors/li", "blog/posts/third"},
		},
		{
			name:    "delete a file and an array element, rename an element",
			write:   map[string]string{"data/tags.yaml": "- id: go\n  name: Go\n- id: web\n  name: Web\n"},
			remove:  []string{"authors/omar.yaml"},
			upserts: []string{"blog/data/tags#go", "blog/data/tags#web"},
			deletes: []string{"blog/authors/omar", "blog/data/tags#2", "blog/data/tags#jamstack"},
			added:   []string{"blog/data/tags#web"},
			deleted: []string{"blog/authors/omar", "blog/data/tags#2", "blog/data/tags#jamstack"},
		},
		{
			name:    "a node moves from one file to another",
			write:   map[string]string{"authors/li.md": "---\nname: Li\n---\n"},
			remove:  []string{"authors/li.json"},
			upserts: []string{"blog/authors/li"},
			updated: []string{"blog/authors/li"},
		},
		{
			name:    "type changes in front matter",
			write:   map[string]string{"posts/third.md": "---\ntype: note\n---\nThird.\n"},
			upserts: []string{"blog/posts/third"},
			updated: []string{"blog/posts/third"},
		},
	}
	work := t.TempDir()
	copyDir(t, "testdata/blog", work)
	cache := filepath.Join(t.TempDir(), "cache")
	first, _, spy := build(t, work, cache, Config{})
	if spy.last.Delta {
		t.Fatal("first build must be full")
	}
	prev := first
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			writeFiles(t, work, st.write)
			removeFiles(t, work, st.remove...)
			got, b, spy := build(t, work, cache, Config{})
			if !spy.last.Delta {
				t.Fatal("rebuild with a cursor must be a delta")
			}
			if ids := spy.emit.ids(); !slices.Equal(ids, st.upserts) {
				t.Errorf("delta upserts %q, want %q", ids, st.upserts)
			}
			dels := slices.Sorted(slices.Values(spy.emit.deletes))
			if !slices.Equal(dels, st.deletes) {
				t.Errorf("delta deletes %q, want %q", dels, st.deletes)
			}
			ch := b.Changes
			if !slices.Equal(ch.Added, st.added) || !slices.Equal(ch.Updated, st.updated) || !slices.Equal(ch.Deleted, st.deleted) {
				t.Errorf("changes = %+v, want added %q updated %q deleted %q", ch, st.added, st.updated, st.deleted)
			}
			// A full build of the new state, from nothing, gives the same graph.
			full, _, fspy := build(t, work, filepath.Join(t.TempDir(), "fresh"), Config{})
			if fspy.last.Delta {
				t.Fatal("build without snapshot must be full")
			}
			if !bytes.Equal(got, full) {
				t.Errorf("step %d: delta graph differs from full graph:\ndelta: %s\n full: %s", i, got, full)
			}
			if i == 0 && !bytes.Equal(got, prev) {
				t.Errorf("unchanged rebuild changed the graph")
			}
			prev = got
		})
	}
}

func TestCursorFallbacks(t *testing.T) {
	s := mustNew(t, Config{Dir: "testdata/blog"})
	res, err := s.Fetch(context.Background(), mesh.FetchRequest{Source: "blog"}, newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	other := mustNew(t, Config{Dir: "testdata/blog", UnsafeHTML: true})
	tests := []struct {
		name   string
		src    *Source
		source string
		cursor json.RawMessage
		delta  bool
	}{
		{"same config", s, "blog", res.Cursor, true},
		{"other config", other, "blog", res.Cursor, false},
		{"other source name", s, "blog2", res.Cursor, false},
		{"garbage", s, "blog", json.RawMessage(`"x"`), false},
		{"wrong version", s, "blog", json.RawMessage(`{"v": 2, "files": {}}`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			r, err := tt.src.Fetch(context.Background(), mesh.FetchRequest{Source: tt.source, Cursor: tt.cursor}, rec)
			if err != nil {
				t.Fatal(err)
			}
			if r.Delta != tt.delta {
				t.Errorf("delta = %v, want %v", r.Delta, tt.delta)
			}
			if tt.delta && len(rec.upserts)+len(rec.deletes) != 0 {
				t.Errorf("unchanged delta emitted %d upserts, %d deletes", len(rec.upserts), len(rec.deletes))
			}
			if !tt.delta && len(rec.upserts) != 10 {
				t.Errorf("full fetch emitted %d nodes, want 10", len(rec.upserts))
			}
		})
	}
}

func TestConcurrentFetches(t *testing.T) {
	s := mustNew(t, Config{Dir: "testdata/blog"})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			rec := newRecorder()
			if _, err := s.Fetch(context.Background(), mesh.FetchRequest{Source: "blog"}, rec); err != nil {
				t.Error(err)
			}
			if len(rec.upserts) != 10 {
				t.Errorf("%d nodes", len(rec.upserts))
			}
		})
	}
	wg.Wait()
}

// TestLinkRule backs the package documentation: a plain front matter value becomes a reference
// through a link rule matching the target's nativeId.
func TestLinkRule(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"posts/a.md":      "---\nauthor: jane\n---\n",
		"authors/jane.md": "---\nname: Jane\n---\n",
	})
	m, err := mesh.New(mesh.Options{Links: []mesh.LinkRule{{From: "Post.author", To: "Author.nativeId", As: "authorRef"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add("blog", mustNew(t, Config{Dir: dir})); err != nil {
		t.Fatal(err)
	}
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	post, _ := b.Graph.Get("blog/posts/a")
	if got := post.Get("authorRef.0.$ref").String(); got != "blog/authors/jane" {
		t.Errorf("authorRef = %q in %s", got, post.Fields)
	}
}
