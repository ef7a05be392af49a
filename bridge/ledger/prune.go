package ledger

import (
	"context"
	"fmt"
	"time"
)

// RunPruner is implemented by ledgers that can forget old runs (SQLite
// and PostgreSQL). A job that polls every 30 seconds records a million
// runs a year; what a run did to each file and row is in the files and
// items, which are never pruned.
type RunPruner interface {
	// PruneRuns deletes the runs that started before `before` and have
	// ended, keeping each job's newest run of every outcome (what LastRun
	// answers, for the status page and the catching up of missed ticks).
	// It returns how many it deleted.
	PruneRuns(ctx context.Context, before time.Time) (int64, error)
}

// pruneBatch is how many runs one delete takes: each is a short
// transaction, so the runs' writers are not held up.
const pruneBatch = 2000

// runStore is what pruneRuns needs of a backend.
type runStore interface {
	// runKinds lists every (job, outcome) pair that has runs.
	runKinds(ctx context.Context) ([][2]string, error)
	// deleteRuns deletes up to pruneBatch ended runs of job started
	// before `before`, except those in keep, and returns how many.
	deleteRuns(ctx context.Context, job string, before time.Time, keep []int64) (int64, error)
	LastRun(ctx context.Context, job string, outcomes ...string) (Run, error)
}

// pruneRuns is PruneRuns over a backend.
func pruneRuns(ctx context.Context, s runStore, before time.Time) (int64, error) {
	kinds, err := s.runKinds(ctx)
	if err != nil {
		return 0, fmt.Errorf("ledger: prune runs: %w", err)
	}
	keep := map[string][]int64{}
	var jobs []string
	for _, k := range kinds {
		job, outcome := k[0], k[1]
		if _, ok := keep[job]; !ok {
			jobs = append(jobs, job)
		}
		r, err := s.LastRun(ctx, job, outcome)
		if err != nil {
			return 0, fmt.Errorf("ledger: prune runs of %s: %w", job, err)
		}
		keep[job] = append(keep[job], r.ID)
	}
	var total int64
	for _, job := range jobs {
		for {
			if err := ctx.Err(); err != nil {
				return total, fmt.Errorf("ledger: prune runs: %w", err)
			}
			n, err := s.deleteRuns(ctx, job, before, keep[job])
			total += n
			if err != nil {
				return total, fmt.Errorf("ledger: prune runs of %s: %w", job, err)
			}
			if n < pruneBatch {
				break
			}
		}
	}
	return total, nil
}

// ItemPruner is implemented by ledgers that can forget old items (SQLite
// and PostgreSQL), for records that are kept only a while: FindME's
// links hold where a customer said they are.
type ItemPruner interface {
	// PruneItems deletes job's items whose key starts with prefix and
	// that were last updated before `before`, and returns how many.
	PruneItems(ctx context.Context, job, prefix string, before time.Time) (int64, error)
}

// pruneItems is PruneItems over a backend's batch delete.
func pruneItems(ctx context.Context, job, prefix string, del func(context.Context) (int64, error)) (int64, error) {
	if prefix == "" {
		return 0, fmt.Errorf("ledger: prune items of %s: an empty prefix would take every item", job)
	}
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("ledger: prune items of %s: %w", job, err)
		}
		n, err := del(ctx)
		total += n
		if err != nil {
			return total, fmt.Errorf("ledger: prune items %s* of %s: %w", prefix, job, err)
		}
		if n < pruneBatch {
			return total, nil
		}
	}
}
