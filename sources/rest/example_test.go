package rest_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/rest"
	"github.com/tidwall/gjson"
)

// usersAPI serves testdata/api/users.json two items per page, each page naming the next in
// links.next, to callers that send the right API key.
func usersAPI() *httptest.Server {
	data, err := os.ReadFile("testdata/api/users.json")
	if err != nil {
		log.Fatal(err)
	}
	users := gjson.ParseBytes(data).Array()
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != "example-key" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"message": "bad API key"}`)
			return
		}
		page := 0
		if r.URL.Query().Get("page") == "2" {
			page = 1
		}
		next := `"/users?page=2"`
		if page == 1 {
			next = "null"
		}
		fmt.Fprintf(w, `{"data": [%s, %s], "links": {"next": %s}}`, users[2*page].Raw, users[2*page+1].Raw, next)
	}))
}

// ExampleNew configures a JSON API without writing an adapter: where the items are, which field is
// the id, how to find the next page, and which field references another user.
func ExampleNew() {
	srv := usersAPI()
	defer srv.Close()

	src, err := rest.New(rest.Config{
		URL:      srv.URL + "/users",
		Items:    "data",
		ID:       "id",
		NodeType: "User",
		Next:     "links.next",
		Headers:  rest.Headers{"X-Api-Key": "example-key"},
		Refs:     map[string]string{"managerId": "User"},
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
	for n := range b.Graph.Nodes() {
		fmt.Println(n.ID, n.Type, n.Get("name"))
	}
	jane, _ := b.Graph.Get("team/user/1")
	for report := range b.Graph.Backrefs(jane, "managerId") {
		fmt.Println("reports to Jane:", report.Get("name"))
	}
	fmt.Println("requests:", b.Report.Sources[0].Requests)
	// Output:
	// team/user/1 User Jane Doe
	// team/user/2 User Omar Haddad
	// team/user/3 User Li Wei
	// team/user/9007199254740993 User Big Id
	// reports to Jane: Omar Haddad
	// reports to Jane: Li Wei
	// requests: 2
}
