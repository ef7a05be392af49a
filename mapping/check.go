package mapping

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

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
		fmt.Fprintf(w, "  %-34s ← %s\n", b.f.name, src)
	}
	var unused []string
	used := map[int]bool{}
	for _, b := range r.bound {
		used[b.col], used[b.col2] = true, true
		for _, c := range b.tcol {
			used[c] = true
		}
	}
	for i, h := range r.headers {
		if h != "" && !used[i] {
			unused = append(unused, fmt.Sprintf("%s %q", sheet.ColumnName(i+1), h))
		}
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

// DraftOptions tune Draft.
type DraftOptions struct {
	// Target is the target to draft for (default officetrack-task).
	Target string
	// Sheet is the sheet to read (default the first).
	Sheet string
	// Name is the mapping's name (default from the file name).
	Name string
	// Limits bound the file read.
	Limits sheet.Options
}

// Draft writes to w a draft mapping (TOML) for the file at path: its
// header row found among the first rows, each header matched to the most
// similar target field, required fields left to complete. The draft is
// meant to be edited; LoadFile tells what is still missing.
func Draft(w io.Writer, path string, opts DraftOptions) error {
	if opts.Target == "" {
		opts.Target = TargetTask
	}
	t := Targets()[opts.Target]
	if t == nil {
		return fmt.Errorf("unknown target %q; use one of %s", opts.Target, strings.Join(TargetNames(), ", "))
	}
	f, err := sheet.Open(path, opts.Limits)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := f.Rows(opts.Sheet)
	if err != nil {
		return err
	}
	defer rows.Close()
	var buf []sheet.Row
	for len(buf) < 30 && rows.Next() {
		if !rows.Row().Empty() {
			buf = append(buf, copyRow(rows.Row()))
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(buf) == 0 {
		return errors.New("the sheet has no rows")
	}
	hi := guessHeaderRow(buf)
	hdr := buf[hi]
	samples := buf[hi+1:]
	name := opts.Name
	base := filepath.Base(path)
	ext := filepath.Ext(base)
	if name == "" {
		name = strings.TrimSuffix(base, ext)
	}
	headers := make([]string, len(hdr.Cells))
	for i, c := range hdr.Cells {
		headers[i] = strings.TrimSpace(c.Value)
	}
	assign := guessFields(t, headers, samples)
	fmt.Fprintf(w, "# Draft mapping written by `fieldbridge mapping init %s`.\n", base)
	fmt.Fprintf(w, "# Check every field, complete the TODOs, then try it with\n#   fieldbridge mapping check -mapping %s %s\n", name, base)
	fmt.Fprintf(w, "name = %q\ntarget = %q\n", name, t.Name)
	fmt.Fprintf(w, "files = [%q]\n", globFor(base))
	if opts.Sheet != "" {
		fmt.Fprintf(w, "sheet = %q\n", opts.Sheet)
	} else if f.Format != sheet.FormatCSV {
		fmt.Fprintf(w, "sheet = %q\n", f.Sheets[0])
	}
	if hdr.Num != 1 {
		fmt.Fprintf(w, "header_row = %d  # found automatically when left out\n", hdr.Num)
	}
	fmt.Fprintf(w, "timezone = %q\ndate_format = %q\n", DefaultTimezone, DefaultDateFormat)
	mapped := map[string]bool{}
	for i, h := range headers {
		fname, ok := assign[i]
		if !ok || h == "" {
			continue
		}
		mapped[fname] = true
		tf, _ := t.Field(fname)
		fmt.Fprintf(w, "\n[fields.%s]  # %s, %s\ncolumn = %q\n", quoteKey(fname), sheet.ColumnName(i+1), tf.Type, h)
	}
	for _, tf := range t.Fields {
		if tf.Required && !mapped[tf.Name] && !(tf.Type == Lat || tf.Type == Lng) {
			fmt.Fprintf(w, "\n[fields.%s]  # TODO: required (%s); name its column\ncolumn = \"\"\n", quoteKey(tf.Name), tf.Type)
		}
	}
	var rest []string
	for i, h := range headers {
		if _, ok := assign[i]; !ok && h != "" {
			rest = append(rest, fmt.Sprintf("#   %s %q", sheet.ColumnName(i+1), h))
		}
	}
	if len(rest) > 0 {
		fmt.Fprintf(w, "\n# Columns not mapped (map them to a field, e.g. a custom Data1..Data30):\n%s\n", strings.Join(rest, "\n"))
	}
	return nil
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

// guessFields assigns headers (by index) to target fields by similarity of
// words, each field at most once.
func guessFields(t *Target, headers []string, samples []sheet.Row) map[int]string {
	type cand struct {
		col   int
		field string
		score int
	}
	var cands []cand
	for i, h := range headers {
		hn := NormalizeHeader(h)
		if hn == "" {
			continue
		}
		hw := headerWords(h)
		for _, f := range t.Fields {
			best := 0
			names := append([]string{f.Name, strings.ReplaceAll(f.Name, ".", " ")}, f.Hints...)
			for _, hint := range names {
				nn := NormalizeHeader(hint)
				switch {
				case nn == hn:
					best = max(best, 100)
				case len(nn) >= 3 && strings.Contains(hn, nn):
					best = max(best, 40+len(nn))
				default:
					common := 0
					for _, a := range headerWords(hint) {
						for _, b := range hw {
							if a == b && len(a) > 1 {
								common++
							}
						}
					}
					if common > 0 {
						best = max(best, 20*common)
					}
				}
			}
			if best > 0 {
				best += typeFit(f.Type, i, samples)
				cands = append(cands, cand{i, f.Name, best})
			}
		}
	}
	sort.SliceStable(cands, func(a, b int) bool { return cands[a].score > cands[b].score })
	out := map[int]string{}
	used := map[string]bool{}
	for _, c := range cands {
		if _, ok := out[c.col]; ok || used[c.field] {
			continue
		}
		tf, _ := t.Field(c.field)
		if tf.Type == LatLng {
			used[tf.Pair[0]], used[tf.Pair[1]] = true, true
		}
		if (tf.Type == Lat || tf.Type == Lng) && used["Location"] {
			continue
		}
		if tf.Type == Lat || tf.Type == Lng {
			used["Location"] = true
		}
		out[c.col] = c.field
		used[c.field] = true
	}
	return out
}

// typeFit rewards a field whose type parses the column's sample values.
func typeFit(tp Type, col int, samples []sheet.Row) int {
	ok, n := 0, 0
	for _, r := range samples {
		c := r.Cell(col)
		if strings.TrimSpace(c.Value) == "" {
			continue
		}
		n++
		var err error
		switch tp {
		case Integer:
			_, err = ParseInteger(cellText(c, false))
		case Date, DateTime:
			if c.Kind != sheet.Date {
				_, err = ParseDateText(c.Value, time.UTC, false)
			}
		case LatLng:
			_, _, err = ParseLatLng(c.Value)
		case Lat:
			_, err = ParseCoordinate(cellText(c, false), true)
		case Lng:
			_, err = ParseCoordinate(cellText(c, false), false)
		case Phone:
			_, err = ParsePhone(cellText(c, false))
		case Email:
			err = CheckEmail(c.Value)
		default:
			continue
		}
		if err == nil {
			ok++
		}
	}
	if n == 0 {
		return 0
	}
	if ok == n {
		return 10
	}
	return -10
}
