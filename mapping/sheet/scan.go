package sheet

import (
	"archive/zip"
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
	r    io.Reader
	buf  []byte
	pos  int // next unread byte
	end  int // end of the valid data
	rerr error
	text []byte // raw text spanning refills
	out  []byte // decoded text
}

const scanBufSize = 512 << 10

func newScanner(r io.Reader, max int64) *scanner {
	return &scanner{r: &capReader{r: r, max: max}, buf: make([]byte, scanBufSize)}
}

// fill moves the unread bytes to the front and reads more. It returns
// false at the end of the data (s.rerr holds the reason).
func (s *scanner) fill() bool {
	if s.rerr != nil {
		return false
	}
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:s.end])
		s.pos, s.end = 0, n
	}
	if s.end == len(s.buf) {
		// One token larger than the buffer: grow (bounded by the
		// decompressed size cap and the cell length checks).
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for tries := 0; tries < 100; tries++ {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.rerr = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	s.rerr = io.ErrNoProgress
	return false
}

func (s *scanner) eofErr() error {
	if s.rerr == nil || s.rerr == io.EOF {
		return io.EOF
	}
	return s.rerr
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
		if i := bytes.IndexByte(s.buf[s.pos:s.end], '<'); i >= 0 {
			s.pos += i + 1
			return s.readTag()
		}
		s.pos = s.end
		if !s.fill() {
			return tag{}, s.eofErr()
		}
	}
}

var (
	commentEnd = []byte("-->")
	cdataEnd   = []byte("]]>")
	piEnd      = []byte("?>")
)

// tagSpecial marks the bytes readTag stops at: the end of a tag and quotes.
var tagSpecial = [256]bool{'>': true, '"': true, '\'': true}

// readTag reads after a '<' up to the matching '>'.
func (s *scanner) readTag() (tag, error) {
	off := 0 // bytes of the tag already scanned, from s.pos
	var q byte
	for {
		b := s.buf[s.pos:s.end]
		if off == 0 && len(b) > 0 && (b[0] == '!' || b[0] == '?') {
			var term []byte
			switch {
			case bytes.HasPrefix(b, []byte("!--")):
				term = commentEnd
			case bytes.HasPrefix(b, []byte("![CDATA[")):
				term = cdataEnd
			case b[0] == '?':
				term = piEnd
			case len(b) >= 8 || bytes.IndexByte(b, '>') >= 0:
				term = []byte(">")
			}
			if term != nil {
				from := 1
				if len(term) > 1 {
					from = len(term) // "<!-->" is not a whole comment
				}
				if from <= len(b) {
					if k := bytes.Index(b[from:], term); k >= 0 {
						raw := b[:from+k+len(term)-1]
						s.pos += from + k + len(term)
						return tag{raw: raw, special: true}, nil
					}
				}
			}
		} else {
			for k := off; k < len(b); k++ {
				if q == 0 {
					// Skip ordinary bytes fast (tags are short: one
					// table lookup per byte beats three IndexByte calls).
					for k < len(b) && !tagSpecial[b[k]] {
						k++
					}
					if k == len(b) {
						break
					}
				}
				c := b[k]
				if q != 0 {
					if c == q {
						q = 0
					}
					continue
				}
				switch c {
				case '>':
					raw := b[:k]
					s.pos += k + 1
					return parseTag(raw), nil
				case '"', '\'':
					q = c
				}
			}
			off = len(b)
		}
		if !s.fill() {
			if err := s.eofErr(); err != io.EOF {
				return tag{}, err
			}
			return tag{}, io.ErrUnexpectedEOF
		}
	}
}

func parseTag(b []byte) tag {
	t := tag{raw: b}
	if len(b) == 0 {
		t.special = true
		return t
	}
	i := 0
	if b[0] == '/' {
		t.end = true
		i = 1
	}
	j := i
	colon := -1
	for j < len(b) {
		c := b[j]
		if c == ' ' || c == '/' || c == '\t' || c == '\n' || c == '\r' {
			break
		}
		if c == ':' {
			colon = j
		}
		j++
	}
	if colon >= 0 {
		t.name = b[colon+1 : j]
	} else {
		t.name = b[i:j]
	}
	if !t.end && b[len(b)-1] == '/' {
		t.selfClose = true
	}
	t.attrsStart = j
	return t
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// nextAttr returns the attribute starting at or after b[i]: its local name
// (prefix removed; xmlns declarations skipped) and raw value.
func nextAttr(b []byte, i int) (name, val []byte, next int, ok bool) {
	for {
		var prefix []byte
		prefix, name, val, i, ok = nextAttrNS(b, i)
		if !ok {
			return nil, nil, i, false
		}
		if string(prefix) == "xmlns" || (prefix == nil && string(name) == "xmlns") {
			continue
		}
		return name, val, i, true
	}
}

// nextAttrNS returns the attribute starting at or after b[i]: its prefix
// (nil when none), local name and raw value. Namespace declarations are
// attributes too here: prefix "xmlns" (or no prefix and name "xmlns").
func nextAttrNS(b []byte, i int) (prefix, name, val []byte, next int, ok bool) {
	for i < len(b) && (isSpace(b[i]) || b[i] == '/') {
		i++
	}
	if i >= len(b) {
		return nil, nil, nil, i, false
	}
	ns := i
	colon := -1
	for i < len(b) && b[i] != '=' && !isSpace(b[i]) {
		if b[i] == ':' {
			colon = i
		}
		i++
	}
	ne := i
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i >= len(b) || b[i] != '=' {
		return nil, nil, nil, i, false
	}
	i++
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i >= len(b) || (b[i] != '"' && b[i] != '\'') {
		return nil, nil, nil, i, false
	}
	q := b[i]
	vs := i + 1
	k := bytes.IndexByte(b[vs:], q)
	if k < 0 {
		return nil, nil, nil, len(b), false
	}
	val = b[vs : vs+k]
	i = vs + k + 1
	name = b[ns:ne]
	if colon >= 0 {
		prefix, name = b[ns:colon], b[colon+1:ne]
	}
	return prefix, name, val, i, true
}

// attr returns the raw value of the attribute with local name key.
func (t tag) attr(key string) ([]byte, bool) {
	i := t.attrsStart
	for {
		name, val, next, ok := nextAttr(t.raw, i)
		if !ok {
			return nil, false
		}
		if string(name) == key {
			return val, true
		}
		i = next
	}
}

// attrString returns an attribute value with entities decoded.
func (t tag) attrString(key string) (string, bool) {
	v, ok := t.attr(key)
	if !ok {
		return "", false
	}
	return attrValue(v), true
}

// attrValue is a raw attribute value with its entities decoded (as it
// stands when they cannot be).
func attrValue(val []byte) string {
	if bytes.IndexByte(val, '&') >= 0 || bytes.IndexByte(val, '\r') >= 0 {
		if d, err := decodeText(nil, val); err == nil {
			return string(d)
		}
	}
	return string(val)
}

// readText reads the character data of the element just opened, up to its
// end tag, decoding entities and CDATA; text inside nested elements is
// skipped, as encoding/xml does when decoding into a string. The result is
// valid until the next call.
func (s *scanner) readText() ([]byte, error) {
	s.out = s.out[:0]
	depth := 0
	for {
		i := bytes.IndexByte(s.buf[s.pos:s.end], '<')
		if i < 0 {
			s.text = append(s.text[:0], s.buf[s.pos:s.end]...)
			s.pos = s.end
			for {
				if !s.fill() {
					err := s.eofErr()
					if err == io.EOF {
						err = io.ErrUnexpectedEOF
					}
					return nil, err
				}
				if i = bytes.IndexByte(s.buf[s.pos:s.end], '<'); i >= 0 {
					break
				}
				s.text = append(s.text, s.buf[s.pos:s.end]...)
				s.pos = s.end
			}
			s.text = append(s.text, s.buf[s.pos:s.pos+i]...)
			if depth == 0 {
				var err error
				if s.out, err = decodeText(s.out, s.text); err != nil {
					return nil, err
				}
			}
		} else if depth == 0 {
			txt := s.buf[s.pos : s.pos+i]
			if bytes.IndexByte(txt, '&') < 0 && bytes.IndexByte(txt, '\r') < 0 {
				s.out = append(s.out, txt...)
			} else {
				var err error
				if s.out, err = decodeText(s.out, txt); err != nil {
					return nil, err
				}
			}
		}
		s.pos += i + 1
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

var (
	fastV       = []byte("<v>")
	fastVEnd    = []byte("</v></c>")
	fastIS      = []byte("<is><t>")
	fastISSpace = []byte(`<is><t xml:space="preserve">`)
	fastISEnd   = []byte("</t></is></c>")
)

// fastCell reads the rest of a cell in one step when it is exactly
// <v>text</v></c> or <is><t>text</t></is></c> and wholly in the buffer.
// It returns 'v' or 'i', the decoded text (valid until the next read),
// and false (consuming nothing) for any other shape.
func (s *scanner) fastCell() (byte, []byte, bool) {
	b := s.buf[s.pos:s.end]
	var kind byte
	var open, end []byte
	switch {
	case bytes.HasPrefix(b, fastV):
		kind, open, end = 'v', fastV, fastVEnd
	case bytes.HasPrefix(b, fastIS):
		kind, open, end = 'i', fastIS, fastISEnd
	case bytes.HasPrefix(b, fastISSpace):
		kind, open, end = 'i', fastISSpace, fastISEnd
	default:
		return 0, nil, false
	}
	i := bytes.IndexByte(b[len(open):], '<')
	if i < 0 {
		return 0, nil, false
	}
	txt := b[len(open) : len(open)+i]
	if !bytes.HasPrefix(b[len(open)+i:], end) {
		return 0, nil, false
	}
	if needsDecode(txt) {
		out, err := decodeText(s.out[:0], txt)
		if err != nil {
			return 0, nil, false // let the slow path report it
		}
		s.out = out
		txt = out
	}
	s.pos += len(open) + i + len(end)
	return kind, txt, true
}

// fastCellTag reads a <c> start tag in one step when it sits wholly in
// the buffer at the read position and is written the plain way: single
// spaces, attribute names of ASCII letters (no prefix), values in double
// quotes. It returns the r, s and t values (valid until the next read)
// and whether the tag is self-closing; ok false consumes nothing, and the
// general path (skipToTag) reads whatever is there.
func (s *scanner) fastCellTag() (ref, sAttr, typ []byte, selfClose, ok bool) {
	b := s.buf[s.pos:s.end]
	if len(b) < 3 || b[0] != '<' || b[1] != 'c' {
		return nil, nil, nil, false, false
	}
	i := 2
	for i < len(b) {
		switch b[i] {
		case '>':
			s.pos += i + 1
			return ref, sAttr, typ, false, true
		case '/':
			if i+1 < len(b) && b[i+1] == '>' {
				s.pos += i + 2
				return ref, sAttr, typ, true, true
			}
			return nil, nil, nil, false, false
		case ' ':
			i++
		default:
			return nil, nil, nil, false, false
		}
		ns := i
		for i < len(b) && (b[i]|0x20 >= 'a' && b[i]|0x20 <= 'z') {
			i++
		}
		if i == ns || i+1 >= len(b) || b[i] != '=' || b[i+1] != '"' {
			return nil, nil, nil, false, false
		}
		name := b[ns:i]
		i += 2
		k := bytes.IndexByte(b[i:], '"')
		if k < 0 {
			return nil, nil, nil, false, false
		}
		val := b[i : i+k]
		i += k + 1
		if len(name) == 1 {
			switch name[0] {
			case 'r':
				ref = val
			case 's':
				sAttr = val
			case 't':
				typ = val
			}
		}
	}
	return nil, nil, nil, false, false
}

// needsDecode reports whether cell text holds an entity or a '\r' (one
// pass over a short text, cheaper than two IndexByte calls).
func needsDecode(txt []byte) bool {
	for _, c := range txt {
		if c == '&' || c == '\r' {
			return true
		}
	}
	return false
}

// skipElement skips the element just opened (not self-closing) to its end.
func (s *scanner) skipElement() error {
	depth := 0
	for {
		t, err := s.skipToTag()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
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
		if int64(len(arena)) > opts.MaxSharedStrings || len(arena) > 1<<32-1 {
			return nil, &Error{Kind: ErrZipBomb, Detail: fmt.Sprintf("shared strings larger than %d bytes", opts.MaxSharedStrings)}
		}
		ends = append(ends, uint32(len(arena)))
	}
	return &sharedStrings{arena: string(arena), ends: ends}, nil
}

// xlsxRows reads the rows of one worksheet.
type xlsxRows struct {
	f      *File
	rc     io.ReadCloser
	ar     *asyncReader
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
	rowBuf []byte
	pend   []pending
}

func (r *xlsxRows) Row() Row   { return r.row }
func (r *xlsxRows) Err() error { return r.err }

func (r *xlsxRows) Close() error {
	if r.rc == nil {
		return nil
	}
	r.ar.Close()
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

// readCells reads the <c> elements of a row up to </row>. Cell texts are
// gathered in one buffer and turned into one string per row, of which each
// cell's value is a slice (one allocation per row, not per cell).
func (r *xlsxRows) readCells() error {
	col := 0
	r.rowBuf = r.rowBuf[:0]
	r.pend = r.pend[:0]
	defer r.finishRow()
	for {
		ref, sAttr, typ, selfClose, fast := r.sc.fastCellTag()
		if !fast {
			t, err := r.sc.skipToTag()
			if err != nil {
				return err
			}
			if t.special {
				continue
			}
			if t.end {
				if string(t.name) == "row" {
					return nil
				}
				continue
			}
			if string(t.name) != "c" {
				if !t.selfClose && string(t.name) != "row" {
					if err := r.sc.skipElement(); err != nil {
						return err
					}
				}
				continue
			}
			for i := t.attrsStart; ; {
				name, val, next, ok := nextAttr(t.raw, i)
				if !ok {
					break
				}
				switch string(name) {
				case "r":
					ref = val
				case "s":
					sAttr = val
				case "t":
					typ = val
				}
				i = next
			}
			selfClose = t.selfClose
		}
		col++
		if len(ref) > 0 {
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
		if sAttr != nil {
			n, err := strconv.ParseInt(string(sAttr), 10, 64)
			if err == nil && n >= 0 && n < 1<<31 {
				styleIdx = int(n)
			}
		}
		cellType := cellTypeOf(typ) // copied: typ is invalid after the next read
		vStart, vEnd := len(r.rowBuf), len(r.rowBuf)
		hasF, hasIS, inlineDone := false, false, false
		closed := selfClose
		if !closed {
			// Fast path for the two shapes nearly every writer uses:
			// <v>text</v></c> and <is><t>text</t></is></c>.
			switch kind, txt, ok := r.sc.fastCell(); {
			case !ok:
			case kind == 'v':
				if len(txt) > r.opts.MaxCellLen {
					return &Error{Kind: ErrCellTooLong, Detail: fmt.Sprintf("column %s, %d bytes", ColumnName(col), len(txt))}
				}
				r.rowBuf = append(r.rowBuf, txt...)
				vEnd = len(r.rowBuf)
				closed = true
			case cellType == "inlineStr":
				// Straight into the row buffer (the usual inline string).
				r.rowBuf = append(r.rowBuf, txt...)
				inlineDone, hasIS, closed = true, true, true
			default:
				r.direct = append(r.direct[:0], txt...)
				r.runs = r.runs[:0]
				hasIS, closed = true, true
			}
		}
		if !closed {
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
					r.rowBuf = r.rowBuf[:vStart]
					if ct.selfClose {
						vEnd = vStart
						continue
					}
					txt, err := r.sc.readText()
					if err != nil {
						return err
					}
					if len(txt) > r.opts.MaxCellLen {
						return &Error{Kind: ErrCellTooLong, Detail: fmt.Sprintf("column %s, %d bytes", ColumnName(col), len(txt))}
					}
					r.rowBuf = append(r.rowBuf, txt...)
					vEnd = len(r.rowBuf)
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
		p := pending{col: col, start: vStart, end: vEnd}
		switch cellType {
		case "s":
			p.kind = String
			if vEnd > vStart {
				idx, _ := strconv.Atoi(strings.TrimSpace(string(r.rowBuf[vStart:vEnd])))
				p.direct, _ = r.sst.get(idx)
				p.useDirect = true
				r.rowBuf = r.rowBuf[:vStart]
				p.end = vStart
			}
		case "str":
			p.kind = String
		case "inlineStr":
			p.kind = String
			if hasIS {
				if !inlineDone {
					r.rowBuf = append(r.rowBuf[:vStart], r.direct...)
					r.rowBuf = append(r.rowBuf, r.runs...)
				}
				if bytes.Contains(r.rowBuf[vStart:], []byte("_x")) {
					u := bstrUnmarshal(string(r.rowBuf[vStart:]))
					r.rowBuf = append(r.rowBuf[:vStart], u...)
				}
				p.end = len(r.rowBuf)
			}
		case "b":
			p.kind = Bool
		case "d":
			p.kind = ISODate
		case "e":
			p.kind = ErrorValue
		default:
			p.kind = Number
			if styleIdx < len(r.styles) {
				p.format = r.styles[styleIdx].code
				if r.styles[styleIdx].isDate {
					p.kind = Date
				}
			}
		}
		n := p.end - p.start
		if p.useDirect {
			n = len(p.direct)
		}
		if n > r.opts.MaxCellLen {
			return &Error{Kind: ErrCellTooLong, Detail: fmt.Sprintf("column %s, %d bytes", ColumnName(col), n)}
		}
		if n == 0 {
			r.rowBuf = r.rowBuf[:vStart]
			if !hasF {
				continue
			}
			p.kind = Empty
		}
		r.pend = append(r.pend, p)
	}
}

// pending is a cell whose value still sits in the row buffer.
type pending struct {
	col        int
	start, end int
	kind       Kind
	format     string
	direct     string // a shared string (not in the buffer)
	useDirect  bool
}

// finishRow turns the row buffer into one string and the pending cells
// into the row's cells.
func (r *xlsxRows) finishRow() {
	row := string(r.rowBuf)
	for _, p := range r.pend {
		for len(r.cells) < p.col {
			r.cells = append(r.cells, Cell{})
		}
		v := row[p.start:p.end]
		if p.useDirect {
			v = p.direct
		}
		r.cells[p.col-1] = Cell{Value: v, Kind: p.kind, Format: p.format}
	}
}

// cellTypeOf returns the t attribute as a constant string (no allocation
// for the known types).
func cellTypeOf(b []byte) string {
	switch string(b) {
	case "":
		return ""
	case "s":
		return "s"
	case "str":
		return "str"
	case "inlineStr":
		return "inlineStr"
	case "n":
		return "n"
	case "b":
		return "b"
	case "d":
		return "d"
	case "e":
		return "e"
	}
	return string(b)
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
