package sheets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
	"github.com/fieldbridge/fieldbridge/transports"
)

// Sub-folders of a local inbox (and of a remote inbox folder).
const (
	dirProcessing = "processing"
	dirDone       = "done"
	dirFailed     = "failed"
)

// job is one configured sheet-officetrack job.
type job struct {
	env  *bridge.Env
	name string
	opts Options
	log  *slog.Logger

	// api is the OfficeTrack client (webservice delivery).
	api officeTrackAPI
	// conc is the number of calls in flight.
	conc int
	// openTransport opens a named FTP/SFTP connection.
	openTransport func(ctx context.Context, conn string) (transports.Transport, error)

	mu sync.Mutex
	// seen remembers the size and time of files not yet ready, across
	// scans, by inbox source and name.
	seen map[string]observation
}

// observation is a file's size and time when first seen unchanged.
type observation struct {
	size  int64
	mod   time.Time
	since time.Time
}

func newJob(env *bridge.Env, spec bridge.JobSpec, o *Options) (*job, error) {
	if err := o.check(env); err != nil {
		return nil, err
	}
	for i, in := range o.Inboxes {
		if in.remote() && spec.Interval.Duration <= 0 && spec.Schedule == "" {
			return nil, bridge.OptionErrorf(fmt.Sprintf("inbox[%d]", i),
				"a remote inbox is polled: set the job's interval (e.g. interval = \"1m\")")
		}
	}
	log := slog.New(slog.DiscardHandler)
	if env != nil && env.Log != nil {
		log = env.Log.With("job", spec.Name)
	}
	j := &job{env: env, name: spec.Name, opts: *o, log: log, seen: map[string]observation{}}
	if env != nil && env.Config != nil {
		// Relative folders are relative to the config file.
		j.opts.Mappings = env.Config.Resolve(j.opts.Mappings)
		j.opts.Inboxes = append([]Inbox(nil), o.Inboxes...)
		for i := range j.opts.Inboxes {
			if in := &j.opts.Inboxes[i]; in.Path != "" {
				in.Path = env.Config.Resolve(in.Path)
			}
		}
	}
	if o.Delivery == DeliveryWebService && env != nil && env.Config != nil {
		_, co, err := env.Conn(o.OfficeTrack)
		if err != nil {
			return nil, bridge.OptionErrorf("officetrack", "%v", err)
		}
		oo, ok := co.(*officetrack.Options)
		if !ok {
			return nil, bridge.OptionErrorf("officetrack", "connection %q is not an OfficeTrack account", o.OfficeTrack)
		}
		c, err := officetrack.New(*oo, log)
		if err != nil {
			return nil, bridge.OptionErrorf("officetrack", "connection %q: %v", o.OfficeTrack, err)
		}
		j.api = c
		j.conc = c.Concurrency()
	}
	if o.Concurrency > 0 {
		j.conc = o.Concurrency
	}
	if j.conc <= 0 {
		j.conc = officetrack.DefaultOptions().Concurrency
	}
	j.openTransport = func(ctx context.Context, conn string) (transports.Transport, error) {
		return openConnTransport(ctx, env, conn)
	}
	return j, nil
}

// WatchDirs lists the local inboxes (bridge.Watcher).
func (j *job) WatchDirs() []string {
	var out []string
	for _, in := range j.opts.Inboxes {
		if !in.remote() {
			out = append(out, in.Path)
		}
	}
	return out
}

// RescanEvery is how often local inboxes are rescanned (bridge.Watcher).
func (j *job) RescanEvery() time.Duration { return j.opts.Rescan.Duration }

// errWait marks a file left for a later run (service down, wrong
// credentials); the run returns it.
var errWait = errors.New("file left for a later run")

// Run takes every ready file of every inbox, one at a time.
func (j *job) Run(ctx context.Context, rc *bridge.RunContext) error {
	var errs []error
	for i := range j.opts.Inboxes {
		in := &j.opts.Inboxes[i]
		var err error
		if in.remote() {
			err = j.runRemote(ctx, rc, in)
		} else {
			err = j.runLocal(ctx, rc, in)
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, officetrack.ErrRunStopping) {
				return err
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ignoredName reports names never taken: Office lock files, temporary and
// partial names, hidden files, and done markers.
func (j *job) ignoredName(name string) bool {
	lower := strings.ToLower(name)
	switch {
	case strings.HasPrefix(name, "~$"), strings.HasPrefix(name, "."), strings.HasPrefix(name, "~"),
		strings.HasSuffix(lower, ".tmp"), strings.HasSuffix(lower, ".part"),
		strings.HasSuffix(lower, ".partial"), strings.HasSuffix(lower, ".crdownload"),
		transports.IsTempName(name):
		return true
	case j.opts.DoneMarker != "" && strings.HasSuffix(name, j.opts.DoneMarker):
		return true
	}
	return false
}

// readiness decides whether a listed file can be taken now. It returns
// ready, or how long to wait before looking again.
func (j *job) readiness(key string, size int64, mod time.Time, markerExists bool, now time.Time) (bool, time.Duration) {
	if j.opts.DoneMarker != "" {
		return markerExists, 0
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	ob, ok := j.seen[key]
	if !ok || ob.size != size || !ob.mod.Equal(mod) {
		j.seen[key] = observation{size: size, mod: mod, since: now}
		return j.opts.MinAge.Duration <= 0, j.opts.MinAge.Duration
	}
	if age := now.Sub(ob.since); age < j.opts.MinAge.Duration {
		return false, j.opts.MinAge.Duration - age
	}
	delete(j.seen, key)
	return true, 0
}

// maxWaitInRun bounds how long one run waits for files still changing.
func (j *job) maxWaitInRun() time.Duration {
	return max(2*j.opts.MinAge.Duration, time.Second)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// hashFile returns a file's sha256 (hex) and size.
func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// ---- local inboxes ----

func (j *job) runLocal(ctx context.Context, rc *bridge.RunContext, in *Inbox) error {
	for _, d := range []string{dirProcessing, dirDone, dirFailed} {
		if err := os.MkdirAll(filepath.Join(in.Path, d), 0o755); err != nil {
			return fmt.Errorf("inbox %s: %w", in.Path, err)
		}
	}
	// Files claimed by an earlier run that did not finish come first.
	pending, err := os.ReadDir(filepath.Join(in.Path, dirProcessing))
	if err != nil {
		return fmt.Errorf("inbox %s: %w", in.Path, err)
	}
	for _, e := range pending {
		if !e.Type().IsRegular() || j.ignoredName(e.Name()) {
			continue
		}
		if err := j.takeLocal(ctx, rc, in, e.Name(), true); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(j.maxWaitInRun())
	for {
		wait, err := j.scanLocal(ctx, rc, in)
		if err != nil || wait <= 0 || time.Now().Add(wait).After(deadline) {
			return err
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return err
		}
	}
}

// scanLocal takes the ready files of a local inbox, in name order, and
// returns how long to wait for files not ready yet (0: none).
func (j *job) scanLocal(ctx context.Context, rc *bridge.RunContext, in *Inbox) (time.Duration, error) {
	entries, err := os.ReadDir(in.Path)
	if err != nil {
		return 0, fmt.Errorf("inbox %s: %w", in.Path, err)
	}
	var wait time.Duration
	now := time.Now()
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || j.ignoredName(name) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // gone meanwhile
		}
		marker := false
		if j.opts.DoneMarker != "" {
			_, merr := os.Stat(filepath.Join(in.Path, name+j.opts.DoneMarker))
			marker = merr == nil
		}
		ready, w := j.readiness(in.source()+"\x00"+name, fi.Size(), fi.ModTime(), marker, now)
		if !ready {
			if w > 0 && (wait == 0 || w < wait) {
				wait = w
			}
			continue
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		// Claim: move into processing/ (same folder tree: atomic).
		if err := os.Rename(filepath.Join(in.Path, name), filepath.Join(in.Path, dirProcessing, name)); err != nil {
			rc.Problem(name, fmt.Sprintf("could not take the file: %v", err))
			continue
		}
		if err := j.takeLocal(ctx, rc, in, name, false); err != nil {
			return 0, err
		}
	}
	return wait, nil
}

// takeLocal processes a file sitting in processing/ and settles it.
func (j *job) takeLocal(ctx context.Context, rc *bridge.RunContext, in *Inbox, name string, resumed bool) error {
	path := filepath.Join(in.Path, dirProcessing, name)
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("inbox %s: %w", in.Path, err)
	}
	rec, err := j.claimRecord(ctx, rc, in.source(), name, path, fi.ModTime(), resumed)
	if err != nil {
		return err
	}
	set := &localSettler{in: in, name: name, marker: j.opts.DoneMarker}
	return j.handle(ctx, rc, in, rec, path, set)
}

// claimRecord returns the ledger record of a claimed file: the record of an
// unfinished earlier claim when the content is the same, else a new one.
func (j *job) claimRecord(ctx context.Context, rc *bridge.RunContext, source, name, path string, mod time.Time, resumed bool) (ledger.File, error) {
	sha, size, err := hashFile(path)
	if err != nil {
		return ledger.File{}, fmt.Errorf("%s: reading %s: %w", source, name, err)
	}
	if resumed {
		if old, err := rc.Ledger.FileByName(ctx, j.name, source, name); err == nil && old.SHA256 == sha {
			old.Attempts++
			old.RunID = rc.Run.ID
			old.Updated = rc.Now()
			if old.State == ledger.FileSeen || old.State == ledger.FileClaimed {
				old.State = ledger.FileProcessing
			}
			return old, rc.Ledger.PutFile(ctx, &old)
		}
	}
	rec := ledger.File{Job: j.name, Source: source, Name: name, Size: size, ModTime: mod, SHA256: sha,
		State: ledger.FileProcessing, Attempts: 1, RunID: rc.Run.ID, Created: rc.Now(), Updated: rc.Now()}
	return rec, rc.Ledger.PutFile(ctx, &rec)
}

// settler puts a processed file and its report where they belong.
type settler interface {
	// putReport stores the report (the local file report, "" for none)
	// as reportName in done/ or failed/ (by state), replacing an earlier
	// one of the same name. It is called before the ledger records the
	// file as settled.
	putReport(ctx context.Context, state, report, reportName string) error
	// moveSource moves the source into done/ or failed/ (by state). It is
	// called after the ledger records the file as settled.
	moveSource(ctx context.Context, state string) error
	// where names the file for messages.
	where() string
}

func settledDir(state string) string {
	if state == ledger.FileFailed {
		return dirFailed
	}
	return dirDone
}

// localSettler settles a file of a local inbox.
type localSettler struct {
	in     *Inbox
	name   string
	marker string
}

func (s *localSettler) where() string { return filepath.Join(s.in.Path, s.name) }

func (s *localSettler) putReport(ctx context.Context, state, report, reportName string) error {
	if report == "" {
		return nil
	}
	return moveFileAtomic(report, filepath.Join(s.in.Path, settledDir(state), reportName))
}

func (s *localSettler) moveSource(ctx context.Context, state string) error {
	dst := filepath.Join(s.in.Path, settledDir(state))
	target := uniqueName(dst, s.name)
	if err := os.Rename(filepath.Join(s.in.Path, dirProcessing, s.name), filepath.Join(dst, target)); err != nil {
		return err
	}
	if s.marker != "" {
		os.Remove(filepath.Join(s.in.Path, s.name+s.marker))
	}
	return syncDir(dst)
}

// uniqueName returns name, or "name (2).ext", ... when name exists in dir.
func uniqueName(dir, name string) string {
	if _, err := os.Lstat(filepath.Join(dir, name)); errors.Is(err, os.ErrNotExist) {
		return name
	}
	for n := 2; ; n++ {
		c := transports.KeepBothName(name, n)
		if _, err := os.Lstat(filepath.Join(dir, c)); errors.Is(err, os.ErrNotExist) {
			return c
		}
	}
}

// moveFileAtomic copies src to dst through dst.partial (fsync, rename) and
// removes src.
func moveFileAtomic(src, dst string) error {
	if err := os.Rename(src, dst); err == nil {
		return syncDir(filepath.Dir(dst))
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".partial"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	os.Remove(src)
	return syncDir(filepath.Dir(dst))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	_ = d.Sync()
	return nil
}

// sortedNames sorts file infos by path.
func sortedNames(fs []transports.FileInfo) {
	sort.Slice(fs, func(a, b int) bool { return fs[a].Path < fs[b].Path })
}
