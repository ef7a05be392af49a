package results

import (
	"testing"
	"time"
)

func TestFileVersion(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 13, 3, 10, 0, time.UTC)
	minute := fileVersion{Size: 5, MTime: t0.Truncate(time.Minute), Prec: time.Minute}
	sec := fileVersion{Size: 5, MTime: t0, Prec: time.Second}
	for _, c := range []struct {
		name     string
		a, b     fileVersion
		may, cut bool // mayBe, same
	}{
		{"a minute listing holds its seconds", minute, sec, true, false},
		{"a later second in the same minute", sec, fileVersion{Size: 5, MTime: t0.Add(30 * time.Second), Prec: time.Second}, false, false},
		{"the same second", sec, sec, true, true},
		{"another size", sec, fileVersion{Size: 6, MTime: t0, Prec: time.Second}, false, false},
		{"the next minute", minute, fileVersion{Size: 5, MTime: t0.Add(time.Minute), Prec: time.Second}, false, false},
		{"exact and equal", fileVersion{Size: 1, MTime: t0}, fileVersion{Size: 1, MTime: t0}, true, true},
		{"exact, a nanosecond apart", fileVersion{Size: 1, MTime: t0}, fileVersion{Size: 1, MTime: t0.Add(1)}, false, false},
	} {
		if got := c.a.mayBe(c.b); got != c.may {
			t.Errorf("%s: mayBe = %v", c.name, got)
		}
		if got := c.b.mayBe(c.a); got != c.may {
			t.Errorf("%s: mayBe (swapped) = %v", c.name, got)
		}
		if got := c.a.same(c.b); got != c.cut {
			t.Errorf("%s: same = %v", c.name, got)
		}
	}
}

func TestParseVersion(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 13, 3, 10, 5, time.UTC)
	for _, v := range []fileVersion{{Size: 5, MTime: t0}, {Size: 0, MTime: t0.Truncate(time.Second), Prec: time.Second}, {Size: 9, MTime: t0.Truncate(time.Minute), Prec: time.Minute}} {
		got, err := parseVersion(v.String())
		if err != nil || got.Size != v.Size || !got.MTime.Equal(v.MTime) || got.Prec != v.Prec {
			t.Errorf("parseVersion(%q) = %+v, %v", v.String(), got, err)
		}
	}
	// recorded before precisions were kept: a whole minute is a minute listing
	if v, err := parseVersion("5:1733490180000000000"); err != nil || v.Prec != time.Minute {
		t.Errorf("old minute version = %+v, %v", v, err)
	}
	for _, bad := range []string{"", "5", "x:1", "5:y", "5:1:zz", "5:1:-1s", "1:2:3s:4"} {
		if _, err := parseVersion(bad); err == nil {
			t.Errorf("parseVersion(%q) accepted", bad)
		}
	}
}
