package results

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/officetrack/officetracktest"
	"github.com/fieldbridge/fieldbridge/transports"
	"github.com/fieldbridge/fieldbridge/transports/ftp"
	"github.com/fieldbridge/fieldbridge/transports/sftp"
	"github.com/fieldbridge/fieldbridge/transports/transporttest"
)

// remote is a real server (vsftpd or OpenSSH) holding OfficeTrack's
// export folder for a test.
type remote struct {
	name string
	srv  transporttest.Server
	// open connects to the folder; addr, when set, replaces the server's
	// address (a cutting proxy in front of it); retries as in the options.
	open func(t *testing.T, addr string, retries int) transports.Transport
	// plain says whether the proxy can relay it (plain FTP and SFTP).
	ftp bool
}

func hostPort(t *testing.T, addr string) (string, int) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

func ftpRemote(t *testing.T, name string, o ftp.Options, s transporttest.Server) remote {
	return remote{name: name, srv: s, ftp: true, open: func(t *testing.T, addr string, retries int) transports.Transport {
		o := o
		if addr != "" {
			o.Host, o.Port = hostPort(t, addr)
		}
		o.Retries = retries
		fs, err := ftp.New(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fs.Close() })
		return fs
	}}
}

func sftpRemote(t *testing.T, o sftp.Options, s transporttest.Server) remote {
	return remote{name: "sftp", srv: s, open: func(t *testing.T, addr string, retries int) transports.Transport {
		o := o
		if addr != "" {
			// The host key is checked against known_hosts by name; a
			// proxy on another port needs the pinned fingerprint instead.
			o.Host, o.Port = hostPort(t, addr)
			o.KnownHosts, o.HostFingerprint = "", s.Fingerprint
		}
		o.Retries = retries
		fs, err := sftp.New(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fs.Close() })
		return fs
	}}
}

// remotes returns the real servers of the test matrix (scripts/test-
// servers): every FTP server in plain FTP, with withFTPS their FTPS
// flavours too, and OpenSSH's SFTP. They skip (fail under CI=true) when
// the servers are not running.
func remotes(t *testing.T, withFTPS bool) []remote {
	var out []remote
	for _, m := range matrix() {
		if m.tls && !withFTPS {
			continue
		}
		out = append(out, m.remote(t, ""))
	}
	return out
}

func TestRealServersWholeAndOnce(t *testing.T) {
	for _, r := range remotes(t, true) {
		t.Run(r.name, func(t *testing.T) {
			files := officetracktest.FieldResultFiles(40, 20_000, 3)
			for i, f := range files {
				r.srv.WriteFile(t, "export/"+f.Path, f.Content)
				if i%10 == 0 { // a few bigger ones
					big := []byte(strings.Repeat(string(f.Content), 30))
					files[i].Content = big
					r.srv.WriteFile(t, "export/"+f.Path, big)
				}
			}
			o := pickupOptions()
			o.SourceDir = "export"
			o.Recursive = true
			o.Connections = 4
			f := newFixture(t, nil, o, r.open(t, "", 0), "")
			rc := f.poll(t)
			if n := len(tree(t, f.targetDir)); n != 0 {
				t.Fatalf("taken on first sight: %d", n)
			}
			rc = f.poll(t)
			if p := problemsText(rc); p != "" {
				t.Fatalf("problems: %s", p)
			}
			got := tree(t, f.targetDir)
			if len(got) != len(files) {
				t.Fatalf("target has %d files, want %d: %v", len(got), len(files), keys(got))
			}
			for _, fl := range files {
				if got[fl.Path] != string(fl.Content) {
					t.Fatalf("%s differs (%d bytes, want %d)", fl.Path, len(got[fl.Path]), len(fl.Content))
				}
			}
			left := tree(t, r.srv.Dir)
			if len(left) != 0 {
				t.Fatalf("left on the server: %v", keys(left))
			}
			rc = f.poll(t)
			if c := rc.Counts()["downloaded"]; c != 0 || len(tree(t, f.targetDir)) != len(files) {
				t.Fatalf("second pass changed something: %v", rc.Counts())
			}
		})
	}
}

func TestRealServersGrowingFileNotTaken(t *testing.T) {
	for _, r := range remotes(t, false) {
		t.Run(r.name, func(t *testing.T) {
			p := r.srv.WriteFile(t, "growing.csv", []byte("header\n"))
			o := pickupOptions()
			o.MinAge.Duration = 2 * time.Second
			f := newFixture(t, nil, o, r.open(t, "", 0), "")
			fh, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 5; i++ {
				f.poll(t)
				if n := len(tree(t, f.targetDir)); n != 0 {
					t.Fatalf("growing file taken at poll %d", i)
				}
				fmt.Fprintf(fh, "row %d\n", i)
				time.Sleep(300 * time.Millisecond)
			}
			fh.Close()
			want, _ := os.ReadFile(p)
			f.poll(t) // sees the last size
			if n := len(tree(t, f.targetDir)); n != 0 {
				t.Fatal("taken right after it stopped growing")
			}
			deadline := time.Now().Add(10 * time.Second)
			for len(tree(t, f.targetDir)) == 0 && time.Now().Before(deadline) {
				time.Sleep(500 * time.Millisecond)
				f.poll(t)
			}
			if got := tree(t, f.targetDir); got["growing.csv"] != string(want) {
				t.Fatalf("target %q, want %q", got["growing.csv"], want)
			}
		})
	}
}

func TestRealServersConnectionCut(t *testing.T) {
	for _, r := range remotes(t, false) {
		t.Run(r.name, func(t *testing.T) {
			content := []byte(strings.Repeat("0123456789abcdef", 512<<10)) // 8 MiB
			r.srv.WriteFile(t, "big.bin", content)
			proxy := newCutProxy(t, r.srv.Addr, r.ftp)
			o := pickupOptions()
			// No retries inside the transport: the cut must surface in
			// this poll, and the next poll must finish the job.
			f := newFixture(t, nil, o, r.open(t, proxy.Addr(), -1), "")
			f.poll(t)
			proxy.arm(2 << 20)
			rc := f.poll(t)
			if proxy.cuts.Load() != 1 {
				t.Fatalf("the connection was not cut (counts %v)", rc.Counts())
			}
			if c := rc.Counts()["failed"]; c != 1 {
				t.Fatalf("counts after the cut: %v", rc.Counts())
			}
			if got := tree(t, f.targetDir); len(got) != 0 {
				t.Fatalf("partial file left in the customer's folder: %v", keys(got))
			}
			if _, err := os.Stat(filepath.Join(r.srv.Dir, "big.bin")); err != nil {
				t.Fatal("source gone after a failed download")
			}
			rc = f.poll(t)
			if got := tree(t, f.targetDir); len(got) != 1 || got["big.bin"] != string(content) {
				t.Fatalf("after the next poll: %v (counts %v, problems %s)", keys(got), rc.Counts(), problemsText(rc))
			}
			if _, err := os.Stat(filepath.Join(r.srv.Dir, "big.bin")); !os.IsNotExist(err) {
				t.Fatal("source not removed")
			}
		})
	}
}

// TestRealServersCrash kills a child process between download and remote
// removal; the restarted job removes the file without a second copy.
func TestRealServersCrash(t *testing.T) {
	for _, key := range []string{"vsftpd", "sftp"} {
		t.Run(key, func(t *testing.T) {
			name := "TestRealServersCrash/" + key
			dir := os.Getenv("RESULTS_CRASH_DIR")
			var r remote
			if dir == "" { // parent: fresh server folder and work folder
				dir = t.TempDir()
				t.Setenv("RESULTS_CRASH_DIR", dir)
				r = remoteFor(t, key, "")
				t.Setenv("RESULTS_CRASH_REL", r.srv.Rel)
			} else { // child: the parent's server folder
				r = remoteFor(t, key, os.Getenv("RESULTS_CRASH_REL"))
			}
			runCrashTest(t, name, dir,
				func(t *testing.T) transports.Transport { return r.open(t, "", 0) },
				func(t *testing.T, rel, content string) { r.srv.WriteFile(t, rel, []byte(content)) })
		})
	}
}

// remoteFor returns the remote of the matrix server called name; rel,
// when set, names an existing server folder (a child process reuses its
// parent's).
func remoteFor(t *testing.T, name, rel string) remote {
	for _, m := range matrix() {
		if m.name == name {
			return m.remote(t, rel)
		}
	}
	t.Fatalf("no server %q in the matrix", name)
	return remote{}
}

func TestRealServersHostileNames(t *testing.T) {
	for _, r := range remotes(t, false) {
		t.Run(r.name, func(t *testing.T) {
			hostile := []string{"ctl\x01.csv", `a\..\..\win.csv`, "tab\there.csv", "bad\xff.csv", "esc\x1b[31m.csv"}
			var unseen []string // names the protocol itself cannot show
			if r.ftp {
				// FTP servers hide dot files ("..\x") and a newline splits
				// a listing line in two: neither reaches the client as a
				// name. pure-ftpd leaves out names with control characters.
				unseen = []string{"new\nline.csv", `..\win.csv`}
				if strings.HasPrefix(r.name, "pureftpd") {
					hostile, unseen = []string{`a\..\..\win.csv`, "bad\xff.csv"}, append(unseen, "ctl\x01.csv", "tab\there.csv", "esc\x1b[31m.csv")
				}
			} else {
				hostile = append(hostile, "new\nline.csv", `..\win.csv`)
			}
			for _, h := range append(hostile, unseen...) {
				if err := os.WriteFile(filepath.Join(r.srv.Dir, h), []byte("evil"), 0o666); err != nil {
					t.Fatal(err)
				}
			}
			r.srv.WriteFile(t, "ok.csv", []byte("fine"))
			f := newFixture(t, nil, pickupOptions(), r.open(t, "", 0), "")
			rc := f.poll(t)
			rc2 := f.poll(t)
			if got := tree(t, f.targetDir); !equalMaps(got, map[string]string{"ok.csv": "fine"}) {
				t.Fatalf("target %v", keys(got))
			}
			for _, h := range append(hostile, unseen...) { // left alone on the server
				if _, err := os.Stat(filepath.Join(r.srv.Dir, h)); err != nil {
					t.Errorf("%q: %v", h, err)
				}
			}
			reported := problemsText(rc) + problemsText(rc2)
			for _, h := range hostile {
				if !strings.Contains(reported, strconv.Quote(h)) {
					t.Errorf("%q not reported; problems:\n%s", h, reported)
				}
			}
		})
	}
}

// The customer's folder can be their own server: here results go from
// OfficeTrack's SFTP to the customer's FTP, keeping sub-folders, with done
// markers, and notifications land there too.
func TestRealServersToCustomerFTP(t *testing.T) {
	so, ss := transporttest.SFTP(t)
	from := sftpRemote(t, so, ss)
	co, cs := transporttest.FTP(t)
	to := ftpRemote(t, "customer-ftp", co, cs)
	files := officetracktest.FieldResultFiles(12, 5000, 2)
	for _, f := range files {
		from.srv.WriteFile(t, "out/"+f.Path, f.Content)
	}
	o := pickupOptions()
	o.SourceDir = "out"
	o.Recursive = true
	o.Target = "customer"
	o.TargetDir = "inbox/officetrack"
	o.WriteDoneMarker = ".ok"
	o.Notifications.Path = "/n"
	o.Notifications.Token = testToken
	f := newFixture(t, nil, o, from.open(t, "", 0), "")
	f.job.SetTransports(nil, to.open(t, "", 0))
	f.poll(t)
	rc := f.poll(t)
	if c := rc.Counts()["downloaded"]; c != int64(len(files)) {
		t.Fatalf("counts %v, problems %s", rc.Counts(), problemsText(rc))
	}
	got := tree(t, filepath.Join(cs.Dir, "inbox/officetrack"))
	for _, fl := range files {
		if got[fl.Path] != string(fl.Content) {
			t.Fatalf("%s missing or different on the customer's FTP: %v", fl.Path, keys(got))
		}
		if _, ok := got[fl.Path+".ok"]; !ok {
			t.Fatalf("no done marker for %s", fl.Path)
		}
	}
	if len(got) != 2*len(files) {
		t.Fatalf("unexpected files on the customer's FTP: %v", keys(got))
	}
	srv := serve(t, f)
	doc := officetracktest.FieldResultNotificationXML(event(5))
	if err := officetracktest.FieldResultPostNotification(context.Background(), nil, srv.URL+"/n?token="+testToken, doc); err != nil {
		t.Fatal(err)
	}
	notes := tree(t, filepath.Join(cs.Dir, "inbox/officetrack/notifications"))
	if len(notes) != 1 {
		t.Fatalf("notifications on the customer's FTP: %v", keys(notes))
	}
}

// lyingList reports every file one byte shorter than it is.
type lyingList struct{ transports.Transport }

func (l lyingList) List(ctx context.Context, dir string, recursive bool) ([]transports.FileInfo, error) {
	list, err := l.Transport.List(ctx, dir, recursive)
	for i := range list {
		if !list[i].IsDir {
			list[i].Size--
		}
	}
	return list, err
}

// A download is checked against the size the listing gave: a file that is
// not the listed one (changed in between) never lands in the target.
func TestRealServersSizeChecked(t *testing.T) {
	for _, r := range remotes(t, false) {
		t.Run(r.name, func(t *testing.T) {
			r.srv.WriteFile(t, "a.csv", []byte(strings.Repeat("x", 1000)))
			f := newFixture(t, nil, pickupOptions(), lyingList{r.open(t, "", -1)}, "")
			f.poll(t)
			rc := f.poll(t)
			if c := rc.Counts()["failed"]; c != 1 {
				t.Fatalf("counts %v", rc.Counts())
			}
			if got := tree(t, f.targetDir); len(got) != 0 {
				t.Fatalf("target %v", keys(got))
			}
			if _, err := os.Stat(filepath.Join(r.srv.Dir, "a.csv")); err != nil {
				t.Fatal("source removed")
			}
		})
	}
}
