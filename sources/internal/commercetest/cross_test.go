package commercetest_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/mesh/meshtest"
	"github.com/contentmesh/contentmesh/sources/bigcommerce"
	"github.com/contentmesh/contentmesh/sources/internal/commercetest"
	"github.com/contentmesh/contentmesh/sources/shopify"
)

// commerceAdapter is one commerce adapter in the cross-adapter test: how to serve a catalog in its
// provider's shapes, and how to build the source against that server.
type commerceAdapter struct {
	kind string
	// currencies it can price the catalog in (a provider with per-store currency takes any).
	currencies []string
	serve      func(t *testing.T, cat commercetest.Catalog) *meshtest.FixtureServer
	source     func(t *testing.T, baseURL string) (mesh.Source, error)
}

func quickOptions() fetch.Options {
	retries := 1
	return fetch.Options{Retries: &retries, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond}
}

// adapters are the commerce adapters. Stripe and Vendure join with a row each: a fake serving the
// catalog (their api-notes shapes) and their Gaps entries.
var adapters = []commerceAdapter{
	{
		kind:       shopify.Kind,
		currencies: commercetest.Currencies,
		serve: func(t *testing.T, cat commercetest.Catalog) *meshtest.FixtureServer {
			srv := meshtest.NewFixtureServer(t, "")
			srv.RequireHeader("X-Shopify-Storefront-Access-Token", "cross-token")
			srv.Handle("POST /api/{version}/graphql.json", commercetest.NewShopifyFake(cat).ServeHTTP)
			return srv
		},
		source: func(t *testing.T, baseURL string) (mesh.Source, error) {
			return shopify.New(shopify.Config{Store: "reference.myshopify.com", Token: "cross-token", BaseURL: baseURL,
				Options: quickOptions()})
		},
	},
	{
		kind:       bigcommerce.Kind,
		currencies: commercetest.Currencies,
		serve: func(t *testing.T, cat commercetest.Catalog) *meshtest.FixtureServer {
			srv := meshtest.NewFixtureServer(t, "")
			srv.RequireHeader("X-Auth-Token", "cross-token")
			srv.Handle("GET /stores/", commercetest.NewBigCommerceFake("ref1", cat).ServeHTTP)
			return srv
		},
		source: func(t *testing.T, baseURL string) (mesh.Source, error) {
			return bigcommerce.New(bigcommerce.Config{StoreHash: "ref1", Token: "cross-token", BaseURL: baseURL,
				Options: quickOptions()})
		},
	},
}

// buildView builds the adapter's source against a fake of cat and reads the graph back.
func buildView(t *testing.T, a commerceAdapter, cat commercetest.Catalog) commercetest.View {
	t.Helper()
	srv := a.serve(t, cat)
	src, err := a.source(t, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mesh.New(mesh.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add("shop", src); err != nil {
		t.Fatal(err)
	}
	b, err := m.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := b.Graph.Dangling(); len(d) > 0 {
		t.Errorf("%s: dangling refs: %v", a.kind, d)
	}
	v, err := commercetest.FromGraph(b.Graph, "shop")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestCrossAdapter: every commerce adapter yields the reference catalog's normalized fields, except
// the ones its provider cannot express (Gaps), and so the same fields as every other adapter.
func TestCrossAdapter(t *testing.T) {
	for _, cur := range commercetest.Currencies {
		cat := commercetest.Reference(cur)
		want := cat.View()
		views := map[string]commercetest.View{}
		for _, a := range adapters {
			if !slices.Contains(a.currencies, cur) {
				continue
			}
			t.Run(a.kind+"/"+cur, func(t *testing.T) {
				v := buildView(t, a, cat)
				views[a.kind] = v
				if d := commercetest.Diff(want, v, commercetest.Gaps(a.kind)...); len(d) > 0 {
					t.Errorf("%s differs from the reference catalog (gaps allowed: %s):\n%s", a.kind,
						strings.Join(commercetest.GapReasons(a.kind), "; "), strings.Join(d, "\n"))
				}
			})
		}
		// Pairwise, the fields both providers express are equal.
		for i, a := range adapters {
			for _, b := range adapters[i+1:] {
				va, vb := views[a.kind], views[b.kind]
				if va == nil || vb == nil {
					continue
				}
				ignore := append(commercetest.Gaps(a.kind), commercetest.Gaps(b.kind)...)
				if d := commercetest.Diff(va, vb, ignore...); len(d) > 0 {
					t.Errorf("%s: %s and %s disagree:\n%s", cur, a.kind, b.kind, strings.Join(d, "\n"))
				}
			}
		}
	}
}

// TestCrossAdapterCatches proves the cross test can fail: a catalog served with one price changed
// is told apart from the reference.
func TestCrossAdapterCatches(t *testing.T) {
	for _, a := range adapters {
		t.Run(a.kind, func(t *testing.T) {
			served := commercetest.Reference("USD")
			served.Product("merino-sock").Variants[0].Price.Amount = "19.98"
			served.Product("trail-runner").Title = "Trail Runner"
			v := buildView(t, a, served)
			d := commercetest.Diff(commercetest.Reference("USD").View(), v, commercetest.Gaps(a.kind)...)
			got := strings.Join(d, "\n")
			for _, want := range []string{
				`products.merino-sock.variants.0.price.amount: want "19.99", have "19.98"`,
				`products.trail-runner.title: want "Trail Runner Shoe", have "Trail Runner"`,
			} {
				if !strings.Contains(got, want) {
					t.Errorf("diff does not report %s:\n%s", want, got)
				}
			}
		})
	}
}
