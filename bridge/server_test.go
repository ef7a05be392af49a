package bridge

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// routeJob serves HTTP.
type routeJob struct{ probeJob }

func (j *routeJob) Routes() []Route {
	return []Route{
		{Pattern: "POST /echo", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
				return
			}
			w.Write(b)
		})},
		{Pattern: "GET /public", Public: true, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello")
		})},
		{Pattern: "GET /quiet", Public: true, Logged: true, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "recorded by the job")
		})},
	}
}

// TestServerRequestLog checks that requests are logged at info level,
// except those of routes that record them themselves (debug level).
func TestServerRequestLog(t *testing.T) {
	reg := probeRegistry(map[string]*probeJob{})
	reg.Kinds["routes"] = Kind{Name: "routes", NewOptions: func() any { return &probeOpts{} },
		New: func(*Env, JobSpec, any) (Job, error) { return &routeJob{}, nil }}
	for _, c := range []struct {
		level     slog.Level
		wantQuiet bool
	}{{slog.LevelInfo, false}, {slog.LevelDebug, true}} {
		var buf safeBuffer
		te := newTestEngine(t, "[[job]]\nname = \"api\"\nkind = \"routes\"\n", reg,
			EngineOptions{Log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: c.level}))})
		srv, err := NewServer(te.Engine)
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv.Handler())
		for _, p := range []string{"/public", "/quiet"} {
			resp, err := http.Get(ts.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		ts.Close()
		out := buf.String()
		if !strings.Contains(out, "path=/public") || strings.Contains(out, "path=/quiet") != c.wantQuiet {
			t.Errorf("log at %v: /public logged %v, /quiet logged %v (want %v):\n%s", c.level,
				strings.Contains(out, "path=/public"), strings.Contains(out, "path=/quiet"), c.wantQuiet, out)
		}
	}
}

// safeBuffer is a bytes.Buffer for concurrent writers.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServer(t *testing.T) {
	reg := probeRegistry(map[string]*probeJob{})
	reg.Kinds["routes"] = Kind{Name: "routes", NewOptions: func() any { return &probeOpts{} },
		New: func(*Env, JobSpec, any) (Job, error) { return &routeJob{}, nil }}
	te := newTestEngine(t, `
[http]
token = "tok-123"
max_body = 16
[[job]]
name = "api"
kind = "routes"
[[job]]
name = "nightly"
kind = "probe"
schedule = "0 3 * * *"
`, reg, EngineOptions{})
	srv, err := NewServer(te.Engine)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	do := func(method, path, body string, hdr map[string]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	bearer := map[string]string{"Authorization": "Bearer tok-123"}

	if c, _ := do("GET", "/healthz", "", nil); c != 200 {
		t.Errorf("healthz = %d", c)
	}
	if c, _ := do("GET", "/readyz", "", nil); c != 503 {
		t.Errorf("readyz before start = %d", c)
	}
	te.start()
	waitFor(t, "ready", te.Ready)
	if c, _ := do("GET", "/readyz", "", nil); c != 200 {
		t.Errorf("readyz = %d", c)
	}
	for _, c := range []struct {
		name, method, path, body string
		hdr                      map[string]string
		code                     int
		frag                     string
	}{
		{"status without token", "GET", "/", "", nil, 401, "unauthorized"},
		{"status wrong token", "GET", "/", "", map[string]string{"Authorization": "Bearer tok-124"}, 401, ""},
		{"status bearer", "GET", "/", "", bearer, 200, "nightly"},
		{"status header", "GET", "/", "", map[string]string{"X-Fieldbridge-Token": "tok-123"}, 200, "0 3 * * *"},
		{"status query", "GET", "/?token=tok-123", "", nil, 200, "api"},
		{"metrics protected", "GET", "/metrics", "", nil, 401, ""},
		{"metrics", "GET", "/metrics", "", bearer, 200, `fieldbridge_job_running{job="nightly"} 0`},
		{"job route protected", "POST", "/echo", "hi", nil, 401, ""},
		{"job route", "POST", "/echo", "hi", bearer, 200, "hi"},
		{"body too large", "POST", "/echo", strings.Repeat("x", 17), bearer, 413, ""},
		{"public route", "GET", "/public", "", nil, 200, "hello"},
		{"unknown", "GET", "/nope", "", bearer, 404, ""},
	} {
		code, body := do(c.method, c.path, c.body, c.hdr)
		if code != c.code || !strings.Contains(body, c.frag) {
			t.Errorf("%s: %d %q, want %d containing %q", c.name, code, body, c.code, c.frag)
		}
	}
	// Runs show up in metrics.
	if _, err := te.RunOnce(context.Background(), "nightly", false); err != nil {
		t.Fatal(err)
	}
	if _, body := do("GET", "/metrics", "", bearer); !strings.Contains(body, `fieldbridge_runs_total{job="nightly",outcome="ok"} 1`) {
		t.Errorf("metrics after a run:\n%s", body)
	}
	if _, body := do("GET", "/", "", bearer); !strings.Contains(body, `class="ok"`) {
		t.Errorf("status after a run:\n%s", body)
	}
	te.stop(t)
	if c, _ := do("GET", "/readyz", "", nil); c != 503 {
		t.Errorf("readyz after stop = %d", c)
	}
}

func TestServerNoToken(t *testing.T) {
	te := newTestEngine(t, "[http]\npublic_metrics = true\n", probeRegistry(nil), EngineOptions{})
	srv, err := NewServer(te.Engine)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{"/": 403, "/metrics": 200} {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path+"?token=", nil))
		if rec.Code != want {
			t.Errorf("%s = %d, want %d", path, rec.Code, want)
		}
	}
}

func TestServerRouteConflict(t *testing.T) {
	reg := probeRegistry(nil)
	reg.Kinds["routes"] = Kind{Name: "routes", NewOptions: func() any { return &probeOpts{} },
		New: func(*Env, JobSpec, any) (Job, error) { return &routeJob{}, nil }}
	te := newTestEngine(t, "[[job]]\nname=\"a\"\nkind=\"routes\"\n[[job]]\nname=\"b\"\nkind=\"routes\"\n", reg, EngineOptions{})
	if _, err := NewServer(te.Engine); err == nil || !strings.Contains(err.Error(), `job "b"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestRunDaemonStops(t *testing.T) {
	te := newTestEngine(t, "[http]\nlisten = \"127.0.0.1:0\"\n", probeRegistry(nil), EngineOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunDaemon(ctx, te.Engine) }()
	waitFor(t, "ready", te.Ready)
	// A second daemon on the same data folder refuses to start.
	if err := RunDaemon(context.Background(), te.Engine); !errors.Is(err, ErrBusy) {
		t.Fatalf("second daemon: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunDaemon did not stop")
	}
}
