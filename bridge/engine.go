package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"
)

// EngineOptions configure NewEngine. Only Config and Registry are required.
type EngineOptions struct {
	Config   *Config
	Registry *Registry
	// Ledger, when nil, is opened by NewEngine and closed by Close: the
	// PostgreSQL database of [ledger] url, or the SQLite database
	// DataDir/ledger.db. With a url, a given Ledger must be a
	// ledger.Coordinator (the nodes coordinate through it).
	Ledger ledger.Ledger
	// Log, when nil, is built from the [log] settings, writing to stderr.
	Log *slog.Logger
	// Metrics, when nil, is a fresh NewMetrics.
	Metrics *Metrics
	// Now is the clock (default time.Now).
	Now func() time.Time
	// ShutdownGrace bounds how long Run waits, once stopped, for runs to
	// checkpoint and return (default 4s).
	ShutdownGrace time.Duration
	// WatchDebounce is how long a watched folder must be quiet after an
	// event before the job runs (default 1s).
	WatchDebounce time.Duration
}

// Engine runs the configured jobs: on their triggers (Run, the daemon) or
// one at a time (RunOnce).
type Engine struct {
	reg      *Registry
	ledger   ledger.Ledger
	ownsLed  bool
	log      *slog.Logger
	metrics  *Metrics
	now      func() time.Time
	grace    time.Duration
	debounce time.Duration
	cluster  *cluster // nil for a single node

	// reloadMu serialises reloads; mu guards the fields a reload replaces.
	reloadMu sync.Mutex
	mu       sync.RWMutex
	cfg      *Config
	secrets  []string
	jobs     []*jobState
	byName   map[string]*jobState
	daemon   *daemon // set while Run runs
	server   *Server // set by NewServer: a reload swaps its routes

	ready       atomic.Bool
	started     time.Time
	startedCh   chan struct{} // closed once Run has started the jobs
	startedOnce sync.Once
	closeOnce   sync.Once
}

// daemon is what Run shares with the jobs it starts, including those a
// reload starts later.
type daemon struct {
	ctx    context.Context // the daemon's: done when it stops
	runCtx context.Context // the runs': cancelled once the daemon stops
	wg     sync.WaitGroup  // every job's triggers and loop
	// all lists every job started, the current and the retired ones, for
	// abandonRuns.
	all []*jobState
}

// jobState is one configured job inside the engine.
type jobState struct {
	cfg   JobConfig
	job   Job
	sched cron.Schedule // nil unless Spec.Schedule is set
	// kick holds at most one pending trigger: triggers arriving while a
	// run is in progress coalesce into one follow-up run.
	kick chan trigger
	// mu is held for the whole of a run: a job never overlaps itself.
	mu sync.Mutex

	// fingerprint is the hash of the job's effective configuration (its
	// own table, the connections it uses, the general settings): a reload
	// restarts the job when it changes.
	fingerprint string
	// stop ends the job's triggers and loop (a run in progress finishes);
	// done is closed once they have ended. Both are set by startJob.
	stop context.CancelFunc
	done chan struct{}

	state sync.Mutex // guards the fields below
	next  time.Time
	cur   *ledger.Run // the run in progress
}

func (js *jobState) enabled() bool { return js.cfg.Spec.Enabled == nil || *js.cfg.Spec.Enabled }

func (js *jobState) catchUp() bool { return js.cfg.Spec.CatchUp == nil || *js.cfg.Spec.CatchUp }

// trigger is a request for a run.
type trigger struct {
	reason string
	// due is the schedule's or interval's tick (zero for other triggers):
	// in a cluster, a tick another node already ran is skipped.
	due time.Time
	// every is the interval of an interval tick (zero for a schedule's).
	every time.Duration
	// assist runs the job's Assist instead of Run, without its lease.
	assist bool
}

// trigger requests a run; it never blocks.
func (js *jobState) trigger(reason string) { js.triggerAt(trigger{reason: reason}) }

// triggerAt requests a run for t; it never blocks.
func (js *jobState) triggerAt(t trigger) {
	select {
	case js.kick <- t:
	default: // one is pending already
	}
}

// NewEngine opens the ledger (unless given) and builds every configured
// job with its kind's New.
func NewEngine(ctx context.Context, o EngineOptions) (*Engine, error) {
	if o.Config == nil {
		return nil, errors.New("engine: no config")
	}
	if o.Registry == nil {
		o.Registry = &Registry{}
	}
	e := &Engine{
		cfg: o.Config, reg: o.Registry, ledger: o.Ledger, log: o.Log, metrics: o.Metrics,
		now: o.Now, grace: o.ShutdownGrace, debounce: o.WatchDebounce, byName: map[string]*jobState{},
		startedCh: make(chan struct{}),
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.grace <= 0 {
		e.grace = 4 * time.Second
	}
	if e.debounce <= 0 {
		e.debounce = time.Second
	}
	if e.metrics == nil {
		e.metrics = NewMetrics()
	}
	if e.log == nil {
		l, err := NewLogger(os.Stderr, e.cfg.Log)
		if err != nil {
			return nil, err
		}
		e.log = l
	}
	e.secrets = collectSecrets(e.cfg)
	if err := os.MkdirAll(e.cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	if e.ledger == nil {
		var l ledger.Ledger
		var err error
		if e.cfg.Ledger.Shared() {
			l, err = ledger.OpenPostgres(ctx, e.cfg.Ledger.URL, ledger.PostgresOptions{})
		} else {
			l, err = ledger.OpenSQLiteWith(ctx, filepath.Join(e.cfg.DataDir, "ledger.db"),
				ledger.SQLiteOptions{Synchronous: e.cfg.Ledger.Synchronous})
		}
		if err != nil {
			return nil, e.scrubErr(err)
		}
		e.ledger, e.ownsLed = l, true
	}
	if e.cfg.Ledger.Shared() {
		c, err := newCluster(e.ledger, e.cfg.Ledger, e.log)
		if err != nil {
			e.Close()
			return nil, err
		}
		e.cluster = c
		if err := e.metrics.reg.Register(newClusterCollector(e)); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				e.log.Warn("cluster metrics unavailable", "err", err)
			}
		}
	}
	jobs, err := e.buildJobs(e.cfg)
	if err != nil {
		e.Close()
		return nil, err
	}
	e.setJobs(jobs)
	return e, nil
}

// buildJobs builds every job of cfg with its kind's New. On error it
// closes the jobs already built and returns every problem.
func (e *Engine) buildJobs(cfg *Config) ([]*jobState, error) {
	env := &Env{Config: cfg, Registry: e.reg, Ledger: e.ledger, Log: e.log, Metrics: e.metrics}
	var errs []error
	var out []*jobState
	for _, jc := range cfg.Jobs {
		envJ := *env
		envJ.Log = e.log.With("job", jc.Spec.Name)
		js := &jobState{cfg: jc, kick: make(chan trigger, 1)}
		envJ.TriggerRun = func(reason string) bool {
			if !e.ready.Load() || !js.enabled() {
				return false
			}
			js.trigger(reason)
			return true
		}
		if c := e.cluster; c != nil {
			job := jc.Spec.Name
			envJ.lock = func(ctx context.Context, name string) (func(), error) { return c.lock(ctx, job, name) }
			envJ.cluster = c
		}
		job, err := jc.Kind.New(&envJ, jc.Spec, jc.Options)
		if err != nil {
			errs = append(errs, fmt.Errorf("job %q: %w", jc.Spec.Name, err))
			continue
		}
		js.job = job
		_, serves := job.(Handler)
		js.fingerprint = jobFingerprint(cfg, jc, serves)
		if jc.Spec.Schedule != "" {
			loc := cfg.Location()
			if jc.Spec.Timezone != "" {
				if l, err := time.LoadLocation(jc.Spec.Timezone); err == nil {
					loc = l
				}
			}
			s, err := ParseSchedule(jc.Spec.Schedule, loc)
			if err != nil {
				closeJob(js)
				errs = append(errs, fmt.Errorf("job %q: schedule: %w", jc.Spec.Name, err))
				continue
			}
			js.sched = s
		}
		out = append(out, js)
	}
	if len(errs) > 0 {
		for _, js := range out {
			closeJob(js)
		}
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// setJobs makes jobs the engine's jobs (the caller holds e.mu, or no one
// else can see e yet).
func (e *Engine) setJobs(jobs []*jobState) {
	e.jobs = jobs
	e.byName = make(map[string]*jobState, len(jobs))
	for _, js := range jobs {
		e.byName[js.cfg.Spec.Name] = js
		e.metrics.knowJob(js.cfg.Spec.Name)
	}
}

// closeJob closes the job if it implements io.Closer.
func closeJob(js *jobState) error {
	if c, ok := js.job.(io.Closer); ok {
		if err := c.Close(); err != nil {
			return fmt.Errorf("job %q: %w", js.cfg.Spec.Name, err)
		}
	}
	return nil
}

// Ledger returns the engine's ledger.
func (e *Engine) Ledger() ledger.Ledger { return e.ledger }

// Metrics returns the engine's metrics.
func (e *Engine) Metrics() *Metrics { return e.metrics }

// Config returns the engine's configuration (the one of the last reload).
func (e *Engine) Config() *Config {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.cfg
}

// job returns the named job's state.
func (e *Engine) job(name string) (*jobState, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	js, ok := e.byName[name]
	return js, ok
}

// currentJobs returns the jobs of the current configuration.
func (e *Engine) currentJobs() []*jobState {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.jobs
}

// Close closes the jobs that implement io.Closer (e.g. to flush a log),
// then the ledger if the engine opened it.
func (e *Engine) Close() error {
	var errs []error
	e.closeOnce.Do(func() {
		for _, js := range e.currentJobs() {
			errs = append(errs, closeJob(js))
		}
		if e.ownsLed && e.ledger != nil {
			errs = append(errs, e.ledger.Close())
		}
	})
	return errors.Join(errs...)
}

// Ready reports whether Run has started every job's triggers.
func (e *Engine) Ready() bool { return e.ready.Load() }

// Started is closed once Run has started every job's triggers (the
// moment a service manager is told the daemon is ready).
func (e *Engine) Started() <-chan struct{} { return e.startedCh }

// ErrUnknownJob is returned (wrapped) by RunOnce for a name not configured.
var ErrUnknownJob = errors.New("no such job")

// ErrBusy is returned (wrapped) when the job is already running, in this
// process or another one.
var ErrBusy = errors.New("job is already running")

// RunReport is the outcome of one run.
type RunReport struct {
	Run      ledger.Run
	Problems []Problem
	// Err is the error that stopped the run, if any.
	Err error
}

// Duration is how long the run took.
func (r *RunReport) Duration() time.Duration {
	if r.Run.Ended.IsZero() {
		return 0
	}
	return r.Run.Ended.Sub(r.Run.Started)
}

// RunOnce runs the named job now and waits for it to end. It waits for a
// run of the same job already in progress in this process; a run in
// another process gives ErrBusy. The report is returned even when the run
// failed (Err tells why); the error is for a run that could not start.
func (e *Engine) RunOnce(ctx context.Context, name string, full bool) (*RunReport, error) {
	js, ok := e.job(name)
	if !ok {
		var names []string
		for _, j := range e.currentJobs() {
			names = append(names, j.cfg.Spec.Name)
		}
		return nil, fmt.Errorf("%w %q (configured: %s)", ErrUnknownJob, name, strings.Join(names, ", "))
	}
	return e.execute(ctx, js, full, trigger{reason: "once"})
}

// execute performs one run of js, holding its lock (and, in a cluster,
// its lease: the run's ledger writes are fenced by it).
func (e *Engine) execute(ctx context.Context, js *jobState, full bool, t trigger) (*RunReport, error) {
	js.mu.Lock()
	defer js.mu.Unlock()
	name := js.cfg.Spec.Name
	reason := t.reason
	unlock, err := lockJob(e.Config().DataDir, name)
	if err != nil {
		return nil, fmt.Errorf("job %q: %w", name, err)
	}
	defer unlock()

	l := e.ledger
	if c := e.cluster; c != nil && !t.assist {
		rctx, jl, err := c.acquireJob(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("job %q: %w", name, err)
		}
		defer c.release(jl)
		if done, err := e.tickDone(rctx, name, t); err != nil {
			return nil, fmt.Errorf("job %q: %w", name, err)
		} else if done {
			return nil, errSkipped
		}
		ctx = rctx
		l = c.coord.Fenced(jl.lease)
	}

	started := e.now()
	run, err := l.BeginRun(ctx, name, started)
	if err != nil {
		return nil, fmt.Errorf("job %q: %w", name, err)
	}
	log := e.log.With("job", name, "run", run.ID)
	if e.cluster != nil {
		log = log.With("node", e.cluster.node)
	}
	rc := NewRunContext(run, l, log, e.metrics)
	rc.Full = full
	rc.Now = e.now
	js.state.Lock()
	js.cur = &run
	js.state.Unlock()
	e.metrics.runStarted(name)
	log.Info("run started", "trigger", reason, "full", full)

	var job Job = js.job
	if a, ok := js.job.(Assister); ok && t.assist {
		job = assistRun{a}
	}
	runErr := e.safeRun(ctx, job, rc)

	run.Ended = e.now()
	run.Counts = rc.Counts()
	switch {
	case runErr == nil && rc.Undelivered() > 0:
		// Some items were not delivered: failed, or reported and held back.
		run.Outcome = ledger.OutcomePartial
	case runErr == nil:
		run.Outcome = ledger.OutcomeOK
	case errors.Is(context.Cause(ctx), ledger.ErrLeaseLost) || errors.Is(runErr, ledger.ErrLeaseLost):
		// Another node took the job over: what this run did not record is
		// the new holder's to do.
		run.Outcome = ledger.OutcomeStopped
		if !errors.Is(runErr, ledger.ErrLeaseLost) {
			runErr = fmt.Errorf("stopped: %w", context.Cause(ctx))
		}
	case ctx.Err() != nil:
		// Stopped by shutdown (whatever error the interruption surfaced as).
		run.Outcome = ledger.OutcomeStopped
	default:
		run.Outcome = ledger.OutcomeFailed
	}
	run.Message = e.scrub(summary(run.Counts, runErr))
	// Record the end even when ctx was cancelled (shutdown), and even when
	// the lease was lost: the run's own record is this node's to close.
	endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := e.ledger.EndRun(endCtx, run); err != nil {
		log.Error("could not record the end of the run", "err", err)
	}
	js.state.Lock()
	js.cur = nil
	js.state.Unlock()
	e.metrics.runEnded(name, run.Outcome, run.Ended.Sub(run.Started), run.Ended)
	attrs := []any{"outcome", run.Outcome, "duration", run.Ended.Sub(run.Started).Round(time.Millisecond).String()}
	for _, k := range sortedKeys(run.Counts) {
		attrs = append(attrs, k, run.Counts[k])
	}
	if runErr != nil {
		attrs = append(attrs, "err", e.scrub(runErr.Error()))
	}
	lvl := slog.LevelInfo
	if run.Outcome == ledger.OutcomeFailed || run.Outcome == ledger.OutcomePartial {
		lvl = slog.LevelWarn
	}
	log.Log(context.WithoutCancel(ctx), lvl, "run ended", attrs...)
	problems := rc.Problems()
	for i := range problems {
		problems[i].Message = e.scrub(problems[i].Message)
		if i < 20 {
			log.Warn("problem", "item", problems[i].Item, "problem", problems[i].Message)
		}
	}
	if len(problems) > 20 {
		log.Warn("more problems not logged", "count", len(problems)-20)
	}
	return &RunReport{Run: run, Problems: problems, Err: runErr}, nil
}

// safeRun calls job.Run, turning a panic into an error.
func (e *Engine) safeRun(ctx context.Context, job Job, rc *RunContext) (err error) {
	defer func() {
		if p := recover(); p != nil {
			rc.Log.Error("job panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("internal error (panic): %v", p)
		}
	}()
	return job.Run(ctx, rc)
}

// summary is the run's one-line message: the error, or the counts.
func summary(counts map[string]int64, err error) string {
	if err != nil {
		return err.Error()
	}
	var parts []string
	for _, k := range sortedKeys(counts) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, counts[k]))
	}
	return strings.Join(parts, " ")
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// collectSecrets lists every secret value of the configuration, to keep
// them out of run messages.
func collectSecrets(cfg *Config) []string {
	s := SecretValues(&cfg.HTTP)
	s = append(s, SecretValues(&cfg.Ledger)...)
	if u, err := url.Parse(cfg.Ledger.URL); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			s = append(s, p)
		}
	}
	for _, c := range cfg.Conns {
		s = append(s, SecretValues(c.Options)...)
	}
	for _, j := range cfg.Jobs {
		s = append(s, SecretValues(j.Options)...)
	}
	out := s[:0]
	for _, v := range s {
		if len(v) >= 4 { // too short to scrub without mangling text
			out = append(out, v)
		}
	}
	return out
}

func (e *Engine) scrub(s string) string {
	e.mu.RLock()
	secrets := e.secrets
	e.mu.RUnlock()
	for _, v := range secrets {
		s = strings.ReplaceAll(s, v, "<redacted>")
	}
	return s
}

// Run is the daemon: it starts every enabled job's triggers (schedule,
// interval, folder watch, and a catch-up run for a schedule missed while
// the bridge was down) and serves nothing itself (see Server). It returns
// when ctx is done, after cancelling the runs in progress and waiting up
// to ShutdownGrace for them to checkpoint. Runs that did not return in
// time are recorded as stopped.
func (e *Engine) Run(ctx context.Context) error {
	runCtx, cancelRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRuns()
	e.started = e.now()

	d := &daemon{ctx: ctx, runCtx: runCtx}
	e.mu.Lock()
	e.daemon = d
	for _, js := range e.jobs {
		e.startJob(d, js, nil)
	}
	njobs := len(e.jobs)
	e.mu.Unlock()
	if c := e.cluster; c != nil {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			c.heartbeat(ctx)
		}()
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		e.pruneLoop(ctx)
	}()
	e.ready.Store(true)
	e.startedOnce.Do(func() { close(e.startedCh) })
	if c := e.cluster; c != nil {
		e.log.Info("bridge started", "jobs", njobs, "node", c.node, "lease", c.lease.String())
	} else {
		e.log.Info("bridge started", "jobs", njobs)
	}
	<-ctx.Done()
	e.ready.Store(false)
	// From now on a reload starts nothing (and d.wg gets no new members).
	e.mu.Lock()
	e.daemon = nil
	e.mu.Unlock()
	e.log.Info("stopping: no new runs; asking runs in progress to checkpoint", "grace", e.grace.String())
	cancelRuns()
	done := make(chan struct{})
	go func() {
		// A reload cannot start jobs any more: ctx is done.
		d.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(e.grace):
		e.abandonRuns(d)
	}
	e.log.Info("stopped")
	return nil
}

// pruneEvery is how often the daemon deletes runs older than [ledger]
// keep_runs_days (the first time as it starts).
const pruneEvery = 24 * time.Hour

// pruneLoop deletes old runs from the ledger now and every pruneEvery
// until ctx is done. In a cluster every node does it; deleting the same
// runs twice is harmless.
func (e *Engine) pruneLoop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := e.pruneRuns(ctx)
		days := e.Config().Ledger.KeepRunsDays
		switch {
		case err != nil && ctx.Err() == nil:
			e.log.Warn("could not delete old runs from the ledger; trying again tomorrow", "keep_runs_days", days, "err", err)
		case n > 0:
			e.log.Info("deleted old runs from the ledger", "runs", n, "keep_runs_days", days)
		}
		t.Reset(pruneEvery)
	}
}

// pruneRuns deletes the runs older than [ledger] keep_runs_days (none
// when it is 0, or when the ledger cannot) and returns how many.
func (e *Engine) pruneRuns(ctx context.Context) (int64, error) {
	p, ok := e.ledger.(ledger.RunPruner)
	days := e.Config().Ledger.KeepRunsDays
	if !ok || days <= 0 {
		return 0, nil
	}
	return p.PruneRuns(ctx, e.now().AddDate(0, 0, -days))
}

// startJob starts js's run loop and triggers under d, once after is
// closed (the previous version of a restarted job has ended) when it is
// not nil. The caller holds e.mu.
func (e *Engine) startJob(d *daemon, js *jobState, after <-chan struct{}) {
	jctx, stop := context.WithCancel(d.ctx)
	js.stop, js.done = stop, make(chan struct{})
	d.all = append(d.all, js)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer close(js.done)
		if after != nil {
			select {
			case <-after:
			case <-jctx.Done():
				return
			}
		}
		if !js.enabled() {
			e.log.Info("job disabled", "job", js.cfg.Spec.Name)
			return
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.loop(jctx, d.runCtx, js)
		}()
		if a, ok := js.job.(Assister); ok && e.cluster != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e.assistLoop(jctx, d.runCtx, js, a)
			}()
		}
		if err := e.startTriggers(jctx, js, &wg); err != nil {
			e.log.Error("could not start the job's triggers", "job", js.cfg.Spec.Name, "err", err)
		}
		wg.Wait()
	}()
}

// abandonRuns records the runs still in progress after the grace period
// as stopped, so the ledger does not show them running.
func (e *Engine) abandonRuns(d *daemon) {
	e.mu.RLock()
	all := append([]*jobState(nil), d.all...)
	e.mu.RUnlock()
	for _, js := range all {
		js.state.Lock()
		cur := js.cur
		js.state.Unlock()
		if cur == nil {
			continue
		}
		r := *cur
		r.Ended = e.now()
		r.Outcome = ledger.OutcomeStopped
		r.Message = fmt.Sprintf("did not stop within %s of shutdown", e.grace)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := e.ledger.EndRun(ctx, r); err != nil {
			e.log.Error("could not record the run as stopped", "job", r.Job, "run", r.ID, "err", err)
		}
		cancel()
		e.log.Warn("run abandoned at shutdown", "job", r.Job, "run", r.ID)
	}
}

// loop runs js each time it is triggered, one run at a time, until ctx
// (the daemon) is done. runCtx is cancelled when the daemon stops.
func (e *Engine) loop(ctx, runCtx context.Context, js *jobState) {
	for {
		select {
		case <-ctx.Done():
			return
		case reason := <-js.kick:
			if ctx.Err() != nil {
				return
			}
			_, err := e.execute(runCtx, js, false, reason)
			switch {
			case err == nil:
			case errors.Is(err, errSkipped):
				e.log.Debug("tick already run by another node", "job", js.cfg.Spec.Name, "trigger", reason.reason)
			case errors.Is(err, ErrHeldElsewhere):
				// Another node runs the job: ask again once it may be done
				// (or dead), so that what this trigger was for is not lost.
				e.log.Debug("job running on another node; trying again later", "job", js.cfg.Spec.Name, "err", err)
				e.retryLater(ctx, js, reason)
			default:
				e.log.Error("run could not start", "job", js.cfg.Spec.Name, "err", err)
			}
		}
	}
}

// assistRun is a Job whose Run is the Assister's Assist.
type assistRun struct{ a Assister }

func (r assistRun) Run(ctx context.Context, rc *RunContext) error { return r.a.Assist(ctx, rc) }

// assistLoop asks js, every second while this node is not running it,
// whether other nodes' runs have work to share, and does it.
func (e *Engine) assistLoop(ctx, runCtx context.Context, js *jobState, a Assister) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		js.state.Lock()
		busy := js.cur != nil
		js.state.Unlock()
		if busy {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		pending, err := a.AssistPending(pctx)
		cancel()
		if err != nil {
			e.log.Warn("cannot ask for work to share", "job", js.cfg.Spec.Name, "err", err)
			continue
		}
		if !pending {
			continue
		}
		if _, err := e.execute(runCtx, js, false, trigger{reason: "assist", assist: true}); err != nil {
			e.log.Error("assist run could not start", "job", js.cfg.Spec.Name, "err", err)
		}
	}
}

// retryLater asks again for t's run after a third of the lease, unless
// the daemon stops first.
func (e *Engine) retryLater(ctx context.Context, js *jobState, t trigger) {
	d := e.cluster.lease / 3
	go func() {
		select {
		case <-ctx.Done():
		case <-time.After(d):
			js.triggerAt(t)
		}
	}()
}

// tickDone reports whether, in a cluster, the tick t is for was run
// already (by any node): a completed run started at or after a
// schedule's tick, or within half an interval before an interval's.
func (e *Engine) tickDone(ctx context.Context, job string, t trigger) (bool, error) {
	if t.due.IsZero() {
		return false, nil
	}
	last, err := e.ledger.LastRun(ctx, job, ledger.OutcomeOK, ledger.OutcomePartial, ledger.OutcomeFailed)
	if errors.Is(err, ledger.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	from := t.due
	if t.every > 0 {
		from = t.due.Add(-t.every / 2)
	}
	return !last.Started.Before(from), nil
}

// scrubErr is err with the configuration's secrets removed from its text.
func (e *Engine) scrubErr(err error) error {
	if msg := e.scrub(err.Error()); msg != err.Error() {
		return errors.New(msg)
	}
	return err
}

// Trigger asks for a run of the named job as soon as it is free (used by
// HTTP notifications and tests). It reports whether the job exists.
func (e *Engine) Trigger(name, reason string) bool {
	js, ok := e.job(name)
	if ok {
		js.trigger(reason)
	}
	return ok
}

func (e *Engine) startTriggers(ctx context.Context, js *jobState, wg *sync.WaitGroup) error {
	spec := js.cfg.Spec
	if js.sched != nil {
		if js.catchUp() {
			if missed, prev := e.missedRun(ctx, js); missed {
				e.log.Info("a scheduled run was missed while the bridge was down; running it now",
					"job", spec.Name, "due", prev.Format(time.RFC3339))
				js.triggerAt(trigger{reason: "catch-up", due: prev})
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.cronLoop(ctx, js)
		}()
	}
	if spec.Interval.Duration > 0 {
		js.trigger("start")
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(spec.Interval.Duration)
			defer t.Stop()
			for {
				js.state.Lock()
				js.next = e.now().Add(spec.Interval.Duration)
				js.state.Unlock()
				select {
				case <-ctx.Done():
					return
				case tick := <-t.C:
					js.triggerAt(trigger{reason: "interval", due: tick, every: spec.Interval.Duration})
				}
			}
		}()
	}
	if w, ok := js.job.(Watcher); ok {
		return e.startWatch(ctx, js, w, wg)
	}
	return nil
}

// missedRun reports whether the schedule fired, while nothing ran, since
// the last completed run (ok, partial or failed) began. A run interrupted
// by a crash or shutdown does not count as done. A job that never ran has
// nothing to catch up.
func (e *Engine) missedRun(ctx context.Context, js *jobState) (bool, time.Time) {
	last, err := e.ledger.LastRun(ctx, js.cfg.Spec.Name, ledger.OutcomeOK, ledger.OutcomePartial, ledger.OutcomeFailed)
	if err != nil {
		if !errors.Is(err, ledger.ErrNotFound) {
			e.log.Error("catch-up: cannot read the ledger", "job", js.cfg.Spec.Name, "err", err)
		}
		// Never completed: catch up only if an interrupted run exists.
		any, err := e.ledger.LastRun(ctx, js.cfg.Spec.Name)
		if err != nil {
			return false, time.Time{}
		}
		return true, any.Started
	}
	next := js.sched.Next(last.Started)
	return !next.After(e.now()), next
}

func (e *Engine) cronLoop(ctx context.Context, js *jobState) {
	for {
		now := e.now()
		next := js.sched.Next(now)
		js.state.Lock()
		js.next = next
		js.state.Unlock()
		t := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
			// Timers may fire a little early relative to the wall clock;
			// a run must start at or after its fire time (catch-up compares).
			if d := next.Sub(e.now()); d > 0 && d < time.Second {
				time.Sleep(d)
			}
			js.triggerAt(trigger{reason: "schedule", due: next})
		}
	}
}

// startWatch watches the job's folders (fsnotify) and rescans them
// periodically, since network shares send no events. Each burst of events
// triggers one run once the folder has been quiet for the debounce time.
func (e *Engine) startWatch(ctx context.Context, js *jobState, w Watcher, wg *sync.WaitGroup) error {
	name := js.cfg.Spec.Name
	every, shares := watchRescan(runtime.GOOS, w.WatchDirs(), w.RescanEvery())
	for _, d := range shares {
		e.log.Info("watched folder is on a network share: changes other machines make there send no events; rescanning it",
			"job", name, "dir", d, "every", every.String())
	}
	js.trigger("start") // files that arrived while the bridge was down
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		e.log.Warn("folder events unavailable; rescanning only", "job", name, "err", err)
		fw = nil
	}
	watched := map[string]bool{}
	addWatches := func(warn bool) {
		if fw == nil {
			return
		}
		for _, d := range w.WatchDirs() {
			if watched[d] {
				continue
			}
			if err := fw.Add(d); err != nil {
				if warn {
					e.log.Warn("cannot watch folder yet; rescanning it, and retrying the watch at each rescan", "job", name, "dir", d, "err", err)
				}
				continue
			}
			watched[d] = true
		}
	}
	addWatches(true)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if fw != nil {
			defer fw.Close()
		}
		rescan := time.NewTicker(every)
		defer rescan.Stop()
		var quiet *time.Timer
		var quietC <-chan time.Time
		var events <-chan fsnotify.Event
		var errs <-chan error
		if fw != nil {
			events, errs = fw.Events, fw.Errors
		}
		for {
			js.state.Lock()
			if js.next.IsZero() || !js.next.After(e.now()) {
				js.next = e.now().Add(every)
			}
			js.state.Unlock()
			select {
			case <-ctx.Done():
				if quiet != nil {
					quiet.Stop()
				}
				return
			case ev, ok := <-events:
				if !ok {
					events = nil
					continue
				}
				if ev.Op == fsnotify.Chmod {
					continue
				}
				if ev.Op.Has(fsnotify.Remove) || ev.Op.Has(fsnotify.Rename) {
					if watched[ev.Name] { // the folder itself: watch again once it is back
						watched[ev.Name] = false
					}
				}
				if quiet == nil {
					quiet = time.NewTimer(e.debounce)
				} else {
					quiet.Reset(e.debounce)
				}
				quietC = quiet.C
			case err, ok := <-errs:
				if !ok {
					errs = nil
					continue
				}
				e.log.Warn("folder watch error", "job", name, "err", err)
			case <-quietC:
				quietC = nil
				js.trigger("watch")
			case <-rescan.C:
				addWatches(false) // folders the job created meanwhile
				js.state.Lock()
				js.next = e.now().Add(every)
				js.state.Unlock()
				js.trigger("rescan")
			}
		}
	}()
	return nil
}

// maxNetworkRescan bounds the rescan of a watched network share, where
// the rescan is what finds new files.
const maxNetworkRescan = time.Minute

// watchRescan is how often a job watching dirs rescans them: every, or a
// minute when unset, and at most maxNetworkRescan when a folder is on a
// network share (by goos's path rules); shares lists those folders.
func watchRescan(goos string, dirs []string, every time.Duration) (time.Duration, []string) {
	if every <= 0 {
		every = time.Minute
	}
	var shares []string
	for _, d := range dirs {
		if isNetworkPath(goos, d) {
			shares = append(shares, d)
		}
	}
	if len(shares) > 0 && every > maxNetworkRescan {
		every = maxNetworkRescan
	}
	return every, shares
}

// JobStatus describes a job for the status page.
type JobStatus struct {
	Name    string
	Kind    string
	Enabled bool
	Trigger string
	Running bool
	Next    time.Time
	Last    *ledger.Run
	// Summary is the job's own line (jobs implementing Summarizer).
	Summary string
	// Node is, in a cluster, the node running the job now ("" when none).
	Node string
}

// Status lists every job with its trigger, last run and next fire time.
func (e *Engine) Status(ctx context.Context) []JobStatus {
	var out []JobStatus
	cl, _, _ := e.Cluster(ctx)
	for _, js := range e.currentJobs() {
		s := JobStatus{Name: js.cfg.Spec.Name, Kind: js.cfg.Kind.Name, Enabled: js.enabled(), Trigger: describeTrigger(js)}
		js.state.Lock()
		s.Running = js.cur != nil
		s.Next = js.next
		js.state.Unlock()
		if r, err := e.ledger.LastRun(ctx, s.Name); err == nil {
			s.Last = &r
		}
		if sm, ok := js.job.(Summarizer); ok {
			s.Summary = sm.StatusSummary()
		}
		if l, ok := cl.Holders[s.Name]; ok {
			s.Node = l.Holder
			s.Running = true
		}
		out = append(out, s)
	}
	return out
}

func describeTrigger(js *jobState) string {
	var parts []string
	spec := js.cfg.Spec
	if spec.Schedule != "" {
		tz := spec.Timezone
		if tz == "" {
			tz = "default zone"
		}
		parts = append(parts, fmt.Sprintf("schedule %q (%s)", spec.Schedule, tz))
	}
	if spec.Interval.Duration > 0 {
		parts = append(parts, "every "+spec.Interval.Duration.String())
	}
	if w, ok := js.job.(Watcher); ok {
		parts = append(parts, "watches "+strings.Join(w.WatchDirs(), ", "))
	}
	if _, ok := js.job.(Handler); ok {
		parts = append(parts, "HTTP")
	}
	if len(parts) == 0 {
		return "manual (fieldbridge once)"
	}
	return strings.Join(parts, "; ")
}
