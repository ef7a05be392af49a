package mapping

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// The corpus of testdata/corpus holds sheets written by real programs
// (scripts/mapping-fixtures), each beside NAME.expected.toml, the mapping
// a person would write. TestDraftCorpus drafts a mapping for each sheet
// as `fieldbridge mapping init` does (target suggested, not given) and
// scores it field by field: a field drafted with the expected column is
// right; a field drafted with another column, or drafted when the person
// left it out, is wrong; a field left as a TODO is neither.

const corpusDir = "testdata/corpus"

// draftedFields reads the fields of a mapping's TOML as field → column
// ("lat|lng" for a coordinate pair; Location with two columns counts as
// Location.Y and Location.X).
func draftedFields(t *testing.T, src []byte) (string, map[string]string) {
	t.Helper()
	var doc struct {
		Target string `toml:"target"`
		Fields map[string]struct {
			Column  string   `toml:"column"`
			Columns []string `toml:"columns"`
		} `toml:"fields"`
	}
	if _, err := toml.Decode(string(src), &doc); err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	out := map[string]string{}
	for name, f := range doc.Fields {
		switch {
		case len(f.Columns) == 2 && name == "Location":
			out["Location.Y"], out["Location.X"] = NormalizeHeader(f.Columns[0]), NormalizeHeader(f.Columns[1])
		case f.Column != "":
			out[name] = NormalizeHeader(f.Column)
		}
	}
	return doc.Target, out
}

func TestDraftCorpus(t *testing.T) {
	exps, err := filepath.Glob(filepath.Join(corpusDir, "*.expected.toml"))
	if err != nil || len(exps) < 12 {
		t.Fatalf("%d corpus sheets (want 12 or more): %v", len(exps), err)
	}
	total, right, wrong, todo := 0, 0, 0, 0
	var lines []string
	for _, exp := range exps {
		stem := strings.TrimSuffix(filepath.Base(exp), ".expected.toml")
		matches, _ := filepath.Glob(filepath.Join(corpusDir, stem+".*"))
		var sheetPath string
		for _, m := range matches {
			if !strings.HasSuffix(m, ".toml") {
				sheetPath = m
			}
		}
		if sheetPath == "" {
			t.Fatalf("%s: no sheet beside it", exp)
		}
		src, err := os.ReadFile(exp)
		if err != nil {
			t.Fatal(err)
		}
		// The expected mapping is a real mapping that reads its sheet.
		m, err := Parse(exp, src)
		if err != nil {
			t.Fatalf("%s: %v", exp, err)
		}
		r, err := Open(sheetPath, m, Options{Lang: LangEN})
		if err != nil {
			t.Fatalf("%s with its expected mapping: %v", sheetPath, Explain(err, LangEN))
		}
		r.Close()
		wantTarget, want := draftedFields(t, src)

		var buf bytes.Buffer
		if err := Draft(&buf, sheetPath, DraftOptions{}); err != nil {
			t.Fatalf("%s: %v", sheetPath, err)
		}
		gotTarget, got := draftedFields(t, buf.Bytes())
		sheetRight, sheetWrong := 0, 0
		var notes []string
		if gotTarget != wantTarget {
			t.Errorf("%s: target %s, want %s", filepath.Base(sheetPath), gotTarget, wantTarget)
			sheetWrong += len(want)
		} else {
			for field, col := range want {
				switch g, ok := got[field]; {
				case !ok:
					todo++
					notes = append(notes, "todo "+field)
				case g == col:
					sheetRight++
				default:
					sheetWrong++
					notes = append(notes, fmt.Sprintf("WRONG %s=%s (want %s)", field, g, col))
				}
			}
			for field, col := range got {
				if _, ok := want[field]; !ok {
					sheetWrong++
					notes = append(notes, fmt.Sprintf("WRONG extra %s=%s", field, col))
				}
			}
		}
		total += len(want)
		right += sheetRight
		wrong += sheetWrong
		sort.Strings(notes)
		lines = append(lines, fmt.Sprintf("  %-30s %2d/%2d right, %d wrong %s", filepath.Base(sheetPath), sheetRight, len(want), sheetWrong, strings.Join(notes, "; ")))
		if sheetWrong > 0 {
			t.Logf("draft of %s:\n%s", sheetPath, buf.String())
		}
	}
	score := float64(right) / float64(total)
	fmt.Printf("mapping init corpus: %d of %d fields right (%.1f%%), %d wrong, %d left as TODO, %d sheets\n%s\n",
		right, total, 100*score, wrong, todo, len(exps), strings.Join(lines, "\n"))
	if wrong > 0 {
		t.Errorf("%d fields drafted wrong", wrong)
	}
	if score < 0.95 {
		t.Errorf("%.1f%% of fields right, want 95%% or more", 100*score)
	}
}
