package transports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"time"
)

// Place gives a finished temporary file its final name n according to the
// overwrite policy ow and returns the name used. With Replace it calls
// replace, which puts the file under n whether or not n exists. With Fail
// it calls create(n); with KeepBoth it calls create for n, "n (2)",
// "n (3)"... (see KeepBothName) until one call does not fail with an error
// wrapping ErrExist. create must give the file the name cand only when
// nothing is there yet. Every backend's Write places its files with it.
func Place(n string, ow Overwrite, replace func() error, create func(cand string) error) (string, error) {
	switch ow {
	case Replace:
		if err := replace(); err != nil {
			return "", err
		}
		return n, nil
	case Fail, KeepBoth:
		max := 1
		if ow == KeepBoth {
			max = 10000
		}
		for i := 1; i <= max; i++ {
			cand := KeepBothName(n, i)
			err := create(cand)
			if err == nil {
				return cand, nil
			}
			if !errors.Is(err, ErrExist) {
				return "", err
			}
		}
		return "", fmt.Errorf("%w: %s", ErrExist, n)
	}
	return "", fmt.Errorf("unknown overwrite policy %d", ow)
}

// UploadOps are the server operations AtomicWrite needs, bound to one
// connection. Paths given to them are server paths (Base joined with a
// relative path). Errors they return should name the file and wrap the
// transports errors (ErrNotExist, Permanent...) as the backend maps them.
type UploadOps struct {
	// Base is the server path of the transport's root folder.
	Base string
	// MkdirAll creates a folder and its parents; an existing one is fine.
	MkdirAll func(dir string) error
	// Upload stores all of r under the new name tmp.
	Upload func(ctx context.Context, tmp string, r io.Reader) error
	// Size returns the byte count the server holds for a file.
	Size func(p string) (int64, error)
	// SetModTime, when not nil, sets a file's modification time (best
	// effort: it cannot fail the write).
	SetModTime func(p string, t time.Time)
	// Replace renames tmp to final, replacing final when it exists.
	Replace func(tmp, final string) error
	// Exists reports whether anything (file or folder) is at p.
	Exists func(p string) (bool, error)
	// Rename renames tmp to target, which did not exist a moment ago; when
	// it fails because target appeared meanwhile, the error wraps ErrExist.
	Rename func(tmp, target string) error
	// RemoveTemp deletes the temporary file of a failed upload; a missing
	// file is not an error.
	RemoveTemp func(tmp string) error
	// Lost reports whether err (the upload's failure) means the connection
	// is gone, so the temporary file must be removed on another one.
	Lost func(err error) bool
}

// AtomicWrite uploads r for a connection-based backend's Write, on one
// connection: it creates the folder of rel (a cleaned relative path, not
// the root), stores r under a hidden temporary name beside it (TempName),
// checks the byte count against opts.Size (a mismatch is permanent) and
// against the size the server reports (a mismatch wraps ErrIntegrity),
// sets the modification time, and places the file with Place. On failure
// it removes the temporary file, or — when the connection is lost or ctx
// is done — returns its server path as leftover for the caller to remove
// on a fresh connection (see Uploader).
func AtomicWrite(ctx context.Context, rel string, r io.Reader, opts WriteOptions, ops UploadOps) (res WriteResult, leftover string, err error) {
	abs := func(rel string) string { return path.Join(ops.Base, rel) }
	final := abs(rel)
	if err := ops.MkdirAll(path.Dir(final)); err != nil {
		return WriteResult{}, "", err
	}
	tmp := TempName(final, opts.Token())
	defer func() {
		if err == nil {
			return
		}
		if ops.Lost(err) || ctx.Err() != nil || ops.RemoveTemp(tmp) != nil {
			leftover = tmp
		}
	}()
	h := NewHashingReader(CtxReader(ctx, r))
	if err := ops.Upload(ctx, tmp, h); err != nil {
		return WriteResult{}, "", err
	}
	if err := ctx.Err(); err != nil {
		return WriteResult{}, "", fmt.Errorf("upload %s: %w", rel, err)
	}
	if err := CheckSize("upload "+rel, opts.Size, h.N()); err != nil {
		// the source gave a different count than announced: retrying will
		// not help
		return WriteResult{}, "", Permanent(err)
	}
	size, err := ops.Size(tmp)
	if err != nil {
		return WriteResult{}, "", err
	}
	if err := CheckSize("upload "+rel+" (server size)", h.N(), size); err != nil {
		return WriteResult{}, "", err
	}
	if !opts.ModTime.IsZero() && ops.SetModTime != nil {
		ops.SetModTime(tmp, opts.ModTime)
	}
	target, err := Place(rel, opts.Overwrite,
		func() error { return ops.Replace(tmp, final) },
		func(cand string) error {
			if exists, err := ops.Exists(abs(cand)); err != nil {
				return err
			} else if exists {
				return ErrExist
			}
			return ops.Rename(tmp, abs(cand))
		})
	if err != nil {
		return WriteResult{}, "", err
	}
	return WriteResult{Path: target, Size: h.N(), SHA256: h.Sum()}, "", nil
}

// Uploader is the Write of a connection-based backend (FTP, SFTP): one
// Attempt after another under Retry, with the clean-up of what a failed
// attempt leaves behind.
type Uploader struct {
	// Retry is the backend's retry policy.
	Retry Retry
	// Attempt makes one upload attempt of rel (a cleaned path, not the
	// root), usually AtomicWrite on a pooled connection. When it fails
	// and leaves a temporary file it could not remove, it returns that
	// file's name as leftover.
	Attempt func(ctx context.Context, rel string, r io.Reader, opts WriteOptions) (res WriteResult, leftover string, err error)
	// RemoveLeftover removes a leftover temporary file on a fresh
	// connection (best effort; a missing file is fine).
	RemoveLeftover func(ctx context.Context, tmp string) error
	// CleanupTimeout bounds RemoveLeftover, which runs even when ctx is
	// cancelled. It must be positive.
	CleanupTimeout time.Duration
}

// Write implements Transport.Write: it checks p, then runs Attempt until
// it succeeds or fails for good. A reader that is an io.Seeker is rewound
// to where it stood for every further attempt; any other reader gets a
// single attempt, since its bytes cannot be read again. After each failed
// attempt that left a temporary file, RemoveLeftover deletes it.
func (u Uploader) Write(ctx context.Context, p string, r io.Reader, opts WriteOptions) (WriteResult, error) {
	rel, err := CleanFilePath(p, "write")
	if err != nil {
		return WriteResult{}, err
	}
	seeker, canRetry := r.(io.Seeker)
	var start int64
	if canRetry {
		if start, err = seeker.Seek(0, io.SeekCurrent); err != nil {
			canRetry = false
		}
	}
	retry := u.Retry
	if !canRetry {
		retry.Attempts = 1
	}
	var res WriteResult
	first := true
	err = retry.Do(ctx, func(ctx context.Context) error {
		if !first {
			if _, err := seeker.Seek(start, io.SeekStart); err != nil {
				return Permanent(err)
			}
		}
		first = false
		var leftover string
		var err error
		res, leftover, err = u.Attempt(ctx, rel, r, opts)
		if leftover != "" {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), u.CleanupTimeout)
			_ = u.RemoveLeftover(cctx, leftover)
			cancel()
		}
		return err
	})
	return res, err
}
