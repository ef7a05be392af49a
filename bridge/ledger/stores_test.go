package ledger_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/bridge/ledger/ledgertest"
)

// store is one Ledger implementation under the same tests.
type store struct {
	name string
	// open returns a fresh, empty ledger, and a function that opens the
	// same one again (after Close).
	open func(t *testing.T) (ledger.Ledger, func() ledger.Ledger)
}

var stores = []store{
	{"sqlite", func(t *testing.T) (ledger.Ledger, func() ledger.Ledger) {
		path := filepath.Join(t.TempDir(), "sub", "ledger.db")
		reopen := func() ledger.Ledger { return open(t, path) }
		return reopen(), reopen
	}},
	{"postgres", func(t *testing.T) (ledger.Ledger, func() ledger.Ledger) {
		url := ledgertest.PostgresURL(t)
		reopen := func() ledger.Ledger {
			l, err := ledger.OpenPostgres(context.Background(), url, ledger.PostgresOptions{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			return l
		}
		return reopen(), reopen
	}},
}

// eachStore runs test against every Ledger implementation.
func eachStore(t *testing.T, test func(t *testing.T, l ledger.Ledger, reopen func() ledger.Ledger)) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			l, reopen := s.open(t)
			test(t, l, reopen)
		})
	}
}
