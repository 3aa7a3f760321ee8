package schema

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/contentmesh/contentmesh/mesh"
)

// Outputs returns a mesh.Options.Extras hook that infers the schema of the build's graph, sets
// Report.SchemaDrift to Diff(prev, schema) (nothing when prev is nil or nothing drifted), and adds
// schema.json and mesh.d.ts to the output folder. prev is the schema of the previous build, read
// from its output folder before the build (ReadFile). When the build reused the previous graph
// unchanged (Build.Unchanged) and prev counts as many nodes, prev is written again as it is, so the
// graph is not loaded for it.
func Outputs(prev *Schema) mesh.ExtraOutputs {
	return func(b *mesh.Build) ([]mesh.OutputWriter, error) {
		s := prev
		if !b.Unchanged || prev == nil || prev.nodes() != b.Report.Nodes {
			if err := b.Graph.Err(); err != nil {
				return nil, err
			}
			s = Infer(b.Graph)
		}
		if d := Diff(prev, s); len(d) > 0 {
			raw, err := json.Marshal(d)
			if err != nil {
				return nil, err
			}
			b.Report.SchemaDrift = raw
		}
		js, err := s.JSON()
		if err != nil {
			return nil, err
		}
		ts := s.TypeScript()
		return []mesh.OutputWriter{
			{Name: FileName, Write: writeBytes(js)},
			{Name: TypeScriptFileName, Write: writeBytes(ts)},
		}, nil
	}
}

func writeBytes(data []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.Copy(w, bytes.NewReader(data))
		return err
	}
}

// DriftOf decodes Report.SchemaDrift (nil when empty).
func DriftOf(r *mesh.Report) ([]Drift, error) {
	if len(r.SchemaDrift) == 0 {
		return nil, nil
	}
	var d []Drift
	if err := json.Unmarshal(r.SchemaDrift, &d); err != nil {
		return nil, err
	}
	return d, nil
}

// nodes is the number of nodes the schema was inferred from.
func (s *Schema) nodes() int {
	n := 0
	for _, t := range s.Types {
		n += t.Count
	}
	return n
}
