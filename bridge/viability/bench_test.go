package viability

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/bridgetest/cputime"
	"github.com/fieldbridge/fieldbridge/bridge/viability/viabilitytest"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap/ozmaptest"
)

// BenchmarkMiss measures one question on a cache miss through the whole
// job (handler, OZmap client over loopback HTTP to the fake answering at
// once, recording). Its CPU and allocations are the bridge's plus the
// fake's two answers (cpu-µs/op: the process's CPU time per question);
// scripts/bench-viability measures latency.
func BenchmarkMiss(b *testing.B) {
	fake := ozmaptest.New(ozmaptest.Options{})
	defer fake.Close()
	places := viabilitytest.Seed(fake)
	client, err := ozmap.New(ozmap.Options{BaseURL: fake.URL(), Key: fake.Key()})
	if err != nil {
		b.Fatal(err)
	}
	o := DefaultOptions()
	o.Token, o.RateLimit, o.Cache, o.CachePrecision = "t", 0, false, 7
	job, err := NewWithNetwork(&bridge.Env{Config: &bridge.Config{DataDir: b.TempDir()}},
		bridge.JobSpec{Name: "bench", Kind: KindName}, o, OZmapNetwork(client))
	if err != nil {
		b.Fatal(err)
	}
	defer job.Close()
	h := job.handler
	i := 0
	b.ReportAllocs()
	cpu0 := cputime.Used()
	for b.Loop() {
		i++
		lat, lng := places.Found.Lat+float64(i%200)*1e-6, places.Found.Lng
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", fmt.Sprintf("%s?token=t&lat=%.7f&lng=%.7f", o.Path, lat, lng), nil))
		if rec.Code != 200 {
			b.Fatal(rec.Code, rec.Body.String())
		}
	}
	b.ReportMetric(float64(cputime.Used()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}
