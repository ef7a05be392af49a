package ledger

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultPostgresSchema is the schema that holds the ledger's tables when
// PostgresOptions.Schema is empty.
const DefaultPostgresSchema = "fieldbridge"

// PostgresOptions tune OpenPostgres.
type PostgresOptions struct {
	// Schema is the PostgreSQL schema holding the ledger's tables
	// (default DefaultPostgresSchema, "fieldbridge"): a dedicated schema,
	// so that the ledger can share a database with other applications.
	// It is created when missing, which needs the CREATE privilege on the
	// database; a schema created beforehand by an administrator only
	// needs to be owned by (or grant CREATE to) the ledger's role. A
	// plain identifier: letters, digits and underscores.
	Schema string
	// MaxConns is the size of the connection pool (default: the URL's
	// pool_max_conns, else 8).
	MaxConns int
	// ConnectTimeout bounds each connection attempt when the URL sets no
	// connect_timeout (default 10s).
	ConnectTimeout time.Duration
}

// Postgres is the Ledger stored in a PostgreSQL database, which several
// nodes can share: it is also a Coordinator (leases with fencing, one-time
// claims), judged by the database server's clock. It is safe for
// concurrent use.
//
// Times are stored as timestamptz, to the microsecond (SQLite keeps
// nanoseconds). Keys, job and lease names are compared byte by byte
// (COLLATE "C"), so that they sort as in Go and in the SQLite ledger.
type Postgres struct {
	pool    *pgxpool.Pool
	schema  string // unquoted
	q       *strings.Replacer
	name    string // String: the URL without its password
	secrets []string
	lastGC  atomic.Int64 // unix nanoseconds of the last lease clean-up
}

var (
	_ Ledger      = (*Postgres)(nil)
	_ Coordinator = (*Postgres)(nil)
	_ Dumper      = (*Postgres)(nil)
	_ Loader      = (*Postgres)(nil)
)

var schemaName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// OpenPostgres connects to the PostgreSQL database at url
// ("postgres://user:password@host:5432/db?sslmode=verify-full", or a
// keyword/value string) and brings the ledger's schema up to date: the
// schema and its tables are created at first use, and migrations that a
// newer fieldbridge added are applied, each in its own transaction under
// an advisory lock, so that several nodes starting at once migrate once.
// Errors never include the password.
func OpenPostgres(ctx context.Context, url string, o PostgresOptions) (*Postgres, error) {
	secrets := urlPasswords(url)
	if o.Schema == "" {
		o.Schema = DefaultPostgresSchema
	}
	if !schemaName.MatchString(o.Schema) {
		return nil, fmt.Errorf("ledger: PostgreSQL schema %q: use letters, digits and underscores", o.Schema)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		var pe *pgconn.ParseConfigError
		if errors.As(err, &pe) {
			// Its message quotes the URL (best-effort redacted) and the
			// parser's error, which may quote it whole.
			return nil, redact(fmt.Errorf("ledger: invalid PostgreSQL URL %s", redactURL(url)), secrets)
		}
		return nil, redact(fmt.Errorf("ledger: PostgreSQL URL: %w", err), secrets)
	}
	if cfg.ConnConfig.Password != "" {
		secrets = append(secrets, passwordForms(cfg.ConnConfig.Password)...)
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = int32(o.MaxConns)
	} else if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = 8
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
		if o.ConnectTimeout > 0 {
			cfg.ConnConfig.ConnectTimeout = o.ConnectTimeout
		}
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "fieldbridge"
	}
	l := &Postgres{
		schema:  o.Schema,
		q:       strings.NewReplacer("{s}", pgx.Identifier{o.Schema}.Sanitize()),
		name:    displayName(cfg.ConnConfig),
		secrets: secrets,
	}
	if l.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, l.errorf("ledger: %s: %w", l.name, err)
	}
	if err := l.migrate(ctx); err != nil {
		l.pool.Close()
		return nil, err
	}
	return l, nil
}

// String names the database ("postgres://user@host:5432/db"), without
// the password, for messages.
func (l *Postgres) String() string { return l.name }

// Schema returns the schema holding the ledger's tables.
func (l *Postgres) Schema() string { return l.schema }

// Ping checks that the database answers (for readiness checks).
func (l *Postgres) Ping(ctx context.Context) error {
	var v int
	if err := l.pool.QueryRow(ctx, l.sql(`SELECT version FROM {s}.schema_version`)).Scan(&v); err != nil {
		return l.errorf("ledger: %s: %w", l.name, err)
	}
	return nil
}

// Close closes the connection pool, waiting for the connections in use.
func (l *Postgres) Close() error {
	l.pool.Close()
	return nil
}

// sql puts the quoted schema name in place of {s}.
func (l *Postgres) sql(q string) string { return l.q.Replace(q) }

// errorf is fmt.Errorf without the password.
func (l *Postgres) errorf(format string, args ...any) error {
	return redact(fmt.Errorf(format, args...), l.secrets)
}

// displayName is the connection's URL without the password.
func displayName(c *pgx.ConnConfig) string {
	u := url.URL{Scheme: "postgres", User: url.User(c.User), Path: "/" + c.Database}
	if strings.HasPrefix(c.Host, "/") {
		u.RawQuery = url.Values{"host": {c.Host}}.Encode()
	} else {
		u.Host = net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port)))
	}
	return u.String()
}

var (
	// The password of a URL: from the user's ':' to the last '@' (a
	// password that should have been escaped may hold ':', '/' or '@').
	urlPassword = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://[^:@/]*:(.*)@`)
	kvPassword  = regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)
)

// urlPasswords finds the passwords a connection string holds, in the
// forms they may be quoted in, even when it does not parse.
func urlPasswords(s string) []string {
	var out []string
	if m := urlPassword.FindStringSubmatch(s); m != nil && m[1] != "" {
		out = append(out, passwordForms(m[1])...)
		if p, err := url.PathUnescape(m[1]); err == nil {
			out = append(out, passwordForms(p)...)
		}
	}
	for _, m := range kvPassword.FindAllStringSubmatch(s, -1) {
		out = append(out, passwordForms(strings.Trim(m[1], "'"))...)
	}
	return out
}

func passwordForms(p string) []string {
	if p == "" {
		return nil
	}
	return []string{p, url.PathEscape(p), url.QueryEscape(p), url.UserPassword("", p).String()[1:]}
}

// redactURL hides the password of a connection string that may not parse.
func redactURL(s string) string {
	if m := urlPassword.FindStringSubmatchIndex(s); m != nil {
		s = s[:m[2]] + "xxxxx" + s[m[3]:]
	}
	return kvPassword.ReplaceAllString(s, "password=xxxxx")
}

// RedactURL returns a ledger location or PostgreSQL connection string
// with its password replaced by "xxxxx", for messages.
func RedactURL(s string) string { return redactURL(s) }

// redactedError is an error whose message had a password in it: Is sees
// through to the original (context.Canceled, ErrNotFound), but Unwrap,
// which would hand out the original message, is not offered.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string        { return e.msg }
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }

func redact(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			msg, changed = strings.ReplaceAll(msg, s, "xxxxx"), true
		}
	}
	if !changed {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// pgMigrations are applied in order, each in its own transaction; {s}
// is the schema. schema_version holds how many have run. Never edit a
// released migration: append a new one.
var pgMigrations = []string{
	// 1: the first schema, as SQLite's plus leases and claims.
	`CREATE TABLE {s}.runs (
		id      bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
		job     text COLLATE "C" NOT NULL,
		started timestamptz,
		ended   timestamptz, -- NULL while running
		counts  jsonb NOT NULL DEFAULT '{}',
		outcome text NOT NULL,
		message text NOT NULL DEFAULT ''
	);
	CREATE INDEX runs_job_started ON {s}.runs (job, started, id);
	CREATE INDEX runs_started ON {s}.runs (started, id);
	CREATE TABLE {s}.files (
		id       bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
		job      text COLLATE "C" NOT NULL,
		source   text COLLATE "C" NOT NULL,
		name     text COLLATE "C" NOT NULL,
		size     bigint NOT NULL,
		mtime    timestamptz,
		sha256   text COLLATE "C" NOT NULL DEFAULT '',
		state    text NOT NULL,
		attempts integer NOT NULL DEFAULT 0,
		message  text NOT NULL DEFAULT '',
		run_id   bigint NOT NULL DEFAULT 0,
		created  timestamptz,
		updated  timestamptz
	);
	CREATE INDEX files_name ON {s}.files (job, source, name, id);
	CREATE INDEX files_sha ON {s}.files (job, sha256, id);
	CREATE TABLE {s}.items (
		job       text COLLATE "C" NOT NULL,
		key       text COLLATE "C" NOT NULL,
		hash      text NOT NULL DEFAULT '',
		outcome   text NOT NULL DEFAULT '',
		message   text NOT NULL DEFAULT '',
		remote_id text NOT NULL DEFAULT '',
		run_id    bigint NOT NULL DEFAULT 0,
		updated   timestamptz,
		PRIMARY KEY (job, key)
	);
	CREATE TABLE {s}.state (
		job     text COLLATE "C" NOT NULL,
		name    text COLLATE "C" NOT NULL,
		value   text NOT NULL,
		updated timestamptz,
		PRIMARY KEY (job, name)
	);
	-- A lease's row stays when it is released or expires (until long
	-- after), so that its next grant is an update under the row's lock
	-- and takes a larger token from the sequence.
	CREATE SEQUENCE {s}.lease_tokens;
	CREATE TABLE {s}.leases (
		name     text COLLATE "C" PRIMARY KEY,
		holder   text NOT NULL,
		token    bigint NOT NULL,
		acquired timestamptz NOT NULL,
		expires  timestamptz NOT NULL
	);
	CREATE INDEX leases_expires ON {s}.leases (expires);
	CREATE TABLE {s}.claims (
		key     text COLLATE "C" PRIMARY KEY,
		holder  text NOT NULL,
		claimed timestamptz NOT NULL
	);
	-- fence fails with SQLSTATE FBL01 unless the lease is current; it
	-- share-locks the lease's row, so that no other grant of it can
	-- commit before the transaction that called it ends.
	CREATE FUNCTION {s}.fence(lease_name text, lease_holder text, lease_token bigint) RETURNS void
	LANGUAGE plpgsql AS $$
	BEGIN
		PERFORM 1 FROM {s}.leases
			WHERE name = lease_name AND holder = lease_holder AND token = lease_token AND expires > clock_timestamp()
			FOR SHARE;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'lease % (token %) of % is no longer current', lease_name, lease_token, lease_holder
				USING ERRCODE = 'FBL01';
		END IF;
	END
	$$;`,
}

// PostgresSchemaVersion is the number of PostgreSQL migrations this build
// knows.
func PostgresSchemaVersion() int { return len(pgMigrations) }

func (l *Postgres) migrate(ctx context.Context) error {
	for {
		done, err := l.migrateStep(ctx)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// migrateStep applies the next migration, if any, in one transaction
// that holds an advisory lock for the schema: nodes starting together
// take turns, and each sees what the one before did.
func (l *Postgres) migrateStep(ctx context.Context) (done bool, err error) {
	fail := func(err error) (bool, error) {
		return false, l.errorf("ledger: %s, schema %s: %w", l.name, l.schema, err)
	}
	tx, err := l.pool.Begin(ctx)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "fieldbridge ledger "+l.schema); err != nil {
		return fail(err)
	}
	// Look before creating: CREATE ... IF NOT EXISTS needs the privilege
	// to create even when the object is there.
	var hasSchema, hasVersion bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1),
		to_regclass($2) IS NOT NULL`, l.schema, l.sql(`{s}.schema_version`)).Scan(&hasSchema, &hasVersion); err != nil {
		return fail(err)
	}
	if !hasSchema {
		if _, err := tx.Exec(ctx, l.sql(`CREATE SCHEMA {s}`)); err != nil {
			return fail(err)
		}
	}
	if !hasVersion {
		if _, err := tx.Exec(ctx, l.sql(`CREATE TABLE {s}.schema_version (version integer NOT NULL);
			INSERT INTO {s}.schema_version (version) VALUES (0)`)); err != nil {
			return fail(err)
		}
	}
	var v int
	if err := tx.QueryRow(ctx, l.sql(`SELECT version FROM {s}.schema_version`)).Scan(&v); err != nil {
		return fail(err)
	}
	if v > len(pgMigrations) {
		return false, fmt.Errorf("ledger: %s, schema %s, has schema version %d, newer than this program knows (%d): use a newer fieldbridge",
			l.name, l.schema, v, len(pgMigrations))
	}
	if v == len(pgMigrations) {
		return true, nil // the deferred rollback ends the transaction and the lock
	}
	if _, err := tx.Exec(ctx, l.sql(pgMigrations[v])); err != nil {
		return false, l.errorf("ledger: %s, schema %s: migration %d: %w", l.name, l.schema, v+1, err)
	}
	if _, err := tx.Exec(ctx, l.sql(`UPDATE {s}.schema_version SET version = $1`), v+1); err != nil {
		return fail(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fail(err)
	}
	return v+1 == len(pgMigrations), nil
}

// fenceErrCode is the SQLSTATE of the fence function's refusal.
const fenceErrCode = "FBL01"

// write runs the statements queue adds to a batch in one implicit
// transaction, in one round trip. With a lease, the fence check comes
// first: when it fails, nothing is written and write returns ErrLeaseLost
// (wrapped). A write that began is not abandoned when ctx ends (writeCtx).
func (l *Postgres) write(ctx context.Context, fence *Lease, what string, queue func(b *pgx.Batch)) error {
	ctx, err := writeCtx(ctx)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	if fence != nil {
		b.Queue(l.sql(`SELECT {s}.fence($1, $2, $3)`), fence.Name, fence.Holder, fence.Token)
	}
	queue(b)
	err = l.pool.SendBatch(ctx, b).Close()
	var pe *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case fence != nil && errors.As(err, &pe) && pe.Code == fenceErrCode:
		return fmt.Errorf("ledger: %s: %w (%s, token %d, of %s)", what, ErrLeaseLost, fence.Name, fence.Token, fence.Holder)
	case errors.Is(err, ErrNotFound):
		return err
	default:
		return l.errorf("ledger: %s: %w", what, err)
	}
}

// ts is a time for a timestamptz column: NULL for the zero time.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// fromTS is a scanned nullable timestamptz.
func fromTS(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// BeginRun implements Ledger.
func (l *Postgres) BeginRun(ctx context.Context, job string, started time.Time) (Run, error) {
	return l.beginRun(ctx, nil, job, started)
}

func (l *Postgres) beginRun(ctx context.Context, fence *Lease, job string, started time.Time) (Run, error) {
	if started.IsZero() {
		started = time.Now()
	}
	started = started.Truncate(time.Microsecond)
	r := Run{Job: job, Started: started, Counts: map[string]int64{}, Outcome: OutcomeRunning}
	err := l.write(ctx, fence, "begin run of "+job, func(b *pgx.Batch) {
		b.Queue(l.sql(`INSERT INTO {s}.runs (job, started, outcome) VALUES ($1, $2, $3) RETURNING id`),
			job, started, OutcomeRunning).QueryRow(func(row pgx.Row) error { return row.Scan(&r.ID) })
	})
	if err != nil {
		return Run{}, err
	}
	return r, nil
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
	what := fmt.Sprintf("end run %d", r.ID)
	return l.write(ctx, fence, what, func(b *pgx.Batch) {
		b.Queue(l.sql(`UPDATE {s}.runs SET ended = $1, counts = $2, outcome = $3, message = $4 WHERE id = $5`),
			r.Ended, counts, r.Outcome, r.Message, r.ID).Exec(func(ct pgconn.CommandTag) error {
			if ct.RowsAffected() == 0 {
				return fmt.Errorf("ledger: %s: %w", what, ErrNotFound)
			}
			return nil
		})
	})
}

const pgRunCols = `id, job, started, ended, counts, outcome, message`

func scanPGRun(s pgx.Row) (Run, error) {
	var (
		r              Run
		started, ended *time.Time
	)
	if err := s.Scan(&r.ID, &r.Job, &started, &ended, &r.Counts, &r.Outcome, &r.Message); err != nil {
		return Run{}, err
	}
	r.Started, r.Ended = fromTS(started), fromTS(ended)
	if r.Counts == nil {
		r.Counts = map[string]int64{}
	}
	return r, nil
}

// Runs implements Ledger.
func (l *Postgres) Runs(ctx context.Context, f RunFilter) ([]Run, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	q := `SELECT ` + pgRunCols + ` FROM {s}.runs`
	var args []any
	if f.Job != "" {
		q += ` WHERE job = $1`
		args = append(args, f.Job)
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(` ORDER BY started DESC, id DESC LIMIT $%d`, len(args))
	out, err := pgCollect(ctx, l, q, args, scanPGRun)
	if err != nil {
		return nil, l.errorf("ledger: runs: %w", err)
	}
	return out, nil
}

// pgCollect runs a query and scans every row with scan.
func pgCollect[T any](ctx context.Context, l *Postgres, q string, args []any, scan func(pgx.Row) (T, error)) ([]T, error) {
	rows, err := l.pool.Query(ctx, l.sql(q), args...)
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

// LastRun implements Ledger.
func (l *Postgres) LastRun(ctx context.Context, job string, outcomes ...string) (Run, error) {
	q := `SELECT ` + pgRunCols + ` FROM {s}.runs WHERE job = $1`
	args := []any{job}
	if len(outcomes) > 0 {
		q += ` AND outcome = ANY($2)`
		args = append(args, outcomes)
	}
	q += ` ORDER BY started DESC, id DESC LIMIT 1`
	r, err := scanPGRun(l.pool.QueryRow(ctx, l.sql(q), args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return Run{}, fmt.Errorf("ledger: no run of %s: %w", job, ErrNotFound)
	}
	if err != nil {
		return Run{}, l.errorf("ledger: last run of %s: %w", job, err)
	}
	return r, nil
}

const pgFileCols = `id, job, source, name, size, mtime, sha256, state, attempts, message, run_id, created, updated`

func scanPGFile(s pgx.Row) (File, error) {
	var (
		f                       File
		mtime, created, updated *time.Time
	)
	if err := s.Scan(&f.ID, &f.Job, &f.Source, &f.Name, &f.Size, &mtime, &f.SHA256, &f.State,
		&f.Attempts, &f.Message, &f.RunID, &created, &updated); err != nil {
		return File{}, err
	}
	f.ModTime, f.Created, f.Updated = fromTS(mtime), fromTS(created), fromTS(updated)
	return f, nil
}

// PutFile implements Ledger. It sets f.Created (on insert) and f.Updated.
func (l *Postgres) PutFile(ctx context.Context, f *File) error { return l.putFile(ctx, nil, f) }

func (l *Postgres) putFile(ctx context.Context, fence *Lease, f *File) error {
	now := time.Now().Truncate(time.Microsecond)
	g := *f
	g.Updated = now
	what := "put file " + f.Name
	var err error
	if g.ID == 0 {
		if g.Created.IsZero() {
			g.Created = now
		}
		err = l.write(ctx, fence, what, func(b *pgx.Batch) {
			b.Queue(l.sql(`INSERT INTO {s}.files (job, source, name, size, mtime, sha256, state, attempts, message, run_id, created, updated)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`),
				g.Job, g.Source, g.Name, g.Size, ts(g.ModTime), g.SHA256, g.State, g.Attempts, g.Message, g.RunID, ts(g.Created), now,
			).QueryRow(func(row pgx.Row) error { return row.Scan(&g.ID) })
		})
	} else {
		err = l.write(ctx, fence, what, func(b *pgx.Batch) {
			b.Queue(l.sql(`UPDATE {s}.files SET job = $1, source = $2, name = $3, size = $4, mtime = $5, sha256 = $6, state = $7,
				attempts = $8, message = $9, run_id = $10, updated = $11 WHERE id = $12`),
				g.Job, g.Source, g.Name, g.Size, ts(g.ModTime), g.SHA256, g.State, g.Attempts, g.Message, g.RunID, now, g.ID,
			).Exec(func(ct pgconn.CommandTag) error {
				if ct.RowsAffected() == 0 {
					return fmt.Errorf("ledger: put file %s (id %d): %w", g.Name, g.ID, ErrNotFound)
				}
				return nil
			})
		})
	}
	if err != nil {
		return err
	}
	*f = g
	return nil
}

// FileByName implements Ledger.
func (l *Postgres) FileByName(ctx context.Context, job, source, name string) (File, error) {
	f, err := scanPGFile(l.pool.QueryRow(ctx, l.sql(`SELECT `+pgFileCols+` FROM {s}.files
		WHERE job = $1 AND source = $2 AND name = $3 ORDER BY id DESC LIMIT 1`), job, source, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return File{}, fmt.Errorf("ledger: file %s in %s: %w", name, source, ErrNotFound)
	}
	if err != nil {
		return File{}, l.errorf("ledger: file %s in %s: %w", name, source, err)
	}
	return f, nil
}

// FileBySHA256 implements Ledger.
func (l *Postgres) FileBySHA256(ctx context.Context, job, sha256 string, states ...string) (File, error) {
	q := `SELECT ` + pgFileCols + ` FROM {s}.files WHERE job = $1 AND sha256 = $2`
	args := []any{job, sha256}
	if len(states) > 0 {
		q += ` AND state = ANY($3)`
		args = append(args, states)
	}
	q += ` ORDER BY id DESC LIMIT 1`
	f, err := scanPGFile(l.pool.QueryRow(ctx, l.sql(q), args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return File{}, fmt.Errorf("ledger: file with sha256 %s: %w", sha256, ErrNotFound)
	}
	if err != nil {
		return File{}, l.errorf("ledger: file with sha256 %s: %w", sha256, err)
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
			where = append(where, fmt.Sprintf("%s = $%d", c.col, len(args)))
		}
	}
	q := `SELECT ` + pgFileCols + ` FROM {s}.files`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	out, err := pgCollect(ctx, l, q, args, scanPGFile)
	if err != nil {
		return nil, l.errorf("ledger: files: %w", err)
	}
	return out, nil
}

func scanPGItem(s pgx.Row) (Item, error) {
	var (
		it      Item
		updated *time.Time
	)
	if err := s.Scan(&it.Job, &it.Key, &it.Hash, &it.Outcome, &it.Message, &it.RemoteID, &it.RunID, &updated); err != nil {
		return Item{}, err
	}
	it.Updated = fromTS(updated)
	return it, nil
}

// GetItem implements Ledger.
func (l *Postgres) GetItem(ctx context.Context, job, key string) (Item, error) {
	it, err := scanPGItem(l.pool.QueryRow(ctx, l.sql(`SELECT `+itemCols+` FROM {s}.items WHERE job = $1 AND key = $2`), job, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return Item{}, fmt.Errorf("ledger: item %s of %s: %w", key, job, ErrNotFound)
	}
	if err != nil {
		return Item{}, l.errorf("ledger: item %s of %s: %w", key, job, err)
	}
	return it, nil
}

// pgKeysPerQuery bounds the keys of one GetItems query.
const pgKeysPerQuery = 5000

// GetItems implements Ledger.
func (l *Postgres) GetItems(ctx context.Context, job string, keys []string) (map[string]Item, error) {
	out := make(map[string]Item, len(keys))
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), pgKeysPerQuery)]
		keys = keys[len(chunk):]
		rows, err := l.pool.Query(ctx, l.sql(`SELECT `+itemCols+` FROM {s}.items WHERE job = $1 AND key = ANY($2)`), job, chunk)
		if err != nil {
			return nil, l.errorf("ledger: items of %s: %w", job, err)
		}
		for rows.Next() {
			it, err := scanPGItem(rows)
			if err != nil {
				rows.Close()
				return nil, l.errorf("ledger: items of %s: %w", job, err)
			}
			out[it.Key] = it
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, l.errorf("ledger: items of %s: %w", job, err)
		}
	}
	return out, nil
}

const pgPutItem = `INSERT INTO {s}.items (job, key, hash, outcome, message, remote_id, run_id, updated)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
	ON CONFLICT (job, key) DO UPDATE SET hash = excluded.hash, outcome = excluded.outcome, message = excluded.message,
	remote_id = excluded.remote_id, run_id = excluded.run_id, updated = excluded.updated`

func (l *Postgres) queueItem(b *pgx.Batch, it Item, now time.Time) {
	if it.Updated.IsZero() {
		it.Updated = now
	}
	b.Queue(l.sql(pgPutItem), it.Job, it.Key, it.Hash, it.Outcome, it.Message, it.RemoteID, it.RunID, it.Updated)
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
		if _, err := writeCtx(ctx); err != nil {
			return err
		}
		return nil
	}
	what := "put items"
	if len(items) == 1 {
		what = fmt.Sprintf("put item %s of %s", items[0].Key, items[0].Job)
	}
	now := time.Now()
	return l.write(ctx, fence, what, func(b *pgx.Batch) {
		for _, it := range items {
			l.queueItem(b, it, now)
		}
	})
}

// pageSize is how many rows a walk (ItemsWithPrefix, Dump) reads at once.
const pageSize = 500

// prefixEnd returns the smallest string greater than every string that
// starts with prefix, for a range scan (key >= prefix AND key < end):
// prefix with its last code point incremented. ok is false when there is
// none (an empty prefix, or one of U+10FFFF only).
func prefixEnd(prefix string) (end string, ok bool) {
	for prefix != "" {
		r, size := utf8.DecodeLastRuneInString(prefix)
		prefix = prefix[:len(prefix)-size]
		if r == utf8.RuneError && size == 1 {
			return "", false // not UTF-8: no range, the filter alone
		}
		if r < utf8.MaxRune {
			r++
			if r == 0xD800 { // skip the surrogates, which UTF-8 has not
				r = 0xE000
			}
			return prefix + string(r), true
		}
	}
	return "", false
}

// ItemsWithPrefix implements Ledger. The walk reads the items in pages of
// a few hundred, each a consistent snapshot, and holds no connection
// while fn runs: fn may write to the ledger, and an item written during
// the walk is seen if its key comes after the page being walked.
func (l *Postgres) ItemsWithPrefix(ctx context.Context, job, prefix string, fn func(Item) error) error {
	end, bounded := prefixEnd(prefix)
	after, first := "", true
	for {
		q := `SELECT ` + itemCols + ` FROM {s}.items WHERE job = $1`
		args := []any{job}
		if first {
			args = append(args, prefix)
			q += ` AND key >= $2`
		} else {
			args = append(args, after)
			q += ` AND key > $2`
		}
		if bounded {
			args = append(args, end)
			q += ` AND key < $3`
		} else if prefix != "" {
			args = append(args, prefix)
			q += ` AND starts_with(key, $3)`
		}
		args = append(args, pageSize)
		q += fmt.Sprintf(` ORDER BY key LIMIT $%d`, len(args))
		page, err := pgCollect(ctx, l, q, args, scanPGItem)
		if err != nil {
			return l.errorf("ledger: items of %s: %w", job, err)
		}
		for _, it := range page {
			if !strings.HasPrefix(it.Key, prefix) {
				return nil
			}
			if err := fn(it); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		after, first = page[len(page)-1].Key, false
	}
}

// State implements Ledger.
func (l *Postgres) State(ctx context.Context, job, name string) (string, error) {
	var v string
	err := l.pool.QueryRow(ctx, l.sql(`SELECT value FROM {s}.state WHERE job = $1 AND name = $2`), job, name).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("ledger: state %s of %s: %w", name, job, ErrNotFound)
	}
	if err != nil {
		return "", l.errorf("ledger: state %s of %s: %w", name, job, err)
	}
	return v, nil
}

// SetState implements Ledger.
func (l *Postgres) SetState(ctx context.Context, job, name, value string) error {
	return l.setState(ctx, nil, job, name, value)
}

func (l *Postgres) setState(ctx context.Context, fence *Lease, job, name, value string) error {
	return l.write(ctx, fence, fmt.Sprintf("set state %s of %s", name, job), func(b *pgx.Batch) {
		b.Queue(l.sql(`INSERT INTO {s}.state (job, name, value, updated) VALUES ($1, $2, $3, $4)
			ON CONFLICT (job, name) DO UPDATE SET value = excluded.value, updated = excluded.updated`),
			job, name, value, time.Now())
	})
}

var _ RunPruner = (*Postgres)(nil)

// PruneRuns implements RunPruner.
func (l *Postgres) PruneRuns(ctx context.Context, before time.Time) (int64, error) {
	return pruneRuns(ctx, l, before)
}

var _ ItemPruner = (*Postgres)(nil)

// PruneItems implements ItemPruner.
func (l *Postgres) PruneItems(ctx context.Context, job, prefix string, before time.Time) (int64, error) {
	return l.pruneItems(ctx, nil, job, prefix, before)
}

func (l *Postgres) pruneItems(ctx context.Context, fence *Lease, job, prefix string, before time.Time) (int64, error) {
	return pruneItems(ctx, job, prefix, func(ctx context.Context) (int64, error) {
		var n int64
		err := l.write(ctx, fence, "prune items of "+job, func(b *pgx.Batch) {
			b.Queue(l.sql(`DELETE FROM {s}.items WHERE job = $1 AND key IN (SELECT key FROM {s}.items
				WHERE job = $1 AND starts_with(key, $2) AND updated < $3 LIMIT $4)`),
				job, prefix, before, pruneBatch).Exec(func(ct pgconn.CommandTag) error {
				n = ct.RowsAffected()
				return nil
			})
		})
		return n, err
	})
}

func (l *Postgres) runKinds(ctx context.Context) ([][2]string, error) {
	return pgCollect(ctx, l, `SELECT DISTINCT job, outcome FROM {s}.runs ORDER BY job, outcome`, nil, func(row pgx.Row) ([2]string, error) {
		var k [2]string
		err := row.Scan(&k[0], &k[1])
		return k, err
	})
}

func (l *Postgres) deleteRuns(ctx context.Context, job string, before time.Time, keep []int64) (int64, error) {
	if keep == nil {
		keep = []int64{} // '{}': NULL would keep every run
	}
	var n int64
	err := l.write(ctx, nil, "prune runs of "+job, func(b *pgx.Batch) {
		b.Queue(l.sql(`DELETE FROM {s}.runs WHERE id IN (SELECT id FROM {s}.runs WHERE job = $1 AND started < $2
			AND ended IS NOT NULL AND NOT (id = ANY($3)) ORDER BY started LIMIT $4)`),
			job, before, keep, pruneBatch).Exec(func(ct pgconn.CommandTag) error {
			n = ct.RowsAffected()
			return nil
		})
	})
	return n, err
}
