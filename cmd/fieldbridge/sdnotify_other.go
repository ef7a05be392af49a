//go:build !linux

package main

// monotonicUsec is unknown where there is no systemd.
func monotonicUsec() (int64, bool) { return 0, false }
