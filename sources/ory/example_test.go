package ory_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/ory"
)

// ExampleNew lists authors from a Kratos admin API (here a fake serving testdata/identities.json).
// Only the traits listed in Fields leave Kratos: the name, for the author pages.
func ExampleNew() {
	srv := httptest.NewServer(ory.NewFakeKratos())
	defer srv.Close()

	src, err := ory.New(ory.Config{
		AdminURL: srv.URL, // e.g. http://127.0.0.1:4434
		Fields:   []string{"name"},
	})
	if err != nil {
		log.Fatal(err)
	}
	m, err := mesh.New(mesh.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Add("people", src); err != nil {
		log.Fatal(err)
	}
	b, err := m.Build(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	author, _ := b.Graph.Get("people/role/author")
	for u := range b.Graph.Backrefs(author, "roles") {
		fmt.Printf("author %q, traits %s, email in graph: %v\n", u.Get("displayName").String(), u.Get("traits"), u.Get("email").Exists())
	}
	// Output:
	// author "Kai Moreno", traits {"name":{"first":"Kai","last":"Moreno"}}, email in graph: false
	// author "", traits {}, email in graph: false
}
