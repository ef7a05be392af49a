//go:build unix

package bridge

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockJob takes the job's lock file in dataDir/locks, so that a job never
// runs twice at once even across processes (the daemon and `once`).
func lockJob(dataDir, job string) (unlock func(), err error) {
	return lockFile(filepath.Join(dataDir, "locks", job+".lock"))
}

// lockFile takes an exclusive flock on path (created if needed) without
// waiting; a lock held elsewhere gives ErrBusy.
func lockFile(path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (another fieldbridge process holds %s)", ErrBusy, f.Name())
		}
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
