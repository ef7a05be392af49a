package ftp

import (
	"testing"
	"time"
)

func TestParseMLSD(t *testing.T) {
	raw := "type=cdir;sizd=4096;modify=20261206145442;UNIX.mode=0775; .\r\n" +
		"type=pdir;modify=20261206145442; ..\r\n" +
		"type=file;size=5120;modify=20261206133005;UNIX.mode=0664; form one.xml\r\n" +
		"Type=File;Size=7;Modify=20261206133005.250; frac.csv\r\n" +
		"type=OS.unix=symlink;size=21;modify=20261206133005; link.csv\r\n" +
		"type=OS.unix=slink:/etc/passwd;modify=20261206133005; other.csv\r\n" +
		"type=dir;modify=20261206133005; sub\r\n" +
		"250 not a fact line\r\n" +
		"type=file;size=1; \r\n" + // no name
		"type=file;size=3;modify=garbage; bad time.csv\n"
	got := parseMLSD([]byte(raw))
	want := []mlsdEntry{
		{name: "form one.xml", typ: "file", size: 5120, time: time.Date(2026, 12, 6, 13, 30, 5, 0, time.UTC), prec: time.Second},
		{name: "frac.csv", typ: "file", size: 7, time: time.Date(2026, 12, 6, 13, 30, 5, 250e6, time.UTC), prec: time.Millisecond},
		{name: "link.csv", typ: "os.unix=symlink", size: 21, time: time.Date(2026, 12, 6, 13, 30, 5, 0, time.UTC), prec: time.Second},
		{name: "other.csv", typ: "os.unix=slink:/etc/passwd", time: time.Date(2026, 12, 6, 13, 30, 5, 0, time.UTC), prec: time.Second},
		{name: "sub", typ: "dir", time: time.Date(2026, 12, 6, 13, 30, 5, 0, time.UTC), prec: time.Second},
		{name: "bad time.csv", typ: "file", size: 3, prec: time.Second},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, e := range got {
		if reg := e.regular(); reg != (e.typ == "file" || e.typ == "dir") {
			t.Errorf("%s: regular = %v", e.name, reg)
		}
	}
}

func TestListPrecision(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		want time.Duration
	}{
		{time.Date(2026, 12, 6, 13, 30, 0, 0, time.UTC), time.Minute},
		{time.Date(2025, 11, 30, 0, 0, 0, 0, time.UTC), 24 * time.Hour}, // "Nov 30  2025"
	} {
		if got := listPrecision(c.t); got != c.want {
			t.Errorf("listPrecision(%v) = %v, want %v", c.t, got, c.want)
		}
	}
}

func FuzzParseMLSD(f *testing.F) {
	f.Add([]byte("type=file;size=5120;modify=20261206133005; a.xml\r\n"))
	f.Add([]byte("type=OS.unix=symlink;modify=20261206133005.1234567891; l\n;; x\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, e := range parseMLSD(raw) {
			if e.name == "" || e.size < 0 || e.prec <= 0 || e.prec > time.Second {
				t.Fatalf("bad entry %+v from %q", e, raw)
			}
			if e.typ == "cdir" || e.typ == "pdir" {
				t.Fatalf("folder itself listed: %+v", e)
			}
		}
	})
}
