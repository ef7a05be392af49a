package boxsync_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/boxsync"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap"
	"github.com/fieldbridge/fieldbridge/connectors/sytex"
)

// TestKill9 runs the job in a child process (this test binary), kills it
// with SIGKILL while it is creating elements, and runs it again here on
// the same SQLite ledger: every box must end in Sytex exactly once.
func TestKill9(t *testing.T) {
	if os.Getenv("BOXSYNC_CHILD") != "" {
		t.Skip("in the child")
	}
	for _, threshold := range []string{"-1", "1"} { // search each code / read Sytex at once
		t.Run("prefetch_threshold="+threshold, func(t *testing.T) {
			h := newHarness(t, 600, nil)
			h.sy.SetLatency(time.Millisecond)
			dbPath := filepath.Join(t.TempDir(), "ledger.db")

			cmd := exec.Command(os.Args[0], "-test.run=^TestKill9Child$", "-test.v")
			cmd.Env = append(os.Environ(), "BOXSYNC_CHILD=1",
				"CHILD_DB="+dbPath, "CHILD_OZ_URL="+h.oz.URL(), "CHILD_OZ_KEY="+h.oz.Key(),
				"CHILD_SY_URL="+h.sy.URL(), "CHILD_SY_TOKEN="+h.sy.Token(), "CHILD_SY_ORG="+h.sy.Organization(),
				"CHILD_THRESHOLD="+threshold)
			out, _ := os.CreateTemp(t.TempDir(), "child")
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for h.sy.Len() < 150 {
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					b, _ := os.ReadFile(out.Name())
					t.Fatalf("child made %d elements in 30s:\n%s", h.sy.Len(), b)
				}
				time.Sleep(time.Millisecond)
			}
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			time.Sleep(50 * time.Millisecond) // requests in flight land
			atKill := h.sy.Len()
			if atKill >= 540 {
				t.Fatalf("the child finished before the kill (%d elements)", atKill)
			}

			led, err := ledger.OpenSQLite(context.Background(), dbPath)
			if err != nil {
				t.Fatal(err)
			}
			defer led.Close()
			h.led = led
			rc := h.mustRun(false)
			h.checkExactlyOnce()
			c := rc.Counts()
			if c["created"] != int64(540-atKill) {
				t.Fatalf("after the kill at %d elements the rerun created %d, want %d (%v)", atKill, c["created"], 540-atKill, c)
			}
			t.Logf("killed at %d of 540 elements; rerun: %v", atKill, c)
		})
	}
}

// TestKill9Child is the child of TestKill9.
func TestKill9Child(t *testing.T) {
	if os.Getenv("BOXSYNC_CHILD") == "" {
		t.Skip("only runs as TestKill9's child process")
	}
	ctx := context.Background()
	led, err := ledger.OpenSQLite(ctx, os.Getenv("CHILD_DB"))
	if err != nil {
		t.Fatal(err)
	}
	ozc, err := ozmap.New(ozmap.Options{BaseURL: os.Getenv("CHILD_OZ_URL"), Key: os.Getenv("CHILD_OZ_KEY")})
	if err != nil {
		t.Fatal(err)
	}
	syc, err := sytex.New(sytex.Options{BaseURL: os.Getenv("CHILD_SY_URL"), Token: os.Getenv("CHILD_SY_TOKEN"),
		Organization: os.Getenv("CHILD_SY_ORG"), RateLimit: 1000, RateBurst: 10})
	if err != nil {
		t.Fatal(err)
	}
	o := *boxsync.DefaultOptions()
	o.NETypes = map[string]int64{typeCTO: 12, typeCE: 13}
	o.DefaultNEType = 99
	o.PrefetchThreshold, _ = strconv.Atoi(os.Getenv("CHILD_THRESHOLD"))
	job, err := boxsync.NewJob(o, boxsync.Deps{Name: "boxes", OZmap: ozc, Sytex: syc})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := led.BeginRun(ctx, "boxes", time.Now())
	if err := job.Run(ctx, bridge.NewRunContext(r, led, nil, nil)); err != nil {
		t.Fatal(err)
	}
	t.Fatal("the child was expected to be killed before finishing")
}
