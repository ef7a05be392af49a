//go:build linux

package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/bridgetest"
)

const reloadConfigHead = `data_dir = "data"
[http]
listen = "127.0.0.1:%d"
public_metrics = true
`

// reloadJob is a test-work job sending one item per run, every interval.
func reloadJob(name, interval string) string {
	return fmt.Sprintf("[[job]]\nname = %q\nkind = \"test-work\"\ninterval = %q\nitems = 1\n", name, interval)
}

// TestDaemonReloadOnSIGHUP runs the real binary under a fake systemd
// (NOTIFY_SOCKET on a real unixgram socket), then rewrites its
// configuration and sends SIGHUP: a new job starts, a removed one stops,
// the unchanged one is left alone; a broken configuration is refused with
// its problem logged and the previous one keeps running. READY=1 comes
// once the jobs are started, RELOADING=1 and READY=1 around each reload,
// STOPPING=1 at SIGTERM.
func TestDaemonReloadOnSIGHUP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := bridgetest.Binary(t, "fieldbridge_testkinds")
	dir := t.TempDir()
	port := freePort(t)
	head := fmt.Sprintf(reloadConfigHead, port)
	cfg := filepath.Join(dir, "config.toml")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(head + reloadJob("keep", "1h") + reloadJob("old", "1s"))
	sock := filepath.Join(dir, "notify.sock")
	msgs := listenNotify(t, sock)

	var stderr bridgetest.Buffer
	cmd := exec.Command(bin, "run", "-config", cfg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf(format+"\n--- daemon log:\n%s", append(args, stderr.String())...)
	}
	expect := func(want string) {
		t.Helper()
		select {
		case got := <-msgs:
			if !strings.HasPrefix(got, want) {
				fail("sd_notify: got %q, want %q", got, want)
			}
		case <-time.After(15 * time.Second):
			fail("sd_notify: no message, want %q", want)
		}
	}

	// A line logged before a notify datagram may reach the buffer after it.
	waitLog := func(want string) {
		t.Helper()
		if !stderr.WaitFor(want, 10*time.Second) {
			fail("log lacks %s", want)
		}
	}

	// READY=1 once the jobs are started: /readyz agrees at that moment.
	expect("READY=1")
	if code, _ := httpGet(base + "/readyz"); code != http.StatusOK {
		fail("READY=1 sent but /readyz = %d", code)
	}
	waitRuns := func(job string, atLeast int) int {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			n := okRuns(t, base, job)
			if n >= atLeast {
				return n
			}
			if time.Now().After(deadline) {
				fail("job %s: %d ok runs, want at least %d", job, n, atLeast)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitRuns("keep", 1)
	waitRuns("old", 2)

	// Reload: "old" removed, "new" added, "keep" unchanged.
	write(head + reloadJob("keep", "1h") + reloadJob("new", "1s"))
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	expect("RELOADING=1\nMONOTONIC_USEC=")
	expect("READY=1")
	waitRuns("new", 2)
	oldRuns := okRuns(t, base, "old")
	keepRuns := okRuns(t, base, "keep")
	for _, want := range []string{
		`msg="job started" job=new`,
		`msg="job stopped" job=old`,
		`msg="configuration reloaded" started=1 stopped=1 restarted=0 unchanged=1`,
	} {
		waitLog(want)
	}

	// A broken configuration: refused, its problem logged with its line;
	// the running one goes on.
	write(head + reloadJob("keep", "1h") + reloadJob("new", "1s") + "[[job]]\nname = \"typo\"\nkind = \"test-work\"\nitemz = 3\n")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	expect("RELOADING=1")
	expect("READY=1")
	for _, want := range []string{`config.toml:18: job \"typo\": unknown key \"itemz\"`, `msg="configuration refused; the previous one stays in force"`} {
		waitLog(want)
	}
	n := okRuns(t, base, "new")
	waitRuns("new", n+1) // still running on the previous configuration
	if got := okRuns(t, base, "old"); got != oldRuns {
		fail("the removed job ran again: %d runs, then %d", oldRuns, got)
	}
	if got := okRuns(t, base, "keep"); got != keepRuns || keepRuns != 1 {
		fail("the unchanged job was restarted: %d runs, then %d", keepRuns, got)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	expect("STOPPING=1")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			fail("exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		fail("still running 10 s after SIGTERM")
	}
}

var okRunsRE = regexp.MustCompile(`(?m)^fieldbridge_runs_total\{job="([^"]+)",outcome="ok"\} (\d+)$`)

// okRuns is the job's fieldbridge_runs_total{outcome="ok"} in /metrics.
func okRuns(t *testing.T, base, job string) int {
	t.Helper()
	code, body := httpGet(base + "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	for _, m := range okRunsRE.FindAllStringSubmatch(body, -1) {
		if m[1] == job {
			n, _ := strconv.Atoi(m[2])
			return n
		}
	}
	return 0
}

func httpGet(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
