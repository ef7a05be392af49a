package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fieldbridge/fieldbridge/mapping"
)

const (
	mappingsDir = "../../samples/mappings"
	sheetsDir   = "../../samples/sheets"
)

func runM(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := runMapping(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestMappingCheck(t *testing.T) {
	code, out, errs := runM("check", "-dir", mappingsDir, filepath.Join(sheetsDir, "tarefas.xlsx"))
	if code != 0 || !strings.Contains(out, "8 linhas: 8 corretas, 0 com problemas (nada foi enviado)") ||
		!strings.Contains(out, `TaskNumber                         = "240101"`) || !strings.Contains(out, "Linha de cabeçalho: 3") {
		t.Errorf("good sheet: code %d\n%s%s", code, out, errs)
	}
	code, out, _ = runM("check", "-dir", mappingsDir, "-lang", "en", "-rows", "0", filepath.Join(sheetsDir, "tarefas-com-erros.xlsx"))
	if code != 1 || !strings.Contains(out, `Row 9, column L (Coordenadas): value "-146.6405, -23.5705" latitude outside -90 to 90`) ||
		!strings.Contains(out, "11 rows: 3 good, 8 with problems (nothing was sent)") {
		t.Errorf("bad sheet: code %d\n%s", code, out)
	}
	code, out, _ = runM("check", "-dir", mappingsDir, "-mapping", filepath.Join(mappingsDir, "tarefas-csv.toml"), filepath.Join(sheetsDir, "tarefas-cp1252.csv"))
	if code != 0 || !strings.Contains(out, `(CSV, windows-1252, separador ";")`) {
		t.Errorf("csv: code %d\n%s", code, out)
	}
	for _, name := range []string{"tarefas.xls", "tarefas.ods"} {
		code, out, _ = runM("check", "-dir", mappingsDir, "-mapping", "tarefas", "../../mapping/testdata/"+name)
		if code != 0 || !strings.Contains(out, "8 linhas: 8 corretas, 0 com problemas (nada foi enviado)") || !strings.Contains(out, `TaskNumber                         = "240101"`) {
			t.Errorf("%s: code %d\n%s", name, code, out)
		}
	}
	code, out, _ = runM("check", "-dir", mappingsDir, "-mapping", "tarefas", "../../mapping/testdata/tarefas-biff5.xls")
	if code != 1 || !strings.Contains(out, "Arquivo tarefas-biff5.xls: é uma planilha do Excel 5.0/95") {
		t.Errorf("biff5: code %d\n%s", code, out)
	}
	code, _, errs = runM("check", "-dir", t.TempDir()+"/nope", "x.xlsx")
	if code != 2 || errs == "" {
		t.Errorf("missing dir: code %d %s", code, errs)
	}
	if code, _, _ := runM("check"); code != 2 {
		t.Errorf("no file: code %d", code)
	}
	if code, _, errs := runM("-h"); code != 0 || !strings.Contains(errs, "Usage: fieldbridge mapping") {
		t.Errorf("-h: code %d %s", code, errs)
	}
	if code, _, _ := runM("frobnicate"); code != 2 {
		t.Errorf("unknown subcommand: code %d", code)
	}
}

// TestMappingInitDraftLoads drafts a mapping from each sample sheet: the
// draft must load as it is and map its sheet.
func TestMappingInitDraftLoads(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ file, target string }{
		{"tarefas.xlsx", mapping.TargetTask},
		{"pontos.xlsx", mapping.TargetPOI},
	} {
		out := filepath.Join(dir, strings.TrimSuffix(c.file, ".xlsx")+".toml")
		code, _, errs := runM("init", "-target", c.target, "-o", out, filepath.Join(sheetsDir, c.file))
		if code != 0 {
			t.Fatalf("%s: code %d %s", c.file, code, errs)
		}
		m, err := mapping.LoadFile(out)
		if err != nil {
			text, _ := os.ReadFile(out)
			t.Fatalf("%s: draft does not load: %v\n%s", c.file, err, text)
		}
		code, report, _ := runM("check", "-mapping", out, filepath.Join(sheetsDir, c.file))
		if code != 0 {
			t.Errorf("%s: check of the draft: code %d\n%s", c.file, code, report)
		}
		if c.target == mapping.TargetTask && !strings.Contains(strings.Join(m.FieldNames(), ","), "TaskNumber") {
			t.Errorf("TaskNumber not guessed: %v", m.FieldNames())
		}
		// -o refuses to overwrite.
		if code, _, _ := runM("init", "-o", out, filepath.Join(sheetsDir, c.file)); code == 0 {
			t.Errorf("%s overwritten", out)
		}
	}
	if code, out, _ := runM("targets"); code != 0 || !strings.Contains(out, "DueDateTime") || !strings.Contains(out, "customerNumber") {
		t.Errorf("targets: %d\n%s", code, out)
	}
}

// TestMappingInitSuggestsAndExtends: without -target, init suggests the
// target from the columns; a synonym file in the mappings folder's
// synonyms/ subfolder teaches it a customer's own header.
func TestMappingInitSuggestsAndExtends(t *testing.T) {
	for file, want := range map[string]string{"tarefas.xlsx": mapping.TargetTask, "pontos.xlsx": mapping.TargetPOI} {
		code, out, errs := runM("init", "-dir", t.TempDir(), filepath.Join(sheetsDir, file))
		if code != 0 || !strings.Contains(out, "target = \""+want+"\"  # suggested by columns") {
			t.Errorf("%s: code %d %s\n%s", file, code, errs, out)
		}
	}
	dir := t.TempDir()
	sheet := filepath.Join(dir, "visitas.csv")
	os.WriteFile(sheet, []byte("Nº OS;Recado da central\n101;Ligar antes\n102;Portão azul\n"), 0o600)
	_, out, _ := runM("init", "-dir", dir, sheet)
	if strings.Contains(out, "[fields.Notes]") {
		t.Fatalf("Notes guessed without the customer's synonym:\n%s", out)
	}
	os.Mkdir(filepath.Join(dir, "synonyms"), 0o755)
	os.WriteFile(filepath.Join(dir, "synonyms", "central.toml"), []byte("language = \"pt-BR\"\n[officetrack-task]\nNotes = [\"recado da central\"]\n"), 0o600)
	code, out, errs := runM("init", "-dir", dir, sheet)
	if code != 0 || !strings.Contains(out, "[fields.Notes]  # B \"Recado da central\"") {
		t.Errorf("customer synonym not used: code %d %s\n%s", code, errs, out)
	}
	os.WriteFile(filepath.Join(dir, "synonyms", "bad.toml"), []byte("language = \"pt-BR\"\n[officetrack-task]\nNotas = [\"x\"]\n"), 0o600)
	if code, _, errs := runM("init", "-dir", dir, sheet); code != 2 || !strings.Contains(errs, `bad.toml: [officetrack-task] has no field "Notas"`) {
		t.Errorf("bad synonym file: code %d %s", code, errs)
	}
}
