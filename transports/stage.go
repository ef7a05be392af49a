package transports

import (
	"context"
	"io"
)

// Stager is implemented by transports that can write many files and make
// them durable together, paying for the flush once per batch instead of
// once per file (transports/local). A flow that writes many files checks
// for it with a type assertion and falls back to Write.
//
// The guarantee is Write's: nothing ever appears under a final name
// before its bytes are durable. Stage only writes the bytes under a
// temporary name (not flushed); Commit flushes every staged file, then
// gives each its final name, then flushes the folders. A process killed at
// any point leaves at most temporary files (TempName) beside their final
// names, which a later run may remove.
type Stager interface {
	// Stage writes r under a temporary name beside path (creating missing
	// parent folders), checks the size against opts.Size and returns what
	// Commit or Abort needs. On error nothing is left behind.
	Stage(ctx context.Context, path string, r io.Reader, opts WriteOptions) (Staged, error)
	// Commit makes the bytes of every staged file durable, then places
	// each one under its final name according to its overwrite policy
	// (KeepBoth may pick a suffixed name), then makes the names durable.
	// The result has one entry per staged file, in order. An error
	// returned by Commit itself (the flush failed) means no file of the
	// batch was placed and all temporary files were removed; a per-file
	// error (CommitResult.Err, e.g. wrapping ErrExist under Fail) means
	// that file was not placed and its temporary file was removed.
	Commit(ctx context.Context, batch []Staged) ([]CommitResult, error)
	// Abort removes the temporary files of staged files not committed.
	Abort(ctx context.Context, batch []Staged) error
}

// Staged is a file written under a temporary name by Stager.Stage,
// waiting for Commit.
type Staged struct {
	// Path is the requested final path (cleaned, relative to the root).
	Path string
	// Temp is the temporary path holding the bytes, in Path's folder.
	Temp string
	// Overwrite is the policy Commit places the file with.
	Overwrite Overwrite
	// Size and SHA256 describe the bytes written.
	Size   int64
	SHA256 string
}

// CommitResult is the outcome of one file of a Commit.
type CommitResult struct {
	// WriteResult tells where the file landed (valid when Err is nil).
	WriteResult
	// Err is why the file was not placed.
	Err error
}
