package boxsync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap"
	"github.com/fieldbridge/fieldbridge/connectors/sytex"
)

// Ledger state names.
const (
	stateCursor      = "cursor"       // RFC 3339: list boxes updated at or after it
	stateFingerprint = "mapping"      // fingerprint of the mapping options of the cursor
	stateLastFull    = "last_full_ok" // start of the last successful full run
)

// Item outcomes.
const (
	outCreated   = "created"
	outUpdated   = "updated"
	outUnchanged = "unchanged"
	outFailed    = "failed"
	outConflict  = "conflict"
	outSkipped   = "skipped"
	outGone      = "gone" // the box was deleted in OZmap; its element stays in Sytex
)

// Counter names (rc.Count).
const (
	cRead      = "read"
	cCreated   = "created"
	cUpdated   = "updated"
	cUnchanged = "unchanged"
	cFailed    = "failed"
	cConflicts = "conflicts"
	cSkipped   = "skipped"
)

// inFlightGrace is how long boxes being sent may finish after a shutdown
// was asked (the engine waits 4s by default).
const inFlightGrace = 3 * time.Second

// task is one box to send.
type task struct {
	box    ozmap.Box
	ne     sytex.NetworkElement
	hash   string
	prev   ledger.Item
	known  bool   // prev exists
	mapErr error  // the box could not be mapped
	dupOf  string // another box of this run maps to the same code
}

// ledgerError is a failed ledger write during the listing.
type ledgerError struct{ err error }

func (e *ledgerError) Error() string { return e.err.Error() }
func (e *ledgerError) Unwrap() error { return e.err }

// result is what happened to one box.
type result struct {
	outcome  string
	remoteID string
	hash     string
	message  string // for the ledger, the report and problems
	// permanent failures (a 400, a box that cannot be mapped) will fail
	// again unchanged; they do not count toward "Sytex is down".
	permanent bool
	fatal     error // stops the run
}

// Run does one run: see the package documentation.
func (j *Job) Run(ctx context.Context, rc *bridge.RunContext) error {
	now := rc.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	led := rc.Ledger
	log := rc.Log

	// what to list
	var since time.Time
	fpChanged := false
	if !rc.Full {
		if v, err := led.State(ctx, j.name, stateCursor); err == nil {
			if t, perr := time.Parse(time.RFC3339Nano, v); perr == nil {
				since = t
			}
		} else if !errors.Is(err, ledger.ErrNotFound) {
			return fmt.Errorf("%s", msg(j.lang, msgLedger, err))
		}
		if fp, err := led.State(ctx, j.name, stateFingerprint); err == nil && fp != j.fingerprint && !since.IsZero() {
			since, fpChanged = time.Time{}, true
		}
	}
	q := ozmap.BoxQuery{UpdatedSince: since}
	projects := map[string]ozmap.Project{}
	if len(j.o.Projects) > 0 || j.m.code.needsProject || j.m.name.needsProject || j.m.desc.needsProject {
		ps, err := j.oz.Projects(ctx)
		if err != nil {
			return j.ozmapErr(err)
		}
		for _, p := range ps {
			projects[p.ID] = p
		}
		ids, err := j.resolveProjects(ps)
		if err != nil {
			return err
		}
		q.Projects = ids
	}

	// what the ledger knows
	known := map[string]ledger.Item{}
	owner := map[string]string{} // Sytex id → box id
	err := led.ItemsWithPrefix(ctx, j.name, "", func(it ledger.Item) error {
		known[it.Key] = it
		if it.RemoteID != "" {
			owner[it.RemoteID] = it.Key
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s", msg(j.lang, msgLedger, err))
	}
	log.Info("box sync starting", "since", since, "full", rc.Full, "mapping_changed", fpChanged, "known_boxes", len(known))

	rep, err := j.openReport(start)
	if err != nil {
		return err
	}
	com := ledger.NewBatcher(led, 256) // workers wait for their item to be durable; group commits
	defer com.Close()

	// 1. list the boxes (OZmap is quick; listing first keeps its paging
	// consistent and lets us choose how to look codes up in Sytex)
	var tasks []*task
	seen := make(map[string]bool, len(known))
	codes := map[string]string{} // code → box id, within this run
	feed := func(b ozmap.Box) error {
		if seen[b.ID] {
			return nil
		}
		seen[b.ID] = true
		rc.Count(cRead, 1)
		if !b.Implanted && !j.o.IncludeInProject {
			rc.Count(cSkipped, 1)
			if it, ok := known[b.ID]; ok && (it.Outcome == outFailed || it.Outcome == outConflict) {
				// stop retrying a box that went back to design
				if err := com.Put(ctx, j.item(rc, b.ID, it.Hash, it.RemoteID, outSkipped, "")); err != nil {
					return &ledgerError{err}
				}
			}
			return nil
		}
		t := &task{box: b}
		t.prev, t.known = known[b.ID]
		t.ne, t.mapErr = j.m.element(&b, projects[b.Project])
		if t.mapErr == nil {
			if other, dup := codes[t.ne.Code]; dup {
				t.dupOf = other
			} else {
				codes[t.ne.Code] = b.ID
			}
			t.hash = hashElement(t.ne)
			if !rc.Full && t.known && t.prev.RemoteID != "" && t.prev.Hash == t.hash && t.prev.Outcome != outConflict && t.dupOf == "" {
				rc.Count(cUnchanged, 1)
				if t.prev.Outcome == outFailed {
					if err := com.Put(ctx, j.item(rc, b.ID, t.hash, t.prev.RemoteID, outUnchanged, "")); err != nil {
						return &ledgerError{err}
					}
				}
				if j.o.ReportUnchanged {
					rep.row(t, result{outcome: outUnchanged, remoteID: t.prev.RemoteID})
				}
				return nil
			}
		}
		tasks = append(tasks, t)
		return nil
	}
	listErr := j.oz.Boxes(ctx, q, feed)
	if listErr == nil {
		// boxes that failed before and did not change since: try again
		listErr = j.retryFailed(ctx, known, seen, q.Projects, feed, com, rc)
	}

	// 2. a run with many boxes to look up reads Sytex's elements once
	// instead of searching each code
	var index map[string][]sytex.NetworkElement
	var prefetchFatal error
	if listErr == nil && ctx.Err() == nil {
		need := 0
		for _, t := range tasks {
			if t.mapErr == nil && (rc.Full || t.prev.RemoteID == "" || t.prev.Outcome == outConflict) {
				need++
			}
		}
		if j.o.PrefetchThreshold > 0 && need >= j.o.PrefetchThreshold {
			index = map[string][]sytex.NetworkElement{}
			n := 0
			err := j.sy.Search(ctx, sytex.Query{Limit: j.o.PrefetchPageSize}, func(ne sytex.NetworkElement) error {
				index[ne.Code] = append(index[ne.Code], ne)
				n++
				return nil
			})
			if err != nil {
				r := j.failure(&task{}, err)
				if r.fatal != nil {
					prefetchFatal = r.fatal
				} else if ctx.Err() == nil {
					log.Warn("could not read Sytex's elements at once; searching each code", "err", err)
				}
				index = nil
			} else {
				log.Info("read Sytex's network elements", "elements", n, "codes", len(index), "boxes_to_look_up", need)
			}
		}
	}

	// 3. send, with a bounded pool of workers
	// sendCtx carries in-flight sends: a shutdown (ctx) lets them finish
	// for inFlightGrace; a fatal error cancels them at once.
	sendCtx, abort := context.WithCancelCause(context.WithoutCancel(ctx))
	defer abort(nil)
	stopGrace := context.AfterFunc(ctx, func() {
		t := time.NewTimer(inFlightGrace)
		defer t.Stop()
		select {
		case <-t.C:
			abort(ctx.Err())
		case <-sendCtx.Done():
		}
	})
	defer stopGrace()

	var fatalOnce sync.Once
	var fatal error
	setFatal := func(err error) {
		fatalOnce.Do(func() {
			fatal = err
			abort(err)
		})
	}
	var le *ledgerError
	switch {
	case errors.As(listErr, &le):
		setFatal(errors.New(msg(j.lang, msgLedger, le.err)))
	case prefetchFatal != nil:
		setFatal(prefetchFatal)
	}

	var next atomic.Int64
	var inARow atomic.Int64
	var wg sync.WaitGroup
	if listErr == nil && fatal == nil {
		for range j.o.Concurrency {
			wg.Go(func() {
				for {
					if ctx.Err() != nil || sendCtx.Err() != nil {
						return
					}
					i := int(next.Add(1) - 1)
					if i >= len(tasks) {
						return
					}
					t := tasks[i]
					tasks[i] = nil
					r := j.process(sendCtx, t, rc.Full, index, owner)
					if r.fatal != nil {
						setFatal(r.fatal)
						return
					}
					if r.outcome == "" { // interrupted: nothing known, nothing recorded
						return
					}
					if r.outcome == outFailed && !r.permanent {
						if n := inARow.Add(1); n >= int64(j.o.MaxFailuresInARow) {
							setFatal(errors.New(msg(j.lang, msgSytexDown, n, r.message)))
						}
					} else {
						inARow.Store(0)
					}
					if err := j.record(sendCtx, com, rc, t, r); err != nil {
						setFatal(errors.New(msg(j.lang, msgLedger, err)))
						return
					}
					rep.row(t, r)
				}
			})
		}
	}
	wg.Wait()
	com.Close()

	counts := rc.Counts()
	summary := msg(j.lang, msgSummary, counts[cRead], counts[cCreated], counts[cUpdated], counts[cUnchanged],
		counts[cFailed], counts[cConflicts], counts[cSkipped])
	repCtx, cancelRep := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	repPath, repErr := rep.finish(repCtx)
	cancelRep()
	if repErr != nil {
		log.Error("box sync report not written", "err", repErr)
		rc.Problem("report", repErr.Error())
	} else if repPath != "" {
		log.Info("box sync report written", "path", repPath)
	}

	switch {
	case fatal != nil:
		log.Error("box sync stopped", "err", fatal, "summary", summary)
		return fatal
	case listErr != nil && ctx.Err() == nil:
		err := j.ozmapErr(listErr)
		log.Error("box sync stopped", "err", err, "summary", summary)
		return err
	case ctx.Err() != nil:
		log.Warn("box sync interrupted; the next run resumes", "summary", summary)
		return ctx.Err()
	}
	cursor := start.Add(-j.o.Overlap.Duration).UTC().Format(time.RFC3339Nano)
	if err := led.SetState(ctx, j.name, stateCursor, cursor); err != nil {
		return errors.New(msg(j.lang, msgLedger, err))
	}
	if err := led.SetState(ctx, j.name, stateFingerprint, j.fingerprint); err != nil {
		return errors.New(msg(j.lang, msgLedger, err))
	}
	if rc.Full || since.IsZero() {
		_ = led.SetState(ctx, j.name, stateLastFull, start.UTC().Format(time.RFC3339Nano))
	}
	log.Info("box sync done", "summary", summary, "duration", now().Sub(start).Round(time.Millisecond))
	return nil
}

// ozmapErr turns an OZmap error into the run's error.
func (j *Job) ozmapErr(err error) error {
	if errors.Is(err, ozmap.ErrUnauthorized) {
		return &runError{msg(j.lang, msgOZmap401, j.o.OZmap) + ": " + err.Error(), err}
	}
	return &runError{msg(j.lang, msgOZmapList, err), err}
}

// runError is a message for people that still matches its cause with
// errors.Is / errors.As.
type runError struct {
	text string
	err  error
}

func (e *runError) Error() string { return e.text }
func (e *runError) Unwrap() error { return e.err }

// resolveProjects turns the projects option (ids, names or identifiers)
// into ids.
func (j *Job) resolveProjects(ps []ozmap.Project) ([]string, error) {
	if len(j.o.Projects) == 0 {
		return nil, nil
	}
	var ids []string
	for _, want := range j.o.Projects {
		found := ""
		for _, p := range ps {
			if p.ID == want || p.Identifier == want || strings.EqualFold(p.Name, want) {
				found = p.ID
				break
			}
		}
		if found == "" {
			names := make([]string, 0, len(ps))
			for _, p := range ps {
				names = append(names, p.Name)
			}
			sort.Strings(names)
			if len(names) > 20 {
				names = append(names[:20], "…")
			}
			return nil, errors.New(msg(j.lang, msgProjects, want, strings.Join(names, ", ")))
		}
		ids = append(ids, found)
	}
	return ids, nil
}

// retryFailed feeds boxes whose last outcome was failed or conflict and
// that the listing did not bring (they did not change).
func (j *Job) retryFailed(ctx context.Context, known map[string]ledger.Item, seen map[string]bool,
	onlyProjects []string, feed func(ozmap.Box) error, com *ledger.Batcher, rc *bridge.RunContext) error {
	var keys []string
	for k, it := range known {
		if (it.Outcome == outFailed || it.Outcome == outConflict) && !seen[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		b, err := j.oz.Box(ctx, k)
		if errors.Is(err, ozmap.ErrNotFound) {
			it := known[k]
			if err := com.Put(ctx, j.item(rc, k, it.Hash, it.RemoteID, outGone, "")); err != nil {
				return &ledgerError{err}
			}
			continue
		}
		if err != nil {
			return err
		}
		if len(onlyProjects) > 0 && !slices.Contains(onlyProjects, b.Project) {
			continue
		}
		if err := feed(b); err != nil {
			return err
		}
	}
	return nil
}

// process sends one box and says what happened. It does no ledger write.
// index, when not nil, holds every Sytex element by code (read at the
// start of the run); owner maps Sytex ids to the boxes that hold them.
func (j *Job) process(ctx context.Context, t *task, full bool, index map[string][]sytex.NetworkElement, owner map[string]string) result {
	if t.mapErr != nil {
		var me *mapError
		if errors.As(t.mapErr, &me) {
			return result{outcome: outFailed, hash: t.prev.Hash, remoteID: t.prev.RemoteID, message: msg(j.lang, me.key, me.args...), permanent: true}
		}
		return result{outcome: outFailed, hash: t.prev.Hash, remoteID: t.prev.RemoteID, message: t.mapErr.Error(), permanent: true}
	}
	if t.dupOf != "" {
		return result{outcome: outConflict, hash: t.prev.Hash, remoteID: t.prev.RemoteID,
			message: msg(j.lang, msgSameCode, t.ne.Code, t.dupOf)}
	}
	note := ""
	// warm path: the Sytex id is known, patch the changed fields only
	if !full && t.known && t.prev.RemoteID != "" && t.prev.Outcome != outConflict {
		id, err := strconv.ParseInt(t.prev.RemoteID, 10, 64)
		if err == nil {
			fields, codeChanged := patchFromHashes(t.prev.Hash, t.ne)
			switch {
			case codeChanged:
				note = msg(j.lang, msgCodeChanged, t.ne.Code)
			case len(fields) == 0:
				return result{outcome: outUnchanged, remoteID: t.prev.RemoteID, hash: t.hash}
			default:
				_, err := j.sy.Patch(ctx, id, fields)
				if err == nil {
					return result{outcome: outUpdated, remoteID: t.prev.RemoteID, hash: t.hash}
				}
				if !errors.Is(err, sytex.ErrNotFound) {
					return j.failure(t, err)
				}
				// deleted in Sytex: look for the code, create if needed
			}
		}
	}
	var found []sytex.NetworkElement
	if index != nil {
		found = index[t.ne.Code]
	} else {
		var err error
		if found, err = j.sy.FindByCode(ctx, t.ne.Code); err != nil {
			return j.failure(t, err)
		}
	}
	switch len(found) {
	case 0:
		ne, err := j.sy.Create(ctx, t.ne)
		if err != nil {
			return j.failure(t, err)
		}
		return result{outcome: outCreated, remoteID: strconv.FormatInt(ne.ID, 10), hash: t.hash, message: note}
	case 1:
		have := found[0]
		rid := strconv.FormatInt(have.ID, 10)
		if o, ok := owner[rid]; ok && o != t.box.ID {
			return result{outcome: outConflict, hash: t.prev.Hash, remoteID: t.prev.RemoteID,
				message: msg(j.lang, msgSameCode, t.ne.Code, o)}
		}
		ch := sytex.Changes(have, t.ne)
		if len(ch) == 0 {
			return result{outcome: outUnchanged, remoteID: rid, hash: t.hash, message: note}
		}
		if _, err := j.sy.Patch(ctx, have.ID, ch); err != nil {
			return j.failure(t, err)
		}
		return result{outcome: outUpdated, remoteID: rid, hash: t.hash, message: note}
	default:
		ids := make([]string, len(found))
		for i, f := range found {
			ids[i] = strconv.FormatInt(f.ID, 10)
		}
		return result{outcome: outConflict, remoteID: t.prev.RemoteID, hash: t.prev.Hash,
			message: msg(j.lang, msgConflict, len(found), t.ne.Code, strings.Join(ids, ", "))}
	}
}

// failure classifies a Sytex error for one box.
func (j *Job) failure(t *task, err error) result {
	r := result{outcome: outFailed, hash: t.prev.Hash, remoteID: t.prev.RemoteID}
	var ae *sytex.APIError
	switch {
	case errors.Is(err, sytex.ErrUnauthorized):
		r.fatal = fmt.Errorf("%s: %w", msg(j.lang, msgSytex401, j.o.Sytex), err)
	case errors.Is(err, sytex.ErrForbidden):
		r.fatal = fmt.Errorf("%s: %w", msg(j.lang, msgSytex403, j.o.Sytex), err)
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return result{} // interrupted
	case errors.Is(err, sytex.ErrConflict):
		r.outcome = outConflict
		r.message = msg(j.lang, msgConflict, 2, t.ne.Code, "?")
	case errors.Is(err, sytex.ErrInvalid) && errors.As(err, &ae):
		r.message = msg(j.lang, msgRejected, t.ne.Code, ae.Message)
		r.permanent = true
	default:
		r.message = msg(j.lang, msgFailed, err)
	}
	return r
}

func (j *Job) item(rc *bridge.RunContext, key, hash, remoteID, outcome, message string) ledger.Item {
	return ledger.Item{Job: j.name, Key: key, Hash: hash, RemoteID: remoteID, Outcome: outcome,
		Message: message, RunID: rc.Run.ID, Updated: rc.Now().UTC()}
}

// record stores r in the ledger (waiting for the commit), then counts it
// and reports problems.
func (j *Job) record(ctx context.Context, com *ledger.Batcher, rc *bridge.RunContext, t *task, r result) error {
	m := r.message
	if err := com.Put(ctx, j.item(rc, t.box.ID, r.hash, r.remoteID, r.outcome, m)); err != nil {
		return err
	}
	switch r.outcome {
	case outCreated:
		rc.Count(cCreated, 1)
	case outUpdated:
		rc.Count(cUpdated, 1)
	case outUnchanged:
		rc.Count(cUnchanged, 1)
	case outConflict:
		// Reported, not sent: not delivered, so the run ends partial.
		rc.CountUndelivered(cConflicts, 1)
		rc.Problem(problemItem(t), m)
	case outFailed:
		rc.Count(cFailed, 1)
		rc.Problem(problemItem(t), m)
	}
	if m != "" && r.outcome != outFailed && r.outcome != outConflict {
		rc.Problem(problemItem(t), m)
	}
	return nil
}

func problemItem(t *task) string {
	code := t.ne.Code
	if code == "" {
		code = t.box.Name
	}
	return fmt.Sprintf("%s (OZmap %s)", code, t.box.ID)
}
