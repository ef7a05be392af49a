package sheets

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
)

// BenchmarkWebService20k sends a 20,000-row sheet through the web-service
// delivery to the fake answering in 20 ms, at the default concurrency, and
// reports rows/s, the ratio to the ideal concurrency/latency and to the
// bare client, and the time from the file appearing in the inbox to its
// report. The cost of exactly-once — every row recorded "sending" before
// its call, its outcome after — shows in ratio-to-bare and in the ledger
// figures: commits per row, sending records per commit, ms per commit.
//
//	go test -run '^$' -bench WebService20k -benchtime 1x ./bridge/sheets/
func BenchmarkWebService20k(b *testing.B) {
	rows := 20000
	if n, err := strconv.Atoi(os.Getenv("FB_BENCH_ROWS")); err == nil && n > 0 {
		rows = n // for a quick look; the reported figure is for 20,000
	}
	const latency = 20 * time.Millisecond
	data := xlsxRows(b, goodRows(rows, 1_000_000))
	conc := officetrack.DefaultOptions().Concurrency
	for range b.N {
		e := newEnv(b, func(o *Options) { o.MinAge = bridge.Duration{Duration: 500 * time.Millisecond} })
		e.fake.SetLatency(latency)
		e.timeout = 10 * time.Minute
		tl := &timedLedger{Ledger: e.l}
		e.l = tl
		// Reference, measured before and after the sheet: the bare client,
		// conc goroutines calling the same fake with nothing else to do
		// (no sheet, no mapping, no ledger). On a busy machine this is the
		// real ceiling; the two measures show how much the load moved.
		bareBefore := bareClientRate(b, e, conc, max(rows/8, 400))
		e.fake.Reset()
		start := time.Now()
		e.drop("tarefas-20k.xlsx", data)
		if err := e.run(); err != nil {
			b.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(e.inbox, "done", "tarefas-20k.xlsx.report.xlsx")); err != nil {
			b.Fatal(err)
		}
		total := time.Since(start)
		if e.fake.TaskCount() != rows {
			b.Fatalf("%d tasks", e.fake.TaskCount())
		}
		first, last := e.fake.CallWindow()
		sendTime := last.Sub(first)
		rate := float64(rows) / sendTime.Seconds()
		ideal := float64(conc) / latency.Seconds()
		b.ReportMetric(rate, "rows/s")
		b.ReportMetric(rate/ideal, "ratio-to-ideal")
		b.ReportMetric(total.Seconds(), "s-appear-to-report")
		b.ReportMetric(float64(e.fake.MaxInFlight()), "max-in-flight")
		if tl.commits > 0 {
			b.ReportMetric(float64(tl.total.Microseconds())/float64(tl.commits)/1000, "ms/ledger-commit")
			b.ReportMetric(float64(tl.items)/float64(tl.commits), "items/ledger-commit")
			b.ReportMetric(float64(tl.commits)/float64(rows), "ledger-commits/row")
			if tl.sendingCommits > 0 {
				b.ReportMetric(float64(tl.sending)/float64(tl.sendingCommits), "sending-records/commit")
			}
		}

		bareAfter := bareClientRate(b, e, conc, max(rows/8, 400))
		bare := (bareBefore + bareAfter) / 2
		b.ReportMetric(bareBefore, "bare-before-rows/s")
		b.ReportMetric(bareAfter, "bare-after-rows/s")
		b.ReportMetric(rate/bare, "ratio-to-bare")
	}
}

func bareClientRate(b *testing.B, e *env, conc, calls int) float64 {
	c, err := officetrack.New(e.fake.ClientOptions(), nil)
	if err != nil {
		b.Fatal(err)
	}
	e.fake.Reset()
	next := make(chan int64, calls)
	for i := range calls {
		next <- int64(9_000_000 + i)
	}
	close(next)
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range next {
				t := officetrack.Task{TaskNumber: &n}
				t.Set("Description", "Instalação")
				t.Set("DueDateTime", "202611231400")
				if _, err := c.CreateOrUpdateTask(context.Background(), officetrack.OpAutoSelect, t); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(calls) / time.Since(start).Seconds()
}

// timedLedger measures the ledger's group commits.
type timedLedger struct {
	ledger.Ledger
	mu                      sync.Mutex
	commits, items          int
	sending, sendingCommits int // rows recorded "sending", commits holding some
	total                   time.Duration
}

func (l *timedLedger) PutItems(ctx context.Context, items []ledger.Item) error {
	start := time.Now()
	err := l.Ledger.PutItems(ctx, items)
	n := 0
	for _, it := range items {
		if it.Outcome == outcomeSending && !strings.HasPrefix(it.Key, targetPrefix) {
			n++
		}
	}
	l.mu.Lock()
	l.commits++
	l.items += len(items)
	l.sending += n
	if n > 0 {
		l.sendingCommits++
	}
	l.total += time.Since(start)
	l.mu.Unlock()
	return err
}
