package bridgetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Binary builds cmd/fieldbridge into t's temporary folder and returns its
// path, for tests that run the daemon as a real process (kill -9 drills).
func Binary(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	mod := strings.TrimSpace(string(out))
	if err != nil || mod == "" || mod == os.DevNull {
		t.Fatalf("module root not found (go env GOMOD: %q, %v)", mod, err)
	}
	bin := filepath.Join(t.TempDir(), "fieldbridge")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/fieldbridge")
	cmd.Dir = filepath.Dir(mod)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return bin
}
