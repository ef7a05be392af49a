package faketest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

type fake struct {
	Faults
	applied atomic.Int32
}

func newFake(t *testing.T) (*fake, *httptest.Server) {
	f := &fake{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Serve(&f.Faults, w, r, r.Method, func(w http.ResponseWriter, status int) {
			w.WriteHeader(status)
			_, _ = io.WriteString(w, "injected")
		}, func(w http.ResponseWriter) {
			f.applied.Add(1)
			_, _ = io.WriteString(w, "ok")
		})
	}))
	t.Cleanup(srv.Close)
	return f, srv
}

// get returns the status and body, or status -1 when the connection was
// closed without an answer.
func get(t *testing.T, c *http.Client, method, url string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		return -1, "", nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestFaults(t *testing.T) {
	f, srv := newFake(t)
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	type step struct {
		method     string
		wantStatus int
		wantBody   string
		applied    int32 // applied count after the step
	}
	check := func(name string, steps ...step) {
		t.Helper()
		for i, s := range steps {
			st, body, _ := get(t, c, s.method, srv.URL)
			if st != s.wantStatus || body != s.wantBody || f.applied.Load() != s.applied {
				t.Fatalf("%s step %d: got %d %q applied %d, want %d %q applied %d", name, i, st, body, f.applied.Load(), s.wantStatus, s.wantBody, s.applied)
			}
		}
	}
	check("no fault", step{"GET", 200, "ok", 1})

	f.FailNext(2, http.StatusServiceUnavailable)
	f.SetRetryAfter("7")
	st, _, h := get(t, c, "GET", srv.URL)
	if st != 503 || h.Get("Retry-After") != "7" {
		t.Fatalf("injected failure: %d, Retry-After %q", st, h.Get("Retry-After"))
	}
	check("fail next", step{"POST", 503, "injected", 1}, step{"GET", 200, "ok", 2})

	f.DropNext(1)
	check("drop before", step{"GET", -1, "", 2}, step{"GET", 200, "ok", 3})

	f.DropAfterNext(1)
	check("drop after", step{"POST", -1, "", 4}, step{"GET", 200, "ok", 5})

	if f.Calls("GET") != 6 || f.Calls("POST") != 2 || f.TotalCalls() != 8 {
		t.Fatalf("calls GET %d POST %d total %d", f.Calls("GET"), f.Calls("POST"), f.TotalCalls())
	}
	first, last := f.CallSpan()
	if first.IsZero() || last.Before(first) {
		t.Fatalf("CallSpan = %v, %v", first, last)
	}
	f.ResetCalls()
	if first, _ := f.CallSpan(); f.TotalCalls() != 0 || !first.IsZero() {
		t.Fatalf("after ResetCalls: total %d, first %v", f.TotalCalls(), first)
	}
}

func TestLatency(t *testing.T) {
	f, srv := newFake(t)
	f.SetLatency(100 * time.Millisecond)
	start := time.Now()
	if st, _, _ := get(t, http.DefaultClient, "GET", srv.URL); st != 200 {
		t.Fatalf("status %d", st)
	}
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Fatalf("answered after %v, want at least the latency", el)
	}

	// a client that gives up first is not answered and nothing is applied
	f.SetLatency(time.Hour)
	c := &http.Client{Timeout: 50 * time.Millisecond}
	if st, _, _ := get(t, c, "GET", srv.URL); st != -1 {
		t.Fatalf("status %d, want no answer", st)
	}
	time.Sleep(20 * time.Millisecond)
	if n := f.applied.Load(); n != 1 {
		t.Fatalf("applied %d, want 1", n)
	}
}
