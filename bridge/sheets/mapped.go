package sheets

import (
	"fmt"
	"iter"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
	"github.com/fieldbridge/fieldbridge/mapping"
	"github.com/fieldbridge/fieldbridge/mapping/sheet"
)

// sheetSource is an opened sheet with its mapping: rows can be read
// several times (validation pass, sending pass, report).
type sheetSource interface {
	// rows starts a new pass over the data rows.
	rows() (func() (outRow, bool, error), error)
	Close() error
}

// mappedSheet reads a sheet through a saved mapping into outRows.
type mappedSheet struct {
	j       *job
	f       *sheet.File
	m       *mapping.Mapping
	opts    mapping.Options
	header  int
	width   int
	current *mapping.Reader
	// reportCol is the status column of a result report dropped back as
	// input (-1: none): it and the message column are not data.
	reportCol int
}

func (j *job) mappingOptions() mapping.Options {
	return mapping.Options{Lang: j.lang()}
}

// openSheet chooses the file's mapping (bound to the inbox, or by file
// name, or detected from the headers) and opens the sheet. A file that
// cannot be read or fits no mapping is a *badFileError.
func (j *job) openSheet(path string, rec ledger.File, in *Inbox) (sheetSource, error) {
	set, err := mapping.LoadDir(j.opts.Mappings)
	if err != nil {
		// The mappings folder itself is wrong: not the file's fault.
		return nil, fmt.Errorf("mappings folder %s: %w", j.opts.Mappings, err)
	}
	opts := j.mappingOptions()
	// Choose matches globs against the path's base name; use the name
	// the user gave the file.
	m, err := set.Choose(path, in.Mapping, opts)
	if err != nil {
		return nil, &badFileError{j.explain(rec.Name, err)}
	}
	f, err := sheet.Open(path, opts.Sheet)
	if err != nil {
		return nil, &badFileError{j.explain(rec.Name, err)}
	}
	return &mappedSheet{j: j, f: f, m: m, opts: opts, reportCol: -1}, nil
}

func (j *job) explain(name string, err error) string { return explainIn(name, err, j.lang()) }

// explainIn is explain in language lang (the import page's clerk's).
func explainIn(name string, err error, lang string) string {
	msg := mapping.Explain(err, lang)
	if msg == "" {
		msg = err.Error()
	}
	if !strings.Contains(msg, name) {
		msg = name + ": " + msg
	}
	return msg
}

func (s *mappedSheet) Close() error {
	if s.current != nil {
		s.current.Close()
		s.current = nil
	}
	return s.f.Close()
}

func (s *mappedSheet) rows() (func() (outRow, bool, error), error) {
	if s.current != nil {
		s.current.Close()
		s.current = nil
	}
	r, err := mapping.NewReader(s.f, s.m, s.opts)
	if err != nil {
		return nil, &badFileError{s.j.explain(filepath.Base(s.f.Path), err)}
	}
	s.current = r
	s.header = r.HeaderRow()
	s.reportCol = mapping.ReportColumns(r.Headers())
	resendCol := resendColumn(r.Headers())
	poi := s.m.Target == mapping.TargetPOI
	numbers := newTaskNumberer(s.j.opts.TaskNumberFrom)
	return func() (outRow, bool, error) {
		if !r.Next() {
			s.width = max(s.width, r.Width())
			if err := r.Err(); err != nil {
				return outRow{}, false, &badFileError{s.j.explain(filepath.Base(s.f.Path), err)}
			}
			return outRow{}, false, nil
		}
		s.width = max(s.width, r.Width())
		num := r.Row().Num
		if probs := r.Problems(); len(probs) > 0 {
			return outRow{Num: num, Problem: mapping.RejectMessage(probs, s.opts.Lang)}, true, nil
		}
		// Values reads the row without building Record's map (a third of
		// the CPU of mapping a large sheet); Record is built only for a row
		// whose task number must be derived from its values.
		resend := resendCol >= 0 && yes(r.Row().Cell(resendCol).Value)
		if resend && s.reportCol >= 0 {
			// A report dropped back: a re-send its row shows as sent was
			// done, and is not done again with every drop.
			if st, ok := mapping.ReportStatus(r.Row().Cell(s.reportCol).Value); ok && st == mapping.StatusSent {
				resend = false
			}
		}
		if poi {
			p, err := poiFromValues(r.Values())
			if err != nil {
				return outRow{Num: num, Problem: err.Error()}, true, nil
			}
			return outRow{Num: num, POI: p, Resend: resend}, true, nil
		}
		t, err := taskFromValues(r.Values(), r.Record, numbers)
		if err != nil {
			return outRow{Num: num, Problem: err.Error()}, true, nil
		}
		return outRow{Num: num, Task: t, Resend: resend}, true, nil
	}, nil
}

// taskFromRecord turns a mapped record into a task: every field the
// mapping set is sent (HasValue true), the others are left alone. A row
// without a TaskNumber gets the next derived one from numbers.
func taskFromRecord(rec mapping.Record, numbers *taskNumberer) (*officetrack.Task, error) {
	return taskFromValues(maps.All(rec.Fields), func() mapping.Record { return rec }, numbers)
}

// taskFromValues is taskFromRecord over a row's values; record is called
// only when the task number must be derived.
func taskFromValues(vals iter.Seq2[string, mapping.Value], record func() mapping.Record, numbers *taskNumberer) (*officetrack.Task, error) {
	var t officetrack.Task
	for name, v := range vals {
		if !v.Set {
			continue
		}
		if err := t.Set(name, v.Text); err != nil {
			return nil, &fieldError{name, err}
		}
	}
	if t.TaskNumber == nil {
		n := numbers.next(record())
		t.TaskNumber = &n
	}
	return &t, nil
}

// fieldError is a mapped value that OfficeTrack's field does not take
// (too long, not one of its values): the import page marks the cell.
type fieldError struct {
	Field string
	Err   error
}

func (e *fieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *fieldError) Unwrap() error { return e.Err }

// poiFromValues turns a row's mapped values into a point of interest.
func poiFromValues(vals iter.Seq2[string, mapping.Value]) (*officetrack.POI, error) {
	var p officetrack.POI
	for name, v := range vals {
		if !v.Set {
			continue
		}
		if err := p.Set(name, v.Text); err != nil {
			return nil, &fieldError{name, err}
		}
	}
	if p.Type == "" {
		p.Type = "POI"
	}
	return &p, nil
}

// reportStatus maps a row outcome to the report's status words.
func reportStatus(s string) mapping.Status {
	switch s {
	case OutcomeSent:
		return mapping.StatusSent
	case OutcomeAlready:
		return mapping.StatusAlready
	case OutcomeFailed, OutcomeRejected:
		return mapping.StatusRejected
	}
	return mapping.StatusSkipped
}

// writeReport writes the result report (the original rows plus status and
// message) into the work folder and returns its path.
func (j *job) writeReport(src sheetSource, rec ledger.File, statusOf func(int) (rowStatus, bool), sum summary) (string, error) {
	ms := src.(*mappedSheet)
	if ms.current != nil {
		ms.current.Close()
		ms.current = nil
	}
	path := filepath.Join(j.workDir(), rec.SHA256[:16]+".report"+mapping.ReportExt(ms.f))
	cols := ms.width
	if ms.reportCol >= 0 { // a report dropped back: its status and message are replaced
		cols = ms.reportCol
	}
	_, err := mapping.WriteReportFile(path, mapping.ReportSpec{
		Source: ms.f, Sheet: string(ms.m.Sheet), HeaderRow: ms.header, Columns: cols, Lang: j.lang(),
		Outcome: func(row int) (mapping.Outcome, bool) {
			s, ok := statusOf(row)
			if !ok {
				return mapping.Outcome{}, false
			}
			return mapping.Outcome{Status: reportStatus(s.Status), Message: s.Message}, true
		},
	})
	return path, err
}

// writeNoteReport writes a short text report for a file that was not
// processed row by row (a duplicate, an unreadable file).
func (j *job) writeNoteReport(rec ledger.File, note string) (string, error) {
	path := filepath.Join(j.workDir(), rec.SHA256[:16]+".report.txt")
	tmp := path + ".partial"
	f, err := os.Create(tmp)
	if err != nil {
		return "", err
	}
	_, err = fmt.Fprintf(f, "%s\r\n\r\n%s\r\nsha256 %s\r\n", rec.Name, note, rec.SHA256)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return path, nil
}

func configLanguage(j *job) string {
	if j.env != nil && j.env.Config != nil {
		return j.env.Config.Language
	}
	return ""
}
