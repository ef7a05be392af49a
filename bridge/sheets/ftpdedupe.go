package sheets

import (
	"context"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

// An import file on OfficeTrack's FTP holds only the rows whose content
// OfficeTrack was not given before, as the web service does (send.go):
// a copy of a sheet under another name, or a corrected result report
// dropped back, puts only the new and changed rows in its import file.
//
// The target records (delivered.go) are written once the import file is
// uploaded, in a second pass over the sheet. A crash between the upload
// and those records is mended by the next run: the upload is known done,
// the same rows are chosen again (their records are unchanged), and their
// records are written then. A row whose record already names this file
// and row is one of those.

// ftpDedupe chooses and records the rows of one sheet's import file.
type ftpDedupe struct {
	j     *job
	rc    *bridge.RunContext
	rec   ledger.File
	src   sheetSource
	name  string                    // the import file's name, for the report's messages
	label func(field string) string // a field's column, for the changes
}

func (j *job) newFTPDedupe(rc *bridge.RunContext, rec ledger.File, src sheetSource, name string) *ftpDedupe {
	return &ftpDedupe{j: j, rc: rc, rec: rec, src: src, name: name, label: columnLabel(src)}
}

// decide says what becomes of a valid row r: OutcomeSent (it goes in the
// import file, with what changed), OutcomeAlready (OfficeTrack holds this
// content: left out) or OutcomeRejected (a point of interest without its
// key).
func (d *ftpDedupe) decide(ctx context.Context, r *outRow) (rowStatus, error) {
	j := d.j
	key := targetKeyOf(r)
	if key == "" {
		return rowStatus{OutcomeRejected, j.msg(msgNoCustomerNumber)}, nil
	}
	tr, err := loadTarget(ctx, d.rc.Ledger, j.name, key)
	if err != nil {
		return rowStatus{}, err
	}
	values := r.values()
	hash := valuesHash(values)
	in := j.msg(msgInImportFile, d.name)
	if tr.Hash == hash && !r.Resend {
		if tr.File == d.rec.SHA256 && tr.Row == r.Num {
			return rowStatus{OutcomeSent, in}, nil // recorded by this file's own upload
		}
		return rowStatus{OutcomeAlready, alreadySent(&tr, j.location(), j.msg)}, nil
	}
	if why, _ := sendReason(&tr, r, hash, values, d.label, j.msg); why != "" {
		in += "; " + why
	}
	return rowStatus{OutcomeSent, in}, nil
}

// record writes, for every row put in the uploaded import file, what
// OfficeTrack now holds for its key and a history entry, in bunches.
func (d *ftpDedupe) record(ctx context.Context, statuses map[int]rowStatus) error {
	j, l := d.j, d.rc.Ledger
	rows, err := d.src.rows()
	if err != nil {
		return err
	}
	now := d.rc.Now()
	// written holds the keys recorded in this pass: a key on several rows
	// reads what the earlier one wrote.
	written := map[string]bool{}
	var items []ledger.Item
	flush := func() error {
		if len(items) == 0 {
			return nil
		}
		err := l.PutItems(ctx, items)
		items = items[:0]
		return err
	}
	for {
		r, ok, err := rows()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if st, ok := statuses[r.Num]; !ok || st.Status != OutcomeSent || r.Problem != "" {
			continue
		}
		key := targetKeyOf(&r)
		if written[key] {
			if err := flush(); err != nil {
				return err
			}
		}
		tr, err := loadTarget(ctx, l, j.name, key)
		if err != nil {
			return err
		}
		values := r.values()
		hash := valuesHash(values)
		if tr.Hash == hash && tr.File == d.rec.SHA256 && tr.Row == r.Num {
			continue // recorded before an interruption
		}
		h := HistoryEntry{At: now, File: d.rec.SHA256, Name: d.rec.Name, Row: r.Num, Outcome: OutcomeSent,
			Answer: j.msg(msgInImportFile, d.name), Values: values, Resend: r.Resend}
		_, h.Changes = sendReason(&tr, &r, hash, values, d.label, j.msg)
		tr.Hash, tr.Values, tr.At, tr.File, tr.Name, tr.Row, tr.Pending = hash, values, now, d.rec.SHA256, d.rec.Name, r.Num, nil
		written[key] = true
		items = append(items, tr.item(j.name, key, d.rc.Run.ID, now), historyItem(j.name, key, d.rc.Run.ID, h))
		if len(items) >= 512 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
