// Package faketest holds what the connectors' fakes share: fault
// injection (latency, failures with a status, dropped connections) and
// call counters, for an httptest server's handler.
package faketest

import (
	"net/http"
	"sync"
	"time"
)

// Faults injects faults into a fake's answers and counts its calls. A fake
// embeds it (its methods then are the fake's) and runs every request
// through Serve (a function, not a method, so that it does not become
// one of the fake's). The zero value injects nothing; it is safe for
// concurrent use.
type Faults struct {
	mu                sync.Mutex
	latency           time.Duration
	failN, failStatus int
	retryAfter        string
	dropN, dropAfterN int
	calls             map[string]int
	first, last       time.Time // of the calls counted since ResetCalls
}

// SetLatency delays every answer by d.
func (f *Faults) SetLatency(d time.Duration) {
	f.mu.Lock()
	f.latency = d
	f.mu.Unlock()
}

// FailNext makes the next n requests answer status (429, 500, 503, ...)
// without being applied.
func (f *Faults) FailNext(n, status int) {
	f.mu.Lock()
	f.failN, f.failStatus = n, status
	f.mu.Unlock()
}

// SetRetryAfter sets the Retry-After header sent with injected failures
// ("" for none).
func (f *Faults) SetRetryAfter(v string) {
	f.mu.Lock()
	f.retryAfter = v
	f.mu.Unlock()
}

// DropNext makes the next n requests get their connection closed without
// an answer, before they are applied.
func (f *Faults) DropNext(n int) {
	f.mu.Lock()
	f.dropN = n
	f.mu.Unlock()
}

// DropAfterNext applies the next n requests, then closes their connection
// without answering (the client cannot know they were applied).
func (f *Faults) DropAfterNext(n int) {
	f.mu.Lock()
	f.dropAfterN = n
	f.mu.Unlock()
}

// Calls returns how many requests were counted under key (what the fake
// passes to Serve: a path, a method, ...), including failed ones.
func (f *Faults) Calls(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[key]
}

// TotalCalls returns how many requests were counted under any key.
func (f *Faults) TotalCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, v := range f.calls {
		n += v
	}
	return n
}

// ResetCalls zeroes the call counters and the call span.
func (f *Faults) ResetCalls() {
	f.mu.Lock()
	f.calls = nil
	f.first, f.last = time.Time{}, time.Time{}
	f.mu.Unlock()
}

// CallSpan returns when the first and the last request counted since the
// last ResetCalls arrived (zero when none did).
func (f *Faults) CallSpan() (first, last time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.first, f.last
}

// Serve counts r under key in f, then applies the faults due: it waits the
// latency (returning when the client gives up first), closes the
// connection for DropNext, or answers an injected failure with fail(w,
// status) and the Retry-After set. Otherwise it calls next, whose answer,
// for DropAfterNext, is thrown away and the connection closed.
func Serve(f *Faults, w http.ResponseWriter, r *http.Request, key string, fail func(http.ResponseWriter, int), next func(http.ResponseWriter)) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[key]++
	now := time.Now()
	if f.first.IsZero() {
		f.first = now
	}
	f.last = now
	latency := f.latency
	dropBefore := f.dropN > 0
	if dropBefore {
		f.dropN--
	}
	dropAfter := !dropBefore && f.dropAfterN > 0
	if dropAfter {
		f.dropAfterN--
	}
	status := 0
	if !dropBefore && !dropAfter && f.failN > 0 {
		f.failN--
		status = f.failStatus
	}
	ra := f.retryAfter
	f.mu.Unlock()

	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	switch {
	case dropBefore:
		Drop(w)
	case status != 0:
		if ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		fail(w, status)
	case dropAfter:
		next(discard{http.Header{}})
		Drop(w)
	default:
		next(w)
	}
}

// Drop closes the connection of w's request without an answer.
func Drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			_ = c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// discard swallows an answer (for DropAfterNext).
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}
