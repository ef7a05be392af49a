package filelife

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestIgnored(t *testing.T) {
	for name, want := range map[string]bool{
		"tasks.xlsx": false, "~$tasks.xlsx": true, "a.tmp": true, "a.part": true, ".hidden": true,
		".tasks.xlsx.123.partial": true, "dir/~$x.xlsx": true, "report (2).csv": false, "x.crdownload": true,
	} {
		if got := Ignored(name, DefaultIgnore); got != want {
			t.Errorf("Ignored(%q) = %v", name, got)
		}
	}
	if Ignored("a.csv", []string{"[", "*.txt"}) {
		t.Error("malformed pattern matched")
	}
	if CheckPatterns([]string{"*.ok", "["}) == nil || CheckPatterns(DefaultIgnore) != nil {
		t.Error("CheckPatterns")
	}
}

func TestStability(t *testing.T) {
	s := &Stability{MinAge: 10 * time.Second}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := t0.Add(-time.Hour) // preserved mtime: old, says nothing
	steps := []struct {
		at   time.Duration
		size int64
		want bool
	}{
		{0, 100, false},
		{5 * time.Second, 200, false}, // still growing
		{14 * time.Second, 200, false},
		{15 * time.Second, 200, true}, // stable for 10 s
		{16 * time.Second, 200, true},
	}
	for i, st := range steps {
		if got := s.Observe("a", st.size, m, t0.Add(st.at)); got != st.want {
			t.Errorf("step %d: ready = %v", i, got)
		}
	}
	s.Sweep()
	s.Sweep() // "a" not observed since: forgotten
	if s.Observe("a", 200, m, t0.Add(20*time.Second)) {
		t.Error("forgotten file ready at once")
	}
	s.Forget("a")
	if (&Stability{}).Observe("b", 1, m, t0) != true {
		t.Error("MinAge 0 must be ready at once")
	}
}

func TestMarkerReady(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "tasks.xlsx")
	write(t, p, "x")
	if MarkerReady(p, ".done", false) {
		t.Fatal("ready without marker")
	}
	write(t, p+".done", "")
	write(t, filepath.Join(dir, "tasks.ok"), "")
	if !MarkerReady(p, ".done", false) || !MarkerReady(p, ".ok", true) || MarkerReady(p, ".ok", false) {
		t.Fatal("marker not seen")
	}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestScanClaimSettle(t *testing.T) {
	f := NewFolders(t.TempDir())
	if err := f.Ensure(); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(f.Inbox, "b.csv"), "bb")
	write(t, filepath.Join(f.Inbox, "~$b.csv"), "lock")
	write(t, filepath.Join(f.Inbox, "a.tmp"), "")
	old := time.Now().Add(-time.Hour)
	write(t, filepath.Join(f.Inbox, "a.csv"), "a")
	os.Chtimes(filepath.Join(f.Inbox, "a.csv"), old, old)
	es, err := Scan(f.Inbox, DefaultIgnore)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Name != "a.csv" || es[1].Name != "b.csv" || es[1].Size != 2 {
		t.Fatalf("Scan = %+v", es)
	}
	sum, n, err := HashFile(es[1].Path)
	if err != nil || n != 2 || sum != fmt.Sprintf("%x", sha256.Sum256([]byte("bb"))) {
		t.Fatalf("HashFile = %s %d %v", sum, n, err)
	}

	// A file of the same name already in processing/ is kept.
	write(t, filepath.Join(f.Processing, "a.csv"), "older")
	claimed, err := f.Claim("a.csv")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(claimed) != "a (2).csv" || read(t, claimed) != "a" || read(t, filepath.Join(f.Processing, "a.csv")) != "older" {
		t.Fatalf("claimed = %s", claimed)
	}
	if _, err := f.Claim("a.csv"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("second claim err = %v", err)
	}
	if _, err := f.Claim("../x"); err == nil {
		t.Fatal("claim of a path accepted")
	}

	// Settle twice under the same name: suffixes, reports beside.
	final, err := f.Settle(claimed, true, Report{Suffix: ".result.csv", Data: []byte("ok")})
	if err != nil {
		t.Fatal(err)
	}
	if final != filepath.Join(f.Done, "a (2).csv") || read(t, final+".result.csv") != "ok" {
		t.Fatalf("final = %s", final)
	}
	c2, _ := f.Claim("b.csv")
	os.Rename(c2, filepath.Join(f.Processing, "a (2).csv"))
	final2, err := f.Settle(filepath.Join(f.Processing, "a (2).csv"), true)
	if err != nil || final2 != filepath.Join(f.Done, "a (2) (2).csv") || read(t, final) != "a" {
		t.Fatalf("final2 = %s, %v", final2, err)
	}
	final3, err := f.Settle(filepath.Join(f.Processing, "a.csv"), false, Report{Suffix: ".errors.txt", Data: []byte("row 2: bad")})
	if err != nil || final3 != filepath.Join(f.Failed, "a.csv") || read(t, final3+".errors.txt") != "row 2: bad" {
		t.Fatalf("final3 = %s, %v", final3, err)
	}
	if left := list(t, f.Processing); len(left) != 0 {
		t.Fatalf("processing/ not empty: %v", left)
	}
}

func TestClaimRace(t *testing.T) {
	f := NewFolders(t.TempDir())
	f.Ensure()
	for round := 0; round < 20; round++ {
		write(t, filepath.Join(f.Inbox, "x.csv"), "x")
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := f.Claim("x.csv"); err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				} else if !errors.Is(err, fs.ErrNotExist) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("round %d: %d claimers won", round, wins)
		}
	}
	if n := len(list(t, f.Processing)); n != 20 {
		t.Fatalf("processing/ has %d files, want 20", n)
	}
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func list(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range des {
		out = append(out, d.Name())
	}
	sort.Strings(out)
	return out
}

func TestAtomicWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.csv")
	if err := WriteFile(p, []byte("v1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("v2"), 0o600); err != nil {
		t.Fatal(err)
	}
	if read(t, p) != "v2" {
		t.Fatal("not replaced")
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v", fi.Mode())
	}
	// Abort: the old content stays, no temporary is left.
	f, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("half"))
	if got := list(t, dir); len(got) != 2 { // out.csv and the temporary
		t.Fatalf("during write: %v", got)
	}
	if !Ignored(filepath.Base(f.Name()), DefaultIgnore) {
		t.Fatalf("temporary name %s is not ignored by scans", f.Name())
	}
	f.Abort()
	if read(t, p) != "v2" || len(list(t, dir)) != 1 {
		t.Fatalf("after abort: %v", list(t, dir))
	}
	// A size check that fails leaves nothing new.
	f, _ = Create(filepath.Join(dir, "new.csv"))
	f.ExpectSize(10)
	f.Write([]byte("short"))
	if err := f.Commit(); !errors.Is(err, ErrSize) {
		t.Fatalf("commit err = %v", err)
	}
	if got := list(t, dir); len(got) != 1 {
		t.Fatalf("after failed commit: %v", got)
	}
	if err := f.Commit(); err == nil {
		t.Fatal("second commit accepted")
	}
}

// TestInterruptedWriteLeavesNoPartialFile kills (SIGKILL) a process in the
// middle of an atomic write: the final name must not exist, the old
// content must be intact, and the only leftover is an ignored temporary.
func TestInterruptedWriteLeavesNoPartialFile(t *testing.T) {
	if dir := os.Getenv("FILELIFE_CHILD_DIR"); dir != "" {
		childWrite(dir)
		return
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "existing.csv"), "old content")
	cmd := exec.Command(os.Args[0], "-test.run=^TestInterruptedWriteLeavesNoPartialFile$")
	cmd.Env = append(os.Environ(), "FILELIFE_CHILD_DIR="+dir)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the child has written a good part of both files.
	deadline := time.Now().Add(20 * time.Second)
	for {
		var big int64
		for _, n := range list(t, dir) {
			if strings.HasSuffix(n, ".partial") {
				if fi, err := os.Stat(filepath.Join(dir, n)); err == nil && fi.Size() > big {
					big = fi.Size()
				}
			}
		}
		if big > 1<<20 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("child did not write\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Kill() // SIGKILL: no cleanup runs
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(dir, "new.csv")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("new.csv exists after an interrupted write (err %v)", err)
	}
	if read(t, filepath.Join(dir, "existing.csv")) != "old content" {
		t.Fatal("existing.csv damaged by an interrupted replacement")
	}
	es, err := Scan(dir, DefaultIgnore)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Name != "existing.csv" {
		t.Fatalf("a scan sees %+v; leftovers must be ignored", es)
	}
}

// childWrite writes two files slowly and forever (until killed).
func childWrite(dir string) {
	a, err := Create(filepath.Join(dir, "new.csv"))
	if err != nil {
		panic(err)
	}
	b, err := Create(filepath.Join(dir, "existing.csv"))
	if err != nil {
		panic(err)
	}
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	for {
		a.Write(chunk)
		b.Write(chunk)
		time.Sleep(time.Millisecond)
	}
}

func TestPendingRecoversInterruptedClaim(t *testing.T) {
	f := NewFolders(t.TempDir())
	f.Ensure()
	write(t, filepath.Join(f.Processing, "a.csv"), "a")
	// A claim interrupted between its two renames.
	write(t, filepath.Join(f.Processing, ".claim-0123456789abcdef-a.csv"), "a2")
	write(t, filepath.Join(f.Processing, ".x.csv.123.partial"), "junk")
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(filepath.Join(f.Processing, ".x.csv.123.partial"), old, old)
	es, err := f.Pending()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name)
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "a (2).csv,a.csv" {
		t.Fatalf("pending = %v", names)
	}
	if err := RemovePartials(f.Processing, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := list(t, f.Processing); strings.Join(got, ",") != "a (2).csv,a.csv" {
		t.Fatalf("after RemovePartials: %v", got)
	}
}
