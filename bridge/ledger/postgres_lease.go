package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// leaseKeep is how long a lease's row stays after it expired or was
// released. Until then its next grant updates the row under its lock and
// so takes a larger token than every earlier one; the rows of names not
// used again (lock:<job>:<hash>) are deleted afterwards.
const leaseKeep = time.Hour

const leaseCols = `name, holder, token, acquired, expires`

func scanLease(row pgx.Row) (Lease, error) {
	var le Lease
	err := row.Scan(&le.Name, &le.Holder, &le.Token, &le.Acquired, &le.Expires)
	return le, err
}

func ttlMicros(ttl time.Duration) (int64, error) {
	if ttl < time.Millisecond {
		return 0, fmt.Errorf("ledger: lease time %s is too short", ttl)
	}
	return ttl.Microseconds(), nil
}

// Acquire implements Coordinator. One statement grants the lease when it
// is free, expired or the holder's own (an upsert that locks the row, so
// that of concurrent callers exactly one wins); its token comes from a
// sequence, drawn under the row's lock, so that each grant's is larger.
func (l *Postgres) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error) {
	us, err := ttlMicros(ttl)
	if err != nil {
		return Lease{}, err
	}
	for {
		le, err := scanLease(l.pool.QueryRow(ctx, l.sql(`INSERT INTO {s}.leases AS l (`+leaseCols+`)
			VALUES ($1, $2, nextval('{s}.lease_tokens'), clock_timestamp(), clock_timestamp() + $3::bigint * interval '1 microsecond')
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = nextval('{s}.lease_tokens'),
				acquired = clock_timestamp(), expires = clock_timestamp() + $3::bigint * interval '1 microsecond'
			WHERE l.expires <= clock_timestamp() OR l.holder = excluded.holder
			RETURNING `+leaseCols), name, holder, us))
		if err == nil {
			return le, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return Lease{}, l.errorf("ledger: acquire %s: %w", name, err)
		}
		// Not granted: another holder has it. Say whom, unless it expired
		// in the meantime; then try again.
		cur, err := scanLease(l.pool.QueryRow(ctx, l.sql(`SELECT `+leaseCols+` FROM {s}.leases
			WHERE name = $1 AND expires > clock_timestamp()`), name))
		if err == nil {
			return cur, fmt.Errorf("ledger: %s held by %s until %s: %w", name, cur.Holder, cur.Expires.Format(time.RFC3339Nano), ErrLeaseHeld)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return Lease{}, l.errorf("ledger: acquire %s: %w", name, err)
		}
		if err := ctx.Err(); err != nil {
			return Lease{}, fmt.Errorf("ledger: acquire %s: %w", name, err)
		}
	}
}

// Renew implements Coordinator.
func (l *Postgres) Renew(ctx context.Context, le Lease, ttl time.Duration) (Lease, error) {
	us, err := ttlMicros(ttl)
	if err != nil {
		return le, err
	}
	out, err := scanLease(l.pool.QueryRow(ctx, l.sql(`UPDATE {s}.leases
		SET expires = clock_timestamp() + $4::bigint * interval '1 microsecond'
		WHERE name = $1 AND holder = $2 AND token = $3 AND expires > clock_timestamp()
		RETURNING `+leaseCols), le.Name, le.Holder, le.Token, us))
	if errors.Is(err, pgx.ErrNoRows) {
		return le, fmt.Errorf("ledger: renew %s (token %d of %s): %w", le.Name, le.Token, le.Holder, ErrLeaseLost)
	}
	if err != nil {
		return le, l.errorf("ledger: renew %s: %w", le.Name, err)
	}
	return out, nil
}

// Release implements Coordinator: the lease expires now (its row stays
// for a while, see leaseKeep). Now and then it also deletes the rows of
// leases expired long ago.
func (l *Postgres) Release(ctx context.Context, le Lease) error {
	if _, err := l.pool.Exec(ctx, l.sql(`UPDATE {s}.leases SET expires = clock_timestamp()
		WHERE name = $1 AND holder = $2 AND token = $3 AND expires > clock_timestamp()`), le.Name, le.Holder, le.Token); err != nil {
		return l.errorf("ledger: release %s: %w", le.Name, err)
	}
	now := time.Now().UnixNano()
	if last := l.lastGC.Load(); now-last > int64(time.Minute) && l.lastGC.CompareAndSwap(last, now) {
		if _, err := l.pool.Exec(ctx, l.sql(`DELETE FROM {s}.leases WHERE expires < clock_timestamp() - $1::bigint * interval '1 microsecond'`),
			leaseKeep.Microseconds()); err != nil {
			return l.errorf("ledger: cleaning up leases: %w", err)
		}
	}
	return nil
}

// Leases implements Coordinator.
func (l *Postgres) Leases(ctx context.Context, prefix string) ([]Lease, error) {
	q := `SELECT ` + leaseCols + ` FROM {s}.leases WHERE expires > clock_timestamp() AND name >= $1`
	args := []any{prefix}
	if end, ok := prefixEnd(prefix); ok {
		q += ` AND name < $2`
		args = append(args, end)
	} else if prefix != "" {
		q += ` AND starts_with(name, $1)`
	}
	out, err := pgCollect(ctx, l, q+` ORDER BY name`, args, scanLease)
	if err != nil {
		return nil, l.errorf("ledger: leases: %w", err)
	}
	return out, nil
}

// ClaimOnce implements Coordinator.
func (l *Postgres) ClaimOnce(ctx context.Context, key, holder string) (bool, error) {
	ct, err := l.pool.Exec(ctx, l.sql(`INSERT INTO {s}.claims (key, holder, claimed) VALUES ($1, $2, clock_timestamp())
		ON CONFLICT (key) DO NOTHING`), key, holder)
	if err != nil {
		return false, l.errorf("ledger: claim %s: %w", key, err)
	}
	return ct.RowsAffected() == 1, nil
}

// Now implements Coordinator: the database server's clock.
func (l *Postgres) Now(ctx context.Context) (time.Time, error) {
	var t time.Time
	if err := l.pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&t); err != nil {
		return time.Time{}, l.errorf("ledger: the database's clock: %w", err)
	}
	return t, nil
}

// Fenced implements Coordinator. Each write of the view is one implicit
// transaction that first calls the schema's fence function: it fails
// unless le is current, and share-locks the lease's row, so that no new
// grant of it commits while the write is under way.
func (l *Postgres) Fenced(le Lease) Ledger { return &fencedPostgres{p: l, fence: le} }

// fencedPostgres is Postgres.Fenced's view: reads go to the ledger,
// writes check the lease.
type fencedPostgres struct {
	p     *Postgres
	fence Lease
}

var _ Ledger = (*fencedPostgres)(nil)
var _ ItemPruner = (*fencedPostgres)(nil)

func (f *fencedPostgres) BeginRun(ctx context.Context, job string, started time.Time) (Run, error) {
	return f.p.beginRun(ctx, &f.fence, job, started)
}

func (f *fencedPostgres) EndRun(ctx context.Context, r Run) error {
	return f.p.endRun(ctx, &f.fence, r)
}

func (f *fencedPostgres) Runs(ctx context.Context, rf RunFilter) ([]Run, error) {
	return f.p.Runs(ctx, rf)
}

func (f *fencedPostgres) LastRun(ctx context.Context, job string, outcomes ...string) (Run, error) {
	return f.p.LastRun(ctx, job, outcomes...)
}

func (f *fencedPostgres) PutFile(ctx context.Context, fi *File) error {
	return f.p.putFile(ctx, &f.fence, fi)
}

func (f *fencedPostgres) FileByName(ctx context.Context, job, source, name string) (File, error) {
	return f.p.FileByName(ctx, job, source, name)
}

func (f *fencedPostgres) FileBySHA256(ctx context.Context, job, sha256 string, states ...string) (File, error) {
	return f.p.FileBySHA256(ctx, job, sha256, states...)
}

func (f *fencedPostgres) Files(ctx context.Context, ff FileFilter) ([]File, error) {
	return f.p.Files(ctx, ff)
}

func (f *fencedPostgres) GetItem(ctx context.Context, job, key string) (Item, error) {
	return f.p.GetItem(ctx, job, key)
}

func (f *fencedPostgres) GetItems(ctx context.Context, job string, keys []string) (map[string]Item, error) {
	return f.p.GetItems(ctx, job, keys)
}

func (f *fencedPostgres) PutItem(ctx context.Context, it Item) error {
	return f.p.putItems(ctx, &f.fence, []Item{it})
}

func (f *fencedPostgres) PutItems(ctx context.Context, items []Item) error {
	return f.p.putItems(ctx, &f.fence, items)
}

func (f *fencedPostgres) ItemsWithPrefix(ctx context.Context, job, prefix string, fn func(Item) error) error {
	return f.p.ItemsWithPrefix(ctx, job, prefix, fn)
}

func (f *fencedPostgres) PruneItems(ctx context.Context, job, prefix string, before time.Time) (int64, error) {
	return f.p.pruneItems(ctx, &f.fence, job, prefix, before)
}

func (f *fencedPostgres) State(ctx context.Context, job, name string) (string, error) {
	return f.p.State(ctx, job, name)
}

func (f *fencedPostgres) SetState(ctx context.Context, job, name, value string) error {
	return f.p.setState(ctx, &f.fence, job, name, value)
}

// Close does nothing: the view does not own the ledger.
func (f *fencedPostgres) Close() error { return nil }
