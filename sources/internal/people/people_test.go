package people

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/contentmesh/contentmesh/mesh"
)

var known = map[string]string{Email: "", Phone: "", LastLogin: "", Metadata: "", LastIP: "the API has no IP address"}

func TestParse(t *testing.T) {
	cases := []struct {
		fields  []string
		prefix  string
		want    string // Selection.String, or the error text to find
		wantErr bool
	}{
		{fields: nil, want: "[]"},
		{fields: []string{"email", "lastLogin", "email"}, want: "[email lastLogin]"},
		{fields: []string{"emial"}, wantErr: true, want: `unknown field "emial"; known: email, lastLogin, metadata, phone`},
		{fields: []string{"last_login"}, wantErr: true, want: `did you mean "lastLogin"`},
		{fields: []string{"LastIP"}, wantErr: true, want: `did you mean "lastIp"`},
		{fields: []string{"lastIp"}, wantErr: true, want: `"lastIp" is not available from test: the API has no IP address`},
		{fields: []string{" "}, wantErr: true, want: "entry 0 is empty"},
		{fields: []string{"email", "name", "traits.name.first", "name"}, prefix: "traits.", want: "[email name name.first]"},
		{fields: []string{"name[0]"}, prefix: "traits.", wantErr: true, want: "trait path"},
		{fields: []string{"traits."}, prefix: "traits.", wantErr: true, want: "trait path"},
	}
	for _, tc := range cases {
		sel, err := Parse("test", tc.fields, known, tc.prefix)
		if tc.wantErr {
			if !errors.Is(err, mesh.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `key "fields"`) {
				t.Errorf("%q: err %v, want ErrInvalidConfig with %q", tc.fields, err, tc.want)
			}
			continue
		}
		if err != nil || sel.String() != tc.want {
			t.Errorf("%q: %v %v, want %s", tc.fields, sel, err, tc.want)
		}
	}
}

func TestLooksPersonal(t *testing.T) {
	for s, want := range map[string]bool{
		"maria@example.com": true, " a.b+c@sub.example.org ": true, "+14155550123": true, "+1 (415) 555-0123": true,
		"030 1234567": true, "Maria Lopez": false, "maria.lopez": false, "R2-D2": false, "2024": false, "@handle": false,
		"Team 1234567": false, "a@b": false,
	} {
		if got := LooksPersonal(s); got != want {
			t.Errorf("LooksPersonal(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestUserNode(t *testing.T) {
	at := time.Date(2025, 9, 10, 12, 0, 1, 0, time.UTC)
	u := User{NativeID: "u|1", DisplayName: "a@b.example", Username: "+1 555 010 9999", AvatarURL: "https://a/p.png",
		CreatedAt: at, Roles: []string{"s/role/b", "s/role/a", "s/role/b"}, Organizations: []string{"s/organization/x"},
		Memberships: []Membership{{Organization: "s/organization/x", Roles: []string{"s/role/b", "s/role/a"}}},
		Email:       "e@x.example", Phone: "+15550109999", LastLogin: at, LastIP: "203.0.113.1",
		Metadata: []byte(`{"k":"v"}`), UpdatedAt: at}
	cases := []struct {
		fields []string
		want   string
	}{
		{nil, `{"avatarUrl":"https://a/p.png","createdAt":"2025-09-10T12:00:01Z","displayName":null,"memberships":[{"organization":{"$ref":"s/organization/x"},"roles":[{"$ref":"s/role/a"},{"$ref":"s/role/b"}]}],"organizations":[{"$ref":"s/organization/x"}],"roles":[{"$ref":"s/role/a"},{"$ref":"s/role/b"}],"username":null}`},
		{[]string{"email", "lastIp"}, `{"avatarUrl":"https://a/p.png","createdAt":"2025-09-10T12:00:01Z","displayName":null,"email":"e@x.example","lastIp":"203.0.113.1","memberships":[{"organization":{"$ref":"s/organization/x"},"roles":[{"$ref":"s/role/a"},{"$ref":"s/role/b"}]}],"organizations":[{"$ref":"s/organization/x"}],"roles":[{"$ref":"s/role/a"},{"$ref":"s/role/b"}],"username":null}`},
	}
	k := map[string]string{Email: "", Phone: "", LastLogin: "", Metadata: "", LastIP: ""}
	for _, tc := range cases {
		sel, err := Parse("t", tc.fields, k, "")
		if err != nil {
			t.Fatal(err)
		}
		n := u.Node("s", sel)
		got, _, err := mesh.Canonicalize(n.Fields)
		if err != nil || string(got) != tc.want {
			t.Errorf("%v:\n got %s %v\nwant %s", tc.fields, got, err, tc.want)
		}
		if !n.UpdatedAt.IsZero() {
			t.Errorf("%v: updatedAt set without lastLogin", tc.fields)
		}
		if n.ID != "s/user/u|1" || n.Type != TypeUser {
			t.Errorf("id %s type %s", n.ID, n.Type)
		}
	}
	sel, _ := Parse("t", []string{"lastLogin"}, k, "")
	if n := u.Node("s", sel); !n.UpdatedAt.Equal(at) || gjson.GetBytes(n.Fields, "lastLogin").String() != "2025-09-10T12:00:01Z" {
		t.Errorf("lastLogin selected: updatedAt %v, fields %s", n.UpdatedAt, n.Fields)
	}
	// A public name equal to the user's own email or phone is dropped even when it does not look like one.
	v := User{NativeID: "2", DisplayName: "x-handle", Username: "5550", Email: "X-Handle", Phone: "5550"}
	if n := v.Node("s", Selection{}); gjson.GetBytes(n.Fields, "displayName").Type != gjson.Null || gjson.GetBytes(n.Fields, "username").Type != gjson.Null {
		t.Errorf("names equal to the email or phone kept: %s", n.Fields)
	}
}

func TestPick(t *testing.T) {
	obj := gjson.Parse(`{"email":"e@x","name":{"first":"A","last":"B"},"username":"ab","a.b":1,"tags":["x"]}`)
	cases := []struct {
		paths []string
		want  string
		ok    bool
	}{
		{[]string{"name.first"}, `{"name":{"first":"A"}}`, true},
		{[]string{"name.first", "name"}, `{"name":{"first":"A","last":"B"}}`, true},
		{[]string{"name", "name.first"}, `{"name":{"first":"A","last":"B"}}`, true},
		{[]string{"username", "tags", "missing"}, `{"tags":["x"],"username":"ab"}`, true},
		{[]string{"missing", "name.middle"}, ``, false},
	}
	for _, tc := range cases {
		got, ok := Pick(obj, tc.paths)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("Pick(%v) = %s %v, want %s %v", tc.paths, got, ok, tc.want, tc.ok)
		}
	}
}

func TestOrganizationAndRoleNodes(t *testing.T) {
	o := Organization{NativeID: "o1", Name: "Acme", Metadata: []byte(`{"tier":"gold"}`)}
	if got := string(o.Node("s", Selection{}).Fields); got != `{"name":"Acme","slug":null,"logoUrl":null}` {
		t.Errorf("org %s", got)
	}
	sel, _ := Parse("t", []string{"metadata"}, known, "")
	if got := string(o.Node("s", sel).Fields); !strings.Contains(got, `"metadata":{"tier":"gold"}`) {
		t.Errorf("org with metadata %s", got)
	}
	r := Role{NativeID: "r/1", Name: "editor"}
	if n := r.Node("s"); n.ID != "s/role/r%2F1" || string(n.Fields) != `{"name":"editor","description":null}` {
		t.Errorf("role %s %s", n.ID, n.Fields)
	}
}

type failingEmitter struct{ err error }

func (f failingEmitter) Upsert(mesh.Node) error { return f.err }
func (f failingEmitter) Delete(string) error    { return f.err }

func TestOutAndFetchError(t *testing.T) {
	boom := errors.New("emitter full")
	o := NewOut(failingEmitter{boom})
	if err := o.Upsert(mesh.Node{}); err != boom {
		t.Fatal(err)
	}
	wrapped := fmt.Errorf("page 3: %w", boom)
	if got := o.FetchError(context.Background(), "x", wrapped); got != boom {
		t.Errorf("emitter error not returned unchanged: %v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := NewOut(failingEmitter{}).FetchError(ctx, "x", fmt.Errorf("get: %w", context.Canceled)); got != context.Canceled {
		t.Errorf("cancel: %v", got)
	}
	if got := NewOut(failingEmitter{}).FetchError(context.Background(), "okta", mesh.ErrUpstream); got.Error() != "okta: upstream error" || !errors.Is(got, mesh.ErrUpstream) {
		t.Errorf("plain error: %v", got)
	}
}

func TestFanOut(t *testing.T) {
	var mu sync.Mutex
	running, peak := 0, 0
	err := FanOut(context.Background(), 2, []string{"a", "b", "c", "d", "e"}, func(ctx context.Context, id string) error {
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		if id == "d" {
			return errors.New("d failed")
		}
		return nil
	})
	if err == nil || err.Error() != "d failed" || peak > 2 {
		t.Errorf("err %v, peak %d", err, peak)
	}
}

func TestSafeHost(t *testing.T) {
	auth := SafeHost(func(r *http.Request) error { r.Header.Set("Authorization", "x"); return nil }, "api.example.com", "org.example.com")
	for host, ok := range map[string]bool{"api.example.com": true, "ORG.example.com": true, "evil.example.com": false} {
		r, _ := http.NewRequest(http.MethodGet, "https://"+host+"/x", nil)
		err := auth(r)
		if (err == nil) != ok || (r.Header.Get("Authorization") != "") != ok {
			t.Errorf("%s: err %v, header %q", host, err, r.Header.Get("Authorization"))
		}
	}
}
