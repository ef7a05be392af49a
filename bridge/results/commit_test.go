package results

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

type countingLedger struct {
	ledger.Ledger
	txs atomic.Int32
}

func (c *countingLedger) PutItems(ctx context.Context, items []ledger.Item) error {
	c.txs.Add(1)
	return c.Ledger.PutItems(ctx, items)
}

// Concurrent puts share transactions, and each returns only once its item
// is stored.
func TestCommitterGroupsConcurrentPuts(t *testing.T) {
	l := &countingLedger{Ledger: openLedger(t, t.TempDir())}
	c := newCommitter(l)
	ctx := context.Background()
	const n = 400
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("k%03d", i)
			if err := c.put(ctx, ledger.Item{Job: "j", Key: key, Outcome: "done"}); err != nil {
				t.Error(err)
				return
			}
			if it, err := l.GetItem(ctx, "j", key); err != nil || it.Outcome != "done" {
				t.Errorf("%s not stored when put returned: %+v %v", key, it, err)
			}
		}()
	}
	wg.Wait()
	done := c.async(ledger.Item{Job: "j", Key: "last", Outcome: "done"})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c.close()
	if txs := l.txs.Load(); txs >= n {
		t.Fatalf("%d transactions for %d concurrent items: no grouping", txs, n+1)
	}
	t.Logf("%d items in %d transactions", n+1, l.txs.Load())
}
