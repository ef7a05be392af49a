package sheets

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
)

// FuzzImportCSV: whatever text a row holds, the import file reads back
// (same separator, same encoding) to the same values — characters that
// Windows-1252 cannot hold become "?".
func FuzzImportCSV(f *testing.F) {
	f.Add("Instalação; 2º andar", "Rua \"A\"\r\nfundos", ";", true)
	f.Add("", "ção€", ",", false)
	f.Add("日本", "tab\there", "\t", true)
	f.Fuzz(func(t *testing.T, a, b, sep string, cp1252 bool) {
		if !utf8.ValidString(a) || !utf8.ValidString(b) || strings.ContainsRune(a+b, 0) {
			return
		}
		l := ImportLayout{Connection: "x", Separator: sep, Columns: []ImportColumn{{"A", "Description"}, {"B", "Notes"}}}
		if cp1252 {
			l.Encoding = "windows-1252"
		}
		l.withDefaults()
		if l.check("ftp") != nil || strings.ContainsAny(sep, "\r\n\"") {
			return
		}
		n := int64(1)
		row := outRow{Num: 2, Task: &officetrack.Task{TaskNumber: &n, Description: &a, Notes: &b}}
		done := false
		p := filepath.Join(t.TempDir(), "x.csv")
		if _, err := l.writeImportFile(p, func() (outRow, bool, error) {
			if done {
				return outRow{}, false, nil
			}
			done = true
			return row, true, nil
		}); err != nil {
			t.Fatal(err)
		}
		raw, _ := os.ReadFile(p)
		text := string(raw)
		want := []string{a, b}
		if cp1252 {
			dec, err := charmap.Windows1252.NewDecoder().String(text)
			if err != nil {
				t.Fatal(err)
			}
			text = dec
			for i, s := range want {
				want[i] = strings.Map(func(r rune) rune {
					if _, ok := charmap.Windows1252.EncodeRune(r); !ok {
						return '?'
					}
					return r
				}, s)
			}
		}
		rd := csv.NewReader(strings.NewReader(text))
		rd.Comma = []rune(l.Separator)[0]
		recs, err := rd.ReadAll()
		if err != nil {
			if strings.Contains(err.Error(), "invalid field or comment delimiter") {
				return // separators encoding/csv refuses to read
			}
			t.Fatalf("reading back: %v\n%q", err, text)
		}
		if len(recs) != 2 {
			t.Fatalf("%d records: %q", len(recs), text)
		}
		for i := range want {
			// CRLF files: encoding/csv writes a field's line breaks as
			// \r\n and drops a lone \r; reading turns \r\n into \n.
			if got, w := recs[1][i], strings.ReplaceAll(want[i], "\r", ""); got != w {
				t.Fatalf("column %d: got %q want %q (file %q)", i, got, w, text)
			}
		}
	})
}
