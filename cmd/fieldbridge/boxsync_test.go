package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/ozmap"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap/ozmaptest"
	"github.com/fieldbridge/fieldbridge/connectors/sytex/sytextest"
)

// TestBoxSyncKill9 builds the real binary, runs `fieldbridge once` of the
// box sync, kills it with SIGKILL while it creates network elements, runs
// it again, and checks that every box is in Sytex exactly once and that a
// third run sends nothing.
func TestBoxSyncKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "fieldbridge")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	oz := ozmaptest.New(ozmaptest.Options{Now: func() time.Time { return time.Now().Add(-24 * time.Hour) }})
	defer oz.Close()
	sy := sytextest.New(sytextest.Options{})
	defer sy.Close()
	sy.SetLatency(2 * time.Millisecond)
	const n = 1000
	for i := range n {
		oz.AddBox(ozmaptest.Box{Box: ozmap.Box{Name: fmt.Sprintf("CTO-%05d", i), Implanted: true, Lat: -23.5, Lng: -46.6 - float64(i)*1e-5}})
	}
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`data_dir = "data"
[http]
listen = "off"

[connections.oz]
type = "ozmap"
base_url = %q
key = "${OZ_KEY}"

[connections.sy]
type = "sytex"
base_url = %q
token = "${SY_TOKEN}"
organization = %q
rate_limit = 1000.0

[[job]]
name = "boxes"
kind = "ozmap-sytex-boxes"
ozmap = "oz"
sytex = "sy"
default_ne_type = 5
`, oz.URL(), sy.URL(), sy.Organization())), 0o600); err != nil {
		t.Fatal(err)
	}
	once := func() *exec.Cmd {
		cmd := exec.Command(bin, "once", "-config", cfg, "boxes")
		cmd.Env = append(os.Environ(), "OZ_KEY="+oz.Key(), "SY_TOKEN="+sy.Token())
		return cmd
	}

	var out bytes.Buffer
	cmd := once()
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for sy.Len() < 200 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("%d elements after 60s\n%s", sy.Len(), out.String())
		}
		time.Sleep(time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	time.Sleep(100 * time.Millisecond)
	atKill := sy.Len()
	if atKill >= n {
		t.Fatalf("finished before the kill")
	}

	sy.ResetCalls()
	res, err := once().CombinedOutput()
	if err != nil {
		t.Fatalf("rerun: %v\n%s", err, res)
	}
	if sy.Len() != n || len(sy.Duplicates()) != 0 {
		t.Fatalf("after the rerun Sytex has %d elements, duplicates %v\n%s", sy.Len(), sy.Duplicates(), res)
	}
	if sy.Calls("POST") != n-atKill {
		t.Fatalf("rerun created %d, want %d\n%s", sy.Calls("POST"), n-atKill, res)
	}
	sy.ResetCalls()
	res, err = once().CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	if err != nil || sy.TotalCalls() != 0 {
		t.Fatalf("third run: %v, %d Sytex calls\n%s", err, sy.TotalCalls(), res)
	}
	t.Logf("killed at %d of %d; rerun created the other %d", atKill, n, n-atKill)
}
