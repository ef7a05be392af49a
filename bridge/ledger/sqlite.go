package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver, registers "sqlite"
)

// Synchronous levels for SQLiteOptions.Synchronous.
const (
	// SyncFull fsyncs the write-ahead log on every commit: a write that
	// returned survives a power loss. The default.
	SyncFull = "full"
	// SyncNormal fsyncs only at checkpoints: a write that returned
	// survives a crash or kill -9 of the process, but the last commits may
	// be lost on a power loss or OS crash (the database stays consistent).
	SyncNormal = "normal"
)

// SQLiteOptions tune OpenSQLiteWith.
type SQLiteOptions struct {
	// Synchronous is SyncFull (default) or SyncNormal.
	Synchronous string
	// BusyTimeout is how long a connection waits for a lock held by
	// another process before failing (default 10s).
	BusyTimeout time.Duration
	// Readers is the size of the read connection pool (default 4).
	Readers int
}

// SQLite is the Ledger stored in one SQLite database file (WAL mode). It is
// safe for concurrent use: writes go through a single connection, so
// concurrent writers queue in Go instead of fighting over SQLite's lock;
// reads use a separate pool and do not wait for writers.
type SQLite struct {
	path string
	w    *sql.DB // exactly one connection
	r    *sql.DB

	putItem *sql.Stmt
	getItem *sql.Stmt
}

var _ Ledger = (*SQLite)(nil)

// OpenSQLite opens (creating when needed) the ledger database at path with
// the default options (synchronous=FULL) and brings its schema up to date.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	return OpenSQLiteWith(ctx, path, SQLiteOptions{})
}

// OpenSQLiteWith is OpenSQLite with options.
func OpenSQLiteWith(ctx context.Context, path string, o SQLiteOptions) (*SQLite, error) {
	if o.Synchronous == "" {
		o.Synchronous = SyncFull
	}
	o.Synchronous = strings.ToLower(o.Synchronous)
	if o.Synchronous != SyncFull && o.Synchronous != SyncNormal {
		return nil, fmt.Errorf("ledger: synchronous must be %q or %q, not %q", SyncFull, SyncNormal, o.Synchronous)
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 10 * time.Second
	}
	if o.Readers <= 0 {
		o.Readers = 4
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
	}
	dsn := func(write bool) string {
		q := url.Values{}
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", o.BusyTimeout.Milliseconds()))
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous("+strings.ToUpper(o.Synchronous)+")")
		q.Add("_pragma", "foreign_keys(1)")
		if write {
			q.Set("_txlock", "immediate")
		} else {
			q.Add("_pragma", "query_only(1)")
		}
		return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite", dsn(true))
	if err != nil {
		return nil, fmt.Errorf("ledger: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	l := &SQLite{path: path, w: w}
	if err := l.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(false))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("ledger: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(o.Readers)
	r.SetMaxIdleConns(o.Readers)
	l.r = r
	if l.putItem, err = w.PrepareContext(ctx, `INSERT INTO items(job, key, hash, outcome, message, remote_id, run_id, updated)
		VALUES(?,?,?,?,?,?,?,?)
		ON CONFLICT(job, key) DO UPDATE SET hash=excluded.hash, outcome=excluded.outcome,
		message=excluded.message, remote_id=excluded.remote_id, run_id=excluded.run_id, updated=excluded.updated`); err != nil {
		l.Close()
		return nil, fmt.Errorf("ledger: prepare: %w", err)
	}
	if l.getItem, err = r.PrepareContext(ctx, `SELECT `+itemCols+`
		FROM items WHERE job=? AND key=?`); err != nil {
		l.Close()
		return nil, fmt.Errorf("ledger: prepare: %w", err)
	}
	return l, nil
}

// Path returns the database file's path.
func (l *SQLite) Path() string { return l.path }

// Ping checks that the database answers (for readiness checks).
func (l *SQLite) Ping(ctx context.Context) error {
	var n int
	if err := l.r.QueryRowContext(ctx, `SELECT count(*) FROM schema_version`).Scan(&n); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

// IntegrityCheck runs SQLite's integrity check and returns an error
// listing what it found wrong.
func (l *SQLite) IntegrityCheck(ctx context.Context) error {
	rows, err := l.r.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("ledger: integrity check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return fmt.Errorf("ledger: integrity check: %w", err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ledger: integrity check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("ledger: %s is damaged: %s", l.path, strings.Join(problems, "; "))
	}
	return nil
}

// Close closes the database, checkpointing the write-ahead log.
func (l *SQLite) Close() error {
	var errs []error
	for _, s := range []*sql.Stmt{l.putItem, l.getItem} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	if l.r != nil {
		errs = append(errs, l.r.Close())
	}
	if l.w != nil {
		// Best effort: fold the WAL back into the main file.
		_, _ = l.w.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
		errs = append(errs, l.w.Close())
	}
	return errors.Join(errs...)
}

// migrations are applied in order; schema_version holds how many have run.
// Never edit a released migration: append a new one.
var migrations = []string{
	// 1: the first schema.
	`CREATE TABLE runs (
		id      INTEGER PRIMARY KEY,
		job     TEXT NOT NULL,
		started INTEGER NOT NULL, -- unix nanoseconds
		ended   INTEGER,          -- NULL while running
		counts  TEXT NOT NULL DEFAULT '{}',
		outcome TEXT NOT NULL,
		message TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX runs_job_started ON runs(job, started);
	CREATE TABLE files (
		id       INTEGER PRIMARY KEY,
		job      TEXT NOT NULL,
		source   TEXT NOT NULL,
		name     TEXT NOT NULL,
		size     INTEGER NOT NULL,
		mtime    INTEGER NOT NULL,
		sha256   TEXT NOT NULL DEFAULT '',
		state    TEXT NOT NULL,
		attempts INTEGER NOT NULL DEFAULT 0,
		message  TEXT NOT NULL DEFAULT '',
		run_id   INTEGER NOT NULL DEFAULT 0,
		created  INTEGER NOT NULL,
		updated  INTEGER NOT NULL
	);
	CREATE INDEX files_name ON files(job, source, name);
	CREATE INDEX files_sha ON files(job, sha256);
	CREATE TABLE items (
		job       TEXT NOT NULL,
		key       TEXT NOT NULL,
		hash      TEXT NOT NULL DEFAULT '',
		outcome   TEXT NOT NULL DEFAULT '',
		message   TEXT NOT NULL DEFAULT '',
		remote_id TEXT NOT NULL DEFAULT '',
		run_id    INTEGER NOT NULL DEFAULT 0,
		updated   INTEGER NOT NULL,
		PRIMARY KEY (job, key)
	) WITHOUT ROWID;
	CREATE TABLE state (
		job     TEXT NOT NULL,
		name    TEXT NOT NULL,
		value   TEXT NOT NULL,
		updated INTEGER NOT NULL,
		PRIMARY KEY (job, name)
	) WITHOUT ROWID;`,
}

// SchemaVersion is the number of migrations this build knows.
func SchemaVersion() int { return len(migrations) }

func (l *SQLite) migrate(ctx context.Context) error {
	if _, err := l.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("ledger: %s: %w", l.path, err)
	}
	tx, err := l.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("ledger: %s: %w", l.path, err)
	}
	defer tx.Rollback()
	var v int
	err = tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version(version) VALUES(0)`); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
	case err != nil:
		return fmt.Errorf("ledger: %s: %w", l.path, err)
	}
	if v > len(migrations) {
		return fmt.Errorf("ledger: %s has schema version %d, newer than this program knows (%d): use a newer fieldbridge", l.path, v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("ledger: migration %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version=?`, len(migrations)); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

// writeCtx returns the context for a write: a write that was cancelled
// before it began fails, but one that began is never abandoned halfway,
// so that an outcome recorded during shutdown is not lost (and a write
// never reports failure after it committed).
func writeCtx(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return context.WithoutCancel(ctx), nil
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// BeginRun implements Ledger.
func (l *SQLite) BeginRun(ctx context.Context, job string, started time.Time) (Run, error) {
	ctx, err := writeCtx(ctx)
	if err != nil {
		return Run{}, err
	}
	if started.IsZero() {
		started = time.Now()
	}
	res, err := l.w.ExecContext(ctx, `INSERT INTO runs(job, started, outcome) VALUES(?,?,?)`, job, nanos(started), OutcomeRunning)
	if err != nil {
		return Run{}, fmt.Errorf("ledger: begin run of %s: %w", job, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return Run{}, fmt.Errorf("ledger: begin run of %s: %w", job, err)
	}
	return Run{ID: id, Job: job, Started: fromNanos(nanos(started)), Counts: map[string]int64{}, Outcome: OutcomeRunning}, nil
}

// EndRun implements Ledger. A zero r.Ended means now.
func (l *SQLite) EndRun(ctx context.Context, r Run) error {
	ctx, err := writeCtx(ctx)
	if err != nil {
		return err
	}
	if r.Ended.IsZero() {
		r.Ended = time.Now()
	}
	counts := r.Counts
	if counts == nil {
		counts = map[string]int64{}
	}
	cj, err := json.Marshal(counts)
	if err != nil {
		return fmt.Errorf("ledger: end run %d: %w", r.ID, err)
	}
	res, err := l.w.ExecContext(ctx, `UPDATE runs SET ended=?, counts=?, outcome=?, message=? WHERE id=?`,
		nanos(r.Ended), string(cj), r.Outcome, r.Message, r.ID)
	if err != nil {
		return fmt.Errorf("ledger: end run %d: %w", r.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("ledger: end run %d: %w", r.ID, ErrNotFound)
	}
	return nil
}

const runCols = `id, job, started, ended, counts, outcome, message`

func scanRun(s interface{ Scan(...any) error }) (Run, error) {
	var (
		r       Run
		started int64
		ended   sql.NullInt64
		counts  string
	)
	if err := s.Scan(&r.ID, &r.Job, &started, &ended, &counts, &r.Outcome, &r.Message); err != nil {
		return Run{}, err
	}
	r.Started = fromNanos(started)
	if ended.Valid {
		r.Ended = fromNanos(ended.Int64)
	}
	r.Counts = map[string]int64{}
	if err := json.Unmarshal([]byte(counts), &r.Counts); err != nil {
		return Run{}, fmt.Errorf("run %d counts: %w", r.ID, err)
	}
	return r, nil
}

// Runs implements Ledger.
func (l *SQLite) Runs(ctx context.Context, f RunFilter) ([]Run, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	q := `SELECT ` + runCols + ` FROM runs`
	var args []any
	if f.Job != "" {
		q += ` WHERE job=?`
		args = append(args, f.Job)
	}
	q += ` ORDER BY started DESC, id DESC LIMIT ?`
	args = append(args, f.Limit)
	rows, err := l.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("ledger: runs: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: runs: %w", err)
	}
	return out, nil
}

// LastRun implements Ledger.
func (l *SQLite) LastRun(ctx context.Context, job string, outcomes ...string) (Run, error) {
	q := `SELECT ` + runCols + ` FROM runs WHERE job=?`
	args := []any{job}
	if len(outcomes) > 0 {
		q += ` AND outcome IN (?` + strings.Repeat(",?", len(outcomes)-1) + `)`
		for _, o := range outcomes {
			args = append(args, o)
		}
	}
	q += ` ORDER BY started DESC, id DESC LIMIT 1`
	r, err := scanRun(l.r.QueryRowContext(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, fmt.Errorf("ledger: no run of %s: %w", job, ErrNotFound)
	}
	if err != nil {
		return Run{}, fmt.Errorf("ledger: last run of %s: %w", job, err)
	}
	return r, nil
}

const fileCols = `id, job, source, name, size, mtime, sha256, state, attempts, message, run_id, created, updated`

func scanFile(s interface{ Scan(...any) error }) (File, error) {
	var (
		f                       File
		mtime, created, updated int64
	)
	if err := s.Scan(&f.ID, &f.Job, &f.Source, &f.Name, &f.Size, &mtime, &f.SHA256, &f.State,
		&f.Attempts, &f.Message, &f.RunID, &created, &updated); err != nil {
		return File{}, err
	}
	f.ModTime, f.Created, f.Updated = fromNanos(mtime), fromNanos(created), fromNanos(updated)
	return f, nil
}

// PutFile implements Ledger. It sets f.Created (on insert) and f.Updated.
func (l *SQLite) PutFile(ctx context.Context, f *File) error {
	ctx, err := writeCtx(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	f.Updated = now
	if f.ID == 0 {
		if f.Created.IsZero() {
			f.Created = now
		}
		res, err := l.w.ExecContext(ctx, `INSERT INTO files(job, source, name, size, mtime, sha256, state, attempts, message, run_id, created, updated)
			VALUES(?,?,?,?,?,?,?,?,?,?,?,?)`,
			f.Job, f.Source, f.Name, f.Size, nanos(f.ModTime), f.SHA256, f.State, f.Attempts, f.Message, f.RunID, nanos(f.Created), nanos(now))
		if err != nil {
			return fmt.Errorf("ledger: put file %s: %w", f.Name, err)
		}
		if f.ID, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("ledger: put file %s: %w", f.Name, err)
		}
		return nil
	}
	res, err := l.w.ExecContext(ctx, `UPDATE files SET job=?, source=?, name=?, size=?, mtime=?, sha256=?, state=?, attempts=?, message=?, run_id=?, updated=?
		WHERE id=?`,
		f.Job, f.Source, f.Name, f.Size, nanos(f.ModTime), f.SHA256, f.State, f.Attempts, f.Message, f.RunID, nanos(now), f.ID)
	if err != nil {
		return fmt.Errorf("ledger: put file %s: %w", f.Name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("ledger: put file %s (id %d): %w", f.Name, f.ID, ErrNotFound)
	}
	return nil
}

// FileByName implements Ledger.
func (l *SQLite) FileByName(ctx context.Context, job, source, name string) (File, error) {
	f, err := scanFile(l.r.QueryRowContext(ctx, `SELECT `+fileCols+` FROM files WHERE job=? AND source=? AND name=? ORDER BY id DESC LIMIT 1`, job, source, name))
	if errors.Is(err, sql.ErrNoRows) {
		return File{}, fmt.Errorf("ledger: file %s in %s: %w", name, source, ErrNotFound)
	}
	if err != nil {
		return File{}, fmt.Errorf("ledger: file %s in %s: %w", name, source, err)
	}
	return f, nil
}

// FileBySHA256 implements Ledger.
func (l *SQLite) FileBySHA256(ctx context.Context, job, sha256 string, states ...string) (File, error) {
	q := `SELECT ` + fileCols + ` FROM files WHERE job=? AND sha256=?`
	args := []any{job, sha256}
	if len(states) > 0 {
		q += ` AND state IN (?` + strings.Repeat(",?", len(states)-1) + `)`
		for _, s := range states {
			args = append(args, s)
		}
	}
	q += ` ORDER BY id DESC LIMIT 1`
	f, err := scanFile(l.r.QueryRowContext(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return File{}, fmt.Errorf("ledger: file with sha256 %s: %w", sha256, ErrNotFound)
	}
	if err != nil {
		return File{}, fmt.Errorf("ledger: file with sha256 %s: %w", sha256, err)
	}
	return f, nil
}

// Files implements Ledger.
func (l *SQLite) Files(ctx context.Context, f FileFilter) ([]File, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	var (
		where []string
		args  []any
	)
	for _, c := range []struct{ col, v string }{{"job", f.Job}, {"source", f.Source}, {"state", f.State}} {
		if c.v != "" {
			where = append(where, c.col+"=?")
			args = append(args, c.v)
		}
	}
	q := `SELECT ` + fileCols + ` FROM files`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Limit)
	rows, err := l.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: files: %w", err)
	}
	defer rows.Close()
	var out []File
	for rows.Next() {
		fi, err := scanFile(rows)
		if err != nil {
			return nil, fmt.Errorf("ledger: files: %w", err)
		}
		out = append(out, fi)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: files: %w", err)
	}
	return out, nil
}

func scanItem(s interface{ Scan(...any) error }) (Item, error) {
	var (
		it      Item
		updated int64
	)
	if err := s.Scan(&it.Job, &it.Key, &it.Hash, &it.Outcome, &it.Message, &it.RemoteID, &it.RunID, &updated); err != nil {
		return Item{}, err
	}
	it.Updated = fromNanos(updated)
	return it, nil
}

// GetItem implements Ledger.
func (l *SQLite) GetItem(ctx context.Context, job, key string) (Item, error) {
	it, err := scanItem(l.getItem.QueryRowContext(ctx, job, key))
	if errors.Is(err, sql.ErrNoRows) {
		return Item{}, fmt.Errorf("ledger: item %s of %s: %w", key, job, ErrNotFound)
	}
	if err != nil {
		return Item{}, fmt.Errorf("ledger: item %s of %s: %w", key, job, err)
	}
	return it, nil
}

// sqliteKeysPerQuery bounds the keys of one GetItems query (SQLite allows
// 32,766 variables; smaller statements are cached and planned faster).
const sqliteKeysPerQuery = 500

// GetItems implements Ledger.
func (l *SQLite) GetItems(ctx context.Context, job string, keys []string) (map[string]Item, error) {
	out := make(map[string]Item, len(keys))
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), sqliteKeysPerQuery)]
		keys = keys[len(chunk):]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, job)
		for _, k := range chunk {
			args = append(args, k)
		}
		q := `SELECT ` + itemCols + ` FROM items WHERE job=? AND key IN (?` +
			strings.Repeat(",?", len(chunk)-1) + `)`
		rows, err := l.r.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("ledger: items of %s: %w", job, err)
		}
		for rows.Next() {
			it, err := scanItem(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("ledger: items of %s: %w", job, err)
			}
			out[it.Key] = it
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("ledger: items of %s: %w", job, err)
		}
	}
	return out, nil
}

func itemArgs(it Item, now time.Time) []any {
	if it.Updated.IsZero() {
		it.Updated = now
	}
	return []any{it.Job, it.Key, it.Hash, it.Outcome, it.Message, it.RemoteID, it.RunID, nanos(it.Updated)}
}

// PutItem implements Ledger. A zero it.Updated means now.
func (l *SQLite) PutItem(ctx context.Context, it Item) error {
	ctx, err := writeCtx(ctx)
	if err != nil {
		return err
	}
	if _, err := l.putItem.ExecContext(ctx, itemArgs(it, time.Now())...); err != nil {
		return fmt.Errorf("ledger: put item %s of %s: %w", it.Key, it.Job, err)
	}
	return nil
}

// PutItems implements Ledger: all items or none are stored.
func (l *SQLite) PutItems(ctx context.Context, items []Item) error {
	ctx, err := writeCtx(ctx)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return nil
	}
	tx, err := l.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("ledger: put items: %w", err)
	}
	defer tx.Rollback()
	st := tx.StmtContext(ctx, l.putItem)
	now := time.Now()
	for _, it := range items {
		if _, err := st.ExecContext(ctx, itemArgs(it, now)...); err != nil {
			return fmt.Errorf("ledger: put item %s of %s: %w", it.Key, it.Job, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("ledger: put items: %w", err)
	}
	return nil
}

// ItemsWithPrefix implements Ledger. The walk reads a consistent snapshot;
// fn may write to the ledger.
func (l *SQLite) ItemsWithPrefix(ctx context.Context, job, prefix string, fn func(Item) error) error {
	q := `SELECT ` + itemCols + ` FROM items WHERE job=?`
	args := []any{job}
	if prefix != "" {
		// Range scan on the primary key: key >= prefix AND key < prefix+1.
		q += ` AND key >= ? AND substr(key, 1, ?) = ?`
		args = append(args, prefix, len([]rune(prefix)), prefix)
	}
	q += ` ORDER BY key`
	rows, err := l.r.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("ledger: items of %s: %w", job, err)
	}
	defer rows.Close()
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return fmt.Errorf("ledger: items of %s: %w", job, err)
		}
		if !strings.HasPrefix(it.Key, prefix) {
			break
		}
		if err := fn(it); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ledger: items of %s: %w", job, err)
	}
	return nil
}

// State implements Ledger.
func (l *SQLite) State(ctx context.Context, job, name string) (string, error) {
	var v string
	err := l.r.QueryRowContext(ctx, `SELECT value FROM state WHERE job=? AND name=?`, job, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("ledger: state %s of %s: %w", name, job, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("ledger: state %s of %s: %w", name, job, err)
	}
	return v, nil
}

// SetState implements Ledger.
func (l *SQLite) SetState(ctx context.Context, job, name, value string) error {
	ctx, err := writeCtx(ctx)
	if err != nil {
		return err
	}
	_, err = l.w.ExecContext(ctx, `INSERT INTO state(job, name, value, updated) VALUES(?,?,?,?)
		ON CONFLICT(job, name) DO UPDATE SET value=excluded.value, updated=excluded.updated`,
		job, name, value, time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("ledger: set state %s of %s: %w", name, job, err)
	}
	return nil
}

var _ RunPruner = (*SQLite)(nil)

// PruneRuns implements RunPruner.
func (l *SQLite) PruneRuns(ctx context.Context, before time.Time) (int64, error) {
	return pruneRuns(ctx, l, before)
}

var _ ItemPruner = (*SQLite)(nil)

// PruneItems implements ItemPruner.
func (l *SQLite) PruneItems(ctx context.Context, job, prefix string, before time.Time) (int64, error) {
	return pruneItems(ctx, job, prefix, func(ctx context.Context) (int64, error) {
		ctx, err := writeCtx(ctx)
		if err != nil {
			return 0, err
		}
		res, err := l.w.ExecContext(ctx, `DELETE FROM items WHERE job = ? AND key IN (SELECT key FROM items
			WHERE job = ? AND key >= ? AND substr(key, 1, ?) = ? AND updated < ? LIMIT ?)`,
			job, job, prefix, len([]rune(prefix)), prefix, nanos(before), pruneBatch)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	})
}

func (l *SQLite) runKinds(ctx context.Context) ([][2]string, error) {
	rows, err := l.r.QueryContext(ctx, `SELECT DISTINCT job, outcome FROM runs ORDER BY job, outcome`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var k [2]string
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func (l *SQLite) deleteRuns(ctx context.Context, job string, before time.Time, keep []int64) (int64, error) {
	ctx, err := writeCtx(ctx)
	if err != nil {
		return 0, err
	}
	q := `DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE job = ? AND started < ? AND ended IS NOT NULL`
	args := []any{job, nanos(before)}
	if len(keep) > 0 {
		q += ` AND id NOT IN (?` + strings.Repeat(",?", len(keep)-1) + `)`
		for _, id := range keep {
			args = append(args, id)
		}
	}
	q += ` ORDER BY started LIMIT ?)`
	args = append(args, pruneBatch)
	res, err := l.w.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
