package files

// This file holds the decoders of outside input: Markdown front matter, YAML and JSON data files,
// all turned into one value tree (map[string]any, []any, string, json.Number, bool, nil) that
// encoding/json writes back as JSON.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Limits on one file's decoded value, so that a hostile file (a YAML alias bomb, deep nesting)
// fails with an error instead of exhausting memory or the stack.
const (
	maxValues = 1 << 20 // scalars, sequences and mappings produced, aliases expanded
	maxDepth  = 200
)

// lineError is a decoding problem at a line of the file (1-based; 0 when unknown).
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("line %d: %s", e.line, e.msg)
	}
	return e.msg
}

// frontMatter is a Markdown file split into its YAML front matter and its body.
type frontMatter struct {
	yaml     []byte // the YAML between the delimiters; nil when the file has none
	yamlLine int    // the file line where the YAML starts
	body     []byte // everything after the closing delimiter line (the whole file without front matter)
}

var utf8BOM = []byte("\xef\xbb\xbf")

// splitFrontMatter splits a Markdown file. Front matter is present when the first line is exactly
// "---"; it ends at the next line that is exactly "---" or "...". A file whose first line is "---"
// without a closing line is an error (rather than a silent thematic break).
func splitFrontMatter(data []byte) (frontMatter, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	first, rest, _ := cutLine(data)
	if !isDelimiter(first, "---") {
		return frontMatter{body: data}, nil
	}
	start := len(data) - len(rest)
	for pos := start; pos < len(data); {
		l, after, found := cutLine(data[pos:])
		if isDelimiter(l, "---") || isDelimiter(l, "...") {
			return frontMatter{yaml: data[start:pos], yamlLine: 2, body: after}, nil
		}
		if !found {
			break
		}
		pos += len(l) + 1
	}
	return frontMatter{}, &lineError{line: 1, msg: "front matter opened with \"---\" is never closed (want a line \"---\" after it)"}
}

func isDelimiter(line []byte, d string) bool {
	return string(bytes.TrimRight(line, " \t\r")) == d
}

// cutLine returns the first line of b (without '\n'), what follows it, and whether a '\n' was found.
func cutLine(b []byte) (line, rest []byte, found bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, nil, false
	}
	return b[:i], b[i+1:], true
}

// yamlDoc is a decoded YAML document: its value, and the line of each top-level key (for errors
// about a key that a later step finds wrong).
type yamlDoc struct {
	value   any
	keyLine map[string]int
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// decodeYAML decodes one YAML document into a value tree. firstLine is the file line of src's first
// line, so that errors name lines of the file. An empty document is nil. Mapping keys must be
// strings; timestamps become RFC 3339 UTC strings; NaN and infinities are rejected.
func decodeYAML(src []byte, firstLine int) (yamlDoc, error) {
	off := firstLine - 1
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return yamlDoc{}, nil
		}
		return yamlDoc{}, yamlError(err, off)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return yamlDoc{}, yamlError(err, off)
		}
		return yamlDoc{}, &lineError{line: extra.Line + off, msg: "a second YAML document: one document per file"}
	}
	c := &yamlConverter{off: off}
	v, err := c.value(&root, 0)
	if err != nil {
		return yamlDoc{}, err
	}
	doc := yamlDoc{value: v}
	if top := docContent(&root); top != nil && top.Kind == yaml.MappingNode {
		doc.keyLine = make(map[string]int, len(top.Content)/2)
		for i := 0; i+1 < len(top.Content); i += 2 {
			doc.keyLine[top.Content[i].Value] = top.Content[i].Line + off
		}
	}
	return doc, nil
}

func docContent(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		return n.Content[0]
	}
	return n
}

// yamlError rewrites the parser's "yaml: line N: msg" so that N is a line of the file.
func yamlError(err error, off int) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineRE.FindStringSubmatchIndex(msg); m != nil {
		n, _ := strconv.Atoi(msg[m[2]:m[3]])
		line = n + off
		msg = strings.TrimPrefix(msg[:m[0]]+msg[m[1]:], ": ")
		msg = strings.TrimSpace(msg)
	}
	return &lineError{line: line, msg: msg}
}

type yamlConverter struct {
	off    int
	values int
}

func (c *yamlConverter) errorf(n *yaml.Node, format string, args ...any) error {
	return &lineError{line: n.Line + c.off, msg: fmt.Sprintf(format, args...)}
}

func (c *yamlConverter) value(n *yaml.Node, depth int) (any, error) {
	c.values++
	if c.values > maxValues {
		return nil, c.errorf(n, "more than %d values (an alias expanding too much?)", maxValues)
	}
	if depth > maxDepth {
		return nil, c.errorf(n, "nested deeper than %d levels", maxDepth)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], depth)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, c.errorf(n, "alias %q to nothing", n.Value)
		}
		return c.value(n.Alias, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			v, err := c.value(e, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		return c.mapping(n, depth)
	case yaml.ScalarNode:
		return c.scalar(n)
	}
	return nil, c.errorf(n, "unexpected YAML node kind %d", n.Kind)
}

// mapping converts a YAML mapping. Keys must be strings. Merge keys ("<<") are honored: keys written
// in the mapping win over merged ones, and earlier merged mappings win over later ones.
func (c *yamlConverter) mapping(n *yaml.Node, depth int) (map[string]any, error) {
	out := make(map[string]any, len(n.Content)/2)
	seen := make(map[string]int, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		key, err := c.key(k)
		if err != nil {
			return nil, err
		}
		if first, dup := seen[key]; dup {
			return nil, c.errorf(k, "key %q repeated (first at line %d)", key, first)
		}
		seen[key] = k.Line + c.off
		val, err := c.value(v, depth+1)
		if err != nil {
			return nil, err
		}
		out[key] = val
	}
	for _, m := range merges {
		var sources []*yaml.Node
		target := m
		if target.Kind == yaml.AliasNode && target.Alias != nil {
			target = target.Alias
		}
		switch target.Kind {
		case yaml.MappingNode:
			sources = []*yaml.Node{m}
		case yaml.SequenceNode:
			sources = target.Content
		default:
			return nil, c.errorf(m, "merge key \"<<\" needs a mapping or a list of mappings")
		}
		for _, s := range sources {
			v, err := c.value(s, depth+1)
			if err != nil {
				return nil, err
			}
			mm, ok := v.(map[string]any)
			if !ok {
				return nil, c.errorf(s, "merge key \"<<\" needs a mapping or a list of mappings")
			}
			for k, val := range mm {
				if _, set := out[k]; !set {
					out[k] = val
				}
			}
		}
	}
	return out, nil
}

func (c *yamlConverter) key(k *yaml.Node) (string, error) {
	if k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		return "", c.errorf(k, "a mapping key must be a string, not a %s: JSON objects have string keys", kindName(k.Kind))
	}
	if t := k.ShortTag(); t != "!!str" {
		return "", c.errorf(k, "mapping key %q is a %s, not a string: JSON objects have string keys (quote it)", k.Value, strings.TrimPrefix(t, "!!"))
	}
	return k.Value, nil
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	case yaml.AliasNode:
		return "alias"
	case yaml.DocumentNode:
		return "document"
	}
	return "scalar"
}

func (c *yamlConverter) scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, c.errorf(n, "%q is not a boolean", n.Value)
		}
		return b, nil
	case "!!int":
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, c.errorf(n, "%q is not an integer", n.Value)
		}
		switch x := v.(type) {
		case int:
			return json.Number(strconv.FormatInt(int64(x), 10)), nil
		case int64:
			return json.Number(strconv.FormatInt(x, 10)), nil
		case uint64:
			return json.Number(strconv.FormatUint(x, 10)), nil
		case float64:
			return c.float(n, x)
		}
		return nil, c.errorf(n, "%q is not an integer", n.Value)
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, c.errorf(n, "%q is not a number", n.Value)
		}
		return c.float(n, f)
	case "!!timestamp":
		var t time.Time
		if err := n.Decode(&t); err != nil {
			return nil, c.errorf(n, "%q is not a timestamp", n.Value)
		}
		return t.UTC().Format(time.RFC3339Nano), nil
	case "!!binary":
		return strings.Join(strings.Fields(n.Value), ""), nil
	}
	// !!str and any application tag (!foo): the text as written.
	return n.Value, nil
}

func (c *yamlConverter) float(n *yaml.Node, f float64) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, c.errorf(n, "%s is not a finite number: JSON cannot hold it (quote it to keep it as text)", n.Value)
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
}

// decodeJSON decodes one JSON value into a value tree (numbers kept as written). Errors name the
// line.
func decodeJSON(data []byte) (any, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &lineError{msg: "empty file: want a JSON object or array"}
		}
		return nil, jsonError(data, err, dec.InputOffset())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &lineError{line: lineAt(data, dec.InputOffset()), msg: "data after the JSON value: one value per file"}
	}
	if err := checkDepth(v, 0); err != nil {
		return nil, err
	}
	return v, nil
}

func jsonError(data []byte, err error, off int64) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = se.Offset
	}
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		off = ute.Offset
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if errors.Is(err, io.ErrUnexpectedEOF) {
		msg = "unexpected end of file (truncated JSON?)"
		off = int64(len(data))
	}
	return &lineError{line: lineAt(data, off), msg: msg}
}

// lineAt returns the 1-based line of byte offset off.
func lineAt(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	return bytes.Count(data[:off], []byte("\n")) + 1
}

func checkDepth(v any, depth int) error {
	if depth > maxDepth {
		return &lineError{msg: fmt.Sprintf("nested deeper than %d levels", maxDepth)}
	}
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			if err := checkDepth(e, depth+1); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range x {
			if err := checkDepth(e, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// marshalFields writes a value tree as JSON without HTML escaping.
func marshalFields(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
