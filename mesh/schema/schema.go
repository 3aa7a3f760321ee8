// Package schema infers the shape of a content graph: every node type with the fields its nodes
// carry, each field's kinds (string, time, integer, number, boolean, money, reference to which types,
// array of what, nested object, map, null), whether every node has it, and how many values were
// seen. From that it writes schema.json, TypeScript declarations (mesh.d.ts) and Go structs, and it
// reports schema drift: fields whose type changed since the previous build.
//
// Inference is deterministic: types, fields, kinds and reference targets are sorted, so the same
// graph gives the same bytes.
//
// The CLI writes schema.json and mesh.d.ts into every output folder through Outputs, a
// mesh.Options.Extras hook; a Go build does the same:
//
//	prev, _ := schema.ReadFile(filepath.Join(out, schema.FileName)) // nil on the first build
//	m, _ := mesh.New(mesh.Options{Out: out, Extras: schema.Outputs(prev)})
package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
)

// Version is the "version" written in schema.json.
const Version = 1

// File names in the output folder.
const (
	// FileName is the schema's JSON form.
	FileName = "schema.json"
	// TypeScriptFileName holds the TypeScript declarations.
	TypeScriptFileName = "mesh.d.ts"
)

// Kind is one kind of JSON value seen in a field.
type Kind string

// The kinds, in the order a Value lists them.
const (
	// KindString is a string that is not always an RFC 3339 time.
	KindString Kind = "string"
	// KindTime is an RFC 3339 date-time string ("2026-03-01T00:00:00Z").
	KindTime Kind = "time"
	// KindInteger is a number written without fraction or exponent that fits an int64.
	KindInteger Kind = "integer"
	// KindNumber is any other number.
	KindNumber Kind = "number"
	// KindBoolean is true or false.
	KindBoolean Kind = "boolean"
	// KindMoney is {"amount": "<decimal>", "currencyCode": "<ISO 4217>"} and nothing else.
	KindMoney Kind = "money"
	// KindRef is a reference {"$ref": "<node id>"}; Value.RefTo lists the target types.
	KindRef Kind = "ref"
	// KindArray is an array; Value.Items describes the elements.
	KindArray Kind = "array"
	// KindObject is an object with named fields; Value.Fields lists them.
	KindObject Kind = "object"
	// KindMap is an object with too many distinct keys to be a record (keys are data, as in a map
	// from locale or id to value); Value.Values describes the values.
	KindMap Kind = "map"
	// KindNull is null.
	KindNull Kind = "null"
)

// kindOrder is the order of kinds in Value.Kinds.
var kindOrder = []Kind{KindString, KindTime, KindInteger, KindNumber, KindBoolean, KindMoney, KindRef,
	KindArray, KindObject, KindMap, KindNull}

// Schema is the shape of a graph's content. Its JSON form is schema.json.
type Schema struct {
	Version int `json:"version"`
	// Types are sorted by name.
	Types []Type `json:"types"`
}

// Type is one node type.
type Type struct {
	Name string `json:"name"`
	// Count is how many nodes have the type.
	Count int `json:"count"`
	// Sources are the sources that emit the type, sorted.
	Sources []string `json:"sources"`
	// Fields are the top-level fields of the nodes' fields object, sorted by name.
	Fields []Field `json:"fields"`
}

// Field is one named field of a type or of a nested object.
type Field struct {
	Name string `json:"name"`
	// Optional is true when some nodes (or some of the enclosing objects) lack the field.
	Optional bool `json:"optional,omitempty"`
	Value
}

// Value is the shape of the values seen at one place.
type Value struct {
	// Kinds seen, in a fixed order (string, time, integer, number, boolean, money, ref, array,
	// object, map, null). A narrower kind seen beside its wider one is folded into it: time into
	// string, integer into number, money into object.
	Kinds []Kind `json:"kinds"`
	// Nullable is true when null was seen (Kinds then holds KindNull).
	Nullable bool `json:"nullable,omitempty"`
	// Count is how many values were seen, null included.
	Count int `json:"count"`
	// RefTo lists the types of the nodes that references point at, sorted.
	RefTo []string `json:"refTo,omitempty"`
	// UnresolvedRefs counts references whose target is not in the graph (target type unknown).
	UnresolvedRefs int `json:"unresolvedRefs,omitempty"`
	// Items describes the elements of arrays; nil when every array seen was empty.
	Items *Value `json:"items,omitempty"`
	// Fields are an object's fields, sorted by name.
	Fields []Field `json:"fields,omitempty"`
	// Values describes the values of a map.
	Values *Value `json:"values,omitempty"`
}

// Has reports whether k was seen.
func (v *Value) Has(k Kind) bool { return slices.Contains(v.Kinds, k) }

// NonNull returns the kinds seen other than null.
func (v *Value) NonNull() []Kind {
	out := make([]Kind, 0, len(v.Kinds))
	for _, k := range v.Kinds {
		if k != KindNull {
			out = append(out, k)
		}
	}
	return out
}

// Type returns the type with the given name, or nil.
func (s *Schema) Type(name string) *Type {
	i, ok := slices.BinarySearchFunc(s.Types, name, func(t Type, n string) int {
		switch {
		case t.Name < n:
			return -1
		case t.Name > n:
			return 1
		}
		return 0
	})
	if !ok {
		return nil
	}
	return &s.Types[i]
}

// Field returns the field with the given name, or nil.
func (t *Type) Field(name string) *Field { return findField(t.Fields, name) }

// Field returns the nested field with the given name, or nil.
func (v *Value) Field(name string) *Field { return findField(v.Fields, name) }

func findField(fs []Field, name string) *Field {
	for i := range fs {
		if fs[i].Name == name {
			return &fs[i]
		}
	}
	return nil
}

// JSON returns schema.json: indented, with a final newline; the same schema gives the same bytes.
func (s *Schema) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ErrInvalid is wrapped by the errors of Parse.
var ErrInvalid = errors.New("invalid schema")

// maxDepth bounds the nesting that Parse accepts (inference never goes near it on real content).
const maxDepth = 200

// Parse reads schema.json. It checks the version, that every name is set and every kind known, and
// that a value's details match its kinds, so code that walks the result needs no checks of its own.
func Parse(data []byte) (*Schema, error) {
	var s Schema
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if s.Version != Version {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrInvalid, s.Version, Version)
	}
	if s.Types == nil {
		s.Types = []Type{}
	}
	for i := range s.Types {
		t := &s.Types[i]
		if t.Name == "" {
			return nil, fmt.Errorf("%w: types[%d] has no name", ErrInvalid, i)
		}
		if i > 0 && s.Types[i-1].Name >= t.Name {
			return nil, fmt.Errorf("%w: types not sorted by name, or %q twice", ErrInvalid, t.Name)
		}
		if t.Sources == nil {
			t.Sources = []string{}
		}
		if t.Fields == nil {
			t.Fields = []Field{}
		}
		if err := checkFields(t.Fields, 1); err != nil {
			return nil, fmt.Errorf("%w: type %s: %w", ErrInvalid, t.Name, err)
		}
	}
	return &s, nil
}

func checkFields(fs []Field, depth int) error {
	for i := range fs {
		f := &fs[i]
		if i > 0 && fs[i-1].Name >= f.Name {
			return fmt.Errorf("fields not sorted by name, or %q twice", f.Name)
		}
		if err := checkValue(&f.Value, depth); err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	return nil
}

func checkValue(v *Value, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("nested deeper than %d", maxDepth)
	}
	rank := -1
	for _, k := range v.Kinds {
		r := slices.Index(kindOrder, k)
		if r < 0 {
			return fmt.Errorf("unknown kind %q", k)
		}
		if r <= rank {
			return fmt.Errorf("kinds out of order or repeated")
		}
		rank = r
	}
	if v.Nullable != v.Has(KindNull) {
		return fmt.Errorf("nullable does not match the null kind")
	}
	if v.Count < 0 || v.UnresolvedRefs < 0 {
		return fmt.Errorf("negative count")
	}
	if (len(v.RefTo) > 0 || v.UnresolvedRefs > 0) && !v.Has(KindRef) {
		return fmt.Errorf("ref targets without the ref kind")
	}
	for i := 1; i < len(v.RefTo); i++ {
		if v.RefTo[i-1] >= v.RefTo[i] {
			return fmt.Errorf("refTo not sorted")
		}
	}
	if v.Items != nil {
		if !v.Has(KindArray) {
			return fmt.Errorf("items without the array kind")
		}
		if err := checkValue(v.Items, depth+1); err != nil {
			return fmt.Errorf("items: %w", err)
		}
	}
	if len(v.Fields) > 0 && !v.Has(KindObject) {
		return fmt.Errorf("fields without the object kind")
	}
	if err := checkFields(v.Fields, depth+1); err != nil {
		return err
	}
	if v.Values != nil {
		if !v.Has(KindMap) {
			return fmt.Errorf("values without the map kind")
		}
		if err := checkValue(v.Values, depth+1); err != nil {
			return fmt.Errorf("values: %w", err)
		}
	}
	return nil
}

// ReadFile reads and parses a schema.json file. A missing file is an error for which
// errors.Is(err, fs.ErrNotExist) is true.
func ReadFile(path string) (*Schema, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}
