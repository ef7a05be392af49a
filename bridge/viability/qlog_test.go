package viability

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/fortics"
)

func TestQuestionLogRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "viability", "job")
	l := newQuestionLog(dir, time.UTC, 64)
	day1 := time.Date(2026, 11, 21, 23, 59, 0, 0, time.UTC)
	day2 := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	l.add(fortics.Record{Time: day1, Client: "10.0.0.1", Input: "latlng", Lat: -27.5, Lng: -48.5, Status: "not_found", HTTP: 200, Latency: 40 * time.Millisecond})
	l.add(fortics.Record{Time: day2, Client: "10.0.0.1", Input: "address", Query: "Rua das Flores, 100", Lat: -27.576, Lng: -48.527,
		Status: "found", HTTP: 200, Box: "CTO 22-05", FreePorts: 6, Pole: "P_2520", Latency: 42 * time.Millisecond})
	l.add(fortics.Record{Time: day2.Add(time.Second), Client: "10.0.0.2", Input: "latlng", Lat: -27.576, Lng: -48.527,
		Status: "found", HTTP: 200, Box: "CTO 22-05", FreePorts: 6, Pole: "P_2520", Cached: true, Latency: 300 * time.Microsecond})
	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	if err := l.close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	l.add(fortics.Record{Time: day2}) // after close: dropped, no panic

	recs, err := ReadDay(dir, "2026-11-22")
	if err != nil || len(recs) != 2 || recs[0].Box != "CTO 22-05" || !recs[1].Cached || recs[0].Latency != 42*time.Millisecond {
		t.Fatalf("ReadDay = %+v, %v", recs, err)
	}
	if recs, err := ReadDay(dir, "2026-11-21"); err != nil || len(recs) != 1 {
		t.Fatalf("day 1: %+v %v", recs, err)
	}
	if recs, err := ReadDay(dir, "2026-11-01"); err != nil || len(recs) != 0 {
		t.Fatalf("empty day: %+v %v", recs, err)
	}
	if _, err := ReadDay(dir, "yesterday"); err == nil || !strings.Contains(err.Error(), "YYYY-MM-DD") {
		t.Fatalf("bad day: %v", err)
	}

	var out bytes.Buffer
	if err := WriteLog(&out, "2026-11-22", recs, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Rua das Flores, 100", "found*", "CTO 22-05", "-27.576000, -48.527000",
		"2026-11-22: 2 questions (found 2); 1 from cache (*)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("log output lacks %q:\n%s", want, out.String())
		}
	}
	s := Summarize("2026-11-22", recs)
	if s.Total != 2 || s.ByStatus["found"] != 2 || s.P99 != 42*time.Millisecond {
		t.Fatalf("summary %+v", s)
	}
}

func TestQuestionLogTornLineAndPrune(t *testing.T) {
	dir := t.TempDir()
	good := `{"time":"2026-11-22T10:00:00Z","status":"found","latency_ns":1000}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "2026-11-22.jsonl"), []byte(good+`{"time":"2026-11-22T10:00:01Z","sta`), 0o640); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadDay(dir, "2026-11-22")
	if err != nil || len(recs) != 1 {
		t.Fatalf("torn line: %+v %v", recs, err)
	}
	for _, d := range []string{"2026-01-01", "2026-08-23", "2026-08-24"} {
		os.WriteFile(filepath.Join(dir, d+".jsonl"), []byte(good), 0o640)
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), nil, 0o640)
	l := newQuestionLog(dir, time.UTC, 1)
	n, err := l.prune(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC), 90)
	if err != nil || n != 2 {
		t.Fatalf("pruned %d, %v; want 2 (2026-01-01, 2026-08-23)", n, err)
	}
	for _, keep := range []string{"2026-08-24.jsonl", "2026-11-22.jsonl", "notes.txt"} {
		if _, err := os.Stat(filepath.Join(dir, keep)); err != nil {
			t.Errorf("%s removed: %v", keep, err)
		}
	}
}

func TestQuestionLogNeverBlocks(t *testing.T) {
	// The folder cannot be created (a file is in the way): the writer fails,
	// yet add must return at once for every record.
	base := t.TempDir()
	os.WriteFile(filepath.Join(base, "x"), nil, 0o640)
	l := newQuestionLog(filepath.Join(base, "x", "job"), time.UTC, 4)
	start := time.Now()
	for range 10000 {
		l.add(fortics.Record{Time: start, Status: "found"})
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("10000 adds took %v", took)
	}
	if err := l.close(); err == nil {
		t.Fatal("close hid the write failure")
	}
}
