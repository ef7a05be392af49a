package sheets

import (
	"testing"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

// newTestLedger returns the ledger the job tests use.
// TODO(engine): the SQLite ledger once it lands.
func newTestLedger(t testing.TB, dir string) ledger.Ledger { return newMemLedger() }
