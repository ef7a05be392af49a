package mapping

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/fieldbridge/fieldbridge/mapping/sheet"
)

// DefaultDraftThreshold is the confidence from which Draft writes a field;
// a weaker guess is left as a TODO comment.
const DefaultDraftThreshold = 0.6

// DraftOptions tune Draft and Suggest.
type DraftOptions struct {
	// Target is the target to draft for; "" suggests one from the columns.
	Target string
	// Sheet is the sheet to read (default the first).
	Sheet string
	// Name is the mapping's name (default from the file name).
	Name string
	// Limits bound the file read.
	Limits sheet.Options
	// Synonyms are the header tables (default DefaultSynonyms).
	Synonyms *Synonyms
	// Threshold is the confidence from which a field is written
	// (default DefaultDraftThreshold); weaker guesses above 0.3 are TODOs.
	Threshold float64
}

// Suggestion is one field guessed for one column.
type Suggestion struct {
	Field      string
	Column     int // 0-based
	Header     string
	Confidence float64 // 0..1
	Evidence   string  // why, in English
}

// DraftResult is what Suggest found in a sheet.
type DraftResult struct {
	Target       string
	TargetReason string // why this target, when it was suggested
	HeaderRow    int
	Headers      []string
	Fields       []Suggestion // confident enough to write, by column
	Todo         []Suggestion // guesses below the threshold, by column
}

// fieldsNotGuessed are never drafted: custom data and flags a person sets.
var fieldsNotGuessed = map[string]bool{"Options": true, "GeocodeAddress.UseIfPartiallyResolved": true, "pointData": true, "isParent": true}

// targetFields are the fields that tell one target from the other.
var targetFields = map[string][]string{
	TargetTask: {"TaskNumber", "DueDateTime", "EmployeeNumber", "TaskTypeCode", "WorkOrderNumber", "Duration", "Status", "Description", "ExternalCreationDate"},
	TargetPOI:  {"name", "customerNumber", "type", "parentPoi", "fax"},
}

// Suggest reads the first rows of a sheet, finds its header row and
// guesses each column's field from its header (synonyms in every
// language, abbreviations, plural forms) and its values (dates, phone
// numbers, postal codes, coordinates, e-mail addresses …), for the target
// asked or, with none, for the target the columns fit best.
func Suggest(f *sheet.File, opts DraftOptions) (*DraftResult, error) {
	syn := opts.Synonyms
	if syn == nil {
		var err error
		if syn, err = DefaultSynonyms(); err != nil {
			return nil, err
		}
	}
	thr := opts.Threshold
	if thr <= 0 {
		thr = DefaultDraftThreshold
	}
	rows, err := f.Rows(opts.Sheet)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var buf []sheet.Row
	for len(buf) < 80 && rows.Next() {
		if !rows.Row().Empty() {
			buf = append(buf, copyRow(rows.Row()))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(buf) == 0 {
		return nil, &FileError{File: f.Path, key: mNoRows}
	}
	hi := guessHeaderRow(buf)
	hdr := buf[hi]
	samples := buf[hi+1:]
	res := &DraftResult{HeaderRow: hdr.Num}
	for _, c := range hdr.Cells {
		res.Headers = append(res.Headers, strings.TrimSpace(cellText(c, f.Date1904())))
	}
	profiles := make([]profile, len(res.Headers))
	for i := range profiles {
		profiles[i] = profileColumn(i, samples, f.Date1904())
	}
	targets := Targets()
	if opts.Target != "" {
		t := targets[opts.Target]
		if t == nil {
			return nil, fmt.Errorf("unknown target %q; use one of %s", opts.Target, strings.Join(TargetNames(), ", "))
		}
		res.Target = t.Name
		res.Fields, res.Todo = assign(t, syn, res.Headers, profiles, thr)
		return res, nil
	}
	score := map[string]float64{}
	var why = map[string][]string{}
	results := map[string][2][]Suggestion{}
	for _, name := range []string{TargetTask, TargetPOI} {
		fields, todo := assign(targets[name], syn, res.Headers, profiles, thr)
		results[name] = [2][]Suggestion{fields, todo}
		for _, s := range fields {
			for _, k := range targetFields[name] {
				if s.Field == k {
					score[name] += s.Confidence
					why[name] = append(why[name], fmt.Sprintf("%q (%s)", s.Header, s.Field))
				}
			}
		}
	}
	res.Target = TargetTask
	if score[TargetPOI] > score[TargetTask] {
		res.Target = TargetPOI
	}
	if len(why[res.Target]) > 0 {
		res.TargetReason = "columns " + strings.Join(why[res.Target], ", ")
	} else {
		res.TargetReason = "no column names a field of either target; tasks are the default"
	}
	res.Fields, res.Todo = results[res.Target][0], results[res.Target][1]
	return res, nil
}

// candidate is one (column, field) pairing and its score.
type candidate struct {
	col      int
	field    string
	score    float64
	evidence string
}

// assign pairs columns with fields, best score first, each column and
// each field at most once ("Location" excludes "Location.X"/"Location.Y").
// A column whose best two fields score alike is ambiguous: its confidence
// drops.
func assign(t *Target, syn *Synonyms, headers []string, profiles []profile, thr float64) (fields, todo []Suggestion) {
	words := make([][]string, len(headers))
	for i, h := range headers {
		words[i] = headerWords(h)
	}
	weight := languageWeights(t, syn, words)
	var cands []candidate
	for col, w := range words {
		if len(w) == 0 {
			continue
		}
		best := 0.0
		for _, f := range t.Fields {
			if fieldsNotGuessed[f.Name] || isCustomData(f.Name) {
				continue
			}
			hm := syn.match(t.Name, f.Name, w, weight)
			if hm.score < 0.3 {
				continue
			}
			factor, ev := profiles[col].fit(f)
			sc := min(1, hm.score*factor)
			e := fmt.Sprintf("header like %q (%s)", hm.text, hm.lang)
			if ev != "" {
				e += "; " + ev
			}
			cands = append(cands, candidate{col, f.Name, sc, e})
			best = max(best, sc)
		}
		if best < 0.35 {
			for _, g := range guessFromData(t, profiles[col]) {
				cands = append(cands, candidate{col, g.field, g.score, "header unknown; " + g.evidence})
			}
		}
	}
	sort.SliceStable(cands, func(a, b int) bool {
		if cands[a].score != cands[b].score {
			return cands[a].score > cands[b].score
		}
		return cands[a].col < cands[b].col
	})
	usedCol := map[int]bool{}
	usedField := map[string]bool{}
	free := func(field string) bool {
		if usedField[field] {
			return false
		}
		switch field {
		case "Location":
			return !usedField["Location.X"] && !usedField["Location.Y"]
		case "Location.X", "Location.Y":
			return !usedField["Location"]
		}
		return true
	}
	for _, c := range cands {
		if usedCol[c.col] || !free(c.field) {
			continue
		}
		conf, ev := c.score, c.evidence
		// The best other free field for this column, and the best other
		// column for this field.
		for _, o := range cands {
			if o.score < c.score-0.08 {
				break
			}
			rival := o.col == c.col && o.field != c.field && free(o.field) ||
				o.field == c.field && o.col != c.col && !usedCol[o.col]
			if !rival {
				continue
			}
			if o.col == c.col {
				ev += fmt.Sprintf("; could also be %s", o.field)
			} else {
				ev += fmt.Sprintf("; column %s %q could also be it", sheet.ColumnName(o.col+1), headers[o.col])
			}
			if c.score-o.score < 0.02 {
				conf *= 0.55
			} else {
				conf *= 0.8
			}
			break
		}
		s := Suggestion{Field: c.field, Column: c.col, Header: headers[c.col], Confidence: conf, Evidence: ev}
		if conf < thr {
			if conf >= 0.3 {
				todo = append(todo, s)
			}
			continue
		}
		usedCol[c.col] = true
		usedField[c.field] = true
		fields = append(fields, s)
	}
	// A sheet's only phone is its first phone.
	for _, pair := range [][2]string{{"Phone1", "Phone2"}, {"phone1", "phone2"}} {
		if usedField[pair[1]] && !usedField[pair[0]] {
			for i := range fields {
				if fields[i].Field == pair[1] {
					fields[i].Field = pair[0]
					fields[i].Evidence += "; the only phone column"
				}
			}
			usedField[pair[0]], usedField[pair[1]] = true, false
		}
	}
	// A TODO for a column or a field that was mapped after all is noise.
	kept := todo[:0]
	seen := map[int]bool{}
	for _, s := range todo {
		if !usedCol[s.Column] && free(s.Field) && !seen[s.Column] {
			seen[s.Column] = true
			kept = append(kept, s)
		}
	}
	todo = kept
	byCol := func(s []Suggestion) { sort.Slice(s, func(a, b int) bool { return s[a].Column < s[b].Column }) }
	byCol(fields)
	byCol(todo)
	return fields, todo
}

// languageWeights weights each language by how many headers are, word
// for word, one of its synonyms: the sheet's own language counts fully,
// the others a little less (so "Estado" is a status in a Spanish sheet
// and a state in a Brazilian one).
func languageWeights(t *Target, syn *Synonyms, words [][]string) func(string) float64 {
	hits := map[string]int{}
	bestHits := 0
	for _, l := range syn.langs {
		for _, w := range words {
			if len(w) == 0 {
				continue
			}
			for _, syns := range l.fields[t.Name] {
				found := false
				for _, s := range syns {
					if phraseScore(w, s.words) == 1 || (l.expand(w) != nil && phraseScore(l.expand(w), s.words) == 1) {
						found = true
						break
					}
				}
				if found {
					hits[l.name]++
					break
				}
			}
		}
		bestHits = max(bestHits, hits[l.name])
	}
	return func(l string) float64 {
		if bestHits == 0 || hits[l] == bestHits {
			return 1
		}
		return 0.93
	}
}

// Draft writes to w a draft mapping (TOML) for the file at path: its
// header row, the target suggested from the columns (or the one asked),
// and each column's field with its evidence and confidence as a comment.
// Guesses below the threshold are TODO comments, not mappings; required
// fields left to complete are TODOs too. The draft is meant to be
// checked; LoadFile tells what is still missing.
func Draft(w io.Writer, path string, opts DraftOptions) error {
	f, err := sheet.Open(path, opts.Limits)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := Suggest(f, opts)
	if err != nil {
		return err
	}
	t := Targets()[res.Target]
	name := opts.Name
	base := filepath.Base(path)
	if name == "" {
		name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	fmt.Fprintf(w, "# Draft mapping written by `fieldbridge mapping init %s`.\n", base)
	fmt.Fprintf(w, "# Check every field, complete the TODOs, then try it with\n#   fieldbridge mapping check -mapping %s %s\n", name, base)
	fmt.Fprintf(w, "name = %q\n", name)
	if res.TargetReason != "" {
		fmt.Fprintf(w, "target = %q  # suggested by %s; -target chooses\n", t.Name, res.TargetReason)
	} else {
		fmt.Fprintf(w, "target = %q\n", t.Name)
	}
	fmt.Fprintf(w, "files = [%q]\n", globFor(base))
	if opts.Sheet != "" {
		fmt.Fprintf(w, "sheet = %q\n", opts.Sheet)
	} else if f.Format != sheet.FormatCSV {
		fmt.Fprintf(w, "sheet = %q  # workbooks only; a CSV of the same data is read too\n", f.Sheets[0])
	}
	if res.HeaderRow != 1 {
		fmt.Fprintf(w, "header_row = %d  # found automatically when left out\n", res.HeaderRow)
	}
	fmt.Fprintf(w, "timezone = %q\ndate_format = %q\n", DefaultTimezone, DefaultDateFormat)
	mapped := map[string]bool{}
	for _, s := range res.Fields {
		mapped[s.Field] = true
		tf, _ := t.Field(s.Field)
		fmt.Fprintf(w, "\n[fields.%s]  # %s %q, %s: %s; confidence %.2f\ncolumn = %q\n",
			quoteKey(s.Field), sheet.ColumnName(s.Column+1), s.Header, tf.Type, s.Evidence, s.Confidence, s.Header)
	}
	for _, tf := range t.Fields {
		if tf.Required && !mapped[tf.Name] {
			fmt.Fprintf(w, "\n[fields.%s]  # TODO: required (%s); name its column\ncolumn = \"\"\n", quoteKey(tf.Name), tf.Type)
		}
	}
	if len(res.Todo) > 0 {
		thr := opts.Threshold
		if thr <= 0 {
			thr = DefaultDraftThreshold
		}
		fmt.Fprintf(w, "\n# TODO: guesses below confidence %.2f; uncomment the ones that are right.\n", thr)
		for _, s := range res.Todo {
			fmt.Fprintf(w, "# [fields.%s]  # %s %q: %s; confidence %.2f\n# column = %q\n",
				quoteKey(s.Field), sheet.ColumnName(s.Column+1), s.Header, s.Evidence, s.Confidence, s.Header)
		}
	}
	used := map[int]bool{}
	for _, s := range res.Fields {
		used[s.Column] = true
	}
	var rest []string
	for i, h := range res.Headers {
		if !used[i] && h != "" {
			rest = append(rest, fmt.Sprintf("#   %s %q", sheet.ColumnName(i+1), h))
		}
	}
	if len(rest) > 0 {
		fmt.Fprintf(w, "\n# Columns not mapped (map them to a field, e.g. a custom Data1..Data30):\n%s\n", strings.Join(rest, "\n"))
	}
	return nil
}

// isCustomData reports whether a field is one of Data1..Data30 (data1..data30).
func isCustomData(name string) bool {
	rest, ok := strings.CutPrefix(strings.ToLower(name), "data")
	if !ok || rest == "" {
		return false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
