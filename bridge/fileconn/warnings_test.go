package fileconn_test

import (
	"strings"
	"testing"

	"github.com/fieldbridge/fieldbridge/bridge/fileconn"
	"github.com/fieldbridge/fieldbridge/transports/ftp"
	"github.com/fieldbridge/fieldbridge/transports/local"
	"github.com/fieldbridge/fieldbridge/transports/sftp"
)

func TestWarnings(t *testing.T) {
	const pw = "hunter2-Secret"
	ftpOpts := func(f func(*ftp.Options)) *ftp.Options {
		o := ftp.DefaultOptions()
		o.Host, o.User, o.Password = "ftp.example.com", "u", pw
		f(&o)
		return &o
	}
	sftpOpts := func(f func(*sftp.Options)) *sftp.Options {
		o := sftp.DefaultOptions()
		o.Host, o.User, o.Password, o.KeyPassphrase = "sftp.example.com", "u", pw, pw
		f(&o)
		return &o
	}
	for _, c := range []struct {
		name, typ string
		opts      any
		want      string // fragment of the one warning; "" none
	}{
		{"ftps verified", fileconn.FTPS, ftpOpts(func(o *ftp.Options) {}), ""},
		{"ftps own CA", fileconn.FTPS, ftpOpts(func(o *ftp.Options) { o.CAFile = "ca.pem" }), ""},
		{"ftps skip verify", fileconn.FTPS, ftpOpts(func(o *ftp.Options) { o.InsecureSkipVerify = true }), "insecure_skip_verify = true — the server's TLS certificate is not verified"},
		{"ftp skip verify, value options", fileconn.FTP, *ftpOpts(func(o *ftp.Options) { o.InsecureSkipVerify = true }), "Set ca_file to the server's CA instead."},
		{"ftp skip verify with ca_file", fileconn.FTP, ftpOpts(func(o *ftp.Options) { o.InsecureSkipVerify, o.CAFile = true, "ca.pem" }), "ca_file is set but not used"},
		{"ftp plain", fileconn.FTP, ftpOpts(func(o *ftp.Options) { o.TLS = ftp.TLSNone; o.InsecureSkipVerify = true }), `tls = "none"`},
		{"sftp fingerprint", fileconn.SFTP, sftpOpts(func(o *sftp.Options) { o.HostFingerprint = "SHA256:abc" }), ""},
		{"sftp fingerprint wins over the flag", fileconn.SFTP, sftpOpts(func(o *sftp.Options) { o.HostFingerprint, o.InsecureIgnoreHostKey = "SHA256:abc", true }), ""},
		{"sftp known_hosts", fileconn.SFTP, sftpOpts(func(o *sftp.Options) { o.KnownHosts = "kh" }), ""},
		{"sftp ignore host key", fileconn.SFTP, sftpOpts(func(o *sftp.Options) { o.InsecureIgnoreHostKey = true }), "the server's host key is not checked"},
		{"sftp known_hosts and the flag", fileconn.SFTP, sftpOpts(func(o *sftp.Options) { o.KnownHosts, o.InsecureIgnoreHostKey = "kh", true }), "if known_hosts does not list this server, any host key is accepted"},
		{"local", fileconn.Local, &local.Options{Root: "/x"}, ""},
		{"not a file connection", "ozmap", &struct{ InsecureSkipVerify bool }{true}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ws := fileconn.Warnings(c.typ, c.opts)
			if c.want == "" {
				if len(ws) != 0 {
					t.Fatalf("warnings = %q, want none", ws)
				}
				return
			}
			if len(ws) != 1 || !strings.Contains(ws[0], c.want) {
				t.Fatalf("warnings = %q, want one with %q", ws, c.want)
			}
			if strings.Contains(ws[0], pw) || strings.Contains(ws[0], "example.com") {
				t.Errorf("warning quotes an option's value: %q", ws[0])
			}
		})
	}
}
