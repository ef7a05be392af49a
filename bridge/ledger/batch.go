package ledger

import (
	"context"
	"errors"
	"sync"
)

// ErrClosed is returned by Batcher.Put after Close.
var ErrClosed = errors.New("ledger: batcher closed")

// Batcher stores items in group commits for many goroutines at once: each
// Put returns only once its items are durable, and the Puts that arrive
// while a commit is under way share the next one (up to maxBatch items
// per transaction). A worker that must record an outcome before it sends
// its next item calls Put and waits; with several workers, their records
// cost about one commit per round instead of one each.
//
// A Batcher is safe for concurrent use. Close it when done.
type Batcher struct {
	l        Ledger
	maxBatch int
	reqs     chan batchReq // unbuffered: a request is taken only by the committer
	quit     chan struct{}
	done     chan struct{}
	once     sync.Once
}

type batchReq struct {
	items []Item
	done  chan error
}

// DefaultMaxBatch is NewBatcher's maxBatch when given 0 or less.
const DefaultMaxBatch = 256

// NewBatcher starts a Batcher writing to l, at most about maxBatch items
// per transaction (<= 0: DefaultMaxBatch; a single Put's items are never
// split).
func NewBatcher(l Ledger, maxBatch int) *Batcher {
	if maxBatch <= 0 {
		maxBatch = DefaultMaxBatch
	}
	b := &Batcher{l: l, maxBatch: maxBatch, reqs: make(chan batchReq),
		quit: make(chan struct{}), done: make(chan struct{})}
	go b.loop()
	return b
}

// Put stores items (in one transaction, possibly shared with other Puts)
// and returns once they are durable, or with the ledger's error. If ctx
// ends before the committer has taken the items, or the Batcher is
// closed, nothing is written and Put returns ctx.Err() or ErrClosed; once
// taken, the items are written whatever happens to ctx, and Put waits for
// that. To record an outcome that must not be lost even when the caller
// is being cancelled, pass context.WithoutCancel(ctx).
func (b *Batcher) Put(ctx context.Context, items ...Item) error {
	if len(items) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r := batchReq{items: items, done: make(chan error, 1)}
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.quit:
		return ErrClosed
	}
	return <-r.done
}

// PutAsync hands items to the committer and returns once it has taken
// them, so that items put afterwards (by Put or PutAsync) are stored after
// these; the channel delivers the outcome once they are durable. Taken
// items are written whatever happens next; after Close the channel
// delivers ErrClosed and nothing is written.
func (b *Batcher) PutAsync(items ...Item) <-chan error {
	done := make(chan error, 1)
	if len(items) == 0 {
		done <- nil
		return done
	}
	select {
	case b.reqs <- batchReq{items: items, done: done}:
	case <-b.quit:
		done <- ErrClosed
	}
	return done
}

// Close stops taking items, waits for the commit under way, and returns
// nil. Put after Close returns ErrClosed. Close may be called more than
// once.
func (b *Batcher) Close() error {
	b.once.Do(func() { close(b.quit) })
	<-b.done
	return nil
}

func (b *Batcher) loop() {
	defer close(b.done)
	var batch []batchReq
	var items []Item
	for {
		select {
		case r := <-b.reqs:
			batch = append(batch[:0], r)
		case <-b.quit:
			return
		}
		n := len(batch[0].items)
	drain:
		for n < b.maxBatch {
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
				n += len(r.items)
			default:
				break drain
			}
		}
		items = items[:0]
		for _, r := range batch {
			items = append(items, r.items...)
		}
		// Items taken are written even if their Put's ctx has ended: the
		// caller may already rely on them (a sent item's outcome).
		var err error
		if len(items) == 1 {
			err = b.l.PutItem(context.Background(), items[0])
		} else {
			err = b.l.PutItems(context.Background(), items)
		}
		for _, r := range batch {
			r.done <- err
		}
		clear(batch) // drop references to the callers' items
	}
}
