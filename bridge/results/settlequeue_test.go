package results

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestSettleQueue(t *testing.T) {
	errFirst := errors.New("first")
	tests := []struct {
		name    string
		workers int
		items   int
		failAt  int // the item that fails (-1: none)
	}{
		{"one worker", 1, 100, -1},
		{"no worker asked for gets one", 0, 10, -1},
		{"several workers", 4, 1000, -1},
		{"an error is returned by Wait", 4, 100, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newSettleQueue(tt.workers, tt.items)
			gate := make(chan struct{})
			var ran, running, most atomic.Int64
			queued := make(chan struct{})
			go func() {
				// Queuing never waits for the workers, even while every
				// one of them is held up.
				for i := range tt.items {
					q.Go(func() error {
						<-gate
						n := running.Add(1)
						for {
							m := most.Load()
							if n <= m || most.CompareAndSwap(m, n) {
								break
							}
						}
						defer running.Add(-1)
						ran.Add(1)
						if i == tt.failAt {
							return errFirst
						}
						return nil
					})
				}
				close(queued)
			}()
			select {
			case <-queued:
			case <-time.After(10 * time.Second):
				t.Fatal("Go blocked while the workers were busy")
			}
			close(gate)
			err := q.Wait()
			if got := ran.Load(); got != int64(tt.items) {
				t.Fatalf("ran %d of %d", got, tt.items)
			}
			if m := most.Load(); m > int64(max(tt.workers, 1)) {
				t.Fatalf("%d at once with %d workers", m, tt.workers)
			}
			if tt.failAt >= 0 && !errors.Is(err, errFirst) {
				t.Fatalf("Wait: %v, want %v", err, errFirst)
			}
			if tt.failAt < 0 && err != nil {
				t.Fatalf("Wait: %v", err)
			}
		})
	}
}
