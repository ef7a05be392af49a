package results

import "sync"

// settleQueue runs a poll's settles (removing or archiving remote files
// whose "done" is durable) on a fixed set of workers, one per connection.
// Queuing never blocks: the committer hands a whole batch over and goes on
// with the next one, while the settles wait for FTP sessions of their own.
// (With a bounded group, the committer waited for the settles of each
// batch of 256 files to start, 100–160 ms of its 220 ms in
// scripts/bench-results, and the downloads waited for the committer.)
type settleQueue struct {
	mu      sync.Mutex
	cond    *sync.Cond
	pending []func() error
	closed  bool
	err     error // the first one a settle returned
	workers sync.WaitGroup
}

// newSettleQueue starts n workers.
func newSettleQueue(n int) *settleQueue {
	q := &settleQueue{}
	q.cond = sync.NewCond(&q.mu)
	for range max(n, 1) {
		q.workers.Go(q.work)
	}
	return q
}

// Go queues a settle. An error it returns is returned by Wait.
func (q *settleQueue) Go(f func() error) {
	q.mu.Lock()
	q.pending = append(q.pending, f)
	q.mu.Unlock()
	q.cond.Signal()
}

// Wait runs what is queued to its end, stops the workers and returns the
// first error a settle returned. Nothing may be queued after it.
func (q *settleQueue) Wait() error {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
	q.workers.Wait()
	return q.err
}

func (q *settleQueue) work() {
	for {
		q.mu.Lock()
		for len(q.pending) == 0 && !q.closed {
			q.cond.Wait()
		}
		if len(q.pending) == 0 {
			q.mu.Unlock()
			return
		}
		f := q.pending[0]
		q.pending[0] = nil
		q.pending = q.pending[1:]
		q.mu.Unlock()
		if err := f(); err != nil {
			q.mu.Lock()
			if q.err == nil {
				q.err = err
			}
			q.mu.Unlock()
		}
	}
}
