package mapping

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sampleMappings = "../samples/mappings"

func TestSampleMappingsLoad(t *testing.T) {
	set, err := LoadDir(sampleMappings)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(set.Names(), ","); got != "pontos,tarefas,tarefas-csv" {
		t.Fatalf("names %q", got)
	}
	m, _ := set.Get("TAREFAS")
	if m == nil || m.Target != TargetTask || string(m.Sheet) != "Tarefas" || m.Location().String() != "America/Sao_Paulo" {
		t.Fatalf("tarefas: %+v", m)
	}
}

func TestLoadDirReportsEveryProblemWithLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a.toml", `name = "a"
target = "officetrack-task"
colour = "blue"

[fields.TaskNumber]
column = "OS"
transforms = ["trim", "shout"]

[fields.TaskNumbr]
column = "x"

[fields.DueDateTime]
column = "Data"
value = "hoje"
`)
	write("b.toml", `target = "officetrack-poi"
timezone = "Mars/Olympus"
date_format = "yyyyMMddQQ"

[fields.name]
column = "Nome"
pattern = "([a-z"

[fields.type]
value = "Planet"
`)
	write("c.toml", `target = "officetrack-task"
[fields.TaskNumber
column = "OS"
`)
	write("ok.toml", `name = "dup"
target = "officetrack-task"
[fields.TaskNumber]
column = "OS"
`)
	write("d.toml", `name = "DUP"
target = "officetrack-task"
[fields.TaskNumber]
column = "OS"
`)
	write("e.toml", `target = "zendesk-ticket"
[fields.x]
column = "y"
`)
	write("f.toml", `target = "officetrack-task"
sheet = 0
[fields.TaskNumber]
column = "OS"
[fields.Location]
column = "Coord"
[fields."Location.X"]
column = "Lng"
`)
	write("notes.txt", "not a mapping")
	_, err := LoadDir(dir)
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"a.toml:3: unknown key \"colour\"",
		"a.toml:5: field TaskNumber: unknown transform \"shout\"",
		"a.toml:9: \"TaskNumbr\" is not a field of officetrack-task (did you mean TaskNumber?)",
		"a.toml:12: field DueDateTime: give only one of column, value and template",
		"b.toml:2: unknown time zone \"Mars/Olympus\"",
		"b.toml:3: date_format",
		"b.toml:5: field name: pattern:",
		"b.toml:9: field type: value \"Planet\" is not one of POI, Customer",
		"b.toml: required field customerNumber of officetrack-poi is not mapped",
		"c.toml:3: expected",
		"ok.toml:1: mapping name \"dup\" is already used by",
		"e.toml:1: unknown target \"zendesk-ticket\"",
		"f.toml:2: sheet position must be 1 or more",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "notes.txt") {
		t.Error("non-TOML file read")
	}
}

func TestLatLngAndItsPairAreExclusive(t *testing.T) {
	_, err := Parse("g.toml", []byte(`target = "officetrack-task"
[fields.TaskNumber]
column = "OS"
[fields.Location]
column = "Coord"
[fields."Location.X"]
column = "Lng"
`))
	if err == nil || !strings.Contains(err.Error(), "g.toml:4: field Location fills Location.Y and Location.X; do not map them too") {
		t.Fatalf("err = %v", err)
	}
}

func TestKeyLines(t *testing.T) {
	src := []byte(`name = "x"
[fields."Location.X"]
column = "a"

[fields.TaskNumber]
  column = "b"
fields.Notes.column = "c"
`)
	lines := keyLines(src)
	for k, want := range map[string]int{"name": 1, `fields."Location.X"`: 2, `fields."Location.X".column`: 3, "fields.TaskNumber": 5, "fields.TaskNumber.column": 6} {
		if lines[k] != want {
			t.Errorf("%s: line %d, want %d (%v)", k, lines[k], want, lines)
		}
	}
}
