package mapping

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/mapping/sheet"
)

const sampleSheets = "../samples/sheets"

func loadSamples(t testing.TB) *Set {
	t.Helper()
	set, err := LoadDir(sampleMappings)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

type mapped struct {
	recs  map[int]Record
	probs map[int][]Problem
	rows  []int
}

func mapFile(t testing.TB, path string, m *Mapping, opts Options) (*mapped, *Reader) {
	t.Helper()
	r, err := Open(path, m, opts)
	if err != nil {
		t.Fatalf("%s: %s", path, Explain(err, LangEN))
	}
	out := &mapped{recs: map[int]Record{}, probs: map[int][]Problem{}}
	for r.Next() {
		rec := r.Record()
		n := 0
		for name, v := range r.Values() {
			if got, ok := rec.Fields[name]; !ok || got != v {
				t.Errorf("%s row %d: Values gives %s = %+v, Record().Fields %+v (%v)", path, rec.Row, name, v, got, ok)
			}
			n++
		}
		if n != len(rec.Fields) {
			t.Errorf("%s row %d: Values gives %d fields, Record().Fields %d", path, rec.Row, n, len(rec.Fields))
		}
		out.rows = append(out.rows, rec.Row)
		out.recs[rec.Row] = rec
		if len(r.Problems()) > 0 {
			out.probs[rec.Row] = r.Problems()
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out, r
}

func TestGoodTaskSheet(t *testing.T) {
	set := loadSamples(t)
	m, _ := set.Get("tarefas")
	got, r := mapFile(t, filepath.Join(sampleSheets, "tarefas.xlsx"), m, Options{})
	defer r.Close()
	if r.HeaderRow() != 3 {
		t.Errorf("header row %d, want 3 (a title row sits above)", r.HeaderRow())
	}
	if len(got.rows) != 8 || len(got.probs) != 0 {
		t.Fatalf("rows %v, problems %v", got.rows, got.probs)
	}
	want := map[string]string{
		"TaskNumber": "240101", "CustomerName": "Maria da Conceição", "Phone1": "11987654321",
		"DueDateTime": "202403050800", "TaskTypeCode": "INST", "EmployeeNumber": "0042", "Status": "NewTask",
		"Location.Y": "-23.5558", "Location.X": "-46.6623", "GeocodeAddress.State": "SP", "Duration": "60",
		"Location.Address": "Rua Augusta, 1500 - Consolação, São Paulo/SP", "Notes": "Portão azul; interfone 12",
	}
	rec := got.recs[4]
	for k, v := range want {
		if g, ok := rec.Get(k); !ok || g != v {
			t.Errorf("row 4 %s = %q (set %v), want %q", k, g, ok, v)
		}
	}
	// Row 5: the merged city cell is empty, so the field is not set, and
	// the template drops the separator of the empty placeholder.
	if _, ok := got.recs[5].Get("GeocodeAddress.City"); ok {
		t.Error("row 5 city set from a merged cell")
	}
	if v, _ := got.recs[5].Get("Location.Address"); v != "Av. Paulista, 1000 - Bela Vista, sp" {
		t.Errorf("row 5 address %q", v)
	}
	// A date typed as text and a lower-case service name.
	if v, _ := got.recs[7].Get("DueDateTime"); v != "202403060900" {
		t.Errorf("row 7 date %q", v)
	}
	if v, _ := got.recs[9].Get("TaskTypeCode"); v != "REP" {
		t.Errorf("row 9 type %q", v)
	}
	// Notes left empty: not set, so HasValue stays false.
	if _, ok := got.recs[8].Fields["Notes"]; ok {
		t.Error("empty Notes set")
	}
}

// TestRequiredOverride: a saved mapping can demand a value the target
// leaves optional (required = true on the field), and the target's
// uniqueness still holds for the values present.
func TestRequiredOverride(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(sampleMappings, "tarefas.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		required bool
		want     []string // problems of row 5 (no Nº OS)
	}{
		{"optional", false, nil},
		{"required", true, []string{"required A"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := string(src)
			if tc.required {
				text = strings.Replace(text, "[fields.TaskNumber]\n", "[fields.TaskNumber]\nrequired = true\n", 1)
			}
			m, err := Parse("tarefas.toml", []byte(text))
			if err != nil {
				t.Fatal(err)
			}
			got, r := mapFile(t, filepath.Join(sampleSheets, "tarefas-com-erros.xlsx"), m, Options{})
			defer r.Close()
			var codes []string
			for _, p := range got.probs[5] {
				codes = append(codes, p.Code()+" "+p.Column())
			}
			if !reflect.DeepEqual(codes, tc.want) {
				t.Errorf("row 5 problems %v, want %v", codes, tc.want)
			}
			if tc.required {
				msg := got.probs[5][0].Message(LangEN)
				if !strings.Contains(msg, "Row 5, column A (Nº OS)") || !strings.Contains(msg, "TaskNumber is required") {
					t.Errorf("message %q", msg)
				}
			}
			// Unique when present: row 10 repeats row 4's number either way.
			if len(got.probs[10]) != 1 || got.probs[10][0].Code() != "duplicate" {
				t.Errorf("row 10 problems %v", got.probs[10])
			}
		})
	}
}

func TestBadTaskSheet(t *testing.T) {
	set := loadSamples(t)
	m, _ := set.Get("tarefas")
	got, r := mapFile(t, filepath.Join(sampleSheets, "tarefas-com-erros.xlsx"), m, Options{})
	defer r.Close()
	// Row 5 has no Nº OS: TaskNumber is optional in officetrack-task (the
	// sheets flow derives one), so the row is valid and the field unset.
	want := map[int][]string{
		6:  {"not_integer A"},
		7:  {"bad_date I"},
		8:  {"not_phone C"},
		9:  {"lat_range L"},
		10: {"duplicate A"},
		11: {"one_of J"},
		12: {"pattern H"},
		14: {"required I", "required B"},
	}
	gotCodes := map[int][]string{}
	for row, ps := range got.probs {
		for _, p := range ps {
			gotCodes[row] = append(gotCodes[row], p.Code()+" "+p.Column())
		}
	}
	if !reflect.DeepEqual(gotCodes, want) {
		t.Errorf("problems:\n got %v\nwant %v", gotCodes, want)
	}
	if len(got.rows) != 11 {
		t.Errorf("rows %v", got.rows)
	}
	if v, ok := got.recs[5].Get("TaskNumber"); ok {
		t.Errorf("row 5 TaskNumber set to %q from an empty cell", v)
	}
	// Messages name the row, column letter and header, the value and what to do.
	msgs := map[string]string{
		LangPT: `Linha 10, coluna A (Nº OS): valor "240201" repete o valor da linha 4; cada linha precisa de um valor diferente`,
		LangES: `Fila 10, columna A (Nº OS): valor "240201" repite el valor de la fila 4; cada fila necesita un valor distinto`,
		LangEN: `Row 10, column A (Nº OS): value "240201" repeats the value of row 4; each row needs a different value`,
	}
	for l, want := range msgs {
		if g := got.probs[10][0].Message(l); g != want {
			t.Errorf("%s:\n got %s\nwant %s", l, g, want)
		}
	}
	if g := got.probs[7][0].Message(LangPT); !strings.Contains(g, `coluna I (Data Agendada): valor "31/02/2024 10:00" é uma data ou hora impossível`) {
		t.Errorf("date message %q", g)
	}
}

func TestCSVSheetsMapTheSame(t *testing.T) {
	set := loadSamples(t)
	m, _ := set.Get("tarefas-csv")
	a, ra := mapFile(t, filepath.Join(sampleSheets, "tarefas-cp1252.csv"), m, Options{})
	ra.Close()
	b, rb := mapFile(t, filepath.Join(sampleSheets, "tarefas-utf8bom.csv"), m, Options{})
	rb.Close()
	c, rc := mapFile(t, "testdata/tarefas-utf16.csv", m, Options{})
	rc.Close()
	if len(a.probs)+len(b.probs)+len(c.probs) != 0 {
		t.Fatalf("problems %v %v %v", a.probs, b.probs, c.probs)
	}
	if !reflect.DeepEqual(a.recs, b.recs) || !reflect.DeepEqual(a.recs, c.recs) {
		t.Fatalf("records differ:\n%v\n%v\n%v", a.recs, b.recs, c.recs)
	}
	rec := a.recs[2]
	for k, v := range map[string]string{"Location.Y": "-23.5268", "Location.X": "-46.6392", "CustomerName": "José Conceição",
		"DueDateTime": "202403110800", "Notes": "Prédio; 3º andar", "TaskTypeCode": "INST"} {
		if g, _ := rec.Get(k); g != v {
			t.Errorf("%s = %q, want %q", k, g, v)
		}
	}
	if v, _ := a.recs[4].Get("DueDateTime"); v != "202403110000" {
		t.Errorf("date without time %q", v)
	}
}

func TestPOISheet(t *testing.T) {
	set := loadSamples(t)
	m, _ := set.Get("pontos")
	got, r := mapFile(t, filepath.Join(sampleSheets, "pontos.xlsx"), m, Options{})
	r.Close()
	if len(got.rows) != 3 || len(got.probs) != 0 {
		t.Fatalf("rows %v problems %v", got.rows, got.probs)
	}
	rec := got.recs[2]
	for k, v := range map[string]string{"customerNumber": "CTO-0001", "zip": "01304001", "type": "POI", "data1": "-23.5558, -46.6623", "name": "CTO Augusta 1500"} {
		if g, _ := rec.Get(k); g != v {
			t.Errorf("%s = %q, want %q", k, g, v)
		}
	}
}

func TestChoose(t *testing.T) {
	set := loadSamples(t)
	cases := []struct{ file, bound, want string }{
		{filepath.Join(sampleSheets, "tarefas.xlsx"), "", "tarefas"},           // by glob
		{filepath.Join(sampleSheets, "tarefas-cp1252.csv"), "", "tarefas-csv"}, // by glob
		{filepath.Join(sampleSheets, "pontos.xlsx"), "tarefas", "tarefas"},     // bound to the folder
		{"testdata/tarefas-gnumeric.xlsx", "", "tarefas"},                      // by glob too
		{"testdata/tarefas-utf16.csv", "", "tarefas-csv"},                      // by glob
	}
	for _, c := range cases {
		m, err := set.Choose(c.file, c.bound, Options{})
		if err != nil || m.Name != c.want {
			t.Errorf("%s: %v, %v; want %s", c.file, m, err, c.want)
		}
	}
	// Detected by headers when no glob matches.
	noGlobs := &Set{}
	for _, m := range set.Mappings {
		c := *m
		c.Files = nil
		noGlobs.Mappings = append(noGlobs.Mappings, &c)
	}
	for file, want := range map[string]string{"tarefas.xlsx": "tarefas", "pontos.xlsx": "pontos", "tarefas-cp1252.csv": "tarefas-csv"} {
		m, err := noGlobs.Choose(filepath.Join(sampleSheets, file), "", Options{})
		if err != nil || m.Name != want {
			t.Errorf("detect %s: %v, %v; want %s", file, m, err, want)
		}
	}
	// Two mappings fitting equally: rejected, naming both.
	twin := *noGlobs.Mappings[1]
	twin.Name = "tarefas-copia"
	tie := &Set{Mappings: []*Mapping{noGlobs.Mappings[1], &twin}}
	_, err := tie.Choose(filepath.Join(sampleSheets, "tarefas.xlsx"), "", Options{})
	var fe *FileError
	if !errors.As(err, &fe) || !strings.Contains(fe.Message(LangPT), "tarefas, tarefas-copia") {
		t.Errorf("tie: %v", err)
	}
	if _, err := set.Choose("x.xlsx", "nao-existe", Options{}); err == nil || !strings.Contains(Explain(err, LangEN), `mapping "nao-existe" does not exist`) {
		t.Errorf("unknown bound mapping: %v", err)
	}
}

func TestSheetThatDoesNotFit(t *testing.T) {
	set := loadSamples(t)
	m, _ := set.Get("pontos")
	_, err := Open(filepath.Join(sampleSheets, "tarefas.xlsx"), m, Options{})
	if err == nil {
		t.Fatal("no error")
	}
	// The POI mapping names sheet "Pontos"? No: it names none, so the first
	// sheet is read and its headers do not fit.
	msg := Explain(err, LangPT)
	if !strings.Contains(msg, "tarefas.xlsx") || !strings.Contains(msg, "faltam colunas do mapeamento") || strings.Count(msg, `"Cliente"`) != 1 {
		t.Errorf("message %q", msg)
	}
	// One column missing: named, with the columns found.
	m2, err := Parse("x.toml", []byte(`target = "officetrack-task"
[fields.TaskNumber]
column = "Nº OS"
[fields.CustomerName]
column = "Nome do Cliente"
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(filepath.Join(sampleSheets, "tarefas.xlsx"), m2, Options{Lang: LangEN})
	if msg := Explain(err, LangEN); !strings.Contains(msg, `columns of the mapping are missing: "Nome do Cliente" (CustomerName); columns found: "Nº OS", "Cliente"`) {
		t.Errorf("message %q", msg)
	}
}

func TestExplainSheetErrors(t *testing.T) {
	set := loadSamples(t)
	m, _ := set.Get("tarefas")
	for file, want := range map[string]map[string]string{
		"testdata/tarefas-biff5.xls": {LangPT: "Arquivo tarefas-biff5.xls: é uma planilha do Excel 5.0/95, que não é lida", LangES: "Archivo tarefas-biff5.xls: es un libro de Excel 5.0/95", LangEN: "File tarefas-biff5.xls: is an Excel 5.0/95 workbook"},
	} {
		_, err := Open(file, m, Options{})
		var se *sheet.Error
		if !errors.As(err, &se) {
			t.Fatalf("%s: %v", file, err)
		}
		for l, w := range want {
			if g := Explain(err, l); !strings.HasPrefix(g, w) {
				t.Errorf("%s %s: %q", file, l, g)
			}
		}
	}
}

func TestHeaderRowGiven(t *testing.T) {
	m, err := Parse("x.toml", []byte(`target = "officetrack-task"
header_row = 3
sheet = 1
[fields.TaskNumber]
column = "Nº OS"
`))
	if err != nil {
		t.Fatal(err)
	}
	got, r := mapFile(t, filepath.Join(sampleSheets, "tarefas.xlsx"), m, Options{})
	r.Close()
	if len(got.rows) != 8 || got.rows[0] != 4 {
		t.Errorf("rows %v", got.rows)
	}
	m.HeaderRow = 2 // an empty row: the header is not found
	if _, err := Open(filepath.Join(sampleSheets, "tarefas.xlsx"), m, Options{}); err == nil {
		t.Error("empty header row accepted")
	}
}

// FuzzMapRow maps one row of fuzzed cell texts with a mapping that uses
// every type, transform and check: it must never panic, and a row without
// problems must give values that parse again as their type.
func FuzzMapRow(f *testing.F) {
	m, err := Parse("fuzz.toml", []byte(`target = "officetrack-task"
[fields.TaskNumber]
column = "OS"
[fields.DueDateTime]
column = "Data"
[fields.Phone1]
column = "Fone"
[fields.Location]
column = "Coord"
[fields.Duration]
column = "Dur"
min = 0
max = 1440
[fields.Email]
column = "Email"
[fields."GeocodeAddress.UseIfPartiallyResolved"]
column = "Parcial"
[fields.TaskTypeCode]
column = "Tipo"
transforms = ["trim", "upper", "noaccents"]
map = { "INSTALACAO" = "INST" }
one_of = ["INST", "REP"]
default = "REP"
[fields."GeocodeAddress.Zip"]
column = "CEP"
transforms = ["digits"]
pattern = "[0-9]{8}"
[fields.Description]
template = "{Rua}, {Num} - {Bairro}"
`))
	if err != nil {
		f.Fatal(err)
	}
	headers := []string{"OS", "Data", "Fone", "Coord", "Dur", "Email", "Parcial", "Tipo", "CEP", "Rua", "Num", "Bairro"}
	f.Add("240101", "05/03/2024 14:30", "(11) 98765-4321", "-23,5, -46,6", "60", "a@b.com", "sim", "instalação", "01304-001", "Rua A", "12", "Centro", false)
	f.Add("x", "31/02/2024", "1", "1000, 1000", "-1", "@", "talvez", "vistoria", "1", "", "", "", true)
	f.Add("1.5E+3", "45356.5", "1.1987654321E10", "0,0", "1440", "x@y.z", "0", "", "", "Rua", "", "Bairro", true)
	layout, _ := GoLayout(DefaultDateFormat)
	f.Fuzz(func(t *testing.T, os, data, fone, coord, dur, email, parcial, tipo, cep, rua, num, bairro string, numeric bool) {
		vals := []string{os, data, fone, coord, dur, email, parcial, tipo, cep, rua, num, bairro}
		row := sheet.Row{Num: 2}
		for i, v := range vals {
			k := sheet.String
			if numeric && i < 5 {
				k = sheet.Number
			}
			row.Cells = append(row.Cells, sheet.Cell{Value: v, Kind: k})
		}
		rec, probs, err := m.MapRow(row, headers)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range probs {
			if p.Message(LangPT) == "" || p.Row != 2 {
				t.Fatalf("bad problem %+v", p)
			}
		}
		if v, ok := rec.Get("TaskNumber"); ok {
			if _, err := ParseInteger(v); err != nil {
				t.Fatalf("TaskNumber %q does not parse", v)
			}
		}
		if v, ok := rec.Get("DueDateTime"); ok && len(v) != len(layout) {
			t.Fatalf("DueDateTime %q", v)
		}
		if v, ok := rec.Get("Location.Y"); ok {
			if _, err := ParseCoordinate(v, true); err != nil {
				t.Fatalf("Location.Y %q: %v", v, err)
			}
		}
		if v, ok := rec.Get("TaskTypeCode"); ok && v != "INST" && v != "REP" {
			t.Fatalf("TaskTypeCode %q", v)
		}
		if v, ok := rec.Get("Duration"); ok {
			if n, err := ParseInteger(v); err != nil || n < 0 || n > 1440 {
				t.Fatalf("Duration %q", v)
			}
		}
	})
}

// TestCloseStopsReadAhead closes readers part-way and at once: no
// goroutine may be left behind.
func TestCloseStopsReadAhead(t *testing.T) {
	set := loadSamples(t)
	m, _ := set.Get("tarefas")
	before := runtime.NumGoroutine()
	for i := 0; i < 20; i++ {
		r, err := Open(filepath.Join(sampleSheets, "tarefas.xlsx"), m, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < i%3; k++ {
			r.Next()
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		r.Close() // twice is fine
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left behind", n-before)
	}
}

// A mapping written for a workbook (sheet, header_row = 3 under a title)
// used on the CSV export of the same data: the sheet does not apply to a
// CSV, and the header row that is not where the mapping says gives one
// sentence naming the row, in the configured language only.
func TestWorkbookMappingOnCSV(t *testing.T) {
	csvPath := filepath.Join(sampleSheets, "tarefas-cp1252.csv")
	m, err := Parse("x.toml", []byte(`target = "officetrack-task"
sheet = "Tarefas"
[fields.TaskNumber]
column = "Nº OS"
[fields.CustomerName]
column = "Cliente"
[fields.Phone1]
column = "Telefone"
`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(csvPath, m, Options{})
	if err != nil {
		t.Fatalf("sheet refused a CSV: %s", Explain(err, LangPT))
	}
	r.Close()

	m.HeaderRow = 3
	_, err = Open(csvPath, m, Options{})
	if err == nil {
		t.Fatal("header_row = 3 on a CSV whose headers are on row 1: no error")
	}
	cases := []struct {
		lang, want string
		foreign    []string
	}{
		{LangPT, "diz que o cabeçalho está na linha 3, mas as colunas dele estão provavelmente na linha 1", []string{"columns", "columnas", "the file"}},
		{LangES, "dice que el encabezado está en la fila 3, pero sus columnas están probablemente en la fila 1", []string{"columns", "colunas", "the file"}},
		{LangEN, "says the headers are on row 3, but its columns are probably on row 1", []string{"colunas", "columnas", "linha"}},
	}
	for _, c := range cases {
		msg := Explain(err, c.lang)
		if !strings.Contains(msg, c.want) || strings.Count(msg, `"Cliente"`) != 1 || strings.Count(msg, ";") > 1 {
			t.Errorf("%s: %q", c.lang, msg)
		}
		for _, f := range c.foreign {
			if strings.Contains(msg, f) {
				t.Errorf("%s message has %q: %q", c.lang, f, msg)
			}
		}
	}
}

// A sheet that a workbook lacks is named, with the workbook's sheets, in
// the configured language.
func TestNoSuchSheetMessage(t *testing.T) {
	m, err := Parse("x.toml", []byte(`target = "officetrack-task"
sheet = "Ordens"
[fields.TaskNumber]
column = "Nº OS"
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(filepath.Join(sampleSheets, "tarefas.xlsx"), m, Options{})
	for l, want := range map[string]string{
		LangPT: `Arquivo tarefas.xlsx: não tem a aba "Ordens" pedida pelo mapeamento; abas da planilha: "Tarefas", "Instruções"`,
		LangES: `Archivo tarefas.xlsx: no tiene la hoja "Ordens" pedida por el mapeo; hojas del archivo: "Tarefas", "Instruções"`,
		LangEN: `File tarefas.xlsx: does not have the sheet "Ordens" the mapping asks for; its sheets: "Tarefas", "Instruções"`,
	} {
		if got := Explain(err, l); got != want {
			t.Errorf("%s: %q\nwant %q", l, got, want)
		}
	}
}
