package bridge

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

// probeJob runs fn; it counts concurrent and total runs.
type probeJob struct {
	fn      func(ctx context.Context, rc *RunContext) error
	active  atomic.Int32
	maxSeen atomic.Int32
	runs    atomic.Int32
	dirs    []string
}

func (p *probeJob) Run(ctx context.Context, rc *RunContext) error {
	n := p.active.Add(1)
	defer p.active.Add(-1)
	for {
		m := p.maxSeen.Load()
		if n <= m || p.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	p.runs.Add(1)
	if p.fn == nil {
		return nil
	}
	return p.fn(ctx, rc)
}

type watchProbe struct{ *probeJob }

func (w watchProbe) WatchDirs() []string        { return w.dirs }
func (w watchProbe) RescanEvery() time.Duration { return time.Hour }

type probeOpts struct{}

// probeRegistry has kind "probe" (built from jobs[name]) and "watchprobe".
func probeRegistry(jobs map[string]*probeJob) *Registry {
	return &Registry{Kinds: map[string]Kind{
		"probe": {Name: "probe", NewOptions: func() any { return &probeOpts{} },
			New: func(env *Env, spec JobSpec, _ any) (Job, error) {
				if j, ok := jobs[spec.Name]; ok {
					return j, nil
				}
				return &probeJob{}, nil
			}},
		"watchprobe": {Name: "watchprobe", NewOptions: func() any { return &probeOpts{} },
			New: func(env *Env, spec JobSpec, _ any) (Job, error) {
				if j, ok := jobs[spec.Name]; ok {
					return watchProbe{j}, nil
				}
				return watchProbe{&probeJob{}}, nil
			}},
	}}
}

type testEngine struct {
	*Engine
	dir    string
	cancel context.CancelFunc
	done   chan error
}

func newTestEngine(t *testing.T, toml string, reg *Registry, o EngineOptions) *testEngine {
	t.Helper()
	dir := t.TempDir()
	cfg, err := ParseConfig(filepath.Join(dir, "fb.toml"), []byte("data_dir = \"data\"\n"+toml), reg)
	if err != nil {
		t.Fatal(err)
	}
	o.Config, o.Registry = cfg, reg
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e, err := NewEngine(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return &testEngine{Engine: e, dir: dir}
}

func (te *testEngine) start() {
	ctx, cancel := context.WithCancel(context.Background())
	te.cancel = cancel
	te.done = make(chan error, 1)
	go func() { te.done <- te.Run(ctx) }()
}

func (te *testEngine) stop(t *testing.T) time.Duration {
	t.Helper()
	t0 := time.Now()
	te.cancel()
	select {
	case err := <-te.done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("engine did not stop")
	}
	return time.Since(t0)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRunOnceOutcomes(t *testing.T) {
	jobs := map[string]*probeJob{
		"ok": {fn: func(ctx context.Context, rc *RunContext) error {
			rc.Count("created", 2)
			rc.Log.Info("working")
			return nil
		}},
		"partial": {fn: func(ctx context.Context, rc *RunContext) error {
			rc.Count("created", 1)
			rc.Count("failed", 1)
			rc.Problem("row 3", "column B is empty")
			return nil
		}},
		"failed": {fn: func(ctx context.Context, rc *RunContext) error {
			return errors.New("login refused for password hunter22")
		}},
		"panics": {fn: func(ctx context.Context, rc *RunContext) error { panic("boom") }},
	}
	t.Setenv("FB_TEST_SECRET", "hunter22")
	te := newTestEngine(t, `
[http]
token = "${FB_TEST_SECRET}"
[[job]]
name = "ok"
kind = "probe"
[[job]]
name = "partial"
kind = "probe"
[[job]]
name = "failed"
kind = "probe"
[[job]]
name = "panics"
kind = "probe"
`, probeRegistry(jobs), EngineOptions{})
	ctx := context.Background()
	for _, c := range []struct {
		job, outcome, msg string
	}{
		{"ok", ledger.OutcomeOK, "created=2"},
		{"partial", ledger.OutcomePartial, "created=1 failed=1"},
		{"failed", ledger.OutcomeFailed, "login refused for password <redacted>"},
		{"panics", ledger.OutcomeFailed, "panic"},
	} {
		rep, err := te.RunOnce(ctx, c.job, false)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Run.Outcome != c.outcome || !strings.Contains(rep.Run.Message, c.msg) {
			t.Errorf("%s: run = %+v", c.job, rep.Run)
		}
		last, err := te.Ledger().LastRun(ctx, c.job)
		if err != nil || last.ID != rep.Run.ID || last.Outcome != c.outcome || last.Ended.IsZero() {
			t.Errorf("%s: ledger = %+v, %v", c.job, last, err)
		}
	}
	rep, _ := te.RunOnce(ctx, "partial", true)
	if len(rep.Problems) != 1 || rep.Problems[0].Item != "row 3" {
		t.Errorf("problems = %+v", rep.Problems)
	}
	if _, err := te.RunOnce(ctx, "nope", false); !errors.Is(err, ErrUnknownJob) {
		t.Errorf("unknown job err = %v", err)
	}
}

func TestNoOverlapAndCoalescing(t *testing.T) {
	release := make(chan struct{})
	var started atomic.Int32
	jobs := map[string]*probeJob{"slow": {fn: func(ctx context.Context, rc *RunContext) error {
		if started.Add(1) == 1 {
			select { // the first run lasts until released
			case <-release:
			case <-ctx.Done():
			}
		}
		return nil
	}}}
	te := newTestEngine(t, `
[[job]]
name = "slow"
kind = "probe"
`, probeRegistry(jobs), EngineOptions{})
	te.start()
	defer te.stop(t)
	waitFor(t, "ready", te.Ready)
	te.Trigger("slow", "test")
	waitFor(t, "first run", func() bool { return started.Load() == 1 })
	// Many triggers during the run, and a RunOnce that must wait.
	for i := 0; i < 20; i++ {
		te.Trigger("slow", "test")
	}
	onceDone := make(chan struct{})
	go func() {
		defer close(onceDone)
		if _, err := te.RunOnce(context.Background(), "slow", false); err != nil {
			t.Error(err)
		}
	}()
	time.Sleep(100 * time.Millisecond)
	if n := started.Load(); n != 1 {
		t.Fatalf("%d runs started while the first was running", n)
	}
	close(release)
	<-onceDone
	// The 20 triggers coalesce into exactly one follow-up run (plus RunOnce).
	waitFor(t, "follow-up", func() bool { return jobs["slow"].runs.Load() == 3 })
	time.Sleep(100 * time.Millisecond)
	if n := jobs["slow"].runs.Load(); n != 3 {
		t.Fatalf("runs = %d, want 3 (first, one coalesced follow-up, once)", n)
	}
	if m := jobs["slow"].maxSeen.Load(); m != 1 {
		t.Fatalf("max concurrent runs = %d", m)
	}
}

func TestCrossProcessLock(t *testing.T) {
	jobs := map[string]*probeJob{"j": {}}
	te := newTestEngine(t, "[[job]]\nname = \"j\"\nkind = \"probe\"\n", probeRegistry(jobs), EngineOptions{})
	unlock, err := lockJob(te.Config().DataDir, "j") // as another process would
	if err != nil {
		t.Fatal(err)
	}
	_, err = te.RunOnce(context.Background(), "j", false)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy", err)
	}
	unlock()
	if _, err := te.RunOnce(context.Background(), "j", false); err != nil {
		t.Fatal(err)
	}
}

func TestIntervalRuns(t *testing.T) {
	jobs := map[string]*probeJob{"poll": {}}
	te := newTestEngine(t, `
[[job]]
name = "poll"
kind = "probe"
interval = "1s"
`, probeRegistry(jobs), EngineOptions{})
	te.start()
	// Once at start, then every second.
	waitFor(t, "start run", func() bool { return jobs["poll"].runs.Load() >= 1 })
	waitFor(t, "interval run", func() bool { return jobs["poll"].runs.Load() >= 2 })
	te.stop(t)
}

func TestCatchUpMissedRun(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	cases := []struct {
		name    string
		seed    func(l ledger.Ledger)
		catchUp string
		want    int32
	}{
		{"missed yesterday's run", func(l ledger.Ledger) {
			r, _ := l.BeginRun(ctx, "daily", now.Add(-50*time.Hour))
			r.Outcome = ledger.OutcomeOK
			_ = l.EndRun(ctx, r)
		}, "", 1},
		{"ran after the last fire time", func(l ledger.Ledger) {
			r, _ := l.BeginRun(ctx, "daily", now.Add(-time.Minute))
			r.Outcome = ledger.OutcomeOK
			_ = l.EndRun(ctx, r)
		}, "", 0},
		{"crashed run is not done", func(l ledger.Ledger) {
			r, _ := l.BeginRun(ctx, "daily", now.Add(-50*time.Hour))
			r.Outcome = ledger.OutcomeOK
			_ = l.EndRun(ctx, r)
			_, _ = l.BeginRun(ctx, "daily", now.Add(-time.Minute)) // left running
		}, "", 1},
		{"never ran", func(l ledger.Ledger) {}, "", 0},
		{"catch_up off", func(l ledger.Ledger) {
			r, _ := l.BeginRun(ctx, "daily", now.Add(-50*time.Hour))
			r.Outcome = ledger.OutcomeOK
			_ = l.EndRun(ctx, r)
		}, "catch_up = false\n", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			jobs := map[string]*probeJob{"daily": {}}
			// The schedule fires every day at the minute 30 minutes ago, so
			// a run started less than 30 minutes ago is after the fire time.
			at := now.Add(-30 * time.Minute).In(time.UTC)
			te := newTestEngine(t, `
[[job]]
name = "daily"
kind = "probe"
timezone = "UTC"
schedule = "`+itoa(at.Minute())+" "+itoa(at.Hour())+` * * *"
`+c.catchUp, probeRegistry(jobs), EngineOptions{})
			c.seed(te.Ledger())
			te.start()
			waitFor(t, "ready", te.Ready)
			if c.want > 0 {
				waitFor(t, "catch-up run", func() bool { return jobs["daily"].runs.Load() >= c.want })
			}
			time.Sleep(300 * time.Millisecond)
			if got := jobs["daily"].runs.Load(); got != c.want {
				t.Fatalf("runs at start = %d, want %d", got, c.want)
			}
			te.stop(t)
			if c.want == 1 {
				last, _ := te.Ledger().LastRun(ctx, "daily")
				if last.Outcome != ledger.OutcomeOK {
					t.Fatalf("catch-up run = %+v", last)
				}
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestScheduleFires(t *testing.T) {
	jobs := map[string]*probeJob{"fast": {}}
	te := newTestEngine(t, `
[[job]]
name = "fast"
kind = "probe"
schedule = "@every 1s"
`, probeRegistry(jobs), EngineOptions{})
	te.start()
	waitFor(t, "scheduled run", func() bool { return jobs["fast"].runs.Load() >= 1 })
	st := te.Status(context.Background())
	if len(st) != 1 || st[0].Next.IsZero() || !strings.Contains(st[0].Trigger, "@every 1s") {
		t.Fatalf("status = %+v", st)
	}
	te.stop(t)
}

func TestGracefulStop(t *testing.T) {
	ctx := context.Background()
	var items atomic.Int32
	stubborn := make(chan struct{})
	jobs := map[string]*probeJob{
		// Sends items until told to stop, checkpointing each one.
		"worker": {fn: func(ctx context.Context, rc *RunContext) error {
			for i := 0; ; i++ {
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := rc.Ledger.PutItem(ctx, ledger.Item{Job: rc.Run.Job, Key: itoa(i), Outcome: "sent"}); err != nil {
					return err
				}
				items.Add(1)
				rc.Count("sent", 1)
				time.Sleep(time.Millisecond)
			}
		}},
		// Ignores cancellation for too long.
		"stubborn": {fn: func(ctx context.Context, rc *RunContext) error {
			<-stubborn
			return nil
		}},
	}
	te := newTestEngine(t, `
[[job]]
name = "worker"
kind = "probe"
interval = "1h"
[[job]]
name = "stubborn"
kind = "probe"
interval = "1h"
`, probeRegistry(jobs), EngineOptions{ShutdownGrace: 500 * time.Millisecond})
	t.Cleanup(func() { // let the abandoned run end before the test does
		close(stubborn)
		waitFor(t, "stubborn run to return", func() bool { return jobs["stubborn"].active.Load() == 0 })
		time.Sleep(50 * time.Millisecond)
	})
	te.start()
	waitFor(t, "items", func() bool { return items.Load() > 5 })
	waitFor(t, "stubborn running", func() bool { return jobs["stubborn"].active.Load() == 1 })
	took := te.stop(t)
	if took > 2*time.Second {
		t.Fatalf("stop took %s", took)
	}
	w, err := te.Ledger().LastRun(ctx, "worker")
	if err != nil {
		t.Fatal(err)
	}
	if w.Outcome != ledger.OutcomeStopped || w.Ended.IsZero() || w.Counts["sent"] != int64(items.Load()) {
		t.Fatalf("worker run = %+v (items %d)", w, items.Load())
	}
	n := 0
	_ = te.Ledger().ItemsWithPrefix(ctx, "worker", "", func(ledger.Item) error { n++; return nil })
	if int32(n) != items.Load() {
		t.Fatalf("ledger has %d items, job counted %d", n, items.Load())
	}
	s, _ := te.Ledger().LastRun(ctx, "stubborn")
	if s.Outcome != ledger.OutcomeStopped || !strings.Contains(s.Message, "did not stop") {
		t.Fatalf("stubborn run = %+v", s)
	}
	if te.Ready() {
		t.Fatal("still ready after stop")
	}
}

func TestWatcherTriggers(t *testing.T) {
	dir := t.TempDir()
	jobs := map[string]*probeJob{"inbox": {dirs: []string{dir}}}
	te := newTestEngine(t, `
[[job]]
name = "inbox"
kind = "watchprobe"
`, probeRegistry(jobs), EngineOptions{WatchDebounce: 500 * time.Millisecond})
	te.start()
	defer te.stop(t)
	waitFor(t, "start run", func() bool { return jobs["inbox"].runs.Load() == 1 })
	// A burst of writes is one run, after the folder is quiet.
	for i := 0; i < 5; i++ {
		if err := os.WriteFile(filepath.Join(dir, "f"+itoa(i)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitFor(t, "watch run", func() bool { return jobs["inbox"].runs.Load() == 2 })
	time.Sleep(700 * time.Millisecond)
	if n := jobs["inbox"].runs.Load(); n != 2 {
		t.Fatalf("runs = %d, want 2", n)
	}
}

func TestDisabledJobDoesNotRun(t *testing.T) {
	jobs := map[string]*probeJob{"off": {}}
	te := newTestEngine(t, `
[[job]]
name = "off"
kind = "probe"
interval = "1s"
enabled = false
`, probeRegistry(jobs), EngineOptions{})
	te.start()
	waitFor(t, "ready", te.Ready)
	time.Sleep(200 * time.Millisecond)
	te.stop(t)
	if n := jobs["off"].runs.Load(); n != 0 {
		t.Fatalf("disabled job ran %d times", n)
	}
}

func TestEnvTriggerRun(t *testing.T) {
	jobs := map[string]*probeJob{"notified": {}}
	var env *Env
	reg := probeRegistry(jobs)
	k := reg.Kinds["probe"]
	inner := k.New
	k.New = func(e *Env, spec JobSpec, o any) (Job, error) {
		env = e
		return inner(e, spec, o)
	}
	reg.Kinds["probe"] = k
	te := newTestEngine(t, "[[job]]\nname = \"notified\"\nkind = \"probe\"\n", reg, EngineOptions{})
	if env.Trigger("early") {
		t.Fatal("trigger accepted before the daemon started")
	}
	te.start()
	waitFor(t, "ready", te.Ready)
	if !env.Trigger("notification") {
		t.Fatal("trigger refused")
	}
	waitFor(t, "triggered run", func() bool { return jobs["notified"].runs.Load() == 1 })
	te.stop(t)
	if (*Env)(nil).Trigger("x") {
		t.Fatal("nil env triggered")
	}
}
