package sheets

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

// newTestLedger opens the engine's SQLite ledger in dir.
func newTestLedger(t testing.TB, dir string) ledger.Ledger {
	t.Helper()
	l, err := ledger.OpenSQLite(context.Background(), filepath.Join(dir, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
