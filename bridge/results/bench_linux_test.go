//go:build linux

package results

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// sourceOnTmpfs mounts a tmpfs on dir (the server's export folder) for the
// benchmark and unmounts it at the end; false when it cannot (not root).
//
// On the test rig the FTP server's files and the customer's folder share
// one file system, which a real installation never does: the server is
// another machine. On an ext4 without a journal (this project's build
// machines) that matters: ext4 skips inodes freed in the last one to six
// minutes when it allocates new ones (recently_deleted in fs/ext4/ialloc.c),
// so the 2,000 sources each tool deletes as it goes are scanned over by the
// creates of the targets, at up to a millisecond a file, landing on
// whichever tool happens to allocate in the group they were freed in
// (perf: up to 85% of a run's CPU in __ext4_new_inode, then none in the
// next). With the sources on a tmpfs, the targets are the only files on
// disk, and dropCaches gives every run the same start.
func sourceOnTmpfs(b *testing.B, dir string, bytes int64) bool {
	if os.Geteuid() != 0 {
		return false
	}
	opts := fmt.Sprintf("size=%d,mode=0777", bytes+64<<20)
	if err := unix.Mount("fieldbridge-bench", dir, "tmpfs", 0, opts); err != nil {
		b.Logf("sources stay on disk: mounting a tmpfs on %s: %v", dir, err)
		return false
	}
	b.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			b.Errorf("unmounting the tmpfs on %s: %v", dir, err)
		}
	})
	return true
}

// dropCaches empties the kernel's caches (after a sync): ext4 looks for
// recently deleted inodes only in inode-table blocks still cached, so the
// files earlier rounds (and earlier benchmarks) deleted cost no run
// anything. Root only, like sourceOnTmpfs.
func dropCaches(b *testing.B) {
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200); err != nil {
		b.Fatalf("dropping the caches: %v", err)
	}
}

// targetOnExt4 makes a fresh ext4 file system with a journal (mkfs.ext4's
// defaults, inode tables written at once) in a sparse image of the given
// size, mounts it on a loop device and returns the mount point, unmounted
// and removed at the end; "" when it cannot (not root, no mkfs.ext4).
//
// The customer's folder is on a journalled file system on every
// distribution; this machine's root file system has no journal, and there
// ext4 also skips recently freed inodes when it allocates (see
// sourceOnTmpfs), so the 20,000 files the previous benchmark removed slow
// the creates of the next one's — of whichever tool meets them.
func targetOnExt4(b *testing.B, size int64) string {
	if os.Geteuid() != 0 {
		return ""
	}
	mkfs, err := exec.LookPath("mkfs.ext4")
	if err != nil {
		b.Logf("targets stay on %s: %v", os.TempDir(), err)
		return ""
	}
	dir := b.TempDir()
	img, mnt := filepath.Join(dir, "target.img"), filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(img)
	if err == nil {
		err = f.Truncate(size)
		f.Close()
	}
	if err != nil {
		b.Fatalf("target image: %v", err)
	}
	if out, err := exec.Command(mkfs, "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", img).CombinedOutput(); err != nil {
		b.Logf("targets stay on %s: mkfs.ext4: %v %s", os.TempDir(), err, out)
		return ""
	}
	// Direct I/O from the loop device to its image: written once, not
	// cached a second time under the image's own pages.
	out, err := exec.Command("losetup", "--find", "--show", "--direct-io=on", img).Output()
	if err != nil {
		b.Logf("targets stay on %s: losetup: %v", os.TempDir(), err)
		return ""
	}
	dev := strings.TrimSpace(string(out))
	if out, err := exec.Command("mount", dev, mnt).CombinedOutput(); err != nil {
		_ = exec.Command("losetup", "-d", dev).Run()
		b.Logf("targets stay on %s: mount %s: %v %s", os.TempDir(), dev, err, out)
		return ""
	}
	b.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			b.Errorf("umount %s: %v %s", mnt, err, out)
		}
		if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
			b.Errorf("losetup -d %s: %v %s", dev, err, out)
		}
	})
	return mnt
}

// serverCPU is the CPU time (user + system) used so far by the processes
// named comm (the FTP server) and by their children already reaped: the
// per-session processes vsftpd, proftpd and pure-ftpd fork for each
// connection end with their sessions, and their time is added to their
// parent's. 0 when /proc cannot be read.
func serverCPU(comm string) time.Duration {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	tick := time.Second / 100 // USER_HZ on every Linux port
	var total time.Duration
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open || s[open+1:end] != comm {
			continue
		}
		// After "(comm) ": state is field 3; utime, stime, cutime and
		// cstime are fields 14 to 17 (proc(5)).
		f := strings.Fields(s[end+1:])
		if len(f) < 15 {
			continue
		}
		for _, v := range f[11:15] {
			n, _ := strconv.ParseInt(v, 10, 64)
			total += time.Duration(n) * tick
		}
	}
	return total
}

// cpuTimes is what /proc/stat says of all CPUs together since boot: the
// time they were busy, idle and waiting for I/O.
type cpuTimes struct{ busy, idle, iowait time.Duration }

// machineCPU reads the first line of /proc/stat; zero when it cannot.
func machineCPU() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return cpuTimes{}
	}
	tick := time.Second / 100 // USER_HZ
	var t cpuTimes
	// user nice system idle iowait irq softirq steal ... (proc(5))
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		d := time.Duration(n) * tick
		switch i {
		case 3:
			t.idle = d
		case 4:
			t.iowait = d
		case 0, 1, 2, 5, 6, 7:
			t.busy += d
		}
	}
	return t
}
