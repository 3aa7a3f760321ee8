package stripe

import (
	"bufio"
	"context"
	"github.com/contentmesh/contentmesh/internal/realserver"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/internal/money"
)

// stripeMockEnv reads the env file scripts/realservers/stripe-mock-up.sh writes. Without it the test
// skips, unless CI=true, where the server must be there.
func stripeMockEnv(t *testing.T) map[string]string {
	t.Helper()
	dir := os.Getenv("REALSERVERS_DIR")
	if dir == "" {
		dir = "/tmp/contentmesh-realservers"
	}
	path := filepath.Join(dir, "stripe-mock", "env")
	f, err := os.Open(path)
	if err != nil {
		msg := "stripe-mock is not running (" + path + " is missing): start it with scripts/realservers/stripe-mock-up.sh"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	for _, k := range []string{"STRIPE_MOCK_URL", "STRIPE_MOCK_KEY"} {
		if env[k] == "" {
			t.Fatalf("%s: no %s", path, k)
		}
	}
	realserver.RequireUp(t, "stripe-mock", env["STRIPE_MOCK_URL"])
	return env
}

// mockList fetches a list endpoint from stripe-mock with a plain request, independently of the adapter.
func mockList(t *testing.T, env map[string]string, path string) []gjson.Result {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, env["STRIPE_MOCK_URL"]+path+"?limit=100", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+env["STRIPE_MOCK_KEY"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v: %s", path, resp.StatusCode, err, body)
	}
	return gjson.GetBytes(body, "data").Array()
}

// TestStripeMock lists the catalog of Stripe's own API mock (stripe-mock validates every request
// against Stripe's OpenAPI spec and answers canned objects): the graph must hold its products and
// prices with the shapes and amounts the mock serves, and an incremental rebuild (the events listing
// with created[gte] and types[], which the mock also validates) must change nothing.
func TestStripeMock(t *testing.T) {
	env := stripeMockEnv(t)
	src, err := New(Config{SecretKey: env["STRIPE_MOCK_KEY"], BaseURL: env["STRIPE_MOCK_URL"]})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := src.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	store, err := mesh.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	first := mustBuild(t, src, store)
	g := first.Graph

	products := mockList(t, env, pathProducts)
	prices := mockList(t, env, pathPrices)
	if len(products) == 0 || len(prices) == 0 {
		t.Fatalf("stripe-mock served %d products and %d prices", len(products), len(prices))
	}
	listed := map[string]bool{}
	for _, p := range products {
		id := p.Get("id").String()
		listed[id] = true
		n, ok := g.Get(mesh.NodeID("shop", nsProduct, id))
		if !ok {
			t.Errorf("product %s is not in the graph", id)
			continue
		}
		if got, want := n.Get("title").String(), p.Get("name").String(); got != want {
			t.Errorf("product %s: title %q, want %q", id, got, want)
		}
		wantStatus := "archived"
		if p.Get("active").Bool() {
			wantStatus = "active"
		}
		if got := n.Get("status").String(); got != wantStatus {
			t.Errorf("product %s: status %q, want %q", id, got, wantStatus)
		}
		if !n.UpdatedAt.Equal(time.Unix(p.Get("updated").Int(), 0)) {
			t.Errorf("product %s: updatedAt %v, want Unix %d", id, n.UpdatedAt, p.Get("updated").Int())
		}
	}
	variants := 0
	for _, pr := range prices {
		id := pr.Get("id").String()
		n, ok := g.Get(mesh.NodeID("shop", nsVariant, id))
		if !listed[pr.Get("product").String()] || pr.Get("unit_amount").Type != gjson.Number {
			if ok {
				t.Errorf("price %s should not be a variant (unlisted product or no unit amount)", id)
			}
			continue
		}
		variants++
		if !ok {
			t.Errorf("price %s is not in the graph", id)
			continue
		}
		want, err := money.FromMinor(pr.Get("unit_amount").Raw, pr.Get("currency").String())
		if err != nil {
			t.Fatal(err)
		}
		if got := n.Get("price").Raw; got != string(want.JSON()) {
			t.Errorf("price %s: %s, want %s", id, got, want.JSON())
		}
		if got, want := n.Get(`product.\$ref`).String(), mesh.NodeID("shop", nsProduct, pr.Get("product").String()); got != want {
			t.Errorf("price %s: product %s, want %s", id, got, want)
		}
		if p, ok := g.Get(mesh.NodeID("shop", nsProduct, pr.Get("product").String())); ok {
			if !strings.Contains(p.Get("variants").Raw, n.ID) {
				t.Errorf("product %s does not list variant %s", p.ID, n.ID)
			}
		}
	}
	if variants == 0 {
		t.Error("no price of stripe-mock became a variant")
	}
	if got := g.CountByType()["ProductVariant"]; got != variants {
		t.Errorf("%d variants, want %d", got, variants)
	}
	t.Logf("stripe-mock: %d products, %d variants, %d nodes; %d requests", len(products), variants, g.Len(), first.Report.Sources[0].Requests)

	again := mustBuild(t, src, store)
	if !again.Changes.Empty() {
		t.Errorf("incremental rebuild against stripe-mock changed %+v", again.Changes)
	}
	if graphJSON(t, again.Graph) != graphJSON(t, g) {
		t.Error("incremental rebuild against stripe-mock gave another graph")
	}
}
