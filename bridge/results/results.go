// Package results is the field-results flow (job kind
// "officetrack-results"): OfficeTrack's results reach the customer's
// folder, whole and once, by two roads.
//
//   - FTP pickup: every run polls a folder on OfficeTrack's FTP/FTPS/SFTP
//     server (the source), takes each file once it is stable, downloads it
//     atomically and size-checked into the target (a local folder or the
//     customer's own FTP/SFTP), keeping sub-folders, records it in the
//     ledger and only then deletes it from the source, moves it to an
//     archive folder, or leaves it.
//   - Notifications: an HTTP handler on the bridge's server receives
//     OfficeTrack's Client Notification System posts
//     (application/x-www-form-urlencoded, field RequestString holding an
//     XML document), checks them, writes each one atomically as one file
//     into the target, records it in the ledger and only then answers
//     200 "_OK_". Optionally each written notification is forwarded to a
//     customer URL, asynchronously and with retries.
//
// # What the ledger holds
//
// Pickup: one ledger Item per remote file, key
// "file:<source connection>:<path under source_dir>", whose Hash is the
// file's version "<size>:<mtime in unix ns>[:<precision>]" — together the
// (path, size, mtime) key, with how precise the server's time is
// (version.go). A listing matches a record when its size is the same and
// its time may stand for the same instant; where the listing gives only
// minutes (vsftpd), the version taken is the one MDTM gives as the
// transfer begins, to the second. Before the remote copy is deleted or
// archived, the server must still have that version; otherwise the record
// becomes "changed" and the newer content is taken as a new version. Outcome "claimed" (RemoteID: the target path it
// is written to) is durable before the file gets its final name in the
// target; "done" (Message: its sha256) is durable before the remote copy
// is deleted or archived. A remote file whose key is "done" is never
// downloaded again: with after = "delete" or "archive" the next run only
// removes or archives it (this is what a crash between download and remote
// removal leads to), with after = "leave" it is skipped. A "claimed" file
// found again was interrupted: it is downloaded again to the claimed path
// (replacing a same-size file there, which is that attempt's), so an
// interrupted download never leaves two copies. "failed" marks a file
// refused for its name or size, reported once; "collision" one that
// on_collision = "fail" keeps on the source (tried again each poll).
// Items are written by a group committer: concurrent downloads share
// transactions, so the ledger's fsync is not paid once per file. Into a
// target that implements transports.Stager (a local folder) files are
// taken in batches: downloaded into temporary names unflushed, then per
// batch all bytes made durable at once, renamed, folders flushed, and the
// batch recorded "done" in one transaction (batch.go).
//
// Stability across polls is judged from the last poll's observations
// (size, mtime and since when they are unchanged) of the files not yet
// taken, kept as one JSON job state ("pickup.observed") so that it
// survives restarts and works with `fieldbridge once`.
//
// Notifications: one ledger Item per notification, key
// "notification:<sha256 of the RequestString>", Outcome "writing" (with
// the file name it is written under in RemoteID) before the write and
// "written" after. The content hash was chosen over entry id + event type
// because OfficeTrack posts several distinct notifications for the same
// entry and event (a form edited twice), which must all be kept, while a
// re-post of the very same notification (the sender retrying after a lost
// answer) is identical byte for byte and must be written once. A re-post
// of a notification whose write was interrupted is written again under the
// same name (replace), so a crash never leaves two copies. Forwarding uses
// items "forward:<sha256>" (Outcome "pending", "forwarded" or "failed").
package results

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/fileconn"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
	"github.com/fieldbridge/fieldbridge/transports"
)

// KindName is the value of a job's `kind` key for this flow.
const KindName = "officetrack-results"

// Kind returns the job kind of the field-results flow.
func Kind() bridge.Kind {
	return bridge.Kind{
		Name:       KindName,
		Summary:    "OfficeTrack field results (FTP pickup and HTTP notifications) into the customer's folder",
		NewOptions: func() any { o := DefaultOptions(); return &o },
		New: func(env *bridge.Env, spec bridge.JobSpec, opts any) (bridge.Job, error) {
			o, ok := opts.(*Options)
			if !ok {
				return nil, fmt.Errorf("officetrack-results: options of type %T", opts)
			}
			return New(env, spec, *o)
		},
	}
}

// After says what happens to a remote file once it is safely in the target.
const (
	AfterDelete  = "delete"
	AfterArchive = "archive"
	AfterLeave   = "leave"
)

// Target name collision policies (Options.OnCollision).
const (
	CollisionReplace  = "replace"
	CollisionKeepBoth = "keep_both"
	CollisionFail     = "fail"
)

// Options configure an officetrack-results job.
type Options struct {
	// Source is the name of the connection (ftp, ftps, sftp or local) where
	// OfficeTrack exports result files. Empty: no FTP pickup (notifications
	// only).
	Source string `toml:"source"`
	// SourceDir is the export folder on the source, relative to the
	// connection's root ("" = the root).
	SourceDir string `toml:"source_dir"`
	// Include lists glob patterns (path.Match) a file must match to be
	// taken; a pattern without "/" is matched against the file's name,
	// one with "/" against its path under SourceDir. Default: every file.
	Include []string `toml:"include"`
	// Exclude lists glob patterns of files never taken. Default: temporary
	// and lock names ("~$*", "*.tmp", "*.part", "*.partial", ".*").
	Exclude []string `toml:"exclude"`
	// Recursive takes files from sub-folders too, keeping the sub-folders
	// in the target.
	Recursive bool `toml:"recursive"`
	// MinAge: a file is taken only when its size and modification time did
	// not change between two polls and it is at least this old — by its
	// modification time on the server, or, when the server's clock or time
	// zone is off, by how long the bridge has seen it unchanged. Default 30s.
	MinAge bridge.Duration `toml:"min_age"`
	// DoneMarker, when set, is a suffix (".done", ".ok"): a file whose
	// marker "<name><suffix>" exists is taken at once, without waiting for
	// stability. Markers are never copied; they are removed or archived
	// with their file.
	DoneMarker string `toml:"done_marker"`
	// After is what happens to a remote file once it is in the target and
	// recorded: "delete" (default), "archive" (moved to ArchiveDir) or
	// "leave" (the ledger makes sure each file is taken once).
	After string `toml:"after"`
	// ArchiveDir is the folder on the source, relative to the connection's
	// root, that files are moved to with after = "archive". Default
	// "archive". It is never polled.
	ArchiveDir string `toml:"archive_dir"`

	// Target is the name of the connection (local, ftp, sftp) of the
	// customer's folder. Empty: TargetDir is a local folder.
	Target string `toml:"target"`
	// TargetDir is the folder files go to: relative to the Target
	// connection's root, or a local path when Target is empty.
	TargetDir string `toml:"target_dir"`
	// OnCollision is what happens when a file of the same name already is
	// in the target: "keep_both" (default: the new one gets a " (2)"
	// suffix), "replace" or "fail" (reported; the remote file stays).
	OnCollision string `toml:"on_collision"`
	// WriteDoneMarker, when set, is a suffix: after each file an empty
	// "<name><suffix>" is written beside it, for customer systems that
	// wait for one.
	WriteDoneMarker string `toml:"write_done_marker"`
	// Connections bounds how many files are downloaded at once (the
	// source connection's own max_conns bounds its sessions too). Finished
	// files are flushed to the target (fsync, rename) while the next ones
	// download. Default 4.
	Connections int `toml:"connections"`
	// MaxFileSize, when > 0, refuses (and reports) larger remote files.
	MaxFileSize int64 `toml:"max_file_size"`

	// Notifications configures the Client Notification System receiver.
	Notifications NotifyOptions `toml:"notifications"`
}

// NotifyOptions configure the notification receiver.
type NotifyOptions struct {
	// Path is the URL path OfficeTrack posts to ("/officetrack/notify").
	// Empty: no receiver.
	Path string `toml:"path"`
	// Token is the shared secret OfficeTrack must send: in the query
	// parameter "token" of the URL it was given, or in the header
	// "X-Fieldbridge-Token" (or "Authorization: Bearer ..."). Required
	// when Path is set.
	Token string `toml:"token" secret:"true"`
	// Dir is the folder in the target the notifications are written to
	// (relative to TargetDir). Default "notifications".
	Dir string `toml:"dir"`
	// MaxBytes bounds the RequestString. Default 1 MiB.
	MaxBytes int64 `toml:"max_bytes"`
	// TriggerPickup asks the engine for a poll of the source after each
	// stored notification (runs coalesce), so that files OfficeTrack
	// exported with the event are seen sooner than the next interval.
	TriggerPickup bool `toml:"trigger_pickup"`
	// ForwardURL, when set, receives every written notification as
	// OfficeTrack sent it (POST form RequestString), after the 200 went
	// out. A 2xx answer is success.
	ForwardURL string `toml:"forward_url"`
	// ForwardToken, when set, is sent as "Authorization: Bearer <token>".
	ForwardToken string `toml:"forward_token" secret:"true"`
	// ForwardAttempts is how many times a forward is tried before it is
	// recorded failed (it is tried again at the next run). Default 5.
	ForwardAttempts int `toml:"forward_attempts"`
	// ForwardTimeout bounds one forward request. Default 30s.
	ForwardTimeout bridge.Duration `toml:"forward_timeout"`
}

// DefaultOptions returns the options with every default filled in.
func DefaultOptions() Options {
	return Options{
		Exclude:     []string{"~$*", "*.tmp", "*.part", "*.partial", ".*"},
		MinAge:      bridge.Duration{Duration: 30 * time.Second},
		After:       AfterDelete,
		ArchiveDir:  "archive",
		OnCollision: CollisionKeepBoth,
		Connections: 4,
		Notifications: NotifyOptions{
			Dir:             "notifications",
			MaxBytes:        officetrack.NotificationMaxBytes,
			ForwardAttempts: 5,
			ForwardTimeout:  bridge.Duration{Duration: 30 * time.Second},
		},
	}
}

// Check validates the options without I/O and returns every problem,
// each naming its key.
func (o Options) Check() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, bridge.OptionErrorf(key, format, a...))
	}
	if o.Source == "" && o.Notifications.Path == "" {
		bad("source", "set a source connection (FTP pickup) or notifications.path (or both)")
	}
	if o.Target == "" && strings.TrimSpace(o.TargetDir) == "" {
		bad("target_dir", "the customer's folder is required (a local folder, or a folder of the target connection)")
	}
	for key, list := range map[string][]string{"include": o.Include, "exclude": o.Exclude} {
		for _, p := range list {
			if _, err := path.Match(p, ""); err != nil {
				bad(key, "%q is not a valid glob pattern (see Go's path.Match)", p)
			}
		}
	}
	if o.MinAge.Duration < 0 {
		bad("min_age", "must not be negative")
	}
	switch o.After {
	case AfterDelete, AfterLeave:
	case AfterArchive:
		if err := cleanRel(o.ArchiveDir); err != nil || o.ArchiveDir == "" {
			bad("archive_dir", "a folder relative to the source connection's root is required with after = \"archive\"")
		}
	default:
		bad("after", "%q: use delete, archive or leave", o.After)
	}
	switch o.OnCollision {
	case CollisionReplace, CollisionKeepBoth, CollisionFail:
	default:
		bad("on_collision", "%q: use replace, keep_both or fail", o.OnCollision)
	}
	if o.SourceDir != "" {
		if err := cleanRel(o.SourceDir); err != nil {
			bad("source_dir", "%v", err)
		}
	}
	if o.Target != "" && o.TargetDir != "" {
		if err := cleanRel(o.TargetDir); err != nil {
			bad("target_dir", "%v", err)
		}
	}
	if o.Target == "" {
		if err := bridge.CheckFolder(o.TargetDir); err != nil {
			bad("target_dir", "%v", err)
		}
	}
	for key, s := range map[string]string{"done_marker": o.DoneMarker, "write_done_marker": o.WriteDoneMarker} {
		if s != "" && (strings.ContainsAny(s, "/\\") || transports.ValidName("x"+s) != nil) {
			bad(key, "%q must be a plain suffix such as \".done\"", s)
		}
	}
	if o.Connections < 1 || o.Connections > 64 {
		bad("connections", "%d: use 1 to 64", o.Connections)
	}
	if o.MaxFileSize < 0 {
		bad("max_file_size", "must not be negative")
	}
	n := o.Notifications
	if n.Path != "" {
		if !strings.HasPrefix(n.Path, "/") || strings.ContainsAny(n.Path, " {}") {
			bad("notifications.path", "%q must be a URL path starting with /", n.Path)
		}
		if len(n.Token) < 16 {
			bad("notifications.token", "a shared secret of at least 16 characters is required (use ${VAR} or file:/path)")
		}
		if err := cleanRel(n.Dir); err != nil {
			bad("notifications.dir", "%v", err)
		}
		if n.MaxBytes <= 0 || n.MaxBytes > 64<<20 {
			bad("notifications.max_bytes", "%d: use 1 to 67108864", n.MaxBytes)
		}
		if n.ForwardURL != "" {
			if !strings.HasPrefix(n.ForwardURL, "http://") && !strings.HasPrefix(n.ForwardURL, "https://") {
				bad("notifications.forward_url", "%q must be an http:// or https:// URL", n.ForwardURL)
			}
			if n.ForwardAttempts < 1 {
				bad("notifications.forward_attempts", "must be at least 1")
			}
			if n.ForwardTimeout.Duration <= 0 {
				bad("notifications.forward_timeout", "must be positive")
			}
		}
	}
	return errors.Join(errs...)
}

// cleanRel checks a configured relative folder.
func cleanRel(p string) error {
	if p == "" || p == "." {
		return nil
	}
	if strings.HasPrefix(p, "/") || path.Clean(p) != strings.TrimSuffix(p, "/") {
		return fmt.Errorf("%q must be a clean relative folder (no leading /, no ..)", p)
	}
	for _, e := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		if err := transports.ValidName(e); err != nil {
			return fmt.Errorf("%q: %w", p, err)
		}
	}
	return nil
}

// Opener builds a transport from a connection's type and decoded options.
// The job uses fileconn.Open unless a test gives another.
type Opener func(ctx context.Context, typ string, opts any) (transports.Transport, error)

// Job is a configured officetrack-results job. It implements bridge.Job
// (the FTP pickup; each Run is one poll) and bridge.Handler (the
// notification receiver).
type Job struct {
	name string
	opts Options
	env  *bridge.Env
	open Opener
	now  func() time.Time

	mu     sync.Mutex
	source transports.Transport
	target transports.Transport

	notify *notifier
	// failures counts failed downloads per path, for reporting only.
	failures map[string]int
}

var (
	_ bridge.Job     = (*Job)(nil)
	_ bridge.Handler = (*Job)(nil)
)

// New validates the options and builds the job. It does no I/O.
func New(env *bridge.Env, spec bridge.JobSpec, o Options) (*Job, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	if env == nil {
		return nil, errors.New("officetrack-results: no engine environment")
	}
	if spec.Name == "" {
		return nil, errors.New("name: the job needs a name")
	}
	if env.Config != nil {
		var errs []error
		for key, name := range map[string]string{"source": o.Source, "target": o.Target} {
			if name != "" {
				if err := fileconn.IsFileConn(env, name); err != nil {
					errs = append(errs, bridge.OptionErrorf(key, "%v", err))
				}
			}
		}
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	j := &Job{name: spec.Name, opts: o, env: env, open: fileconn.Open, now: time.Now}
	if o.Notifications.Path != "" {
		j.notify = newNotifier(j)
	}
	return j, nil
}

// SetOpener replaces how connections are opened (tests). Call before the
// first Run or request.
func (j *Job) SetOpener(o Opener) { j.open = o }

// SetTransports gives the job ready source and target transports instead
// of opening its connections (tests, demo). Either may be nil to keep the
// configured one. The job closes them in Close.
func (j *Job) SetTransports(source, target transports.Transport) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if source != nil {
		j.source = source
	}
	if target != nil {
		j.target = target
	}
}

// SetClock replaces the clock (tests).
func (j *Job) SetClock(now func() time.Time) { j.now = now }

// Close releases the job's connections and stops the forwarder.
func (j *Job) Close() error {
	if j.notify != nil {
		j.notify.stop()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	var errs []error
	if j.source != nil {
		errs = append(errs, j.source.Close())
		j.source = nil
	}
	if j.target != nil {
		errs = append(errs, j.target.Close())
		j.target = nil
	}
	return errors.Join(errs...)
}

// sourceT returns the source transport, opening it on first use.
func (j *Job) sourceT(ctx context.Context) (transports.Transport, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.source != nil {
		return j.source, nil
	}
	typ, opts, err := j.env.Conn(j.opts.Source)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	t, err := j.open(ctx, typ, opts)
	if err != nil {
		return nil, fmt.Errorf("source %q: %w", j.opts.Source, err)
	}
	j.source = t
	return t, nil
}

// targetT returns the target transport, opening it on first use. With no
// Target connection it is the local folder TargetDir.
func (j *Job) targetT(ctx context.Context) (transports.Transport, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.target != nil {
		return j.target, nil
	}
	var (
		t   transports.Transport
		err error
	)
	if j.opts.Target == "" {
		dir := j.opts.TargetDir
		if j.env.Config != nil {
			dir = j.env.Config.Resolve(dir)
		}
		t, err = j.open(ctx, "local", localOptions(dir))
	} else {
		typ, opts, cerr := j.env.Conn(j.opts.Target)
		if cerr != nil {
			return nil, fmt.Errorf("target: %w", cerr)
		}
		t, err = j.open(ctx, typ, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	j.target = t
	return t, nil
}

// targetPath is where a file at rel (relative to the source folder or the
// notification folder) goes in the target transport.
func (j *Job) targetPath(rel string) string {
	if j.opts.Target == "" || j.opts.TargetDir == "" || j.opts.TargetDir == "." {
		return rel
	}
	return path.Join(j.opts.TargetDir, rel)
}

// Run does one poll of the source (when configured) and retries
// notification forwards that are still pending.
func (j *Job) Run(ctx context.Context, rc *bridge.RunContext) error {
	var err error
	if j.opts.Source != "" {
		err = j.poll(ctx, rc)
	}
	if j.notify != nil {
		// Notification writes last at most writeTimeout: older temporary
		// files there are leftovers of a killed process.
		if dst, terr := j.targetT(ctx); terr == nil {
			j.cleanTemps(ctx, rc, dst, j.targetPath(j.opts.Notifications.Dir), nil, rc.Now().Add(-2*writeTimeout))
		}
		if j.opts.Notifications.ForwardURL != "" {
			j.notify.retryPending(ctx, rc)
		}
	}
	return err
}
