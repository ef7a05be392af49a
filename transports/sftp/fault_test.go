package sftp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/transports"
	"github.com/fieldbridge/fieldbridge/transports/local"
)

func newFakeFs(t *testing.T, s *fakeServer, edit func(*Options)) *Fs {
	t.Helper()
	o := s.options()
	o.IOTimeout = transports.Duration{Duration: 500 * time.Millisecond}
	o.DialTimeout = transports.Duration{Duration: 2 * time.Second}
	if edit != nil {
		edit(&o)
	}
	f, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	f.retry.Base = 10 * time.Millisecond
	t.Cleanup(func() { f.Close() })
	if err := f.MkdirAll(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	return f
}

func serverNames(t *testing.T, f *Fs, dir string) []string {
	t.Helper()
	list, err := f.List(context.Background(), dir, true)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, fi := range list {
		out = append(out, fi.Path)
	}
	return out
}

func TestUploadKilledMidwayThenRetried(t *testing.T) {
	s := newFake(t)
	f := newFakeFs(t, s, nil)
	ctx := context.Background()
	data := bytes.Repeat([]byte("fieldbridge!"), 400_000)
	s.dropWriteAfter.Store(1 << 20)
	s.dropTimes.Store(1)
	// not rewindable: fails, and leaves nothing behind
	_, err := f.Write(ctx, "out/big.bin", io.MultiReader(bytes.NewReader(data)), transports.WriteOptions{Size: int64(len(data))})
	if err == nil || !transports.IsTransient(err) {
		t.Fatalf("err = %v, want a transient failure", err)
	}
	if got := serverNames(t, f, ""); strings.Join(got, ",") != "out" {
		t.Fatalf("server holds %v after the failed upload", got)
	}
	// rewindable: retried on a new connection and completed
	s.dropTimes.Store(1)
	res, err := f.Write(ctx, "out/big.bin", bytes.NewReader(data), transports.WriteOptions{Size: int64(len(data))})
	if err != nil || res.Size != int64(len(data)) {
		t.Fatalf("retried write: %+v, %v", res, err)
	}
	if got := serverNames(t, f, ""); strings.Join(got, ",") != "out,out/big.bin" {
		t.Fatalf("server holds %v", got)
	}
	rc, err := f.Open(ctx, "out/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, rc); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("read back %d bytes, %v", buf.Len(), err)
	}
	rc.Close()
}

func TestDownloadStalledFailsWithinTimeoutAndLeavesNoLocalFile(t *testing.T) {
	s := newFake(t)
	f := newFakeFs(t, s, func(o *Options) { o.Retries = -1 })
	ctx := context.Background()
	data := bytes.Repeat([]byte("y"), 2<<20)
	if _, err := f.Write(ctx, "in.bin", bytes.NewReader(data), transports.WriteOptions{Size: -1}); err != nil {
		t.Fatal(err)
	}
	s.stallReads.Store(true)
	dir := t.TempDir()
	dst, err := local.New(ctx, local.Options{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = transports.Copy(ctx, dst, "in.bin", f, "in.bin", transports.WriteOptions{})
	if err == nil {
		t.Fatal("copy from a stalled server succeeded")
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("took %v with a 500ms I/O timeout", d)
	}
	t.Logf("failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Errorf("local side holds %d entries, want none", len(ents))
	}
	// once the server answers again, a retry completes it
	s.stallReads.Store(false)
	if _, err := transports.Copy(ctx, dst, "in.bin", f, "in.bin", transports.WriteOptions{}); err != nil {
		t.Fatalf("retry: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "in.bin"))
	if !bytes.Equal(b, data) {
		t.Errorf("retry copied %d bytes", len(b))
	}
}

func TestStalledListTimesOut(t *testing.T) {
	s := newFake(t)
	f := newFakeFs(t, s, func(o *Options) { o.Retries = -1 })
	s.stallStat.Store(true)
	start := time.Now()
	_, err := f.List(context.Background(), "", false)
	if err == nil {
		t.Fatal("no error")
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("took %v", d)
	}
	// cancelling returns at once even with a long timeout
	f2 := newFakeFsNoMkdir(t, s, func(o *Options) { o.IOTimeout = transports.Duration{Duration: time.Hour} })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = f2.Stat(ctx, "x")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Errorf("cancel: %v after %v", err, time.Since(start))
	}
}

func newFakeFsNoMkdir(t *testing.T, s *fakeServer, edit func(*Options)) *Fs {
	o := s.options()
	edit(&o)
	f, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestHostileListing(t *testing.T) {
	s := newFake(t)
	f := newFakeFs(t, s, nil)
	ctx := context.Background()
	if _, err := f.Write(ctx, "ok.csv", strings.NewReader("1"), transports.WriteOptions{Size: -1}); err != nil {
		t.Fatal(err)
	}
	s.hostile = []string{"..", "../../etc/passwd", `a\b.csv`, "nl\nname.csv", "nul\x00.csv"}
	list, err := f.List(ctx, "", false)
	if err != nil {
		t.Fatal(err)
	}
	// (pkg/sftp's server sends "../../etc/passwd" as its base name
	// "passwd", which is harmless; the others must be dropped)
	var got []string
	for _, fi := range list {
		if transports.ValidName(fi.Path) != nil {
			t.Errorf("List returned the unsafe name %q", fi.Path)
		}
		got = append(got, fi.Path)
	}
	if s := strings.Join(got, ","); s != "ok.csv" && s != "ok.csv,passwd" {
		t.Errorf("List = %q", got)
	}
}

func TestWrongPasswordIsPermanent(t *testing.T) {
	s := newFake(t)
	o := s.options()
	o.Password = "nope"
	f, _ := New(context.Background(), o)
	defer f.Close()
	start := time.Now()
	_, err := f.Stat(context.Background(), "x")
	if !errors.Is(err, transports.ErrPermanent) || time.Since(start) > time.Second {
		t.Errorf("err = %v after %v; want permanent, not retried", err, time.Since(start))
	}
}

func TestReconnectAfterDrop(t *testing.T) {
	s := newFake(t)
	f := newFakeFs(t, s, nil)
	ctx := context.Background()
	if _, err := f.Write(ctx, "a.txt", strings.NewReader("a"), transports.WriteOptions{Size: -1}); err != nil {
		t.Fatal(err)
	}
	s.dropConns() // the server cuts every connection
	fi, err := f.Stat(ctx, "a.txt")
	if err != nil || fi.Size != 1 {
		t.Fatalf("after a dropped connection: %+v, %v; want a transparent reconnect", fi, err)
	}
}

func TestWithoutPosixRename(t *testing.T) {
	s := newFake(t)
	ctx := context.Background()
	f, err := New(ctx, s.options())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.noPosixRename = true
	if err := f.MkdirAll(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.client(ctx); c.posix {
		t.Fatal("posix-rename still in use")
	}
	for _, data := range []string{"one", "two!"} {
		if _, err := f.Write(ctx, "r.csv", strings.NewReader(data), transports.WriteOptions{Size: -1}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.Write(ctx, "r.csv", strings.NewReader("x"), transports.WriteOptions{Overwrite: transports.Fail, Size: -1}); !errors.Is(err, transports.ErrExist) {
		t.Errorf("fail policy: %v", err)
	}
	res, err := f.Write(ctx, "r.csv", strings.NewReader("3"), transports.WriteOptions{Overwrite: transports.KeepBoth, Size: -1})
	if err != nil || res.Path != "r (2).csv" {
		t.Errorf("keep both: %+v %v", res, err)
	}
	if err := f.Rename(ctx, "r (2).csv", "r.csv"); err != nil {
		t.Fatal(err)
	}
	rc, err := f.Open(ctx, "r.csv")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "3" {
		t.Errorf("content %q", b)
	}
	if got := serverNames(t, f, ""); strings.Join(got, ",") != "r.csv" {
		t.Errorf("server holds %v", got)
	}
}
