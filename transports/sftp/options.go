package sftp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/fieldbridge/fieldbridge/transports"
)

// Options configure an SFTP server.
type Options struct {
	// Host is the server's name or address.
	Host string `toml:"host"`
	// Port defaults to 22.
	Port int `toml:"port"`
	// User logs in.
	User string `toml:"user"`
	// Password, when set, is offered for password authentication.
	Password string `toml:"password" secret:"true"`
	// KeyFile is a private key file (OpenSSH or PEM format) offered for
	// public-key authentication.
	KeyFile string `toml:"key_file"`
	// KeyPassphrase decrypts KeyFile (use "${ENV_VAR}" or "file:/path").
	KeyPassphrase string `toml:"key_passphrase" secret:"true"`
	// KnownHosts is a known_hosts file that must list the server's host
	// key.
	KnownHosts string `toml:"known_hosts"`
	// HostFingerprint pins the server's host key by its SHA256
	// fingerprint, as `ssh-keygen -lf` prints it ("SHA256:...").
	HostFingerprint string `toml:"host_fingerprint"`
	// InsecureIgnoreHostKey accepts any host key. Never the default: one
	// of known_hosts, host_fingerprint or this must be set.
	InsecureIgnoreHostKey bool `toml:"insecure_ignore_host_key"`
	// Root is the remote folder every path is relative to; a relative
	// Root is relative to the login folder.
	Root string `toml:"root"`
	// DialTimeout bounds connecting and logging in (default 15s).
	DialTimeout transports.Duration `toml:"dial_timeout"`
	// IOTimeout is how long the connection may stay silent while an
	// operation waits for it (default 60s).
	IOTimeout transports.Duration `toml:"io_timeout"`
	// KeepAlive is the interval of SSH keepalives on an idle connection
	// (default 30s).
	KeepAlive transports.Duration `toml:"keepalive"`
	// Retries is how many times a transient failure is retried (default
	// 3; -1 no retries).
	Retries int `toml:"retries"`
	// MaxConcurrentRequests is the number of SFTP requests in flight per
	// file transfer (default 64).
	MaxConcurrentRequests int `toml:"max_concurrent_requests"`
}

// DefaultOptions returns options with every default filled in.
func DefaultOptions() Options {
	return Options{Port: 22, DialTimeout: transports.Duration{Duration: 15e9}, IOTimeout: transports.Duration{Duration: 60e9},
		KeepAlive: transports.Duration{Duration: 30e9}, Retries: 3, MaxConcurrentRequests: 64}
}

// Check validates the options without I/O and returns every problem.
func (o Options) Check() error {
	errs := transports.CheckServer(o.Host, o.Port, o.User, "")
	if o.Password == "" && o.KeyFile == "" {
		errs = append(errs, errors.New("password or key_file: one is required"))
	}
	if o.KnownHosts == "" && o.HostFingerprint == "" && !o.InsecureIgnoreHostKey {
		errs = append(errs, errors.New("known_hosts or host_fingerprint: one is required to check the server's host key (insecure_ignore_host_key = true turns the check off)"))
	}
	if o.HostFingerprint != "" && !strings.HasPrefix(o.HostFingerprint, "SHA256:") {
		errs = append(errs, fmt.Errorf("host_fingerprint: %q must look like SHA256:... (ssh-keygen -lf key.pub)", o.HostFingerprint))
	}
	errs = append(errs, transports.CheckRoot(o.Root),
		transports.CheckDurations("dial_timeout, io_timeout, keepalive", o.DialTimeout, o.IOTimeout, o.KeepAlive))
	if o.MaxConcurrentRequests < 0 {
		errs = append(errs, errors.New("max_concurrent_requests: must not be negative"))
	}
	return errors.Join(errs...)
}

func (o Options) addr() string {
	return transports.HostPort(o.Host, o.Port, 22)
}
