package auth0_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/auth0"
)

// ExampleNew builds a team directory from an Auth0 tenant (here a fake of the Management API serving
// testdata/tenant.json): users with their public profile, roles and organizations, linked both ways.
// No email, phone, login time or metadata is in the graph, because fields lists none.
func ExampleNew() {
	srv := httptest.NewServer(auth0.NewFakeTenant("example-client", "example-secret"))
	defer srv.Close()

	src, err := auth0.New(auth0.Config{
		Domain:       "acme.eu.auth0.com",
		ClientID:     "example-client",
		ClientSecret: "example-secret", // in a config file: ${AUTH0_CLIENT_SECRET}
		BaseURL:      srv.URL,
	})
	if err != nil {
		log.Fatal(err)
	}
	m, err := mesh.New(mesh.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Add("team", src); err != nil {
		log.Fatal(err)
	}
	b, err := m.Build(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for u := range b.Graph.ByType("User") {
		name := u.Get("displayName").String()
		if name == "" {
			name = "(no public name: Auth0 named this user after their phone number)"
		}
		fmt.Printf("%s | %s | email in graph: %v\n", name, u.Get("username"), u.Get("email").Exists())
	}
	acme, _ := b.Graph.Get("team/organization/org_Q2w3E4r5T6y7U8i9")
	for member := range b.Graph.Backrefs(acme, "organizations") {
		fmt.Println(acme.Get("name"), "member:", member.Get("displayName"))
	}
	// Output:
	// Maria Lopez | maria.lopez | email in graph: false
	// Jane Doe | jdoe | email in graph: false
	// sam.k | sam.k | email in graph: false
	// Dev Ops | dev.ops | email in graph: false
	// (no public name: Auth0 named this user after their phone number) |  | email in graph: false
	// Acme Corp member: Maria Lopez
	// Acme Corp member: Dev Ops
}
