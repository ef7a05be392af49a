package sheets

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
)

// Row outcomes stored in the ledger (Item.Outcome) for each sheet row.
const (
	// OutcomeSent: OfficeTrack accepted the row (task created or updated).
	OutcomeSent = "sent"
	// OutcomeFailed: OfficeTrack refused the row (a row error such as
	// EmployeeNumberNotFound); not retried.
	OutcomeFailed = "failed"
	// OutcomeRejected: the row failed the mapping's validation; never sent.
	OutcomeRejected = "rejected"
	// OutcomeHeld: the row was valid but not sent because the file had
	// invalid rows and the job is all_or_nothing.
	OutcomeHeld = "held"
	// OutcomeAlready: OfficeTrack already holds this content for the
	// row's key (sent before, from this file or another); not sent again.
	OutcomeAlready = "already"
	// outcomeSending: recorded before the call; a row left in it by a
	// crash is reconciled before it is sent again.
	outcomeSending = "sending"
)

// itemKey is the ledger key of a sheet row: "<file sha256>:<row, 8 digits>",
// so that ItemsWithPrefix walks a file's rows in row order.
func itemKey(fileSHA string, row int) string {
	return fmt.Sprintf("%s:%08d", fileSHA, row)
}

func rowOfKey(key string) int {
	i := strings.LastIndexByte(key, ':')
	n, _ := strconv.Atoi(key[i+1:])
	return n
}

// outRow is one row ready for delivery: a task, a point of interest, or a
// rejection (Problem non-empty).
type outRow struct {
	Num     int
	Task    *officetrack.Task
	POI     *officetrack.POI
	Problem string
	// Resend: the row's resend column (reenviar) asks for it to be sent
	// even if OfficeTrack already holds it.
	Resend bool
}

// remoteID names the row in OfficeTrack: its TaskNumber or customerNumber.
func (r *outRow) remoteID() string {
	switch {
	case r.Task != nil && r.Task.TaskNumber != nil:
		return strconv.FormatInt(*r.Task.TaskNumber, 10)
	case r.POI != nil:
		return r.POI.CustomerNumber
	}
	return ""
}

// officeTrackAPI is the part of the client the web-service delivery uses.
type officeTrackAPI interface {
	CreateOrUpdateTaskOnce(ctx context.Context, t officetrack.Task) (officetrack.TaskResult, officetrack.Delivery, error)
	GetTaskDetails(ctx context.Context, taskNumber int64) (officetrack.TaskDetails, error)
	InsertOrUpdatePointOfInterest(ctx context.Context, operation string, p officetrack.POI) (officetrack.Result, error)
}

// webSend sends the rows of one file to OfficeTrack with at most conc calls
// in flight, each row at most once:
//
//   - A row whose content OfficeTrack already holds for its key (sent
//     before, from this file or another) is not sent: OutcomeAlready,
//     unless its resend column asks for it.
//   - A row to send is first recorded "sending", with the target record
//     saying what is being sent, in the same transaction; only then is the
//     call made. Rows are marked in blocks, ahead of the calls, so that
//     the calls do not wait for the ledger: at most window (2 × conc) rows
//     are ever marked and not yet settled.
//   - Its outcome (row, target record, history) is recorded in one
//     transaction; the row is counted once that is durable. After a crash,
//     a row found "sending" is looked up in OfficeTrack (reconcile) and
//     sent again only if OfficeTrack does not hold what was being sent.
//   - Two rows with the same key are never in flight together: the second
//     waits for the first's outcome, then compares with it.
//
// Rows whose outcome is already in done are skipped, so a restart resumes
// where the last run stopped. run returns an error wrapping
// officetrack.ErrRunStopping or officetrack.ErrTransient when the file must
// wait for a later run, or the context's error.
type webSend struct {
	api    officeTrackAPI
	ledger ledger.Ledger
	job    string
	runID  int64
	sha    string
	name   string // the file's name, for the history
	conc   int
	rc     *bridge.RunContext
	now    func() time.Time
	// text gives a message in the job's language (nil: English).
	text func(id int, args ...any) string
	// label names a field as the sheet does, for the changes a report
	// lists (nil: the field's name).
	label func(field string) string
	loc   *time.Location
}

// sendStats counts what one webSend did.
type sendStats struct {
	Sent, Failed, Rejected, Held, Already, Skipped int64
}

// delivery is one row on its way to OfficeTrack.
type delivery struct {
	r       outRow
	key     string
	values  map[string]string
	hash    string
	tr      targetRecord // with Pending set to this send
	changes []string
	why     string // the report's words for why it is sent again
}

func (w *webSend) msg(id int, args ...any) string {
	if w.text != nil {
		return w.text(id, args...)
	}
	return fmt.Sprintf(messages["en"][id], args...)
}

func (w *webSend) run(ctx context.Context, next func() (outRow, bool, error), done map[int]bool) (sendStats, error) {
	var st sendStats
	var mu sync.Mutex
	conc := max(w.conc, 1)
	window := 2 * conc
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	// Every write goes through one group committer. An outcome already
	// obtained is recorded even when the run is being stopped
	// (WithoutCancel), so that the row is not looked up again; it is
	// counted only once durable. A ledger failure stops the run.
	b := ledger.NewBatcher(w.ledger, 512)
	keep := context.WithoutCancel(ctx)
	count := func(outcome string, n int64) {
		mu.Lock()
		st.add(outcome, n)
		mu.Unlock()
		if w.rc != nil && n > 0 {
			w.rc.Count(outcome, n)
		}
	}
	ledgerFailed := func(err error) { cancel(fmt.Errorf("recording row outcomes in the ledger: %w", err)) }
	// record stores outcomes of rows that are not sent (rejected, already
	// sent), in bunches.
	var quick []ledger.Item
	recordQuick := func() {
		if len(quick) == 0 {
			return
		}
		if err := b.Put(keep, quick...); err != nil {
			ledgerFailed(err)
			return
		}
		for _, it := range quick {
			count(it.Outcome, 1)
		}
		quick = quick[:0]
	}

	// inflight holds the keys being sent; each channel is closed once the
	// send's outcome is durable (or the send is given up).
	inflight := map[string]chan struct{}{}
	tokens := make(chan struct{}, window)
	var settling sync.WaitGroup
	release := func(d *delivery) {
		mu.Lock()
		close(inflight[d.key])
		delete(inflight, d.key)
		mu.Unlock()
		<-tokens
	}
	settle := func(d *delivery, outcome string, items []ledger.Item) {
		ch := b.PutAsync(items...)
		settling.Go(func() {
			if err := <-ch; err != nil {
				ledgerFailed(err)
			} else {
				count(outcome, 1)
			}
			release(d)
		})
	}

	work := make(chan *delivery, window)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for d := range work {
				if ctx.Err() != nil {
					release(d) // left "sending": looked up next time
					continue
				}
				outcome, answer, err := w.sendOne(ctx, &d.r)
				if err != nil {
					cancel(err)
					release(d)
					continue
				}
				settle(d, outcome, w.outcomeItems(d, outcome, answer))
			}
		})
	}

	// block holds rows chosen for sending, not yet marked.
	var block []*delivery
	flush := func() bool {
		if len(block) == 0 {
			return true
		}
		items := make([]ledger.Item, 0, 2*len(block))
		now := w.now()
		for _, d := range block {
			items = append(items, w.rowItem(d.r, outcomeSending, "", d.hash), d.tr.item(w.job, d.key, w.runID, now))
		}
		if err := b.Put(keep, items...); err != nil {
			ledgerFailed(err)
			for _, d := range block {
				release(d)
			}
			block = block[:0]
			return false
		}
		for _, d := range block {
			work <- d // never blocks: work holds window rows
		}
		block = block[:0]
		return true
	}

	var readErr error
dispatch:
	for ctx.Err() == nil {
		r, ok, err := next()
		if err != nil {
			readErr = err
			break
		}
		if !ok {
			break
		}
		if done[r.Num] {
			st.Skipped++
			continue
		}
		if r.Problem != "" {
			quick = append(quick, w.rowItem(r, OutcomeRejected, r.Problem, ""))
			if len(quick) >= 256 {
				recordQuick()
			}
			continue
		}
		key := targetKeyOf(&r)
		if key == "" { // a point of interest without its key: it could not be told apart from any other
			quick = append(quick, w.rowItem(r, OutcomeRejected, w.msg(msgNoCustomerNumber), ""))
			continue
		}
		mu.Lock()
		busy := inflight[key]
		mu.Unlock()
		if busy != nil { // the same key earlier in the file: wait for its outcome
			if !flush() {
				break
			}
			select {
			case <-busy:
			case <-ctx.Done():
				break dispatch
			}
		}
		tr, err := loadTarget(ctx, w.ledger, w.job, key)
		if err != nil {
			cancel(err)
			break
		}
		if tr.Pending != nil {
			if tr, err = w.reconcile(ctx, b, key, tr); err != nil {
				cancel(err)
				break
			}
		}
		values := r.values()
		hash := valuesHash(values)
		if tr.Hash == hash && !r.Resend {
			outcome, msg := OutcomeAlready, alreadySent(&tr, w.location(), w.msg)
			if tr.File == w.sha && tr.Row == r.Num {
				outcome, msg = OutcomeSent, "" // this very row, sent before an interruption
			}
			quick = append(quick, w.rowItem(r, outcome, msg, hash))
			if len(quick) >= 256 {
				recordQuick()
			}
			continue
		}
		d := &delivery{r: r, key: key, values: values, hash: hash, tr: tr}
		d.why, d.changes = sendReason(&tr, &r, hash, values, w.label, w.msg)
		d.tr.Pending = &pendingSend{Hash: hash, Values: values, File: w.sha, Name: w.name, Row: r.Num,
			At: w.now(), Run: w.runID, Resend: r.Resend}
		select {
		case tokens <- struct{}{}:
		default:
			if !flush() {
				break dispatch
			}
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				break dispatch
			}
		}
		mu.Lock()
		inflight[key] = make(chan struct{})
		mu.Unlock()
		block = append(block, d)
		if len(block) >= conc {
			if !flush() {
				break
			}
		}
	}
	if ctx.Err() == nil {
		flush()
	} else {
		for _, d := range block {
			release(d)
		}
	}
	close(work)
	recordQuick()
	wg.Wait()
	settling.Wait()
	b.Close()
	switch {
	case context.Cause(ctx) != nil && !errors.Is(context.Cause(ctx), context.Canceled):
		return st, context.Cause(ctx)
	case readErr != nil:
		return st, readErr
	case ctx.Err() != nil:
		return st, ctx.Err()
	}
	return st, nil
}

func (w *webSend) location() *time.Location {
	if w.loc != nil {
		return w.loc
	}
	return time.Local
}

// outcomeItems are the ledger items of a send's outcome: the row, the
// target record (what OfficeTrack now holds, nothing pending) and one
// history entry.
func (w *webSend) outcomeItems(d *delivery, outcome, answer string) []ledger.Item {
	now := w.now()
	tr := d.tr
	tr.Pending = nil
	msg := answer
	if outcome == OutcomeSent {
		tr.Hash, tr.Values, tr.At, tr.File, tr.Name, tr.Row = d.hash, d.values, now, w.sha, w.name, d.r.Num
		if d.why != "" {
			msg = strings.TrimSuffix(d.why+"; "+answer, "; ")
		}
	}
	h := HistoryEntry{At: now, File: w.sha, Name: w.name, Row: d.r.Num, Outcome: outcome, Answer: answer,
		Values: d.values, Changes: d.changes, Resend: d.r.Resend}
	if w.name == resendSourceName {
		h.Row = 0 // not from a sheet
	}
	return []ledger.Item{w.rowItem(d.r, outcome, msg, d.hash), tr.item(w.job, d.key, w.runID, now),
		historyItem(w.job, d.key, w.runID, h)}
}

func (st *sendStats) add(outcome string, n int64) {
	switch outcome {
	case OutcomeSent:
		st.Sent += n
	case OutcomeFailed:
		st.Failed += n
	case OutcomeRejected:
		st.Rejected += n
	case OutcomeHeld:
		st.Held += n
	case OutcomeAlready:
		st.Already += n
	}
}

// sendOne sends one row; it returns the outcome for a row that is settled
// (sent or refused) with OfficeTrack's words, and an error when the row
// must be tried again later.
func (w *webSend) sendOne(ctx context.Context, r *outRow) (outcome, msg string, err error) {
	switch {
	case r.Task != nil:
		res, d, err := w.api.CreateOrUpdateTaskOnce(ctx, *r.Task)
		outcome, msg, err := classify(err, res.ResultCode, res.ResultMessages)
		if err == nil && d.Confirmed {
			msg = strings.TrimPrefix(msg+"; "+w.msg(msgConfirmed), "; ")
		}
		return outcome, msg, err
	case r.POI != nil:
		res, err := w.api.InsertOrUpdatePointOfInterest(ctx, officetrack.OpAutoSelect, *r.POI)
		return classify(err, res.ResultCode, res.ResultMessages)
	}
	return OutcomeRejected, "nothing to send", nil
}

func classify(err error, code string, msgs []string) (string, string, error) {
	switch officetrack.ClassOf(err) {
	case officetrack.Success:
		m := ""
		if code != officetrack.CodeOK && code != "" {
			m = code
			if len(msgs) > 0 {
				m += ": " + strings.Join(msgs, "; ")
			}
		}
		return OutcomeSent, m, nil
	case officetrack.RowError:
		var re *officetrack.ResultError
		if errors.As(err, &re) {
			m := re.Code
			if len(re.Messages) > 0 {
				m += ": " + strings.Join(re.Messages, "; ")
			}
			return OutcomeFailed, m, nil
		}
		var fe *officetrack.FaultError
		if errors.As(err, &fe) {
			return OutcomeFailed, "OfficeTrack could not read this row: " + fe.String, nil
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return "", "", err
		}
		return OutcomeFailed, err.Error(), nil
	}
	return "", "", err
}

// rowItem is the ledger item of a row's state; hash is its content hash.
func (w *webSend) rowItem(r outRow, outcome, msg, hash string) ledger.Item {
	return ledger.Item{Job: w.job, Key: itemKey(w.sha, r.Num), Hash: hash, Outcome: outcome, Message: msg,
		RemoteID: r.remoteID(), RunID: w.runID, Updated: w.now()}
}

// doneRows returns the rows of a file whose outcome is already recorded.
func doneRows(ctx context.Context, l ledger.Ledger, job, sha string) (map[int]bool, error) {
	out := map[int]bool{}
	err := l.ItemsWithPrefix(ctx, job, sha+":", func(it ledger.Item) error {
		switch it.Outcome {
		case OutcomeSent, OutcomeFailed, OutcomeRejected, OutcomeAlready:
			out[rowOfKey(it.Key)] = true
		}
		return nil
	})
	return out, err
}
