package viability

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/fortics"
)

// questionLog appends every answered question to a JSON-lines file per day
// (<dir>/YYYY-MM-DD.jsonl). Appending never blocks an answer: records go
// through a buffered channel to one writer goroutine, which writes what
// has queued at most every logPause; when the buffer is full a record is
// dropped and counted.
type questionLog struct {
	dir string
	loc *time.Location

	ch      chan fortics.Record
	dropped atomic.Int64
	written atomic.Int64
	start   sync.Once
	done    chan struct{}

	// the day's counts, kept by the writer (off the answer's path)
	countMu sync.Mutex
	today   string
	counts  map[string]int

	closeMu sync.RWMutex // held for reading by add, for writing by close
	closed  bool
	err     error // the writer's first error (read after done)
}

func newQuestionLog(dir string, loc *time.Location, buffer int) *questionLog {
	if loc == nil {
		loc = time.UTC
	}
	return &questionLog{dir: dir, loc: loc, ch: make(chan fortics.Record, buffer), done: make(chan struct{})}
}

// add queues r for writing; it never blocks.
func (l *questionLog) add(r fortics.Record) {
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if l.closed {
		l.dropped.Add(1)
		return
	}
	l.start.Do(func() { go l.loop() })
	select {
	case l.ch <- r:
	default:
		l.dropped.Add(1)
	}
}

// close writes what is queued and stops the writer.
func (l *questionLog) close() error {
	l.closeMu.Lock()
	if l.closed {
		l.closeMu.Unlock()
		return nil
	}
	l.closed = true
	l.start.Do(func() { go l.loop() }) // a writer must run to close done
	close(l.ch)
	l.closeMu.Unlock()
	select {
	case <-l.done:
	case <-time.After(5 * time.Second):
		return errors.New("viability log: writer did not finish within 5s")
	}
	if d := l.dropped.Load(); d > 0 && l.err == nil {
		return fmt.Errorf("viability log: %d records dropped (buffer full)", d)
	}
	return l.err
}

// logPause is how long the writer rests after each write: a kill -9 can
// lose at most the answers of the last pause from the day's log.
const logPause = 50 * time.Millisecond

func (l *questionLog) loop() {
	defer close(l.done)
	var (
		f   *os.File
		w   *bufio.Writer
		day string
	)
	closeFile := func() {
		if f != nil {
			if err := w.Flush(); err != nil && l.err == nil {
				l.err = err
			}
			if err := f.Sync(); err != nil && l.err == nil {
				l.err = err
			}
			f.Close()
			f, w = nil, nil
		}
	}
	defer closeFile()
	write := func(r fortics.Record) {
		d := r.Time.In(l.loc).Format(time.DateOnly)
		if d != day || f == nil {
			closeFile()
			if err := os.MkdirAll(l.dir, 0o750); err != nil {
				l.setErr(err)
				return
			}
			nf, err := os.OpenFile(filepath.Join(l.dir, d+".jsonl"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
			if err != nil {
				l.setErr(err)
				return
			}
			f, w, day = nf, bufio.NewWriterSize(nf, 64<<10), d
		}
		l.count(d, r.Status)
		b, _ := json.Marshal(r)
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			l.setErr(err)
			return
		}
		l.written.Add(1)
	}
	for r := range l.ch {
		write(r)
		// Write whatever else is queued, then flush once.
		for more := true; more; {
			select {
			case r, ok := <-l.ch:
				if !ok {
					return
				}
				write(r)
			default:
				more = false
			}
		}
		if w != nil {
			if err := w.Flush(); err != nil {
				l.setErr(err)
			}
		}
		// Let the next records queue up: under load the writer then wakes
		// once per pause, not once per answer (each wake-up and write is a
		// system call on the answers' CPU). Close still writes them all.
		time.Sleep(logPause)
	}
}

func (l *questionLog) count(day, status string) {
	l.countMu.Lock()
	if day != l.today {
		if day < l.today { // a late record of yesterday
			l.countMu.Unlock()
			return
		}
		l.today, l.counts = day, map[string]int{}
	}
	l.counts[status]++
	l.countMu.Unlock()
}

// todayCounts returns the counts by status of the newest day written.
func (l *questionLog) todayCounts() (string, map[string]int) {
	l.countMu.Lock()
	defer l.countMu.Unlock()
	out := make(map[string]int, len(l.counts))
	for k, v := range l.counts {
		out[k] = v
	}
	return l.today, out
}

func (l *questionLog) setErr(err error) {
	if l.err == nil {
		l.err = err
	}
}

// prune removes day files older than keepDays before now.
func (l *questionLog) prune(now time.Time, keepDays int) (int, error) {
	if keepDays <= 0 {
		return 0, nil
	}
	ents, err := os.ReadDir(l.dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	cut := now.In(l.loc).AddDate(0, 0, -keepDays).Format(time.DateOnly)
	n := 0
	var errs []error
	for _, e := range ents {
		name := e.Name()
		day, ok := strings.CutSuffix(name, ".jsonl")
		if !ok || len(day) != len(time.DateOnly) || day >= cut {
			continue
		}
		if err := os.Remove(filepath.Join(l.dir, name)); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// ReadDay reads the records of one day ("YYYY-MM-DD") from a job's log
// folder, oldest first. A missing day gives no records and no error. A
// torn last line (a crash mid-write) is skipped.
func ReadDay(dir, day string) ([]fortics.Record, error) {
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return nil, fmt.Errorf("day %q is not a date (use YYYY-MM-DD)", day)
	}
	f, err := os.Open(filepath.Join(dir, day+".jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []fortics.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		var r fortics.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			continue // a torn line
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("%s line %d: %w", f.Name(), line, err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

// Summary counts one day's answers.
type Summary struct {
	Day      string
	Total    int
	ByStatus map[string]int
	Cached   int
	// P50 and P99 are latency percentiles over all answers.
	P50, P99 time.Duration
}

// Summarize counts records.
func Summarize(day string, recs []fortics.Record) Summary {
	s := Summary{Day: day, Total: len(recs), ByStatus: map[string]int{}}
	lat := make([]time.Duration, 0, len(recs))
	for _, r := range recs {
		s.ByStatus[r.Status]++
		if r.Cached {
			s.Cached++
		}
		lat = append(lat, r.Latency)
	}
	if len(lat) > 0 {
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		s.P50 = percentile(lat, 50)
		s.P99 = percentile(lat, 99)
	}
	return s
}

// WriteLog prints one day's questions and a summary, as a table (or JSON
// lines when asJSON).
func WriteLog(w io.Writer, day string, recs []fortics.Record, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, r := range recs {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	if len(recs) == 0 {
		_, err := fmt.Fprintf(w, "%s: no questions\n", day)
		return err
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%-8s  %-15s  %-7s  %-34s  %-15s  %-14s  %5s  %-10s  %8s\n",
		"TIME", "CLIENT", "INPUT", "LOCATION", "STATUS", "BOX", "PORTS", "POLE", "MS")
	for _, r := range recs {
		where := r.Query
		if where == "" && (r.Lat != 0 || r.Lng != 0) {
			where = fmt.Sprintf("%.6f, %.6f", r.Lat, r.Lng)
		}
		status := r.Status
		if r.Cached {
			status += "*"
		}
		fmt.Fprintf(bw, "%-8s  %-15s  %-7s  %-34s  %-15s  %-14s  %5s  %-10s  %8.1f\n",
			r.Time.Format(time.TimeOnly), clip(r.Client, 15), clip(r.Input, 7), clip(where, 34), clip(status, 15),
			clip(r.Box, 14), ports(r), clip(r.Pole, 10), float64(r.Latency)/float64(time.Millisecond))
	}
	s := Summarize(day, recs)
	keys := make([]string, 0, len(s.ByStatus))
	for k := range s.ByStatus {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, s.ByStatus[k]))
	}
	fmt.Fprintf(bw, "\n%s: %d questions", day, s.Total)
	if len(parts) > 0 {
		fmt.Fprintf(bw, " (%s); %d from cache (*); latency p50 %.1f ms, p99 %.1f ms",
			strings.Join(parts, ", "), s.Cached, float64(s.P50)/1e6, float64(s.P99)/1e6)
	}
	fmt.Fprintln(bw)
	return bw.Flush()
}

func ports(r fortics.Record) string {
	if r.Status != fortics.StatusFound {
		return ""
	}
	return fmt.Sprint(r.FreePorts)
}

func clip(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100 // ceil(n·p/100)
	return sorted[max(i-1, 0)]
}
