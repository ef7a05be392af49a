package sheets

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
	"github.com/fieldbridge/fieldbridge/transports"
	"github.com/fieldbridge/fieldbridge/transports/transporttest"
)

// ftpDeliveryEnv is an env delivering by import files to the "import"
// folder of the real vsftpd, with layout's encoding and columns; it
// returns the server too.
func ftpDeliveryEnv(t *testing.T, layout ImportLayout) (*env, transporttest.Server) {
	t.Helper()
	fo, srv := transporttest.FTP(t)
	srv.MkdirAll(t, "import")
	conn := fmt.Sprintf("[connections.officetrack-ftp]\ntype = \"ftp\"\nhost = %q\nport = %d\nuser = %q\npassword = %q\nroot = %q\ntls = \"none\"\n",
		fo.Host, fo.Port, fo.User, fo.Password, fo.Root)
	layout.Connection, layout.Folder = "officetrack-ftp", "import"
	e := newEnvConns(t, conn, func(o *Options) {
		o.Delivery = DeliveryFTP
		o.FTP = layout
	})
	return e, srv
}

// TestFTPDeliveryVsftpd delivers a sheet as one normalised CSV file to
// OfficeTrack's FTP import folder on the real vsftpd.
func TestFTPDeliveryVsftpd(t *testing.T) {
	e, srv := ftpDeliveryEnv(t, ImportLayout{Encoding: "windows-1252",
		Columns: []ImportColumn{{"NumeroTarefa", "TaskNumber"}, {"Descricao", "Description"},
			{"DataHora", "DueDateTime"}, {"Tecnico", "EmployeeNumber"}, {"Cliente", "CustomerName"}}})
	rows := goodRows(3, 4100)
	rows = append(rows, []any{4199, "Sem data", "amanhã", "T9", "X"})
	data := xlsxRows(t, rows)
	e.drop("tarefas-ftp.xlsx", data)
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(filepath.Join(srv.Dir, "import"))
	if err != nil || len(ents) != 1 {
		t.Fatalf("import folder: %v %v", ents, err)
	}
	name := ents[0].Name()
	if !strings.HasPrefix(name, "tarefas-ftp-") || !strings.HasSuffix(name, ".csv") {
		t.Fatalf("uploaded %q", name)
	}
	raw, _ := os.ReadFile(filepath.Join(srv.Dir, "import", name))
	text, _ := charmap.Windows1252.NewDecoder().String(string(raw))
	want := "NumeroTarefa;Descricao;DataHora;Tecnico;Cliente\r\n" +
		"4100;Instalação 0;202611231400;T17;José da Conceição\r\n" +
		"4101;Instalação 1;202611231400;T17;José da Conceição\r\n" +
		"4102;Instalação 2;202611231400;T17;José da Conceição\r\n"
	if text != want {
		t.Fatalf("import file:\n%q\nwant\n%q", text, want)
	}
	if !e.exists("done/tarefas-ftp.xlsx.report.xlsx") {
		t.Fatal("no report")
	}
	if e.fake.Calls("CreateOrUpdateTask") != 0 {
		t.Fatal("ftp delivery used the web service")
	}
	// The loader takes the file away; the same sheet dropped again is a
	// duplicate and is not uploaded again.
	os.Remove(filepath.Join(srv.Dir, "import", name))
	e.drop("tarefas-ftp-copia.xlsx", data)
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(srv.Dir, "import")); len(ents) != 0 {
		t.Fatalf("duplicate uploaded: %v", ents)
	}
	if !e.exists("done/tarefas-ftp-copia.xlsx.report.txt") {
		t.Fatal("no duplicate report")
	}
}

// TestSFTPInbox takes sheets from a folder on the real OpenSSH sftp
// server: the report is written back there, the source moved to done/ only
// after it is settled, the Office lock file left alone.
func TestSFTPInbox(t *testing.T) {
	so, srv := transporttest.SFTP(t)
	conn := fmt.Sprintf("[connections.cliente-sftp]\ntype = \"sftp\"\nhost = %q\nport = %d\nuser = %q\nkey_file = %q\nknown_hosts = %q\nroot = %q\n",
		so.Host, so.Port, so.User, so.KeyFile, so.KnownHosts, so.Root)
	e := newEnvConns(t, conn, func(o *Options) {
		o.Inboxes = []Inbox{{Connection: "cliente-sftp", Folder: "entrada", Mapping: "tarefas"}}
		o.MinAge = bridge.Duration{Duration: 300 * time.Millisecond}
	})
	srv.WriteFile(t, "entrada/lote-sftp.xlsx", xlsxRows(t, goodRows(7, 8800)))
	srv.WriteFile(t, "entrada/~$lote-sftp.xlsx", []byte("lock"))
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	if e.fake.TaskCount() != 7 {
		t.Fatalf("%d tasks", e.fake.TaskCount())
	}
	for _, p := range []string{"entrada/done/lote-sftp.xlsx", "entrada/done/lote-sftp.xlsx.report.xlsx", "entrada/~$lote-sftp.xlsx"} {
		if _, err := os.Stat(filepath.Join(srv.Dir, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(srv.Dir, "entrada/lote-sftp.xlsx")); err == nil {
		t.Error("source still in the inbox")
	}
	// The local copy in the data folder is gone.
	left, _ := filepath.Glob(filepath.Join(e.data, "sheets", "tarefas", "inbox", "*", "*.xlsx"))
	if len(left) != 0 {
		t.Errorf("local copies left: %v", left)
	}
}

// TestSFTPInboxResumes: a sheet claimed from an SFTP inbox while the
// OfficeTrack account is refused stays on the server, claimed in the
// ledger; the next run resumes it from its local copy.
func TestSFTPInboxResumes(t *testing.T) {
	so, srv := transporttest.SFTP(t)
	conn := fmt.Sprintf("[connections.cliente-sftp]\ntype = \"sftp\"\nhost = %q\nport = %d\nuser = %q\nkey_file = %q\nknown_hosts = %q\nroot = %q\n",
		so.Host, so.Port, so.User, so.KeyFile, so.KnownHosts, so.Root)
	e := newEnvConns(t, conn, func(o *Options) {
		o.Inboxes = []Inbox{{Connection: "cliente-sftp", Folder: "entrada", Mapping: "tarefas"}}
		o.MinAge = bridge.Duration{Duration: 200 * time.Millisecond}
		o.RemoteDelete = true
	})
	srv.WriteFile(t, "entrada/lote.xlsx", xlsxRows(t, goodRows(4, 7700)))
	e.fake.SetCredentials("bridge", "changed")
	if err := e.run(); err == nil {
		t.Fatal("run with a refused account succeeded")
	}
	if _, err := os.Stat(filepath.Join(srv.Dir, "entrada/lote.xlsx")); err != nil {
		t.Fatal("source removed before it was settled")
	}
	e.fake.SetCredentials("bridge", "s3cret")
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	if e.fake.TaskCount() != 4 {
		t.Fatalf("%d tasks", e.fake.TaskCount())
	}
	if _, err := os.Stat(filepath.Join(srv.Dir, "entrada/lote.xlsx")); err == nil {
		t.Fatal("remote_delete: source still there")
	}
	if _, err := os.Stat(filepath.Join(srv.Dir, "entrada/done/lote.xlsx.report.xlsx")); err != nil {
		t.Fatal("no report on the server")
	}
}

// TestFTPDropInterruptedUpload: an upload recorded "sending" (the daemon
// was killed during it) is looked for on the server before it is made
// again: a whole file there is kept and recorded; none there is uploaded,
// and the temporary file a killed attempt left is replaced, not left;
// none there while OfficeTrack holds its first task as the file has it
// (its loader took the file) is not uploaded again.
func TestFTPDropInterruptedUpload(t *testing.T) {
	e, srv := ftpDeliveryEnv(t, ImportLayout{Columns: []ImportColumn{{"NumeroTarefa", "TaskNumber"}, {"Descricao", "Description"}}})
	ctx := context.Background()
	rc := bridge.NewRunContext(ledger.Run{ID: 7, Job: "tarefas"}, e.l, nil, nil)
	tmp := filepath.Join(t.TempDir(), "import.csv")
	content := []byte("NumeroTarefa;Descricao\r\n1;a\r\n")
	os.WriteFile(tmp, content, 0o644)
	key := testSHA + ":ftp"

	// Whole on the server (same size, its own bytes): not uploaded again.
	onServer := []byte("NumeroTarefa;Descricao\r\n1;b\r\n")
	srv.WriteFile(t, "import/lote-1.csv", onServer)
	task := func(num int64, desc string) officetrack.Task {
		return officetrack.Task{TaskNumber: &num, Description: &desc}
	}
	probe := []officetrack.Task{task(1, "a")}
	if err := e.job.upload(ctx, rc, key, "import/lote-1.csv", "lote-1.csv", tmp, 1, true, probe); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(srv.Dir, "import", "lote-1.csv")); string(got) != string(onServer) {
		t.Errorf("the file found on the server was uploaded again: %q", got)
	}
	if it, err := e.l.GetItem(ctx, "tarefas", key); err != nil || it.Outcome != OutcomeSent {
		t.Errorf("ledger: %+v %v", it, err)
	}

	// Not there, a killed attempt's temporary file left: uploaded, and the
	// temporary file gone.
	leftover := transports.TempName("import/lote-2.csv", key[:16])
	srv.WriteFile(t, leftover, []byte("NumeroTa"))
	if err := e.job.upload(ctx, rc, key, "import/lote-2.csv", "lote-2.csv", tmp, 1, true, probe); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(srv.Dir, "import", "lote-2.csv")); string(got) != string(content) {
		t.Errorf("uploaded %q", got)
	}
	ents, _ := os.ReadDir(filepath.Join(srv.Dir, "import"))
	if len(ents) != 2 {
		var names []string
		for _, d := range ents {
			names = append(names, d.Name())
		}
		t.Errorf("import folder holds %v, want lote-1.csv and lote-2.csv only", names)
	}

	// Not there, but OfficeTrack holds task 1 as the file has it (the
	// loader imported the file and removed it): not uploaded again. A
	// task that differs does not count.
	c, err := officetrack.New(e.fake.ClientOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range []officetrack.Task{task(1, "a"), task(2, "older")} {
		if _, _, err := c.CreateOrUpdateTaskOnce(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	lookups := e.fake.Calls("GetTaskDetails")
	probe2 := []officetrack.Task{task(2, "b"), task(1, "a")}
	if err := e.job.upload(ctx, rc, key, "import/lote-3.csv", "lote-3.csv", tmp, 2, true, probe2); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(srv.Dir, "import", "lote-3.csv")); err == nil {
		t.Error("the file OfficeTrack's loader had taken was uploaded again")
	}
	if n := e.fake.Calls("GetTaskDetails") - lookups; n != 2 {
		t.Errorf("%d lookups, want 2 (task 2 differs, task 1 holds)", n)
	}
	if it, err := e.l.GetItem(ctx, "tarefas", key); err != nil || it.Outcome != OutcomeSent || it.RemoteID != "import/lote-3.csv" {
		t.Errorf("ledger after the loader's file: %+v %v", it, err)
	}
}

// failingTargets is a ledger whose writes of target records fail: before
// writing them (as a crash right after the import file's upload), or
// after (as a crash before the file is settled).
type failingTargets struct {
	ledger.Ledger
	afterWrite bool
}

func (f failingTargets) PutItems(ctx context.Context, items []ledger.Item) error {
	for _, it := range items {
		if strings.HasPrefix(it.Key, targetPrefix) {
			if f.afterWrite {
				if err := f.Ledger.PutItems(ctx, items); err != nil {
					return err
				}
			}
			return fmt.Errorf("test: target records failed")
		}
	}
	return f.Ledger.PutItems(ctx, items)
}

// TestFTPDeliveryOnlyChanges: import files on OfficeTrack's FTP hold only
// the rows whose content OfficeTrack was not given before — a corrected
// result report dropped back uploads its fixed and changed rows only, one
// with nothing new uploads nothing — and an upload whose rows could not be
// recorded is mended by the next run without a second upload.
func TestFTPDeliveryOnlyChanges(t *testing.T) {
	e, srv := ftpDeliveryEnv(t, ImportLayout{Columns: []ImportColumn{{"NumeroTarefa", "TaskNumber"}, {"Descricao", "Description"}, {"DataHora", "DueDateTime"}}})
	importDir := filepath.Join(srv.Dir, "import")
	// taken reads the import files (what OfficeTrack's loader would take)
	// and removes them; it returns their data lines.
	taken := func() []string {
		t.Helper()
		ents, err := os.ReadDir(importDir)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, en := range ents {
			b, _ := os.ReadFile(filepath.Join(importDir, en.Name()))
			ls := strings.Split(strings.TrimSpace(string(b)), "\r\n")
			lines = append(lines, ls[1:]...) // after the header
			os.Remove(filepath.Join(importDir, en.Name()))
		}
		return lines
	}
	run := func() {
		t.Helper()
		if err := e.run(); err != nil {
			t.Fatal(err)
		}
	}

	rows := goodRows(20, 8000)
	rows[4][2] = "31/02/2026"  // spreadsheet row 6
	rows[11][2] = "32/13/2026" // row 13
	e.drop("tarefas-lote.xlsx", xlsxRows(t, rows))
	run()
	if got := taken(); len(got) != 18 {
		t.Fatalf("first import file: %d rows, want 18", len(got))
	}

	// The clerk fixes the two dates in the report, changes one
	// description, and drops the report back.
	e.dropEditedReport("done/tarefas-lote.xlsx.report.xlsx", map[string]string{
		"C6": "24/11/2026 09:00", "C13": "25/11/2026 10:30", "B3": "Instalação com poste"})
	run()
	got := taken()
	want := []string{"8001;Instalação com poste;202611231400", "8004;Instalação 4;202611240900", "8011;Instalação 11;202611251030"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("second import file rows:\n%q\nwant\n%q", got, want)
	}
	second := reportRows(t, e, "done/tarefas-lote.xlsx.report (2).xlsx.report.xlsx")
	if st := statusCount(second); st["sent"] != 3 || st["already sent"] != 17 {
		t.Errorf("second report statuses %v", st)
	}
	recs, _ := e.l.Files(context.Background(), ledger.FileFilter{Job: "tarefas", Limit: 1})
	if len(recs) != 1 || !strings.Contains(recs[0].Message, "3 rows in the import file, 0 failed validation") || !strings.Contains(recs[0].Message, "17 already sent") {
		t.Errorf("file record of the report dropped back: %+v", recs)
	}
	// The import page's watch view shows the rows of both sheets.
	watch := func(sha string) fileView {
		t.Helper()
		v, ok, err := e.job.fileState(context.Background(), &e.job.opts.Inboxes[0], sha, true)
		if err != nil || !ok {
			t.Fatalf("watch view of %s: %v %v", sha, ok, err)
		}
		return v
	}
	if v := watch(recs[0].SHA256); v.Recorded != 20 || v.Counts[OutcomeSent] != 3 || v.Counts[OutcomeAlready] != 17 {
		t.Errorf("watch view of the report dropped back: %d rows, %v", v.Recorded, v.Counts)
	}
	all, _ := e.l.Files(context.Background(), ledger.FileFilter{Job: "tarefas"})
	for _, f := range all {
		if f.Name != "tarefas-lote.xlsx" {
			continue
		}
		v := watch(f.SHA256)
		if v.Recorded != 20 || v.Counts[OutcomeSent] != 18 || v.Counts[OutcomeRejected] != 2 {
			t.Errorf("watch view of the first sheet: %d rows, %v", v.Recorded, v.Counts)
		}
		var bad []int
		for _, r := range v.Rows {
			if r.Status == OutcomeRejected {
				bad = append(bad, r.Row)
			}
		}
		if fmt.Sprint(bad) != "[6 13]" {
			t.Errorf("rows listed invalid: %v, want [6 13]", bad)
		}
	}
	for _, r := range second[1:] {
		if len(r) > 0 && strings.Contains(r[0], "sent, ") && len(r) > 1 {
			t.Errorf("the old summary line was read as a row: %q", r)
		}
	}
	if last := second[len(second)-1]; len(last) != 1 || last[0] != "3 sent, 0 rejected, 17 already sent" {
		t.Errorf("summary line %q", last)
	}
	for _, r := range second[1:] {
		if len(r) > 0 && r[0] == "8001" && (len(r) < 7 || !strings.Contains(r[6], "updated: Descrição")) {
			t.Errorf("row 8001's message %q does not name the change", r)
		}
	}

	// Nothing new: no import file at all.
	e.drop("tarefas-lote-copia.xlsx", xlsxRows(t, goodRows(20, 8000)[2:4]))
	run()
	if got := taken(); len(got) != 0 {
		t.Fatalf("a sheet with nothing new uploaded %q", got)
	}

	// The upload of a new row succeeds but writing its record fails,
	// before or after it is written: the run fails; the next one does not
	// upload again, reports the row as sent (not as already sent), and the
	// row is known from then on.
	for i, afterWrite := range []bool{false, true} {
		name := fmt.Sprintf("tarefas-nova-%d.xlsx", i)
		num := 8030 + 10*i
		e.drop(name, xlsxRows(t, goodRows(1, num)))
		real := e.l
		e.l = failingTargets{real, afterWrite}
		if err := e.run(); err == nil {
			t.Fatal("the run did not fail when the target records failed")
		}
		e.l = real
		if n, _ := os.ReadDir(importDir); len(n) != 1 {
			t.Fatalf("%d import files after the upload, want 1", len(n))
		}
		run()
		if got := taken(); len(got) != 1 || !strings.HasPrefix(got[0], fmt.Sprint(num, ";")) {
			t.Fatalf("import files after the mending run: %q, want the one upload of %d", got, num)
		}
		if st := statusCount(reportRows(t, e, "done/"+name+".report.xlsx")); st["sent"] != 1 {
			t.Errorf("report of %s after the mending run: %v, want 1 sent", name, st)
		}
		e.drop("copia-"+name, xlsxRows(t, append(goodRows(1, num), goodRows(1, num+1)...)))
		run()
		if got := taken(); len(got) != 1 || !strings.HasPrefix(got[0], fmt.Sprint(num+1, ";")) {
			t.Fatalf("import file of a sheet with %d again and %d new: %q", num, num+1, got)
		}
	}
}
