// Package sheet reads the spreadsheets people send — XLSX workbooks,
// OpenDocument spreadsheets (.ods), Excel 97-2003 workbooks (.xls) and CSV
// text files — as a stream of rows, bounded in size, and turns every kind
// of unreadable file (Excel 5.0/95, password-protected, corrupt or still
// being copied) into an *Error with a Kind a person can be told about.
//
// ODS cells are read from content.xml with an encoding/xml token stream
// (ods.go); XLS cells from the BIFF8 records of the Workbook stream
// (xls.go) of the compound file (cfb.go). Both are bounded by the same
// Options as XLSX, and differential tests prove that the same data saved
// as .xlsx, .ods and .xls by LibreOffice and Gnumeric reads the same.
//
// XLSX cell data is read by a hand-written streaming scanner of the sheet
// XML (see scan.go); excelize reads the workbook's styles and workbook
// properties. A differential test proves the scanner returns the same
// cells as excelize's Rows().
//
// Merged cells are reported as excelize reports them: the value sits in the
// top-left cell of the merged range and the other cells are empty. A merged
// header therefore names only its first column.
package sheet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Format is the kind of file a sheet was read from.
type Format int

// The formats Open accepts.
const (
	FormatCSV Format = iota + 1
	FormatXLSX
	FormatODS // OpenDocument spreadsheet (LibreOffice, Gnumeric)
	FormatXLS // Excel 97-2003 workbook (BIFF8)
)

func (f Format) String() string {
	switch f {
	case FormatCSV:
		return "csv"
	case FormatXLSX:
		return "xlsx"
	case FormatODS:
		return "ods"
	case FormatXLS:
		return "xls"
	}
	return "unknown"
}

// Kind says what a cell holds.
type Kind uint8

// Cell kinds.
const (
	Empty      Kind = iota
	String          // text (shared, inline or formula string, or any CSV field)
	Number          // a number as stored, e.g. "45234.5"
	Date            // a number whose cell format is a date/time format (an Excel serial number)
	ISODate         // an XLSX cell of type "d": an ISO 8601 text
	Bool            // "1" or "0"
	ErrorValue      // an Excel error such as "#N/A"
)

// Cell is one cell's value. Value is the raw stored text: shared strings
// resolved, numbers exactly as written in the file.
type Cell struct {
	Value string
	Kind  Kind
	// Format is the cell's number format code for XLSX numbers ("" for General).
	Format string
}

// Row is one row as the user sees it in the spreadsheet program.
type Row struct {
	// Num is the spreadsheet row number (1-based; for CSV the record number).
	Num int
	// Cells is dense: Cells[0] is column A. Trailing empty cells may be absent.
	Cells []Cell
}

// Cell returns the cell in 0-based column col, or an empty cell.
func (r Row) Cell(col int) Cell {
	if col < 0 || col >= len(r.Cells) {
		return Cell{}
	}
	return r.Cells[col]
}

// Empty reports whether every cell of the row is blank.
func (r Row) Empty() bool {
	for _, c := range r.Cells {
		if strings.TrimSpace(c.Value) != "" {
			return false
		}
	}
	return true
}

// Rows iterates over a sheet's rows. The Row returned by Row is valid until
// the next call of Next (its Cells slice is reused).
type Rows interface {
	Next() bool
	Row() Row
	Err() error
	Close() error
}

// Options bound what Open and Rows accept. Zero values take the defaults.
type Options struct {
	// MaxFileSize is the largest file accepted, in bytes (default 256 MiB).
	MaxFileSize int64 `toml:"max_file_size"`
	// MaxUnzipSize caps the decompressed size of an XLSX (default 4 GiB).
	MaxUnzipSize int64 `toml:"max_unzip_size"`
	// MaxRows is the largest row number accepted (default 1,048,576).
	MaxRows int `toml:"max_rows"`
	// MaxCellLen is the longest cell value accepted, in bytes (default 32,767).
	MaxCellLen int `toml:"max_cell_len"`
	// MaxColumns is the widest row accepted (default 16,384).
	MaxColumns int `toml:"max_columns"`
	// MaxSharedStrings caps the XLSX shared string table held in memory,
	// in bytes of text (default 256 MiB).
	MaxSharedStrings int64 `toml:"max_shared_strings"`
}

// DefaultOptions returns the default bounds.
func DefaultOptions() Options {
	return Options{
		MaxFileSize:  256 << 20,
		MaxUnzipSize: 4 << 30,
		MaxRows:      1 << 20,
		MaxCellLen:   32767,
		MaxColumns:   16384,

		MaxSharedStrings: 256 << 20,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = d.MaxFileSize
	}
	if o.MaxUnzipSize <= 0 {
		o.MaxUnzipSize = d.MaxUnzipSize
	}
	if o.MaxRows <= 0 {
		o.MaxRows = d.MaxRows
	}
	if o.MaxCellLen <= 0 {
		o.MaxCellLen = d.MaxCellLen
	}
	if o.MaxColumns <= 0 {
		o.MaxColumns = d.MaxColumns
	}
	if o.MaxSharedStrings <= 0 {
		o.MaxSharedStrings = d.MaxSharedStrings
	}
	return o
}

// ErrorKind classifies why a file cannot be read.
type ErrorKind int

// Error kinds.
const (
	ErrUnknownFormat  ErrorKind = iota + 1 // not a spreadsheet we read
	ErrLegacyXLS                           // Excel 5.0/95 (BIFF5) .xls, older than the BIFF8 that is read
	ErrODS                                 // an OpenDocument file that is not a spreadsheet (.odt, .odp)
	ErrEncrypted                           // password-protected workbook
	ErrTruncated                           // incomplete file (still being copied?)
	ErrCorrupt                             // damaged file
	ErrTooLarge                            // file bigger than MaxFileSize
	ErrZipBomb                             // decompresses beyond MaxUnzipSize
	ErrTooManyRows                         // row number beyond MaxRows
	ErrCellTooLong                         // a cell longer than MaxCellLen
	ErrTooManyColumns                      // a row wider than MaxColumns
	ErrNoSheet                             // the requested sheet does not exist
	ErrEmptyFile                           // zero bytes
)

var kindText = map[ErrorKind]string{
	ErrUnknownFormat:  "not an XLSX, XLS, ODS or CSV file",
	ErrLegacyXLS:      "Excel 5.0/95 workbook; save it as .xlsx",
	ErrODS:            "OpenDocument file that is not a spreadsheet",
	ErrEncrypted:      "password-protected workbook; save it without a password",
	ErrTruncated:      "incomplete file (still being copied?)",
	ErrCorrupt:        "damaged file",
	ErrTooLarge:       "file too large",
	ErrZipBomb:        "workbook decompresses beyond the size limit",
	ErrTooManyRows:    "too many rows",
	ErrCellTooLong:    "cell value too long",
	ErrTooManyColumns: "too many columns",
	ErrNoSheet:        "sheet not found",
	ErrEmptyFile:      "empty file",
}

// Error is a file that cannot be read. Match kinds with errors.As and
// the Kind field, or with errors.Is against a bare &Error{Kind: k}.
type Error struct {
	Kind   ErrorKind
	Path   string // the file
	Row    int    // spreadsheet row, when known
	Detail string // extra facts: the sheet name, the limit, ...
	Err    error  // underlying cause, if any
	// Sheet and Sheets are, for ErrNoSheet, the sheet asked for and the
	// sheets the file has.
	Sheet  string
	Sheets []string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(filepath.Base(e.Path))
		b.WriteString(": ")
	}
	b.WriteString(kindText[e.Kind])
	if e.Row > 0 {
		fmt.Fprintf(&b, " (row %d)", e.Row)
	}
	if e.Detail != "" {
		b.WriteString(" (")
		b.WriteString(e.Detail)
		b.WriteString(")")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches another *Error of the same Kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Path == "" && t.Err == nil
}

// File is an opened spreadsheet file.
type File struct {
	Path   string
	Format Format
	// Sheets lists the sheet names (one sheet, named after the file, for CSV).
	Sheets []string
	// CSV describes how a CSV file was read (nil for XLSX).
	CSV *CSVInfo

	opts Options
	f    *os.File
	size int64
	xlsx *xlsxBook
	ods  *odsBook
	xls  *xlsBook
}

var (
	oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
	zipMagic = []byte("PK")
)

// Open opens path, detects its format by content (not by name) and checks
// its bounds. Close it when done.
func Open(path string, opts Options) (*File, error) {
	opts = opts.withDefaults()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	sf, err := open(f, path, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	return sf, nil
}

func open(f *os.File, path string, opts Options) (*File, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size == 0 {
		return nil, &Error{Kind: ErrEmptyFile, Path: path}
	}
	if size > opts.MaxFileSize {
		return nil, &Error{Kind: ErrTooLarge, Path: path, Detail: fmt.Sprintf("%d > %d bytes", size, opts.MaxFileSize)}
	}
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	sf := &File{Path: path, opts: opts, f: f, size: size}
	switch {
	case bytes.HasPrefix(head, oleMagic):
		if err := sf.openOLE(); err != nil {
			return nil, err
		}
		return sf, nil
	case bytes.HasPrefix(head, zipMagic):
		if err := sf.openXLSX(); err != nil {
			return nil, err
		}
		return sf, nil
	}
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".xlsx" || ext == ".xlsm" || ext == ".xls" || ext == ".ods" {
		// Named like a workbook but is not one.
		return nil, &Error{Kind: ErrCorrupt, Path: path, Detail: "not a zip container"}
	}
	if err := sf.openCSV(); err != nil {
		return nil, err
	}
	return sf, nil
}

// Close releases the file.
func (f *File) Close() error {
	if f.f == nil {
		return nil
	}
	err := f.f.Close()
	f.f = nil
	return err
}

// SheetIndex resolves a sheet reference: "" (the first sheet), a name
// (matched ignoring case), or "#N" / "N" for the N-th sheet (1-based). A
// CSV file has one sheet, whatever the reference: a sheet names a
// workbook's sheet, and the CSV export of the same data must be read too.
func (f *File) SheetIndex(ref string) (int, error) {
	if f.Format == FormatCSV && len(f.Sheets) == 1 {
		return 0, nil
	}
	if ref == "" {
		if len(f.Sheets) == 0 {
			return -1, &Error{Kind: ErrNoSheet, Path: f.Path}
		}
		return 0, nil
	}
	for i, s := range f.Sheets {
		if s == ref {
			return i, nil
		}
	}
	for i, s := range f.Sheets {
		if strings.EqualFold(strings.TrimSpace(s), strings.TrimSpace(ref)) {
			return i, nil
		}
	}
	num := strings.TrimPrefix(ref, "#")
	var n int
	if _, err := fmt.Sscanf(num, "%d", &n); err == nil && fmt.Sprint(n) == num && n >= 1 && n <= len(f.Sheets) {
		return n - 1, nil
	}
	return -1, &Error{Kind: ErrNoSheet, Path: f.Path, Detail: fmt.Sprintf("%q; the file has %s", ref, strings.Join(f.Sheets, ", ")),
		Sheet: ref, Sheets: append([]string(nil), f.Sheets...)}
}

// Rows starts reading the sheet named by ref (see SheetIndex) from its
// first row. It may be called again to re-read the sheet (e.g. to write a
// report beside the original rows); each Rows must be closed.
func (f *File) Rows(ref string) (Rows, error) {
	if f.f == nil {
		return nil, errors.New("sheet: file is closed")
	}
	idx, err := f.SheetIndex(ref)
	if err != nil {
		return nil, err
	}
	switch f.Format {
	case FormatCSV:
		return f.csvRows()
	case FormatXLSX:
		return f.xlsxRows(idx)
	case FormatODS:
		return f.odsRows(idx)
	case FormatXLS:
		return f.xlsRows(idx)
	}
	return nil, &Error{Kind: ErrUnknownFormat, Path: f.Path}
}
