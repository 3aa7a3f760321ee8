package mesh

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func TestWritebackWriter(t *testing.T) {
	tests := []struct {
		name  string
		total int
		max   int // largest write
	}{
		{"small writes", 3*writebackChunk + 12345, 4096},
		{"writes larger than a chunk", 5*writebackChunk + 1, 3 * writebackChunk},
		{"under one chunk", writebackChunk - 1, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "out"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			want := make([]byte, tt.total)
			r := rand.New(rand.NewPCG(1, uint64(tt.total)))
			for i := range want {
				want[i] = byte(r.IntN(256))
			}
			w := &writebackWriter{f: f}
			for rest := want; len(rest) > 0; {
				n := min(len(rest), 1+r.IntN(tt.max))
				if m, err := w.Write(rest[:n]); err != nil || m != n {
					t.Fatalf("Write = %d, %v", m, err)
				}
				rest = rest[n:]
			}
			if w.written != int64(tt.total) {
				t.Errorf("written %d, want %d", w.written, tt.total)
			}
			// Writeback was started for every whole chunk but the tail.
			if w.started > w.written || w.written-w.started >= writebackChunk {
				t.Errorf("writeback started for %d of %d bytes", w.started, w.written)
			}
			got, err := os.ReadFile(f.Name())
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("file differs from what was written (%d bytes, %v)", len(got), err)
			}
		})
	}
}
