package bridge

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the bridge's Prometheus collectors, in a registry of its
// own (never the global one). Flows may add their own collectors through
// Registerer. A nil *Metrics is valid and records nothing.
type Metrics struct {
	reg         *prometheus.Registry
	runs        *prometheus.CounterVec
	itemsVec    *prometheus.CounterVec
	undeliv     *prometheus.CounterVec
	failures    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	running     *prometheus.GaugeVec
	lastSuccess *prometheus.GaugeVec
}

// NewMetrics makes the collectors and their registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldbridge_runs_total", Help: "Runs of each job, by outcome.",
		}, []string{"job", "outcome"}),
		itemsVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldbridge_items_total", Help: "Items handled by each job, by counter (created, updated, failed, ...).",
		}, []string{"job", "counter"}),
		undeliv: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldbridge_items_undelivered_total",
			Help: "Items each job did not deliver, by counter: failed, or reported and held back for a person (conflicts).",
		}, []string{"job", "counter"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldbridge_run_failures_total", Help: "Runs that could not complete (outcome failed).",
		}, []string{"job"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fieldbridge_run_duration_seconds", Help: "How long runs take.",
			Buckets: []float64{0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600},
		}, []string{"job"}),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fieldbridge_job_running", Help: "1 while a run of the job is in progress.",
		}, []string{"job"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fieldbridge_last_success_timestamp_seconds", Help: "End of the job's last run with outcome ok or partial.",
		}, []string{"job"}),
	}
	m.reg.MustRegister(m.runs, m.itemsVec, m.undeliv, m.failures, m.duration, m.running, m.lastSuccess,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registerer is where flows register collectors of their own.
func (m *Metrics) Registerer() prometheus.Registerer { return m.reg }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

func (m *Metrics) items(job, counter string, n int64) {
	if m == nil || n <= 0 {
		return
	}
	m.itemsVec.WithLabelValues(job, counter).Add(float64(n))
}

func (m *Metrics) undelivered(job, counter string, n int64) {
	if m == nil || n <= 0 {
		return
	}
	m.undeliv.WithLabelValues(job, counter).Add(float64(n))
}

// knowJob makes the job's series appear (at zero) before its first run.
func (m *Metrics) knowJob(job string) {
	if m == nil {
		return
	}
	m.running.WithLabelValues(job).Set(0)
	m.failures.WithLabelValues(job)
	m.undeliv.WithLabelValues(job, CounterFailed)
}

func (m *Metrics) runStarted(job string) {
	if m == nil {
		return
	}
	m.running.WithLabelValues(job).Set(1)
}

func (m *Metrics) runEnded(job, outcome string, d time.Duration, end time.Time) {
	if m == nil {
		return
	}
	m.running.WithLabelValues(job).Set(0)
	m.runs.WithLabelValues(job, outcome).Inc()
	m.duration.WithLabelValues(job).Observe(d.Seconds())
	switch outcome {
	case "failed":
		m.failures.WithLabelValues(job).Inc()
	case "ok", "partial":
		m.lastSuccess.WithLabelValues(job).Set(float64(end.Unix()))
	}
}
