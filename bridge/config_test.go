package bridge

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

type testConnOpts struct {
	Host     string `toml:"host" required:"true"`
	Port     int    `toml:"port"`
	User     string `toml:"user"`
	Password string `toml:"password" secret:"true"`
}

type testJobOpts struct {
	Conn   string   `toml:"connection" required:"true"`
	Inbox  string   `toml:"inbox"`
	Limit  int      `toml:"limit"`
	MinAge Duration `toml:"min_age"`
	Secret string   `toml:"secret" secret:"true"`
	Sub    struct {
		A string `toml:"a"`
	} `toml:"sub"`
}

type otherOpts struct {
	Other string `toml:"other"`
}

type nopJob struct{}

func (nopJob) Run(ctx context.Context, rc *RunContext) error { return nil }

func testRegistry() *Registry {
	return &Registry{
		Kinds: map[string]Kind{
			"copy": {
				Name:       "copy",
				NewOptions: func() any { return &testJobOpts{Limit: 10} },
				New: func(env *Env, spec JobSpec, o any) (Job, error) {
					opts := o.(*testJobOpts)
					var errs []error
					if opts.Conn != "" {
						if _, _, err := env.Conn(opts.Conn); err != nil {
							errs = append(errs, OptionErrorf("connection", "%v", err))
						}
					}
					if opts.Limit < 0 {
						errs = append(errs, errors.New("limit: must not be negative"))
					}
					return nopJob{}, errors.Join(errs...)
				},
			},
			"other": {
				Name:       "other",
				NewOptions: func() any { return &otherOpts{} },
				New:        func(*Env, JobSpec, any) (Job, error) { return nopJob{}, nil },
			},
		},
		Conns: map[string]ConnType{
			"ftp": {Name: "ftp", NewOptions: func() any { return &testConnOpts{Port: 21} },
				Check: func(o any) error {
					if o.(*testConnOpts).Port <= 0 {
						return OptionErrorf("port", "must be positive")
					}
					return nil
				}},
		},
	}
}

func parse(t *testing.T, text string) (*Config, *ConfigError) {
	t.Helper()
	return parseWith(t, text, testRegistry())
}

// parseWith parses text with reg; a failure must be a *ConfigError.
func parseWith(t *testing.T, text string, reg *Registry) (*Config, *ConfigError) {
	t.Helper()
	cfg, err := ParseConfig(filepath.Join(t.TempDir(), "c.toml"), []byte(text), reg)
	if err == nil {
		return cfg, nil
	}
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *ConfigError", err)
	}
	return cfg, ce
}

func TestConfigValid(t *testing.T) {
	t.Setenv("FB_PASS", "s3cret")
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "tok")
	if err := os.WriteFile(secretFile, []byte("  filetoken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, ce := parse(t, `
data_dir = "/var/lib/fb"
timezone = "America/Manaus"
language = "es"

[log]
level = "debug"
format = "json"

[http]
listen = "127.0.0.1:0"
token = "file:`+secretFile+`"

[connections.ftp1]
type = "ftp"
host = "ftp.example.com"
user = "u-${FB_PASS}"
password = "${FB_PASS}"

[[job]]
name = "a"
kind = "copy"
schedule = "0 6 * * *"
connection = "ftp1"
min_age = "30s"
secret = "$${literal}"
[job.sub]
a = "x"

[[job]]
name = "b"
kind = "other"
interval = "5m"
enabled = false
other = "y"
`)
	if ce != nil {
		t.Fatal(ce)
	}
	if cfg.DataDir != "/var/lib/fb" || cfg.Language != "es" || cfg.Location().String() != "America/Manaus" ||
		cfg.Log.Format != "json" || cfg.HTTP.Token != "filetoken" || cfg.HTTP.MaxBody != 10<<20 {
		t.Fatalf("cfg = %+v", cfg)
	}
	env := &Env{Config: cfg}
	typ, o, err := env.Conn("ftp1")
	if err != nil || typ != "ftp" {
		t.Fatalf("Conn = %q, %v", typ, err)
	}
	co := o.(*testConnOpts)
	if co.Password != "s3cret" || co.User != "u-s3cret" || co.Port != 21 {
		t.Fatalf("conn opts = %+v", co)
	}
	if _, _, err := env.Conn("nope"); err == nil || !strings.Contains(err.Error(), "ftp1") {
		t.Fatalf("Conn(nope) err = %v", err)
	}
	if len(cfg.Jobs) != 2 {
		t.Fatalf("jobs = %+v", cfg.Jobs)
	}
	a := cfg.Jobs[0]
	ao := a.Options.(*testJobOpts)
	if a.Spec.Name != "a" || a.Spec.Line != 20 || ao.MinAge.Duration != 30*time.Second || ao.Limit != 10 || ao.Sub.A != "x" || ao.Secret != "${literal}" {
		t.Fatalf("job a = %+v %+v", a.Spec, ao)
	}
	if b := cfg.Jobs[1]; b.Spec.Enabled == nil || *b.Spec.Enabled || b.Spec.Interval.Duration != 5*time.Minute {
		t.Fatalf("job b = %+v", b.Spec)
	}
	red := Redacted(co)
	if !strings.Contains(red, `password = "<redacted>"`) || !strings.Contains(red, "<redacted>") || !strings.Contains(red, "ftp.example.com") {
		t.Fatalf("Redacted = %s", red)
	}
	if red := Redacted(cfg.HTTP); strings.Contains(red, "filetoken") {
		t.Fatalf("Redacted http = %s", red)
	}
	if sv := SecretValues(co); len(sv) != 1 || sv[0] != "s3cret" {
		t.Fatalf("SecretValues = %v", sv)
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, ce := parse(t, "")
	if ce != nil {
		t.Fatal(ce)
	}
	if cfg.Timezone != "America/Sao_Paulo" || cfg.Language != "pt-BR" || cfg.HTTP.Listen != "127.0.0.1:8080" ||
		!filepath.IsAbs(cfg.DataDir) || cfg.Log.Level != "info" || cfg.Ledger.Synchronous != "full" || cfg.Ledger.KeepRunsDays != 400 {
		t.Fatalf("defaults = %+v", cfg)
	}
	_, ce = parse(t, "[ledger]\nkeep_runs_days = -1\n")
	wantProblems(t, ce, []pw{{2, "keep_runs_days -1: give a number of days"}})
}

// wantProblems asserts that the problems are exactly want (line and a
// fragment of the message), in order.
func wantProblems(t *testing.T, ce *ConfigError, want []struct {
	line int
	frag string
}) {
	t.Helper()
	if ce == nil {
		t.Fatal("no error")
	}
	if len(ce.Problems) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ce.Problems), len(want), ce)
	}
	for i, w := range want {
		p := ce.Problems[i]
		if p.Line != w.line || !strings.Contains(p.Where+": "+p.Message, w.frag) {
			t.Errorf("problem %d = line %d %q %q; want line %d containing %q", i, p.Line, p.Where, p.Message, w.line, w.frag)
		}
	}
	// Error() prints file:line: for each.
	if !strings.Contains(ce.Error(), "c.toml:") {
		t.Errorf("Error() = %s", ce.Error())
	}
}

type pw = struct {
	line int
	frag string
}

func TestConfigUnknownKeys(t *testing.T) {
	_, ce := parse(t, `data_dir = "/x"
colour = "blue"
[http]
listen = "127.0.0.1:1"
tokn = "x"

[connections.ftp1]
type = "ftp"
host = "h"
hots = "typo"

[[job]]
name = "a"
kind = "other"
other = "fine"

[[job]]
name = "b"
kind = "copy"
connection = "ftp1"
other = "valid only for kind other"
[job.sub]
a = "ok"
b = "no"

[jobs]
x = 1
`)
	wantProblems(t, ce, []pw{
		{2, `unknown key "colour"`},
		{5, `[http]: unknown key "tokn"`},
		{10, `connection "ftp1": unknown key "hots"`},
		{21, `job "b": unknown key "other"`},
		{24, `unknown key "sub.b"`},
		{26, `unknown key "jobs" (did you mean "[[job]]"?)`},
	})
}

func TestConfigThreeMistakes(t *testing.T) {
	_, ce := parse(t, `
[connections.ftp1]
type = "ftp"
host = "h"

[[job]]
name = "daily"
kind = "copy"
connection = "ftp1"
schedule = "0 25 * * *"

[[job]]
name = "sheets"
kind = "copy"
inbox = "/in"

[[job]]
name = "daily"
kind = "copy"
connection = "ftp2"
limt = 3
`)
	wantProblems(t, ce, []pw{
		{10, `schedule "0 25 * * *"`},
		{12, `job "sheets": missing required option "connection"`},
		{18, `duplicate job name (first used on line 7)`},
		{20, `connection: no connection named "ftp2" (configured: ftp1)`},
		{21, `unknown key "limt"`},
	})
}

func TestConfigSpecProblems(t *testing.T) {
	t.Setenv("FB_SET", "")
	_, ce := parse(t, `timezone = "Mars/Base"
language = "fr"

[connections.c1]
type = "smtp"
host = "h"

[connections.c2]
host = "h"

[connections.c3]
type = "ftp"
host = "${FB_SET}"
port = 0
password = "${FB_NOPE_UNSET}"

[[job]]
kind = "copy"

[[job]]
name = "x"
kind = "nope"
interval = "soon"

[[job]]
name = "y z"
kind = "copy"
connection = "c3"
timezone = "Nowhere/City"
schedule = "@daily"
interval = "1h"
limit = -1

[[job]]
name = "t"
kind = "copy"
connection = "c3"
limit = "ten"
`)
	wantProblems(t, ce, []pw{
		{1, `timezone "Mars/Base"`},
		{2, `language "fr"`},
		{5, `unknown connection type "smtp" (known: ftp)`},
		{8, `connection "c2": missing required key "type"`},
		{11, `connection "c3": missing required option "host"`},
		{14, `port: must be positive`},
		{15, `password: environment variable FB_NOPE_UNSET is not set`},
		{17, `job #1: missing required key "name"`},
		{17, `job #1: missing required option "connection"`},
		{22, `job "x": unknown kind "nope" (known: copy, other)`},
		{23, `job "x": interval: not a duration`},
		{26, `name "y z"`},
		{29, `timezone "Nowhere/City"`},
		{31, `set schedule or interval, not both`},
		{32, `limit: must not be negative`},
		{38, `job "t": limit: incompatible types`},
	})
}

func TestConfigKindErrorLine(t *testing.T) {
	// A plain error (not an OptionError) from New that starts with a key
	// ("limit: ...") is placed on that key's line.
	_, ce := parse(t, `[connections.f]
type = "ftp"
host = "h"
[[job]]
name = "j"
kind = "copy"
connection = "f"

limit = -5
`)
	wantProblems(t, ce, []pw{{9, "limit: must not be negative"}})
}

func TestConfigSyntaxError(t *testing.T) {
	_, ce := parse(t, "a = 1\n[http\nlisten = 3\n")
	// The parser notices the missing "]" at the end of line 2 or start of 3.
	if ce == nil || len(ce.Problems) != 1 || ce.Problems[0].Line < 2 || ce.Problems[0].Line > 3 {
		t.Fatalf("syntax error = %v", ce)
	}
}

func TestLoadConfigFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "fb.toml")
	if err := os.WriteFile(filepath.Join(dir, "tok"), []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("data_dir = \"d\"\n[http]\ntoken_file = \"tok\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(p, testRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != filepath.Join(dir, "d") || cfg.HTTP.Token != "abc" {
		t.Fatalf("cfg = %+v", cfg)
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing.toml"), nil); err == nil {
		t.Fatal("missing file loaded")
	}
}

func TestExpandEnv(t *testing.T) {
	t.Setenv("FB_A", "1")
	for _, c := range []struct{ in, out, err string }{
		{"plain", "plain", ""},
		{"x${FB_A}y${FB_A}", "x1y1", ""},
		{"$${FB_A}", "${FB_A}", ""},
		{"${FB_MISSING_1}${FB_MISSING_2}", "", "FB_MISSING_1, FB_MISSING_2"},
		{"${FB_A", "", "unclosed"},
		{"${FB_MISSING_1:-dflt}/${FB_A:-x}/${FB_MISSING_2:-}", "dflt/1/", ""},
	} {
		got, err := ExpandEnv(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ExpandEnv(%q) err = %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.out {
			t.Errorf("ExpandEnv(%q) = %q, %v", c.in, got, err)
		}
	}
}

func TestScanKeyLines(t *testing.T) {
	kl := scanKeyLines(`a = """
b = 1
"""
"q.k" = [
  1, # c = 2
  2,
]
[[t]]
x.y = 1
[t.sub]
z = '''
w = 3'''
[[t]]
x = { n = 1 }
[[t.inner]]
m = 1
`)
	for path, line := range map[string]int{
		"a": 1, "q.k": 4, "t#0": 8, "t#0.x.y": 9, "t#0.x": 9, "t#0.sub": 10, "t#0.sub.z": 11,
		"t#1": 13, "t#1.x": 14, "t#1.inner#0": 15, "t#1.inner#0.m": 16,
	} {
		if kl[path] != line {
			t.Errorf("line(%s) = %d, want %d", path, kl[path], line)
		}
	}
	for _, p := range []string{"b", "c", "w"} {
		if _, ok := kl[p]; ok {
			t.Errorf("%s found inside a string/comment", p)
		}
	}
	if kl.line("t#1.x.n") != 14 {
		t.Errorf("inline key line = %d", kl.line("t#1.x.n"))
	}
}

// nestedOpts is a kind's options with every shape of sub-table: a map, a
// struct holding a struct, an array of tables and a map of tables.
type nestedOpts struct {
	Label  string           `toml:"label"`
	Types  map[string]int64 `toml:"types"`
	Notify struct {
		Path    string   `toml:"path"`
		Timeout Duration `toml:"timeout"`
		Inner   struct {
			Depth int      `toml:"depth"`
			Tags  []string `toml:"tags"`
		} `toml:"inner"`
	} `toml:"notify"`
	Items []struct {
		Path string `toml:"path"`
		Mode string `toml:"mode"`
	} `toml:"item"`
	Routes map[string]struct {
		URL string `toml:"url"`
	} `toml:"routes"`
}

// nestedRegistry is testRegistry plus the kind "nested" (nestedOpts).
func nestedRegistry() *Registry {
	r := testRegistry()
	r.Kinds["nested"] = Kind{
		Name:       "nested",
		NewOptions: func() any { return &nestedOpts{Label: "default"} },
		New:        func(*Env, JobSpec, any) (Job, error) { return nopJob{}, nil },
	}
	return r
}

func parseNested(t *testing.T, text string) (*Config, *ConfigError) {
	t.Helper()
	return parseWith(t, text, nestedRegistry())
}

// TestConfigSubTablesDecodeLikeInline: an option written as a sub-table
// of the last [[job]] ([job.types], [job.notify.inner], [[job.item]])
// decodes exactly like the same option written inline or with dotted keys.
func TestConfigSubTablesDecodeLikeInline(t *testing.T) {
	const head = "[[job]]\nname = \"n\"\nkind = \"nested\"\n"
	for _, c := range []struct {
		name  string
		forms []string // all must decode alike
	}{
		{"map", []string{
			head + `types = { "5e9b0000" = 14, "5e9b0001" = 15 }`,
			head + "[job.types]\n\"5e9b0000\" = 14\n\"5e9b0001\" = 15\n",
			head + "types.\"5e9b0000\" = 14\ntypes.\"5e9b0001\" = 15\n",
		}},
		{"map key with a dot", []string{
			head + `types = { "a.b" = 1 }`,
			head + "[job.types]\n\"a.b\" = 1\n",
		}},
		{"struct in a struct", []string{
			head + `label = "x"
notify = { path = "/n", timeout = "5s", inner = { depth = 3, tags = ["a", "b"] } }`,
			head + `label = "x"
[job.notify]
path = "/n"
timeout = "5s"
[job.notify.inner]
depth = 3
tags = ["a", "b"]`,
			head + `label = "x"
[job.notify]
path = "/n"
timeout = "5s"
inner.depth = 3
inner.tags = ["a", "b"]`,
			head + `label = "x"
[job.notify.inner]
depth = 3
tags = ["a", "b"]
[job.notify]
path = "/n"
timeout = "5s"`,
		}},
		{"array of tables", []string{
			head + `item = [{ path = "/a", mode = "r" }, { path = "/b" }]`,
			head + "[[job.item]]\npath = \"/a\"\nmode = \"r\"\n[[job.item]]\npath = \"/b\"\n",
		}},
		{"map of tables", []string{
			head + `routes = { one = { url = "u1" }, two = { url = "u2" } }`,
			head + "[job.routes.one]\nurl = \"u1\"\n[job.routes.two]\nurl = \"u2\"\n",
			head + "[job.routes]\none.url = \"u1\"\n[job.routes.two]\nurl = \"u2\"\n",
		}},
		{"everything", []string{
			head + `types = { k = 1 }
notify = { path = "/n", inner = { depth = 2 } }
item = [{ path = "/a" }]
routes = { r = { url = "u" } }`,
			head + `[job.types]
k = 1
[job.notify]
path = "/n"
[job.notify.inner]
depth = 2
[[job.item]]
path = "/a"
[job.routes.r]
url = "u"`,
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var first *nestedOpts
			for i, text := range c.forms {
				cfg, ce := parseNested(t, text)
				if ce != nil {
					t.Fatalf("form %d: %v\n%s", i, ce, text)
				}
				got := cfg.Jobs[0].Options.(*nestedOpts)
				if first == nil {
					first = got
					if reflect.DeepEqual(*got, nestedOpts{Label: "default"}) {
						t.Fatalf("form 0 decoded nothing: %+v", *got)
					}
					continue
				}
				if !reflect.DeepEqual(got, first) {
					t.Errorf("form %d decodes to\n%+v\nwant (form 0)\n%+v\n%s", i, *got, *first, text)
				}
			}
		})
	}
}

// TestConfigSubTableUnknownKeys: an unknown key inside a job's (or a
// connection's) sub-table is reported with its own line, once per place
// it is written, and only in the job that has it.
func TestConfigSubTableUnknownKeys(t *testing.T) {
	for _, c := range []struct {
		name string
		text string
		want []pw
	}{
		{"in a map of structs' sub-table", `[[job]]
name = "n"
kind = "nested"
[job.routes.r]
url = "u"
uri = "typo"
`, []pw{{6, `job "n": unknown key "routes.r.uri"`}}},
		{"in a nested struct", `[[job]]
name = "n"
kind = "nested"
[job.notify]
path = "/n"
[job.notify.inner]
depth = 1
dept = 2
[job.notify.deeper]
x = 1
`, []pw{
			{8, `job "n": unknown key "notify.inner.dept"`},
			{9, `job "n": unknown key "notify.deeper"`},
		}},
		{"in each array element", `[[job]]
name = "n"
kind = "nested"
[[job.item]]
path = "/a"
mod = "r"
[[job.item]]
path = "/b"
[[job.item]]
mod = "w"
`, []pw{
			{6, `job "n": unknown key "item[0].mod"`},
			{10, `job "n": unknown key "item[2].mod"`},
		}},
		{"in an inline array element", `[[job]]
name = "n"
kind = "nested"
item = [
  { path = "/a" },
  { mod = "r" },
]
`, []pw{{4, `job "n": unknown key "item[1].mod"`}}},
		{"a sub-table the kind lacks", `[[job]]
name = "c"
kind = "copy"
connection = "ftp1"
[job.types]
k = 1

[connections.ftp1]
type = "ftp"
host = "h"
[connections.ftp1.tls]
on = true
`, []pw{
			{5, `job "c": unknown key "types"`},
			{11, `connection "ftp1": unknown key "tls"`},
		}},
		{"a wrong type is not also unknown", `[[job]]
name = "n"
kind = "nested"
[job.types]
a = 1
b = "two"
c = 3
`, []pw{{6, `job "n": types: b: incompatible types`}}},
		{"second job only", `[[job]]
name = "one"
kind = "nested"
[job.notify]
path = "/1"
[[job.item]]
path = "/a"

[[job]]
name = "two"
kind = "nested"
[job.notify]
path = "/2"
paht = "typo"
[[job.item]]
path = "/b"
[[job.item]]
pat = "/c"
`, []pw{
			{14, `job "two": unknown key "notify.paht"`},
			{18, `job "two": unknown key "item[1].pat"`},
		}},
		{"first job only, the second of another kind", `[[job]]
name = "one"
kind = "nested"
[job.notify]
sub = 1

[[job]]
name = "two"
kind = "copy"
connection = "ftp1"
[job.sub]
a = "x"
[connections.ftp1]
type = "ftp"
host = "h"
`, []pw{{5, `job "one": unknown key "notify.sub"`}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, ce := parseNested(t, c.text)
			wantProblems(t, ce, c.want)
		})
	}
}

// TestConfigSubTablesPerJob: with several [[job]] tables, each sub-table
// belongs to the [[job]] above it and decodes into that job alone.
func TestConfigSubTablesPerJob(t *testing.T) {
	cfg, ce := parseNested(t, `[connections.ftp1]
type = "ftp"
host = "h"

[[job]]
name = "one"
kind = "nested"
[job.types]
a = 1
[job.notify.inner]
depth = 1
[[job.item]]
path = "/1"

[[job]]
name = "middle"
kind = "copy"
connection = "ftp1"
[job.sub]
a = "mid"

[[job]]
name = "two"
kind = "nested"
label = "second"
[job.types]
b = 2
[[job.item]]
path = "/2a"
[[job.item]]
path = "/2b"
mode = "w"
[job.routes.r]
url = "u"

[[job]]
name = "three"
kind = "nested"
`)
	if ce != nil {
		t.Fatal(ce)
	}
	one := cfg.Jobs[0].Options.(*nestedOpts)
	mid := cfg.Jobs[1].Options.(*testJobOpts)
	two := cfg.Jobs[2].Options.(*nestedOpts)
	three := cfg.Jobs[3].Options.(*nestedOpts)
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"one.types", one.Types, map[string]int64{"a": 1}},
		{"one.notify.inner.depth", one.Notify.Inner.Depth, 1},
		{"one.items", len(one.Items), 1},
		{"one.items[0]", one.Items[0].Path, "/1"},
		{"one.routes", len(one.Routes), 0},
		{"one.label", one.Label, "default"},
		{"middle.sub.a", mid.Sub.A, "mid"},
		{"two.types", two.Types, map[string]int64{"b": 2}},
		{"two.notify.inner.depth", two.Notify.Inner.Depth, 0},
		{"two.items", len(two.Items), 2},
		{"two.items[1]", two.Items[1].Path + " " + two.Items[1].Mode, "/2b w"},
		{"two.routes.r", two.Routes["r"].URL, "u"},
		{"two.label", two.Label, "second"},
		{"three", reflect.DeepEqual(*three, nestedOpts{Label: "default"}), true},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}
