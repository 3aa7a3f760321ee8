package meshtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
)

// fetchToySource reads the toy API the way a real adapter does, through mesh/fetch: this proves the
// suite's HTTP subtests against the real HTTP layer (Retry-After, report counts, error shapes), and
// shows how a harness maps Env onto fetch.Options.
type fetchToySource struct {
	client   *fetch.Client
	pageSize int
}

func newFetchToySource(env Env) (*fetchToySource, error) {
	token := env.Credential(toyToken)
	c, err := fetch.New(fetch.Config{
		Source:  env.Name,
		BaseURL: env.BaseURL,
		Auth: func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+token)
			return nil
		},
	}, fetch.Options{
		Retries: &env.Retries, RetryWaitMin: env.RetryWaitMin, RetryWaitMax: env.RetryWaitMax,
		MaxRetryAfter: env.MaxRetryAfter, Timeout: env.Timeout,
	})
	if err != nil {
		return nil, err
	}
	return &fetchToySource{client: c, pageSize: env.PageSize}, nil
}

func (s *fetchToySource) Kind() string { return "fetchtoy" }

func (s *fetchToySource) Check(ctx context.Context) error {
	_, err := s.client.GetJSON(ctx, "/api/info", nil)
	return err
}

func (s *fetchToySource) Fetch(ctx context.Context, req mesh.FetchRequest, out mesh.Emitter) (mesh.FetchResult, error) {
	info, err := s.client.GetJSON(ctx, "/api/info", nil)
	if err != nil {
		return mesh.FetchResult{}, err
	}
	site := info.Get("site.id").String()
	fields, _ := json.Marshal(map[string]any{"title": info.Get("site.title").String()})
	if err := out.Upsert(mesh.Node{ID: mesh.NodeID(req.Source, "site", site), Type: "Site", NativeID: site, Fields: fields}); err != nil {
		return mesh.FetchResult{}, err
	}
	per := cmp(req.PageSize, s.pageSize, 3)
	toy := &toySource{} // for the item mapping only
	err = s.client.Offset(ctx, fetch.OffsetPages{
		PageSize: per,
		Page: func(i int) *fetch.Request {
			return &fetch.Request{URL: "/api/items", Query: url.Values{"page": {strconv.Itoa(i + 1)}, "per_page": {strconv.Itoa(per)}}}
		},
		Total: func(first *fetch.Response) (int, error) { return int(first.Get("total").Int()), nil },
	}, func(page int, r *fetch.Response) error {
		var pg struct{ Items []toyItem }
		if err := json.Unmarshal(r.Body, &pg); err != nil {
			return fmt.Errorf("%w: page %d: %v", mesh.ErrBadResponse, page, err)
		}
		for _, it := range pg.Items {
			n, err := toy.node(req.Source, site, it)
			if err != nil {
				return err
			}
			if err := out.Upsert(n); err != nil {
				return err
			}
		}
		return nil
	})
	s.client.CloseIdleConnections()
	return mesh.FetchResult{}, err
}

// cmp returns the first positive value.
func cmp(vs ...int) int {
	for _, v := range vs {
		if v > 0 {
			return v
		}
	}
	return 0
}

// A source built on mesh/fetch passes the suite, HTTP subtests included.
func TestFetchSourcePassesSuite(t *testing.T) {
	h := toyHarness(t, 0)
	h.NewSource = func(t *testing.T, env Env) (mesh.Source, error) { return newFetchToySource(env) }
	Run(t, h)
}

// The RateLimit subtest's ordering check holds for every reset header format mesh/fetch reads.
func TestFetchSourceHonorsResetHeaders(t *testing.T) {
	for _, rl := range []RateLimit{
		{Reset: []ResetHeader{{Name: "X-Contentful-RateLimit-Reset", Format: ResetSeconds}}},
		{Reset: []ResetHeader{{Name: "X-RateLimit-Reset", Format: ResetUnixSeconds}}},
		{Reset: []ResetHeader{{Name: "X-Rate-Limit-Time-Reset-Ms", Format: ResetMilliseconds}}, Wait: 300 * time.Millisecond},
		{Reset: []ResetHeader{{Name: "Retry-After", Format: ResetHTTPDate}}},
		{NoHeader: true, Body: []byte(`{"message":"slow down"}`)},
	} {
		name := "no header"
		if len(rl.Reset) > 0 {
			name = rl.Reset[0].Name
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel() // no goleak check here; the parallel subtests end before the next test starts
			h := toyHarness(t, 0)
			h.NewSource = func(t *testing.T, env Env) (mesh.Source, error) { return newFetchToySource(env) }
			h.RateLimit = rl
			if err := checkRateLimit(t, &h); err != nil {
				t.Error(err)
			}
		})
	}
}
