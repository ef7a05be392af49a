// Package ledgertest helps tests use a real PostgreSQL ledger: the server
// that scripts/test-servers starts on 127.0.0.1.
//
// PostgresURL gives each test a fresh, empty database of its own, dropped
// when the test ends, so that tests (and test binaries) can run in
// parallel. The server is found through
//
//   - $FIELDBRIDGE_TEST_POSTGRES_URL (URLVar): the URL of a database whose
//     role may CREATE DATABASE, or else
//   - the key FB_TEST_POSTGRES_URL (EnvKey) of the test servers' env file
//     (the file transporttest.EnvFile names: $FIELDBRIDGE_TEST_SERVERS,
//     else $FB_TEST_SERVERS_DIR/env, else /tmp/fieldbridge-test-servers/env).
//
// Without either, or when the server does not answer, the test is skipped
// with a message naming `scripts/test-servers start`; under CI=true it
// fails instead.
//
// Several nodes of a cluster share one database: open each with
// ledger.OpenPostgres(ctx, url, ledger.PostgresOptions{}) on the same URL.
package ledgertest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/transports/transporttest"
)

// URLVar names the environment variable that, when set, gives the URL of
// a PostgreSQL database whose role may CREATE DATABASE, instead of the
// test servers' env file.
const URLVar = "FIELDBRIDGE_TEST_POSTGRES_URL"

// EnvKey is the key of the test servers' env file that holds that URL
// (written by scripts/test-servers start).
const EnvKey = "FB_TEST_POSTGRES_URL"

// dbPrefix starts the names of the databases PostgresURL creates:
// fbtest_<unix seconds>_<random>.
const dbPrefix = "fbtest_"

// staleAfter is the age after which a test database left behind by a
// killed test binary is dropped.
const staleAfter = 2 * time.Hour

var sweep sync.Once

// BaseURL returns the URL of the database the test databases are created
// from, skipping t (failing it under CI=true) when there is none.
func BaseURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(URLVar); u != "" {
		return u
	}
	path := transporttest.EnvFile()
	u, err := readKey(path, EnvKey)
	if err != nil || u == "" {
		if err == nil {
			err = fmt.Errorf("%s lacks %s", path, EnvKey)
		}
		unavailable(t, fmt.Sprintf("PostgreSQL is not available (%v): run `scripts/test-servers start` (as root), or set %s", err, URLVar))
	}
	return u
}

// PostgresURL returns the URL of a fresh, empty database created for t
// (CREATE DATABASE from template0) and dropped, with its connections,
// when t ends. Its role owns it. Databases that killed test binaries left
// behind are dropped after a while.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := BaseURL(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("the test PostgreSQL URL %s does not parse", ledger.RedactURL(base))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		unavailable(t, fmt.Sprintf("PostgreSQL at %s does not answer (%s): restart it with scripts/test-servers stop; scripts/test-servers start",
			u.Redacted(), redact(err, u)))
	}
	defer admin.Close(context.Background())
	sweep.Do(func() { dropStale(ctx, admin) })
	var b [5]byte
	_, _ = rand.Read(b[:])
	name := fmt.Sprintf("%s%d_%s", dbPrefix, time.Now().Unix(), hex.EncodeToString(b[:]))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		t.Fatalf("CREATE DATABASE %s: %s", name, redact(err, u))
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("dropping the test database %s: %s", name, redact(err, u))
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("dropping the test database %s: %s", name, redact(err, u))
		}
	})
	u.Path = "/" + name
	return u.String()
}

// dropStale drops the test databases older than staleAfter (their name
// says when they were made), best effort.
func dropStale(ctx context.Context, c *pgx.Conn) {
	rows, err := c.Query(ctx, `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, dbPrefix)
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, n := range names {
		secs, _, _ := strings.Cut(strings.TrimPrefix(n, dbPrefix), "_")
		at, err := strconv.ParseInt(secs, 10, 64)
		if err != nil || time.Since(time.Unix(at, 0)) < staleAfter {
			continue
		}
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)")
	}
}

// redact is err's message without u's password.
func redact(err error, u *url.URL) string {
	msg := err.Error()
	if pw, ok := u.User.Password(); ok && pw != "" {
		for _, s := range []string{pw, url.QueryEscape(pw), url.PathEscape(pw)} {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return msg
}

func unavailable(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// readKey reads one key of a KEY=VALUE env file.
func readKey(path, key string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export "), "=")
		if ok && k == key {
			return strings.Trim(v, `"'`), nil
		}
	}
	return "", sc.Err()
}
