package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
)

// eventSink is where eventHandler writes: the Windows event log
// (*eventlog.Log), or a fake in tests.
type eventSink interface {
	Info(eid uint32, msg string) error
	Warning(eid uint32, msg string) error
	Error(eid uint32, msg string) error
}

// Event ids of the service's entries.
const (
	eventLog     = 1 // a log record
	eventService = 2 // the service started, stopped or failed
)

// eventHandler writes log records at or above a level to the event log
// as one entry each ("message key=value ..."), at the entry type matching
// the record's level. The log file keeps every record; the event log
// gets what an administrator must see (warnings and errors by default).
type eventHandler struct {
	sink  eventSink
	level slog.Leveler
	mu    *sync.Mutex
	buf   *bytes.Buffer
	text  slog.Handler // formats into buf
}

func newEventHandler(sink eventSink, level slog.Leveler) *eventHandler {
	buf := &bytes.Buffer{}
	text := slog.NewTextHandler(buf, &slog.HandlerOptions{Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
				return slog.Attr{} // the entry has its own time and type; the message leads
			}
			return a
		}})
	return &eventHandler{sink: sink, level: level, mu: &sync.Mutex{}, buf: buf, text: text}
}

// Enabled reports whether l reaches the event log.
func (h *eventHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

// Handle writes r as one entry.
func (h *eventHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf.Reset()
	if err := h.text.Handle(ctx, r); err != nil {
		return err
	}
	msg := r.Message
	if attrs := strings.TrimSuffix(h.buf.String(), "\n"); attrs != "" {
		msg += " " + attrs
	}
	switch {
	case r.Level >= slog.LevelError:
		return h.sink.Error(eventLog, msg)
	case r.Level >= slog.LevelWarn:
		return h.sink.Warning(eventLog, msg)
	}
	return h.sink.Info(eventLog, msg)
}

// WithAttrs returns a handler adding as to every entry.
func (h *eventHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.text = h.text.WithAttrs(as)
	return &c
}

// WithGroup returns a handler qualifying later attributes with name.
func (h *eventHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.text = h.text.WithGroup(name)
	return &c
}
