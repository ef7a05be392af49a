package results

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/transports"
)

// stateObserved is the job state (ledger State) holding the last poll's
// observations of files not yet taken, as JSON.
const stateObserved = "pickup.observed"

// File record states (Item.Outcome of a "file:" item).
const (
	StateClaimed   = "claimed"   // a download started; RemoteID is its target path
	StateDone      = "done"      // in the target (and its marker written)
	StateFailed    = "failed"    // refused for good (name, size): reported once
	StateCollision = "collision" // on_collision = "fail" and the name is taken
	// StateChanged: the source changed after this version was taken (it
	// was not removed); what it holds now is taken as a new version.
	StateChanged = "changed"
)

// filePrefix starts the ledger item key of a remote file:
// "file:<source connection>:<path under source_dir>".
const filePrefix = "file:"

func (j *Job) fileKey(rel string) string { return filePrefix + j.opts.Source + ":" + rel }

// observation is what a poll saw of a file not yet taken.
type observation struct {
	Size  int64 `json:"s"`
	MTime int64 `json:"m"` // unix nanoseconds, as listed
	Since int64 `json:"t"` // unix nanoseconds, our clock: first seen with this size and mtime
}

// candidate is a remote file a poll will act on.
type candidate struct {
	rel  string // relative to SourceDir
	info transports.FileInfo
	// got is the version taken: the listing's, or the more precise one
	// the source gave as the download began (transports.Versioned). Before
	// the remote copy is removed, the server must still have it.
	got fileVersion
	// rec is the ledger's record of this very version (same size and
	// mtime); zero when there is none.
	rec ledger.Item
	// marker is the remote done marker's path (relative to SourceDir)
	// when it exists.
	marker string
}

// full is the candidate's path relative to the source connection's root.
func (j *Job) full(rel string) string {
	if j.opts.SourceDir == "" || j.opts.SourceDir == "." {
		return rel
	}
	return path.Join(j.opts.SourceDir, rel)
}

// pollState is what one poll's workers share.
type pollState struct {
	rc     *bridge.RunContext
	src    transports.Transport
	dst    transports.Transport
	commit *ledger.Batcher
	// targetOnce reports an unreachable target once per poll.
	targetOnce sync.Once
	// slots bounds the downloads in flight (options.connections).
	slots chan struct{}
	// settles removes or archives remote files whose "done" is durable.
	settles *settleQueue
	// reserved holds target paths chosen in this poll (keep_both), so
	// that two files never pick the same free name.
	mu       sync.Mutex
	reserved map[string]bool
}

// poll is one run of the FTP pickup.
func (j *Job) poll(ctx context.Context, rc *bridge.RunContext) error {
	src, err := j.sourceT(ctx)
	if err != nil {
		return err
	}
	dst, err := j.targetT(ctx)
	if err != nil {
		return err
	}
	// Entries the backend leaves out for their names are reported too;
	// symbolic links and other special files are counted, never followed.
	var mu sync.Mutex
	skipped := map[string]error{}
	links := map[string]bool{}
	lctx := transports.WithSkipFunc(ctx, func(p string, reason error) {
		mu.Lock()
		defer mu.Unlock()
		if errors.Is(reason, transports.ErrNotRegular) {
			if !links[p] {
				rc.Log.Debug("not a regular file; left alone", "file", p, "reason", reason)
			}
			links[p] = true
			return
		}
		skipped[p] = reason
	})
	listing, err := src.List(lctx, j.opts.SourceDir, j.opts.Recursive)
	if err != nil {
		return fmt.Errorf("listing %s (folder %q): %w", src, j.opts.SourceDir, err)
	}
	if len(links) > 0 {
		rc.Count("skipped_links", int64(len(links)))
	}
	now := rc.Now()
	files := make(map[string]transports.FileInfo, len(listing))
	for _, fi := range listing {
		if !fi.IsDir {
			files[fi.Path] = fi
		}
	}
	// The ledger's records of the listed files (looked up by key, a few
	// hundred per query: the cost follows the listing, not the history of
	// every file ever taken).
	byKey := make(map[string]string, len(files)+len(skipped))
	for rel := range files {
		byKey[j.fileKey(rel)] = rel
	}
	for rel := range skipped {
		byKey[j.fileKey(rel)] = rel
	}
	found, err := rc.Ledger.GetItems(ctx, j.name, sortedKeys(byKey))
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	records := make(map[string]ledger.Item, len(found))
	for key, it := range found {
		records[byKey[key]] = it
	}
	for _, p := range sortedKeys(skipped) {
		if _, listed := files[p]; !listed {
			j.refuse(ctx, rc, records, p, transports.FileInfo{Path: p}, j.msg(msgUnsafeName, p, skipped[p], src))
		}
	}
	prev := j.loadObserved(ctx, rc)
	next := make(map[string]observation)
	archiveRel := j.archiveRel()

	var ready, cleanup []candidate
	for _, rel := range sortedKeys(files) {
		fi := files[rel]
		if archiveRel != "" && (rel == archiveRel || strings.HasPrefix(rel, archiveRel+"/")) {
			continue
		}
		if j.opts.DoneMarker != "" && strings.HasSuffix(rel, j.opts.DoneMarker) {
			continue
		}
		if err := safeRel(rel); err != nil {
			j.refuse(ctx, rc, records, rel, fi, j.msg(msgUnsafeName, rel, err, src))
			continue
		}
		if !j.wanted(rel) {
			continue
		}
		rc.Count("listed", 1)
		c := candidate{rel: rel, info: fi}
		if j.opts.DoneMarker != "" {
			if _, ok := files[rel+j.opts.DoneMarker]; ok {
				c.marker = rel + j.opts.DoneMarker
			}
		}
		if rec, ok := records[rel]; ok && j.recordedAs(rec, fi) {
			c.rec = rec
			switch rec.Outcome {
			case StateDone:
				c.got, _ = parseVersion(rec.Hash)
				if j.opts.After != AfterLeave {
					// its removal was interrupted: settle checks that
					// the server still has the version taken
					cleanup = append(cleanup, c)
					continue
				}
				changed, err := j.leftChanged(ctx, rc, src, c)
				if err != nil {
					return err
				}
				if !changed {
					continue
				}
				c.rec = ledger.Item{} // a new version under the same name
			case StateFailed:
				continue // refused for good; reported when it happened
			case StateCollision, StateClaimed:
				// A name collision that may be gone, or an interrupted
				// download (the file was stable then): take it again.
				ready = append(ready, c)
				continue
			}
		}
		if m := j.opts.WriteDoneMarker; m != "" && len(path.Base(rel))+len(m) > transports.MaxNameBytes {
			name := path.Base(rel) + m
			j.refuse(ctx, rc, records, rel, fi, j.msg(msgNameTooLong, rel, src, dst, fmt.Sprintf("%d bytes with the done marker (%q)", len(name), m), transports.MaxNameBytes, "write_done_marker"))
			continue
		}
		if j.opts.MaxFileSize > 0 && fi.Size > j.opts.MaxFileSize {
			j.refuse(ctx, rc, records, rel, fi, j.msg(msgTooLarge, rel, src, fi.Size, j.opts.MaxFileSize))
			continue
		}
		if c.marker != "" {
			ready = append(ready, c)
			continue
		}
		o := observation{Size: fi.Size, MTime: fi.ModTime.UnixNano(), Since: now.UnixNano()}
		if p, ok := prev[rel]; ok && p.Size == o.Size && p.MTime == o.MTime {
			o.Since = p.Since
			if j.stable(fi, now.Sub(time.Unix(0, o.Since)), now) {
				// Kept until the file is recorded: one whose download
				// fails is ready again at the next poll.
				next[rel] = o
				ready = append(ready, c)
				continue
			}
		}
		next[rel] = o
		rc.Count("waiting", 1)
	}
	if err := j.saveObserved(ctx, rc, next); err != nil {
		return err
	}
	if len(ready) == 0 && len(cleanup) == 0 {
		return nil
	}

	// Temporary files left in the target by a killed earlier run: polls do
	// not overlap, so none of them is being written now.
	byDir := map[string]map[string]bool{}
	for _, c := range ready {
		tp := j.targetPath(c.rel)
		d := path.Dir(tp)
		if byDir[d] == nil {
			byDir[d] = map[string]bool{}
		}
		byDir[d][path.Base(tp)] = true
	}
	for _, d := range sortedKeys(byDir) {
		j.cleanTemps(ctx, rc, dst, d, byDir[d], time.Time{})
	}

	ps := &pollState{rc: rc, src: src, dst: dst, commit: ledger.NewBatcher(rc.Ledger, 0), reserved: map[string]bool{},
		slots:   make(chan struct{}, j.opts.Connections),
		settles: newSettleQueue(j.opts.Connections, len(cleanup)+len(ready))}
	// Files recorded done by an earlier poll whose remote copy is still
	// there are settled first, on the same queue as this poll's.
	for _, c := range cleanup {
		ps.settles.Go(func() error { j.settle(ctx, rc, src, c); return nil })
	}
	// A plain group, not errgroup.WithContext: transports may keep pooled
	// connections tied to the context they were opened with, so the
	// context handed to them must not be cancelled when the poll ends.
	// More workers than connection slots: while finished files are being
	// flushed (fsync, rename — the slow part on a busy disk, and several
	// fsyncs in flight share the file system's journal commits), the
	// connections already download the next ones.
	var g errgroup.Group
	g.SetLimit(flushFactor * j.opts.Connections)
	var stop atomic.Bool
	// A target that can make many files durable at once takes the ready
	// files in batches (batch.go); others file by file.
	stager, batched := dst.(transports.Stager)
	if batched {
		batch := ready
		g.Go(func() error { return j.takeBatched(ctx, ps, stager, batch) })
		ready = nil
	}
	for _, c := range ready {
		if ctx.Err() != nil || stop.Load() {
			break
		}
		g.Go(func() error {
			if stop.Load() {
				return nil
			}
			err := j.take(ctx, ps, c)
			if err != nil {
				stop.Store(true)
			}
			return err
		})
	}
	err = g.Wait()
	if serr := ps.settles.Wait(); err == nil {
		err = serr
	}
	ps.commit.Close()
	if err != nil {
		return err
	}
	return ctx.Err()
}

// take downloads one ready file into the target, records it and settles
// the remote copy. Failures are counted and reported; the file is tried
// again next poll. Only a ledger failure stops the run.
func (j *Job) take(ctx context.Context, ps *pollState, c candidate) error {
	rc, src, dst := ps.rc, ps.src, ps.dst
	rec := ledger.Item{Job: j.name, Key: j.fileKey(c.rel), Hash: versionOf(c.info).String(), RunID: rc.Run.ID}
	var recorded string
	if c.rec.Outcome == StateClaimed {
		recorded = c.rec.RemoteID
	}
	tp, ow, err := j.placeTarget(ctx, ps, j.targetPath(c.rel), recorded, c.info.Size)
	if err != nil {
		return j.notPlaced(ctx, ps, c, rec, err)
	}
	// The claim (with the target path) must be durable before the file
	// gets its final name in the target, not before the download starts:
	// it is committed while the bytes flow, and the source reader waits for
	// it at the end of the stream, before Write renames.
	rec.Outcome, rec.RemoteID = StateClaimed, tp
	claimed := ps.commit.PutAsync(rec)
	res, got, err := j.download(ctx, ps, c, tp, ow, tempToken(rec.Key, tp), claimed)
	c.got = got
	if errors.Is(err, errLedger) {
		return err
	}
	if err != nil {
		j.downloadFailed(ctx, ps, c, err)
		return nil
	}
	j.mu.Lock()
	delete(j.failures, c.rel)
	j.mu.Unlock()
	if j.opts.WriteDoneMarker != "" {
		if _, err := dst.Write(ctx, tp+j.opts.WriteDoneMarker, bytes.NewReader(nil), transports.WriteOptions{Overwrite: transports.Replace, Size: 0}); err != nil {
			rc.Count("failed", 1)
			rc.Log.Warn("writing the done marker failed; the file is taken again next poll", "file", tp, "err", err)
			return nil
		}
	}
	// The remote copy is settled only once "done" is durable; the worker
	// goes on with the next file meanwhile.
	rec.Outcome, rec.RemoteID, rec.Message = StateDone, res.Path, "sha256 "+res.SHA256
	rec.Hash = got.String()
	done := ps.commit.PutAsync(rec)
	rc.Count("downloaded", 1)
	rc.Count("bytes", res.Size)
	rc.Log.Debug("downloaded", "file", c.rel, "to", res.Path, "bytes", res.Size)
	ps.settles.Go(func() error {
		if err := <-done; err != nil {
			return fmt.Errorf("%w: %w", errLedger, err)
		}
		j.settle(ctx, rc, src, c)
		return nil
	})
	return nil
}

// flushFactor is how many files per connection slot may be in hand at
// once (one downloading, the others being flushed to the target).
const flushFactor = 4

// errLedger marks a failure to record in the ledger: the run stops.
var errLedger = errors.New("ledger")

// gatedReader passes a remote file's bytes to the target's Write. At the
// end of the stream, before Write may fsync and rename, it closes the
// remote file (an FTP transfer's final reply is read there: a failed
// transfer fails the Write), gives the connection slot back so another
// download can start while this file is flushed, and waits until the claim
// is durable (a failed claim fails the Write too).
type gatedReader struct {
	r     io.Reader
	atEOF func() error
	gate  <-chan error
	err   error
	done  bool
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	if err == io.EOF && !g.done {
		g.done = true
		if cerr := g.atEOF(); cerr != nil {
			g.err = cerr
		}
		if gerr := <-g.gate; gerr != nil && g.err == nil {
			g.err = fmt.Errorf("%w: %w", errLedger, gerr)
		}
	}
	if g.err != nil {
		return n, g.err
	}
	return n, err
}

// onceCloser closes once and remembers the result.
type onceCloser struct {
	c    io.Closer
	once sync.Once
	err  error
}

func (o *onceCloser) Close() error {
	o.once.Do(func() { o.err = o.c.Close() })
	return o.err
}

// download streams the remote file into the target at tp and returns the
// version it took. It holds one of the poll's connection slots from
// opening the remote file to its end.
func (j *Job) download(ctx context.Context, ps *pollState, c candidate, tp string, ow transports.Overwrite, token string, gate <-chan error) (transports.WriteResult, fileVersion, error) {
	src, dst := ps.src, ps.dst
	got := versionOf(c.info)
	waitGate := func() error {
		if gerr := <-gate; gerr != nil {
			return fmt.Errorf("%w: %w", errLedger, gerr)
		}
		return nil
	}
	release, err := ps.connection(ctx)
	if err != nil {
		if gerr := waitGate(); gerr != nil {
			return transports.WriteResult{}, got, gerr
		}
		return transports.WriteResult{}, got, err
	}
	defer release()
	r, err := j.openSource(ctx, src, c)
	if err != nil {
		if gerr := waitGate(); gerr != nil {
			return transports.WriteResult{}, got, gerr
		}
		return transports.WriteResult{}, got, err
	}
	got = takenVersion(c, r)
	rc := &onceCloser{c: r}
	defer rc.Close()
	gr := &gatedReader{r: r, gate: gate, atEOF: func() error {
		err := rc.Close()
		release()
		if err != nil {
			return fmt.Errorf("closing %s: %w", c.rel, err)
		}
		return nil
	}}
	res, err := dst.Write(ctx, tp, gr, transports.WriteOptions{Overwrite: ow, Size: c.info.Size, ModTime: c.info.ModTime, TempToken: token})
	if !gr.done { // Write gave up before the end: still wait for the claim
		gr.done = true
		if gerr := waitGate(); gerr != nil {
			return res, got, gerr
		}
	}
	if err != nil {
		return res, got, err
	}
	if res.Size != c.info.Size {
		_ = dst.Remove(ctx, res.Path)
		return res, got, fmt.Errorf("%w: %s: listed %d bytes, wrote %d", transports.ErrIntegrity, c.rel, c.info.Size, res.Size)
	}
	return res, got, nil
}

// tempToken is the token of the temporary name a file is written under in
// the target: the same for every attempt at one file and target path, so
// that an attempt killed midway is overwritten by the next one rather
// than left behind (FTP servers hide dot names from listings, so such a
// leftover could not be found again).
func tempToken(key, target string) string {
	h := sha256.Sum256([]byte(key + "\x00" + target))
	return hex.EncodeToString(h[:6])
}

// openSource starts the download of a candidate. Where the listing's time
// is coarse (FTP LIST: minutes), the source is asked for the precise one
// as the transfer begins (MDTM), so that a rewrite of the same size later
// in the same minute is told apart before the source is removed.
func (j *Job) openSource(ctx context.Context, src transports.Transport, c candidate) (io.ReadCloser, error) {
	octx := transports.WithKnownSize(ctx, c.info.Size)
	if !versionOf(c.info).precise() {
		octx = transports.WithOpenStat(octx)
	}
	return src.Open(octx, j.full(c.rel))
}

// takenVersion is the version a download started reading: what the
// source said as it opened the file, when it said and it agrees with the
// listing's size; else the listing's.
func takenVersion(c candidate, r io.Reader) fileVersion {
	listed := versionOf(c.info)
	if vr, ok := r.(transports.Versioned); ok {
		if fi, ok := vr.Info(); ok && fi.Size == c.info.Size && !fi.ModTime.IsZero() && fi.Precision <= listed.Prec {
			return versionOf(fi)
		}
	}
	return listed
}

// placeTarget decides the target path for a file whose natural place is
// want, and the overwrite policy to write it with. recorded is the path
// an interrupted earlier attempt claimed ("" for none): a file found there
// with the expected size is taken to be that attempt's and is replaced, so
// an interrupted download never leaves two copies. With keep_both a free
// name with a suffix is chosen (and reserved for this poll); with fail an
// occupied name gives an error wrapping transports.ErrExist.
func (j *Job) placeTarget(ctx context.Context, ps *pollState, want, recorded string, size int64) (string, transports.Overwrite, error) {
	if j.opts.OnCollision == CollisionReplace {
		return want, transports.Replace, nil
	}
	dst := ps.dst
	if recorded != "" {
		fi, err := dst.Stat(ctx, recorded)
		switch {
		case errors.Is(err, transports.ErrNotExist):
			if ps.reserve(recorded) {
				return recorded, transports.Fail, nil
			}
		case err != nil:
			return "", 0, err
		case fi.Size == size:
			return recorded, transports.Replace, nil
		}
	}
	for n := 1; n < 10000; n++ {
		p := transports.KeepBothName(want, n)
		_, err := dst.Stat(ctx, p)
		switch {
		case errors.Is(err, transports.ErrNotExist):
			if ps.reserve(p) {
				return p, transports.Fail, nil
			}
		case err != nil:
			return "", 0, err
		}
		if j.opts.OnCollision == CollisionFail {
			return "", 0, fmt.Errorf("%s: %w", want, transports.ErrExist)
		}
	}
	return "", 0, fmt.Errorf("%s: no free name: %w", want, transports.ErrExist)
}

// connection takes one of the poll's connection slots (options.connections)
// and returns its release, which may be called more than once.
func (ps *pollState) connection(ctx context.Context) (release func(), err error) {
	select {
	case ps.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() { once.Do(func() { <-ps.slots }) }, nil
}

// reserve marks p as chosen in this poll; false when it already was.
func (ps *pollState) reserve(p string) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.reserved[p] {
		return false
	}
	ps.reserved[p] = true
	return true
}

// settle deletes or archives the remote file (and its done marker) once it
// is recorded done, after checking that the server still has the version
// that was taken: a file rewritten meanwhile (OfficeTrack re-exporting a
// form, a writer that had paused) is left for the next poll, which takes
// it as a new version. Failures are reported; the next poll tries again.
func (j *Job) settle(ctx context.Context, rc *bridge.RunContext, src transports.Transport, c candidate) {
	if j.opts.After == AfterLeave {
		return
	}
	if same, err := j.stillTaken(ctx, rc, src, c); err != nil || !same {
		return
	}
	paths := []string{c.rel}
	if c.marker != "" {
		paths = append(paths, c.marker)
	}
	for _, rel := range paths {
		var err error
		switch j.opts.After {
		case AfterDelete:
			err = src.Remove(ctx, j.full(rel))
			if errors.Is(err, transports.ErrNotExist) {
				err = nil
			}
			if err == nil && rel == c.rel {
				rc.Count("removed", 1)
			}
		case AfterArchive:
			err = src.Rename(ctx, j.full(rel), path.Join(j.opts.ArchiveDir, rel))
			if err == nil && rel == c.rel {
				rc.Count("archived", 1)
			}
		}
		if err != nil {
			j.settleFailed(ctx, rc, src, c, rel, err)
			return
		}
	}
}

// stillTaken reports whether the source still holds the version of c that
// was taken (c.got), so that removing it loses nothing. A file that
// changed is recorded StateChanged (taken again as a new version) and
// counted; a file already gone needs no settling. Where neither time is
// precise (a server with neither MLSD nor MDTM) only the size and the
// coarse time can be compared.
func (j *Job) stillTaken(ctx context.Context, rc *bridge.RunContext, src transports.Transport, c candidate) (bool, error) {
	cur, err := src.Stat(ctx, j.full(c.rel))
	switch {
	case errors.Is(err, transports.ErrNotExist):
		return false, nil
	case err != nil:
		j.settleFailed(ctx, rc, src, c, c.rel, err)
		return false, err
	}
	now := versionOf(cur)
	if cur.ModTime.IsZero() { // a server that cannot tell the time: the size is all there is
		now.MTime, now.Prec = c.got.MTime, c.got.Prec
	}
	if c.got.same(now) || (!(c.got.precise() && now.precise()) && c.got.mayBe(now)) {
		return true, nil
	}
	rc.Count("changed", 1)
	rc.Log.Info("the file changed on the server after it was taken; the new version is taken at the next poll",
		"file", c.rel, "taken", c.got.String(), "now", now.String())
	rec := ledger.Item{Job: j.name, Key: j.fileKey(c.rel), Hash: c.got.String(), Outcome: StateChanged,
		RemoteID: c.rec.RemoteID, Message: "changed on the server after it was taken: " + now.String(), RunID: rc.Run.ID}
	if err := rc.Ledger.PutItem(ctx, rec); err != nil {
		rc.Log.Error("ledger", "err", err)
	}
	return false, nil
}

// settleFailed reports a remote file that could not be removed or
// archived (or checked before that).
func (j *Job) settleFailed(ctx context.Context, rc *bridge.RunContext, src transports.Transport, c candidate, rel string, err error) {
	if ctx.Err() != nil {
		return
	}
	rc.Count("settle_failed", 1)
	id := msgDeleteFailed
	if j.opts.After == AfterArchive {
		id = msgArchiveFailed
	}
	rc.Problem(c.rel, j.msg(id, rel, src, err))
}

// clockMargin is how far the server's clock may be off the bridge's for
// leftChanged.
const clockMargin = 2 * time.Minute

// leftChanged reports whether a file left on the source (after = "leave")
// that lists like the version taken is in fact a newer one. Only a coarse
// listing (minutes) can hide a same-size rewrite: while one could still
// fall in the listed minute of the version taken, the source is asked for
// the precise time (MDTM). After a check made once that minute is over, a
// later rewrite lists differently, so the record is refreshed and no more
// checks are made.
func (j *Job) leftChanged(ctx context.Context, rc *bridge.RunContext, src transports.Transport, c candidate) (bool, error) {
	listed := versionOf(c.info)
	if listed.precise() || !c.got.precise() {
		return false, nil
	}
	window := c.got.MTime.Add(listed.Prec + clockMargin)
	if c.rec.Updated.After(window) {
		return false, nil
	}
	cur, err := src.Stat(ctx, j.full(c.rel))
	if err != nil || cur.ModTime.IsZero() {
		return false, nil // gone, unreachable (looked at again next poll), or no time to tell
	}
	if !c.got.same(versionOf(cur)) {
		return true, nil
	}
	if rc.Now().After(window) {
		rec := c.rec
		rec.Updated = time.Time{}
		if err := rc.Ledger.PutItem(ctx, rec); err != nil {
			return false, fmt.Errorf("ledger: %w", err)
		}
	}
	return false, nil
}

// recordedAs reports whether the ledger's record of a file may be of the
// listed version (see fileVersion.mayBe).
func (j *Job) recordedAs(rec ledger.Item, fi transports.FileInfo) bool {
	v, err := parseVersion(rec.Hash)
	return err == nil && v.mayBe(versionOf(fi))
}

// stable reports whether a file listed unchanged for seenFor (by the
// bridge's clock) may be taken. Where the server's time is coarse (vsftpd
// lists minutes) only the bridge's clock counts; otherwise the file may
// also be old enough by the server's clock, counted from the latest
// instant its time may stand for.
func (j *Job) stable(fi transports.FileInfo, seenFor time.Duration, now time.Time) bool {
	minAge := j.opts.MinAge.Duration
	if seenFor >= minAge {
		return true
	}
	if !versionOf(fi).precise() {
		return false
	}
	return now.Sub(fi.ModTime.Add(fi.Precision)) >= minAge
}

// archiveRel is the archive folder relative to the source folder when it
// lies inside it (so that polls skip it), else "".
func (j *Job) archiveRel() string {
	if j.opts.After != AfterArchive {
		return ""
	}
	a := path.Clean(j.opts.ArchiveDir)
	s := path.Clean(j.opts.SourceDir)
	if s == "." || s == "" {
		return a
	}
	if strings.HasPrefix(a, s+"/") {
		return strings.TrimPrefix(a, s+"/")
	}
	return ""
}

// refuse records a remote file that will not be taken and reports it once
// (until it changes).
func (j *Job) refuse(ctx context.Context, rc *bridge.RunContext, records map[string]ledger.Item, rel string, fi transports.FileInfo, msg string) {
	rc.Count("refused", 1)
	v := versionOf(fi).String()
	if rec, ok := records[rel]; ok && rec.Hash == v && rec.Outcome == StateFailed {
		return
	}
	it := ledger.Item{Job: j.name, Key: j.fileKey(rel), Hash: v, Outcome: StateFailed, Message: msg, RunID: rc.Run.ID}
	if err := rc.Ledger.PutItem(ctx, it); err != nil {
		rc.Log.Error("ledger", "err", err)
	}
	records[rel] = it
	rc.Problem(fmt.Sprintf("%q", rel), msg)
	rc.Log.Warn("remote file refused", "file", fmt.Sprintf("%q", rel), "reason", msg)
}

// wanted applies the include and exclude patterns. A pattern without "/"
// is matched against the file's name (include) or every element of its
// path (exclude); one with "/" against the whole path under SourceDir.
func (j *Job) wanted(rel string) bool {
	base := path.Base(rel)
	for _, p := range j.opts.Exclude {
		if strings.Contains(p, "/") {
			if ok, _ := path.Match(p, rel); ok {
				return false
			}
			continue
		}
		for _, e := range strings.Split(rel, "/") {
			if ok, _ := path.Match(p, e); ok {
				return false
			}
		}
	}
	if len(j.opts.Include) == 0 {
		return true
	}
	for _, p := range j.opts.Include {
		subject := base
		if strings.Contains(p, "/") {
			subject = rel
		}
		if ok, _ := path.Match(p, subject); ok {
			return true
		}
	}
	return false
}

// safeRel checks a listed path: relative, no "..", no empty elements, every
// element a plain name (transports.ValidName).
func safeRel(rel string) error {
	if rel == "" || strings.HasPrefix(rel, "/") {
		return fmt.Errorf("%w: absolute or empty path", transports.ErrUnsafeName)
	}
	for _, e := range strings.Split(rel, "/") {
		if err := transports.ValidName(e); err != nil {
			return err
		}
	}
	return nil
}

func (j *Job) loadObserved(ctx context.Context, rc *bridge.RunContext) map[string]observation {
	m := map[string]observation{}
	s, err := rc.Ledger.State(ctx, j.name, stateObserved)
	if err != nil {
		return m
	}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		rc.Log.Warn("ledger: unreadable pickup observations; files wait one more poll", "err", err)
		return map[string]observation{}
	}
	return m
}

func (j *Job) saveObserved(ctx context.Context, rc *bridge.RunContext, m map[string]observation) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := rc.Ledger.SetState(ctx, j.name, stateObserved, string(b)); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// failedAttempt counts a failed download of rel and returns the count
// (in memory: only for reporting).
func (j *Job) failedAttempt(rel string) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.failures == nil {
		j.failures = map[string]int{}
	}
	j.failures[rel]++
	return j.failures[rel]
}
