package results

import (
	"context"
	"path"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/transports"
)

// cleanTemps removes, from one target folder, temporary files that writes
// of this job left behind when the process was killed: ".<name>.<token>.part"
// where <name> is about to be written again (want), already exists whole
// (a later attempt finished it), or, when olderThan is set, the temporary
// file is older than that (no write of ours lasts so long). It runs while
// no write of the job is in progress. Backends that hide dot files (most
// FTP servers) show nothing to clean. Failures are only logged. rc may
// be nil (outside a run).
func (j *Job) cleanTemps(ctx context.Context, rc *bridge.RunContext, dst transports.Transport, dir string, want map[string]bool, olderThan time.Time) {
	list, err := dst.List(ctx, dir, false)
	if err != nil {
		return // a folder not made yet, or unreadable: nothing to clean
	}
	whole := make(map[string]bool, len(list))
	for _, e := range list {
		if !e.IsDir {
			whole[path.Base(e.Path)] = true
		}
	}
	anyOf := func(set map[string]bool, match func(string) bool) bool {
		for name := range set {
			if match(name) {
				return true
			}
		}
		return false
	}
	for _, e := range list {
		match, ok := transports.TempFor(path.Base(e.Path))
		if e.IsDir || !ok {
			continue
		}
		if anyOf(want, match) || anyOf(whole, match) || (!olderThan.IsZero() && e.ModTime.Before(olderThan)) {
			p := e.Path
			if dir != "" && dir != "." {
				p = path.Join(dir, path.Base(e.Path))
			}
			if err := dst.Remove(ctx, p); err != nil {
				j.logger().Warn("removing a leftover temporary file", "file", p, "err", err)
				continue
			}
			if rc != nil {
				rc.Count("temp_removed", 1)
			}
		}
	}
}
