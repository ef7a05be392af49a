package sheets

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"

	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
)

// ImportLayout is the layout of the import definition saved in
// OfficeTrack's Integrations menu: which columns, in which order, in which
// file format. The `ftp` delivery writes the valid rows of a sheet in it.
type ImportLayout struct {
	// Connection names the FTP/SFTP connection of OfficeTrack's FTP.
	Connection string `toml:"connection"`
	// Folder is OfficeTrack's import folder on that connection.
	Folder string `toml:"folder"`
	// Format is "csv" (default) or "xlsx".
	Format string `toml:"format"`
	// Separator of CSV fields (default ";").
	Separator string `toml:"separator"`
	// Encoding of a CSV file: "utf-8" (default), "utf-8-bom" or
	// "windows-1252".
	Encoding string `toml:"encoding"`
	// NoHeader leaves out the header line.
	NoHeader bool `toml:"no_header"`
	// FileName is the uploaded file's name; "{name}" is the sheet's name
	// without extension, "{sha}" the first 12 hex digits of its content
	// hash, "{ext}" the format's extension. Default "{name}-{sha}.{ext}".
	FileName string `toml:"file_name"`
	// Columns in order: each the header written and the target field
	// whose value fills it ("TaskNumber", "Location.Y", "Data3"; for points
	// of interest the parameter names "customerNumber", "name", ...).
	Columns []ImportColumn `toml:"columns"`
}

// ImportColumn is one column of the import layout.
type ImportColumn struct {
	Header string `toml:"header"`
	Field  string `toml:"field"`
}

func (l *ImportLayout) withDefaults() {
	if l.Format == "" {
		l.Format = "csv"
	}
	if l.Separator == "" {
		l.Separator = ";"
	}
	if l.Encoding == "" {
		l.Encoding = "utf-8"
	}
	if l.FileName == "" {
		l.FileName = "{name}-{sha}.{ext}"
	}
}

// check validates the layout for target ("task" or "poi" fields), naming
// option keys under prefix.
func (l *ImportLayout) check(prefix string) error {
	var errs []error
	if l.Connection == "" {
		errs = append(errs, fmt.Errorf("%s.connection: missing (the FTP/SFTP connection of OfficeTrack's import folder)", prefix))
	}
	switch l.Format {
	case "csv", "xlsx":
	default:
		errs = append(errs, fmt.Errorf("%s.format: %q is not csv or xlsx", prefix, l.Format))
	}
	if r, size := utf8.DecodeRuneInString(l.Separator); size == 0 || size != len(l.Separator) ||
		r == utf8.RuneError || r == 0 || strings.ContainsRune("\"\r\n", r) {
		errs = append(errs, fmt.Errorf("%s.separator: must be one character, e.g. \";\" or \",\"", prefix))
	}
	switch strings.ToLower(l.Encoding) {
	case "utf-8", "utf8", "utf-8-bom":
	case "windows-1252", "cp1252", "latin1", "iso-8859-1":
		if r, _ := utf8.DecodeRuneInString(l.Separator); r != utf8.RuneError {
			if _, ok := charmap.Windows1252.EncodeRune(r); !ok {
				errs = append(errs, fmt.Errorf("%s.separator: %q cannot be written in %s", prefix, l.Separator, l.Encoding))
			}
		}
	default:
		errs = append(errs, fmt.Errorf("%s.encoding: %q is not utf-8, utf-8-bom or windows-1252", prefix, l.Encoding))
	}
	if strings.ContainsAny(l.FileName, `/\`) {
		errs = append(errs, fmt.Errorf("%s.file_name: must be a plain name, not a path", prefix))
	}
	if len(l.Columns) == 0 {
		errs = append(errs, fmt.Errorf("%s.columns: list the columns of OfficeTrack's import definition, in order", prefix))
	}
	taskFields := map[string]bool{}
	for _, f := range officetrack.TaskFields() {
		taskFields[f.Name] = true
	}
	poiFields := map[string]bool{}
	for _, f := range officetrack.POIFields() {
		poiFields[strings.ToLower(f)] = true
	}
	for i, c := range l.Columns {
		if c.Field == "" {
			errs = append(errs, fmt.Errorf("%s.columns[%d].field: missing", prefix, i))
		} else if !taskFields[c.Field] && !poiFields[strings.ToLower(c.Field)] {
			errs = append(errs, fmt.Errorf("%s.columns[%d].field: %q is not an OfficeTrack task or point-of-interest field", prefix, i, c.Field))
		}
	}
	return errors.Join(errs...)
}

func (l *ImportLayout) ext() string { return l.Format }

// remoteName is the uploaded file's name for a sheet.
func (l *ImportLayout) remoteName(sheetName, sha string) string {
	base := sheetName
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	r := strings.NewReplacer("{name}", base, "{sha}", sha[:min(12, len(sha))], "{ext}", l.ext())
	return r.Replace(l.FileName)
}

func (l *ImportLayout) value(r *outRow, field string) string {
	var v string
	switch {
	case r.Task != nil:
		v, _ = r.Task.Get(field)
	case r.POI != nil:
		v, _ = r.POI.Get(field)
	}
	return v
}

// probeTask is what the import file gives OfficeTrack of task row r (its
// number, and the fields of the layout's columns), for loaderTook; false
// for a point of interest or a task without a number.
func (l *ImportLayout) probeTask(r *outRow) (officetrack.Task, bool) {
	var t officetrack.Task
	if r.Task == nil || r.Task.TaskNumber == nil {
		return t, false
	}
	num := *r.Task.TaskNumber
	t.TaskNumber = &num
	for _, c := range l.Columns {
		if v := l.value(r, c.Field); c.Field != "" && v != "" {
			if err := t.Set(c.Field, v); err != nil {
				return t, false
			}
		}
	}
	return t, true
}

// writeImportFile writes the rows next yields (valid ones only) to path in
// the layout, and returns how many rows it wrote. The file is synced.
func (l *ImportLayout) writeImportFile(path string, next func() (outRow, bool, error)) (n int, err error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	if l.Format == "xlsx" {
		n, err = l.writeXLSX(f, next)
	} else {
		n, err = l.writeCSV(f, next)
	}
	if err != nil {
		return n, err
	}
	return n, f.Sync()
}

func (l *ImportLayout) writeCSV(f io.Writer, next func() (outRow, bool, error)) (int, error) {
	bw := bufio.NewWriterSize(f, 64<<10)
	var out io.Writer = bw
	clean := func(v string) string { return v }
	switch strings.ToLower(l.Encoding) {
	case "utf-8-bom":
		bw.WriteString("\uFEFF")
	case "windows-1252", "cp1252", "latin1", "iso-8859-1":
		// Characters Windows-1252 cannot hold become "?" rather than
		// failing the whole file.
		out = charmap.Windows1252.NewEncoder().Writer(bw)
		clean = func(v string) string {
			return strings.Map(func(r rune) rune {
				if _, ok := charmap.Windows1252.EncodeRune(r); !ok {
					return '?'
				}
				return r
			}, v)
		}
	}
	w := csv.NewWriter(out)
	w.Comma = []rune(l.Separator)[0]
	w.UseCRLF = true
	rec := make([]string, len(l.Columns))
	if !l.NoHeader {
		for i, c := range l.Columns {
			rec[i] = clean(c.Header)
		}
		if err := w.Write(rec); err != nil {
			return 0, err
		}
	}
	n := 0
	for {
		r, ok, err := next()
		if err != nil {
			return n, err
		}
		if !ok {
			break
		}
		if r.Problem != "" {
			continue
		}
		for i, c := range l.Columns {
			rec[i] = clean(l.value(&r, c.Field))
		}
		if err := w.Write(rec); err != nil {
			return n, err
		}
		n++
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

func (l *ImportLayout) writeXLSX(f io.Writer, next func() (outRow, bool, error)) (int, error) {
	x := excelize.NewFile()
	defer x.Close()
	sw, err := x.NewStreamWriter("Sheet1")
	if err != nil {
		return 0, err
	}
	rowNum := 1
	vals := make([]any, len(l.Columns))
	if !l.NoHeader {
		for i, c := range l.Columns {
			vals[i] = c.Header
		}
		if err := sw.SetRow("A1", vals); err != nil {
			return 0, err
		}
		rowNum++
	}
	n := 0
	for {
		r, ok, err := next()
		if err != nil {
			return n, err
		}
		if !ok {
			break
		}
		if r.Problem != "" {
			continue
		}
		for i, c := range l.Columns {
			vals[i] = l.value(&r, c.Field)
		}
		cell, _ := excelize.CoordinatesToCellName(1, rowNum)
		if err := sw.SetRow(cell, vals); err != nil {
			return n, err
		}
		rowNum++
		n++
	}
	if err := sw.Flush(); err != nil {
		return n, err
	}
	_, err = x.WriteTo(f)
	return n, err
}
