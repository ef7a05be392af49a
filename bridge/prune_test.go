package bridge

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

// TestDaemonPrunesOldRuns: as the daemon starts it deletes the runs older
// than [ledger] keep_runs_days (each job's newest of every outcome stays);
// keep_runs_days = 0 keeps them all.
func TestDaemonPrunesOldRuns(t *testing.T) {
	for _, tt := range []struct {
		keep string
		want int // runs left of the 100 old and 2 recent
	}{
		{"", 2 + 1}, // default 400 days: the recent ones and the newest old failed one
		{"keep_runs_days = 30\n", 2 + 1},
		{"keep_runs_days = 0\n", 102},
	} {
		t.Run(fmt.Sprintf("%q", tt.keep), func(t *testing.T) {
			e := newTestEngine(t, "[ledger]\n"+tt.keep, probeRegistry(map[string]*probeJob{}), EngineOptions{})
			ctx := context.Background()
			add := func(at time.Time, outcome string) {
				r, err := e.ledger.BeginRun(ctx, "gone", at)
				if err != nil {
					t.Fatal(err)
				}
				r.Ended, r.Outcome = at.Add(time.Second), outcome
				if err := e.ledger.EndRun(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			old := time.Now().AddDate(-2, 0, 0)
			for i := range 99 {
				add(old.Add(time.Duration(i)*time.Minute), ledger.OutcomeOK)
			}
			add(old.Add(time.Hour), ledger.OutcomeFailed)
			add(time.Now().Add(-time.Hour), ledger.OutcomeOK)
			add(time.Now().Add(-time.Minute), ledger.OutcomeOK)
			count := func() int {
				rs, err := e.ledger.Runs(ctx, ledger.RunFilter{Job: "gone", Limit: 1000})
				if err != nil {
					t.Fatal(err)
				}
				return len(rs)
			}
			if tt.want == 102 {
				// Nothing to wait for: ask directly.
				if n, err := e.pruneRuns(ctx); n != 0 || err != nil || count() != 102 {
					t.Fatalf("pruneRuns = %d, %v; %d runs left", n, err, count())
				}
				return
			}
			e.start()
			waitFor(t, fmt.Sprintf("%d runs left", tt.want), func() bool { return count() == tt.want })
			e.stop(t)
			if n := count(); n != tt.want {
				t.Errorf("%d runs left after the daemon stopped, want %d", n, tt.want)
			}
		})
	}
}
