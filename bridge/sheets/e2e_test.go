package sheets

import (
	"errors"

	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/officetrack"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack/officetracktest"
)

const tasksMapping = `name = "tarefas"
target = "officetrack-task"
files = ["tarefas*", "*.csv"]

[fields.TaskNumber]
column = "Nº OS"

[fields.Description]
column = "Descrição"

[fields.DueDateTime]
column = "Data"

[fields.EmployeeNumber]
column = "Técnico"

[fields.CustomerName]
column = "Cliente"
`

// env is one test setup: a fake OfficeTrack, an inbox, a mappings folder.
type env struct {
	t     testing.TB
	fake  *officetracktest.Server
	inbox string
	data  string
	maps  string
	l     ledger.Ledger
	job   *job
	// timeout bounds one run (default 60s).
	timeout time.Duration
}

func newEnv(t testing.TB, mutate func(*Options)) *env {
	t.Helper()
	return newEnvConns(t, "", mutate)
}

// newEnvConns is newEnv with more [connections.X] tables in the config.
func newEnvConns(t testing.TB, conns string, mutate func(*Options)) *env {
	t.Helper()
	root := t.TempDir()
	e := &env{t: t, inbox: filepath.Join(root, "inbox"), data: filepath.Join(root, "data"), maps: filepath.Join(root, "mappings")}
	for _, d := range []string{e.inbox, e.data, e.maps} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(e.maps, "tarefas.toml"), []byte(tasksMapping), 0o644); err != nil {
		t.Fatal(err)
	}
	e.fake = officetracktest.NewServer(officetracktest.Options{})
	t.Cleanup(e.fake.Close)
	e.l = newTestLedger(t, e.data)
	o := DefaultOptions()
	o.OfficeTrack = "ot"
	o.Mappings = e.maps
	o.MinAge = bridge.Duration{Duration: 200 * time.Millisecond}
	o.Inboxes = []Inbox{{Path: e.inbox}}
	if mutate != nil {
		mutate(o)
	}
	co := e.fake.ClientOptions()
	cfgText := fmt.Sprintf(`data_dir = %q
language = "en"
[connections.ot]
type = "officetrack"
url = %q
user_name = %q
password = %q
retry_backoff = "10ms"
max_backoff = "50ms"
`, e.data, co.URL, co.UserName, co.Password) + conns
	cfg, err := bridge.ParseConfig(filepath.Join(root, "config.toml"), []byte(cfgText), registry())
	if err != nil {
		t.Fatal(err)
	}
	benv := &bridge.Env{Config: cfg, Ledger: e.l}
	j, err := newJob(benv, bridge.JobSpec{Name: "tarefas", Kind: KindName, Interval: bridge.Duration{Duration: time.Minute}}, o)
	if err != nil {
		t.Fatal(err)
	}
	e.job = j
	return e
}

func (e *env) run() error {
	e.t.Helper()
	rc := bridge.NewRunContext(ledger.Run{ID: 1, Job: "tarefas"}, e.l, nil, nil)
	timeout := e.timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return e.job.Run(ctx, rc)
}

// drop writes a file into the inbox and backdates it so it is ready.
func (e *env) drop(name string, data []byte) {
	e.t.Helper()
	p := filepath.Join(e.inbox, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) exists(rel string) bool {
	_, err := os.Stat(filepath.Join(e.inbox, rel))
	return err == nil
}

func (e *env) read(rel string) string {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.inbox, rel))
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// xlsxRows builds an XLSX with the tasks header and rows.
func xlsxRows(t testing.TB, rows [][]any) []byte {
	t.Helper()
	return xlsxSheet(t, []any{"Nº OS", "Descrição", "Data", "Técnico", "Cliente"}, rows)
}

// xlsxSheet builds an XLSX with a header row and rows.
func xlsxSheet(t testing.TB, header []any, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	f.SetSheetRow("Sheet1", "A1", &header)
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		f.SetSheetRow("Sheet1", cell, &r)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func goodRows(n, base int) [][]any {
	var rows [][]any
	for i := range n {
		rows = append(rows, []any{base + i, fmt.Sprintf("Instalação %d", i), "23/11/2026 14:00", "T17", "José da Conceição"})
	}
	return rows
}

func TestGoodXLSX(t *testing.T) {
	e := newEnv(t, nil)
	e.drop("tarefas-1.xlsx", xlsxRows(t, goodRows(25, 5000)))
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	if e.fake.TaskCount() != 25 {
		t.Fatalf("%d tasks", e.fake.TaskCount())
	}
	task, ok := e.fake.Task(5003)
	if !ok {
		t.Fatal("task 5003 missing")
	}
	if d, _ := task.Get("DueDateTime"); d != "202611231400" {
		t.Errorf("DueDateTime %q", d)
	}
	if c, _ := task.Get("CustomerName"); c != "José da Conceição" {
		t.Errorf("CustomerName %q", c)
	}
	if !e.exists("done/tarefas-1.xlsx") || !e.exists("done/tarefas-1.xlsx.report.xlsx") || e.exists("tarefas-1.xlsx") {
		t.Fatal("not settled in done/ with its report")
	}
	rep, err := excelize.OpenFile(filepath.Join(e.inbox, "done/tarefas-1.xlsx.report.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Close()
	rows, _ := rep.GetRows(rep.GetSheetName(0))
	if !strings.Contains(fmt.Sprint(rows), "5024") {
		t.Errorf("report lacks the rows: %v", rows[:2])
	}
}

func TestWindows1252CSVWithBadRows(t *testing.T) {
	e := newEnv(t, nil)
	csv := "Nº OS;Descrição;Data;Técnico;Cliente\r\n" +
		"7001;Manutenção;23/11/2026 08:30;T1;João Ávila\r\n" +
		"7002;Reparo;31/02/2026;T2;Conceição\r\n" + // bad date
		"7003;Vistoria;24/11/2026;T3;Estevão\r\n"
	enc, err := charmap.Windows1252.NewEncoder().Bytes([]byte(csv))
	if err != nil {
		t.Fatal(err)
	}
	e.drop("lote.csv", enc)
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	if e.fake.TaskCount() != 2 {
		t.Fatalf("%d tasks", e.fake.TaskCount())
	}
	if task, _ := e.fake.Task(7001); task.CustomerName == nil || *task.CustomerName != "João Ávila" {
		t.Fatalf("accents lost: %+v", task.CustomerName)
	}
	if _, ok := e.fake.Task(7002); ok {
		t.Fatal("bad row sent")
	}
	rep, err := charmap.Windows1252.NewDecoder().String(e.read("done/lote.csv.report.csv"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", rep)
	if !strings.Contains(rep, "31/02/2026") || !strings.Contains(rep, "C") {
		t.Errorf("report: %s", rep)
	}
}

func TestLockFileHalfWrittenCorruptDuplicate(t *testing.T) {
	e := newEnv(t, nil)
	good := xlsxRows(t, goodRows(3, 100))
	e.drop("~$tarefas.xlsx", []byte("lock"))
	e.drop("tarefas-a.xlsx", good)
	e.drop("tarefas-corrupt.xlsx", []byte("PK\x03\x04 this is not a workbook"))
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	if !e.exists("~$tarefas.xlsx") || e.exists("done/~$tarefas.xlsx") {
		t.Fatal("lock file taken")
	}
	if !e.exists("failed/tarefas-corrupt.xlsx") || !e.exists("failed/tarefas-corrupt.xlsx.report.txt") {
		t.Fatal("corrupt file not in failed/ with report")
	}
	calls := e.fake.Calls("CreateOrUpdateTask")
	// Same content under another name: a duplicate, not sent again.
	e.drop("tarefas-b.xlsx", good)
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	if e.fake.Calls("CreateOrUpdateTask") != calls {
		t.Fatal("duplicate sent again")
	}
	t.Logf("corrupt file report:\n%s", e.read("failed/tarefas-corrupt.xlsx.report.txt"))
	rep := e.read("done/tarefas-b.xlsx.report.txt")
	t.Logf("duplicate report:\n%s", rep)
	if !strings.Contains(rep, "tarefas-a.xlsx") {
		t.Fatalf("duplicate report: %s", rep)
	}
	// A changed file with the same name is new.
	e.drop("tarefas-a.xlsx", xlsxRows(t, goodRows(4, 100)))
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	if e.fake.TaskCount() != 4 || !e.exists("done/tarefas-a (2).xlsx") {
		t.Fatalf("changed file: %d tasks", e.fake.TaskCount())
	}
}

func TestHalfWrittenFileWaits(t *testing.T) {
	// min_age well above the pauses of the writer, even on a busy machine.
	e := newEnv(t, func(o *Options) { o.MinAge = bridge.Duration{Duration: 1500 * time.Millisecond} })
	full := xlsxRows(t, goodRows(50, 900))
	p := filepath.Join(e.inbox, "tarefas-slow.xlsx")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < len(full); i += len(full)/8 + 1 {
			f.Write(full[i:min(i+len(full)/8+1, len(full))])
			time.Sleep(150 * time.Millisecond)
		}
		f.Close()
	}()
	// A run while the copy is going on must not take the file (it waits
	// up to 2×min_age for it, then leaves it).
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	<-done
	if e.exists("done/tarefas-slow.xlsx") && e.fake.TaskCount() != 50 {
		t.Fatal("half-written file was taken")
	}
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	if e.exists("failed/tarefas-slow.xlsx") {
		t.Fatal("half-written file was taken")
	}
	if !e.exists("done/tarefas-slow.xlsx") || e.fake.TaskCount() != 50 {
		t.Fatalf("complete file not sent: %d tasks", e.fake.TaskCount())
	}
}

func TestCredentialsStopAndFileWaits(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.SetCredentials("bridge", "changed")
	e.drop("tarefas-x.xlsx", xlsxRows(t, goodRows(5, 1)))
	err := e.run()
	if err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("err %v", err)
	}
	if !e.exists("processing/tarefas-x.xlsx") || e.exists("failed/tarefas-x.xlsx") {
		t.Fatal("file should wait in processing/")
	}
	e.fake.SetCredentials("bridge", "s3cret")
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	if !e.exists("done/tarefas-x.xlsx") || e.fake.TaskCount() != 5 {
		t.Fatal("file not sent after the password was fixed")
	}
}

func TestAllOrNothing(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.AllOrNothing = true })
	rows := goodRows(4, 300)
	rows[2][2] = "not a date"
	e.drop("tarefas-aon.xlsx", xlsxRows(t, rows))
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	if e.fake.Calls("CreateOrUpdateTask") != 0 || !e.exists("failed/tarefas-aon.xlsx.report.xlsx") {
		t.Fatal("all_or_nothing sent rows or did not fail the file")
	}
	// The import page's watch view tells which row held the others.
	recs, _ := e.l.Files(context.Background(), ledger.FileFilter{Job: "tarefas", Limit: 1})
	if len(recs) != 1 {
		t.Fatalf("file records %+v", recs)
	}
	v, ok, err := e.job.fileState(context.Background(), &e.job.opts.Inboxes[0], recs[0].SHA256, true)
	if err != nil || !ok || v.Counts[OutcomeHeld] != 3 || v.Counts[OutcomeRejected] != 1 {
		t.Fatalf("watch view: %v %v %v", ok, err, v.Counts)
	}
}

// copyDir copies the regular files of src into dst.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	es, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSamples sends the sample sheets written by Gnumeric (samples/sheets)
// with the sample mappings, the mapping of each file chosen by its name.
func TestSamples(t *testing.T) {
	e := newEnv(t, nil)
	os.Remove(filepath.Join(e.maps, "tarefas.toml"))
	copyDir(t, "../../samples/mappings", e.maps)
	copyDir(t, "../../samples/sheets", e.inbox)
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	es, _ := os.ReadDir(filepath.Join(e.inbox, "done"))
	fs, _ := os.ReadDir(filepath.Join(e.inbox, "failed"))
	var names []string
	for _, x := range append(es, fs...) {
		names = append(names, x.Name())
	}
	t.Logf("settled: %v; %d tasks, %d points of interest", names, e.fake.TaskCount(), e.fake.POICount())
	for _, f := range []string{"tarefas.xlsx", "tarefas-com-erros.xlsx", "tarefas-cp1252.csv", "tarefas-utf8bom.csv", "pontos.xlsx"} {
		if !e.exists("done/"+f) && !e.exists("failed/"+f) {
			t.Errorf("%s not settled", f)
		}
	}
	if e.fake.TaskCount() == 0 || e.fake.POICount() == 0 {
		t.Fatalf("%d tasks, %d points of interest", e.fake.TaskCount(), e.fake.POICount())
	}
	task, ok := e.fake.Task(240301)
	if !ok {
		t.Fatal("task 240301 missing")
	}
	if y, _ := task.Get("Location.Y"); y != "-23.5268" {
		t.Errorf("Location.Y %q", y)
	}
}

func TestSheetWithoutRowsFails(t *testing.T) {
	e := newEnv(t, nil)
	e.drop("tarefas-vazia.xlsx", xlsxRows(t, nil))
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	if !e.exists("failed/tarefas-vazia.xlsx") || !e.exists("failed/tarefas-vazia.xlsx.report.xlsx") {
		t.Fatal("an empty sheet should fail with its report")
	}
}

func TestServiceDownFileWaits(t *testing.T) {
	e := newEnv(t, nil)
	e.drop("tarefas-y.xlsx", xlsxRows(t, goodRows(20, 600)))
	e.fake.FailNext(3, officetracktest.FaultTooMuchData) // retried by the client: absorbed
	e.fake.FailEvery(7, officetracktest.FaultHTTP500)    // absorbed too
	if err := e.run(); err != nil {
		t.Fatalf("absorbed failures stopped the run: %v", err)
	}
	if e.fake.TaskCount() != 20 {
		t.Fatalf("%d tasks", e.fake.TaskCount())
	}
	// Down for good: the file waits in processing/, and goes on later.
	e.fake.FailEvery(1, officetracktest.FaultSOAPFault)
	e.drop("tarefas-z.xlsx", xlsxRows(t, goodRows(20, 700)))
	err := e.run()
	if !errors.Is(err, officetrack.ErrTransient) {
		t.Fatalf("err %v", err)
	}
	if !e.exists("processing/tarefas-z.xlsx") {
		t.Fatal("file should wait in processing/")
	}
	e.fake.FailEvery(0, officetracktest.NoFault)
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	if !e.exists("done/tarefas-z.xlsx") || e.fake.TaskCount() != 40 {
		t.Fatalf("%d tasks", e.fake.TaskCount())
	}
}

// TestRecoverSettledRecord: a crash between moving a sheet to done/ and
// recording it leaves the record "processing"; the next run completes it,
// so a later copy of the sheet is still known as a duplicate.
func TestRecoverSettledRecord(t *testing.T) {
	e := newEnv(t, nil)
	data := xlsxRows(t, goodRows(3, 50))
	e.drop("tarefas-r.xlsx", data)
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rec, err := e.l.FileByName(ctx, "tarefas", e.inbox, "tarefas-r.xlsx")
	if err != nil || rec.State != ledger.FileDone {
		t.Fatalf("%+v %v", rec, err)
	}
	rec.State = ledger.FileProcessing // as if killed before the record
	if err := e.l.PutFile(ctx, &rec); err != nil {
		t.Fatal(err)
	}
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	if rec, _ = e.l.FileByName(ctx, "tarefas", e.inbox, "tarefas-r.xlsx"); rec.State != ledger.FileDone {
		t.Fatalf("record not recovered: %+v", rec)
	}
	e.drop("tarefas-r-copia.xlsx", data)
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	if !e.exists("done/tarefas-r-copia.xlsx.report.txt") {
		t.Fatal("copy not reported as a duplicate")
	}
}

func TestNoMappingFits(t *testing.T) {
	e := newEnv(t, nil)
	e.drop("planilha.csv", []byte("Fruta;Preço\r\nBanana;3,50\r\n"))
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	if !e.exists("failed/planilha.csv") {
		t.Fatal("a sheet no mapping fits should fail")
	}
	rep := e.read("failed/planilha.csv.report.txt")
	t.Logf("report:\n%s", rep)
	if !strings.Contains(rep, "planilha.csv") || e.fake.Calls("CreateOrUpdateTask") != 0 {
		t.Fatalf("report: %s", rep)
	}
}

func TestDoneMarker(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.DoneMarker = ".ok" })
	e.drop("tarefas-m.xlsx", xlsxRows(t, goodRows(2, 10)))
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	if !e.exists("tarefas-m.xlsx") || e.fake.TaskCount() != 0 {
		t.Fatal("taken without its done marker")
	}
	e.drop("tarefas-m.xlsx.ok", nil)
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	if !e.exists("done/tarefas-m.xlsx") || e.exists("tarefas-m.xlsx.ok") || e.fake.TaskCount() != 2 {
		t.Fatalf("marker: %d tasks", e.fake.TaskCount())
	}
}

// TestODSAndXLSDrops: the task sheet saved by Gnumeric as .ods and as
// .xls (Excel 97-2003) is taken from the inbox like an .xlsx: its mapping
// chosen by its headers, its rows sent, an XLSX report beside it.
func TestODSAndXLSDrops(t *testing.T) {
	for _, name := range []string{"tarefas.ods", "tarefas.xls"} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil)
			os.Remove(filepath.Join(e.maps, "tarefas.toml"))
			copyDir(t, "../../samples/mappings", e.maps)
			data, err := os.ReadFile(filepath.Join("../../mapping/testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			e.drop(name, data)
			if err := e.run(); err != nil {
				t.Fatal(err)
			}
			if !e.exists("done/"+name) || !e.exists("done/"+name+".report.xlsx") {
				es, _ := os.ReadDir(filepath.Join(e.inbox, "failed"))
				t.Fatalf("%s not done with an XLSX report (failed/: %v)", name, es)
			}
			if n := e.fake.TaskCount(); n != 8 {
				t.Fatalf("%d tasks, want 8", n)
			}
			if task, ok := e.fake.Task(240101); !ok {
				t.Fatal("task 240101 missing")
			} else if c, _ := task.Get("CustomerName"); c != "Maria da Conceição" {
				t.Errorf("CustomerName %q", c)
			}
		})
	}
}
