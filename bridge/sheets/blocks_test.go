package sheets

import (
	"testing"

	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
)

// TestBlockOf: rows of one task always fall in one block, whatever their
// position; rows without a key spread by their number; the blocks are
// used about evenly.
func TestBlockOf(t *testing.T) {
	task := func(row int, n int64) outRow {
		return outRow{Num: row, Task: &officetrack.Task{TaskNumber: &n}}
	}
	const blocks = 6
	cases := []struct {
		name string
		a, b outRow
		same bool
	}{
		{"one task, two rows", task(2, 77), task(9000, 77), true},
		{"one point of interest, two rows", outRow{Num: 3, POI: &officetrack.POI{CustomerNumber: "C-1"}}, outRow{Num: 40, POI: &officetrack.POI{CustomerNumber: "C-1"}}, true},
		{"refused rows by number", outRow{Num: 7, Problem: "x"}, outRow{Num: 7 + blocks, Problem: "y"}, true},
		{"refused rows, next number", outRow{Num: 7, Problem: "x"}, outRow{Num: 8, Problem: "y"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := blockOf(&c.a, blocks) == blockOf(&c.b, blocks); got != c.same {
				t.Errorf("same block = %v, want %v", got, c.same)
			}
		})
	}
	counts := make([]int, blocks)
	for n := int64(1); n <= 6000; n++ {
		r := task(int(n), n)
		counts[blockOf(&r, blocks)]++
	}
	for i, c := range counts {
		if c < 800 || c > 1200 {
			t.Errorf("block %d has %d of 6000 rows: %v", i, c, counts)
		}
	}
}
