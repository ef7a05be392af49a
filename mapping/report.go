package mapping

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/fieldbridge/fieldbridge/mapping/sheet"
)

// Status is the outcome of one row, decided by the flow.
type Status string

// Row statuses.
const (
	StatusSent     Status = "sent"     // accepted by the target
	StatusRejected Status = "rejected" // bad data: the mapping or the target refused it
	StatusFailed   Status = "failed"   // could not be sent (target down); may be retried
	StatusSkipped  Status = "skipped"  // not sent on purpose (e.g. duplicate file)
	StatusAlready  Status = "already"  // the target already held it: not sent again
)

// Outcome is what happened to one row.
type Outcome struct {
	Status  Status
	Message string // in the report's language
}

// Outcomes records the outcome of rows by row number.
type Outcomes struct {
	m map[int]Outcome
}

// Set records a row's outcome.
func (o *Outcomes) Set(row int, s Status, msg string) {
	if o.m == nil {
		o.m = map[int]Outcome{}
	}
	o.m[row] = Outcome{Status: s, Message: msg}
}

// Get returns a row's outcome.
func (o *Outcomes) Get(row int) (Outcome, bool) {
	out, ok := o.m[row]
	return out, ok
}

// Len is the number of rows recorded.
func (o *Outcomes) Len() int { return len(o.m) }

// RejectMessage joins a row's problems into one message in language l.
func RejectMessage(probs []Problem, l string) string {
	msgs := make([]string, len(probs))
	for i, p := range probs {
		msgs[i] = p.Message(l)
	}
	return strings.Join(msgs, "; ")
}

// ReportSpec describes a result report: the original rows of Source's
// sheet plus status and message columns.
type ReportSpec struct {
	// Source is the opened source file; its sheet is read again while the
	// report is written, so the sheet is never held in memory.
	Source *sheet.File
	// Sheet is the sheet reference (Mapping.Sheet).
	Sheet string
	// HeaderRow is the spreadsheet row of the headers (Reader.HeaderRow);
	// rows above it are copied without a status.
	HeaderRow int
	// Columns is the number of source columns (Reader.Width); 0 measures
	// it with an extra pass over the sheet.
	Columns int
	// Lang is the language of the status words, headers and summary.
	Lang string
	// Outcome returns a data row's outcome; rows without one get an
	// empty status.
	Outcome func(row int) (Outcome, bool)
	// Format forces "xlsx" or "csv"; default: XLSX for an XLSX source,
	// CSV (same encoding and delimiter) otherwise.
	Format string
	// Rewrite, when set, may change a row's cells before it is written
	// (the import page's corrections; cells emptied leave the row out).
	Rewrite func(row *sheet.Row)
	// Plain writes the rows only, without the status and message columns
	// and the summary: a corrected copy of the source, to be read as
	// input.
	Plain bool
}

// Summary counts the outcomes of a report's rows.
type Summary struct {
	Sent, Rejected, Failed, Skipped, Already int
	// Text is the one-line summary, e.g. "812 enviadas, 3 rejeitadas".
	Text string
}

func (s *Summary) add(st Status) {
	switch st {
	case StatusSent:
		s.Sent++
	case StatusRejected:
		s.Rejected++
	case StatusFailed:
		s.Failed++
	case StatusSkipped:
		s.Skipped++
	case StatusAlready:
		s.Already++
	}
}

func (s *Summary) text(l string) string {
	parts := []string{tr(l, mSummarySent, s.Sent), tr(l, mSummaryRejected, s.Rejected)}
	if s.Failed > 0 {
		parts = append(parts, tr(l, mSummaryOther, s.Failed, statusWord(l, StatusFailed)))
	}
	if s.Skipped > 0 {
		parts = append(parts, tr(l, mSummaryOther, s.Skipped, statusWord(l, StatusSkipped)))
	}
	if s.Already > 0 {
		parts = append(parts, tr(l, mSummaryOther, s.Already, statusWord(l, StatusAlready)))
	}
	return strings.Join(parts, ", ")
}

// IsReportSummary reports whether text is the one-line summary a result
// report ends with ("18 enviadas, 2 rejeitadas, 3 já enviada"), in any of
// the report languages.
func IsReportSummary(text string) bool {
	parts := strings.Split(strings.TrimSpace(text), ", ")
	if len(parts) < 2 {
		return false
	}
	for _, part := range parts {
		n, word, ok := strings.Cut(part, " ")
		if !ok || n == "" || strings.Trim(n, "0123456789") != "" || !summaryWord(word) {
			return false
		}
	}
	return true
}

// summaryWord reports whether w follows a count in a report's summary.
func summaryWord(w string) bool {
	for _, l := range []string{LangPT, LangES, LangEN} {
		for _, k := range []msgKey{mSummarySent, mSummaryRejected} {
			if _, word, _ := strings.Cut(tr(l, k, 0), " "); w == word {
				return true
			}
		}
		for _, s := range []Status{StatusFailed, StatusSkipped, StatusAlready} {
			if w == statusWord(l, s) {
				return true
			}
		}
	}
	return false
}

// ReportSummaryRow reports whether row is a result report's summary line:
// its only value, in the first column, is a summary (IsReportSummary). A
// report dropped back as input carries its old one; it is not data.
func ReportSummaryRow(row sheet.Row) bool {
	if len(row.Cells) == 0 || !IsReportSummary(row.Cells[0].Value) {
		return false
	}
	for _, c := range row.Cells[1:] {
		if strings.TrimSpace(c.Value) != "" {
			return false
		}
	}
	return true
}

// ReportStatus reads a status word of a result report, in any of the
// report languages (a report dropped back as input); false when word is
// none of them.
func ReportStatus(word string) (Status, bool) {
	w := strings.ToLower(strings.TrimSpace(word))
	if w == "" {
		return "", false
	}
	for _, s := range []Status{StatusSent, StatusRejected, StatusFailed, StatusSkipped, StatusAlready} {
		for _, l := range []string{LangPT, LangES, LangEN} {
			if w == strings.ToLower(statusWord(l, s)) {
				return s, true
			}
		}
	}
	return "", false
}

func statusWord(l string, s Status) string {
	switch s {
	case StatusSent:
		return tr(l, mStatusOK)
	case StatusRejected:
		return tr(l, mStatusRejected)
	case StatusFailed:
		return tr(l, mStatusFailed)
	case StatusSkipped:
		return tr(l, mStatusSkipped)
	case StatusAlready:
		return tr(l, mStatusAlready)
	}
	return string(s)
}

// ReportColumns finds the status and message columns that a result
// report adds after a sheet's own columns, in any of the report languages:
// a report dropped back as input (the rows fixed by the clerk). It returns
// the 0-based column of the status header, or -1 when headers do not end
// with them. Those columns are not data: a new report replaces them.
func ReportColumns(headers []string) int {
	last := len(headers) - 1
	for last >= 0 && strings.TrimSpace(headers[last]) == "" {
		last--
	}
	if last < 1 {
		return -1
	}
	is := func(h string, key msgKey) bool {
		h = strings.ToLower(strings.TrimSpace(h))
		for _, l := range []string{LangPT, LangES, LangEN} {
			if h == strings.ToLower(tr(l, key)) {
				return true
			}
		}
		return false
	}
	if is(headers[last-1], mStatus) && is(headers[last], mMessage) {
		return last - 1
	}
	return -1
}

// ReportExt returns the report's file extension for a source file: ".csv"
// for a CSV source, ".xlsx" for any workbook (XLSX, ODS or XLS).
func ReportExt(src *sheet.File) string {
	if src.Format == sheet.FormatCSV {
		return ".csv"
	}
	return ".xlsx"
}

// WriteReportFile writes the report to path atomically: a temporary file
// in the same folder, flushed and synced, then renamed over path.
func WriteReportFile(path string, spec ReportSpec) (Summary, error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".partial-*")
	if err != nil {
		return Summary{}, err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 256<<10)
	sum, err := WriteReport(bw, spec)
	if err != nil {
		return sum, err
	}
	if err := bw.Flush(); err != nil {
		return sum, err
	}
	if err := tmp.Sync(); err != nil {
		return sum, err
	}
	if err := tmp.Close(); err != nil {
		return sum, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return sum, err
	}
	done = true
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return sum, nil
}

// WriteReport writes the report to w and returns the summary.
func WriteReport(w io.Writer, spec ReportSpec) (Summary, error) {
	if spec.Source == nil {
		return Summary{}, errors.New("report: no source file")
	}
	if spec.Outcome == nil {
		spec.Outcome = func(int) (Outcome, bool) { return Outcome{}, false }
	}
	if spec.Columns <= 0 {
		n, err := measureWidth(spec.Source, spec.Sheet)
		if err != nil {
			return Summary{}, err
		}
		spec.Columns = n
	}
	format := spec.Format
	if format == "" {
		format = strings.TrimPrefix(ReportExt(spec.Source), ".")
	}
	if format == "xlsx" {
		return writeXLSXReport(w, spec)
	}
	return writeCSVReport(w, spec)
}

func measureWidth(f *sheet.File, ref string) (int, error) {
	rows, err := f.Rows(ref)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		if w := len(rows.Row().Cells); w > n {
			n = w
		}
	}
	return n, rows.Err()
}

func writeCSVReport(w io.Writer, spec ReportSpec) (Summary, error) {
	var sum Summary
	delim, enc := ',', sheet.EncUTF8
	if spec.Source.CSV != nil {
		delim, enc = spec.Source.CSV.Delimiter, spec.Source.CSV.Encoding
	}
	ew := sheet.Encoder(w, enc)
	cw := csv.NewWriter(ew)
	cw.Comma = delim
	cw.UseCRLF = true
	rows, err := spec.Source.Rows(spec.Sheet)
	if err != nil {
		return sum, err
	}
	defer rows.Close()
	extra := 2
	if spec.Plain {
		extra = 0
	}
	rec := make([]string, spec.Columns+extra)
	for rows.Next() {
		row := rows.Row()
		if spec.Rewrite != nil {
			spec.Rewrite(&row)
		}
		for i := range rec {
			rec[i] = ""
		}
		for i, c := range row.Cells {
			if i < spec.Columns {
				rec[i] = c.Value
			}
		}
		switch {
		case spec.Plain:
		case row.Num == spec.HeaderRow:
			rec[spec.Columns], rec[spec.Columns+1] = tr(spec.Lang, mStatus), tr(spec.Lang, mMessage)
		case row.Num > spec.HeaderRow:
			o, ok := spec.Outcome(row.Num)
			if !ok && ReportSummaryRow(row) {
				continue // the summary of a report dropped back: a new one follows
			}
			if ok {
				sum.add(o.Status)
				rec[spec.Columns], rec[spec.Columns+1] = statusWord(spec.Lang, o.Status), o.Message
			}
		}
		if err := cw.Write(rec); err != nil {
			return sum, err
		}
	}
	if err := rows.Err(); err != nil {
		return sum, err
	}
	sum.Text = sum.text(spec.Lang)
	if !spec.Plain {
		cw.Write([]string{})
		cw.Write([]string{sum.Text})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return sum, err
	}
	if c, ok := ew.(io.Closer); ok {
		if err := c.Close(); err != nil {
			return sum, err
		}
	}
	return sum, nil
}

// reportStyles caches excelize style ids per (number format, failed).
type reportStyles struct {
	f     *excelize.File
	cache map[string]int
}

func (s *reportStyles) get(numFmt string, failed, bold bool) (int, error) {
	key := fmt.Sprintf("%s\x00%t\x00%t", numFmt, failed, bold)
	if id, ok := s.cache[key]; ok {
		return id, nil
	}
	st := &excelize.Style{}
	if numFmt != "" {
		code := numFmt
		st.CustomNumFmt = &code
	}
	if failed {
		st.Fill = excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"FFC7CE"}}
		st.Font = &excelize.Font{Color: "9C0006", Bold: bold}
	} else if bold {
		st.Font = &excelize.Font{Bold: true}
	}
	id, err := s.f.NewStyle(st)
	if err != nil {
		return 0, err
	}
	s.cache[key] = id
	return id, nil
}

func safeSheetName(s string) string {
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`:\/?*[]`, r) {
			return '_'
		}
		return r
	}, s)
	s = strings.Trim(s, "'")
	if r := []rune(s); len(r) > 31 {
		s = string(r[:31])
	}
	if s == "" {
		s = "Sheet1"
	}
	return s
}

func writeXLSXReport(w io.Writer, spec ReportSpec) (sum Summary, err error) {
	xf := excelize.NewFile()
	defer xf.Close()
	name := "Sheet1"
	if idx, err := spec.Source.SheetIndex(spec.Sheet); err == nil {
		name = safeSheetName(spec.Source.Sheets[idx])
	}
	if name != "Sheet1" {
		if err := xf.SetSheetName("Sheet1", name); err != nil {
			return sum, err
		}
	}
	sw, err := xf.NewStreamWriter(name)
	if err != nil {
		return sum, err
	}
	styles := &reportStyles{f: xf, cache: map[string]int{}}
	statusCol := spec.Columns + 1
	if !spec.Plain {
		if err := sw.SetColWidth(statusCol, statusCol, 12); err != nil {
			return sum, err
		}
		if err := sw.SetColWidth(statusCol+1, statusCol+1, 80); err != nil {
			return sum, err
		}
	}
	rows, err := spec.Source.Rows(spec.Sheet)
	if err != nil {
		return sum, err
	}
	defer rows.Close()
	date1904 := spec.Source.Date1904()
	_ = date1904
	extra := 2
	if spec.Plain {
		extra = 0
	}
	vals := make([]any, spec.Columns+extra)
	last := 0
	for rows.Next() {
		row := rows.Row()
		if spec.Rewrite != nil {
			spec.Rewrite(&row)
		}
		failed, bold := false, row.Num == spec.HeaderRow && !spec.Plain
		var o Outcome
		var has bool
		if row.Num > spec.HeaderRow && !spec.Plain {
			if o, has = spec.Outcome(row.Num); has {
				sum.add(o.Status)
				failed = o.Status == StatusRejected || o.Status == StatusFailed
			} else if ReportSummaryRow(row) {
				continue // the summary of a report dropped back: a new one follows
			}
		}
		for i := range vals {
			vals[i] = nil
		}
		for i, c := range row.Cells {
			if i >= spec.Columns {
				break
			}
			v, numFmt := reportValue(c)
			if v == nil && !failed {
				continue
			}
			id, err := styles.get(numFmt, failed, bold)
			if err != nil {
				return sum, err
			}
			vals[i] = excelize.Cell{StyleID: id, Value: v}
		}
		if failed {
			// Highlight the whole row, empty cells included.
			id, err := styles.get("", true, false)
			if err != nil {
				return sum, err
			}
			for i := 0; i < spec.Columns; i++ {
				if vals[i] == nil {
					vals[i] = excelize.Cell{StyleID: id}
				}
			}
		}
		switch {
		case bold:
			id, err := styles.get("", false, true)
			if err != nil {
				return sum, err
			}
			vals[spec.Columns] = excelize.Cell{StyleID: id, Value: tr(spec.Lang, mStatus)}
			vals[spec.Columns+1] = excelize.Cell{StyleID: id, Value: tr(spec.Lang, mMessage)}
		case has:
			id, err := styles.get("", failed, failed)
			if err != nil {
				return sum, err
			}
			vals[spec.Columns] = excelize.Cell{StyleID: id, Value: statusWord(spec.Lang, o.Status)}
			vals[spec.Columns+1] = excelize.Cell{StyleID: id, Value: o.Message}
		}
		num := row.Num
		if num <= last {
			num = last + 1
		}
		last = num
		cell, _ := excelize.CoordinatesToCellName(1, num)
		if err := sw.SetRow(cell, vals); err != nil {
			return sum, err
		}
	}
	if err := rows.Err(); err != nil {
		return sum, err
	}
	sum.Text = sum.text(spec.Lang)
	if !spec.Plain {
		id, err := styles.get("", false, true)
		if err != nil {
			return sum, err
		}
		cell, _ := excelize.CoordinatesToCellName(1, last+2)
		if err := sw.SetRow(cell, []any{excelize.Cell{StyleID: id, Value: sum.Text}}); err != nil {
			return sum, err
		}
	}
	if err := sw.Flush(); err != nil {
		return sum, err
	}
	if _, err := xf.WriteTo(w); err != nil {
		return sum, err
	}
	return sum, nil
}

// reportValue turns a source cell back into a typed value for the report
// and the number format to show it with.
func reportValue(c sheet.Cell) (any, string) {
	switch c.Kind {
	case sheet.Empty:
		if c.Value == "" {
			return nil, ""
		}
		return c.Value, ""
	case sheet.Number, sheet.Date:
		if f, err := strconv.ParseFloat(c.Value, 64); err == nil {
			return f, c.Format
		}
	case sheet.Bool:
		return c.Value == "1", ""
	}
	return c.Value, ""
}
