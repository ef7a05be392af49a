package sheets

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
)

// BenchmarkWebService20k sends a 20,000-row sheet through the web-service
// delivery to the fake answering in 20 ms, at the default concurrency, and
// reports rows/s, the ratio to the ideal concurrency/latency, and the time
// from the file appearing in the inbox to its report.
//
//	go test -tags mappingready -run '^$' -bench WebService20k -benchtime 1x ./bridge/sheets/
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

		// Reference in the same run: the bare client, conc goroutines
		// calling the same fake with nothing else to do (no sheet, no
		// mapping, no ledger). On a busy machine this is the real ceiling.
		bare := bareClientRate(b, e, conc, max(rows/4, 400))
		b.ReportMetric(bare, "bare-client-rows/s")
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
