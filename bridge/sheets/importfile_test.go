package sheets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"

	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
)

func importRows() func() (outRow, bool, error) {
	rows := []outRow{
		{Num: 2, Task: &officetrack.Task{TaskNumber: ptr(int64(11)), Description: ptr("Instalação; 2º andar"), Location: &officetrack.Location{Y: ptr(-23.5), X: ptr(-46.6)}}},
		{Num: 3, Problem: "bad date"},
		{Num: 4, Task: &officetrack.Task{TaskNumber: ptr(int64(12)), Description: ptr("Reparo \"urgente\"")}},
	}
	i := 0
	return func() (outRow, bool, error) {
		if i >= len(rows) {
			return outRow{}, false, nil
		}
		i++
		return rows[i-1], true, nil
	}
}

func TestImportFileCSVWindows1252(t *testing.T) {
	l := ImportLayout{Connection: "x", Encoding: "windows-1252", Columns: []ImportColumn{
		{"Numero", "TaskNumber"}, {"Descricao", "Description"}, {"Lat", "Location.Y"}, {"Lng", "Location.X"}}}
	l.withDefaults()
	if err := l.check("ftp"); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "out.csv")
	n, err := l.writeImportFile(p, importRows())
	if err != nil || n != 2 {
		t.Fatalf("%d %v", n, err)
	}
	raw, _ := os.ReadFile(p)
	text, err := charmap.Windows1252.NewDecoder().String(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	want := "Numero;Descricao;Lat;Lng\r\n11;\"Instalação; 2º andar\";-23.5;-46.6\r\n12;\"Reparo \"\"urgente\"\"\";;\r\n"
	if text != want {
		t.Fatalf("got %q\nwant %q", text, want)
	}
	if got := l.remoteName("Tarefas Nov.xlsx", "0123456789abcdef"); got != "Tarefas Nov-0123456789ab.csv" {
		t.Errorf("remote name %q", got)
	}
}

func TestImportFileXLSX(t *testing.T) {
	l := ImportLayout{Connection: "x", Format: "xlsx", Columns: []ImportColumn{{"N", "TaskNumber"}, {"D", "Description"}}}
	l.withDefaults()
	p := filepath.Join(t.TempDir(), "out.xlsx")
	if _, err := l.writeImportFile(p, importRows()); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, _ := f.GetRows("Sheet1")
	if len(rows) != 3 || rows[1][1] != "Instalação; 2º andar" || rows[2][0] != "12" {
		t.Fatalf("%q", rows)
	}
}

func TestImportLayoutCheck(t *testing.T) {
	l := ImportLayout{Format: "pdf", Separator: "ab", Encoding: "ebcdic", FileName: "a/b", Columns: []ImportColumn{{"X", "Nope"}}}
	err := l.check("ftp")
	for _, key := range []string{"ftp.connection", "ftp.format", "ftp.separator", "ftp.encoding", "ftp.file_name", "ftp.columns[0].field"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("no error for %s: %v", key, err)
		}
	}
}
