package results

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/fieldbridge/fieldbridge/transports"
	"github.com/fieldbridge/fieldbridge/transports/local"
)

// OpenConn opens a transport from a connection's type and decoded options
// (the pointer the connection type's NewOptions returned, or a value).
func OpenConn(ctx context.Context, typ string, opts any) (transports.Transport, error) {
	switch o := opts.(type) {
	case *local.Options:
		return local.New(ctx, *o)
	case local.Options:
		return local.New(ctx, o)
	}
	return nil, fmt.Errorf("connection type %q (%T) is not a file transport (use local, ftp, ftps or sftp)", typ, opts)
}

// localOptions are the options of a local folder transport rooted at dir.
func localOptions(dir string) any { return local.Options{Root: dir} }

func (j *Job) logger() *slog.Logger {
	if j.env.Log != nil {
		return j.env.Log
	}
	return slog.New(slog.DiscardHandler)
}
