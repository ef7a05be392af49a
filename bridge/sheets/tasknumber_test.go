package sheets

import (
	"github.com/fieldbridge/fieldbridge/mapping"
	"strconv"
	"testing"
)

func TestDerivedTaskNumber(t *testing.T) {
	const sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	seen := map[int64]int{}
	for row := 1; row <= 20000; row++ {
		n := DerivedTaskNumber(sha, row)
		if n != DerivedTaskNumber(sha, row) {
			t.Fatal("not stable")
		}
		if s := strconv.FormatInt(n, 10); len(s) != 18 {
			t.Fatalf("row %d: %d has %d digits", row, n, len(s))
		}
		if prev, dup := seen[n]; dup {
			t.Fatalf("rows %d and %d collide", prev, row)
		}
		seen[n] = row
	}
	if DerivedTaskNumber(sha, 2) == DerivedTaskNumber(sha[:63]+"9", 2) {
		t.Fatal("file hash ignored")
	}
	// Pinned value: changing the derivation would re-create tasks in OfficeTrack.
	if got := DerivedTaskNumber(sha, 2); got != 745095856390553971 {
		t.Fatalf("DerivedTaskNumber changed: %d", got)
	}
}

func TestTaskFromRecordDerivesMissingNumber(t *testing.T) {
	const sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	rec := mapping.Record{Row: 7, Fields: map[string]mapping.Value{
		"Description": {Set: true, Text: "Instalação"},
		"Location.Y":  {Set: true, Text: "-23.55"},
		"Notes":       {Set: false, Text: "ignored"},
	}}
	task, err := taskFromRecord(rec, sha, 7)
	if err != nil {
		t.Fatal(err)
	}
	if task.TaskNumber == nil || *task.TaskNumber != DerivedTaskNumber(sha, 7) {
		t.Fatalf("TaskNumber %v", task.TaskNumber)
	}
	if task.Notes != nil {
		t.Fatal("a field the mapping did not set is sent")
	}
	rec.Fields["TaskNumber"] = mapping.Value{Set: true, Text: "240301"}
	task, _ = taskFromRecord(rec, sha, 7)
	if *task.TaskNumber != 240301 {
		t.Fatalf("TaskNumber %d", *task.TaskNumber)
	}
}
