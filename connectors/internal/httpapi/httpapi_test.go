package httpapi

import (
	"context"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestBackoffBounds(t *testing.T) {
	base, max := 100*time.Millisecond, 2*time.Second
	for attempt := 0; attempt < 70; attempt++ {
		d := base << min(attempt, 20)
		if attempt >= 5 { // 100ms << 5 = 3.2s > max; also overflow beyond
			d = max
		}
		for range 200 {
			got := Backoff(base, max, attempt)
			if got < d/2 || got > d {
				t.Fatalf("Backoff(attempt %d) = %v, want within [%v, %v]", attempt, got, d/2, d)
			}
		}
	}
	// jitter: not always the same value
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[Backoff(time.Second, time.Minute, 3)] = true
	}
	if len(seen) < 10 {
		t.Errorf("Backoff gave only %d distinct values out of 50", len(seen))
	}
	// an overflowing shift falls back to max
	if got := Backoff(time.Hour, 2*time.Hour, 60); got < time.Hour || got > 2*time.Hour {
		t.Errorf("Backoff(huge) = %v", got)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	future := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		in       string
		min, max time.Duration
	}{
		{"", 0, 0},
		{"3", 3 * time.Second, 3 * time.Second},
		{" 7 ", 7 * time.Second, 7 * time.Second},
		{"-1", 0, 0},
		{"soon", 0, 0},
		{future, 85 * time.Second, 90 * time.Second},
		{past, 0, 0},
	} {
		if got := RetryAfter(tc.in); got < tc.min || got > tc.max {
			t.Errorf("RetryAfter(%q) = %v, want in [%v, %v]", tc.in, got, tc.min, tc.max)
		}
	}
}

type tempErr struct{ temp bool }

func (e tempErr) Error() string   { return "temp" }
func (e tempErr) Temporary() bool { return e.temp }

// policy returns a fast retry policy.
func policy(maxRetries int) Retry {
	return Retry{Name: "x", MaxRetries: maxRetries, Base: time.Millisecond, Max: 5 * time.Millisecond}
}

func TestRetryDo(t *testing.T) {
	perm := errors.New("permanent")
	for _, tc := range []struct {
		name      string
		errs      []error // what the tries return, in order; nil: success
		max       int
		wantTries int
		wantErr   error
	}{
		{"success first", []error{nil}, 3, 1, nil},
		{"transient then success", []error{&TransientError{Err: perm}, tempErr{true}, nil}, 3, 3, nil},
		{"permanent stops", []error{perm, nil}, 3, 1, perm},
		{"not temporary stops", []error{tempErr{false}, nil}, 3, 1, tempErr{false}},
		{"retries exhausted", []error{tempErr{true}, tempErr{true}, tempErr{true}, nil}, 2, 3, tempErr{true}},
		{"no retries", []error{tempErr{true}, nil}, 0, 1, tempErr{true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			err := policy(tc.max).Do(context.Background(), "op", func(context.Context) (time.Duration, error) {
				e := tc.errs[n]
				n++
				return 0, e
			})
			if n != tc.wantTries {
				t.Errorf("tries = %d, want %d", n, tc.wantTries)
			}
			if !errors.Is(err, tc.wantErr) && err != tc.wantErr {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestRetryCustomRetryable(t *testing.T) {
	p := policy(5)
	p.Retryable = func(error) bool { return false }
	n := 0
	_ = p.Do(context.Background(), "op", func(context.Context) (time.Duration, error) { n++; return 0, tempErr{true} })
	if n != 1 {
		t.Fatalf("tries = %d, want 1", n)
	}
}

func TestRetryAfterHonouredAndCapped(t *testing.T) {
	p := Retry{Name: "x", MaxRetries: 1, Base: time.Millisecond, Max: 300 * time.Millisecond}
	for _, tc := range []struct {
		ra       time.Duration
		min, max time.Duration
	}{
		{150 * time.Millisecond, 150 * time.Millisecond, 290 * time.Millisecond}, // honoured over a 1ms backoff
		{time.Hour, 300 * time.Millisecond, 2 * time.Second},                     // capped at Max
	} {
		var first, second time.Time
		err := p.Do(context.Background(), "op", func(context.Context) (time.Duration, error) {
			if first.IsZero() {
				first = time.Now()
				return tc.ra, tempErr{true}
			}
			second = time.Now()
			return 0, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if gap := second.Sub(first); gap < tc.min || gap > tc.max {
			t.Errorf("Retry-After %v: waited %v, want in [%v, %v]", tc.ra, gap, tc.min, tc.max)
		}
	}
}

func TestRetryContextCancelledDuringBackoff(t *testing.T) {
	p := Retry{Name: "svc", MaxRetries: 5, Base: time.Hour, Max: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	start := time.Now()
	time.AfterFunc(50*time.Millisecond, cancel)
	err := p.Do(ctx, "GET /x", func(context.Context) (time.Duration, error) {
		n++
		return 0, tempErr{true}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("Do returned after %v, not at the cancel", el)
	}
	if n != 1 {
		t.Errorf("tries = %d, want 1", n)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "svc: GET /x: context canceled") || !strings.Contains(msg, "while waiting to retry after: temp") {
		t.Errorf("err = %q", msg)
	}

	// a try that fails because ctx ended is reported as the ctx's end
	ctx2, cancel2 := context.WithCancel(context.Background())
	err = p.Do(ctx2, "op", func(context.Context) (time.Duration, error) { cancel2(); return 0, errors.New("boom") })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestSleep(t *testing.T) {
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Sleep = %v", err)
	}
}

func TestWithDefaults(t *testing.T) {
	d := DefaultOptions()
	got := Options{MaxRetries: -1, RetryBase: -time.Second, CAFile: "c"}.WithDefaults(d)
	want := d
	want.MaxRetries, want.CAFile = 0, "c"
	if got != want {
		t.Fatalf("WithDefaults = %+v, want %+v", got, want)
	}
	set := Options{Timeout: time.Second, MaxRetries: 2, RetryBase: 3, RetryMax: 4, MaxResponseBytes: 5}
	if got := set.WithDefaults(d); got != set {
		t.Fatalf("WithDefaults changed set values: %+v", got)
	}
}

func TestCheck(t *testing.T) {
	errs := Options{Timeout: -1, CAFile: filepath.Join(t.TempDir(), "none.pem")}.Check()
	if len(errs) != 2 || !strings.HasPrefix(errs[0].Error(), "timeout:") || !strings.HasPrefix(errs[1].Error(), "ca_file:") {
		t.Fatalf("Check = %v", errs)
	}
	if errs := DefaultOptions().Check(); len(errs) != 0 {
		t.Fatalf("Check(defaults) = %v", errs)
	}
}

func client(url string, o Options) (*Client, Request) {
	hc, _ := o.NewHTTPClient(4)
	return o.Client("svc", hc), Request{Op: "GET /thing", Method: http.MethodGet, URL: url}
}

func TestSendBodyLimit(t *testing.T) {
	size := atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Test") != "yes" {
			w.WriteHeader(http.StatusBadRequest)
		}
		if r.URL.Path == "/err" {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(strings.Repeat("e", ErrorBodyLimit*2)))
			return
		}
		_, _ = w.Write([]byte(strings.Repeat("a", int(size.Load()))))
	}))
	defer srv.Close()
	o := DefaultOptions()
	o.MaxResponseBytes = 1000
	c, req := client(srv.URL, o)
	req.Header = http.Header{"X-Test": {"yes"}}

	for _, n := range []int64{0, 999, 1000} {
		size.Store(n)
		resp, err := c.Send(context.Background(), req)
		if err != nil || !resp.OK() || int64(len(resp.Body)) != n {
			t.Fatalf("body of %d: resp %+v, err %v", n, resp, err)
		}
	}
	size.Store(1001)
	_, err := c.Send(context.Background(), req)
	if !errors.Is(err, ErrTooLarge) || err.Error() != "svc: GET /thing: answer larger than 1000 bytes" || IsRetryable(err) {
		t.Fatalf("1001 bytes: err = %v", err)
	}

	// an error answer is returned whole up to ErrorBodyLimit, whatever MaxResponseBytes
	req.URL = srv.URL + "/err"
	resp, err := c.Send(context.Background(), req)
	if err != nil || resp.OK() || resp.Status != 503 || len(resp.Body) != ErrorBodyLimit || resp.RetryAfter() != 2*time.Second {
		t.Fatalf("error answer: %v, %v", resp, err)
	}
}

func TestReadLimited(t *testing.T) {
	if b, err := ReadLimited(strings.NewReader("abc"), 3); err != nil || string(b) != "abc" {
		t.Fatal(b, err)
	}
	if _, err := ReadLimited(strings.NewReader("abcd"), 3); !errors.Is(err, ErrTooLarge) {
		t.Fatal(err)
	}
	if b, err := ReadLimited(strings.NewReader("abcd"), 0); err != nil || string(b) != "abcd" {
		t.Fatal(b, err)
	}
}

func TestSendTransientErrors(t *testing.T) {
	// refused: nothing was sent
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, req := client("http://"+addr+"/x", DefaultOptions())
	_, err = c.Send(context.Background(), req)
	var te *TransientError
	if !errors.As(err, &te) || te.Uncertain || !IsRetryable(err) || strings.Contains(err.Error(), "http://") {
		t.Fatalf("refused: err = %v (%+v)", err, te)
	}

	// no answer within the timeout: uncertain
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	o := DefaultOptions()
	o.Timeout = 50 * time.Millisecond
	c, req = client(srv.URL, o)
	_, err = c.Send(context.Background(), req)
	if !errors.As(err, &te) || !te.Uncertain || err.Error() != "svc: GET /thing: no answer within 50ms" {
		t.Fatalf("timeout: err = %v", err)
	}
	// a caller's shorter deadline is named as such, not as Timeout
	o.Timeout = time.Minute
	c, req = client(srv.URL, o)
	dctx, dcancel := context.WithTimeout(context.Background(), 60*time.Millisecond)
	_, err = c.Send(dctx, req)
	dcancel()
	if !errors.As(err, &te) || !te.Uncertain || err.Error() != "svc: GET /thing: no answer within the caller's deadline" {
		t.Fatalf("caller's deadline: err = %v", err)
	}

	// dropped connection: uncertain
	drop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, _ := w.(http.Hijacker).Hijack()
		c.Close()
	}))
	defer drop.Close()
	c, req = client(drop.URL, DefaultOptions())
	_, err = c.Send(context.Background(), req)
	if !errors.As(err, &te) || !te.Uncertain {
		t.Fatalf("dropped: err = %v", err)
	}
}

func TestTLSFromCAFile(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not a cert"), 0o600); err != nil {
		t.Fatal(err)
	}

	send := func(o Options) error {
		o = o.WithDefaults(DefaultOptions())
		hc, err := o.NewHTTPClient(2)
		if err != nil {
			return err
		}
		_, err = o.Client("svc", hc).Send(context.Background(), Request{Op: "GET /", Method: http.MethodGet, URL: srv.URL})
		return err
	}
	if err := send(Options{}); err == nil {
		t.Fatal("an unknown CA was trusted")
	}
	if err := send(Options{CAFile: ca}); err != nil {
		t.Fatalf("with ca_file: %v", err)
	}
	if err := send(Options{InsecureSkipVerify: true}); err != nil {
		t.Fatalf("insecure: %v", err)
	}
	if err := send(Options{CAFile: bad}); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Fatalf("bad ca_file: %v", err)
	}
	if tc, err := (Options{}).TLSConfig(); tc != nil || err != nil {
		t.Fatalf("TLSConfig() of defaults = %v, %v", tc, err)
	}
	if tc, _ := (Options{InsecureSkipVerify: true}).TLSConfig(); tc == nil || !tc.InsecureSkipVerify {
		t.Fatalf("TLSConfig(insecure) = %+v", tc)
	}
}

func TestSnippet(t *testing.T) {
	if got := Snippet([]byte("  short \n")); got != "short" {
		t.Fatalf("Snippet = %q", got)
	}
	if got := Snippet([]byte(strings.Repeat("x", 400))); got != strings.Repeat("x", 300)+"…" {
		t.Fatalf("Snippet(400) = %q", got)
	}
}

func TestErrorTextAndTemporaryStatus(t *testing.T) {
	if got := ErrorText("svc", "GET /x", 404, ""); got != "svc: GET /x: HTTP 404 Not Found" {
		t.Errorf("ErrorText = %q", got)
	}
	if got := ErrorText("svc", "GET /x", 503, "down"); got != "svc: GET /x: HTTP 503 Service Unavailable: down" {
		t.Errorf("ErrorText = %q", got)
	}
	for status, want := range map[int]bool{200: false, 400: false, 401: false, 404: false, 429: true, 500: true, 502: true, 503: true} {
		if TemporaryStatus(status) != want {
			t.Errorf("TemporaryStatus(%d) = %v", status, !want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://x.example/api", ""},
		{"http://127.0.0.1:8080", ""},
		{"", "base_url: missing (e.g. https://e.g)"},
		{"ftp://x", `base_url: "ftp://x" is not an http(s) URL (e.g. https://e.g)`},
		{"x.example", `base_url: "x.example" is not an http(s) URL (e.g. https://e.g)`},
		{"https://", `base_url: "https://" is not an http(s) URL (e.g. https://e.g)`},
	} {
		err := CheckURL("base_url", tc.in, "https://e.g")
		if (err == nil && tc.want != "") || (err != nil && err.Error() != tc.want) {
			t.Errorf("CheckURL(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}
