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
	// folder's server side (as FTP, FTPS, ... do).
	Options func(testing.TB) (ftp.Options, Server)
}

// FTPServers lists every FTP and FTPS server of the matrix that
// scripts/test-servers starts: vsftpd, vsftpd-ftps, vsftpd-ftps-implicit,
// proftpd, proftpd-ftps, pureftpd, pureftpd-ftps. They differ where
// transports meet real servers: vsftpd has no MLSD (LIST times to the
// minute, or the day for files older than six months; MDTM to the
// second); proftpd and pure-ftpd list with MLSD (times to the second),
// and show symbolic links there as "type=OS.unix=symlink" (proftpd, which
// leaves out dangling ones) or "type=OS.unix=slink:" (pure-ftpd). None
// lists dot files in LIST without "-a"; MLSD shows them. Each FTPS
// flavour demands TLS and a resumed TLS session on data connections
// (vsftpd require_ssl_reuse, proftpd mod_tls's default).
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

// ProFTPD returns options for the plain-FTP proftpd (MLSD, MFMT; symbolic
// links shown as they are), rooted at a fresh folder, and that folder's
// server side.
func ProFTPD(t testing.TB) (ftp.Options, Server) {
	t.Helper()
	return ftpOptions(t, "FB_TEST_PROFTPD_ADDR", ftp.TLSNone)
}

// ProFTPDS returns options for proftpd with explicit TLS (mod_tls,
// TLSRequired on, session reuse required on data connections); the
// certificate is verified against the test CA.
func ProFTPDS(t testing.TB) (ftp.Options, Server) {
	t.Helper()
	return ftpOptions(t, "FB_TEST_PROFTPD_FTPS_ADDR", ftp.TLSExplicit)
}

// PureFTPD returns options for the plain-FTP pure-ftpd (MLSD, MFMT; a
// virtual user chrooted to the served folder).
func PureFTPD(t testing.TB) (ftp.Options, Server) {
	t.Helper()
	return ftpOptions(t, "FB_TEST_PUREFTPD_ADDR", ftp.TLSNone)
}

// PureFTPDS returns options for pure-ftpd with explicit TLS required
// (-Y 2); the certificate is verified against the test CA.
func PureFTPDS(t testing.TB) (ftp.Options, Server) {
	t.Helper()
	return ftpOptions(t, "FB_TEST_PUREFTPD_FTPS_ADDR", ftp.TLSExplicit)
}
