// Package bridgetest helps test job kinds against the real engine parts:
// a real SQLite ledger in a temporary folder, a RunContext whose logs go to
// the test log, and configurations parsed from text.
package bridgetest

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

// Ledger opens a fresh SQLite ledger in t.TempDir(), closed at the end of
// the test.
func Ledger(t testing.TB) *ledger.SQLite {
	t.Helper()
	l, err := ledger.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// Logger returns a logger writing to the test log.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// RunContext begins a run of job in l (as the engine does) and returns its
// context (the outcome is not recorded: call l.EndRun if the test needs it).
func RunContext(t testing.TB, l ledger.Ledger, job string) *bridge.RunContext {
	t.Helper()
	run, err := l.BeginRun(context.Background(), job, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return bridge.NewRunContext(run, l, Logger(t).With("job", job, "run", run.ID), nil)
}

// Config parses configuration text as if read from a file in a temporary
// folder (data_dir defaults to that folder's "data"), failing the test on
// any problem.
func Config(t testing.TB, text string, reg *bridge.Registry) *bridge.Config {
	t.Helper()
	cfg, err := bridge.ParseConfig(filepath.Join(t.TempDir(), "config.toml"), []byte(text), reg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Engine builds a real engine (SQLite ledger in cfg.DataDir, logs to the
// test log), closed at the end of the test. Run a job with e.RunOnce.
func Engine(t testing.TB, cfg *bridge.Config, reg *bridge.Registry) *bridge.Engine {
	t.Helper()
	e, err := bridge.NewEngine(context.Background(), bridge.EngineOptions{Config: cfg, Registry: reg, Log: Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}
