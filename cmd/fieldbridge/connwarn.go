package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/fieldbridge/fieldbridge/bridge"
)

// connWarning is one configured connection with a safety check turned off.
type connWarning struct {
	Conn, Type string
	// Messages say what is off and what to set instead. They are fixed
	// text that quotes no option's value, so no secret is in them (and
	// none is "redacted" out of them: masking a short password where it
	// happens to match the fixed text would reveal it).
	Messages []string
}

// connWarnings asks connWarners about every configured connection, used
// by a job or not, in the config's order.
func connWarnings(cfg *bridge.Config) []connWarning {
	var out []connWarning
	for _, c := range cfg.Conns {
		var msgs []string
		for _, warn := range connWarners {
			msgs = append(msgs, warn(c.Type, c.Options)...)
		}
		if len(msgs) == 0 {
			continue
		}
		out = append(out, connWarning{Conn: c.Name, Type: c.Type, Messages: msgs})
	}
	return out
}

// printConnWarnings writes one "warning:" line per message for check.
func printConnWarnings(w io.Writer, ws []connWarning) {
	for _, cw := range ws {
		for _, m := range cw.Messages {
			fmt.Fprintf(w, "warning: connection %q (%s): %s\n", cw.Conn, cw.Type, m)
		}
	}
}

// logConnWarnings logs one WARN line per connection, at start.
func logConnWarnings(log *slog.Logger, ws []connWarning) {
	for _, cw := range ws {
		log.Warn("connection security check is off", "connection", cw.Conn, "type", cw.Type,
			"warning", strings.Join(cw.Messages, " "))
	}
}
