package results

import "sync"

// settleQueue runs a poll's settles (removing or archiving remote files
// whose "done" is durable) on a fixed set of workers, one per connection.
// It holds every settle the poll can queue (one per file), so queuing never
// blocks: the committer hands a whole batch over and goes on with the next
// one, while the settles wait for FTP sessions of their own. (With a
// bounded group, the committer waited for the settles of each batch of 256
// files to start, 100–160 ms of its 220 ms in scripts/bench-results, and
// the downloads waited for the committer.)
type settleQueue struct {
	todo    chan func() error
	workers sync.WaitGroup
	mu      sync.Mutex
	err     error // the first one a settle returned
}

// newSettleQueue starts n workers for at most capacity settles.
func newSettleQueue(n, capacity int) *settleQueue {
	q := &settleQueue{todo: make(chan func() error, capacity)}
	for range max(n, 1) {
		q.workers.Go(func() {
			for f := range q.todo {
				if err := f(); err != nil {
					q.mu.Lock()
					if q.err == nil {
						q.err = err
					}
					q.mu.Unlock()
				}
			}
		})
	}
	return q
}

// Go queues a settle. An error it returns is returned by Wait.
func (q *settleQueue) Go(f func() error) { q.todo <- f }

// Wait runs what is queued to its end, stops the workers and returns the
// first error a settle returned. Nothing may be queued after it.
func (q *settleQueue) Wait() error {
	close(q.todo)
	q.workers.Wait()
	return q.err
}
