package peopletest

import (
	"slices"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
)

// PublicUserKeys are the keys a User node may have with nothing selected.
var PublicUserKeys = []string{"avatarUrl", "createdAt", "displayName", "memberships", "organizations", "roles", "username"}

// CheckNodes is what every decoder fuzz target asserts on the nodes it got: valid IDs under the
// source, fields the engine accepts, refs that are node IDs, and, for User nodes decoded with nothing
// selected, no key beyond the public profile (plus extra, the adapter's own public keys).
func CheckNodes(t *testing.T, source string, nodes []mesh.Node, nothingSelected bool, extra ...string) {
	t.Helper()
	for _, n := range nodes {
		if !mesh.ValidNodeID(n.ID) || !strings.HasPrefix(n.ID, source+"/") || n.NativeID == "" || n.Type == "" {
			t.Fatalf("bad node id %q (native %q, type %q)", n.ID, n.NativeID, n.Type)
		}
		c, refs, err := mesh.Canonicalize(n.Fields)
		if err != nil && strings.Contains(err.Error(), "out of range") {
			continue // a number no float64 holds (in metadata): the engine rejects the node, naming it
		}
		if err != nil || c[0] != '{' {
			t.Fatalf("node %q: fields %q: %v", n.ID, n.Fields, err)
		}
		for _, r := range refs {
			if !mesh.ValidNodeID(r.To) {
				t.Fatalf("node %q: ref %q is not a node id", n.ID, r.To)
			}
		}
		if n.Type == "User" && nothingSelected {
			gjson.ParseBytes(c).ForEach(func(k, _ gjson.Result) bool {
				if !slices.Contains(PublicUserKeys, k.String()) && !slices.Contains(extra, k.String()) {
					t.Fatalf("node %q: key %q with nothing selected", n.ID, k.String())
				}
				return true
			})
			if !n.UpdatedAt.IsZero() {
				t.Fatalf("node %q: updatedAt set with nothing selected", n.ID)
			}
		}
	}
}
