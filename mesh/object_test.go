package mesh

import (
	"encoding/json"
	"testing"
)

func TestObject(t *testing.T) {
	var o Object
	if got := string(o.JSON()); got != "{}" {
		t.Errorf("empty: %s", got)
	}
	o.SetString("title", "Hé \"q\"").SetInt("n", -3).SetBool("ok", true).SetNull("none").
		SetRef("author", "s/user/1").SetRefs("tags", []string{"s/tag/a", "s/tag/b"}).SetRefs("empty", nil).
		Set("raw", []byte(`{"x":[1,2]}`)).SetString("title", "replaced")
	if err := o.SetValue("v", map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	canon, refs, err := Canonicalize(o.JSON())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"author":{"$ref":"s/user/1"},"empty":[],"n":-3,"none":null,"ok":true,"raw":{"x":[1,2]},"tags":[{"$ref":"s/tag/a"},{"$ref":"s/tag/b"}],"title":"replaced","v":{"a":1}}`
	if string(canon) != want {
		t.Errorf("got  %s\nwant %s", canon, want)
	}
	if len(refs) != 3 || refs[0] != (Ref{"author", "s/user/1"}) || refs[2] != (Ref{"tags", "s/tag/b"}) {
		t.Errorf("refs %v", refs)
	}
	if !o.Has("raw") || o.Has("nope") || !json.Valid(o.JSON()) {
		t.Errorf("Has/valid")
	}
}
