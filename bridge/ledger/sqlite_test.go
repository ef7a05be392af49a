package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

func open(t testing.TB, path string) *ledger.SQLite {
	t.Helper()
	l, err := ledger.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestRunsRoundTripAndResume(t *testing.T) { eachStore(t, testRunsRoundTripAndResume) }

func testRunsRoundTripAndResume(t *testing.T, l ledger.Ledger, reopen func() ledger.Ledger) {
	ctx := context.Background()

	t0 := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	r1, err := l.BeginRun(ctx, "boxes", t0)
	if err != nil {
		t.Fatal(err)
	}
	if r1.ID == 0 || r1.Outcome != ledger.OutcomeRunning {
		t.Fatalf("BeginRun = %+v", r1)
	}
	r1.Ended = t0.Add(time.Minute)
	r1.Counts = map[string]int64{"created": 3, "failed": 1}
	r1.Outcome = ledger.OutcomePartial
	r1.Message = "1 failed"
	if err := l.EndRun(ctx, r1); err != nil {
		t.Fatal(err)
	}
	// A run that a crash leaves "running".
	r2, err := l.BeginRun(ctx, "boxes", t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.BeginRun(ctx, "sheets", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := l.SetState(ctx, "boxes", "cursor", "42"); err != nil {
		t.Fatal(err)
	}
	if err := l.PutItem(ctx, ledger.Item{Job: "boxes", Key: "CTO-1", Hash: "h1", Outcome: "created", RemoteID: "s1", RunID: r1.ID}); err != nil {
		t.Fatal(err)
	}
	f := &ledger.File{Job: "sheets", Source: "inbox", Name: "a.xlsx", Size: 10, ModTime: t0, State: ledger.FileClaimed}
	if err := l.PutFile(ctx, f); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopen: everything is still there.
	l = reopen()
	defer l.Close()
	got, err := l.LastRun(ctx, "boxes")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != r2.ID || got.Outcome != ledger.OutcomeRunning || !got.Ended.IsZero() {
		t.Fatalf("crashed run after reopen = %+v, want id %d running", got, r2.ID)
	}
	got, err = l.LastRun(ctx, "boxes", ledger.OutcomeOK, ledger.OutcomePartial)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != r1.ID || got.Counts["created"] != 3 || got.Counts["failed"] != 1 || got.Message != "1 failed" ||
		!got.Started.Equal(t0) || !got.Ended.Equal(t0.Add(time.Minute)) {
		t.Fatalf("LastRun(ok, partial) = %+v", got)
	}
	if _, err := l.LastRun(ctx, "boxes", ledger.OutcomeOK); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("LastRun(ok) err = %v, want ErrNotFound", err)
	}
	if _, err := l.LastRun(ctx, "nope"); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("LastRun(nope) err = %v", err)
	}
	runs, err := l.Runs(ctx, ledger.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 3 || runs[0].ID != r2.ID {
		t.Fatalf("Runs = %+v", runs)
	}
	runs, err = l.Runs(ctx, ledger.RunFilter{Job: "boxes", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].ID != r2.ID {
		t.Fatalf("Runs(boxes,1) = %+v", runs)
	}
	if v, err := l.State(ctx, "boxes", "cursor"); err != nil || v != "42" {
		t.Fatalf("State = %q, %v", v, err)
	}
	if _, err := l.State(ctx, "boxes", "other"); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("State(other) err = %v", err)
	}
	it, err := l.GetItem(ctx, "boxes", "CTO-1")
	if err != nil {
		t.Fatal(err)
	}
	if it.Hash != "h1" || it.RemoteID != "s1" || it.RunID != r1.ID || it.Updated.IsZero() {
		t.Fatalf("GetItem = %+v", it)
	}
	gf, err := l.FileByName(ctx, "sheets", "inbox", "a.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	if gf.ID != f.ID || gf.State != ledger.FileClaimed || !gf.ModTime.Equal(t0) {
		t.Fatalf("FileByName = %+v", gf)
	}
	if err := l.EndRun(ctx, ledger.Run{ID: 9999, Outcome: "ok"}); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("EndRun(unknown) err = %v", err)
	}
}

func TestFiles(t *testing.T) { eachStore(t, testFiles) }

func testFiles(t *testing.T, l ledger.Ledger, _ func() ledger.Ledger) {
	ctx := context.Background()
	defer l.Close()
	f := &ledger.File{Job: "j", Source: "in", Name: "a.csv", Size: 3, State: ledger.FileSeen}
	if err := l.PutFile(ctx, f); err != nil {
		t.Fatal(err)
	}
	f.SHA256, f.State, f.Attempts = "abc", ledger.FileDone, 1
	if err := l.PutFile(ctx, f); err != nil {
		t.Fatal(err)
	}
	g := &ledger.File{Job: "j", Source: "in", Name: "b.csv", SHA256: "abc", State: ledger.FileDuplicate}
	if err := l.PutFile(ctx, g); err != nil {
		t.Fatal(err)
	}
	got, err := l.FileBySHA256(ctx, "j", "abc", ledger.FileDone)
	if err != nil || got.ID != f.ID || got.Attempts != 1 {
		t.Fatalf("FileBySHA256(done) = %+v, %v", got, err)
	}
	got, err = l.FileBySHA256(ctx, "j", "abc")
	if err != nil || got.ID != g.ID {
		t.Fatalf("FileBySHA256(any) = %+v, %v", got, err)
	}
	if _, err := l.FileBySHA256(ctx, "j", "abc", ledger.FileFailed); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("FileBySHA256(failed) err = %v", err)
	}
	list, err := l.Files(ctx, ledger.FileFilter{Job: "j", State: ledger.FileDone})
	if err != nil || len(list) != 1 || list[0].Name != "a.csv" {
		t.Fatalf("Files(done) = %+v, %v", list, err)
	}
	list, err = l.Files(ctx, ledger.FileFilter{Job: "j"})
	if err != nil || len(list) != 2 || list[0].Name != "b.csv" {
		t.Fatalf("Files = %+v, %v", list, err)
	}
}

func TestItemsPrefixAndBatch(t *testing.T) { eachStore(t, testItemsPrefixAndBatch) }

func testItemsPrefixAndBatch(t *testing.T, l ledger.Ledger, _ func() ledger.Ledger) {
	ctx := context.Background()
	defer l.Close()
	var batch []ledger.Item
	for _, k := range []string{"f1:2", "f1:1", "f2:1", "f1:10", "f1_x", "g%1"} {
		batch = append(batch, ledger.Item{Job: "j", Key: k, Outcome: "sent"})
	}
	batch = append(batch, ledger.Item{Job: "other", Key: "f1:3"})
	if err := l.PutItems(ctx, batch); err != nil {
		t.Fatal(err)
	}
	var keys []string
	err := l.ItemsWithPrefix(ctx, "j", "f1:", func(it ledger.Item) error {
		keys = append(keys, it.Key)
		// Writing during the walk must not deadlock.
		return l.PutItem(ctx, ledger.Item{Job: "j", Key: it.Key, Outcome: "seen"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(keys) != "[f1:1 f1:10 f1:2]" {
		t.Fatalf("keys = %v", keys)
	}
	// "%" and "_" are not wildcards.
	keys = nil
	if err := l.ItemsWithPrefix(ctx, "j", "g%", func(it ledger.Item) error { keys = append(keys, it.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(keys) != "[g%1]" {
		t.Fatalf("keys = %v", keys)
	}
	stop := errors.New("stop")
	n := 0
	if err := l.ItemsWithPrefix(ctx, "j", "", func(ledger.Item) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("walk err = %v, n = %d", err, n)
	}
	if it, _ := l.GetItem(ctx, "j", "f1:10"); it.Outcome != "seen" {
		t.Fatalf("item after walk = %+v", it)
	}
}

func TestPutItemsIsOneTransaction(t *testing.T) { eachStore(t, testPutItemsIsOneTransaction) }

func testPutItemsIsOneTransaction(t *testing.T, l ledger.Ledger, _ func() ledger.Ledger) {
	ctx := context.Background()
	defer l.Close()
	cctx, cancel := context.WithCancel(ctx)
	items := make([]ledger.Item, 1000)
	for i := range items {
		items[i] = ledger.Item{Job: "j", Key: fmt.Sprint(i)}
	}
	cancel() // a cancelled context must store nothing
	if err := l.PutItems(cctx, items); err == nil {
		t.Fatal("PutItems with cancelled ctx succeeded")
	}
	n := 0
	_ = l.ItemsWithPrefix(ctx, "j", "", func(ledger.Item) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d items stored by a failed PutItems", n)
	}
	if err := l.PutItems(ctx, items); err != nil {
		t.Fatal(err)
	}
	_ = l.ItemsWithPrefix(ctx, "j", "", func(ledger.Item) error { n++; return nil })
	if n != 1000 {
		t.Fatalf("stored %d items, want 1000", n)
	}
}

func TestConcurrentWriters(t *testing.T) { eachStore(t, testConcurrentWriters) }

func testConcurrentWriters(t *testing.T, l ledger.Ledger, reopen func() ledger.Ledger) {
	ctx := context.Background()
	const workers, per = 8, 100
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run, err := l.BeginRun(ctx, fmt.Sprint("job", w), time.Now())
			if err != nil {
				errs <- err
				return
			}
			for i := 0; i < per; i++ {
				if err := l.PutItem(ctx, ledger.Item{Job: "j", Key: fmt.Sprintf("%d-%d", w, i), RunID: run.ID}); err != nil {
					errs <- err
					return
				}
				if _, err := l.GetItem(ctx, "j", fmt.Sprintf("%d-%d", w, i)); err != nil {
					errs <- err
					return
				}
			}
			run.Outcome = ledger.OutcomeOK
			errs <- l.EndRun(ctx, run)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	l = reopen()
	defer l.Close()
	n := 0
	_ = l.ItemsWithPrefix(ctx, "j", "", func(ledger.Item) error { n++; return nil })
	if n != workers*per {
		t.Fatalf("stored %d items, want %d", n, workers*per)
	}
	runs, _ := l.Runs(ctx, ledger.RunFilter{})
	for _, r := range runs {
		if r.Outcome != ledger.OutcomeOK {
			t.Fatalf("run %+v not ok", r)
		}
	}
}

func TestTwoHandlesSameFile(t *testing.T) {
	// Two processes (here: two handles) on one database: WAL + busy_timeout.
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "l.db")
	a, b := open(t, path), open(t, path)
	defer a.Close()
	defer b.Close()
	var wg sync.WaitGroup
	for _, l := range []*ledger.SQLite{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if err := l.PutItem(ctx, ledger.Item{Job: "j", Key: fmt.Sprintf("%p-%d", l, i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	n := 0
	_ = a.ItemsWithPrefix(ctx, "j", "", func(ledger.Item) error { n++; return nil })
	if n != 100 {
		t.Fatalf("n = %d", n)
	}
}

func TestBadSync(t *testing.T) {
	_, err := ledger.OpenSQLiteWith(context.Background(), filepath.Join(t.TempDir(), "l.db"), ledger.SQLiteOptions{Synchronous: "off"})
	if err == nil {
		t.Fatal("synchronous=off accepted")
	}
}

// BenchmarkPutItem measures one durable PutItem (one transaction each), as
// a box sync does for each of its ~50,000 boxes.
func BenchmarkPutItem(b *testing.B) {
	for _, sync := range []string{ledger.SyncFull, ledger.SyncNormal} {
		b.Run(sync, func(b *testing.B) {
			l, err := ledger.OpenSQLiteWith(context.Background(), filepath.Join(b.TempDir(), "l.db"), ledger.SQLiteOptions{Synchronous: sync})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := l.PutItem(ctx, ledger.Item{Job: "boxes", Key: fmt.Sprintf("CTO-%08d", i), Hash: "0123456789abcdef0123456789abcdef", Outcome: "created", RemoteID: "x"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPutItems measures items stored in batches of 500.
func BenchmarkPutItems(b *testing.B) {
	l := open(b, filepath.Join(b.TempDir(), "l.db"))
	defer l.Close()
	ctx := context.Background()
	batch := make([]ledger.Item, 0, 500)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch = append(batch, ledger.Item{Job: "boxes", Key: fmt.Sprintf("CTO-%08d", i), Hash: "0123456789abcdef0123456789abcdef", Outcome: "created"})
		if len(batch) == cap(batch) || i == b.N-1 {
			if err := l.PutItems(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}
