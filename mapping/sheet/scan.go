package sheet

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file is the streaming scanner of worksheet XML. It understands the
// small part of XML that SpreadsheetML sheets use — elements with optional
// namespace prefixes, attributes in single or double quotes, the five
// predefined entities and numeric character references, CDATA sections,
// comments and processing instructions — and reads <row>, <c>, <v>, <f>
// and <is> the way excelize's Rows() does (see the differential tests).

// errSyntax is returned for XML the scanner cannot follow.
var errSyntax = errors.New("malformed sheet XML")

// capReader counts decompressed bytes and fails past max (zip bombs).
type capReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		return n, &Error{Kind: ErrZipBomb, Detail: fmt.Sprintf("more than %d bytes", c.max)}
	}
	return n, err
}

type scanner struct {
	br      *bufio.Reader
	scratch []byte // a tag longer than the buffer
	text    []byte // raw text being collected
	out     []byte // decoded text
}

func newScanner(r io.Reader, max int64) *scanner {
	return &scanner{br: bufio.NewReaderSize(&capReader{r: r, max: max}, 256<<10)}
}

// tag is one markup item between '<' and '>'.
type tag struct {
	raw        []byte // without the angle brackets; valid until the next read
	name       []byte // local name, without prefix
	end        bool   // </name>
	selfClose  bool   // <name/>
	special    bool   // comment, PI, doctype, CDATA (not an element)
	attrsStart int
}

// skipToTag discards text up to the next '<' and reads the tag.
func (s *scanner) skipToTag() (tag, error) {
	for {
		_, err := s.br.ReadSlice('<')
		if err == nil {
			break
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return tag{}, err
	}
	return s.readTag()
}

// readTag reads after a '<' up to the matching '>'.
func (s *scanner) readTag() (tag, error) {
	line, err := s.br.ReadSlice('>')
	if err == nil && balancedQuotes(line) && !needsMore(line) {
		return parseTag(line[:len(line)-1]), nil
	}
	s.scratch = append(s.scratch[:0], line...)
	for {
		if err != nil && err != bufio.ErrBufferFull {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return tag{}, err
		}
		if err == nil && balancedQuotes(s.scratch) && !needsMore(s.scratch) {
			return parseTag(s.scratch[:len(s.scratch)-1]), nil
		}
		line, err = s.br.ReadSlice('>')
		s.scratch = append(s.scratch, line...)
	}
}

// needsMore reports whether a comment or CDATA section is not closed yet.
func needsMore(b []byte) bool {
	if bytes.HasPrefix(b, []byte("!--")) {
		return len(b) < 6 || !bytes.HasSuffix(b, []byte("-->"))
	}
	if bytes.HasPrefix(b, []byte("![CDATA[")) {
		return len(b) < 11 || !bytes.HasSuffix(b, []byte("]]>"))
	}
	if len(b) > 0 && b[0] == '?' {
		return !bytes.HasSuffix(b, []byte("?>"))
	}
	return false
}

func balancedQuotes(b []byte) bool {
	if len(b) > 0 && (b[0] == '!' || b[0] == '?') {
		return true
	}
	var q byte
	for _, c := range b {
		if q == 0 {
			if c == '"' || c == '\'' {
				q = c
			}
		} else if c == q {
			q = 0
		}
	}
	return q == 0
}

func parseTag(b []byte) tag {
	t := tag{raw: b}
	if len(b) == 0 {
		t.special = true
		return t
	}
	switch b[0] {
	case '!', '?':
		t.special = true
		return t
	case '/':
		t.end = true
		b = b[1:]
	}
	i := 0
	for i < len(b) && !isSpace(b[i]) && b[i] != '/' {
		i++
	}
	name := b[:i]
	if j := bytes.IndexByte(name, ':'); j >= 0 {
		name = name[j+1:]
	}
	t.name = name
	if !t.end && len(t.raw) > 0 && t.raw[len(t.raw)-1] == '/' {
		t.selfClose = true
	}
	t.attrsStart = len(t.raw) - len(b) + i
	return t
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// attr returns the raw value of the attribute with local name key.
func (t tag) attr(key string) ([]byte, bool) {
	b := t.raw[t.attrsStart:]
	for {
		for len(b) > 0 && (isSpace(b[0]) || b[0] == '/') {
			b = b[1:]
		}
		eq := bytes.IndexByte(b, '=')
		if eq < 0 {
			return nil, false
		}
		name := bytes.TrimRight(b[:eq], " \t\r\n")
		b = bytes.TrimLeft(b[eq+1:], " \t\r\n")
		if len(b) == 0 || (b[0] != '"' && b[0] != '\'') {
			return nil, false
		}
		q := b[0]
		end := bytes.IndexByte(b[1:], q)
		if end < 0 {
			return nil, false
		}
		val := b[1 : 1+end]
		b = b[end+2:]
		if j := bytes.IndexByte(name, ':'); j >= 0 {
			if string(name[:j]) == "xmlns" {
				continue
			}
			name = name[j+1:]
		}
		if string(name) == key {
			return val, true
		}
	}
}

// attrString returns an attribute value with entities decoded.
func (t tag) attrString(key string) (string, bool) {
	v, ok := t.attr(key)
	if !ok {
		return "", false
	}
	if bytes.IndexByte(v, '&') < 0 && bytes.IndexByte(v, '\r') < 0 {
		return string(v), true
	}
	out, err := decodeText(nil, v)
	if err != nil {
		return string(v), true
	}
	return string(out), true
}

// readText reads the character data of the element just opened, up to its
// end tag, decoding entities and CDATA; text inside nested elements is
// skipped, as encoding/xml does when decoding into a string. The result is
// valid until the next call.
func (s *scanner) readText() ([]byte, error) {
	s.out = s.out[:0]
	depth := 0
	for {
		chunk, err := s.br.ReadSlice('<')
		if err == nil && depth == 0 && len(s.out) == 0 {
			// Fast path: the whole text in one slice.
			txt := chunk[:len(chunk)-1]
			if bytes.IndexByte(txt, '&') < 0 && bytes.IndexByte(txt, '\r') < 0 {
				s.out = append(s.out, txt...)
			} else if s.out, err = decodeText(s.out, txt); err != nil {
				return nil, err
			}
		} else {
			s.text = append(s.text[:0], chunk...)
			for err == bufio.ErrBufferFull {
				chunk, err = s.br.ReadSlice('<')
				s.text = append(s.text, chunk...)
			}
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return nil, err
			}
			if depth == 0 {
				if s.out, err = decodeText(s.out, s.text[:len(s.text)-1]); err != nil {
					return nil, err
				}
			}
		}
		t, err := s.readTag()
		if err != nil {
			return nil, err
		}
		switch {
		case t.special:
			if depth == 0 && bytes.HasPrefix(t.raw, []byte("![CDATA[")) {
				s.out = appendCR(s.out, t.raw[8:len(t.raw)-2])
			}
		case t.end:
			if depth == 0 {
				return s.out, nil
			}
			depth--
		case t.selfClose:
		default:
			depth++
		}
	}
}

// skipElement skips the element just opened (not self-closing) to its end.
func (s *scanner) skipElement() error {
	depth := 0
	for {
		t, err := s.skipToTag()
		if err != nil {
			return err
		}
		switch {
		case t.special, t.selfClose:
		case t.end:
			if depth == 0 {
				return nil
			}
			depth--
		default:
			depth++
		}
	}
}

// decodeText appends raw character data to dst with entities resolved and
// line ends normalised as XML requires.
func decodeText(dst, raw []byte) ([]byte, error) {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '\r':
			dst = append(dst, '\n')
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
		case '&':
			end := bytes.IndexByte(raw[i:], ';')
			if end < 0 {
				return dst, errSyntax
			}
			ent := raw[i+1 : i+end]
			i += end
			switch string(ent) {
			case "lt":
				dst = append(dst, '<')
			case "gt":
				dst = append(dst, '>')
			case "amp":
				dst = append(dst, '&')
			case "quot":
				dst = append(dst, '"')
			case "apos":
				dst = append(dst, '\'')
			default:
				if len(ent) < 2 || ent[0] != '#' {
					return dst, errSyntax
				}
				var n uint64
				var err error
				if ent[1] == 'x' {
					n, err = strconv.ParseUint(string(ent[2:]), 16, 32)
				} else {
					n, err = strconv.ParseUint(string(ent[1:]), 10, 32)
				}
				if err != nil || !isXMLChar(rune(n)) {
					return dst, errSyntax
				}
				dst = utf8.AppendRune(dst, rune(n))
			}
		default:
			dst = append(dst, c)
		}
	}
	return dst, nil
}

// appendCR appends raw (CDATA) text with line ends normalised.
func appendCR(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\r' {
			dst = append(dst, '\n')
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			continue
		}
		dst = append(dst, raw[i])
	}
	return dst
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

var bstrExp = regexp.MustCompile(`_x[a-fA-F\d]{4}_`)

// bstrUnmarshal decodes the _xHHHH_ escapes of OOXML strings exactly as
// excelize does.
func bstrUnmarshal(s string) (result string) {
	if !strings.Contains(s, "_x") {
		return s
	}
	matches, l, cursor := bstrExp.FindAllStringSubmatchIndex(s, -1), len(s), 0
	for _, match := range matches {
		result += s[cursor:match[0]]
		subStr := s[match[0]:match[1]]
		if subStr == "_x005F_" {
			cursor = match[1]
			result += "_"
			continue
		}
		cursor = match[1]
		v, _ := strconv.Unquote(`"\u` + s[match[0]+2:match[1]-1] + `"`)
		result += v
	}
	if cursor < l {
		result += s[cursor:]
	}
	return result
}

// readRichText reads the inside of an <si> or <is> element: the direct <t>
// (the last one wins) followed by the <t> of each run; phonetic runs are
// skipped.
func (s *scanner) readRichText(direct, runs *[]byte) error {
	*direct, *runs = (*direct)[:0], (*runs)[:0]
	inRun := false
	for {
		t, err := s.skipToTag()
		if err != nil {
			return err
		}
		if t.special {
			continue
		}
		switch string(t.name) {
		case "t":
			if t.end || t.selfClose {
				if !inRun && t.selfClose {
					*direct = (*direct)[:0]
				}
				continue
			}
			txt, err := s.readText()
			if err != nil {
				return err
			}
			if inRun {
				*runs = append(*runs, txt...)
			} else {
				*direct = append((*direct)[:0], txt...)
			}
		case "r":
			if !t.selfClose {
				inRun = !t.end
			}
		case "rPh", "phoneticPr", "rPr":
			if !t.end && !t.selfClose {
				if err := s.skipElement(); err != nil {
					return err
				}
			}
		case "si", "is":
			if t.end {
				return nil
			}
		}
	}
}

// sharedStrings holds the workbook's shared string table in one arena.
type sharedStrings struct {
	arena string
	ends  []uint32
}

func (s *sharedStrings) get(i int) (string, bool) {
	if i < 0 || i >= len(s.ends) {
		return "", false
	}
	start := uint32(0)
	if i > 0 {
		start = s.ends[i-1]
	}
	return s.arena[start:s.ends[i]], true
}

func loadSharedStrings(e *zip.File, opts Options) (*sharedStrings, error) {
	rc, err := e.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if e.UncompressedSize64 > 1<<32-1 {
		return nil, &Error{Kind: ErrZipBomb, Detail: "shared strings larger than 4 GiB"}
	}
	sc := newScanner(rc, opts.MaxUnzipSize)
	var arena []byte
	var ends []uint32
	var direct, runs []byte
	for {
		t, err := sc.skipToTag()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if t.special || t.end || string(t.name) != "si" {
			continue
		}
		if !t.selfClose {
			if err := sc.readRichText(&direct, &runs); err != nil {
				return nil, err
			}
			start := len(arena)
			arena = append(arena, direct...)
			arena = append(arena, runs...)
			if s := string(arena[start:]); strings.Contains(s, "_x") {
				arena = append(arena[:start], bstrUnmarshal(s)...)
			}
			if len(arena)-start > opts.MaxCellLen {
				return nil, &Error{Kind: ErrCellTooLong, Detail: fmt.Sprintf("shared string %d", len(ends))}
			}
		}
		if len(arena) > 1<<32-1 {
			return nil, &Error{Kind: ErrZipBomb, Detail: "shared strings larger than 4 GiB"}
		}
		ends = append(ends, uint32(len(arena)))
	}
	return &sharedStrings{arena: string(arena), ends: ends}, nil
}

// xlsxRows reads the rows of one worksheet.
type xlsxRows struct {
	f      *File
	rc     io.ReadCloser
	sc     *scanner
	sst    *sharedStrings
	styles []styleFmt
	opts   Options

	row    Row
	cells  []Cell
	curRow int
	done   bool
	err    error
	direct []byte
	runs   []byte
}

func (r *xlsxRows) Row() Row   { return r.row }
func (r *xlsxRows) Err() error { return r.err }

func (r *xlsxRows) Close() error {
	if r.rc == nil {
		return nil
	}
	err := r.rc.Close()
	r.rc = nil
	r.done = true
	return err
}

func (r *xlsxRows) fail(err error) bool {
	var se *Error
	switch {
	case errors.As(err, &se):
		if se.Path == "" {
			se.Path = r.f.Path
		}
		if se.Row == 0 && (se.Kind == ErrCellTooLong || se.Kind == ErrTooManyColumns) {
			se.Row = r.curRow
		}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		err = &Error{Kind: ErrTruncated, Path: r.f.Path, Row: r.curRow, Err: err}
	case errors.Is(err, zip.ErrChecksum), errors.Is(err, zip.ErrFormat), errors.Is(err, errSyntax):
		err = &Error{Kind: ErrCorrupt, Path: r.f.Path, Row: r.curRow, Err: err}
	default:
		err = &Error{Kind: ErrCorrupt, Path: r.f.Path, Row: r.curRow, Err: err}
	}
	r.err = err
	r.done = true
	return false
}

// Next advances to the next <row> element.
func (r *xlsxRows) Next() bool {
	if r.done {
		return false
	}
	for {
		t, err := r.sc.skipToTag()
		if err == io.EOF {
			r.done = true
			return false
		}
		if err != nil {
			return r.fail(err)
		}
		if t.special {
			continue
		}
		switch string(t.name) {
		case "row":
			if t.end {
				continue
			}
			if v, ok := t.attr("r"); ok {
				if n, err := strconv.Atoi(string(v)); err == nil && n != 0 {
					r.curRow = n
				} else {
					r.curRow++
				}
			} else {
				r.curRow++
			}
			if r.curRow > r.opts.MaxRows || r.curRow < 0 {
				return r.fail(&Error{Kind: ErrTooManyRows, Row: r.curRow, Detail: fmt.Sprintf("limit %d", r.opts.MaxRows)})
			}
			r.cells = r.cells[:0]
			if !t.selfClose {
				if err := r.readCells(); err != nil {
					return r.fail(err)
				}
			}
			r.row = Row{Num: r.curRow, Cells: r.cells}
			return true
		case "sheetData":
			if t.end {
				r.done = true
				return false
			}
		}
	}
}

// readCells reads the <c> elements of a row up to </row>.
func (r *xlsxRows) readCells() error {
	col := 0
	for {
		t, err := r.sc.skipToTag()
		if err != nil {
			return err
		}
		if t.special {
			continue
		}
		name := string(t.name)
		if t.end {
			if name == "row" {
				return nil
			}
			continue
		}
		if name != "c" {
			if !t.selfClose && name != "row" {
				if err := r.sc.skipElement(); err != nil {
					return err
				}
			}
			continue
		}
		col++
		if ref, ok := t.attr("r"); ok && len(ref) > 0 {
			c, err := columnOf(ref)
			if err != nil {
				return &Error{Kind: ErrCorrupt, Detail: fmt.Sprintf("cell reference %q", ref), Err: err}
			}
			col = c
		}
		if col > r.opts.MaxColumns {
			return &Error{Kind: ErrTooManyColumns, Detail: fmt.Sprintf("limit %d", r.opts.MaxColumns)}
		}
		styleIdx := 0
		if v, ok := t.attr("s"); ok {
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err == nil && n >= 0 && n < 1<<31 {
				styleIdx = int(n)
			}
		}
		typ, _ := t.attr("t")
		cellType := string(typ) // small; kept across reads
		var v string
		hasV, hasF, hasIS := false, false, false
		if !t.selfClose {
			for {
				ct, err := r.sc.skipToTag()
				if err != nil {
					return err
				}
				if ct.special {
					continue
				}
				if ct.end {
					if string(ct.name) == "c" {
						break
					}
					continue
				}
				switch string(ct.name) {
				case "v":
					if ct.selfClose {
						v, hasV = "", true
						continue
					}
					txt, err := r.sc.readText()
					if err != nil {
						return err
					}
					if len(txt) > r.opts.MaxCellLen {
						return &Error{Kind: ErrCellTooLong, Detail: fmt.Sprintf("column %s, %d bytes", ColumnName(col), len(txt))}
					}
					v, hasV = string(txt), true
				case "f":
					hasF = true
					if !ct.selfClose {
						if err := r.sc.skipElement(); err != nil {
							return err
						}
					}
				case "is":
					hasIS = true
					if ct.selfClose {
						r.direct, r.runs = r.direct[:0], r.runs[:0]
						continue
					}
					if err := r.sc.readRichText(&r.direct, &r.runs); err != nil {
						return err
					}
				default:
					if !ct.selfClose {
						if err := r.sc.skipElement(); err != nil {
							return err
						}
					}
				}
			}
		}
		_ = hasV
		cell := Cell{Value: v}
		switch cellType {
		case "s":
			cell.Kind = String
			if v != "" {
				idx, _ := strconv.Atoi(strings.TrimSpace(v))
				s, ok := r.sst.get(idx)
				if !ok {
					s = ""
				}
				cell.Value = s
			}
		case "str":
			cell.Kind = String
		case "inlineStr":
			cell.Kind = String
			if hasIS {
				s := string(r.direct) + string(r.runs)
				cell.Value = bstrUnmarshal(s)
			}
		case "b":
			cell.Kind = Bool
		case "d":
			cell.Kind = ISODate
		case "e":
			cell.Kind = ErrorValue
		default:
			cell.Kind = Number
			if styleIdx < len(r.styles) {
				cell.Format = r.styles[styleIdx].code
				if r.styles[styleIdx].isDate {
					cell.Kind = Date
				}
			}
		}
		if len(cell.Value) > r.opts.MaxCellLen {
			return &Error{Kind: ErrCellTooLong, Detail: fmt.Sprintf("column %s, %d bytes", ColumnName(col), len(cell.Value))}
		}
		if cell.Value == "" && !hasF {
			continue
		}
		if cell.Value == "" {
			cell.Kind = Empty
		}
		for len(r.cells) < col {
			r.cells = append(r.cells, Cell{})
		}
		r.cells[col-1] = cell
	}
}

// columnOf returns the 1-based column of a cell reference such as "AB12".
func columnOf(ref []byte) (int, error) {
	col := 0
	i := 0
	for ; i < len(ref); i++ {
		c := ref[i]
		switch {
		case c >= 'A' && c <= 'Z':
			col = col*26 + int(c-'A'+1)
		case c >= 'a' && c <= 'z':
			col = col*26 + int(c-'a'+1)
		default:
			goto digits
		}
		if col > 16384 {
			return 0, errors.New("column out of range")
		}
	}
digits:
	if i == 0 || i == len(ref) {
		return 0, errors.New("invalid cell reference")
	}
	for ; i < len(ref); i++ {
		if ref[i] < '0' || ref[i] > '9' {
			return 0, errors.New("invalid cell reference")
		}
	}
	return col, nil
}

// ColumnName returns the letters of a 1-based column number: 1 → "A", 28 → "AB".
func ColumnName(col int) string {
	if col <= 0 {
		return "?"
	}
	var b [8]byte
	i := len(b)
	for col > 0 {
		col--
		i--
		b[i] = byte('A' + col%26)
		col /= 26
	}
	return string(b[i:])
}
