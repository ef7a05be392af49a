package results

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack/officetracktest"
	"github.com/fieldbridge/fieldbridge/transports"
	"github.com/fieldbridge/fieldbridge/transports/transporttest"
)

// What the pickup must hold on every server of the matrix (vsftpd, proftpd,
// pure-ftpd, plain and FTPS, and OpenSSH): the server's clock resolution,
// symbolic links and long names must never lose, leak or stall a file.

// matrixServer is one real server of the test matrix.
type matrixServer struct {
	name string
	tls  bool
	// remote opens a fresh folder on it, or the existing folder rel.
	remote func(t *testing.T, rel string) remote
}

// reuse points a fresh server folder's options at the existing folder rel.
func reuse(s *transporttest.Server, root *string, rel string) {
	if rel != "" {
		s.Dir, s.Rel, *root = filepath.Join(filepath.Dir(s.Dir), rel), rel, rel
	}
}

// matrix lists the real servers: every FTP flavour of transporttest and
// OpenSSH's SFTP.
func matrix() []matrixServer {
	var out []matrixServer
	for _, fs := range transporttest.FTPServers() {
		out = append(out, matrixServer{name: fs.Name, tls: strings.Contains(fs.Name, "ftps"), remote: func(t *testing.T, rel string) remote {
			o, s := fs.Options(t)
			reuse(&s, &o.Root, rel)
			return ftpRemote(t, fs.Name, o, s)
		}})
	}
	return append(out, matrixServer{name: "sftp", remote: func(t *testing.T, rel string) remote {
		o, s := transporttest.SFTP(t)
		reuse(&s, &o.Root, rel)
		return sftpRemote(t, o, s)
	}})
}

// sameMinute returns two modification times in one minute (the last one),
// 30 s apart: a listing in minutes shows both alike.
func sameMinute() (time.Time, time.Time) {
	base := time.Now().UTC().Truncate(time.Minute).Add(-time.Minute)
	return base.Add(10 * time.Second), base.Add(40 * time.Second)
}

// rewrite writes content to the server file rel with the given mtime.
func rewrite(t *testing.T, r remote, rel, content string, mtime time.Time) {
	t.Helper()
	p := r.srv.WriteFile(t, rel, []byte(content))
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// pollUntil polls until done reports true, at most n times.
func pollUntil(t *testing.T, f *fixture, n int, done func() bool) *bridge.RunContext {
	t.Helper()
	var rc *bridge.RunContext
	for i := 0; i < n && !done(); i++ {
		rc = f.poll(t)
	}
	if !done() {
		t.Fatalf("not reached after %d polls; counts %v, problems %s", n, rc.Counts(), problemsText(rc))
	}
	return rc
}

// contents is the set of file contents in the customer's folder.
func contents(t *testing.T, dir string) map[string]bool {
	out := map[string]bool{}
	for _, c := range visible(t, dir) {
		out[c] = true
	}
	return out
}

// onStat runs fn once, the first time the source is asked about a file
// (the check before removing it).
type onStat struct {
	transports.Transport
	fired atomic.Bool
	fn    func()
}

func (o *onStat) Stat(ctx context.Context, p string) (transports.FileInfo, error) {
	if o.fired.CompareAndSwap(false, true) {
		o.fn()
	}
	return o.Transport.Stat(ctx, p)
}

// A result file rewritten with the same name and the same size within one
// minute (OfficeTrack re-exporting a form) reaches the customer in both
// versions, and the source is removed only once the newer one is taken:
// whether the rewrite comes after the first version was removed, between
// its download and its removal, or while it is left on the server.
func TestRealServersSameSizeRewriteInOneMinute(t *testing.T) {
	v1, v2 := strings.Repeat("A", 5000), strings.Repeat("B", 5000)
	t1, t2 := sameMinute()
	for _, r := range remotes(t, true) {
		t.Run(r.name, func(t *testing.T) {
			t.Run("after removal", func(t *testing.T) {
				rewrite(t, r, "form.xml", v1, t1)
				f := newFixture(t, nil, pickupOptions(), r.open(t, "", 0), "")
				src := filepath.Join(r.srv.Dir, "form.xml")
				pollUntil(t, f, 4, func() bool { _, err := os.Stat(src); return os.IsNotExist(err) })
				rewrite(t, r, "form.xml", v2, t2)
				pollUntil(t, f, 6, func() bool { _, err := os.Stat(src); return os.IsNotExist(err) && len(visible(t, f.targetDir)) == 2 })
				if got := contents(t, f.targetDir); !got[v1] || !got[v2] {
					t.Fatalf("customer's folder %v: want both versions", keys(visible(t, f.targetDir)))
				}
			})
			t.Run("between download and removal", func(t *testing.T) {
				rewrite(t, r, "form.xml", v1, t1)
				src := r.open(t, "", 0)
				hook := &onStat{Transport: src, fn: func() { rewrite(t, r, "form.xml", v2, t2) }}
				f := newFixture(t, nil, pickupOptions(), hook, "")
				f.poll(t)
				rc := f.poll(t)
				if !hook.fired.Load() || rc.Counts()["changed"] != 1 {
					t.Fatalf("the rewrite was not seen before removal: counts %v", rc.Counts())
				}
				if _, err := os.Stat(filepath.Join(r.srv.Dir, "form.xml")); err != nil {
					t.Fatal("the newer version was removed unread")
				}
				pollUntil(t, f, 6, func() bool { return len(tree(t, r.srv.Dir)) == 0 })
				if got := contents(t, f.targetDir); !got[v1] || !got[v2] || len(visible(t, f.targetDir)) != 2 {
					t.Fatalf("customer's folder %v: want both versions once", keys(visible(t, f.targetDir)))
				}
			})
			t.Run("left on the server", func(t *testing.T) {
				rewrite(t, r, "form.xml", v1, t1)
				o := pickupOptions()
				o.After = AfterLeave
				f := newFixture(t, nil, o, r.open(t, "", 0), "")
				pollUntil(t, f, 4, func() bool { return len(visible(t, f.targetDir)) == 1 })
				rewrite(t, r, "form.xml", v2, t2)
				pollUntil(t, f, 6, func() bool { return len(visible(t, f.targetDir)) == 2 })
				if got := contents(t, f.targetDir); !got[v1] || !got[v2] {
					t.Fatalf("customer's folder %v: want both versions", keys(visible(t, f.targetDir)))
				}
				for range 3 { // and nothing more after that
					if rc := f.poll(t); rc.Counts()["downloaded"] != 0 {
						t.Fatalf("taken again: %v", rc.Counts())
					}
				}
			})
		})
	}
}

// A file that grows in bursts for 20 s, pausing less than min_age, is not
// taken before it stops: on vsftpd, whose listing gives minutes, min_age
// is counted by the bridge's clock.
func TestRealServersGrowingFor20s(t *testing.T) {
	if testing.Short() {
		t.Skip("20 s per server")
	}
	for _, r := range remotes(t, true) {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			p := r.srv.WriteFile(t, "growing.csv", []byte("header\n"))
			o := pickupOptions()
			o.MinAge.Duration = 5 * time.Second
			f := newFixture(t, nil, o, r.open(t, "", 0), "")
			fh, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			end := time.Now().Add(20 * time.Second)
			next := time.Now()
			for i := 0; time.Now().Before(end); i++ {
				if !time.Now().Before(next) { // a burst every 4 s
					fh.WriteString(strings.Repeat("row\n", 256))
					next = time.Now().Add(4 * time.Second)
				}
				if rc := f.poll(t); len(tree(t, f.targetDir)) != 0 {
					t.Fatalf("taken while growing, at poll %d (counts %v)", i, rc.Counts())
				}
				time.Sleep(time.Second)
			}
			fh.Close()
			want, _ := os.ReadFile(p)
			deadline := time.Now().Add(20 * time.Second)
			for len(tree(t, f.targetDir)) == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Second)
				f.poll(t)
			}
			if got := tree(t, f.targetDir); got["growing.csv"] != string(want) {
				t.Fatalf("target has %d bytes, want %d", len(got["growing.csv"]), len(want))
			}
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Fatal("source not removed after it was taken")
			}
		})
	}
}

// A symbolic link in the export folder, to a file or a folder outside it,
// is never followed: nothing outside the folder reaches the customer, the
// link is left alone and counted.
func TestRealServersSymlinksNotFollowed(t *testing.T) {
	for _, r := range remotes(t, true) {
		t.Run(r.name, func(t *testing.T) {
			secret := r.srv.WriteFile(t, "outside/secret.csv", []byte("not for the customer"))
			r.srv.WriteFile(t, "export/ok.csv", []byte("fine"))
			for name, target := range map[string]string{
				"export/link.csv": "../outside/secret.csv", // relative
				"export/abs.csv":  secret,                  // absolute
				"export/dir":      "../outside",            // a folder
			} {
				if err := os.Symlink(target, filepath.Join(r.srv.Dir, filepath.FromSlash(name))); err != nil {
					t.Fatal(err)
				}
			}
			o := pickupOptions()
			o.SourceDir = "export"
			o.Recursive = true
			f := newFixture(t, nil, o, r.open(t, "", 0), "")
			f.poll(t)
			rc := f.poll(t)
			if got := tree(t, f.targetDir); !equalMaps(got, map[string]string{"ok.csv": "fine"}) {
				t.Fatalf("customer's folder %v", keys(got))
			}
			// proftpd's chroot (DefaultRoot) hides the absolute link,
			// whose target lies outside it: that one is not even listed.
			if n := rc.Counts()["skipped_links"]; n < 2 || n > 3 {
				t.Errorf("skipped_links = %d, want 3 (2 on a chroot that hides a dangling link; counts %v)", n, rc.Counts())
			}
			for _, p := range []string{"export/link.csv", "export/abs.csv", "export/dir", "outside/secret.csv"} {
				if _, err := os.Lstat(filepath.Join(r.srv.Dir, p)); err != nil {
					t.Errorf("%s: %v", p, err)
				}
			}
		})
	}
}

// A name of 250 bytes is taken like any other (its temporary name is cut
// to fit); a name of 252 whose done marker would not fit gets one clear refusal,
// not a retry at every poll.
func TestRealServersLongNames(t *testing.T) {
	for _, r := range remotes(t, true) {
		t.Run(r.name, func(t *testing.T) {
			long := strings.Repeat("r", 246) + ".xml" // 250 bytes
			r.srv.WriteFile(t, long, []byte("long"))
			f := newFixture(t, nil, pickupOptions(), r.open(t, "", 0), "")
			f.poll(t)
			rc := f.poll(t)
			if got := tree(t, f.targetDir); !equalMaps(got, map[string]string{long: "long"}) {
				t.Fatalf("customer's folder %v (problems %s)", keys(got), problemsText(rc))
			}

			long = strings.Repeat("s", 248) + ".xml" // 252 bytes, 257 with ".done"
			r.srv.WriteFile(t, long, []byte("again"))
			o := pickupOptions()
			o.WriteDoneMarker = ".done"
			g := newFixture(t, nil, o, r.open(t, "", 0), "")
			var problems []string
			for range 4 {
				rc := g.poll(t)
				if p := problemsText(rc); p != "" {
					problems = append(problems, p)
				}
			}
			if len(problems) != 1 || !strings.Contains(problems[0], long) || !strings.Contains(problems[0], "255") {
				t.Fatalf("want one refusal naming the file and the limit, got %q", problems)
			}
			if n := len(tree(t, g.targetDir)); n != 0 {
				t.Fatalf("%d files in the customer's folder", n)
			}
			if _, err := os.Stat(filepath.Join(r.srv.Dir, long)); err != nil {
				t.Fatal("refused file removed from the source")
			}
		})
	}
}

// The kill -9 drill, on every server of the matrix, from its export folder
// to a customer's folder on the same kind of server: 300 files, the pickup
// killed ten times at random moments, then a run left alone. Nothing is
// lost, nothing is there twice, no temporary file is left in the
// customer's folder, and the source ends empty.
func TestRealServersKill9Drill(t *testing.T) {
	if os.Getenv(killLoopEnv) == "1" {
		dir := os.Getenv("RESULTS_KILL_DIR")
		name := os.Getenv("RESULTS_DRILL_SERVER")
		src := remoteFor(t, name, os.Getenv("RESULTS_DRILL_SRC"))
		dst := remoteFor(t, name, os.Getenv("RESULTS_DRILL_DST"))
		o := pickupOptions()
		o.Recursive = true
		o.SourceDir = "export"
		o.Target = "customer"
		o.TargetDir = "in"
		f := newFixture(t, openLedger(t, filepath.Join(dir, "data")), o, src.open(t, "", 0), "")
		f.job.SetTransports(nil, dst.open(t, "", 0))
		fmt.Println("polling")
		for {
			f.poll(t)
		}
	}
	if testing.Short() {
		t.Skip("kill loop")
	}
	files := officetracktest.FieldResultFiles(300, 3000, 4)
	for _, m := range matrix() {
		t.Run(m.name, func(t *testing.T) {
			src, dst := m.remote(t, ""), m.remote(t, "")
			for _, fl := range files {
				src.srv.WriteFile(t, "export/"+fl.Path, fl.Content)
			}
			dir := t.TempDir()
			start := func() *exec.Cmd {
				cmd := exec.Command(os.Args[0], "-test.run=^TestRealServersKill9Drill$", "-test.count=1")
				cmd.Env = append(os.Environ(), killLoopEnv+"=1", "RESULTS_KILL_DIR="+dir,
					"RESULTS_DRILL_SERVER="+m.name, "RESULTS_DRILL_SRC="+src.srv.Rel, "RESULTS_DRILL_DST="+dst.srv.Rel)
				out, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				cmd.Stderr = os.Stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
					kill9(cmd)
					t.Fatalf("child said nothing: %v", err)
				}
				return cmd
			}
			exported := filepath.Join(src.srv.Dir, "export")
			left := func() int { return countFiles(t, exported) }
			kills := 0
			for ; kills < 10 && left() > 0; kills++ {
				cmd := start()
				time.Sleep(time.Duration(30+rand.IntN(250)) * time.Millisecond)
				kill9(cmd)
			}
			cmd := start() // left alone until the source is empty
			deadline := time.Now().Add(60 * time.Second)
			for left() > 0 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(200 * time.Millisecond) // the last removals' records
			kill9(cmd)

			if n := left(); n != 0 {
				t.Fatalf("%d files left on the source after %d kills", n, kills)
			}
			customer := filepath.Join(dst.srv.Dir, "in")
			all := tree(t, customer)
			got := visible(t, customer)
			var lost, twice []string
			for _, fl := range files {
				if got[fl.Path] != string(fl.Content) {
					lost = append(lost, fl.Path)
				}
			}
			for p := range got {
				if strings.Contains(path.Base(p), " (") {
					twice = append(twice, p)
				}
			}
			if len(lost) > 0 || len(twice) > 0 || len(got) != len(files) {
				t.Fatalf("after %d kills: %d files for %d; lost %v; twice %v", kills, len(got), len(files), lost, twice)
			}
			if n := len(all) - len(got); n != 0 {
				var temps []string
				for p := range all {
					if _, ok := got[p]; !ok {
						temps = append(temps, p)
					}
				}
				t.Fatalf("%d temporary files left in the customer's folder after %d kills: %v", n, kills, temps)
			}
			t.Logf("%s: %d files, %d kills: none lost, none twice, no temporaries", m.name, len(files), kills)
		})
	}
}

// countFiles counts the files under dir while another process removes
// them: an entry gone during the walk is not an error.
func countFiles(t *testing.T, dir string) int {
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
