package sheets

import (
	"context"
	"fmt"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/fileconn"
	"github.com/fieldbridge/fieldbridge/transports"
)

// openConnTransport opens the named file connection (local, ftp, ftps,
// sftp) as a transport.
func openConnTransport(ctx context.Context, env *bridge.Env, conn string) (transports.Transport, error) {
	if env == nil || env.Config == nil {
		return nil, fmt.Errorf("connection %q: no configuration", conn)
	}
	return fileconn.OpenNamed(ctx, env, conn)
}
