// Package bridge is fieldbridge's engine: configuration, triggers, the job
// runner, run reports and the HTTP server. The flows themselves are job
// kinds in sub-packages (bridge/boxsync, bridge/sheets, bridge/results,
// bridge/viability) that plug into the engine through Kind.
package bridge

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

// Kind describes one job kind (a flow): its options and how to build a job
// from them. Kinds are collected in a Registry by the cmd package.
type Kind struct {
	// Name is the value of a job's `kind` key, e.g. "ozmap-sytex-boxes".
	Name string
	// Summary is one line for `fieldbridge check` and the docs.
	Summary string
	// NewOptions returns a pointer to a fresh options struct with every
	// default filled in. The engine decodes the job's table into it (toml
	// tags) after taking the common keys of JobSpec; any key that neither
	// decodes is a config error naming the key and its line.
	NewOptions func() any
	// New validates opts and builds the job. It must not do I/O (it is
	// also called by `fieldbridge check`). It returns every problem it
	// finds at once, joined with errors.Join, each naming the option key.
	New func(env *Env, spec JobSpec, opts any) (Job, error)
}

// ConnType describes one kind of named connection: an FTP server, an SFTP
// server, an OZmap account, a Sytex account, ...
type ConnType struct {
	// Name is the value of a connection's `type` key: "ftp", "ozmap", ...
	Name string
	// NewOptions returns a pointer to a fresh options struct (the
	// connector's or transport's own Options, with toml tags) with defaults.
	NewOptions func() any
	// Check, when set, validates decoded options without I/O, returning
	// every problem joined.
	Check func(opts any) error
	// Connect, when set, is used by `fieldbridge check -connect` to try
	// the connection and report whether it answers.
	Connect func(ctx context.Context, opts any) error
}

// Registry holds the kinds and connection types the binary knows.
type Registry struct {
	Kinds map[string]Kind
	Conns map[string]ConnType
}

// JobSpec holds the keys every [[job]] table has.
type JobSpec struct {
	Name    string `toml:"name"`
	Kind    string `toml:"kind"`
	Enabled *bool  `toml:"enabled"` // default true
	// Schedule is a cron expression (5 fields, or @daily, @every 10m).
	Schedule string `toml:"schedule"`
	// Timezone is an IANA zone for Schedule; default the config's timezone.
	Timezone string `toml:"timezone"`
	// Interval runs the job every interval ("5m").
	Interval Duration `toml:"interval"`
	// CatchUp runs a scheduled run missed while the daemon was down once at
	// start (default true).
	CatchUp *bool `toml:"catch_up"`
	// Line is the line of the job's table in the config file.
	Line int `toml:"-"`
}

// Job is a configured job, ready to run.
type Job interface {
	// Run does one run of the job. It records every item's outcome in
	// rc.Ledger as it goes, counts with rc.Count and reports problems that
	// a person must act on with rc.Problem. It returns an error only when
	// the run could not go on (wrong credentials, target down for good);
	// item failures are counted, not returned. When ctx is cancelled it
	// stops taking new items, finishes or checkpoints the one in hand and
	// returns ctx.Err().
	Run(ctx context.Context, rc *RunContext) error
}

// Watcher is implemented by jobs triggered by files appearing in local
// folders: the engine watches the folders (fsnotify plus a periodic rescan)
// and starts a run when something changes there.
type Watcher interface {
	WatchDirs() []string
	// RescanEvery is how often the folders are rescanned without events.
	RescanEvery() time.Duration
}

// Handler is implemented by jobs that serve HTTP on the bridge's server
// (viability questions, notifications). Routes are registered once at
// start; pattern is a net/http ServeMux pattern ("POST /officetrack/notify").
type Handler interface {
	Routes() []Route
}

// Summarizer is implemented by jobs with something to show on the status
// page besides their runs (e.g. the day's viability questions). The line
// must be cheap to make.
type Summarizer interface {
	StatusSummary() string
}

// Route is one HTTP route a job serves.
type Route struct {
	Pattern string
	Handler http.Handler
	// Public routes skip the server's token check (the job checks its own
	// secret). Routes are protected by the server token by default.
	Public bool
	// Logged routes record every request themselves (the viability
	// question log, for one): the server logs them at debug level, not
	// info, so a busy endpoint does not write each request twice.
	Logged bool
	// Users routes are import pages: they need a signed-in user instead
	// of the token (the handler checks what the user may see, with
	// UserFrom), and their unsafe methods need the session's CSRF token
	// (CSRFToken). Pages are built with NewPage.
	Users bool
	// MaxBody, when set, replaces [http] max_body for this route (an
	// upload of a sheet).
	MaxBody int64
}

// Env is what the engine gives a job kind to build its job: the decoded
// connections, the ledger, the logger, the data folder.
type Env struct {
	Config   *Config
	Registry *Registry
	// Ledger is nil while the config is only being checked.
	Ledger ledger.Ledger
	// Log carries the job's name. Inside Run, log with rc.Log instead (it
	// also carries the run id).
	Log     *slog.Logger
	Metrics *Metrics
	// TriggerRun asks the engine for a run of this job as soon as it is
	// free (several requests during a run coalesce into one follow-up run),
	// e.g. from an HTTP notification route. It reports false when no daemon
	// is running the job's triggers (check, once). Nil-safe: use
	// env.Trigger.
	TriggerRun func(reason string) bool

	lock    func(ctx context.Context, name string) (unlock func(), err error)
	cluster *cluster
}

// Lock takes a lock named name for this job across every node sharing
// the ledger (in a cluster; a no-op for a single node, where the job's
// own mutexes suffice), waiting for it until ctx ends. Keep what it
// guards short: a check and a write (an HTTP notification posted to two
// nodes at once is stored once).
func (e *Env) Lock(ctx context.Context, name string) (unlock func(), err error) {
	if e == nil || e.lock == nil {
		return func() {}, nil
	}
	return e.lock(ctx, name)
}

// Trigger calls TriggerRun when set; it reports whether a run was asked.
func (e *Env) Trigger(reason string) bool {
	if e == nil || e.TriggerRun == nil {
		return false
	}
	return e.TriggerRun(reason)
}

// Conn returns the decoded options of the named connection (a pointer of
// the connection type's options struct) and the type's name. A missing
// name gives an error that lists the configured connections.
func (e *Env) Conn(name string) (typ string, opts any, err error) {
	return e.Config.conn(name)
}

// RunContext is what one run of a job gets.
type RunContext struct {
	Run    ledger.Run
	Ledger ledger.Ledger
	// Log carries the job name and run id on every line.
	Log *slog.Logger
	// Full asks for a full reconcile instead of an incremental run
	// (`fieldbridge once -full`).
	Full bool
	// Now is the clock; tests may replace it.
	Now func() time.Time

	metrics     *Metrics
	mu          sync.Mutex
	counts      map[string]int64
	undelivered int64
	problems    []Problem
}

// CounterFailed is the counter of items that failed (rc.Count): any makes
// the run's outcome partial.
const CounterFailed = "failed"

// Problem is something in a run that a person must act on.
type Problem struct {
	// Item names what failed: a box code, "tasks.xlsx row 14".
	Item    string
	Message string
}

// Count adds n to the run's counter name ("created", "failed", ...).
// Items counted "failed" (CounterFailed) were not delivered: the run ends
// partial. Safe for concurrent use.
func (rc *RunContext) Count(name string, n int64) {
	rc.count(name, n, name == CounterFailed)
}

// CountUndelivered adds n to the run's counter name for items that were
// reported (rc.Problem) and deliberately not sent, such as conflicts a
// person must resolve: like failed items, they make the run's outcome
// partial (exit 1 for `once`) and are counted in
// fieldbridge_items_undelivered_total. Safe for concurrent use.
func (rc *RunContext) CountUndelivered(name string, n int64) {
	rc.count(name, n, true)
}

func (rc *RunContext) count(name string, n int64, undelivered bool) {
	rc.mu.Lock()
	if rc.counts == nil {
		rc.counts = map[string]int64{}
	}
	rc.counts[name] += n
	if undelivered && n > 0 {
		rc.undelivered += n
	}
	rc.mu.Unlock()
	if rc.metrics != nil {
		rc.metrics.items(rc.Run.Job, name, n)
		if undelivered {
			rc.metrics.undelivered(rc.Run.Job, name, n)
		}
	}
}

// Undelivered is how many items so far were not delivered (failed, or
// counted with CountUndelivered).
func (rc *RunContext) Undelivered() int64 {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.undelivered
}

// Problem records something a person must act on; it appears in the run's
// report. Safe for concurrent use.
func (rc *RunContext) Problem(item, message string) {
	rc.mu.Lock()
	rc.problems = append(rc.problems, Problem{Item: item, Message: message})
	rc.mu.Unlock()
}

// Counts returns a copy of the counters.
func (rc *RunContext) Counts() map[string]int64 {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string]int64, len(rc.counts))
	for k, v := range rc.counts {
		out[k] = v
	}
	return out
}

// Problems returns a copy of the problems recorded so far.
func (rc *RunContext) Problems() []Problem {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Problem(nil), rc.problems...)
}

// NewRunContext makes the context of one run. The engine's runner uses it;
// flow tests use it to run a job directly.
func NewRunContext(run ledger.Run, l ledger.Ledger, log *slog.Logger, m *Metrics) *RunContext {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RunContext{Run: run, Ledger: l, Log: log, Now: time.Now, metrics: m, counts: map[string]int64{}}
}

// AddKind registers a job kind; a second kind of the same name panics (a
// programming error in the cmd package's registry).
func (r *Registry) AddKind(k Kind) {
	if r.Kinds == nil {
		r.Kinds = map[string]Kind{}
	}
	if _, dup := r.Kinds[k.Name]; dup {
		panic("bridge: kind registered twice: " + k.Name)
	}
	r.Kinds[k.Name] = k
}

// AddConn registers a connection type; a duplicate name panics.
func (r *Registry) AddConn(c ConnType) {
	if r.Conns == nil {
		r.Conns = map[string]ConnType{}
	}
	if _, dup := r.Conns[c.Name]; dup {
		panic("bridge: connection type registered twice: " + c.Name)
	}
	r.Conns[c.Name] = c
}
