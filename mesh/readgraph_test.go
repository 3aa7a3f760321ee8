package mesh_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/contentmesh/contentmesh/mesh"
)

func TestReadGraphJSONRoundTrip(t *testing.T) {
	src := mustMem(t,
		rec("post", "1", "Post", `{"title":"é","author":{"$ref":"s/user/u"}}`),
		rec("user", "u", "User", `{"name":"U"}`))
	m := newMesh(t, mesh.Options{}, map[string]mesh.Source{"s": src})
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := b.Graph.WriteGraphJSON(&buf); err != nil {
		t.Fatal(err)
	}
	g, err := mesh.ReadGraphJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	g.WriteGraphJSON(&again)
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Errorf("round trip differs:\n%s\n%s", buf.Bytes(), again.Bytes())
	}
	u, _ := g.Get("s/user/u")
	if got := slices.Collect(g.Backrefs(u, "author")); len(got) != 1 || got[0].Get("title").Str != "é" {
		t.Errorf("backrefs %v", got)
	}
	for _, bad := range []string{`nope`, `{"version":2,"nodes":[]}`, `{"version":1}`, `{"version":1,"nodes":[{"id":""}]}`} {
		if _, err := mesh.ReadGraphJSON(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
