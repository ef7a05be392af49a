package transports

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

func TestValidName(t *testing.T) {
	bad := []string{"", ".", "..", "a/b", `a\b`, "a\x00b", "a\nb", "a\rb", "\x7f", "a\u0085b", "\xff"}
	for _, n := range bad {
		if err := ValidName(n); !errors.Is(err, ErrUnsafeName) {
			t.Errorf("ValidName(%q) = %v, want ErrUnsafeName", n, err)
		}
	}
	for _, n := range []string{"a.csv", "relatório (2).xlsx", "..a", "a..", "~$x.xlsx", " x "} {
		if err := ValidName(n); err != nil {
			t.Errorf("ValidName(%q) = %v", n, err)
		}
	}
}

func TestCleanPathAndSafeJoin(t *testing.T) {
	for in, want := range map[string]string{"": "", ".": "", "a": "a", "a//b/./c": "a/b/c", "./x": "x"} {
		got, err := CleanPath(in)
		if err != nil || got != want {
			t.Errorf("CleanPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"/etc/passwd", "../x", "a/../../x", "a/..", `..\x`, "a/\x00", "a/b\tc"} {
		if _, err := CleanPath(in); !errors.Is(err, ErrUnsafeName) {
			t.Errorf("CleanPath(%q) = %v, want ErrUnsafeName", in, err)
		}
		if _, err := SafeJoin("/srv/in", in); !errors.Is(err, ErrUnsafeName) {
			t.Errorf("SafeJoin(%q) = %v, want ErrUnsafeName", in, err)
		}
	}
	if got, err := SafeJoin("/srv/in/", "a/b.csv"); err != nil || got != "/srv/in/a/b.csv" {
		t.Errorf("SafeJoin = %q, %v", got, err)
	}
}

func TestKeepBothName(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"report.csv", 1, "report.csv"},
		{"report.csv", 2, "report (2).csv"},
		{"d/e/report", 3, "d/e/report (3)"},
		{".profile", 2, ".profile (2)"},
		{"a.tar.gz", 2, "a.tar (2).gz"},
	} {
		if got := KeepBothName(c.in, c.n); got != c.want {
			t.Errorf("KeepBothName(%q,%d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
	if tn := TempName("d/x.csv", "abc"); tn != "d/.x.csv.abc.part" || !IsTempName(".x.csv.abc.part") {
		t.Errorf("TempName = %q", tn)
	}
}

func TestIsTransient(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&textproto.Error{Code: 421, Msg: "bye"}, true},
		{&textproto.Error{Code: 425, Msg: "no data"}, true},
		{fmt.Errorf("stor: %w", &textproto.Error{Code: 426, Msg: "aborted"}), true},
		{&textproto.Error{Code: 550, Msg: "no such file"}, false},
		{&textproto.Error{Code: 530, Msg: "login"}, false},
		{syscall.ECONNRESET, true},
		{fmt.Errorf("x: %w", io.ErrUnexpectedEOF), true},
		{Permanent(syscall.ECONNRESET), false},
		{fmt.Errorf("x: %w", ErrNotExist), false},
		{ErrUnsafeName, false},
		{context.Canceled, false},
		{errors.New("something odd"), false},
		{Transient(errors.New("ssh: disconnected")), true},
	} {
		if got := IsTransient(c.err); got != c.want {
			t.Errorf("IsTransient(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestRetry(t *testing.T) {
	p := Retry{Attempts: 4, Base: time.Millisecond, Max: 4 * time.Millisecond}
	n := 0
	err := p.Do(context.Background(), func(context.Context) error {
		n++
		if n < 3 {
			return syscall.ECONNRESET
		}
		return nil
	})
	if err != nil || n != 3 {
		t.Fatalf("transient: err=%v n=%d, want nil 3", err, n)
	}
	n = 0
	err = p.Do(context.Background(), func(context.Context) error { n++; return &textproto.Error{Code: 550, Msg: "no"} })
	if err == nil || n != 1 {
		t.Fatalf("permanent: err=%v n=%d, want error after 1", err, n)
	}
	n = 0
	err = p.Do(context.Background(), func(context.Context) error { n++; return syscall.ECONNRESET })
	if !errors.Is(err, syscall.ECONNRESET) || n != 4 {
		t.Fatalf("exhausted: err=%v n=%d", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n = 0
	start := time.Now()
	err = Retry{Attempts: 10, Base: time.Hour}.Do(ctx, func(context.Context) error {
		n++
		time.AfterFunc(10*time.Millisecond, cancel)
		return syscall.ECONNRESET
	})
	if !errors.Is(err, context.Canceled) || n != 1 || time.Since(start) > 5*time.Second {
		t.Fatalf("cancel: err=%v n=%d", err, n)
	}
}

func TestHashingReaderWriteTo(t *testing.T) {
	data := make([]byte, 5*BufferSize+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	want := sha256.Sum256(data)
	for _, c := range []struct {
		name string
		src  func() io.Reader
	}{
		{"in memory", func() io.Reader { return bytes.NewReader(data) }},
		{"in memory, with a context", func() io.Reader { return CtxReader(t.Context(), bytes.NewReader(data)) }},
		{"streamed", func() io.Reader { return struct{ io.Reader }{bytes.NewReader(data)} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := NewHashingReader(c.src())
			var out bytes.Buffer
			n, err := h.WriteTo(&out)
			if err != nil || n != int64(len(data)) || h.N() != n || !bytes.Equal(out.Bytes(), data) || h.Sum() != hex.EncodeToString(want[:]) {
				t.Fatalf("WriteTo: n=%d N=%d err=%v sum ok=%v", n, h.N(), err, h.Sum() == hex.EncodeToString(want[:]))
			}
		})
	}
	boom := errors.New("boom")
	h := NewHashingReader(io.MultiReader(bytes.NewReader(data[:BufferSize]), errReader{boom}))
	if _, err := h.WriteTo(io.Discard); !errors.Is(err, boom) {
		t.Fatalf("reader error: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := NewHashingReader(CtxReader(ctx, bytes.NewReader(data))).WriteTo(io.Discard); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
	// A writer that takes less than it is given: the bytes it took are the
	// ones counted and hashed.
	h = NewHashingReader(bytes.NewReader(data))
	if n, err := h.WriteTo(shortWriter{}); !errors.Is(err, io.ErrShortWrite) || n != 10 || h.N() != 10 {
		t.Fatalf("short write: n=%d N=%d err=%v", n, h.N(), err)
	}
	if ten := sha256.Sum256(data[:10]); h.Sum() != hex.EncodeToString(ten[:]) {
		t.Fatal("short write: the hash is not of the bytes written")
	}
}

// A streamed copy whose writer fails stops reading and returns the
// writer's error; what it counts and hashes is what was written.
func TestHashingReaderWriteToFailingWriter(t *testing.T) {
	data := make([]byte, 8*BufferSize)
	boom := errors.New("disk full")
	src := &countingReader{r: bytes.NewReader(data)}
	h := NewHashingReader(src)
	w := &failAfter{n: 2, err: boom}
	n, err := h.WriteTo(w)
	if !errors.Is(err, boom) {
		t.Fatalf("WriteTo = %d, %v; want the writer's error", n, err)
	}
	if n != w.took || h.N() != n {
		t.Errorf("written %d, counted %d, the writer took %d", n, h.N(), w.took)
	}
	if want := sha256.Sum256(data[:n]); h.Sum() != hex.EncodeToString(want[:]) {
		t.Error("the hash is not of the bytes written")
	}
	if src.n == int64(len(data)) {
		t.Errorf("the whole source was read (%d bytes) after the writer failed", src.n)
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// failAfter takes n writes, then fails every one.
type failAfter struct {
	n    int
	took int64
	err  error
}

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	f.n--
	f.took += int64(len(p))
	return len(p), nil
}

type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return min(len(p), 10), nil }

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestTempNameFitsLongNames(t *testing.T) {
	for _, n := range []int{1, 200, 236, 237, 250, 255} {
		name := strings.Repeat("é", n/2) + strings.Repeat("x", n%2) // two bytes a character, cut at a boundary
		tmp := TempName("dir/"+name, "0123456789ab")
		base := strings.TrimPrefix(tmp, "dir/")
		if len(base) > MaxNameBytes || !utf8.ValidString(base) {
			t.Errorf("%d bytes: temporary name of %d bytes (%q)", n, len(base), base)
		}
		match, ok := TempFor(base)
		if !ok || !match(name) {
			t.Errorf("%d bytes: TempFor does not recognise it", n)
		}
		if ok && match(name+"-other") && len(name) < 236 {
			t.Errorf("%d bytes: an uncut temporary name matches another name", n)
		}
	}
	if got := KeepBothName("d/"+strings.Repeat("a", 251)+".xml", 2); len(got)-2 > MaxNameBytes || !strings.HasSuffix(got, " (2).xml") {
		t.Errorf("KeepBothName of a long name = %q (%d bytes)", got, len(got)-2)
	}
}

// TestCopyBufferedRecyclesItsBuffer: copying many small files does not
// allocate a BufferSize buffer for each (it used to cost a third of the
// results pickup's CPU time).
func TestCopyBufferedRecyclesItsBuffer(t *testing.T) {
	if raceEnabled {
		t.Skip("under the race detector sync.Pool drops buffers at random; run without -race")
	}
	data := bytes.Repeat([]byte("x"), 100<<10)
	var out bytes.Buffer
	out.Grow(len(data))
	copyOnce := func() {
		out.Reset()
		if n, err := CopyBuffered(&out, struct{ io.Reader }{bytes.NewReader(data)}); err != nil || n != int64(len(data)) {
			t.Fatalf("CopyBuffered = %d, %v", n, err)
		}
	}
	copyOnce()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const n = 100
	for range n {
		copyOnce()
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > n*BufferSize/10 {
		t.Errorf("%d copies allocated %d bytes: the buffer is not recycled", n, got)
	}
}
