package main

import (
	"fmt"
	"log/slog"
	"reflect"
	"testing"
)

// fakeEvents records event log entries.
type fakeEvents struct{ entries []string }

func (f *fakeEvents) add(typ string, eid uint32, msg string) error {
	f.entries = append(f.entries, fmt.Sprintf("%s %d %s", typ, eid, msg))
	return nil
}
func (f *fakeEvents) Info(eid uint32, msg string) error    { return f.add("info", eid, msg) }
func (f *fakeEvents) Warning(eid uint32, msg string) error { return f.add("warning", eid, msg) }
func (f *fakeEvents) Error(eid uint32, msg string) error   { return f.add("error", eid, msg) }

func TestEventHandler(t *testing.T) {
	tests := []struct {
		level slog.Level
		want  []string
	}{
		{slog.LevelWarn, []string{
			`warning 1 inbox slow job=tarefas dir=\\server\share\entrada`,
			`error 1 run could not start job=tarefas err="access denied"`,
		}},
		{slog.LevelInfo, []string{
			`info 1 bridge started jobs=3`,
			`warning 1 inbox slow job=tarefas dir=\\server\share\entrada`,
			`error 1 run could not start job=tarefas err="access denied"`,
		}},
	}
	for _, tt := range tests {
		f := &fakeEvents{}
		log := slog.New(newEventHandler(f, tt.level))
		log.Info("bridge started", "jobs", 3)
		j := log.With("job", "tarefas")
		j.Warn("inbox slow", "dir", `\\server\share\entrada`)
		j.Error("run could not start", "err", "access denied")
		j.Debug("hidden")
		if !reflect.DeepEqual(f.entries, tt.want) {
			t.Errorf("level %s: entries\n%q\nwant\n%q", tt.level, f.entries, tt.want)
		}
	}
}
