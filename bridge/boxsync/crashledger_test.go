package boxsync_test

import (
	"context"
	"errors"
	"sync"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

// crashLedger passes writes through until budget items were stored, then
// fails every write: the process "died" right after Sytex applied a change
// and before the ledger recorded it.
type crashLedger struct {
	ledger.Ledger
	mu     sync.Mutex
	budget int
}

var errCrash = errors.New("simulated crash")

func (c *crashLedger) take(n int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.budget < n {
		c.budget = 0
		return false
	}
	c.budget -= n
	return true
}
func (c *crashLedger) PutItem(ctx context.Context, it ledger.Item) error {
	if !c.take(1) {
		return errCrash
	}
	return c.Ledger.PutItem(ctx, it)
}
func (c *crashLedger) PutItems(ctx context.Context, items []ledger.Item) error {
	if !c.take(len(items)) {
		return errCrash
	}
	return c.Ledger.PutItems(ctx, items)
}
