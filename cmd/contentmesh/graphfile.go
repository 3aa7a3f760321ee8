package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/contentmesh/contentmesh/mesh"
)

// errNoBuild says the output folder holds no build.
var errNoBuild = errors.New("no build there yet: run contentmesh build first")

// openOutput opens a file of the output folder, with an error that says what to do when it is missing.
func openOutput(dir, name string) (*os.File, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, name), errNoBuild)
	}
	return f, err
}

// readOutput reads a file of the output folder.
func readOutput(dir, name string) ([]byte, error) {
	f, err := openOutput(dir, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// loadGraph reads dir/graph.json into a Graph.
func loadGraph(dir string) (*mesh.Graph, error) {
	f, err := openOutput(dir, "graph.json")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	g, err := decodeGraph(bufio.NewReaderSize(f, 256<<10))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return g, nil
}

// decodeGraph reads graph.json ({"version": 1, "nodes": [...]}) one node at a time.
func decodeGraph(r io.Reader) (*mesh.Graph, error) {
	var nodes []*mesh.Node
	if err := eachGraphNode(r, func(n *mesh.Node) error { nodes = append(nodes, n); return nil }); err != nil {
		return nil, err
	}
	return mesh.NewGraph(nodes), nil
}

// eachGraphNode reads graph.json and calls fn for each node in file order, holding one at a time.
func eachGraphNode(r io.Reader, fn func(*mesh.Node) error) error {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	version, sawNodes, count := 0, false, 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		switch key {
		case "version":
			if err := dec.Decode(&version); err != nil {
				return fmt.Errorf("version: %w", err)
			}
		case "nodes":
			sawNodes = true
			if err := expectDelim(dec, '['); err != nil {
				return fmt.Errorf("nodes: %w", err)
			}
			for dec.More() {
				n := new(mesh.Node)
				if err := dec.Decode(n); err != nil {
					return fmt.Errorf("nodes[%d]: %w", count, err)
				}
				if n.ID == "" || n.Type == "" {
					return fmt.Errorf("nodes[%d]: no id or type", count)
				}
				if len(n.Fields) > 0 && n.Fields[0] != '{' {
					return fmt.Errorf("nodes[%d] %s: fields is not an object", count, n.ID)
				}
				count++
				if err := fn(n); err != nil {
					return err
				}
			}
			if err := expectDelim(dec, ']'); err != nil {
				return fmt.Errorf("nodes: %w", err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return err
	}
	if version != mesh.GraphVersion {
		return fmt.Errorf("graph version %d, want %d", version, mesh.GraphVersion)
	}
	if !sawNodes {
		return errors.New("no nodes list")
	}
	return nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, found %v", want, tok)
	}
	return nil
}

// writeFileAtomic writes data to path through a temporary file in the same folder, so readers see
// the old file or the new one. An unchanged file is left alone (its time stamp too).
func writeFileAtomic(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return nil
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
