// Package httpapi is the HTTP plumbing the connectors' clients share: the
// options every HTTP connector has (timeout, retries, TLS, answer size),
// building an *http.Client that trusts an extra CA file, one bounded call
// (Client.Send), and a retry loop with exponential backoff and jitter that
// honours Retry-After and the context (Retry.Do).
//
// It knows nothing of any remote system: a connector builds its URLs and
// headers, turns a non-2xx Response into its own API error, and decides
// which of its errors are worth a retry.
package httpapi

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"
)

// Options are the options every HTTP connector shares. A connector's
// Options embeds them untagged, so that their TOML keys stay at the top of
// the connection's table (timeout, max_retries, ...).
type Options struct {
	// Timeout bounds each HTTP call, including reading the answer
	// (default 30s).
	Timeout time.Duration `toml:"timeout"`
	// MaxRetries is how many times a call is retried after a 429, a 5xx or
	// a connection error (default 4; negative: never).
	MaxRetries int `toml:"max_retries"`
	// RetryBase is the first backoff delay, doubled at each retry, with
	// jitter (default 500ms).
	RetryBase time.Duration `toml:"retry_base"`
	// RetryMax caps one backoff delay, including a Retry-After asked by the
	// server (default 1m).
	RetryMax time.Duration `toml:"retry_max"`
	// InsecureSkipVerify turns off TLS certificate verification. Never in
	// production.
	InsecureSkipVerify bool `toml:"insecure_skip_verify"`
	// CAFile is a PEM file with extra root certificates to trust (an
	// on-premises install with its own CA).
	CAFile string `toml:"ca_file"`
	// MaxResponseBytes bounds one answer's body (default 32 MiB unless the
	// connector says otherwise).
	MaxResponseBytes int64 `toml:"max_response_bytes"`
}

// DefaultOptions returns the shared defaults: 30s timeout, 4 retries from
// 500ms up to 1m, answers up to 32 MiB.
func DefaultOptions() Options {
	return Options{
		Timeout:          30 * time.Second,
		MaxRetries:       4,
		RetryBase:        500 * time.Millisecond,
		RetryMax:         time.Minute,
		MaxResponseBytes: 32 << 20,
	}
}

// WithDefaults returns o with every unset field taken from d. A zero
// Timeout or MaxRetries, and a RetryBase, RetryMax or MaxResponseBytes not
// above zero, are unset; a negative MaxRetries becomes 0 (never retry).
func (o Options) WithDefaults(d Options) Options {
	if o.Timeout == 0 {
		o.Timeout = d.Timeout
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = d.MaxRetries
	} else if o.MaxRetries < 0 {
		o.MaxRetries = 0
	}
	if o.RetryBase <= 0 {
		o.RetryBase = d.RetryBase
	}
	if o.RetryMax <= 0 {
		o.RetryMax = d.RetryMax
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = d.MaxResponseBytes
	}
	return o
}

// Check validates o without I/O but a stat of CAFile. It returns each
// problem as an error starting with its option key ("ca_file: ..."), for
// the connector to join with its own.
func (o Options) Check() []error {
	var errs []error
	if o.Timeout < 0 {
		errs = append(errs, errors.New("timeout: must not be negative"))
	}
	if o.CAFile != "" {
		if _, err := os.Stat(o.CAFile); err != nil {
			errs = append(errs, fmt.Errorf("ca_file: %v", err))
		}
	}
	return errs
}

// CheckURL validates the http(s) URL v of option key, nil when it is
// one; the error names key and shows example.
func CheckURL(key, v, example string) error {
	if v == "" {
		return fmt.Errorf("%s: missing (e.g. %s)", key, example)
	}
	if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: %q is not an http(s) URL (e.g. %s)", key, v, example)
	}
	return nil
}

// TLSConfig returns the TLS configuration o asks for: nil when neither
// CAFile nor InsecureSkipVerify is set (Go's defaults apply), else a
// config trusting the system roots plus CAFile's certificates.
func (o Options) TLSConfig() (*tls.Config, error) {
	if !o.InsecureSkipVerify && o.CAFile == "" {
		return nil, nil
	}
	tc := &tls.Config{InsecureSkipVerify: o.InsecureSkipVerify} //nolint:gosec // explicit option
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool, _ := x509.SystemCertPool()
		if pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file: %s holds no PEM certificate", o.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// NewHTTPClient returns an *http.Client on a clone of Go's default
// transport keeping up to maxIdlePerHost idle connections per host, with
// o's TLS configuration. It sets no timeout: Client.Send bounds each call.
func (o Options) NewHTTPClient(maxIdlePerHost int) (*http.Client, error) {
	tc, err := o.TLSConfig()
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = maxIdlePerHost
	if tc != nil {
		tr.TLSClientConfig = tc
	}
	return &http.Client{Transport: tr}, nil
}

// Retry returns o's retry policy for the connector name ("ozmap"), logging
// to log (nil: nowhere).
func (o Options) Retry(name string, log *slog.Logger) Retry {
	return Retry{Name: name, MaxRetries: o.MaxRetries, Base: o.RetryBase, Max: o.RetryMax, Log: log}
}

// Client returns a Client sending with hc under o's timeout and answer
// bound.
func (o Options) Client(name string, hc *http.Client) *Client {
	return &Client{Name: name, HTTP: hc, Timeout: o.Timeout, MaxResponseBytes: o.MaxResponseBytes}
}
