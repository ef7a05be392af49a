package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

// slowLedger wraps a ledger: item writes take at least delay, can be made
// to fail or to wait for a gate, and are recorded by size.
type slowLedger struct {
	ledger.Ledger
	delay   time.Duration
	gate    chan struct{} // when not nil, a write waits until it is closed
	started chan struct{} // when not nil, gets a value as a write starts
	fail    atomic.Pointer[error]

	mu      sync.Mutex
	batches []int
}

func (l *slowLedger) write(ctx context.Context, items []ledger.Item) error {
	if l.started != nil {
		l.started <- struct{}{}
	}
	if l.gate != nil {
		<-l.gate
	}
	time.Sleep(l.delay)
	l.mu.Lock()
	l.batches = append(l.batches, len(items))
	l.mu.Unlock()
	if e := l.fail.Load(); e != nil {
		return *e
	}
	return l.Ledger.PutItems(ctx, items)
}

func (l *slowLedger) PutItem(ctx context.Context, it ledger.Item) error {
	return l.write(ctx, []ledger.Item{it})
}

func (l *slowLedger) PutItems(ctx context.Context, items []ledger.Item) error {
	return l.write(ctx, items)
}

func (l *slowLedger) sizes() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.batches...)
}

func item(w, i int) ledger.Item {
	return ledger.Item{Job: "j", Key: fmt.Sprintf("w%02d:%04d", w, i), Outcome: "sent"}
}

// TestBatcherDurableOnReturn: many workers each put items one after the
// other; when Put returns, another handle on the same file already sees
// the item, and workers waiting together shared commits.
func TestBatcherDurableOnReturn(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	l := open(t, path)
	defer l.Close()
	other := open(t, path)
	defer other.Close()
	sl := &slowLedger{Ledger: l, delay: 2 * time.Millisecond}
	const workers, each, maxBatch = 12, 40, 8
	b := ledger.NewBatcher(sl, maxBatch)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				it := item(w, i)
				if err := b.Put(ctx, it); err != nil {
					t.Error(err)
					return
				}
				if got, err := other.GetItem(ctx, "j", it.Key); err != nil || got.Outcome != "sent" {
					t.Errorf("%s not durable when Put returned: %+v %v", it.Key, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	n, biggest, total := 0, 0, 0
	for _, s := range sl.sizes() {
		n++
		total += s
		biggest = max(biggest, s)
	}
	if total != workers*each {
		t.Fatalf("%d items written, want %d", total, workers*each)
	}
	if biggest > maxBatch {
		t.Fatalf("a commit of %d items, over maxBatch %d", biggest, maxBatch)
	}
	if biggest < 2 || n > total*3/4 {
		t.Fatalf("%d commits for %d items (largest %d): waiting workers did not share commits", n, total, biggest)
	}
	t.Logf("%d items in %d commits, largest %d", total, n, biggest)
}

// TestBatcherMultiItemPut: one Put's items go in one transaction.
func TestBatcherMultiItemPut(t *testing.T) {
	l := open(t, filepath.Join(t.TempDir(), "ledger.db"))
	defer l.Close()
	sl := &slowLedger{Ledger: l}
	b := ledger.NewBatcher(sl, 2)
	defer b.Close()
	items := []ledger.Item{item(1, 1), item(1, 2), item(1, 3), item(1, 4), item(1, 5)}
	if err := b.Put(context.Background(), items...); err != nil {
		t.Fatal(err)
	}
	if got := sl.sizes(); len(got) != 1 || got[0] != 5 {
		t.Fatalf("commits %v, want one of 5", got)
	}
	if err := b.Put(context.Background()); err != nil || len(sl.sizes()) != 1 {
		t.Fatalf("empty Put: %v, commits %v", err, sl.sizes())
	}
}

// TestBatcherError: every Put sharing a failed commit gets its error; the
// next commits go through again.
func TestBatcherError(t *testing.T) {
	l := open(t, filepath.Join(t.TempDir(), "ledger.db"))
	defer l.Close()
	sl := &slowLedger{Ledger: l, gate: make(chan struct{}), started: make(chan struct{}, 16)}
	b := ledger.NewBatcher(sl, 0)
	defer b.Close()
	boom := errors.New("disk full")
	sl.fail.Store(&boom)
	errs := make(chan error, 4)
	for w := range 4 {
		go func() { errs <- b.Put(context.Background(), item(w, 0)) }()
	}
	<-sl.started // the first commit is held at the gate; the others queue
	time.Sleep(50 * time.Millisecond)
	close(sl.gate)
	for range 4 {
		if err := <-errs; !errors.Is(err, boom) {
			t.Fatalf("Put = %v, want the ledger's error", err)
		}
	}
	sl.fail.Store(nil)
	if err := b.Put(context.Background(), item(9, 9)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.GetItem(context.Background(), "j", item(9, 9).Key); err != nil {
		t.Fatal(err)
	}
	if _, err := l.GetItem(context.Background(), "j", item(0, 0).Key); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("an item of the failed commit was stored: %v", err)
	}
}

// TestBatcherContext: a Put whose ctx ends before its items are taken
// writes nothing and returns the ctx's error; once taken, the items are
// written and Put waits for them even if ctx ends meanwhile.
func TestBatcherContext(t *testing.T) {
	ctx := context.Background()
	l := open(t, filepath.Join(t.TempDir(), "ledger.db"))
	defer l.Close()
	sl := &slowLedger{Ledger: l, gate: make(chan struct{}), started: make(chan struct{}, 16)}
	b := ledger.NewBatcher(sl, 0)
	defer b.Close()

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.Put(cancelled, item(0, 0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with an ended ctx = %v", err)
	}

	// A: taken by the committer, held at the gate; its ctx ends.
	ctxA, cancelA := context.WithCancel(ctx)
	errA := make(chan error, 1)
	go func() { errA <- b.Put(ctxA, item(1, 0)) }()
	<-sl.started
	cancelA()
	// B: waits to be taken while A's commit is under way; its ctx ends.
	ctxB, cancelB := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelB()
	if err := b.Put(ctxB, item(2, 0)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put waiting to be taken = %v, want its deadline", err)
	}
	select {
	case err := <-errA:
		t.Fatalf("Put returned %v before its items were durable", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(sl.gate)
	if err := <-errA; err != nil {
		t.Fatalf("taken Put = %v", err)
	}
	if _, err := l.GetItem(ctx, "j", item(1, 0).Key); err != nil {
		t.Fatalf("taken item not stored: %v", err)
	}
	for _, k := range []string{item(0, 0).Key, item(2, 0).Key} {
		if _, err := l.GetItem(ctx, "j", k); !errors.Is(err, ledger.ErrNotFound) {
			t.Fatalf("%s stored after its Put gave up: %v", k, err)
		}
	}
}

// TestBatcherClose: Close waits for the commit under way; Put after Close
// returns ErrClosed.
func TestBatcherClose(t *testing.T) {
	ctx := context.Background()
	l := open(t, filepath.Join(t.TempDir(), "ledger.db"))
	defer l.Close()
	sl := &slowLedger{Ledger: l, gate: make(chan struct{}), started: make(chan struct{}, 16)}
	b := ledger.NewBatcher(sl, 0)
	errA := make(chan error, 1)
	go func() { errA <- b.Put(ctx, item(1, 0)) }()
	<-sl.started
	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned during a commit")
	case <-time.After(30 * time.Millisecond):
	}
	close(sl.gate)
	<-closed
	if err := <-errA; err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, item(2, 0)); !errors.Is(err, ledger.ErrClosed) {
		t.Fatalf("Put after Close = %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestBatcherPutAsync: PutAsync returns once its items are taken, so a
// later Put of the same key is stored after it (the later outcome wins);
// its channel reports durability; after Close it reports ErrClosed.
func TestBatcherPutAsync(t *testing.T) {
	ctx := context.Background()
	l := open(t, filepath.Join(t.TempDir(), "ledger.db"))
	defer l.Close()
	sl := &slowLedger{Ledger: l, delay: 5 * time.Millisecond}
	b := ledger.NewBatcher(sl, 0)
	for i := 0; i < 20; i++ {
		claim := ledger.Item{Job: "j", Key: fmt.Sprintf("f%02d", i), Outcome: "claimed"}
		claimed := b.PutAsync(claim)
		done := claim
		done.Outcome = "done"
		if err := b.Put(ctx, done); err != nil {
			t.Fatal(err)
		}
		if err := <-claimed; err != nil {
			t.Fatal(err)
		}
		if it, err := l.GetItem(ctx, "j", claim.Key); err != nil || it.Outcome != "done" {
			t.Fatalf("%s = %+v, %v; want the later outcome \"done\"", claim.Key, it, err)
		}
	}
	durable := b.PutAsync(item(9, 1))
	if err := <-durable; err != nil {
		t.Fatal(err)
	}
	if it, err := l.GetItem(ctx, "j", item(9, 1).Key); err != nil || it.Outcome != "sent" {
		t.Fatalf("not stored when PutAsync's channel answered: %+v %v", it, err)
	}
	if err := <-b.PutAsync(); err != nil {
		t.Fatalf("empty PutAsync = %v", err)
	}
	b.Close()
	if err := <-b.PutAsync(item(9, 2)); !errors.Is(err, ledger.ErrClosed) {
		t.Fatalf("PutAsync after Close = %v", err)
	}
	if _, err := l.GetItem(ctx, "j", item(9, 2).Key); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("written after Close: %v", err)
	}
}
