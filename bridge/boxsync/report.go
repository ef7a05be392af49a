package boxsync

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/transports"
	"github.com/fieldbridge/fieldbridge/transports/local"
)

// report is the optional CSV of one run. Rows are streamed to a local
// temporary file; finish hands it to the target place (a local folder or a
// connection such as an FTP server), whose Write is atomic, so people
// following the folder never see a half-written report.
type report struct {
	mu   sync.Mutex
	f    *os.File
	bw   *bufio.Writer
	w    *csv.Writer
	name string // final path within the target
	all  bool
	err  error
	open func(ctx context.Context) (transports.Transport, error)
}

// reportHeader is the CSV's first line.
var reportHeader = []string{"box_id", "box_name", "code", "action", "sytex_id", "message"}

// reportTarget returns how to open the place reports go to, or nil.
func (j *Job) reportTarget() func(ctx context.Context) (transports.Transport, error) {
	switch {
	case j.openReportTo != nil:
		return j.openReportTo
	case j.o.ReportDir != "":
		dir := j.o.ReportDir
		return func(ctx context.Context) (transports.Transport, error) {
			return local.New(ctx, local.Options{Root: dir})
		}
	}
	return nil
}

// openReport starts the run's CSV, or returns a no-op report when no
// report place is configured.
func (j *Job) openReport(start time.Time) (*report, error) {
	open := j.reportTarget()
	if open == nil {
		return &report{}, nil
	}
	f, err := os.CreateTemp(j.tmpDir, "boxsync-report-*.csv")
	if err != nil {
		return nil, fmt.Errorf("report: temporary file: %w", err)
	}
	_ = os.Remove(f.Name()) // unlinked: nothing is left behind by a kill
	name := fmt.Sprintf("boxsync-%s-%s.csv", safeName(j.name), start.Format("20060102-150405"))
	if j.openReportTo != nil && j.o.ReportDir != "" {
		name = path.Join(strings.Trim(j.o.ReportDir, "/"), name)
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	r := &report{f: f, bw: bw, w: csv.NewWriter(bw), name: name, all: j.o.ReportUnchanged, open: open}
	_ = r.w.Write(reportHeader)
	return r, nil
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r < ' ' || r == '.' {
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
	if r.err == nil && r.w != nil {
		r.err = r.w.Write([]string{t.box.ID, t.box.Name, t.ne.Code, res.outcome, res.remoteID, res.message})
	}
}

// finish writes the report to its place and returns where it landed.
func (r *report) finish(ctx context.Context) (string, error) {
	if r.f == nil {
		return "", nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.f.Close()
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
	var size int64
	if err == nil {
		size, err = r.f.Seek(0, io.SeekCurrent)
	}
	if err == nil {
		_, err = r.f.Seek(0, io.SeekStart)
	}
	if err != nil {
		return "", fmt.Errorf("report %s: %w", r.name, err)
	}
	t, err := r.open(ctx)
	if err != nil {
		return "", fmt.Errorf("report %s: %w", r.name, err)
	}
	defer t.Close()
	res, err := t.Write(ctx, r.name, r.f, transports.WriteOptions{Overwrite: transports.KeepBoth, Size: size})
	if err != nil {
		return "", fmt.Errorf("report %s in %s: %w", r.name, t, err)
	}
	return t.String() + "/" + res.Path, nil
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
