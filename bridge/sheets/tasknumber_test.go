package sheets

import (
	"strconv"
	"testing"

	"github.com/fieldbridge/fieldbridge/mapping"
)

func TestDerivedTaskNumber(t *testing.T) {
	seen := map[int64]string{}
	for i := 1; i <= 20000; i++ {
		for _, occ := range []int{1, 2} {
			id := "row\x1fDescription=Instalação " + strconv.Itoa(i)
			n := DerivedTaskNumber(id, occ)
			if n != DerivedTaskNumber(id, occ) {
				t.Fatal("not stable")
			}
			if s := strconv.FormatInt(n, 10); len(s) != 18 {
				t.Fatalf("%q #%d: %d has %d digits", id, occ, n, len(s))
			}
			k := id + "#" + strconv.Itoa(occ)
			if prev, dup := seen[n]; dup {
				t.Fatalf("%q and %q collide", prev, k)
			}
			seen[n] = k
		}
	}
	// Pinned value: changing the derivation would re-create tasks in
	// OfficeTrack for rows sent again.
	if got := DerivedTaskNumber("id\x1fWorkOrderNumber=WO-1", 1); got != pinnedTaskNumber {
		t.Fatalf("DerivedTaskNumber changed: %d", got)
	}
}

const pinnedTaskNumber = 923134692904729343

func rec(row int, kv ...string) mapping.Record {
	r := mapping.Record{Row: row, Fields: map[string]mapping.Value{}}
	for i := 0; i+1 < len(kv); i += 2 {
		r.Fields[kv[i]] = mapping.Value{Set: true, Text: kv[i+1]}
	}
	return r
}

func TestTaskIdentity(t *testing.T) {
	wo := []string{"WorkOrderNumber"}
	tests := []struct {
		name string
		a, b mapping.Record
		from []string
		same bool
	}{
		{"same values, other row", rec(2, "CustomerName", "Ana", "Notes", "x"), rec(90, "Notes", "x", "CustomerName", "Ana"), nil, true},
		{"a value changed", rec(2, "CustomerName", "Ana", "Notes", "x"), rec(2, "CustomerName", "Ana", "Notes", "y"), nil, false},
		{"a field added", rec(2, "CustomerName", "Ana"), rec(2, "CustomerName", "Ana", "Notes", ""), nil, false},
		{"unset fields ignored", rec(2, "CustomerName", "Ana"), mapping.Record{Row: 2, Fields: map[string]mapping.Value{
			"CustomerName": {Set: true, Text: "Ana"}, "Notes": {Text: "left over"}}}, nil, true},
		{"work order decides", rec(2, "WorkOrderNumber", "WO-1", "EmployeeNumber", "7"), rec(5, "WorkOrderNumber", "WO-1", "EmployeeNumber", "8"), wo, true},
		{"other work order", rec(2, "WorkOrderNumber", "WO-1"), rec(2, "WorkOrderNumber", "WO-2"), wo, false},
		{"no work order: content", rec(2, "CustomerName", "Ana"), rec(3, "CustomerName", "Ana"), wo, true},
		{"no work order: content differs", rec(2, "CustomerName", "Ana"), rec(3, "CustomerName", "Bia"), wo, false},
		{"field names count", rec(2, "WorkOrderNumber", "1"), rec(2, "CustomerNumber", "1"), []string{"WorkOrderNumber", "CustomerNumber"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := taskIdentity(tt.a, tt.from), taskIdentity(tt.b, tt.from)
			if (a == b) != tt.same {
				t.Fatalf("identities %q and %q: same=%v, want %v", a, b, a == b, tt.same)
			}
		})
	}
}

func TestTaskNumbererOccurrences(t *testing.T) {
	pass := func() []int64 {
		n := newTaskNumberer(nil)
		var out []int64
		for _, r := range []mapping.Record{rec(2, "CustomerName", "Ana"), rec(3, "CustomerName", "Bia"), rec(4, "CustomerName", "Ana")} {
			out = append(out, n.next(r))
		}
		return out
	}
	a, b := pass(), pass()
	if a[0] == a[2] {
		t.Fatal("two identical rows of one file share a TaskNumber")
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("pass 2 differs at %d: %v vs %v", i, a, b)
		}
	}
	if a[1] != DerivedTaskNumber("row\x1fCustomerName=Bia", 1) || a[2] != DerivedTaskNumber("row\x1fCustomerName=Ana", 2) {
		t.Fatalf("numbers %v", a)
	}
}

func TestTaskFromRecordDerivesMissingNumber(t *testing.T) {
	r := mapping.Record{Row: 7, Fields: map[string]mapping.Value{
		"Description": {Set: true, Text: "Instalação"},
		"Location.Y":  {Set: true, Text: "-23.55"},
		"Notes":       {Set: false, Text: "ignored"},
	}}
	task, err := taskFromRecord(r, newTaskNumberer(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := DerivedTaskNumber("row\x1fDescription=Instalação\x1fLocation.Y=-23.55", 1)
	if task.TaskNumber == nil || *task.TaskNumber != want {
		t.Fatalf("TaskNumber %v, want %d", task.TaskNumber, want)
	}
	if task.Notes != nil {
		t.Fatal("a field the mapping did not set is sent")
	}
	r.Fields["TaskNumber"] = mapping.Value{Set: true, Text: "240301"}
	task, _ = taskFromRecord(r, newTaskNumberer(nil))
	if *task.TaskNumber != 240301 {
		t.Fatalf("TaskNumber %d", *task.TaskNumber)
	}
}
