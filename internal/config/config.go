// Package config reads the contentmesh YAML configuration: ${VAR} expansion from the environment
// (an unset variable is an error naming it), unknown keys rejected with their line, and strict
// decoding of each source's block into its adapter's Config struct.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/contentmesh/contentmesh/mesh"
)

// File is the top level of mesh.yaml (DESIGN section 7).
type File struct {
	// Out is the output folder (default ".mesh").
	Out string `yaml:"out"`
	// Cache is the snapshot store: a directory (default ".mesh-cache"), or s3://bucket/prefix for
	// S3-compatible object storage (see mesh/s3store.ParseURL).
	Cache string `yaml:"cache"`
	// OnError is "fail" (default) or "stale".
	OnError string `yaml:"onError"`
	// Strict makes dangling references fail the build.
	Strict bool `yaml:"strict"`
	// Concurrency is how many sources fetch at once (0: all).
	Concurrency int `yaml:"concurrency"`
	// Graph is where the graph is kept: "auto" (default: in memory until its estimated size reaches
	// diskThreshold, then on disk), "memory" or "disk".
	Graph string `yaml:"graph"`
	// DiskThresholdText is auto's threshold as written: a size with a unit ("1GiB", "512MB").
	DiskThresholdText string `yaml:"diskThreshold"`
	// DiskThreshold is DiskThresholdText in bytes (0: mesh.DefaultDiskThreshold).
	DiskThreshold int64 `yaml:"-"`
	// GraphDir is where a disk-backed graph's scratch database goes (default: the system's
	// temporary directory).
	GraphDir string `yaml:"graphDir"`
	// Sources are the source blocks, each with name and type plus its adapter's keys.
	Sources []Source `yaml:"-"`
	// Links are the cross-source link rules.
	Links []mesh.LinkRule `yaml:"links"`

	// Dir is the directory holding the config file; relative paths are resolved against it.
	Dir string `yaml:"-"`
}

// Source is one entry of `sources:`.
type Source struct {
	Name string
	Type string
	// Node is the whole YAML mapping, with ${VAR}s expanded, for the adapter's decoder.
	Node *yaml.Node
	// Line is where the entry starts.
	Line int
}

// Error is a configuration error with its place.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Unwrap makes errors.Is(err, mesh.ErrInvalidConfig) true.
func (e *Error) Unwrap() error { return mesh.ErrInvalidConfig }

// Load reads and checks a config file. lookup resolves ${VAR} (os.LookupEnv when nil).
func Load(path string, lookup func(string) (string, bool)) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	f, err := Parse(path, data, lookup)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	f.Dir = abs
	return f, nil
}

// Parse checks config text; name is used in errors.
func Parse(name string, data []byte, lookup func(string) (string, bool)) (*File, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, &Error{File: name, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &Error{File: name, Line: 1, Msg: "the config must be a mapping with a sources list"}
	}
	root := doc.Content[0]
	if err := expand(name, root, lookup); err != nil {
		return nil, err
	}
	f := &File{}
	// Decode everything but sources strictly.
	if err := DecodeStrict(name, root, f, "sources"); err != nil {
		return nil, err
	}
	switch mesh.OnError(f.OnError) {
	case "", mesh.OnErrorFail, mesh.OnErrorStale:
	default:
		return nil, &Error{File: name, Line: keyLine(root, "onError"), Msg: fmt.Sprintf("onError %q: want fail or stale", f.OnError)}
	}
	switch mesh.GraphMode(f.Graph) {
	case "", mesh.GraphAuto, mesh.GraphMemory, mesh.GraphDisk:
	default:
		return nil, &Error{File: name, Line: keyLine(root, "graph"), Msg: fmt.Sprintf("graph %q: want auto, memory or disk", f.Graph)}
	}
	if f.DiskThresholdText != "" {
		n, err := ParseSize(f.DiskThresholdText)
		if err != nil {
			return nil, &Error{File: name, Line: keyLine(root, "diskThreshold"), Msg: "diskThreshold: " + err.Error()}
		}
		f.DiskThreshold = n
	}
	for i, l := range f.Links {
		if l.From == "" || l.To == "" || l.As == "" {
			return nil, &Error{File: name, Line: keyLine(root, "links"), Msg: fmt.Sprintf("links[%d]: from, to and as are required", i)}
		}
	}
	srcs := valueOf(root, "sources")
	if srcs == nil || srcs.Kind != yaml.SequenceNode || len(srcs.Content) == 0 {
		return nil, &Error{File: name, Line: keyLine(root, "sources"), Msg: "sources: want a list with at least one source"}
	}
	seen := map[string]int{}
	for _, s := range srcs.Content {
		if s.Kind != yaml.MappingNode {
			return nil, &Error{File: name, Line: s.Line, Msg: "each source must be a mapping with name and type"}
		}
		src := Source{Node: s, Line: s.Line}
		if v := valueOf(s, "name"); v != nil {
			src.Name = v.Value
		}
		if v := valueOf(s, "type"); v != nil {
			src.Type = v.Value
		}
		switch {
		case src.Name == "":
			return nil, &Error{File: name, Line: s.Line, Msg: "source without a name"}
		case !mesh.ValidSourceName(src.Name):
			return nil, &Error{File: name, Line: s.Line, Msg: fmt.Sprintf("source name %q: use 1-64 letters, digits, '-' or '_'", src.Name)}
		case src.Type == "":
			return nil, &Error{File: name, Line: s.Line, Msg: fmt.Sprintf("source %q has no type", src.Name)}
		}
		if prev, dup := seen[src.Name]; dup {
			return nil, &Error{File: name, Line: s.Line, Msg: fmt.Sprintf("source name %q is used twice (first on line %d)", src.Name, prev)}
		}
		seen[src.Name] = s.Line
		f.Sources = append(f.Sources, src)
	}
	return f, nil
}

// expand replaces ${VAR} in every scalar value (not in keys). "$${" is a literal "${".
func expand(file string, n *yaml.Node, lookup func(string) (string, bool)) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return nil
		}
		var b strings.Builder
		s := n.Value
		for {
			i := strings.Index(s, "${")
			if i < 0 {
				b.WriteString(s)
				break
			}
			if i > 0 && s[i-1] == '$' {
				b.WriteString(s[:i-1])
				b.WriteString("${")
				s = s[i+2:]
				continue
			}
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return &Error{File: file, Line: n.Line, Msg: fmt.Sprintf("unterminated ${ in %q", n.Value)}
			}
			name := s[i+2 : i+end]
			if !validVarName(name) {
				return &Error{File: file, Line: n.Line, Msg: fmt.Sprintf("bad variable name %q", name)}
			}
			val, ok := lookup(name)
			if !ok {
				return &Error{File: file, Line: n.Line, Msg: fmt.Sprintf("environment variable %s is not set", name)}
			}
			b.WriteString(s[:i])
			b.WriteString(val)
			s = s[i+end+1:]
		}
		n.Value = b.String()
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			n.Tag = "!!str" // quoted: text whatever the value looks like
		} else {
			n.Tag = "" // plain: resolved from the expanded text, so ${PORT} can fill an int
		}
		return nil
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			if err := expand(file, n.Content[i], lookup); err != nil {
				return err
			}
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			if err := expand(file, c, lookup); err != nil {
				return err
			}
		}
	case yaml.AliasNode:
		return &Error{File: file, Line: n.Line, Msg: "YAML aliases are not supported in the config"}
	}
	return nil
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (i > 0 && r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

func valueOf(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func keyLine(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line
		}
	}
	return m.Line
}

// DecodeStrict decodes a mapping node into v (a pointer to a struct with yaml tags), rejecting keys
// the struct does not have (including ",inline" structs), other than the keys in skip. Errors carry
// the line.
func DecodeStrict(file string, n *yaml.Node, v any, skip ...string) error {
	if n.Kind != yaml.MappingNode {
		return &Error{File: file, Line: n.Line, Msg: "want a mapping"}
	}
	allowed := map[string]bool{}
	collectKeys(reflect.TypeOf(v).Elem(), allowed)
	var keys []string
	for k := range allowed {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	filtered := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if slices.Contains(skip, k.Value) {
			continue
		}
		if !allowed[k.Value] {
			msg := fmt.Sprintf("unknown key %q", k.Value)
			if s := suggest(k.Value, keys); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return &Error{File: file, Line: k.Line, Msg: msg}
		}
		filtered.Content = append(filtered.Content, k, n.Content[i+1])
	}
	if err := filtered.Decode(v); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) && len(te.Errors) > 0 {
			var line int
			msg := te.Errors[0]
			if _, err := fmt.Sscanf(msg, "line %d:", &line); err == nil {
				_, msg, _ = strings.Cut(msg, ": ")
			}
			return &Error{File: file, Line: line, Msg: msg}
		}
		return &Error{File: file, Line: n.Line, Msg: err.Error()}
	}
	return nil
}

var durationType = reflect.TypeOf(time.Duration(0))

func collectKeys(t reflect.Type, into map[string]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == durationType {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			collectKeys(f.Type, into)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		into[name] = true
	}
}

// suggest returns the allowed key closest to k when it is a likely typo.
func suggest(k string, keys []string) string {
	best, bestD := "", 4
	for _, c := range keys {
		if d := distance(strings.ToLower(k), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// sizeUnits are the units ParseSize knows, in bytes (matched without regard to case).
var sizeUnits = map[string]float64{
	"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// ParseSize reads a size with a unit: "1GiB", "512 MB", "1.5GiB" (B, KB, MB, GB, TB in powers of
// 1000; KiB, MiB, GiB, TiB in powers of 1024). A number without a unit is an error: diskThreshold
// used to be a node count, and a count read as bytes would put every graph on disk.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	if unit == "" {
		return 0, fmt.Errorf("%q has no unit: want a size such as 1GiB or 512MB (it is no longer a node count)", s)
	}
	mult, ok := sizeUnits[unit]
	if !ok {
		return 0, fmt.Errorf("%q: unknown unit %q (want B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)", s, t[i:])
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" {
		return 0, fmt.Errorf("%q: want a number before the unit", s)
	}
	bytes := v * mult
	if bytes < 1 || bytes > 1<<62 {
		return 0, fmt.Errorf("%q: out of range", s)
	}
	return int64(bytes), nil
}
