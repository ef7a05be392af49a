package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PostgresOptions tune OpenPostgres.
type PostgresOptions struct {
	// Schema holds the bridge's tables (default "fieldbridge"); it is
	// created when missing.
	Schema string
	// MaxConns is the size of the connection pool (default 16).
	MaxConns int32
}

// Postgres is the Ledger in a PostgreSQL database, shared by the nodes of
// a cluster; it is also their Coordinator (leases and one-time claims,
// judged by the database's clock). Safe for concurrent use.
//
// Times of runs, files and items are stored as nanoseconds since 1970 (as
// in SQLite, so both ledgers give back exactly what was stored); lease
// times are the server's timestamptz.
type Postgres struct {
	pool   *pgxpool.Pool
	schema string
	where  string // the URL without its password, for messages
}

var (
	_ Ledger      = (*Postgres)(nil)
	_ Coordinator = (*Postgres)(nil)
)

var schemaRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// OpenPostgres connects to the database at url (postgres://user:pass@host:port/db?sslmode=…),
// creates the bridge's schema when missing and brings it up to date. Nodes
// starting together migrate it once (an advisory lock serializes them).
// Errors never contain the password.
func OpenPostgres(ctx context.Context, rawURL string, o PostgresOptions) (*Postgres, error) {
	if o.Schema == "" {
		o.Schema = "fieldbridge"
	}
	if !schemaRE.MatchString(o.Schema) {
		return nil, fmt.Errorf("ledger: schema %q: use lower-case letters, digits and _", o.Schema)
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 16
	}
	where := redactURL(rawURL)
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("ledger: %s: the URL is not valid (postgres://user:password@host:5432/database)", where)
	}
	cfg.MaxConns = o.MaxConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("ledger: %s: %s", where, cleanPgErr(err, rawURL))
	}
	l := &Postgres{pool: pool, schema: o.Schema, where: where}
	if err := l.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return l, nil
}

// redactURL is u without its password.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "postgres://…"
	}
	return p.Redacted()
}

// cleanPgErr is err's text without the URL's password.
func cleanPgErr(err error, rawURL string) string {
	msg := err.Error()
	if p, perr := url.Parse(rawURL); perr == nil && p.User != nil {
		if pw, ok := p.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
			msg = strings.ReplaceAll(msg, url.QueryEscape(pw), "xxxxx")
		}
	}
	return msg
}

// String names the database (without the password).
func (l *Postgres) String() string { return l.where }

// Ping checks that the database answers.
func (l *Postgres) Ping(ctx context.Context) error { return l.pool.Ping(ctx) }

// Close closes the pool.
func (l *Postgres) Close() error {
	l.pool.Close()
	return nil
}

// pgMigrations are the schema's versions, in order; each runs once, in a
// transaction. Never edit one that has shipped: add the next.
var pgMigrations = []string{
	`CREATE TABLE runs (
		id bigserial PRIMARY KEY,
		job text NOT NULL,
		started bigint NOT NULL,
		ended bigint,
		counts text NOT NULL DEFAULT '{}',
		outcome text NOT NULL,
		message text NOT NULL DEFAULT ''
	);
	CREATE INDEX runs_job ON runs(job, started DESC, id DESC);
	CREATE INDEX runs_started ON runs(started DESC, id DESC);
	CREATE TABLE files (
		id bigserial PRIMARY KEY,
		job text NOT NULL,
		source text NOT NULL,
		name text NOT NULL,
		size bigint NOT NULL DEFAULT 0,
		mtime bigint NOT NULL DEFAULT 0,
		sha256 text NOT NULL DEFAULT '',
		state text NOT NULL,
		attempts integer NOT NULL DEFAULT 0,
		message text NOT NULL DEFAULT '',
		run_id bigint NOT NULL DEFAULT 0,
		created bigint NOT NULL,
		updated bigint NOT NULL
	);
	CREATE INDEX files_name ON files(job, source, name, id DESC);
	CREATE INDEX files_sha ON files(job, sha256, id DESC);
	CREATE INDEX files_state ON files(job, source, state, id DESC);
	CREATE TABLE items (
		job text NOT NULL,
		key text COLLATE "C" NOT NULL,
		hash text NOT NULL DEFAULT '',
		outcome text NOT NULL DEFAULT '',
		message text NOT NULL DEFAULT '',
		remote_id text NOT NULL DEFAULT '',
		run_id bigint NOT NULL DEFAULT 0,
		updated bigint NOT NULL,
		PRIMARY KEY (job, key)
	);
	CREATE TABLE state (
		job text NOT NULL,
		name text NOT NULL,
		value text NOT NULL,
		updated bigint NOT NULL,
		PRIMARY KEY (job, name)
	);
	CREATE SEQUENCE lease_tokens;
	CREATE TABLE leases (
		name text COLLATE "C" PRIMARY KEY,
		holder text NOT NULL,
		token bigint NOT NULL,
		acquired timestamptz NOT NULL,
		expires timestamptz NOT NULL
	);
	CREATE TABLE claims (
		key text PRIMARY KEY,
		holder text NOT NULL,
		at timestamptz NOT NULL DEFAULT clock_timestamp()
	);`,
}

// PostgresSchemaVersion is the schema version this program writes.
func PostgresSchemaVersion() int { return len(pgMigrations) }

func (l *Postgres) migrate(ctx context.Context) error {
	tx, err := l.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("ledger: %s: %w", l.where, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// One node at a time (the lock ends with the transaction).
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('fieldbridge-migrate:' || $1))`, l.schema); err != nil {
		return fmt.Errorf("ledger: %s: %w", l.where, err)
	}
	if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+l.schema); err != nil {
		return fmt.Errorf("ledger: %s: creating schema %s: %w (the role needs CREATE on the database)", l.where, l.schema, err)
	}
	if _, err := tx.Exec(ctx, `SET LOCAL search_path TO `+l.schema); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)`); err != nil {
		return fmt.Errorf("ledger: %s: %w", l.where, err)
	}
	var v int
	err = tx.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&v)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if _, err := tx.Exec(ctx, `INSERT INTO schema_version(version) VALUES(0)`); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
	case err != nil:
		return fmt.Errorf("ledger: %s: %w", l.where, err)
	}
	if v > len(pgMigrations) {
		return fmt.Errorf("ledger: %s has schema version %d, newer than this program knows (%d): use a newer fieldbridge", l.where, v, len(pgMigrations))
	}
	for i := v; i < len(pgMigrations); i++ {
		if _, err := tx.Exec(ctx, pgMigrations[i]); err != nil {
			return fmt.Errorf("ledger: %s: migration %d: %w", l.where, i+1, err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE schema_version SET version=$1`, len(pgMigrations)); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("ledger: %s: %w", l.where, err)
	}
	return nil
}

// t qualifies a table name with the schema.
func (l *Postgres) t(name string) string { return l.schema + "." + name }

// querier is a pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// write runs fn in a transaction; with a fence, the transaction first
// checks that the lease is current and fails with ErrLeaseLost otherwise.
// A write that began is never abandoned halfway (see writeCtx).
func (l *Postgres) write(ctx context.Context, fence *Lease, fn func(q querier) error) error {
	ctx, err := writeCtx(ctx)
	if err != nil {
		return err
	}
	if fence == nil {
		return fn(l.pool)
	}
	tx, err := l.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	defer tx.Rollback(ctx)
	var ok bool
	err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+l.t("leases")+`
		WHERE name=$1 AND holder=$2 AND token=$3 AND expires > clock_timestamp() FOR SHARE)`,
		fence.Name, fence.Holder, fence.Token).Scan(&ok)
	if err != nil {
		return fmt.Errorf("ledger: checking the lease %s: %w", fence.Name, err)
	}
	if !ok {
		return fmt.Errorf("ledger: %s (token %d of %s): %w", fence.Name, fence.Token, fence.Holder, ErrLeaseLost)
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

// BeginRun implements Ledger.
func (l *Postgres) BeginRun(ctx context.Context, job string, started time.Time) (Run, error) {
	return l.beginRun(ctx, nil, job, started)
}

func (l *Postgres) beginRun(ctx context.Context, fence *Lease, job string, started time.Time) (Run, error) {
	if started.IsZero() {
		started = time.Now()
	}
	var id int64
	err := l.write(ctx, fence, func(q querier) error {
		return q.QueryRow(ctx, `INSERT INTO `+l.t("runs")+`(job, started, outcome) VALUES($1,$2,$3) RETURNING id`,
			job, nanos(started), OutcomeRunning).Scan(&id)
	})
	if err != nil {
		return Run{}, fmt.Errorf("ledger: begin run of %s: %w", job, err)
	}
	return Run{ID: id, Job: job, Started: fromNanos(nanos(started)), Counts: map[string]int64{}, Outcome: OutcomeRunning}, nil
}

// EndRun implements Ledger. A zero r.Ended means now.
func (l *Postgres) EndRun(ctx context.Context, r Run) error { return l.endRun(ctx, nil, r) }

func (l *Postgres) endRun(ctx context.Context, fence *Lease, r Run) error {
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
	return l.write(ctx, fence, func(q querier) error {
		tag, err := q.Exec(ctx, `UPDATE `+l.t("runs")+` SET ended=$1, counts=$2, outcome=$3, message=$4 WHERE id=$5`,
			nanos(r.Ended), string(cj), r.Outcome, r.Message, r.ID)
		if err != nil {
			return fmt.Errorf("ledger: end run %d: %w", r.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("ledger: end run %d: %w", r.ID, ErrNotFound)
		}
		return nil
	})
}

func scanPgRun(s pgx.Row) (Run, error) {
	var (
		r      Run
		start  int64
		ended  *int64
		counts string
	)
	if err := s.Scan(&r.ID, &r.Job, &start, &ended, &counts, &r.Outcome, &r.Message); err != nil {
		return Run{}, err
	}
	r.Started = fromNanos(start)
	if ended != nil {
		r.Ended = fromNanos(*ended)
	}
	r.Counts = map[string]int64{}
	if err := json.Unmarshal([]byte(counts), &r.Counts); err != nil {
		return Run{}, fmt.Errorf("run %d counts: %w", r.ID, err)
	}
	return r, nil
}

// Runs implements Ledger.
func (l *Postgres) Runs(ctx context.Context, f RunFilter) ([]Run, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	q := `SELECT ` + runCols + ` FROM ` + l.t("runs")
	args := []any{}
	if f.Job != "" {
		q += ` WHERE job=$1`
		args = append(args, f.Job)
	}
	q += fmt.Sprintf(` ORDER BY started DESC, id DESC LIMIT $%d`, len(args)+1)
	args = append(args, f.Limit)
	rows, err := l.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanPgRun(rows)
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
func (l *Postgres) LastRun(ctx context.Context, job string, outcomes ...string) (Run, error) {
	q := `SELECT ` + runCols + ` FROM ` + l.t("runs") + ` WHERE job=$1`
	args := []any{job}
	if len(outcomes) > 0 {
		q += ` AND outcome = ANY($2)`
		args = append(args, outcomes)
	}
	q += ` ORDER BY started DESC, id DESC LIMIT 1`
	r, err := scanPgRun(l.pool.QueryRow(ctx, q, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return Run{}, fmt.Errorf("ledger: no run of %s: %w", job, ErrNotFound)
	}
	if err != nil {
		return Run{}, fmt.Errorf("ledger: last run of %s: %w", job, err)
	}
	return r, nil
}

func scanPgFile(s pgx.Row) (File, error) {
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
func (l *Postgres) PutFile(ctx context.Context, f *File) error { return l.putFile(ctx, nil, f) }

func (l *Postgres) putFile(ctx context.Context, fence *Lease, f *File) error {
	now := time.Now()
	g := *f
	g.Updated = now
	err := l.write(ctx, fence, func(q querier) error {
		if g.ID == 0 {
			if g.Created.IsZero() {
				g.Created = now
			}
			return q.QueryRow(ctx, `INSERT INTO `+l.t("files")+`(job, source, name, size, mtime, sha256, state, attempts, message, run_id, created, updated)
				VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) RETURNING id`,
				g.Job, g.Source, g.Name, g.Size, nanos(g.ModTime), g.SHA256, g.State, g.Attempts, g.Message, g.RunID, nanos(g.Created), nanos(now)).Scan(&g.ID)
		}
		tag, err := q.Exec(ctx, `UPDATE `+l.t("files")+` SET job=$1, source=$2, name=$3, size=$4, mtime=$5, sha256=$6, state=$7, attempts=$8, message=$9, run_id=$10, updated=$11
			WHERE id=$12`,
			g.Job, g.Source, g.Name, g.Size, nanos(g.ModTime), g.SHA256, g.State, g.Attempts, g.Message, g.RunID, nanos(now), g.ID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("id %d: %w", g.ID, ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ledger: put file %s: %w", f.Name, err)
	}
	*f = g
	return nil
}

// FileByName implements Ledger.
func (l *Postgres) FileByName(ctx context.Context, job, source, name string) (File, error) {
	f, err := scanPgFile(l.pool.QueryRow(ctx, `SELECT `+fileCols+` FROM `+l.t("files")+`
		WHERE job=$1 AND source=$2 AND name=$3 ORDER BY id DESC LIMIT 1`, job, source, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return File{}, fmt.Errorf("ledger: file %s in %s: %w", name, source, ErrNotFound)
	}
	if err != nil {
		return File{}, fmt.Errorf("ledger: file %s in %s: %w", name, source, err)
	}
	return f, nil
}

// FileBySHA256 implements Ledger.
func (l *Postgres) FileBySHA256(ctx context.Context, job, sha256 string, states ...string) (File, error) {
	q := `SELECT ` + fileCols + ` FROM ` + l.t("files") + ` WHERE job=$1 AND sha256=$2`
	args := []any{job, sha256}
	if len(states) > 0 {
		q += ` AND state = ANY($3)`
		args = append(args, states)
	}
	q += ` ORDER BY id DESC LIMIT 1`
	f, err := scanPgFile(l.pool.QueryRow(ctx, q, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return File{}, fmt.Errorf("ledger: file with sha256 %s: %w", sha256, ErrNotFound)
	}
	if err != nil {
		return File{}, fmt.Errorf("ledger: file with sha256 %s: %w", sha256, err)
	}
	return f, nil
}

// Files implements Ledger.
func (l *Postgres) Files(ctx context.Context, f FileFilter) ([]File, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	var (
		where []string
		args  []any
	)
	for _, c := range []struct{ col, v string }{{"job", f.Job}, {"source", f.Source}, {"state", f.State}} {
		if c.v != "" {
			args = append(args, c.v)
			where = append(where, fmt.Sprintf("%s=$%d", c.col, len(args)))
		}
	}
	q := `SELECT ` + fileCols + ` FROM ` + l.t("files")
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	rows, err := l.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: files: %w", err)
	}
	defer rows.Close()
	var out []File
	for rows.Next() {
		fi, err := scanPgFile(rows)
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

const itemCols = `job, key, hash, outcome, message, remote_id, run_id, updated`

func scanPgItem(s pgx.Row) (Item, error) {
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
func (l *Postgres) GetItem(ctx context.Context, job, key string) (Item, error) {
	it, err := scanPgItem(l.pool.QueryRow(ctx, `SELECT `+itemCols+` FROM `+l.t("items")+` WHERE job=$1 AND key=$2`, job, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return Item{}, fmt.Errorf("ledger: item %s of %s: %w", key, job, ErrNotFound)
	}
	if err != nil {
		return Item{}, fmt.Errorf("ledger: item %s of %s: %w", key, job, err)
	}
	return it, nil
}

func (l *Postgres) upsertItem() string {
	return `INSERT INTO ` + l.t("items") + `(` + itemCols + `) VALUES($1,$2,$3,$4,$5,$6,$7,$8)
		ON CONFLICT(job, key) DO UPDATE SET hash=excluded.hash, outcome=excluded.outcome,
		message=excluded.message, remote_id=excluded.remote_id, run_id=excluded.run_id, updated=excluded.updated`
}

// PutItem implements Ledger. A zero it.Updated means now.
func (l *Postgres) PutItem(ctx context.Context, it Item) error {
	return l.putItems(ctx, nil, []Item{it})
}

// PutItems implements Ledger: all items or none are stored.
func (l *Postgres) PutItems(ctx context.Context, items []Item) error {
	return l.putItems(ctx, nil, items)
}

func (l *Postgres) putItems(ctx context.Context, fence *Lease, items []Item) error {
	if len(items) == 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		return nil
	}
	now := time.Now()
	err := l.write(ctx, fence, func(q querier) error {
		wctx := context.WithoutCancel(ctx)
		if len(items) == 1 {
			_, err := q.Exec(wctx, l.upsertItem(), itemArgs(items[0], now)...)
			return err
		}
		// Several: one transaction, one round trip (a batch).
		b := &pgx.Batch{}
		for _, it := range items {
			b.Queue(l.upsertItem(), itemArgs(it, now)...)
		}
		if tx, ok := q.(pgx.Tx); ok {
			return tx.SendBatch(wctx, b).Close()
		}
		tx, err := l.pool.Begin(wctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(wctx)
		if err := tx.SendBatch(wctx, b).Close(); err != nil {
			return err
		}
		return tx.Commit(wctx)
	})
	if err != nil {
		return fmt.Errorf("ledger: put items (%s of %s…): %w", items[0].Key, items[0].Job, err)
	}
	return nil
}

// ItemsWithPrefix implements Ledger. Items are read in pages of 1,000 in
// key order (keys compare bytewise: the column's collation is "C"); fn
// may write to the ledger.
func (l *Postgres) ItemsWithPrefix(ctx context.Context, job, prefix string, fn func(Item) error) error {
	after, first := prefix, true
	for {
		op := ">"
		if first {
			op = ">="
		}
		rows, err := l.pool.Query(ctx, `SELECT `+itemCols+` FROM `+l.t("items")+`
			WHERE job=$1 AND key `+op+` $2 AND starts_with(key, $3) ORDER BY key LIMIT 1000`, job, after, prefix)
		if err != nil {
			return fmt.Errorf("ledger: items of %s: %w", job, err)
		}
		page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Item, error) { return scanPgItem(r) })
		if err != nil {
			return fmt.Errorf("ledger: items of %s: %w", job, err)
		}
		for _, it := range page {
			if err := fn(it); err != nil {
				return err
			}
		}
		if len(page) < 1000 {
			return nil
		}
		after, first = page[len(page)-1].Key, false
	}
}

// State implements Ledger.
func (l *Postgres) State(ctx context.Context, job, name string) (string, error) {
	var v string
	err := l.pool.QueryRow(ctx, `SELECT value FROM `+l.t("state")+` WHERE job=$1 AND name=$2`, job, name).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("ledger: state %s of %s: %w", name, job, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("ledger: state %s of %s: %w", name, job, err)
	}
	return v, nil
}

// SetState implements Ledger.
func (l *Postgres) SetState(ctx context.Context, job, name, value string) error {
	return l.setState(ctx, nil, job, name, value)
}

func (l *Postgres) setState(ctx context.Context, fence *Lease, job, name, value string) error {
	err := l.write(ctx, fence, func(q querier) error {
		_, err := q.Exec(context.WithoutCancel(ctx), `INSERT INTO `+l.t("state")+`(job, name, value, updated) VALUES($1,$2,$3,$4)
			ON CONFLICT(job, name) DO UPDATE SET value=excluded.value, updated=excluded.updated`,
			job, name, value, time.Now().UnixNano())
		return err
	})
	if err != nil {
		return fmt.Errorf("ledger: set state %s of %s: %w", name, job, err)
	}
	return nil
}

// Acquire implements Coordinator.
func (l *Postgres) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error) {
	var le Lease
	err := l.pool.QueryRow(ctx, `INSERT INTO `+l.t("leases")+` AS l (name, holder, token, acquired, expires)
		VALUES ($1, $2, nextval('`+l.t("lease_tokens")+`'), clock_timestamp(), clock_timestamp() + $3 * interval '1 microsecond')
		ON CONFLICT (name) DO UPDATE SET holder=excluded.holder, token=excluded.token, acquired=excluded.acquired, expires=excluded.expires
		WHERE l.expires <= clock_timestamp() OR l.holder = excluded.holder
		RETURNING name, holder, token, acquired, expires`, name, holder, ttl.Microseconds()).
		Scan(&le.Name, &le.Holder, &le.Token, &le.Acquired, &le.Expires)
	if err == nil {
		return le, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Lease{}, fmt.Errorf("ledger: acquire %s: %w", name, err)
	}
	// Held by another holder: say by whom.
	err = l.pool.QueryRow(ctx, `SELECT name, holder, token, acquired, expires FROM `+l.t("leases")+` WHERE name=$1`, name).
		Scan(&le.Name, &le.Holder, &le.Token, &le.Acquired, &le.Expires)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return Lease{}, fmt.Errorf("ledger: acquire %s: %w", name, err)
	}
	return le, fmt.Errorf("ledger: %s held by %s until %s: %w", name, le.Holder, le.Expires.Format(time.RFC3339), ErrLeaseHeld)
}

// Renew implements Coordinator.
func (l *Postgres) Renew(ctx context.Context, le Lease, ttl time.Duration) (Lease, error) {
	var out Lease
	err := l.pool.QueryRow(ctx, `UPDATE `+l.t("leases")+` SET expires = clock_timestamp() + $4 * interval '1 microsecond'
		WHERE name=$1 AND holder=$2 AND token=$3 AND expires > clock_timestamp()
		RETURNING name, holder, token, acquired, expires`, le.Name, le.Holder, le.Token, ttl.Microseconds()).
		Scan(&out.Name, &out.Holder, &out.Token, &out.Acquired, &out.Expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return le, fmt.Errorf("ledger: renew %s (token %d): %w", le.Name, le.Token, ErrLeaseLost)
	}
	if err != nil {
		return le, fmt.Errorf("ledger: renew %s: %w", le.Name, err)
	}
	return out, nil
}

// Release implements Coordinator.
func (l *Postgres) Release(ctx context.Context, le Lease) error {
	_, err := l.pool.Exec(ctx, `DELETE FROM `+l.t("leases")+` WHERE name=$1 AND holder=$2 AND token=$3`, le.Name, le.Holder, le.Token)
	if err != nil {
		return fmt.Errorf("ledger: release %s: %w", le.Name, err)
	}
	return nil
}

// Leases implements Coordinator.
func (l *Postgres) Leases(ctx context.Context, prefix string) ([]Lease, error) {
	rows, err := l.pool.Query(ctx, `SELECT name, holder, token, acquired, expires FROM `+l.t("leases")+`
		WHERE starts_with(name, $1) AND expires > clock_timestamp() ORDER BY name`, prefix)
	if err != nil {
		return nil, fmt.Errorf("ledger: leases: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Lease, error) {
		var le Lease
		err := r.Scan(&le.Name, &le.Holder, &le.Token, &le.Acquired, &le.Expires)
		return le, err
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: leases: %w", err)
	}
	return out, nil
}

// ClaimOnce implements Coordinator.
func (l *Postgres) ClaimOnce(ctx context.Context, key, holder string) (bool, error) {
	tag, err := l.pool.Exec(ctx, `INSERT INTO `+l.t("claims")+`(key, holder) VALUES($1,$2) ON CONFLICT (key) DO NOTHING`, key, holder)
	if err != nil {
		return false, fmt.Errorf("ledger: claim %s: %w", key, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Now implements Coordinator.
func (l *Postgres) Now(ctx context.Context) (time.Time, error) {
	var t time.Time
	if err := l.pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&t); err != nil {
		return time.Time{}, fmt.Errorf("ledger: %w", err)
	}
	return t, nil
}

// Fenced implements Coordinator.
func (l *Postgres) Fenced(le Lease) Ledger { return &fencedPostgres{Postgres: l, fence: le} }

// fencedPostgres is a Postgres whose writes check a lease.
type fencedPostgres struct {
	*Postgres
	fence Lease
}

func (f *fencedPostgres) BeginRun(ctx context.Context, job string, started time.Time) (Run, error) {
	return f.beginRun(ctx, &f.fence, job, started)
}
func (f *fencedPostgres) EndRun(ctx context.Context, r Run) error { return f.endRun(ctx, &f.fence, r) }
func (f *fencedPostgres) PutFile(ctx context.Context, fi *File) error {
	return f.putFile(ctx, &f.fence, fi)
}
func (f *fencedPostgres) PutItem(ctx context.Context, it Item) error {
	return f.putItems(ctx, &f.fence, []Item{it})
}
func (f *fencedPostgres) PutItems(ctx context.Context, items []Item) error {
	return f.putItems(ctx, &f.fence, items)
}
func (f *fencedPostgres) SetState(ctx context.Context, job, name, value string) error {
	return f.setState(ctx, &f.fence, job, name, value)
}

// Close does not close the shared pool.
func (f *fencedPostgres) Close() error { return nil }
