package results

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/transports"
	"github.com/fieldbridge/fieldbridge/transports/local"
)

const testToken = "s3cret-token-0123456789"

// fixture is a job wired to a ledger and transports for a test.
type fixture struct {
	job    *Job
	ledger ledger.Ledger
	env    *bridge.Env
	// targetDir is the local path of the customer's folder.
	targetDir string
	run       int64
}

func openLedger(t testing.TB, dir string) ledger.Ledger {
	t.Helper()
	l, err := ledger.OpenSQLite(context.Background(), filepath.Join(dir, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func localT(t testing.TB, dir string) transports.Transport {
	t.Helper()
	fs, err := local.New(context.Background(), local.Options{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func testLog(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newFixture builds a job from opts (Source/Target names are set when
// empty) with the given source transport (nil: none) and a local target.
func newFixture(t testing.TB, l ledger.Ledger, opts Options, source transports.Transport, targetDir string) *fixture {
	t.Helper()
	if l == nil {
		l = openLedger(t, t.TempDir())
	}
	if targetDir == "" {
		targetDir = t.TempDir()
	}
	if opts.TargetDir == "" {
		opts.TargetDir = targetDir
	}
	if source != nil && opts.Source == "" {
		opts.Source = "export"
	}
	env := &bridge.Env{Ledger: l, Log: testLog(t)}
	j, err := New(env, bridge.JobSpec{Name: "results", Kind: KindName}, opts)
	if err != nil {
		t.Fatal(err)
	}
	j.SetTransports(source, localT(t, targetDir))
	t.Cleanup(func() { j.Close() })
	return &fixture{job: j, ledger: l, env: env, targetDir: targetDir}
}

// poll runs the job once and returns its run context.
func (f *fixture) poll(t testing.TB) *bridge.RunContext {
	t.Helper()
	ctx := context.Background()
	run, err := f.ledger.BeginRun(ctx, "results", f.job.now())
	if err != nil {
		t.Fatal(err)
	}
	rc := bridge.NewRunContext(run, f.ledger, f.env.Log, nil)
	rc.Now = f.job.now
	if err := f.job.Run(ctx, rc); err != nil {
		t.Fatalf("run: %v", err)
	}
	return rc
}

// tree lists the regular files under dir (slash paths) with their
// contents, skipping nothing: a leftover temporary file shows up too.
func tree(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(r)] = string(b)
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func writeFile(t testing.TB, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func problemsText(rc *bridge.RunContext) string {
	var b strings.Builder
	for _, p := range rc.Problems() {
		b.WriteString(p.Item + ": " + p.Message + "\n")
	}
	return b.String()
}

var _ = io.EOF
