//go:build !linux

package results

import (
	"testing"
	"time"
)

// sourceOnTmpfs is Linux only (see bench_linux_test.go).
func sourceOnTmpfs(*testing.B, string, int64) bool { return false }

func dropCaches(*testing.B) {}

func targetOnExt4(*testing.B, int64) string { return "" }

func serverCPU(string) time.Duration { return 0 }

type cpuTimes struct{ busy, idle, iowait time.Duration }

func machineCPU() cpuTimes { return cpuTimes{} }
