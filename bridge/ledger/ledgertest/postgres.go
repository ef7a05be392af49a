// Package ledgertest helps tests use a real PostgreSQL ledger: the one
// scripts/test-servers starts on 127.0.0.1.
package ledgertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldbridge/fieldbridge/transports/transporttest"
)

// URLVar names an environment variable that, when set, gives the URL of a
// PostgreSQL database whose role may CREATE DATABASE, instead of the test
// servers' FB_TEST_POSTGRES_URL.
const URLVar = "FIELDBRIDGE_TEST_POSTGRES_URL"

// PostgresURL returns the URL of a fresh, empty database created for t
// and dropped when t ends. Without a server the test is skipped, with the
// command that starts one (failed under CI=true).
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(URLVar)
	if base == "" {
		base = transporttest.Env(t)["FB_TEST_POSTGRES_URL"]
	}
	if base == "" {
		msg := "PostgreSQL is not available: run `scripts/test-servers start` (as root), or set " + URLVar
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: not a URL", URLVar)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		msg := "PostgreSQL does not answer at " + u.Redacted() + ": " + err.Error() + " (scripts/test-servers start)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	defer admin.Close(context.Background())
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "fbtest_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("CREATE DATABASE %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("dropping %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("dropping %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
