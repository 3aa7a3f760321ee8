package fetch

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadBody(t *testing.T) {
	body := strings.Repeat("0123456789", 10_000) // 100 KB
	for _, tc := range []struct {
		name      string
		max, cl   int64
		want      int
		halfReads bool
	}{
		{name: "exact length", max: 1 << 20, cl: 100_000, want: 100_000},
		{name: "unknown length", max: 1 << 20, cl: -1, want: 100_000},
		{name: "length too small", max: 1 << 20, cl: 10, want: 100_000},
		{name: "length too large", max: 1 << 20, cl: 500_000, want: 100_000},
		{name: "over the limit", max: 1001, cl: -1, want: 1001},
		{name: "over the limit, known length", max: 1001, cl: 100_000, want: 1001},
		{name: "short reads", max: 1 << 20, cl: -1, want: 100_000, halfReads: true},
		{name: "empty", max: 1 << 20, cl: 0, want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := body
			if tc.name == "empty" {
				src = ""
			}
			var r io.Reader = strings.NewReader(src)
			if tc.halfReads {
				r = iotest.HalfReader(r)
			}
			got, err := readBody(r, tc.max, tc.cl)
			if err != nil || len(got) != tc.want || !bytes.Equal(got, []byte(src[:tc.want])) {
				t.Errorf("got %d bytes, err %v; want %d", len(got), err, tc.want)
			}
		})
	}
	boom := errors.New("boom")
	if _, err := readBody(io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom)), 100, -1); !errors.Is(err, boom) {
		t.Errorf("read error lost: %v", err)
	}
}
