package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// reloadOpts are the options of the "rp" kind.
type reloadOpts struct {
	Conn  string `toml:"conn"`
	Tag   string `toml:"tag"`
	Block bool   `toml:"block"` // a run waits for release (or its context)
	Fail  bool   `toml:"fail"`  // New refuses the job
	Route string `toml:"route"` // "GET /x": the job serves it
}

type reloadConnOpts struct {
	Host string `toml:"host"`
}

// reloadJob is one built instance of an "rp" job.
type reloadJob struct {
	name, tag string
	block     bool
	release   chan struct{}
	started   chan struct{} // closed when the first run begins
	startOnce sync.Once
	runs      atomic.Int32
	done      atomic.Int32 // runs that returned nil
	closed    atomic.Bool
	route     string
}

func (j *reloadJob) Run(ctx context.Context, rc *RunContext) error {
	j.runs.Add(1)
	j.startOnce.Do(func() { close(j.started) })
	if j.block {
		select {
		case <-j.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	j.done.Add(1)
	return nil
}

func (j *reloadJob) Close() error { j.closed.Store(true); return nil }

type reloadRouteJob struct{ *reloadJob }

func (j reloadRouteJob) Routes() []Route {
	return []Route{{Pattern: j.route, Public: true, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, j.name+" "+j.tag)
	})}}
}

// running returns the instance the engine runs for name (nil when none).
func running(e *Engine, name string) *reloadJob {
	js, ok := e.job(name)
	if !ok {
		return nil
	}
	switch j := js.job.(type) {
	case *reloadJob:
		return j
	case reloadRouteJob:
		return j.reloadJob
	}
	return nil
}

func reloadRegistry() *Registry {
	return &Registry{
		Kinds: map[string]Kind{"rp": {Name: "rp", NewOptions: func() any { return &reloadOpts{} },
			New: func(env *Env, spec JobSpec, o any) (Job, error) {
				opts := o.(*reloadOpts)
				if opts.Fail {
					return nil, OptionErrorf("fail", "this job refuses to be built")
				}
				if opts.Conn != "" {
					if _, _, err := env.Conn(opts.Conn); err != nil {
						return nil, OptionErrorf("conn", "%v", err)
					}
				}
				j := &reloadJob{name: spec.Name, tag: opts.Tag, block: opts.Block, route: opts.Route,
					release: make(chan struct{}), started: make(chan struct{})}
				if opts.Route != "" {
					return reloadRouteJob{j}, nil
				}
				return j, nil
			}}},
		Conns: map[string]ConnType{"rc": {Name: "rc", NewOptions: func() any { return &reloadConnOpts{} }}},
	}
}

// reparse parses text as the engine's config file (same path) would be.
func reparse(t *testing.T, te *testEngine, text string, reg *Registry) *Config {
	t.Helper()
	cfg, err := ParseConfig(te.Config().Path, []byte("data_dir = \"data\"\n"+text), reg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const reloadBase = `
[connections.c1]
type = "rc"
host = "a"
[connections.c2]
type = "rc"
host = "b"

[[job]]
name = "j"
kind = "rp"
interval = "1h"
conn = "c1"
tag = "v1"
`

// TestReloadFingerprint: which changes restart a job and which leave it
// untouched.
func TestReloadFingerprint(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(string) string
		restart bool
	}{
		{"same text", func(s string) string { return s }, false},
		{"moved down, comments added", func(s string) string { return "# a comment\n\n" + s }, false},
		{"its option changed", func(s string) string { return strings.Replace(s, `tag = "v1"`, `tag = "v2"`, 1) }, true},
		{"the connection it uses changed", func(s string) string { return strings.Replace(s, `host = "a"`, `host = "z"`, 1) }, true},
		{"a connection it does not use changed", func(s string) string { return strings.Replace(s, `host = "b"`, `host = "z"`, 1) }, false},
		{"it uses another connection", func(s string) string { return strings.Replace(s, `conn = "c1"`, `conn = "c2"`, 1) }, true},
		{"the language changed", func(s string) string { return "language = \"es\"\n" + s }, true},
		{"its trigger changed", func(s string) string { return strings.Replace(s, `interval = "1h"`, `interval = "2h"`, 1) }, true},
		{"disabled", func(s string) string { return strings.Replace(s, `kind = "rp"`, "kind = \"rp\"\nenabled = false", 1) }, true},
		{"log level (at restart only)", func(s string) string { return "[log]\nlevel = \"debug\"\n" + s }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := reloadRegistry()
			te := newTestEngine(t, reloadBase, reg, EngineOptions{})
			before := running(te.Engine, "j")
			sum, err := te.Reload(context.Background(), reparse(t, te, tt.edit(reloadBase), reg))
			if err != nil {
				t.Fatal(err)
			}
			after := running(te.Engine, "j")
			if tt.restart {
				if !reflect.DeepEqual(sum.Restarted, []string{"j"}) || after == before || !before.closed.Load() {
					t.Fatalf("want j restarted (old closed): %+v, same instance %v, old closed %v", sum, after == before, before.closed.Load())
				}
			} else {
				if !reflect.DeepEqual(sum.Unchanged, []string{"j"}) || after != before || before.closed.Load() {
					t.Fatalf("want j untouched: %+v, same instance %v, closed %v", sum, after == before, before.closed.Load())
				}
			}
		})
	}
}

// TestReloadRunningDaemon: on a running engine, a reload starts the new
// job, stops the removed one, lets a changed job's run in progress finish
// on the old configuration before the new version starts, leaves the
// unchanged job alone, and swaps the HTTP routes; the metrics and status
// carry on.
func TestReloadRunningDaemon(t *testing.T) {
	reg := reloadRegistry()
	base := "[http]\npublic_metrics = true\n" + reloadBase + `
[[job]]
name = "edit"
kind = "rp"
interval = "1h"
tag = "v1"
block = true
route = "GET /edit"

[[job]]
name = "gone"
kind = "rp"
interval = "1h"
`
	te := newTestEngine(t, base, reg, EngineOptions{})
	srv, err := NewServer(te.Engine)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	te.start()
	defer te.stop(t)
	waitFor(t, "ready", te.Ready)
	keep, edit1, gone := running(te.Engine, "j"), running(te.Engine, "edit"), running(te.Engine, "gone")
	<-edit1.started // its run is in progress, blocked
	waitFor(t, "the first runs", func() bool { return keep.done.Load() == 1 && gone.done.Load() == 1 })
	if got := get(t, hs.URL+"/edit"); got != "edit v1" {
		t.Fatalf("GET /edit = %q", got)
	}

	next := strings.Replace(base, `tag = "v1"
block = true`, `tag = "v2"`, 1)
	next = strings.Replace(next, "[[job]]\nname = \"gone\"\nkind = \"rp\"\ninterval = \"1h\"\n", "[[job]]\nname = \"fresh\"\nkind = \"rp\"\ninterval = \"1h\"\nroute = \"GET /fresh\"\n", 1)
	sum, err := te.Reload(context.Background(), reparse(t, te, next, reg))
	if err != nil {
		t.Fatal(err)
	}
	want := ReloadSummary{Started: []string{"fresh"}, Stopped: []string{"gone"}, Restarted: []string{"edit"}, Unchanged: []string{"j"}}
	if !reflect.DeepEqual(sum, want) {
		t.Fatalf("summary = %+v, want %+v", sum, want)
	}
	fresh := running(te.Engine, "fresh")
	waitFor(t, "the new job's first run", func() bool { return fresh.done.Load() == 1 })
	if got := get(t, hs.URL+"/fresh"); got != "fresh " {
		t.Fatalf("GET /fresh = %q", got)
	}
	// The changed job: its new version serves the route at once, but does
	// not run until the old run, on the old configuration, has finished.
	if got := get(t, hs.URL+"/edit"); got != "edit v2" {
		t.Fatalf("GET /edit after reload = %q", got)
	}
	edit2 := running(te.Engine, "edit")
	if edit2 == edit1 || edit2.runs.Load() != 0 {
		t.Fatalf("new version of edit ran %d times while the old run was in progress", edit2.runs.Load())
	}
	close(edit1.release)
	waitFor(t, "the new version of edit to run", func() bool { return edit2.done.Load() == 1 })
	if edit1.done.Load() != 1 {
		t.Fatal("the old run of edit did not finish normally")
	}
	waitFor(t, "old edit closed", edit1.closed.Load)
	// The removed job: closed, and no longer triggered.
	waitFor(t, "gone closed", gone.closed.Load)
	if te.Trigger("gone", "test") {
		t.Fatal("a removed job can still be triggered")
	}
	// The unchanged job: the same instance, not run again.
	if running(te.Engine, "j") != keep || keep.runs.Load() != 1 || keep.closed.Load() {
		t.Fatalf("unchanged job touched: runs %d", keep.runs.Load())
	}
	// Metrics and status page: the new job is there.
	if m := get(t, hs.URL+"/metrics"); !strings.Contains(m, `fieldbridge_runs_total{job="fresh",outcome="ok"} 1`) {
		t.Fatalf("metrics lack the new job's run:\n%s", m)
	}
	var names []string
	for _, s := range te.Status(context.Background()) {
		names = append(names, s.Name)
	}
	if !reflect.DeepEqual(names, []string{"j", "edit", "fresh"}) {
		t.Fatalf("status jobs = %v", names)
	}
}

// TestReloadRefused: a configuration whose jobs cannot be built, or whose
// routes conflict, changes nothing.
func TestReloadRefused(t *testing.T) {
	tests := []struct {
		name, add, want string
	}{
		// (check passed it, but the engine's build fails: fail is set after parsing)
		{"a job cannot be built", "[[job]]\nname = \"bad\"\nkind = \"rp\"\n", "this job refuses"},
		{"two jobs serve one route", "[[job]]\nname = \"r1\"\nkind = \"rp\"\nroute = \"GET /x\"\n[[job]]\nname = \"r2\"\nkind = \"rp\"\nroute = \"GET /x\"\n", `job "r2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := reloadRegistry()
			te := newTestEngine(t, reloadBase, reg, EngineOptions{})
			if _, err := NewServer(te.Engine); err != nil {
				t.Fatal(err)
			}
			te.start()
			defer te.stop(t)
			waitFor(t, "ready", te.Ready)
			j := running(te.Engine, "j")
			oldCfg := te.Config()
			cfg := reparse(t, te, strings.Replace(reloadBase, `tag = "v1"`, `tag = "v2"`, 1)+tt.add, reg)
			if jc, ok := cfg.Job("bad"); ok {
				jc.Options.(*reloadOpts).Fail = true
			}
			_, err := te.Reload(context.Background(), cfg)
			if !errors.Is(err, ErrReloadRefused) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v", err)
			}
			if te.Config() != oldCfg || running(te.Engine, "j") != j || j.closed.Load() {
				t.Fatal("a refused reload changed the engine")
			}
			waitFor(t, "j's first run", func() bool { return j.done.Load() == 1 })
			if !te.Trigger("j", "test") {
				t.Fatal("j is gone")
			}
			waitFor(t, "j to run on", func() bool { return j.done.Load() == 2 })
		})
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("%d %s", resp.StatusCode, b)
	}
	return string(b)
}
