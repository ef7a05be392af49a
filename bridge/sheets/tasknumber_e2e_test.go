package sheets

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

// numberlessMapping is tasksMapping plus a work-order column.
const numberlessMapping = tasksMapping + `
[fields.WorkOrderNumber]
column = "Pedido"
`

// TestRowsWithoutTaskNumber drops a sheet where some rows have no Nº OS:
// they become tasks with derived 18-digit numbers. Then a corrected copy
// of the sheet is dropped under the same name (a row inserted at the top,
// one row's technician changed): rows sent unchanged keep their numbers
// wherever they now sit (a re-send updates their task); the changed row is
// a new task by default, and updates its task when task_number_from names
// the work-order column.
func TestRowsWithoutTaskNumber(t *testing.T) {
	header := []any{"Nº OS", "Descrição", "Data", "Técnico", "Cliente", "Pedido"}
	const date = "23/11/2026 14:00"
	a := []any{9001, "Instalação A", date, "T17", "Ana", "P-1"}
	b := []any{"", "Instalação B", date, "T17", "Bia", "P-2"}
	c := []any{"", "Reparo C", date, "T18", "Caio", "P-3"} // twice: two tasks
	d := []any{"", "Retirada D", date, "T19", "Davi", ""}  // no work order
	bFixed := []any{"", "Instalação B", date, "T99", "Bia", "P-2"}
	e0 := []any{"", "Nova E", date, "T20", "Eva", "P-5"}
	first := [][]any{a, b, c, c, d}
	second := [][]any{e0, a, bFixed, c, c, d}

	tests := []struct {
		name string
		from []string
		// tasks after the second file; whether B keeps its number.
		tasks int
		bKept bool
	}{
		{"by row content (default)", nil, 7, false},
		{"by work order", []string{"workordernumber"}, 6, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(o *Options) { o.TaskNumberFrom = tt.from })
			if err := os.WriteFile(filepath.Join(e.maps, "tarefas.toml"), []byte(numberlessMapping), 0o644); err != nil {
				t.Fatal(err)
			}
			e.drop("tarefas-sem-os.xlsx", xlsxSheet(t, header, first))
			if err := e.run(); err != nil {
				t.Fatal(err)
			}
			if !e.exists("done/tarefas-sem-os.xlsx") {
				t.Fatal("first sheet not in done/")
			}
			nums1 := e.sentNumbers(t)
			if len(nums1) != 5 || e.fake.TaskCount() != 5 {
				t.Fatalf("first sheet: numbers %v, %d tasks", nums1, e.fake.TaskCount())
			}
			if nums1[2] != 9001 {
				t.Errorf("row 2 sent as %d, want its own number 9001", nums1[2])
			}
			for row := 3; row <= 6; row++ {
				n := nums1[row]
				if s := strconv.FormatInt(n, 10); len(s) != 18 {
					t.Errorf("row %d: derived number %d is not 18 digits", row, n)
				}
				task, ok := e.fake.Task(n)
				if !ok {
					t.Fatalf("row %d: task %d missing", row, n)
				}
				if got, _ := task.Get("Description"); got != first[row-2][1] {
					t.Errorf("task %d: Description %q, want %q", n, got, first[row-2][1])
				}
			}
			if nums1[4] == nums1[5] {
				t.Error("two identical rows became one task")
			}
			// The documented derivation, by hand, for row 6 (no work order:
			// every mapped value, by field name).
			wantD := DerivedTaskNumber("row\x1fCustomerName=Davi\x1fDescription=Retirada D\x1fDueDateTime=202611231400\x1fEmployeeNumber=T19", 1)
			if nums1[6] != wantD {
				t.Errorf("row 6: %d, want %d", nums1[6], wantD)
			}

			// The corrected sheet, same name, changed content.
			e.drop("tarefas-sem-os.xlsx", xlsxSheet(t, header, second))
			if err := e.run(); err != nil {
				t.Fatal(err)
			}
			if e.exists("tarefas-sem-os.xlsx") || e.exists("processing/tarefas-sem-os.xlsx") {
				t.Fatal("second sheet not settled")
			}
			nums2 := e.sentNumbers(t)
			// Unchanged rows moved down one row and kept their numbers.
			for _, m := range []struct{ old, new int }{{2, 3}, {4, 5}, {5, 6}, {6, 7}} {
				if nums2[m.new] != nums1[m.old] {
					t.Errorf("unchanged row %d→%d: number %d, was %d", m.old, m.new, nums2[m.new], nums1[m.old])
				}
				if c := e.fake.TaskCalls(nums1[m.old]); c != 1 {
					t.Errorf("task %d (row %d) written %d times, want 1 (created; unchanged, so not sent again)", nums1[m.old], m.old, c)
				}
				if o := e.rowOutcome(t, m.new); o != OutcomeAlready {
					t.Errorf("unchanged row %d: outcome %q, want %q", m.new, o, OutcomeAlready)
				}
			}
			if kept := nums2[4] == nums1[3]; kept != tt.bKept {
				t.Errorf("changed row B: number kept %v, want %v", kept, tt.bKept)
			}
			task, _ := e.fake.Task(nums2[4])
			if emp, _ := task.Get("EmployeeNumber"); emp != "T99" {
				t.Errorf("changed row B: task %d has technician %q", nums2[4], emp)
			}
			if n := e.fake.TaskCount(); n != tt.tasks {
				t.Errorf("%d tasks, want %d", n, tt.tasks)
			}
		})
	}
}

// rowOutcome returns the outcome of a row of the newest settled file.
func (e *env) rowOutcome(t *testing.T, row int) string {
	t.Helper()
	ctx := context.Background()
	recs, err := e.l.Files(ctx, ledger.FileFilter{Job: "tarefas", State: ledger.FileDone, Limit: 100})
	if err != nil || len(recs) == 0 {
		t.Fatalf("no settled file: %v", err)
	}
	newest := recs[0]
	for _, r := range recs {
		if r.ID > newest.ID {
			newest = r
		}
	}
	it, err := e.l.GetItem(ctx, "tarefas", itemKey(newest.SHA256, row))
	if err != nil {
		t.Fatalf("row %d: %v", row, err)
	}
	return it.Outcome
}

// sentNumbers returns the TaskNumber each row was sent with, from the
// ledger items of the newest settled file: row → number.
func (e *env) sentNumbers(t *testing.T) map[int]int64 {
	t.Helper()
	ctx := context.Background()
	recs, err := e.l.Files(ctx, ledger.FileFilter{Job: "tarefas", State: ledger.FileDone, Limit: 100})
	if err != nil || len(recs) == 0 {
		t.Fatalf("no settled file: %v", err)
	}
	newest := recs[0]
	for _, r := range recs {
		if r.ID > newest.ID {
			newest = r
		}
	}
	out := map[int]int64{}
	err = e.l.ItemsWithPrefix(ctx, "tarefas", newest.SHA256+":", func(it ledger.Item) error {
		if it.Outcome != OutcomeSent && it.Outcome != OutcomeAlready {
			t.Errorf("row %d: %s %s", rowOfKey(it.Key), it.Outcome, it.Message)
		}
		n, err := strconv.ParseInt(it.RemoteID, 10, 64)
		if err != nil {
			t.Errorf("row %d: remote id %q", rowOfKey(it.Key), it.RemoteID)
		}
		out[rowOfKey(it.Key)] = n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
