package results

import (
	"log/slog"

	"github.com/fieldbridge/fieldbridge/transports/local"
)

// localOptions are the options of a local folder transport rooted at dir.
func localOptions(dir string) any { return local.Options{Root: dir} }

func (j *Job) logger() *slog.Logger {
	if j.env.Log != nil {
		return j.env.Log
	}
	return slog.New(slog.DiscardHandler)
}
