package sheets

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
)

// reconcile settles a send that an interruption left pending for key (the
// process was killed between marking a row "sending" and recording its
// outcome): the call may or may not have reached OfficeTrack.
//
// For a task, OfficeTrack is asked (GetTaskDetails). When it holds every
// field that was being sent, the send is recorded as accepted — at the
// time it was made, from the file and row it came from — and not made
// again. Otherwise (the task is unknown, or differs) the pending send is
// dropped, and so is the record of what was accepted before: the row is
// sent.
//
// OfficeTrack's contract offers no read for a point of interest, so a
// pending point of interest cannot be checked: it is dropped and the row
// sent again (InsertOrUpdatePointOfInterest is an upsert by
// customerNumber, so no second point appears).
//
// An error (OfficeTrack unreachable) leaves the record as it was; the file
// waits for a later run.
func (w *webSend) reconcile(ctx context.Context, b *ledger.Batcher, key string, tr targetRecord) (targetRecord, error) {
	p := tr.Pending
	held := false
	if n, ok := strings.CutPrefix(key, "task:"); ok {
		num, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			return tr, fmt.Errorf("ledger: target key %q: %w", key, err)
		}
		var sent officetrack.Task
		for f, v := range p.Values {
			if err := sent.Set(f, v); err != nil {
				return tr, fmt.Errorf("ledger: pending send of %s: %w", key, err)
			}
		}
		d, err := w.api.GetTaskDetails(ctx, num)
		switch {
		case err == nil:
			held = sent.HeldBy(&d.Task)
		case errors.Is(err, officetrack.ErrTaskNotFound):
		default:
			return tr, fmt.Errorf("looking up task %d, whose send was interrupted: %w", num, err)
		}
	}
	now := w.now()
	tr.Pending = nil
	var items []ledger.Item
	if held {
		tr.Hash, tr.Values, tr.At, tr.File, tr.Name, tr.Row = p.Hash, p.Values, p.At, p.File, p.Name, p.Row
		items = append(items, historyItem(w.job, key, w.runID, HistoryEntry{At: now, File: p.File, Name: p.Name, Row: p.Row,
			Outcome: outcomeConfirmed, Answer: "found in OfficeTrack after an interruption; not sent again", Values: p.Values, Resend: p.Resend}))
	} else {
		// What OfficeTrack holds is not known any more (the interrupted
		// send may have arrived, or someone changed the task): the next
		// row with this key is sent, whatever was accepted before.
		tr.Hash = ""
	}
	items = append(items, tr.item(w.job, key, w.runID, now))
	if err := b.Put(context.WithoutCancel(ctx), items...); err != nil {
		return tr, fmt.Errorf("recording the lookup of %s in the ledger: %w", key, err)
	}
	if w.rc != nil {
		if held {
			w.rc.Count("confirmed", 1)
		} else {
			w.rc.Count("in_doubt_resent", 1)
		}
	}
	return tr, nil
}

// outcomeConfirmed is a history entry's outcome for a send found in
// OfficeTrack after an interruption.
const outcomeConfirmed = "confirmed"
