package bridgetest

import (
	"bytes"
	"strings"
	"sync"
	"time"
)

// Buffer collects what goroutines write (a daemon's logger, the copier
// os/exec runs for a child's output) while a test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// WaitFor reports whether s is written within timeout. A line a process
// logged before it did something the test saw may still be on its way
// (through a pipe and os/exec's copier), so tests wait for it rather
// than look once.
func (b *Buffer) WaitFor(s string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
