package local

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing the file's dirty pages
// in [off, off+n) to disk without waiting (n = 0: to the end), so that a
// later fsync finds little left to do. Errors are ignored: it is only a
// hint, the fsync that follows is what counts.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
