package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestViabilityLogCommand(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.toml")
	os.WriteFile(cfgPath, []byte(`
data_dir = "data"
[http]
token = "server-token"
[connections.oz]
type = "ozmap"
base_url = "http://127.0.0.1:1/api/v2"
key = "k"
[[job]]
name = "chatbot"
kind = "fortics-viability"
ozmap = "oz"
`), 0o600)
	logDir := filepath.Join(dir, "data", "jobs", "chatbot", "questions")
	os.MkdirAll(logDir, 0o750)
	os.WriteFile(filepath.Join(logDir, "2026-11-22.jsonl"), []byte(
		`{"time":"2026-11-22T14:03:00Z","client":"10.1.2.3","input":"address","query":"Rua das Flores, 100","lat":-27.576,"lng":-48.527,"status":"found","http":200,"box":"CTO 22-05","free_ports":6,"pole":"P_2520","latency_ns":41000000}
{"time":"2026-11-22T14:04:00Z","client":"10.1.2.3","input":"latlng","lat":-27.59,"lng":-48.51,"status":"no_viability","http":200,"pole":"P_3100","latency_ns":40000000}
`), 0o640)
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := cmdViability(context.Background(), &app{stdout: &out, stderr: &errb, reg: viabilityRegistry}, args)
		return code, out.String(), errb.String()
	}
	code, out, errs := run("log", "-config", cfgPath, "-day", "2026-11-22")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"Rua das Flores, 100", "CTO 22-05", "no_viability", "P_3100",
		"2026-11-22: 2 questions (found 1, no_viability 1)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code, out, _ := run("log", "-config", cfgPath, "-day", "2026-11-22", "-json"); code != exitOK || strings.Count(out, "\n") != 2 {
		t.Fatalf("-json: %d %q", code, out)
	}
	if code, out, _ := run("log", "-config", cfgPath, "-day", "2026-11-01"); code != exitOK || !strings.Contains(out, "no questions") {
		t.Fatalf("empty day: %d %q", code, out)
	}
	if code, _, errs := run("log", "-config", cfgPath, "-job", "other"); code != exitUsage || !strings.Contains(errs, `configured: chatbot`) {
		t.Fatalf("unknown job: %d %q", code, errs)
	}
	if code, _, errs := run("log", "-config", cfgPath, "-day", "22/11/2026"); code != exitUsage || !strings.Contains(errs, "YYYY-MM-DD") {
		t.Fatalf("bad day: %d %q", code, errs)
	}
	if code, _, _ := run(); code != exitUsage {
		t.Fatalf("no subcommand: %d", code)
	}
}
