package sheets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/filelife"
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

	// stable remembers the size and time of files not yet ready, across
	// scans, by inbox source and name.
	stable *filelife.Stability

	// placed are the files the import page put in a local inbox (written
	// whole, then renamed): taken at once, without waiting min_age.
	placed *placedFiles
	// drafts guards the import page's drafts (importdraft.go).
	drafts sync.Mutex
	// tmpl are the import pages' templates, parsed on first use.
	pagesOnce sync.Once
	tmpl      *importPages
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
	j := &job{env: env, name: spec.Name, opts: *o, log: log, stable: &filelife.Stability{MinAge: o.MinAge.Duration},
		placed: &placedFiles{m: map[string]placedFile{}}}
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
	// An FTP delivery job may name the account too: an upload whose
	// import file OfficeTrack's loader took before it was recorded is
	// then looked up, not made again (deliverFTP).
	if o.OfficeTrack != "" && env != nil && env.Config != nil {
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

var (
	_ bridge.Job     = (*job)(nil)
	_ bridge.Watcher = (*job)(nil)
)

// Run first sends again the keys asked for with fieldbridge resend, then
// takes every ready file of every inbox, one at a time.
func (j *job) Run(ctx context.Context, rc *bridge.RunContext) error {
	var errs []error
	if err := j.resendRequested(ctx, rc); err != nil {
		if ctx.Err() != nil || errors.Is(err, officetrack.ErrRunStopping) {
			return err
		}
		errs = append(errs, fmt.Errorf("re-sends asked for with fieldbridge resend: %w", err))
	}
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
	return filelife.Ignored(name, j.ignorePatterns()) || transports.IsTempName(name)
}

// maxWaitInRun bounds how long one run waits for files still changing.
func (j *job) maxWaitInRun() time.Duration {
	return max(2*j.opts.MinAge.Duration, time.Second)
}

// sleepCtx waits d or until ctx ends. (An unfired time.After timer is
// collected since Go 1.23; bridge/ cannot import httpapi.Sleep.)
func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// ---- local inboxes ----

func (j *job) runLocal(ctx context.Context, rc *bridge.RunContext, in *Inbox) error {
	folders := filelife.NewFolders(in.Path)
	if err := folders.Ensure(); err != nil {
		return fmt.Errorf("inbox %s: %w", in.Path, err)
	}
	// Files claimed by an earlier run that did not finish come first.
	pending, err := folders.Pending()
	if err != nil {
		return fmt.Errorf("inbox %s: %w", in.Path, err)
	}
	inProcessing := map[string]bool{}
	for _, e := range pending {
		inProcessing[e.Name] = true
	}
	if err := j.recoverSettled(ctx, rc, in, folders, inProcessing); err != nil {
		return err
	}
	for _, e := range pending {
		if j.ignoredName(e.Name) {
			continue
		}
		if err := j.takeLocal(ctx, rc, in, folders, e.Path, true); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(j.maxWaitInRun())
	for {
		waiting, err := j.scanLocal(ctx, rc, in, folders)
		if err != nil || !waiting || time.Now().Add(j.pollStep()).After(deadline) {
			return err
		}
		if err := sleepCtx(ctx, j.pollStep()); err != nil {
			return err
		}
	}
}

// recoverSettled completes the ledger records of files that a crash left
// moved to done/ or failed/ but still recorded as processing (the crash hit
// between the move and the record), so that the ledger ends as after an
// undisturbed run (and the duplicate check knows the file).
func (j *job) recoverSettled(ctx context.Context, rc *bridge.RunContext, in *Inbox, folders filelife.Folders, inProcessing map[string]bool) error {
	recs, err := rc.Ledger.Files(ctx, ledger.FileFilter{Job: j.name, Source: in.source(), State: ledger.FileProcessing, Limit: 1000})
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if inProcessing[rec.Name] {
			continue
		}
		for state, dir := range map[string]string{ledger.FileDone: folders.Done, ledger.FileFailed: folders.Failed} {
			p := filepath.Join(dir, rec.Name)
			fi, err := os.Stat(p)
			if err != nil || fi.Size() != rec.Size {
				continue
			}
			if sha, _, err := filelife.HashFile(p); err != nil || sha != rec.SHA256 {
				continue
			}
			rec.State = state
			rec.Message = "settled; recorded after a restart"
			rec.RunID = rc.Run.ID
			rec.Updated = rc.Now()
			if err := rc.Ledger.PutFile(ctx, &rec); err != nil {
				return err
			}
			break
		}
	}
	return nil
}

// pollStep is how long a run waits before looking again at files that
// are not ready yet.
func (j *job) pollStep() time.Duration {
	return min(max(j.opts.MinAge.Duration/4, 50*time.Millisecond), time.Second)
}

// scanLocal takes the ready files of a local inbox, oldest first, and
// reports whether some files are not ready yet.
func (j *job) scanLocal(ctx context.Context, rc *bridge.RunContext, in *Inbox, folders filelife.Folders) (bool, error) {
	entries, err := filelife.Scan(in.Path, j.ignorePatterns())
	if err != nil {
		return false, fmt.Errorf("inbox %s: %w", in.Path, err)
	}
	waiting := false
	now := time.Now()
	for _, e := range entries {
		if !j.ready(in.source(), e.Name, e.Size, e.ModTime, now, func() bool {
			return filelife.MarkerReady(e.Path, j.opts.DoneMarker, false)
		}) {
			waiting = true
			continue
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
		claimed, err := folders.Claim(e.Name)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				rc.Problem(e.Path, fmt.Sprintf("could not take the file: %v", err))
			}
			continue
		}
		if j.opts.DoneMarker != "" {
			os.Remove(e.Path + j.opts.DoneMarker)
		}
		if err := j.takeLocal(ctx, rc, in, folders, claimed, false); err != nil {
			return false, err
		}
	}
	j.stable.Sweep()
	return waiting, nil
}

// ready decides whether a listed file can be taken now: its done marker
// exists (with done_marker), or its size and time have stayed the same for
// min_age.
func (j *job) ready(source, name string, size int64, mod, now time.Time, marker func() bool) bool {
	key := source + "\x00" + name
	if j.placed.take(key, size) {
		return true
	}
	if j.opts.DoneMarker != "" {
		return marker()
	}
	if j.stable.Observe(key, size, mod, now) {
		j.stable.Forget(key)
		return true
	}
	return false
}

// ignorePatterns are the names never taken.
func (j *job) ignorePatterns() []string {
	p := append([]string(nil), filelife.DefaultIgnore...)
	if j.opts.DoneMarker != "" {
		p = append(p, "*"+j.opts.DoneMarker)
	}
	return p
}

// takeLocal processes a file claimed into processing/ and settles it.
func (j *job) takeLocal(ctx context.Context, rc *bridge.RunContext, in *Inbox, folders filelife.Folders, claimed string, resumed bool) error {
	fi, err := os.Stat(claimed)
	if err != nil {
		return fmt.Errorf("inbox %s: %w", in.Path, err)
	}
	name := filepath.Base(claimed)
	rec, err := j.claimRecord(ctx, rc, in.source(), name, claimed, fi.ModTime(), resumed)
	if err != nil {
		return err
	}
	set := &localSettler{folders: folders, claimed: claimed}
	return j.handle(ctx, rc, in, rec, claimed, set)
}

// claimRecord returns the ledger record of a claimed file: the record of an
// unfinished earlier claim when the content is the same, else a new one.
func (j *job) claimRecord(ctx context.Context, rc *bridge.RunContext, source, name, path string, mod time.Time, resumed bool) (ledger.File, error) {
	sha, size, err := filelife.HashFile(path)
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
	// settle puts the report (a local file, "" for none) beside the file
	// in done/ or failed/ (by state) and moves the file there, calling
	// record (which stores the settled state in the ledger) at the point
	// where a crash leaves nothing to redo twice.
	settle(ctx context.Context, state, report, reportSuffix string, record func() error) error
	// where names the file for messages.
	where() string
}

func settledDir(state string) string {
	if state == ledger.FileFailed {
		return dirFailed
	}
	return dirDone
}

// localSettler settles a file of a local inbox with filelife: the report
// is written beside the file's final name, then the file is moved, then the
// ledger records it. A crash before the move leaves the file in
// processing/ (resumed: its rows are in the ledger, nothing is re-sent); a
// crash after it leaves a settled file whose ledger record still says
// processing, which only weakens the duplicate check for that content
// (its rows are still found as sent).
type localSettler struct {
	folders filelife.Folders
	claimed string
}

func (s *localSettler) where() string {
	return filepath.Join(s.folders.Inbox, filepath.Base(s.claimed))
}

func (s *localSettler) settle(ctx context.Context, state, report, reportSuffix string, record func() error) error {
	var reports []filelife.Report
	if report != "" {
		// Streamed from the work folder, never held in memory.
		reports = append(reports, filelife.Report{Suffix: reportSuffix, From: report})
	}
	if _, err := s.folders.Settle(s.claimed, state != ledger.FileFailed, reports...); err != nil {
		return err
	}
	if report != "" {
		os.Remove(report)
	}
	return record()
}

// placedFiles remembers the files the import page wrote into local inboxes
// (whole: written under a temporary name, then renamed), by inbox source
// and name, so that the run takes them at once.
type placedFiles struct {
	mu sync.Mutex
	m  map[string]placedFile
}

type placedFile struct {
	size int64
	at   time.Time
}

func (p *placedFiles) add(source, name string, size int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, f := range p.m {
		if time.Since(f.at) > 24*time.Hour {
			delete(p.m, k)
		}
	}
	p.m[source+"\x00"+name] = placedFile{size: size, at: time.Now()}
}

// take reports whether key was placed with that size, and forgets it.
func (p *placedFiles) take(key string, size int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, ok := p.m[key]
	if ok {
		delete(p.m, key)
	}
	return ok && f.size == size
}
