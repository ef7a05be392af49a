package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/fieldbridge/fieldbridge/bridge"
)

// daemonLog is the daemon's logger and the file it writes, if any.
type daemonLog struct {
	*slog.Logger
	file *logFile // nil when the log goes to stderr
}

// newDaemonLog makes the daemon's logger from the [log] settings: into
// the log file when one is set, else to stderr; journal says stderr is
// systemd's journal stream (lines then carry their priority, "<6>", and
// no time: the journal stamps them). extra, when set, receives every
// record too (the Windows event log).
func newDaemonLog(stderr io.Writer, c bridge.LogConfig, journal bool, extra slog.Handler) (*daemonLog, error) {
	d := &daemonLog{}
	var h slog.Handler
	var err error
	switch {
	case c.File != "":
		if d.file, err = openLogFile(c.File); err != nil {
			return nil, err
		}
		h, err = bridge.NewLogHandler(d.file, c, false)
	case journal:
		pw := &priorityWriter{w: stderr}
		h, err = bridge.NewLogHandler(pw, c, true)
		h = &journalHandler{Handler: h, w: pw}
	default:
		h, err = bridge.NewLogHandler(stderr, c, false)
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	if extra != nil {
		h = slog.NewMultiHandler(h, extra)
	}
	d.Logger = slog.New(h)
	return d, nil
}

// Reopen reopens the log file (after logrotate moved it away).
func (d *daemonLog) Reopen() error {
	if d.file == nil {
		return nil
	}
	return d.file.Reopen()
}

// Close closes the log file.
func (d *daemonLog) Close() error {
	if d.file == nil {
		return nil
	}
	return d.file.Close()
}

// logFile is a log file opened for appending that can be reopened under
// the same name while in use.
type logFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

func openLogFile(path string) (*logFile, error) {
	l := &logFile{path: path}
	f, err := l.open()
	if err != nil {
		return nil, err
	}
	l.f = f
	return l, nil
}

func (l *logFile) open() (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o750); err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	return f, nil
}

// Write appends p to the file.
func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Write(p)
}

// Reopen opens the path again (creating it) and closes the old file; on
// error the old file stays in use.
func (l *logFile) Reopen() error {
	f, err := l.open()
	if err != nil {
		return err
	}
	l.mu.Lock()
	old := l.f
	l.f = f
	l.mu.Unlock()
	return old.Close()
}

// Close closes the file.
func (l *logFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}

// journalHandler puts each record's syslog priority before its line
// ("<3>" error, "<4>" warning, "<6>" info, "<7>" debug), which journald
// reads from a service's stderr (sd-daemon(3)).
type journalHandler struct {
	slog.Handler
	w *priorityWriter
}

// Handle writes r with its priority prefix.
func (h *journalHandler) Handle(ctx context.Context, r slog.Record) error {
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	h.w.prefix = priority(r.Level)
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the prefix on the derived handler.
func (h *journalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &journalHandler{Handler: h.Handler.WithAttrs(as), w: h.w}
}

// WithGroup keeps the prefix on the derived handler.
func (h *journalHandler) WithGroup(name string) slog.Handler {
	return &journalHandler{Handler: h.Handler.WithGroup(name), w: h.w}
}

func priority(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "<3>"
	case l >= slog.LevelWarn:
		return "<4>"
	case l >= slog.LevelInfo:
		return "<6>"
	}
	return "<7>"
}

// priorityWriter writes each line (one Write from the handler) after the
// prefix journalHandler set; journalHandler holds mu around it.
type priorityWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
}

func (p *priorityWriter) Write(b []byte) (int, error) {
	if _, err := io.WriteString(p.w, p.prefix); err != nil {
		return 0, err
	}
	return p.w.Write(b)
}
