package boxsync_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/boxsync"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap/ozmaptest"
	"github.com/fieldbridge/fieldbridge/connectors/sytex"
	"github.com/fieldbridge/fieldbridge/connectors/sytex/sytextest"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkBoxSync measures a first (full) sync and an incremental re-sync
// with 1% of the boxes changed, against the fakes with Sytex answering each
// call after 5 ms, at the job's default concurrency. Run it once:
//
//	go test -run '^$' -bench BoxSync -benchtime 1x ./bridge/boxsync
//
// or scripts/bench-boxsync. Knobs: BOXSYNC_BENCH_BOXES (50000),
// BOXSYNC_BENCH_RATE (Sytex rate limit, req/s; default 400 for the 50,000
// boxes, because at the client's default of 10 req/s the first sync alone
// takes calls/10 seconds — the "defaults" sub-benchmark shows that pace on
// BOXSYNC_BENCH_SMALL boxes, default 200), BOXSYNC_BENCH_LATENCY (5ms),
// BOXSYNC_BENCH_CONCURRENCY (the job's default), BOXSYNC_BENCH_SYNC
// (the ledger's synchronous mode: full, the default, or normal).
func BenchmarkBoxSync(b *testing.B) {
	lat := 5 * time.Millisecond
	if d, err := time.ParseDuration(os.Getenv("BOXSYNC_BENCH_LATENCY")); err == nil {
		lat = d
	}
	b.Run("defaults", func(b *testing.B) {
		benchSync(b, envInt("BOXSYNC_BENCH_SMALL", 200), sytex.DefaultRateLimit, sytex.DefaultRateBurst, lat)
	})
	b.Run("50k", func(b *testing.B) {
		benchSync(b, envInt("BOXSYNC_BENCH_BOXES", 50000), envFloat("BOXSYNC_BENCH_RATE", 400), sytex.DefaultRateBurst, lat)
	})
}

func benchSync(b *testing.B, n int, rateLimit float64, burst int, latency time.Duration) {
	for range b.N {
		clk := &clock{t: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
		oz := ozmaptest.New(ozmaptest.Options{Now: clk.Now})
		defer oz.Close()
		sy := sytextest.New(sytextest.Options{})
		defer sy.Close()
		var ids []string
		for i := range n {
			bx := oz.AddBox(ozmaptest.Box{Box: ozmap.Box{Name: fmt.Sprintf("CTO-%06d", i), Project: "p1", BoxType: typeCTO,
				Implanted: true, Lat: -23.55 + float64(i)*1e-6, Lng: -46.63}})
			ids = append(ids, bx.ID)
		}
		// BOXSYNC_BENCH_SYNC=normal measures without an fsync per commit
		led, err := ledger.OpenSQLiteWith(context.Background(), filepath.Join(b.TempDir(), "ledger.db"),
			ledger.SQLiteOptions{Synchronous: os.Getenv("BOXSYNC_BENCH_SYNC")})
		if err != nil {
			b.Fatal(err)
		}
		defer led.Close()
		ozc, _ := ozmap.New(ozmap.Options{BaseURL: oz.URL(), Key: oz.Key()})
		syc, _ := sytex.New(sytex.Options{BaseURL: sy.URL(), Token: sy.Token(), Organization: sy.Organization(), RateLimit: rateLimit, RateBurst: burst})
		o := *boxsync.DefaultOptions()
		o.DefaultNEType = 12
		o.Concurrency = envInt("BOXSYNC_BENCH_CONCURRENCY", o.Concurrency)
		job, err := boxsync.NewJob(o, boxsync.Deps{Name: "bench", OZmap: ozc, Sytex: syc, Language: "en"})
		if err != nil {
			b.Fatal(err)
		}
		run := func(label string) (time.Duration, map[string]int64) {
			clk.Add(time.Hour)
			r, _ := led.BeginRun(context.Background(), "bench", clk.Now())
			rc := bridge.NewRunContext(r, led, nil, nil)
			rc.Now = clk.Now
			oz.ResetCalls()
			sy.ResetCalls()
			t0 := time.Now()
			if err := job.Run(context.Background(), rc); err != nil {
				b.Fatalf("%s: %v", label, err)
			}
			return time.Since(t0), rc.Counts()
		}
		sy.SetLatency(latency)

		// first sync
		t0full := time.Now()
		d, c := run("full")
		calls := sy.TotalCalls()
		pages := oz.TotalCalls()
		achieved := float64(calls) / d.Seconds()
		first, last := sy.CallSpan()
		sending := float64(calls-1) / last.Sub(first).Seconds() // while calls were being made
		b.Logf("first sync   %6d boxes: %8.2fs  created=%d  Sytex calls=%d (GET %d, POST %d)  OZmap pages=%d  %.0f boxes/s  achieved %.1f req/s of %.1f configured = %.2f (%.2f while sending, after %.2fs of listing)",
			n, d.Seconds(), c["created"], calls, sy.Calls("GET"), sy.Calls("POST"), pages, float64(n)/d.Seconds(), achieved, rateLimit, achieved/rateLimit,
			sending/rateLimit, first.Sub(t0full).Seconds())
		if rateLimit != sytex.DefaultRateLimit {
			b.Logf("             at the default %.0f req/s the same %d calls would take %.0fs", sytex.DefaultRateLimit, calls, float64(calls)/sytex.DefaultRateLimit)
		}
		b.ReportMetric(d.Seconds(), "full-s")
		b.ReportMetric(float64(n)/d.Seconds(), "full-boxes/s")
		b.ReportMetric(achieved/rateLimit, "full-rate-ratio")
		if sy.Len() != n {
			b.Fatalf("Sytex has %d elements", sy.Len())
		}

		// incremental, nothing changed
		d, _ = run("no change")
		b.Logf("re-sync, no change:       %8.2fs  Sytex calls=%d  OZmap pages=%d", d.Seconds(), sy.TotalCalls(), oz.TotalCalls())

		// incremental, 1% changed
		changed := max(1, n/100)
		for i := range changed {
			oz.UpdateBox(ids[(i*97)%n], func(bx *ozmaptest.Box) { bx.Lat += 0.0005 })
		}
		d, c = run("1%")
		calls, pages = sy.TotalCalls(), oz.TotalCalls()
		ratio := float64(calls+pages) / float64(changed+pages)
		b.Logf("re-sync, 1%% changed %5d: %8.2fs  updated=%d  Sytex calls=%d (PATCH %d, GET %d)  OZmap pages=%d  calls/(changed+pages)=%.3f  %.0f changed boxes/s",
			changed, d.Seconds(), c["updated"], calls, sy.Calls("PATCH"), sy.Calls("GET"), pages, ratio, float64(changed)/d.Seconds())
		b.ReportMetric(d.Seconds(), "incr-s")
		b.ReportMetric(ratio, "incr-call-ratio")
		if c["updated"] != int64(changed) {
			b.Fatalf("updated %d, want %d", c["updated"], changed)
		}
	}
}
