//go:build !unix

package bridge

// lockJob is a no-op where flock is unavailable: only the in-process lock
// prevents overlapping runs.
func lockJob(dataDir, job string) (unlock func(), err error) { return func() {}, nil }

func lockFile(path string) (unlock func(), err error) { return func() {}, nil }
