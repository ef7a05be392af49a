package bridge

// Metrics holds the bridge's Prometheus collectors.
// (Stub: the engine issue fills it in with prometheus/client_golang.)
type Metrics struct{}

func (m *Metrics) items(job, counter string, n int64) {}
