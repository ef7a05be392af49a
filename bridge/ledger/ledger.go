// Package ledger records what the bridge has done, so that a job can resume
// after a crash and never send an item twice: runs, files and their states,
// items and their content hashes, and small per-job state values (cursors).
//
// The Ledger interface is implemented by an embedded SQLite database
// (OpenSQLite), for one node, and by a PostgreSQL database (OpenPostgres)
// that several nodes share; the PostgreSQL ledger is also a Coordinator
// (lease.go). Both are Dumpers and Loaders, so that Copy moves a ledger
// from one to the other. The same conformance tests run on both.
package ledger

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned (wrapped) when a looked-up record does not exist.
var ErrNotFound = errors.New("ledger: not found")

// Run outcomes.
const (
	OutcomeRunning = "running" // started, not ended (a crash leaves this)
	OutcomeOK      = "ok"      // every item went through
	OutcomePartial = "partial" // the job ran, some items were not delivered (failed or held back)
	OutcomeFailed  = "failed"  // the job could not run or was stopped by an error
	OutcomeStopped = "stopped" // interrupted by shutdown; resumes next time
)

// Run is one execution of a job.
type Run struct {
	ID      int64
	Job     string
	Started time.Time
	Ended   time.Time // zero while running
	// Counts are the job's counters: "read", "sent", "created", "updated",
	// "unchanged", "failed", "skipped", ...
	Counts  map[string]int64
	Outcome string
	Message string // a short summary or the error that stopped the run
}

// File states, in the order of a file's life (DESIGN.md).
const (
	FileSeen       = "seen"
	FileClaimed    = "claimed"
	FileProcessing = "processing"
	FileDone       = "done"
	FileFailed     = "failed"
	FileDuplicate  = "duplicate"
)

// File is one file a job has taken.
type File struct {
	ID      int64
	Job     string
	Source  string // where it came from: inbox or connection name
	Name    string // path within the source
	Size    int64
	ModTime time.Time
	SHA256  string // hex; empty until known
	State   string
	// Attempts counts how many times processing started.
	Attempts int
	Message  string
	// RunID is the run that last changed the file.
	RunID   int64
	Created time.Time
	Updated time.Time
}

// Item is one unit a job sends: a box, a sheet row, a notification.
type Item struct {
	Job string
	// Key identifies the item within the job: a box id, "<file sha>:<row>".
	Key string
	// Hash is the content hash of what was last sent successfully.
	Hash string
	// Outcome is the job's word for what happened: "created", "updated",
	// "unchanged", "failed", "sending" (recorded before a send), ...
	Outcome string
	Message string
	// RemoteID is the identifier in the target system (Sytex id, task number).
	RemoteID string
	RunID    int64
	Updated  time.Time
}

// RunFilter selects runs for Runs.
type RunFilter struct {
	Job   string // empty: every job
	Limit int    // 0: a sensible default (50)
}

// FileFilter selects files for Files.
type FileFilter struct {
	Job    string
	Source string
	State  string
	Limit  int
}

// Ledger is the bridge's memory. Implementations are safe for concurrent
// use. Every write is durable when the method returns.
type Ledger interface {
	// BeginRun records a new run of job, started at the given time, with
	// outcome "running", and returns it with its ID.
	BeginRun(ctx context.Context, job string, started time.Time) (Run, error)
	// EndRun stores the run's end, counts, outcome and message.
	EndRun(ctx context.Context, r Run) error
	// Runs lists runs, newest first.
	Runs(ctx context.Context, f RunFilter) ([]Run, error)
	// LastRun returns the newest run of job whose outcome is one of
	// outcomes (any outcome when none are given); ErrNotFound when none.
	LastRun(ctx context.Context, job string, outcomes ...string) (Run, error)

	// PutFile inserts f when f.ID is 0 (setting f.ID) or updates it.
	PutFile(ctx context.Context, f *File) error
	// FileByName returns the newest record of (job, source, name).
	FileByName(ctx context.Context, job, source, name string) (File, error)
	// FileBySHA256 returns the newest record of job with that digest in
	// one of states (any when none are given): duplicate detection.
	FileBySHA256(ctx context.Context, job, sha256 string, states ...string) (File, error)
	// Files lists files, newest first.
	Files(ctx context.Context, f FileFilter) ([]File, error)

	// GetItem returns the item (job, key); ErrNotFound when none.
	GetItem(ctx context.Context, job, key string) (Item, error)
	// GetItems returns the items of job among keys, by key (keys without
	// an item are absent): one query per few hundred keys instead of one
	// per key.
	GetItems(ctx context.Context, job string, keys []string) (map[string]Item, error)
	// PutItem inserts or replaces the item (job, key).
	PutItem(ctx context.Context, it Item) error
	// PutItems stores several items in one transaction.
	PutItems(ctx context.Context, items []Item) error
	// ItemsWithPrefix calls fn for every item of job whose key starts with
	// prefix, in key order; fn's error stops the walk and is returned.
	ItemsWithPrefix(ctx context.Context, job, prefix string, fn func(Item) error) error

	// State returns a job's named value (a cursor, a timestamp);
	// ErrNotFound when unset.
	State(ctx context.Context, job, name string) (string, error)
	// SetState stores a job's named value.
	SetState(ctx context.Context, job, name, value string) error

	Close() error
}

// itemCols are the items table's columns (the same in every store), in
// the order scanItem and scanPGItem read them.
const itemCols = `job, key, hash, outcome, message, remote_id, run_id, updated`
