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
	CreateOrUpdateTask(ctx context.Context, operation string, t officetrack.Task) (officetrack.TaskResult, error)
	InsertOrUpdatePointOfInterest(ctx context.Context, operation string, p officetrack.POI) (officetrack.Result, error)
}

// webSend sends the rows of one file to OfficeTrack with at most conc calls
// in flight. Every row's outcome is stored in the ledger (in small
// group-committed batches) before it is counted and before the worker
// that sent it sends another row; rows whose outcome is
// already in done are skipped, so a restart resumes where the last run
// stopped. It returns an error wrapping officetrack.ErrRunStopping or
// officetrack.ErrTransient when the file must wait for a later run, or the
// context's error.
type webSend struct {
	api    officeTrackAPI
	ledger ledger.Ledger
	job    string
	runID  int64
	sha    string
	conc   int
	rc     *bridge.RunContext
	now    func() time.Time
}

// sendStats counts what one webSend did.
type sendStats struct {
	Sent, Failed, Rejected, Held, Skipped int64
}

func (w *webSend) run(ctx context.Context, next func() (outRow, bool, error), done map[int]bool) (sendStats, error) {
	var st sendStats
	var stMu sync.Mutex
	conc := max(w.conc, 1)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	// Outcomes go to the ledger in group commits shared by the workers.
	// An outcome already obtained is recorded even when the run is being
	// stopped (WithoutCancel), so that the row is not sent again; it is
	// counted only once durable. A ledger failure stops the run.
	b := ledger.NewBatcher(w.ledger, 512)
	keep := context.WithoutCancel(ctx)
	record := func(items ...ledger.Item) {
		if err := b.Put(keep, items...); err != nil {
			cancel(fmt.Errorf("recording row outcomes in the ledger: %w", err))
			return
		}
		stMu.Lock()
		for _, it := range items {
			st.add(it.Outcome)
		}
		stMu.Unlock()
		if w.rc != nil {
			for _, it := range items {
				w.rc.Count(it.Outcome, 1)
			}
		}
	}

	// A fixed pool of conc workers takes rows from a short queue. A worker
	// sends its row and waits until the row's outcome is durable before it
	// takes its next row: every outcome is in the ledger before the same
	// worker sends again, so at most conc rows are ever sent but
	// unrecorded, and a crash re-sends at most conc rows.
	work := make(chan outRow, conc)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for r := range work {
				if ctx.Err() != nil {
					continue // stopping: drain the queue unsent
				}
				outcome, msg, err := w.sendOne(ctx, &r)
				if err != nil {
					cancel(err)
					continue
				}
				record(w.item(r, outcome, msg))
			}
		})
	}
	// Rows that failed validation are never sent: their outcomes are
	// recorded in bunches, without holding up the sending.
	var rejected []ledger.Item
	var readErr error
dispatch:
	for {
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
			rejected = append(rejected, w.item(r, OutcomeRejected, r.Problem))
			if len(rejected) >= 256 {
				record(rejected...)
				rejected = rejected[:0]
			}
			continue
		}
		select {
		case work <- r:
		case <-ctx.Done():
			break dispatch
		}
	}
	close(work)
	record(rejected...)
	wg.Wait()
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

func (st *sendStats) add(outcome string) {
	switch outcome {
	case OutcomeSent:
		st.Sent++
	case OutcomeFailed:
		st.Failed++
	case OutcomeRejected:
		st.Rejected++
	case OutcomeHeld:
		st.Held++
	}
}

// sendOne sends one row; it returns the outcome for a row that is settled
// (sent or refused) and an error when the row must be tried again later.
func (w *webSend) sendOne(ctx context.Context, r *outRow) (outcome, msg string, err error) {
	switch {
	case r.Task != nil:
		res, err := w.api.CreateOrUpdateTask(ctx, officetrack.OpAutoSelect, *r.Task)
		return classify(err, res.ResultCode, res.ResultMessages)
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

func (w *webSend) item(r outRow, outcome, msg string) ledger.Item {
	return ledger.Item{Job: w.job, Key: itemKey(w.sha, r.Num), Outcome: outcome, Message: msg,
		RemoteID: r.remoteID(), RunID: w.runID, Updated: w.now()}
}

// doneRows returns the rows of a file whose outcome is already recorded.
func doneRows(ctx context.Context, l ledger.Ledger, job, sha string) (map[int]bool, error) {
	out := map[int]bool{}
	err := l.ItemsWithPrefix(ctx, job, sha+":", func(it ledger.Item) error {
		switch it.Outcome {
		case OutcomeSent, OutcomeFailed, OutcomeRejected:
			out[rowOfKey(it.Key)] = true
		}
		return nil
	})
	return out, err
}
