package filelife

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrSize is returned (wrapped) by Commit when fewer or more bytes were
// written than expected.
var ErrSize = errors.New("size mismatch")

// File is a file being written atomically: writes go to a temporary
// "*.partial" name in the target folder; Commit makes them appear under
// the final name all at once, Abort leaves no trace. Use it as
//
//	f, err := filelife.Create(path)
//	if err != nil { ... }
//	defer f.Abort() // no-op after Commit
//	... write to f ...
//	return f.Commit()
type File struct {
	*os.File
	final  string
	perm   fs.FileMode
	done   bool
	expect int64
}

// Create starts an atomic write of path with mode 0640.
func Create(path string) (*File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.partial")
	if err != nil {
		return nil, err
	}
	return &File{File: tmp, final: path, perm: 0o640, expect: -1}, nil
}

// SetPerm sets the final file's mode (default 0640).
func (f *File) SetPerm(perm fs.FileMode) { f.perm = perm }

// ExpectSize makes Commit fail with ErrSize unless exactly n bytes were
// written.
func (f *File) ExpectSize(n int64) { f.expect = n }

// Commit flushes the data to disk, checks the size, renames the file to
// its final name (replacing one that exists) and makes the rename
// durable. On error nothing is left under the final name by this write.
func (f *File) Commit() error {
	if f.done {
		return errors.New("filelife: commit of a finished write")
	}
	f.done = true
	tmp := f.Name()
	fail := func(err error) error {
		f.File.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", f.final, err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if f.expect >= 0 {
		fi, err := f.Stat()
		if err != nil {
			return fail(err)
		}
		if fi.Size() != f.expect {
			return fail(fmt.Errorf("%w: wrote %d bytes, expected %d", ErrSize, fi.Size(), f.expect))
		}
	}
	if err := f.Chmod(f.perm); err != nil {
		return fail(err)
	}
	if err := f.File.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", f.final, err)
	}
	if err := os.Rename(tmp, f.final); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", f.final, err)
	}
	return syncDir(filepath.Dir(f.final))
}

// Abort discards the write. It is a no-op after Commit or Abort.
func (f *File) Abort() error {
	if f.done {
		return nil
	}
	f.done = true
	f.File.Close()
	return os.Remove(f.Name())
}

// WriteFile writes data to path atomically (see File).
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	f.SetPerm(perm)
	f.ExpectSize(int64(len(data)))
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// CopyFile copies the file src to dst atomically (see File), streaming.
func CopyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	f, err := Create(dst)
	if err != nil {
		return err
	}
	defer f.Abort()
	f.SetPerm(perm)
	f.ExpectSize(fi.Size())
	if _, err := io.Copy(f, in); err != nil {
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return f.Commit()
}
