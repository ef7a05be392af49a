package results

import (
	"context"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

// committer writes ledger items for concurrent workers in shared
// transactions (group commit): while one transaction is being made
// durable, the items that arrive meanwhile queue up and go together in the
// next one. put returns only when its item is durable, so a worker may act
// on it (remove the remote file) right after.
type committer struct {
	l    ledger.Ledger
	in   chan commitReq
	done chan struct{}
}

type commitReq struct {
	it    ledger.Item
	reply chan error
}

// maxBatch bounds one transaction.
const maxBatch = 256

func newCommitter(l ledger.Ledger) *committer {
	c := &committer{l: l, in: make(chan commitReq, maxBatch), done: make(chan struct{})}
	go c.loop()
	return c
}

func (c *committer) loop() {
	defer close(c.done)
	for req := range c.in {
		batch := []commitReq{req}
	drain:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-c.in:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		items := make([]ledger.Item, len(batch))
		for i, r := range batch {
			items[i] = r.it
		}
		// Not cancelled with the run: a write that has begun completes.
		err := c.l.PutItems(context.Background(), items)
		for _, r := range batch {
			r.reply <- err
		}
	}
}

// put stores it durably, sharing a transaction with concurrent puts.
func (c *committer) put(ctx context.Context, it ledger.Item) error {
	r := commitReq{it: it, reply: make(chan error, 1)}
	select {
	case c.in <- r:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-r.reply
}

// async queues it and returns a channel that delivers the outcome once
// it is durable (or failed).
func (c *committer) async(it ledger.Item) <-chan error {
	r := commitReq{it: it, reply: make(chan error, 1)}
	c.in <- r
	return r.reply
}

// close stops the committer once every queued item is written. No put may
// be in progress or follow.
func (c *committer) close() {
	close(c.in)
	<-c.done
}
