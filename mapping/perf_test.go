package mapping

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func TestUniqSet(t *testing.T) {
	var u uniqSet
	const n = 100000
	for i := 0; i < n; i++ {
		if _, dup := u.add(uint64(i)*0x9e3779b97f4a7c15, uint32(i+2)); dup {
			t.Fatalf("key %d reported as a duplicate on first add", i)
		}
	}
	for i := 0; i < n; i += 997 {
		first, dup := u.add(uint64(i)*0x9e3779b97f4a7c15, 999999)
		if !dup || first != uint32(i+2) {
			t.Fatalf("key %d: got (%d, %v), want (%d, true)", i, first, dup, i+2)
		}
	}
	if 4*u.n > 3*len(u.keys) {
		t.Errorf("table over 3/4 full: %d of %d", u.n, len(u.keys))
	}
	// Key 0 (i = 0 above) and key 1 share a slot marker; both are found.
	var z uniqSet
	z.add(0, 5)
	if first, dup := z.add(0, 6); !dup || first != 5 {
		t.Errorf("key 0: got (%d, %v)", first, dup)
	}
}

func TestCanonicalInt(t *testing.T) {
	for _, v := range []string{"0", "-0", "007", "-007", "123", "-45", "1e5", "12.0", "", "-", "+5",
		"123456789012345", "-123456789012345", "1234567890123456", "١٢"} {
		n, ok := canonicalInt(v)
		p, err := strconv.ParseInt(v, 10, 64)
		want := err == nil && strconv.FormatInt(p, 10) == v && len(strings.TrimPrefix(v, "-")) <= 15
		if ok != want || (ok && n != p) {
			t.Errorf("canonicalInt(%q) = %d, %v; want %d, %v", v, n, ok, p, want)
		}
	}
}

func TestParsePhoneKeepsInput(t *testing.T) {
	for in, want := range map[string]string{"11987654321": "11987654321", "(11) 98765-4321": "11987654321",
		"+55 11 98765\u00a04321": "+5511987654321", "1.1987654321E+10": "11987654321"} {
		got, err := ParsePhone(in)
		if err != nil || got != want {
			t.Errorf("ParsePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestReadAheadAcrossBatches maps a sheet of many read-ahead batches (their
// cell arenas are recycled): each row as read, each record, and every record
// kept until the end hold their own row's values.
func TestReadAheadAcrossBatches(t *testing.T) {
	const n = 5 * batchRows
	m, err := Parse("bench.toml", []byte(benchMapping))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(benchFile(t, n), m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var kept []Record
	for i := 0; r.Next(); i++ {
		if p := r.Problems(); len(p) > 0 {
			t.Fatalf("row %d: %v", r.Row().Num, p)
		}
		if got, want := r.Row().Cell(1).Value, fmt.Sprintf("Cliente %d da Silva", i); got != want {
			t.Fatalf("row %d: cell B = %q, want %q", r.Row().Num, got, want)
		}
		kept = append(kept, r.Record())
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if len(kept) != n {
		t.Fatalf("%d records, want %d", len(kept), n)
	}
	for i, rec := range kept {
		if got, want := rec.Fields["TaskNumber"].Text, strconv.Itoa(1000000+i); got != want || rec.Row != i+2 {
			t.Fatalf("record %d (row %d): TaskNumber %q, want %q", i, rec.Row, got, want)
		}
		if got, want := rec.Fields["CustomerName"].Text, fmt.Sprintf("Cliente %d da Silva", i); got != want {
			t.Fatalf("record %d: CustomerName %q, want %q", i, got, want)
		}
	}
}
