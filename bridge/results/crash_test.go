package results

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/transports"
)

// killOnRemove kills the process (SIGKILL, no clean-up at all) when the
// job tries to remove a remote file: the moment right after the download
// was recorded done and before the remote copy is gone.
type killOnRemove struct{ transports.Transport }

func (k killOnRemove) Remove(ctx context.Context, p string) error {
	killSelf()
	select {}
}

// crashChild runs one poll in a child process that is killed between
// download and remote removal. setup builds the job's source in the child.
func crashChild(t *testing.T, name string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), "RESULTS_CRASH_CHILD=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err == nil {
		t.Fatalf("child was not killed:\n%s", out)
	}
	if !errAs(err, &ee) || !killed(ee) {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func errAs(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*ee = e
	}
	return ok
}

// runCrashTest is the body of a crash test over a source backend: dir is
// a folder shared by parent and child (ledger and target), srcT opens the
// source (in parent and child alike), put creates a file on the source.
func runCrashTest(t *testing.T, name, dir string, srcT func(t *testing.T) transports.Transport, put func(t *testing.T, rel, content string)) {
	dbDir := filepath.Join(dir, "data")
	target := filepath.Join(dir, "customer")
	if os.Getenv("RESULTS_CRASH_CHILD") == "1" {
		l := openLedger(t, dbDir)
		f := newFixture(t, l, pickupOptions(), killOnRemove{srcT(t)}, target)
		f.poll(t)
		t.Fatal("the child poll ended without removing anything")
		return
	}
	os.MkdirAll(dbDir, 0o755)
	content := "field result\n"
	put(t, "crash.csv", content)
	// First poll (observation) in the parent, then the crash in a child.
	{
		l, err := ledger.OpenSQLite(context.Background(), filepath.Join(dbDir, "ledger.db"))
		if err != nil {
			t.Fatal(err)
		}
		f := newFixture(t, l, pickupOptions(), srcT(t), target)
		f.poll(t)
		f.job.Close()
		l.Close()
	}
	crashChild(t, name)
	if got := tree(t, target); !equalMaps(got, map[string]string{"crash.csv": content}) {
		t.Fatalf("after the crash the target has %v", keys(got))
	}
	l := openLedger(t, dbDir)
	fa := &faulty{Transport: srcT(t)}
	f := newFixture(t, l, pickupOptions(), fa, target)
	rc := f.poll(t)
	if fa.opens.Load() != 0 {
		t.Fatal("downloaded again after the crash")
	}
	if c := rc.Counts()["removed"]; c != 1 {
		t.Fatalf("counts after restart: %v", rc.Counts())
	}
	if got := tree(t, target); !equalMaps(got, map[string]string{"crash.csv": content}) {
		t.Fatalf("after restart the target has %v", keys(got))
	}
	if list, err := fa.List(context.Background(), "", true); err != nil || len(list) != 0 {
		t.Fatalf("source after restart: %v %v", list, err)
	}
}

func TestPickupCrashLocal(t *testing.T) {
	dir := os.Getenv("RESULTS_CRASH_DIR")
	if dir == "" {
		dir = t.TempDir()
		t.Setenv("RESULTS_CRASH_DIR", dir)
	}
	src := filepath.Join(dir, "export")
	os.MkdirAll(src, 0o755)
	runCrashTest(t, "TestPickupCrashLocal", dir,
		func(t *testing.T) transports.Transport { return localT(t, src) },
		func(t *testing.T, rel, content string) { writeFile(t, src, rel, content) })
}
