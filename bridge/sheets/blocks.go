package sheets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

// In a cluster, the rows of a sheet taken from a shared (local or network)
// folder are sent by several nodes at once. The node that took the sheet
// (holding the job's lease) publishes it as work ("w:<sha>") split in
// blocks; every node, that one included, takes a block at a time under a
// lease of its own ("part:<job>:<sha>:<i>") and sends its rows through the
// same path as a single node, with every write fenced by the block's
// lease; a finished block is recorded ("b:<sha>:<i>"). A row's block is
// chosen by its target key (the task number or customer number), so that
// rows of one task always go through one block, in file order, and two
// nodes never send the same task at once. When every block is done, the
// node that took the sheet writes the one report, from the ledger. A node
// that dies loses its block after the lease, and another takes it over
// and resumes it as a restart would.

const (
	workPrefix  = "w:"
	blockPrefix = "b:"
	workOpen    = "open"
	workClosed  = "closed"
	blockDone   = "done"
)

// sharedWork is the JSON of a "w:<sha>" item.
type sharedWork struct {
	Source string `json:"source"` // the inbox
	Name   string `json:"name"`   // the file's name in the ledger
	Rel    string `json:"rel"`    // its path under the inbox (processing/…)
	Blocks int    `json:"blocks"`
}

// shareMinRows is the smallest sheet whose rows are shared: below it, the
// cost of cutting it (each block reads the sheet) is more than what other
// nodes would save.
const shareMinRows = 1000

// shareable reports whether the file's rows may be sent by several nodes:
// in a cluster of more than one live node, by web service, from a folder
// every node reads, unless the job holds the file until all rows are
// valid, for a sheet of at least shareMinRows rows (or one shared before).
func (j *job) shareable(ctx context.Context, in *Inbox, rec ledger.File, path string, l ledger.Ledger) bool {
	if !j.env.Clustered() || in.remote() || j.opts.Delivery == DeliveryFTP || j.opts.AllOrNothing {
		return false
	}
	if _, err := l.GetItem(ctx, j.name, workPrefix+rec.SHA256); err == nil {
		return true // resumed: keep the blocks as they were cut
	}
	if rec.Size < 16<<10 || j.env.Nodes(ctx) < 2 {
		return false
	}
	src, err := j.openSheet(path, rec, in)
	if err != nil {
		return false
	}
	defer src.Close()
	rows, err := src.rows()
	if err != nil {
		return false
	}
	for n := 0; ; n++ {
		_, ok, err := rows()
		if err != nil || !ok {
			return false
		}
		if n+1 >= shareMinRows {
			return true
		}
	}
}

// blocksFor is how many blocks a sheet is split in: two per live node, so
// that a slower node does not hold the others up at the end.
func (j *job) blocksFor(ctx context.Context) int {
	return 2 * j.env.Nodes(ctx)
}

// blockOf is the block of a row: by its target key, or by its number for
// a row without one (refused rows).
func blockOf(r *outRow, blocks int) int {
	key := targetKeyOf(r)
	if key == "" || r.Problem != "" {
		return r.Num % blocks
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(blocks))
}

// deliverShared publishes the sheet as work, sends blocks until none is
// left, and waits for the blocks other nodes hold. It returns once every
// row's outcome is in the ledger.
func (j *job) deliverShared(ctx context.Context, rc *bridge.RunContext, in *Inbox, rec ledger.File, path string) error {
	key := workPrefix + rec.SHA256
	var w sharedWork
	it, err := rc.Ledger.GetItem(ctx, j.name, key)
	switch {
	case err == nil:
		// Published before (a node that died, or a run that stopped):
		// the blocks stay as they were cut.
		if err := json.Unmarshal([]byte(it.Message), &w); err != nil || w.Blocks <= 0 {
			return fmt.Errorf("ledger item %s: %v", key, err)
		}
	case errors.Is(err, ledger.ErrNotFound):
		rel, rerr := filepath.Rel(in.Path, path)
		if rerr != nil || strings.HasPrefix(rel, "..") {
			return fmt.Errorf("%s is not under the inbox %s", path, in.Path)
		}
		w = sharedWork{Source: in.source(), Name: rec.Name, Rel: filepath.ToSlash(rel), Blocks: j.blocksFor(ctx)}
	default:
		return err
	}
	b, _ := json.Marshal(w)
	if err := rc.Ledger.PutItem(ctx, ledger.Item{Job: j.name, Key: key, Outcome: workOpen, Message: string(b),
		RunID: rc.Run.ID, Updated: rc.Now()}); err != nil {
		return err
	}
	rc.Log.Info("sheet shared with the other nodes", "file", rec.Name, "blocks", w.Blocks)
	for {
		left, err := j.sendBlocks(ctx, rc, in, rec, path, w)
		if err != nil {
			return err
		}
		if left == 0 {
			break
		}
		// Blocks other nodes are sending: wait for them (or for their
		// leases to expire, then take them).
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return rc.Ledger.PutItem(ctx, ledger.Item{Job: j.name, Key: key, Outcome: workClosed, Message: string(b),
		RunID: rc.Run.ID, Updated: rc.Now()})
}

// sendBlocks sends every block of w not done and not held by another
// node; it returns how many are still not done.
func (j *job) sendBlocks(ctx context.Context, rc *bridge.RunContext, in *Inbox, rec ledger.File, path string, w sharedWork) (int, error) {
	done, err := j.blocksDone(ctx, rc.Ledger, rec.SHA256)
	if err != nil {
		return 0, err
	}
	left := 0
	for i := 0; i < w.Blocks; i++ {
		if done[i] {
			continue
		}
		h, err := j.env.Hold(ctx, j.name, rec.SHA256+":"+strconv.Itoa(i))
		if errors.Is(err, bridge.ErrHeldElsewhere) {
			left++
			continue
		}
		if err != nil {
			return 0, err
		}
		// Done meanwhile by the node that held it just before?
		if _, gerr := h.Ledger.GetItem(h.Ctx, j.name, blockKey(rec.SHA256, i)); gerr == nil {
			h.Release()
			continue
		}
		err = j.sendBlock(h.Ctx, rc, h.Ledger, in, rec, path, i, w.Blocks)
		if err == nil {
			err = h.Ledger.PutItem(h.Ctx, ledger.Item{Job: j.name, Key: blockKey(rec.SHA256, i), Outcome: blockDone,
				RunID: rc.Run.ID, Updated: rc.Now()})
		}
		h.Release()
		if err != nil {
			if cause := context.Cause(h.Ctx); cause != nil && ctx.Err() == nil {
				err = fmt.Errorf("block %d of %s: %w", i, rec.Name, cause)
			}
			return 0, err
		}
	}
	return left, nil
}

func blockKey(sha string, i int) string { return fmt.Sprintf("%s%s:%03d", blockPrefix, sha, i) }

// blocksDone returns the blocks of the file recorded as done.
func (j *job) blocksDone(ctx context.Context, l ledger.Ledger, sha string) (map[int]bool, error) {
	out := map[int]bool{}
	err := l.ItemsWithPrefix(ctx, j.name, blockPrefix+sha+":", func(it ledger.Item) error {
		if it.Outcome == blockDone {
			out[rowOfKey(it.Key)] = true
		}
		return nil
	})
	return out, err
}

// sendBlock sends the rows of block i of blocks through l (fenced by the
// block's lease), skipping those whose outcome is recorded.
func (j *job) sendBlock(ctx context.Context, rc *bridge.RunContext, l ledger.Ledger, in *Inbox, rec ledger.File, path string, i, blocks int) error {
	src, err := j.openSheet(path, rec, in)
	if err != nil {
		return err
	}
	defer src.Close()
	doneSet, err := doneRows(ctx, l, j.name, rec.SHA256)
	if err != nil {
		return err
	}
	rows, err := src.rows()
	if err != nil {
		return err
	}
	mine := func() (outRow, bool, error) {
		for {
			r, ok, err := rows()
			if err != nil || !ok {
				return r, ok, err
			}
			if blockOf(&r, blocks) == i {
				return r, true, nil
			}
		}
	}
	ws := &webSend{api: j.api, ledger: l, job: j.name, runID: rc.Run.ID, sha: rec.SHA256, name: rec.Name,
		conc: j.conc, rc: rc, now: rc.Now, text: j.msg, loc: j.location()}
	if ms, ok := src.(*mappedSheet); ok {
		ws.label = ms.m.ColumnOf
	}
	_, err = ws.run(ctx, wrapRows(mine), doneSet)
	return err
}

// AssistPending reports whether a sheet taken by another node has a
// block that nobody is sending (bridge.Assister). Work whose sheet was
// settled meanwhile is closed.
func (j *job) AssistPending(ctx context.Context) (bool, error) {
	if !j.env.Clustered() {
		return false, nil
	}
	var open []ledger.Item
	err := j.env.Ledger.ItemsWithPrefix(ctx, j.name, workPrefix, func(it ledger.Item) error {
		if it.Outcome == workOpen {
			open = append(open, it)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	for _, it := range open {
		var w sharedWork
		sha := strings.TrimPrefix(it.Key, workPrefix)
		if json.Unmarshal([]byte(it.Message), &w) != nil || w.Blocks <= 0 {
			continue
		}
		rec, err := j.env.Ledger.FileByName(ctx, j.name, w.Source, w.Name)
		if err != nil && !errors.Is(err, ledger.ErrNotFound) {
			return false, err
		}
		if err != nil || rec.SHA256 != sha || rec.State != ledger.FileProcessing {
			it.Outcome = workClosed
			if err := j.env.Ledger.PutItem(ctx, it); err != nil {
				return false, err
			}
			continue
		}
		done, err := j.blocksDone(ctx, j.env.Ledger, sha)
		if err != nil {
			return false, err
		}
		held, err := j.env.HeldParts(ctx, j.name, sha+":")
		if err != nil {
			return false, err
		}
		busy := map[int]bool{}
		for _, h := range held {
			busy[rowOfKey(h)] = true
		}
		for i := 0; i < w.Blocks; i++ {
			if !done[i] && !busy[i] {
				return true, nil
			}
		}
	}
	return false, nil
}

// Assist sends blocks of the sheets other nodes shared (bridge.Assister).
func (j *job) Assist(ctx context.Context, rc *bridge.RunContext) error {
	var open []sharedWork
	var shas []string
	err := rc.Ledger.ItemsWithPrefix(ctx, j.name, workPrefix, func(it ledger.Item) error {
		var w sharedWork
		if it.Outcome == workOpen && json.Unmarshal([]byte(it.Message), &w) == nil && w.Blocks > 0 {
			open = append(open, w)
			shas = append(shas, strings.TrimPrefix(it.Key, workPrefix))
		}
		return nil
	})
	if err != nil {
		return err
	}
	var errs []error
	for k, w := range open {
		in := j.inboxOf(w.Source)
		if in == nil || in.remote() {
			continue
		}
		rec, err := rc.Ledger.FileByName(ctx, j.name, w.Source, w.Name)
		if err != nil || rec.SHA256 != shas[k] || rec.State != ledger.FileProcessing {
			continue // settled meanwhile
		}
		path := filepath.Join(in.Path, filepath.FromSlash(w.Rel))
		if _, err := j.sendBlocks(ctx, rc, in, rec, path, w); err != nil {
			if ctx.Err() != nil {
				return err
			}
			errs = append(errs, fmt.Errorf("%s: %w", w.Name, err))
		}
	}
	return errors.Join(errs...)
}

// inboxOf returns the inbox whose ledger source is source.
func (j *job) inboxOf(source string) *Inbox {
	for i := range j.opts.Inboxes {
		if j.opts.Inboxes[i].source() == source {
			return &j.opts.Inboxes[i]
		}
	}
	return nil
}
