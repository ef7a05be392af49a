// Package sheets is the job kind `sheet-officetrack`: task sheets (XLSX or
// CSV) dropped in inboxes — local folders or FTP/SFTP folders — are mapped
// with a saved column mapping and sent to OfficeTrack, by web service
// (CreateOrUpdateTask / InsertOrUpdatePointOfInterest, one call per row) or
// as one normalised file dropped on OfficeTrack's FTP import folder. Each
// sheet ends in done/ or failed/ with a result report beside it.
//
// A file's life (DESIGN.md): seen → ready (unchanged for min_age, or its
// done marker exists) → claimed (moved to processing/, or downloaded and
// recorded in the ledger for a remote inbox) → rows sent → settled (the
// report beside the file in done/ or failed/, and the ledger's record).
//
// The ledger holds, per job: a File record per sheet (its sha256 is the
// duplicate key: content already done is not sent again), and an Item per
// row under "<file sha256>:<row, 8 digits>" with the row's outcome (sent,
// failed = refused by OfficeTrack, rejected = failed validation). With the
// webservice delivery, at most `concurrency` calls are in flight, and a
// worker's outcome is durable (group commits) before it sends its next
// row, so at most `concurrency` rows are sent but unrecorded at any moment:
// a crash re-sends at most those, as upserts of the same TaskNumber
// (AutoSelect). Rows without a TaskNumber get a number derived from the
// row's own values (see DerivedTaskNumber and Options.TaskNumberFrom),
// the same in every re-send of the row. The ftp delivery records one item
// "<file sha256>:ftp" once the import file is uploaded.
//
// Wrong credentials (InvalidUserNameOrPasswordOrIPAddress, ModuleNotSet)
// stop the run at once and leave the sheet in processing/; transient
// failures are retried by the client with backoff and then leave the sheet
// for the next run; neither sends it to failed/.
package sheets

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/fileconn"
	"github.com/fieldbridge/fieldbridge/mapping"
)

// KindName is the job kind's name in the config.
const KindName = "sheet-officetrack"

// Deliveries.
const (
	DeliveryWebService = "webservice"
	DeliveryFTP        = "ftp"
)

// Options are a sheet-officetrack job's keys.
type Options struct {
	// Delivery is "webservice" (default: one SOAP call per row) or "ftp"
	// (one normalised file per sheet on OfficeTrack's FTP import folder).
	Delivery string `toml:"delivery"`
	// OfficeTrack names the connection (type "officetrack") used by the
	// webservice delivery. With the FTP delivery it is optional: the
	// tasks of an import file whose upload was interrupted, and which is
	// no longer on the server, are then looked up before it is uploaded
	// again (OfficeTrack's loader may have taken it).
	OfficeTrack string `toml:"officetrack"`
	// Mappings is the folder of saved mappings (one TOML file each).
	Mappings string `toml:"mappings" folder:"local"`
	// Inboxes are where sheets arrive ([[job.inbox]] tables).
	Inboxes []Inbox `toml:"inbox"`
	// FTP is the import layout and place for the ftp delivery ([job.ftp]).
	FTP ImportLayout `toml:"ftp"`
	// AllOrNothing sends nothing from a file that has any invalid row
	// (default false: invalid rows are reported, the rest is sent).
	AllOrNothing bool `toml:"all_or_nothing"`
	// Concurrency is how many web-service calls are in flight at once
	// (default: the connection's concurrency, 8).
	Concurrency int `toml:"concurrency"`
	// MinAge is how long a file's size and time must stay unchanged
	// before it is taken (default 5s). Ignored when DoneMarker is set.
	MinAge bridge.Duration `toml:"min_age"`
	// DoneMarker, when set, is a suffix ("ok", ".done"): a file is taken
	// only when "<file name><suffix>" exists beside it; the marker is
	// removed with the file.
	DoneMarker string `toml:"done_marker"`
	// Rescan is how often local inboxes are rescanned without events
	// (default 30s); remote inboxes are polled on the job's interval.
	Rescan bridge.Duration `toml:"rescan"`
	// RemoteDelete deletes a remote inbox's file once settled instead of
	// moving it to done/ or failed/ there (the report is still written).
	RemoteDelete bool `toml:"remote_delete"`
	// TaskNumberFrom names the officetrack-task fields that identify a
	// task (e.g. ["WorkOrderNumber"]) for rows without a TaskNumber: a
	// row with a value in one of them gets a TaskNumber derived from
	// those values, so a corrected row updates its task. Empty (default),
	// or none of them filled: derived from all the row's mapped values.
	// See DerivedTaskNumber.
	TaskNumberFrom []string `toml:"task_number_from"`
}

// Inbox is one place sheets arrive, bound to a mapping.
type Inbox struct {
	// Path is a local folder (watched with fsnotify and rescanned).
	Path string `toml:"path" folder:"local"`
	// Connection names an FTP/SFTP connection; Folder is the folder on
	// it (polled on the job's interval). Use either Path or Connection.
	Connection string `toml:"connection"`
	Folder     string `toml:"folder"`
	// Mapping names the saved mapping for this inbox's files; empty: the
	// mapping whose file-name pattern matches, or detected from headers.
	Mapping string `toml:"mapping"`
	// Name names the inbox in the import pages' addresses and in users'
	// grants ("job/name"). Default: the folder's last element.
	Name string `toml:"name"`
}

// displayName is the inbox's name in the import pages.
func (in *Inbox) displayName() string {
	if in.Name != "" {
		return in.Name
	}
	p := in.Path
	if in.remote() {
		p = in.Folder
		if strings.Trim(p, "/") == "" {
			return in.Connection
		}
	}
	p = strings.TrimRight(strings.ReplaceAll(p, "\\", "/"), "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	if p == "" {
		return "inbox"
	}
	return p
}

// remote reports whether the inbox is an FTP/SFTP folder.
func (in *Inbox) remote() bool { return in.Connection != "" }

// source is the inbox's name in the ledger.
func (in *Inbox) source() string {
	if in.remote() {
		return in.Connection + ":" + strings.Trim(in.Folder, "/")
	}
	return in.Path
}

// DefaultOptions returns a job's defaults.
func DefaultOptions() *Options {
	return &Options{
		Delivery: DeliveryWebService,
		MinAge:   bridge.Duration{Duration: 5 * time.Second},
		Rescan:   bridge.Duration{Duration: 30 * time.Second},
		FTP:      ImportLayout{Format: "csv", Separator: ";", Encoding: "utf-8", FileName: "{name}-{sha}.{ext}"},
	}
}

var inboxNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// check validates options without I/O, every problem joined.
func (o *Options) check(env *bridge.Env) error {
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, bridge.OptionErrorf(key, format, args...)) }
	if o.OfficeTrack != "" && env != nil && env.Config != nil {
		if typ, _, err := env.Conn(o.OfficeTrack); err != nil {
			add("officetrack", "%v", err)
		} else if typ != ConnTypeName {
			add("officetrack", "connection %q is of type %q, not %q", o.OfficeTrack, typ, ConnTypeName)
		}
	}
	switch o.Delivery {
	case DeliveryWebService:
		if o.OfficeTrack == "" {
			add("officetrack", "missing: name the connection of type %q", ConnTypeName)
		}
	case DeliveryFTP:
		o.FTP.withDefaults()
		if err := o.FTP.check("ftp"); err != nil {
			errs = append(errs, err)
		}
		if o.FTP.Connection != "" && env != nil && env.Config != nil {
			if err := fileconn.IsFileConn(env, o.FTP.Connection); err != nil {
				add("ftp.connection", "%v", err)
			}
		}
	default:
		add("delivery", "%q is not %q or %q", o.Delivery, DeliveryWebService, DeliveryFTP)
	}
	if o.Mappings == "" {
		add("mappings", "missing: the folder of saved mappings")
	}
	if len(o.Inboxes) == 0 {
		add("inbox", "missing: add at least one [[job.inbox]] with path = \"/folder\" or connection + folder")
	}
	seen := map[string]bool{}
	names := map[string]string{}
	for i, in := range o.Inboxes {
		key := fmt.Sprintf("inbox[%d]", i)
		switch {
		case in.Path != "" && in.Connection != "":
			add(key, "give either path (a local folder) or connection + folder, not both")
		case in.Path == "" && in.Connection == "":
			add(key, "give path (a local folder) or connection + folder (FTP/SFTP)")
		}
		if in.Connection != "" && env != nil && env.Config != nil {
			if err := fileconn.IsFileConn(env, in.Connection); err != nil {
				add(key+".connection", "%v", err)
			}
		}
		if seen[in.source()] {
			add(key, "the same inbox is listed twice")
		}
		seen[in.source()] = true
		if in.Name != "" && !inboxNameRE.MatchString(in.Name) {
			add(key+".name", "%q: use letters, digits, '.', '_' and '-'", in.Name)
		} else if n := in.displayName(); names[n] != "" {
			add(key+".name", "%q is also the name of %s: give each inbox its own name = \"...\"", n, names[n])
		} else {
			names[n] = key
		}
	}
	task := mapping.Targets()[mapping.TargetTask]
	for i, name := range o.TaskNumberFrom {
		key := fmt.Sprintf("task_number_from[%d]", i)
		f, ok := task.Field(name)
		switch {
		case !ok:
			add(key, "%q is not a field of %s (e.g. \"WorkOrderNumber\", \"CustomerNumber\")", name, mapping.TargetTask)
		case f.Name == "TaskNumber" || f.Type == mapping.LatLng:
			add(key, "%q cannot identify a task; name fields such as \"WorkOrderNumber\"", name)
		default:
			o.TaskNumberFrom[i] = f.Name // the target's spelling, so the identity does not depend on case
		}
	}
	if o.Concurrency < 0 || o.Concurrency > 256 {
		add("concurrency", "must be between 1 and 256")
	}
	if o.MinAge.Duration < 0 {
		add("min_age", "must not be negative")
	}
	if strings.ContainsAny(o.DoneMarker, `/\`) {
		add("done_marker", "must be a suffix like \".ok\", not a path")
	}
	return errors.Join(errs...)
}
