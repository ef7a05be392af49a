package sheet

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

const (
	samples  = "../../samples/sheets"
	testdata = "../testdata"
)

func kindOf(err error) ErrorKind {
	var se *Error
	if errors.As(err, &se) {
		return se.Kind
	}
	return 0
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// readAll reads every row of the first sheet, or returns the error.
func readAll(p string, opts Options) ([]Row, *File, error) {
	f, err := Open(p, opts)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	rows, err := f.Rows("")
	if err != nil {
		return nil, f, err
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		r := rows.Row()
		out = append(out, Row{Num: r.Num, Cells: append([]Cell(nil), r.Cells...)})
	}
	return out, f, rows.Err()
}

func TestRefusedFiles(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(samples, "tarefas.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	// An encrypted workbook, written by excelize with a password.
	xf := excelize.NewFile()
	xf.SetCellValue("Sheet1", "A1", "segredo")
	enc := filepath.Join(t.TempDir(), "senha.xlsx")
	if err := xf.SaveAs(enc, excelize.Options{Password: "s3nha"}); err != nil {
		t.Fatal(err)
	}
	// A corrupt deflate stream: flip bytes in the middle of the sheet data.
	corrupt := corruptEntry(t, good, "xl/worksheets/sheet1.xml")
	cases := []struct {
		name string
		path string
		opts Options
		want ErrorKind
	}{
		{"Excel 5.0/95 by Gnumeric", filepath.Join(testdata, "tarefas-biff5.xls"), Options{}, ErrLegacyXLS},
		{"OpenDocument text", writeTemp(t, "nota.ods", zipWith(t, "mimetype", "application/vnd.oasis.opendocument.text")), Options{}, ErrODS},
		{"ods too many rows", filepath.Join(testdata, "tarefas.ods"), Options{MaxRows: 5}, ErrTooManyRows},
		{"ods cell too long", filepath.Join(testdata, "tarefas.ods"), Options{MaxCellLen: 10}, ErrCellTooLong},
		{"ods zip bomb cap", filepath.Join(testdata, "tarefas.ods"), Options{MaxUnzipSize: 2000}, ErrZipBomb},
		{"ods too many columns", filepath.Join(testdata, "tarefas.ods"), Options{MaxColumns: 5}, ErrTooManyColumns},
		{"xls too many rows", filepath.Join(testdata, "tarefas.xls"), Options{MaxRows: 5}, ErrTooManyRows},
		{"xls cell too long", filepath.Join(testdata, "tarefas.xls"), Options{MaxCellLen: 10}, ErrCellTooLong},
		{"xls too many columns", filepath.Join(testdata, "tarefas.xls"), Options{MaxColumns: 5}, ErrTooManyColumns},
		{"xls shared strings cap", filepath.Join(testdata, "tarefas.xls"), Options{MaxSharedStrings: 100}, ErrZipBomb},
		{"xls too large", filepath.Join(testdata, "tarefas.xls"), Options{MaxFileSize: 1000}, ErrTooLarge},
		{"password-protected", enc, Options{}, ErrEncrypted},
		{"truncated while copying", writeTemp(t, "meio.xlsx", good[:len(good)*2/3]), Options{}, ErrTruncated},
		{"truncated header only", writeTemp(t, "quase.xlsx", good[:40]), Options{}, ErrTruncated},
		{"corrupt deflate data", writeTemp(t, "ruim.xlsx", corrupt), Options{}, ErrCorrupt},
		{"text named .xlsx", writeTemp(t, "texto.xlsx", []byte("a;b;c\n1;2;3\n")), Options{}, ErrCorrupt},
		{"empty", writeTemp(t, "vazio.csv", nil), Options{}, ErrEmptyFile},
		{"too large", filepath.Join(samples, "tarefas.xlsx"), Options{MaxFileSize: 1000}, ErrTooLarge},
		{"zip bomb cap", filepath.Join(samples, "tarefas.xlsx"), Options{MaxUnzipSize: 2000}, ErrZipBomb},
		{"too many rows", filepath.Join(samples, "tarefas.xlsx"), Options{MaxRows: 5}, ErrTooManyRows},
		{"csv too many rows", filepath.Join(samples, "tarefas-cp1252.csv"), Options{MaxRows: 2}, ErrTooManyRows},
		{"csv cell too long", filepath.Join(samples, "tarefas-cp1252.csv"), Options{MaxCellLen: 10}, ErrCellTooLong},
		{"xlsx cell too long", filepath.Join(samples, "tarefas.xlsx"), Options{MaxCellLen: 10}, ErrCellTooLong},
		{"shared strings cap", excelizeWorkbook(t), Options{MaxSharedStrings: 10}, ErrZipBomb},
		{"docx is not a workbook", writeTemp(t, "doc.xlsx", zipWith(t, "word/document.xml", "<w/>")), Options{}, ErrUnknownFormat},
		{"binary junk", writeTemp(t, "junk.csv", []byte("\x00\x01\x02\x03garbage\x00")), Options{}, ErrUnknownFormat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := readAll(c.path, c.opts)
			if err == nil {
				t.Fatalf("no error, want kind %d", c.want)
			}
			if got := kindOf(err); got != c.want {
				t.Fatalf("kind %d (%v), want %d", got, err, c.want)
			}
			if !errors.Is(err, &Error{Kind: c.want}) {
				t.Errorf("errors.Is does not match kind %d", c.want)
			}
			if !strings.Contains(err.Error(), filepath.Base(c.path)) {
				t.Errorf("message %q does not name the file", err)
			}
		})
	}
}

// excelizeWorkbook writes a workbook the way excelize (and Excel) store
// text: a shared string table, rich text, a merged header, date cells.
func excelizeWorkbook(t testing.TB) string {
	f := excelize.NewFile()
	defer f.Close()
	sh := "Planilha1"
	f.SetSheetName("Sheet1", sh)
	f.SetCellStr(sh, "A1", "Endereço")
	f.MergeCell(sh, "A1", "B1")
	f.SetSheetRow(sh, "A2", &[]any{"Rua", "Número", "Data", "Valor", "Ativo"})
	date, _ := f.NewStyle(&excelize.Style{NumFmt: 14})
	custom := "dd/mm/yyyy hh:mm"
	dt, _ := f.NewStyle(&excelize.Style{CustomNumFmt: &custom})
	for i := 3; i < 40; i++ {
		f.SetSheetRow(sh, fmt.Sprintf("A%d", i), &[]any{fmt.Sprintf("Rua %d & <Cia>", i%7), i, 45000 + i, float64(i) / 3, i%2 == 0})
		f.SetCellStyle(sh, fmt.Sprintf("C%d", i), fmt.Sprintf("C%d", i), date)
	}
	f.SetCellValue(sh, "F3", time.Date(2024, 3, 5, 14, 30, 0, 0, time.UTC))
	f.SetCellStyle(sh, "F3", "F3", dt)
	f.SetCellRichText(sh, "G3", []excelize.RichTextRun{{Text: "negrito ", Font: &excelize.Font{Bold: true}}, {Text: "normal_x0041_"}})
	f.SetCellFormula(sh, "H3", `CONCATENATE(A3,"!")`)
	f.SetCellStr(sh, "I3", "  espaços  ")
	f.NewSheet("Outra")
	f.SetCellStr("Outra", "B2", "segunda aba")
	p := filepath.Join(t.TempDir(), "excelize.xlsx")
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func zipWith(t *testing.T, name, content string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create(name)
	w.Write([]byte(content))
	zw.Close()
	return buf.Bytes()
}

// corruptEntry damages the compressed bytes of one zip entry.
func corruptEntry(t *testing.T, data []byte, name string) []byte {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name != name {
			continue
		}
		off, err := f.DataOffset()
		if err != nil {
			t.Fatal(err)
		}
		out := append([]byte(nil), data...)
		for i := off + int64(f.CompressedSize64)/3; i < off+int64(f.CompressedSize64)/3+16; i++ {
			out[i] ^= 0x5A
		}
		return out
	}
	t.Fatalf("%s not in zip", name)
	return nil
}

func TestXLSXFromGnumeric(t *testing.T) {
	rows, f, err := readAll(filepath.Join(samples, "tarefas.xlsx"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.Sheets, ","); got != "Tarefas,Instruções" {
		t.Errorf("sheets %q", got)
	}
	byNum := map[int]Row{}
	for _, r := range rows {
		byNum[r.Num] = r
	}
	if v := byNum[1].Cell(0).Value; !strings.HasPrefix(v, "Ordens de serviço") {
		t.Errorf("title A1 = %q", v)
	}
	// The merged title A1:M1 has its value in A1 only.
	if v := byNum[1].Cell(1).Value; v != "" {
		t.Errorf("B1 of merged title = %q, want empty", v)
	}
	if h := byNum[3].Cell(0).Value; h != "Nº OS" {
		t.Errorf("A3 = %q", h)
	}
	// I4 is a date cell (dd/mm/yyyy hh:mm): a serial number of kind Date.
	c := byNum[4].Cell(8)
	if c.Kind != Date || !strings.HasPrefix(c.Value, "45356.33") || c.Format != "dd/mm/yyyy hh:mm" {
		t.Errorf("I4 = %+v, want a Date serial with its format", c)
	}
	// I7 was typed as text.
	if c := byNum[7].Cell(8); c.Kind != String || c.Value != "06/03/2024 09:00" {
		t.Errorf("I7 = %+v", c)
	}
	// A4 is a number.
	if c := byNum[4].Cell(0); c.Kind != Number || c.Value != "240101" {
		t.Errorf("A4 = %+v", c)
	}
	// The vertically merged city G4:G5: G5 is empty.
	if byNum[4].Cell(6).Value != "São Paulo" || byNum[5].Cell(6).Value != "" {
		t.Errorf("merged city: G4=%q G5=%q", byNum[4].Cell(6).Value, byNum[5].Cell(6).Value)
	}
	// The second sheet by name and by position.
	for _, ref := range []string{"Instruções", "instruções", "#2", "2"} {
		rs, err := f.Rows(ref)
		if err == nil {
			t.Errorf("file closed, expected an error for %q", ref)
			rs.Close()
		}
	}
	f2, err := Open(filepath.Join(samples, "tarefas.xlsx"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	for _, ref := range []string{"Instruções", "instruções", "#2", "2"} {
		rs, err := f2.Rows(ref)
		if err != nil {
			t.Fatalf("%q: %v", ref, err)
		}
		if !rs.Next() || !strings.HasPrefix(rs.Row().Cell(0).Value, "Preencha") {
			t.Errorf("%q: first row %+v", ref, rs.Row())
		}
		rs.Close()
	}
	if _, err := f2.Rows("Planilha3"); kindOf(err) != ErrNoSheet {
		t.Errorf("missing sheet: %v", err)
	}
}

func TestXLSXMiscFormats(t *testing.T) {
	rows, _, err := readAll(filepath.Join(testdata, "misc.xlsx"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	byNum := map[int]Row{}
	for _, r := range rows {
		byNum[r.Num] = r
	}
	// A merged header "Endereço" over A2:B2 sits in A2 only.
	if byNum[2].Cell(0).Value != "Endereço" || byNum[2].Cell(1).Value != "" {
		t.Errorf("merged header row: %+v", byNum[2].Cells)
	}
	cases := []struct {
		row, col int
		kind     Kind
		value    string
	}{
		{4, 0, String, "Rua Ção"},
		{4, 2, Date, "45292.999305555"},
		{4, 3, Date, "45351"},
		{4, 4, Number, "1234.56"},
		{4, 5, Bool, "1"},
		{5, 5, Bool, "0"},
		{5, 4, Number, "-0.5"},
	}
	for _, c := range cases {
		got := byNum[c.row].Cell(c.col)
		if got.Kind != c.kind || !strings.HasPrefix(got.Value, c.value) {
			t.Errorf("%s%d = %+v, want kind %d value %q", ColumnName(c.col+1), c.row, got, c.kind, c.value)
		}
	}
}

func TestCSVEncodingsAndDelimiters(t *testing.T) {
	want, _, err := readAll(filepath.Join(samples, "tarefas-cp1252.csv"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 4 || want[0].Cell(0).Value != "Nº OS" || want[2].Cell(9).Value != "Cabo rompido\nna rua" {
		t.Fatalf("cp1252 rows: %+v", want)
	}
	if v := want[1].Cell(7).Value; v != "-23,5268" {
		t.Errorf("decimal comma cell %q", v)
	}
	for _, c := range []struct {
		path  string
		enc   string
		delim rune
	}{
		{filepath.Join(samples, "tarefas-cp1252.csv"), EncWindows1252, ';'},
		{filepath.Join(samples, "tarefas-utf8bom.csv"), EncUTF8BOM, ','},
		{filepath.Join(testdata, "tarefas-utf16.csv"), EncUTF16LE, '\t'},
	} {
		rows, f, err := readAll(c.path, Options{})
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if f.CSV.Encoding != c.enc || f.CSV.Delimiter != c.delim {
			t.Errorf("%s: read as %s %q, want %s %q", c.path, f.CSV.Encoding, f.CSV.Delimiter, c.enc, c.delim)
		}
		if len(rows) != len(want) {
			t.Fatalf("%s: %d rows, want %d", c.path, len(rows), len(want))
		}
		for i := range rows {
			for j, cell := range want[i].Cells {
				if rows[i].Cell(j).Value != cell.Value {
					t.Errorf("%s row %d col %d: %q, want %q", c.path, i+1, j, rows[i].Cell(j).Value, cell.Value)
				}
			}
		}
	}
}

func TestCSVRaggedAndQuoted(t *testing.T) {
	p := writeTemp(t, "x.csv", []byte("a|b|c\r\n1|\"dois\r\nlinhas\"|3|extra\r\n\r\n4\r\n\"x \"\"y\"\"\"|5|6\r\n"))
	rows, f, err := readAll(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f.CSV.Delimiter != '|' {
		t.Errorf("delimiter %q", f.CSV.Delimiter)
	}
	if len(rows) != 4 {
		t.Fatalf("rows %+v", rows)
	}
	if rows[1].Cell(1).Value != "dois\nlinhas" || rows[1].Cell(3).Value != "extra" || len(rows[2].Cells) != 1 || rows[3].Cell(0).Value != `x "y"` {
		t.Errorf("rows %+v", rows)
	}
	if rows[3].Num != 4 {
		t.Errorf("record numbers: %d", rows[3].Num)
	}
}

func TestDetectDelimiter(t *testing.T) {
	cases := []struct {
		text string
		want rune
	}{
		{"a,b,c\n1,2,3\n", ','},
		{"a;b;c\n1,5;2,5;3\n", ';'},
		{"Relatório\n\na;b;c\n1;2;3\n4;5;6\n", ';'},
		{"a\tb\n1\t2\n", '\t'},
		{"a|b|c\n1|2|3\n", '|'},
		{"\"a;x\",b,c\n\"1;2\",2,3\n", ','},
		{"só uma coluna\noutra linha\n", ','},
	}
	for _, c := range cases {
		if got := DetectDelimiter([]byte(c.text), false); got != c.want {
			t.Errorf("%q: %q, want %q", c.text, got, c.want)
		}
	}
}

func TestDetectEncoding(t *testing.T) {
	cases := []struct {
		in   []byte
		want string
	}{
		{[]byte("abc"), EncUTF8},
		{[]byte("ação"), EncUTF8},
		{[]byte{0xEF, 0xBB, 0xBF, 'a'}, EncUTF8BOM},
		{[]byte{0xFF, 0xFE, 'a', 0}, EncUTF16LE},
		{[]byte{0xFE, 0xFF, 0, 'a'}, EncUTF16BE},
		{[]byte("a\xe7\xe3o"), EncWindows1252},
		{append([]byte("abc"), "ç"[0]), EncUTF8}, // a rune cut by the end of the sample
	}
	for _, c := range cases {
		if got := DetectEncoding(c.in); got != c.want {
			t.Errorf("%q: %s, want %s", c.in, got, c.want)
		}
	}
}

func TestIsDateFormatCode(t *testing.T) {
	cases := map[string]bool{
		"dd/mm/yyyy": true, "dd/mm/yyyy hh:mm": true, "[$-416]d/m/yyyy": true, "h:mm AM/PM": true, "[h]:mm:ss": true,
		"0.00": false, "#,##0.00": false, "General": false, `0.00 "dias"`: false, "[Red]0.00": false, "0%": false,
		`"R$ "#,##0.00`: false, "@": false, "0.00E+00": false, "yyyy-mm-dd": true,
	}
	for code, want := range cases {
		if got := IsDateFormatCode(code); got != want {
			t.Errorf("%q: %v, want %v", code, got, want)
		}
	}
}

func TestColumnName(t *testing.T) {
	for n, want := range map[int]string{1: "A", 26: "Z", 27: "AA", 28: "AB", 702: "ZZ", 703: "AAA", 16384: "XFD"} {
		if got := ColumnName(n); got != want {
			t.Errorf("%d: %s, want %s", n, got, want)
		}
		if c, err := columnOf([]byte(want + "1")); err != nil || c != n {
			t.Errorf("columnOf(%s1) = %d, %v", want, c, err)
		}
	}
}

// FuzzCSV feeds arbitrary bytes as a file named .csv: whatever the
// content (text, a zip, an OLE2 document, a truncated workbook — all in
// the seed corpus), Open and Rows must never panic, failures must be
// *sheet.Error, and row numbers must increase.
func FuzzCSV(f *testing.F) {
	for _, p := range []string{filepath.Join(samples, "tarefas-cp1252.csv"), filepath.Join(samples, "tarefas-utf8bom.csv"), filepath.Join(testdata, "tarefas-utf16.csv")} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a;b\n\"x\ny\";2\n3"))
	f.Add([]byte("\"unterminated"))
	f.Add([]byte("\xff\xfea\x00;\x00b\x00"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "f.csv")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		rows, _, err := readAll(p, Options{MaxCellLen: 1 << 20})
		if err != nil {
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error is not a *sheet.Error: %v", err)
			}
			return
		}
		last := 0
		for _, r := range rows {
			if r.Num <= last {
				t.Fatalf("row numbers not increasing: %d after %d", r.Num, last)
			}
			last = r.Num
		}
	})
}
