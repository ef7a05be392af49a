package ftp

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
	return f
}

func TestUploadKilledMidwayThenRetried(t *testing.T) {
	s := newFake(t)
	s.dropOn, s.dropAfter, s.dropTimes = "STOR", 1<<20, 1
	f := newFakeFs(t, s, nil)
	ctx := context.Background()
	data := bytes.Repeat([]byte("fieldbridge!"), 400_000) // ~4.8 MB

	// a stream that cannot be rewound: the write fails, nothing is left
	_, err := f.Write(ctx, "out/big.bin", io.MultiReader(bytes.NewReader(data)), transports.WriteOptions{Size: int64(len(data))})
	if err == nil {
		t.Fatal("write survived a dropped connection")
	}
	if !transports.IsTransient(err) {
		t.Errorf("err = %v; want it classified transient", err)
	}
	if got := s.names(); len(got) != 0 {
		t.Fatalf("left on the server after the failed upload: %v", got)
	}

	// with a seekable source, the transport retries and completes it
	s.mu.Lock()
	s.dropTimes = 1
	s.mu.Unlock()
	res, err := f.Write(ctx, "out/big.bin", bytes.NewReader(data), transports.WriteOptions{Size: int64(len(data))})
	if err != nil {
		t.Fatalf("retried write: %v", err)
	}
	if res.Size != int64(len(data)) {
		t.Errorf("size %d", res.Size)
	}
	if got := s.names(); strings.Join(got, ",") != "/home/data/out/big.bin" {
		t.Fatalf("server holds %v, want only the final file", got)
	}
	s.mu.Lock()
	same := bytes.Equal(s.files["/home/data/out/big.bin"], data)
	s.mu.Unlock()
	if !same {
		t.Error("stored content differs")
	}
}

func TestDownloadKilledMidway(t *testing.T) {
	s := newFake(t)
	data := bytes.Repeat([]byte("x"), 3<<20)
	s.files["/home/data/in.bin"] = data
	s.dirs["/home/data"] = true
	s.dropOn, s.dropAfter, s.dropTimes = "RETR", 1<<20, 1
	f := newFakeFs(t, s, nil)
	ctx := context.Background()
	rc, err := f.Open(ctx, "in.bin")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err == nil {
		t.Fatalf("a truncated download (%d of %d bytes) read without error", len(b), len(data))
	}
	if !errors.Is(err, transports.ErrIntegrity) && !transports.IsTransient(err) {
		t.Errorf("err = %v; want integrity or transient", err)
	}
	// copied to a local folder: the failed copy leaves nothing there
	s.mu.Lock()
	s.dropTimes = 1
	s.mu.Unlock()
	dir := t.TempDir()
	dst, err := local.New(ctx, local.Options{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := transports.Copy(ctx, dst, "in.bin", f, "in.bin", transports.WriteOptions{}); err == nil {
		t.Fatal("copy of a truncated download succeeded")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("local folder holds %d entries after the failed copy", len(ents))
	}
	if _, err := transports.Copy(ctx, dst, "in.bin", f, "in.bin", transports.WriteOptions{}); err != nil {
		t.Fatalf("copy retry: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "in.bin")); !bytes.Equal(b, data) {
		t.Errorf("copied %d bytes", len(b))
	}
	// the next attempt gets it all
	rc, err = f.Open(ctx, "in.bin")
	if err != nil {
		t.Fatal(err)
	}
	b, err = io.ReadAll(rc)
	if err != nil || !bytes.Equal(b, data) {
		t.Fatalf("second download: %d bytes, %v", len(b), err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestStalledServerTimesOut(t *testing.T) {
	for _, c := range []struct {
		name string
		set  func(s *fakeServer)
		op   func(ctx context.Context, f *Fs) error
	}{
		{"stalled LIST", func(s *fakeServer) { s.stallOn = "EPSV" }, func(ctx context.Context, f *Fs) error {
			_, err := f.List(ctx, "", false)
			return err
		}},
		{"stalled login", func(s *fakeServer) { s.stallOn = "PASS" }, func(ctx context.Context, f *Fs) error {
			_, err := f.Stat(ctx, "x")
			return err
		}},
		{"stalled download", func(s *fakeServer) { s.stallData = 1000 }, func(ctx context.Context, f *Fs) error {
			rc, err := f.Open(ctx, "in.bin")
			if err != nil {
				return err
			}
			defer rc.Close()
			_, err = io.Copy(io.Discard, rc)
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newFake(t)
			s.dirs["/home/data"] = true
			s.files["/home/data/in.bin"] = make([]byte, 1<<20)
			c.set(s)
			f := newFakeFs(t, s, func(o *Options) { o.Retries = -1 })
			start := time.Now()
			err := c.op(context.Background(), f)
			if err == nil {
				t.Fatal("no error from a stalled server")
			}
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("took %v; the I/O timeout is 500ms", d)
			}
			t.Logf("failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
		})
	}
}

func TestCancelDuringStall(t *testing.T) {
	s := newFake(t)
	s.stallOn = "EPSV"
	s.dirs["/home/data"] = true
	f := newFakeFs(t, s, func(o *Options) { o.IOTimeout = transports.Duration{Duration: time.Hour} })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.List(ctx, "", false)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancel took %v", d)
	}
}

func TestHostileListing(t *testing.T) {
	s := newFake(t)
	s.dirs["/home/data"] = true
	s.files["/home/data/ok.csv"] = []byte("1")
	s.extraListed = []string{"..", "../../etc/passwd", `a\b.csv`, "tab\there.csv", "bell\x07.csv"}
	f := newFakeFs(t, s, nil)
	list, err := f.List(context.Background(), "", false)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fi := range list {
		names = append(names, fi.Path)
	}
	if strings.Join(names, ",") != "ok.csv" {
		t.Errorf("List = %q, want only ok.csv", names)
	}
}

func TestLoginRefusedIsPermanent(t *testing.T) {
	s := newFake(t)
	f := newFakeFs(t, s, func(o *Options) { o.Password = "wrong" })
	start := time.Now()
	_, err := f.Stat(context.Background(), "x")
	if !errors.Is(err, transports.ErrPermanent) {
		t.Fatalf("err = %v, want permanent", err)
	}
	if time.Since(start) > time.Second {
		t.Error("a refused login was retried")
	}
}

func TestSessionReuseAndNoopCheck(t *testing.T) {
	s := newFake(t)
	s.dirs["/home/data"] = true
	f := newFakeFs(t, s, nil)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if _, err := f.List(ctx, "", false); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	n := len(s.conns)
	s.mu.Unlock()
	// 1 control connection + 5 data connections
	if n != 6 {
		t.Errorf("%d connections for 5 listings; want the control connection reused", n)
	}
	// a dead pooled session is noticed (NOOP) and replaced
	f.mu.Lock()
	for _, ss := range f.idle {
		ss.socks.closeAll()
		ss.lastUsed = time.Now().Add(-time.Minute)
	}
	f.mu.Unlock()
	if _, err := f.List(ctx, "", false); err != nil {
		t.Fatalf("after the pooled session died: %v", err)
	}
}
