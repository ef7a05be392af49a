package filelife

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSettleReportFromFile(t *testing.T) {
	inbox := t.TempDir()
	f := NewFolders(inbox)
	if err := f.Ensure(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(inbox, "a.xlsx"), []byte("sheet"), 0o644)
	claimed, err := f.Claim("a.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	rep := filepath.Join(t.TempDir(), "r.csv")
	os.WriteFile(rep, []byte("row;status\n"), 0o644)
	final, err := f.Settle(claimed, true, Report{Suffix: ".report.csv", From: rep})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(final + ".report.csv")
	if err != nil || string(b) != "row;status\n" {
		t.Fatalf("%q %v", b, err)
	}
	if _, err := f.Settle(filepath.Join(f.Processing, "missing"), true, Report{Suffix: ".r", From: rep}); err == nil {
		t.Fatal("settled a missing file")
	}
}
