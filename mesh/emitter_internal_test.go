package mesh

import (
	"testing"
	"unsafe"
)

func TestNativeIDOf(t *testing.T) {
	tests := []struct {
		id, native, locale string
		shared             bool // the result is the ID's tail
	}{
		{"cms/post/42", "42", "", true},
		{"cms/post/42@en-US", "42", "en-US", true},
		{"cms/post/a%2Fb", "a/b", "", false}, // escaped in the ID
		{"cms/post/42@en-US", "42", "", false},
		{"cms/post/42", "42", "de", false},
		{"cms/post/142", "42", "", false},
		{"42", "42", "", false},
		{"cms/post/x", "", "", false},
	}
	for _, tt := range tests {
		got := nativeIDOf(tt.id, tt.native, tt.locale)
		if got != tt.native {
			t.Errorf("nativeIDOf(%q, %q, %q) = %q", tt.id, tt.native, tt.locale, got)
		}
		idData := unsafe.StringData(tt.id)
		shared := len(got) > 0 && uintptr(unsafe.Pointer(unsafe.StringData(got))) >= uintptr(unsafe.Pointer(idData)) &&
			uintptr(unsafe.Pointer(unsafe.StringData(got))) < uintptr(unsafe.Pointer(idData))+uintptr(len(tt.id))
		if shared != tt.shared {
			t.Errorf("nativeIDOf(%q, %q, %q): shares the ID's memory %v, want %v", tt.id, tt.native, tt.locale, shared, tt.shared)
		}
		if !shared && len(got) > 0 && unsafe.StringData(got) == unsafe.StringData(tt.native) {
			t.Errorf("nativeIDOf(%q, %q, %q) kept the caller's string", tt.id, tt.native, tt.locale)
		}
	}
}

// TestDefaultDiskThreshold pins what the default means for the scenarios of the performance issue:
// 1M small nodes (scenario d) stay in memory, 1M nodes of 1 KiB go to disk. (Under a node-count
// default the first had gone to disk, twice as slow, for no memory saved.)
func TestDefaultDiskThreshold(t *testing.T) {
	small := &Node{ID: NodeID("gen", "n", "999999"), Type: "Item", NativeID: "999999",
		Fields: []byte(`{"n":999999,"published":true,"slug":"node-999999","tags":["a","b"],"title":"Node 999999"}`)}
	large := *small
	large.Fields = append([]byte(`{"body":"`), make([]byte, 1024)...)
	if got := 1_000_000 * nodeMemEstimate(small); got >= DefaultDiskThreshold {
		t.Errorf("1M small nodes are estimated at %d bytes, past the default threshold %d", got, int64(DefaultDiskThreshold))
	}
	if got := 1_000_000 * nodeMemEstimate(&large); got < DefaultDiskThreshold {
		t.Errorf("1M nodes of 1 KiB are estimated at %d bytes, under the default threshold %d", got, int64(DefaultDiskThreshold))
	}
}
