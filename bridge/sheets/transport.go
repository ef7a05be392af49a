package sheets

import (
	"context"
	"fmt"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/transports"
	"github.com/fieldbridge/fieldbridge/transports/local"
)

// openConnTransport opens the named connection as a transport.
func openConnTransport(ctx context.Context, env *bridge.Env, conn string) (transports.Transport, error) {
	if env == nil || env.Config == nil {
		return nil, fmt.Errorf("connection %q: no configuration", conn)
	}
	typ, opts, err := env.Conn(conn)
	if err != nil {
		return nil, err
	}
	switch o := opts.(type) {
	case *local.Options:
		return local.New(ctx, *o)
	}
	if t, ok, err := openRemoteTransport(ctx, opts); ok {
		return t, err
	}
	return nil, fmt.Errorf("connection %q of type %q is not a place for files (local, ftp, sftp)", conn, typ)
}
