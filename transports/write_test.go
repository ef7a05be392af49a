package transports

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestPlace(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name     string
		ow       Overwrite
		existing []string
		createFn error // returned by create for a free name
		want     string
		wantErr  error
		wantMsg  string
	}{
		{name: "replace", ow: Replace, existing: []string{"d/a.csv"}, want: "d/a.csv"},
		{name: "fail free", ow: Fail, want: "d/a.csv"},
		{name: "fail taken", ow: Fail, existing: []string{"d/a.csv"}, wantErr: ErrExist},
		{name: "keep both", ow: KeepBoth, existing: []string{"d/a.csv", "d/a (2).csv"}, want: "d/a (3).csv"},
		{name: "create error", ow: KeepBoth, createFn: errBoom, wantErr: errBoom},
		{name: "unknown policy", ow: Overwrite(7), wantMsg: "unknown overwrite policy 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			taken := map[string]bool{}
			for _, e := range tt.existing {
				taken[e] = true
			}
			replaced := false
			got, err := Place("d/a.csv", tt.ow,
				func() error { replaced = true; return nil },
				func(cand string) error {
					if taken[cand] {
						return fmt.Errorf("%s: %w", cand, ErrExist)
					}
					return tt.createFn
				})
			if tt.wantMsg != "" {
				if err == nil || err.Error() != tt.wantMsg {
					t.Fatalf("err = %v, want %q", err, tt.wantMsg)
				}
				return
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || got != "" {
					t.Fatalf("Place = %q, %v; want error %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Place = %q, %v; want %q", got, err, tt.want)
			}
			if replaced != (tt.ow == Replace) {
				t.Errorf("replace called: %v", replaced)
			}
		})
	}
}

// memServer is an in-memory server behind UploadOps.
type memServer struct {
	files    map[string][]byte
	times    map[string]time.Time
	failStor error          // Upload fails with it (after storing half)
	lost     bool           // Lost reports true
	short    int            // the server keeps this many bytes fewer
	removed  []string       // RemoveTemp calls
	rmErr    error          // RemoveTemp fails with it
	storHook func(p string) // called at Upload
}

func newMem() *memServer {
	return &memServer{files: map[string][]byte{}, times: map[string]time.Time{}}
}

func (m *memServer) ops() UploadOps {
	return UploadOps{
		Base:     "/base",
		MkdirAll: func(string) error { return nil },
		Upload: func(_ context.Context, tmp string, r io.Reader) error {
			if m.storHook != nil {
				m.storHook(tmp)
			}
			b, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			if m.failStor != nil {
				m.files[tmp] = b[:len(b)/2]
				return m.failStor
			}
			m.files[tmp] = b[:len(b)-m.short]
			return nil
		},
		Size: func(p string) (int64, error) {
			b, ok := m.files[p]
			if !ok {
				return 0, ErrNotExist
			}
			return int64(len(b)), nil
		},
		SetModTime: func(p string, t time.Time) { m.times[p] = t },
		Replace:    func(tmp, final string) error { m.files[final] = m.files[tmp]; delete(m.files, tmp); return nil },
		Exists:     func(p string) (bool, error) { _, ok := m.files[p]; return ok, nil },
		Rename:     func(tmp, target string) error { m.files[target] = m.files[tmp]; delete(m.files, tmp); return nil },
		RemoveTemp: func(tmp string) error {
			m.removed = append(m.removed, tmp)
			if m.rmErr != nil {
				return m.rmErr
			}
			delete(m.files, tmp)
			return nil
		},
		Lost: func(error) bool { return m.lost },
	}
}

func (m *memServer) names() []string {
	var out []string
	for n := range m.files {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func TestAtomicWrite(t *testing.T) {
	ctx := context.Background()
	mt := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

	t.Run("replace, keep both, fail", func(t *testing.T) {
		m := newMem()
		var tmpSeen string
		m.storHook = func(p string) { tmpSeen = p }
		res, left, err := AtomicWrite(ctx, "in/a.csv", strings.NewReader("one"), WriteOptions{Size: 3, ModTime: mt}, m.ops())
		if err != nil || left != "" || res.Path != "in/a.csv" || res.Size != 3 || res.SHA256 == "" {
			t.Fatalf("AtomicWrite = %+v, %q, %v", res, left, err)
		}
		if d, b := path.Split(tmpSeen); d != "/base/in/" || !IsTempName(b) {
			t.Errorf("temporary name %q: not a hidden name beside the target", tmpSeen)
		}
		if !m.times[tmpSeen].Equal(mt) {
			t.Errorf("mod time not set on the temporary file before placing: %v", m.times)
		}
		res, _, err = AtomicWrite(ctx, "in/a.csv", strings.NewReader("two"), WriteOptions{Size: -1, Overwrite: KeepBoth}, m.ops())
		if err != nil || res.Path != "in/a (2).csv" {
			t.Fatalf("keep both: %+v, %v", res, err)
		}
		_, left, err = AtomicWrite(ctx, "in/a.csv", strings.NewReader("three"), WriteOptions{Size: -1, Overwrite: Fail}, m.ops())
		if !errors.Is(err, ErrExist) || left != "" {
			t.Fatalf("fail policy: %q, %v; want ErrExist", left, err)
		}
		if got := strings.Join(m.names(), ","); got != "/base/in/a (2).csv,/base/in/a.csv" {
			t.Errorf("server holds %s", got)
		}
		if string(m.files["/base/in/a.csv"]) != "one" {
			t.Errorf("a.csv = %q", m.files["/base/in/a.csv"])
		}
	})

	t.Run("announced size differs: permanent, nothing left", func(t *testing.T) {
		m := newMem()
		_, left, err := AtomicWrite(ctx, "a.csv", strings.NewReader("four"), WriteOptions{Size: 9}, m.ops())
		if !errors.Is(err, ErrIntegrity) || !errors.Is(err, ErrPermanent) || left != "" {
			t.Fatalf("%q, %v; want a permanent ErrIntegrity", left, err)
		}
		if len(m.files) != 0 || len(m.removed) != 1 {
			t.Errorf("server holds %v, removed %v", m.names(), m.removed)
		}
	})

	t.Run("server size differs: transient, nothing left", func(t *testing.T) {
		m := newMem()
		m.short = 1
		_, _, err := AtomicWrite(ctx, "a.csv", strings.NewReader("four"), WriteOptions{Size: -1}, m.ops())
		if !errors.Is(err, ErrIntegrity) || !IsTransient(err) {
			t.Fatalf("%v; want a transient ErrIntegrity", err)
		}
		if len(m.files) != 0 {
			t.Errorf("server holds %v", m.names())
		}
	})

	t.Run("connection lost: leftover for a fresh connection", func(t *testing.T) {
		m := newMem()
		m.failStor, m.lost = Transient(io.ErrUnexpectedEOF), true
		_, left, err := AtomicWrite(ctx, "a.csv", strings.NewReader("four"), WriteOptions{Size: -1}, m.ops())
		if err == nil || left == "" || len(m.removed) != 0 {
			t.Fatalf("leftover %q, err %v, removed %v; want the temporary name, no removal", left, err, m.removed)
		}
		if _, ok := m.files[left]; !ok {
			t.Errorf("leftover %q is not the stored temporary file (%v)", left, m.names())
		}
	})

	t.Run("removal fails: leftover", func(t *testing.T) {
		m := newMem()
		m.failStor, m.rmErr = errors.New("552 quota"), errors.New("reset")
		_, left, err := AtomicWrite(ctx, "a.csv", strings.NewReader("four"), WriteOptions{Size: -1}, m.ops())
		if err == nil || left == "" || len(m.removed) != 1 || m.removed[0] != left {
			t.Fatalf("leftover %q, err %v, removed %v", left, err, m.removed)
		}
	})
}

// TestUploaderWrite fails the first attempts like a dropped connection,
// after reading part of the stream.
func TestUploaderWrite(t *testing.T) {
	data := "0123456789abcdef"
	newUploader := func(fails int, left *[]string, got *[]string) Uploader {
		return Uploader{
			Retry: Retry{Attempts: 3, Base: time.Millisecond},
			Attempt: func(ctx context.Context, rel string, r io.Reader, opts WriteOptions) (WriteResult, string, error) {
				if fails > 0 {
					fails--
					_, _ = io.CopyN(io.Discard, r, 5)
					return WriteResult{}, ".tmp." + rel + ".part", Transient(io.ErrUnexpectedEOF)
				}
				b, err := io.ReadAll(r)
				*got = append(*got, string(b))
				return WriteResult{Path: rel, Size: int64(len(b))}, "", err
			},
			RemoveLeftover: func(ctx context.Context, tmp string) error {
				if ctx.Err() != nil {
					t.Errorf("RemoveLeftover got a done context: %v", ctx.Err())
				}
				*left = append(*left, tmp)
				return nil
			},
			CleanupTimeout: time.Second,
		}
	}

	t.Run("seeker rewound to where it stood", func(t *testing.T) {
		var left, got []string
		r := strings.NewReader("HEAD" + data)
		_, _ = r.Seek(4, io.SeekStart)
		res, err := newUploader(2, &left, &got).Write(context.Background(), "./out//a.csv", r, WriteOptions{Size: -1})
		if err != nil || res.Path != "out/a.csv" {
			t.Fatalf("Write = %+v, %v", res, err)
		}
		if len(got) != 1 || got[0] != data {
			t.Errorf("uploaded %q, want %q", got, data)
		}
		if len(left) != 2 {
			t.Errorf("leftovers removed: %v, want 2", left)
		}
	})

	t.Run("stream not rewindable: one attempt", func(t *testing.T) {
		var left, got []string
		_, err := newUploader(1, &left, &got).Write(context.Background(), "a.csv", io.MultiReader(strings.NewReader(data)), WriteOptions{Size: -1})
		if !IsTransient(err) || len(got) != 0 || len(left) != 1 {
			t.Fatalf("err %v, uploads %v, leftovers %v; want one failed attempt cleaned up", err, got, left)
		}
	})

	t.Run("cancelled: leftover still removed", func(t *testing.T) {
		var left, got []string
		ctx, cancel := context.WithCancel(context.Background())
		u := newUploader(1, &left, &got)
		attempt := u.Attempt
		u.Attempt = func(ctx context.Context, rel string, r io.Reader, opts WriteOptions) (WriteResult, string, error) {
			cancel()
			return attempt(ctx, rel, r, opts)
		}
		_, err := u.Write(ctx, "a.csv", bytes.NewReader([]byte(data)), WriteOptions{Size: -1})
		if err == nil || len(left) != 1 { // RemoveLeftover checks its ctx
			t.Fatalf("err %v, leftovers %v", err, left)
		}
	})

	t.Run("root refused", func(t *testing.T) {
		var left, got []string
		_, err := newUploader(0, &left, &got).Write(context.Background(), ".", strings.NewReader(data), WriteOptions{Size: -1})
		if !errors.Is(err, ErrUnsafeName) || len(got) != 0 {
			t.Fatalf("err %v", err)
		}
	})
}

func TestWalk(t *testing.T) {
	tree := map[string][]FileInfo{
		"top":          {{Path: "a.csv", Size: 1}, {Path: "sub", IsDir: true}},
		"top/sub":      {{Path: "b.csv", Size: 2}, {Path: "deep", IsDir: true}},
		"top/sub/deep": {{Path: "c.csv", Size: 3}},
	}
	var prefixes []string
	readDir := func(r, prefix string) ([]FileInfo, error) {
		prefixes = append(prefixes, prefix)
		ents, ok := tree[r]
		if !ok {
			return nil, fmt.Errorf("list %s: %w", r, ErrNotExist)
		}
		return append([]FileInfo(nil), ents...), nil
	}
	got, err := Walk(context.Background(), "top", true, readDir)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, fi := range got {
		paths = append(paths, fi.Path)
	}
	if strings.Join(paths, ",") != "a.csv,sub,sub/b.csv,sub/deep,sub/deep/c.csv" {
		t.Errorf("paths %v", paths)
	}
	if strings.Join(prefixes, ",") != ",sub,sub/deep" {
		t.Errorf("prefixes %q", prefixes)
	}
	got, err = Walk(context.Background(), "top", false, readDir)
	if err != nil || len(got) != 2 {
		t.Errorf("flat walk: %v, %v", got, err)
	}
	if got, err := Walk(context.Background(), "nope", true, readDir); !errors.Is(err, ErrNotExist) || got != nil {
		t.Errorf("missing folder: %v, %v", got, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Walk(ctx, "top", true, readDir); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled walk: %v", err)
	}
}

func TestServerOptionHelpers(t *testing.T) {
	if errs := CheckServer("ftp.example.com", 21, "u", ""); len(errs) != 0 {
		t.Errorf("good options: %v", errs)
	}
	errs := CheckServer("ftp://x/y", 70000, "", " (hint)")
	msg := fmt.Sprint(errs)
	for _, want := range []string{"not a host name", "port: 70000 out of range", "user: required (hint)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%s: missing %q", msg, want)
		}
	}
	if errs := CheckServer(" ", 0, "u", ""); len(errs) != 1 || errs[0].Error() != "host: required" {
		t.Errorf("empty host: %v", errs)
	}
	if CheckRoot("/export") != nil || CheckRoot("a\nb") == nil {
		t.Error("CheckRoot")
	}
	neg := Duration{Duration: -time.Second}
	if err := CheckDurations("a, b", Duration{}, neg); err == nil || err.Error() != "a, b: must not be negative" {
		t.Errorf("CheckDurations: %v", err)
	}
	if err := CheckDurations("a", Duration{Duration: time.Second}); err != nil {
		t.Errorf("CheckDurations: %v", err)
	}
	for _, tt := range []struct{ retries, want int }{{0, 4}, {1, 2}, {-1, 1}, {5, 6}} {
		if got := RetryPolicy(tt.retries, 3).Attempts; got != tt.want {
			t.Errorf("RetryPolicy(%d, 3).Attempts = %d, want %d", tt.retries, got, tt.want)
		}
	}
	if got := HostPort("::1", 0, 22); got != "[::1]:22" {
		t.Errorf("HostPort = %s", got)
	}
	if got := HostPort("h", 2222, 22); got != "h:2222" {
		t.Errorf("HostPort = %s", got)
	}
	if got := ServerURL("ftps", "u", "h:21", "export"); got != "ftps://u@h:21/~/export" {
		t.Errorf("ServerURL = %s", got)
	}
	if got := ServerURL("sftp", "u", "h:22", "/srv"); got != "sftp://u@h:22/srv" {
		t.Errorf("ServerURL = %s", got)
	}
}

func TestCleanFileAndRenamePaths(t *testing.T) {
	if got, err := CleanFilePath("./a//b.csv", "open"); err != nil || got != "a/b.csv" {
		t.Errorf("CleanFilePath = %q, %v", got, err)
	}
	if _, err := CleanFilePath(".", "open"); !errors.Is(err, ErrUnsafeName) || !strings.Contains(err.Error(), "open needs a file name") {
		t.Errorf("root: %v", err)
	}
	if _, err := CleanFilePath("../x", "open"); !errors.Is(err, ErrUnsafeName) {
		t.Errorf("escape: %v", err)
	}
	if a, b, err := CleanRenamePaths("a/./x", "b/y"); err != nil || a != "a/x" || b != "b/y" {
		t.Errorf("CleanRenamePaths = %q, %q, %v", a, b, err)
	}
	for _, p := range [][2]string{{"", "b"}, {"a", "."}, {"../a", "b"}, {"a", "/b"}} {
		if _, _, err := CleanRenamePaths(p[0], p[1]); !errors.Is(err, ErrUnsafeName) {
			t.Errorf("CleanRenamePaths(%q, %q): %v", p[0], p[1], err)
		}
	}
}
