package mesh

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tidwall/gjson"
)

// LinkRule joins nodes across sources: every node of the From type gets a field As holding $refs to
// the nodes of the To type whose To field equals a value found at the From path (a value or an array
// of values). Config form: {from: "Post.productHandles", to: "Product.handle", as: "products"}.
type LinkRule struct {
	// From is "<Type>.<gjson path>", e.g. "Post.productHandles".
	From string `yaml:"from" json:"from"`
	// To is "<Type>.<field>" where field is a gjson path in the target's fields, or "id" or "nativeId".
	To string `yaml:"to" json:"to"`
	// As is the name of the field the rule adds to the From nodes.
	As string `yaml:"as" json:"as"`
}

type compiledLink struct {
	rule               LinkRule
	fromType, fromPath string
	toType, toField    string
}

func compileLinks(rules []LinkRule) ([]compiledLink, error) {
	out := make([]compiledLink, 0, len(rules))
	seen := map[string]bool{}
	for i, r := range rules {
		where := fmt.Sprintf("links[%d]", i)
		ft, fp, ok1 := strings.Cut(r.From, ".")
		tt, tf, ok2 := strings.Cut(r.To, ".")
		switch {
		case !ok1 || ft == "" || fp == "":
			return nil, &ConfigError{Where: where, Msg: fmt.Sprintf("from %q: want <Type>.<path>", r.From)}
		case !ok2 || tt == "" || tf == "":
			return nil, &ConfigError{Where: where, Msg: fmt.Sprintf("to %q: want <Type>.<field>, <Type>.id or <Type>.nativeId", r.To)}
		case r.As == "" || strings.ContainsAny(r.As, ".*?|#@\\"):
			return nil, &ConfigError{Where: where, Msg: fmt.Sprintf("as %q: want a plain field name", r.As)}
		case seen[ft+"\x00"+r.As]:
			return nil, &ConfigError{Where: where, Msg: fmt.Sprintf("two rules add field %q to %s", r.As, ft)}
		}
		seen[ft+"\x00"+r.As] = true
		out = append(out, compiledLink{rule: r, fromType: ft, fromPath: fp, toType: tt, toField: tf})
	}
	return out, nil
}

// linkKey is the value a node offers for matching on field.
func linkKeys(n *Node, field string, each func(string)) {
	switch field {
	case "id":
		each(n.ID)
	case "nativeId":
		each(n.NativeID)
	default:
		forEachScalar(n.Get(field), each)
	}
}

func forEachScalar(v gjson.Result, each func(string)) {
	switch {
	case !v.Exists() || v.Type == gjson.Null:
	case v.IsArray():
		for _, e := range v.Array() {
			forEachScalar(e, each)
		}
	case v.IsObject():
		if ref := v.Get(`\$ref`); ref.Type == gjson.String {
			each(ref.Str)
		}
	case v.Type == gjson.String:
		each(v.Str)
	default:
		each(v.Raw)
	}
}

// applyLinks adds each rule's field to the nodes of its From type. It returns the unmatched values as
// dangling references (To is "<Type>.<field>=<value>") and the nodes it changed.
func applyLinks(rules []compiledLink, byType map[string][]*Node, canon *canonicalizer) ([]DanglingRef, error) {
	var dangling []DanglingRef
	for _, r := range rules {
		index := map[string][]string{}
		for _, t := range byType[r.toType] {
			linkKeys(t, r.toField, func(k string) { index[k] = append(index[k], t.ID) })
		}
		for _, ids := range index {
			slices.Sort(ids)
		}
		for _, n := range byType[r.fromType] {
			v := n.Get(r.fromPath)
			if !v.Exists() {
				continue
			}
			var targets []string
			forEachScalar(v, func(k string) {
				ids, ok := index[k]
				if !ok {
					dangling = append(dangling, DanglingRef{From: n.ID, Field: r.rule.As, To: r.toType + "." + r.toField + "=" + k})
					return
				}
				for _, id := range ids {
					if !slices.Contains(targets, id) {
						targets = append(targets, id)
					}
				}
			})
			if err := setField(n, r.rule.As, refArray(targets), canon); err != nil {
				return nil, fmt.Errorf("link %s -> %s as %s on %s: %w", r.rule.From, r.rule.To, r.rule.As, n.ID, err)
			}
		}
	}
	return dangling, nil
}

// refArray is the JSON array of $refs to ids, the value of a link rule's field.
func refArray(ids []string) []byte {
	val := []byte{'['}
	for i, id := range ids {
		if i > 0 {
			val = append(val, ',')
		}
		val = append(val, `{"$ref":`...)
		val = AppendString(val, id)
		val = append(val, '}')
	}
	return append(val, ']')
}

// setField sets a top-level field of n (replacing any value), and recomputes its refs and digest.
func setField(n *Node, key string, value []byte, canon *canonicalizer) error {
	fields := n.Fields
	if len(fields) == 0 {
		fields = []byte("{}")
	}
	buf := make([]byte, 0, len(fields)+len(key)+len(value)+4)
	buf = append(buf, fields[:len(fields)-1]...)
	if len(fields) > 2 {
		buf = append(buf, ',')
	}
	buf = AppendString(buf, key)
	buf = append(buf, ':')
	buf = append(buf, value...)
	buf = append(buf, '}')
	out, refs, err := canon.run(buf, nil)
	if err != nil {
		return err
	}
	n.Fields = out
	n.Refs = slices.Clone(refs)
	n.Digest = digest(n.Type, n.Locale, out)
	return nil
}
