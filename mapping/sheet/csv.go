package sheet

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// CSVInfo says how a CSV file was read, so that a report can be written
// back the same way.
type CSVInfo struct {
	// Delimiter is ',', ';', '\t' or '|'.
	Delimiter rune
	// Encoding is "utf-8", "utf-8-bom", "utf-16le", "utf-16be" or "windows-1252".
	Encoding string
}

// Encodings Open recognises.
const (
	EncUTF8        = "utf-8"
	EncUTF8BOM     = "utf-8-bom"
	EncUTF16LE     = "utf-16le"
	EncUTF16BE     = "utf-16be"
	EncWindows1252 = "windows-1252"
)

const sniffSize = 64 << 10

func (f *File) openCSV() error {
	sample := make([]byte, sniffSize)
	n, err := f.f.ReadAt(sample, 0)
	if err != nil && err != io.EOF {
		return err
	}
	sample = sample[:n]
	info := &CSVInfo{Encoding: DetectEncoding(sample)}
	if info.Encoding == EncUTF8 && bytes.IndexByte(sample, 0) >= 0 {
		return &Error{Kind: ErrUnknownFormat, Path: f.Path, Detail: "binary data"}
	}
	text, _ := io.ReadAll(decoder(bytes.NewReader(sample), info.Encoding))
	info.Delimiter = DetectDelimiter(text, n == sniffSize)
	f.Format = FormatCSV
	f.CSV = info
	name := strings.TrimSuffix(filepath.Base(f.Path), filepath.Ext(f.Path))
	f.Sheets = []string{name}
	return nil
}

// DetectEncoding guesses the text encoding from the first bytes of a file:
// a byte order mark, else UTF-8 when the bytes are valid UTF-8, else
// Windows-1252 (what Excel in Brazil and Latin America writes).
func DetectEncoding(sample []byte) string {
	switch {
	case bytes.HasPrefix(sample, []byte{0xEF, 0xBB, 0xBF}):
		return EncUTF8BOM
	case bytes.HasPrefix(sample, []byte{0xFF, 0xFE}):
		return EncUTF16LE
	case bytes.HasPrefix(sample, []byte{0xFE, 0xFF}):
		return EncUTF16BE
	}
	// Ignore a rune cut by the end of the sample.
	s := sample
	for i := len(s) - 1; i >= 0 && i >= len(s)-3; i-- {
		if utf8.RuneStart(s[i]) {
			if !utf8.FullRune(s[i:]) {
				s = s[:i]
			}
			break
		}
	}
	if utf8.Valid(s) {
		return EncUTF8
	}
	return EncWindows1252
}

func decoder(r io.Reader, enc string) io.Reader {
	switch enc {
	case EncUTF8BOM:
		return transform.NewReader(r, unicode.UTF8BOM.NewDecoder())
	case EncUTF16LE:
		return transform.NewReader(r, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder())
	case EncUTF16BE:
		return transform.NewReader(r, unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder())
	case EncWindows1252:
		return transform.NewReader(r, charmap.Windows1252.NewDecoder())
	}
	return r
}

// Encoder returns a writer that encodes UTF-8 text written to it in enc
// (with the byte order mark first where enc has one).
func Encoder(w io.Writer, enc string) io.Writer {
	switch enc {
	case EncUTF8BOM:
		return transform.NewWriter(w, unicode.UTF8BOM.NewEncoder())
	case EncUTF16LE:
		return transform.NewWriter(w, unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder())
	case EncUTF16BE:
		return transform.NewWriter(w, unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewEncoder())
	case EncWindows1252:
		return transform.NewWriter(w, charmap.Windows1252.NewEncoder())
	}
	return w
}

// DetectDelimiter picks the delimiter among , ; tab | that splits the first
// lines of text into the same number of fields most consistently. cut
// says the text may end in the middle of a line.
func DetectDelimiter(text []byte, cut bool) rune {
	lines := splitLines(text, 30)
	if cut && len(lines) > 1 {
		lines = lines[:len(lines)-1]
	}
	best, bestScore := ',', 0
	for _, d := range []rune{',', ';', '\t', '|'} {
		freq := map[int]int{}
		for _, l := range lines {
			if n := countOutsideQuotes(l, byte(d)); n > 0 {
				freq[n]++
			}
		}
		mode, lines := 0, 0
		for n, c := range freq {
			if c > lines || c == lines && n > mode {
				mode, lines = n, c
			}
		}
		if score := lines*1000 + mode; mode > 0 && score > bestScore {
			best, bestScore = d, score
		}
	}
	return best
}

// splitLines splits text into at most max logical lines (line breaks inside
// quotes do not end a line).
func splitLines(text []byte, max int) [][]byte {
	var out [][]byte
	inQ, start := false, 0
	for i := 0; i < len(text) && len(out) < max; i++ {
		switch text[i] {
		case '"':
			inQ = !inQ
		case '\n':
			if !inQ {
				out = append(out, bytes.TrimRight(text[start:i], "\r"))
				start = i + 1
			}
		}
	}
	if start < len(text) && len(out) < max {
		out = append(out, text[start:])
	}
	return out
}

func countOutsideQuotes(line []byte, d byte) int {
	n, inQ := 0, false
	for _, c := range line {
		switch {
		case c == '"':
			inQ = !inQ
		case c == d && !inQ:
			n++
		}
	}
	return n
}

type csvRows struct {
	f     *File
	r     *csv.Reader
	row   Row
	cells []Cell
	num   int
	err   error
	done  bool
}

func (f *File) csvRows() (Rows, error) {
	src := decoder(io.NewSectionReader(f.f, 0, f.size), f.CSV.Encoding)
	r := csv.NewReader(src)
	r.Comma = f.CSV.Delimiter
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	return &csvRows{f: f, r: r}, nil
}

func (c *csvRows) Row() Row     { return c.row }
func (c *csvRows) Err() error   { return c.err }
func (c *csvRows) Close() error { c.done = true; return nil }

func (c *csvRows) Next() bool {
	if c.done {
		return false
	}
	rec, err := c.r.Read()
	if err == io.EOF {
		c.done = true
		return false
	}
	c.num++
	if err != nil {
		var pe *csv.ParseError
		kind := ErrCorrupt
		if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
			kind = ErrCorrupt
		}
		c.err = &Error{Kind: kind, Path: c.f.Path, Row: c.num, Err: err}
		c.done = true
		return false
	}
	if c.num > c.f.opts.MaxRows {
		c.err = &Error{Kind: ErrTooManyRows, Path: c.f.Path, Row: c.num, Detail: fmt.Sprintf("limit %d", c.f.opts.MaxRows)}
		c.done = true
		return false
	}
	if len(rec) > c.f.opts.MaxColumns {
		c.err = &Error{Kind: ErrTooManyColumns, Path: c.f.Path, Row: c.num, Detail: fmt.Sprintf("limit %d", c.f.opts.MaxColumns)}
		c.done = true
		return false
	}
	c.cells = c.cells[:0]
	for i, v := range rec {
		if len(v) > c.f.opts.MaxCellLen {
			c.err = &Error{Kind: ErrCellTooLong, Path: c.f.Path, Row: c.num, Detail: fmt.Sprintf("column %s, %d bytes", ColumnName(i+1), len(v))}
			c.done = true
			return false
		}
		k := String
		if v == "" {
			k = Empty
		}
		c.cells = append(c.cells, Cell{Value: v, Kind: k})
	}
	c.row = Row{Num: c.num, Cells: c.cells}
	return true
}
