package fetch_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
)

// contentful is a stand-in for the Contentful Delivery API: skip/limit paging of 5 entries, and a
// bearer token.
func contentful() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer delivery-token" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"sys":{"type":"Error","id":"AccessTokenInvalid"},"message":"The access token you sent could not be found or is invalid."}`)
			return
		}
		skip, _ := strconv.Atoi(r.URL.Query().Get("skip"))
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		var items []string
		for i := skip; i < min(5, skip+limit); i++ {
			items = append(items, fmt.Sprintf(`{"sys":{"id":"entry-%d"},"fields":{"title":"Post %d"}}`, i, i))
		}
		fmt.Fprintf(w, `{"total":5,"skip":%d,"limit":%d,"items":[%s]}`, skip, limit, strings.Join(items, ","))
	}))
}

func ExampleNew() {
	srv := contentful()
	defer srv.Close()

	client, err := fetch.New(fetch.Config{
		Source:  "cms",
		BaseURL: srv.URL, // https://cdn.contentful.com in production
		Auth: func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer delivery-token")
			return nil
		},
	}, fetch.Options{Concurrency: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.CloseIdleConnections()

	resp, err := client.GetJSON(context.Background(), "/spaces/abc/environments/master/entries", url.Values{"limit": {"2"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("total:", resp.Get("total").Int())
	for _, title := range resp.Get("items.#.fields.title").Array() {
		fmt.Println(title.String())
	}

	// A failure keeps the status and the provider's message, and unwraps to a mesh sentinel.
	bad, _ := fetch.New(fetch.Config{Source: "cms", BaseURL: srv.URL}, fetch.Options{})
	defer bad.CloseIdleConnections()
	_, err = bad.GetJSON(context.Background(), "/spaces/abc/entries", url.Values{"access_token": {"wrong"}})
	fmt.Println(errors.Is(err, mesh.ErrUnauthorized))
	fmt.Println(strings.Replace(err.Error(), srv.URL, "http://cdn", 1))
	// Output:
	// total: 5
	// Post 0
	// Post 1
	// true
	// GET http://cdn/spaces/abc/entries?access_token=REDACTED: 401 Unauthorized: AccessTokenInvalid: The access token you sent could not be found or is invalid.
}

func ExampleClient_Offset() {
	srv := contentful()
	defer srv.Close()
	client, err := fetch.New(fetch.Config{
		BaseURL: srv.URL,
		Auth: func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer delivery-token")
			return nil
		},
	}, fetch.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.CloseIdleConnections()

	const pageSize = 2
	var (
		mu  sync.Mutex // each runs concurrently
		ids []string
	)
	err = client.Offset(context.Background(), fetch.OffsetPages{
		Page: func(i int) *fetch.Request {
			return &fetch.Request{URL: "/spaces/abc/environments/master/entries", Query: url.Values{
				"skip": {strconv.Itoa(i * pageSize)}, "limit": {strconv.Itoa(pageSize)}, "order": {"sys.id"},
			}}
		},
		PageSize: pageSize,
		Total:    func(first *fetch.Response) (int, error) { return int(first.Get("total").Int()), nil },
	}, func(page int, r *fetch.Response) error {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range r.Get("items.#.sys.id").Array() {
			ids = append(ids, id.String())
		}
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	slices.Sort(ids) // pages arrive in any order
	fmt.Println(ids)
	fmt.Println("requests:", client.Stats().Requests)
	// Output:
	// [entry-0 entry-1 entry-2 entry-3 entry-4]
	// requests: 3
}
