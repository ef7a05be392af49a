package results

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/transports"
)

// stateObserved is the job state (ledger State) holding the last poll's
// observations of files not yet taken, as JSON.
const stateObserved = "pickup.observed"

// claimPrefix starts the Message of a "claimed" or "done" file record; the
// target path follows.
const claimPrefix = "→ "

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
	rec  ledger.File // ID 0 when new
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
	listing, err := src.List(ctx, j.opts.SourceDir, j.opts.Recursive)
	if err != nil {
		return fmt.Errorf("listing %s (folder %q): %w", src, j.opts.SourceDir, err)
	}
	now := rc.Now()
	files := make(map[string]transports.FileInfo, len(listing))
	for _, fi := range listing {
		if !fi.IsDir {
			files[fi.Path] = fi
		}
	}
	prev := j.loadObserved(ctx, rc)
	next := make(map[string]observation)
	archiveRel := j.archiveRel()

	var ready, cleanup []candidate
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, rel := range names {
		fi := files[rel]
		if archiveRel != "" && (rel == archiveRel || strings.HasPrefix(rel, archiveRel+"/")) {
			continue
		}
		if j.opts.DoneMarker != "" && strings.HasSuffix(rel, j.opts.DoneMarker) {
			continue
		}
		if err := safeRel(rel); err != nil {
			j.refuse(ctx, rc, rel, fi, fmt.Sprintf("the remote name %q is not a safe file name and was not taken (%v); rename or remove it on %s", rel, err, src))
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
		rec, err := rc.Ledger.FileByName(ctx, j.name, j.opts.Source, rel)
		switch {
		case err == nil && sameKey(rec, fi):
			c.rec = rec
			switch rec.State {
			case ledger.FileDone:
				if j.opts.After != AfterLeave {
					cleanup = append(cleanup, c)
				}
				continue
			case ledger.FileFailed:
				if !strings.HasPrefix(rec.Message, collisionMsg) {
					continue // refused for good; reported when it happened
				}
				// A name collision in the target: try again, it may be gone.
				ready = append(ready, c)
				continue
			case ledger.FileClaimed, ledger.FileProcessing:
				// An interrupted download: it was stable then, take it again.
				ready = append(ready, c)
				continue
			}
		case err == nil:
			// An older file of the same name: this one is new.
		case errors.Is(err, ledger.ErrNotFound):
		default:
			return fmt.Errorf("ledger: %w", err)
		}
		if j.opts.MaxFileSize > 0 && fi.Size > j.opts.MaxFileSize {
			j.refuse(ctx, rc, rel, fi, fmt.Sprintf("%s on %s has %d bytes, more than max_file_size (%d); it was not taken", rel, src, fi.Size, j.opts.MaxFileSize))
			continue
		}
		if c.marker != "" {
			ready = append(ready, c)
			continue
		}
		o := observation{Size: fi.Size, MTime: fi.ModTime.UnixNano(), Since: now.UnixNano()}
		if p, ok := prev[rel]; ok && p.Size == o.Size && p.MTime == o.MTime {
			o.Since = p.Since
			seenFor := now.Sub(time.Unix(0, o.Since))
			age := now.Sub(fi.ModTime)
			if age >= j.opts.MinAge.Duration || seenFor >= j.opts.MinAge.Duration {
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

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(j.opts.Connections)
	for _, c := range cleanup {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { j.settle(gctx, rc, src, c); return nil })
	}
	for _, c := range ready {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return j.take(gctx, rc, src, dst, c) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// sameKey reports whether a ledger record is about this very file (same
// size and modification time).
func sameKey(rec ledger.File, fi transports.FileInfo) bool {
	return rec.Size == fi.Size && rec.ModTime.Equal(fi.ModTime)
}

// collisionMsg starts the Message of a file refused for a name collision.
const collisionMsg = "collision: "

// take downloads one ready file into the target, records it and settles
// the remote copy. Failures are counted and reported; the file is tried
// again next poll. Only a ledger failure stops the run.
func (j *Job) take(ctx context.Context, rc *bridge.RunContext, src, dst transports.Transport, c candidate) error {
	rec := c.rec
	if rec.ID == 0 || !sameKey(rec, c.info) {
		rec = ledger.File{Job: j.name, Source: j.opts.Source, Name: c.rel, Size: c.info.Size, ModTime: c.info.ModTime}
	}
	var recorded string
	if rec.State == ledger.FileClaimed && strings.HasPrefix(rec.Message, claimPrefix) {
		recorded = strings.TrimPrefix(rec.Message, claimPrefix)
	}
	tp, ow, err := j.placeTarget(ctx, dst, j.targetPath(c.rel), recorded, c.info.Size)
	if err != nil {
		if errors.Is(err, transports.ErrExist) {
			first := rec.State != ledger.FileFailed
			rec.State, rec.Message, rec.RunID = ledger.FileFailed, collisionMsg+err.Error(), rc.Run.ID
			if perr := rc.Ledger.PutFile(ctx, &rec); perr != nil {
				return fmt.Errorf("ledger: %w", perr)
			}
			rc.Count("failed", 1)
			if first {
				rc.Problem(c.rel, fmt.Sprintf("%s is already in %s and on_collision = \"fail\": the file stays on the source until the target's copy is moved away", j.targetPath(c.rel), dst))
			}
			return nil
		}
		rc.Count("failed", 1)
		rc.Log.Warn("target not ready", "file", c.rel, "err", err)
		return nil
	}
	rec.State, rec.Message, rec.RunID = ledger.FileClaimed, claimPrefix+tp, rc.Run.ID
	rec.Attempts++
	if err := rc.Ledger.PutFile(ctx, &rec); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	res, err := j.download(ctx, src, dst, c, tp, ow)
	if err != nil {
		rc.Count("failed", 1)
		if ctx.Err() == nil {
			rc.Log.Warn("download failed; it is tried again next poll", "file", c.rel, "attempt", rec.Attempts, "err", err)
			if rec.Attempts == 3 {
				rc.Problem(c.rel, fmt.Sprintf("downloading %s from %s failed %d times (last: %v); it is tried again every poll", c.rel, src, rec.Attempts, err))
			}
		}
		return nil
	}
	if j.opts.WriteDoneMarker != "" {
		if _, err := dst.Write(ctx, tp+j.opts.WriteDoneMarker, bytes.NewReader(nil), transports.WriteOptions{Overwrite: transports.Replace, Size: 0}); err != nil {
			rc.Count("failed", 1)
			rc.Log.Warn("writing the done marker failed; the file is taken again next poll", "file", tp, "err", err)
			return nil
		}
	}
	rec.State, rec.SHA256, rec.Message = ledger.FileDone, res.SHA256, claimPrefix+res.Path
	if err := rc.Ledger.PutFile(ctx, &rec); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	rc.Count("downloaded", 1)
	rc.Count("bytes", res.Size)
	rc.Log.Debug("downloaded", "file", c.rel, "to", res.Path, "bytes", res.Size)
	j.settle(ctx, rc, src, c)
	return nil
}

// download streams the remote file into the target at tp.
func (j *Job) download(ctx context.Context, src, dst transports.Transport, c candidate, tp string, ow transports.Overwrite) (transports.WriteResult, error) {
	r, err := src.Open(ctx, j.full(c.rel))
	if err != nil {
		return transports.WriteResult{}, err
	}
	defer r.Close()
	res, err := dst.Write(ctx, tp, r, transports.WriteOptions{Overwrite: ow, Size: c.info.Size, ModTime: c.info.ModTime})
	if err != nil {
		return res, err
	}
	if err := r.Close(); err != nil {
		// The bytes were all there and size-checked; a failing close of the
		// FTP data connection still makes the transfer doubtful.
		_ = dst.Remove(ctx, res.Path)
		return res, fmt.Errorf("closing %s: %w", c.rel, err)
	}
	if res.Size != c.info.Size {
		_ = dst.Remove(ctx, res.Path)
		return res, fmt.Errorf("%w: %s: listed %d bytes, wrote %d", transports.ErrIntegrity, c.rel, c.info.Size, res.Size)
	}
	return res, nil
}

// placeTarget decides the target path for a file whose natural place is
// want, and the overwrite policy to write it with. recorded is the path
// an interrupted earlier attempt claimed ("" for none): a file found there
// with the expected size is taken to be that attempt's and is replaced, so
// an interrupted download never leaves two copies. With keep_both a free
// name with a suffix is chosen; with fail an occupied name gives an error
// wrapping transports.ErrExist.
func (j *Job) placeTarget(ctx context.Context, dst transports.Transport, want, recorded string, size int64) (string, transports.Overwrite, error) {
	if j.opts.OnCollision == CollisionReplace {
		return want, transports.Replace, nil
	}
	if recorded != "" {
		fi, err := dst.Stat(ctx, recorded)
		switch {
		case errors.Is(err, transports.ErrNotExist):
			return recorded, transports.Fail, nil
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
			return p, transports.Fail, nil
		case err != nil:
			return "", 0, err
		}
		if j.opts.OnCollision == CollisionFail {
			return "", 0, fmt.Errorf("%s: %w", want, transports.ErrExist)
		}
	}
	return "", 0, fmt.Errorf("%s: no free name: %w", want, transports.ErrExist)
}

// settle deletes or archives the remote file (and its done marker) once it
// is recorded done. Failures are reported; the next poll tries again.
func (j *Job) settle(ctx context.Context, rc *bridge.RunContext, src transports.Transport, c candidate) {
	paths := []string{c.rel}
	if c.marker != "" {
		paths = append(paths, c.marker)
	}
	for _, rel := range paths {
		var err error
		switch j.opts.After {
		case AfterLeave:
			return
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
			if ctx.Err() != nil {
				return
			}
			rc.Count("settle_failed", 1)
			rc.Problem(c.rel, fmt.Sprintf("%s is safely in the customer's folder but could not be %sd on %s: %v; it is tried again next poll", rel, j.opts.After, src, err))
			return
		}
	}
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
func (j *Job) refuse(ctx context.Context, rc *bridge.RunContext, rel string, fi transports.FileInfo, msg string) {
	rc.Count("refused", 1)
	rec, err := rc.Ledger.FileByName(ctx, j.name, j.opts.Source, rel)
	if err == nil && sameKey(rec, fi) && rec.State == ledger.FileFailed {
		return
	}
	rec = ledger.File{Job: j.name, Source: j.opts.Source, Name: rel, Size: fi.Size, ModTime: fi.ModTime,
		State: ledger.FileFailed, Message: msg, RunID: rc.Run.ID}
	if err := rc.Ledger.PutFile(ctx, &rec); err != nil {
		rc.Log.Error("ledger", "err", err)
	}
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
