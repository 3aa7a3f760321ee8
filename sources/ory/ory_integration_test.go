package ory

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/mesh/fetch"
	"github.com/contentmesh/contentmesh/sources/internal/people/peopletest"
)

// kratosEnv reads the env file that scripts/realservers/kratos-up.sh writes. Without it the test
// skips, saying how to start the server, unless CI is "true": then it fails.
func kratosEnv(t *testing.T) map[string]string {
	t.Helper()
	dir := os.Getenv("REALSERVERS_DIR")
	if dir == "" {
		dir = "/tmp/contentmesh-realservers"
	}
	path := filepath.Join(dir, "kratos", "env")
	f, err := os.Open(path)
	if err != nil {
		msg := fmt.Sprintf("no real Ory Kratos (%v): start it with scripts/realservers/kratos-up.sh "+
			"(builds Kratos v1.3.1 from the Go module proxy once, then serves 127.0.0.1:4433/4434; stop it with kratos-down.sh)", err)
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
	if env["KRATOS_ADMIN_URL"] == "" {
		t.Fatalf("%s has no KRATOS_ADMIN_URL", path)
	}
	// An env file left by an earlier run does not mean the server is up.
	if u, err := url.Parse(env["KRATOS_ADMIN_URL"]); err == nil {
		if c, err := net.DialTimeout("tcp", u.Host, 2*time.Second); err != nil {
			msg := fmt.Sprintf("Ory Kratos is not running at %s (%v): start it with scripts/realservers/kratos-up.sh", u.Host, err)
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		} else {
			c.Close()
		}
	}
	return env
}

// kratosAdmin calls the admin API directly, to seed and clean up.
type kratosAdmin struct {
	t   *testing.T
	url string
}

func (k kratosAdmin) do(method, path string, body any) (int, []byte) {
	k.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			k.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, k.url+path, rd)
	if err != nil {
		k.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		k.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

type seeded struct {
	id, email, first, last, username, picture, phone, role, secret string
}

// TestKratosIntegration seeds identities in a real Kratos through its admin API, builds a graph from
// it through the engine, and checks the graph against what was seeded: every seeded identity is a
// User, linked to its role both ways, paged through Kratos' real Link headers; with the default
// config no trait (email, name, phone, ...) and no metadata value leaves; with fields listing email
// and name exactly those come in.
func TestKratosIntegration(t *testing.T) {
	env := kratosEnv(t)
	admin := kratosAdmin{t: t, url: strings.TrimSuffix(env["KRATOS_ADMIN_URL"], "/")}
	if code, body := admin.do(http.MethodGet, "/admin/health/ready", nil); code != http.StatusOK {
		t.Fatalf("Kratos at %s is not ready (%d %s): restart it with scripts/realservers/kratos-up.sh", admin.url, code, body)
	}

	run := make([]byte, 4)
	_, _ = rand.Read(run)
	tag := hex.EncodeToString(run)
	role := "it-" + tag + "-author"
	var people []seeded
	for i := range 5 {
		p := seeded{email: fmt.Sprintf("it-%s-%d@example.test", tag, i), first: fmt.Sprintf("First%s%d", tag, i),
			last: fmt.Sprintf("Last%s%d", tag, i), username: fmt.Sprintf("u%s%d", tag, i),
			picture: fmt.Sprintf("https://cdn.example.test/%s/%d.png", tag, i), phone: fmt.Sprintf("+1555%s%d", tag[:6], i),
			role: role, secret: fmt.Sprintf("admin-secret-%s-%d", tag, i)}
		traits := map[string]any{"email": p.email, "name": map[string]any{"first": p.first, "last": p.last},
			"username": p.username, "picture": p.picture, "phone": p.phone}
		code, body := admin.do(http.MethodPost, "/admin/identities", map[string]any{
			"schema_id": "default", "state": "active", "traits": traits,
			"metadata_public": map[string]any{"roles": []string{role}, "plan": "plan-" + tag},
			"metadata_admin":  map[string]any{"crm": p.secret},
		})
		if code != http.StatusCreated {
			t.Fatalf("create identity: %d %s", code, body)
		}
		var created struct{ ID string }
		if err := json.Unmarshal(body, &created); err != nil || created.ID == "" {
			t.Fatalf("create identity: %s", body)
		}
		p.id = created.ID
		people = append(people, p)
		t.Cleanup(func() { admin.do(http.MethodDelete, "/admin/identities/"+p.id, nil) })
	}

	build := func(t *testing.T, fields []string, pageSize int) peopletest.Result {
		log := &peopletest.LogBuffer{}
		s, err := New(Config{AdminURL: admin.url, Fields: fields, Options: fetch.Options{Logger: log.Logger()}})
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "out")
		m, err := mesh.New(mesh.Options{Out: dir, Logger: log.Logger(), PageSize: pageSize})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Add("people", s); err != nil {
			t.Fatal(err)
		}
		b, err := m.Build(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return peopletest.Result{Build: b, Dir: dir, Logs: log.Bytes()}
	}

	t.Run("default config", func(t *testing.T) {
		res := build(t, nil, 2) // pages of 2: several real Link headers
		g := res.Build.Graph
		roleNode, ok := g.Get("people/role/" + role)
		if !ok {
			t.Fatalf("no role %s in the graph", role)
		}
		var members []string
		for u := range g.Backrefs(roleNode, "roles") {
			members = append(members, u.NativeID)
		}
		var want []string
		for _, p := range people {
			want = append(want, p.id)
			u, ok := g.Get("people/user/" + p.id)
			if !ok {
				t.Fatalf("seeded identity %s is not in the graph", p.id)
			}
			if u.Type != "User" || u.Get("createdAt").String() == "" || u.Get("roles").Raw != `[{"$ref":"people/role/`+role+`"}]` {
				t.Errorf("user %s: %s", p.id, u.Fields)
			}
		}
		slices.Sort(members)
		slices.Sort(want)
		if !slices.Equal(members, want) {
			t.Errorf("members of %s: %v, want %v", role, members, want)
		}
		if reqs := res.Build.Report.Sources[0].Requests; reqs < 3 {
			t.Errorf("%d requests for %d identities in pages of 2", reqs, g.CountByType()["User"])
		}
		var leaks []string
		for _, p := range people {
			leaks = append(leaks, p.email, p.first, p.last, p.username, p.picture, p.phone, p.secret, "plan-"+tag)
		}
		for _, k := range []string{"KRATOS_USER1", "KRATOS_USER2"} {
			email, pass, _ := strings.Cut(env[k], ":")
			leaks = append(leaks, email, pass)
		}
		res.AssertNoLeak(t, "traits, metadata or passwords", leaks)
		if found := peopletest.Leaks(res.Texts(t), []string{people[0].id, role}); len(found) == 0 {
			t.Error("the scan finds no public value either")
		}
	})

	t.Run("fields email and name", func(t *testing.T) {
		res := build(t, []string{"email", "name"}, 0)
		for _, p := range people {
			u, ok := res.Build.Graph.Get("people/user/" + p.id)
			if !ok {
				t.Fatalf("no user %s", p.id)
			}
			if u.Get("email").String() != p.email || u.Get("displayName").String() != p.first+" "+p.last ||
				u.Get("traits").Raw != fmt.Sprintf(`{"name":{"first":%q,"last":%q}}`, p.first, p.last) {
				t.Errorf("user %s: %s", p.id, u.Fields)
			}
		}
		var others []string
		for _, p := range people {
			others = append(others, p.username, p.picture, p.phone, p.secret, "plan-"+tag)
		}
		res.AssertNoLeak(t, "unlisted traits or metadata", others)
	})
}
