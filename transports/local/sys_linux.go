package local

import (
	"errors"
	"io/fs"
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

// renameIn renames from to to, two plain names in the open folder d,
// replacing to. errors.ErrUnsupported: use the portable way.
func renameIn(d *os.File, from, to string) error {
	fd := int(d.Fd())
	if err := unix.Renameat(fd, from, fd, to); err != nil {
		return &os.LinkError{Op: "renameat", Old: from, New: to, Err: err}
	}
	return nil
}

// renameNoReplaceIn renames from to to, two plain names in the open folder
// d, unless to exists (an error wrapping fs.ErrExist), atomically
// (renameat2 RENAME_NOREPLACE: one folder change instead of link and
// unlink). errors.ErrUnsupported when the file system cannot.
func renameNoReplaceIn(d *os.File, from, to string) error {
	fd := int(d.Fd())
	err := unix.Renameat2(fd, from, fd, to, unix.RENAME_NOREPLACE)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EEXIST):
		return &os.LinkError{Op: "renameat2", Old: from, New: to, Err: fs.ErrExist}
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.ENOTSUP):
		return errors.ErrUnsupported
	}
	return &os.LinkError{Op: "renameat2", Old: from, New: to, Err: err}
}
