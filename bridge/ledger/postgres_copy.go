package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Dump implements Dumper.
func (l *Postgres) Dump(ctx context.Context, fn func(Record) error) error {
	err := walkPages(func(last *Run) ([]Run, error) {
		var after int64
		if last != nil {
			after = last.ID
		}
		return pgCollect(ctx, l, `SELECT `+pgRunCols+` FROM {s}.runs WHERE id > $1 ORDER BY id LIMIT $2`, []any{after, pageSize}, scanPGRun)
	}, func(r Run) error { return fn(Record{Run: &r}) })
	if err != nil {
		return l.errorf("ledger: dump runs: %w", err)
	}
	err = walkPages(func(last *File) ([]File, error) {
		var after int64
		if last != nil {
			after = last.ID
		}
		return pgCollect(ctx, l, `SELECT `+pgFileCols+` FROM {s}.files WHERE id > $1 ORDER BY id LIMIT $2`, []any{after, pageSize}, scanPGFile)
	}, func(f File) error { return fn(Record{File: &f}) })
	if err != nil {
		return l.errorf("ledger: dump files: %w", err)
	}
	err = walkPages(func(last *Item) ([]Item, error) {
		q, args := `SELECT `+itemCols+` FROM {s}.items`, []any{}
		if last != nil {
			q += ` WHERE (job, key) > ($1, $2)`
			args = append(args, last.Job, last.Key)
		}
		args = append(args, pageSize)
		return pgCollect(ctx, l, q+fmt.Sprintf(` ORDER BY job, key LIMIT $%d`, len(args)), args, scanPGItem)
	}, func(it Item) error { return fn(Record{Item: &it}) })
	if err != nil {
		return l.errorf("ledger: dump items: %w", err)
	}
	err = walkPages(func(last *StateValue) ([]StateValue, error) {
		q, args := `SELECT job, name, value, updated FROM {s}.state`, []any{}
		if last != nil {
			q += ` WHERE (job, name) > ($1, $2)`
			args = append(args, last.Job, last.Name)
		}
		args = append(args, pageSize)
		return pgCollect(ctx, l, q+fmt.Sprintf(` ORDER BY job, name LIMIT $%d`, len(args)), args,
			func(row pgx.Row) (StateValue, error) {
				var (
					v       StateValue
					updated *time.Time
				)
				err := row.Scan(&v.Job, &v.Name, &v.Value, &updated)
				v.Updated = fromTS(updated)
				return v, err
			})
	}, func(v StateValue) error { return fn(Record{State: &v}) })
	if err != nil {
		return l.errorf("ledger: dump state: %w", err)
	}
	return nil
}

// Load implements Loader. Run and file IDs are kept, and the sequences
// that number new ones are moved past them.
func (l *Postgres) Load(ctx context.Context, recs []Record) error {
	var runs, files bool
	return l.write(ctx, nil, "load", func(b *pgx.Batch) {
		for _, r := range recs {
			switch {
			case r.Run != nil:
				runs = true
				counts := r.Run.Counts
				if counts == nil {
					counts = map[string]int64{}
				}
				b.Queue(l.sql(`INSERT INTO {s}.runs (`+pgRunCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
					ON CONFLICT (id) DO UPDATE SET job = excluded.job, started = excluded.started, ended = excluded.ended,
					counts = excluded.counts, outcome = excluded.outcome, message = excluded.message`),
					r.Run.ID, r.Run.Job, ts(r.Run.Started), ts(r.Run.Ended), counts, r.Run.Outcome, r.Run.Message)
			case r.File != nil:
				files = true
				f := r.File
				b.Queue(l.sql(`INSERT INTO {s}.files (`+pgFileCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
					ON CONFLICT (id) DO UPDATE SET job = excluded.job, source = excluded.source, name = excluded.name,
					size = excluded.size, mtime = excluded.mtime, sha256 = excluded.sha256, state = excluded.state,
					attempts = excluded.attempts, message = excluded.message, run_id = excluded.run_id,
					created = excluded.created, updated = excluded.updated`),
					f.ID, f.Job, f.Source, f.Name, f.Size, ts(f.ModTime), f.SHA256, f.State, f.Attempts, f.Message, f.RunID,
					ts(f.Created), ts(f.Updated))
			case r.Item != nil:
				it := r.Item
				b.Queue(l.sql(pgPutItem), it.Job, it.Key, it.Hash, it.Outcome, it.Message, it.RemoteID, it.RunID, ts(it.Updated))
			case r.State != nil:
				s := r.State
				b.Queue(l.sql(`INSERT INTO {s}.state (job, name, value, updated) VALUES ($1, $2, $3, $4)
					ON CONFLICT (job, name) DO UPDATE SET value = excluded.value, updated = excluded.updated`),
					s.Job, s.Name, s.Value, ts(s.Updated))
			}
		}
		for _, t := range []struct {
			table string
			used  bool
		}{{"runs", runs}, {"files", files}} {
			if t.used {
				b.Queue(l.sql(`SELECT setval(pg_get_serial_sequence($1, 'id'), GREATEST((SELECT max(id) FROM {s}.`+t.table+`), 1))`),
					l.sql(`{s}.`+t.table))
			}
		}
	})
}
