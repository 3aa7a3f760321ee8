package mesh

import (
	"encoding/json"
	"time"

	"github.com/tidwall/gjson"
)

// Node is one piece of content in the graph. Its JSON form is a contract (DESIGN section 3).
type Node struct {
	// ID is stable and unique in the graph; build it with NodeID.
	ID string
	// Type is the normalized type, e.g. "BlogPost", "Product", "User", "Asset".
	Type string
	// Source is the source instance name; the engine sets it.
	Source string
	// NativeID is the id in the upstream system.
	NativeID string
	// Locale is a BCP 47 tag, empty when the node is not localized.
	Locale string
	// UpdatedAt is when upstream says the content changed; zero when unknown.
	UpdatedAt time.Time
	// Fields is a JSON object holding the content. References are {"$ref": "<node id>"} objects.
	// After the engine has seen the node it is in canonical form (sorted keys, no insignificant space).
	Fields json.RawMessage
	// Refs lists every reference inside Fields in path order; the engine derives it.
	Refs []Ref
	// Backrefs lists the references that point at this node; the engine fills it.
	Backrefs []Backref
	// Digest is "sha256:<hex>" of the canonical type, locale and fields; the engine computes it.
	Digest string
}

// Ref is one reference from a node's fields to another node.
type Ref struct {
	// Field is the gjson path of the field holding the reference, array indexes left out
	// (a list of tags referenced as tags[i] has Field "tags").
	Field string `json:"field"`
	// To is the referenced node's ID.
	To string `json:"to"`
}

// Backref is a reference seen from its target.
type Backref struct {
	// Field is the referring field's path in the referring node.
	Field string `json:"field"`
	// From is the referring node's ID.
	From string `json:"from"`
}

// Get evaluates a gjson path on the node's fields.
func (n *Node) Get(path string) gjson.Result {
	return gjson.GetBytes(n.Fields, path)
}

// MarshalJSON writes the node in the contract's JSON form.
func (n Node) MarshalJSON() ([]byte, error) {
	return appendNodeJSON(nil, &n), nil
}

// UnmarshalJSON reads the contract's JSON form.
func (n *Node) UnmarshalJSON(b []byte) error {
	var w struct {
		ID        string          `json:"id"`
		Type      string          `json:"type"`
		Source    string          `json:"source"`
		NativeID  string          `json:"nativeId"`
		Locale    string          `json:"locale"`
		UpdatedAt string          `json:"updatedAt"`
		Fields    json.RawMessage `json:"fields"`
		Refs      []Ref           `json:"refs"`
		Backrefs  []Backref       `json:"backrefs"`
		Digest    string          `json:"digest"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	var t time.Time
	if w.UpdatedAt != "" {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, w.UpdatedAt); err != nil {
			return err
		}
	}
	*n = Node{ID: w.ID, Type: w.Type, Source: w.Source, NativeID: w.NativeID, Locale: w.Locale,
		UpdatedAt: t, Fields: w.Fields, Refs: w.Refs, Backrefs: w.Backrefs, Digest: w.Digest}
	return nil
}
