// Package filelife carries a file taken from a local folder through its life
// (DESIGN.md, "A file's life"):
//
//  1. Seen: Scan lists the inbox, leaving out temporary and lock names
//     (Ignored, DefaultIgnore).
//  2. Ready: Stability says when a file's size and modification time have
//     not changed for min_age; MarkerReady checks for a done-marker.
//  3. Claimed: Folders.Claim moves it into processing/ (a rename on the same
//     file system, so only one claimer wins); HashFile gives its key.
//  4. Processed: the flow's business (items recorded in the ledger).
//  5. Settled: Folders.Settle moves it to done/ or failed/, with reports
//     written beside it first.
//
// At start, Folders.Pending lists files a crash left in processing/, to be
// resumed (the ledger says which items of them were already sent).
//
// Every write is atomic (WriteFile, Create/Commit): a temporary
// "*.partial" name in the same folder, fsync, rename, fsync of the folder;
// an interrupted write never leaves a partial file under the final name.
// Names that already exist are never overwritten by Claim and Settle: a
// suffix is added ("tasks (2).xlsx").
package filelife

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultIgnore are the name patterns (path.Match, on the base name) of
// files that are never taken: Office lock files, temporary and partial
// downloads, hidden files (which includes our own temporary names).
var DefaultIgnore = []string{"~$*", "*.tmp", "*.part", "*.partial", "*.crdownload", ".*"}

// Ignored reports whether the base name of name matches one of patterns.
// Malformed patterns never match.
func Ignored(name string, patterns []string) bool {
	base := path.Base(filepath.ToSlash(name))
	for _, p := range patterns {
		if ok, err := path.Match(p, base); err == nil && ok {
			return true
		}
	}
	return false
}

// CheckPatterns returns an error naming the first malformed pattern (for
// validating a job's ignore option).
func CheckPatterns(patterns []string) error {
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("bad pattern %q: %w", p, err)
		}
	}
	return nil
}

// Stability decides readiness from successive observations of files (a
// local scan or a remote listing): a file is ready once the same size and
// modification time have been observed for at least MinAge. Observing a
// file for the first time starts its clock, so after a restart a file
// waits MinAge again (its mtime alone may be preserved from the source and
// say nothing about an upload in progress). Safe for concurrent use.
type Stability struct {
	MinAge time.Duration

	mu   sync.Mutex
	seen map[string]observation
}

type observation struct {
	size  int64
	mtime time.Time
	since time.Time
	swept bool
}

// Observe records name's size and mtime at now and reports whether it is
// ready. A change restarts the clock.
func (s *Stability) Observe(name string, size int64, mtime, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]observation{}
	}
	o, ok := s.seen[name]
	if !ok || o.size != size || !o.mtime.Equal(mtime) {
		o = observation{size: size, mtime: mtime, since: now}
	}
	o.swept = false
	s.seen[name] = o
	return now.Sub(o.since) >= s.MinAge
}

// Forget drops name (after it was claimed).
func (s *Stability) Forget(name string) {
	s.mu.Lock()
	delete(s.seen, name)
	s.mu.Unlock()
}

// Sweep forgets every name not observed since the previous Sweep, so that
// files that vanished do not accumulate. Call it after each full scan.
func (s *Stability) Sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, o := range s.seen {
		if o.swept {
			delete(s.seen, n)
		} else {
			o.swept = true
			s.seen[n] = o
		}
	}
}

// MarkerReady reports whether the done-marker of the file at p exists: p
// plus suffix ("tasks.xlsx.done" for suffix ".done"), or, when the suffix
// starts with "-" or "." and replaceExt is set, p with its extension
// replaced ("tasks.done").
func MarkerReady(p, suffix string, replaceExt bool) bool {
	m := p + suffix
	if replaceExt {
		m = strings.TrimSuffix(p, filepath.Ext(p)) + suffix
	}
	_, err := os.Stat(m)
	return err == nil
}

// Entry is a file found by Scan.
type Entry struct {
	Name    string // base name
	Path    string
	Size    int64
	ModTime time.Time
}

// Scan lists the regular files directly in dir whose names are not ignored,
// oldest first. Sub-folders (processing/, done/, failed/) are skipped.
func Scan(dir string, ignore []string) ([]Entry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, de := range des {
		if !de.Type().IsRegular() || Ignored(de.Name(), ignore) {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // gone since the listing
			}
			return nil, err
		}
		out = append(out, Entry{Name: de.Name(), Path: filepath.Join(dir, de.Name()), Size: fi.Size(), ModTime: fi.ModTime()})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].ModTime.Equal(out[j].ModTime) {
			return out[i].ModTime.Before(out[j].ModTime)
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// HashFile returns the hex SHA-256 and size of the file at p.
func HashFile(p string) (sum string, size int64, err error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Folders are the places of a local flow: the inbox where files arrive and
// the processing, done and failed folders. The last three must be on the
// same file system as the inbox (renames).
type Folders struct {
	Inbox, Processing, Done, Failed string
}

// NewFolders puts processing/, done/ and failed/ inside inbox.
func NewFolders(inbox string) Folders {
	return Folders{
		Inbox:      inbox,
		Processing: filepath.Join(inbox, "processing"),
		Done:       filepath.Join(inbox, "done"),
		Failed:     filepath.Join(inbox, "failed"),
	}
}

// Ensure creates the folders.
func (f Folders) Ensure() error {
	for _, d := range []string{f.Inbox, f.Processing, f.Done, f.Failed} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return err
		}
	}
	return nil
}

// Claim moves the inbox file name into processing/ and returns its new
// path. If another claimer took it first, the error wraps fs.ErrNotExist.
// A file of the same name already in processing/ is kept: the claimed one
// gets a suffix.
func (f Folders) Claim(name string) (string, error) {
	if name != filepath.Base(name) || name == "." || name == ".." {
		return "", fmt.Errorf("claim %q: not a plain file name", name)
	}
	dst, err := moveUnique(filepath.Join(f.Inbox, name), f.Processing, name)
	if err != nil {
		return "", fmt.Errorf("claim %s: %w", name, err)
	}
	return dst, nil
}

// Report is a file written beside a settled file: its name is the settled
// file's name plus Suffix ("tasks.xlsx" + ".result.csv").
type Report struct {
	Suffix string
	Data   []byte
	// From, when set, names a file whose content is written instead of
	// Data, streamed (for reports too big to hold in memory).
	From string
}

// Settle moves a claimed file to done/ (ok) or failed/, under its base
// name or, if taken, a suffixed one. The reports are written first
// (atomically) beside the final name, so a settled file always has them;
// if Settle is interrupted, the file is still in processing/ and settling
// again rewrites them. It returns the file's final path.
func (f Folders) Settle(claimed string, ok bool, reports ...Report) (string, error) {
	dir := f.Failed
	if ok {
		dir = f.Done
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	if _, err := os.Stat(claimed); err != nil {
		return "", fmt.Errorf("settle: %w", err)
	}
	name := filepath.Base(claimed)
	for i := 1; ; i++ {
		final := filepath.Join(dir, SuffixName(name, i))
		if _, err := os.Lstat(final); err == nil {
			continue
		}
		for _, r := range reports {
			write := func() error { return WriteFile(final+r.Suffix, r.Data, 0o640) }
			if r.From != "" {
				write = func() error { return CopyFile(r.From, final+r.Suffix, 0o640) }
			}
			if err := write(); err != nil {
				return "", fmt.Errorf("settle %s: report: %w", name, err)
			}
		}
		err := renameNoReplace(claimed, final)
		if errors.Is(err, fs.ErrExist) {
			continue // taken meanwhile
		}
		if err != nil {
			return "", fmt.Errorf("settle %s: %w", name, err)
		}
		return final, syncDir(dir)
	}
}

// SuffixName returns name for n <= 1 and "base (n).ext" otherwise.
func SuffixName(name string, n int) string {
	if n <= 1 {
		return name
	}
	ext := filepath.Ext(name)
	if ext == name { // ".hidden"
		ext = ""
	}
	return strings.TrimSuffix(name, ext) + " (" + strconv.Itoa(n) + ")" + ext
}

const claimPrefix = ".claim-"

// Pending lists the files in processing/ (claimed, not settled: a crash
// or stop interrupted them), oldest first, so a flow can resume them at
// start. A claim interrupted halfway is completed first.
func (f Folders) Pending() ([]Entry, error) {
	des, err := os.ReadDir(f.Processing)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, de := range des {
		n := de.Name()
		if !strings.HasPrefix(n, claimPrefix) || len(n) < len(claimPrefix)+18 {
			continue
		}
		name := n[len(claimPrefix)+17:]
		for i := 1; ; i++ {
			err := renameNoReplace(filepath.Join(f.Processing, n), filepath.Join(f.Processing, SuffixName(name, i)))
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("recover claim %s: %w", n, err)
			}
			break
		}
	}
	return Scan(f.Processing, DefaultIgnore)
}

// RemovePartials deletes temporary files of interrupted atomic writes in
// dir that are older than age.
func RemovePartials(dir string, age time.Duration) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, de := range des {
		n := de.Name()
		if !de.Type().IsRegular() || !strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".partial") || strings.HasPrefix(n, claimPrefix) {
			continue
		}
		if fi, err := de.Info(); err == nil && time.Since(fi.ModTime()) > age {
			if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// moveUnique renames src into dir under name or the first free suffixed
// name, never replacing a file. Of several movers of one src, exactly one
// succeeds: src is first renamed (atomically) to a private name in dir.
func moveUnique(src, dir, name string) (string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	private := filepath.Join(dir, claimPrefix+hex.EncodeToString(rnd[:])+"-"+name)
	if err := os.Rename(src, private); err != nil {
		return "", err
	}
	for i := 1; ; i++ {
		dst := filepath.Join(dir, SuffixName(name, i))
		err := renameNoReplace(private, dst)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if err := syncDir(dir); err != nil {
			return dst, err
		}
		return dst, syncDir(filepath.Dir(src))
	}
}

// renameNoReplace renames src to dst, failing with fs.ErrExist if dst
// exists: a hard link (which never replaces) then removal of src. Where
// links are not supported it falls back to check-then-rename.
func renameNoReplace(src, dst string) error {
	err := os.Link(src, dst)
	if err == nil {
		return os.Remove(src)
	}
	if errors.Is(err, fs.ErrExist) {
		return fs.ErrExist
	}
	if _, serr := os.Lstat(src); serr != nil {
		return serr
	}
	if _, derr := os.Lstat(dst); derr == nil {
		return fs.ErrExist
	}
	return os.Rename(src, dst)
}

// syncDir fsyncs a folder so that renames in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
