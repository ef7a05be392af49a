package sheets

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/filelife"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/bridge/web"
	"github.com/fieldbridge/fieldbridge/mapping"
	"github.com/fieldbridge/fieldbridge/mapping/sheet"
)

// The import pages of a job's local inboxes, under /import/<job>/<inbox>/:
//
//	GET  …/                  the inbox: drop a sheet, and every sheet of the inbox (My files)
//	POST …/upload            a sheet dropped on the page (multipart, streamed to a draft)
//	GET  …/d/<id>/           the draft's preview: mapping, header row, rows, problems
//	POST …/d/<id>/cell       a corrected cell (row, col, value); answers the row's problems
//	POST …/d/<id>/exclude    a row left out (row, excluded=1|0)
//	POST …/d/<id>/send       confirm: the sheet goes to the inbox
//	POST …/d/<id>/discard    drop the draft
//	GET  …/f/<sha256>/       a sheet of the inbox, row by row as it is sent
//	GET  …/f/<sha256>/events the same, as Server-Sent Events
//	GET  …/f/<sha256>/report its result report
//
// Every route needs a signed-in user allowed this inbox (bridge.Route
// Users); forms carry the session's CSRF token.

//go:embed pages/*.html
var pageFiles embed.FS

var pageFuncs = template.FuncMap{
	"cell": func(c sheet.Cell, date1904 bool) string { return mapping.CellText(c, date1904) },
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Local().Format("02/01/2006 15:04")
	},
	"path": url.PathEscape,
}

func pageTemplate(name string) *template.Template {
	b, err := pageFiles.ReadFile("pages/" + name)
	if err != nil {
		panic(err)
	}
	return web.Parse(name, string(b), pageFuncs)
}

// importPages holds the parsed templates.
type importPages struct {
	inbox, draft, file *template.Template
}

func newImportPages() *importPages {
	return &importPages{inbox: pageTemplate("inbox.html"), draft: pageTemplate("draft.html"), file: pageTemplate("file.html")}
}

// ImportInboxes lists the local inboxes, which have import pages
// (bridge.Importer).
func (j *job) ImportInboxes() []bridge.ImportInbox {
	var out []bridge.ImportInbox
	for i := range j.opts.Inboxes {
		if in := &j.opts.Inboxes[i]; !in.remote() {
			out = append(out, bridge.ImportInbox{Name: in.displayName(), Where: in.Path})
		}
	}
	return out
}

// Routes are the import pages (bridge.Handler).
func (j *job) Routes() []bridge.Route {
	if len(j.ImportInboxes()) == 0 {
		return nil
	}
	base := "/import/" + j.name + "/{inbox}/"
	upload := sheet.DefaultOptions().MaxFileSize + 1<<20 // the form's own bytes
	route := func(pattern string, h http.HandlerFunc) bridge.Route {
		return bridge.Route{Pattern: pattern, Handler: j.inboxOnly(h), Users: true}
	}
	rs := []bridge.Route{
		route("GET "+base+"{$}", j.pageInbox),
		route("POST "+base+"upload", j.postUpload),
		route("GET "+base+"d/{id}/{$}", j.pageDraft),
		route("POST "+base+"d/{id}/cell", j.postCell),
		route("POST "+base+"d/{id}/exclude", j.postExclude),
		route("POST "+base+"d/{id}/send", j.postSend),
		route("POST "+base+"d/{id}/discard", j.postDiscard),
		route("GET "+base+"f/{sha}/{$}", j.pageFile),
		route("GET "+base+"f/{sha}/events", j.fileEvents),
		route("GET "+base+"f/{sha}/report", j.fileReport),
	}
	rs[1].MaxBody = upload
	return rs
}

var (
	_ bridge.Handler  = (*job)(nil)
	_ bridge.Importer = (*job)(nil)
)

type inboxKey struct{}

// inboxOnly finds the inbox of the request and checks that the user may
// use it.
func (j *job) inboxOnly(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in := j.localInbox(r.PathValue("inbox"))
		if in == nil {
			j.pageError(w, r, http.StatusNotFound, "not_found")
			return
		}
		u, _ := bridge.UserFrom(r.Context())
		if !u.CanImport(j.name, in.displayName()) {
			j.log.Warn("import page refused: inbox not given to the user", "user", u.Name, "inbox", in.displayName())
			j.pageError(w, r, http.StatusForbidden, "forbidden")
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), inboxKey{}, in)))
	})
}

func inboxOf(r *http.Request) *Inbox { return r.Context().Value(inboxKey{}).(*Inbox) }

func (j *job) localInbox(name string) *Inbox {
	for i := range j.opts.Inboxes {
		if in := &j.opts.Inboxes[i]; !in.remote() && in.displayName() == name {
			return in
		}
	}
	return nil
}

func (j *job) pageError(w http.ResponseWriter, r *http.Request, code int, key string, args ...any) {
	bridge.PageError(w, r, j.lang(), code, importTexts, key, args...)
}

func (j *job) ledgerOf() ledger.Ledger { return j.env.Ledger }

// pageLang is the language of the page the request comes from.
func (j *job) pageLang(r *http.Request) string {
	return bridge.NewPage(r, j.lang(), importTexts, "app", nil).Lang
}

func (j *job) inboxURL(in *Inbox) string {
	return "/import/" + url.PathEscape(j.name) + "/" + url.PathEscape(in.displayName()) + "/"
}

func (j *job) render(w http.ResponseWriter, r *http.Request, t *template.Template, title string, data any) {
	p := bridge.NewPage(r, j.lang(), importTexts, title, data)
	if err := web.Render(w, http.StatusOK, t, p); err != nil {
		j.log.Error("import page", "page", t.Name(), "err", err)
	}
}

// pages are parsed once per job, lazily (check never serves them).
func (j *job) pages() *importPages {
	j.pagesOnce.Do(func() { j.tmpl = newImportPages() })
	return j.tmpl
}

// ---- the inbox and My files ----

// fileLine is one sheet of My files.
type fileLine struct {
	Name, State, Message, URL, Report string
	When                              time.Time
	By                                string
}

type inboxData struct {
	Job, Inbox, Where, Base string
	Accept                  string
	MaxMiB                  int64
	Drafts                  []fileLine
	Files                   []fileLine
}

func (j *job) pageInbox(w http.ResponseWriter, r *http.Request) {
	in := inboxOf(r)
	base := j.inboxURL(in)
	d := inboxData{Job: j.name, Inbox: in.displayName(), Where: in.Path, Base: base,
		Accept: ".xlsx,.xlsm,.csv,.txt", MaxMiB: sheet.DefaultOptions().MaxFileSize >> 20}
	for _, dr := range j.listDrafts(in.displayName()) {
		if dr.Sent != "" {
			continue
		}
		d.Drafts = append(d.Drafts, fileLine{Name: dr.Name, State: "draft", URL: base + "d/" + dr.ID + "/", When: dr.Created, By: dr.User})
	}
	// Waiting in the folder, not yet taken.
	if entries, err := filelife.Scan(in.Path, j.ignorePatterns()); err == nil {
		for _, e := range entries {
			if !j.ignoredName(e.Name) {
				d.Files = append(d.Files, fileLine{Name: e.Name, State: "waiting", When: e.ModTime})
			}
		}
	}
	recs, err := j.ledgerOf().Files(r.Context(), ledger.FileFilter{Job: j.name, Source: in.source(), Limit: 200})
	if err != nil {
		j.log.Warn("import page: listing files", "err", err)
	}
	for _, rec := range recs {
		fl := fileLine{Name: rec.Name, State: rec.State, Message: rec.Message, When: rec.Updated}
		if rec.SHA256 != "" {
			fl.URL = base + "f/" + rec.SHA256 + "/"
			if settled(rec.State) {
				fl.Report = fl.URL + "report"
			}
		}
		d.Files = append(d.Files, fl)
	}
	j.render(w, r, j.pages().inbox, "inbox_title", d)
}

func settled(state string) bool {
	return state == ledger.FileDone || state == ledger.FileFailed || state == ledger.FileDuplicate
}

// ---- drop ----

func (j *job) postUpload(w http.ResponseWriter, r *http.Request) {
	in := inboxOf(r)
	u, _ := bridge.UserFrom(r.Context())
	// A large sheet over a slow line takes longer than the server's read
	// timeout (1 min): the upload gets half an hour.
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(30 * time.Minute))
	mr, err := r.MultipartReader()
	if err != nil {
		j.pageError(w, r, http.StatusBadRequest, "upload_none")
		return
	}
	max := sheet.DefaultOptions().MaxFileSize
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			j.pageError(w, r, http.StatusBadRequest, "upload_none")
			return
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			j.pageError(w, r, http.StatusRequestEntityTooLarge, "upload_too_large", max>>20)
			return
		}
		if err != nil {
			j.pageError(w, r, http.StatusBadRequest, "upload_broken", err.Error())
			return
		}
		if part.FormName() != "file" || part.FileName() == "" {
			part.Close()
			continue
		}
		name, err := uploadName(part.FileName())
		if err != nil {
			j.pageError(w, r, http.StatusBadRequest, "upload_name", err.Error())
			return
		}
		d, err := j.newDraft(r.Context(), in, u.Name, j.pageLang(r), name, part, max)
		part.Close()
		switch {
		case errors.Is(err, errTooLarge) || errors.As(err, &mbe):
			j.pageError(w, r, http.StatusRequestEntityTooLarge, "upload_too_large", max>>20)
			return
		case err != nil:
			j.log.Error("import page: storing an upload", "file", name, "err", err)
			j.pageError(w, r, http.StatusInternalServerError, "upload_broken", err.Error())
			return
		}
		j.log.Info("sheet dropped on the import page", "inbox", in.displayName(), "file", name, "user", u.Name,
			"size", d.Size, "rows", d.Preview.Rows, "bad_rows", d.Preview.Bad)
		http.Redirect(w, r, j.inboxURL(in)+"d/"+d.ID+"/", http.StatusSeeOther)
		return
	}
}

// ---- preview and corrections ----

type draftData struct {
	*draft
	Base, URL string
	// Cols are the grid's columns: letter and header.
	Cols     []gridCol
	Grid     []gridRow
	Summary  string
	Sendable bool
	Strict   bool
}

type gridCol struct {
	Col    int
	Header string
	Used   bool
}

type gridRow struct {
	Num      int
	Excluded bool
	Cells    []gridCell
	// Problem is what concerns the row as a whole (a fixed value, a
	// template).
	Problem string
}

type gridCell struct {
	Col   int
	Text  string
	Why   string // the cell's problems, "" when none
	Fixed bool   // corrected on the page
	Label string // "C14", for screen readers
}

func (j *job) draftFor(w http.ResponseWriter, r *http.Request) (*Inbox, *draft, bool) {
	in := inboxOf(r)
	d, err := j.loadDraft(r.PathValue("id"), in.displayName())
	if err != nil {
		if !errors.Is(err, errNoSuchDraft) {
			j.log.Error("import page: reading a draft", "err", err)
		}
		j.pageError(w, r, http.StatusNotFound, "draft_gone")
		return nil, nil, false
	}
	return in, d, true
}

func (j *job) summaryOf(r *http.Request, d *draft) string {
	p := bridge.NewPage(r, j.lang(), importTexts, "app", nil)
	rows := d.Preview.Rows - len(d.Excluded)
	s := p.T("preview_summary", rows, d.Preview.Bad, d.Preview.Problems)
	if len(d.Excluded) > 0 {
		s += " " + p.T("preview_excluded", len(d.Excluded))
	}
	return s
}

func (j *job) sendable(d *draft) bool {
	if d.Preview.Error != "" || d.Sent != "" || d.Preview.Rows-len(d.Excluded) <= 0 {
		return false
	}
	return !j.opts.AllOrNothing || d.Preview.Bad == 0
}

// grid lays out the draft's shown rows for the page.
func (d *draft) grid() ([]gridCol, []gridRow) {
	used := map[int]bool{}
	for _, b := range d.Preview.Bindings {
		used[b.Col], used[b.Col2] = true, true
	}
	var cols []gridCol
	for i := range max(len(d.Preview.Headers), d.Preview.Width) {
		c := gridCol{Col: i, Used: used[i]}
		if i < len(d.Preview.Headers) {
			c.Header = d.Preview.Headers[i]
		}
		cols = append(cols, c)
	}
	rows := make([]gridRow, 0, len(d.Preview.Shown))
	for i, pr := range d.Preview.Shown {
		row := d.rowWithEdits(i)
		gr := gridRow{Num: pr.Num, Excluded: d.Excluded[pr.Num]}
		why := map[int][]string{}
		for _, p := range pr.Problems {
			if p.Col < 0 {
				gr.Problem = strings.TrimSpace(gr.Problem + " " + p.Message)
				continue
			}
			why[p.Col] = append(why[p.Col], p.Message)
		}
		for _, c := range cols {
			_, fixed := d.Edits[pr.Num][c.Col]
			gr.Cells = append(gr.Cells, gridCell{Col: c.Col, Text: mapping.CellText(row.Cell(c.Col), d.Preview.Date1904),
				Why: strings.Join(why[c.Col], "; "), Fixed: fixed, Label: sheet.ColumnName(c.Col+1) + strconv.Itoa(pr.Num)})
		}
		rows = append(rows, gr)
	}
	return cols, rows
}

func (j *job) pageDraft(w http.ResponseWriter, r *http.Request) {
	in, d, ok := j.draftFor(w, r)
	if !ok {
		return
	}
	base := j.inboxURL(in)
	if d.Sent != "" {
		http.Redirect(w, r, base+"f/"+d.Sent+"/", http.StatusSeeOther)
		return
	}
	dd := draftData{draft: d, Base: base, URL: base + "d/" + d.ID + "/",
		Summary: j.summaryOf(r, d), Sendable: j.sendable(d), Strict: j.opts.AllOrNothing}
	dd.Cols, dd.Grid = d.grid()
	j.render(w, r, j.pages().draft, "preview_title", dd)
}

// rowAnswer is the JSON answer to a correction: the row's state now.
type rowAnswer struct {
	Row      int            `json:"row"`
	Excluded bool           `json:"excluded"`
	Problems []cellProblem  `json:"problems"`
	Cells    map[int]string `json:"cells,omitempty"`
	Summary  string         `json:"summary"`
	Sendable bool           `json:"sendable"`
}

func (j *job) answerRow(w http.ResponseWriter, r *http.Request, in *Inbox, d *draft, num int) {
	if !strings.Contains(r.Header.Get("Accept"), "application/json") {
		http.Redirect(w, r, j.inboxURL(in)+"d/"+d.ID+"/#row-"+strconv.Itoa(num), http.StatusSeeOther)
		return
	}
	a := rowAnswer{Row: num, Excluded: d.Excluded[num], Summary: j.summaryOf(r, d), Sendable: j.sendable(d), Cells: map[int]string{}}
	if i, ok := d.shownRow(num); ok {
		a.Problems = d.Preview.Shown[i].Problems
		row := d.rowWithEdits(i)
		for c := range d.Edits[num] {
			a.Cells[c] = mapping.CellText(row.Cell(c), d.Preview.Date1904)
		}
	}
	if a.Problems == nil {
		a.Problems = []cellProblem{}
	}
	web.SecureHeaders(w)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(a)
}

func formInt(r *http.Request, key string) (int, bool) {
	n, err := strconv.Atoi(r.PostFormValue(key))
	return n, err == nil
}

func (j *job) postCell(w http.ResponseWriter, r *http.Request) {
	j.changeRow(w, r, func(in *Inbox, d *draft, num int) error {
		col, ok := formInt(r, "col")
		if !ok {
			return errors.New("no column")
		}
		_, err := j.editCell(in, d, num, col, r.PostFormValue("value"), j.pageLang(r))
		return err
	})
}

func (j *job) postExclude(w http.ResponseWriter, r *http.Request) {
	j.changeRow(w, r, func(_ *Inbox, d *draft, num int) error {
		return d.exclude(num, r.PostFormValue("excluded") == "1")
	})
}

// changeRow applies change to the row named by the form's "row" of a draft
// not sent yet, saves the draft and answers with the row's state.
func (j *job) changeRow(w http.ResponseWriter, r *http.Request, change func(*Inbox, *draft, int) error) {
	j.drafts.Lock()
	defer j.drafts.Unlock()
	in, d, ok := j.draftFor(w, r)
	if !ok {
		return
	}
	num, ok := formInt(r, "row")
	if !ok || d.Sent != "" {
		j.pageError(w, r, http.StatusBadRequest, "bad_form")
		return
	}
	if err := change(in, d, num); err != nil {
		j.pageError(w, r, http.StatusBadRequest, "cell_refused", err.Error())
		return
	}
	if err := j.saveDraft(d); err != nil {
		j.pageError(w, r, http.StatusInternalServerError, "upload_broken", err.Error())
		return
	}
	j.answerRow(w, r, in, d, num)
}

func (j *job) postSend(w http.ResponseWriter, r *http.Request) {
	j.drafts.Lock()
	defer j.drafts.Unlock()
	in, d, ok := j.draftFor(w, r)
	if !ok {
		return
	}
	if d.Sent == "" && !j.sendable(d) {
		j.pageError(w, r, http.StatusConflict, "not_sendable")
		return
	}
	u, _ := bridge.UserFrom(r.Context())
	sha, err := j.place(r.Context(), in, d)
	if err != nil {
		j.log.Error("import page: putting the sheet in the inbox", "file", d.Name, "err", err)
		j.pageError(w, r, http.StatusInternalServerError, "upload_broken", err.Error())
		return
	}
	j.log.Info("sheet confirmed on the import page", "inbox", in.displayName(), "file", d.SentName, "user", u.Name,
		"corrected_cells", countEdits(d), "rows_left_out", len(d.Excluded), "sha256", sha)
	http.Redirect(w, r, j.inboxURL(in)+"f/"+sha+"/", http.StatusSeeOther)
}

func countEdits(d *draft) int {
	n := 0
	for _, e := range d.Edits {
		n += len(e)
	}
	return n
}

func (j *job) postDiscard(w http.ResponseWriter, r *http.Request) {
	j.drafts.Lock()
	defer j.drafts.Unlock()
	in, d, ok := j.draftFor(w, r)
	if !ok {
		return
	}
	if d.Sent == "" {
		os.RemoveAll(j.draftDir(d.ID))
	}
	http.Redirect(w, r, j.inboxURL(in), http.StatusSeeOther)
}
