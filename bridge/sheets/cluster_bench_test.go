package sheets

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger/ledgertest"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack/officetracktest"
)

// BenchmarkClusterWebService20k sends one 20,000-row sheet to the fake
// OfficeTrack answering in 20 ms from a cluster of 1, 2 and 3 nodes (in
// this process, each with the default concurrency) on one PostgreSQL
// ledger, and reports rows/s, the speed-up over one node and the ratio to
// the ideal (nodes × one node's rate). Goal: 3 nodes ≥ 2.7x one node.
//
//	go test -run '^$' -bench ClusterWebService20k -benchtime 1x ./bridge/sheets/
func BenchmarkClusterWebService20k(b *testing.B) {
	rows := 20000
	if n, err := strconv.Atoi(os.Getenv("FB_BENCH_ROWS")); err == nil && n > 0 {
		rows = n
	}
	data := xlsxRows(b, goodRows(rows, 1_000_000))
	var one float64
	for _, nodes := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			for range b.N {
				rate := clusterSend(b, nodes, rows, data)
				if nodes == 1 {
					one = rate
				}
				b.ReportMetric(rate, "rows/s")
				if one > 0 {
					b.ReportMetric(rate/one, "x-one-node")
					b.ReportMetric(rate/(one*float64(nodes)), "ratio-to-ideal")
				}
			}
		})
	}
}

// clusterSend runs nodes engines on a fresh database, drops the sheet in
// their shared inbox and returns the rows/s from its first call to its last.
func clusterSend(b *testing.B, nodes, rows int, data []byte) float64 {
	b.Helper()
	url := ledgertest.PostgresURL(b)
	root := b.TempDir()
	inbox, maps := filepath.Join(root, "inbox"), filepath.Join(root, "mappings")
	for _, d := range []string{inbox, maps} {
		os.MkdirAll(d, 0o755)
	}
	os.WriteFile(filepath.Join(maps, "tarefas.toml"), []byte(tasksMapping), 0o644)
	fake := officetracktest.NewServer(officetracktest.Options{Latency: 20 * time.Millisecond})
	defer fake.Close()
	co := fake.ClientOptions()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var done []chan error
	for i := 0; i < nodes; i++ {
		text := fmt.Sprintf(`data_dir = %q
language = "en"
[http]
listen = "off"
[ledger]
url = %q
node = "node-%d"
lease = "5s"
[connections.ot]
type = "officetrack"
url = %q
user_name = %q
password = %q
[[job]]
name = "tarefas"
kind = "sheet-officetrack"
officetrack = "ot"
mappings = %q
min_age = "200ms"
rescan = "500ms"
[[job.inbox]]
path = %q
mapping = "tarefas"
`, filepath.Join(root, fmt.Sprintf("data-%d", i)), url, i+1, fake.URL, co.UserName, co.Password, maps, inbox)
		cfg, err := bridge.ParseConfig(filepath.Join(root, "config.toml"), []byte(text), registry())
		if err != nil {
			b.Fatal(err)
		}
		e, err := bridge.NewEngine(ctx, bridge.EngineOptions{Config: cfg, Registry: registry(),
			Log: slog.New(slog.NewTextHandler(benchLogOut(), nil))})
		if err != nil {
			b.Fatal(err)
		}
		defer e.Close()
		ch := make(chan error, 1)
		go func() { ch <- e.Run(ctx) }()
		done = append(done, ch)
		for !e.Ready() {
			time.Sleep(10 * time.Millisecond)
		}
	}
	// Every node's heartbeat is in before the sheet comes.
	time.Sleep(300 * time.Millisecond)
	if err := os.WriteFile(filepath.Join(inbox, "tarefas-20k.xlsx"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	report := filepath.Join(inbox, "done", "tarefas-20k.xlsx.report.xlsx")
	deadline := time.Now().Add(5 * time.Minute)
	for {
		if _, err := os.Stat(report); err == nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("not settled; %d tasks", fake.TaskCount())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	for _, ch := range done {
		<-ch
	}
	if n := fake.TaskCount(); n != rows {
		b.Fatalf("%d tasks, want %d", n, rows)
	}
	first, last := fake.CallWindow()
	rate := float64(rows) / last.Sub(first).Seconds()
	b.Logf("%d node(s), concurrency %d each: %d rows in %v: %.0f rows/s (max in flight %d)", nodes,
		officetrack.DefaultOptions().Concurrency, rows, last.Sub(first).Round(time.Millisecond), rate, fake.MaxInFlight())
	return rate
}

func benchLogOut() io.Writer {
	if os.Getenv("FB_BENCH_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}
