// Package local is the transport for a folder on this machine (or a
// mounted network share). Every path is resolved through os.Root, so no
// name and no symbolic link can reach outside the configured folder.
// Writes are atomic (hidden temporary name in the same folder, fsync of
// the file, rename, fsync of the folder); a rename across file systems
// falls back to copy, verify (SHA-256 of both sides), then delete. Fs is
// also a transports.Stager: many files staged unflushed and made durable
// together (concurrent fsyncs, then renames, then one fsync per folder).
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fieldbridge/fieldbridge/transports"
)

// Options configure a local folder.
type Options struct {
	// Root is the folder every path is relative to. It is created on the
	// first write when missing. (In a configuration file, the tag folder
	// makes the engine check it and resolve it against the file's folder;
	// a drive letter or a UNC path works on Windows.)
	Root string `toml:"root" folder:"local"`
}

// DefaultOptions returns the defaults (no root: it must be set).
func DefaultOptions() Options { return Options{} }

// Check validates the options without I/O.
func (o Options) Check() error {
	if strings.TrimSpace(o.Root) == "" {
		return errors.New("root: the folder is required")
	}
	if strings.ContainsRune(o.Root, 0) {
		return errors.New("root: contains a NUL character")
	}
	return nil
}

// Fs is a local folder. It is safe for concurrent use.
type Fs struct {
	dir string

	// rename is os.Root.Rename; tests replace it to simulate EXDEV.
	rename func(r *os.Root, from, to string) error
}

var _ transports.Transport = (*Fs)(nil)

// New returns the folder transport. It does no I/O.
func New(_ context.Context, o Options) (*Fs, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(o.Root)
	if err != nil {
		return nil, fmt.Errorf("root: %w", err)
	}
	return &Fs{dir: dir, rename: (*os.Root).Rename}, nil
}

// Connect checks that the root folder exists and is a folder (for
// `fieldbridge check -connect`).
func (f *Fs) Connect(ctx context.Context) error {
	fi, err := os.Stat(f.dir)
	if err != nil {
		return mapErr(err)
	}
	if !fi.IsDir() {
		return transports.Permanent(fmt.Errorf("root %s is not a folder", f.dir))
	}
	return nil
}

// Dir returns the absolute path of the root folder.
func (f *Fs) Dir() string { return f.dir }

// String names the folder.
func (f *Fs) String() string { return "file://" + filepath.ToSlash(f.dir) }

// Close does nothing: the folder is opened per operation.
func (f *Fs) Close() error { return nil }

func (f *Fs) open(create bool) (*os.Root, error) {
	// Opened per operation (one openat): a remounted share or a recreated
	// folder is picked up instead of a stale handle. Created only when
	// missing (a stat of the whole path per file otherwise).
	r, err := os.OpenRoot(f.dir)
	if create && errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(f.dir, 0o755); err != nil {
			return nil, mapErr(err)
		}
		r, err = os.OpenRoot(f.dir)
	}
	if err != nil {
		return nil, mapErr(err)
	}
	return r, nil
}

// mkdirParent creates the folders a file n is to go in; the root itself
// is there already.
func mkdirParent(r *os.Root, n string) error {
	if d := parent(n); d != "." {
		return r.MkdirAll(d, 0o755)
	}
	return nil
}

// rel cleans p into a name for os.Root ("." for the root).
func rel(p string) (string, error) {
	c, err := transports.CleanPath(p)
	if err != nil {
		return "", err
	}
	if c == "" {
		return ".", nil
	}
	return c, nil
}

// at cleans p into a name for os.Root and opens the root folder (creating
// it first with create); the caller closes the root.
func (f *Fs) at(p string, create bool) (*os.Root, string, error) {
	n, err := rel(p)
	if err != nil {
		return nil, "", err
	}
	r, err := f.open(create)
	if err != nil {
		return nil, "", err
	}
	return r, n, nil
}

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, transports.ErrNotExist), errors.Is(err, transports.ErrUnsafeName):
		return err
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %w", transports.ErrNotExist, err)
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%w: %w", transports.ErrExist, err)
	case strings.Contains(err.Error(), "escapes"):
		return fmt.Errorf("%w: %w", transports.ErrUnsafeName, err)
	case errors.Is(err, fs.ErrPermission):
		return transports.Permanent(err)
	}
	return err
}

func info(p string, fi fs.FileInfo) transports.FileInfo {
	return transports.FileInfo{Path: p, Size: fi.Size(), ModTime: fi.ModTime(), IsDir: fi.IsDir()}
}

// List returns the entries of dir. Entries whose names are unsafe
// (control characters, backslashes, invalid UTF-8), symbolic links and
// other entries that are neither plain files nor folders (pipes, devices)
// are left out and told to a transports.SkipFunc: links are never
// followed, so a listing shows only what really lies in the folder.
func (f *Fs) List(ctx context.Context, dir string, recursive bool) ([]transports.FileInfo, error) {
	r, d, err := f.at(dir, false)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	fsys := r.FS()
	var out []transports.FileInfo
	var walk func(d, prefix string) error
	walk = func(d, prefix string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		ents, err := fs.ReadDir(fsys, d)
		if err != nil {
			return mapErr(err)
		}
		for _, e := range ents {
			if err := transports.ValidName(e.Name()); err != nil {
				transports.Skipped(ctx, path.Join(prefix, e.Name()), err)
				continue
			}
			full := path.Join(d, e.Name())
			p := path.Join(prefix, e.Name())
			if t := e.Type(); !t.IsRegular() && !t.IsDir() {
				transports.Skipped(ctx, p, fmt.Errorf("%w (%s)", transports.ErrNotRegular, t))
				continue
			}
			fi, err := e.Info()
			if err != nil {
				continue // removed since the folder was read
			}
			out = append(out, info(p, fi))
			if recursive && fi.IsDir() {
				if err := walk(full, p); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(d, ""); err != nil {
		return nil, err
	}
	return out, nil
}

// Stat describes one path.
func (f *Fs) Stat(ctx context.Context, p string) (transports.FileInfo, error) {
	r, n, err := f.at(p, false)
	if err != nil {
		return transports.FileInfo{}, err
	}
	defer r.Close()
	fi, err := r.Stat(n)
	if err != nil {
		return transports.FileInfo{}, mapErr(err)
	}
	return info(strings.TrimPrefix(n, "."), fi), nil
}

// Open opens a file for reading. Reading past the size it had when opened
// is not an error (a local file may be appended to); use the flows'
// readiness checks for files still being written.
func (f *Fs) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	r, n, err := f.at(p, false)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	file, err := r.Open(n)
	if err != nil {
		return nil, mapErr(err)
	}
	if fi, err := file.Stat(); err == nil && fi.IsDir() {
		file.Close()
		return nil, transports.Permanent(fmt.Errorf("open %s: is a folder", p))
	}
	return &ctxFile{File: file, ctx: ctx}, nil
}

type ctxFile struct {
	*os.File
	ctx context.Context
}

var _ transports.Versioned = (*ctxFile)(nil)

// Info is the open file's stat.
func (c *ctxFile) Info() (transports.FileInfo, bool) {
	fi, err := c.File.Stat()
	if err != nil {
		return transports.FileInfo{}, false
	}
	return info(path.Base(c.File.Name()), fi), true
}

func (c *ctxFile) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.File.Read(p)
}

// WriteTo keeps large-buffer copies (and lets the kernel copy when the
// destination is a file or socket).
func (c *ctxFile) WriteTo(w io.Writer) (int64, error) {
	return transports.CopyBuffered(w, struct{ io.Reader }{c})
}

// createTemp creates a new temporary file. One already there under the
// same name is what an earlier attempt with the same token (WriteOptions.
// TempToken) left when it was killed: it is replaced.
func createTemp(r *os.Root, tmp string) (*os.File, error) {
	file, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		if rerr := r.Remove(tmp); rerr == nil {
			file, err = r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		}
	}
	return file, err
}

func syncDir(r *os.Root, dir string) error {
	if dir == "" {
		dir = "."
	}
	d, err := r.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}

func parent(n string) string {
	d := path.Dir(n)
	if d == "" {
		return "."
	}
	return d
}

// writeTemp writes r into a new temporary file beside n, fsyncs it and
// returns its name, the byte count and the hex SHA-256.
func writeTemp(ctx context.Context, r *os.Root, n string, src io.Reader, modTime time.Time, token string) (_ string, size int64, sum string, err error) {
	tmp := transports.TempName(n, token)
	file, err := createTemp(r, tmp)
	if err != nil {
		return "", 0, "", mapErr(err)
	}
	defer func() {
		if err != nil {
			file.Close()
			_ = r.Remove(tmp)
		}
	}()
	h := transports.NewHashingReader(transports.CtxReader(ctx, src))
	if _, err = h.WriteTo(file); err != nil {
		return "", 0, "", fmt.Errorf("write %s: %w", n, err)
	}
	if err = file.Sync(); err != nil {
		return "", 0, "", fmt.Errorf("write %s: fsync: %w", n, err)
	}
	if err = file.Close(); err != nil {
		return "", 0, "", fmt.Errorf("write %s: %w", n, err)
	}
	if !modTime.IsZero() {
		if err = r.Chtimes(tmp, modTime, modTime); err != nil {
			return "", 0, "", fmt.Errorf("write %s: set time: %w", n, err)
		}
	}
	return tmp, h.N(), h.Sum(), nil
}

// Write stores src under p atomically.
func (f *Fs) Write(ctx context.Context, p string, src io.Reader, opts transports.WriteOptions) (transports.WriteResult, error) {
	n, err := transports.CleanFilePath(p, "write")
	if err != nil {
		return transports.WriteResult{}, err
	}
	r, err := f.open(true)
	if err != nil {
		return transports.WriteResult{}, err
	}
	defer r.Close()
	if err := mkdirParent(r, n); err != nil {
		return transports.WriteResult{}, mapErr(err)
	}
	tmp, size, sum, err := writeTemp(ctx, r, n, src, opts.ModTime, opts.Token())
	if err != nil {
		return transports.WriteResult{}, err
	}
	if err := transports.CheckSize("write "+p, opts.Size, size); err != nil {
		_ = r.Remove(tmp)
		return transports.WriteResult{}, err
	}
	final, err := place(r, tmp, n, opts.Overwrite, f.rename)
	if err != nil {
		_ = r.Remove(tmp)
		return transports.WriteResult{}, err
	}
	if err := syncDir(r, parent(n)); err != nil {
		return transports.WriteResult{}, fmt.Errorf("write %s: fsync folder: %w", p, err)
	}
	return transports.WriteResult{Path: final, Size: size, SHA256: sum}, nil
}

// place moves the finished temporary file to its final name according to
// the overwrite policy and returns the final name.
func place(r *os.Root, tmp, n string, ow transports.Overwrite, rename func(*os.Root, string, string) error) (string, error) {
	return transports.Place(n, ow,
		func() error { return mapErr(rename(r, tmp, n)) },
		func(cand string) error {
			if err := linkNoReplace(r, tmp, cand, rename); err != nil {
				return mapErr(err) // fs.ErrExist becomes transports.ErrExist
			}
			_ = r.Remove(tmp)
			return nil
		})
}

// linkNoReplace gives tmp the name n unless n exists (atomically, with a
// hard link; on file systems without hard links, with a check and a
// rename).
func linkNoReplace(r *os.Root, tmp, n string, rename func(*os.Root, string, string) error) error {
	err := r.Link(tmp, n)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.EMLINK) {
		if _, serr := r.Lstat(n); serr == nil {
			return fs.ErrExist
		}
		return rename(r, tmp, n)
	}
	return err
}

// Rename moves from to to, replacing to. Across file systems it copies,
// verifies and deletes.
func (f *Fs) Rename(ctx context.Context, from, to string) error {
	a, b, err := transports.CleanRenamePaths(from, to)
	if err != nil {
		return err
	}
	r, err := f.open(true)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := mkdirParent(r, b); err != nil {
		return mapErr(err)
	}
	err = f.rename(r, a, b)
	if errors.Is(err, syscall.EXDEV) {
		err = crossMove(ctx, r, a, b, f.rename)
	}
	if err != nil {
		return fmt.Errorf("rename %s to %s: %w", from, to, mapErr(err))
	}
	if err := syncDir(r, parent(b)); err != nil {
		return err
	}
	if parent(a) != parent(b) {
		return syncDir(r, parent(a))
	}
	return nil
}

// crossMove copies a to b on another file system: temp beside b, fsync,
// re-read and compare hashes, rename into place, then remove a.
func crossMove(ctx context.Context, r *os.Root, a, b string, rename func(*os.Root, string, string) error) error {
	src, err := r.Open(a)
	if err != nil {
		return err
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return transports.Permanent(fmt.Errorf("moving a folder across file systems is not supported"))
	}
	tmp, size, sum, err := writeTemp(ctx, r, b, src, fi.ModTime(), transports.RandomToken())
	if err != nil {
		return err
	}
	fail := func(err error) error { _ = r.Remove(tmp); return err }
	if err := transports.CheckSize("move "+a, fi.Size(), size); err != nil {
		return fail(err)
	}
	check, err := r.Open(tmp)
	if err != nil {
		return fail(err)
	}
	h := transports.NewHashingReader(check)
	_, err = transports.CopyBuffered(io.Discard, struct{ io.Reader }{h})
	check.Close()
	if err != nil {
		return fail(err)
	}
	if h.Sum() != sum || h.N() != size {
		return fail(fmt.Errorf("%w: move %s: copy differs from the source", transports.ErrIntegrity, a))
	}
	if err := rename(r, tmp, b); err != nil {
		return fail(err)
	}
	if err := syncDir(r, parent(b)); err != nil {
		return err
	}
	return r.Remove(a)
}

// Remove deletes a file.
func (f *Fs) Remove(ctx context.Context, p string) error {
	r, n, err := f.at(p, false)
	if err != nil {
		return err
	}
	defer r.Close()
	fi, err := r.Lstat(n)
	if err != nil {
		return mapErr(err)
	}
	if fi.IsDir() {
		return transports.Permanent(fmt.Errorf("remove %s: is a folder", p))
	}
	if err := r.Remove(n); err != nil {
		return mapErr(err)
	}
	return syncDir(r, parent(n))
}

// MkdirAll creates a folder and its parents.
func (f *Fs) MkdirAll(ctx context.Context, p string) error {
	r, n, err := f.at(p, true)
	if err != nil {
		return err
	}
	defer r.Close()
	return mapErr(r.MkdirAll(n, 0o755))
}
