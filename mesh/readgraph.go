package mesh

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/tidwall/gjson"
)

// ReadGraphJSON reads a graph.json written by a build (or WriteGraphJSON) back into a Graph, for Go
// programs that consume an output folder without building: refs as written, backrefs recomputed.
func ReadGraphJSON(r io.Reader) (*Graph, error) {
	data, err := io.ReadAll(bufio.NewReader(r))
	if err != nil {
		return nil, fmt.Errorf("read graph.json: %w", err)
	}
	if !gjson.ValidBytes(data) {
		return nil, fmt.Errorf("graph.json: %w: not JSON", ErrBadResponse)
	}
	root := gjson.ParseBytes(data)
	if v := root.Get("version").Int(); v != GraphVersion {
		return nil, fmt.Errorf("graph.json: version %d, this library reads %d", v, GraphVersion)
	}
	nodesRaw := root.Get("nodes")
	if !nodesRaw.IsArray() {
		return nil, fmt.Errorf("graph.json: no nodes array")
	}
	var nodes []*Node
	var derr error
	nodesRaw.ForEach(func(_, v gjson.Result) bool {
		n, err := decodeNodeLine(bytes.Clone([]byte(v.Raw)))
		if err != nil {
			derr = fmt.Errorf("graph.json: node %d: %w", len(nodes), err)
			return false
		}
		nodes = append(nodes, n)
		return true
	})
	if derr != nil {
		return nil, derr
	}
	return NewGraph(nodes), nil
}
