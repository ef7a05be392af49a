package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/bridge/ledger/ledgertest"
)

func openPostgres(t *testing.T) *ledger.Postgres {
	t.Helper()
	l, err := ledger.OpenPostgres(context.Background(), ledgertest.PostgresURL(t), ledger.PostgresOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// TestLeases: acquire, held, renew, expiry, re-acquire (a new token each
// time, also for the same holder), release, listing.
func TestLeases(t *testing.T) {
	ctx := context.Background()
	l := openPostgres(t)
	a, err := l.Acquire(ctx, "job:x", "node-a", 400*time.Millisecond)
	if err != nil || a.Holder != "node-a" || a.Token == 0 {
		t.Fatalf("Acquire = %+v, %v", a, err)
	}
	held, err := l.Acquire(ctx, "job:x", "node-b", time.Second)
	if !errors.Is(err, ledger.ErrLeaseHeld) || held.Holder != "node-a" {
		t.Fatalf("second Acquire = %+v, %v; want ErrLeaseHeld by node-a", held, err)
	}
	r, err := l.Renew(ctx, a, 400*time.Millisecond)
	if err != nil || r.Token != a.Token || !r.Expires.After(a.Expires) {
		t.Fatalf("Renew = %+v, %v", r, err)
	}
	a2, err := l.Acquire(ctx, "job:x", "node-a", 400*time.Millisecond)
	if err != nil || a2.Token <= a.Token {
		t.Fatalf("re-Acquire by the holder = %+v, %v: want a new token", a2, err)
	}
	if _, err := l.Renew(ctx, a, time.Second); !errors.Is(err, ledger.ErrLeaseLost) {
		t.Fatalf("Renew of the older token = %v, want ErrLeaseLost", err)
	}
	if ls, err := l.Leases(ctx, "job:"); err != nil || len(ls) != 1 || ls[0].Token != a2.Token {
		t.Fatalf("Leases = %+v, %v", ls, err)
	}
	// Expiry: another holder takes it; the old one can neither renew nor write.
	var b ledger.Lease
	for deadline := time.Now().Add(5 * time.Second); ; {
		b, err = l.Acquire(ctx, "job:x", "node-b", time.Second)
		if err == nil {
			break
		}
		if !errors.Is(err, ledger.ErrLeaseHeld) || time.Now().After(deadline) {
			t.Fatalf("Acquire after expiry: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if b.Token <= a2.Token {
		t.Fatalf("token %d after %d", b.Token, a2.Token)
	}
	if _, err := l.Renew(ctx, a2, time.Second); !errors.Is(err, ledger.ErrLeaseLost) {
		t.Fatalf("Renew after takeover = %v", err)
	}
	if err := l.Release(ctx, a2); err != nil {
		t.Fatalf("Release of a lost lease = %v", err)
	}
	if ls, _ := l.Leases(ctx, "job:x"); len(ls) != 1 || ls[0].Holder != "node-b" {
		t.Fatalf("releasing a lost lease released the new holder's: %+v", ls)
	}
	if err := l.Release(ctx, b); err != nil {
		t.Fatal(err)
	}
	if ls, _ := l.Leases(ctx, "job:"); len(ls) != 0 {
		t.Fatalf("Leases after release = %+v", ls)
	}
	if _, err := l.Acquire(ctx, "job:x", "node-c", time.Second); err != nil {
		t.Fatalf("Acquire after release: %v", err)
	}
}

// TestFencedWrites: writes through a lease's view land while it is
// current, and none does once it expired or was taken over.
func TestFencedWrites(t *testing.T) {
	ctx := context.Background()
	l := openPostgres(t)
	a, err := l.Acquire(ctx, "job:f", "node-a", 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	fa := l.Fenced(a)
	run, err := fa.BeginRun(ctx, "f", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := fa.PutItem(ctx, ledger.Item{Job: "f", Key: "1"}); err != nil {
		t.Fatal(err)
	}
	waitExpired(t, l, a) // nobody took it yet
	writes := []struct {
		what string
		do   func() error
	}{
		{"PutItem", func() error { return fa.PutItem(ctx, ledger.Item{Job: "f", Key: "2"}) }},
		{"PutItems", func() error { return fa.PutItems(ctx, []ledger.Item{{Job: "f", Key: "3"}, {Job: "f", Key: "4"}}) }},
		{"PutFile", func() error {
			return fa.PutFile(ctx, &ledger.File{Job: "f", Source: "s", Name: "n", State: ledger.FileClaimed})
		}},
		{"SetState", func() error { return fa.SetState(ctx, "f", "cursor", "9") }},
		{"BeginRun", func() error { _, err := fa.BeginRun(ctx, "f", time.Now()); return err }},
		{"EndRun", func() error { run.Outcome = ledger.OutcomeOK; return fa.EndRun(ctx, run) }},
		{"PruneItems", func() error {
			_, err := fa.(ledger.ItemPruner).PruneItems(ctx, "f", "1", time.Now().Add(time.Hour))
			return err
		}},
	}
	for _, w := range writes {
		if err := w.do(); !errors.Is(err, ledger.ErrLeaseLost) {
			t.Errorf("%s after expiry = %v, want ErrLeaseLost", w.what, err)
		}
	}
	n := 0
	_ = l.ItemsWithPrefix(ctx, "f", "", func(ledger.Item) error { n++; return nil })
	if _, err := l.State(ctx, "f", "cursor"); !errors.Is(err, ledger.ErrNotFound) || n != 1 {
		t.Fatalf("fenced writes landed: %d items, state err %v", n, err)
	}
	if r, _ := l.LastRun(ctx, "f"); r.Outcome != ledger.OutcomeRunning {
		t.Fatalf("the fenced EndRun landed: %+v", r)
	}
	// Taken over: the new holder's view writes, the old one's still not.
	b, err := l.Acquire(ctx, "job:f", "node-b", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Fenced(b).PutItem(ctx, ledger.Item{Job: "f", Key: "5"}); err != nil {
		t.Fatal(err)
	}
	if err := fa.PutItem(ctx, ledger.Item{Job: "f", Key: "6"}); !errors.Is(err, ledger.ErrLeaseLost) {
		t.Fatalf("old holder after takeover = %v", err)
	}
}

// TestLeaseRaces: 20 nodes at once, one winner; ClaimOnce once.
func TestLeaseRaces(t *testing.T) {
	ctx := context.Background()
	l := openPostgres(t)
	for round := 0; round < 5; round++ {
		var wins, claims atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := l.Acquire(ctx, fmt.Sprintf("job:r%d", round), fmt.Sprintf("node-%d", i), time.Minute)
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, ledger.ErrLeaseHeld):
					t.Error(err)
				}
				ok, err := l.ClaimOnce(ctx, fmt.Sprintf("tick:r:%d", round), fmt.Sprintf("node-%d", i))
				if err != nil {
					t.Error(err)
				}
				if ok {
					claims.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 || claims.Load() != 1 {
			t.Fatalf("round %d: %d winners, %d claims", round, wins.Load(), claims.Load())
		}
	}
	if _, err := l.Now(ctx); err != nil {
		t.Fatal(err)
	}
}

// waitExpired waits until the ledger's clock is past le's end.
func waitExpired(t *testing.T, l *ledger.Postgres, le ledger.Lease) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		now, err := l.Now(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if now.After(le.Expires) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease %s not expired by the ledger's clock (%v) 10s after %v", le.Name, now, le.Expires)
		}
	}
}

// TestLeaseRestartFencesOldSelf: a node that restarts takes its own lease
// over at once, with a new token, and the writes of its previous
// incarnation are refused from then on, writing nothing.
func TestLeaseRestartFencesOldSelf(t *testing.T) {
	ctx := context.Background()
	l := openPostgres(t)
	old, err := l.Acquire(ctx, "job:r", "node-a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	oldView := l.Fenced(old)
	if err := oldView.SetState(ctx, "r", "cursor", "1"); err != nil {
		t.Fatal(err)
	}
	cur, err := l.Acquire(ctx, "job:r", "node-a", time.Minute)
	if err != nil || cur.Token <= old.Token || cur.Holder != "node-a" {
		t.Fatalf("re-Acquire after a restart = %+v, %v (old token %d)", cur, err, old.Token)
	}
	if err := oldView.SetState(ctx, "r", "cursor", "2"); !errors.Is(err, ledger.ErrLeaseLost) {
		t.Fatalf("the old incarnation's write: %v, want ErrLeaseLost", err)
	}
	if _, err := oldView.BeginRun(ctx, "r", time.Now()); !errors.Is(err, ledger.ErrLeaseLost) {
		t.Fatalf("the old incarnation's BeginRun: %v", err)
	}
	if err := l.Fenced(cur).SetState(ctx, "r", "cursor", "3"); err != nil {
		t.Fatal(err)
	}
	if v, _ := l.State(ctx, "r", "cursor"); v != "3" {
		t.Fatalf("cursor = %q", v)
	}
	if _, err := l.LastRun(ctx, "r"); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("a refused BeginRun left a run: %v", err)
	}
	// Reads through a lost lease's view still work; closing it leaves
	// the ledger open.
	if v, err := oldView.State(ctx, "r", "cursor"); err != nil || v != "3" {
		t.Fatalf("read through the old view: %q, %v", v, err)
	}
	if err := oldView.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Ping(ctx); err != nil {
		t.Fatalf("closing a fenced view closed the ledger: %v", err)
	}
}

// TestLeaseListing: Leases lists the current leases under a prefix, by
// name; released and expired ones are not listed; a released lease is
// free at once, and its next grant has a larger token.
func TestLeaseListing(t *testing.T) {
	ctx := context.Background()
	l := openPostgres(t)
	granted := map[string]ledger.Lease{}
	for _, n := range []string{"node:b", "job:y", "node:a", "job:x", "node:c", "nodes", "lock:j:%"} {
		le, err := l.Acquire(ctx, n, "h-"+n, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		granted[n] = le
	}
	short, err := l.Acquire(ctx, "node:d", "h", 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	names := func(prefix string) string {
		ls, err := l.Leases(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, le := range ls {
			s = append(s, le.Name)
		}
		return fmt.Sprint(s)
	}
	if got := names("node:"); got != "[node:a node:b node:c node:d]" {
		t.Fatalf("Leases(node:) = %s", got)
	}
	if got := names("lock:j:%"); got != "[lock:j:%]" {
		t.Fatalf("Leases(lock:j:%%) = %s", got)
	}
	if got := names(""); got != "[job:x job:y lock:j:% node:a node:b node:c node:d nodes]" {
		t.Fatalf("Leases() = %s", got)
	}
	waitExpired(t, l, short)
	if err := l.Release(ctx, granted["node:b"]); err != nil {
		t.Fatal(err)
	}
	if got := names("node:"); got != "[node:a node:c]" {
		t.Fatalf("Leases(node:) after expiry and release = %s", got)
	}
	again, err := l.Acquire(ctx, "node:b", "someone-else", time.Minute)
	if err != nil || again.Token <= granted["node:b"].Token {
		t.Fatalf("Acquire after release = %+v, %v", again, err)
	}
	if _, err := l.Acquire(ctx, "x", "h", 0); err == nil {
		t.Fatal("a lease of no time was granted")
	}
}

// TestAcquireRaceAfterExpiry: when an expired lease is wanted by 20 nodes
// at once, exactly one gets it, and the others are told who.
func TestAcquireRaceAfterExpiry(t *testing.T) {
	ctx := context.Background()
	l := openPostgres(t)
	first, err := l.Acquire(ctx, "job:e", "node-0", 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	waitExpired(t, l, first)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []ledger.Lease
	var told []string
	for i := 1; i <= 20; i++ {
		wg.Go(func() {
			le, err := l.Acquire(ctx, "job:e", fmt.Sprintf("node-%d", i), time.Minute)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				winners = append(winners, le)
			case errors.Is(err, ledger.ErrLeaseHeld):
				told = append(told, le.Holder)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(winners) != 1 || len(told) != 19 {
		t.Fatalf("%d winners, %d told", len(winners), len(told))
	}
	for _, h := range told {
		if h != winners[0].Holder {
			t.Fatalf("a loser was told %q holds it, not %q", h, winners[0].Holder)
		}
	}
	if winners[0].Token <= first.Token {
		t.Fatalf("token %d after %d", winners[0].Token, first.Token)
	}
}
