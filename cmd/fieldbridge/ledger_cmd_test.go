package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/fieldbridge/fieldbridge/connectors/officetrack/officetracktest"
)

// TestLedgerShowAndResend: a sheet is sent; `ledger show` tells where a
// task came from and what was sent; `resend` has the next run send it
// again, once, and the history says it was asked for.
func TestLedgerShowAndResend(t *testing.T) {
	fake := officetracktest.NewServer(officetracktest.Options{})
	defer fake.Close()
	root := t.TempDir()
	inbox, maps := filepath.Join(root, "inbox"), filepath.Join(root, "mappings")
	os.MkdirAll(inbox, 0o755)
	os.MkdirAll(maps, 0o755)
	os.WriteFile(filepath.Join(maps, "tarefas.toml"), []byte(`name = "tarefas"
target = "officetrack-task"
[fields.TaskNumber]
column = "OS"
[fields.Description]
column = "Descrição"
`), 0o644)
	co := fake.ClientOptions()
	cfg := writeConfig(t, fmt.Sprintf(`data_dir = %q
language = "en"
[http]
listen = "off"
[connections.ot]
type = "officetrack"
url = %q
user_name = %q
password = %q
[[job]]
name = "tarefas"
kind = "sheet-officetrack"
officetrack = "ot"
mappings = %q
min_age = "0s"
[[job.inbox]]
path = %q
`, filepath.Join(root, "data"), co.URL, co.UserName, co.Password, maps, inbox))
	f := excelize.NewFile()
	f.SetSheetRow("Sheet1", "A1", &[]any{"OS", "Descrição"})
	f.SetSheetRow("Sheet1", "A2", &[]any{5001, "Instalação"})
	f.SetSheetRow("Sheet1", "A3", &[]any{5002, "Reparo"})
	var buf bytes.Buffer
	f.Write(&buf)
	os.WriteFile(filepath.Join(inbox, "lote.xlsx"), buf.Bytes(), 0o644)

	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		code := realMain(context.Background(), &app{stdout: &out, stderr: &errb, reg: registry}, args)
		if code != exitOK {
			t.Fatalf("fieldbridge %s = %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
		}
		return out.String()
	}
	run("once", "-config", cfg, "tarefas")
	if fake.TaskCalls(5001) != 1 {
		t.Fatalf("task 5001 applied %d times", fake.TaskCalls(5001))
	}
	out := run("ledger", "show", "-config", cfg, "-job", "tarefas", "5001")
	for _, want := range []string{"task:5001", "sent      lote.xlsx, row 2", `Description="Instalação"`} {
		if !strings.Contains(out, want) {
			t.Errorf("ledger show lacks %q:\n%s", want, out)
		}
	}
	out = run("resend", "-config", cfg, "-job", "tarefas", "5001")
	if !strings.Contains(out, "task:5001: will be sent again at the next run of tarefas") {
		t.Errorf("resend said:\n%s", out)
	}
	run("once", "-config", cfg, "tarefas")
	run("once", "-config", cfg, "tarefas") // the request is done: not sent a third time
	if n, m := fake.TaskCalls(5001), fake.TaskCalls(5002); n != 2 || m != 1 {
		t.Fatalf("tasks applied 5001: %d (want 2), 5002: %d (want 1)", n, m)
	}
	out = run("ledger", "show", "-config", cfg, "-job", "tarefas", "task:5001")
	t.Logf("ledger show:\n%s", out)
	if !strings.Contains(out, "fieldbridge resend") || !strings.Contains(out, "sent again as asked") {
		t.Errorf("ledger show after the re-send:\n%s", out)
	}

	// An unknown key is refused with a sentence.
	var o, e bytes.Buffer
	code := realMain(context.Background(), &app{stdout: &o, stderr: &e, reg: registry}, []string{"resend", "-config", cfg, "-job", "tarefas", "777"})
	if code == exitOK || !strings.Contains(e.String(), "nothing was ever sent to OfficeTrack under this key") {
		t.Errorf("resend of an unknown key: %d %s", code, e.String())
	}
}
