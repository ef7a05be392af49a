package bridge

import (
	"fmt"
	"io"
	"log/slog"
)

// NewLogger makes the bridge's logger from the [log] settings: level debug,
// info, warn or error; format text or json.
func NewLogger(w io.Writer, c LogConfig) (*slog.Logger, error) {
	h, err := NewLogHandler(w, c, false)
	if err != nil {
		return nil, err
	}
	return slog.New(h), nil
}

// NewLogHandler is NewLogger's handler; with omitTime, lines carry no
// time (for a destination that stamps them itself, such as the journal).
func NewLogHandler(w io.Writer, c LogConfig, omitTime bool) (slog.Handler, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", c.Level, err)
	}
	o := &slog.HandlerOptions{Level: lvl}
	if omitTime {
		o.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	switch c.Format {
	case "", "text":
		return slog.NewTextHandler(w, o), nil
	case "json":
		return slog.NewJSONHandler(w, o), nil
	}
	return nil, fmt.Errorf("log format %q: use text or json", c.Format)
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
