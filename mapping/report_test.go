package mapping

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"

	"github.com/fieldbridge/fieldbridge/mapping/sheet"
)

// runFlow maps a sample sheet like the sheets flow does, rejecting rows
// with problems and "sending" the others, then writes the report.
func runFlow(t *testing.T, file, mappingName, reportPath, lang string) Summary {
	t.Helper()
	set := loadSamples(t)
	m, _ := set.Get(mappingName)
	r, err := Open(file, m, Options{Lang: lang})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out Outcomes
	for r.Next() {
		if ps := r.Problems(); len(ps) > 0 {
			out.Set(r.Record().Row, StatusRejected, RejectMessage(ps, lang))
		} else {
			out.Set(r.Record().Row, StatusSent, "")
		}
	}
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	sum, err := WriteReportFile(reportPath, ReportSpec{Source: r.File, Sheet: string(m.Sheet), HeaderRow: r.HeaderRow(),
		Columns: r.Width(), Lang: lang, Outcome: out.Get})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func TestXLSXReport(t *testing.T) {
	dir := t.TempDir()
	rep := filepath.Join(dir, "tarefas-com-erros.resultado.xlsx")
	sum := runFlow(t, filepath.Join(sampleSheets, "tarefas-com-erros.xlsx"), "tarefas", rep, LangPT)
	if sum.Sent != 3 || sum.Rejected != 8 || sum.Text != "3 enviadas, 8 rejeitadas" {
		t.Errorf("summary %+v", sum)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	f, err := excelize.OpenFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if l := f.GetSheetList(); len(l) != 1 || l[0] != "Tarefas" {
		t.Errorf("sheets %v", l)
	}
	rows, err := f.GetRows("Tarefas")
	if err != nil {
		t.Fatal(err)
	}
	// Same row numbers as the original: title in row 1, header in row 3.
	if !strings.HasPrefix(rows[0][0], "Ordens de serviço") || rows[2][13] != "status" || rows[2][14] != "mensagem" {
		t.Errorf("header rows: %q / %q", rows[0], rows[2])
	}
	if rows[3][0] != "240201" || rows[3][13] != "enviada" {
		t.Errorf("row 4: %q", rows[3])
	}
	// Row 5 has no Nº OS: valid (TaskNumber is optional); row 6 has a
	// number that is not one.
	if rows[4][13] != "enviada" {
		t.Errorf("row 5: %q", rows[4])
	}
	if rows[5][13] != "rejeitada" || !strings.HasPrefix(rows[5][14], "Linha 6, coluna A (Nº OS): ") {
		t.Errorf("row 6: %q", rows[5])
	}
	last := rows[len(rows)-1]
	if last[0] != "3 enviadas, 8 rejeitadas" {
		t.Errorf("summary row %q", last)
	}
	// Date cells keep their format; rejected rows are highlighted.
	if v, _ := f.GetCellValue("Tarefas", "I4"); v != "08/03/2024 09:00" {
		t.Errorf("I4 shows %q", v)
	}
	fill := func(cell string) string {
		id, _ := f.GetCellStyle("Tarefas", cell)
		st, _ := f.GetStyle(id)
		if st == nil || len(st.Fill.Color) == 0 {
			return ""
		}
		return st.Fill.Color[0]
	}
	if c := fill("B6"); c != "FFC7CE" {
		t.Errorf("rejected row fill %q", c)
	}
	if c := fill("B4"); c != "" {
		t.Errorf("sent row fill %q", c)
	}
}

func TestCSVReportKeepsEncodingAndDelimiter(t *testing.T) {
	dir := t.TempDir()
	rep := filepath.Join(dir, "r.csv")
	sum := runFlow(t, filepath.Join(sampleSheets, "tarefas-cp1252.csv"), "tarefas-csv", rep, LangES)
	if sum.Text != "3 enviadas, 0 rechazadas" {
		t.Errorf("summary %q", sum.Text)
	}
	raw, _ := os.ReadFile(rep)
	text, err := charmap.Windows1252.NewDecoder().Bytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(text), "\r\n")
	if !strings.HasPrefix(lines[0], "Nº OS;Cliente;") || !strings.HasSuffix(lines[0], ";estado;mensaje") {
		t.Errorf("header %q", lines[0])
	}
	if !strings.Contains(lines[1], "José Conceição") || !strings.HasSuffix(lines[1], ";enviada;") {
		t.Errorf("row %q", lines[1])
	}
	if !strings.Contains(string(text), "3 enviadas, 0 rechazadas") {
		t.Error("no summary line")
	}
	// The report is itself a readable sheet with the same cells.
	f, err := sheet.Open(rep, sheet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.CSV.Encoding != sheet.EncWindows1252 || f.CSV.Delimiter != ';' {
		t.Errorf("report read as %+v", f.CSV)
	}
}

func TestReportBOMAndWidthPass(t *testing.T) {
	src, err := sheet.Open(filepath.Join(sampleSheets, "tarefas-utf8bom.csv"), sheet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var buf bytes.Buffer
	sum, err := WriteReport(&buf, ReportSpec{Source: src, HeaderRow: 1, Lang: LangEN,
		Outcome: func(row int) (Outcome, bool) {
			if row == 3 {
				return Outcome{StatusFailed, "OfficeTrack did not answer"}, true
			}
			return Outcome{}, false
		}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Text != "0 sent, 0 rejected, 1 failed" {
		t.Errorf("summary %q", sum.Text)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("\xef\xbb\xbfNº OS,")) {
		t.Errorf("no BOM / wrong start: %q", buf.Bytes()[:20])
	}
	if !strings.Contains(buf.String(), ",failed,OfficeTrack did not answer\r\n") {
		t.Errorf("report:\n%s", buf.String())
	}
}

// ReportStatus reads the status words of every report language back.
func TestReportStatus(t *testing.T) {
	tests := []struct {
		word string
		want Status
		ok   bool
	}{
		{"enviada", StatusSent, true},
		{" Sent ", StatusSent, true},
		{"já enviada", StatusAlready, true},
		{"already sent", StatusAlready, true},
		{statusWord(LangES, StatusAlready), StatusAlready, true},
		{statusWord(LangES, StatusRejected), StatusRejected, true},
		{statusWord(LangPT, StatusFailed), StatusFailed, true},
		{"", "", false},
		{"talvez", "", false},
	}
	for _, tt := range tests {
		got, ok := ReportStatus(tt.word)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ReportStatus(%q) = %q, %v; want %q, %v", tt.word, got, ok, tt.want, tt.ok)
		}
	}
}

// IsReportSummary knows a report's summary line in every language, and
// nothing else.
func TestIsReportSummary(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"18 sent, 2 rejected", true},
		{"3 sent, 0 rejected, 17 already sent", true},
		{"812 enviadas, 3 rejeitadas", true},
		{"5 enviadas, 0 rechazadas, 2 ya enviada", true},
		{"18 sent", false},
		{"Rua 7, 120", false},
		{"sent, rejected", false},
		{"7001", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsReportSummary(tt.text); got != tt.want {
			t.Errorf("IsReportSummary(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}
