package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
)

var (
	_ Dumper = (*SQLite)(nil)
	_ Loader = (*SQLite)(nil)
)

// walkPages calls fetch for page after page, each starting after the
// last record of the one before (first is true for the first), and fn
// for every record, until a page is short.
func walkPages[T any](fetch func(last *T) ([]T, error), fn func(T) error) error {
	var last *T
	for {
		page, err := fetch(last)
		if err != nil {
			return err
		}
		for _, v := range page {
			if err := fn(v); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		last = &page[len(page)-1]
	}
}

func sqliteCollect[T any](ctx context.Context, db *sql.DB, q string, args []any, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Dump implements Dumper.
func (l *SQLite) Dump(ctx context.Context, fn func(Record) error) error {
	err := walkPages(func(last *Run) ([]Run, error) {
		var after int64
		if last != nil {
			after = last.ID
		}
		return sqliteCollect(ctx, l.r, `SELECT `+runCols+` FROM runs WHERE id > ? ORDER BY id LIMIT ?`, []any{after, pageSize}, scanRun)
	}, func(r Run) error { return fn(Record{Run: &r}) })
	if err != nil {
		return fmt.Errorf("ledger: dump runs: %w", err)
	}
	err = walkPages(func(last *File) ([]File, error) {
		var after int64
		if last != nil {
			after = last.ID
		}
		return sqliteCollect(ctx, l.r, `SELECT `+fileCols+` FROM files WHERE id > ? ORDER BY id LIMIT ?`, []any{after, pageSize}, scanFile)
	}, func(f File) error { return fn(Record{File: &f}) })
	if err != nil {
		return fmt.Errorf("ledger: dump files: %w", err)
	}
	err = walkPages(func(last *Item) ([]Item, error) {
		q, args := `SELECT job, key, hash, outcome, message, remote_id, run_id, updated FROM items`, []any{}
		if last != nil {
			q += ` WHERE (job, key) > (?, ?)`
			args = append(args, last.Job, last.Key)
		}
		return sqliteCollect(ctx, l.r, q+` ORDER BY job, key LIMIT ?`, append(args, pageSize), scanItem)
	}, func(it Item) error { return fn(Record{Item: &it}) })
	if err != nil {
		return fmt.Errorf("ledger: dump items: %w", err)
	}
	err = walkPages(func(last *StateValue) ([]StateValue, error) {
		q, args := `SELECT job, name, value, updated FROM state`, []any{}
		if last != nil {
			q += ` WHERE (job, name) > (?, ?)`
			args = append(args, last.Job, last.Name)
		}
		return sqliteCollect(ctx, l.r, q+` ORDER BY job, name LIMIT ?`, append(args, pageSize),
			func(s interface{ Scan(...any) error }) (StateValue, error) {
				var (
					v       StateValue
					updated int64
				)
				err := s.Scan(&v.Job, &v.Name, &v.Value, &updated)
				v.Updated = fromNanos(updated)
				return v, err
			})
	}, func(v StateValue) error { return fn(Record{State: &v}) })
	if err != nil {
		return fmt.Errorf("ledger: dump state: %w", err)
	}
	return nil
}

// Load implements Loader.
func (l *SQLite) Load(ctx context.Context, recs []Record) error {
	ctx, err := writeCtx(ctx)
	if err != nil {
		return err
	}
	tx, err := l.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("ledger: load: %w", err)
	}
	defer tx.Rollback()
	for _, r := range recs {
		var err error
		switch {
		case r.Run != nil:
			var ended any
			if !r.Run.Ended.IsZero() {
				ended = nanos(r.Run.Ended)
			}
			counts := r.Run.Counts
			if counts == nil {
				counts = map[string]int64{}
			}
			var cj []byte
			if cj, err = json.Marshal(counts); err == nil {
				_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO runs(`+runCols+`) VALUES(?,?,?,?,?,?,?)`,
					r.Run.ID, r.Run.Job, nanos(r.Run.Started), ended, string(cj), r.Run.Outcome, r.Run.Message)
			}
		case r.File != nil:
			f := r.File
			_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO files(`+fileCols+`) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)`,
				f.ID, f.Job, f.Source, f.Name, f.Size, nanos(f.ModTime), f.SHA256, f.State, f.Attempts, f.Message, f.RunID,
				nanos(f.Created), nanos(f.Updated))
		case r.Item != nil:
			it := r.Item
			_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO items(job, key, hash, outcome, message, remote_id, run_id, updated)
				VALUES(?,?,?,?,?,?,?,?)`, it.Job, it.Key, it.Hash, it.Outcome, it.Message, it.RemoteID, it.RunID, nanos(it.Updated))
		case r.State != nil:
			s := r.State
			_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO state(job, name, value, updated) VALUES(?,?,?,?)`,
				s.Job, s.Name, s.Value, nanos(s.Updated))
		}
		if err != nil {
			return fmt.Errorf("ledger: load: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("ledger: load: %w", err)
	}
	return nil
}
