package bridgetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Binary builds cmd/fieldbridge into t's temporary folder, with the build
// tags given (e.g. "fieldbridge_testkinds"), and returns its path, for
// tests that run the daemon as a real process (kill -9 drills, reloads).
func Binary(t testing.TB, tags ...string) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	mod := strings.TrimSpace(string(out))
	if err != nil || mod == "" || mod == os.DevNull {
		t.Fatalf("module root not found (go env GOMOD: %q, %v)", mod, err)
	}
	bin := filepath.Join(t.TempDir(), "fieldbridge")
	args := []string{"build", "-o", bin}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.Command("go", append(args, "./cmd/fieldbridge")...)
	cmd.Dir = filepath.Dir(mod)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return bin
}
