package sheets

// The watch page of a sheet of the inbox: its rows' outcomes as the ledger
// records them, streamed as Server-Sent Events, and its report.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/filelife"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/bridge/web"
)

// ---- a sheet of the inbox, as it is sent ----

// fileView is a sheet of the inbox as the watch page shows it.
type fileView struct {
	Name, SHA256, State, Message string
	Report                       string // URL, once settled
	Final                        bool
	Total                        int // data rows expected (from the draft), 0 unknown
	Recorded                     int // rows whose outcome is recorded
	Rows                         []rowOutcome
	Counts                       map[string]int
}

// rowOutcome is one row's outcome as the ledger holds it.
type rowOutcome struct {
	Row     int    `json:"row"`
	Status  string `json:"status"`
	Label   string `json:"label"`
	Message string `json:"message"`
}

// fileState reads the sheet with content sha from the ledger (or, before
// the run takes it, from the draft that put it in the inbox). ok is false
// when the inbox has no such sheet.
func (j *job) fileState(ctx context.Context, in *Inbox, sha string, withRows bool) (fileView, bool, error) {
	v := fileView{SHA256: sha, Counts: map[string]int{}}
	if len(sha) != 64 {
		return v, false, nil
	}
	rec, err := j.ledgerOf().FileBySHA256(ctx, j.name, sha)
	if err == nil && rec.Source == in.source() && !withRows {
		v.Name, v.State, v.Message, v.Final = rec.Name, rec.State, rec.Message, settled(rec.State)
		return v, true, nil
	}
	// The draft that placed it knows how many rows to expect (and, before
	// the run takes it, that it waits in the inbox).
	for _, d := range j.listDrafts(in.displayName()) {
		if d.Sent == sha {
			v.Name, v.State, v.Total = d.SentName, "waiting", d.Preview.Rows-len(d.Excluded)
			break
		}
	}
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		return v, v.State != "", nil
	case err != nil:
		return v, false, err
	case rec.Source != in.source():
		return v, v.State != "", nil
	}
	v.Name, v.State, v.Message = rec.Name, rec.State, rec.Message
	v.Final = settled(rec.State)
	if v.Final {
		v.Report = j.inboxURL(in) + "f/" + sha + "/report"
	}
	if !withRows {
		return v, true, nil
	}
	err = j.ledgerOf().ItemsWithPrefix(ctx, j.name, sha+":", func(it ledger.Item) error {
		row := rowOfKey(it.Key)
		if row <= 0 || it.Outcome == outcomeSending {
			return nil
		}
		v.Counts[it.Outcome]++
		v.Recorded++
		// A large sheet lists only its rows with a problem (the counts and
		// the progress bar tell the rest): the page stays light.
		if len(v.Rows) < maxRowsListed && (v.Total <= maxRowsListed || (it.Outcome != OutcomeSent && it.Outcome != OutcomeAlready)) {
			v.Rows = append(v.Rows, rowOutcome{Row: row, Status: it.Outcome, Message: it.Message})
		}
		return nil
	})
	return v, true, err
}

// maxRowsListed bounds the rows the watch page lists.
const maxRowsListed = 1000

type fileData struct {
	fileView
	Base, Events string
	CountsText   string // the counts in words, as the stream's state event has them
	Percent      int    // how far the progress bar is filled
}

func (j *job) pageFile(w http.ResponseWriter, r *http.Request) {
	in := inboxOf(r)
	sha := r.PathValue("sha")
	v, ok, err := j.fileState(r.Context(), in, sha, true)
	if err != nil {
		j.log.Error("import page: reading the ledger", "err", err)
		j.pageError(w, r, http.StatusServiceUnavailable, "ledger_down")
		return
	}
	if !ok {
		j.pageError(w, r, http.StatusNotFound, "not_found")
		return
	}
	p := bridge.NewPage(r, j.lang(), importTexts, "app", nil)
	for i := range v.Rows {
		v.Rows[i].Label = p.T("status_" + v.Rows[i].Status)
	}
	base := j.inboxURL(in)
	pct := 100
	if !v.Final && v.Total > 0 {
		pct = min(100, 100*v.Recorded/v.Total)
	}
	j.render(w, r, j.pages().file, "file_title", fileData{fileView: v, Base: base,
		Events: base + "f/" + sha + "/events", CountsText: countsText(p, v.Counts), Percent: pct})
}

// stateEvent is the "state" event of the watch page.
type stateEvent struct {
	State    string `json:"state"`
	Label    string `json:"label"`
	Message  string `json:"message"`
	Counts   string `json:"counts"`
	Recorded int    `json:"recorded"`
	Report   string `json:"report,omitempty"`
	Final    bool   `json:"final"`
}

// fileEvents streams a sheet's row outcomes as the ledger records them:
// "rows" events carry the rows whose outcome is new or changed, "state"
// events the sheet's state; the stream ends once the sheet is settled and
// every row's outcome was sent. A reconnecting browser gets everything
// again (the page applies it idempotently).
func (j *job) fileEvents(w http.ResponseWriter, r *http.Request) {
	in := inboxOf(r)
	sha := r.PathValue("sha")
	ctx := r.Context()
	if _, ok, err := j.fileState(ctx, in, sha, false); err != nil || !ok {
		j.pageError(w, r, http.StatusNotFound, "not_found")
		return
	}
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	p := bridge.NewPage(r, j.lang(), importTexts, "app", nil)
	seen := map[int]string{}
	lastState := ""
	lastBeat := time.Now()
	send := func(event string, v any) error {
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return err
		}
		return rc.Flush()
	}
	for {
		v, _, err := j.fileState(ctx, in, sha, true)
		if err != nil {
			if ctx.Err() == nil {
				j.log.Warn("import page: events", "err", err)
			}
			return
		}
		var changed []rowOutcome
		for _, o := range v.Rows {
			k := o.Status + "\x00" + o.Message
			if seen[o.Row] == k {
				continue
			}
			seen[o.Row] = k
			o.Label = p.T("status_" + o.Status)
			changed = append(changed, o)
		}
		for len(changed) > 0 {
			n := min(len(changed), 500)
			if err := send("rows", changed[:n]); err != nil {
				return
			}
			changed = changed[n:]
		}
		st := stateEvent{State: v.State, Label: p.T("state_" + v.State), Message: v.Message,
			Counts: countsText(p, v.Counts), Recorded: v.Recorded, Report: v.Report, Final: v.Final}
		b, _ := json.Marshal(st)
		if string(b) != lastState {
			lastState = string(b)
			if err := send("state", st); err != nil {
				return
			}
			lastBeat = time.Now()
		}
		if v.Final {
			return
		}
		if time.Since(lastBeat) > 15*time.Second {
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
			lastBeat = time.Now()
		}
		step := 250 * time.Millisecond
		if v.Recorded > 5000 {
			step = time.Second // a large sheet: fewer scans of the ledger
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(step):
		}
	}
}

func countsText(p web.Page, counts map[string]int) string {
	var parts []string
	for _, s := range []string{OutcomeSent, OutcomeAlready, OutcomeFailed, OutcomeRejected, OutcomeHeld} {
		switch n := counts[s]; n {
		case 0:
		case 1:
			parts = append(parts, p.T("count_"+s+"_1"))
		default:
			parts = append(parts, p.T("count_"+s, n))
		}
	}
	return strings.Join(parts, ", ")
}

// fileReport sends the result report of a settled sheet.
func (j *job) fileReport(w http.ResponseWriter, r *http.Request) {
	in := inboxOf(r)
	sha := r.PathValue("sha")
	rec, err := j.ledgerOf().FileBySHA256(r.Context(), j.name, sha)
	if err != nil || rec.Source != in.source() || !settled(rec.State) {
		j.pageError(w, r, http.StatusNotFound, "report_none")
		return
	}
	p, ok := j.settledReport(in, rec)
	if !ok {
		j.pageError(w, r, http.StatusNotFound, "report_none")
		return
	}
	f, err := os.Open(p)
	if err != nil {
		j.pageError(w, r, http.StatusNotFound, "report_none")
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		j.pageError(w, r, http.StatusNotFound, "report_none")
		return
	}
	web.SecureHeaders(w)
	ctype := "application/octet-stream"
	switch filepath.Ext(p) {
	case ".xlsx":
		ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	case ".csv":
		ctype = "text/csv"
	case ".txt":
		ctype = "text/plain; charset=utf-8"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filepath.Base(p)}))
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// settledReport finds the report beside a settled sheet: the sheet is in
// done/ or failed/ under its name or a suffixed one ("name (2).xlsx"),
// with the same size (and content, when several match).
func (j *job) settledReport(in *Inbox, rec ledger.File) (string, bool) {
	folders := filelife.NewFolders(in.Path)
	dirs := []string{folders.Done, folders.Failed}
	if rec.State == ledger.FileFailed {
		dirs = []string{folders.Failed, folders.Done}
	}
	var found []string
	for _, dir := range dirs {
		for i := 1; i <= 200; i++ {
			p := filepath.Join(dir, filelife.SuffixName(rec.Name, i))
			fi, err := os.Stat(p)
			if errors.Is(err, os.ErrNotExist) {
				if i > 1 {
					break
				}
				continue
			}
			if err != nil || fi.Size() != rec.Size {
				continue
			}
			for _, ext := range []string{".xlsx", ".csv", ".txt"} {
				if _, err := os.Stat(p + ".report" + ext); err == nil {
					found = append(found, p)
					break
				}
			}
		}
	}
	report := func(p string) string {
		for _, ext := range []string{".xlsx", ".csv", ".txt"} {
			if _, err := os.Stat(p + ".report" + ext); err == nil {
				return p + ".report" + ext
			}
		}
		return ""
	}
	switch len(found) {
	case 0:
		return "", false
	case 1:
		return report(found[0]), true
	}
	for _, p := range found {
		if sha, _, err := filelife.HashFile(p); err == nil && sha == rec.SHA256 {
			return report(p), true
		}
	}
	return "", false
}
