package schema

import (
	"maps"
	"slices"
	"time"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
)

// MaxObjectFields is how many distinct keys a nested object place may have before it is taken for a
// map (keys that are data: locales, ids, slugs) and described by one value schema for all its values.
// A node type's top-level fields are never folded.
const MaxObjectFields = 256

type kindSet uint16

// The bits follow kindOrder.
const (
	kString kindSet = 1 << iota
	kTime
	kInteger
	kNumber
	kBoolean
	kMoney
	kRef
	kArray
	kObject
	kMap
	kNull
)

// acc accumulates the values seen at one place.
type acc struct {
	count      int
	kinds      kindSet
	refTo      map[string]int
	unresolved int
	items      *acc
	objects    int // objects seen here, money included (the denominator of Optional)
	fields     map[string]*acc
	values     *acc // set once the place is folded into a map
	top        bool // a type's top-level fields: never folded
}

// Infer returns the schema of g: every type, each with the fields its nodes carry.
func Infer(g *mesh.Graph) *Schema {
	s := &Schema{Version: Version, Types: []Type{}}
	if g == nil {
		return s
	}
	// One pass over the nodes in ID order (sequential on a disk-backed graph), one accumulator per type.
	type typeAcc struct {
		root    *acc
		sources map[string]bool
	}
	types := map[string]*typeAcc{}
	for n := range g.Nodes() {
		ta := types[n.Type]
		if ta == nil {
			ta = &typeAcc{root: &acc{top: true}, sources: map[string]bool{}}
			types[n.Type] = ta
		}
		ta.sources[n.Source] = true
		v := gjson.ParseBytes(n.Fields)
		if !v.IsObject() {
			// Fields is always an object in a built graph; count the node all the same.
			ta.root.objects++
			continue
		}
		ta.root.addObject(v, g)
	}
	for _, name := range slices.Sorted(maps.Keys(types)) {
		ta := types[name]
		t := Type{Name: name, Count: ta.root.objects, Sources: slices.Sorted(maps.Keys(ta.sources)), Fields: ta.root.finishFields()}
		s.Types = append(s.Types, t)
	}
	return s
}

func (a *acc) add(v gjson.Result, g *mesh.Graph) {
	a.count++
	switch v.Type {
	case gjson.Null:
		a.kinds |= kNull
	case gjson.True, gjson.False:
		a.kinds |= kBoolean
	case gjson.Number:
		if isInteger(v.Raw) {
			a.kinds |= kInteger
		} else {
			a.kinds |= kNumber
		}
	case gjson.String:
		if isTime(v.Str) {
			a.kinds |= kTime
		} else {
			a.kinds |= kString
		}
	case gjson.JSON:
		if v.IsArray() {
			a.kinds |= kArray
			v.ForEach(func(_, e gjson.Result) bool {
				if a.items == nil {
					a.items = &acc{}
				}
				a.items.add(e, g)
				return true
			})
			return
		}
		if id, ok := refID(v); ok {
			a.kinds |= kRef
			if typ, ok := g.TypeOf(id); ok {
				if a.refTo == nil {
					a.refTo = map[string]int{}
				}
				a.refTo[typ]++
			} else {
				a.unresolved++
			}
			return
		}
		if isMoney(v) {
			a.kinds |= kMoney
		} else {
			a.kinds |= kObject
		}
		// Money values count as objects too, so a place holding money and other objects folds into
		// one object whose fields include amount and currencyCode.
		a.addObject(v, g)
	}
}

func (a *acc) addObject(v gjson.Result, g *mesh.Graph) {
	a.objects++
	v.ForEach(func(k, e gjson.Result) bool {
		if a.values != nil {
			a.values.add(e, g)
			return true
		}
		if a.fields == nil {
			a.fields = map[string]*acc{}
		}
		f := a.fields[k.Str]
		if f == nil {
			f = &acc{}
			a.fields[k.Str] = f
		}
		f.add(e, g)
		return true
	})
	if !a.top && a.values == nil && len(a.fields) > MaxObjectFields {
		a.fold()
	}
}

// fold turns an object place into a map: one value schema for all the values seen.
func (a *acc) fold() {
	a.values = &acc{}
	for _, k := range slices.Sorted(maps.Keys(a.fields)) {
		a.values.merge(a.fields[k])
	}
	a.fields = nil
}

// merge adds what src saw to a.
func (a *acc) merge(src *acc) {
	a.count += src.count
	a.kinds |= src.kinds
	a.unresolved += src.unresolved
	for t, n := range src.refTo {
		if a.refTo == nil {
			a.refTo = map[string]int{}
		}
		a.refTo[t] += n
	}
	if src.items != nil {
		if a.items == nil {
			a.items = &acc{}
		}
		a.items.merge(src.items)
	}
	a.objects += src.objects
	if src.values != nil && a.values == nil {
		a.fold()
	}
	switch {
	case a.values != nil && src.values != nil:
		a.values.merge(src.values)
	case a.values != nil:
		for _, k := range slices.Sorted(maps.Keys(src.fields)) {
			a.values.merge(src.fields[k])
		}
	default:
		for _, k := range slices.Sorted(maps.Keys(src.fields)) {
			if a.fields == nil {
				a.fields = map[string]*acc{}
			}
			f := a.fields[k]
			if f == nil {
				f = &acc{}
				a.fields[k] = f
			}
			f.merge(src.fields[k])
		}
		if len(a.fields) > MaxObjectFields {
			a.fold()
		}
	}
}

// finishFields returns the fields seen in the objects at a, sorted by name.
func (a *acc) finishFields() []Field {
	out := make([]Field, 0, len(a.fields))
	for _, k := range slices.Sorted(maps.Keys(a.fields)) {
		f := a.fields[k]
		out = append(out, Field{Name: k, Optional: f.count < a.objects, Value: f.finish()})
	}
	return out
}

// finish turns what a saw into a Value.
func (a *acc) finish() Value {
	k := a.kinds
	if k&kString != 0 {
		k &^= kTime
	}
	if k&kNumber != 0 {
		k &^= kInteger
	}
	if k&kObject != 0 {
		k &^= kMoney
	}
	if a.values != nil {
		k &^= kObject | kMoney
		k |= kMap
	}
	v := Value{Count: a.count, Nullable: k&kNull != 0, UnresolvedRefs: a.unresolved}
	for i, kind := range kindOrder {
		if k&(1<<i) != 0 {
			v.Kinds = append(v.Kinds, kind)
		}
	}
	if v.Kinds == nil {
		v.Kinds = []Kind{}
	}
	if len(a.refTo) > 0 {
		v.RefTo = slices.Sorted(maps.Keys(a.refTo))
	}
	if a.items != nil {
		it := a.items.finish()
		v.Items = &it
	}
	if k&kObject != 0 {
		v.Fields = a.finishFields()
	}
	if a.values != nil {
		vs := a.values.finish()
		v.Values = &vs
	}
	return v
}

// firstKeyIs reports whether the object's first key is one of keys (a cheap test before a walk).
func firstKeyIs(raw string, keys ...string) bool {
	i := 1
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
		i++
	}
	for _, k := range keys {
		if len(raw) > i+len(k)+1 && raw[i] == '"' && raw[i+1:i+1+len(k)] == k && raw[i+1+len(k)] == '"' {
			return true
		}
	}
	return false
}

// refID returns the id of a reference object {"$ref": "<id>"} (with no other key).
func refID(v gjson.Result) (string, bool) {
	if !firstKeyIs(v.Raw, "$ref") {
		return "", false
	}
	id, n, ok := "", 0, true
	v.ForEach(func(k, e gjson.Result) bool {
		n++
		if k.Str != "$ref" || e.Type != gjson.String {
			ok = false
			return false
		}
		id = e.Str
		return true
	})
	return id, ok && n == 1
}

// isMoney reports whether v is exactly {"amount": "<decimal>", "currencyCode": "<3 letters>"}.
func isMoney(v gjson.Result) bool {
	if !firstKeyIs(v.Raw, "amount", "currencyCode") {
		return false
	}
	n, ok := 0, true
	v.ForEach(func(k, e gjson.Result) bool {
		n++
		switch {
		case k.Str == "amount" && e.Type == gjson.String && isDecimal(e.Str):
		case k.Str == "currencyCode" && e.Type == gjson.String && isCurrency(e.Str):
		default:
			ok = false
			return false
		}
		return true
	})
	return ok && n == 2
}

func isDecimal(s string) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot && digits > 0 && i < len(s)-1:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// isInteger reports whether a JSON number is written without fraction or exponent and fits an int64
// (at most 18 digits, so every such number does).
func isInteger(raw string) bool {
	if len(raw) > 0 && raw[0] == '-' {
		raw = raw[1:]
	}
	if len(raw) == 0 || len(raw) > 18 {
		return false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] < '0' || raw[i] > '9' {
			return false
		}
	}
	return true
}

// isTime reports whether s is an RFC 3339 date-time.
func isTime(s string) bool {
	if len(s) < len("2006-01-02T15:04:05Z") || len(s) > len("2006-01-02T15:04:05.999999999-07:00") ||
		s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') {
		return false
	}
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}
