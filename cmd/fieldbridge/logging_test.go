package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fieldbridge/fieldbridge/bridge"
)

func TestDaemonLogJournal(t *testing.T) {
	tests := []struct {
		format  string
		journal bool
		want    []string
		wantNot string
	}{
		{"text", true, []string{"<6>level=INFO msg=started job=a\n", "<4>level=WARN msg=slow job=a\n", "<3>level=ERROR msg=down job=a\n"}, "time="},
		{"json", true, []string{`<6>{"level":"INFO","msg":"started","job":"a"}`, `<3>{"level":"ERROR"`}, `"time"`},
		{"text", false, []string{"time=", "level=INFO msg=started job=a\n"}, "<6>"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		d, err := newDaemonLog(&out, bridge.LogConfig{Level: "info", Format: tt.format}, tt.journal, nil)
		if err != nil {
			t.Fatal(err)
		}
		l := d.With("job", "a")
		l.Info("started")
		l.Warn("slow")
		l.Error("down")
		l.Debug("hidden")
		got := out.String()
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s journal=%v: output lacks %q:\n%s", tt.format, tt.journal, w, got)
			}
		}
		if strings.Contains(got, tt.wantNot) || strings.Contains(got, "hidden") {
			t.Errorf("%s journal=%v: output has %q or a debug line:\n%s", tt.format, tt.journal, tt.wantNot, got)
		}
	}
}

// TestDaemonLogReopen: after logrotate renames the file, Reopen makes the
// daemon write a new file under the configured name.
func TestDaemonLogReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log", "fieldbridge.log")
	var stderr bytes.Buffer
	d, err := newDaemonLog(&stderr, bridge.LogConfig{Level: "info", Format: "text", File: path}, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Info("before rotation")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	d.Info("still the old file")
	if err := d.Reopen(); err != nil {
		t.Fatal(err)
	}
	d.Info("after rotation")
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	old, cur := read(path+".1"), read(path)
	if !strings.Contains(old, "before rotation") || !strings.Contains(old, "still the old file") || strings.Contains(old, "after rotation") {
		t.Errorf("rotated file:\n%s", old)
	}
	if !strings.Contains(cur, "after rotation") || strings.Contains(cur, "before") || !strings.Contains(cur, "time=") {
		t.Errorf("new file:\n%s", cur)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr got %q with a log file set", stderr.String())
	}
}
