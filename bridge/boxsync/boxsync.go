// Package boxsync is the `ozmap-sytex-boxes` job: it copies OZmap boxes to
// Sytex as network elements, daily, creating or updating them and never
// deleting.
//
// A run lists the boxes changed since the last successful run (OZmap's
// updatedAt, minus an overlap margin), maps each box to a network element
// (code from a template, type from a box-type table, coordinates), and
// compares the element's field hashes with the ledger: unchanged boxes cost
// no call to Sytex; changed boxes whose Sytex id is known are patched with
// the changed fields only; new boxes are searched by exact code and created
// (none), updated (one) or reported as conflicts (several). Every outcome is
// in the ledger before the worker that sent it takes its next box, so a run
// killed at any moment resumes without sending anything twice: a box
// created just before a kill has no ledger entry yet, is found by its code
// and updated, not created again.
//
// What an incremental run does not see: edits or deletions made by hand in
// Sytex to elements of unchanged boxes (nothing is asked of Sytex for
// them). A full run (`fieldbridge once -full JOB`) compares every box with
// Sytex and repairs them. A change of the mapping options (templates,
// ne_types, projects) makes the next run read every box by itself.
//
// Outcomes per box, in the ledger (item key = OZmap box id, hash = one
// short hash per element field, RemoteID = Sytex id) and in the counters:
// created, updated, unchanged, failed (with Sytex's message; retried on
// the next runs), conflicts (several elements with the code, or two boxes
// with one code; retried), skipped (still in project). A 401 (either side)
// or a 403 from Sytex stops the run at once; so do max_failures_in_a_row
// transient failures in a row.
package boxsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/fileconn"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap"
	"github.com/fieldbridge/fieldbridge/connectors/sytex"
	"github.com/fieldbridge/fieldbridge/transports"
)

// KindName is the job kind's name in the configuration.
const KindName = "ozmap-sytex-boxes"

// Options are the keys of an `ozmap-sytex-boxes` job table.
type Options struct {
	// OZmap names the connection (type "ozmap") the boxes come from.
	OZmap string `toml:"ozmap"`
	// Sytex names the connection (type "sytex") the elements go to.
	Sytex string `toml:"sytex"`
	// Projects limits the boxes to these OZmap projects, given by id,
	// name or identifier. Empty: every project the key can see.
	Projects []string `toml:"projects"`
	// IncludeInProject also sends boxes still being designed
	// (implanted: false). Default false, like the existing integration.
	IncludeInProject bool `toml:"include_in_project"`
	// CodeTemplate makes the element's code from the box (default "{name}").
	// Placeholders: {name} {id} {project} {project_name}
	// {project_identifier} {box_type} {address} {observation} {external_id}
	// {hierarchy_level}.
	CodeTemplate string `toml:"code_template"`
	// NameTemplate makes the element's name (default "{name}").
	NameTemplate string `toml:"name_template"`
	// DescriptionTemplate makes the element's description; empty (default)
	// leaves descriptions alone in Sytex.
	DescriptionTemplate string `toml:"description_template"`
	// NETypes maps an OZmap box type id to a Sytex ne_type id.
	NETypes map[string]int64 `toml:"ne_types"`
	// DefaultNEType is the ne_type of boxes whose type is not in NETypes.
	// 0: such boxes fail with a message asking to add their type.
	DefaultNEType int64 `toml:"default_ne_type"`
	// CoordinatesName is the name of the element's coordinate entry
	// (default "Coordinates").
	CoordinatesName string `toml:"coordinates_name"`
	// Concurrency is the number of boxes sent to Sytex at once (default
	// 8); the Sytex connection's rate_limit paces them. To reach the rate
	// limit it must be at least rate_limit × Sytex's answer time (10/s ×
	// 0.3 s = 3); more only waits on the limiter.
	Concurrency int `toml:"concurrency"`
	// Overlap is subtracted from the last successful run's start when
	// asking OZmap for changed boxes, to cover clock skew and boxes saved
	// during that run (default 10m).
	Overlap bridge.Duration `toml:"overlap"`
	// MaxFailuresInARow stops the run when Sytex fails this many boxes in
	// a row with transient errors after retries (default 10).
	MaxFailuresInARow int `toml:"max_failures_in_a_row"`
	// PrefetchThreshold: when a run has at least this many boxes whose
	// Sytex id is unknown (the first run, a full run), it reads every Sytex
	// network element once (a few large pages) instead of searching each
	// code (default 200; 0 or negative: always search each code).
	PrefetchThreshold int `toml:"prefetch_threshold"`
	// PrefetchPageSize is the page size of that read (default 1000).
	PrefetchPageSize int `toml:"prefetch_page_size"`
	// ReportDir, when set, receives a CSV report per run
	// (boxsync-<job>-<YYYYMMDD-HHMMSS>.csv), written atomically: a local
	// folder (relative to the config file), or a folder within ReportTo.
	ReportDir string `toml:"report_dir"`
	// ReportTo names a connection that is a place for files (local, ftp,
	// sftp) to write the reports to, in ReportDir within it.
	ReportTo string `toml:"report_to"`
	// ReportUnchanged also lists unchanged boxes in the CSV (default false).
	ReportUnchanged bool `toml:"report_unchanged"`
}

// DefaultOptions returns the options with every default filled in.
func DefaultOptions() *Options {
	return &Options{
		CodeTemplate:      "{name}",
		NameTemplate:      "{name}",
		CoordinatesName:   "Coordinates",
		Concurrency:       8,
		Overlap:           bridge.Duration{Duration: 10 * time.Minute},
		MaxFailuresInARow: 10,
		PrefetchThreshold: 200,
		PrefetchPageSize:  1000,
	}
}

// Kind returns the `ozmap-sytex-boxes` job kind.
func Kind() bridge.Kind {
	return bridge.Kind{
		Name:       KindName,
		Summary:    "OZmap boxes → Sytex network elements (create or update, never delete), incremental",
		NewOptions: func() any { return DefaultOptions() },
		New:        newFromEnv,
	}
}

// ConnTypes returns the connection types this job uses: "ozmap" and "sytex".
func ConnTypes() []bridge.ConnType { return []bridge.ConnType{OZmapConnType(), SytexConnType()} }

// OZmapConnType is the "ozmap" connection type (also used by the
// viability flow): options are ozmap.Options.
func OZmapConnType() bridge.ConnType {
	return bridge.ConnType{
		Name:       "ozmap",
		NewOptions: func() any { o := ozmap.DefaultOptions(); return &o },
		Check:      func(opts any) error { return opts.(*ozmap.Options).Check() },
		Connect: func(ctx context.Context, opts any) error {
			c, err := ozmap.New(*opts.(*ozmap.Options))
			if err != nil {
				return err
			}
			return c.Ping(ctx)
		},
	}
}

// SytexConnType is the "sytex" connection type: options are sytex.Options.
func SytexConnType() bridge.ConnType {
	return bridge.ConnType{
		Name:       "sytex",
		NewOptions: func() any { o := sytex.DefaultOptions(); return &o },
		Check:      func(opts any) error { return opts.(*sytex.Options).Check() },
		Connect: func(ctx context.Context, opts any) error {
			c, err := sytex.New(*opts.(*sytex.Options))
			if err != nil {
				return err
			}
			return c.Ping(ctx)
		},
	}
}

func newFromEnv(env *bridge.Env, spec bridge.JobSpec, opts any) (bridge.Job, error) {
	o, ok := opts.(*Options)
	if !ok {
		return nil, fmt.Errorf("%s: options are %T, not *boxsync.Options", KindName, opts)
	}
	var errs []error
	var oz *ozmap.Client
	var sy *sytex.Client
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.OZmap == "" {
		errs = append(errs, errors.New("ozmap: missing (the name of an ozmap connection)"))
	} else if typ, co, err := env.Conn(o.OZmap); err != nil {
		errs = append(errs, fmt.Errorf("ozmap: %w", err))
	} else if oo, ok := co.(*ozmap.Options); !ok || typ != "ozmap" {
		errs = append(errs, fmt.Errorf("ozmap: connection %q is of type %q, not ozmap", o.OZmap, typ))
	} else {
		c := *oo
		c.Log = log.With("conn", o.OZmap)
		if oz, err = ozmap.New(c); err != nil {
			errs = append(errs, fmt.Errorf("ozmap: connection %q: %w", o.OZmap, err))
		}
	}
	if o.Sytex == "" {
		errs = append(errs, errors.New("sytex: missing (the name of a sytex connection)"))
	} else if typ, co, err := env.Conn(o.Sytex); err != nil {
		errs = append(errs, fmt.Errorf("sytex: %w", err))
	} else if so, ok := co.(*sytex.Options); !ok || typ != "sytex" {
		errs = append(errs, fmt.Errorf("sytex: connection %q is of type %q, not sytex", o.Sytex, typ))
	} else {
		c := *so
		c.Log = log.With("conn", o.Sytex)
		if sy, err = sytex.New(c); err != nil {
			errs = append(errs, fmt.Errorf("sytex: connection %q: %w", o.Sytex, err))
		}
	}
	d := Deps{Name: spec.Name, OZmap: oz, Sytex: sy}
	oo := *o
	if env.Config != nil {
		d.Language = configLanguage(env.Config)
		if oo.ReportTo == "" && oo.ReportDir != "" {
			if err := bridge.CheckFolder(oo.ReportDir); err != nil {
				errs = append(errs, bridge.OptionErrorf("report_dir", "%v", err))
			}
			oo.ReportDir = env.Config.Resolve(oo.ReportDir)
		}
	}
	if oo.ReportTo != "" {
		if err := fileconn.IsFileConn(env, oo.ReportTo); err != nil {
			errs = append(errs, fmt.Errorf("report_to: %w", err))
		}
		name := oo.ReportTo
		d.OpenReportTo = func(ctx context.Context) (transports.Transport, error) { return fileconn.OpenNamed(ctx, env, name) }
	}
	j, err := NewJob(oo, d)
	if err != nil && len(errs) == 0 {
		return nil, err
	}
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return j, nil
}

// Deps are what a Job needs besides its options.
type Deps struct {
	// Name is the job's name (its ledger namespace).
	Name  string
	OZmap *ozmap.Client
	Sytex *sytex.Client
	// Language of problems and summaries: "pt-BR" (default), "es", "en".
	Language string
	// OpenReportTo opens the report_to connection (set by the engine's
	// Kind.New; tests may set it).
	OpenReportTo func(ctx context.Context) (transports.Transport, error)
	// TmpDir holds the report while it is written (default os.TempDir()).
	TmpDir string
}

// Job is a configured `ozmap-sytex-boxes` job.
type Job struct {
	name string
	o    Options
	oz   *ozmap.Client
	sy   *sytex.Client
	m    mapping
	lang string
	// fingerprint changes when the mapping options change; a new one
	// makes the next run list every box.
	fingerprint  string
	openReportTo func(ctx context.Context) (transports.Transport, error)
	tmpDir       string
}

// NewJob validates o and builds a job. No I/O. Clients may be nil only
// when only the options are being checked (then an error is returned).
func NewJob(o Options, d Deps) (*Job, error) {
	def := DefaultOptions()
	if o.CodeTemplate == "" {
		o.CodeTemplate = def.CodeTemplate
	}
	if o.NameTemplate == "" {
		o.NameTemplate = def.NameTemplate
	}
	if o.CoordinatesName == "" {
		o.CoordinatesName = def.CoordinatesName
	}
	if o.Concurrency == 0 {
		o.Concurrency = def.Concurrency
	}
	if o.Overlap.Duration == 0 {
		o.Overlap = def.Overlap
	}
	if o.MaxFailuresInARow == 0 {
		o.MaxFailuresInARow = def.MaxFailuresInARow
	}
	if o.PrefetchPageSize == 0 {
		o.PrefetchPageSize = def.PrefetchPageSize
	}
	var errs []error
	code, err := parseTemplate("code_template", o.CodeTemplate)
	errs = append(errs, err)
	name, err := parseTemplate("name_template", o.NameTemplate)
	errs = append(errs, err)
	desc, err := parseTemplate("description_template", o.DescriptionTemplate)
	errs = append(errs, err)
	if o.Concurrency < 1 || o.Concurrency > 64 {
		errs = append(errs, fmt.Errorf("concurrency: %d out of range 1..64", o.Concurrency))
	}
	if o.Overlap.Duration < 0 {
		errs = append(errs, errors.New("overlap: must not be negative"))
	}
	if o.DefaultNEType < 0 {
		errs = append(errs, errors.New("default_ne_type: must be a Sytex ne_type id"))
	}
	for k, v := range o.NETypes {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("ne_types: %q = %d is not a Sytex ne_type id", k, v))
		}
	}
	if o.DefaultNEType == 0 && len(o.NETypes) == 0 {
		errs = append(errs, errors.New("default_ne_type: missing (set it, or a ne_types table; Sytex needs a type for every element)"))
	}
	if o.PrefetchPageSize < 1 || o.PrefetchPageSize > 1000 {
		errs = append(errs, fmt.Errorf("prefetch_page_size: %d out of range 1..1000", o.PrefetchPageSize))
	}
	if o.MaxFailuresInARow < 1 {
		errs = append(errs, errors.New("max_failures_in_a_row: must be at least 1"))
	}
	if d.Name == "" {
		errs = append(errs, errors.New("name: missing"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if d.OZmap == nil || d.Sytex == nil {
		return nil, errors.New("boxsync: OZmap and Sytex clients are required")
	}
	lang := d.Language
	if lang == "" {
		lang = "pt-BR"
	}
	if o.ReportTo != "" && d.OpenReportTo == nil {
		return nil, errors.New("report_to: no way to open the connection")
	}
	j := &Job{name: d.Name, o: o, oz: d.OZmap, sy: d.Sytex, lang: lang, openReportTo: d.OpenReportTo, tmpDir: d.TmpDir,
		m: mapping{code: code, name: name, desc: desc, types: o.NETypes, defaultType: o.DefaultNEType, coordName: o.CoordinatesName}}
	j.fingerprint = short(fmt.Sprintf("%q|%q|%q|%v|%d|%q|%v|%v", o.CodeTemplate, o.NameTemplate, o.DescriptionTemplate,
		sortedTypes(o.NETypes), o.DefaultNEType, o.CoordinatesName, o.IncludeInProject, o.Projects))
	return j, nil
}

// Name returns the job's name.
func (j *Job) Name() string { return j.name }
