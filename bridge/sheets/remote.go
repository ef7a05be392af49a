package sheets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/filelife"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/transports"
)

// A remote inbox (FTP/SFTP folder): files are listed on every run, taken
// when unchanged for min_age (or when their done marker exists), downloaded
// into the data folder and recorded in the ledger as processing (the claim);
// the report is written back into done/ or failed/ beside them on the
// server, and only after the ledger records the file as settled is the
// source moved there (or deleted with remote_delete).

func (j *job) runRemote(ctx context.Context, rc *bridge.RunContext, in *Inbox) error {
	t, err := j.openTransport(ctx, in.Connection)
	if err != nil {
		return fmt.Errorf("inbox %s: %w", in.source(), err)
	}
	defer t.Close()
	dir := filepath.Join(j.workDir(), "inbox", safeName(in.source()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Files claimed by an earlier run that did not finish.
	pending, err := rc.Ledger.Files(ctx, ledger.FileFilter{Job: j.name, Source: in.source(), State: ledger.FileProcessing, Limit: 1000})
	if err != nil {
		return err
	}
	resumed := map[string]bool{}
	for _, rec := range pending {
		resumed[rec.Name] = true
		if err := j.takeRemote(ctx, rc, in, t, dir, rec); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(j.maxWaitInRun())
	for {
		waiting, err := j.scanRemote(ctx, rc, in, t, dir, resumed)
		if err != nil || !waiting || time.Now().Add(j.pollStep()).After(deadline) {
			return err
		}
		if err := sleepCtx(ctx, j.pollStep()); err != nil {
			return err
		}
	}
}

func (j *job) scanRemote(ctx context.Context, rc *bridge.RunContext, in *Inbox, t transports.Transport, dir string, resumed map[string]bool) (bool, error) {
	list, err := t.List(ctx, in.Folder, false)
	if err != nil {
		return false, fmt.Errorf("inbox %s: listing: %w", in.source(), err)
	}
	sort.Slice(list, func(a, b int) bool { return list[a].Path < list[b].Path })
	names := map[string]bool{}
	for _, fi := range list {
		names[fi.Path] = true
	}
	waiting := false
	now := time.Now()
	for _, fi := range list {
		name := path.Base(fi.Path)
		if fi.IsDir || j.ignoredName(name) || resumed[name] {
			continue
		}
		// A file settled in the ledger whose move on the server did not
		// happen (a crash, a refused rename): finish the move.
		if old, err := rc.Ledger.FileByName(ctx, j.name, in.source(), name); err == nil &&
			old.Size == fi.Size && old.ModTime.Equal(fi.ModTime) {
			switch old.State {
			case ledger.FileDone, ledger.FileFailed, ledger.FileDuplicate:
				set := &remoteSettler{t: t, in: in, name: name, size: old.Size, mod: old.ModTime, marker: j.opts.DoneMarker, delete: j.opts.RemoteDelete}
				if err := set.moveSource(ctx, old.State); err != nil {
					rc.Problem(set.where(), fmt.Sprintf("could not move the settled file: %v", err))
				}
				continue
			}
		}
		fpath := fi.Path
		if !j.ready(in.source(), name, fi.Size, fi.ModTime, now, func() bool { return names[fpath+j.opts.DoneMarker] }) {
			waiting = true
			continue
		}
		rec := ledger.File{Job: j.name, Source: in.source(), Name: name, Size: fi.Size, ModTime: fi.ModTime,
			State: ledger.FileSeen, RunID: rc.Run.ID, Created: rc.Now(), Updated: rc.Now()}
		if err := j.takeRemote(ctx, rc, in, t, dir, rec); err != nil {
			return false, err
		}
	}
	j.stable.Sweep()
	return waiting, nil
}

// takeRemote downloads (when needed), claims, processes and settles one
// remote file. rec.ID is 0 for a file seen now, else the record of a claim
// that an earlier run did not finish.
func (j *job) takeRemote(ctx context.Context, rc *bridge.RunContext, in *Inbox, t transports.Transport, dir string, rec ledger.File) error {
	remote := path.Join(in.Folder, rec.Name)
	local := filepath.Join(dir, rec.Name)
	if rec.ID != 0 {
		// Resumed: the local copy must still hold the claimed content.
		if sha, _, err := filelife.HashFile(local); err != nil || sha != rec.SHA256 {
			sha, size, err := download(ctx, t, remote, local)
			switch {
			case errors.Is(err, transports.ErrNotExist):
				rec.State = ledger.FileFailed
				rec.Message = "the file disappeared from the server before it was processed"
				rc.Problem(t.String()+"/"+remote, rec.Message)
				return rc.Ledger.PutFile(ctx, &rec)
			case err != nil:
				return fmt.Errorf("inbox %s: downloading %s: %w", in.source(), rec.Name, err)
			case sha != rec.SHA256:
				// Replaced on the server meanwhile: the old claim ends
				// here, the new content is a new file.
				rec.State = ledger.FileFailed
				rec.Message = "replaced on the server by a new version before it was processed"
				if err := rc.Ledger.PutFile(ctx, &rec); err != nil {
					return err
				}
				fi, err := t.Stat(ctx, remote)
				if err != nil {
					return fmt.Errorf("inbox %s: %s: %w", in.source(), rec.Name, err)
				}
				rec = ledger.File{Job: j.name, Source: in.source(), Name: rec.Name, Size: size, ModTime: fi.ModTime,
					SHA256: sha, State: ledger.FileProcessing, Created: rc.Now()}
			}
		}
		rec.Attempts++
	} else {
		sha, size, err := download(ctx, t, remote, local)
		if err != nil {
			return fmt.Errorf("inbox %s: downloading %s: %w", in.source(), rec.Name, err)
		}
		if size != rec.Size {
			// Still changing: look again on the next poll.
			os.Remove(local)
			return nil
		}
		rec.SHA256 = sha
		rec.State = ledger.FileProcessing
		rec.Attempts = 1
	}
	rec.RunID = rc.Run.ID
	rec.Updated = rc.Now()
	if err := rc.Ledger.PutFile(ctx, &rec); err != nil {
		return err
	}
	set := &remoteSettler{t: t, in: in, name: rec.Name, size: rec.Size, mod: rec.ModTime, local: local, marker: j.opts.DoneMarker, delete: j.opts.RemoteDelete}
	return j.handle(ctx, rc, in, rec, local, set)
}

// download copies remote to local through local.partial (fsync, rename)
// and returns the sha256 of its bytes and their count.
func download(ctx context.Context, t transports.Transport, remote, local string) (string, int64, error) {
	rd, err := t.Open(ctx, remote)
	if err != nil {
		return "", 0, err
	}
	defer rd.Close()
	f, err := filelife.Create(local)
	if err != nil {
		return "", 0, err
	}
	defer f.Abort()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), rd)
	if err != nil {
		return "", 0, err
	}
	if err := f.Commit(); err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// remoteSettler settles a file of a remote inbox.
type remoteSettler struct {
	t    transports.Transport
	in   *Inbox
	name string
	// size and mod are the source's size and time when it was taken: a
	// source replaced meanwhile is left in place, to be taken as new.
	size   int64
	mod    time.Time
	local  string
	marker string
	delete bool
}

func (s *remoteSettler) where() string { return s.t.String() + "/" + path.Join(s.in.Folder, s.name) }

// settle uploads the report into done/ or failed/ on the server
// (replacing an earlier one of the same name), then records the file as
// settled, then moves the source there: a crash before the record redoes
// the report, one after it only the move (see scanRemote).
func (s *remoteSettler) settle(ctx context.Context, state, report, reportSuffix string, record func() error) error {
	if err := s.putReport(ctx, state, report, s.name+reportSuffix); err != nil {
		return err
	}
	if err := record(); err != nil {
		return err
	}
	return s.moveSource(ctx, state)
}

func (s *remoteSettler) putReport(ctx context.Context, state, report, reportName string) error {
	if report == "" {
		return nil
	}
	f, err := os.Open(report)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	dst := path.Join(s.in.Folder, settledDir(state), reportName)
	if _, err := s.t.Write(ctx, dst, f, transports.WriteOptions{Overwrite: transports.Replace, Size: fi.Size()}); err != nil {
		return err
	}
	f.Close()
	return os.Remove(report)
}

func (s *remoteSettler) moveSource(ctx context.Context, state string) error {
	src := path.Join(s.in.Folder, s.name)
	fi, err := s.t.Stat(ctx, src)
	switch {
	case errors.Is(err, transports.ErrNotExist):
		err = nil // moved or removed by someone else
	case err != nil:
		return err
	case fi.Size != s.size || !fi.ModTime.Equal(s.mod):
		// Replaced by a new version while this one was processed: leave
		// it for the next poll.
	case s.delete:
		err = s.t.Remove(ctx, src)
	default:
		dst := path.Join(s.in.Folder, settledDir(state), s.name)
		for n := 2; n < 1000; n++ {
			if _, serr := s.t.Stat(ctx, dst); serr != nil {
				break
			}
			dst = path.Join(s.in.Folder, settledDir(state), transports.KeepBothName(s.name, n))
		}
		err = s.t.Rename(ctx, src, dst)
	}
	if err != nil && !errors.Is(err, transports.ErrNotExist) {
		return err
	}
	if s.marker != "" {
		_ = s.t.Remove(ctx, src+s.marker)
	}
	os.Remove(s.local)
	return nil
}
