package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/fieldbridge/fieldbridge/bridge"
)

// serviceHooks are what a service manager adds to the daemon.
type serviceHooks struct {
	// reload delivers requests to re-read the configuration (SIGHUP, or
	// the Windows service's paramchange control).
	reload <-chan struct{}
	// notify tells the service manager the daemon's state in sd_notify's
	// words: READY=1, RELOADING=1, STOPPING=1 (nil: nobody listens).
	notify func(state string) error
	// logTo, when set, also receives every log record (the event log).
	logTo slog.Handler
	// logInDataDir writes the log to data_dir/fieldbridge.log when [log]
	// file is not set (a service has no stderr anyone reads).
	logInDataDir bool
}

func cmdRun(ctx context.Context, a *app, args []string) int {
	fs := newFlags(a, "run", "-config FILE", "Run the daemon: every enabled job on its trigger (schedule, interval,\nfolder watch) plus the HTTP server. SIGINT/SIGTERM stop it cleanly;\nSIGHUP re-reads the configuration and reopens the log file.\n\nUnder systemd (Type=notify) it says READY=1 once the jobs are started.")
	config := fs.String("config", defaultConfig, "configuration `file`")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(a.stderr, "fieldbridge run: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	sd := newSDNotifier(os.Getenv)
	return runDaemon(ctx, a, *config, serviceHooks{reload: reloadRequests(ctx), notify: sd.Notify})
}

// reloadRequests turns the reload signals into requests until ctx is
// done; requests arriving during a reload coalesce into one.
func reloadRequests(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	sigs := reloadSignals()
	if len(sigs) == 0 {
		return out
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out
}

// runDaemon is `run`: the engine and the HTTP server until ctx is done,
// re-reading the configuration at each request on h.reload.
func runDaemon(ctx context.Context, a *app, path string, h serviceHooks) int {
	notify := func(log *slog.Logger, state string) {
		if h.notify == nil {
			return
		}
		if err := h.notify(state); err != nil {
			log.Warn("cannot tell the service manager", "err", err)
		}
	}
	reg := a.reg()
	cfg, ok := loadConfig(a, path, reg)
	if !ok {
		return exitUsage
	}
	lc := cfg.Log
	if lc.File == "" && h.logInDataDir {
		lc.File = filepath.Join(cfg.DataDir, "fieldbridge.log")
	}
	stderr, _ := a.stderr.(*os.File)
	log, err := newDaemonLog(a.stderr, lc, stderr != nil && onJournal(stderr, os.Getenv), h.logTo)
	if err != nil {
		fmt.Fprintf(a.stderr, "fieldbridge: %v\n", err)
		return exitUsage
	}
	defer log.Close()
	logConnWarnings(log.Logger, connWarnings(cfg))
	e, err := bridge.NewEngine(ctx, bridge.EngineOptions{Config: cfg, Registry: reg, Log: log.Logger})
	if err != nil {
		log.Error("cannot start", "err", err)
		fmt.Fprintf(a.stderr, "fieldbridge: cannot start: %v\n", err)
		return exitCannot
	}
	defer e.Close()

	errc := make(chan error, 1)
	go func() { errc <- bridge.RunDaemon(ctx, e) }()
	started, done := e.Started(), ctx.Done()
	for {
		select {
		case <-started:
			started = nil
			notify(log.Logger, "READY=1")
		case <-h.reload:
			notify(log.Logger, reloading())
			reload(ctx, e, path, reg, log)
			notify(log.Logger, "READY=1")
		case <-done:
			done = nil
			notify(log.Logger, "STOPPING=1")
		case err := <-errc:
			if err != nil {
				log.Error("daemon stopped", "err", err)
				fmt.Fprintf(a.stderr, "fieldbridge: %v\n", err)
				return exitCannot
			}
			if err := e.Close(); err != nil {
				fmt.Fprintf(a.stderr, "fieldbridge: closing the ledger: %v\n", err)
				return exitCannot
			}
			return exitOK
		}
	}
}

// reload reopens the log file and re-reads the configuration at path: a
// configuration that does not pass `check` is refused, each problem
// logged, and the running one stays.
func reload(ctx context.Context, e *bridge.Engine, path string, reg *bridge.Registry, log *daemonLog) {
	if err := log.Reopen(); err != nil {
		log.Error("cannot reopen the log file; still writing the old one", "err", err)
	}
	log.Info("reloading the configuration", "file", path)
	cfg, err := bridge.LoadConfig(path, reg)
	if err != nil {
		var ce *bridge.ConfigError
		if errors.As(err, &ce) {
			for _, p := range ce.Problems {
				log.Error("configuration problem", "problem", (&bridge.ConfigError{File: ce.File, Problems: []bridge.ConfigProblem{p}}).Error())
			}
		}
		log.Error("configuration refused; the previous one stays in force", "file", path, "err", errSummary(err))
		return
	}
	logConnWarnings(log.Logger, connWarnings(cfg))
	if _, err := e.Reload(ctx, cfg); err != nil {
		log.Error("configuration refused", "file", path, "err", err)
	}
}

// errSummary is err's message, or for a *bridge.ConfigError, how many
// problems it lists.
func errSummary(err error) string {
	var ce *bridge.ConfigError
	if errors.As(err, &ce) {
		return fmt.Sprintf("%d problem(s)", len(ce.Problems))
	}
	return err.Error()
}
