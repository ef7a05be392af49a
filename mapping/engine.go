package mapping

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fieldbridge/fieldbridge/mapping/sheet"
)

// Value is one field's value in a record. Set says the mapping filled it;
// the OfficeTrack client sends <Field>HasValue=true exactly for set fields.
type Value struct {
	Set bool
	// Text is the value as sent: numbers with '.', dates in the mapping's
	// date_format, phones as digits, booleans "true"/"false".
	Text string
}

// Record is one spreadsheet row turned into target fields.
type Record struct {
	// Row is the spreadsheet row number the user sees.
	Row int
	// Fields holds every field the mapping fills that had a value, by
	// target field name ("TaskNumber", "Location.X", "data3").
	Fields map[string]Value
}

// Get returns a field's text and whether it is set.
func (r Record) Get(name string) (string, bool) {
	v, ok := r.Fields[name]
	return v.Text, ok && v.Set
}

// Problem is what is wrong with one value of one row.
type Problem struct {
	Row    int    // spreadsheet row
	Col    int    // 1-based column; 0 for a fixed value or a template
	Header string // the column's header as written in the sheet
	Field  string // target field
	Value  string // the value as the user sees it
	key    msgKey
	args   []any
}

// Column returns the column letter ("C"), or "" when the value does not
// come from one column.
func (p Problem) Column() string {
	if p.Col <= 0 {
		return ""
	}
	return sheet.ColumnName(p.Col)
}

// Code is a stable identifier of the kind of problem ("required", "not_date", ...).
func (p Problem) Code() string { return string(p.key) }

// Message tells a person, in language l, the row, column letter and
// header, the value and what is wrong.
func (p Problem) Message(l string) string {
	var b strings.Builder
	if p.Col > 0 {
		b.WriteString(tr(l, mRowPrefix, p.Row, p.Column(), p.Header))
	} else {
		b.WriteString(tr(l, mRowPrefixNoCol, p.Row, p.Field))
	}
	b.WriteString(": ")
	if p.Value != "" {
		b.WriteString(tr(l, mValue, p.Value))
		b.WriteString(" ")
	}
	b.WriteString(tr(l, p.key, p.args...))
	return b.String()
}

// Error returns the English message.
func (p Problem) Error() string { return p.Message(LangEN) }

// FileError is a problem with a whole sheet: its header row or columns
// do not fit the mapping, or no mapping fits it.
type FileError struct {
	File    string
	Mapping string
	key     msgKey
	args    []any
	text    map[string]string // for messages built outside the tables
}

// Message returns the problem in language l.
func (e *FileError) Message(l string) string {
	text := ""
	if e.text != nil {
		text = e.text[lang(l)]
	} else {
		text = tr(l, e.key, e.args...)
	}
	return tr(l, mFile, filepath.Base(e.File), text)
}

func (e *FileError) Error() string { return e.Message(LangEN) }

// Options tune reading a sheet with a mapping.
type Options struct {
	// Sheet bounds the file (sizes, rows).
	Sheet sheet.Options
	// Lang is the language of messages (pt-BR default, es, en).
	Lang string
	// HeaderSearchRows is how many rows are searched for the header row
	// (default 20).
	HeaderSearchRows int
}

func (o Options) searchRows() int {
	if o.HeaderSearchRows <= 0 {
		return 20
	}
	return o.HeaderSearchRows
}

// Reader reads a sheet through a mapping, one record per non-empty data
// row, with the problems of each row.
type Reader struct {
	File    *sheet.File
	Mapping *Mapping

	opts      Options
	rows      sheet.Rows
	ownFile   bool
	headerRow int
	headers   []string
	// report: the sheet is a result report dropped back (its headers end
	// with the status and message columns); its old summary line is not
	// a row.
	report   bool
	bound    []bound
	pending  []sheet.Row // rows read while looking for the header
	row      sheet.Row
	rec      Record
	recBuilt bool
	vals     []namedValue
	problems []Problem
	date1904 bool
	width    int
	err      error

	// Rows are read (decompressed and scanned) by a goroutine, in batches,
	// while the caller maps the previous ones.
	batches chan rowBatch
	free    chan []sheet.Cell // cell arenas to reuse
	arenas  [][]sheet.Cell    // the current batch's arenas
	stop    chan struct{}
	done    chan struct{}
	batch   []sheet.Row
}

type rowBatch struct {
	rows   []sheet.Row
	arenas [][]sheet.Cell // backing the rows' cells
	width  int
	err    error
}

const batchRows = 512

// prefetch reads rows ahead in a goroutine. Cells are copied into each
// batch's cell arena, so rows stay valid while the reader goes on; an
// arena is handed back (through free) once the reader has moved past its
// batch, since Row is only valid until the next call of Next.
func (r *Reader) prefetch() {
	r.batches = make(chan rowBatch, 4)
	r.free = make(chan []sheet.Cell, 8)
	r.stop = make(chan struct{})
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		defer close(r.batches)
		send := func(b rowBatch) bool {
			select {
			case r.batches <- b:
				return true
			case <-r.stop:
				return false
			}
		}
		arena := func(n int) []sheet.Cell {
			select {
			case a := <-r.free:
				if cap(a) >= n {
					return a[:0]
				}
			default:
			}
			return make([]sheet.Cell, 0, max(8192, n))
		}
		b := rowBatch{rows: make([]sheet.Row, 0, batchRows)}
		var cells []sheet.Cell
		for r.rows.Next() {
			row := r.rows.Row()
			if cap(cells)-len(cells) < len(row.Cells) {
				if cells != nil {
					b.arenas = append(b.arenas, cells)
				}
				cells = arena(len(row.Cells))
			}
			start := len(cells)
			cells = append(cells, row.Cells...)
			b.rows = append(b.rows, sheet.Row{Num: row.Num, Cells: cells[start:len(cells):len(cells)]})
			if len(row.Cells) > b.width {
				b.width = len(row.Cells)
			}
			if len(b.rows) == batchRows {
				if cells != nil {
					// The rest of this arena stays with this batch.
					b.arenas = append(b.arenas, cells)
					cells = nil
				}
				if !send(b) {
					return
				}
				b = rowBatch{rows: make([]sheet.Row, 0, batchRows)}
			}
		}
		if cells != nil {
			b.arenas = append(b.arenas, cells)
		}
		b.err = r.rows.Err()
		send(b)
	}()
}

// nextRaw returns the next row read by the prefetching goroutine.
func (r *Reader) nextRaw() (sheet.Row, bool) {
	for len(r.batch) == 0 {
		// The previous batch is done with (its rows were valid until
		// this call of Next): recycle its cell arenas.
		for _, a := range r.arenas {
			select {
			case r.free <- a:
			default:
			}
		}
		r.arenas = nil
		b, ok := <-r.batches
		if !ok {
			return sheet.Row{}, false
		}
		if b.width > r.width {
			r.width = b.width
		}
		if b.err != nil {
			r.err = b.err
		}
		r.batch, r.arenas = b.rows, b.arenas
	}
	row := r.batch[0]
	r.batch = r.batch[1:]
	return row, true
}

// Width returns the widest row seen so far, in columns (after the last
// row: the sheet's width, to pass as ReportSpec.Columns).
func (r *Reader) Width() int { return r.width }

type bound struct {
	f    *field
	col  int // 0-based; -1 none
	col2 int // second column (latlng in two columns)
	tcol []int
	seen *uniqSet // values seen so far, for a unique field
}

// Open opens the file at path and prepares to read it with mapping m.
// Errors are *sheet.Error (the file cannot be read) or *FileError (it
// does not fit the mapping); Explain turns either into a message.
func Open(path string, m *Mapping, opts Options) (*Reader, error) {
	f, err := sheet.Open(path, opts.Sheet)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(f, m, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.ownFile = true
	return r, nil
}

// NewReader reads an already opened file with mapping m (the file stays
// open after r.Close; the caller closes it). Rows are read ahead by a
// goroutine: always Close the reader, even after an error from Next.
func NewReader(f *sheet.File, m *Mapping, opts Options) (*Reader, error) {
	rows, err := f.Rows(string(m.Sheet))
	if err != nil {
		return nil, err
	}
	r := &Reader{File: f, Mapping: m, opts: opts, rows: rows, date1904: f.Date1904()}
	if err := r.findHeader(); err != nil {
		rows.Close()
		return nil, err
	}
	r.prefetch()
	return r, nil
}

func copyRow(r sheet.Row) sheet.Row {
	return sheet.Row{Num: r.Num, Cells: append([]sheet.Cell(nil), r.Cells...)}
}

func (r *Reader) findHeader() error {
	m := r.Mapping
	var buf []sheet.Row
	bestScore, best := 0, -1
	want := m.columnCount()
	for len(buf) < r.opts.searchRows() && r.rows.Next() {
		row := r.rows.Row()
		if len(row.Cells) > r.width {
			r.width = len(row.Cells)
		}
		if m.HeaderRow > 0 {
			if row.Num < m.HeaderRow {
				continue
			}
			if row.Num > m.HeaderRow {
				// The header row is empty or missing.
				buf = append(buf, copyRow(row))
				break
			}
		}
		if row.Empty() {
			continue
		}
		buf = append(buf, copyRow(row))
		if m.HeaderRow > 0 {
			best = len(buf) - 1
			break
		}
		if s := m.headerScore(row); s > bestScore {
			bestScore, best = s, len(buf)-1
			if s == want {
				break
			}
		}
	}
	if err := r.rows.Err(); err != nil {
		return err
	}
	if best < 0 {
		return &FileError{File: r.File.Path, Mapping: m.Name, key: mHeaderNotFound, args: []any{m.Name, r.opts.searchRows()}}
	}
	hdr := buf[best]
	r.headerRow = hdr.Num
	r.headers = make([]string, len(hdr.Cells))
	for i, c := range hdr.Cells {
		r.headers[i] = strings.TrimSpace(c.Value)
	}
	r.report = ReportColumns(r.headers) >= 0
	if err := r.bind(); err != nil {
		return err
	}
	r.pending = buf[best+1:]
	return nil
}

// columnCount is the number of distinct source columns a mapping names.
func (m *Mapping) columnCount() int {
	n := 0
	for _, f := range m.spec {
		n += len(columnsOf(f))
	}
	return n
}

func columnsOf(f *field) [][]string {
	var out [][]string
	if len(f.headers) > 0 {
		out = append(out, f.headers)
	}
	if len(f.second) > 0 {
		out = append(out, f.second)
	}
	for _, p := range f.tmpl {
		if p.norm != "" {
			out = append(out, []string{p.norm})
		}
	}
	return out
}

// headerScore counts the mapping's columns found in a row.
func (m *Mapping) headerScore(row sheet.Row) int {
	have := make(map[string]bool, len(row.Cells))
	for _, c := range row.Cells {
		if c.Kind == sheet.String || c.Kind == sheet.Number {
			if n := NormalizeHeader(c.Value); n != "" {
				have[n] = true
			}
		}
	}
	score := 0
	for _, f := range m.spec {
		for _, alts := range columnsOf(f) {
			for _, h := range alts {
				if have[h] {
					score++
					break
				}
			}
		}
	}
	return score
}

func findCol(headers []string, alts []string) int {
	for _, h := range alts {
		for i, got := range headers {
			if NormalizeHeader(got) == h {
				return i
			}
		}
	}
	return -1
}

func (r *Reader) bind() error {
	m := r.Mapping
	var missing []string
	var missingField []string
	for _, name := range m.order {
		f := m.spec[name]
		b := bound{f: f, col: -1, col2: -1}
		if f.unique {
			b.seen = &uniqSet{}
		}
		if len(f.headers) > 0 {
			b.col = findCol(r.headers, f.headers)
			if b.col < 0 && f.spec.Default == nil {
				col := f.spec.Column
				if col == "" && len(f.spec.Columns) > 0 {
					col = f.spec.Columns[0]
				}
				missing, missingField = append(missing, col), append(missingField, name)
			}
		}
		if len(f.second) > 0 {
			b.col2 = findCol(r.headers, f.second)
			if b.col2 < 0 && f.spec.Default == nil {
				missing, missingField = append(missing, f.spec.Columns[1]), append(missingField, name)
			}
		}
		for _, p := range f.tmpl {
			c := -1
			if p.norm != "" {
				c = findCol(r.headers, []string{p.norm})
				if c < 0 {
					missing, missingField = append(missing, p.header), append(missingField, name)
				}
			}
			b.tcol = append(b.tcol, c)
		}
		r.bound = append(r.bound, b)
	}
	if len(missing) > 0 {
		return r.missingColumns(missing, missingField)
	}
	return nil
}

// quotedHeaders lists a row's non-empty headers, quoted, at most 30.
func quotedHeaders(headers []string) string {
	var found []string
	for _, h := range headers {
		if h != "" {
			found = append(found, strconvQuote(h))
		}
	}
	if len(found) > 30 {
		found = append(found[:30], "…")
	}
	return strings.Join(found, ", ")
}

// missingColumns is the error for columns of the mapping that the header
// row lacks: with header_row set and the columns on another row, one
// sentence naming that row; otherwise the missing columns and the columns
// found, each list once.
func (r *Reader) missingColumns(missing, missingField []string) error {
	m := r.Mapping
	if m.HeaderRow > 0 {
		if row, headers, ok := r.probableHeaderRow(); ok && row != r.headerRow {
			return &FileError{File: r.File.Path, Mapping: m.Name, key: mHeaderElsewhere,
				args: []any{m.Name, m.HeaderRow, row, quotedHeaders(headers)}}
		}
	}
	var parts []string
	for i := range missing {
		parts = append(parts, fmt.Sprintf("%q (%s)", missing[i], missingField[i]))
	}
	return &FileError{File: r.File.Path, Mapping: m.Name, key: mColumnsMissing,
		args: []any{strings.Join(parts, ", "), quotedHeaders(r.headers)}}
}

// probableHeaderRow reads the first rows of the sheet again and returns
// the row holding the most of the mapping's columns (ok false when no row
// holds more than the row used).
func (r *Reader) probableHeaderRow() (int, []string, bool) {
	rows, err := r.File.Rows(string(r.Mapping.Sheet))
	if err != nil {
		return 0, nil, false
	}
	defer rows.Close()
	hdr := sheet.Row{}
	for _, h := range r.headers {
		hdr.Cells = append(hdr.Cells, sheet.Cell{Value: h, Kind: sheet.String})
	}
	bestScore, best, bestHeaders := r.Mapping.headerScore(hdr), 0, []string(nil)
	for n := 0; n < r.opts.searchRows() && rows.Next(); n++ {
		row := rows.Row()
		if s := r.Mapping.headerScore(row); s > bestScore {
			bestScore, best = s, row.Num
			bestHeaders = bestHeaders[:0]
			for _, c := range row.Cells {
				bestHeaders = append(bestHeaders, strings.TrimSpace(c.Value))
			}
		}
	}
	return best, bestHeaders, best > 0
}

func strconvQuote(s string) string { return strconv.Quote(s) }

// HeaderRow returns the spreadsheet row of the headers.
func (r *Reader) HeaderRow() int { return r.headerRow }

// Headers returns the header texts (index 0 = column A).
func (r *Reader) Headers() []string { return r.headers }

// Next reads the next non-empty data row and maps it. It returns false at
// the end of the sheet or when the sheet cannot be read further (see Err).
func (r *Reader) Next() bool {
	for {
		if len(r.pending) > 0 {
			r.row, r.pending = r.pending[0], r.pending[1:]
		} else if row, ok := r.nextRaw(); ok {
			r.row = row
		} else {
			return false
		}
		if r.row.Empty() || (r.report && ReportSummaryRow(r.row)) {
			continue
		}
		r.vals, r.problems = r.Mapping.mapRow(r.row, r.bound, r.headers, r.date1904, r.vals[:0])
		r.recBuilt = false
		return true
	}
}

// Record returns the current row's record. Use it only when Problems is empty.
func (r *Reader) Record() Record {
	if !r.recBuilt {
		r.rec = Record{Row: r.row.Num, Fields: make(map[string]Value, len(r.vals))}
		for _, nv := range r.vals {
			r.rec.Fields[nv.name] = nv.v
		}
		r.recBuilt = true
	}
	return r.rec
}

// Values yields the current row's fields, the same names and values as
// Record().Fields, in the mapping's order, without building the map:
//
//	for name, v := range r.Values() { ... }
//
// It is the cheap way to read a row that is converted right away (Record
// allocates a map of every field per row, a third of the CPU time of
// mapping a large sheet). Values must be used before the next call of Next.
func (r *Reader) Values() iter.Seq2[string, Value] {
	vals := r.vals
	return func(yield func(string, Value) bool) {
		for _, nv := range vals {
			if !yield(nv.name, nv.v) {
				return
			}
		}
	}
}

// Problems returns what is wrong with the current row (nil when it is good).
func (r *Reader) Problems() []Problem { return r.problems }

// Row returns the current row as read (valid until Next).
func (r *Reader) Row() sheet.Row { return r.row }

// Err returns the error that stopped reading, if any.
func (r *Reader) Err() error { return r.err }

// Close stops reading and closes the rows (and the file, when Open
// opened it).
func (r *Reader) Close() error {
	if r.stop != nil {
		select {
		case <-r.stop:
		default:
			close(r.stop)
		}
		<-r.done
	}
	err := r.rows.Close()
	if r.ownFile {
		if e := r.File.Close(); err == nil {
			err = e
		}
	}
	return err
}

// cellText is the text a person sees in a cell: dates formatted
// dd/mm/yyyy [hh:mm], everything else as stored.
// CellText is a cell's value as a person reads it in the sheet: dates as
// dd/mm/yyyy (with the time when it has one), numbers without float noise,
// booleans as TRUE/FALSE.
func CellText(c sheet.Cell, date1904 bool) string { return cellText(c, date1904) }

func cellText(c sheet.Cell, date1904 bool) string {
	if c.Kind == sheet.Date {
		if f, err := strconv.ParseFloat(c.Value, 64); err == nil {
			if t, err := ExcelTime(f, date1904, time.UTC); err == nil {
				if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
					return t.Format("02/01/2006")
				}
				return t.Format("02/01/2006 15:04")
			}
		}
	}
	if c.Kind == sheet.Number {
		return numberText(c.Value)
	}
	if c.Kind == sheet.Bool {
		if c.Value == "1" {
			return "TRUE"
		}
		return "FALSE"
	}
	return c.Value
}

// needsCollapse reports whether s has leading, trailing or repeated
// white space, or white space other than ' '.
func needsCollapse(s string) bool {
	prev := byte(' ')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' {
			if prev == ' ' {
				return true
			}
		} else if c < ' ' || c >= 0x80 {
			return true // tabs, line breaks, and non-ASCII spaces: the slow way
		}
		prev = c
	}
	return prev == ' '
}

// renderTemplate fills a template's placeholders with the row's cells. The
// separator after an empty placeholder is dropped (before it, for the last
// one), so "{Rua}, {Número} - {Bairro}" with no number gives "Rua - Bairro".
func renderTemplate(parts []tmplPart, cols []int, row sheet.Row, date1904 bool) string {
	vals := make([]string, len(parts))
	keep := make([]bool, len(parts))
	last := -1
	for i, p := range parts {
		if p.norm == "" {
			vals[i], keep[i] = p.lit, true
			continue
		}
		last = i
		if c := cols[i]; c >= 0 {
			vals[i] = strings.TrimSpace(cellText(row.Cell(c), date1904))
		}
		keep[i] = vals[i] != ""
	}
	for i, p := range parts {
		if p.norm == "" || vals[i] != "" {
			continue
		}
		if i == last {
			for j := i - 1; j >= 0; j-- {
				if parts[j].norm == "" {
					keep[j] = false
					break
				}
				if vals[j] != "" {
					break
				}
			}
		} else if i+1 < len(parts) && parts[i+1].norm == "" {
			keep[i+1] = false
		}
	}
	var sb strings.Builder
	any := false
	for i := range parts {
		if keep[i] {
			sb.WriteString(vals[i])
			if parts[i].norm != "" {
				any = true
			}
		}
	}
	if !any {
		return ""
	}
	return strings.TrimSpace(sb.String())
}

func applyTransforms(s string, ts []string) string {
	for _, t := range ts {
		switch strings.ToLower(t) {
		case "trim":
			s = strings.TrimSpace(s)
		case "upper":
			s = strings.ToUpper(s)
		case "lower":
			s = strings.ToLower(s)
		case "digits":
			if allDigits(s) {
				continue
			}
			var b strings.Builder
			for _, r := range s {
				if r >= '0' && r <= '9' {
					b.WriteRune(r)
				}
			}
			s = b.String()
		case "collapse":
			if !needsCollapse(s) {
				continue
			}
			s = strings.Join(strings.Fields(s), " ")
		case "noaccents":
			s = StripAccents(s)
		}
	}
	return s
}

var parseKeys = map[error]msgKey{
	errNotNumber: mNotNumber, errNotInteger: mNotInteger, errNotDate: mNotDate, errBadDate: mBadDate,
	errNotCoords: mNotCoords, errLatRange: mLatRange, errLngRange: mLngRange, errNotPhone: mNotPhone,
	errNotEmail: mNotEmail, errNotBool: mNotBool, errOutOfBounds: mTooLarge,
}

// MapRow maps one row read elsewhere (headers[i] is column i's header).
// Uniqueness is not checked across calls. It is meant for tests and tools;
// Reader is the streaming way.
func (m *Mapping) MapRow(row sheet.Row, headers []string) (Record, []Problem, error) {
	return m.MapSheetRow(row, headers, false)
}

// MapSheetRow is MapRow for a row of a workbook whose date cells count
// from 1904 when date1904 is set (sheet.File.Date1904): the import page
// checks a corrected row again with it.
func (m *Mapping) MapSheetRow(row sheet.Row, headers []string, date1904 bool) (Record, []Problem, error) {
	r := &Reader{Mapping: m, headers: headers, File: &sheet.File{}}
	if err := r.bind(); err != nil {
		return Record{}, nil, err
	}
	vals, probs := m.mapRow(row, r.bound, headers, date1904, nil)
	rec := Record{Row: row.Num, Fields: map[string]Value{}}
	for _, nv := range vals {
		rec.Fields[nv.name] = nv.v
	}
	return rec, probs, nil
}

// namedValue is one field's value while a row is mapped.
type namedValue struct {
	name string
	v    Value
}

func (m *Mapping) mapRow(row sheet.Row, bs []bound, headers []string, date1904 bool, vals []namedValue) ([]namedValue, []Problem) {
	var probs []Problem
	for _, b := range bs {
		f := b.f
		p := Problem{Row: row.Num, Field: f.name}
		var cell sheet.Cell
		var text string
		switch {
		case f.spec.Value != nil:
			text = *f.spec.Value
			cell = sheet.Cell{Value: text, Kind: sheet.String}
		case len(f.tmpl) > 0:
			text = renderTemplate(f.tmpl, b.tcol, row, date1904)
			cell = sheet.Cell{Value: text, Kind: sheet.String}
		case b.col >= 0:
			cell = row.Cell(b.col)
			switch {
			case cell.Kind == sheet.Date && len(f.spec.Transforms) == 0 && f.mapNorm == nil:
				text = cell.Value // shown as a date only in messages
			default:
				text = cellText(cell, date1904)
			}
			p.Col = b.col + 1
		}
		shown := cell
		if len(f.spec.Transforms) > 0 {
			text = applyTransforms(text, f.spec.Transforms)
			if text != cell.Value {
				cell = sheet.Cell{Value: text, Kind: sheet.String}
			}
		}
		if f.mapNorm != nil {
			if v, ok := f.spec.Map[text]; ok {
				text = v
				cell = sheet.Cell{Value: text, Kind: sheet.String}
			} else if v, ok := f.mapNorm[normValue(text)]; ok {
				text = v
				cell = sheet.Cell{Value: text, Kind: sheet.String}
			}
		}
		var cell2 sheet.Cell
		if b.col2 >= 0 {
			cell2 = row.Cell(b.col2)
		}
		empty := strings.TrimSpace(text) == "" && strings.TrimSpace(cell2.Value) == ""
		if empty && f.spec.Default != nil {
			text = *f.spec.Default
			cell = sheet.Cell{Value: text, Kind: sheet.String}
			empty = strings.TrimSpace(text) == ""
		}
		if empty {
			if f.required {
				p.key, p.args = mRequired, []any{f.name}
				probs = append(probs, p.fill(shown, headers, date1904))
			}
			continue
		}
		out, out2, num, key, args := m.convert(f, cell, cell2, text, date1904)
		if key == "" && f.typ != LatLng {
			key, args = m.validate(f, out, num)
		}
		if key != "" {
			p.key, p.args = key, args
			probs = append(probs, p.fill(shown, headers, date1904))
			continue
		}
		if len(f.oneOf) > 0 {
			out = canonical(f.oneOf, out)
		}
		if f.typ == LatLng {
			vals = append(vals, namedValue{f.tf.Pair[0], Value{Set: true, Text: out}}, namedValue{f.tf.Pair[1], Value{Set: true, Text: out2}})
			continue
		}
		if f.unique {
			if first, dup := b.seen.add(fnv64(out), uint32(row.Num)); dup {
				p.key, p.args = mDuplicate, []any{int(first)}
				probs = append(probs, p.fill(shown, headers, date1904))
				continue
			}
		}
		vals = append(vals, namedValue{f.name, Value{Set: true, Text: out}})
	}
	return vals, probs
}

// fill completes a problem with the column header and the value as the
// user sees it.
func (p Problem) fill(c sheet.Cell, headers []string, date1904 bool) Problem {
	if p.Col > 0 {
		p.Header = headerAt(headers, p.Col-1)
	}
	p.Value = cellText(c, date1904)
	return p
}

// fnv64 is FNV-1a of s.
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func headerAt(h []string, i int) string {
	if i >= 0 && i < len(h) {
		return h[i]
	}
	return ""
}

func keyOf(err error) msgKey {
	if k, ok := parseKeys[err]; ok {
		return k
	}
	var e error = err
	for e != nil {
		if k, ok := parseKeys[e]; ok {
			return k
		}
		e = errors.Unwrap(e)
	}
	return mNotNumber
}

// convert parses text for the field's type and formats it for the target.
// num is the numeric value (for min/max) or the text length; out2 is the
// longitude of a LatLng (out the latitude).
func (m *Mapping) convert(f *field, cell, cell2 sheet.Cell, text string, date1904 bool) (out, out2 string, num float64, key msgKey, args []any) {
	isNum := cell.Kind == sheet.Number || cell.Kind == sheet.Date
	switch f.typ {
	case Text:
		out = text
		switch cell.Kind {
		case sheet.Number:
			out = numberText(cell.Value)
		case sheet.Date:
			out = cellText(cell, date1904)
		}
		if f.spec.Min != nil || f.spec.Max != nil {
			num = float64(utf8.RuneCountInString(out))
		}
	case Integer:
		if cell.Kind == sheet.Number {
			if n, ok := canonicalInt(cell.Value); ok {
				// Already written as FormatInt would write it.
				return cell.Value, "", float64(n), "", nil
			}
		}
		var n int64
		var err error
		if isNum {
			var fv float64
			fv, err = strconv.ParseFloat(cell.Value, 64)
			if err == nil && (fv != math.Trunc(fv)) {
				err = errNotInteger
			} else if err == nil && math.Abs(fv) >= 1<<53 {
				err = errOutOfBounds
			}
			n = int64(fv)
		} else {
			n, err = ParseInteger(text)
		}
		if err != nil {
			return "", "", 0, keyOf(err), nil
		}
		out, num = strconv.FormatInt(n, 10), float64(n)
	case Decimal, Lat, Lng:
		var v float64
		var err error
		if isNum {
			v, err = strconv.ParseFloat(cell.Value, 64)
		} else {
			v, err = ParseDecimal(text)
		}
		if err != nil {
			err = errNotNumber
			if f.typ != Decimal {
				err = errNotCoords
			}
		} else if f.typ != Decimal {
			err = checkCoord(v, f.typ == Lat)
		}
		if err != nil {
			return "", "", 0, keyOf(err), nil
		}
		out, num = strconv.FormatFloat(v, 'f', -1, 64), v
	case Date, DateTime:
		var t time.Time
		var err error
		switch {
		case isNum:
			var fv float64
			if fv, err = strconv.ParseFloat(cell.Value, 64); err == nil {
				t, err = ExcelTime(fv, date1904, m.loc)
			} else {
				err = errNotDate
			}
		case cell.Kind == sheet.ISODate:
			t, err = ParseDateText(strings.TrimSuffix(cell.Value, "Z"), m.loc, false)
		default:
			t, err = ParseDateText(text, m.loc, m.MonthFirst)
		}
		if err != nil {
			return "", "", 0, keyOf(err), nil
		}
		if f.typ == Date {
			t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
		}
		if m.datef != nil {
			out = m.datef.format(t)
		} else {
			out = t.Format(m.layout)
		}
		num = float64(t.Unix())
	case LatLng:
		var lat, lng float64
		var err error
		if len(f.second) > 0 {
			if cell.Kind == sheet.Number {
				lat, err = strconv.ParseFloat(cell.Value, 64)
				if err == nil {
					err = checkCoord(lat, true)
				}
			} else {
				lat, err = ParseCoordinate(cellText(cell, false), true)
			}
			if err == nil {
				if cell2.Kind == sheet.Number {
					lng, err = strconv.ParseFloat(cell2.Value, 64)
					if err == nil {
						err = checkCoord(lng, false)
					}
				} else {
					lng, err = ParseCoordinate(cell2.Value, false)
				}
			}
		} else {
			if a, b, ok := splitPlainLatLng(text); ok {
				lat, err = strconv.ParseFloat(a, 64)
				if err == nil {
					lng, err = strconv.ParseFloat(b, 64)
				}
				if err == nil {
					if err = checkCoord(lat, true); err == nil {
						err = checkCoord(lng, false)
					}
				}
				if err == nil {
					return a, b, 0, "", nil // already plain decimals: sent as typed
				}
			}
			lat, lng, err = ParseLatLng(text)
		}
		if err != nil {
			return "", "", 0, keyOf(err), nil
		}
		return strconv.FormatFloat(lat, 'f', -1, 64), strconv.FormatFloat(lng, 'f', -1, 64), 0, "", nil
	case Phone:
		v := text
		if cell.Kind == sheet.Number {
			v = numberText(cell.Value)
		}
		p, err := ParsePhone(v)
		if err != nil {
			return "", "", 0, keyOf(err), nil
		}
		out, num = p, float64(len(p))
	case Email:
		out = strings.TrimSpace(text)
		if err := CheckEmail(out); err != nil {
			return "", "", 0, keyOf(err), nil
		}
		num = float64(utf8.RuneCountInString(out))
	case Bool:
		v, err := ParseBool(text)
		if err != nil {
			return "", "", 0, keyOf(err), nil
		}
		out = strconv.FormatBool(v)
	default:
		out = text
	}
	return out, "", num, "", nil
}

// numberText renders a number cell's stored value the way it is typed:
// "1.2345E+5" → "123450", "12.0" → "12".
func numberText(v string) string {
	if isPlainInt(v) {
		return v
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return v
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// splitPlainLatLng splits "-23.5505, -46.6333" when both parts are plain
// decimals with a point (the common case, parsed without ParseLatLng).
func splitPlainLatLng(s string) (string, string, bool) {
	a, b, ok := strings.Cut(s, ", ")
	if !ok || !plainDecimal(a) || !plainDecimal(b) {
		return "", "", false
	}
	return a, b, true
}

// plainDecimal reports whether s is -?digits(.digits)?.
func plainDecimal(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	d, dot := 0, false
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			d++
		case c == '.' && !dot && d > 0:
			dot = true
		default:
			return false
		}
	}
	return d > 0 && s[len(s)-1] != '.'
}

// canonicalInt parses v when it is an integer of at most 15 digits
// written exactly as strconv.FormatInt writes it (no sign but '-', no
// leading zeros, no "-0").
func canonicalInt(v string) (int64, bool) {
	i, neg := 0, false
	if len(v) > 0 && v[0] == '-' {
		i, neg = 1, true
	}
	d := v[i:]
	if len(d) == 0 || len(d) > 15 || (d[0] == '0' && (len(d) > 1 || neg)) {
		return 0, false
	}
	var n int64
	for j := 0; j < len(d); j++ {
		c := d[j]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

func isPlainInt(v string) bool {
	if len(v) == 0 || len(v) > 15 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			if !(i == 0 && v[i] == '-' && len(v) > 1) {
				return false
			}
		}
	}
	return true
}

func (m *Mapping) validate(f *field, out string, num float64) (msgKey, []any) {
	if f.pattern != nil && !f.pattern.MatchString(out) {
		return mPattern, []any{f.spec.Pattern}
	}
	if len(f.oneOf) > 0 {
		ok := false
		t := strings.TrimSpace(out)
		for _, v := range f.oneOf {
			if strings.EqualFold(v, t) {
				ok = true
				break
			}
		}
		if !ok {
			nv := normValue(out)
			for _, v := range f.oneOf {
				if normValue(v) == nv {
					ok = true
					break
				}
			}
		}
		if !ok {
			return mOneOf, []any{strings.Join(f.oneOf, ", ")}
		}
	}
	textLike := f.typ == Text || f.typ == Email || f.typ == Phone
	if f.spec.Min != nil && num < *f.spec.Min {
		if textLike {
			return mMinLen, []any{*f.spec.Min}
		}
		return mMin, []any{*f.spec.Min}
	}
	if f.spec.Max != nil && num > *f.spec.Max {
		if textLike {
			return mMaxLen, []any{*f.spec.Max}
		}
		return mMax, []any{*f.spec.Max}
	}
	if f.tf.MaxLen > 0 && utf8.RuneCountInString(out) > f.tf.MaxLen {
		return mMaxLen, []any{f.tf.MaxLen}
	}
	return "", nil
}

// canonical returns the one_of entry matching v, as written in the list.
func canonical(list []string, v string) string {
	t := strings.TrimSpace(v)
	for _, x := range list {
		if strings.EqualFold(x, t) {
			return x
		}
	}
	nv := normValue(v)
	for _, x := range list {
		if normValue(x) == nv {
			return x
		}
	}
	return v
}
