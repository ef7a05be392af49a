package results

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/transports"
)

// faulty wraps a transport with injected faults and extra listing entries.
type faulty struct {
	transports.Transport
	// extra entries appended to every listing (hostile names).
	extra []transports.FileInfo
	// failAfter, when > 0, makes every opened file fail with a connection
	// reset after that many bytes, while cut is set.
	failAfter int64
	cut       atomic.Bool
	// removeErr, when set, is returned by Remove (once per set).
	removeErr atomic.Pointer[error]
	opens     atomic.Int32
}

func (f *faulty) List(ctx context.Context, dir string, recursive bool) ([]transports.FileInfo, error) {
	l, err := f.Transport.List(ctx, dir, recursive)
	return append(l, f.extra...), err
}

func (f *faulty) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	f.opens.Add(1)
	rc, err := f.Transport.Open(ctx, p)
	if err != nil || !f.cut.Load() {
		return rc, err
	}
	return &cutReader{ReadCloser: rc, left: f.failAfter}, nil
}

func (f *faulty) Remove(ctx context.Context, p string) error {
	if e := f.removeErr.Swap(nil); e != nil {
		return *e
	}
	return f.Transport.Remove(ctx, p)
}

type cutReader struct {
	io.ReadCloser
	left int64
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errors.New("read tcp 127.0.0.1:21: connection reset by peer")
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.ReadCloser.Read(p)
	c.left -= int64(n)
	return n, err
}

func pickupOptions() Options {
	o := DefaultOptions()
	o.MinAge.Duration = 0
	return o
}

// clock is a settable test clock.
type clock struct{ t atomic.Int64 }

func newClock() *clock               { c := &clock{}; c.t.Store(time.Now().UnixNano()); return c }
func (c *clock) now() time.Time      { return time.Unix(0, c.t.Load()) }
func (c *clock) add(d time.Duration) { c.t.Add(int64(d)) }

func TestPickupWholeAndOnce(t *testing.T) {
	src := t.TempDir()
	o := pickupOptions()
	o.Recursive = true
	f := newFixture(t, nil, o, localT(t, src), "")
	writeFile(t, src, "a.csv", "alpha")
	writeFile(t, src, "forms/2026/b.xml", "<b/>")
	writeFile(t, src, "c.csv.part", "partial")
	writeFile(t, src, "~$lock.xlsx", "lock")
	writeFile(t, src, ".hidden/d.csv", "hidden")

	rc := f.poll(t) // observes
	if n := len(tree(t, f.targetDir)); n != 0 {
		t.Fatalf("taken on first sight: %d files", n)
	}
	if c := rc.Counts()["waiting"]; c != 2 {
		t.Fatalf("waiting = %d, want 2", c)
	}
	rc = f.poll(t) // stable: takes
	want := map[string]string{"a.csv": "alpha", "forms/2026/b.xml": "<b/>"}
	if got := tree(t, f.targetDir); !equalMaps(got, want) {
		t.Fatalf("target %v, want %v", got, want)
	}
	if c := rc.Counts(); c["downloaded"] != 2 || c["removed"] != 2 {
		t.Fatalf("counts %v", c)
	}
	left := tree(t, src)
	if _, ok := left["a.csv"]; ok || len(left) != 3 {
		t.Fatalf("source after: %v", keys(left))
	}
	for _, n := range []string{"a.csv", "forms/2026/b.xml"} {
		it, err := f.ledger.GetItem(context.Background(), "results", "file:export:"+n)
		if err != nil || it.Outcome != StateDone || !strings.HasPrefix(it.Message, "sha256 ") || it.RemoteID != n {
			t.Fatalf("ledger %s: %+v %v", n, it, err)
		}
	}
	// Same name again, new content: a new file, kept beside the first.
	writeFile(t, src, "a.csv", "alpha v2")
	f.poll(t)
	f.poll(t)
	got := tree(t, f.targetDir)
	if got["a.csv"] != "alpha" || got["a (2).csv"] != "alpha v2" || len(got) != 3 {
		t.Fatalf("target %v", got)
	}
}

func TestPickupGrowingFileWaits(t *testing.T) {
	src := t.TempDir()
	o := pickupOptions()
	o.MinAge.Duration = 30 * time.Second
	f := newFixture(t, nil, o, localT(t, src), "")
	clk := newClock()
	f.job.SetClock(clk.now)
	p := filepath.Join(src, "big.csv")
	writeFile(t, src, "big.csv", "part 1\n")
	for i := 2; i <= 4; i++ {
		f.poll(t)
		clk.add(40 * time.Second)
		fh, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fh.WriteString(strings.Repeat("more\n", i))
		fh.Close()
		// mtime moves with the clock, as it would on the server.
		if err := os.Chtimes(p, clk.now(), clk.now()); err != nil {
			t.Fatal(err)
		}
		if n := len(tree(t, f.targetDir)); n != 0 {
			t.Fatalf("growing file taken after poll %d", i)
		}
	}
	f.poll(t) // unchanged since the last poll, but only just written
	clk.add(10 * time.Second)
	f.poll(t) // unchanged, 10s old < min_age
	if n := len(tree(t, f.targetDir)); n != 0 {
		t.Fatal("taken before min_age")
	}
	clk.add(25 * time.Second)
	f.poll(t)
	want, _ := os.ReadFile(p)
	if want != nil {
		t.Fatal("source not removed")
	}
	got := tree(t, f.targetDir)
	if len(got) != 1 || !strings.HasPrefix(got["big.csv"], "part 1\n") || strings.Count(got["big.csv"], "more") != 2+3+4 {
		t.Fatalf("target %v", keys(got))
	}
}

func TestPickupDoneMarkers(t *testing.T) {
	src := t.TempDir()
	o := pickupOptions()
	o.MinAge.Duration = time.Hour
	o.DoneMarker = ".done"
	o.WriteDoneMarker = ".ok"
	f := newFixture(t, nil, o, localT(t, src), "")
	writeFile(t, src, "a.csv", "alpha")
	writeFile(t, src, "a.csv.done", "")
	writeFile(t, src, "b.csv", "beta") // no marker, not old enough
	f.poll(t)
	got := tree(t, f.targetDir)
	if !equalMaps(got, map[string]string{"a.csv": "alpha", "a.csv.ok": ""}) {
		t.Fatalf("target %v", got)
	}
	if left := tree(t, src); !equalMaps(left, map[string]string{"b.csv": "beta"}) {
		t.Fatalf("source %v", left)
	}
}

func TestPickupAfterLeaveAndArchive(t *testing.T) {
	t.Run("leave", func(t *testing.T) {
		src := t.TempDir()
		o := pickupOptions()
		o.After = AfterLeave
		f := newFixture(t, nil, o, localT(t, src), "")
		writeFile(t, src, "a.csv", "alpha")
		f.poll(t)
		f.poll(t)
		if err := os.Remove(filepath.Join(f.targetDir, "a.csv")); err != nil {
			t.Fatal(err) // the customer took it
		}
		for i := 0; i < 3; i++ {
			f.poll(t)
		}
		if n := len(tree(t, f.targetDir)); n != 0 {
			t.Fatal("left file taken twice")
		}
		if n := len(tree(t, src)); n != 1 {
			t.Fatal("left file removed")
		}
	})
	t.Run("archive", func(t *testing.T) {
		src := t.TempDir()
		o := pickupOptions()
		o.After = AfterArchive
		o.SourceDir = "export"
		o.Recursive = true
		o.ArchiveDir = "export/archive"
		f := newFixture(t, nil, o, localT(t, src), "")
		writeFile(t, src, "export/sub/a.csv", "alpha")
		f.poll(t)
		f.poll(t)
		f.poll(t)
		if got := tree(t, src); !equalMaps(got, map[string]string{"export/archive/sub/a.csv": "alpha"}) {
			t.Fatalf("source %v", got)
		}
		if got := tree(t, f.targetDir); !equalMaps(got, map[string]string{"sub/a.csv": "alpha"}) {
			t.Fatalf("target %v", got)
		}
	})
}

func TestPickupCollisions(t *testing.T) {
	for _, c := range []struct {
		policy string
		want   map[string]string
		source int
	}{
		{CollisionReplace, map[string]string{"a.csv": "new"}, 0},
		{CollisionKeepBoth, map[string]string{"a.csv": "customer's", "a (2).csv": "new"}, 0},
		{CollisionFail, map[string]string{"a.csv": "customer's"}, 1},
	} {
		t.Run(c.policy, func(t *testing.T) {
			src := t.TempDir()
			o := pickupOptions()
			o.OnCollision = c.policy
			f := newFixture(t, nil, o, localT(t, src), "")
			writeFile(t, f.targetDir, "a.csv", "customer's")
			writeFile(t, src, "a.csv", "new")
			f.poll(t)
			rc := f.poll(t)
			rc2 := f.poll(t)
			if got := tree(t, f.targetDir); !equalMaps(got, c.want) {
				t.Fatalf("target %v", got)
			}
			if n := len(tree(t, src)); n != c.source {
				t.Fatalf("source has %d files", n)
			}
			if c.policy == CollisionFail {
				if len(rc.Problems()) != 1 || len(rc2.Problems()) != 0 {
					t.Fatalf("collision should be reported once: %q / %q", problemsText(rc), problemsText(rc2))
				}
				// The customer moves theirs away: the file comes.
				os.Remove(filepath.Join(f.targetDir, "a.csv"))
				f.poll(t)
				if got := tree(t, f.targetDir); got["a.csv"] != "new" {
					t.Fatalf("after the collision cleared: %v", got)
				}
			}
		})
	}
}

func TestPickupConnectionCutLeavesNothingPartial(t *testing.T) {
	src := t.TempDir()
	fa := &faulty{Transport: localT(t, src), failAfter: 1000}
	f := newFixture(t, nil, pickupOptions(), fa, "")
	content := strings.Repeat("0123456789", 1000)
	writeFile(t, src, "r.csv", content)
	f.poll(t)
	fa.cut.Store(true)
	rc := f.poll(t)
	if c := rc.Counts()["failed"]; c != 1 {
		t.Fatalf("counts %v", rc.Counts())
	}
	if got := tree(t, f.targetDir); len(got) != 0 {
		t.Fatalf("partial file left in target: %v", keys(got))
	}
	if _, err := os.Stat(filepath.Join(src, "r.csv")); err != nil {
		t.Fatal("source removed after a failed download")
	}
	fa.cut.Store(false)
	f.poll(t)
	if got := tree(t, f.targetDir); !equalMaps(got, map[string]string{"r.csv": content}) {
		t.Fatalf("target %v", keys(got))
	}
}

// A failure (or crash) after the download is recorded but before the
// remote file is removed: the next poll removes it without a second copy.
func TestPickupRemoveFailsNoSecondCopy(t *testing.T) {
	for _, policy := range []string{CollisionKeepBoth, CollisionFail, CollisionReplace} {
		t.Run(policy, func(t *testing.T) {
			src := t.TempDir()
			fa := &faulty{Transport: localT(t, src)}
			o := pickupOptions()
			o.OnCollision = policy
			f := newFixture(t, nil, o, fa, "")
			writeFile(t, src, "a.csv", "alpha")
			f.poll(t)
			e := errors.New("connection lost")
			fa.removeErr.Store(&e)
			rc := f.poll(t)
			if len(rc.Problems()) != 1 {
				t.Fatalf("problems: %q", problemsText(rc))
			}
			opens := fa.opens.Load()
			f.poll(t)
			if fa.opens.Load() != opens {
				t.Fatal("downloaded again")
			}
			if got := tree(t, f.targetDir); !equalMaps(got, map[string]string{"a.csv": "alpha"}) {
				t.Fatalf("target %v", got)
			}
			if n := len(tree(t, src)); n != 0 {
				t.Fatal("source not removed")
			}
		})
	}
}

// A crash after the target file was written but before it was recorded
// done: the file is written again under the same name, not beside it.
func TestPickupInterruptedBeforeDoneNoSecondCopy(t *testing.T) {
	src := t.TempDir()
	f := newFixture(t, nil, pickupOptions(), localT(t, src), "") // keep_both
	writeFile(t, src, "a.csv", "alpha")
	writeFile(t, f.targetDir, "a.csv", "alpha") // what the interrupted attempt wrote
	fi, _ := os.Stat(filepath.Join(src, "a.csv"))
	it := ledger.Item{Job: "results", Key: "file:export:a.csv", Hash: versionOf(transports.FileInfo{Size: fi.Size(), ModTime: fi.ModTime()}).String(),
		Outcome: StateClaimed, RemoteID: "a.csv"}
	if err := f.ledger.PutItem(context.Background(), it); err != nil {
		t.Fatal(err)
	}
	f.poll(t)
	if got := tree(t, f.targetDir); !equalMaps(got, map[string]string{"a.csv": "alpha"}) {
		t.Fatalf("target %v", got)
	}
	if n := len(tree(t, src)); n != 0 {
		t.Fatal("source not removed")
	}
}

func TestPickupHostileNamesRefusedAndReported(t *testing.T) {
	src := t.TempDir()
	now := time.Now()
	hostile := []string{"../x.csv", "/etc/passwd", "a/../../y.csv", "new\nline.csv", "ctl\x01.csv", `..\win.csv`, "nul\x00.csv", "bad\xff.csv"}
	fa := &faulty{Transport: localT(t, src)}
	for _, h := range hostile {
		fa.extra = append(fa.extra, transports.FileInfo{Path: h, Size: 5, ModTime: now})
	}
	f := newFixture(t, nil, pickupOptions(), fa, "")
	writeFile(t, src, "ok.csv", "fine")
	rc := f.poll(t)
	rc2 := f.poll(t)
	if got := tree(t, f.targetDir); !equalMaps(got, map[string]string{"ok.csv": "fine"}) {
		t.Fatalf("target %v", got)
	}
	if n := len(rc.Problems()); n != len(hostile) {
		t.Fatalf("%d problems, want %d:\n%s", n, len(hostile), problemsText(rc))
	}
	for _, p := range rc.Problems() {
		if strings.ContainsAny(p.Item, "\n\x00\x01") || !strings.Contains(p.Message, "não é um nome de arquivo seguro") {
			t.Errorf("problem not quoted or unclear: %q: %q", p.Item, p.Message)
		}
	}
	if n := len(rc2.Problems()); n != 0 {
		t.Fatalf("reported again on the next poll: %s", problemsText(rc2))
	}
	if c := rc2.Counts()["refused"]; c != int64(len(hostile)) {
		t.Fatalf("refused = %d", c)
	}
}

func TestPickupIncludeExclude(t *testing.T) {
	src := t.TempDir()
	o := pickupOptions()
	o.Recursive = true
	o.Include = []string{"*.csv", "photos/*.jpg"}
	o.Exclude = append(o.Exclude, "skip*")
	f := newFixture(t, nil, o, localT(t, src), "")
	for _, n := range []string{"a.csv", "b.txt", "skip.csv", "photos/p.jpg", "other/p.jpg", "sub/c.csv"} {
		writeFile(t, src, n, n)
	}
	f.poll(t)
	f.poll(t)
	if got := keys(tree(t, f.targetDir)); strings.Join(got, ",") != "a.csv,photos/p.jpg,sub/c.csv" {
		t.Fatalf("taken %v", got)
	}
}

func TestOptionsCheck(t *testing.T) {
	o := DefaultOptions()
	o.After = "burn"
	o.OnCollision = "merge"
	o.Include = []string{"[a"}
	o.Connections = 0
	o.Notifications.Path = "/n"
	o.Notifications.Token = "short"
	err := o.Check()
	if err == nil {
		t.Fatal("no error")
	}
	for _, key := range []string{"target_dir", "after", "on_collision", "include", "connections", "notifications.token"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
	o = DefaultOptions()
	o.Source = "ftp"
	o.TargetDir = "/srv/customer"
	if err := o.Check(); err != nil {
		t.Fatal(err)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
