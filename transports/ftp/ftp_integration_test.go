package ftp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/fieldbridge/fieldbridge/transports"

	"github.com/fieldbridge/fieldbridge/transports/ftp"
	"github.com/fieldbridge/fieldbridge/transports/transporttest"
)

// TestSuite runs the conformance suite against every FTP server of the
// matrix (transporttest.FTPServers): vsftpd (plain, explicit and implicit
// TLS), proftpd and pure-ftpd (plain and explicit TLS).
func TestSuite(t *testing.T) {
	for _, c := range transporttest.FTPServers() {
		t.Run(c.Name, func(t *testing.T) {
			transporttest.RunSuite(t, func(t *testing.T) transporttest.Target {
				o, srv := c.Options(t)
				fs, err := ftp.New(context.Background(), o)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { fs.Close() })
				return transporttest.Target{T: fs, Dir: srv.Dir}
			})
		})
	}
}

// TestPassiveWithoutEPSVAndMLSD lists with PASV and LIST on every server
// (each formats LIST lines its own way).
func TestPassiveWithoutEPSVAndMLSD(t *testing.T) {
	for _, c := range transporttest.FTPServers() {
		t.Run(c.Name, func(t *testing.T) {
			o, srv := c.Options(t)
			o.DisableEPSV, o.DisableMLSD = true, true
			fs, err := ftp.New(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			defer fs.Close()
			srv.WriteFile(t, "in/a.csv", []byte("abc"))
			srv.WriteFile(t, "in/caixa ção.csv", []byte("abcd"))
			srv.MkdirAll(t, "in/sub")
			list, err := fs.List(context.Background(), "in", false)
			if err != nil {
				t.Fatal(err)
			}
			if got := listed(list); got != "a.csv:3,caixa ção.csv:4,sub/" {
				t.Fatalf("List = %s", got)
			}
		})
	}
}

// TestSymlinksLeftOut: a symbolic link on the server (to a file or a
// folder outside the listed one, or to nothing) is never listed as a file
// or folder, whether the server lists with MLSD or LIST.
func TestSymlinksLeftOut(t *testing.T) {
	for _, c := range transporttest.FTPServers() {
		for _, noMLSD := range []bool{false, true} {
			name := c.Name + "/mlsd"
			if noMLSD {
				name = c.Name + "/list"
			}
			t.Run(name, func(t *testing.T) {
				o, srv := c.Options(t)
				o.DisableMLSD = noMLSD
				fs, err := ftp.New(context.Background(), o)
				if err != nil {
					t.Fatal(err)
				}
				defer fs.Close()
				srv.WriteFile(t, "in/a.csv", []byte("abc"))
				srv.WriteFile(t, "outside/secret.csv", []byte("secret"))
				srv.MkdirAll(t, "in/sub")
				for link, to := range map[string]string{"file-link.csv": "../outside/secret.csv",
					"dir-link": "../outside", "dangling.csv": "/nonexistent/x.csv"} {
					p := filepath.Join(srv.Dir, "in", link)
					if err := os.Symlink(to, p); err != nil {
						t.Fatal(err)
					}
					_ = os.Lchown(p, srv.UID, srv.GID)
				}
				list, err := fs.List(context.Background(), "in", true)
				if err != nil {
					t.Fatal(err)
				}
				if got := listed(list); got != "a.csv:3,sub/" {
					t.Errorf("List = %s", got)
				}
			})
		}
	}
}

func listed(list []transports.FileInfo) string {
	var s []string
	for _, fi := range list {
		if fi.IsDir {
			s = append(s, fi.Path+"/")
		} else {
			s = append(s, fmt.Sprintf("%s:%d", fi.Path, fi.Size))
		}
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

// TestTLSAndLoginFailuresArePermanent runs on every FTPS server (and the
// wrong password on every server): a refused certificate or login fails
// on the first connection, without retries (the servers delay a failed
// login by seconds: vsftpd through PAM ~3 s, pure-ftpd 3 to 6 s).
func TestTLSAndLoginFailuresArePermanent(t *testing.T) {
	ctx := context.Background()
	for _, srv := range transporttest.FTPServers() {
		for _, c := range []struct {
			name string
			tls  bool
			edit func(o *ftp.Options)
			ok   bool
		}{
			{"verified", false, func(o *ftp.Options) {}, true},
			{"unknown CA", true, func(o *ftp.Options) { o.CAFile = "" }, false},
			{"wrong server name", true, func(o *ftp.Options) { o.ServerName = "files.example.com" }, false},
			{"insecure skip verify", true, func(o *ftp.Options) { o.CAFile, o.InsecureSkipVerify = "", true }, true},
			{"wrong password", false, func(o *ftp.Options) { o.Password = "wrong" }, false},
		} {
			if c.tls && !strings.Contains(srv.Name, "ftps") {
				continue // certificate cases need TLS
			}
			t.Run(srv.Name+"/"+c.name, func(t *testing.T) {
				t.Parallel() // failed logins take seconds
				o, _ := srv.Options(t)
				c.edit(&o)
				port, dials := countingProxy(t, fmt.Sprintf("%s:%d", o.Host, o.Port))
				o.Port = port
				fs, err := ftp.New(ctx, o)
				if err != nil {
					t.Fatal(err)
				}
				defer fs.Close()
				start := time.Now()
				err = fs.Connect(ctx)
				if c.ok {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				if !errors.Is(err, transports.ErrPermanent) {
					t.Fatalf("err = %v, want permanent", err)
				}
				if n := dials.Load(); n != 1 {
					t.Errorf("%d control connections: a permanent failure was retried", n)
				}
				t.Logf("refused in %v: %v", time.Since(start).Round(time.Millisecond), err)
			})
		}
	}
}

// countingProxy forwards a local port to the control port at addr and
// counts the connections made through it. Data connections go to the
// server's passive ports directly.
func countingProxy(t *testing.T, addr string) (int, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			go func() {
				defer c.Close()
				s, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer s.Close()
				go func() { _, _ = io.Copy(s, c); s.Close() }()
				_, _ = io.Copy(c, s)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, &n
}

// TestConcurrentTransfersShareThePool: 12 transfers through 3 pooled
// connections, on every server.
func TestConcurrentTransfersShareThePool(t *testing.T) {
	for _, c := range transporttest.FTPServers() {
		t.Run(c.Name, func(t *testing.T) {
			o, srv := c.Options(t)
			o.MaxConns = 3
			fs, err := ftp.New(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			defer fs.Close()
			ctx := context.Background()
			var g errgroup.Group
			for i := 0; i < 12; i++ {
				g.Go(func() error {
					data := bytes.Repeat([]byte{byte('a' + i)}, 100_000+i)
					name := fmt.Sprintf("d%d/f%d.bin", i%3, i)
					if _, err := fs.Write(ctx, name, bytes.NewReader(data), transports.WriteOptions{Size: int64(len(data))}); err != nil {
						return err
					}
					rc, err := fs.Open(ctx, name)
					if err != nil {
						return err
					}
					defer rc.Close()
					got, err := io.ReadAll(rc)
					if err != nil {
						return err
					}
					if !bytes.Equal(got, data) {
						return fmt.Errorf("%s: content differs", name)
					}
					return rc.Close()
				})
			}
			if err := g.Wait(); err != nil {
				t.Fatal(err)
			}
			n := 0
			filepath.WalkDir(srv.Dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					n++
				}
				return nil
			})
			if n != 12 {
				t.Errorf("%d files on the server, want 12", n)
			}
		})
	}
}
