//go:build linux

package mesh

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing the range [off, off+n) of f to the disk, without
// waiting for it (sync_file_range with SYNC_FILE_RANGE_WRITE). It is a hint: durability still comes
// from the fsync at the end, so an error is ignored.
func startWriteback(f *os.File, off, n int64) {
	rc, err := f.SyscallConn() // not Fd, which would switch the file to blocking mode
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) { _ = unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE) })
}
