package sheet

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// This file reads OpenDocument spreadsheets (.ods, as LibreOffice and
// Gnumeric write them): the cells of content.xml, streamed through the
// fast scanner of scan.go. Repeated rows and columns
// (table:number-rows-repeated, table:number-columns-repeated) are expanded
// only when they hold a value, so the million empty formatted rows that
// LibreOffice writes after the data cost nothing. Covered cells (the hidden
// part of a merged range) read as empty, as merged cells do in XLSX.

// The OpenDocument namespaces the reader looks at.
const (
	nsOffice   = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
	nsTable    = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
	nsText     = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
	nsCalcext  = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"
	nsGnumeric = "http://www.gnumeric.org/odf-extension/1.0"
)

// odsBook is what is kept of an opened OpenDocument spreadsheet.
type odsBook struct {
	content *zip.File
}

// isODS reports whether the zip's mimetype entry names an OpenDocument
// file, and whether that file is a spreadsheet.
func isODS(entries map[string]*zip.File) (odf, spreadsheet bool) {
	mt := entries["mimetype"]
	if mt == nil {
		return false, false
	}
	data, err := readPart(mt, 200)
	if err != nil || !bytes.Contains(data, []byte("opendocument")) {
		return false, false
	}
	return true, bytes.Contains(data, []byte("opendocument.spreadsheet"))
}

// openODS prepares an OpenDocument spreadsheet: it checks the size of
// content.xml and lists its tables (a first pass over the XML that looks at
// tags only).
func (f *File) openODS(entries map[string]*zip.File) error {
	e := entries["content.xml"]
	if e == nil {
		return &Error{Kind: ErrCorrupt, Path: f.Path, Detail: "OpenDocument file without content.xml"}
	}
	if e.UncompressedSize64 > uint64(f.opts.MaxUnzipSize) {
		return &Error{Kind: ErrZipBomb, Path: f.Path, Detail: fmt.Sprintf("content.xml is %d > %d bytes", e.UncompressedSize64, f.opts.MaxUnzipSize)}
	}
	names, err := odsTableNames(e, f.opts)
	if err != nil {
		return f.partErr(err)
	}
	if len(names) == 0 {
		return &Error{Kind: ErrNoSheet, Path: f.Path, Detail: "the spreadsheet has no tables"}
	}
	f.Sheets = names
	f.Format = FormatODS
	f.ods = &odsBook{content: e}
	return nil
}

// odsTableNames returns the table:name of every table:table element of
// content.xml, using the fast tag scanner of scan.go (names only; cell
// data is skipped at the speed of decompression). Elements are matched by
// namespace, as the rows are read, not by the prefix writers usually give
// it ("table:").
func odsTableNames(e *zip.File, opts Options) ([]string, error) {
	rc, err := e.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	sc := newScanner(rc, opts.MaxUnzipSize)
	ns := map[string]string{} // prefix → namespace, as declared
	var names []string
	for {
		t, err := sc.skipToTag()
		if err == io.EOF {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		if t.special || t.end {
			continue
		}
		if bytes.Contains(t.raw, []byte("xmlns")) {
			noteNamespaces(t, ns)
		}
		if string(t.name) != "table" || tagSpace(t, ns) != nsTable {
			continue
		}
		name, _ := t.attrString("name")
		if len(names) >= 4096 {
			return nil, &Error{Kind: ErrCorrupt, Detail: "more than 4096 tables"}
		}
		names = append(names, name)
	}
}

// noteNamespaces records the namespace declarations of start tag t in ns
// (as odsXML does: declarations are not scoped, ODF writers put them all
// on the root).
func noteNamespaces(t tag, ns map[string]string) {
	for i := t.attrsStart; ; {
		prefix, name, val, next, ok := nextAttrNS(t.raw, i)
		if !ok {
			return
		}
		i = next
		if p, ok := nsDeclared(prefix, name); ok {
			ns[p] = string(val)
		}
	}
}

// tagSpace is the namespace of start tag t under the declarations ns.
func tagSpace(t tag, ns map[string]string) string {
	if i := bytes.IndexByte(t.raw, ':'); i >= 0 && i < len(t.raw)-len(t.name) && i < t.attrsStart {
		return ns[string(t.raw[:i])]
	}
	return ns[""]
}

// runCap fails a read once more than max bytes pass without a '<': no text
// node or tag of an accepted cell is that long, and the scanner would
// otherwise hold any single tag in memory whole.
type runCap struct {
	r   io.Reader
	run int
	max int
}

func (c *runCap) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if i := bytes.LastIndexByte(p[:n], '<'); i >= 0 {
		c.run = n - i - 1
	} else {
		c.run += n
	}
	if c.run > c.max {
		return n, &Error{Kind: ErrCellTooLong, Detail: fmt.Sprintf("more than %d bytes of XML without markup", c.max)}
	}
	return n, err
}

func (f *File) odsRows(idx int) (Rows, error) {
	rc, err := f.ods.content.Open()
	if err != nil {
		return nil, f.partErr(err)
	}
	ar := newAsyncReader(&capReader{r: rc, max: f.opts.MaxUnzipSize})
	sc := newScanner(&xmlChars{r: &runCap{r: ar, max: 10*f.opts.MaxCellLen + 64<<10}}, f.opts.MaxUnzipSize)
	r := &odsRows{f: f, rc: rc, ar: ar, x: odsXML{s: sc, ns: map[string]string{}}, opts: f.opts}
	if err := r.seekTable(idx); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// odsRows reads the rows of one table of content.xml.
type odsRows struct {
	f    *File
	rc   io.ReadCloser
	ar   *asyncReader
	x    odsXML
	opts Options

	row     Row
	cells   []Cell
	next    int // number of the next row element
	repeat  int // copies of the current row still to hand out
	done    bool
	err     error
	text    []byte
	textBuf []byte
}

func (r *odsRows) Row() Row   { return r.row }
func (r *odsRows) Err() error { return r.err }

func (r *odsRows) Close() error {
	if r.rc == nil {
		return nil
	}
	r.ar.Close()
	err := r.rc.Close()
	r.rc = nil
	r.done = true
	return err
}

func (r *odsRows) fail(err error) error {
	var se *Error
	switch {
	case errors.As(err, &se):
		if se.Path == "" {
			se.Path = r.f.Path
		}
		if se.Row == 0 && se.Kind != ErrZipBomb {
			se.Row = r.next
		}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		err = &Error{Kind: ErrTruncated, Path: r.f.Path, Row: r.next, Err: err}
	default:
		err = &Error{Kind: ErrCorrupt, Path: r.f.Path, Row: r.next, Err: err}
	}
	r.err = err
	r.done = true
	return err
}

// tag reads the next start or end tag (character data is skipped).
func (r *odsRows) tag() (int, error) {
	k, err := r.x.next(false)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return k, err
}

// seekTable reads up to the start of the idx-th table:table.
func (r *odsRows) seekTable(idx int) error {
	n := 0
	for {
		k, err := r.x.next(false)
		if err != nil {
			if err == io.EOF {
				return &Error{Kind: ErrNoSheet, Path: r.f.Path, Detail: fmt.Sprintf("table %d", idx+1)}
			}
			return r.fail(err)
		}
		if k != odsStart || !r.x.is(nsTable, "table") {
			continue
		}
		if n == idx {
			r.next = 1
			return nil
		}
		n++
		if err := r.x.skip(); err != nil {
			return r.fail(err)
		}
	}
}

// Next reads the next row that holds a value (rows of empty cells are
// counted but not returned, as XLSX writers leave them out).
func (r *odsRows) Next() bool {
	if r.done {
		return false
	}
	if r.repeat > 0 {
		r.repeat--
		return r.emit()
	}
	for {
		k, err := r.tag()
		if err != nil {
			r.fail(err)
			return false
		}
		switch k {
		case odsEnd:
			if r.x.is(nsTable, "table") {
				r.done = true
				return false
			}
		case odsStart:
			if r.x.space() != nsTable {
				if err := r.x.skip(); err != nil {
					r.fail(err)
					return false
				}
				continue
			}
			switch string(r.x.t.name) {
			case "table-row":
				rep := r.repeatAttr("number-rows-repeated")
				if err := r.readCells(); err != nil {
					r.fail(err)
					return false
				}
				if len(r.cells) == 0 {
					r.next += rep
					continue
				}
				r.repeat = rep - 1
				return r.emit()
			case "table-header-rows", "table-row-group", "table-rows":
				// Containers of rows: go inside.
			default:
				// Columns, shapes, named ranges, nested tables …
				if err := r.x.skip(); err != nil {
					r.fail(err)
					return false
				}
			}
		}
	}
}

// emit hands out the current row as row number r.next.
func (r *odsRows) emit() bool {
	num := r.next
	r.next++
	if num > r.opts.MaxRows || num <= 0 {
		r.fail(&Error{Kind: ErrTooManyRows, Row: num, Detail: fmt.Sprintf("limit %d", r.opts.MaxRows)})
		return false
	}
	r.row = Row{Num: num, Cells: r.cells}
	return true
}

// repeatAttr returns a table:number-*-repeated attribute of the current
// tag (1 when absent or not a positive number).
func (r *odsRows) repeatAttr(local string) int {
	v, ok := r.x.attr(nsTable, local)
	if !ok {
		return 1
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// readCells reads a table:table-row's cells up to its end. Empty cells
// only advance the column; trailing ones are dropped.
func (r *odsRows) readCells() error {
	r.cells = r.cells[:0]
	col := 0 // 0-based column of the next cell
	for {
		k, err := r.tag()
		if err != nil {
			return err
		}
		switch k {
		case odsEnd:
			return nil // </table:table-row>
		case odsStart:
			name := string(r.x.t.name)
			if r.x.space() != nsTable || (name != "table-cell" && name != "covered-table-cell") {
				if err := r.x.skip(); err != nil {
					return err
				}
				continue
			}
			rep := r.repeatAttr("number-columns-repeated")
			var c Cell
			if name == "covered-table-cell" {
				if err := r.x.skip(); err != nil {
					return err
				}
			} else if c, err = r.readCell(col); err != nil {
				return err
			}
			if c.Kind == Empty {
				col += rep
				continue
			}
			if col+rep > r.opts.MaxColumns {
				return &Error{Kind: ErrTooManyColumns, Detail: fmt.Sprintf("limit %d", r.opts.MaxColumns)}
			}
			for len(r.cells) < col {
				r.cells = append(r.cells, Cell{})
			}
			for k := 0; k < rep; k++ {
				r.cells = append(r.cells, c)
			}
			col += rep
		}
	}
}

// readCell reads one table:table-cell (just opened) to its end.
func (r *odsRows) readCell(col int) (Cell, error) {
	var typ, value, date, timev, boolv, strv, calcType, gnmErr, formula string
	hasStr := false
	r.x.attrs(func(ns string, name, raw []byte) {
		switch ns {
		case nsTable:
			if string(name) == "formula" {
				formula = attrValue(raw)
			}
		case nsGnumeric:
			if string(name) == "error-value" {
				gnmErr = attrValue(raw)
			}
		case nsOffice:
			switch string(name) {
			case "value-type":
				typ = attrValue(raw)
			case "value":
				value = attrValue(raw)
			case "date-value":
				date = attrValue(raw)
			case "time-value":
				timev = attrValue(raw)
			case "boolean-value":
				boolv = attrValue(raw)
			case "string-value":
				strv, hasStr = attrValue(raw), true
			}
		case nsCalcext:
			if string(name) == "value-type" {
				calcType = attrValue(raw)
			}
		}
	})
	text, err := r.readCellText(col)
	if err != nil {
		return Cell{}, err
	}
	if calcType == "error" || gnmErr != "" {
		// An error: LibreOffice leaves office:string-value empty and
		// shows the error as the paragraph's text; Gnumeric names it.
		if gnmErr != "" {
			text = gnmErr
		}
		if text == "" {
			text = strv
		}
		if text == "" {
			text = "#ERR!"
		}
		return Cell{Value: text, Kind: ErrorValue}, nil
	}
	if hasStr {
		text = strv
	}
	if len(text) > r.opts.MaxCellLen {
		return Cell{}, r.tooLong(col, len(text))
	}
	var c Cell
	switch typ {
	case "float", "percentage", "currency":
		v := strings.TrimSpace(value)
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return textCell(text), nil
		}
		c = Cell{Value: v, Kind: Number}
		switch formula {
		case "of:=TRUE()", "of:=FALSE()":
			// A boolean kept as a formula (LibreOffice does so with the
			// TRUE/FALSE cells of an imported XLSX).
			c = Cell{Value: "0", Kind: Bool}
			if f, _ := strconv.ParseFloat(v, 64); f != 0 {
				c.Value = "1"
			}
		}
	case "date":
		serial, hasTime, ok := odsDateSerial(date)
		if !ok {
			return textCell(text), nil
		}
		c = Cell{Value: strconv.FormatFloat(serial, 'f', -1, 64), Kind: Date, Format: "dd/mm/yyyy"}
		if hasTime {
			c.Format = "dd/mm/yyyy hh:mm:ss"
		}
	case "time":
		frac, ok := odsDuration(timev)
		if !ok {
			return textCell(text), nil
		}
		c = Cell{Value: strconv.FormatFloat(frac, 'f', -1, 64), Kind: Date, Format: "hh:mm:ss"}
	case "boolean":
		switch strings.ToLower(strings.TrimSpace(boolv)) {
		case "true", "1":
			c = Cell{Value: "1", Kind: Bool}
		case "false", "0":
			c = Cell{Value: "0", Kind: Bool}
		default:
			return textCell(text), nil
		}
	default:
		c = textCell(text)
	}
	return c, nil
}

// textCell is a text cell, or an empty one for "".
func textCell(s string) Cell {
	if s == "" {
		return Cell{}
	}
	return Cell{Value: s, Kind: String}
}

func (r *odsRows) tooLong(col, n int) error {
	return &Error{Kind: ErrCellTooLong, Detail: fmt.Sprintf("column %s, %d bytes", ColumnName(col+1), n)}
}

// readCellText reads the paragraphs of the cell just opened, to its end:
// text:p and text:h join with line breaks; text:s, text:tab and
// text:line-break are a space (or text:c spaces), a tab and a line break;
// spans and links give their text; annotations, frames and anything else
// are skipped. White space in character data collapses as ODF says.
func (r *odsRows) readCellText(col int) (string, error) {
	r.text = r.text[:0]
	paras := 0
	for {
		k, err := r.tag()
		if err != nil {
			return "", err
		}
		switch k {
		case odsEnd:
			return string(r.text), nil
		case odsStart:
			if r.x.is(nsText, "p") || r.x.is(nsText, "h") {
				if paras > 0 {
					r.text = append(r.text, '\n')
				}
				paras++
				if err := r.readParagraph(col); err != nil {
					return "", err
				}
				continue
			}
			if err := r.x.skip(); err != nil {
				return "", err
			}
		}
	}
}

// readParagraph appends the text of the paragraph just opened.
func (r *odsRows) readParagraph(col int) error {
	depth := 0
	space := false // the last character written was collapsed white space
	add := func(b []byte) error {
		r.text = append(r.text, b...)
		if len(r.text) > r.opts.MaxCellLen {
			return r.tooLong(col, len(r.text))
		}
		return nil
	}
	for {
		k, err := r.x.next(true)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
		switch k {
		case odsText:
			r.textBuf = r.textBuf[:0]
			for _, c := range r.x.text {
				if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
					if !space {
						r.textBuf = append(r.textBuf, ' ')
						space = true
					}
					continue
				}
				r.textBuf = append(r.textBuf, c)
				space = false
			}
			if err := add(r.textBuf); err != nil {
				return err
			}
		case odsEnd:
			if depth == 0 {
				return nil
			}
			depth--
		case odsStart:
			if r.x.space() != nsText {
				if err := r.x.skip(); err != nil {
					return err
				}
				continue
			}
			switch string(r.x.t.name) {
			case "s":
				n := 1
				if v, ok := r.x.attr(nsText, "c"); ok {
					if v, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && v > 0 {
						n = v
					}
				}
				if n > r.opts.MaxCellLen {
					return r.tooLong(col, n)
				}
				if err := add(bytes.Repeat([]byte{' '}, n)); err != nil {
					return err
				}
				space = false
				if err := r.x.skip(); err != nil {
					return err
				}
			case "tab":
				if err := add([]byte{'\t'}); err != nil {
					return err
				}
				space = false
				if err := r.x.skip(); err != nil {
					return err
				}
			case "line-break":
				if err := add([]byte{'\n'}); err != nil {
					return err
				}
				space = false
				if err := r.x.skip(); err != nil {
					return err
				}
			case "note", "ruby-text", "bookmark", "bookmark-start", "bookmark-end",
				"soft-page-break", "change", "change-start", "change-end", "sequence-decls":
				if err := r.x.skip(); err != nil {
					return err
				}
			default:
				// text:span, text:a, fields …: their text counts.
				depth++
			}
		}
	}
}

// odsEpoch is day 0 of the 1900 date system as spreadsheets count it.
var odsEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// odsDateSerial turns an office:date-value ("2024-03-05",
// "2024-03-05T08:30:00" or with fractional seconds) into the serial day
// number XLSX stores, and reports whether it has a time of day.
func odsDateSerial(v string) (serial float64, hasTime, ok bool) {
	v = strings.TrimSpace(v)
	var t time.Time
	var err error
	switch {
	case len(v) == len("2006-01-02"):
		t, err = time.Parse("2006-01-02", v)
	case strings.Contains(v, "T"):
		s := v
		if i := strings.IndexAny(s[10:], "Z+"); i >= 0 {
			s = s[:10+i] // a zone, seldom written: the wall time counts
		}
		t, err = time.Parse("2006-01-02T15:04:05.999999999", s)
		hasTime = err == nil && (t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0 || t.Nanosecond() != 0)
	default:
		return 0, false, false
	}
	if err != nil {
		return 0, false, false
	}
	d := t.Sub(odsEpoch)
	days := math.Floor(d.Hours() / 24)
	rest := d - time.Duration(days)*24*time.Hour
	return days + rest.Seconds()/86400, hasTime, true
}

// odsDuration turns an office:time-value ("PT08H30M00S", ISO 8601
// duration) into a fraction of a day (more than 1 for long durations).
func odsDuration(v string) (float64, bool) {
	v = strings.TrimSpace(v)
	neg := strings.HasPrefix(v, "-")
	v = strings.TrimPrefix(v, "-")
	if !strings.HasPrefix(v, "P") {
		return 0, false
	}
	v = v[1:]
	var secs float64
	inTime := false
	num := ""
	for _, c := range v {
		switch {
		case c >= '0' && c <= '9' || c == '.' || c == ',':
			if c == ',' {
				c = '.'
			}
			num += string(c)
			if len(num) > 30 {
				return 0, false
			}
		case c == 'T':
			inTime = true
		default:
			n, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, false
			}
			num = ""
			switch {
			case c == 'D' && !inTime:
				secs += n * 86400
			case c == 'H' && inTime:
				secs += n * 3600
			case c == 'M' && inTime:
				secs += n * 60
			case c == 'S' && inTime:
				secs += n
			default:
				return 0, false
			}
		}
	}
	if num != "" {
		return 0, false
	}
	if neg {
		secs = -secs
	}
	return secs / 86400, true
}
