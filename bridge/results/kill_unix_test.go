//go:build unix

package results

import (
	"os"
	"os/exec"
	"syscall"
)

// killSelf ends this process at once, with no clean-up (SIGKILL).
func killSelf() { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL) }

// killed reports whether the child ended by killSelf.
func killed(ee *exec.ExitError) bool {
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signal() == syscall.SIGKILL
}
