package mesh

import "testing"

func TestNodeID(t *testing.T) {
	tests := []struct {
		source, ns, id, locale, want string
	}{
		{"cms", "Entry", "abc", "", "cms/Entry/abc"},
		{"cms", "Entry", "abc", "en-US", "cms/Entry/abc@en-US"},
		{"auth", "user", "auth0|123", "", "auth/user/auth0|123"},
		{"files", "post", "blog/2024/hello", "", "files/post/blog%2F2024%2Fhello"},
		{"x", "y", "a@b%c", "", "x/y/a%40b%25c"},
	}
	for _, tt := range tests {
		got := LocalizedNodeID(tt.source, tt.ns, tt.id, tt.locale)
		if got != tt.want {
			t.Errorf("LocalizedNodeID(%q,%q,%q,%q) = %q, want %q", tt.source, tt.ns, tt.id, tt.locale, got, tt.want)
		}
		p, err := ParseNodeID(got)
		if err != nil || p != (ParsedID{tt.source, tt.ns, tt.id, tt.locale}) {
			t.Errorf("ParseNodeID(%q) = %+v, %v", got, p, err)
		}
	}
	for _, bad := range []string{"", "a/b", "a/b/c/d", "/b/c", "a//c", "a/b/", "a/b/c@", "a/b/%zz", "a/b/c%2"} {
		if ValidNodeID(bad) {
			t.Errorf("ValidNodeID(%q) = true", bad)
		}
	}
}

func FuzzNodeID(f *testing.F) {
	f.Add("cms", "Entry", "a/b@c%d", "en")
	f.Fuzz(func(t *testing.T, s, ns, id, loc string) {
		if s == "" || ns == "" || id == "" {
			return
		}
		got := LocalizedNodeID(s, ns, id, loc)
		p, err := ParseNodeID(got)
		if err != nil || p != (ParsedID{s, ns, id, loc}) {
			t.Fatalf("round trip %q: %+v %v", got, p, err)
		}
	})
}

func FuzzValidNodeID(f *testing.F) {
	for _, s := range []string{"a/b/c", "a/b/c@en", "a/b/%2F", "a/b/c@", "a//c", "a/b/c/d", "a/b/%4", "a@b/c/d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		_, err := ParseNodeID(id)
		if ValidNodeID(id) != (err == nil) {
			t.Fatalf("ValidNodeID(%q) = %v, ParseNodeID err = %v", id, ValidNodeID(id), err)
		}
	})
}
