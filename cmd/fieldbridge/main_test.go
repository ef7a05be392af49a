package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/bridgetest"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

// testRegistry is the real registry plus the test-work kind.
func testRegistry() *bridge.Registry {
	r := registry()
	if _, ok := r.Kinds["test-work"]; !ok {
		r.AddKind(bridgetest.WorkKind())
	}
	r.AddConn(bridge.ConnType{
		Name:       "test-conn",
		NewOptions: func() any { return &testConnOptions{} },
		Connect: func(ctx context.Context, o any) error {
			if opts := o.(*testConnOptions); !opts.Answers {
				return fmt.Errorf("login refused for %s", opts.Password)
			}
			return nil
		},
	})
	return r
}

type testConnOptions struct {
	Answers  bool   `toml:"answers"`
	Password string `toml:"password" secret:"true"`
}

func TestCheckConnect(t *testing.T) {
	t.Setenv("FB_TEST_PW", "pw-secret-1")
	p := writeConfig(t, `[connections.up]
type = "test-conn"
answers = true
[connections.down]
type = "test-conn"
password = "${FB_TEST_PW}"
`)
	code, out, stderr := runCLI(t, "check", "-config", p, "-connect", "-v")
	if code != exitCannot {
		t.Fatalf("exit = %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{"up                   ok", "down                 FAILED: login refused for <redacted>", `password = "<redacted>"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+stderr, "pw-secret-1") {
		t.Errorf("secret printed:\n%s%s", out, stderr)
	}
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = realMain(context.Background(), &app{stdout: &out, stderr: &errb, reg: testRegistry}, args)
	return code, out.String(), errb.String()
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConfigExample checks config.toml.example with the full registry.
// Every ${VAR} it mentions is set to a placeholder, so flows only need to
// add their sections to the example file.
func TestConfigExample(t *testing.T) {
	path := filepath.Join("..", "..", "config.toml.example")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`).FindAllStringSubmatch(string(data), -1) {
		t.Setenv(m[1], "example-"+strings.ToLower(m[1]))
	}
	var out, errb bytes.Buffer
	code := realMain(context.Background(), &app{stdout: &out, stderr: &errb, reg: registry}, []string{"check", "-config", path})
	if code != exitOK {
		t.Fatalf("check config.toml.example = %d\n%s%s", code, out.String(), errb.String())
	}
	// Every kind and connection type the binary knows is shown in the example.
	reg := registry()
	for name := range reg.Kinds {
		if !strings.Contains(string(data), fmt.Sprintf("kind = %q", name)) {
			t.Errorf("config.toml.example has no job of kind %q", name)
		}
	}
	for name := range reg.Conns {
		if !strings.Contains(string(data), fmt.Sprintf("type = %q", name)) {
			t.Errorf("config.toml.example has no connection of type %q", name)
		}
	}
}

// TestREADMECheckCommand: the README's command that checks
// config.toml.example sets every variable the check needs (with only
// those set, it passes).
func TestREADMECheckCommand(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s+((?:[A-Z_]+=\S+ )+)\\\n\s+go run ./cmd/fieldbridge check -config config.toml.example`).FindSubmatch(readme)
	if m == nil {
		t.Fatal("the README has no `VAR=… go run ./cmd/fieldbridge check -config config.toml.example` command")
	}
	path := filepath.Join("..", "..", "config.toml.example")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`).FindAllStringSubmatch(string(data), -1) {
		t.Setenv(v[1], "")
		os.Unsetenv(v[1])
	}
	for _, kv := range strings.Fields(string(m[1])) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	code := realMain(context.Background(), &app{stdout: &out, stderr: &errb, reg: registry}, []string{"check", "-config", path})
	if code != exitOK {
		t.Fatalf("the README's check command fails (%d):\n%s%s", code, out.String(), errb.String())
	}
}

func TestCheckReportsEveryMistake(t *testing.T) {
	p := writeConfig(t, `data_dir = "data"
[log]
levl = "debug"

[[job]]
name = "work"
kind = "test-work"
schedule = "0 6 * * mon-xyz"

[[job]]
name = "other"
kind = "test-work"
items = -1
`)
	code, _, stderr := runCLI(t, "check", "-config", p)
	if code != exitUsage {
		t.Fatalf("exit = %d, stderr:\n%s", code, stderr)
	}
	for _, want := range []string{
		"3 problem(s)",
		`config.toml:3: [log]: unknown key "levl"`,
		`config.toml:8: job "work": schedule "0 6 * * mon-xyz"`,
		`config.toml:13: job "other": items: must not be negative`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestCheckOK(t *testing.T) {
	p := writeConfig(t, "[[job]]\nname = \"w\"\nkind = \"test-work\"\ninterval = \"5m\"\n")
	code, out, stderr := runCLI(t, "check", "-config", p, "-v")
	if code != exitOK || !strings.Contains(out, "1 job(s)") || !strings.Contains(out, "every 5m0s") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
}

func TestOnceExitCodesAndRuns(t *testing.T) {
	p := writeConfig(t, `language = "en"
[[job]]
name = "good"
kind = "test-work"
items = 3
[[job]]
name = "some-fail"
kind = "test-work"
items = 4
fail_every = 2
[[job]]
name = "broken"
kind = "test-work"
error = "target is down"
`)
	for _, c := range []struct {
		job  string
		code int
		frag string
	}{
		{"good", exitOK, "sent=3"},
		{"some-fail", exitItems, "item 2: the test kind fails this item on purpose"},
		{"broken", exitCannot, "Error: target is down"},
	} {
		code, out, stderr := runCLI(t, "once", "-config", p, c.job)
		if code != c.code || !strings.Contains(out, c.frag) {
			t.Errorf("once %s = %d\n%s%s", c.job, code, out, stderr)
		}
	}
	if code, _, stderr := runCLI(t, "once", "-config", p, "nope"); code != exitUsage || !strings.Contains(stderr, "good, some-fail, broken") {
		t.Errorf("once nope = %d %s", code, stderr)
	}
	if code, _, _ := runCLI(t, "once", "-config", p); code != exitUsage {
		t.Errorf("once without job = %d", code)
	}
	code, out, _ := runCLI(t, "runs", "-config", p)
	if code != exitOK || strings.Count(out, "\n") != 4 || !strings.Contains(out, "partial") {
		t.Errorf("runs = %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "runs", "-config", p, "-job", "good", "-n", "5")
	if code != exitOK || strings.Count(out, "\n") != 2 {
		t.Errorf("runs -job good = %d\n%s", code, out)
	}
}

func TestUsageAndHelp(t *testing.T) {
	if code, _, _ := runCLI(t); code != exitUsage {
		t.Errorf("no args = %d", code)
	}
	if code, _, _ := runCLI(t, "frobnicate"); code != exitUsage {
		t.Errorf("unknown command = %d", code)
	}
	for _, c := range commands() {
		code, _, stderr := runCLI(t, c.name, "-h")
		if code != exitOK || !strings.Contains(stderr, "Usage: fieldbridge "+c.name) {
			t.Errorf("%s -h = %d\n%s", c.name, code, stderr)
		}
	}
	if code, _, _ := runCLI(t, "run", "-bogus"); code != exitUsage {
		t.Errorf("bad flag = %d", code)
	}
	if code, _, _ := runCLI(t, "check", "-config", filepath.Join(t.TempDir(), "missing.toml")); code != exitUsage {
		t.Errorf("missing config = %d", code)
	}
	code, out, _ := runCLI(t, "version")
	if code != exitOK || !strings.HasPrefix(out, "fieldbridge ") {
		t.Errorf("version = %d %q", code, out)
	}
}

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	a := &app{stdout: &out, stderr: &out, reg: testRegistry}
	if code := runDemo(context.Background(), a, nil, false, false, ""); code != exitOK || !strings.Contains(out.String(), "no flows exist yet") {
		t.Fatalf("empty demo = %d %q", code, out.String())
	}
	if code := cmdDemo(context.Background(), a, nil); code != exitOK {
		t.Fatalf("demo = %d\n%s", code, out.String())
	}
	// A step runs a job through the real engine.
	out.Reset()
	var dir string
	steps := []demoStep{{Name: "work", Run: func(ctx context.Context, d *demo) error {
		dir = d.Dir
		rep, err := d.RunJob(ctx, "language = \"en\"\n[[job]]\nname = \"w\"\nkind = \"test-work\"\nitems = 2\n", "w", false)
		if err != nil {
			return err
		}
		if rep.Run.Counts["sent"] != 2 {
			return fmt.Errorf("counts = %v", rep.Run.Counts)
		}
		d.Printf("sent %d items", rep.Run.Counts["sent"])
		return nil
	}}, {Name: "broken", Run: func(ctx context.Context, d *demo) error { return errors.New("nope") }}}
	code := runDemo(context.Background(), a, steps, false, false, "")
	if code != exitCannot || !strings.Contains(out.String(), "sent 2 items") || !strings.Contains(out.String(), "FAILED: nope") {
		t.Fatalf("demo = %d\n%s", code, out.String())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("step folder %s not removed", dir)
	}
	out.Reset()
	if code := runDemo(context.Background(), a, steps, false, false, "work"); code != exitOK {
		t.Fatalf("demo -only work = %d\n%s", code, out.String())
	}
}

// TestRunStopsOnSIGTERM builds the real binary, runs the daemon with a job
// in the middle of sending items, sends SIGTERM and checks that it exits 0
// within 5 s and leaves a consistent ledger.
func TestRunStopsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "fieldbridge")
	build := exec.Command("go", "build", "-tags", "fieldbridge_testkinds", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	port := freePort(t)
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`data_dir = "data"
[log]
format = "json"
[http]
listen = "127.0.0.1:%d"
[[job]]
name = "worker"
kind = "test-work"
interval = "1h"
delay = "2ms"
`, port)), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "run", "-config", cfg)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// Wait until ready and some items are recorded.
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", port))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon not ready\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	t0 := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("still running 5 s after SIGTERM\n%s", stderr.String())
	}
	t.Logf("stopped in %s", time.Since(t0).Round(time.Millisecond))

	// The ledger: no run left running; the run's count matches its items.
	l, err := ledger.OpenSQLite(context.Background(), filepath.Join(dir, "data", "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	runs, err := l.Runs(context.Background(), ledger.RunFilter{})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
	r := runs[0]
	if r.Outcome != ledger.OutcomeStopped || r.Ended.IsZero() {
		t.Fatalf("run = %+v", r)
	}
	n := 0
	_ = l.ItemsWithPrefix(context.Background(), "worker", "", func(it ledger.Item) error {
		if it.RunID != r.ID {
			return fmt.Errorf("item %s from run %d", it.Key, it.RunID)
		}
		n++
		return nil
	})
	if n == 0 || int64(n) != r.Counts["sent"] {
		t.Fatalf("ledger holds %d items, the run counted %d", n, r.Counts["sent"])
	}
	for _, want := range []string{`"msg":"stopping`, `"run":1`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, stderr.String())
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
