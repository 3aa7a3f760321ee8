package vendure

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/contentmesh/contentmesh/internal/realserver"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources/internal/commercetest"
	"github.com/contentmesh/contentmesh/sources/internal/money"
)

// vendureEnv reads the env file scripts/realservers/vendure-up.sh writes. Without it the test skips,
// unless CI=true, where the server must be there.
func vendureEnv(t *testing.T) map[string]string {
	t.Helper()
	dir := os.Getenv("REALSERVERS_DIR")
	if dir == "" {
		dir = "/tmp/contentmesh-realservers"
	}
	path := filepath.Join(dir, "vendure", "env")
	f, err := os.Open(path)
	if err != nil {
		msg := "Vendure is not running (" + path + " is missing): start it with scripts/realservers/vendure-up.sh"
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
	for _, k := range []string{"VENDURE_SHOP_API", "VENDURE_CHANNEL_TOKEN", "VENDURE_JPY_CHANNEL_TOKEN"} {
		if env[k] == "" {
			t.Fatalf("%s: no %s", path, k)
		}
	}
	realserver.RequireUp(t, "vendure", env["VENDURE_SHOP_API"])
	return env
}

// shopQuery posts a GraphQL query to the Shop API with a plain request, independently of the adapter.
func shopQuery(t *testing.T, endpoint, token, query string, variables map[string]any) gjson.Result {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": variables})
	req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(headerChannelToken, token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || gjson.GetBytes(b, "errors").Exists() {
		t.Fatalf("shop-api: %d %v: %s", resp.StatusCode, err, b)
	}
	return gjson.ParseBytes(b).Get("data")
}

// TestVendureServer builds the graph of a real Vendure 3 server seeded with Vendure's sample catalog,
// in its default (USD) channel and in a second channel in JPY, and checks it against what the server
// answers to plain GraphQL queries: every product, variant and collection, exact prices, collection
// memberships; and the contract shapes every commerce adapter shares.
func TestVendureServer(t *testing.T) {
	env := vendureEnv(t)
	for _, ch := range []struct{ name, token, currency string }{
		{"USD", env["VENDURE_CHANNEL_TOKEN"], "USD"},
		{"JPY", env["VENDURE_JPY_CHANNEL_TOKEN"], "JPY"},
	} {
		t.Run(ch.name, func(t *testing.T) {
			src, err := New(Config{URL: env["VENDURE_SHOP_API"], ChannelToken: ch.token})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := src.Check(ctx); err != nil {
				t.Fatalf("Check: %v", err)
			}
			b := mustBuild(t, src)
			g := b.Graph

			// What the server says, page by page.
			var products []gjson.Result
			for skip := 0; ; skip += 100 {
				d := shopQuery(t, env["VENDURE_SHOP_API"], ch.token, `query($skip: Int) {
					products(options: {take: 100, skip: $skip}) { totalItems items { id slug name
					  variants { id sku price currencyCode } collections { id } } } }`, map[string]any{"skip": skip})
				products = append(products, d.Get("products.items").Array()...)
				if len(products) >= int(d.Get("products.totalItems").Int()) {
					break
				}
			}
			colls := shopQuery(t, env["VENDURE_SHOP_API"], ch.token,
				`{ collections(options: {take: 100}) { totalItems items { id slug name } } }`, nil).Get("collections.items").Array()
			if len(products) < 50 || len(colls) == 0 {
				t.Fatalf("the server holds %d products and %d collections: is it seeded with the sample catalog?", len(products), len(colls))
			}

			members := map[string][]string{}
			variants := 0
			for _, p := range products {
				pid := p.Get("id").String()
				n, ok := g.Get(mesh.NodeID("shop", nsProduct, pid))
				if !ok {
					t.Errorf("product %s (%s) is not in the graph", pid, p.Get("slug"))
					continue
				}
				if n.Get("handle").String() != p.Get("slug").String() || n.Get("title").String() != p.Get("name").String() {
					t.Errorf("product %s: handle %s title %s, want %s %s", pid, n.Get("handle"), n.Get("title"), p.Get("slug"), p.Get("name"))
				}
				var wantVariants []string
				for _, v := range p.Get("variants").Array() {
					variants++
					vid := mesh.NodeID("shop", nsVariant, v.Get("id").String())
					wantVariants = append(wantVariants, vid)
					vn, ok := g.Get(vid)
					if !ok {
						t.Errorf("variant %s is not in the graph", vid)
						continue
					}
					if v.Get("currencyCode").String() != ch.currency {
						t.Errorf("variant %s: currency %s, want the channel's %s", vid, v.Get("currencyCode"), ch.currency)
					}
					want, err := money.FromMinor(v.Get("price").Raw, v.Get("currencyCode").String())
					if err != nil {
						t.Fatal(err)
					}
					if got := vn.Get("price").Raw; got != string(want.JSON()) {
						t.Errorf("variant %s (%s): price %s, want %s", vid, v.Get("sku"), got, want.JSON())
					}
					if vn.Get("sku").String() != v.Get("sku").String() {
						t.Errorf("variant %s: sku %s, want %s", vid, vn.Get("sku"), v.Get("sku"))
					}
				}
				var gotVariants []string
				for _, r := range n.Get("variants").Array() {
					gotVariants = append(gotVariants, r.Get(`\$ref`).String())
				}
				if !slices.Equal(gotVariants, wantVariants) {
					t.Errorf("product %s: variants %v, want %v", pid, gotVariants, wantVariants)
				}
				for _, c := range p.Get("collections").Array() {
					members[c.Get("id").String()] = append(members[c.Get("id").String()], mesh.NodeID("shop", nsProduct, pid))
				}
			}
			for _, c := range colls {
				cid := mesh.NodeID("shop", nsCollection, c.Get("id").String())
				n, ok := g.Get(cid)
				if !ok {
					t.Errorf("collection %s (%s) is not in the graph", cid, c.Get("slug"))
					continue
				}
				if n.Get("handle").String() != c.Get("slug").String() {
					t.Errorf("collection %s: handle %s, want %s", cid, n.Get("handle"), c.Get("slug"))
				}
				var got []string
				for _, r := range n.Get("products").Array() {
					got = append(got, r.Get(`\$ref`).String())
				}
				want := members[c.Get("id").String()]
				slices.Sort(got)
				slices.Sort(want)
				if len(want) == 0 || !slices.Equal(got, want) {
					t.Errorf("collection %s (%s): products %v, want %v", cid, c.Get("slug"), got, want)
				}
			}
			counts := g.CountByType()
			if counts["Product"] != len(products) || counts["ProductVariant"] != variants || counts["Collection"] != len(colls) || counts["Asset"] == 0 {
				t.Errorf("counts %v, want %d products, %d variants, %d collections and some assets", counts, len(products), variants, len(colls))
			}
			// The sample catalog's first product, as @vendure/create ships it.
			laptop := mesh.NodeID("shop", nsProduct, products[0].Get("id").String())
			if products[0].Get("slug").String() == "laptop" {
				if got := g.Query(laptop, "options.#.name").Raw; got != `["screen size","RAM"]` {
					t.Errorf("laptop options %s", got)
				}
				if got := g.Query(laptop, "vendor").String(); got != "Apple" {
					t.Errorf("laptop vendor %q", got)
				}
			}
			// The shapes every commerce adapter shares.
			if _, err := commercetest.FromGraph(g, "shop"); err != nil {
				t.Error(err)
			}
			t.Logf("%s channel: %v in %d requests", ch.name, counts, b.Report.Sources[0].Requests)

			// Small pages, fetched concurrently, give the same graph.
			m, err := mesh.New(mesh.Options{PageSize: 7})
			if err != nil {
				t.Fatal(err)
			}
			m.Add("shop", src)
			paged, err := m.Build(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var a, c bytes.Buffer
			g.WriteGraphJSON(&a)
			paged.Graph.WriteGraphJSON(&c)
			if a.String() != c.String() {
				t.Error("page size 7 gave another graph")
			}
		})
	}

	// The server has two channels: an unknown token is CHANNEL_NOT_FOUND.
	src, err := New(Config{URL: env["VENDURE_SHOP_API"], ChannelToken: "contentmesh-no-such-channel"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = build(t, src)
	if !errors.Is(err, mesh.ErrUnauthorized) || strings.Contains(err.Error(), "contentmesh-no-such-channel") {
		t.Errorf("unknown channel token: %v", err)
	}
}
