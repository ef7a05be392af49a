package sheets

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

// reportRows reads a result report in the inbox: its header and rows.
func reportRows(t *testing.T, e *env, rel string) [][]string {
	t.Helper()
	f, err := excelize.OpenFile(filepath.Join(e.inbox, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(f.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// dropEditedReport opens the XLSX report at rel in the inbox, sets cells
// (by reference) as a clerk would, and drops it back under its own name.
func (e *env) dropEditedReport(rel string, cells map[string]string) {
	e.t.Helper()
	x, err := excelize.OpenFile(filepath.Join(e.inbox, rel))
	if err != nil {
		e.t.Fatal(err)
	}
	defer x.Close()
	sh := x.GetSheetName(0)
	for ref, v := range cells {
		x.SetCellValue(sh, ref, v)
	}
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		e.t.Fatal(err)
	}
	e.drop(filepath.Base(rel), buf.Bytes())
}

// statusCount counts the report's status words (column 6, after the five
// columns of the tasks sheet).
func statusCount(rows [][]string) map[string]int {
	out := map[string]int{}
	for _, r := range rows[1:] {
		if len(r) > 5 && r[5] != "" {
			out[r[5]]++
		}
	}
	return out
}

// TestCorrectedReportSendsOnlyFixedRows: a sheet with two bad rows is
// sent; the clerk fixes the two red rows in the result report and drops
// the report back. Exactly two calls are made, the other rows are
// reported as already sent, and the new report has the sheet's columns
// plus one status and one message column (the old ones replaced).
func TestCorrectedReportSendsOnlyFixedRows(t *testing.T) {
	e := newEnv(t, nil)
	rows := goodRows(20, 8000)
	rows[4][2] = "31/02/2026"  // spreadsheet row 6
	rows[11][2] = "32/13/2026" // row 13
	e.drop("tarefas-lote.xlsx", xlsxRows(t, rows))
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Calls("CreateOrUpdateTask"); n != 18 {
		t.Fatalf("%d calls for the first sheet, want 18", n)
	}
	first := reportRows(t, e, "done/tarefas-lote.xlsx.report.xlsx")
	if got := statusCount(first); got["sent"] != 18 || got["rejected"] != 2 {
		t.Fatalf("first report statuses %v", got)
	}

	// The clerk opens the report, fixes the two dates and drops it back.
	e.dropEditedReport("done/tarefas-lote.xlsx.report.xlsx", map[string]string{"C6": "24/11/2026 09:00", "C13": "25/11/2026 10:30"})
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Calls("CreateOrUpdateTask"); n != 20 {
		t.Fatalf("%d calls in all, want 20: the corrected report must send only its 2 fixed rows", n)
	}
	for _, n := range []int64{8004, 8011} {
		if task, ok := e.fake.Task(n); !ok {
			t.Errorf("fixed task %d missing", n)
		} else if d, _ := task.Get("DueDateTime"); !strings.HasPrefix(d, "2026112") {
			t.Errorf("task %d: DueDateTime %q", n, d)
		}
	}
	// done/ already has the first report under the dropped name: the
	// sheet is kept beside it as "… (2)", its report after it.
	second := reportRows(t, e, "done/tarefas-lote.xlsx.report (2).xlsx.report.xlsx")
	if w := len(second[0]); w != 7 {
		t.Errorf("new report has %d columns %q, want the 5 of the sheet + status + message", w, second[0])
	}
	if got := statusCount(second); got["sent"] != 2 || got["already sent"] != 18 || got["rejected"] != 0 {
		t.Errorf("second report statuses %v", got)
	}
	if last := second[len(second)-1]; len(last) != 1 || last[0] != "2 sent, 0 rejected, 18 already sent" {
		t.Errorf("second report's summary line %q (the first report's own must not be read as a row)", last)
	}
	for _, r := range second[1:] {
		if len(r) > 6 && r[5] == "already sent" && !strings.HasPrefix(r[6], "already sent on ") {
			t.Errorf("row %v: message %q", r[0], r[6])
		}
	}
	recs, _ := e.l.Files(context.Background(), ledger.FileFilter{Job: "tarefas", Limit: 10})
	if len(recs) != 2 || recs[0].State != ledger.FileDone || !strings.Contains(recs[0].Message, "18 already sent") {
		t.Errorf("file records: %+v", recs)
	}
}

// TestChangedValueSendsOneUpdate: a copy of a sent sheet with one value
// changed sends one call, an update of that task, and the report names
// the change; the other rows are already sent.
func TestChangedValueSendsOneUpdate(t *testing.T) {
	e := newEnv(t, nil)
	rows := goodRows(10, 9100)
	e.drop("tarefas-a.xlsx", xlsxRows(t, rows))
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	rows[3][1] = "Instalação 3 (portão azul)"
	e.drop("tarefas-b.xlsx", xlsxRows(t, rows))
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Calls("CreateOrUpdateTask"); n != 11 {
		t.Fatalf("%d calls, want 10 + 1", n)
	}
	if c := e.fake.TaskCalls(9103); c != 2 {
		t.Errorf("task 9103 applied %d times, want 2 (created, updated)", c)
	}
	if task, _ := e.fake.Task(9103); task.Description == nil || *task.Description != "Instalação 3 (portão azul)" {
		t.Errorf("task 9103: %+v", task.Description)
	}
	rep := reportRows(t, e, "done/tarefas-b.xlsx.report.xlsx")
	want := `updated: Descrição: "Instalação 3" → "Instalação 3 (portão azul)"`
	if r := rep[4]; r[5] != "sent" || r[6] != want {
		t.Errorf("row 5 of the report: %q %q, want sent %q", r[5], r[6], want)
	}
	if got := statusCount(rep); got["sent"] != 1 || got["already sent"] != 9 {
		t.Errorf("statuses %v", got)
	}
}

// TestResendColumn: a row whose resend column says yes is sent again
// although OfficeTrack holds it, and the report says it was asked for.
func TestResendColumn(t *testing.T) {
	for _, c := range []struct{ header, yes string }{{"Reenviar", "sim"}, {"reenviar?", "Sí"}, {"Resend", "x"}} {
		t.Run(c.header, func(t *testing.T) {
			e := newEnv(t, nil)
			rows := goodRows(6, 9200)
			e.drop("tarefas-a.xlsx", xlsxRows(t, rows))
			if err := e.run(); err != nil {
				t.Fatal(err)
			}
			header := []any{"Nº OS", "Descrição", "Data", "Técnico", "Cliente", c.header}
			var again [][]any
			for i, r := range rows {
				flag := ""
				if i == 2 {
					flag = c.yes
				}
				again = append(again, append(append([]any{}, r...), flag))
			}
			e.drop("tarefas-b.xlsx", xlsxSheet(t, header, again))
			if err := e.run(); err != nil {
				t.Fatal(err)
			}
			if n := e.fake.Calls("CreateOrUpdateTask"); n != 7 {
				t.Fatalf("%d calls, want 6 + 1", n)
			}
			if n := e.fake.TaskCalls(9202); n != 2 {
				t.Errorf("task 9202 applied %d times, want 2", n)
			}
			rep := reportRows(t, e, "done/tarefas-b.xlsx.report.xlsx")
			if r := rep[3]; r[6] != "sent" || r[7] != "sent again as asked (resend column)" {
				t.Errorf("row 4 of the report: %q", r)
			}

			// The report dropped back (the clerk asks for task 9200 again,
			// row 4's request still in it): row 4 shows it was re-sent, so
			// it is not sent a third time; row 2's new request is done.
			e.dropEditedReport("done/tarefas-b.xlsx.report.xlsx", map[string]string{"F2": c.yes})
			if err := e.run(); err != nil {
				t.Fatal(err)
			}
			if n := e.fake.TaskCalls(9202); n != 2 {
				t.Errorf("task 9202 applied %d times after its report was dropped back, want still 2", n)
			}
			if n := e.fake.TaskCalls(9200); n != 2 {
				t.Errorf("task 9200 applied %d times, want 2 (asked again in the report)", n)
			}
			back := reportRows(t, e, "done/tarefas-b.xlsx.report (2).xlsx.report.xlsx")
			if r := back[3]; r[6] != "already sent" {
				t.Errorf("row 4 of the report dropped back: %q", r)
			}
		})
	}
}

// TestLedgerHistory: the history of a key says when, from which file and
// row, what was sent and what changed.
func TestLedgerHistory(t *testing.T) {
	e := newEnv(t, nil)
	rows := goodRows(3, 9300)
	e.drop("tarefas-a.xlsx", xlsxRows(t, rows))
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	rows[1][3] = "T99"
	e.drop("tarefas-b.xlsx", xlsxRows(t, rows))
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	cur, hist, err := History(context.Background(), e.l, "tarefas", "9301")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 {
		t.Fatalf("%d history entries: %+v", len(hist), hist)
	}
	if hist[0].Name != "tarefas-a.xlsx" || hist[0].Row != 3 || hist[0].Outcome != OutcomeSent || hist[0].Values["EmployeeNumber"] != "T17" {
		t.Errorf("first entry %+v", hist[0])
	}
	if hist[1].Name != "tarefas-b.xlsx" || fmt.Sprint(hist[1].Changes) != `[Técnico: "T17" → "T99"]` {
		t.Errorf("second entry %+v", hist[1])
	}
	if !strings.Contains(cur, `"EmployeeNumber":"T99"`) {
		t.Errorf("current record %s", cur)
	}
}
