package ftp

import (
	"errors"
	"fmt"

	"github.com/fieldbridge/fieldbridge/transports"
)

// TLS modes.
const (
	// TLSNone is plain FTP: password and data travel in clear text.
	TLSNone = "none"
	// TLSExplicit upgrades the connection with AUTH TLS (FTPES, port 21).
	TLSExplicit = "explicit"
	// TLSImplicit speaks TLS from the first byte (FTPS, port 990).
	TLSImplicit = "implicit"
)

// Options configure an FTP or FTPS server.
type Options struct {
	// Host is the server's name or address.
	Host string `toml:"host"`
	// Port defaults to 21 (990 with implicit TLS).
	Port int `toml:"port"`
	// User and Password log in.
	User     string `toml:"user"`
	Password string `toml:"password" secret:"true"`
	// Root is the remote folder every path is relative to; a relative
	// Root is relative to the login folder. Default: the login folder.
	Root string `toml:"root"`
	// TLS is "explicit" (default: AUTH TLS), "implicit" or "none".
	TLS string `toml:"tls"`
	// CAFile is a PEM file of certificates that verify the server (in
	// addition to the system's). Use it for a self-signed certificate.
	CAFile string `toml:"ca_file"`
	// ServerName overrides the name checked in the server's certificate
	// (default: Host).
	ServerName string `toml:"server_name"`
	// InsecureSkipVerify turns certificate checks off. Never the default.
	InsecureSkipVerify bool `toml:"insecure_skip_verify"`
	// DisableEPSV uses PASV only (servers behind NAT that answer EPSV
	// wrongly).
	DisableEPSV bool `toml:"disable_epsv"`
	// DisableMLSD lists with LIST even when the server offers MLSD.
	DisableMLSD bool `toml:"disable_mlsd"`
	// DialTimeout bounds connecting and logging in (default 15s).
	DialTimeout transports.Duration `toml:"dial_timeout"`
	// IOTimeout is how long any read or write may stall on the control or
	// a data connection before the operation fails (default 60s).
	IOTimeout transports.Duration `toml:"io_timeout"`
	// MaxConns is the number of connections kept and used at once
	// (default 4).
	MaxConns int `toml:"max_conns"`
	// Retries is how many times a transient failure is retried (default
	// 3; 0 in the file means the default, -1 no retries).
	Retries int `toml:"retries"`
}

// DefaultOptions returns options with every default filled in.
func DefaultOptions() Options {
	return Options{TLS: TLSExplicit, DialTimeout: transports.Duration{Duration: 15e9},
		IOTimeout: transports.Duration{Duration: 60e9}, MaxConns: 4, Retries: 3}
}

// Check validates the options without I/O and returns every problem.
func (o Options) Check() error {
	errs := transports.CheckServer(o.Host, o.Port, o.User, ` (use "anonymous" for anonymous FTP)`)
	switch o.TLS {
	case "", TLSNone, TLSExplicit, TLSImplicit:
	default:
		errs = append(errs, fmt.Errorf("tls: %q must be explicit, implicit or none", o.TLS))
	}
	errs = append(errs, transports.CheckRoot(o.Root),
		transports.CheckDurations("dial_timeout, io_timeout", o.DialTimeout, o.IOTimeout))
	if o.MaxConns < 0 {
		errs = append(errs, errors.New("max_conns: must not be negative"))
	}
	return errors.Join(errs...)
}

func (o Options) tlsMode() string {
	if o.TLS == "" {
		return TLSExplicit
	}
	return o.TLS
}

func (o Options) addr() string {
	port := 21
	if o.tlsMode() == TLSImplicit {
		port = 990
	}
	return transports.HostPort(o.Host, o.Port, port)
}
