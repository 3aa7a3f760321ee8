// Package sources holds the adapters, one package each, and the registry that maps a config
// `type:` to its adapter: an explicit table, no init-time registration.
package sources

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/contentmesh/contentmesh/internal/config"
	"github.com/contentmesh/contentmesh/mesh"
)

// Env is what a factory gets beside the source's YAML block.
type Env struct {
	// File names the config file in errors.
	File string
	// Dir is the config file's directory: relative paths in a source's config are resolved against it.
	Dir string
}

// Factory makes a source of one type from its config block.
type Factory struct {
	// Type is the config `type:` value.
	Type string
	// Summary says in a few words what the adapter reads.
	Summary string
	// New decodes the block (rejecting unknown keys with their line) and calls the adapter's New,
	// which validates and does no I/O.
	New func(env Env, block *yaml.Node) (mesh.Source, error)
}

// adapter builds a Factory from an adapter's Config type and New function. prep, when set, adjusts
// the decoded config (resolving relative paths).
func adapter[C any, S mesh.Source](typ, summary string, newFn func(C) (S, error), prep func(Env, *C)) Factory {
	return Factory{
		Type:    typ,
		Summary: summary,
		New: func(env Env, block *yaml.Node) (mesh.Source, error) {
			var c C
			if err := config.DecodeStrict(env.File, block, &c, "name", "type"); err != nil {
				return nil, err
			}
			if prep != nil {
				prep(env, &c)
			}
			s, err := newFn(c)
			if err != nil {
				return nil, err
			}
			return s, nil
		},
	}
}

// Lookup returns the factory for a config type.
func Lookup(typ string) (Factory, bool) {
	for _, f := range Registry() {
		if f.Type == typ {
			return f, true
		}
	}
	return Factory{}, false
}

// Types lists the known config types, sorted.
func Types() []string {
	var out []string
	for _, f := range Registry() {
		out = append(out, f.Type)
	}
	slices.Sort(out)
	return out
}

// Open makes the source of one config entry, with errors that name the source and its line.
func Open(env Env, s config.Source) (mesh.Source, error) {
	f, ok := Lookup(s.Type)
	if !ok {
		return nil, &config.Error{File: env.File, Line: s.Line,
			Msg: fmt.Sprintf("source %q: unknown type %q (known: %s)", s.Name, s.Type, strings.Join(Types(), ", "))}
	}
	src, err := f.New(env, s.Node)
	if err != nil {
		if _, ok := err.(*config.Error); ok {
			return nil, err
		}
		return nil, &config.Error{File: env.File, Line: s.Line, Msg: fmt.Sprintf("source %q (%s): %v", s.Name, s.Type, err)}
	}
	return src, nil
}
