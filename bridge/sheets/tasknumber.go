package sheets

import (
	"crypto/sha256"
	"encoding/binary"
	"sort"
	"strconv"
	"strings"

	"github.com/fieldbridge/fieldbridge/mapping"
)

// A row of a task sheet that has no TaskNumber (the mapping leaves the
// field unset: no column, or an empty cell) gets a derived one, so that
// sending the row again — after a crash, a retry, or in a corrected copy
// of the sheet — upserts the same task (AutoSelect) instead of creating a
// second one.
//
// "Stable" means: the number depends only on the row's own mapped values,
// never on the file it came in or its position in it. What identifies the
// row is chosen per job with task_number_from (Options.TaskNumberFrom):
//
//   - task_number_from lists target fields (e.g. ["WorkOrderNumber"]) and
//     the row has a value in at least one of them: the number comes from
//     those fields' values. The same work order sent again — in a
//     corrected sheet, with another technician or date — updates its task.
//   - otherwise (the default, or none of those fields filled): the number
//     comes from all the row's mapped values. The same row sent again,
//     in any file and at any position, updates the same task; a row with
//     any value changed is a new task (the old one stays in OfficeTrack).
//
// Rows of one file that share the same identity are told apart by their
// order among those rows (the 1st, the 2nd, ...), so each becomes its own
// task, and a re-send of the file keeps their numbers as long as their
// order among themselves is kept.

// taskIdentity is the text a derived TaskNumber is computed from (without
// the occurrence): "id" and the from fields' values when one of them is
// set, else "row" and every set field's value, by field name.
func taskIdentity(rec mapping.Record, from []string) string {
	var b strings.Builder
	for _, f := range from {
		if v, ok := rec.Fields[f]; ok && v.Set {
			b.WriteString("id")
			for _, f := range from {
				b.WriteString("\x1f" + f + "=")
				if v := rec.Fields[f]; v.Set {
					b.WriteString(v.Text)
				}
			}
			return b.String()
		}
	}
	names := make([]string, 0, len(rec.Fields))
	for n, v := range rec.Fields {
		if v.Set && n != "TaskNumber" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	b.WriteString("row")
	for _, n := range names {
		b.WriteString("\x1f" + n + "=" + rec.Fields[n].Text)
	}
	return b.String()
}

// DerivedTaskNumber is the TaskNumber of the occurrence-th row (from 1)
// of a file whose identity (see taskIdentity) is identity.
//
// Derivation: the first 8 bytes of SHA-256("<identity>\x1e<occurrence>")
// read as a big-endian unsigned integer, reduced modulo 9×10^17 and added
// to 10^17. The result always has 18 decimal digits (100000000000000000 to
// 999999999999999999) and fits a signed 64-bit long (max ≈ 9.22×10^18).
func DerivedTaskNumber(identity string, occurrence int) int64 {
	sum := sha256.Sum256([]byte(identity + "\x1e" + strconv.Itoa(occurrence)))
	v := binary.BigEndian.Uint64(sum[:8])
	return int64(v%900_000_000_000_000_000 + 100_000_000_000_000_000)
}

// taskNumberer derives the TaskNumbers of one pass over a file's rows, in
// row order. It keeps 12 bytes per distinct identity, not the rows.
type taskNumberer struct {
	from []string
	seen map[uint64]uint32
}

func newTaskNumberer(from []string) *taskNumberer {
	return &taskNumberer{from: from, seen: map[uint64]uint32{}}
}

// next returns the derived TaskNumber of the next row without one.
func (n *taskNumberer) next(rec mapping.Record) int64 {
	id := taskIdentity(rec, n.from)
	sum := sha256.Sum256([]byte(id))
	k := binary.BigEndian.Uint64(sum[:8])
	n.seen[k]++
	return DerivedTaskNumber(id, int(n.seen[k]))
}
