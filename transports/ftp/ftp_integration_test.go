package ftp_test

import (
	"context"
	"testing"

	"github.com/fieldbridge/fieldbridge/transports/ftp"
	"github.com/fieldbridge/fieldbridge/transports/transporttest"
)

func TestSuiteVsftpd(t *testing.T) {
	for _, c := range []struct {
		name string
		opts func(testing.TB) (ftp.Options, transporttest.Server)
	}{
		{"plain", transporttest.FTP},
		{"explicit-tls", transporttest.FTPS},
		{"implicit-tls", transporttest.FTPSImplicit},
	} {
		t.Run(c.name, func(t *testing.T) {
			transporttest.RunSuite(t, func(t *testing.T) transporttest.Target {
				o, srv := c.opts(t)
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
