package mesh

import "os"

// writebackChunk is how many bytes a writebackWriter lets accumulate before it starts their
// writeback (1 MiB measured best on the benchmark machine: 4 MiB and 16 MiB left more for the final
// fsync, 512 KiB was no better).
const writebackChunk = 1 << 20

// writebackWriter writes to a file and starts the writeback of every writebackChunk bytes as they
// are written (Linux), so that syncing a large file at the end waits for its tail, not the whole
// file: the disk writes while the nodes are encoded.
type writebackWriter struct {
	f       *os.File
	written int64 // bytes written
	started int64 // bytes whose writeback was started
}

func (w *writebackWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.written += int64(n)
	if w.written-w.started >= writebackChunk {
		startWriteback(w.f, w.started, w.written-w.started)
		w.started = w.written
	}
	return n, err
}
