package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

// version is set with -ldflags "-X main.version=v1.2.3"; otherwise the
// module version and VCS revision from the build info are used.
var version = ""

// loadConfig loads -config, printing every problem; ok false means exit 2.
func loadConfig(a *app, path string, reg *bridge.Registry) (*bridge.Config, bool) {
	cfg, err := bridge.LoadConfig(path, reg)
	if err != nil {
		var ce *bridge.ConfigError
		if errors.As(err, &ce) {
			fmt.Fprintf(a.stderr, "%s: %d problem(s):\n%s\n", path, len(ce.Problems), indent(ce.Error(), "  "))
		} else {
			fmt.Fprintf(a.stderr, "fieldbridge: %v\n", err)
		}
		return nil, false
	}
	return cfg, true
}

func newEngine(ctx context.Context, a *app, cfg *bridge.Config, reg *bridge.Registry) (*bridge.Engine, int) {
	log, err := bridge.NewLogger(a.stderr, cfg.Log)
	if err != nil {
		fmt.Fprintf(a.stderr, "fieldbridge: %v\n", err)
		return nil, exitUsage
	}
	logConnWarnings(log, connWarnings(cfg))
	e, err := bridge.NewEngine(ctx, bridge.EngineOptions{Config: cfg, Registry: reg, Log: log})
	if err != nil {
		fmt.Fprintf(a.stderr, "fieldbridge: cannot start: %v\n", err)
		return nil, exitCannot
	}
	return e, exitOK
}

func cmdOnce(ctx context.Context, a *app, args []string) int {
	fs := newFlags(a, "once", "-config FILE [-full] JOB", "Run one job now, print its report and exit. This is also how a system\nscheduler (cron, systemd timers) runs fieldbridge.\n\nExit codes: 0 ok; 1 some items failed or were held back (conflicts); 2 usage or config error; 3 the job could not run.")
	config := fs.String("config", defaultConfig, "configuration `file`")
	full := fs.Bool("full", false, "full reconcile instead of an incremental run")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(a.stderr, "fieldbridge once: name exactly one job")
		fs.Usage()
		return exitUsage
	}
	reg := a.reg()
	cfg, ok := loadConfig(a, *config, reg)
	if !ok {
		return exitUsage
	}
	if _, ok := cfg.Job(fs.Arg(0)); !ok {
		var names []string
		for _, j := range cfg.Jobs {
			names = append(names, j.Spec.Name)
		}
		fmt.Fprintf(a.stderr, "fieldbridge once: no job named %q in %s (configured: %s)\n", fs.Arg(0), *config, strings.Join(names, ", "))
		return exitUsage
	}
	e, code := newEngine(ctx, a, cfg, reg)
	if e == nil {
		return code
	}
	defer e.Close()
	rep, err := e.RunOnce(ctx, fs.Arg(0), *full)
	if err != nil {
		fmt.Fprintf(a.stderr, "fieldbridge: %v\n", err)
		return exitCannot
	}
	bridge.WriteReport(a.stdout, rep, cfg.Language, cfg.Location())
	return outcomeCode(rep.Run.Outcome)
}

func outcomeCode(outcome string) int {
	switch outcome {
	case ledger.OutcomeOK:
		return exitOK
	case ledger.OutcomePartial:
		return exitItems
	}
	return exitCannot
}

func cmdCheck(ctx context.Context, a *app, args []string) int {
	fs := newFlags(a, "check", "-config FILE [-connect] [-v]", "Validate the configuration and report every problem at once, each with\nits line, and warn of each connection with a safety check turned off\n(warnings do not change the exit code). With -connect, also try each\nconfigured server and API.")
	config := fs.String("config", defaultConfig, "configuration `file`")
	connect := fs.Bool("connect", false, "also try each connection and report which answer")
	verbose := fs.Bool("v", false, "print the effective configuration (secrets redacted)")
	timeout := fs.Duration("timeout", 20*time.Second, "time allowed per connection with -connect")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	reg := a.reg()
	cfg, ok := loadConfig(a, *config, reg)
	if !ok {
		return exitUsage
	}
	warnings := connWarnings(cfg)
	nwarn := ""
	if len(warnings) > 0 {
		nwarn = fmt.Sprintf(", %d with a safety check off (warnings below)", len(warnings))
	}
	fmt.Fprintf(a.stdout, "%s: OK — %d job(s), %d connection(s)%s\n", *config, len(cfg.Jobs), len(cfg.Conns), nwarn)
	for _, j := range cfg.Jobs {
		trig := []string{}
		if j.Spec.Schedule != "" {
			trig = append(trig, "schedule "+j.Spec.Schedule)
		}
		if j.Spec.Interval.Duration > 0 {
			trig = append(trig, "every "+j.Spec.Interval.Duration.String())
		}
		state := ""
		if j.Spec.Enabled != nil && !*j.Spec.Enabled {
			state = " (disabled)"
		}
		if len(trig) == 0 {
			trig = append(trig, "on its own trigger or with once")
		}
		fmt.Fprintf(a.stdout, "  job %-24s %-22s %s%s\n", j.Spec.Name, j.Kind.Name, strings.Join(trig, ", "), state)
	}
	for _, c := range cfg.Conns {
		fmt.Fprintf(a.stdout, "  connection %-17s %s\n", c.Name, c.Type)
	}
	// Warnings do not change the exit code: the config works as written.
	printConnWarnings(a.stdout, warnings)
	if *verbose {
		fmt.Fprintf(a.stdout, "\n# effective configuration (secrets redacted)\n%s", bridge.Redacted(struct {
			DataDir  string            `toml:"data_dir"`
			Timezone string            `toml:"timezone"`
			Language string            `toml:"language"`
			Log      bridge.LogConfig  `toml:"log"`
			HTTP     bridge.HTTPConfig `toml:"http"`
		}{cfg.DataDir, cfg.Timezone, cfg.Language, cfg.Log, cfg.HTTP}))
		for _, c := range cfg.Conns {
			fmt.Fprintf(a.stdout, "\n[connections.%s]\ntype = %q\n%s", c.Name, c.Type, bridge.Redacted(c.Options))
		}
		for _, j := range cfg.Jobs {
			fmt.Fprintf(a.stdout, "\n[[job]]\nname = %q\nkind = %q\n%s", j.Spec.Name, j.Kind.Name, bridge.Redacted(j.Options))
		}
	}
	if !*connect {
		return exitOK
	}
	fmt.Fprintln(a.stdout, "\nconnections:")
	failed := 0
	for _, c := range cfg.Conns {
		ct := reg.Conns[c.Type]
		if ct.Connect == nil {
			fmt.Fprintf(a.stdout, "  %-20s not checked (type %s has no connection test)\n", c.Name, c.Type)
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, *timeout)
		t0 := time.Now()
		err := ct.Connect(cctx, c.Options)
		cancel()
		if err != nil {
			failed++
			msg := err.Error()
			for _, s := range bridge.SecretValues(c.Options) {
				msg = strings.ReplaceAll(msg, s, "<redacted>")
			}
			fmt.Fprintf(a.stdout, "  %-20s FAILED: %s\n", c.Name, msg)
			continue
		}
		fmt.Fprintf(a.stdout, "  %-20s ok (%s)\n", c.Name, time.Since(t0).Round(time.Millisecond))
	}
	if failed > 0 {
		fmt.Fprintf(a.stdout, "%d connection(s) did not answer\n", failed)
		return exitCannot
	}
	return exitOK
}

func cmdRuns(ctx context.Context, a *app, args []string) int {
	fs := newFlags(a, "runs", "-config FILE [-job JOB] [-n N]", "List recent runs from the ledger, newest first.")
	config := fs.String("config", defaultConfig, "configuration `file`")
	job := fs.String("job", "", "only this job's runs")
	n := fs.Int("n", 20, "how many runs")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	reg := a.reg()
	cfg, ok := loadConfig(a, *config, reg)
	if !ok {
		return exitUsage
	}
	path := filepath.Join(cfg.DataDir, "ledger.db")
	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(a.stderr, "fieldbridge runs: no ledger yet at %s (nothing has run)\n", path)
		return exitCannot
	}
	l, err := ledger.OpenSQLite(ctx, path)
	if err != nil {
		fmt.Fprintf(a.stderr, "fieldbridge: %v\n", err)
		return exitCannot
	}
	defer l.Close()
	runs, err := l.Runs(ctx, ledger.RunFilter{Job: *job, Limit: *n})
	if err != nil {
		fmt.Fprintf(a.stderr, "fieldbridge: %v\n", err)
		return exitCannot
	}
	loc := cfg.Location()
	tw := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tJOB\tSTARTED\tDURATION\tOUTCOME\tMESSAGE")
	for _, r := range runs {
		dur := "-"
		if !r.Ended.IsZero() {
			dur = r.Ended.Sub(r.Started).Round(time.Millisecond).String()
		}
		msg := r.Message
		if len(msg) > 100 {
			msg = msg[:97] + "..."
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Job, r.Started.In(loc).Format("2006-01-02 15:04:05"), dur, r.Outcome, msg)
	}
	tw.Flush()
	if len(runs) == 0 {
		fmt.Fprintln(a.stdout, "(no runs)")
	}
	return exitOK
}

func cmdVersion(ctx context.Context, a *app, args []string) int {
	fs := newFlags(a, "version", "", "Print the version.")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	fmt.Fprintln(a.stdout, "fieldbridge", versionString())
	return exitOK
}

func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " " + rev + dirty
	}
	return v + " " + bi.GoVersion
}

// quietLogger discards logs (demo steps print for a person instead).
func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
