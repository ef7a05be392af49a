package sheets

import (
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
