//go:build unix

package transports_test

import "syscall"

// syncDisks writes the page cache's dirty pages out (sync(2)).
func syncDisks() { syscall.Sync() }
