package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/boxsync"
	"github.com/fieldbridge/fieldbridge/bridge/results"
	"github.com/fieldbridge/fieldbridge/bridge/sheets"
)

// subTableConns are the connections the sub-table configs below use.
const subTableConns = `[http]
listen = "off"

[connections.ozmap]
type = "ozmap"
base_url = "https://acme.ozmap.com.br:9994/api/v2"
key = "k"

[connections.sytex]
type = "sytex"
base_url = "https://app.sytex.io"
token = "t"
organization = "123"

[connections.officetrack]
type = "officetrack"
url = "https://acme.officetrack.com/services/webservices.asmx"
user_name = "u"
password = "p"
`

// TestCheckSubTableOptions: with the real registry, the map and struct
// options of every kind written as sub-tables of their [[job]]
// ([job.ne_types], [job.notifications], [[job.inbox]], [job.messages])
// pass `check` and decode like the inline form; a wrong key inside one is
// reported at its own line.
func TestCheckSubTableOptions(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "mappings"), 0o755); err != nil {
		t.Fatal(err)
	}
	jobs := `
[[job]]
name = "boxes"
kind = "ozmap-sytex-boxes"
ozmap = "ozmap"
sytex = "sytex"
[job.ne_types]
"5e9b0000aaaa" = 14
"5e9b0000bbbb" = 15

[[job]]
name = "boxes-inline"
kind = "ozmap-sytex-boxes"
ozmap = "ozmap"
sytex = "sytex"
ne_types = { "5e9b0000aaaa" = 14, "5e9b0000bbbb" = 15 }

[[job]]
name = "results"
kind = "officetrack-results"
target_dir = "out"
[job.notifications]
path = "/officetrack/notify"
token = "0123456789abcdef-token"
max_bytes = 4096

[[job]]
name = "tasks"
kind = "sheet-officetrack"
officetrack = "officetrack"
mappings = "mappings"
[[job.inbox]]
path = "in-a"
[[job.inbox]]
path = "in-b"
mapping = "m"

[[job]]
name = "viability"
kind = "fortics-viability"
ozmap = "ozmap"
token = "0123456789abcdef-token"
[job.messages]
found = "sim {box}"
`
	good := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(good, []byte(subTableConns+jobs), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "check", "-config", good)
	if code != exitOK || !strings.Contains(out, "5 job(s)") {
		t.Fatalf("check: exit %d\n%s%s", code, out, stderr)
	}

	cfg, err := bridge.LoadConfig(good, registry())
	if err != nil {
		t.Fatal(err)
	}
	opts := func(name string) any {
		j, ok := cfg.Job(name)
		if !ok {
			t.Fatalf("no job %q", name)
		}
		return j.Options
	}
	boxes, inline := opts("boxes").(*boxsync.Options), opts("boxes-inline").(*boxsync.Options)
	if want := map[string]int64{"5e9b0000aaaa": 14, "5e9b0000bbbb": 15}; !reflect.DeepEqual(boxes.NETypes, want) {
		t.Errorf("[job.ne_types] decoded to %v, want %v", boxes.NETypes, want)
	}
	if !reflect.DeepEqual(boxes, inline) {
		t.Errorf("sub-table and inline differ:\n%+v\n%+v", boxes, inline)
	}
	if n := opts("results").(*results.Options).Notifications; n.Path != "/officetrack/notify" || n.MaxBytes != 4096 {
		t.Errorf("[job.notifications] = %+v", n)
	}
	if in := opts("tasks").(*sheets.Options).Inboxes; len(in) != 2 || !strings.HasSuffix(in[1].Path, "in-b") || in[1].Mapping != "m" {
		t.Errorf("[[job.inbox]] = %+v", in)
	}

	// Mistakes inside sub-tables, each at its line.
	bad := strings.NewReplacer(
		`"5e9b0000bbbb" = 15`+"\n\n", `"5e9b0000bbbb" = -1`+"\n\n",
		"max_bytes = 4096", "max_byte = 4096",
		`mapping = "m"`, `maping = "m"`,
	).Replace(jobs)
	badPath := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(badPath, []byte(subTableConns+bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, "check", "-config", badPath)
	if code != exitUsage {
		t.Fatalf("check bad: exit %d\n%s", code, stderr)
	}
	text := subTableConns + bad
	for _, want := range []string{
		"3 problem(s)",
		lineOf(badPath, text, `"5e9b0000bbbb" = -1`) + `: job "boxes": ne_types: "5e9b0000bbbb" = -1`,
		lineOf(badPath, text, "max_byte =") + `: job "results": unknown key "notifications.max_byte"`,
		lineOf(badPath, text, "maping =") + `: job "tasks": unknown key "inbox[1].maping"`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// lineOf is "path:N" for the first line of text that contains frag.
func lineOf(path, text, frag string) string {
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, frag) {
			return path + ":" + strconv.Itoa(i+1)
		}
	}
	return path + ": no line with " + frag
}
