package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/bridge/ledger/ledgertest"
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

// TestLedgerCopy copies an SQLite ledger into PostgreSQL and back into a
// new SQLite file: the last holds what the first did; a target with data
// is refused unless -force; no message shows the database password.
func TestLedgerCopy(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, last := filepath.Join(dir, "first.db"), filepath.Join(dir, "last.db")
	pgURL := ledgertest.PostgresURL(t)
	u, err := url.Parse(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	password, _ := u.User.Password()

	src, err := ledger.OpenSQLite(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 123456789, time.UTC) // nanoseconds: PostgreSQL keeps microseconds
	run, err := src.BeginRun(ctx, "tarefas", t0)
	if err != nil {
		t.Fatal(err)
	}
	run.Ended, run.Outcome, run.Counts = t0.Add(time.Minute), ledger.OutcomeOK, map[string]int64{"sent": 1200}
	if err := src.EndRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := src.PutFile(ctx, &ledger.File{Job: "tarefas", Source: "inbox", Name: "lote.xlsx", Size: 99, ModTime: t0, SHA256: "ab", State: ledger.FileDone, RunID: run.ID}); err != nil {
		t.Fatal(err)
	}
	items := make([]ledger.Item, 1200) // more than a batch
	for i := range items {
		items[i] = ledger.Item{Job: "tarefas", Key: fmt.Sprintf("task:%05d", i), Hash: "h", Outcome: "sent", RemoteID: fmt.Sprint(i), RunID: run.ID, Updated: t0}
	}
	if err := src.PutItems(ctx, items); err != nil {
		t.Fatal(err)
	}
	if err := src.SetState(ctx, "tarefas", "cursor", "42"); err != nil {
		t.Fatal(err)
	}
	want := ledgerText(t, src)
	src.Close()

	run1 := func(args ...string) (int, string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := realMain(ctx, &app{stdout: &out, stderr: &errb, reg: registry}, args)
		text := out.String() + errb.String()
		if password != "" && strings.Contains(text, password) {
			t.Fatalf("fieldbridge %s printed the password:\n%s", args[:2], text)
		}
		return code, text
	}
	code, out := run1("ledger", "copy", "-from", "sqlite:"+first, "-to", pgURL)
	if code != exitOK || !strings.Contains(out, "copied 1 runs, 1 files, 1200 items, 1 state values from sqlite:"+first+" to postgres://") {
		t.Fatalf("copy to PostgreSQL = %d:\n%s", code, out)
	}
	code, out = run1("ledger", "copy", "-from", pgURL, "-to", "sqlite:"+last)
	if code != exitOK || !strings.Contains(out, "copied 1 runs, 1 files, 1200 items, 1 state values") {
		t.Fatalf("copy back = %d:\n%s", code, out)
	}
	back, err := ledger.OpenSQLite(ctx, last)
	if err != nil {
		t.Fatal(err)
	}
	got := ledgerText(t, back)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after SQLite → PostgreSQL → SQLite:\n%s\nwant:\n%s", strings.Join(got[:3], "\n"), strings.Join(want[:3], "\n"))
	}
	if err := back.SetState(ctx, "tarefas", "cursor", "changed"); err != nil {
		t.Fatal(err)
	}
	back.Close()

	// The target holds data: refused, nothing written; -force replaces.
	code, out = run1("ledger", "copy", "-from", pgURL, "-to", "sqlite:"+last)
	if code != exitCannot || !strings.Contains(out, "already holds records") {
		t.Fatalf("copy into a ledger with data = %d:\n%s", code, out)
	}
	code, out = run1("ledger", "copy", "-force", "-from", pgURL, "-to", "sqlite:"+last)
	if code != exitOK {
		t.Fatalf("copy -force = %d:\n%s", code, out)
	}
	back, err = ledger.OpenSQLite(ctx, last)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := back.State(ctx, "tarefas", "cursor"); v != "42" {
		t.Fatalf("after -force the cursor is %q", v)
	}
	back.Close()

	// Mistakes are told, without the password.
	wrongPW := strings.Replace(pgURL, ":"+password+"@", ":"+password+"x@", 1)
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"-from", "sqlite:" + first}, exitUsage, "Usage: fieldbridge ledger copy"},
		{[]string{"-from", "sqlite:" + first, "-to", "sqlite:" + first}, exitUsage, "the same ledger"},
		{[]string{"-from", pgURL, "-to", pgURL}, exitUsage, "the same ledger"},
		{[]string{"-from", "sqlite:" + filepath.Join(dir, "none.db"), "-to", "sqlite:" + last}, exitCannot, "no ledger at"},
		{[]string{"-from", "mysql://u:" + password + "@h/db", "-to", "sqlite:" + last}, exitUsage, "neither sqlite:PATH nor postgres://"},
		{[]string{"-from", wrongPW, "-to", "sqlite:" + filepath.Join(dir, "x.db")}, exitCannot, "postgres://"},
	} {
		code, out := run1(append([]string{"ledger", "copy"}, c.args...)...)
		if code != c.code || !strings.Contains(out, c.says) {
			t.Errorf("ledger copy %v = %d, want %d saying %q:\n%s", c.args, code, c.code, c.says, out)
		}
	}
	code, out = run1("ledger", "-h")
	if code != exitOK || !strings.Contains(out, "copy -from LEDGER -to LEDGER") {
		t.Errorf("ledger -h = %d:\n%s", code, out)
	}
}

// ledgerText lists a ledger's records as text, times to the microsecond.
func ledgerText(t *testing.T, l ledger.Ledger) []string {
	t.Helper()
	us := func(tm time.Time) string { return tm.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano) }
	var out []string
	err := l.(ledger.Dumper).Dump(context.Background(), func(r ledger.Record) error {
		switch {
		case r.Run != nil:
			x := r.Run
			out = append(out, fmt.Sprintf("run %d %s %s %s %v %s %q", x.ID, x.Job, us(x.Started), us(x.Ended), x.Counts, x.Outcome, x.Message))
		case r.File != nil:
			x := r.File
			out = append(out, fmt.Sprintf("file %d %s %s %s %d %s %s %s %d %d %s %s", x.ID, x.Job, x.Source, x.Name, x.Size, us(x.ModTime),
				x.SHA256, x.State, x.Attempts, x.RunID, us(x.Created), us(x.Updated)))
		case r.Item != nil:
			x := r.Item
			out = append(out, fmt.Sprintf("item %s %s %s %s %s %d %s", x.Job, x.Key, x.Hash, x.Outcome, x.RemoteID, x.RunID, us(x.Updated)))
		case r.State != nil:
			x := r.State
			out = append(out, fmt.Sprintf("state %s %s %q %s", x.Job, x.Name, x.Value, us(x.Updated)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
