package results

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/officetrack/officetracktest"
)

// killLoopChild is set in the child processes of the kill -9 tests.
const killLoopEnv = "RESULTS_KILL_CHILD"

// startChild starts this test binary running test name in child mode; it
// returns the process and the first line it prints.
func startChild(t *testing.T, name, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), killLoopEnv+"=1", "RESULTS_KILL_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said nothing: %v", err)
	}
	return cmd, strings.TrimSpace(line)
}

func kill9(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
}

// visible lists the files a customer's system would take: no temporary
// (dot) names.
func visible(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	for p, c := range tree(t, dir) {
		if !strings.HasPrefix(filepath.Base(p), ".") {
			out[p] = c
		}
	}
	return out
}

// Notifications posted while the receiver is killed (SIGKILL) at random
// moments and restarted, re-posted by the sender until answered _OK_ as
// OfficeTrack does, are all written exactly once.
func TestNotificationsKill9(t *testing.T) {
	if os.Getenv(killLoopEnv) == "1" {
		dir := os.Getenv("RESULTS_KILL_DIR")
		f := newFixture(t, openLedger(t, filepath.Join(dir, "data")), notifyOptions(), nil, filepath.Join(dir, "customer"))
		srv := httptest.NewServer(f.job.NotificationHandler())
		fmt.Println(srv.URL)
		select {}
	}
	if testing.Short() {
		t.Skip("kill loop")
	}
	dir := t.TempDir()
	const total = 150
	docs := make([]string, total)
	for i := range docs {
		docs[i] = officetracktest.FieldResultNotificationXML(event(i))
	}
	client := &http.Client{Timeout: 5 * time.Second}
	next, kills := 0, 0
	for next < total {
		cmd, url := startChild(t, "TestNotificationsKill9", dir)
		url += "/?token=" + testToken
		stop := time.AfterFunc(time.Duration(20+rand.IntN(150))*time.Millisecond, func() { kill9(cmd) })
		for next < total {
			if err := officetracktest.FieldResultPostNotification(context.Background(), client, url, docs[next]); err != nil {
				break // killed: re-post the same one to the restarted receiver
			}
			next++
		}
		if stop.Stop() {
			kill9(cmd)
		} else {
			kills++
		}
	}
	if kills < 2 {
		t.Logf("only %d kills happened", kills)
	}
	got := visible(t, filepath.Join(dir, "customer", "notifications"))
	seen := map[string]int{}
	for _, c := range got {
		seen[c]++
	}
	for i, d := range docs {
		if seen[d] != 1 {
			t.Errorf("notification %d written %d times", i, seen[d])
		}
	}
	if len(got) != total {
		t.Fatalf("%d files for %d notifications (%d kills)", len(got), total, kills)
	}
	t.Logf("%d notifications, %d kills, %d leftover temporary files", total, kills, len(tree(t, filepath.Join(dir, "customer", "notifications")))-len(got))
}

// A pickup killed (SIGKILL) at random moments and restarted again and
// again ends with every file in the customer's folder exactly once and
// the source empty — as an undisturbed run would.
func TestPickupKill9(t *testing.T) {
	if os.Getenv(killLoopEnv) == "1" {
		dir := os.Getenv("RESULTS_KILL_DIR")
		o := pickupOptions()
		o.Recursive = true
		f := newFixture(t, openLedger(t, filepath.Join(dir, "data")), o, localT(t, filepath.Join(dir, "export")), filepath.Join(dir, "customer"))
		fmt.Println("polling")
		for {
			f.poll(t)
		}
	}
	if testing.Short() {
		t.Skip("kill loop")
	}
	dir := t.TempDir()
	files := officetracktest.FieldResultFiles(200, 30_000, 4)
	for _, fl := range files {
		writeFile(t, filepath.Join(dir, "export"), fl.Path, string(fl.Content))
	}
	kills := 0
	for round := 0; round < 40; round++ {
		cmd, _ := startChild(t, "TestPickupKill9", dir)
		time.Sleep(time.Duration(10+rand.IntN(120)) * time.Millisecond)
		kill9(cmd)
		kills++
		if len(tree(t, filepath.Join(dir, "export"))) == 0 {
			break
		}
	}
	// Finish undisturbed.
	cmd, _ := startChild(t, "TestPickupKill9", dir)
	deadline := time.Now().Add(30 * time.Second)
	for len(tree(t, filepath.Join(dir, "export"))) != 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	kill9(cmd)
	if left := tree(t, filepath.Join(dir, "export")); len(left) != 0 {
		t.Fatalf("left on the source: %v", keys(left))
	}
	got := visible(t, filepath.Join(dir, "customer"))
	for _, fl := range files {
		if got[fl.Path] != string(fl.Content) {
			t.Fatalf("%s missing or different after %d kills", fl.Path, kills)
		}
	}
	if len(got) != len(files) {
		var extra []string
		for p := range got {
			if strings.Contains(p, " (") {
				extra = append(extra, p)
			}
		}
		t.Fatalf("%d files in the customer's folder for %d (second copies: %v)", len(got), len(files), extra)
	}
	if n := len(tree(t, filepath.Join(dir, "customer"))) - len(got); n != 0 {
		t.Fatalf("%d temporary files left in the customer's folder after %d kills", n, kills)
	}
	t.Logf("%d files, %d kills", len(files), kills)
}

func TestLeftoverTempsRemoved(t *testing.T) {
	src := t.TempDir()
	o := notifyOptions()
	f := newFixture(t, nil, o, localT(t, src), "")
	old := time.Now().Add(-time.Hour)
	mk := func(rel string, mtime time.Time) {
		writeFile(t, f.targetDir, rel, "half")
		if err := os.Chtimes(filepath.Join(f.targetDir, rel), mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	mk("notifications/.n1.xml.0123456789ab.part", old)        // stale: removed
	mk("notifications/.n2.xml.0123456789ab.part", time.Now()) // may be in progress: kept
	mk("sub/.a.csv.00000000000a.part", time.Now())            // a.csv is being taken again: removed
	mk("sub/.b.csv.00000000000b.part", time.Now())            // b.csv exists whole: removed
	writeFile(t, f.targetDir, "sub/b.csv", "beta")
	mk("sub/.other.tmp", time.Now()) // not ours: kept
	writeFile(t, src, "sub/a.csv", "alpha")
	f.job.opts.Recursive = true
	f.job.opts.MinAge.Duration = 0
	f.poll(t)
	f.poll(t)
	got := keys(tree(t, f.targetDir))
	want := "notifications/.n2.xml.0123456789ab.part,sub/.other.tmp,sub/a.csv,sub/b.csv"
	if strings.Join(got, ",") != want {
		t.Fatalf("target %v, want %s", got, want)
	}
}
