package fileconn

import (
	"github.com/fieldbridge/fieldbridge/transports/ftp"
	"github.com/fieldbridge/fieldbridge/transports/sftp"
)

// Warnings returns what an operator must know about a file connection's
// decoded options that work but turn a safety check off: a TLS
// certificate that is not verified, a host key that is not checked, a
// password sent in clear text. Each message names the option and says
// what to set instead; none quotes an option's value, so no secret can
// appear in it. Warnings returns nil for a safe connection and for types
// that are not file connections (the cmd registry asks every package that
// has connection types).
func Warnings(typ string, opts any) []string {
	switch typ {
	case FTP, FTPS:
		switch o := opts.(type) {
		case *ftp.Options:
			return ftpWarnings(*o)
		case ftp.Options:
			return ftpWarnings(o)
		}
	case SFTP:
		switch o := opts.(type) {
		case *sftp.Options:
			return sftpWarnings(*o)
		case sftp.Options:
			return sftpWarnings(o)
		}
	}
	return nil
}

func ftpWarnings(o ftp.Options) []string {
	switch {
	case o.TLS == ftp.TLSNone:
		// insecure_skip_verify has no effect without TLS: clear text is
		// the one thing to say.
		return []string{`tls = "none" — plain FTP: the password and the files travel unencrypted; anyone on the network path can read them. Set tls = "explicit" (or "implicit") if the server offers TLS.`}
	case o.InsecureSkipVerify:
		fix := "Set ca_file to the server's CA instead."
		if o.CAFile != "" {
			fix = "Remove it: ca_file is set but not used while it is on."
		}
		return []string{"insecure_skip_verify = true — the server's TLS certificate is not verified; anyone on the network path can read the password and the files. " + fix}
	}
	return nil
}

func sftpWarnings(o sftp.Options) []string {
	switch {
	case !o.InsecureIgnoreHostKey, o.HostFingerprint != "":
		// A pinned fingerprint is always checked, whatever the flag says.
		return nil
	case o.KnownHosts != "":
		return []string{"insecure_ignore_host_key = true — if known_hosts does not list this server, any host key is accepted, so a server impersonating it is trusted with the login and the files. Add the server's key to known_hosts (ssh-keyscan) and remove insecure_ignore_host_key."}
	}
	return []string{"insecure_ignore_host_key = true — the server's host key is not checked; a server impersonating this one is trusted with the login and the files. Set host_fingerprint (ssh-keygen -lf) or known_hosts instead."}
}
