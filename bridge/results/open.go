package results

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/fieldbridge/fieldbridge/transports"
)

// OpenConn opens a transport from a connection's type and decoded options.
// (Placeholder until the transports backends land on main.)
func OpenConn(ctx context.Context, typ string, opts any) (transports.Transport, error) {
	return nil, fmt.Errorf("connection type %q: transports are not available in this build", typ)
}

// localOptions are the options of a local folder transport rooted at dir.
func localOptions(dir string) any { return dir }

func (j *Job) logger() *slog.Logger {
	if j.env.Log != nil {
		return j.env.Log
	}
	return slog.New(slog.DiscardHandler)
}
