package mapping

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/fieldbridge/fieldbridge/mapping/sheet"
)

// CheckOptions tune Check.
type CheckOptions struct {
	Options
	// ShowRows is how many mapped rows to print in full (default 3).
	ShowRows int
	// MaxProblems caps the problems printed (default 1000); all are counted.
	MaxProblems int
}

// CheckResult counts what Check saw.
type CheckResult struct {
	Rows     int // non-empty data rows
	Good     int // rows without problems
	Bad      int // rows with problems
	Problems int
}

// Check reads the file at path with mapping m and writes to w how the
// first rows map and every problem, sending nothing. The returned error is
// set when the file cannot be read or does not fit the mapping (it is
// also written to w, explained in the options' language).
func Check(w io.Writer, path string, m *Mapping, opts CheckOptions) (CheckResult, error) {
	var res CheckResult
	l := opts.Lang
	if opts.ShowRows <= 0 {
		opts.ShowRows = 3
	}
	if opts.MaxProblems <= 0 {
		opts.MaxProblems = 1000
	}
	r, err := Open(path, m, opts.Options)
	if err != nil {
		fmt.Fprintln(w, Explain(err, l))
		return res, err
	}
	defer r.Close()
	f := r.File
	fmt.Fprintf(w, "%s: %s", label(l, "file"), filepath.Base(path))
	if f.CSV != nil {
		fmt.Fprintf(w, " (CSV, %s, %s %q)", f.CSV.Encoding, label(l, "delimiter"), string(f.CSV.Delimiter))
	} else {
		idx, _ := f.SheetIndex(string(m.Sheet))
		fmt.Fprintf(w, " (%s, %s %q)", strings.ToUpper(f.Format.String()), label(l, "sheet"), f.Sheets[idx])
	}
	fmt.Fprintf(w, "\n%s: %s (%s)\n", label(l, "mapping"), m.Name, m.Target)
	fmt.Fprintf(w, "%s: %d\n", label(l, "header row"), r.HeaderRow())
	fmt.Fprintf(w, "%s:\n", label(l, "columns"))
	for _, b := range r.Bindings(l) {
		fmt.Fprintf(w, "  %-34s ← %s\n", b.Field, b.Source)
	}
	var unused []string
	for _, i := range r.Unused() {
		unused = append(unused, fmt.Sprintf("%s %q", sheet.ColumnName(i+1), r.headers[i]))
	}
	if len(unused) > 0 {
		fmt.Fprintf(w, "%s: %s\n", label(l, "columns not used"), strings.Join(unused, ", "))
	}
	shown, listed := 0, false
	for r.Next() {
		res.Rows++
		probs := r.Problems()
		if len(probs) == 0 {
			res.Good++
		} else {
			res.Bad++
		}
		show := shown < opts.ShowRows
		if show {
			shown++
			rec := r.Record()
			fmt.Fprintf(w, "\n%s %d:\n", label(l, "row"), rec.Row)
			names := make([]string, 0, len(rec.Fields))
			for n := range rec.Fields {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintf(w, "  %-34s = %q\n", n, rec.Fields[n].Text)
			}
		}
		for _, p := range probs {
			res.Problems++
			if res.Problems > opts.MaxProblems {
				continue
			}
			if show {
				fmt.Fprintf(w, "  ! %s\n", p.Message(l))
				continue
			}
			if !listed {
				listed = true
				fmt.Fprintf(w, "\n%s:\n", label(l, "problems"))
			}
			fmt.Fprintf(w, "  %s\n", p.Message(l))
		}
	}
	if err := r.Err(); err != nil {
		fmt.Fprintln(w, Explain(err, l))
		return res, err
	}
	if res.Problems > opts.MaxProblems {
		fmt.Fprintf(w, "  … +%d\n", res.Problems-opts.MaxProblems)
	}
	fmt.Fprintf(w, "\n%s\n", fmt.Sprintf(label(l, "summary"), res.Rows, res.Good, res.Bad))
	return res, nil
}

// Binding says where one target field's value comes from.
type Binding struct {
	Field string
	// Col and Col2 are the 0-based columns read (-1: none); Col2 is the
	// second column of a coordinate pair.
	Col, Col2 int
	// Source says it in words, in the reader's language: `column C
	// "Cliente"`, `fixed value "SP"`, `template "{A} {B}"`, `default`.
	Source string
}

// Bindings lists the mapping's fields and where each one's value comes
// from in this sheet, as `fieldbridge mapping check` prints them.
func (r *Reader) Bindings(l string) []Binding {
	out := make([]Binding, 0, len(r.bound))
	for _, b := range r.bound {
		src := ""
		switch {
		case b.f.spec.Value != nil:
			src = fmt.Sprintf("%s %q", label(l, "value"), *b.f.spec.Value)
		case len(b.f.tmpl) > 0:
			src = fmt.Sprintf("%s %q", label(l, "template"), b.f.spec.Template)
		case b.col >= 0:
			src = fmt.Sprintf("%s %s %q", label(l, "column"), sheet.ColumnName(b.col+1), r.headers[b.col])
			if b.col2 >= 0 {
				src += fmt.Sprintf(" + %s %q", sheet.ColumnName(b.col2+1), r.headers[b.col2])
			}
		default:
			src = label(l, "default")
		}
		if b.f.spec.Default != nil {
			src += fmt.Sprintf(" (%s %q)", label(l, "default"), *b.f.spec.Default)
		}
		out = append(out, Binding{Field: b.f.name, Col: b.col, Col2: b.col2, Source: src})
	}
	return out
}

// Unused lists the 0-based columns that have a header but that no field
// reads.
func (r *Reader) Unused() []int {
	used := map[int]bool{}
	for _, b := range r.bound {
		used[b.col], used[b.col2] = true, true
		for _, c := range b.tcol {
			used[c] = true
		}
	}
	var out []int
	for i, h := range r.headers {
		if h != "" && !used[i] {
			out = append(out, i)
		}
	}
	return out
}

var labels = map[string]map[string]string{
	LangPT: {"file": "Arquivo", "delimiter": "separador", "sheet": "aba", "mapping": "Mapeamento", "header row": "Linha de cabeçalho",
		"columns": "Campos", "value": "valor fixo", "template": "modelo", "column": "coluna", "default": "padrão",
		"columns not used": "Colunas não usadas", "row": "Linha", "problems": "Problemas",
		"summary": "%d linhas: %d corretas, %d com problemas (nada foi enviado)"},
	LangES: {"file": "Archivo", "delimiter": "separador", "sheet": "hoja", "mapping": "Mapeo", "header row": "Fila de encabezado",
		"columns": "Campos", "value": "valor fijo", "template": "plantilla", "column": "columna", "default": "predeterminado",
		"columns not used": "Columnas no usadas", "row": "Fila", "problems": "Problemas",
		"summary": "%d filas: %d correctas, %d con problemas (no se envió nada)"},
	LangEN: {"file": "File", "delimiter": "delimiter", "sheet": "sheet", "mapping": "Mapping", "header row": "Header row",
		"columns": "Fields", "value": "fixed value", "template": "template", "column": "column", "default": "default",
		"columns not used": "Columns not used", "row": "Row", "problems": "Problems",
		"summary": "%d rows: %d good, %d with problems (nothing was sent)"},
}

func label(l, k string) string {
	if s, ok := labels[lang(l)][k]; ok {
		return s
	}
	return k
}

func globFor(base string) string {
	ext := filepath.Ext(base)
	stem := strings.TrimSuffix(base, ext)
	// "tarefas_2024-03-05" → "tarefas*"
	cut := strings.IndexAny(stem, "0123456789_- ")
	if cut > 2 {
		stem = stem[:cut]
	}
	return strings.ToLower(stem) + "*" + strings.ToLower(ext)
}

// guessHeaderRow picks, among the first non-empty rows, the first one with
// as many non-empty text cells as the widest text row (title rows above a
// table have one or two cells).
func guessHeaderRow(rows []sheet.Row) int {
	count := func(r sheet.Row) int {
		n := 0
		for _, c := range r.Cells {
			if c.Kind == sheet.String && strings.TrimSpace(c.Value) != "" {
				n++
			}
		}
		return n
	}
	max := 0
	for _, r := range rows {
		if n := count(r); n > max {
			max = n
		}
	}
	for i, r := range rows {
		if count(r)*2 > max || count(r) == max {
			return i
		}
	}
	return 0
}
