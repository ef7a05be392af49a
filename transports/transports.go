// Package transports is the one face of "a place where files live": a local
// folder, an FTP/FTPS server or an SFTP server. Every flow reads, writes,
// moves and deletes files through the Transport interface, so a flow never
// knows which kind of place it is talking to.
//
// Each backend lives in its own sub-package (transports/local,
// transports/ftp, transports/sftp) with an Options struct that the engine
// decodes from the configuration (toml tags) and a New function.
//
// Paths given to a Transport are slash-separated and relative to the
// backend's configured root folder; a Transport refuses any path that would
// leave that root.
//
// Helpers shared by the backends and the flows: ValidName, CleanPath and
// SafeJoin check names; KeepBothName and TempName make names; Retry.Do
// retries with exponential back-off and jitter, using IsTransient to tell
// transient failures from permanent ones (Transient and Permanent mark an
// error explicitly); Copy and Move stream a file between two transports
// with the same atomic, size-checked Write. Duration is the options' text
// duration type. transports/transporttest has the real test servers and a
// conformance suite every backend passes.
//
// The backends share their protocol-independent logic through this
// package: CleanFilePath and CleanRenamePaths check their arguments; Place
// applies the overwrite policy; the server backends (FTP, SFTP) upload
// with AtomicWrite (temporary name, size checks, placing, clean-up)
// driven by an Uploader (retries that rewind an io.Seeker, removal of
// what a broken connection left), list with Walk, and check and default
// their options with CheckServer, CheckRoot, CheckDurations, RetryPolicy,
// HostPort and ServerURL.
package transports

import (
	"context"
	"errors"
	"io"
	"time"
)

// FileInfo describes one entry of a listing.
type FileInfo struct {
	// Path is slash-separated and relative to the folder that was listed
	// (for a recursive listing it includes sub-folders: "2026/11/a.csv").
	Path    string
	Size    int64
	ModTime time.Time
	IsDir   bool
	// Precision is how coarse ModTime is: the file was last changed at or
	// after ModTime and before ModTime+Precision. Zero is exact (a local
	// folder); FTP's LIST gives minutes (days for old files), MLSD, MDTM
	// and SFTP give seconds. A flow that tells versions of a file apart by
	// their times must not trust them beyond it.
	Precision time.Duration
}

// Overwrite says what Write does when the target name already exists.
type Overwrite int

const (
	// Replace atomically replaces the existing file.
	Replace Overwrite = iota
	// Fail returns an error wrapping ErrExist and leaves the existing file.
	Fail
	// KeepBoth writes under a new name with a numeric suffix before the
	// extension ("report (2).csv") and leaves the existing file.
	KeepBoth
)

// WriteOptions tunes Write.
type WriteOptions struct {
	Overwrite Overwrite
	// Size, when >= 0, is the number of bytes the caller expects to be
	// written; a different count is an integrity error (ErrIntegrity) and
	// nothing is left under the final name. -1 means unknown.
	Size int64
	// ModTime, when not zero, is set on the written file where the backend
	// allows it.
	ModTime time.Time
	// TempToken, when set, replaces the random part of the temporary name
	// (TempName; 12 lowercase hex digits): the caller then knows the name
	// beforehand, and an attempt killed midway is overwritten by the next
	// attempt with the same token instead of staying behind, even where a
	// listing hides temporary (dot) names, as most FTP servers do.
	TempToken string
}

// Token is the token of the write's temporary name: TempToken, or a
// random one.
func (o WriteOptions) Token() string {
	if o.TempToken != "" {
		return o.TempToken
	}
	return RandomToken()
}

// WriteResult tells where a Write landed.
type WriteResult struct {
	// Path is the final path (differs from the requested one with KeepBoth).
	Path string
	Size int64
	// SHA256 is the hex digest of the bytes written.
	SHA256 string
}

// Transport is a place where files live. Implementations are safe for
// concurrent use by multiple goroutines unless their documentation says
// otherwise; every method honours ctx (cancellation and deadline).
type Transport interface {
	// List returns the entries of dir ("" or "." is the root). With
	// recursive, entries of sub-folders are included (folders too).
	List(ctx context.Context, dir string, recursive bool) ([]FileInfo, error)
	// Stat describes one path; a missing path gives an error wrapping
	// ErrNotExist.
	Stat(ctx context.Context, path string) (FileInfo, error)
	// Open opens a file for streaming reads. The caller must Close it
	// before issuing another command on the same connection-bound backends;
	// implementations must make that safe regardless (FTP: the data
	// connection is always closed and its reply read).
	Open(ctx context.Context, path string) (io.ReadCloser, error)
	// Write stores r under path atomically: the bytes go to a temporary
	// name in the same folder, are flushed and size-checked, and only then
	// renamed to the final name. Missing parent folders are created. On any
	// error nothing is left under the final name or the temporary name.
	Write(ctx context.Context, path string, r io.Reader, opts WriteOptions) (WriteResult, error)
	// Rename moves from to to, replacing to when it exists where the backend
	// can do so atomically. Missing parent folders of to are created.
	Rename(ctx context.Context, from, to string) error
	// Remove deletes a file (not a folder). A missing file gives an error
	// wrapping ErrNotExist.
	Remove(ctx context.Context, path string) error
	// MkdirAll creates a folder and its parents; an existing one is fine.
	MkdirAll(ctx context.Context, path string) error
	// String names the place for messages and logs, without secrets
	// ("ftp://user@host:21/export").
	String() string
	// Close releases connections.
	Close() error
}

// Errors that callers check with errors.Is.
var (
	// ErrNotExist: the path does not exist.
	ErrNotExist = errors.New("file does not exist")
	// ErrExist: the target exists and the overwrite policy is Fail.
	ErrExist = errors.New("file already exists")
	// ErrUnsafeName: a name that could escape its folder or is not a
	// plain file name (contains "..", a NUL, control characters, a
	// backslash, or is absolute).
	ErrUnsafeName = errors.New("unsafe file name")
	// ErrIntegrity: the size (or hash) after a transfer does not match.
	ErrIntegrity = errors.New("transfer integrity check failed")
	// ErrNotRegular: an entry that is neither a plain file nor a folder
	// (a symbolic link, a device, a pipe). Listings leave such entries
	// out and say so through a SkipFunc; they are never followed or read.
	ErrNotRegular = errors.New("not a regular file")
	// ErrPermanent marks an error that retrying will not fix (no such
	// file, permission denied, authentication failed, host key mismatch).
	ErrPermanent = errors.New("permanent error")
)

// SkipFunc is told about an entry that List leaves out: its path
// (relative to the listed folder, as FileInfo.Path would be) and why (an
// error wrapping ErrUnsafeName for its name, or ErrNotRegular for a
// symbolic link or another entry that is not a plain file or folder).
type SkipFunc func(path string, reason error)

type skipKey struct{}

// WithSkipFunc returns a context under which List calls fn for every entry
// it leaves out (an unsafe name, a symbolic link), so that a flow can
// report files it will never take instead of ignoring them silently. A backend
// that retries a listing may report an entry more than once.
func WithSkipFunc(ctx context.Context, fn SkipFunc) context.Context {
	return context.WithValue(ctx, skipKey{}, fn)
}

// Skipped is called by backends' List for each entry left out; it does
// nothing unless ctx carries a SkipFunc.
func Skipped(ctx context.Context, path string, reason error) {
	if fn, ok := ctx.Value(skipKey{}).(SkipFunc); ok && fn != nil {
		fn(path, reason)
	}
}

type sizeKey struct{}

// WithKnownSize returns a context telling Open the size of the file it
// opens, as a listing just gave it, so that a backend that would ask the
// server for it (FTP SIZE) can skip that round trip. The download is still
// checked against it: a different byte count fails with ErrIntegrity.
func WithKnownSize(ctx context.Context, size int64) context.Context {
	return context.WithValue(ctx, sizeKey{}, size)
}

// KnownSize returns the size set by WithKnownSize.
func KnownSize(ctx context.Context) (int64, bool) {
	n, ok := ctx.Value(sizeKey{}).(int64)
	return n, ok && n >= 0
}

type openStatKey struct{}

// WithOpenStat returns a context asking Open to describe the file as the
// server has it right before the transfer starts, as precisely as the
// server can tell (FTP: MDTM, to the second, where a listing gave only
// minutes), and to return a reader that implements Versioned. Backends
// that learn it for free (SFTP, a local folder: the open handle's stat)
// do so without being asked.
func WithOpenStat(ctx context.Context) context.Context {
	return context.WithValue(ctx, openStatKey{}, true)
}

// OpenStat reports whether ctx carries WithOpenStat.
func OpenStat(ctx context.Context) bool {
	b, _ := ctx.Value(openStatKey{}).(bool)
	return b
}

// Versioned is implemented by readers that know the file's size and
// modification time as the transfer began. ok is false when the backend
// could not tell (an FTP server without MDTM).
type Versioned interface {
	Info() (fi FileInfo, ok bool)
}
