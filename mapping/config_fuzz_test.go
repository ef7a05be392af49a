package mapping

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/fieldbridge/fieldbridge/mapping/sheet"
)

// FuzzParseMapping feeds mapping files (the samples' and mutations of them) to
// Parse: a file either loads, and then maps a row under its own column
// names without failing, or is refused with a *LoadError whose every
// problem names the file and says something.
func FuzzParseMapping(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "samples", "mappings", "*.toml"))
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`target = "officetrack-task"` + "\n[fields.TaskNumber]\ncolumn = \"OS\"\n"))
	f.Add([]byte("target = \"nope\"\n[fields.X]\ncolumn = 3\n"))
	f.Add([]byte("[[[\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		m, err := Parse("fuzz.toml", src)
		if err != nil {
			var le *LoadError
			if !errors.As(err, &le) || len(le.Problems) == 0 {
				t.Fatalf("Parse error %T %v, want a *LoadError with problems", err, err)
			}
			for _, p := range le.Problems {
				if p.File != "fuzz.toml" || p.Msg == "" {
					t.Fatalf("problem %+v", p)
				}
			}
			return
		}
		var headers []string
		row := sheet.Row{Num: 2}
		for _, name := range m.FieldNames() {
			if c := m.ColumnOf(name); c != "" {
				headers = append(headers, c)
				row.Cells = append(row.Cells, sheet.Cell{Value: "1", Kind: sheet.String})
			}
		}
		if _, probs, err := m.MapRow(row, headers); err == nil {
			for _, p := range probs {
				if p.Message(LangPT) == "" {
					t.Fatalf("a problem without words: %+v", p)
				}
			}
		}
	})
}
