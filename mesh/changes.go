package mesh

import "slices"

// ChangeSet lists what changed since the previous build, each list sorted. Its JSON form is
// changes.json. Updated means the digest changed.
type ChangeSet struct {
	Added   []string `json:"added"`
	Updated []string `json:"updated"`
	Deleted []string `json:"deleted"`
}

// Empty reports whether nothing changed.
func (c ChangeSet) Empty() bool {
	return len(c.Added) == 0 && len(c.Updated) == 0 && len(c.Deleted) == 0
}

// diffSnapshots compares the previous snapshot's final digests with the new graph.
func diffSnapshots(prev *Snapshot, g *Graph) ChangeSet {
	cs := ChangeSet{Added: []string{}, Updated: []string{}, Deleted: []string{}}
	old := map[string]string{}
	if prev != nil {
		for _, s := range prev.Sources {
			for _, n := range s.Nodes {
				d := n.Digest
				if ld, ok := s.Linked[n.ID]; ok {
					d = ld
				}
				old[n.ID] = d
			}
		}
	}
	for _, n := range g.nodes {
		d, ok := old[n.ID]
		switch {
		case !ok:
			cs.Added = append(cs.Added, n.ID)
		case d != n.Digest:
			cs.Updated = append(cs.Updated, n.ID)
		}
		delete(old, n.ID)
	}
	for id := range old {
		cs.Deleted = append(cs.Deleted, id)
	}
	slices.Sort(cs.Deleted)
	return cs
}
