package ledger_test

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"strings"
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
	time.Sleep(700 * time.Millisecond) // expired, nobody took it yet
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

// TestPostgresErrorsHideThePassword: a wrong password or a server that
// does not answer never shows the password.
func TestPostgresErrorsHideThePassword(t *testing.T) {
	url := ledgertest.PostgresURL(t)
	bad := "postgres://fieldbridge:Sup3rS3cretPw@127.0.0.1:9/x?sslmode=disable&connect_timeout=2"
	for _, u := range []string{bad, replacePassword(url, "Sup3rS3cretPw")} {
		_, err := ledger.OpenPostgres(context.Background(), u, ledger.PostgresOptions{})
		if err == nil {
			t.Fatalf("opened with a wrong password")
		}
		if msg := err.Error(); contains(msg, "Sup3rS3cretPw") {
			t.Fatalf("the password is in the error: %s", msg)
		}
	}
}

func replacePassword(u, pw string) string {
	p, _ := neturl.Parse(u)
	p.User = neturl.UserPassword(p.User.Username(), pw)
	return p.String()
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
