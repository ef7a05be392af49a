package bridgetest

import (
	"context"
	"fmt"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

// WorkOptions are the options of the "test-work" kind.
type WorkOptions struct {
	// Items is how many items a run sends (0: until stopped).
	Items int `toml:"items"`
	// Delay is the time each item takes.
	Delay bridge.Duration `toml:"delay"`
	// FailEvery makes every n-th item fail.
	FailEvery int `toml:"fail_every"`
	// Error makes the run fail with this error.
	Error string `toml:"error"`
}

// WorkKind is the job kind "test-work": each run sends numbered items to
// nowhere, recording each in the ledger, slowly if asked, failing some on
// purpose, and stops at the next item when its context is cancelled. The
// engine's tests and `fieldbridge` built with -tags fieldbridge_testkinds
// use it.
func WorkKind() bridge.Kind {
	return bridge.Kind{
		Name:       "test-work",
		Summary:    "sends numbered items to nowhere (tests only)",
		NewOptions: func() any { return &WorkOptions{Delay: bridge.Duration{Duration: time.Millisecond}} },
		New: func(env *bridge.Env, spec bridge.JobSpec, o any) (bridge.Job, error) {
			opts := o.(*WorkOptions)
			if opts.Items < 0 {
				return nil, bridge.OptionErrorf("items", "must not be negative")
			}
			return &testWork{opts: *opts}, nil
		},
	}
}

type testWork struct{ opts WorkOptions }

func (w *testWork) Run(ctx context.Context, rc *bridge.RunContext) error {
	if w.opts.Error != "" {
		return fmt.Errorf("%s", w.opts.Error)
	}
	for i := 1; w.opts.Items == 0 || i <= w.opts.Items; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(w.opts.Delay.Duration)
		outcome := "sent"
		if w.opts.FailEvery > 0 && i%w.opts.FailEvery == 0 {
			outcome = "failed"
			rc.Problem(fmt.Sprintf("item %d", i), "the test kind fails this item on purpose")
		}
		if err := rc.Ledger.PutItem(ctx, ledger.Item{Job: rc.Run.Job, Key: fmt.Sprintf("%08d", i), Outcome: outcome, RunID: rc.Run.ID}); err != nil {
			return err
		}
		rc.Count(outcome, 1)
	}
	return nil
}
