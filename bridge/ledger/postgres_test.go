package ledger_test

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/bridge/ledger/ledgertest"
)

// TestPostgresMigratesOnce: three nodes opening a fresh database at once
// all succeed, and the schema is at this build's version; a database
// migrated by a newer fieldbridge is refused.
func TestPostgresMigratesOnce(t *testing.T) {
	ctx := context.Background()
	url := ledgertest.PostgresURL(t)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			l, err := ledger.OpenPostgres(ctx, url, ledger.PostgresOptions{})
			if err == nil {
				err = l.Ping(ctx)
				l.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i+1, err)
		}
	}
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var v, rows int
	if err := c.QueryRow(ctx, `SELECT max(version), count(*) FROM fieldbridge.schema_version`).Scan(&v, &rows); err != nil {
		t.Fatal(err)
	}
	if v != ledger.PostgresSchemaVersion() || rows != 1 {
		t.Fatalf("schema_version: %d rows, version %d, want 1 row, version %d", rows, v, ledger.PostgresSchemaVersion())
	}
	if _, err := c.Exec(ctx, `UPDATE fieldbridge.schema_version SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.OpenPostgres(ctx, url, ledger.PostgresOptions{}); err == nil || !strings.Contains(err.Error(), "newer than this program knows") {
		t.Fatalf("opening a newer schema: %v", err)
	}
}

// TestPostgresSchemas: two schemas in one database are two ledgers; a
// schema name that is not a plain identifier is refused.
func TestPostgresSchemas(t *testing.T) {
	ctx := context.Background()
	url := ledgertest.PostgresURL(t)
	open := func(schema string) *ledger.Postgres {
		l, err := ledger.OpenPostgres(ctx, url, ledger.PostgresOptions{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	a, b := open(""), open("other_ledger")
	if a.Schema() != ledger.DefaultPostgresSchema || b.Schema() != "other_ledger" {
		t.Fatalf("schemas %q, %q", a.Schema(), b.Schema())
	}
	if err := a.SetState(ctx, "j", "cursor", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.State(ctx, "j", "cursor"); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("state seen through the other schema: %v", err)
	}
	if _, err := b.Acquire(ctx, "job:x", "n1", 10e9); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Acquire(ctx, "job:x", "n2", 10e9); err != nil {
		t.Fatalf("a lease of the other schema: %v", err)
	}
	for _, s := range []string{`x"; DROP TABLE y; --`, "1abc", "with space", strings.Repeat("a", 64)} {
		if _, err := ledger.OpenPostgres(ctx, url, ledger.PostgresOptions{Schema: s}); err == nil {
			t.Errorf("schema %q accepted", s)
		}
	}
}

// TestPostgresPutItemsAtomic: when one item of a batch cannot be stored
// (PostgreSQL's text holds no NUL byte), none is.
func TestPostgresPutItemsAtomic(t *testing.T) {
	ctx := context.Background()
	l := openPostgres(t)
	items := []ledger.Item{{Job: "j", Key: "1"}, {Job: "j", Key: "2\x00"}, {Job: "j", Key: "3"}}
	if err := l.PutItems(ctx, items); err == nil {
		t.Fatal("a NUL byte was stored")
	}
	n := 0
	_ = l.ItemsWithPrefix(ctx, "j", "", func(ledger.Item) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d items of a failed batch stored", n)
	}
	// The same through a fenced view.
	le, err := l.Acquire(ctx, "job:j", "n", 10e9)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Fenced(le).PutItems(ctx, items); err == nil || errors.Is(err, ledger.ErrLeaseLost) {
		t.Fatalf("fenced batch with a NUL byte: %v", err)
	}
	if _, err := l.GetItem(ctx, "j", "1"); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("fenced failed batch stored an item: %v", err)
	}
}

// TestPostgresHidesThePassword: String and every error say where the
// database is, never its password, whether the URL does not parse, names
// an unreachable server or has the wrong password.
func TestPostgresHidesThePassword(t *testing.T) {
	ctx := context.Background()
	url := ledgertest.PostgresURL(t)
	const pw = "Sup3r:S3cret/Pw%41"
	withPW := func(u string) string {
		p, err := neturl.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		p.User = neturl.UserPassword(p.User.Username(), pw)
		return p.String()
	}
	forms := []string{pw, neturl.PathEscape(pw), neturl.QueryEscape(pw), neturl.UserPassword("", pw).String()[1:], "S3cret"}
	leaks := func(s string) bool {
		for _, f := range forms {
			if strings.Contains(s, f) {
				return true
			}
		}
		return false
	}
	for _, u := range []string{
		withPW(url),
		withPW("postgres://fieldbridge@127.0.0.1:9/x?sslmode=disable&connect_timeout=2"),
		"postgres://fieldbridge:" + pw + "@127.0.0.1:notaport/x",
		"host=127.0.0.1 port=9 user=fieldbridge password=" + neturl.QueryEscape(pw) + " connect_timeout=2",
		"host=127.0.0.1 port=9 user=fieldbridge password='" + pw + "' bogus",
	} {
		_, err := ledger.OpenPostgres(ctx, u, ledger.PostgresOptions{})
		if err == nil {
			t.Fatalf("opened with a wrong password")
		}
		if leaks(err.Error()) {
			t.Errorf("the password is in the error: %s", err)
		}
		if leaks(ledger.RedactURL(u)) {
			t.Errorf("RedactURL(%q) = %s", u, ledger.RedactURL(u))
		}
	}
	l := openPostgres(t)
	if s := l.String(); leaks(s) || !strings.HasPrefix(s, "postgres://fieldbridge@127.0.0.1:") {
		t.Errorf("String() = %s", s)
	}
	if s := fmt.Sprint(l); leaks(s) {
		t.Errorf("Sprint = %s", s)
	}
	if u, _ := neturl.Parse(url); u != nil {
		if pw, _ := u.User.Password(); strings.Contains(l.String(), pw) {
			t.Errorf("String() = %s holds the password", l.String())
		}
	}
}
