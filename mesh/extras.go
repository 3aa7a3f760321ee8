package mesh

import "fmt"

// ExtraOutputs makes more files for the output folder from a build whose graph is assembled, just
// before Build writes the folder (and so before the snapshot is saved). It may fill parts of the
// report that depend on the graph (Report.SchemaDrift): report.json is written after it returns.
// An error fails the build; nothing is written or saved.
type ExtraOutputs func(b *Build) ([]OutputWriter, error)

// extraOutputs calls Options.Extras, if set.
func (m *Mesh) extraOutputs(b *Build) ([]OutputWriter, error) {
	if m.opts.Extras == nil {
		return nil, nil
	}
	out, err := m.opts.Extras(b)
	if err != nil {
		return nil, fmt.Errorf("extra outputs: %w", err)
	}
	return out, nil
}
