package officetrack_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
)

// proxyTo returns a handler passing requests on to the fake.
func proxyTo(t *testing.T, target string) http.Handler {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	return httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
}

// TestTLSVerification: a certificate no trusted CA signed is refused;
// insecure_skip_verify accepts it.
func TestTLSVerification(t *testing.T) {
	fake, _ := setup(t)
	srv := httptest.NewTLSServer(proxyTo(t, fake.URL))
	defer srv.Close()
	o := fake.ClientOptions()
	o.URL = srv.URL + "/services/webservices.asmx"
	o.MaxRetries = -1
	c, err := officetrack.New(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateOrUpdateTask(context.Background(), officetrack.OpAutoSelect, newTask(1))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("self-signed certificate accepted: %v", err)
	}
	if fake.Calls("CreateOrUpdateTask") != 0 {
		t.Fatal("the call went through")
	}
	o.InsecureSkipVerify = true
	if c, err = officetrack.New(o, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateOrUpdateTask(context.Background(), officetrack.OpAutoSelect, newTask(1)); err != nil {
		t.Fatalf("insecure_skip_verify: %v", err)
	}
	if fake.TaskCount() != 1 {
		t.Fatalf("%d tasks", fake.TaskCount())
	}
}

// TestRetryAfterHonoured: a 503 with Retry-After waits that long (capped
// at max_backoff) instead of the short backoff, then succeeds.
func TestRetryAfterHonoured(t *testing.T) {
	fake, _ := setup(t)
	var calls atomic.Int32
	var first, second atomic.Int64
	proxy := proxyTo(t, fake.URL)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			first.Store(time.Now().UnixNano())
			w.Header().Set("Retry-After", "1")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		second.Store(time.Now().UnixNano())
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	o := fake.ClientOptions()
	o.URL = srv.URL + "/services/webservices.asmx"
	o.RetryBackoff, o.MaxBackoff = time.Millisecond, 5*time.Second
	c, err := officetrack.New(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateOrUpdateTask(context.Background(), officetrack.OpAutoSelect, newTask(1)); err != nil {
		t.Fatal(err)
	}
	if gap := time.Duration(second.Load() - first.Load()); gap < 900*time.Millisecond || gap > 4*time.Second {
		t.Fatalf("retried after %v, want about the 1s asked for", gap)
	}
}

// TestAnswerTooLarge: an answer over the bound is refused, not retried.
func TestAnswerTooLarge(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "text/xml")
		big := strings.Repeat("x", 1<<20)
		for range 9 {
			w.Write([]byte(big))
		}
	}))
	defer srv.Close()
	o := officetrack.Options{URL: srv.URL + "/services/webservices.asmx", UserName: "u", Password: "p",
		RetryBackoff: time.Millisecond, MaxBackoff: time.Millisecond}
	c, err := officetrack.New(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateOrUpdateTask(context.Background(), officetrack.OpAutoSelect, newTask(1))
	if err == nil || !strings.Contains(err.Error(), "larger than") || errors.Is(err, officetrack.ErrTransient) {
		t.Fatalf("err %v", err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
}
