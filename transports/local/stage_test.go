package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/fieldbridge/fieldbridge/transports"
)

// files lists the regular files under dir with their contents.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func names(m map[string]string) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

func stage(t *testing.T, f *Fs, p, content string, ow transports.Overwrite) transports.Staged {
	t.Helper()
	s, err := f.Stage(context.Background(), p, strings.NewReader(content), transports.WriteOptions{Overwrite: ow, Size: int64(len(content))})
	if err != nil {
		t.Fatalf("stage %s: %v", p, err)
	}
	return s
}

// A staged file is only under a hidden temporary name until Commit, and
// Abort removes it.
func TestStageNotVisibleBeforeCommit(t *testing.T) {
	f, dir := newFs(t)
	ctx := context.Background()
	a := stage(t, f, "sub/a.csv", "alpha", transports.Replace)
	b := stage(t, f, "b.csv", "beta", transports.Replace)
	got := files(t, dir)
	if len(got) != 2 {
		t.Fatalf("after Stage: %v", names(got))
	}
	for p := range got {
		if !strings.HasPrefix(filepath.Base(p), ".") || !strings.HasSuffix(p, ".part") {
			t.Fatalf("a staged file is visible as %q", p)
		}
	}
	if _, err := f.Stat(ctx, "sub/a.csv"); !errors.Is(err, transports.ErrNotExist) {
		t.Fatalf("final name exists before Commit: %v", err)
	}
	if a.Size != 5 || a.SHA256 == "" || a.Path != "sub/a.csv" {
		t.Fatalf("staged: %+v", a)
	}
	if err := f.Abort(ctx, []transports.Staged{a, b}); err != nil {
		t.Fatal(err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("after Abort: %v", names(got))
	}
}

// A process killed (SIGKILL) after staging files and before committing
// them leaves nothing under their final names.
func TestStageKilledBeforeCommit(t *testing.T) {
	if d := os.Getenv("LOCAL_STAGE_CHILD"); d != "" {
		f, err := New(context.Background(), Options{Root: d})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 20; i++ {
			content := strings.Repeat("x", 10_000*i)
			if _, err := f.Stage(context.Background(), fmt.Sprintf("d%d/f%d.bin", i%3, i), strings.NewReader(content), transports.WriteOptions{Size: -1}); err != nil {
				t.Fatal(err)
			}
		}
		fmt.Println("staged")
		select {}
	}
	_, dir := newFs(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestStageKilledBeforeCommit$", "-test.count=1")
	cmd.Env = append(os.Environ(), "LOCAL_STAGE_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if strings.TrimSpace(line) != "staged" {
		t.Fatalf("child said %q", line)
	}
	got := files(t, dir)
	if len(got) != 20 {
		t.Fatalf("%d files after the kill, want 20 temporary ones: %v", len(got), names(got))
	}
	for p := range got {
		if !strings.HasPrefix(filepath.Base(p), ".") {
			t.Fatalf("%s is under its final name without a Commit", p)
		}
	}
}

// Commit places every file with its own overwrite policy; KeepBoth picks
// free names, also for two files of one batch wanting the same name.
func TestCommitOverwritePolicies(t *testing.T) {
	f, dir := newFs(t)
	ctx := context.Background()
	for _, p := range []string{"keep.csv", "fail.csv", "repl.csv"} {
		if _, err := f.Write(ctx, p, strings.NewReader("old"), transports.WriteOptions{Size: -1}); err != nil {
			t.Fatal(err)
		}
	}
	batch := []transports.Staged{
		stage(t, f, "keep.csv", "new1", transports.KeepBoth),
		stage(t, f, "keep.csv", "new2", transports.KeepBoth),
		stage(t, f, "fail.csv", "new", transports.Fail),
		stage(t, f, "repl.csv", "new", transports.Replace),
		stage(t, f, "x/fresh.csv", "fresh", transports.Fail),
	}
	res, err := f.Commit(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(batch) {
		t.Fatalf("%d results for %d files", len(res), len(batch))
	}
	wantPath := []string{"keep (2).csv", "keep (3).csv", "", "repl.csv", "x/fresh.csv"}
	for i, r := range res {
		if i == 2 {
			if !errors.Is(r.Err, transports.ErrExist) {
				t.Fatalf("fail.csv: %v, want ErrExist", r.Err)
			}
			continue
		}
		if r.Err != nil || r.Path != wantPath[i] || r.Size != batch[i].Size || r.SHA256 != batch[i].SHA256 {
			t.Fatalf("result %d: %+v %v, want %s", i, r.WriteResult, r.Err, wantPath[i])
		}
	}
	got := files(t, dir)
	want := map[string]string{"keep.csv": "old", "keep (2).csv": "new1", "keep (3).csv": "new2",
		"fail.csv": "old", "repl.csv": "new", "x/fresh.csv": "fresh"}
	if names(got) != names(want) {
		t.Fatalf("target %v, want %v (no temporary files)", names(got), names(want))
	}
	for p, c := range want {
		if got[p] != c {
			t.Fatalf("%s = %q, want %q", p, got[p], c)
		}
	}
}

// A wrong size fails Stage and leaves nothing; a Staged value naming a
// path outside the root is refused by Commit.
func TestStageChecks(t *testing.T) {
	f, dir := newFs(t)
	ctx := context.Background()
	_, err := f.Stage(ctx, "a.csv", strings.NewReader("abc"), transports.WriteOptions{Size: 4})
	if !errors.Is(err, transports.ErrIntegrity) {
		t.Fatalf("stage with a wrong size: %v", err)
	}
	if _, err := f.Stage(ctx, "../a.csv", strings.NewReader("abc"), transports.WriteOptions{Size: -1}); !errors.Is(err, transports.ErrUnsafeName) {
		t.Fatalf("stage ../a.csv: %v", err)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("left behind: %v", names(got))
	}
	s := stage(t, f, "a.csv", "abc", transports.Replace)
	bad := s
	bad.Path = "../a.csv"
	if _, err := f.Commit(ctx, []transports.Staged{bad}); err == nil {
		t.Fatal("Commit took a path outside the root")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "a.csv")); err == nil {
		t.Fatal("a file was placed outside the root")
	}
}

// A large staged file (several write-back chunks) commits whole, every
// byte in its place.
func TestStageLarge(t *testing.T) {
	f, dir := newFs(t)
	content := string(randomContent(3*writebackChunk + 12345))
	s := stage(t, f, "big.bin", content, transports.Replace)
	res, err := f.Commit(context.Background(), []transports.Staged{s})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	b, err := os.ReadFile(filepath.Join(dir, "big.bin"))
	if err != nil || string(b) != content {
		t.Fatalf("big.bin: %d bytes of %d, equal %v, %v", len(b), len(content), string(b) == content, err)
	}
}

// randomContent returns n bytes that differ from block to block, so that
// a block written twice or out of order shows.
func randomContent(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{1, 2, 3}).Read(b)
	return b
}

// Where renameat2 is missing, placing falls back to link and unlink with
// the same outcome.
func TestPlaceInPortable(t *testing.T) {
	f, dir := newFs(t)
	ctx := context.Background()
	if _, err := f.Write(ctx, "a.csv", strings.NewReader("old"), transports.WriteOptions{Size: -1}); err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, tc := range []struct {
		ow   transports.Overwrite
		want string
		err  error
	}{{transports.KeepBoth, "a (2).csv", nil}, {transports.Fail, "", transports.ErrExist}, {transports.Replace, "a.csv", nil}} {
		s := stage(t, f, "a.csv", "new", tc.ow)
		got, err := placeIn(r, nil, s, f.rename)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Fatalf("%v: placed at %q, %v; want %q, %v", tc.ow, got, err, tc.want, tc.err)
		}
		if err != nil {
			_ = f.Abort(ctx, []transports.Staged{s})
		}
	}
	want := map[string]string{"a.csv": "new", "a (2).csv": "new"}
	if got := files(t, dir); names(got) != names(want) || got["a.csv"] != "new" {
		t.Fatalf("target %v", got)
	}
}
