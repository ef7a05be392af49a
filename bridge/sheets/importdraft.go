package sheets

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fieldbridge/fieldbridge/bridge/filelife"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/mapping"
	"github.com/fieldbridge/fieldbridge/mapping/sheet"
)

// A draft is a sheet dropped on the import page and not sent yet: the
// uploaded file as it came, the clerk's corrections and the rows she left
// out, and the preview of how it maps. Nothing is sent until she confirms;
// then the file (or, when corrected, a copy with the corrections) is put in
// the inbox and taken by the job like any sheet dropped in the folder: the
// same ledger records, the same exactly-once sending, the same report.
//
// A draft lives in <data>/sheets/<job>/import/<id>/: draft.json and the
// file under its own name (the mapping may be chosen by file name).
type draft struct {
	ID      string    `json:"id"`
	Inbox   string    `json:"inbox"`
	Name    string    `json:"name"`
	User    string    `json:"user"`
	Created time.Time `json:"created"`
	Size    int64     `json:"size"`
	SHA256  string    `json:"sha256"`
	// Edits are the corrected cells: row number → 0-based column → text.
	Edits map[int]map[int]string `json:"edits,omitempty"`
	// Excluded are the rows left out.
	Excluded map[int]bool `json:"excluded,omitempty"`
	Preview  preview      `json:"preview"`
	// Sent is the SHA-256 of the file put in the inbox, SentName its name
	// there; empty until the clerk confirms.
	Sent     string    `json:"sent,omitempty"`
	SentName string    `json:"sent_name,omitempty"`
	SentAt   time.Time `json:"sent_at,omitzero"`
}

// preview is what the import page shows of a draft: what `fieldbridge
// mapping check` prints, and the rows to look at.
type preview struct {
	// Error explains why the file cannot be sent at all (unreadable, fits
	// no mapping); the rest is then empty.
	Error     string            `json:"error,omitempty"`
	Mapping   string            `json:"mapping,omitempty"`
	Target    string            `json:"target,omitempty"`
	Format    string            `json:"format,omitempty"`
	HeaderRow int               `json:"header_row,omitempty"`
	Headers   []string          `json:"headers,omitempty"`
	Bindings  []mapping.Binding `json:"bindings,omitempty"`
	Unused    []int             `json:"unused,omitempty"`
	Width     int               `json:"width,omitempty"`
	Date1904  bool              `json:"date1904,omitempty"`
	// Rows counts the data rows, Bad those with problems, Problems the
	// problems.
	Rows     int `json:"rows"`
	Bad      int `json:"bad"`
	Problems int `json:"problems"`
	// Shown are the first rows and the rows with problems (up to
	// maxBadShown), in row order; Hidden counts rows with problems not
	// shown.
	Shown  []previewRow `json:"shown,omitempty"`
	Hidden int          `json:"hidden,omitempty"`
	// Already is set when the same content was already sent: its record.
	Already *ledger.File `json:"already,omitempty"`
}

// previewRow is one row of the preview: its cells as read and its problems.
type previewRow struct {
	Num      int           `json:"num"`
	Cells    []sheet.Cell  `json:"cells"`
	Problems []cellProblem `json:"problems,omitempty"`
}

// cellProblem is one problem of a row; Col is 0-based, -1 for the row as
// a whole (a fixed value, a template).
type cellProblem struct {
	Col     int    `json:"col"`
	Message string `json:"message"`
}

// Preview bounds.
const (
	firstRowsShown = 20
	maxBadShown    = 500
	draftMaxAge    = 7 * 24 * time.Hour
	sentDraftAge   = 24 * time.Hour
)

// errNoSuchDraft is a draft id that does not exist (or not in this inbox).
var errNoSuchDraft = errors.New("no such draft")

func (j *job) draftsDir() string { return filepath.Join(j.workDir(), "import") }

func (j *job) draftDir(id string) string { return filepath.Join(j.draftsDir(), id) }

func (d *draft) path(j *job) string { return filepath.Join(j.draftDir(d.ID), "file", d.Name) }

func (d *draft) edited() bool { return len(d.Edits) > 0 || len(d.Excluded) > 0 }

// loadDraft reads draft id of inbox.
func (j *job) loadDraft(id, inbox string) (*draft, error) {
	if !validDraftID(id) {
		return nil, errNoSuchDraft
	}
	b, err := os.ReadFile(filepath.Join(j.draftDir(id), "draft.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errNoSuchDraft
	}
	if err != nil {
		return nil, err
	}
	var d draft
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("draft %s: %w", id, err)
	}
	if d.Inbox != inbox {
		return nil, errNoSuchDraft
	}
	return &d, nil
}

func (j *job) saveDraft(d *draft) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return filelife.WriteFile(filepath.Join(j.draftDir(d.ID), "draft.json"), b, 0o640)
}

func validDraftID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// uploadName checks the name a browser gave an uploaded file: a plain
// name of a sheet we read, which cannot escape the draft's folder.
func uploadName(name string) (string, error) {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 { // some browsers send a path
		name = name[i+1:]
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "" || name == "." || name == "..":
		return "", errors.New("no file name")
	case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
		return "", errors.New("the file name has characters that cannot be used")
	case len(name) > 200:
		return "", errors.New("the file name is longer than 200 bytes")
	case strings.HasPrefix(name, "."):
		return "", errors.New("hidden names are not taken")
	}
	return name, nil
}

// newDraft stores an uploaded file (read from r, at most max bytes) as a
// draft and makes its preview. An upload larger than max is an error
// wrapping errTooLarge, and nothing is kept.
func (j *job) newDraft(ctx context.Context, in *Inbox, user, lang, name string, r io.Reader, max int64) (*draft, error) {
	j.sweepDrafts()
	b := make([]byte, 16)
	rand.Read(b)
	d := &draft{ID: hex.EncodeToString(b), Inbox: in.displayName(), Name: name, User: user, Created: time.Now()}
	dir := filepath.Join(j.draftDir(d.ID), "file")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(j.draftDir(d.ID))
		}
	}()
	f, err := filelife.Create(d.path(j))
	if err != nil {
		return nil, err
	}
	defer f.Abort()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("receiving the file: %w", err)
	}
	if n > max {
		return nil, errTooLarge
	}
	if err := f.Commit(); err != nil {
		return nil, err
	}
	d.Size, d.SHA256 = n, hex.EncodeToString(h.Sum(nil))
	d.Preview = j.makePreview(ctx, in, d, lang)
	if err := j.saveDraft(d); err != nil {
		return nil, err
	}
	ok = true
	return d, nil
}

var errTooLarge = errors.New("file too large")

// sweepDrafts removes drafts older than a week and sent ones older than a
// day.
func (j *job) sweepDrafts() {
	entries, err := os.ReadDir(j.draftsDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		if !validDraftID(e.Name()) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		age := time.Since(fi.ModTime())
		if age > draftMaxAge {
			os.RemoveAll(filepath.Join(j.draftsDir(), e.Name()))
			continue
		}
		if age > sentDraftAge {
			if b, err := os.ReadFile(filepath.Join(j.draftsDir(), e.Name(), "draft.json")); err == nil {
				var d draft
				if json.Unmarshal(b, &d) == nil && d.Sent != "" {
					os.RemoveAll(filepath.Join(j.draftsDir(), e.Name()))
				}
			}
		}
	}
}

// openMapping chooses the draft's mapping the way a run will choose it for
// the same file in the inbox.
func (j *job) openMapping(in *Inbox, d *draft) (*mapping.Mapping, error) {
	set, err := mapping.LoadDir(j.opts.Mappings)
	if err != nil {
		return nil, fmt.Errorf("mappings folder %s: %w", j.opts.Mappings, err)
	}
	return set.Choose(d.path(j), in.Mapping, j.mappingOptions())
}

// makePreview reads the whole draft once, streaming: every row is mapped
// and checked with the engine the run uses; the first rows and the rows
// with problems are kept. Messages are in lang, the clerk's language.
func (j *job) makePreview(ctx context.Context, in *Inbox, d *draft, lang string) preview {
	var p preview
	if prev, err := j.ledgerOf().FileBySHA256(ctx, j.name, d.SHA256, ledger.FileDone); err == nil {
		p.Already = &prev
	}
	m, err := j.openMapping(in, d)
	if err != nil {
		p.Error = explainIn(d.Name, err, lang)
		return p
	}
	r, err := mapping.Open(d.path(j), m, j.mappingOptions())
	if err != nil {
		p.Error = explainIn(d.Name, err, lang)
		return p
	}
	defer r.Close()
	p.Mapping, p.Target, p.HeaderRow, p.Date1904 = m.Name, m.Target, r.HeaderRow(), r.File.Date1904()
	p.Headers = slices.Clone(r.Headers())
	p.Bindings = r.Bindings(lang)
	p.Unused = r.Unused()
	p.Format = r.File.Format.String()
	if r.File.CSV != nil {
		p.Format = fmt.Sprintf("CSV, %s, %q", r.File.CSV.Encoding, string(r.File.CSV.Delimiter))
	} else if idx, err := r.File.SheetIndex(string(m.Sheet)); err == nil {
		p.Format += ", " + r.File.Sheets[idx]
	}
	cols := columnsOf(p.Bindings)
	numbers := newTaskNumberer(j.opts.TaskNumberFrom)
	for r.Next() {
		p.Rows++
		probs := cellProblems(r.Problems(), lang)
		if len(probs) == 0 {
			if err := j.convert(m, r.Values(), r.Record, numbers); err != nil {
				probs = fieldProblem(err, cols)
			}
		}
		if len(probs) > 0 {
			p.Bad++
			p.Problems += len(probs)
		}
		if p.Rows <= firstRowsShown || (len(probs) > 0 && p.Bad <= maxBadShown) {
			row := r.Row()
			p.Shown = append(p.Shown, previewRow{Num: row.Num, Cells: slices.Clone(row.Cells), Problems: probs})
		} else if len(probs) > 0 {
			p.Hidden++
		}
		if p.Rows%4096 == 0 && ctx.Err() != nil {
			break
		}
	}
	p.Width = r.Width()
	if err := r.Err(); err != nil {
		p.Error = explainIn(d.Name, err, lang)
	}
	return p
}

// convert turns a mapped row into the task or point of interest that
// would be sent, to find what OfficeTrack's fields refuse.
func (j *job) convert(m *mapping.Mapping, vals iter.Seq2[string, mapping.Value], record func() mapping.Record, numbers *taskNumberer) error {
	if m.Target == mapping.TargetPOI {
		_, err := poiFromValues(vals)
		return err
	}
	_, err := taskFromValues(vals, record, numbers)
	return err
}

// columnsOf maps each field to the column it reads (-1: none).
func columnsOf(bs []mapping.Binding) map[string]int {
	out := map[string]int{}
	for _, b := range bs {
		out[b.Field] = b.Col
	}
	return out
}

func cellProblems(probs []mapping.Problem, lang string) []cellProblem {
	var out []cellProblem
	for _, p := range probs {
		out = append(out, cellProblem{Col: p.Col - 1, Message: p.Message(lang)})
	}
	return out
}

func fieldProblem(err error, cols map[string]int) []cellProblem {
	col := -1
	var fe *fieldError
	if errors.As(err, &fe) {
		if c, ok := cols[fe.Field]; ok {
			col = c
		}
	}
	return []cellProblem{{Col: col, Message: err.Error()}}
}

// shownRow returns the index in Preview.Shown of row num.
func (d *draft) shownRow(num int) (int, bool) {
	return slices.BinarySearchFunc(d.Preview.Shown, num, func(r previewRow, n int) int { return r.Num - n })
}

// rowWithEdits is a shown row with the clerk's corrections applied.
func (d *draft) rowWithEdits(i int) sheet.Row {
	pr := d.Preview.Shown[i]
	row := sheet.Row{Num: pr.Num, Cells: slices.Clone(pr.Cells)}
	applyEdits(&row, d.Edits[pr.Num])
	return row
}

func applyEdits(row *sheet.Row, edits map[int]string) {
	for col, text := range edits {
		for len(row.Cells) <= col {
			row.Cells = append(row.Cells, sheet.Cell{})
		}
		kind := sheet.String
		if text == "" {
			kind = sheet.Empty
		}
		row.Cells[col] = sheet.Cell{Value: text, Kind: kind}
	}
}

// editCell records a correction of row num, column col (0-based), and
// checks the row again with the same engine; it returns the row's new
// problems. Only shown rows can be corrected.
func (j *job) editCell(in *Inbox, d *draft, num, col int, text, lang string) ([]cellProblem, error) {
	i, ok := d.shownRow(num)
	if !ok {
		return nil, fmt.Errorf("row %d is not on the page", num)
	}
	if col < 0 || col >= max(len(d.Preview.Headers), d.Preview.Width) {
		return nil, fmt.Errorf("column %d is not in the sheet", col+1)
	}
	if utf8.RuneCountInString(text) > sheet.DefaultOptions().MaxCellLen {
		return nil, fmt.Errorf("the text is longer than a cell may be")
	}
	orig := d.Preview.Shown[i].Cells
	if col < len(orig) && mapping.CellText(orig[col], d.Preview.Date1904) == text {
		delete(d.Edits[num], col) // back to what the sheet says
		if len(d.Edits[num]) == 0 {
			delete(d.Edits, num)
		}
	} else {
		if d.Edits == nil {
			d.Edits = map[int]map[int]string{}
		}
		if d.Edits[num] == nil {
			d.Edits[num] = map[int]string{}
		}
		d.Edits[num][col] = text
	}
	return j.recheck(in, d, i, lang)
}

// recheck maps shown row i again (with its corrections) and updates the
// preview's counts.
func (j *job) recheck(in *Inbox, d *draft, i int, lang string) ([]cellProblem, error) {
	m, err := j.openMapping(in, d)
	if err != nil {
		return nil, err
	}
	row := d.rowWithEdits(i)
	rec, probs, err := m.MapSheetRow(row, d.Preview.Headers, d.Preview.Date1904)
	if err != nil {
		return nil, err
	}
	cps := cellProblems(probs, lang)
	if len(cps) == 0 {
		if err := j.convert(m, maps.All(rec.Fields), func() mapping.Record { return rec }, newTaskNumberer(j.opts.TaskNumberFrom)); err != nil {
			cps = fieldProblem(err, columnsOf(d.Preview.Bindings))
		}
	}
	pr := &d.Preview.Shown[i]
	if len(pr.Problems) > 0 && !d.Excluded[pr.Num] {
		d.Preview.Bad--
		d.Preview.Problems -= len(pr.Problems)
	}
	pr.Problems = cps
	if len(cps) > 0 && !d.Excluded[pr.Num] {
		d.Preview.Bad++
		d.Preview.Problems += len(cps)
	}
	return cps, nil
}

// exclude leaves row num out (or takes it back in).
func (d *draft) exclude(num int, out bool) error {
	i, ok := d.shownRow(num)
	if !ok {
		return fmt.Errorf("row %d is not on the page", num)
	}
	if d.Excluded[num] == out {
		return nil
	}
	if d.Excluded == nil {
		d.Excluded = map[int]bool{}
	}
	pr := d.Preview.Shown[i]
	sign := 1
	if out {
		d.Excluded[num] = true
		sign = -1
	} else {
		delete(d.Excluded, num)
	}
	if len(pr.Problems) > 0 {
		d.Preview.Bad += sign
		d.Preview.Problems += sign * len(pr.Problems)
	}
	return nil
}

// place puts the draft in the inbox: the uploaded bytes as they came
// (then the same file dropped in the folder is the same file to the
// ledger), or, when the clerk corrected cells or left rows out, a copy
// of the sheet with the corrections, in the same format, under the same
// name. The file is written under a hidden temporary name and renamed, and
// the run is told it is whole. It returns the placed file's SHA-256.
func (j *job) place(ctx context.Context, in *Inbox, d *draft) (string, error) {
	if d.Sent != "" {
		return d.Sent, nil
	}
	name, err := freeName(in.Path, d.Name)
	if err != nil {
		return "", err
	}
	f, err := filelife.Create(filepath.Join(in.Path, name))
	if err != nil {
		return "", fmt.Errorf("inbox %s: %w", in.Path, err)
	}
	defer f.Abort()
	h := sha256.New()
	w := io.MultiWriter(f, h)
	if !d.edited() {
		src, err := os.Open(d.path(j))
		if err != nil {
			return "", err
		}
		_, err = io.Copy(w, src)
		src.Close()
		if err != nil {
			return "", err
		}
	} else if err := j.writeCorrected(w, in, d); err != nil {
		return "", err
	}
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	sha := hex.EncodeToString(h.Sum(nil))
	// Recorded before the file appears: a crash after the rename leaves a
	// draft that knows where its file went (sending it again would only
	// find the same content, a duplicate).
	d.Sent, d.SentName, d.SentAt = sha, name, time.Now()
	if err := j.saveDraft(d); err != nil {
		return "", err
	}
	j.placed.add(in.source(), name, fi.Size())
	if err := f.Commit(); err != nil {
		d.Sent, d.SentName = "", ""
		j.saveDraft(d)
		return "", fmt.Errorf("inbox %s: %w", in.Path, err)
	}
	if j.opts.DoneMarker != "" {
		if err := filelife.WriteFile(filepath.Join(in.Path, name+j.opts.DoneMarker), nil, 0o640); err != nil {
			return "", err
		}
	}
	j.env.Trigger("import page: " + name)
	return sha, nil
}

// writeCorrected writes the draft's sheet with the corrections applied and
// the rows left out emptied (so that row numbers stay those the clerk
// saw), streaming the source.
func (j *job) writeCorrected(w io.Writer, in *Inbox, d *draft) error {
	m, err := j.openMapping(in, d)
	if err != nil {
		return err
	}
	src, err := sheet.Open(d.path(j), j.mappingOptions().Sheet)
	if err != nil {
		return err
	}
	defer src.Close()
	cols := max(d.Preview.Width, len(d.Preview.Headers))
	for _, e := range d.Edits {
		for c := range e {
			cols = max(cols, c+1)
		}
	}
	_, err = mapping.WriteReport(w, mapping.ReportSpec{
		Source: src, Sheet: string(m.Sheet), HeaderRow: d.Preview.HeaderRow, Columns: cols, Plain: true,
		Rewrite: func(row *sheet.Row) {
			if d.Excluded[row.Num] {
				row.Cells = nil
				return
			}
			if e := d.Edits[row.Num]; len(e) > 0 {
				row.Cells = slices.Clone(row.Cells)
				applyEdits(row, e)
			}
		},
	})
	return err
}

// freeName returns name, or "name (2).ext"…, free in the inbox and its
// processing folder.
func freeName(inbox, name string) (string, error) {
	for i := 1; i < 1000; i++ {
		n := filelife.SuffixName(name, i)
		_, err1 := os.Lstat(filepath.Join(inbox, n))
		_, err2 := os.Lstat(filepath.Join(inbox, dirProcessing, n))
		if errors.Is(err1, os.ErrNotExist) && errors.Is(err2, os.ErrNotExist) {
			return n, nil
		}
	}
	return "", fmt.Errorf("inbox %s: no free name for %s", inbox, name)
}

// drafts lists the drafts of inbox, newest first.
func (j *job) listDrafts(inbox string) []*draft {
	entries, err := os.ReadDir(j.draftsDir())
	if err != nil {
		return nil
	}
	var out []*draft
	for _, e := range entries {
		if d, err := j.loadDraft(e.Name(), inbox); err == nil {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b *draft) int { return b.Created.Compare(a.Created) })
	return out
}
