package sheet

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	kflate "github.com/klauspost/compress/flate"
	"github.com/xuri/excelize/v2"
)

// xlsxBook is what the scanner needs from the workbook: where each sheet's
// XML is, the shared strings and, per style index, the number format.
type xlsxBook struct {
	zr        *zip.Reader
	entries   map[string]*zip.File // lower-case name → entry
	sheetPath []string             // per sheet, the zip entry name
	sst       *sharedStrings       // loaded lazily
	styles    []styleFmt
	date1904  bool
}

type styleFmt struct {
	code   string
	isDate bool
}

// Workbook XML, just what is needed to find the sheets.
type wbXML struct {
	Sheets []struct {
		Name string `xml:"name,attr"`
		RID  string `xml:"http://schemas.openxmlformats.org/officeDocument/2006/relationships id,attr"`
	} `xml:"sheets>sheet"`
}

type relsXML struct {
	Rels []struct {
		ID     string `xml:"Id,attr"`
		Target string `xml:"Target,attr"`
	} `xml:"Relationship"`
}

const maxPartSize = 64 << 20 // workbook.xml, styles.xml, rels ...

func (f *File) openXLSX() error {
	zr, err := zip.NewReader(f.f, f.size)
	if err != nil {
		// A local file header but no central directory: the end of the
		// file is missing.
		if errors.Is(err, zip.ErrFormat) || errors.Is(err, io.ErrUnexpectedEOF) {
			return &Error{Kind: ErrTruncated, Path: f.Path, Err: err}
		}
		return &Error{Kind: ErrCorrupt, Path: f.Path, Err: err}
	}
	// klauspost/compress inflates about a third faster than
	// compress/flate (CRC-32 is still checked by archive/zip).
	zr.RegisterDecompressor(zip.Deflate, kflate.NewReader)
	b := &xlsxBook{zr: zr, entries: map[string]*zip.File{}}
	var total uint64
	for _, e := range zr.File {
		b.entries[strings.ToLower(strings.ReplaceAll(e.Name, "\\", "/"))] = e
		total += e.UncompressedSize64
	}
	if odf, spreadsheet := isODS(b.entries); odf {
		if !spreadsheet {
			return &Error{Kind: ErrODS, Path: f.Path}
		}
		if total > uint64(f.opts.MaxUnzipSize) {
			return &Error{Kind: ErrZipBomb, Path: f.Path, Detail: fmt.Sprintf("%d > %d bytes", total, f.opts.MaxUnzipSize)}
		}
		return f.openODS(b.entries)
	}
	if b.entries["encryptedpackage"] != nil {
		return &Error{Kind: ErrEncrypted, Path: f.Path}
	}
	wbEntry := b.entries["xl/workbook.xml"]
	if wbEntry == nil {
		return &Error{Kind: ErrUnknownFormat, Path: f.Path, Detail: "zip without xl/workbook.xml"}
	}
	if total > uint64(f.opts.MaxUnzipSize) {
		return &Error{Kind: ErrZipBomb, Path: f.Path, Detail: fmt.Sprintf("%d > %d bytes", total, f.opts.MaxUnzipSize)}
	}
	wbData, err := readPart(wbEntry, maxPartSize)
	if err != nil {
		return f.partErr(err)
	}
	var wb wbXML
	if err := xml.Unmarshal(wbData, &wb); err != nil {
		return &Error{Kind: ErrCorrupt, Path: f.Path, Detail: "xl/workbook.xml", Err: err}
	}
	targets := map[string]string{}
	if re := b.entries["xl/_rels/workbook.xml.rels"]; re != nil {
		data, err := readPart(re, maxPartSize)
		if err != nil {
			return f.partErr(err)
		}
		var rels relsXML
		if err := xml.Unmarshal(data, &rels); err != nil {
			return &Error{Kind: ErrCorrupt, Path: f.Path, Detail: "xl/_rels/workbook.xml.rels", Err: err}
		}
		for _, r := range rels.Rels {
			t := r.Target
			if strings.HasPrefix(t, "/") {
				t = strings.TrimPrefix(t, "/")
			} else {
				t = path.Join("xl", t)
			}
			targets[r.ID] = strings.ToLower(t)
		}
	}
	for i, s := range wb.Sheets {
		p := targets[s.RID]
		if p == "" {
			p = fmt.Sprintf("xl/worksheets/sheet%d.xml", i+1)
		}
		f.Sheets = append(f.Sheets, s.Name)
		b.sheetPath = append(b.sheetPath, p)
	}
	if err := b.loadStyles(f); err != nil {
		return err
	}
	f.Format = FormatXLSX
	f.xlsx = b
	return nil
}

func (f *File) partErr(err error) error {
	var se *Error
	if errors.As(err, &se) {
		se.Path = f.Path
		return se
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Kind: ErrTruncated, Path: f.Path, Err: err}
	}
	return &Error{Kind: ErrCorrupt, Path: f.Path, Err: err}
}

// readPart reads a whole (small) zip entry, refusing more than limit bytes.
func readPart(e *zip.File, limit int64) ([]byte, error) {
	if e.UncompressedSize64 > uint64(limit) {
		return nil, &Error{Kind: ErrZipBomb, Detail: fmt.Sprintf("%s is %d bytes", e.Name, e.UncompressedSize64)}
	}
	rc, err := e.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &Error{Kind: ErrZipBomb, Detail: e.Name}
	}
	return data, nil
}

// stubSheet replaces worksheet bodies in the small copy of the workbook
// handed to excelize: excelize then opens the structure without
// decompressing the (possibly huge) sheets.
const stubSheet = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>`

// loadStyles opens a copy of the workbook without its sheet data and
// shared strings in excelize and reads, per cell style, the number format
// and the 1904 date system flag.
func (b *xlsxBook) loadStyles(f *File) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &Error{Kind: ErrCorrupt, Path: f.Path, Detail: "styles", Err: fmt.Errorf("%v", r)}
		}
	}()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	sheetSet := map[string]bool{}
	for _, p := range b.sheetPath {
		sheetSet[p] = true
	}
	for _, e := range b.zr.File {
		name := strings.ReplaceAll(e.Name, "\\", "/")
		lname := strings.ToLower(name)
		if !(strings.HasSuffix(lname, ".xml") || strings.HasSuffix(lname, ".rels")) {
			continue
		}
		var data []byte
		switch {
		case sheetSet[lname] || strings.HasPrefix(lname, "xl/worksheets/"):
			data = []byte(stubSheet)
		case lname == "xl/sharedstrings.xml", strings.HasPrefix(lname, "xl/drawings/"),
			strings.HasPrefix(lname, "xl/charts/"), strings.HasPrefix(lname, "xl/pivot"),
			strings.HasPrefix(lname, "xl/externallinks/"), strings.HasPrefix(lname, "customxml/"),
			strings.HasPrefix(lname, "xl/comments"), strings.HasPrefix(lname, "xl/tables/"):
			continue
		default:
			data, err = readPart(e, maxPartSize)
			if err != nil {
				return f.partErr(err)
			}
		}
		w, err := zw.Create(name)
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	xf, err := excelize.OpenReader(&buf)
	if err != nil {
		return &Error{Kind: ErrCorrupt, Path: f.Path, Detail: "workbook structure", Err: err}
	}
	defer xf.Close()
	if props, err := xf.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		b.date1904 = *props.Date1904
	}
	for idx := 0; idx < 65536; idx++ {
		st, err := xf.GetStyle(idx)
		if err != nil {
			break
		}
		code, custom := "", st.CustomNumFmt != nil
		if custom {
			code = *st.CustomNumFmt
		} else if c, ok := builtinFormats[st.NumFmt]; ok && st.NumFmt != 0 {
			code = c
		}
		b.styles = append(b.styles, styleFmt{code: code, isDate: isDateFormat(st.NumFmt, code, custom)})
	}
	return nil
}

// Date1904 reports whether the workbook counts dates from 1904.
func (f *File) Date1904() bool {
	return f.xlsx != nil && f.xlsx.date1904 || f.xls != nil && f.xls.date1904
}

func (f *File) xlsxRows(idx int) (Rows, error) {
	b := f.xlsx
	e := b.entries[b.sheetPath[idx]]
	if e == nil {
		return nil, &Error{Kind: ErrCorrupt, Path: f.Path, Detail: "missing " + b.sheetPath[idx]}
	}
	if b.sst == nil {
		sst := &sharedStrings{}
		if se := b.entries["xl/sharedstrings.xml"]; se != nil {
			var err error
			sst, err = loadSharedStrings(se, f.opts)
			if err != nil {
				return nil, f.partErr(err)
			}
		}
		b.sst = sst
	}
	rc, err := e.Open()
	if err != nil {
		return nil, f.partErr(err)
	}
	ar := newAsyncReader(&capReader{r: rc, max: f.opts.MaxUnzipSize})
	sc := newScanner(ar, f.opts.MaxUnzipSize)
	return &xlsxRows{f: f, rc: rc, ar: ar, sc: sc, sst: b.sst, styles: b.styles, opts: f.opts}, nil
}
