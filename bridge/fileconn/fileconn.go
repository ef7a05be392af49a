// Package fileconn provides the connection types of places where files
// live — "local" (a folder), "ftp" and "ftps" (FTP, with TLS by default),
// "sftp" — and Open, which opens a configured connection as a
// transports.Transport. Flows that read or write files name such a
// connection in their options and call OpenNamed in their Run.
package fileconn

import (
	"context"
	"errors"
	"fmt"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/transports"
	"github.com/fieldbridge/fieldbridge/transports/ftp"
	"github.com/fieldbridge/fieldbridge/transports/local"
	"github.com/fieldbridge/fieldbridge/transports/sftp"
)

// Type names.
const (
	Local = "local"
	FTP   = "ftp"
	FTPS  = "ftps" // the same options as ftp; says TLS in the config
	SFTP  = "sftp"
)

// ConnTypes returns the file connection types, for the cmd registry.
func ConnTypes() []bridge.ConnType {
	return []bridge.ConnType{
		{
			Name:       Local,
			NewOptions: func() any { o := local.DefaultOptions(); return &o },
			Check:      func(o any) error { return o.(*local.Options).Check() },
			Connect:    connect(Local),
		},
		ftpType(FTP),
		ftpType(FTPS),
		{
			Name:       SFTP,
			NewOptions: func() any { o := sftp.DefaultOptions(); return &o },
			Check:      func(o any) error { return o.(*sftp.Options).Check() },
			Connect:    connect(SFTP),
		},
	}
}

func ftpType(name string) bridge.ConnType {
	return bridge.ConnType{
		Name:       name,
		NewOptions: func() any { o := ftp.DefaultOptions(); return &o },
		Check: func(o any) error {
			opts := o.(*ftp.Options)
			err := opts.Check()
			if name == FTPS && opts.TLS == ftp.TLSNone {
				err = errors.Join(err, bridge.OptionErrorf("tls", "an ftps connection cannot have tls = \"none\" (use type = \"ftp\")"))
			}
			return err
		},
		Connect: connect(name),
	}
}

// connect opens the connection and lists its root folder.
func connect(typ string) func(ctx context.Context, opts any) error {
	return func(ctx context.Context, opts any) error {
		t, err := Open(ctx, typ, opts)
		if err != nil {
			return err
		}
		defer t.Close()
		if _, err := t.List(ctx, "", false); err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
		return nil
	}
}

// Open opens a transport from a connection's type and decoded options
// (the pointer its NewOptions returned, or a value of the options type).
// It does no I/O for backends that connect lazily.
func Open(ctx context.Context, typ string, opts any) (transports.Transport, error) {
	switch o := opts.(type) {
	case *local.Options:
		return local.New(ctx, *o)
	case local.Options:
		return local.New(ctx, o)
	case *ftp.Options:
		return ftp.New(ctx, *o)
	case ftp.Options:
		return ftp.New(ctx, o)
	case *sftp.Options:
		return sftp.New(ctx, *o)
	case sftp.Options:
		return sftp.New(ctx, o)
	}
	return nil, fmt.Errorf("connection type %q is not a place for files (use local, ftp, ftps or sftp)", typ)
}

// OpenNamed opens the named connection of env's configuration.
func OpenNamed(ctx context.Context, env *bridge.Env, name string) (transports.Transport, error) {
	typ, opts, err := env.Conn(name)
	if err != nil {
		return nil, err
	}
	t, err := Open(ctx, typ, opts)
	if err != nil {
		return nil, fmt.Errorf("connection %q: %w", name, err)
	}
	return t, nil
}

// IsFileConn reports whether the named connection is a place for files
// (for a kind's New to check its options without I/O).
func IsFileConn(env *bridge.Env, name string) error {
	typ, _, err := env.Conn(name)
	if err != nil {
		return err
	}
	switch typ {
	case Local, FTP, FTPS, SFTP:
		return nil
	}
	return fmt.Errorf("connection %q is of type %q, not a place for files (local, ftp, ftps, sftp)", name, typ)
}
