package ledger_test

// The Ledger conformance suite: every test here runs against each
// implementation (SQLite, and PostgreSQL when the test servers run; see
// ledgertest), so that both keep the same semantics.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/bridge/ledger/ledgertest"
)

// store is one Ledger implementation under the same tests.
type store struct {
	name string
	// open returns a fresh, empty ledger, and a function that opens the
	// same one again (after Close, or as a second handle).
	open func(t *testing.T) (ledger.Ledger, func() ledger.Ledger)
}

var stores = []store{
	{"sqlite", func(t *testing.T) (ledger.Ledger, func() ledger.Ledger) {
		path := filepath.Join(t.TempDir(), "sub", "ledger.db")
		reopen := func() ledger.Ledger { return open(t, path) }
		return reopen(), reopen
	}},
	{"postgres", func(t *testing.T) (ledger.Ledger, func() ledger.Ledger) {
		url := ledgertest.PostgresURL(t)
		reopen := func() ledger.Ledger {
			l, err := ledger.OpenPostgres(context.Background(), url, ledger.PostgresOptions{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			return l
		}
		return reopen(), reopen
	}},
}

// eachStore runs test against every Ledger implementation.
func eachStore(t *testing.T, test func(t *testing.T, l ledger.Ledger, reopen func() ledger.Ledger)) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			l, reopen := s.open(t)
			test(t, l, reopen)
		})
	}
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

func TestTwoHandles(t *testing.T) { eachStore(t, testTwoHandles) }

// testTwoHandles: two handles on one store (two processes, two nodes)
// write at once and each sees the other's writes.
func testTwoHandles(t *testing.T, a ledger.Ledger, reopen func() ledger.Ledger) {
	ctx := context.Background()
	b := reopen()
	defer a.Close()
	defer b.Close()
	var wg sync.WaitGroup
	for h, l := range []ledger.Ledger{a, b} {
		wg.Go(func() {
			for i := 0; i < 50; i++ {
				if err := l.PutItem(ctx, ledger.Item{Job: "j", Key: fmt.Sprintf("%d-%02d", h, i)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, l := range []ledger.Ledger{a, b} {
		n := 0
		_ = l.ItemsWithPrefix(ctx, "j", "", func(ledger.Item) error { n++; return nil })
		if n != 100 {
			t.Fatalf("n = %d", n)
		}
	}
}

func TestNotFound(t *testing.T) { eachStore(t, testNotFound) }

// testNotFound: every lookup of what is not there, and every update of a
// record that does not exist, fails with ErrNotFound.
func testNotFound(t *testing.T, l ledger.Ledger, _ func() ledger.Ledger) {
	ctx := context.Background()
	defer l.Close()
	if err := l.PutItem(ctx, ledger.Item{Job: "j", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		do   func() error
	}{
		{"GetItem", func() error { _, err := l.GetItem(ctx, "j", "other"); return err }},
		{"GetItem of another job", func() error { _, err := l.GetItem(ctx, "other", "k"); return err }},
		{"LastRun", func() error { _, err := l.LastRun(ctx, "j"); return err }},
		{"FileByName", func() error { _, err := l.FileByName(ctx, "j", "in", "a"); return err }},
		{"FileBySHA256", func() error { _, err := l.FileBySHA256(ctx, "j", "abc"); return err }},
		{"State", func() error { _, err := l.State(ctx, "j", "cursor"); return err }},
		{"EndRun", func() error { return l.EndRun(ctx, ledger.Run{ID: 4242, Outcome: ledger.OutcomeOK}) }},
		{"PutFile update", func() error {
			return l.PutFile(ctx, &ledger.File{ID: 4242, Job: "j", Name: "a", State: ledger.FileDone})
		}},
	} {
		if err := c.do(); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", c.what, err)
		}
	}
}

func TestItemsWithPrefixOrder(t *testing.T) { eachStore(t, testItemsWithPrefixOrder) }

// testItemsWithPrefixOrder: keys are walked in byte order (as Go sorts
// strings), across several pages, whatever the prefix, also with non-ASCII
// keys and the largest code point.
func testItemsWithPrefixOrder(t *testing.T, l ledger.Ledger, _ func() ledger.Ledger) {
	ctx := context.Background()
	defer l.Close()
	var keys []string
	for i := 0; i < 1200; i++ { // more than two pages
		keys = append(keys, fmt.Sprintf("row:%05d", i))
	}
	keys = append(keys, "A", "a", "a:1", "Z", "é", "é:1", "e", "f", "\U0010FFFF", "\U0010FFFFx", "a\U0010FFFF", "a\U0010FFFF:1",
		"b", "\uffff", "\ue000", "%", "_", "%x", "_x", "row", "row;", "ro", "r")
	items := make([]ledger.Item, len(keys))
	for i, k := range keys {
		items[i] = ledger.Item{Job: "j", Key: k, Outcome: "sent"}
	}
	if err := l.PutItems(ctx, items); err != nil {
		t.Fatal(err)
	}
	if err := l.PutItem(ctx, ledger.Item{Job: "k", Key: "a:2"}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	for _, prefix := range []string{"", "a", "a:", "row:", "row:0119", "r", "é", "e", "\U0010FFFF", "a\U0010FFFF", "%", "_", "zz", "\uffff"} {
		var want, got []string
		for _, k := range keys {
			if strings.HasPrefix(k, prefix) {
				want = append(want, k)
			}
		}
		err := l.ItemsWithPrefix(ctx, "j", prefix, func(it ledger.Item) error {
			got = append(got, it.Key)
			return nil
		})
		if err != nil {
			t.Fatalf("prefix %q: %v", prefix, err)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("prefix %q: %d keys, want %d\n got %q\nwant %q", prefix, len(got), len(want), head(got), head(want))
		}
	}
}

func head(s []string) []string { return s[:min(len(s), 8)] }

func TestTimesRoundTrip(t *testing.T) { eachStore(t, testTimesRoundTrip) }

// testTimesRoundTrip: the times stored come back as the same instants (to
// the microsecond: PostgreSQL keeps no more), whatever their zone, and
// zero times stay zero.
func testTimesRoundTrip(t *testing.T, l ledger.Ledger, _ func() ledger.Ledger) {
	ctx := context.Background()
	defer l.Close()
	zone := time.FixedZone("BRT", -3*3600)
	t0 := time.Date(2026, 12, 7, 21, 0, 0, 123456000, zone)
	r, err := l.BeginRun(ctx, "j", t0)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Started.Equal(t0) {
		t.Fatalf("BeginRun started = %v, want %v", r.Started, t0)
	}
	f := &ledger.File{Job: "j", Source: "in", Name: "a", ModTime: t0.Add(-time.Hour), State: ledger.FileSeen}
	if err := l.PutFile(ctx, f); err != nil {
		t.Fatal(err)
	}
	if err := l.PutItem(ctx, ledger.Item{Job: "j", Key: "k", Updated: t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	got, err := l.LastRun(ctx, "j")
	if err != nil || !got.Started.Equal(t0) || !got.Ended.IsZero() {
		t.Fatalf("LastRun = %+v, %v", got, err)
	}
	gf, err := l.FileByName(ctx, "j", "in", "a")
	if err != nil || !gf.ModTime.Equal(t0.Add(-time.Hour)) || !gf.Created.Equal(f.Created) || !gf.Updated.Equal(f.Updated) {
		t.Fatalf("FileByName = %+v (put %+v), %v", gf, f, err)
	}
	it, err := l.GetItem(ctx, "j", "k")
	if err != nil || !it.Updated.Equal(t0.Add(time.Second)) {
		t.Fatalf("GetItem = %+v, %v", it, err)
	}
	g := &ledger.File{Job: "j", Source: "in", Name: "b", State: ledger.FileSeen}
	if err := l.PutFile(ctx, g); err != nil {
		t.Fatal(err)
	}
	if gg, err := l.FileByName(ctx, "j", "in", "b"); err != nil || !gg.ModTime.IsZero() {
		t.Fatalf("zero ModTime came back as %v, %v", gg.ModTime, err)
	}
}

func TestDumpLoad(t *testing.T) { eachStore(t, testDumpLoad) }

// testDumpLoad: Dump lists every record, across pages, and stops at fn's
// error (Load is tested by TestCopy).
func testDumpLoad(t *testing.T, l ledger.Ledger, _ func() ledger.Ledger) {
	ctx := context.Background()
	defer l.Close()
	fill(t, l, 700)
	var recs []ledger.Record
	if err := l.(ledger.Dumper).Dump(ctx, func(r ledger.Record) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	var n [4]int
	for _, r := range recs {
		switch {
		case r.Run != nil:
			n[0]++
		case r.File != nil:
			n[1]++
		case r.Item != nil:
			n[2]++
		case r.State != nil:
			n[3]++
		}
	}
	if n != [4]int{3, 2, 700, 2} {
		t.Fatalf("Dump gave %v (runs, files, items, states)", n)
	}
	stop := errors.New("stop")
	seen := 0
	if err := l.(ledger.Dumper).Dump(ctx, func(ledger.Record) error { seen++; return stop }); !errors.Is(err, stop) || seen != 1 {
		t.Fatalf("Dump stopped with %v after %d", err, seen)
	}
}

// fill writes runs, files, items (n of them) and state values, with
// times to the microsecond.
func fill(t testing.TB, l ledger.Ledger, n int) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	var runs []ledger.Run
	for i := 0; i < 3; i++ {
		r, err := l.BeginRun(ctx, fmt.Sprint("job", i%2), t0.Add(time.Duration(i)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	runs[0].Ended, runs[0].Outcome, runs[0].Counts, runs[0].Message = t0.Add(time.Minute), ledger.OutcomePartial, map[string]int64{"sent": 2, "failed": 1}, "1 failed"
	if err := l.EndRun(ctx, runs[0]); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a.xlsx", "b.xlsx"} {
		f := &ledger.File{Job: "job0", Source: "inbox", Name: name, Size: 10, ModTime: t0, SHA256: "ab" + name, State: ledger.FileDone, Attempts: 1, RunID: runs[0].ID}
		if err := l.PutFile(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	items := make([]ledger.Item, n)
	for i := range items {
		items[i] = ledger.Item{Job: fmt.Sprint("job", i%2), Key: fmt.Sprintf("k:%05d", i), Hash: fmt.Sprint("h", i), Outcome: "created",
			Message: "é", RemoteID: fmt.Sprint(i), RunID: runs[i%2].ID, Updated: t0.Add(time.Duration(i) * time.Microsecond)}
	}
	if err := l.PutItems(ctx, items); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"cursor", "since"} {
		if err := l.SetState(ctx, "job0", s, "v-"+s); err != nil {
			t.Fatal(err)
		}
	}
}

// dump lists a ledger's records as comparable text, times to the
// microsecond.
func dump(t testing.TB, l ledger.Ledger) []string {
	t.Helper()
	us := func(tm time.Time) string {
		if tm.IsZero() {
			return "0"
		}
		return tm.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
	}
	var out []string
	err := l.(ledger.Dumper).Dump(context.Background(), func(r ledger.Record) error {
		switch {
		case r.Run != nil:
			x := *r.Run
			out = append(out, fmt.Sprintf("run %d %s %s %s %v %s %q", x.ID, x.Job, us(x.Started), us(x.Ended), x.Counts, x.Outcome, x.Message))
		case r.File != nil:
			x := *r.File
			out = append(out, fmt.Sprintf("file %d %s %s %s %d %s %s %s %d %q %d %s %s", x.ID, x.Job, x.Source, x.Name, x.Size,
				us(x.ModTime), x.SHA256, x.State, x.Attempts, x.Message, x.RunID, us(x.Created), us(x.Updated)))
		case r.Item != nil:
			x := *r.Item
			out = append(out, fmt.Sprintf("item %s %s %s %s %q %s %d %s", x.Job, x.Key, x.Hash, x.Outcome, x.Message, x.RemoteID, x.RunID, us(x.Updated)))
		case r.State != nil:
			x := *r.State
			out = append(out, fmt.Sprintf("state %s %s %q %s", x.Job, x.Name, x.Value, us(x.Updated)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCopy copies between every pair of implementations: the target then
// holds the same records, new IDs follow the copied ones, and a target
// that holds data is refused unless forced.
func TestCopy(t *testing.T) {
	for _, from := range stores {
		for _, to := range stores {
			t.Run(from.name+"-to-"+to.name, func(t *testing.T) {
				ctx := context.Background()
				src, _ := from.open(t)
				defer src.Close()
				dst, _ := to.open(t)
				defer dst.Close()
				fill(t, src, 1234)
				n, err := ledger.Copy(ctx, dst, src, false)
				if err != nil {
					t.Fatal(err)
				}
				if n != (ledger.CopyCounts{Runs: 3, Files: 2, Items: 1234, States: 2}) {
					t.Fatalf("copied %v", n)
				}
				want, got := dump(t, src), dump(t, dst)
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Fatalf("after copy:\n%s\nwant:\n%s", strings.Join(head(got), "\n"), strings.Join(head(want), "\n"))
				}
				if _, err := ledger.Copy(ctx, dst, src, false); !errors.Is(err, ledger.ErrNotEmpty) {
					t.Fatalf("copy into a ledger with data: %v, want ErrNotEmpty", err)
				}
				if err := dst.SetState(ctx, "job0", "cursor", "changed"); err != nil {
					t.Fatal(err)
				}
				if _, err := ledger.Copy(ctx, dst, src, true); err != nil {
					t.Fatalf("forced copy: %v", err)
				}
				if v, _ := dst.State(ctx, "job0", "cursor"); v != "v-cursor" {
					t.Fatalf("forced copy left state %q", v)
				}
				r, err := dst.BeginRun(ctx, "new", time.Now())
				if err != nil {
					t.Fatal(err)
				}
				if r.ID <= 3 {
					t.Fatalf("a new run after the copy has ID %d", r.ID)
				}
				f := &ledger.File{Job: "new", Source: "in", Name: "n", State: ledger.FileSeen}
				if err := dst.PutFile(ctx, f); err != nil || f.ID <= 2 {
					t.Fatalf("a new file after the copy: ID %d, %v", f.ID, err)
				}
			})
		}
	}
}

func TestGetItems(t *testing.T) { eachStore(t, testGetItems) }

// testGetItems: the items found among many keys (more than one query's
// worth), none of another job, none for keys without an item, and each
// key once even when asked twice.
func testGetItems(t *testing.T, l ledger.Ledger, _ func() ledger.Ledger) {
	ctx := context.Background()
	var items []ledger.Item
	var keys []string
	for i := 0; i < 12000; i++ {
		k := fmt.Sprintf("file:src:r%05d.csv", i)
		keys = append(keys, k)
		if i%3 == 0 {
			items = append(items, ledger.Item{Job: "j", Key: k, Hash: fmt.Sprint(i), Outcome: "done"})
		}
	}
	items = append(items, ledger.Item{Job: "other", Key: keys[1], Outcome: "done"})
	if err := l.PutItems(ctx, items); err != nil {
		t.Fatal(err)
	}
	got, err := l.GetItems(ctx, "j", append(keys, keys[0], "file:src:missing"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4000 {
		t.Fatalf("GetItems found %d items, want 4000", len(got))
	}
	for i, k := range keys {
		it, ok := got[k]
		if ok != (i%3 == 0) {
			t.Fatalf("%s: found = %v", k, ok)
		}
		if ok && (it.Job != "j" || it.Key != k || it.Hash != fmt.Sprint(i) || it.Outcome != "done" || it.Updated.IsZero()) {
			t.Fatalf("%s = %+v", k, it)
		}
	}
	if got, err := l.GetItems(ctx, "j", nil); err != nil || len(got) != 0 {
		t.Fatalf("GetItems(no keys) = %v, %v", got, err)
	}
}

// TestPruneRuns: old ended runs go; runs since the cut, runs still going,
// and each job's newest run of every outcome stay, so LastRun answers as
// before; more runs than one delete takes go too.
func TestPruneRuns(t *testing.T) { eachStore(t, testPruneRuns) }

func testPruneRuns(t *testing.T, l ledger.Ledger, _ func() ledger.Ledger) {
	ctx := context.Background()
	p, ok := l.(ledger.RunPruner)
	if !ok {
		t.Fatalf("%T does not implement RunPruner", l)
	}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	run := func(job string, at time.Time, outcome string) ledger.Run {
		t.Helper()
		r, err := l.BeginRun(ctx, job, at)
		if err != nil {
			t.Fatal(err)
		}
		if outcome != ledger.OutcomeRunning {
			r.Ended, r.Outcome = at.Add(time.Second), outcome
			if err := l.EndRun(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		return r
	}
	// "poll": 2,501 old ok runs (more than one delete takes), an old
	// failed one (its newest failed), an old one still running, and 3
	// recent ok ones.
	for i := range 2501 {
		run("poll", base.Add(time.Duration(i)*time.Minute), ledger.OutcomeOK)
	}
	failed := run("poll", base.Add(3001*time.Minute), ledger.OutcomeFailed)
	running := run("poll", base.Add(3002*time.Minute), ledger.OutcomeRunning)
	cut := base.AddDate(0, 1, 0)
	for i := range 3 {
		run("poll", cut.Add(time.Duration(i+1)*time.Hour), ledger.OutcomeOK)
	}
	// "daily": only old runs; its newest stays.
	run("daily", base, ledger.OutcomeOK)
	daily := run("daily", base.Add(24*time.Hour), ledger.OutcomeOK)

	n, err := p.PruneRuns(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2502 {
		t.Errorf("pruned %d runs, want 2502", n)
	}
	ids := func(job string) []int64 {
		rs, err := l.Runs(ctx, ledger.RunFilter{Job: job, Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, r := range rs {
			if r.Started.Before(cut) {
				out = append(out, r.ID)
			}
		}
		return out
	}
	if got, want := fmt.Sprint(ids("poll")), fmt.Sprint([]int64{running.ID, failed.ID}); got != want {
		t.Errorf("old runs of poll left: %s, want %s (the one running, the newest failed)", got, want)
	}
	if rs, _ := l.Runs(ctx, ledger.RunFilter{Job: "poll", Limit: 10000}); len(rs) != 5 {
		t.Errorf("poll has %d runs, want 5", len(rs))
	}
	if got := ids("daily"); len(got) != 1 || got[0] != daily.ID {
		t.Errorf("daily's runs left: %v, want [%d]", got, daily.ID)
	}
	if r, err := l.LastRun(ctx, "poll", ledger.OutcomeFailed); err != nil || r.ID != failed.ID {
		t.Errorf("LastRun(poll, failed) = %d, %v", r.ID, err)
	}
	// Nothing more to prune.
	if n, err := p.PruneRuns(ctx, cut); err != nil || n != 0 {
		t.Errorf("second prune: %d, %v", n, err)
	}
}

// TestPruneItems: the items of a job under a prefix last updated before
// the cut go, more of them than one delete takes; newer ones, other
// prefixes and other jobs stay; an empty prefix is refused.
func TestPruneItems(t *testing.T) { eachStore(t, testPruneItems) }

func testPruneItems(t *testing.T, l ledger.Ledger, _ func() ledger.Ledger) {
	ctx := context.Background()
	p, ok := l.(ledger.ItemPruner)
	if !ok {
		t.Fatalf("%T does not implement ItemPruner", l)
	}
	cut := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var items []ledger.Item
	for i := range 2100 {
		items = append(items, ledger.Item{Job: "bot", Key: fmt.Sprintf("findme:old%04d", i), Updated: cut.Add(-time.Duration(i+1) * time.Minute)})
	}
	items = append(items,
		ledger.Item{Job: "bot", Key: "findme:new", Updated: cut.Add(time.Minute)},
		ledger.Item{Job: "bot", Key: "findmf:old", Updated: cut.AddDate(0, -1, 0)}, // the prefix's next key
		ledger.Item{Job: "bot", Key: "other:old", Updated: cut.AddDate(0, -1, 0)},
		ledger.Item{Job: "other", Key: "findme:old", Updated: cut.AddDate(0, -1, 0)},
	)
	if err := l.PutItems(ctx, items); err != nil {
		t.Fatal(err)
	}
	n, err := p.PruneItems(ctx, "bot", "findme:", cut)
	if err != nil || n != 2100 {
		t.Fatalf("PruneItems = %d, %v; want 2100", n, err)
	}
	var left []string
	for _, job := range []string{"bot", "other"} {
		if err := l.ItemsWithPrefix(ctx, job, "", func(it ledger.Item) error { left = append(left, job+"/"+it.Key); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := strings.Join(left, " "), "bot/findme:new bot/findmf:old bot/other:old other/findme:old"; got != want {
		t.Errorf("items left: %s\nwant %s", got, want)
	}
	if n, err := p.PruneItems(ctx, "bot", "", cut); err == nil {
		t.Errorf("an empty prefix pruned %d items, want a refusal", n)
	}
}
