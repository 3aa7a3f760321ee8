package okta_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/okta"
)

// ExampleNew builds a list of groups with their members from an Okta org (here a fake Management API
// serving testdata/org.json, with Link headers as Okta sends them).
func ExampleNew() {
	srv := httptest.NewServer(okta.NewFakeOrg("example-token"))
	defer srv.Close()

	src, err := okta.New(okta.Config{
		OrgURL:  "https://acme.okta.com",
		Token:   "example-token", // in a config file: ${OKTA_API_TOKEN}
		BaseURL: srv.URL,
	})
	if err != nil {
		log.Fatal(err)
	}
	m, err := mesh.New(mesh.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Add("staff", src); err != nil {
		log.Fatal(err)
	}
	b, err := m.Build(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for group := range b.Graph.ByType("Role") {
		fmt.Println(group.Get("name"))
		for member := range b.Graph.Backrefs(group, "roles") {
			fmt.Println("  ", member.Get("displayName"), "created", member.Get("createdAt"))
		}
	}
	// Output:
	// Content Editors
	//    Lena Fischer created 2024-05-01T10:00:00Z
	//    Wei Zhang (Docs) created 2023-02-02T02:02:02Z
	// Engineering
	//    Wei Zhang (Docs) created 2023-02-02T02:02:02Z
}
