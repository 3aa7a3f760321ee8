package fetch

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestLinkNext(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   string
	}{
		{"github style", []string{`<https://api.test/items?page=2>; rel="next", <https://api.test/items?page=9>; rel="last"`}, "https://api.test/items?page=2"},
		{"next not first", []string{`<https://api.test/x?page=1>; rel="prev", <https://api.test/x?page=3>; rel="next"`}, "https://api.test/x?page=3"},
		{"okta: several headers", []string{`<https://org.test/api/v1/users?limit=200>; rel="self"`, `<https://org.test/api/v1/users?after=00u1&limit=200>; rel="next"`}, "https://org.test/api/v1/users?after=00u1&limit=200"},
		{"several relations", []string{`<https://api.test/2>; rel="next last"`}, "https://api.test/2"},
		{"unquoted rel", []string{`</items?page=2>; rel=next`}, "/items?page=2"},
		{"case and spaces", []string{`  < /p2 > ;  REL = "Next"  `}, "/p2"},
		{"comma inside the URL", []string{`<https://api.test/a?ids=1,2,3&page=2>; rel="next"`}, "https://api.test/a?ids=1,2,3&page=2"},
		{"comma and semicolon in a quoted param", []string{`<https://api.test/1>; title="a, b; c"; rel="prev", <https://api.test/2>; rel="next"`}, "https://api.test/2"},
		{"escaped quote", []string{`<https://api.test/1>; title="say \"hi\", ok"; rel="prev", <https://api.test/2>; rel="next"`}, "https://api.test/2"},
		{"first rel wins", []string{`<https://api.test/1>; rel="prev"; rel="next"`}, ""},
		{"no next", []string{`<https://api.test/1>; rel="prev"`}, ""},
		{"rel=nextpage is not next", []string{`<https://api.test/1>; rel="nextpage"`}, ""},
		{"garbage then a link", []string{`garbage; rel="next", <https://api.test/ok>; rel="next"`}, "https://api.test/ok"},
		{"unterminated", []string{`<https://api.test/1; rel="next"`}, ""},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.values {
				h.Add("Link", v)
			}
			if got := LinkNext(h); got != tt.want {
				t.Errorf("LinkNext = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseLinks(t *testing.T) {
	h := http.Header{}
	h.Add("Link", `<https://api.test/1>; rel="prev first"; title="Page, one", <https://api.test/3>; rel=next; type="application/json"`)
	h.Add("Link", `<https://api.test/9>; rel="last"`)
	got := ParseLinks(h)
	want := []Link{
		{URL: "https://api.test/1", Rel: []string{"prev", "first"}, Params: map[string]string{"title": "Page, one"}},
		{URL: "https://api.test/3", Rel: []string{"next"}, Params: map[string]string{"type": "application/json"}},
		{URL: "https://api.test/9", Rel: []string{"last"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseLinks =\n%#v\nwant\n%#v", got, want)
	}
	if !got[0].HasRel("FIRST") || got[0].HasRel("next") {
		t.Error("HasRel")
	}
}

func FuzzLinkNext(f *testing.F) {
	for _, s := range []string{
		`<https://api.test/items?page=2>; rel="next", <https://api.test/items?page=9>; rel="last"`,
		`<a>; rel=next`, `<`, `<>`, `;;,,`, `<x>; title="unterminated`, `<x>; rel="a\`, `<x> junk, <y>; rel=next`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		h := http.Header{"Link": {v, v}}
		links := ParseLinks(h)
		next := LinkNext(h)
		found := false
		for _, l := range links {
			if l.URL == "" || strings.ContainsAny(l.URL, ">") {
				t.Fatalf("bad link URL %q from %q", l.URL, v)
			}
			for _, r := range l.Rel {
				if r == "" || r != strings.ToLower(r) {
					t.Fatalf("bad rel %q from %q", r, v)
				}
			}
			if !found && l.HasRel("next") {
				found = true
				if l.URL != next {
					t.Fatalf("LinkNext = %q, first next link is %q", next, l.URL)
				}
			}
		}
		if !found && next != "" {
			t.Fatalf("LinkNext = %q but no next link parsed", next)
		}
		// A value holding a parsed link parses the same inside a larger header.
		if len(links) > 0 {
			again := ParseLinks(http.Header{"Link": {v}})
			if 2*len(again) != len(links) {
				t.Fatalf("two copies of %q gave %d links, one gave %d", v, len(links), len(again))
			}
		}
	})
}
