package viability

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fieldbridge/fieldbridge/connectors/fortics"
)

// metrics are the flow's Prometheus collectors: answers by status and the
// answer latency, by job.
type metrics struct {
	answers  *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	dropped  prometheus.Counter
	byStatus map[string]prometheus.Counter // read-only after newMetrics
	lat      [2]prometheus.Observer        // not cached, cached
}

func newMetrics(reg prometheus.Registerer, job string) *metrics {
	answers := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fieldbridge_viability_answers_total",
		Help: "Viability questions answered, by job and status (found, not_found, no_viability, invalid_request, unauthorized, rate_limited, unavailable).",
	}, []string{"job", "status"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "fieldbridge_viability_answer_seconds",
		Help:    "Time to answer a viability question, by job and whether the answer came from the cache.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"job", "cached"})
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fieldbridge_viability_log_dropped_total",
		Help: "Viability answers not written to the day's question log because its buffer was full.",
	}, []string{"job"})
	if reg != nil {
		answers = register(reg, answers)
		latency = register(reg, latency)
		dropped = register(reg, dropped)
	}
	m := &metrics{answers: answers, latency: latency, dropped: dropped.WithLabelValues(job), byStatus: map[string]prometheus.Counter{}}
	// Pre-create the series so that dashboards see zeros (and the hot path
	// does not hash labels).
	for _, s := range []string{fortics.StatusFound, fortics.StatusNotFound, fortics.StatusNoViability,
		fortics.StatusInvalidRequest, fortics.StatusUnauthorized, fortics.StatusRateLimited, fortics.StatusUnavailable} {
		m.byStatus[s] = answers.WithLabelValues(job, s)
	}
	m.lat[0] = latency.WithLabelValues(job, "false")
	m.lat[1] = latency.WithLabelValues(job, "true")
	return m
}

// register registers c, or returns the collector already registered under
// the same description (several viability jobs share one registry).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

func (m *metrics) observe(job string, r fortics.Record) {
	if c, ok := m.byStatus[r.Status]; ok {
		c.Inc()
	} else {
		m.answers.WithLabelValues(job, r.Status).Inc()
	}
	i := 0
	if r.Cached {
		i = 1
	}
	m.lat[i].Observe(float64(r.Latency) / float64(time.Second))
}
