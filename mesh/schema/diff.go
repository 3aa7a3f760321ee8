package schema

import (
	"fmt"
	"strings"
)

// The changes a Drift reports.
const (
	// ChangeType: the field's kinds (or reference targets) changed.
	ChangeType = "changed"
	// ChangeRemoved: a field that every node had is gone (Field set), or a type has no nodes any
	// more (Field empty).
	ChangeRemoved = "removed"
	// ChangeOptional: a field that every node had is now missing on some.
	ChangeOptional = "optional"
)

// Drift is one change in the shape of the content since the previous build: what a template or a
// typed caller may trip on. Added fields and added types are not drift.
type Drift struct {
	Type string `json:"type"`
	// Field is the path of the field: nested fields joined by ".", "[]" for array elements, "{}" for
	// map values ("images[].url"); empty when the whole type is gone.
	Field string `json:"field,omitempty"`
	// Change is ChangeType, ChangeRemoved or ChangeOptional.
	Change string `json:"change"`
	// Was and Now are the field's signature before and after ("string|null", "ref<Product>",
	// "array", "money"); Now is empty when the field or type is gone.
	Was string `json:"was"`
	Now string `json:"now,omitempty"`
}

// String says what changed in one line, e.g. "Product.price: money -> string".
func (d Drift) String() string {
	where := d.Type
	if d.Field != "" {
		where += "." + d.Field
	}
	switch d.Change {
	case ChangeRemoved:
		if d.Field == "" {
			return fmt.Sprintf("%s: no nodes any more (was %s)", where, d.Was)
		}
		return fmt.Sprintf("%s: removed (was %s on every node)", where, d.Was)
	case ChangeOptional:
		return fmt.Sprintf("%s: now missing on some nodes (was on every one)", where)
	default:
		return fmt.Sprintf("%s: %s -> %s", where, d.Was, d.Now)
	}
}

// Diff lists the drift from old to new: fields whose kinds or reference targets changed (at any
// depth), fields that every node had and that are gone or now missing on some nodes, and types that
// have no nodes any more. Places where old saw nothing (an array that was always empty) are not
// compared. The result is sorted by type, then in field order; nil when either schema is nil.
func Diff(old, new *Schema) []Drift {
	if old == nil || new == nil {
		return nil
	}
	var out []Drift
	for i := range old.Types {
		ot := &old.Types[i]
		nt := new.Type(ot.Name)
		if nt == nil {
			out = append(out, Drift{Type: ot.Name, Change: ChangeRemoved, Was: fmt.Sprintf("%d nodes", ot.Count)})
			continue
		}
		out = diffFields(out, ot.Name, "", ot.Fields, nt.Fields)
	}
	return out
}

func diffFields(out []Drift, typ, prefix string, old, new []Field) []Drift {
	for i := range old {
		of := &old[i]
		path := joinPath(prefix, of.Name)
		nf := findField(new, of.Name)
		switch {
		case nf == nil:
			if !of.Optional {
				out = append(out, Drift{Type: typ, Field: path, Change: ChangeRemoved, Was: Signature(&of.Value)})
			}
			continue
		case !of.Optional && nf.Optional:
			out = append(out, Drift{Type: typ, Field: path, Change: ChangeOptional, Was: "always present", Now: "optional"})
		}
		out = diffValue(out, typ, path, &of.Value, &nf.Value)
	}
	return out
}

func diffValue(out []Drift, typ, path string, old, new *Value) []Drift {
	if old.Count == 0 || new.Count == 0 {
		return out
	}
	if was, now := Signature(old), Signature(new); was != now {
		out = append(out, Drift{Type: typ, Field: path, Change: ChangeType, Was: was, Now: now})
	}
	if old.Items != nil && new.Items != nil {
		out = diffValue(out, typ, path+"[]", old.Items, new.Items)
	}
	if old.Has(KindObject) && new.Has(KindObject) {
		out = diffFields(out, typ, path, old.Fields, new.Fields)
	}
	if old.Values != nil && new.Values != nil {
		out = diffValue(out, typ, path+"{}", old.Values, new.Values)
	}
	return out
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// Signature is a value's kinds in one word each, joined by "|": reference targets in angle brackets
// ("ref<Asset|Product>", "ref<?>" when no target is in the graph); array elements, object fields and
// map values are left out (Diff compares them at their own paths).
func Signature(v *Value) string {
	parts := make([]string, 0, len(v.Kinds))
	for _, k := range v.Kinds {
		s := string(k)
		if k == KindRef {
			if len(v.RefTo) == 0 {
				s += "<?>"
			} else {
				s += "<" + strings.Join(v.RefTo, "|") + ">"
			}
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "unknown"
	}
	return strings.Join(parts, "|")
}
