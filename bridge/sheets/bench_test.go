//go:build mappingready

package sheets

import (
	"os"
	"path/filepath"
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
	const rows = 20000
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
	}
}
