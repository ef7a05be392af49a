package sheets

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
	"github.com/fieldbridge/fieldbridge/transports"
)

// rowStatus is one row's line in the result report.
type rowStatus struct {
	Status  string // OutcomeSent, OutcomeFailed, OutcomeRejected, OutcomeHeld
	Message string
}

// summary counts a file's rows for the report's one-line summary.
type summary struct {
	Sent, Failed, Rejected, Held int64
	// Already counts rows OfficeTrack already held (not sent again).
	Already int64
	// Note replaces the counts (duplicate, unreadable file).
	Note string
}

// workDir is the job's working folder in the data folder.
func (j *job) workDir() string {
	base := "data"
	if j.env != nil && j.env.Config != nil && j.env.Config.DataDir != "" {
		base = j.env.Config.DataDir
	}
	return filepath.Join(base, "sheets", safeName(j.name))
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r < ' ' {
			return '_'
		}
		return r
	}, s)
}

// handle processes one claimed file (its local copy at path) and settles
// it. It returns an error only when the file must wait for a later run
// (wrong credentials, service down) or the run is cancelled.
func (j *job) handle(ctx context.Context, rc *bridge.RunContext, in *Inbox, rec ledger.File, path string, set settler) error {
	log := rc.Log.With("file", set.where())
	if err := os.MkdirAll(j.workDir(), 0o755); err != nil {
		return err
	}

	var (
		state  = ledger.FileDone
		report string
		sum    summary
		err    error
	)
	if prev, perr := rc.Ledger.FileBySHA256(ctx, j.name, rec.SHA256, ledger.FileDone); perr == nil && prev.ID != rec.ID {
		state = ledger.FileDuplicate
		sum.Note = j.msg(msgDuplicate, prev.Name, prev.Source, prev.Updated.In(j.location()).Format("02/01/2006 15:04"))
		report, err = j.writeNoteReport(rec, sum.Note)
		rc.Count("duplicate", 1)
		rc.Problem(set.where(), sum.Note)
	} else {
		report, sum, err = j.deliver(ctx, rc, in, rec, path)
		var bad *badFileError
		switch {
		case errors.As(err, &bad):
			state = ledger.FileFailed
			sum.Note = bad.msg
			rc.Problem(set.where(), bad.msg)
			report, err = j.writeNoteReport(rec, bad.msg)
		case err != nil:
			if errors.Is(err, officetrack.ErrRunStopping) || errors.Is(err, officetrack.ErrTransient) {
				msg := j.msg(msgWaiting, err.Error())
				rc.Problem(set.where(), msg)
				log.Warn("file left for a later run", "error", err)
			}
			return fmt.Errorf("%s: %w", set.where(), err)
		case sum.Sent+sum.Already == 0 && (sum.Failed+sum.Rejected+sum.Held) > 0:
			state = ledger.FileFailed
		case sum.Sent+sum.Already+sum.Failed+sum.Rejected+sum.Held == 0:
			state = ledger.FileFailed
			sum.Note = j.msg(msgNoRows)
			rc.Problem(set.where(), sum.Note)
		}
	}
	if err != nil {
		return fmt.Errorf("%s: writing the report: %w", set.where(), err)
	}
	// The report sits beside the sheet: "<sheet>.report.<ext>".
	suffix := ".report" + filepath.Ext(report)
	record := func() error {
		rec.State = state
		rec.Message = summaryLine(j, sum)
		rec.RunID = rc.Run.ID
		rec.Updated = rc.Now()
		return rc.Ledger.PutFile(ctx, &rec)
	}
	if err := set.settle(ctx, state, report, suffix, record); err != nil {
		return fmt.Errorf("%s: settling in %s: %w", set.where(), settledDir(state), err)
	}
	rc.Count("files_"+state, 1)
	if sum.Note == "" && sum.Failed+sum.Rejected+sum.Held > 0 {
		rc.Problem(set.where(), rec.Message+" — "+filepath.Join(settledDir(state), rec.Name+suffix))
	}
	log.Info("sheet settled", "state", state, "summary", rec.Message)
	return nil
}

// badFileError is a file that cannot be processed at all (unreadable,
// no mapping): it goes to failed/ with a report saying why.
type badFileError struct{ msg string }

func (e *badFileError) Error() string { return e.msg }

// deliver maps the file's rows and sends them; it returns the report it
// wrote (a local temporary file) and the counts.
func (j *job) deliver(ctx context.Context, rc *bridge.RunContext, in *Inbox, rec ledger.File, path string) (string, summary, error) {
	var sum summary
	src, err := j.openSheet(path, rec, in)
	if err != nil {
		return "", sum, err
	}
	defer src.Close()

	invalid := int64(0)
	if j.opts.AllOrNothing {
		rows, err := src.rows()
		if err != nil {
			return "", sum, err
		}
		for {
			r, ok, err := rows()
			if err != nil {
				return "", sum, &badFileError{err.Error()}
			}
			if !ok {
				break
			}
			if r.Problem != "" {
				invalid++
			}
		}
	}

	statuses := map[int]rowStatus{}
	statusOf := func(row int) (rowStatus, bool) { s, ok := statuses[row]; return s, ok }
	switch {
	case invalid > 0:
		// all_or_nothing: nothing is sent.
		rows, err := src.rows()
		if err != nil {
			return "", sum, err
		}
		for {
			r, ok, err := rows()
			if err != nil {
				return "", sum, &badFileError{err.Error()}
			}
			if !ok {
				break
			}
			if r.Problem != "" {
				statuses[r.Num] = rowStatus{OutcomeRejected, r.Problem}
				sum.Rejected++
			} else {
				statuses[r.Num] = rowStatus{OutcomeHeld, j.msg(msgHeld, invalid)}
				sum.Held++
			}
		}
		countNonZero(rc, OutcomeRejected, sum.Rejected)
		countNonZero(rc, OutcomeHeld, sum.Held)
		if err := recordRowOutcomes(ctx, rc, j.name, rec.SHA256, statuses); err != nil {
			return "", sum, err
		}
	case j.opts.Delivery == DeliveryFTP:
		if err := j.deliverFTP(ctx, rc, rec, src, statuses, &sum); err != nil {
			return "", sum, err
		}
		if err := recordRowOutcomes(ctx, rc, j.name, rec.SHA256, statuses); err != nil {
			return "", sum, err
		}
	default:
		if j.shareable(ctx, in, rec, path, rc.Ledger) {
			// Several nodes send the rows (blocks.go).
			if err := j.deliverShared(ctx, rc, in, rec, path); err != nil {
				return "", sum, err
			}
		} else {
			doneSet, err := doneRows(ctx, rc.Ledger, j.name, rec.SHA256)
			if err != nil {
				return "", sum, err
			}
			rows, err := src.rows()
			if err != nil {
				return "", sum, err
			}
			ws := &webSend{api: j.api, ledger: rc.Ledger, job: j.name, runID: rc.Run.ID, sha: rec.SHA256, name: rec.Name,
				conc: j.conc, rc: rc, now: rc.Now, text: j.msg, loc: j.location(), label: columnLabel(src)}
			if _, err := ws.run(ctx, wrapRows(rows), doneSet); err != nil {
				return "", sum, err
			}
		}
		err = rc.Ledger.ItemsWithPrefix(ctx, j.name, rec.SHA256+":", func(it ledger.Item) error {
			statuses[rowOfKey(it.Key)] = rowStatus{it.Outcome, it.Message}
			switch it.Outcome {
			case OutcomeSent:
				sum.Sent++
			case OutcomeFailed:
				sum.Failed++
			case OutcomeRejected:
				sum.Rejected++
			case OutcomeAlready:
				sum.Already++
			}
			return nil
		})
		if err != nil {
			return "", sum, err
		}
	}
	report, err := j.writeReport(src, rec, statusOf, sum)
	return report, sum, err
}

// recordRowOutcomes writes each row's outcome under its row key, as the
// web send does row by row, where a sheet's rows are decided all at once
// (an import file for OfficeTrack's FTP, a sheet held whole): the import
// page's watch view and its counts read them there. A row that already
// has a record keeps it (a run interrupted after this step decides the
// same again; a row the web service was given stays known as sent).
func recordRowOutcomes(ctx context.Context, rc *bridge.RunContext, job, sha string, statuses map[int]rowStatus) error {
	have := map[int]bool{}
	err := rc.Ledger.ItemsWithPrefix(ctx, job, sha+":", func(it ledger.Item) error {
		if row := rowOfKey(it.Key); row > 0 {
			have[row] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	now := rc.Now()
	var items []ledger.Item
	for _, row := range slices.Sorted(maps.Keys(statuses)) {
		if have[row] {
			continue
		}
		st := statuses[row]
		items = append(items, ledger.Item{Job: job, Key: itemKey(sha, row), Outcome: st.Status, Message: st.Message,
			RunID: rc.Run.ID, Updated: now})
		if len(items) == 512 {
			if err := rc.Ledger.PutItems(ctx, items); err != nil {
				return err
			}
			items = items[:0]
		}
	}
	if len(items) == 0 {
		return nil
	}
	return rc.Ledger.PutItems(ctx, items)
}

// wrapRows turns a read error into a badFileError (the file is unreadable
// past some row), so the sender stops and the file goes to failed/.
func wrapRows(next func() (outRow, bool, error)) func() (outRow, bool, error) {
	return func() (outRow, bool, error) {
		r, ok, err := next()
		if err != nil {
			return r, ok, &badFileError{err.Error()}
		}
		return r, ok, err
	}
}

// deliverFTP writes the valid rows whose content OfficeTrack was not given
// before (ftpdedupe.go) in the import layout and uploads the file to
// OfficeTrack's FTP import folder, once per file content.
func (j *job) deliverFTP(ctx context.Context, rc *bridge.RunContext, rec ledger.File, src sheetSource, statuses map[int]rowStatus, sum *summary) error {
	key := rec.SHA256 + ":ftp"
	l := &j.opts.FTP
	remote := strings.TrimSuffix(l.Folder, "/")
	name := l.remoteName(rec.Name, rec.SHA256)
	if remote != "" {
		remote += "/"
	}
	remote += name
	uploaded := false
	prev, err := rc.Ledger.GetItem(ctx, j.name, key)
	switch {
	case err == nil && prev.Outcome == OutcomeSent:
		uploaded = true
		remote = prev.RemoteID
	case err == nil && prev.Outcome == outcomeSending:
		remote = prev.RemoteID // an upload was interrupted: checked below
	case err != nil && !errors.Is(err, ledger.ErrNotFound):
		return err
	}
	rows, err := src.rows()
	if err != nil {
		return err
	}
	tmp := filepath.Join(j.workDir(), fmt.Sprintf("%s.%d.import.partial", rec.SHA256[:16], time.Now().UnixNano()))
	defer os.Remove(tmp)
	d := j.newFTPDedupe(rc, rec, src, name)
	valid := int64(0)
	var probe []officetrack.Task // the first tasks of the import file (loaderTook)
	// record hands the import file the rows to include: not those with a
	// problem, nor those whose content OfficeTrack was already given.
	record := func() (outRow, bool, error) {
		for {
			r, ok, err := rows()
			if err != nil {
				return r, ok, &badFileError{err.Error()}
			}
			if !ok {
				return r, false, nil
			}
			if r.Problem != "" {
				statuses[r.Num] = rowStatus{OutcomeRejected, r.Problem}
				sum.Rejected++
				continue
			}
			st, err := d.decide(ctx, &r)
			if err != nil {
				return r, false, err
			}
			statuses[r.Num] = st
			switch st.Status {
			case OutcomeAlready:
				sum.Already++
				continue
			case OutcomeRejected:
				sum.Rejected++
				continue
			}
			valid++
			if len(probe) < maxProbe {
				if t, ok := l.probeTask(&r); ok {
					probe = append(probe, t)
				}
			}
			return r, true, nil
		}
	}
	if _, err := l.writeImportFile(tmp, record); err != nil {
		var bad *badFileError
		if errors.As(err, &bad) {
			return err
		}
		return fmt.Errorf("writing the import file: %w", err)
	}
	if valid > 0 && !uploaded {
		if err := j.upload(ctx, rc, key, remote, name, tmp, valid, prev.Outcome == outcomeSending, probe); err != nil {
			return err
		}
	}
	if valid > 0 {
		// Uploaded: what OfficeTrack now holds for each key included.
		if err := d.record(ctx, statuses); err != nil {
			return fmt.Errorf("recording the rows of the import file in the ledger: %w", err)
		}
	}
	sum.Sent = valid
	countNonZero(rc, OutcomeSent, valid)
	countNonZero(rc, OutcomeRejected, sum.Rejected)
	countNonZero(rc, OutcomeAlready, sum.Already)
	return nil
}

// maxProbe bounds the tasks of an import file looked up after an
// interrupted upload (loaderTook).
const maxProbe = 20

// upload puts the import file tmp on OfficeTrack's FTP as remote. The
// upload is recorded "sending" before it starts and "sent" once done. An
// upload that was interrupted (inDoubt) is first looked for on the
// server: a file there under its final name with the import file's size
// was written whole (uploads go to a temporary name, then are renamed),
// so it is not uploaded again. A file no longer there may have been taken
// by OfficeTrack's loader: when the job names an OfficeTrack account, the
// first tasks of the file (probe) are looked up, and if OfficeTrack holds
// one as the file has it, the file is not uploaded again. (Without an
// account, or for points of interest, which OfficeTrack offers no read
// for, it is uploaded again.)
func (j *job) upload(ctx context.Context, rc *bridge.RunContext, key, remote, name, tmp string, rows int64, inDoubt bool, probe []officetrack.Task) error {
	l := &j.opts.FTP
	t, err := j.openTransport(ctx, l.Connection)
	if err != nil {
		return fmt.Errorf("%w: opening %s: %w", officetrack.ErrTransient, l.Connection, err)
	}
	defer t.Close()
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	record := func(outcome, sum, path string) error {
		return rc.Ledger.PutItem(ctx, ledger.Item{Job: j.name, Key: key, Hash: sum, Outcome: outcome,
			Message: fmt.Sprintf("%d rows", rows), RemoteID: path, RunID: rc.Run.ID, Updated: rc.Now()})
	}
	if inDoubt {
		switch got, err := t.Stat(ctx, remote); {
		case err == nil && !got.IsDir && got.Size == fi.Size():
			rc.Log.Info("the import file of an interrupted upload is on the server; not uploaded again", "file", remote)
			rc.Count("upload_confirmed", 1)
			return record(OutcomeSent, "", remote)
		case err != nil && !errors.Is(err, transports.ErrNotExist):
			return fmt.Errorf("%w: looking for %s on %s after an interrupted upload: %w", officetrack.ErrTransient, name, t, err)
		}
		took, err := j.loaderTook(ctx, probe)
		if err != nil {
			return fmt.Errorf("%w: looking up the tasks of %s after an interrupted upload: %w", officetrack.ErrTransient, name, err)
		}
		if took != 0 {
			rc.Log.Info("the import file of an interrupted upload is gone from the server and OfficeTrack holds its tasks: its loader took it; not uploaded again",
				"file", remote, "task", took)
			rc.Count("upload_confirmed", 1)
			return record(OutcomeSent, "", remote)
		}
		if j.api == nil {
			rc.Log.Warn("the import file of an interrupted upload is not on the server; uploading it again (if OfficeTrack's loader took it, its rows are imported twice: name the OfficeTrack account in the job's officetrack option so that its tasks are looked up first)",
				"file", remote)
		}
	}
	if err := record(outcomeSending, "", remote); err != nil {
		return err
	}
	// The same temporary name for every attempt: one an interrupted
	// attempt left is overwritten, not left beside the import folder.
	res, err := t.Write(ctx, remote, f, transports.WriteOptions{Overwrite: transports.Replace, Size: fi.Size(),
		TempToken: key[:16]})
	if err != nil {
		if errors.Is(err, transports.ErrPermanent) {
			return fmt.Errorf("%w: uploading %s to %s: %w", officetrack.ErrRunStopping, name, t, err)
		}
		return fmt.Errorf("%w: uploading %s to %s: %w", officetrack.ErrTransient, name, t, err)
	}
	if err := record(OutcomeSent, res.SHA256, res.Path); err != nil {
		return err
	}
	rc.Count("uploaded", 1)
	return nil
}

// loaderTook returns the number of the first task of probe that
// OfficeTrack holds as the import file has it (0: none, or no account to
// ask).
func (j *job) loaderTook(ctx context.Context, probe []officetrack.Task) (int64, error) {
	if j.api == nil {
		return 0, nil
	}
	for _, t := range probe {
		num := *t.TaskNumber
		d, err := j.api.GetTaskDetails(ctx, num)
		switch {
		case errors.Is(err, officetrack.ErrTaskNotFound):
		case err != nil:
			return 0, err
		case t.HeldBy(&d.Task):
			return num, nil
		}
	}
	return 0, nil
}

// location is the zone used in messages.
func (j *job) location() *time.Location {
	if j.env != nil && j.env.Config != nil {
		return j.env.Config.Location()
	}
	return time.Local
}

func countNonZero(rc *bridge.RunContext, name string, n int64) {
	if n != 0 {
		rc.Count(name, n)
	}
}
