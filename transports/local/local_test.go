package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/fieldbridge/fieldbridge/transports"
	"github.com/fieldbridge/fieldbridge/transports/transporttest"
)

func newFs(t *testing.T) (*Fs, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := New(context.Background(), Options{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, dir
}

func TestSuite(t *testing.T) {
	transporttest.RunSuite(t, func(t *testing.T) transporttest.Target {
		f, dir := newFs(t)
		return transporttest.Target{T: f, Dir: dir, SetsModTime: true}
	})
}

func TestSymlinkEscapeRefused(t *testing.T) {
	f, dir := newFs(t)
	outside := filepath.Join(filepath.Dir(dir), "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600)
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := f.Open(ctx, "link/secret"); !errors.Is(err, transports.ErrUnsafeName) {
		t.Errorf("Open through link = %v, want ErrUnsafeName", err)
	}
	if _, err := f.Write(ctx, "link/new", strings.NewReader("x"), transports.WriteOptions{Size: -1}); !errors.Is(err, transports.ErrUnsafeName) {
		t.Errorf("Write through link = %v, want ErrUnsafeName", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "new")); err == nil {
		t.Error("file written outside the root")
	}
	list, err := f.List(ctx, "", true)
	if err != nil || len(list) != 0 {
		t.Errorf("List = %v, %v; want the escaping link left out", list, err)
	}
}

func TestRenameAcrossFileSystems(t *testing.T) {
	f, dir := newFs(t)
	ctx := context.Background()
	exdev := 0
	f.rename = func(r *os.Root, a, b string) error {
		if strings.HasPrefix(b, "other/") && !strings.HasPrefix(filepath.Base(a), ".") {
			exdev++
			return &os.LinkError{Op: "rename", Old: a, New: b, Err: syscall.EXDEV}
		}
		return r.Rename(a, b)
	}
	data := strings.Repeat("x", 3<<20)
	if _, err := f.Write(ctx, "in/a.csv", strings.NewReader(data), transports.WriteOptions{Size: -1}); err != nil {
		t.Fatal(err)
	}
	if err := f.Rename(ctx, "in/a.csv", "other/a.csv"); err != nil {
		t.Fatal(err)
	}
	if exdev != 1 {
		t.Errorf("EXDEV path taken %d times", exdev)
	}
	b, err := os.ReadFile(filepath.Join(dir, "other", "a.csv"))
	if err != nil || string(b) != data {
		t.Errorf("moved file: %d bytes, %v", len(b), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "in", "a.csv")); !os.IsNotExist(err) {
		t.Errorf("source still there: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "other"))
	if len(ents) != 1 {
		t.Errorf("other/ holds %d entries, want 1", len(ents))
	}
}

func TestCheck(t *testing.T) {
	if err := (Options{}).Check(); err == nil {
		t.Error("empty root accepted")
	}
	if _, err := New(context.Background(), Options{Root: "/nonexistent/never"}); err != nil {
		t.Errorf("New did I/O or refused a missing root: %v", err)
	}
}

func TestRootRecreated(t *testing.T) {
	f, dir := newFs(t)
	ctx := context.Background()
	if _, err := f.Write(ctx, "a.txt", strings.NewReader("1"), transports.WriteOptions{Size: -1}); err != nil {
		t.Fatal(err)
	}
	// the folder disappears and comes back (a share remounted)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := f.List(ctx, "", false); !errors.Is(err, transports.ErrNotExist) {
		t.Errorf("List of a vanished root: %v", err)
	}
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "b.txt"), []byte("22"), 0o644)
	fi, err := f.Stat(ctx, "b.txt")
	if err != nil || fi.Size != 2 {
		t.Errorf("Stat after the root came back: %+v, %v", fi, err)
	}
}
