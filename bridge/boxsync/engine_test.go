package boxsync_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/boxsync"
	"github.com/fieldbridge/fieldbridge/bridge/fileconn"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap/ozmaptest"
	"github.com/fieldbridge/fieldbridge/connectors/sytex"
	"github.com/fieldbridge/fieldbridge/connectors/sytex/sytextest"
)

func registry() *bridge.Registry {
	reg := &bridge.Registry{Kinds: map[string]bridge.Kind{boxsync.KindName: boxsync.Kind()}, Conns: map[string]bridge.ConnType{}}
	for _, c := range boxsync.ConnTypes() {
		reg.Conns[c.Name] = c
	}
	return reg
}

// TestThroughTheEngine loads a config file the way the daemon does
// (secrets from the environment), and runs the job with the engine.
func TestThroughTheEngine(t *testing.T) {
	oz := ozmaptest.New(ozmaptest.Options{})
	defer oz.Close()
	sy := sytextest.New(sytextest.Options{Organization: "42"})
	defer sy.Close()
	for i := range 25 {
		oz.AddBox(ozmaptest.Box{Box: ozmap.Box{Name: fmt.Sprintf("CE-%02d", i), Implanted: true, Lat: -27.5, Lng: -48.5}})
	}
	t.Setenv("OZMAP_KEY", oz.Key())
	t.Setenv("SYTEX_TOKEN", sy.Token())
	dir := t.TempDir()
	cfgText := fmt.Sprintf(`
data_dir = %q
language = "es"

[connections.ozmap]
type = "ozmap"
base_url = %q
key = "${OZMAP_KEY}"

[connections.sytex]
type = "sytex"
base_url = %q
token = "${SYTEX_TOKEN}"
organization = "42"
rate_limit = 500.0

[[job]]
name = "boxes"
kind = "ozmap-sytex-boxes"
schedule = "0 21 * * *"
timezone = "America/Sao_Paulo"
ozmap = "ozmap"
sytex = "sytex"
default_ne_type = 7
report_to = "drop"
report_dir = "sync/reports"

[connections.drop]
type = "local"
root = %q
`, dir, oz.URL(), sy.URL(), filepath.Join(dir, "drop"))
	reg := registry()
	for _, c := range fileconn.ConnTypes() {
		reg.AddConn(c)
	}
	cfg, err := bridge.ParseConfig(filepath.Join(dir, "config.toml"), []byte(cfgText), reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	eng, err := bridge.NewEngine(ctx, bridge.EngineOptions{Config: cfg, Registry: reg, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	rep, err := eng.RunOnce(ctx, "boxes", false)
	if err != nil || rep.Err != nil {
		t.Fatalf("run: %v / %v", err, rep.Err)
	}
	if rep.Run.Outcome != ledger.OutcomeOK || rep.Run.Counts["created"] != 25 || sy.Len() != 25 {
		t.Fatalf("run %+v; Sytex has %d", rep.Run, sy.Len())
	}
	rep, _ = eng.RunOnce(ctx, "boxes", false)
	if rep.Run.Counts["created"] != 0 || rep.Run.Counts["updated"] != 0 {
		t.Fatalf("second run: %+v", rep.Run)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "drop", "sync", "reports", "boxsync-boxes-*.csv"))
	if len(files) != 2 {
		t.Fatalf("reports: %v", files)
	}
	sizes := map[int]bool{}
	for _, f := range files {
		rows := readCSV(t, f)
		sizes[len(rows)] = true
		if len(rows) == 26 && rows[1][3] != "created" {
			t.Fatalf("first report: %v", rows)
		}
	}
	if !sizes[26] || !sizes[1] { // 25 created; then only the header
		t.Fatalf("report sizes: %v", sizes)
	}

	// a revoked token stops the run with a message in the configured language
	sy.SetToken("other")
	rep, _ = eng.RunOnce(ctx, "boxes", true)
	if rep.Run.Outcome != ledger.OutcomeFailed || !strings.Contains(rep.Run.Message, `Sytex rechazó el token de la conexión "sytex"`) {
		t.Fatalf("401 run: %+v", rep.Run)
	}
	if strings.Contains(rep.Run.Message, sy.Token()) {
		t.Fatal("token in the message")
	}
}

func TestConfigProblems(t *testing.T) {
	cfgText := `
[connections.oz]
type = "ozmap"
base_url = "https://acme.ozmap.com.br:9994/api/v2"

[connections.sy]
type = "sytex"
base_url = "https://app.sytex.io"
token = "t"
organization = "x1"

[[job]]
name = "boxes"
kind = "ozmap-sytex-boxes"
schedule = "0 21 * * *"
ozmap = "oz"
sytex = "nope"
code_template = "{nome}"
report_to = "oz"
`
	_, err := bridge.ParseConfig("config.toml", []byte(cfgText), registry())
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"key: missing", `organization: "x1" is not a number`, `no connection named "nope"`, "unknown placeholder {nome}", "default_ne_type: missing", `report_to: connection "oz" is of type "ozmap"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("config error lacks %q:\n%v", want, err)
		}
	}
}

// exampleSection returns this flow's section of config.toml.example: from
// its title to the next section's rule, another connection's table or
// another job (or the end).
func exampleSection(t *testing.T, text string) []byte {
	t.Helper()
	const title = "# OZmap boxes → Sytex network elements"
	i := strings.Index(text, title)
	if i < 0 {
		t.Fatal("config.toml.example has no box sync section")
	}
	lines := strings.SplitAfter(text[i:], "\n")
	var out strings.Builder
	jobs := 0
	for n, l := range lines {
		h := strings.TrimSpace(l)
		if n > 1 && strings.HasPrefix(h, "# -----") {
			break
		}
		if strings.HasPrefix(h, "[connections.") && h != "[connections.ozmap]" && h != "[connections.sytex]" {
			break
		}
		if h == "[[job]]" {
			if jobs++; jobs > 1 {
				break
			}
		}
		out.WriteString(l)
	}
	return []byte(out.String())
}

var optionLine = regexp.MustCompile(`^("[^"]+"|[a-z_]+) = `)

// TestConfigExample keeps the documented example in step with the options.
func TestConfigExample(t *testing.T) {
	all, err := os.ReadFile(filepath.Join("..", "..", "config.toml.example"))
	if err != nil {
		t.Fatal(err)
	}
	b := exampleSection(t, string(all))
	t.Setenv("OZMAP_KEY", "k")
	t.Setenv("SYTEX_TOKEN", "t")
	// uncomment every option line to check the commented ones too
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "# "); ok && optionLine.MatchString(rest) && !strings.HasPrefix(rest, "password") && !strings.HasPrefix(rest, "login") {
			l = rest
		}
		if strings.HasPrefix(l, "# [job.") {
			l = l[2:]
		}
		lines = append(lines, l)
	}
	full := strings.Join(lines, "\n")
	full = strings.Replace(full, `ca_file = "/etc/ssl/acme-ca.pem"`, "", 1)
	full = strings.Replace(full, `report_to = "partner-ftp"`, "", 1)
	for _, text := range []string{string(b), full} {
		cfg, err := bridge.ParseConfig("config.toml", []byte(text), registry())
		if err != nil {
			t.Fatalf("%v\n---\n%s", err, text)
		}
		jc, ok := cfg.Job("ozmap-sytex")
		if !ok || jc.Options.(*boxsync.Options).DefaultNEType != 12 {
			t.Fatalf("job = %+v", jc)
		}
		if text == full && len(jc.Options.(*boxsync.Options).NETypes) != 2 {
			t.Fatalf("ne_types = %v", jc.Options.(*boxsync.Options).NETypes)
		}
	}
}

// TestConflictsEndPartial: a run whose conflicts were reported and not
// sent ends partial (exit 1 for `once`), like a run with failed items, and
// /metrics counts them by job.
func TestConflictsEndPartial(t *testing.T) {
	tests := []struct {
		name  string
		setup func(oz *ozmaptest.Server, sy *sytextest.Server)
	}{
		{"two Sytex elements with the code", func(oz *ozmaptest.Server, sy *sytextest.Server) {
			sy.Add(sytex.NetworkElement{Code: "CE-01", Name: "CE-01", NEType: 7})
			sy.Add(sytex.NetworkElement{Code: "CE-01", Name: "CE-01 copy", NEType: 7})
		}},
		{"two OZmap boxes with one name", func(oz *ozmaptest.Server, sy *sytextest.Server) {
			oz.AddBox(ozmaptest.Box{Box: ozmap.Box{Name: "CE-01", Implanted: true, Lat: -27.6, Lng: -48.6}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oz := ozmaptest.New(ozmaptest.Options{})
			defer oz.Close()
			sy := sytextest.New(sytextest.Options{Organization: "42"})
			defer sy.Close()
			for i := range 3 {
				oz.AddBox(ozmaptest.Box{Box: ozmap.Box{Name: fmt.Sprintf("CE-%02d", i), Implanted: true, Lat: -27.5, Lng: -48.5}})
			}
			tt.setup(oz, sy)
			dir := t.TempDir()
			cfg, err := bridge.ParseConfig(filepath.Join(dir, "config.toml"), []byte(fmt.Sprintf(`data_dir = "data"
[connections.ozmap]
type = "ozmap"
base_url = %q
key = %q
[connections.sytex]
type = "sytex"
base_url = %q
token = %q
organization = "42"
rate_limit = 500.0
[[job]]
name = "boxes"
kind = "ozmap-sytex-boxes"
ozmap = "ozmap"
sytex = "sytex"
default_ne_type = 7
`, oz.URL(), oz.Key(), sy.URL(), sy.Token())), registry())
			if err != nil {
				t.Fatal(err)
			}
			eng, err := bridge.NewEngine(context.Background(), bridge.EngineOptions{Config: cfg, Registry: registry(), Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			rep, err := eng.RunOnce(context.Background(), "boxes", false)
			if err != nil || rep.Err != nil {
				t.Fatalf("run: %v / %v", err, rep.Err)
			}
			if rep.Run.Outcome != ledger.OutcomePartial || rep.Run.Counts["conflicts"] != 1 || rep.Run.Counts["failed"] != 0 || len(rep.Problems) != 1 {
				t.Fatalf("run = %+v, problems %+v", rep.Run, rep.Problems)
			}
			rec := httptest.NewRecorder()
			eng.Metrics().Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			for _, want := range []string{
				`fieldbridge_items_undelivered_total{counter="conflicts",job="boxes"} 1`,
				`fieldbridge_items_undelivered_total{counter="failed",job="boxes"} 0`,
				`fieldbridge_runs_total{job="boxes",outcome="partial"} 1`,
			} {
				if !strings.Contains(rec.Body.String(), want) {
					t.Errorf("metrics lack %s", want)
				}
			}
		})
	}
}
