package normalize

import (
	"testing"
	"time"
)

func TestTypeName(t *testing.T) {
	for in, want := range map[string]string{
		"blogPost": "BlogPost", "blog_post": "BlogPost", "blog-post": "BlogPost", "page": "Page",
		"Product": "Product", "landing page": "LandingPage", "3d-model": "T3dModel", "": "", "wp:post": "WpPost",
	} {
		if got := TypeName(in); got != want {
			t.Errorf("TypeName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Prefixed("cms", "blogPost"); got != "CmsBlogPost" {
		t.Errorf("Prefixed = %q", got)
	}
}

func TestTime(t *testing.T) {
	want := time.Date(2024, 3, 5, 10, 20, 30, 0, time.UTC)
	for _, in := range []string{"2024-03-05T10:20:30Z", "2024-03-05T11:20:30+01:00", "2024-03-05T10:20:30", "2024-03-05 10:20:30", "1709634030", "1709634030000", "Tue, 05 Mar 2024 10:20:30 GMT", "2024-03-05T10:20:30.000Z", "2024-03-05T10:20:30.000+0000"} {
		got, err := Time(in)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("Time(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "yesterday", "2024-13-01"} {
		if _, err := Time(bad); err == nil {
			t.Errorf("Time(%q): no error", bad)
		}
	}
	if got := TimeString("2024-03-05T11:20:30+01:00"); got != "2024-03-05T10:20:30Z" {
		t.Errorf("TimeString = %q", got)
	}
}

func TestSlugTruncate(t *testing.T) {
	if got := Slug("Hello, World! 2024"); got != "hello-world-2024" {
		t.Errorf("Slug = %q", got)
	}
	if got := Truncate("héllo", 2); got != "h" {
		t.Errorf("Truncate = %q", got)
	}
}

func TestIndexClosingTag(t *testing.T) {
	tests := []struct {
		s, name string
		want    int
	}{
		{"x</script>", "script", 1},
		{"x</SCRIPT>", "script", 1},
		{"x</sCript", "script", 1},
		{"\x85\xb2\xb7\xe3\xd2</sCript", "script", 5}, // invalid UTF-8 before it: byte index
		{"é</style>", "style", 2},
		{"</scrip", "script", -1},
		{"< /script>", "script", -1},
		{"</a></style>", "style", 4},
		{"</ſcript>", "script", -1}, // only ASCII case folds
		{"", "style", -1},
	}
	for _, tt := range tests {
		if got := IndexClosingTag(tt.s, tt.name); got != tt.want {
			t.Errorf("IndexClosingTag(%q, %q) = %d, want %d", tt.s, tt.name, got, tt.want)
		}
	}
}
