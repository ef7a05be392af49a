package transporttest

import (
	"testing"

	"github.com/fieldbridge/fieldbridge/transports/ftp"
)

// FTPServer is one real FTP server flavour of the test matrix.
type FTPServer struct {
	// Name says which server and how it is spoken to ("proftpd-ftps").
	Name string
	// Options returns options rooted at a fresh folder on it, and that
	// folder's server side.
	Options func(testing.TB) (ftp.Options, Server)
}

// FTPServers lists every FTP and FTPS server of the matrix that
// scripts/test-servers starts: vsftpd (LIST with minutes, MDTM, no MLSD),
// proftpd and pure-ftpd (MLSD), each in plain FTP and explicit FTPS, and
// vsftpd in implicit FTPS.
func FTPServers() []FTPServer {
	return []FTPServer{
		{"vsftpd", FTP},
		{"vsftpd-ftps", FTPS},
		{"vsftpd-ftps-implicit", FTPSImplicit},
		{"proftpd", ProFTPD},
		{"proftpd-ftps", ProFTPDS},
		{"pureftpd", PureFTPD},
		{"pureftpd-ftps", PureFTPDS},
	}
}

// ProFTPD returns options for the plain-FTP proftpd (MLSD; symbolic links
// shown as such).
func ProFTPD(t testing.TB) (ftp.Options, Server) {
	t.Helper()
	return ftpOptions(t, "FB_TEST_PROFTPD_ADDR", ftp.TLSNone)
}

// ProFTPDS returns options for proftpd with explicit TLS (mod_tls,
// TLSRequired), the certificate verified against the test CA.
func ProFTPDS(t testing.TB) (ftp.Options, Server) {
	t.Helper()
	return ftpOptions(t, "FB_TEST_PROFTPD_FTPS_ADDR", ftp.TLSExplicit)
}

// PureFTPD returns options for the plain-FTP pure-ftpd (a virtual user
// chrooted to the served folder).
func PureFTPD(t testing.TB) (ftp.Options, Server) {
	t.Helper()
	return ftpOptions(t, "FB_TEST_PUREFTPD_ADDR", ftp.TLSNone)
}

// PureFTPDS returns options for pure-ftpd with TLS required (-Y 2).
func PureFTPDS(t testing.TB) (ftp.Options, Server) {
	t.Helper()
	return ftpOptions(t, "FB_TEST_PUREFTPD_FTPS_ADDR", ftp.TLSExplicit)
}
