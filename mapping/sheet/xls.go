package sheet

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// This file reads Excel 97-2003 workbooks (BIFF8, .xls): the Workbook
// stream of the compound file (cfb.go), its globals (sheets, shared
// strings, number formats, cell formats, the 1904 flag) and, per sheet, the
// cell records only — LABELSST, LABEL, RSTRING, NUMBER, RK, MULRK,
// BOOLERR, FORMULA with its STRING — in the order they are stored, which is
// row by row in every program that writes BIFF8. Charts, drawings, pivot
// tables and formulas' expressions are skipped.

// BIFF8 record types.
const (
	recFormula    = 0x0006
	recEOF        = 0x000A
	recDateMode   = 0x0022
	recFilePass   = 0x002F
	recContinue   = 0x003C
	recBoundSheet = 0x0085
	recMulRK      = 0x00BD
	recRString    = 0x00D6
	recXF         = 0x00E0
	recSST        = 0x00FC
	recLabelSST   = 0x00FD
	recNumber     = 0x0203
	recLabel      = 0x0204
	recBoolErr    = 0x0205
	recString     = 0x0207
	recRK         = 0x027E
	recFormat     = 0x041E
	recBOF        = 0x0809
)

const biffMaxRecord = 8224 // the longest record data BIFF8 writers produce

// xlsBook is what is kept of an opened .xls: the workbook stream, where
// each sheet starts in it, the shared strings and the cell formats.
type xlsBook struct {
	stream   *cfbStream
	offsets  []int64 // per sheet, the stream offset of its BOF
	sst      *sharedStrings
	styles   []styleFmt // per XF index
	date1904 bool
}

// openOLE opens a compound file: a legacy Excel workbook is read, an
// encrypted OOXML package (or an encrypted workbook) is ErrEncrypted, an
// Excel 5.0/95 workbook ErrLegacyXLS, anything else (a Word document …)
// ErrUnknownFormat.
func (f *File) openOLE() error {
	c, err := openCFB(f.f, f.size)
	if err != nil {
		return f.xlsErr(err)
	}
	if _, ok := c.find("EncryptedPackage"); ok {
		return &Error{Kind: ErrEncrypted, Path: f.Path}
	}
	if _, ok := c.find("EncryptionInfo"); ok {
		return &Error{Kind: ErrEncrypted, Path: f.Path}
	}
	e, ok := c.find("Workbook")
	if !ok {
		if _, ok := c.find("Book"); ok {
			return &Error{Kind: ErrLegacyXLS, Path: f.Path, Detail: "Excel 5.0/95"}
		}
		return &Error{Kind: ErrUnknownFormat, Path: f.Path, Detail: "OLE2 document without a workbook"}
	}
	s, err := c.open(e)
	if err != nil {
		return f.xlsErr(err)
	}
	b := &xlsBook{stream: s}
	if err := b.readGlobals(f); err != nil {
		return f.xlsErr(err)
	}
	f.Format = FormatXLS
	f.xls = b
	return nil
}

// xlsErr turns a reading error into an *Error naming the file.
func (f *File) xlsErr(err error) error {
	var se *Error
	switch {
	case errors.As(err, &se):
		if se.Path == "" {
			se.Path = f.Path
		}
		return se
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &Error{Kind: ErrTruncated, Path: f.Path, Err: err}
	}
	return &Error{Kind: ErrCorrupt, Path: f.Path, Err: err}
}

// biffReader reads the records of a workbook stream.
type biffReader struct {
	r    *bufio.Reader
	pos  int64 // stream offset of the next record
	end  int64
	typ  uint16
	data []byte // the current record's data
	off  int    // read position in data
}

func newBIFFReader(s *cfbStream, from int64) *biffReader {
	return &biffReader{r: bufio.NewReaderSize(io.NewSectionReader(s, from, s.size-from), 64<<10), pos: from, end: s.size, data: make([]byte, 0, biffMaxRecord)}
}

// next reads the next record; io.EOF at the end of the stream.
func (b *biffReader) next() error {
	var h [4]byte
	n, err := io.ReadFull(b.r, h[:])
	if err != nil {
		if n == 0 && err == io.EOF {
			return io.EOF
		}
		return io.ErrUnexpectedEOF
	}
	b.typ = binary.LittleEndian.Uint16(h[:])
	size := int(binary.LittleEndian.Uint16(h[2:]))
	if size > cap(b.data) {
		b.data = make([]byte, size)
	}
	b.data = b.data[:size]
	if _, err := io.ReadFull(b.r, b.data); err != nil {
		return io.ErrUnexpectedEOF
	}
	b.pos += int64(4 + size)
	b.off = 0
	return nil
}

// peekContinue reports whether the next record is a CONTINUE.
func (b *biffReader) peekContinue() bool {
	h, err := b.r.Peek(2)
	return err == nil && binary.LittleEndian.Uint16(h) == recContinue
}

// take returns the next n bytes of the record, going on into CONTINUE
// records when the record ends (for structures that may be split).
func (b *biffReader) take(n int, scratch []byte) ([]byte, error) {
	if b.off+n <= len(b.data) {
		p := b.data[b.off : b.off+n]
		b.off += n
		return p, nil
	}
	scratch = scratch[:0]
	for n > 0 {
		if b.off == len(b.data) {
			if !b.peekContinue() {
				return nil, errBIFF("structure cut at the end of a record")
			}
			if err := b.next(); err != nil {
				return nil, err
			}
		}
		k := min(n, len(b.data)-b.off)
		scratch = append(scratch, b.data[b.off:b.off+k]...)
		b.off += k
		n -= k
	}
	return scratch, nil
}

// errRecord is the cause of every malformed-record error of a workbook stream.
var errRecord = errors.New("malformed BIFF record")

func errBIFF(detail string) error { return fmt.Errorf("%w: %s", errRecord, detail) }

// unicodeString reads an XLUnicodeString or XLUnicodeRichExtendedString
// (cch already read) at the read position, appending its text to dst as
// UTF-8. Characters split into a CONTINUE record start it with a new
// option byte. max bounds the length.
func (b *biffReader) unicodeString(dst []byte, cch int, max int, scratch *[]byte) ([]byte, error) {
	opt, err := b.take(1, *scratch)
	if err != nil {
		return dst, err
	}
	flags := opt[0]
	runs, ext := 0, 0
	if flags&0x08 != 0 {
		p, err := b.take(2, *scratch)
		if err != nil {
			return dst, err
		}
		runs = int(binary.LittleEndian.Uint16(p))
	}
	if flags&0x04 != 0 {
		p, err := b.take(4, *scratch)
		if err != nil {
			return dst, err
		}
		ext = int(binary.LittleEndian.Uint32(p))
	}
	high := flags&0x01 != 0
	start := len(dst)
	var pend uint16 // a high surrogate waiting for its pair
	for cch > 0 {
		if b.off == len(b.data) {
			if !b.peekContinue() {
				return dst, errBIFF("string cut at the end of a record")
			}
			if err := b.next(); err != nil {
				return dst, err
			}
			if len(b.data) == 0 {
				return dst, errBIFF("empty CONTINUE record inside a string")
			}
			high = b.data[0]&0x01 != 0
			b.off = 1
			continue
		}
		if high {
			if b.off+2 > len(b.data) {
				return dst, errBIFF("odd byte of a UTF-16 string")
			}
			u := binary.LittleEndian.Uint16(b.data[b.off:])
			b.off += 2
			switch {
			case pend != 0 && utf16.IsSurrogate(rune(u)) && u >= 0xDC00:
				dst = utf8.AppendRune(dst, utf16.DecodeRune(rune(pend), rune(u)))
				pend = 0
			case u >= 0xD800 && u < 0xDC00:
				if pend != 0 {
					dst = utf8.AppendRune(dst, utf8.RuneError)
				}
				pend = u
			default:
				if pend != 0 {
					dst = utf8.AppendRune(dst, utf8.RuneError)
					pend = 0
				}
				dst = utf8.AppendRune(dst, rune(u))
			}
		} else {
			if pend != 0 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
				pend = 0
			}
			c := b.data[b.off]
			b.off++
			if c < 0x80 {
				dst = append(dst, c)
			} else {
				dst = utf8.AppendRune(dst, rune(c)) // the low bytes of UTF-16: Latin-1
			}
		}
		cch--
		if len(dst)-start > max {
			return dst, &Error{Kind: ErrCellTooLong, Detail: fmt.Sprintf("%d bytes", len(dst)-start)}
		}
	}
	if pend != 0 {
		dst = utf8.AppendRune(dst, utf8.RuneError)
	}
	// Formatting runs and phonetic data, which may also go on into
	// CONTINUE records (without an option byte).
	for skip := 4*runs + ext; skip > 0; {
		if b.off == len(b.data) {
			if !b.peekContinue() {
				return dst, errBIFF("string cut at the end of a record")
			}
			if err := b.next(); err != nil {
				return dst, err
			}
		}
		k := min(skip, len(b.data)-b.off)
		b.off += k
		skip -= k
	}
	return dst, nil
}

// readGlobals reads the workbook globals: from the first BOF to its EOF.
func (b *xlsBook) readGlobals(f *File) error {
	r := newBIFFReader(b.stream, 0)
	le := binary.LittleEndian
	if err := r.next(); err != nil {
		return err
	}
	if r.typ != recBOF || len(r.data) < 4 {
		return errBIFF("the workbook stream does not start with BOF")
	}
	if v := le.Uint16(r.data); v != 0x0600 {
		return &Error{Kind: ErrLegacyXLS, Detail: fmt.Sprintf("BIFF version %#x", v)}
	}
	formats := map[int]string{}
	var xfFormats []int
	var scratch []byte
	for {
		if err := r.next(); err != nil {
			return err
		}
		d := r.data
		switch r.typ {
		case recEOF:
			b.styles = make([]styleFmt, len(xfFormats))
			for i, id := range xfFormats {
				code, custom := formats[id]
				if !custom && id != 0 {
					code = builtinFormats[id]
				}
				b.styles[i] = styleFmt{code: code, isDate: isDateFormat(id, code, custom)}
			}
			if b.sst == nil {
				b.sst = &sharedStrings{}
			}
			return nil
		case recFilePass:
			return &Error{Kind: ErrEncrypted}
		case recDateMode:
			if len(d) >= 2 {
				b.date1904 = le.Uint16(d) == 1
			}
		case recFormat:
			if len(d) < 4 {
				return errBIFF("short FORMAT record")
			}
			id := int(le.Uint16(d))
			r.off = 4
			code, err := r.unicodeString(nil, int(le.Uint16(d[2:])), 1024, &scratch)
			if err != nil {
				return err
			}
			formats[id] = string(code)
		case recXF:
			if len(d) < 4 {
				return errBIFF("short XF record")
			}
			if len(xfFormats) >= 1<<16 {
				return errBIFF("more than 65536 XF records")
			}
			xfFormats = append(xfFormats, int(le.Uint16(d[2:])))
		case recBoundSheet:
			if len(d) < 8 {
				return errBIFF("short BOUNDSHEET record")
			}
			off := int64(le.Uint32(d))
			kind := d[5]
			r.off = 7
			name, err := r.unicodeString(nil, int(d[6]), 1024, &scratch)
			if err != nil {
				return err
			}
			if kind != 0 { // charts, macro sheets, VBA modules
				continue
			}
			if off < 0 || off >= b.stream.size {
				return errBIFF(fmt.Sprintf("sheet %q starts beyond the stream", name))
			}
			if len(f.Sheets) >= 4096 {
				return errBIFF("more than 4096 sheets")
			}
			f.Sheets = append(f.Sheets, string(name))
			b.offsets = append(b.offsets, off)
		case recSST:
			sst, err := readSST(r, f.opts)
			if err != nil {
				return err
			}
			b.sst = sst
		}
	}
}

// readSST reads the shared string table (the SST record just read and
// its CONTINUE records).
func readSST(r *biffReader, opts Options) (*sharedStrings, error) {
	if len(r.data) < 8 {
		return nil, errBIFF("short SST record")
	}
	unique := int64(binary.LittleEndian.Uint32(r.data[4:]))
	r.off = 8
	var arena []byte
	ends := make([]uint32, 0, min(unique, 1<<16))
	var scratch []byte
	for i := int64(0); i < unique; i++ {
		if r.off == len(r.data) {
			if !r.peekContinue() {
				break // fewer strings than announced: keep what is there
			}
			if err := r.next(); err != nil {
				return nil, err
			}
		}
		p, err := r.take(2, scratch)
		if err != nil {
			return nil, err
		}
		cch := int(binary.LittleEndian.Uint16(p))
		if arena, err = r.unicodeString(arena, cch, opts.MaxCellLen, &scratch); err != nil {
			var se *Error
			if errors.As(err, &se) && se.Kind == ErrCellTooLong {
				se.Detail = fmt.Sprintf("shared string %d", i)
			}
			return nil, err
		}
		if int64(len(arena)) > opts.MaxSharedStrings || len(arena) > 1<<32-1 {
			return nil, &Error{Kind: ErrZipBomb, Detail: fmt.Sprintf("shared strings larger than %d bytes", opts.MaxSharedStrings)}
		}
		ends = append(ends, uint32(len(arena)))
	}
	return &sharedStrings{arena: string(arena), ends: ends}, nil
}

func (f *File) xlsRows(idx int) (Rows, error) {
	b := f.xls
	r := newBIFFReader(b.stream, b.offsets[idx])
	if err := r.next(); err != nil {
		return nil, f.xlsErr(err)
	}
	if r.typ != recBOF || len(r.data) < 4 || binary.LittleEndian.Uint16(r.data[2:]) != 0x0010 {
		return nil, &Error{Kind: ErrCorrupt, Path: f.Path, Detail: fmt.Sprintf("sheet %q does not start with a worksheet BOF", f.Sheets[idx])}
	}
	return &xlsRows{f: f, b: b, r: r, opts: f.opts, cur: -1}, nil
}

// xlsRows reads the cells of one worksheet substream, row by row.
type xlsRows struct {
	f    *File
	b    *xlsBook
	r    *biffReader
	opts Options

	row      Row
	cells    []Cell
	text     []byte // this row's texts, one string per row
	pend     []xlsCell
	cur      int       // 0-based row being gathered; -1 none
	held     []xlsCell // cells of the next row, read before this one was handed out
	complete bool      // the row being gathered is complete
	strCell  *xlsCell  // a FORMULA whose string result comes in the next STRING
	strHold  xlsCell
	depth    int
	done     bool
	err      error
	str      []byte
	scratch  []byte
}

// xlsCell is a cell read but not yet handed out.
type xlsCell struct {
	row, col   int
	kind       Kind
	start, end int // value in text
	direct     string
	useDirect  bool
	format     string
}

func (x *xlsRows) Row() Row   { return x.row }
func (x *xlsRows) Err() error { return x.err }
func (x *xlsRows) Close() error {
	x.done = true
	return nil
}

func (x *xlsRows) fail(err error) bool {
	err = x.f.xlsErr(err)
	var se *Error
	if errors.As(err, &se) && se.Row == 0 && x.cur >= 0 {
		se.Row = x.cur + 1
	}
	x.err = err
	x.done = true
	return false
}

// Next returns the next row that has a value.
func (x *xlsRows) Next() bool {
	if x.done {
		return false
	}
	x.text = x.text[:0]
	x.pend = x.pend[:0]
	x.cur = -1
	for _, c := range x.held {
		if err := x.add(c, nil); err != nil {
			return x.fail(err)
		}
	}
	x.held = x.held[:0]
	for {
		if err := x.r.next(); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF // a sheet without its EOF
			}
			return x.fail(err)
		}
		d := x.r.data
		switch x.r.typ {
		case recBOF:
			x.depth++ // an embedded chart: skipped to its EOF
			continue
		case recEOF:
			if x.depth > 0 {
				x.depth--
				continue
			}
			x.done = true
			return x.emit()
		}
		if x.depth > 0 {
			continue
		}
		if x.r.typ != recString {
			x.strCell = nil
		}
		if err := x.record(d); err != nil {
			return x.fail(err)
		}
		if x.complete {
			x.complete = false
			return x.emit()
		}
	}
}

// record reads one record of the worksheet substream.
func (x *xlsRows) record(d []byte) error {
	le := binary.LittleEndian
	switch x.r.typ {
	case recLabelSST:
		if len(d) < 10 {
			return errBIFF("short LABELSST record")
		}
		c := x.cellAt(d, String)
		s, ok := x.b.sst.get(int(le.Uint32(d[6:])))
		if !ok {
			return errBIFF(fmt.Sprintf("shared string %d of %d", le.Uint32(d[6:]), len(x.b.sst.ends)))
		}
		if s == "" {
			return nil
		}
		c.direct, c.useDirect = s, true
		return x.put(c, nil)
	case recLabel, recRString:
		if len(d) < 8 {
			return errBIFF("short LABEL record")
		}
		c := x.cellAt(d, String)
		x.r.off = 8
		var err error
		if x.str, err = x.r.unicodeString(x.str[:0], int(le.Uint16(d[6:])), x.opts.MaxCellLen, &x.scratch); err != nil {
			return err
		}
		if len(x.str) == 0 {
			return nil
		}
		return x.put(c, x.str)
	case recNumber:
		if len(d) < 14 {
			return errBIFF("short NUMBER record")
		}
		return x.put(x.number(x.cellAt(d, Number), le.Uint16(d[4:]), math.Float64frombits(le.Uint64(d[6:]))), nil)
	case recRK:
		if len(d) < 10 {
			return errBIFF("short RK record")
		}
		return x.put(x.number(x.cellAt(d, Number), le.Uint16(d[4:]), rkValue(le.Uint32(d[6:]))), nil)
	case recMulRK:
		if len(d) < 6 || (len(d)-6)%6 != 0 {
			return errBIFF("bad MULRK record")
		}
		row, first := int(le.Uint16(d)), int(le.Uint16(d[2:]))
		for i := 0; i < (len(d)-6)/6; i++ {
			p := d[4+6*i:]
			c := x.number(xlsCell{row: row, col: first + i}, le.Uint16(p), rkValue(le.Uint32(p[2:])))
			if err := x.put(c, nil); err != nil {
				return err
			}
		}
	case recBoolErr:
		if len(d) < 8 {
			return errBIFF("short BOOLERR record")
		}
		c := x.cellAt(d, Bool)
		c.direct, c.useDirect = "0", true
		if d[7] == 1 {
			c.kind, c.direct = ErrorValue, biffError(d[6])
		} else if d[6] != 0 {
			c.direct = "1"
		}
		return x.put(c, nil)
	case recFormula:
		if len(d) < 20 {
			return errBIFF("short FORMULA record")
		}
		c := x.cellAt(d, Number)
		res := d[6:14]
		if le.Uint16(res[6:]) != 0xFFFF {
			return x.put(x.number(c, le.Uint16(d[4:]), math.Float64frombits(le.Uint64(res))), nil)
		}
		switch res[0] {
		case 0: // a string, in the STRING record that follows
			x.strHold = c
			x.strCell = &x.strHold
			return nil
		case 1:
			c.kind, c.direct, c.useDirect = Bool, "0", true
			if res[2] != 0 {
				c.direct = "1"
			}
		case 2:
			c.kind, c.direct, c.useDirect = ErrorValue, biffError(res[2]), true
		default: // an empty string
			return nil
		}
		return x.put(c, nil)
	case recString:
		if x.strCell == nil || len(d) < 3 {
			return nil
		}
		c := *x.strCell
		x.strCell = nil
		c.kind = String
		x.r.off = 2
		var err error
		if x.str, err = x.r.unicodeString(x.str[:0], int(le.Uint16(d)), x.opts.MaxCellLen, &x.scratch); err != nil {
			return err
		}
		if len(x.str) == 0 {
			return nil
		}
		return x.put(c, x.str)
	}
	return nil
}

// put adds a cell to the row being gathered or, when it belongs to a
// later row, holds it for the next call and marks the row complete.
func (x *xlsRows) put(c xlsCell, text []byte) error {
	if x.complete || (x.cur >= 0 && c.row != x.cur) {
		if c.row < x.cur {
			return errBIFF(fmt.Sprintf("cells out of row order (row %d after row %d); open the file and save it again", c.row+1, x.cur+1))
		}
		if text != nil {
			c.direct, c.useDirect = string(text), true
		}
		x.held = append(x.held, c)
		x.complete = true
		return nil
	}
	return x.add(c, text)
}

// add puts a cell into the row being gathered.
func (x *xlsRows) add(c xlsCell, text []byte) error {
	if c.row+1 > x.opts.MaxRows {
		return &Error{Kind: ErrTooManyRows, Row: c.row + 1, Detail: fmt.Sprintf("limit %d", x.opts.MaxRows)}
	}
	if c.col+1 > x.opts.MaxColumns {
		return &Error{Kind: ErrTooManyColumns, Row: c.row + 1, Detail: fmt.Sprintf("limit %d", x.opts.MaxColumns)}
	}
	x.cur = c.row
	if text != nil {
		c.start = len(x.text)
		x.text = append(x.text, text...)
		c.end = len(x.text)
	}
	x.pend = append(x.pend, c)
	return nil
}

// emit hands out the gathered row, if it has cells.
func (x *xlsRows) emit() bool {
	if x.cur < 0 || len(x.pend) == 0 {
		return false
	}
	text := string(x.text)
	x.cells = x.cells[:0]
	for _, c := range x.pend {
		for len(x.cells) <= c.col {
			x.cells = append(x.cells, Cell{})
		}
		v := c.direct
		if !c.useDirect {
			v = text[c.start:c.end]
		}
		x.cells[c.col] = Cell{Value: v, Kind: c.kind, Format: c.format}
	}
	x.row = Row{Num: x.cur + 1, Cells: x.cells}
	return true
}

// cellAt reads the row, column and cell format that begin every cell record.
func (x *xlsRows) cellAt(d []byte, k Kind) xlsCell {
	le := binary.LittleEndian
	return xlsCell{row: int(le.Uint16(d)), col: int(le.Uint16(d[2:])), kind: k}
}

// number fills a numeric cell: a date when its cell format is a date format.
func (x *xlsRows) number(c xlsCell, xf uint16, v float64) xlsCell {
	c.kind = Number
	if int(xf) < len(x.b.styles) {
		st := x.b.styles[xf]
		c.format = st.code
		if st.isDate {
			c.kind = Date
		}
	}
	c.direct, c.useDirect = formatNumber(v), true
	return c
}

// formatNumber writes a number the shortest way that reads back the same,
// as spreadsheet programs store numbers in XLSX.
func formatNumber(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "#NUM!"
	}
	if a := math.Abs(v); a != 0 && (a < 1e-5 || a >= 1e15) {
		return strconv.FormatFloat(v, 'E', -1, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// rkValue decodes an RK number: a 30-bit integer or the high 30 bits of
// a double, optionally divided by 100.
func rkValue(rk uint32) float64 {
	var v float64
	if rk&2 != 0 {
		v = float64(int32(rk) >> 2)
	} else {
		v = math.Float64frombits(uint64(rk&0xFFFFFFFC) << 32)
	}
	if rk&1 != 0 {
		v /= 100
	}
	return v
}

// biffError returns the text of an error code.
func biffError(code byte) string {
	switch code {
	case 0x00:
		return "#NULL!"
	case 0x07:
		return "#DIV/0!"
	case 0x0F:
		return "#VALUE!"
	case 0x17:
		return "#REF!"
	case 0x1D:
		return "#NAME?"
	case 0x24:
		return "#NUM!"
	case 0x2A:
		return "#N/A"
	}
	return "#ERR!"
}
