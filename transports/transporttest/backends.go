package transporttest

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/transports"
	"github.com/fieldbridge/fieldbridge/transports/ftp"
	"github.com/fieldbridge/fieldbridge/transports/sftp"
)

func ftpOptions(t testing.TB, addrKey, mode string) (ftp.Options, Server) {
	t.Helper()
	s := NewServer(t, addrKey)
	host, port, err := net.SplitHostPort(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	o := ftp.DefaultOptions()
	o.Host, o.Port, o.User, o.Password, o.Root, o.TLS = host, p, s.User, s.Password, s.Rel, mode
	if mode != ftp.TLSNone {
		o.CAFile = s.CACert
	}
	o.IOTimeout = transports.Duration{Duration: 20 * time.Second}
	o.DialTimeout = transports.Duration{Duration: 10 * time.Second}
	return o, s
}

// FTP returns options for the plain-FTP vsftpd (no MLSD: LIST and MDTM),
// rooted at a fresh folder, and that folder's server side.
func FTP(t testing.TB) (ftp.Options, Server) {
	t.Helper()
	return ftpOptions(t, "FB_TEST_FTP_ADDR", ftp.TLSNone)
}

// FTPS returns options for the explicit-TLS (AUTH TLS) vsftpd, which
// demands TLS session reuse on data connections; the certificate is
// verified against the test CA.
func FTPS(t testing.TB) (ftp.Options, Server) {
	t.Helper()
	return ftpOptions(t, "FB_TEST_FTPS_ADDR", ftp.TLSExplicit)
}

// FTPSImplicit returns options for the implicit-TLS vsftpd.
func FTPSImplicit(t testing.TB) (ftp.Options, Server) {
	t.Helper()
	return ftpOptions(t, "FB_TEST_FTPS_IMPLICIT_ADDR", ftp.TLSImplicit)
}

// SFTP returns options for OpenSSH's sftp (key authentication, host key
// checked against the test known_hosts file), rooted at a fresh folder,
// and that folder's server side.
func SFTP(t testing.TB) (sftp.Options, Server) {
	t.Helper()
	s := NewServer(t, "FB_TEST_SFTP_ADDR")
	host, port, err := net.SplitHostPort(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	o := sftp.DefaultOptions()
	o.Host, o.Port, o.User, o.Root = host, p, s.User, s.Rel
	o.KeyFile, o.KnownHosts = s.KeyFile, s.KnownHosts
	o.IOTimeout = transports.Duration{Duration: 20 * time.Second}
	o.DialTimeout = transports.Duration{Duration: 10 * time.Second}
	return o, s
}
