package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/schema"
)

// cmdSchema infers the schema of the last build's graph.json and writes schema.json and mesh.d.ts
// into its folder (as build does), and with -go a Go file of typed structs.
func (c *cli) cmdSchema(args []string) int {
	fs := c.flags("schema")
	of := addOutputFlags(fs)
	goFile := fs.String("go", "", "also write Go structs for the node types to this file")
	goPkg := fs.String("package", "", "package name of the -go file (default: its folder's name)")
	asJSON := fs.Bool("json", false, "print schema.json on stdout (and nothing else there)")
	if err := fs.Parse(args); err != nil {
		return parseFailed(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(c.stderr, "contentmesh schema: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *goPkg != "" && *goFile == "" {
		fmt.Fprintln(c.stderr, "contentmesh schema: -package needs -go FILE")
		return exitUsage
	}
	dir, err := of.dir(c.lookup)
	if err != nil {
		return c.fail(exitUsage, err)
	}
	g, err := loadGraph(dir)
	if err != nil {
		return c.fail(exitFailed, err)
	}
	s := schema.Infer(g)
	js, err := s.JSON()
	if err != nil {
		return c.fail(exitFailed, err)
	}
	var goSrc []byte
	if *goFile != "" {
		pkg := *goPkg
		if pkg == "" {
			pkg = packageFor(*goFile)
		}
		if goSrc, err = s.Go(pkg); err != nil {
			return c.fail(exitUsage, err)
		}
	}
	written := []string{filepath.Join(dir, schema.FileName), filepath.Join(dir, schema.TypeScriptFileName)}
	for i, data := range [][]byte{js, s.TypeScript()} {
		if err := writeFileAtomic(written[i], data); err != nil {
			return c.fail(exitFailed, err)
		}
	}
	if goSrc != nil {
		if err := writeFileAtomic(*goFile, goSrc); err != nil {
			return c.fail(exitFailed, err)
		}
		written = append(written, *goFile)
	}
	if *asJSON {
		c.stdout.Write(js)
		return exitOK
	}
	fields := 0
	for _, t := range s.Types {
		fields += len(t.Fields)
	}
	fmt.Fprintf(c.stdout, "%d types, %d fields: wrote %s\n", len(s.Types), fields, strings.Join(written, ", "))
	return exitOK
}

// packageFor derives a Go package name from the folder of file: its base name, lower-cased, with
// what is not a letter or digit dropped; "content" when nothing is left.
func packageFor(file string) string {
	abs, err := filepath.Abs(file)
	if err != nil {
		return "content"
	}
	var b strings.Builder
	for _, r := range strings.ToLower(filepath.Base(filepath.Dir(abs))) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9' && b.Len() > 0) {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "content"
	}
	return b.String()
}

// cmdQuery evaluates a gjson path over the last build's graph.json and prints the result as JSON.
// A path that matches nothing prints nothing and exits 1 (as grep does), so scripts can tell "no
// match" from an empty list: a query ending in #(...)# that finds no node prints [] and exits 0.
func (c *cli) cmdQuery(args []string) int {
	fs := c.flags("query")
	of := addOutputFlags(fs)
	pretty := fs.Bool("pretty", false, "indent the JSON (the default on a terminal)")
	compact := fs.Bool("compact", false, "print the JSON on one line (the default when piped)")
	raw := fs.Bool("raw", false, "print a string without quotes, and an array of scalars one per line")
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: contentmesh query [-config mesh.yaml | -out DIR] [-pretty | -compact] [-raw] '<gjson path>'\n\n"+
			"The path is evaluated over graph.json, {\"version\": 1, \"nodes\": [...]}, e.g.\n"+
			"  'nodes.#(type==\"Product\")#.fields.handle'      every product's handle\n"+
			"  'nodes.#(id==\"shop/product/1\").backrefs.#.from'  the nodes that reference one product\n\n")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return parseFailed(err)
	}
	if len(pos) != 1 || pos[0] == "" {
		fs.Usage()
		return exitUsage
	}
	if *pretty && *compact {
		fmt.Fprintln(c.stderr, "contentmesh query: -pretty and -compact exclude each other")
		return exitUsage
	}
	dir, err := of.dir(c.lookup)
	if err != nil {
		return c.fail(exitUsage, err)
	}
	data, err := readOutput(dir, "graph.json")
	if err != nil {
		return c.fail(exitFailed, err)
	}
	res := gjson.GetBytes(data, pos[0])
	if !res.Exists() {
		fmt.Fprintf(c.stderr, "contentmesh query: no match for %s in %s\n", pos[0], filepath.Join(dir, "graph.json"))
		return exitFailed
	}
	if *raw && printRaw(c.stdout, res) {
		return exitOK
	}
	indent := *pretty || (!*compact && c.isTerminal(c.stdout))
	var buf bytes.Buffer
	if indent {
		err = json.Indent(&buf, []byte(res.Raw), "", "  ")
	} else {
		err = json.Compact(&buf, []byte(res.Raw))
	}
	if err != nil {
		// Not JSON gjson can make (a modifier's output): print it as it is.
		buf.Reset()
		buf.WriteString(res.Raw)
	}
	buf.WriteByte('\n')
	c.stdout.Write(buf.Bytes())
	return exitOK
}

// printRaw prints a string as text, or an array of scalars one per line; it reports false (printing
// nothing) for other values, which are printed as JSON.
func printRaw(w io.Writer, res gjson.Result) bool {
	scalar := func(r gjson.Result) (string, bool) {
		switch r.Type {
		case gjson.String:
			return r.Str, true
		case gjson.Number, gjson.True, gjson.False, gjson.Null:
			return r.Raw, true
		}
		return "", false
	}
	if s, ok := scalar(res); ok {
		fmt.Fprintln(w, s)
		return true
	}
	if !res.IsArray() {
		return false
	}
	var lines []string
	for _, e := range res.Array() {
		s, ok := scalar(e)
		if !ok {
			return false
		}
		lines = append(lines, s)
	}
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	return true
}

// changedNode is one entry of `contentmesh diff -json`.
type changedNode struct {
	ID    string `json:"id"`
	Type  string `json:"type,omitempty"`
	Title string `json:"title,omitempty"`
}

// titleFields are tried in order for a node's title-ish label.
var titleFields = []string{"title", "name", "displayName", "handle", "slug", "fileName"}

// cmdDiff prints the change set of the last build (changes.json) with each node's type and title.
func (c *cli) cmdDiff(args []string) int {
	fs := c.flags("diff")
	of := addOutputFlags(fs)
	asJSON := fs.Bool("json", false, "print the change set as JSON with types and titles")
	if err := fs.Parse(args); err != nil {
		return parseFailed(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(c.stderr, "contentmesh diff: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	dir, err := of.dir(c.lookup)
	if err != nil {
		return c.fail(exitUsage, err)
	}
	data, err := readOutput(dir, "changes.json")
	if err != nil {
		return c.fail(exitFailed, err)
	}
	var cs mesh.ChangeSet
	if err := json.Unmarshal(data, &cs); err != nil {
		return c.fail(exitFailed, fmt.Errorf("%s: %w", filepath.Join(dir, "changes.json"), err))
	}
	// Label added and updated nodes from graph.json (deleted ones are gone from it).
	want := map[string]*changedNode{}
	for _, id := range append(append([]string{}, cs.Added...), cs.Updated...) {
		want[id] = &changedNode{ID: id}
	}
	if len(want) > 0 {
		if err := labelNodes(dir, want); err != nil {
			return c.fail(exitFailed, err)
		}
	}
	list := func(ids []string) []changedNode {
		out := make([]changedNode, 0, len(ids))
		for _, id := range ids {
			if n := want[id]; n != nil {
				out = append(out, *n)
			} else {
				out = append(out, changedNode{ID: id})
			}
		}
		return out
	}
	added, updated, deleted := list(cs.Added), list(cs.Updated), list(cs.Deleted)
	if *asJSON {
		out, _ := json.MarshalIndent(map[string][]changedNode{"added": added, "updated": updated, "deleted": deleted}, "", "  ")
		c.stdout.Write(append(out, '\n'))
		return exitOK
	}
	fmt.Fprintf(c.stdout, "last build: %d added, %d updated, %d deleted\n", len(added), len(updated), len(deleted))
	typeWidth, idWidth := 0, 0
	for _, n := range append(append([]changedNode{}, added...), updated...) {
		typeWidth, idWidth = max(typeWidth, len(n.Type)), max(idWidth, len(n.ID))
	}
	for _, group := range []struct {
		mark  string
		nodes []changedNode
	}{{"+", added}, {"~", updated}, {"-", deleted}} {
		for _, n := range group.nodes {
			line := fmt.Sprintf("%s %-*s  %-*s", group.mark, typeWidth, n.Type, idWidth, n.ID)
			if group.mark == "-" {
				line = fmt.Sprintf("%s %s", group.mark, n.ID)
			}
			if n.Title != "" {
				line += "  " + quoteTitle(n.Title)
			}
			fmt.Fprintln(c.stdout, strings.TrimRight(line, " "))
		}
	}
	return exitOK
}

// labelNodes fills the type and title of the wanted nodes from dir/graph.json.
func labelNodes(dir string, want map[string]*changedNode) error {
	data, err := readOutput(dir, "graph.json")
	if err != nil {
		return err
	}
	nodes := gjson.GetBytes(data, "nodes")
	if !nodes.IsArray() {
		return fmt.Errorf("%s: no nodes list", filepath.Join(dir, "graph.json"))
	}
	nodes.ForEach(func(_, n gjson.Result) bool {
		c := want[n.Get("id").Str]
		if c == nil {
			return true
		}
		c.Type = n.Get("type").Str
		fields := n.Get("fields")
		for _, f := range titleFields {
			if v := fields.Get(gjson.Escape(f)); v.Type == gjson.String && v.Str != "" {
				c.Title = v.Str
				break
			}
		}
		return true
	})
	return nil
}

// quoteTitle keeps a title on one line and says where it ends.
func quoteTitle(s string) string {
	if r := []rune(s); len(r) > 80 {
		s = string(r[:77]) + "..."
	}
	return fmt.Sprintf("%q", s)
}
