package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sync"
	"syscall"

	"golang.org/x/sync/errgroup"

	"github.com/fieldbridge/fieldbridge/transports"
)

var _ transports.Stager = (*Fs)(nil)

// writebackChunk is how many written bytes of a staged file make Stage ask
// the kernel to start writing them out (so a large file is mostly on disk
// by the time Commit flushes it).
const writebackChunk = 8 << 20

// commitParallel bounds the concurrent fsyncs of a Commit. Concurrent
// fsyncs on one file system share its journal commits.
const commitParallel = 32

// writebackFile starts the kernel's write-back of every writebackChunk
// bytes as they are written.
type writebackFile struct {
	f        *os.File
	off, beg int64
}

func (w *writebackFile) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.beg >= writebackChunk {
		startWriteback(w.f, w.beg, w.off-w.beg)
		w.beg = w.off
	}
	return n, err
}

// Stage writes src under a hidden temporary name beside p without
// flushing it (a large file's bytes are handed to the kernel's write-back
// as they come, so that Commit finds them mostly on disk); Commit
// makes it durable and gives it its name. See transports.Stager.
func (f *Fs) Stage(ctx context.Context, p string, src io.Reader, opts transports.WriteOptions) (transports.Staged, error) {
	n, err := transports.CleanFilePath(p, "write")
	if err != nil {
		return transports.Staged{}, err
	}
	r, err := f.open(true)
	if err != nil {
		return transports.Staged{}, err
	}
	defer r.Close()
	if err := mkdirParent(r, n); err != nil {
		return transports.Staged{}, mapErr(err)
	}
	tmp := transports.TempName(n, opts.Token())
	file, err := createTemp(r, tmp)
	if err != nil {
		return transports.Staged{}, mapErr(err)
	}
	fail := func(err error) (transports.Staged, error) {
		file.Close()
		_ = r.Remove(tmp)
		return transports.Staged{}, err
	}
	h := transports.NewHashingReader(transports.CtxReader(ctx, src))
	w := &writebackFile{f: file}
	if _, err := h.WriteTo(w); err != nil {
		return fail(fmt.Errorf("write %s: %w", n, err))
	}
	if w.beg > 0 && w.off > w.beg {
		// The tail of a large file; a small one is written out by
		// Commit's fsync, off the download's path.
		startWriteback(file, w.beg, 0)
	}
	if err := transports.CheckSize("write "+p, opts.Size, h.N()); err != nil {
		return fail(err)
	}
	if err := file.Close(); err != nil {
		_ = r.Remove(tmp)
		return transports.Staged{}, fmt.Errorf("write %s: %w", n, err)
	}
	if !opts.ModTime.IsZero() {
		if err := r.Chtimes(tmp, opts.ModTime, opts.ModTime); err != nil {
			_ = r.Remove(tmp)
			return transports.Staged{}, fmt.Errorf("write %s: set time: %w", n, err)
		}
	}
	return transports.Staged{Path: n, Temp: tmp, Overwrite: opts.Overwrite, Size: h.N(), SHA256: h.Sum()}, nil
}

// Commit flushes every staged file (concurrent fsyncs), places each one
// under its final name (the overwrite policy of its Stage), then flushes
// each folder concerned once. See transports.Stager.
//
// A folder whose flush fails gives each file placed in it an error: the
// file is under its final name but its name may not survive a power loss,
// so the caller must not act on it yet (write it again later).
func (f *Fs) Commit(ctx context.Context, batch []transports.Staged) ([]transports.CommitResult, error) {
	if len(batch) == 0 {
		return nil, nil
	}
	r, err := f.open(false)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	removeAll := func() {
		for _, s := range batch {
			_ = r.Remove(s.Temp)
		}
	}
	// 1. Every file's bytes durable (under its temporary name).
	var g errgroup.Group
	g.SetLimit(commitParallel)
	for _, s := range batch {
		if err := checkStaged(s); err != nil {
			removeAll()
			return nil, err
		}
		g.Go(func() error {
			file, err := r.Open(s.Temp)
			if err != nil {
				return fmt.Errorf("commit %s: %w", s.Path, mapErr(err))
			}
			defer file.Close()
			if err := file.Sync(); err != nil {
				return fmt.Errorf("commit %s: fsync: %w", s.Path, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		removeAll()
		return nil, err
	}
	// 2. Final names (never before the bytes are durable), each folder
	// opened once for the renames and its flush.
	out := make([]transports.CommitResult, len(batch))
	type folder struct {
		f   *os.File // nil: could not be opened; renames go the portable way
		idx []int    // the files placed in it
	}
	dirs := map[string]*folder{}
	defer func() {
		for _, d := range dirs {
			if d.f != nil {
				d.f.Close()
			}
		}
	}()
	for i, s := range batch {
		dn := parent(s.Path)
		d := dirs[dn]
		if d == nil {
			d = &folder{}
			if df, err := r.Open(dn); err == nil {
				d.f = df
			}
			dirs[dn] = d
		}
		final, err := placeIn(r, d.f, s, f.rename)
		if err != nil {
			_ = r.Remove(s.Temp)
			out[i].Err = fmt.Errorf("write %s: %w", s.Path, err)
			continue
		}
		out[i].WriteResult = transports.WriteResult{Path: final, Size: s.Size, SHA256: s.SHA256}
		d.idx = append(d.idx, i)
	}
	// 3. The names durable: each folder once.
	var mu sync.Mutex
	var dg errgroup.Group
	dg.SetLimit(commitParallel)
	for dn, d := range dirs {
		if len(d.idx) == 0 {
			continue
		}
		dg.Go(func() error {
			var err error
			if d.f != nil {
				if err = d.f.Sync(); errors.Is(err, syscall.EINVAL) {
					err = nil
				}
			} else {
				err = syncDir(r, dn)
			}
			if err != nil {
				mu.Lock()
				for _, i := range d.idx {
					out[i].Err = fmt.Errorf("write %s: fsync folder: %w", batch[i].Path, err)
				}
				mu.Unlock()
			}
			return nil
		})
	}
	_ = dg.Wait()
	return out, nil
}

// placeIn gives the staged file its final name according to its
// overwrite policy, with renames inside the open folder d (the staged
// file's folder) where the system has them, else as Write does.
func placeIn(r *os.Root, d *os.File, s transports.Staged, rename func(*os.Root, string, string) error) (string, error) {
	tmp := path.Base(s.Temp)
	return transports.Place(s.Path, s.Overwrite,
		func() error {
			if d != nil {
				if err := renameIn(d, tmp, path.Base(s.Path)); !errors.Is(err, errors.ErrUnsupported) {
					return mapErr(err)
				}
			}
			return mapErr(rename(r, s.Temp, s.Path))
		},
		func(cand string) error {
			if d != nil {
				if err := renameNoReplaceIn(d, tmp, path.Base(cand)); !errors.Is(err, errors.ErrUnsupported) {
					return mapErr(err)
				}
			}
			if err := linkNoReplace(r, s.Temp, cand, rename); err != nil {
				return mapErr(err)
			}
			_ = r.Remove(s.Temp)
			return nil
		})
}

// checkStaged refuses a Staged value whose names could leave the root or
// whose temporary file is not in its final name's folder.
func checkStaged(s transports.Staged) error {
	n, err := transports.CleanFilePath(s.Path, "commit")
	if err != nil {
		return err
	}
	t, err := transports.CleanFilePath(s.Temp, "commit")
	if err != nil {
		return err
	}
	if parent(n) != parent(t) {
		return fmt.Errorf("commit %s: temporary file %s is in another folder", s.Path, s.Temp)
	}
	return nil
}

// Abort removes staged files' temporary files.
func (f *Fs) Abort(ctx context.Context, batch []transports.Staged) error {
	if len(batch) == 0 {
		return nil
	}
	r, err := f.open(false)
	if err != nil {
		return err
	}
	defer r.Close()
	var errs []error
	for _, s := range batch {
		if err := checkStaged(s); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := r.Remove(s.Temp); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("abort %s: %w", s.Path, mapErr(err)))
		}
	}
	return errors.Join(errs...)
}
