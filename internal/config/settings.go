package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LoadSettings reads a config for commands that fetch nothing (`contentmesh pull`): the top-level
// keys (out, cache, links, ...) are read and checked as Load does, and an unset ${VAR} there is an
// error naming it; but inside the source blocks a ${VAR} that is not set is left as written, so a
// machine without the sources' secrets can read the file. The sources' blocks must not be handed to
// an adapter.
func LoadSettings(path string, lookup func(string) (string, bool)) (*File, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	// The top-level values other than sources must expand with the real environment.
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, &Error{File: path, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &Error{File: path, Line: 1, Msg: "the config must be a mapping with a sources list"}
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "sources" {
			continue
		}
		if err := expand(path, root.Content[i+1], lookup); err != nil {
			return nil, err
		}
	}
	// Then the whole file, with the sources' unset variables kept as ${NAME}.
	keep := func(name string) (string, bool) {
		if v, ok := lookup(name); ok {
			return v, true
		}
		return "${" + name + "}", true
	}
	f, err := Parse(path, data, keep)
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
