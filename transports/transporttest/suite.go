package transporttest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/transports"
)

// Target is one backend under test: a fresh, empty transport rooted at a
// folder whose local (server-side) path is Dir.
type Target struct {
	T transports.Transport
	// Dir is the local path of the transport's root folder, so a test can
	// create files "on the server" and check results directly.
	Dir string
	// SetsModTime says whether the backend sets the modification time on
	// Write (FTP servers may not).
	SetsModTime bool
}

// RunSuite runs every Transport operation against the target returned by
// newTarget (called once per sub-test). Each backend's tests call it, so
// local, FTP, FTPS and SFTP all pass the same behaviour checks.
func RunSuite(t *testing.T, newTarget func(t *testing.T) Target) {
	ctx := context.Background()
	read := func(t *testing.T, tr transports.Transport, p string) string {
		t.Helper()
		rc, err := tr.Open(ctx, p)
		if err != nil {
			t.Fatalf("Open(%q): %v", p, err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("read %q: %v", p, err)
		}
		if err := rc.Close(); err != nil {
			t.Fatalf("close %q: %v", p, err)
		}
		return string(b)
	}
	write := func(t *testing.T, tr transports.Transport, p, data string, ow transports.Overwrite) transports.WriteResult {
		t.Helper()
		res, err := tr.Write(ctx, p, strings.NewReader(data), transports.WriteOptions{Overwrite: ow, Size: int64(len(data))})
		if err != nil {
			t.Fatalf("Write(%q): %v", p, err)
		}
		return res
	}
	onDisk := func(t *testing.T, dir string) []string {
		t.Helper()
		var names []string
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != dir {
				r, _ := filepath.Rel(dir, p)
				if d.IsDir() {
					r += "/"
				}
				names = append(names, filepath.ToSlash(r))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(names)
		return names
	}

	t.Run("WriteReadStat", func(t *testing.T) {
		tg := newTarget(t)
		data := "id;name\n1;caixa ção\n"
		mt := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
		res, err := tg.T.Write(ctx, "in/sub/a.csv", strings.NewReader(data), transports.WriteOptions{Size: -1, ModTime: mt})
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(data))
		if res.Path != "in/sub/a.csv" || res.Size != int64(len(data)) || res.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("result = %+v", res)
		}
		if got := read(t, tg.T, "in/sub/a.csv"); got != data {
			t.Errorf("read back %q", got)
		}
		b, err := os.ReadFile(filepath.Join(tg.Dir, "in", "sub", "a.csv"))
		if err != nil || string(b) != data {
			t.Errorf("server side: %q, %v", b, err)
		}
		fi, err := tg.T.Stat(ctx, "in/sub/a.csv")
		if err != nil || fi.Size != int64(len(data)) || fi.IsDir {
			t.Errorf("Stat = %+v, %v", fi, err)
		}
		if tg.SetsModTime && !fi.ModTime.Equal(mt) {
			t.Errorf("mtime = %v, want %v", fi.ModTime, mt)
		}
		fi, err = tg.T.Stat(ctx, "in/sub")
		if err != nil || !fi.IsDir {
			t.Errorf("Stat(dir) = %+v, %v", fi, err)
		}
		if got := onDisk(t, tg.Dir); strings.Join(got, ",") != "in/,in/sub/,in/sub/a.csv" {
			t.Errorf("left on server: %v", got)
		}
	})

	t.Run("EmptyFile", func(t *testing.T) {
		tg := newTarget(t)
		write(t, tg.T, "empty.txt", "", transports.Replace)
		if got := read(t, tg.T, "empty.txt"); got != "" {
			t.Errorf("read %q", got)
		}
		fi, err := tg.T.Stat(ctx, "empty.txt")
		if err != nil || fi.Size != 0 {
			t.Errorf("Stat = %+v, %v", fi, err)
		}
	})

	t.Run("Overwrite", func(t *testing.T) {
		tg := newTarget(t)
		write(t, tg.T, "r.csv", "one", transports.Replace)
		write(t, tg.T, "r.csv", "two!", transports.Replace)
		if got := read(t, tg.T, "r.csv"); got != "two!" {
			t.Errorf("replace: %q", got)
		}
		_, err := tg.T.Write(ctx, "r.csv", strings.NewReader("three"), transports.WriteOptions{Overwrite: transports.Fail, Size: -1})
		if !errors.Is(err, transports.ErrExist) {
			t.Errorf("fail policy: %v, want ErrExist", err)
		}
		if got := read(t, tg.T, "r.csv"); got != "two!" {
			t.Errorf("after fail policy: %q", got)
		}
		res := write(t, tg.T, "r.csv", "four", transports.KeepBoth)
		if res.Path != "r (2).csv" {
			t.Errorf("keep both landed at %q", res.Path)
		}
		res = write(t, tg.T, "r.csv", "five", transports.KeepBoth)
		if res.Path != "r (3).csv" {
			t.Errorf("keep both landed at %q", res.Path)
		}
		if got := read(t, tg.T, "r (2).csv") + read(t, tg.T, "r.csv"); got != "fourtwo!" {
			t.Errorf("keep both contents %q", got)
		}
		if got := onDisk(t, tg.Dir); strings.Join(got, ",") != "r (2).csv,r (3).csv,r.csv" {
			t.Errorf("left on server: %v", got)
		}
	})

	t.Run("IntegrityMismatch", func(t *testing.T) {
		tg := newTarget(t)
		_, err := tg.T.Write(ctx, "d/x.csv", strings.NewReader("short"), transports.WriteOptions{Size: 99})
		if !errors.Is(err, transports.ErrIntegrity) {
			t.Fatalf("err = %v, want ErrIntegrity", err)
		}
		if _, err := tg.T.Stat(ctx, "d/x.csv"); !errors.Is(err, transports.ErrNotExist) {
			t.Errorf("Stat after failed write: %v", err)
		}
		for _, n := range onDisk(t, tg.Dir) {
			if n != "d/" {
				t.Errorf("left on server: %s", n)
			}
		}
	})

	t.Run("ReaderFailsMidway", func(t *testing.T) {
		tg := newTarget(t)
		write(t, tg.T, "keep.bin", "old", transports.Replace)
		boom := errors.New("source broke")
		r := io.MultiReader(bytes.NewReader(make([]byte, 3<<20)), errReader{boom})
		_, err := tg.T.Write(ctx, "keep.bin", r, transports.WriteOptions{Size: -1})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want the source's error", err)
		}
		if got := read(t, tg.T, "keep.bin"); got != "old" {
			t.Errorf("final name changed: %q", got)
		}
		if got := onDisk(t, tg.Dir); strings.Join(got, ",") != "keep.bin" {
			t.Errorf("left on server: %v", got)
		}
		// a retry completes it
		big := bytes.Repeat([]byte("0123456789abcdef"), 3<<16)
		res, err := tg.T.Write(ctx, "keep.bin", bytes.NewReader(big), transports.WriteOptions{Size: int64(len(big))})
		if err != nil || res.Size != int64(len(big)) {
			t.Fatalf("retry: %+v %v", res, err)
		}
		if got := read(t, tg.T, "keep.bin"); got != string(big) {
			t.Errorf("retry content differs (%d bytes)", len(got))
		}
	})

	t.Run("ListRenameRemoveMkdir", func(t *testing.T) {
		tg := newTarget(t)
		if err := tg.T.MkdirAll(ctx, "a/b/c"); err != nil {
			t.Fatal(err)
		}
		if err := tg.T.MkdirAll(ctx, "a/b"); err != nil {
			t.Errorf("MkdirAll existing: %v", err)
		}
		write(t, tg.T, "a/1.csv", "1", transports.Replace)
		write(t, tg.T, "a/b/2.csv", "22", transports.Replace)
		list, err := tg.T.List(ctx, "a", false)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(list); got != "1.csv:1,b/" {
			t.Errorf("List = %s", got)
		}
		list, err = tg.T.List(ctx, "", true)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(list); got != "a/,a/1.csv:1,a/b/,a/b/2.csv:2,a/b/c/" {
			t.Errorf("List recursive = %s", got)
		}
		if _, err := tg.T.List(ctx, "nope", false); !errors.Is(err, transports.ErrNotExist) {
			t.Errorf("List missing: %v", err)
		}
		if err := tg.T.Rename(ctx, "a/1.csv", "done/2026/1.csv"); err != nil {
			t.Fatal(err)
		}
		if got := read(t, tg.T, "done/2026/1.csv"); got != "1" {
			t.Errorf("renamed content %q", got)
		}
		if _, err := tg.T.Stat(ctx, "a/1.csv"); !errors.Is(err, transports.ErrNotExist) {
			t.Errorf("source after rename: %v", err)
		}
		if err := tg.T.Rename(ctx, "a/b/2.csv", "done/2026/1.csv"); err != nil {
			t.Fatalf("rename replacing: %v", err)
		}
		if got := read(t, tg.T, "done/2026/1.csv"); got != "22" {
			t.Errorf("replaced content %q", got)
		}
		if err := tg.T.Rename(ctx, "a/missing", "x"); !errors.Is(err, transports.ErrNotExist) {
			t.Errorf("rename missing: %v", err)
		}
		if err := tg.T.Remove(ctx, "done/2026/1.csv"); err != nil {
			t.Fatal(err)
		}
		if err := tg.T.Remove(ctx, "done/2026/1.csv"); !errors.Is(err, transports.ErrNotExist) {
			t.Errorf("remove missing: %v", err)
		}
		if _, err := tg.T.Open(ctx, "nope.csv"); !errors.Is(err, transports.ErrNotExist) {
			t.Errorf("Open missing: %v", err)
		}
		if got := onDisk(t, tg.Dir); strings.Join(got, ",") != "a/,a/b/,a/b/c/,done/,done/2026/" {
			t.Errorf("left on server: %v", got)
		}
	})

	t.Run("UnsafeNames", func(t *testing.T) {
		tg := newTarget(t)
		// hostile names that exist on the server are left out of listings
		for _, n := range []string{`back\slash.csv`, "ctl\x01.csv"} {
			if err := os.WriteFile(filepath.Join(tg.Dir, n), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(tg.Dir, "ok.csv"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		list, err := tg.T.List(ctx, "", false)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(list); got != "ok.csv:1" {
			t.Errorf("List = %s", got)
		}
		for _, p := range []string{"../escape.csv", "/etc/passwd", "a/../../x", `..\x`, "a\x00b", "a\nb", `back\slash.csv`} {
			if _, err := tg.T.Write(ctx, p, strings.NewReader("x"), transports.WriteOptions{Size: -1}); !errors.Is(err, transports.ErrUnsafeName) {
				t.Errorf("Write(%q) = %v", p, err)
			}
			if _, err := tg.T.Open(ctx, p); !errors.Is(err, transports.ErrUnsafeName) {
				t.Errorf("Open(%q) = %v", p, err)
			}
			if _, err := tg.T.Stat(ctx, p); !errors.Is(err, transports.ErrUnsafeName) {
				t.Errorf("Stat(%q) = %v", p, err)
			}
			if err := tg.T.Rename(ctx, "ok.csv", p); !errors.Is(err, transports.ErrUnsafeName) {
				t.Errorf("Rename(to %q) = %v", p, err)
			}
			if err := tg.T.Remove(ctx, p); !errors.Is(err, transports.ErrUnsafeName) {
				t.Errorf("Remove(%q) = %v", p, err)
			}
			if err := tg.T.MkdirAll(ctx, p); !errors.Is(err, transports.ErrUnsafeName) {
				t.Errorf("MkdirAll(%q) = %v", p, err)
			}
			if _, err := tg.T.List(ctx, p, false); !errors.Is(err, transports.ErrUnsafeName) {
				t.Errorf("List(%q) = %v", p, err)
			}
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(tg.Dir), "escape.csv")); err == nil {
			t.Errorf("a file escaped the root")
		}
	})

	t.Run("CancelledMidway", func(t *testing.T) {
		tg := newTarget(t)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MiB
		r := &cancelAfter{r: bytes.NewReader(payload), n: 2 << 20, cancel: cancel}
		_, err := tg.T.Write(cctx, "big/killed.bin", r, transports.WriteOptions{Size: int64(len(payload))})
		if err == nil {
			t.Fatal("a write cancelled midway succeeded")
		}
		for _, n := range onDisk(t, tg.Dir) {
			if n != "big/" {
				t.Errorf("left on server after the cancelled write: %s", n)
			}
		}
		// a retry completes it
		res, err := tg.T.Write(ctx, "big/killed.bin", bytes.NewReader(payload), transports.WriteOptions{Size: int64(len(payload))})
		if err != nil || res.Size != int64(len(payload)) {
			t.Fatalf("retry: %+v, %v", res, err)
		}
		b, err := os.ReadFile(filepath.Join(tg.Dir, "big", "killed.bin"))
		if err != nil || !bytes.Equal(b, payload) {
			t.Errorf("server side after retry: %d bytes, %v", len(b), err)
		}
		if got := onDisk(t, tg.Dir); strings.Join(got, ",") != "big/,big/killed.bin" {
			t.Errorf("left on server: %v", got)
		}
	})

	t.Run("Cancelled", func(t *testing.T) {
		tg := newTarget(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := tg.T.Write(cctx, "c.csv", strings.NewReader("x"), transports.WriteOptions{Size: -1}); err == nil {
			t.Errorf("Write with a cancelled context succeeded")
		}
		if _, err := tg.T.Stat(ctx, "c.csv"); !errors.Is(err, transports.ErrNotExist) {
			t.Errorf("Stat after cancelled write: %v", err)
		}
	})
}

// cancelAfter cancels a context once n bytes were read through it (the
// connection is cut midway through a transfer).
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
		time.Sleep(50 * time.Millisecond) // let the cancellation land
	}
	if len(p) > 64<<10 {
		p = p[:64<<10]
	}
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func names(list []transports.FileInfo) string {
	var s []string
	for _, fi := range list {
		if fi.IsDir {
			s = append(s, fi.Path+"/")
		} else {
			s = append(s, fi.Path+":"+itoa(fi.Size))
		}
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
