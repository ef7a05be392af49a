package boxsync

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
)

// report is the optional CSV of one run. Rows are streamed to a temporary
// file beside the final one; finish syncs and renames it, so that people
// following the folder never see a half-written report.
type report struct {
	mu    sync.Mutex
	f     *os.File
	bw    *bufio.Writer
	w     *csv.Writer
	tmp   string
	final string
	all   bool
	err   error
}

// reportHeader is the CSV's first line.
var reportHeader = []string{"box_id", "box_name", "code", "action", "sytex_id", "message"}

// openReport starts the run's CSV, or returns a no-op report when no
// report_dir is configured.
func (j *Job) openReport(start time.Time) (*report, error) {
	if j.o.ReportDir == "" {
		return &report{}, nil
	}
	if err := os.MkdirAll(j.o.ReportDir, 0o755); err != nil {
		return nil, fmt.Errorf("report_dir: %w", err)
	}
	// leftovers of a run that was killed
	if old, _ := filepath.Glob(filepath.Join(j.o.ReportDir, ".boxsync-*.partial")); len(old) > 0 {
		for _, p := range old {
			_ = os.Remove(p)
		}
	}
	base := fmt.Sprintf("boxsync-%s-%s", safeName(j.name), start.Format("20060102-150405"))
	final := filepath.Join(j.o.ReportDir, base+".csv")
	for i := 2; fileExists(final); i++ {
		final = filepath.Join(j.o.ReportDir, fmt.Sprintf("%s-%d.csv", base, i))
	}
	f, err := os.CreateTemp(j.o.ReportDir, ".boxsync-*.partial")
	if err != nil {
		return nil, fmt.Errorf("report_dir: %w", err)
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	r := &report{f: f, bw: bw, w: csv.NewWriter(bw), tmp: f.Name(), final: final, all: j.o.ReportUnchanged}
	_ = r.w.Write(reportHeader)
	return r, nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r < ' ' {
			return '_'
		}
		return r
	}, s)
}

// row adds one box's line (unchanged boxes only when asked).
func (r *report) row(t *task, res result) {
	if r.w == nil || (res.outcome == outUnchanged && !r.all) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = r.w.Write([]string{t.box.ID, t.box.Name, t.ne.Code, res.outcome, res.remoteID, res.message})
	}
}

// finish makes the report visible under its final name and returns it.
func (r *report) finish() (string, error) {
	if r.w == nil {
		return "", nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.w
	r.w = nil
	w.Flush()
	err := r.err
	if err == nil {
		err = w.Error()
	}
	if err == nil {
		err = r.bw.Flush()
	}
	if err == nil {
		err = r.f.Sync()
	}
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(r.tmp, r.final)
	}
	if err != nil {
		_ = os.Remove(r.tmp)
		return "", fmt.Errorf("report %s: %w", r.final, err)
	}
	if d, derr := os.Open(filepath.Dir(r.final)); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return r.final, nil
}

func sortedTypes(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return out
}

// configLanguage returns the configuration's language.
func configLanguage(c *bridge.Config) string { return c.Language }
