package sheets

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/fieldbridge/fieldbridge/bridge/bridgetest"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack/officetracktest"
)

// crashDirs makes a daemon's folders for the kill -9 tests: an inbox,
// a data folder and a mappings folder holding tasksMapping.
func crashDirs(t *testing.T) (root, inbox, data, maps string) {
	t.Helper()
	root = t.TempDir()
	inbox, data, maps = filepath.Join(root, "inbox"), filepath.Join(root, "data"), filepath.Join(root, "mappings")
	for _, d := range []string{inbox, data, maps} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(maps, "tarefas.toml"), []byte(tasksMapping), 0o644); err != nil {
		t.Fatal(err)
	}
	return root, inbox, data, maps
}

// buildBinary builds cmd/fieldbridge.
func buildBinary(t *testing.T) string { return bridgetest.Binary(t) }

const crashConfig = `data_dir = %q
language = "en"

[http]
listen = "off"

[connections.ot]
type = "officetrack"
url = %q
user_name = "bridge"
password = "${OT_PASSWORD}"
retry_backoff = "20ms"
max_backoff = "200ms"

[[job]]
name = "tarefas"
kind = "sheet-officetrack"
officetrack = "ot"
mappings = %q
min_age = "100ms"
rescan = "200ms"

[[job.inbox]]
path = %q
mapping = "tarefas"
`

// TestCrashKill9 kills the daemon (`fieldbridge run`, a real subprocess)
// with SIGKILL at random moments while it sends a 5,000-row sheet to a
// fake that answers in 5 ms and loses one answer in 13 after applying the
// call, then lets it finish: every row ends as exactly one task applied
// exactly once (rows in flight at a kill, and calls whose answer was lost,
// are looked up, not sent again), the sheet in done/ with a complete
// report.
func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the kill -9 test")
	}
	const rows = 5000
	const kills = 6
	bin := buildBinary(t)
	fake := officetracktest.NewServer(officetracktest.Options{Latency: 5 * time.Millisecond})
	defer fake.Close()
	fake.FailEvery(13, officetracktest.FaultLostAnswer)

	root, inbox, data, maps := crashDirs(t)
	cfg := filepath.Join(root, "config.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(crashConfig, data, fake.URL, maps, inbox)), 0o600)
	sheet := xlsxRows(t, goodRows(rows, 1))
	if err := os.WriteFile(filepath.Join(inbox, "tarefas-5000.xlsx"), sheet, 0o644); err != nil {
		t.Fatal(err)
	}
	logf, _ := os.Create(filepath.Join(root, "daemon.log"))
	defer logf.Close()
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "run", "-config", cfg)
		cmd.Env = append(os.Environ(), "OT_PASSWORD=s3cret")
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	callsAtKill := []int{}
	for i := 0; i < kills; i++ {
		cmd := start()
		// Random moments: from start-up (claiming) to well into sending.
		time.Sleep(time.Duration(50+rng.IntN(1500)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		callsAtKill = append(callsAtKill, fake.Calls("CreateOrUpdateTask"))
	}
	cmd := start()
	report := filepath.Join(inbox, "done", "tarefas-5000.xlsx.report.xlsx")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(report); err == nil {
			if _, err := os.Stat(filepath.Join(inbox, "done", "tarefas-5000.xlsx")); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("sheet not settled; %d tasks; log:\n%s", fake.TaskCount(), tail(string(b), 3000))
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	// One more start (a kill may have hit between the move to done/ and
	// its record): the ledger must end as after an undisturbed run.
	once := exec.Command(bin, "once", "-config", cfg, "tarefas")
	once.Env = append(os.Environ(), "OT_PASSWORD=s3cret")
	if out, err := once.CombinedOutput(); err != nil {
		t.Fatalf("once: %v\n%s", err, out)
	}

	// Exactly one task per row.
	if n := fake.TaskCount(); n != rows {
		t.Fatalf("%d tasks, want %d", n, rows)
	}
	// Exactly one applied CreateOrUpdateTask per task number.
	twice := 0
	for n := int64(1); n <= rows; n++ {
		switch c := fake.TaskCalls(n); {
		case c == 0:
			t.Fatalf("task %d missing", n)
		case c > 1:
			twice++
			if twice <= 5 {
				t.Errorf("task %d applied %d times", n, c)
			}
		}
	}
	t.Logf("kills at call counts %v; %d CreateOrUpdateTask calls (answers lost: 1 in 13 calls), %d GetTaskDetails, for %d rows",
		callsAtKill, fake.Calls("CreateOrUpdateTask"), fake.Calls("GetTaskDetails"), rows)
	if twice > 0 {
		t.Fatalf("%d tasks applied more than once", twice)
	}
	if fake.Calls("GetTaskDetails") == 0 {
		t.Fatal("no GetTaskDetails: neither a lost answer nor an interrupted send was looked up")
	}
	if _, err := os.Stat(filepath.Join(inbox, "processing", "tarefas-5000.xlsx")); err == nil {
		t.Fatal("sheet still in processing/")
	}

	// The report has every row with a status, and the ledger agrees.
	f, err := excelize.OpenFile(report)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all, err := f.GetRows(f.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	statusCol := -1
	for i, h := range all[0] {
		if strings.EqualFold(h, "status") {
			statusCol = i
		}
	}
	if statusCol < 0 {
		t.Fatalf("no status column in %v", all[0])
	}
	statuses := map[string]int{}
	for _, r := range all[1:] {
		if len(r) > statusCol && r[statusCol] != "" {
			statuses[r[statusCol]]++
		}
	}
	if len(statuses) != 1 {
		t.Fatalf("report statuses %v", statuses)
	}
	for _, n := range statuses {
		if n != rows {
			t.Fatalf("report has %d rows with a status", n)
		}
	}
	l, err := ledger.OpenSQLite(context.Background(), filepath.Join(data, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rec, err := l.FileByName(context.Background(), "tarefas", inbox, "tarefas-5000.xlsx")
	if err != nil || rec.State != ledger.FileDone {
		t.Fatalf("ledger record of the sheet: %+v %v", rec, err)
	}
	sent := 0
	l.ItemsWithPrefix(context.Background(), "tarefas", rec.SHA256+":", func(it ledger.Item) error {
		if it.Outcome == OutcomeSent {
			sent++
		}
		return nil
	})
	if sent != rows {
		t.Fatalf("ledger: %d rows sent", sent)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
