package results

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/transports"
)

// Batched pickup, for targets that implement transports.Stager (a local
// folder): the connections download files into temporary names without
// flushing them, and a committer takes whatever has been staged meanwhile
// as one batch (group commit). More workers than connections run, and a
// small file is read into memory and its transfer ended before its local
// copy is created, so a connection never waits on the local disk (creating
// a file is the slow part of a small one); only a large file streams to
// disk while it holds its connection.
//
// Per batch, the committer:
//
//  1. records every file's claim (with its target path) in one ledger
//     transaction (the downloads themselves write nothing to the ledger:
//     a claim is needed only before a final name exists; one transaction
//     per batch instead of one per few files took the pickup from 1.24
//     to 0.95 ms of CPU a file in scripts/bench-results);
//  2. Stager.Commit: all the batch's bytes durable, then the final names,
//     then each folder flushed once;
//  3. the done markers, if configured, the same way;
//  4. every file's "done" record in one ledger transaction;
//  5. the remote copies deleted or archived.
//
// The order per file is the one of take: nothing is under its final name
// before its bytes and its claim are durable, and nothing is removed from
// the source before its "done" is durable. A crash anywhere leaves at most
// temporary files (removed by the next poll's cleanTemps) and "claimed"
// records (taken again, to the same path).

// maxStaged bounds the files of one batch (and the staged files waiting
// for a commit: the downloads wait when it is reached). Staged files are
// on disk under their temporary names, not in memory.
const maxStaged = 1024

// commitWindow is how long a batch waits for more staged files before
// it is committed (it is committed at once when the downloads are over,
// or when maxStaged files are waiting). Every commit costs the file system
// a few journal commits (the files' fsyncs, the folder's, the ledger's),
// and each one holds up the creates and writes of the files still
// downloading: fewer, larger batches are cheaper. Measured with
// scripts/bench-results (2,000 files of 100 KiB, paired rounds against
// lftp, settles queued apart from the committer): a 20 ms window and 256
// files gave batches of about 40 files and 0.70x plain lftp; 500 ms and
// 1,024 files about 0.8x (the runs spread from 0.64x to 0.92x), with a few
// percent less CPU per file. A file's wait for its commit grows by at most
// this; its remote copy is removed after the commit.
const commitWindow = 500 * time.Millisecond

// memStageMax is the largest file read whole into memory before it is
// written out (at most flushFactor × connections such buffers at once).
const memStageMax = 1 << 20

// smallBufs holds the buffers of small files between transfer and write.
var smallBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// stagedFile is a downloaded file waiting for its batch's commit.
type stagedFile struct {
	c     candidate
	claim ledger.Item // recorded before the batch's final names are given
	rec   ledger.Item // the done record, once they are
	st    transports.Staged
}

// takeBatched takes the ready files into a Stager target.
func (j *Job) takeBatched(ctx context.Context, ps *pollState, stager transports.Stager, ready []candidate) error {
	var stop atomic.Bool
	queue := make(chan stagedFile, maxStaged)
	var commitErr error
	var commitWG sync.WaitGroup
	commitWG.Add(1)
	go func() {
		defer commitWG.Done()
		commitErr = j.commitLoop(ctx, ps, stager, queue, &stop)
	}()

	// Connections are bounded by ps.slots, held from opening a remote
	// file to the end of its transfer; the other workers meanwhile
	// prepare, write out or wait for commits. The workers live for the
	// whole batch: a goroutine per file would grow a fresh stack for
	// every one of them (3% of the pickup's CPU in scripts/bench-results).
	// A worker that meets a ledger failure stops the batch but keeps
	// draining todo, so that the loop below never blocks.
	todo := make(chan candidate)
	var workers sync.WaitGroup
	var errOnce sync.Once
	var err error
	for range min(flushFactor*j.opts.Connections, len(ready)) {
		workers.Go(func() {
			for c := range todo {
				if stop.Load() {
					continue
				}
				sf, ok, serr := j.stage(ctx, ps, stager, c)
				if serr != nil {
					errOnce.Do(func() { err = serr })
					stop.Store(true)
					continue
				}
				if ok {
					queue <- sf
				}
			}
		})
	}
	for _, c := range ready {
		if ctx.Err() != nil || stop.Load() {
			break
		}
		todo <- c
	}
	close(todo)
	workers.Wait()
	close(queue)
	commitWG.Wait()
	if err == nil {
		err = commitErr
	}
	return err
}

// stage downloads one ready file into a temporary name in the target
// (its claim is recorded by the batch's commit). ok is false when the file
// is not staged (failure counted and reported); err is a ledger failure
// that stops the run.
func (j *Job) stage(ctx context.Context, ps *pollState, stager transports.Stager, c candidate) (_ stagedFile, ok bool, _ error) {
	rc, src := ps.rc, ps.src
	rec := ledger.Item{Job: j.name, Key: j.fileKey(c.rel), Hash: versionOf(c.info).String(), RunID: rc.Run.ID}
	var recorded string
	if c.rec.Outcome == StateClaimed {
		recorded = c.rec.RemoteID
	}
	tp, ow, err := j.placeTarget(ctx, ps, j.targetPath(c.rel), recorded, c.info.Size)
	if err != nil {
		return stagedFile{}, false, j.notPlaced(ctx, ps, c, rec, err)
	}
	// The claim is recorded by the batch's commit, before any final name
	// is given.
	rec.Outcome, rec.RemoteID = StateClaimed, tp
	claim := rec
	failed := func(err error) (stagedFile, bool, error) {
		j.downloadFailed(ctx, ps, c, err)
		return stagedFile{}, false, nil
	}
	release, err := ps.connection(ctx)
	if err != nil {
		return failed(err)
	}
	defer release()
	r, err := j.openSource(ctx, src, c)
	if err != nil {
		return failed(err)
	}
	c.got = takenVersion(c, r)
	rec.Hash = c.got.String() // of the done record
	wo := transports.WriteOptions{Overwrite: ow, Size: c.info.Size, ModTime: c.info.ModTime, TempToken: tempToken(rec.Key, tp)}
	var st transports.Staged
	if c.info.Size <= memStageMax {
		buf := smallBufs.Get().(*bytes.Buffer)
		defer smallBufs.Put(buf)
		buf.Reset()
		buf.Grow(int(c.info.Size) + bytes.MinRead)
		// The source checks the size at the end; the limit stops a file
		// that grew far beyond its listing from filling memory.
		_, err = buf.ReadFrom(io.LimitReader(r, memStageMax+1))
		// Closing reads an FTP transfer's final reply: a failed transfer
		// fails the file.
		if cerr := r.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing %s: %w", c.rel, cerr)
		}
		release()
		if err == nil && int64(buf.Len()) != c.info.Size {
			err = fmt.Errorf("%w: %s: listed %d bytes, read %d", transports.ErrIntegrity, c.rel, c.info.Size, buf.Len())
		}
		if err != nil {
			return failed(err)
		}
		st, err = stager.Stage(ctx, tp, bytes.NewReader(buf.Bytes()), wo)
	} else {
		st, err = stager.Stage(ctx, tp, r, wo)
		if cerr := r.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing %s: %w", c.rel, cerr)
			_ = stager.Abort(context.WithoutCancel(ctx), []transports.Staged{st})
		}
		release()
	}
	if err != nil {
		return failed(err)
	}
	return stagedFile{c: c, claim: claim, rec: rec, st: st}, true, nil
}

// commitLoop commits the staged files in batches until queue is closed.
// After a ledger failure it stops (and sets stop) but keeps draining the
// queue, removing the temporary files.
func (j *Job) commitLoop(ctx context.Context, ps *pollState, stager transports.Stager, queue <-chan stagedFile, stop *atomic.Bool) error {
	var failed error
	for sf := range queue {
		batch := []stagedFile{sf}
		window := time.NewTimer(commitWindow)
	drain:
		for len(batch) < maxStaged {
			select {
			case more, ok := <-queue:
				if !ok {
					break drain
				}
				batch = append(batch, more)
			case <-window.C:
				break drain
			}
		}
		window.Stop()
		if failed == nil {
			failed = j.commitBatch(ctx, ps, stager, batch)
			if failed != nil {
				stop.Store(true)
			}
			continue
		}
		sts := make([]transports.Staged, len(batch))
		for i, b := range batch {
			sts[i] = b.st
		}
		_ = stager.Abort(context.WithoutCancel(ctx), sts)
	}
	return failed
}

// commitBatch makes one batch durable under its final names, records it
// done in one ledger transaction and settles the remote copies. Only a
// ledger failure is returned.
func (j *Job) commitBatch(ctx context.Context, ps *pollState, stager transports.Stager, batch []stagedFile) error {
	rc, src := ps.rc, ps.src
	// The write goes through even when the run is being stopped: the
	// bytes are here, and finishing is shorter than starting again.
	wctx := context.WithoutCancel(ctx)
	sts := make([]transports.Staged, len(batch))
	claims := make([]ledger.Item, len(batch))
	for i, b := range batch {
		sts[i], claims[i] = b.st, b.claim
	}
	if err := rc.Ledger.PutItems(wctx, claims); err != nil {
		_ = stager.Abort(wctx, sts)
		return fmt.Errorf("%w: %w", errLedger, err)
	}
	res, err := stager.Commit(wctx, sts)
	if err != nil {
		for _, b := range batch {
			j.downloadFailed(ctx, ps, b.c, err)
		}
		return nil
	}
	var ok []int
	for i, r := range res {
		if r.Err != nil {
			j.downloadFailed(ctx, ps, batch[i].c, r.Err)
			continue
		}
		ok = append(ok, i)
	}
	if j.opts.WriteDoneMarker != "" && len(ok) > 0 {
		ok = j.commitMarkers(wctx, ps, stager, res, ok)
	}
	if len(ok) == 0 {
		return nil
	}
	done := make([]ledger.Item, 0, len(ok))
	for _, i := range ok {
		rec := batch[i].rec
		rec.Outcome, rec.RemoteID, rec.Message = StateDone, res[i].Path, "sha256 "+res[i].SHA256
		done = append(done, rec)
	}
	if err := rc.Ledger.PutItems(wctx, done); err != nil {
		return fmt.Errorf("%w: %w", errLedger, err)
	}
	for _, i := range ok {
		c := batch[i].c
		j.mu.Lock()
		delete(j.failures, c.rel)
		j.mu.Unlock()
		rc.Count("downloaded", 1)
		rc.Count("bytes", res[i].Size)
		rc.Log.Debug("downloaded", "file", c.rel, "to", res[i].Path, "bytes", res[i].Size)
		ps.settles.Go(func() error { j.settle(ctx, rc, src, c); return nil })
	}
	return nil
}

// commitMarkers writes the done markers of the committed files ok (indexes
// into res) as one more batch, and returns the files whose
// marker is written (indexes into res). A file whose marker failed is
// taken again next poll.
func (j *Job) commitMarkers(ctx context.Context, ps *pollState, stager transports.Stager, res []transports.CommitResult, ok []int) []int {
	rc := ps.rc
	var marks []transports.Staged
	var idx []int
	for _, i := range ok {
		st, err := stager.Stage(ctx, res[i].Path+j.opts.WriteDoneMarker, bytes.NewReader(nil), transports.WriteOptions{Overwrite: transports.Replace, Size: 0})
		if err != nil {
			rc.Count("failed", 1)
			rc.Log.Warn("writing the done marker failed; the file is taken again next poll", "file", res[i].Path, "err", err)
			continue
		}
		marks = append(marks, st)
		idx = append(idx, i)
	}
	mres, err := stager.Commit(ctx, marks)
	var out []int
	for k, i := range idx {
		e := err
		if e == nil {
			e = mres[k].Err
		}
		if e != nil {
			rc.Count("failed", 1)
			rc.Log.Warn("writing the done marker failed; the file is taken again next poll", "file", res[i].Path, "err", e)
			continue
		}
		out = append(out, i)
	}
	return out
}

// notPlaced handles a file whose target path could not be chosen: a name
// collision under on_collision = "fail" (recorded and reported once) or an
// unreachable target (reported once per poll). Only a ledger failure is
// returned.
func (j *Job) notPlaced(ctx context.Context, ps *pollState, c candidate, rec ledger.Item, err error) error {
	rc, dst := ps.rc, ps.dst
	if errors.Is(err, transports.ErrExist) {
		first := c.rec.Outcome != StateCollision
		rec.Outcome, rec.Message = StateCollision, err.Error()
		if perr := ps.commit.Put(ctx, rec); perr != nil {
			return fmt.Errorf("ledger: %w", perr)
		}
		rc.Count("failed", 1)
		if first {
			rc.Problem(c.rel, j.msg(msgCollision, j.targetPath(c.rel), dst))
		}
		return nil
	}
	rc.Count("failed", 1)
	rc.Log.Warn("target not ready", "file", c.rel, "err", err)
	ps.targetOnce.Do(func() { rc.Problem(dst.String(), j.msg(msgTargetFailing, dst, err)) })
	return nil
}

// downloadFailed counts and reports a file that could not be downloaded or
// written; it is tried again next poll. A file gone from the source since
// the listing is only counted.
func (j *Job) downloadFailed(ctx context.Context, ps *pollState, c candidate, err error) {
	rc, src := ps.rc, ps.src
	if errors.Is(err, syscall.ENAMETOOLONG) {
		// the target's file system will never hold this name
		tp := j.targetPath(c.rel)
		msg := j.msg(msgNameTooLong, c.rel, src, ps.dst, fmt.Sprintf("%q (%d bytes)", path.Base(tp), len(path.Base(tp))), transports.MaxNameBytes, err)
		rec := ledger.Item{Job: j.name, Key: j.fileKey(c.rel), Hash: versionOf(c.info).String(), Outcome: StateFailed, Message: msg, RunID: rc.Run.ID}
		if perr := ps.commit.Put(ctx, rec); perr != nil {
			rc.Log.Error("ledger", "err", perr)
		}
		rc.Count("refused", 1)
		rc.Problem(fmt.Sprintf("%q", c.rel), msg)
		return
	}
	if errors.Is(err, transports.ErrNotExist) && ctx.Err() == nil {
		// Gone between listing and download (removed by its owner, or a
		// listing line that names no real file).
		rc.Count("vanished", 1)
		rc.Log.Info("file vanished before it could be downloaded", "file", c.rel, "err", err)
		return
	}
	rc.Count("failed", 1)
	if ctx.Err() == nil {
		n := j.failedAttempt(c.rel)
		rc.Log.Warn("download failed; it is tried again next poll", "file", c.rel, "attempt", n, "err", err)
		if n == 3 {
			rc.Problem(c.rel, j.msg(msgDownloadFailing, c.rel, src, n, err))
		}
	}
}
