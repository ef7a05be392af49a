package ledger_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

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
