package sheet

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf16"
)

// fuzzOpts keep each fuzz input quick: a repeated row or column is
// expanded up to these bounds, not to a million.
var fuzzOpts = Options{MaxRows: 5000, MaxColumns: 500, MaxCellLen: 1 << 16}

// checkRead reads every sheet of the file at p: it must not panic, a
// failure must be a *sheet.Error naming the file, row numbers must
// increase and cells must respect the bounds.
func checkRead(t *testing.T, p string, opts Options) {
	f, err := Open(p, opts)
	if err != nil {
		mustSheetError(t, p, err)
		return
	}
	defer f.Close()
	for _, s := range f.Sheets {
		rows, err := f.Rows(s)
		if err != nil {
			mustSheetError(t, p, err)
			continue
		}
		last := 0
		for rows.Next() {
			r := rows.Row()
			if r.Num <= last || r.Num > opts.MaxRows {
				t.Fatalf("row number %d after %d (limit %d)", r.Num, last, opts.MaxRows)
			}
			last = r.Num
			if len(r.Cells) > opts.MaxColumns {
				t.Fatalf("row %d has %d cells", r.Num, len(r.Cells))
			}
			for _, c := range r.Cells {
				if len(c.Value) > opts.MaxCellLen {
					t.Fatalf("row %d: cell of %d bytes", r.Num, len(c.Value))
				}
			}
		}
		if err := rows.Err(); err != nil {
			mustSheetError(t, p, err)
		}
		rows.Close()
	}
}

func mustSheetError(t *testing.T, p string, err error) {
	t.Helper()
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("error is not a *sheet.Error: %v", err)
	}
	if se.Path != p {
		t.Fatalf("error does not name the file: %v", err)
	}
}

// odsZip wraps a content.xml in an OpenDocument spreadsheet package.
func odsZip(t testing.TB, content []byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range []struct {
		name string
		data []byte
	}{{"mimetype", []byte("application/vnd.oasis.opendocument.spreadsheet")}, {"content.xml", content}} {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipEntry(t testing.TB, p, name string) []byte {
	zr, err := zip.OpenReader(p)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, e := range zr.File {
		if e.Name == name {
			rc, err := e.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			data, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
	t.Fatalf("%s: no %s", p, name)
	return nil
}

// FuzzODS feeds arbitrary content.xml documents, in a valid package, to
// the ODS reader; the seeds are the content.xml of the fixtures that
// Gnumeric and LibreOffice wrote.
func FuzzODS(f *testing.F) {
	for _, p := range []string{filepath.Join(diffDir, "tiny-gnumeric.ods"), filepath.Join(diffDir, "tiny-lo.ods"), filepath.Join(testdata, "tarefas.ods")} {
		f.Add(zipEntry(f, p, "content.xml"))
	}
	const head = `<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet><table:table table:name="A">`
	f.Add([]byte(head + `<table:table-row table:number-rows-repeated="99999"><table:table-cell table:number-columns-repeated="999" office:value-type="float" office:value="1"/></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>`))
	f.Add([]byte(head + `<table:table-row><table:table-cell><text:p>a<text:s text:c="99999999"/>b<text:span>c<text:line-break/></text:span></text:p><text:p>d</text:p></table:table-cell><table:covered-table-cell/><table:table-cell office:value-type="date" office:date-value="2024-02-30T25:00:00"/><table:table-cell office:value-type="time" office:time-value="PT1H"/></table:table-row>`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content []byte) {
		p := filepath.Join(dir, "f.ods")
		if err := os.WriteFile(p, odsZip(t, content), 0o600); err != nil {
			t.Fatal(err)
		}
		checkRead(t, p, fuzzOpts)
	})
}

// FuzzXLS feeds arbitrary bytes to the XLS reader in two ways, chosen by
// the first byte: as a whole compound file (seeds: the .xls fixtures), or
// as the Workbook stream of a well-formed compound file (seeds: the
// fixtures' streams), which reaches the BIFF records past the container.
func FuzzXLS(f *testing.F) {
	for _, p := range []string{filepath.Join(diffDir, "tiny-gnumeric.xls"), filepath.Join(diffDir, "tiny-lo.xls"), filepath.Join(testdata, "tarefas.xls")} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]byte{0}, data...))
		f.Add(append([]byte{1}, workbookStream(f, p)...))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		file := data[1:]
		if data[0]&1 == 1 {
			file = cfbWith(data[1:])
		}
		p := filepath.Join(dir, "f.xls")
		if err := os.WriteFile(p, file, 0o600); err != nil {
			t.Fatal(err)
		}
		checkRead(t, p, fuzzOpts)
	})
}

// workbookStream returns the Workbook stream of an .xls file.
func workbookStream(t testing.TB, p string) []byte {
	fh, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, _ := fh.Stat()
	c, err := openCFB(fh, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	e, ok := c.find("Workbook")
	if !ok {
		t.Fatal("no Workbook stream")
	}
	s, err := c.open(e)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, s.size)
	if _, err := s.ReadAt(data, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return data
}

// cfbWith writes a version 3 compound file (512-byte sectors) whose root
// storage holds one stream, "Workbook", with data (padded to 4096 bytes
// so that it lives in regular sectors).
func cfbWith(data []byte) []byte {
	stream := append([]byte(nil), data...)
	for len(stream) < 4096 {
		stream = append(stream, 0)
	}
	nData := (len(stream) + 511) / 512
	// Sectors: FAT sectors first, then the directory, then the stream.
	nFAT := 1
	for (nFAT+1+nData+127)/128 > nFAT {
		nFAT++
	}
	le := binary.LittleEndian
	fat := make([]uint32, nFAT*128)
	for i := range fat {
		fat[i] = cfbFreeSect
	}
	for i := 0; i < nFAT; i++ {
		fat[i] = cfbFATSect
	}
	dirSect := nFAT
	fat[dirSect] = cfbEndOfChain
	first := nFAT + 1
	for i := 0; i < nData; i++ {
		fat[first+i] = uint32(first + i + 1)
	}
	fat[first+nData-1] = cfbEndOfChain
	h := make([]byte, 512)
	copy(h, oleMagic)
	le.PutUint16(h[24:], 0x3E)
	le.PutUint16(h[26:], 3)
	le.PutUint16(h[28:], 0xFFFE)
	le.PutUint16(h[30:], 9)
	le.PutUint16(h[32:], 6)
	le.PutUint32(h[44:], uint32(nFAT))
	le.PutUint32(h[48:], uint32(dirSect))
	le.PutUint32(h[56:], 4096)
	le.PutUint32(h[60:], cfbEndOfChain)
	le.PutUint32(h[68:], cfbEndOfChain)
	for i := 0; i < 109; i++ {
		v := uint32(cfbFreeSect)
		if i < nFAT && i < 109 {
			v = uint32(i)
		}
		le.PutUint32(h[76+4*i:], v)
	}
	out := bytes.NewBuffer(h)
	for _, v := range fat {
		binary.Write(out, le, v)
	}
	dir := make([]byte, 512)
	entry := func(i int, name string, typ byte, child uint32, start uint32, size int) {
		e := dir[128*i:]
		u := utf16.Encode([]rune(name))
		for k, c := range u {
			le.PutUint16(e[2*k:], c)
		}
		le.PutUint16(e[64:], uint16(2*len(u)+2))
		e[66], e[67] = typ, 1
		le.PutUint32(e[68:], cfbNoStream)
		le.PutUint32(e[72:], cfbNoStream)
		le.PutUint32(e[76:], child)
		le.PutUint32(e[116:], start)
		le.PutUint64(e[120:], uint64(size))
	}
	entry(0, "Root Entry", 5, 1, cfbEndOfChain, 0)
	entry(1, "Workbook", 2, cfbNoStream, uint32(first), len(stream))
	for i := 2; i < 4; i++ {
		e := dir[128*i:]
		le.PutUint32(e[68:], cfbNoStream)
		le.PutUint32(e[72:], cfbNoStream)
		le.PutUint32(e[76:], cfbNoStream)
	}
	out.Write(dir)
	out.Write(stream)
	for out.Len()%512 != 0 {
		out.WriteByte(0)
	}
	return out.Bytes()
}

// TestCFBWriter checks the fuzz harness itself: a fixture's Workbook
// stream in a compound file written by cfbWith reads the same rows.
func TestCFBWriter(t *testing.T) {
	p := filepath.Join(testdata, "tarefas.xls")
	want, _, err := readAll(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	q := writeTemp(t, "copy.xls", cfbWith(workbookStream(t, p)))
	got, _, err := readAll(q, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(got) < 5 || got[3].Cell(1).Value != want[3].Cell(1).Value {
		t.Fatalf("read %d rows, want %d", len(got), len(want))
	}
}
