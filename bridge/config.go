package bridge

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones even where the system has none

	"github.com/BurntSushi/toml"
	"github.com/robfig/cron/v3"
)

// Config is a loaded, validated configuration file. Jobs and connections
// are decoded into the options structs of their kinds and types.
//
// Flows read the general settings through Env.Config: DataDir (absolute),
// Language ("pt-BR", "es" or "en"), Location() (the default time zone).
type Config struct {
	// Path is the file the config was read from ("" when built in code).
	Path string `toml:"-"`
	// DataDir holds the ledger and working folders. Relative paths are
	// resolved against the config file's folder. Default "data".
	DataDir string `toml:"data_dir"`
	// Timezone is the default IANA zone for schedules and dates.
	// Default "America/Sao_Paulo".
	Timezone string `toml:"timezone"`
	// Language of messages people read: "pt-BR" (default), "es", "en".
	Language string       `toml:"language"`
	Log      LogConfig    `toml:"log"`
	HTTP     HTTPConfig   `toml:"http"`
	Ledger   LedgerConfig `toml:"ledger"`
	// Users are the [[user]] tables: who signs in to the import pages.
	Users []UserConfig `toml:"user"`

	// Jobs are the [[job]] tables, in file order.
	Jobs []JobConfig `toml:"-"`
	// Conns are the [connections.NAME] tables, by name.
	Conns []ConnConfig `toml:"-"`

	loc       *time.Location
	conns     map[string]any
	connTypes map[string]string
	lines     keyLines
}

// LogConfig is the [log] table.
type LogConfig struct {
	// Level is debug, info (default), warn or error.
	Level string `toml:"level"`
	// Format is text (default) or json.
	Format string `toml:"format"`
	// File, when set, is where `run` writes its log (appending) instead of
	// stderr; it is reopened on SIGHUP, so logrotate can move it away.
	// Relative to the config file's folder.
	File string `toml:"file"`
}

// HTTPConfig is the [http] table.
type HTTPConfig struct {
	// Listen is the address of the bridge's one HTTP listener; "off"
	// disables it. Default "127.0.0.1:8080".
	Listen string `toml:"listen"`
	// Token protects the status page and every non-public route. Use
	// "${ENV_VAR}" or "file:/path"; or token_file.
	Token string `toml:"token" secret:"true"`
	// TokenFile is a file holding the token (trimmed).
	TokenFile string `toml:"token_file"`
	// MaxBody is the largest request body accepted, in bytes (default 10 MiB).
	MaxBody int64 `toml:"max_body"`
	// PublicMetrics serves /metrics without the token (default false).
	PublicMetrics bool `toml:"public_metrics"`
}

// LedgerConfig is the [ledger] table.
type LedgerConfig struct {
	// Synchronous is "full" (default: a recorded outcome survives a power
	// loss) or "normal" (survives a crash of the process; faster).
	Synchronous string `toml:"synchronous"`
	// URL selects a PostgreSQL ledger that several nodes share
	// ("postgres://fieldbridge:${PGPASSWORD}@db.example:5432/fieldbridge");
	// empty (default) is the embedded SQLite ledger in data_dir, for one
	// node. Synchronous applies to SQLite only.
	URL string `toml:"url" secret:"true"`
	// Node names this instance among the nodes sharing a PostgreSQL ledger
	// (default: the host name). Two running nodes must not share a name.
	Node string `toml:"node"`
	// Lease is how long a node holds a job without renewing its claim
	// (renewed every third of it): a node that dies loses its jobs to the
	// others after at most this long. Default 30s.
	Lease Duration `toml:"lease"`
	// KeepRunsDays is how many days of runs the ledger keeps (default
	// 400; 0 keeps them all). Each job's newest run of every outcome
	// stays; what a run did to each file and row is never pruned.
	KeepRunsDays int `toml:"keep_runs_days"`
}

// Shared reports whether the ledger is a PostgreSQL database shared by
// several nodes.
func (l LedgerConfig) Shared() bool {
	return strings.HasPrefix(l.URL, "postgres://") || strings.HasPrefix(l.URL, "postgresql://")
}

// JobConfig is one decoded [[job]] table.
type JobConfig struct {
	Spec JobSpec
	Kind Kind
	// Options is the pointer returned by Kind.NewOptions, decoded.
	Options any

	index int // position among the [[job]] tables
}

// ConnConfig is one decoded [connections.NAME] table.
type ConnConfig struct {
	Name string
	Type string
	// Options is the pointer returned by ConnType.NewOptions, decoded.
	Options any
	Line    int
}

// Languages are the accepted values of the language key.
var languages = []string{"pt-BR", "es", "en"}

// DefaultConfig returns a Config with every default filled in and no jobs.
func DefaultConfig() *Config {
	return &Config{
		DataDir:  "data",
		Timezone: "America/Sao_Paulo",
		Language: "pt-BR",
		Log:      LogConfig{Level: "info", Format: "text"},
		HTTP:     HTTPConfig{Listen: "127.0.0.1:8080", MaxBody: 10 << 20},
		Ledger:   LedgerConfig{Synchronous: "full", Lease: Duration{30 * time.Second}, KeepRunsDays: 400},
	}
}

// Location returns the default time zone (never nil).
func (c *Config) Location() *time.Location {
	if c.loc == nil {
		if loc, err := time.LoadLocation(c.Timezone); err == nil {
			c.loc = loc
		} else {
			c.loc = time.UTC
		}
	}
	return c.loc
}

// Dir is the folder of the config file (the working folder when built in
// code); relative paths in the config are relative to it.
func (c *Config) Dir() string {
	if c.Path == "" {
		d, _ := os.Getwd()
		return d
	}
	return filepath.Dir(c.Path)
}

// Resolve makes path absolute against Dir. Drive letters and UNC paths
// (\\server\share\folder) are absolute on Windows (see CheckFolder).
func (c *Config) Resolve(path string) string {
	return resolvePath(runtime.GOOS, c.Dir(), path)
}

// JobDataDir is the job's own folder inside DataDir (DataDir/jobs/NAME)
// for state files and working copies; it is not created.
func (c *Config) JobDataDir(job string) string {
	return filepath.Join(c.DataDir, "jobs", job)
}

// Job returns the configuration of the named job.
func (c *Config) Job(name string) (JobConfig, bool) {
	for _, j := range c.Jobs {
		if j.Spec.Name == name {
			return j, true
		}
	}
	return JobConfig{}, false
}

func (c *Config) conn(name string) (string, any, error) {
	opts, ok := c.conns[name]
	if !ok {
		names := make([]string, 0, len(c.conns))
		for n := range c.conns {
			names = append(names, n)
		}
		sort.Strings(names)
		list := strings.Join(names, ", ")
		if list == "" {
			list = "none"
		}
		return "", nil, fmt.Errorf("no connection named %q (configured: %s)", name, list)
	}
	return c.connTypes[name], opts, nil
}

// Duration is a time.Duration written as text in the config ("90s", "5m").
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (use e.g. 30s, 5m, 2h): %q", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as Go text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// OptionError is an error about one option of a job or connection. Kinds'
// New and connection types' Check should return these (joined) so that
// `fieldbridge check` can show the option's line.
type OptionError struct {
	// Key is the option's key as written in the table ("inbox",
	// "mapping.sheet").
	Key string
	Err error
}

func (e *OptionError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *OptionError) Unwrap() error { return e.Err }

// OptionErrorf returns an *OptionError for key.
func OptionErrorf(key, format string, args ...any) error {
	return &OptionError{Key: key, Err: fmt.Errorf(format, args...)}
}

// ConfigProblem is one problem found in a config file.
type ConfigProblem struct {
	Line int // 0 when unknown
	// Where names the table: `job "boxes"`, `connection "ftp1"`, "[http]".
	Where   string
	Message string
}

// ConfigError lists every problem found in a config file.
type ConfigError struct {
	File     string
	Problems []ConfigProblem
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.File)
		if p.Line > 0 {
			b.WriteString(":" + strconv.Itoa(p.Line))
		}
		b.WriteString(": ")
		if p.Where != "" {
			b.WriteString(p.Where + ": ")
		}
		b.WriteString(p.Message)
	}
	return b.String()
}

type problems struct {
	list []ConfigProblem
	// failed holds the paths (base.key) of options whose value could not
	// be decoded: their nested keys are not reported as unknown.
	failed map[string]bool
}

func (ps *problems) add(line int, where, format string, args ...any) {
	ps.list = append(ps.list, ConfigProblem{Line: line, Where: where, Message: fmt.Sprintf(format, args...)})
}

// LoadConfig reads and checks the config file at path. On any problem it
// returns a *ConfigError listing all of them, each with its line.
func LoadConfig(path string, reg *Registry) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseConfig(abs, data, reg)
}

// rawConfig is the first decoding pass: jobs and connections wait as
// primitives until their kinds and types are known.
type rawConfig struct {
	DataDir     string                    `toml:"data_dir"`
	Timezone    string                    `toml:"timezone"`
	Language    string                    `toml:"language"`
	Log         LogConfig                 `toml:"log"`
	HTTP        HTTPConfig                `toml:"http"`
	Ledger      LedgerConfig              `toml:"ledger"`
	User        []UserConfig              `toml:"user"`
	Connections map[string]toml.Primitive `toml:"connections"`
	Job         []toml.Primitive          `toml:"job"`
}

var jobNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// cronParser accepts 5-field expressions and descriptors (@daily, @every 5m).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseConfig checks config text; path names it in messages and anchors
// relative paths (it need not exist). Every problem is reported at once in
// a *ConfigError: TOML syntax (only the first, as parsing stops there),
// unknown keys, wrong types, missing required options, bad schedules and
// zones, unknown kinds and connection types, duplicate job names, missing
// ${ENV} variables and secret files, and the errors of each kind's New and
// connection type's Check.
func ParseConfig(path string, data []byte, reg *Registry) (*Config, error) {
	if reg == nil {
		reg = &Registry{}
	}
	ps := &problems{}
	kl := scanKeyLines(string(data))
	name := path
	if name == "" {
		name = "config"
	}
	d := DefaultConfig()
	raw := rawConfig{DataDir: d.DataDir, Timezone: d.Timezone, Language: d.Language, Log: d.Log, HTTP: d.HTTP, Ledger: d.Ledger}
	var top map[string]toml.Primitive
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&top)
	if err != nil {
		ps.add(errLine(err, kl, ""), "", "%s", cleanTOMLErr(err))
		return nil, &ConfigError{File: name, Problems: ps.list}
	}
	used, _ := decodeFields(&md, top, &raw, kl, "", "", ps)
	topRaw := map[string]any{}
	for k, p := range top {
		var v any
		if md.PrimitiveDecode(p, &v) == nil {
			topRaw[k] = v
		}
	}
	reportUnknown(md, top, topRaw, used, nil, kl, "", "", ps)
	cfg := &Config{
		Path: path, DataDir: raw.DataDir, Timezone: raw.Timezone, Language: raw.Language,
		Log: raw.Log, HTTP: raw.HTTP, Ledger: raw.Ledger, Users: raw.User,
		conns: map[string]any{}, connTypes: map[string]string{}, lines: kl,
	}

	// General settings.
	expandStruct(reflect.ValueOf(cfg).Elem(), "", cfg, kl, "", ps)
	for key, p := range map[string]*string{"data_dir": &cfg.DataDir, "log.file": &cfg.Log.File} {
		if err := CheckFolder(*p); err != nil {
			ps.add(kl.line(key), "", "%s: %v", key, err)
		}
		*p = cfg.Resolve(*p)
	}
	if loc, err := time.LoadLocation(cfg.Timezone); err != nil || cfg.Timezone == "" {
		ps.add(kl.line("timezone"), "", "timezone %q is not a known IANA time zone (e.g. America/Sao_Paulo)", cfg.Timezone)
	} else {
		cfg.loc = loc
	}
	if !slices.Contains(languages, cfg.Language) {
		ps.add(kl.line("language"), "", "language %q is not one of %s", cfg.Language, strings.Join(languages, ", "))
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, cfg.Log.Level) {
		ps.add(kl.line("log.level"), "[log]", "level %q is not one of debug, info, warn, error", cfg.Log.Level)
	}
	if !slices.Contains([]string{"text", "json"}, cfg.Log.Format) {
		ps.add(kl.line("log.format"), "[log]", "format %q is not one of text, json", cfg.Log.Format)
	}
	if !slices.Contains([]string{"full", "normal"}, strings.ToLower(cfg.Ledger.Synchronous)) {
		ps.add(kl.line("ledger.synchronous"), "[ledger]", "synchronous %q is not one of full, normal", cfg.Ledger.Synchronous)
	}
	if cfg.Ledger.URL != "" && !cfg.Ledger.Shared() {
		ps.add(kl.line("ledger.url"), "[ledger]", "url must be a PostgreSQL URL (postgres://user:password@host:5432/database); leave it out for the embedded SQLite ledger")
	}
	if cfg.Ledger.Node != "" && !jobNameRE.MatchString(cfg.Ledger.Node) {
		ps.add(kl.line("ledger.node"), "[ledger]", "node %q: use letters, digits, '.', '_' and '-'", cfg.Ledger.Node)
	}
	if cfg.Ledger.Lease.Duration < 3*time.Second {
		ps.add(kl.line("ledger.lease"), "[ledger]", "lease %s is too short: at least 3s (30s is a good value)", cfg.Ledger.Lease.Duration)
	}
	if cfg.Ledger.KeepRunsDays < 0 {
		ps.add(kl.line("ledger.keep_runs_days"), "[ledger]", "keep_runs_days %d: give a number of days (0 keeps every run)", cfg.Ledger.KeepRunsDays)
	}
	if cfg.HTTP.MaxBody <= 0 {
		ps.add(kl.line("http.max_body"), "[http]", "max_body must be a positive number of bytes")
	}
	if cfg.HTTP.TokenFile != "" {
		if cfg.HTTP.Token != "" {
			ps.add(kl.line("http.token_file"), "[http]", "set token or token_file, not both")
		} else if b, err := os.ReadFile(cfg.Resolve(cfg.HTTP.TokenFile)); err != nil {
			ps.add(kl.line("http.token_file"), "[http]", "token_file: %v", err)
		} else {
			cfg.HTTP.Token = strings.TrimSpace(string(b))
		}
	}

	// Connections.
	names := make([]string, 0, len(raw.Connections))
	for n := range raw.Connections {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, cname := range names {
		base := "connections." + cname
		w := fmt.Sprintf("connection %q", cname)
		line := kl.line(base)
		var fields map[string]toml.Primitive
		if err := md.PrimitiveDecode(raw.Connections[cname], &fields); err != nil {
			ps.add(errLine(err, kl, base), w, "%s", cleanTOMLErr(err))
			continue
		}
		var head struct {
			Type string `toml:"type"`
		}
		usedHead, _ := decodeFields(&md, fields, &head, kl, base, w, ps)
		ct, ok := reg.Conns[head.Type]
		if !ok {
			if head.Type == "" {
				ps.add(line, w, "missing required key \"type\" (one of %s)", strings.Join(connTypeNames(reg), ", "))
			} else {
				ps.add(kl.line(base+".type"), w, "unknown connection type %q (known: %s)", head.Type, strings.Join(connTypeNames(reg), ", "))
			}
			continue
		}
		opts := ct.NewOptions()
		usedOpts, decodeOK := decodeFields(&md, fields, opts, kl, base, w, ps)
		reportUnknown(md, fields, rawTable(&md, raw.Connections[cname]), usedHead, usedOpts, kl, base, w, ps)
		expandStruct(reflect.ValueOf(opts).Elem(), "", cfg, kl, base, ps)
		resolveFolders(reflect.ValueOf(opts).Elem(), "", cfg, kl, base, w, ps)
		checkRequired(reflect.ValueOf(opts).Elem(), "", kl, base, w, ps)
		if decodeOK && ct.Check != nil {
			addOptionErrors(ct.Check(opts), kl, base, w, ps)
		}
		cfg.conns[cname] = opts
		cfg.connTypes[cname] = ct.Name
		cfg.Conns = append(cfg.Conns, ConnConfig{Name: cname, Type: ct.Name, Options: opts, Line: line})
	}

	// Jobs. Each is decoded in its own pass over the file, because
	// MetaData names the keys of every [[job]] alike ("job.x").
	seen := map[string]int{}
	var buildable []int
	for i := range raw.Job {
		base := "job#" + strconv.Itoa(i)
		line := kl.line(base)
		w := fmt.Sprintf("job #%d", i+1)
		var one map[string]toml.Primitive
		mdi, err := toml.Decode(string(data), &one)
		if err != nil {
			continue
		}
		var jobs []toml.Primitive
		var fields map[string]toml.Primitive
		if err := mdi.PrimitiveDecode(one["job"], &jobs); err != nil || len(jobs) <= i {
			continue
		}
		if err := mdi.PrimitiveDecode(jobs[i], &fields); err != nil {
			ps.add(errLine(err, kl, base), w, "%s", cleanTOMLErr(err))
			continue
		}
		spec := JobSpec{}
		if p, ok := fields["name"]; ok {
			// The name first, so that every other message names the job.
			_ = mdi.PrimitiveDecode(p, &spec.Name)
			if jobNameRE.MatchString(spec.Name) {
				w = fmt.Sprintf("job %q", spec.Name)
			}
		}
		usedSpec, specOK := decodeFields(&mdi, fields, &spec, kl, base, w, ps)
		spec.Line = line
		switch {
		case spec.Name == "":
			ps.add(line, w, "missing required key \"name\"")
		case !jobNameRE.MatchString(spec.Name):
			ps.add(kl.line(base+".name"), w, "name %q: use letters, digits, '.', '_' and '-' only", spec.Name)
		default:
			if first, dup := seen[spec.Name]; dup {
				ps.add(kl.line(base+".name"), w, "duplicate job name (first used on line %d)", first)
			} else {
				seen[spec.Name] = kl.line(base + ".name")
			}
		}
		kind, kindOK := reg.Kinds[spec.Kind]
		if !kindOK {
			if spec.Kind == "" {
				ps.add(line, w, "missing required key \"kind\" (one of %s)", strings.Join(kindNames(reg), ", "))
			} else {
				ps.add(kl.line(base+".kind"), w, "unknown kind %q (known: %s)", spec.Kind, strings.Join(kindNames(reg), ", "))
			}
		}
		if specOK {
			checkTrigger(&spec, cfg, kl, base, w, ps)
		}
		if !kindOK {
			continue
		}
		opts := kind.NewOptions()
		usedOpts, optsOK := decodeFields(&mdi, fields, opts, kl, base, w, ps)
		reportUnknown(mdi, fields, rawTable(&mdi, jobs[i]), usedSpec, usedOpts, kl, base, w, ps)
		expandStruct(reflect.ValueOf(opts).Elem(), "", cfg, kl, base, ps)
		resolveFolders(reflect.ValueOf(opts).Elem(), "", cfg, kl, base, w, ps)
		n := len(ps.list)
		checkRequired(reflect.ValueOf(opts).Elem(), "", kl, base, w, ps)
		cfg.Jobs = append(cfg.Jobs, JobConfig{Spec: spec, Kind: kind, Options: opts, index: i})
		if optsOK && len(ps.list) == n {
			buildable = append(buildable, len(cfg.Jobs)-1)
		}
	}
	// Kinds' own checks, with every connection in place.
	env := &Env{Config: cfg, Registry: reg, Log: discardLogger()}
	importers := map[string][]string{}
	broken := map[string]bool{}
	for i := range cfg.Jobs {
		broken[cfg.Jobs[i].Spec.Name] = true
	}
	for _, j := range buildable {
		jc := cfg.Jobs[j]
		base := "job#" + strconv.Itoa(jc.index)
		job, err := jc.Kind.New(env, jc.Spec, jc.Options)
		if err != nil {
			addOptionErrors(err, kl, base, fmt.Sprintf("job %q", jc.Spec.Name), ps)
			continue
		}
		delete(broken, jc.Spec.Name)
		if imp, ok := job.(Importer); ok {
			names := []string{}
			for _, in := range imp.ImportInboxes() {
				names = append(names, in.Name)
			}
			if len(names) > 0 {
				importers[jc.Spec.Name] = names
			}
		}
	}
	// Users, once the jobs say which inboxes have import pages (grants
	// naming a job whose own options are wrong are not reported twice).
	for name := range broken {
		importers[name] = nil
	}
	checkUsers(cfg, importers, kl, ps)
	if len(ps.list) > 0 {
		sort.SliceStable(ps.list, func(a, b int) bool { return ps.list[a].Line < ps.list[b].Line })
		return nil, &ConfigError{File: name, Problems: ps.list}
	}
	return cfg, nil
}

func checkTrigger(spec *JobSpec, cfg *Config, kl keyLines, base, w string, ps *problems) {
	loc := cfg.loc
	if spec.Timezone != "" {
		l, err := time.LoadLocation(spec.Timezone)
		if err != nil {
			ps.add(kl.line(base+".timezone"), w, "timezone %q is not a known IANA time zone (e.g. America/Sao_Paulo)", spec.Timezone)
		}
		loc = l
	}
	if spec.Schedule != "" {
		if _, err := ParseSchedule(spec.Schedule, loc); err != nil {
			ps.add(kl.line(base+".schedule"), w, "schedule %q: %v", spec.Schedule, err)
		}
		if spec.Interval.Duration != 0 {
			ps.add(kl.line(base+".interval"), w, "set schedule or interval, not both")
		}
	}
	if spec.Interval.Duration < 0 || (spec.Interval.Duration > 0 && spec.Interval.Duration < time.Second) {
		ps.add(kl.line(base+".interval"), w, "interval must be at least 1s")
	}
}

// ParseSchedule parses a cron expression (5 fields: minute hour
// day-of-month month day-of-week; or @daily, @hourly, @every 10m) in loc
// (UTC when nil).
func ParseSchedule(expr string, loc *time.Location) (cron.Schedule, error) {
	if loc == nil {
		loc = time.UTC
	}
	if strings.HasPrefix(strings.TrimSpace(expr), "TZ=") || strings.HasPrefix(strings.TrimSpace(expr), "CRON_TZ=") {
		return nil, errors.New("set the time zone with the timezone key, not in the expression")
	}
	s, err := cronParser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("%v (use 5 fields: minute hour day month weekday, e.g. \"0 6 * * *\", or @daily)", err)
	}
	if sp, ok := s.(*cron.SpecSchedule); ok {
		sp.Location = loc
	}
	return s, nil
}

func addOptionErrors(err error, kl keyLines, base, w string, ps *problems) {
	if err == nil {
		return
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		if e == nil {
			continue
		}
		var oe *OptionError
		line := kl.line(base)
		if errors.As(e, &oe) {
			line = kl.line(base + "." + oe.Key)
		} else if l := lineOfMentionedKey(e.Error(), kl, base); l > 0 {
			line = l
		}
		ps.add(line, w, "%s", e.Error())
	}
}

// lineOfMentionedKey finds the line of the option an error is about, by
// the convention "key: what is wrong" (also "a, b: ..." or "a or b: ...":
// the first of those keys that is written in the table). 0 when none is.
func lineOfMentionedKey(msg string, kl keyLines, base string) int {
	head, rest, ok := strings.Cut(msg, ": ")
	if !ok {
		return 0
	}
	for _, tok := range strings.FieldsFunc(head, func(r rune) bool { return r == ' ' || r == ',' || r == '"' || r == '\'' }) {
		if l, ok := kl[base+"."+tok]; ok {
			// A key of that table named in the message (`messages:
			// unknown key "x"`) has a line of its own in a sub-table.
			if m := quotedRE.FindStringSubmatch(rest); m != nil {
				if l2, ok := kl[base+"."+tok+"."+m[1]]; ok {
					return l2
				}
			}
			return l
		}
	}
	return 0
}

var quotedRE = regexp.MustCompile(`"([^"]+)"`)

// decodeFields decodes a table field by field into the struct ptr points
// to, so that every wrongly typed value is reported, not only the first.
// It returns the keys that matched a field and whether all decoded.
func decodeFields(md *toml.MetaData, fields map[string]toml.Primitive, ptr any, kl keyLines, base, w string, ps *problems) (map[string]bool, bool) {
	rv := reflect.ValueOf(ptr).Elem()
	index := fieldIndex(rv.Type())
	used := map[string]bool{}
	ok := true
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		idx, found := index[k]
		if !found {
			for name, i := range index {
				if strings.EqualFold(name, k) {
					idx, found = i, true
					break
				}
			}
		}
		if !found {
			continue
		}
		used[k] = true
		fv := rv.FieldByIndex(idx)
		if err := md.PrimitiveDecode(fields[k], fv.Addr().Interface()); err != nil {
			path := k
			if base != "" {
				path = base + "." + k
			}
			line := errLine(err, kl, base)
			if line == 0 || line == kl.line(base) {
				line = kl.line(path)
			}
			msg := cleanTOMLErr(err)
			if !strings.HasPrefix(msg, k) {
				msg = k + ": " + msg
			}
			ps.add(line, w, "%s", msg)
			if ps.failed == nil {
				ps.failed = map[string]bool{}
			}
			ps.failed[joinPath(base, k)] = true
			ok = false
		}
	}
	return used, ok
}

// fieldIndex maps the TOML keys of struct type t to field index paths,
// flattening untagged embedded structs as BurntSushi/toml does.
func fieldIndex(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if flattened(f) {
			for k, idx := range fieldIndex(f.Type) {
				if _, dup := out[k]; !dup {
					out[k] = append([]int{i}, idx...)
				}
			}
			continue
		}
		if name := tomlName(f); name != "" {
			out[name] = []int{i}
		}
	}
	return out
}

// reportUnknown reports keys of a table that no struct took: top-level
// keys not in used1/used2, and nested keys MetaData left undecoded. Only
// the outermost unknown key of a subtree is reported, once for each place
// it is written (each element of an array of tables), with that line.
//
// raw holds this table's own contents as decoded into an interface value
// (nil when unknown): MetaData's undecoded list names keys without array
// indices, and for a [[job]] also the keys of the other [[job]] tables;
// raw says which of them are in this table, and where.
func reportUnknown(md toml.MetaData, fields map[string]toml.Primitive, raw map[string]any, used1, used2 map[string]bool, kl keyLines, base, w string, ps *problems) {
	var prefix toml.Key
	switch {
	case base == "":
	case strings.HasPrefix(base, "job#"):
		prefix = toml.Key{"job"}
	default:
		prefix = toml.Key(strings.Split(base, "."))
	}
	var unknown []string
	for k := range fields {
		if !used1[k] && !used2[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Slice(unknown, func(a, b int) bool {
		return kl.line(joinPath(base, unknown[a])) < kl.line(joinPath(base, unknown[b]))
	})
	for _, k := range unknown {
		ps.add(kl.line(joinPath(base, k)), w, "unknown key %q%s", k, hint(toml.Key{k}))
	}
	if len(fields) == 0 {
		return
	}
	// Nested keys (inside sub-tables of known options).
	undecoded := map[string]bool{}
	var rels []toml.Key
	for _, k := range md.Undecoded() {
		if len(k) < len(prefix)+2 || !hasPrefix(k, prefix) {
			continue
		}
		rel := k[len(prefix):]
		if _, inThisTable := fields[rel[0]]; !inThisTable || !(used1[rel[0]] || used2[rel[0]]) {
			continue
		}
		if base == "" && (rel[0] == "connections" || rel[0] == "job") || ps.failed[joinPath(base, rel[0])] {
			continue
		}
		if !undecoded[rel.String()] { // Undecoded names a key once per array element
			undecoded[rel.String()] = true
			rels = append(rels, rel)
		}
	}
	for _, rel := range rels {
		parentUnknown := false
		for j := 1; j < len(rel); j++ {
			if undecoded[rel[:j].String()] {
				parentUnknown = true
				break
			}
		}
		if parentUnknown {
			continue
		}
		var places []string
		if raw == nil {
			places = []string{strings.Join(rel, ".")}
		} else {
			keyPlaces(raw, rel, "", &places)
		}
		for _, rp := range places {
			where, key := w, displayKey(rp)
			if base == "" {
				where, key = "["+rel[:len(rel)-1].String()+"]", rel[len(rel)-1]
			}
			ps.add(kl.line(joinPath(base, rp)), where, "unknown key %q", key)
		}
	}
}

// keyPlaces appends to out the keyLines-style paths ("inbox#1.bogus")
// where the key path rel is written in v, a table decoded into an
// interface value: one for each element of the arrays of tables on the
// way.
func keyPlaces(v any, rel toml.Key, path string, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		if len(rel) == 0 {
			*out = append(*out, path)
			return
		}
		if child, ok := v[rel[0]]; ok {
			keyPlaces(child, rel[1:], joinPath(path, rel[0]), out)
		}
	case []map[string]any:
		for i, e := range v {
			keyPlaces(e, rel, path+"#"+strconv.Itoa(i), out)
		}
	case []any:
		for i, e := range v {
			keyPlaces(e, rel, path+"#"+strconv.Itoa(i), out)
		}
	default:
		if len(rel) == 0 {
			*out = append(*out, path)
		}
	}
}

// displayKey writes a keyLines-style relative path for people:
// "inbox#1.bogus" becomes "inbox[1].bogus".
func displayKey(p string) string {
	return arrayIndexRE.ReplaceAllString(p, "[$1]")
}

var arrayIndexRE = regexp.MustCompile(`#(\d+)`)

func joinPath(base, rel string) string {
	if base == "" {
		return rel
	}
	return base + "." + rel
}

func hasPrefix(k, prefix toml.Key) bool {
	for i := range prefix {
		if k[i] != prefix[i] {
			return false
		}
	}
	return true
}

// rawTable decodes p into an interface value, without marking any key as
// decoded in md (so that Undecoded still names the unknown ones).
func rawTable(md *toml.MetaData, p toml.Primitive) map[string]any {
	var v any
	if err := md.PrimitiveDecode(p, &v); err != nil {
		return nil
	}
	m, _ := v.(map[string]any)
	return m
}

func errLine(err error, kl keyLines, base string) int {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		if pe.LastKey != "" && base != "" {
			k := pe.LastKey
			if strings.HasPrefix(k, "job.") && strings.HasPrefix(base, "job#") {
				k = base + k[3:]
			}
			if l := kl.line(k); l > 0 {
				return l
			}
		}
		if pe.Position.Line > 0 {
			return pe.Position.Line
		}
	}
	if m := tomlLineRE.FindStringSubmatch(err.Error()); m != nil && base == "" {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	if m := lastKeyRE.FindStringSubmatch(err.Error()); m != nil {
		k := m[1]
		if strings.HasPrefix(k, "job.") && strings.HasPrefix(base, "job#") {
			k = base + k[3:]
		}
		if l := kl.line(k); l > 0 {
			return l
		}
	}
	return kl.line(base)
}

var (
	tomlLineRE = regexp.MustCompile(`line (\d+)`)
	lastKeyRE  = regexp.MustCompile(`last key "([^"]*)"`)
	tomlPrefix = regexp.MustCompile(`^toml: (line \d+ )?(\(last key "[^"]*"\): )?`)
)

func cleanTOMLErr(err error) string {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := pe.Message
		if pe.LastKey != "" {
			msg = fmt.Sprintf("%s: %s", lastPart(pe.LastKey), msg)
		}
		return msg
	}
	s := err.Error()
	if m := lastKeyRE.FindStringSubmatch(s); m != nil {
		return lastPart(m[1]) + ": " + tomlPrefix.ReplaceAllString(s, "")
	}
	return tomlPrefix.ReplaceAllString(s, "")
}

func lastPart(k string) string {
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		return k[i+1:]
	}
	return k
}

func where(k toml.Key) string {
	if len(k) > 1 {
		return "[" + toml.Key(k[:len(k)-1]).String() + "]"
	}
	return ""
}

// hint suggests the right spelling of a misspelt top-level table.
func hint(k toml.Key) string {
	if len(k) >= 1 && (k[0] == "jobs" || k[0] == "connection") {
		return fmt.Sprintf(" (did you mean %q?)", map[string]string{"jobs": "[[job]]", "connection": "[connections.NAME]"}[k[0]])
	}
	return ""
}

func kindNames(reg *Registry) []string {
	var out []string
	for n := range reg.Kinds {
		out = append(out, n)
	}
	sort.Strings(out)
	if len(out) == 0 {
		out = []string{"none registered"}
	}
	return out
}

func connTypeNames(reg *Registry) []string {
	var out []string
	for n := range reg.Conns {
		out = append(out, n)
	}
	sort.Strings(out)
	if len(out) == 0 {
		out = []string{"none registered"}
	}
	return out
}

// tomlName is the key of a struct field ("" to skip it).
func tomlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag := f.Tag.Get("toml")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		name = f.Name
	}
	return name
}

func isSecret(f reflect.StructField) bool { return f.Tag.Get("secret") == "true" }

// flattened reports whether f is an untagged embedded struct, whose keys
// stand in the table of the struct embedding it (as BurntSushi/toml does).
func flattened(f reflect.StructField) bool {
	return f.Anonymous && f.Tag.Get("toml") == "" && f.Type.Kind() == reflect.Struct
}

// eachOption calls fn for every option field of struct v, with its
// dotted key below prefix, flattening untagged embedded structs as
// BurntSushi/toml does. Fields without a toml name are skipped.
func eachOption(v reflect.Value, prefix string, fn func(f reflect.StructField, fv reflect.Value, key string)) {
	if v.Kind() != reflect.Struct {
		return
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if flattened(f) {
			eachOption(v.Field(i), prefix, fn)
			continue
		}
		name := tomlName(f)
		if name == "" {
			continue
		}
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		fn(f, v.Field(i), key)
	}
}

// expandStruct replaces ${VAR} in every string option, and file:/path in
// secret ones, reporting missing variables and unreadable files.
func expandStruct(v reflect.Value, prefix string, cfg *Config, kl keyLines, base string, ps *problems) {
	eachOption(v, prefix, func(f reflect.StructField, fv reflect.Value, key string) {
		path := key
		if base != "" {
			path = base + "." + key
		}
		expandValue(fv, key, isSecret(f), cfg, kl, path, base, ps)
	})
}

func expandValue(fv reflect.Value, key string, secret bool, cfg *Config, kl keyLines, path, base string, ps *problems) {
	switch fv.Kind() {
	case reflect.String:
		s, err := ExpandEnv(fv.String())
		if err != nil {
			ps.add(kl.line(path), whereOf(base), "%s: %v", key, err)
			return
		}
		if secret && strings.HasPrefix(s, "file:") {
			p := cfg.Resolve(strings.TrimPrefix(s, "file:"))
			b, err := os.ReadFile(p)
			if err != nil {
				ps.add(kl.line(path), whereOf(base), "%s: cannot read secret file: %v", key, err)
				return
			}
			s = strings.TrimSpace(string(b))
		}
		if fv.CanSet() {
			fv.SetString(s)
		}
	case reflect.Struct:
		expandStruct(fv, key, cfg, kl, base, ps)
	case reflect.Pointer:
		if !fv.IsNil() {
			expandValue(fv.Elem(), key, secret, cfg, kl, path, base, ps)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < fv.Len(); i++ {
			expandValue(fv.Index(i), key, secret, cfg, kl, path, base, ps)
		}
	case reflect.Map:
		if fv.Type().Elem().Kind() == reflect.String && fv.Type().Key().Kind() == reflect.String {
			for _, k := range fv.MapKeys() {
				s, err := ExpandEnv(fv.MapIndex(k).String())
				if err != nil {
					ps.add(kl.line(path), whereOf(base), "%s.%s: %v", key, k.String(), err)
					continue
				}
				fv.SetMapIndex(k, reflect.ValueOf(s).Convert(fv.Type().Elem()))
			}
		}
	}
}

func whereOf(base string) string {
	switch {
	case base == "":
		return ""
	case strings.HasPrefix(base, "connections."):
		return fmt.Sprintf("connection %q", strings.TrimPrefix(base, "connections."))
	case strings.HasPrefix(base, "job#"):
		n, _ := strconv.Atoi(strings.TrimPrefix(base, "job#"))
		return fmt.Sprintf("job #%d", n+1)
	}
	return base
}

// resolveFolders checks every option tagged `folder:"local"` (a folder of
// this machine, see CheckFolder) and makes it absolute against the config
// file's folder, at any depth (sub-tables, arrays of tables).
func resolveFolders(v reflect.Value, prefix string, cfg *Config, kl keyLines, base, w string, ps *problems) {
	eachOption(v, prefix, func(f reflect.StructField, fv reflect.Value, key string) {
		var walk func(fv reflect.Value, key string)
		walk = func(fv reflect.Value, key string) {
			switch fv.Kind() {
			case reflect.String:
				if f.Tag.Get("folder") != "local" || !fv.CanSet() {
					return
				}
				if err := CheckFolder(fv.String()); err != nil {
					ps.add(kl.line(joinPath(base, key)), w, "%s: %v", displayKey(key), err)
					return
				}
				fv.SetString(cfg.Resolve(fv.String()))
			case reflect.Struct:
				resolveFolders(fv, key, cfg, kl, base, w, ps)
			case reflect.Pointer:
				if !fv.IsNil() {
					walk(fv.Elem(), key)
				}
			case reflect.Slice, reflect.Array:
				for i := 0; i < fv.Len(); i++ {
					walk(fv.Index(i), fmt.Sprintf("%s#%d", key, i))
				}
			}
		}
		walk(fv, key)
	})
}

// checkRequired reports zero fields tagged `required:"true"`.
func checkRequired(v reflect.Value, prefix string, kl keyLines, base, w string, ps *problems) {
	eachOption(v, prefix, func(f reflect.StructField, fv reflect.Value, key string) {
		if f.Tag.Get("required") == "true" && fv.IsZero() {
			ps.add(kl.line(base), w, "missing required option %q", key)
			return
		}
		if fv.Kind() == reflect.Struct {
			checkRequired(fv, key, kl, base, w, ps)
		}
	})
}

// ExpandEnv replaces every ${NAME} in s by the environment variable NAME;
// "$${" gives a literal "${". A variable that is not set is an error naming
// it (an empty but set variable is allowed). ${NAME:-default} gives
// default when NAME is unset or empty (${NAME:-} gives "").
func ExpandEnv(s string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	var missing []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1] + "${")
			s = s[i+2:]
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unclosed ${ in %q", s)
		}
		name := s[i+2 : i+end]
		b.WriteString(s[:i])
		name, def, hasDef := strings.Cut(name, ":-")
		v, ok := os.LookupEnv(name)
		switch {
		case (!ok || v == "") && hasDef:
			v = def
		case !ok:
			missing = append(missing, name)
		}
		b.WriteString(v)
		s = s[i+end+1:]
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("environment variable %s is not set", strings.Join(missing, ", "))
	}
	return b.String(), nil
}

// Redacted returns v (an options struct or pointer to one) as TOML text
// with every field tagged `secret:"true"` replaced by "<redacted>" when set.
func Redacted(v any) string {
	var b bytes.Buffer
	m := optionValue(reflect.ValueOf(v), true)
	if mm, ok := m.(map[string]any); ok {
		_ = toml.NewEncoder(&b).Encode(mm)
	} else {
		fmt.Fprint(&b, m)
	}
	return b.String()
}

// optionValue is v as maps of TOML keys (time.Duration-like values as
// their text), with secrets replaced by "<redacted>" when redact is set.
func optionValue(v reflect.Value, redact bool) any {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		if v.CanInterface() {
			return v.Interface()
		}
		return nil
	}
	if tm, ok := v.Interface().(interface{ MarshalText() ([]byte, error) }); ok {
		b, _ := tm.MarshalText()
		return string(b)
	}
	out := map[string]any{}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if flattened(f) {
			if m, ok := optionValue(v.Field(i), redact).(map[string]any); ok {
				for k, r := range m {
					if _, dup := out[k]; !dup {
						out[k] = r
					}
				}
			}
			continue
		}
		name := tomlName(f)
		if name == "" {
			continue
		}
		fv := v.Field(i)
		if redact && isSecret(f) {
			if !fv.IsZero() {
				out[name] = "<redacted>"
			}
			continue
		}
		if r := optionValue(fv, redact); r != nil {
			out[name] = r
		}
	}
	return out
}

// SecretValues returns the values of every set secret field of v (for
// scrubbing them out of messages).
func SecretValues(v any) []string {
	var out []string
	var walk func(reflect.Value)
	walk = func(v reflect.Value) {
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				return
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return
		}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if isSecret(f) && f.Type.Kind() == reflect.String && v.Field(i).String() != "" {
				out = append(out, v.Field(i).String())
				continue
			}
			walk(v.Field(i))
		}
	}
	walk(reflect.ValueOf(v))
	return out
}
