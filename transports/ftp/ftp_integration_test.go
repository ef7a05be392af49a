package ftp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/fieldbridge/fieldbridge/transports"

	"github.com/fieldbridge/fieldbridge/transports/ftp"
	"github.com/fieldbridge/fieldbridge/transports/transporttest"
)

// TestSuite runs the conformance suite against every FTP server of the
// matrix: vsftpd, proftpd and pure-ftpd, plain and FTPS.
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

func TestPassiveWithoutEPSVAndMLSD(t *testing.T) {
	o, srv := transporttest.FTP(t)
	o.DisableEPSV, o.DisableMLSD = true, true
	fs, err := ftp.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	srv.WriteFile(t, "in/a.csv", []byte("abc"))
	list, err := fs.List(context.Background(), "in", false)
	if err != nil || len(list) != 1 || list[0].Path != "a.csv" || list[0].Size != 3 {
		t.Fatalf("List = %+v, %v", list, err)
	}
}

func TestTLSAndLoginFailuresArePermanent(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		edit func(o *ftp.Options)
		ok   bool
	}{
		{"verified", func(o *ftp.Options) {}, true},
		{"unknown CA", func(o *ftp.Options) { o.CAFile = "" }, false},
		{"wrong server name", func(o *ftp.Options) { o.ServerName = "files.example.com" }, false},
		{"insecure skip verify", func(o *ftp.Options) { o.CAFile, o.InsecureSkipVerify = "", true }, true},
		{"wrong password", func(o *ftp.Options) { o.Password = "wrong" }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			o, _ := transporttest.FTPS(t)
			c.edit(&o)
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
			// vsftpd (PAM) delays a failed login by ~3s; retries would
			// multiply that
			if time.Since(start) > 6*time.Second {
				t.Errorf("took %v: a permanent failure was retried", time.Since(start))
			}
			t.Logf("refused: %v", err)
		})
	}
}

func TestConcurrentTransfersShareThePool(t *testing.T) {
	o, srv := transporttest.FTPS(t)
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
}
