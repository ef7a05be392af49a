package bridge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
)

// ReloadSummary says what a reload did to each job, by name.
type ReloadSummary struct {
	// Started are the jobs new in the configuration.
	Started []string
	// Stopped are the jobs no longer in it.
	Stopped []string
	// Restarted are the jobs whose effective configuration changed: their
	// own table, a connection they use, or a general setting they read.
	Restarted []string
	// Unchanged are the jobs left running as they were.
	Unchanged []string
	// AtRestart names the settings that changed but take effect only when
	// the daemon starts again (data_dir, [ledger], [log], [http] listen);
	// their old values stay in force.
	AtRestart []string
}

// ErrReloadRefused is returned (wrapped) by Reload when the new
// configuration cannot be applied; the old one stays in force.
var ErrReloadRefused = errors.New("configuration refused; the previous one stays in force")

// Reload replaces the engine's configuration with cfg, a configuration
// that passed LoadConfig (`fieldbridge check`). Every job is built anew
// first: when any cannot be built, or the HTTP routes conflict, nothing
// changes and the error (wrapping ErrReloadRefused) lists the problems.
//
// Otherwise, jobs whose effective configuration is unchanged keep running
// untouched; removed jobs stop taking triggers; changed jobs are replaced:
// a run in progress finishes on the old configuration, then the new
// version starts. New jobs start. The HTTP server serves the new routes;
// metrics and the status page carry on. Settings that cannot change while
// running (see ReloadSummary.AtRestart) keep their old values.
//
// Reload may be called whether or not Run is running; reloads are
// serialised.
func (e *Engine) Reload(ctx context.Context, cfg *Config) (ReloadSummary, error) {
	var sum ReloadSummary
	if cfg == nil {
		return sum, fmt.Errorf("%w: no configuration", ErrReloadRefused)
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()

	old := e.Config()
	sum.AtRestart = keepStartupSettings(old, cfg)
	built, err := e.buildJobs(cfg)
	if err != nil {
		return sum, fmt.Errorf("%w: %w", ErrReloadRefused, err)
	}

	e.mu.RLock()
	oldByName := e.byName
	oldJobs := e.jobs
	srv := e.server
	e.mu.RUnlock()

	var (
		next      []*jobState // the jobs of cfg, as they will run
		spare     []*jobState // built, but an unchanged job stays instead
		restarted = map[string]*jobState{}
	)
	for _, nj := range built {
		name := nj.cfg.Spec.Name
		oj, ok := oldByName[name]
		switch {
		case ok && oj.fingerprint == nj.fingerprint:
			next = append(next, oj)
			spare = append(spare, nj)
			sum.Unchanged = append(sum.Unchanged, name)
		case ok:
			next = append(next, nj)
			restarted[name] = oj
			sum.Restarted = append(sum.Restarted, name)
		default:
			next = append(next, nj)
			sum.Started = append(sum.Started, name)
		}
	}
	newNames := map[string]bool{}
	for _, js := range next {
		newNames[js.cfg.Spec.Name] = true
	}
	var removed []*jobState
	for _, oj := range oldJobs {
		if !newNames[oj.cfg.Spec.Name] {
			removed = append(removed, oj)
			sum.Stopped = append(sum.Stopped, oj.cfg.Spec.Name)
		}
	}

	var routes *serverRoutes
	if srv != nil {
		if routes, err = srv.build(cfg, next); err != nil {
			for _, js := range built {
				closeJob(js)
			}
			return ReloadSummary{}, fmt.Errorf("%w: %w", ErrReloadRefused, err)
		}
	}

	// Commit.
	e.mu.Lock()
	e.cfg = cfg
	e.secrets = mergeSecrets(e.secrets, collectSecrets(cfg))
	e.setJobs(next)
	d := e.daemon
	for _, js := range next {
		if d == nil || js.done != nil { // not running, or unchanged and running
			continue
		}
		var after <-chan struct{}
		if oj := restarted[js.cfg.Spec.Name]; oj != nil {
			after = oj.done
		}
		e.startJob(d, js, after)
	}
	for _, oj := range removed {
		e.retire(d, oj)
	}
	for _, name := range sum.Restarted {
		e.retire(d, restarted[name])
	}
	e.mu.Unlock()
	if routes != nil {
		srv.routes.Store(routes)
	}
	for _, js := range spare {
		closeJob(js)
	}

	for _, name := range sum.Started {
		e.log.Info("job started", "job", name, "reason", "new in the configuration")
	}
	for _, name := range sum.Stopped {
		e.log.Info("job stopped", "job", name, "reason", "no longer in the configuration; a run in progress finishes first")
	}
	for _, name := range sum.Restarted {
		e.log.Info("job restarted", "job", name, "reason", "its configuration changed; a run in progress finishes on the previous one")
	}
	if len(sum.AtRestart) > 0 {
		e.log.Warn("settings changed that take effect at the next start; their previous values stay in force", "settings", sum.AtRestart)
	}
	e.log.Info("configuration reloaded", "started", len(sum.Started), "stopped", len(sum.Stopped),
		"restarted", len(sum.Restarted), "unchanged", len(sum.Unchanged))
	return sum, nil
}

// retire stops js's triggers and closes the job once its run in progress
// has ended. The caller holds e.mu.
func (e *Engine) retire(d *daemon, js *jobState) {
	if js.stop == nil { // never started
		closeJob(js)
		return
	}
	js.stop()
	closeLater := func() {
		<-js.done
		if err := closeJob(js); err != nil {
			e.log.Warn("closing a retired job", "err", err)
		}
	}
	if d == nil {
		go closeLater()
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		closeLater()
	}()
}

// keepStartupSettings copies into cfg the settings of old that only take
// effect at start, and names those that differ.
func keepStartupSettings(old, cfg *Config) []string {
	var changed []string
	if old.DataDir != cfg.DataDir {
		changed = append(changed, "data_dir")
		cfg.DataDir = old.DataDir
	}
	if old.Ledger != cfg.Ledger {
		changed = append(changed, "[ledger]")
		cfg.Ledger = old.Ledger
	}
	if old.Log != cfg.Log {
		changed = append(changed, "[log]")
		cfg.Log = old.Log
	}
	if old.HTTP.Listen != cfg.HTTP.Listen {
		changed = append(changed, "[http] listen")
		cfg.HTTP.Listen = old.HTTP.Listen
	}
	return changed
}

func mergeSecrets(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// jobFingerprint hashes what a job's behaviour depends on: its table
// (spec and options, secrets included, its line in the file not), the
// connections it names, the general settings jobs read, and for jobs
// serving HTTP, the server's token.
func jobFingerprint(cfg *Config, jc JobConfig, serves bool) string {
	conns := map[string]any{}
	for _, name := range usedConns(cfg, jc.Options) {
		typ, opts, _ := cfg.conn(name)
		conns[name] = map[string]any{"type": typ, "options": optionValue(reflect.ValueOf(opts), false)}
	}
	v := map[string]any{
		"spec":        optionValue(reflect.ValueOf(jc.Spec), false),
		"kind":        jc.Kind.Name,
		"options":     optionValue(reflect.ValueOf(jc.Options), false),
		"connections": conns,
		"general": map[string]any{
			"data_dir": cfg.DataDir, "timezone": cfg.Timezone, "language": cfg.Language, "dir": cfg.Dir(),
		},
	}
	if serves {
		v["http"] = map[string]any{"token": cfg.HTTP.Token, "max_body": cfg.HTTP.MaxBody}
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Not expected for options structs; an unhashable job always restarts.
		return fmt.Sprintf("unhashable: %p", jc.Options)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// usedConns returns the names of cfg's connections that opts names: every
// string option (at any depth) equal to a connection's name.
func usedConns(cfg *Config, opts any) []string {
	seen := map[string]bool{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.String:
			if _, ok := cfg.conns[v.String()]; ok {
				seen[v.String()] = true
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Map:
			for _, k := range v.MapKeys() {
				walk(v.MapIndex(k))
			}
		}
	}
	walk(reflect.ValueOf(opts))
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
