package fortics_test

import (
	"net/http/httptest"
	"testing"

	"github.com/fieldbridge/fieldbridge/connectors/fortics"
)

// BenchmarkCacheHit measures the handler's own cost for a cached answer
// (no network: httptest recorder), with a record handed to OnAnswer.
func BenchmarkCacheHit(b *testing.B) {
	var n int
	h, err := fortics.New(fortics.Options{Network: newStub(), Token: token, RateLimit: 1e9, RateBurst: 1e9, // limiter on, never refusing
		OnAnswer: func(fortics.Record) { n++ }})
	if err != nil {
		b.Fatal(err)
	}
	target := "/fortics/viability?token=" + token + "&lat=-27.5760&lng=-48.5270"
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", target, nil))
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
