//go:build unix

package main

import (
	"os"
	"syscall"
)

// reloadSignals ask the daemon to re-read its configuration and reopen
// its log file (`systemctl reload` sends SIGHUP).
func reloadSignals() []os.Signal { return []os.Signal{syscall.SIGHUP} }
