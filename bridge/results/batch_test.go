package results

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/transports"
	"github.com/fieldbridge/fieldbridge/transports/local"
)

// orderLedger checks, at every ledger write of "done" records, that each
// file is already under its final name in the target, and counts those
// writes.
type orderLedger struct {
	ledger.Ledger
	t         *testing.T
	targetDir string
	doneTx    atomic.Int32
	doneItems atomic.Int32
}

func (l *orderLedger) PutItems(ctx context.Context, items []ledger.Item) error {
	var done int32
	for _, it := range items {
		if it.Outcome != StateDone {
			continue
		}
		done++
		if _, err := os.Stat(filepath.Join(l.targetDir, it.RemoteID)); err != nil {
			l.t.Errorf("%s recorded done before it is in the target: %v", it.Key, err)
		}
	}
	if done > 0 {
		l.doneTx.Add(1)
		l.doneItems.Add(done)
	}
	return l.Ledger.PutItems(ctx, items)
}

// orderTarget checks, at every Commit, that each staged file's claim is
// durable in the ledger with its target path and that the file is not yet
// under its final name.
type orderTarget struct {
	*local.Fs
	t       *testing.T
	l       ledger.Ledger
	commits atomic.Int32
}

func (o *orderTarget) Commit(ctx context.Context, batch []transports.Staged) ([]transports.CommitResult, error) {
	o.commits.Add(1)
	for _, s := range batch {
		it, err := o.l.GetItem(ctx, "results", "file:export:"+s.Path)
		if err != nil || it.Outcome != StateClaimed || it.RemoteID != s.Path {
			o.t.Errorf("%s committed without its claim: %+v %v", s.Path, it, err)
		}
		if _, err := o.Fs.Stat(ctx, s.Path); !errors.Is(err, transports.ErrNotExist) {
			o.t.Errorf("%s is under its final name before Commit: %v", s.Path, err)
		}
	}
	return o.Fs.Commit(ctx, batch)
}

// orderSource checks that a remote file is removed only once the ledger
// says done.
type orderSource struct {
	transports.Transport
	t *testing.T
	l ledger.Ledger
}

func (o *orderSource) Remove(ctx context.Context, p string) error {
	it, err := o.l.GetItem(ctx, "results", "file:export:"+p)
	if err != nil || it.Outcome != StateDone {
		o.t.Errorf("%s removed from the source before it is recorded done: %+v %v", p, it, err)
	}
	return o.Transport.Remove(ctx, p)
}

// Into a Stager target the files go in batches, each step in its order:
// claim durable → bytes durable and renamed → done recorded (one
// transaction per batch) → remote removed.
func TestPickupBatchedOrder(t *testing.T) {
	src := t.TempDir()
	const n = 300
	want := map[string]string{}
	for i := range n {
		rel := fmt.Sprintf("d%d/r%03d.csv", i%3, i)
		want[rel] = fmt.Sprintf("result %d\n", i)
		writeFile(t, src, rel, want[rel])
	}
	base := openLedger(t, t.TempDir())
	dir := t.TempDir()
	ol := &orderLedger{Ledger: base, t: t, targetDir: dir}
	o := pickupOptions()
	o.Recursive = true
	f := newFixture(t, ol, o, &orderSource{Transport: localT(t, src), t: t, l: base}, dir)
	lf, err := local.New(context.Background(), local.Options{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	ot := &orderTarget{Fs: lf, t: t, l: base}
	f.job.SetTransports(nil, ot)
	f.poll(t)
	rc := f.poll(t)
	if c := rc.Counts(); c["downloaded"] != n || c["removed"] != n {
		t.Fatalf("counts %v %s", c, problemsText(rc))
	}
	if got := tree(t, dir); !equalMaps(got, want) {
		t.Fatalf("target has %d files (want %d): %v", len(got), n, keys(got))
	}
	if left := tree(t, src); len(left) != 0 {
		t.Fatalf("left on the source: %v", keys(left))
	}
	if ol.doneItems.Load() != n {
		t.Fatalf("%d done records for %d files", ol.doneItems.Load(), n)
	}
	if ot.commits.Load() != ol.doneTx.Load() {
		t.Fatalf("%d commits but %d done transactions: one per batch expected", ot.commits.Load(), ol.doneTx.Load())
	}
	t.Logf("%d files in %d batches", n, ot.commits.Load())
}

// failingLedger fails the writes of "done" records.
type failingLedger struct{ ledger.Ledger }

func (l *failingLedger) PutItems(ctx context.Context, items []ledger.Item) error {
	for _, it := range items {
		if it.Outcome == StateDone {
			return errors.New("disk full")
		}
	}
	return l.Ledger.PutItems(ctx, items)
}

// A ledger failure while recording a batch stops the run; nothing is
// removed from the source, and the next run (ledger working) ends with
// every file once.
func TestPickupBatchedLedgerFailure(t *testing.T) {
	src := t.TempDir()
	for i := range 20 {
		writeFile(t, src, fmt.Sprintf("r%02d.csv", i), fmt.Sprintf("result %d\n", i))
	}
	want := tree(t, src)
	base := openLedger(t, t.TempDir())
	fl := &failingLedger{Ledger: base}
	dir := t.TempDir()
	f := newFixture(t, fl, pickupOptions(), localT(t, src), dir)
	f.poll(t) // observes
	run, err := base.BeginRun(context.Background(), "results", f.job.now())
	if err != nil {
		t.Fatal(err)
	}
	rc := bridge.NewRunContext(run, f.ledger, f.env.Log, nil)
	rc.Now = f.job.now
	if err := f.job.Run(context.Background(), rc); err == nil || !errors.Is(err, errLedger) {
		t.Fatalf("run with a failing ledger: %v", err)
	}
	if left := tree(t, src); len(left) != 20 {
		t.Fatalf("removed from the source without a done record: %d left", len(left))
	}
	f2 := newFixture(t, base, pickupOptions(), localT(t, src), dir)
	f2.poll(t) // retakes the claimed files, observes those never started
	f2.poll(t)
	if got := visible(t, dir); !equalMaps(got, want) {
		t.Fatalf("target after recovery: %v", keys(got))
	}
	if n := len(tree(t, dir)); n != len(want) {
		t.Fatalf("%d files in the target (temporary ones left?)", n)
	}
	if left := tree(t, src); len(left) != 0 {
		t.Fatalf("left on the source: %v", keys(left))
	}
}
