package transports_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/transports"
	"github.com/fieldbridge/fieldbridge/transports/ftp"
	"github.com/fieldbridge/fieldbridge/transports/sftp"
	"github.com/fieldbridge/fieldbridge/transports/transporttest"
)

// BenchmarkTransfer uploads and downloads a file (256 MiB by default,
// FB_BENCH_MIB to change) to the real test servers, with fieldbridge's
// transports and with curl on the same server in the same run, and
// reports both throughputs and their ratio (x-curl, goal >= 0.9).
//
//	scripts/test-servers start
//	go test -run '^$' -bench Transfer -benchtime 1x ./transports/
//
// (scripts/bench-transports does both.)
func BenchmarkTransfer(b *testing.B) {
	if _, err := exec.LookPath("curl"); err != nil {
		b.Skip("curl not installed")
	}
	mib := 256
	if v := os.Getenv("FB_BENCH_MIB"); v != "" {
		fmt.Sscan(v, &mib)
	}
	size := int64(mib) << 20
	work := b.TempDir()
	src := filepath.Join(work, "payload.bin")
	f, err := os.Create(src)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		b.Fatal(err)
	}
	f.Close()

	type backend struct {
		name string
		open func(b *testing.B) (transports.Transport, transporttest.Server, func(remote string) (string, []string))
	}
	ftpLike := func(opts func(testing.TB) (ftp.Options, transporttest.Server), scheme string, extra ...string) func(b *testing.B) (transports.Transport, transporttest.Server, func(string) (string, []string)) {
		return func(b *testing.B) (transports.Transport, transporttest.Server, func(string) (string, []string)) {
			o, srv := opts(b)
			fs, err := ftp.New(context.Background(), o)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { fs.Close() })
			return fs, srv, func(remote string) (string, []string) {
				u := fmt.Sprintf("%s://%s@%s/%s/%s", scheme, url.UserPassword(srv.User, srv.Password).String(), srv.Addr, srv.Rel, remote)
				return u, append([]string{"--ftp-pasv"}, extra...)
			}
		}
	}
	backends := []backend{
		{"ftp", ftpLike(transporttest.FTP, "ftp")},
		{"ftps", ftpLike(transporttest.FTPS, "ftp", "--ssl-reqd", "--cacert", transporttest.Env(b)["FB_TEST_CA_CERT"])},
		{"sftp", func(b *testing.B) (transports.Transport, transporttest.Server, func(string) (string, []string)) {
			o, srv := transporttest.SFTP(b)
			fs, err := sftp.New(context.Background(), o)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { fs.Close() })
			return fs, srv, func(remote string) (string, []string) {
				u := fmt.Sprintf("sftp://%s@%s/~/%s/%s", url.UserPassword(srv.User, srv.Password).String(), srv.Addr, srv.Rel, remote)
				return u, []string{"--hostpubsha256", strings.TrimPrefix(srv.Fingerprint, "SHA256:")}
			}
		}},
	}
	// pair runs fieldbridge and curl alternately, each after flushing the
	// page cache's dirty pages (so neither pays for the other's disk
	// writes), and keeps the best of each.
	pair := func(runs int, ours, curl func() time.Duration) (time.Duration, time.Duration) {
		var o, c time.Duration
		for i := 0; i < runs; i++ {
			syncDisks()
			if d := ours(); o == 0 || d < o {
				o = d
			}
			syncDisks()
			if d := curl(); c == 0 || d < c {
				c = d
			}
		}
		return o, c
	}
	mbps := func(d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }
	ctx := context.Background()
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			tr, srv, curlURL := be.open(b)
			curl := func(args ...string) {
				cmd := exec.Command("curl", append([]string{"-sS", "--fail"}, args...)...)
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
			b.Run("upload", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					u, extra := curlURL("curl-up.bin")
					ours, theirs := pair(3, func() time.Duration {
						os.Remove(filepath.Join(srv.Dir, "up.bin"))
						in, _ := os.Open(src)
						defer in.Close()
						start := time.Now()
						if _, err := tr.Write(ctx, "up.bin", in, transports.WriteOptions{Size: size}); err != nil {
							b.Fatal(err)
						}
						return time.Since(start)
					}, func() time.Duration {
						os.Remove(filepath.Join(srv.Dir, "curl-up.bin"))
						start := time.Now()
						curl(append(extra, "-T", src, u)...)
						return time.Since(start)
					})
					report(b, "upload", be.name, mbps(ours), mbps(theirs))
				}
			})
			b.Run("download", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					srv.WriteFile(b, "down.bin", nil)
					if err := os.Link(src, filepath.Join(srv.Dir, "down2.bin")); err != nil {
						copyFile(b, src, filepath.Join(srv.Dir, "down2.bin"))
					}
					dst := filepath.Join(work, "dl.bin")
					u, extra := curlURL("down2.bin")
					ours, theirs := pair(3, func() time.Duration {
						out, _ := os.Create(dst)
						defer out.Close()
						start := time.Now()
						rc, err := tr.Open(ctx, "down2.bin")
						if err != nil {
							b.Fatal(err)
						}
						n, err := io.Copy(out, rc)
						if err != nil || n != size {
							b.Fatalf("download: %d bytes, %v", n, err)
						}
						if err := rc.Close(); err != nil {
							b.Fatal(err)
						}
						return time.Since(start)
					}, func() time.Duration {
						start := time.Now()
						curl(append(extra, "-o", dst, u)...)
						return time.Since(start)
					})
					report(b, "download", be.name, mbps(ours), mbps(theirs))
				}
			})
		})
	}
}

func report(b *testing.B, dir, name string, ours, curl float64) {
	b.ReportMetric(ours, "MB/s")
	b.ReportMetric(curl, "curl-MB/s")
	b.ReportMetric(ours/curl, "x-curl")
	fmt.Fprintf(os.Stderr, "%-5s %-8s fieldbridge %8.1f MB/s   curl %8.1f MB/s   ratio %.2fx\n", name, dir, ours, curl, ours/curl)
}

func copyFile(b *testing.B, from, to string) {
	in, err := os.Open(from)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
}
