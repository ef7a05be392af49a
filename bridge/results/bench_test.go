package results

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/bridgetest/cputime"
	"github.com/fieldbridge/fieldbridge/transports/ftp"
	"github.com/fieldbridge/fieldbridge/transports/transporttest"
)

// BenchmarkPickupFTP picks up result files from the real vsftpd (plain
// FTP on loopback; RESULTS_BENCH_SERVER=proftpd or pureftpd for another)
// into a local customer folder — 2,000 files of 100 KiB, then one file of
// 512 MiB — and runs `lftp mirror` (and curl for the big file) on the same
// server in the same run, each baseline doing the same work: download and
// remove the source. Ours includes the ledger (SQLite, synchronous=FULL),
// fsync of every file (batched: concurrent fsyncs per commit) and of its
// folder (once per batch), and the observation poll that stability needs.
//
// Run as root (scripts/bench-results on the project's machines, or under
// sudo), the server's files are on a tmpfs and the customer's folders on a
// fresh journalled ext4, so that what this machine's root file system
// freed earlier does not decide the result (sourceOnTmpfs, targetOnExt4);
// RESULTS_BENCH_SOURCE=disk and RESULTS_BENCH_TARGET=tmpdir measure the
// old way.
//
//	scripts/bench-results   (RESULTS_BENCH_FILES, RESULTS_BENCH_LARGE_MIB,
//	                         RESULTS_BENCH_CONNS to change the sizes,
//	                         RESULTS_BENCH_SERVER the server,
//	                         RESULTS_BENCH_ROUNDS the rounds)
func BenchmarkPickupFTP(b *testing.B) {
	if _, err := exec.LookPath("lftp"); err != nil {
		b.Skip("lftp is not installed (apt-get install -y lftp); the comparison needs it")
	}
	nFiles := envInt("RESULTS_BENCH_FILES", 2000)
	largeMiB := envInt("RESULTS_BENCH_LARGE_MIB", 512)
	conns := envInt("RESULTS_BENCH_CONNS", 4)

	b.Run(fmt.Sprintf("small_%dx100KiB", nFiles), func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			benchPickup(b, nFiles, 100<<10, conns)
		}
	})
	b.Run(fmt.Sprintf("large_1x%dMiB", largeMiB), func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			benchPickup(b, 1, int64(largeMiB)<<20, 1)
		}
	})
}

func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil && v > 0 {
		return v
	}
	return def
}

func benchPickup(b *testing.B, n int, size int64, conns int) {
	b.StopTimer()
	server := os.Getenv("RESULTS_BENCH_SERVER")
	if server == "" {
		server = "vsftpd"
	}
	var opts func(testing.TB) (ftp.Options, transporttest.Server)
	for _, s := range transporttest.FTPServers() {
		if s.Name == server {
			opts = s.Options
		}
	}
	if opts == nil || strings.Contains(server, "ftps") {
		b.Fatalf("RESULTS_BENCH_SERVER=%q: use a plain-FTP server of the matrix (vsftpd, proftpd, pureftpd)", server)
	}
	o, srv := opts(b)
	o.MaxConns = conns
	total := float64(n) * float64(size)
	// The sources go on a tmpfs (see sourceOnTmpfs) unless
	// RESULTS_BENCH_SOURCE=disk.
	where := "disk"
	if os.Getenv("RESULTS_BENCH_SOURCE") != "disk" && sourceOnTmpfs(b, srv.MkdirAll(b, "export"), int64(total)) {
		where = "tmpfs"
	}
	// The targets go on a fresh journalled ext4 (see targetOnExt4) unless
	// RESULTS_BENCH_TARGET=tmpdir; each run's folder is removed after its
	// check there.
	targetRoot, targetFS := "", os.TempDir()
	if os.Getenv("RESULTS_BENCH_TARGET") != "tmpdir" {
		if mnt := targetOnExt4(b, 3*int64(total)+512<<20); mnt != "" {
			targetRoot, targetFS = mnt, "a fresh ext4 with a journal"
		}
	}
	runs := 0
	targetDir := func(tool string) string {
		if targetRoot == "" {
			return filepath.Join(b.TempDir(), tool)
		}
		runs++
		return filepath.Join(targetRoot, fmt.Sprintf("%s-%d", tool, runs))
	}
	done := func(dir string) {
		if targetRoot != "" {
			if err := os.RemoveAll(dir); err != nil {
				b.Fatal(err)
			}
		}
	}
	fill := func() {
		chunk := make([]byte, 1<<20)
		_, _ = rand.Read(chunk)
		for i := 0; i < n; i++ {
			p := filepath.Join(srv.MkdirAll(b, "export"), fmt.Sprintf("r%05d.bin", i))
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o666)
			if err != nil {
				b.Fatal(err)
			}
			writeChunks(b, f, chunk, size)
			f.Close()
			_ = os.Lchown(p, srv.UID, srv.GID)
		}
		// Let the mtimes settle so both sides see finished files.
		past := time.Now().Add(-time.Minute)
		_ = filepath.Walk(filepath.Join(srv.Dir, "export"), func(p string, _ os.FileInfo, _ error) error {
			_ = os.Chtimes(p, past, past)
			return nil
		})
	}
	// Every run starts with nothing waiting to be written back: a run
	// that leaves dirty pages (lftp and curl do not fsync) would otherwise
	// make the next run's fsyncs pay for them.
	syncAll := func() time.Duration {
		t0 := time.Now()
		if out, err := exec.Command("sync").CombinedOutput(); err != nil {
			b.Fatalf("sync: %v %s", err, out)
		}
		d := time.Since(t0)
		if where == "tmpfs" {
			dropCaches(b)
		}
		return d
	}
	check := func(what, dir string) {
		var cnt int
		var bytes int64
		_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				cnt++
				bytes += fi.Size()
			}
			return nil
		})
		if cnt != n || bytes != int64(total) {
			b.Fatalf("%s: %d files / %d bytes, want %d / %.0f", what, cnt, bytes, n, total)
		}
		left, _ := os.ReadDir(filepath.Join(srv.Dir, "export"))
		if len(left) != 0 {
			b.Fatalf("%s left %d files on the server", what, len(left))
		}
	}

	// CPU time (user + system) of each run of ours and of lftp: on a
	// small machine the two processes and the FTP server share the CPUs,
	// and the CPU a tool needs per file bounds its rate.
	var ourCPU, lftpCPU []time.Duration
	// And the FTP server's, for each tool's run: every command a tool
	// sends costs the server too, on the same CPUs.
	serverComm := map[string]string{"vsftpd": "vsftpd", "proftpd": "proftpd", "pureftpd": "pure-ftpd"}[server]
	var ourServerCPU, lftpServerCPU []time.Duration
	// And the whole machine's, for each tool's run: how much of the CPUs'
	// time was busy, idle and waiting for the disk. A tool that leaves the
	// CPUs idle is waiting somewhere; one that keeps them busy is bound by
	// the CPU time that it and the server need per file.
	var ourMachine, lftpMachine []cpuTimes
	// lftp mirror, removing the source files like our after = "delete".
	lftpRun := func() (time.Duration, time.Duration) {
		fill()
		syncAll()
		dst := targetDir("lftp")
		par := conns
		script := fmt.Sprintf("set cmd:fail-exit yes; set net:max-retries 2; set xfer:clobber on; open -u %s --env-password -p %d %s; mirror --parallel=%d --Remove-source-files %s/export %s",
			o.User, o.Port, o.Host, par, o.Root, dst)
		cmd := exec.Command("lftp", "-c", script)
		cmd.Env = append(os.Environ(), "LFTP_PASSWORD="+o.Password)
		t0, s0, m0 := time.Now(), serverCPU(serverComm), machineCPU()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("lftp: %v\n%s", err, out)
		}
		d := time.Since(t0)
		lftpMachine = append(lftpMachine, machineCPU().sub(m0))
		lftpServerCPU = append(lftpServerCPU, serverCPU(serverComm)-s0)
		lftpCPU = append(lftpCPU, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
		check("lftp", dst)
		synced := d + syncAll()
		done(dst)
		return d, synced
	}
	// curl for a single file (download, then DELE in the same session).
	curlRun := func() time.Duration {
		fill()
		syncAll()
		dst := targetDir("curl")
		os.MkdirAll(dst, 0o755)
		t0 := time.Now()
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("r%05d.bin", i)
			u := fmt.Sprintf("ftp://%s:%d/%s/export/%s", o.Host, o.Port, o.Root, name)
			cmd := exec.Command("curl", "-sS", "--fail", "-u", o.User+":"+o.Password, "-Q", "-DELE "+name, "-o", filepath.Join(dst, name), u)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("curl: %v\n%s", err, out)
			}
		}
		d := time.Since(t0)
		check("curl", dst)
		syncAll()
		done(dst)
		return d
	}
	// The disk's floor for one large file: the same bytes written and
	// flushed (fsync, then the folder's) with no network at all. A tool
	// that makes the file durable cannot be faster than this; one that
	// does not (lftp, curl) can, while its bytes wait in memory.
	floorRun := func() time.Duration {
		syncAll()
		dst := targetDir("floor")
		if err := os.MkdirAll(dst, 0o755); err != nil {
			b.Fatal(err)
		}
		chunk := make([]byte, 1<<20)
		_, _ = rand.Read(chunk)
		t0 := time.Now()
		f, err := os.Create(filepath.Join(dst, "floor.bin"))
		if err != nil {
			b.Fatal(err)
		}
		writeChunks(b, f, chunk, size)
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		f.Close()
		if d, err := os.Open(dst); err == nil {
			_ = d.Sync()
			d.Close()
		}
		d := time.Since(t0)
		done(dst)
		return d
	}
	oursRun := func() (all, take time.Duration) {
		fill()
		syncAll()
		opts := pickupOptions()
		opts.SourceDir = "export"
		opts.Connections = conns
		src, err := ftp.New(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		f := newFixture(b, nil, opts, src, targetDir("ours"))
		t0 := time.Now()
		c0, s0, m0 := cputime.Used(), serverCPU(serverComm), machineCPU()
		rc := f.poll(b)
		t1 := time.Now()
		rc = f.poll(b)
		t2 := time.Now()
		ourMachine = append(ourMachine, machineCPU().sub(m0))
		ourCPU = append(ourCPU, cputime.Used()-c0)
		ourServerCPU = append(ourServerCPU, serverCPU(serverComm)-s0)
		if c := rc.Counts()["downloaded"]; c != int64(n) {
			b.Fatalf("ours: downloaded %d of %d: %v %s", c, n, rc.Counts(), problemsText(rc))
		}
		check("fieldbridge", f.targetDir)
		syncAll()
		done(f.targetDir)
		return t2.Sub(t0), t2.Sub(t1)
	}

	// Alternate the tools over several rounds, each going first in every
	// other round (this machine's disk speed drifts within a run), and
	// compare medians; each round's own ratio is printed too.
	rounds := envInt("RESULTS_BENCH_ROUNDS", 5)
	var lftps, lftpSyncs, ourAll, ourTake, curls, floors []time.Duration
	var paired, pairedSync []float64
	for r := 0; r < rounds; r++ {
		var l, ls, a, tk time.Duration
		if r%2 == 0 {
			l, ls = lftpRun()
			a, tk = oursRun()
		} else {
			a, tk = oursRun()
			l, ls = lftpRun()
		}
		lftps, lftpSyncs = append(lftps, l), append(lftpSyncs, ls)
		ourAll, ourTake = append(ourAll, a), append(ourTake, tk)
		paired = append(paired, l.Seconds()/a.Seconds())
		pairedSync = append(pairedSync, ls.Seconds()/a.Seconds())
		if n == 1 {
			curls = append(curls, curlRun())
			floors = append(floors, floorRun())
		}
	}
	mb := total / 1e6
	rate := func(d time.Duration) string {
		return fmt.Sprintf("%7.1f files/s %8.1f MB/s", float64(n)/d.Seconds(), mb/d.Seconds())
	}
	show := func(what string, ds []time.Duration) time.Duration {
		m := median(ds)
		var each []string
		for _, d := range ds {
			each = append(each, d.Round(time.Millisecond).String())
		}
		b.Logf("  %-24s median %8s %s   (runs: %s)", what, m.Round(time.Millisecond), rate(m), strings.Join(each, " "))
		return m
	}
	b.Logf("%d files x %d bytes from %s (its files on %s) into %s, %d connection(s), %d rounds:", n, size, server, where, targetFS, conns, rounds)
	ours := show("fieldbridge (2 polls)", ourAll)
	take := show("fieldbridge take poll", ourTake)
	best := show("lftp mirror", lftps)
	bestSynced := show("lftp mirror + sync", lftpSyncs)
	if n == 1 {
		if c := show("curl", curls); c < best {
			best = c
		}
		fl := show("disk floor (write+fsync)", floors)
		b.Logf("  writing the bytes durably, without any network, takes %.2fx lftp's time; fieldbridge takes %.2fx the floor (both polls: the rest is what of the download, hashing and checks does not overlap the write-back)",
			fl.Seconds()/best.Seconds(), ours.Seconds()/fl.Seconds())
	}
	cpu := func(what string, ours, lftp []time.Duration) {
		if oc, lc := median(ours), median(lftp); oc > 0 && lc > 0 {
			b.Logf("  %s, medians: %v, %v (%.2fx); per file %v and %v", what,
				oc.Round(time.Millisecond), lc.Round(time.Millisecond), oc.Seconds()/lc.Seconds(),
				(oc / time.Duration(n)).Round(time.Microsecond), (lc / time.Duration(n)).Round(time.Microsecond))
		}
	}
	cpu("CPU time (user+system) of fieldbridge and of lftp", ourCPU, lftpCPU)
	cpu(server+"'s CPU time serving fieldbridge and serving lftp", ourServerCPU, lftpServerCPU)
	if om, lm := shares(ourMachine), shares(lftpMachine); om != "" && lm != "" {
		b.Logf("  the CPUs' time during the runs: fieldbridge's %s; lftp's %s", om, lm)
	}
	b.Logf("  ratio to the best baseline (no fsync): %.2fx (take poll alone: %.2fx)", best.Seconds()/ours.Seconds(), best.Seconds()/take.Seconds())
	b.Logf("  each round's ratio to lftp mirror (both polls): %s (geometric mean %.2fx)", ratios(paired), geomean(paired))
	b.Logf("  each round's ratio to lftp mirror + sync: %s (geometric mean %.2fx)", ratios(pairedSync), geomean(pairedSync))
	b.Logf("  ratio to lftp + sync: %.2fx (take poll alone: %.2fx)", bestSynced.Seconds()/ours.Seconds(), bestSynced.Seconds()/take.Seconds())
	b.ReportMetric(float64(n)/ours.Seconds(), "files/s")
	b.ReportMetric(mb/ours.Seconds(), "MB/s")
	b.ReportMetric(best.Seconds()/ours.Seconds(), "x_baseline")
}

// sub is the CPU time between u and t.
func (t cpuTimes) sub(u cpuTimes) cpuTimes {
	return cpuTimes{busy: t.busy - u.busy, idle: t.idle - u.idle, iowait: t.iowait - u.iowait}
}

// shares tells the shares of busy, idle and iowait time over all runs
// together; "" when the system does not say.
func shares(runs []cpuTimes) string {
	var sum cpuTimes
	for _, t := range runs {
		sum.busy, sum.idle, sum.iowait = sum.busy+t.busy, sum.idle+t.idle, sum.iowait+t.iowait
	}
	all := (sum.busy + sum.idle + sum.iowait).Seconds()
	if all <= 0 {
		return ""
	}
	pc := func(d time.Duration) float64 { return 100 * d.Seconds() / all }
	return fmt.Sprintf("busy %.0f%%, idle %.0f%%, idle waiting for the disk %.0f%%", pc(sum.busy), pc(sum.idle), pc(sum.iowait))
}

// writeChunks writes size bytes to f, chunk after chunk.
func writeChunks(b *testing.B, f *os.File, chunk []byte, size int64) {
	for left := size; left > 0; {
		k := min(left, int64(len(chunk)))
		if _, err := f.Write(chunk[:k]); err != nil {
			b.Fatal(err)
		}
		left -= k
	}
}

// ratios prints per-round ratios.
func ratios(rs []float64) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = fmt.Sprintf("%.2f", r)
	}
	return strings.Join(out, " ")
}

// geomean is the geometric mean of per-round ratios: the two tools run
// back to back in each round, so a round's ratio cancels the drift of
// this machine's disk and CPU between rounds.
func geomean(rs []float64) float64 {
	if len(rs) == 0 {
		return 0
	}
	sum := 0.0
	for _, r := range rs {
		sum += math.Log(r)
	}
	return math.Exp(sum / float64(len(rs)))
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
