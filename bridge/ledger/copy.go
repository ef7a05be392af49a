package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// StateValue is one of a job's named values (Ledger.State), as a record.
type StateValue struct {
	Job, Name, Value string
	Updated          time.Time
}

// Record is one record of a ledger, as a Dumper gives it and a Loader
// takes it: exactly one field is set.
type Record struct {
	Run   *Run
	File  *File
	Item  *Item
	State *StateValue
}

// Dumper is implemented by ledgers that can list everything they hold
// but leases and claims (both SQLite and PostgreSQL do).
type Dumper interface {
	// Dump calls fn for every run (by ID), then every file (by ID), item
	// (by job and key) and state value (by job and name). It reads a page
	// of records at a time and holds no database resources while fn
	// runs; fn's error stops the walk and is returned. Records written
	// during the walk may or may not be seen.
	Dump(ctx context.Context, fn func(Record) error) error
}

// Loader is implemented by ledgers that can take records as they are:
// IDs, times and outcomes kept.
type Loader interface {
	// Load stores recs in one transaction, replacing the records with the
	// same run or file ID, item key or state name.
	Load(ctx context.Context, recs []Record) error
}

// ErrNotEmpty is returned (wrapped) by Copy when the target ledger holds
// records and force is false.
var ErrNotEmpty = errors.New("ledger: the target ledger is not empty")

// CopyCounts is how many records of each kind Copy copied.
type CopyCounts struct {
	Runs, Files, Items, States int64
}

func (c CopyCounts) String() string {
	return fmt.Sprintf("%d runs, %d files, %d items, %d state values", c.Runs, c.Files, c.Items, c.States)
}

// copyBatch is how many records Copy loads per transaction.
const copyBatch = 500

// Copy copies every run, file, item and state value of src into dst,
// streaming (a batch at a time, each loaded in one transaction); leases
// and claims are not copied. src must be a Dumper and dst a Loader and
// a Dumper. A dst that already holds records is refused with ErrNotEmpty
// unless force is true; then records with the same ID or key are
// replaced, and the others kept. Stop the bridges using either ledger
// first: a copy is not a snapshot. Copy returns what it copied, also
// when it fails part way.
func Copy(ctx context.Context, dst, src Ledger, force bool) (CopyCounts, error) {
	var n CopyCounts
	from, ok := src.(Dumper)
	if !ok {
		return n, fmt.Errorf("ledger: %T cannot list its records", src)
	}
	to, ok := dst.(Loader)
	if !ok {
		return n, fmt.Errorf("ledger: %T cannot load records", dst)
	}
	if !force {
		d, ok := dst.(Dumper)
		if !ok {
			return n, fmt.Errorf("ledger: %T cannot tell whether it is empty", dst)
		}
		errFound := errors.New("found")
		switch err := d.Dump(ctx, func(Record) error { return errFound }); {
		case errors.Is(err, errFound):
			return n, ErrNotEmpty
		case err != nil:
			return n, err
		}
	}
	batch := make([]Record, 0, copyBatch)
	var pending CopyCounts
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := to.Load(ctx, batch); err != nil {
			return err
		}
		n.Runs += pending.Runs
		n.Files += pending.Files
		n.Items += pending.Items
		n.States += pending.States
		pending = CopyCounts{}
		clear(batch)
		batch = batch[:0]
		return nil
	}
	err := from.Dump(ctx, func(r Record) error {
		switch {
		case r.Run != nil:
			pending.Runs++
		case r.File != nil:
			pending.Files++
		case r.Item != nil:
			pending.Items++
		case r.State != nil:
			pending.States++
		}
		batch = append(batch, r)
		if len(batch) == copyBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return n, err
}
