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

// crashDaemon runs `fieldbridge run -config cfg` as a subprocess, its
// output in daemon.log, for the kill -9 tests.
type crashDaemon struct {
	t        *testing.T
	bin, cfg string
	env      []string
	log      *os.File
}

func newCrashDaemon(t *testing.T, bin, cfg string, env ...string) *crashDaemon {
	t.Helper()
	logf, err := os.Create(filepath.Join(filepath.Dir(cfg), "daemon.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	return &crashDaemon{t: t, bin: bin, cfg: cfg, env: append(os.Environ(), env...), log: logf}
}

func (d *crashDaemon) start() *exec.Cmd {
	d.t.Helper()
	cmd := exec.Command(d.bin, "run", "-config", d.cfg)
	cmd.Env = d.env
	cmd.Stdout, cmd.Stderr = d.log, d.log
	if err := cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	return cmd
}

// killAtRandom starts and SIGKILLs the daemon kills times, each after a
// random wait of lo plus up to span (the seed is logged); after runs
// after each kill.
func (d *crashDaemon) killAtRandom(kills int, lo, span time.Duration, after func()) {
	d.t.Helper()
	seed := uint64(time.Now().UnixNano())
	d.t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for range kills {
		cmd := d.start()
		time.Sleep(lo + time.Duration(rng.Int64N(int64(span))))
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		after()
	}
}

// finish starts the daemon and lets it run until done (failing with what
// and the log's tail after 2 minutes), stops it, then runs `fieldbridge
// once` for the job (a kill may have hit between a sheet's move to done/
// and its record: the ledger must end as after an undisturbed run).
func (d *crashDaemon) finish(job string, done func() bool, what func() string) {
	d.t.Helper()
	cmd := d.start()
	deadline := time.Now().Add(2 * time.Minute)
	for !done() {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			b, _ := os.ReadFile(d.log.Name())
			d.t.Fatalf("%s; log:\n%s", what(), tail(string(b), 3000))
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	once := exec.Command(d.bin, "once", "-config", d.cfg, job)
	once.Env = d.env
	if out, err := once.CombinedOutput(); err != nil {
		d.t.Fatalf("once: %v\n%s", err, out)
	}
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
	d := newCrashDaemon(t, bin, cfg, "OT_PASSWORD=s3cret")
	callsAtKill := []int{}
	// Random moments: from start-up (claiming) to well into sending.
	d.killAtRandom(kills, 50*time.Millisecond, 1500*time.Millisecond, func() {
		callsAtKill = append(callsAtKill, fake.Calls("CreateOrUpdateTask"))
	})
	report := filepath.Join(inbox, "done", "tarefas-5000.xlsx.report.xlsx")
	d.finish("tarefas", func() bool {
		_, rerr := os.Stat(report)
		_, serr := os.Stat(filepath.Join(inbox, "done", "tarefas-5000.xlsx"))
		return rerr == nil && serr == nil
	}, func() string { return fmt.Sprintf("sheet not settled; %d tasks", fake.TaskCount()) })

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
