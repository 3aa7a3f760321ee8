package clerk_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/clerk"
)

// ExampleNew lists the members of each organization of a Clerk instance (here a fake Backend API
// serving testdata/instance.json), with their roles, and counts members per role. Emails are in the
// graph only because fields lists them.
func ExampleNew() {
	srv := httptest.NewServer(clerk.NewFakeInstance("sk_test_example"))
	defer srv.Close()

	src, err := clerk.New(clerk.Config{
		SecretKey: "sk_test_example", // in a config file: ${CLERK_SECRET_KEY}
		Fields:    []string{"email"},
		BaseURL:   srv.URL,
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
	for org := range b.Graph.ByType("Organization") {
		for member := range b.Graph.Backrefs(org, "organizations") {
			name := member.Get("displayName").String()
			if name == "" {
				name = "@" + member.Get("username").String()
			}
			fmt.Printf("%s: %s <%s>\n", org.Get("name"), name, member.Get("email"))
		}
	}
	for role := range b.Graph.ByType("Role") {
		n := 0
		for range b.Graph.Backrefs(role, "roles") {
			n++
		}
		fmt.Printf("%s: %d\n", role.Get("name"), n)
	}
	// Output:
	// Blue Fin Labs: Ben Wright <ben.wright@example.net>
	// Blue Fin Labs: Aiko Tanaka <aiko@example.com>
	// Quiet Co: Aiko Tanaka <aiko@example.com>
	// Quiet Co: @carla.phone <>
	// Admin: 1
	// Billing manager: 1
	// Member: 2
}
