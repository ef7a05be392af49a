package bridge

import (
	"fmt"
	"io"
	"log/slog"
)

// NewLogger makes the bridge's logger from the [log] settings: level debug,
// info, warn or error; format text or json.
func NewLogger(w io.Writer, c LogConfig) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", c.Level, err)
	}
	o := &slog.HandlerOptions{Level: lvl}
	switch c.Format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("log format %q: use text or json", c.Format)
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
