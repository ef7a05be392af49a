package sheets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
)

// A clerk asks for rows to be sent again, although OfficeTrack already
// holds them (the technician lost the task), with a column of the sheet:
// "reenviar" (pt-BR, es), "resend" (en), or "reenvio"/"reenvío", set to
// yes (sim, sí, yes, x, 1, true) on those rows.

// resendHeaders are the accepted headers, folded (see fold).
var resendHeaders = map[string]bool{"reenviar": true, "resend": true, "reenvio": true, "re-enviar": true, "send again": true, "enviar de novo": true, "enviar de nuevo": true}

// yesWords are the cell values that ask for a re-send, folded.
var yesWords = map[string]bool{"sim": true, "s": true, "si": true, "yes": true, "y": true, "x": true, "1": true,
	"true": true, "verdadeiro": true, "verdadero": true}

// resendColumn returns the 0-based column of the resend header, or -1.
func resendColumn(headers []string) int {
	for i, h := range headers {
		if resendHeaders[fold(h)] {
			return i
		}
	}
	return -1
}

// yes reports whether a resend cell asks for a re-send.
func yes(v string) bool { return yesWords[fold(v)] }

// fold lower-cases s, drops accents and surrounding spaces and a final
// "?" ("Reenviar?").
func fold(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimSpace(strings.TrimSuffix(s, "?"))
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if r >= 0x300 && r <= 0x36f { // combining accents
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// A re-send can also be asked for without a sheet, by key, with
// `fieldbridge resend -job J KEY…` (RequestResend): the request waits in
// the ledger ("r:<target key>") and the job's next run sends the content
// OfficeTrack last accepted for that key again.

const (
	requestPrefix    = "r:"
	requestPending   = "requested"
	requestDone      = "done"
	resendSourceName = "fieldbridge resend"
)

// ErrUnknownKey is returned (wrapped) by RequestResend for a key that
// nothing was ever sent for.
var ErrUnknownKey = errors.New("nothing was ever sent to OfficeTrack under this key")

// RequestResend asks for key (see NormalizeKey) to be sent again by job's
// next run, as OfficeTrack last accepted it.
func RequestResend(ctx context.Context, l ledger.Ledger, job, key string, now time.Time) error {
	key = NormalizeKey(key)
	tr, err := loadTarget(ctx, l, job, key)
	if err != nil {
		return err
	}
	if tr.Hash == "" {
		return fmt.Errorf("%s: %w", key, ErrUnknownKey)
	}
	return l.PutItem(ctx, ledger.Item{Job: job, Key: requestPrefix + key, Outcome: requestPending,
		Message: "asked at " + now.Format(time.RFC3339), Updated: now})
}

// resendRequested sends the keys whose re-send was asked for, through
// the same path as a sheet's rows (sending state, reconcile, history).
func (j *job) resendRequested(ctx context.Context, rc *bridge.RunContext) error {
	if j.opts.Delivery == DeliveryFTP || j.api == nil {
		return nil
	}
	var reqs []ledger.Item
	err := rc.Ledger.ItemsWithPrefix(ctx, j.name, requestPrefix, func(it ledger.Item) error {
		if it.Outcome == requestPending {
			reqs = append(reqs, it)
		}
		return nil
	})
	if err != nil || len(reqs) == 0 {
		return err
	}
	rows := make([]outRow, 0, len(reqs))
	for i, req := range reqs {
		key := strings.TrimPrefix(req.Key, requestPrefix)
		tr, err := loadTarget(ctx, rc.Ledger, j.name, key)
		if err != nil {
			return err
		}
		r := outRow{Num: i + 1, Resend: true}
		if strings.HasPrefix(key, "poi:") {
			r.POI = &officetrack.POI{}
			for f, v := range tr.Values {
				err = errors.Join(err, r.POI.Set(f, v))
			}
		} else {
			r.Task = &officetrack.Task{}
			for f, v := range tr.Values {
				err = errors.Join(err, r.Task.Set(f, v))
			}
		}
		if err != nil {
			r.Task, r.POI, r.Problem = nil, nil, fmt.Sprintf("the content recorded for %s cannot be read back: %v", key, err)
		}
		rows = append(rows, r)
	}
	batch := fmt.Sprintf("resend-%d", rc.Now().UnixNano())
	ws := &webSend{api: j.api, ledger: rc.Ledger, job: j.name, runID: rc.Run.ID, sha: batch, name: resendSourceName,
		conc: j.conc, rc: rc, now: rc.Now, text: j.msg, loc: j.location()}
	i := 0
	_, err = ws.run(ctx, func() (outRow, bool, error) {
		if i == len(rows) {
			return outRow{}, false, nil
		}
		i++
		return rows[i-1], true, nil
	}, nil)
	if err != nil {
		return err // the requests stay; the next run tries again
	}
	for i, req := range reqs {
		it, gerr := rc.Ledger.GetItem(ctx, j.name, itemKey(batch, i+1))
		if gerr != nil {
			return gerr
		}
		req.Outcome, req.Message, req.RunID, req.Updated = requestDone, it.Outcome+": "+it.Message, rc.Run.ID, rc.Now()
		if err := rc.Ledger.PutItem(ctx, req); err != nil {
			return err
		}
		rc.Log.Info("re-sent as asked", "key", strings.TrimPrefix(req.Key, requestPrefix), "outcome", it.Outcome)
	}
	return nil
}
