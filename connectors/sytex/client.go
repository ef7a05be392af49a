// Package sytex is a client for the Sytex API's network elements (EdR,
// "elemento de red"): search, create and patch, following
// ../shared/contracts/sytex.md.
//
// Every request carries `Authorization: Token <token>` and
// `Organization: <id>`. Listings follow DRF's `next` links. A client-side
// rate limit (golang.org/x/time/rate; default 10 requests per second, burst
// 10) paces every attempt, retries included. 429, 5xx and connection errors
// are retried with exponential backoff and jitter, honouring Retry-After.
// DRF 400 bodies become readable messages with each field's messages kept
// verbatim. Creates are never blindly repeated: when a POST's outcome is
// unknown (5xx, dropped connection, timeout) the client searches the code
// first and only posts again when nothing was stored.
package sytex

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// Sentinel errors matched with errors.Is on the client's errors.
var (
	// ErrUnauthorized: 401, the token is missing, wrong or expired. A run
	// must stop on it.
	ErrUnauthorized = errors.New("sytex: unauthorized (401): the token is wrong or expired")
	// ErrForbidden: 403, the token's user lacks permission in the organization.
	ErrForbidden = errors.New("sytex: forbidden (403): the token's user lacks permission (check the organization id)")
	// ErrNotFound: 404.
	ErrNotFound = errors.New("sytex: not found (404)")
	// ErrInvalid: 400, Sytex refused the element (permanent for it).
	ErrInvalid = errors.New("sytex: refused (400)")
	// ErrConflict: several network elements carry the same code.
	ErrConflict = errors.New("sytex: several network elements have this code")
)

// APIError is an answer of Sytex that was not a success.
type APIError struct {
	// Op names the call: "POST /api/networkelement/ (code CTO-0142)".
	Op     string
	Status int
	// Message is the readable form of the body: for a DRF 400, every
	// field's messages verbatim ("ne_type: This field is required.").
	Message string
	// Fields holds a DRF 400 body's messages by field path
	// ("networkelementcoordinates_set[0].latitude"); "non_field_errors"
	// and "detail" are kept under their names.
	Fields map[string][]string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("sytex: %s: HTTP %d %s", e.Op, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Unwrap maps the status to a sentinel error.
func (e *APIError) Unwrap() error {
	switch e.Status {
	case http.StatusBadRequest:
		return ErrInvalid
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusForbidden:
		return ErrForbidden
	case http.StatusNotFound:
		return ErrNotFound
	}
	return nil
}

// Temporary reports whether a retry may succeed (429, 5xx).
func (e *APIError) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// Defaults.
const (
	// DefaultRateLimit is the default pace toward Sytex in requests per
	// second. Sytex publishes no limit; 10/s keeps a daily sync of 10,000
	// changed boxes under 20 minutes while staying far from what a shared
	// SaaS instance would throttle.
	DefaultRateLimit = 10.0
	// DefaultRateBurst is the default burst of the rate limit.
	DefaultRateBurst = 10
)

// Options configure a Client.
type Options struct {
	// BaseURL is the instance, e.g. "https://app.sytex.io" (paths start
	// with /api/).
	BaseURL string `toml:"base_url"`
	// Token is the user's API token (sent as "Token <token>").
	Token string `toml:"token" secret:"true"`
	// Organization is the numeric organization id sent in the
	// Organization header.
	Organization string `toml:"organization"`
	// Timeout bounds each HTTP call (default 30s).
	Timeout time.Duration `toml:"timeout"`
	// MaxRetries after 429/5xx/connection errors (default 4; negative: never).
	MaxRetries int `toml:"max_retries"`
	// RetryBase is the first backoff delay, doubled each retry, full
	// jitter (default 500ms).
	RetryBase time.Duration `toml:"retry_base"`
	// RetryMax caps one backoff delay and a server's Retry-After (default 1m).
	RetryMax time.Duration `toml:"retry_max"`
	// RateLimit is the most requests per second sent (default 10).
	RateLimit float64 `toml:"rate_limit"`
	// RateBurst is how many requests may go at once after a pause
	// (default 10).
	RateBurst int `toml:"rate_burst"`
	// PageSize is the `limit` of a listing page (default 50).
	PageSize int `toml:"page_size"`
	// SearchParam is the query parameter used to find a code: "code__icontains"
	// (default) or "q".
	SearchParam string `toml:"search_param"`
	// InsecureSkipVerify turns off TLS verification. Never in production.
	InsecureSkipVerify bool `toml:"insecure_skip_verify"`
	// CAFile is a PEM file of extra roots to trust.
	CAFile string `toml:"ca_file"`
	// MaxResponseBytes bounds one answer (default 32 MiB).
	MaxResponseBytes int64 `toml:"max_response_bytes"`

	// HTTPClient replaces the transport (tests).
	HTTPClient *http.Client `toml:"-"`
	// Log gets one line per retry; never credentials.
	Log *slog.Logger `toml:"-"`
}

// DefaultOptions returns Options with every default filled in.
func DefaultOptions() Options {
	return Options{
		Timeout:          30 * time.Second,
		MaxRetries:       4,
		RetryBase:        500 * time.Millisecond,
		RetryMax:         time.Minute,
		RateLimit:        DefaultRateLimit,
		RateBurst:        DefaultRateBurst,
		PageSize:         50,
		SearchParam:      "code__icontains",
		MaxResponseBytes: 32 << 20,
	}
}

// Check validates o without I/O, returning every problem, joined.
func (o Options) Check() error {
	var errs []error
	if o.BaseURL == "" {
		errs = append(errs, errors.New("base_url: missing (e.g. https://app.sytex.io)"))
	} else if u, err := url.Parse(o.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("base_url: %q is not an http(s) URL (e.g. https://app.sytex.io)", o.BaseURL))
	}
	if o.Token == "" {
		errs = append(errs, errors.New("token: missing (a Sytex user's API token)"))
	}
	if o.Organization == "" {
		errs = append(errs, errors.New("organization: missing (the numeric organization id)"))
	} else if _, err := strconv.ParseUint(o.Organization, 10, 64); err != nil {
		errs = append(errs, fmt.Errorf("organization: %q is not a number", o.Organization))
	}
	if o.RateLimit < 0 {
		errs = append(errs, errors.New("rate_limit: must not be negative"))
	}
	if o.RateBurst < 0 {
		errs = append(errs, errors.New("rate_burst: must not be negative"))
	}
	if o.PageSize < 0 || o.PageSize > 1000 {
		errs = append(errs, fmt.Errorf("page_size: %d out of range 1..1000", o.PageSize))
	}
	switch o.SearchParam {
	case "", "q", "code__icontains":
	default:
		errs = append(errs, fmt.Errorf("search_param: %q is not q or code__icontains", o.SearchParam))
	}
	if o.CAFile != "" {
		if _, err := os.Stat(o.CAFile); err != nil {
			errs = append(errs, fmt.Errorf("ca_file: %v", err))
		}
	}
	return errors.Join(errs...)
}

// Client talks to one Sytex organization. Safe for concurrent use.
type Client struct {
	o       Options
	base    *url.URL
	hc      *http.Client
	limiter *rate.Limiter
	log     *slog.Logger
}

// New validates o, fills defaults and returns a client. No I/O.
func New(o Options) (*Client, error) {
	d := DefaultOptions()
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
	if o.RateLimit == 0 {
		o.RateLimit = d.RateLimit
	}
	if o.RateBurst == 0 {
		o.RateBurst = d.RateBurst
	}
	if o.PageSize == 0 {
		o.PageSize = d.PageSize
	}
	if o.SearchParam == "" {
		o.SearchParam = d.SearchParam
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = d.MaxResponseBytes
	}
	if err := o.Check(); err != nil {
		return nil, err
	}
	base, _ := url.Parse(strings.TrimRight(o.BaseURL, "/"))
	base.Path = strings.TrimSuffix(base.Path, "/api")
	hc := o.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		if o.InsecureSkipVerify || o.CAFile != "" {
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
			tr.TLSClientConfig = tc
		}
		hc = &http.Client{Transport: tr}
	}
	// no redirects: they could carry the token elsewhere
	hc2 := *hc
	hc2.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{o: o, base: base, hc: &hc2, log: log,
		limiter: rate.NewLimiter(rate.Limit(o.RateLimit), o.RateBurst)}, nil
}

// Options returns the client's options with defaults filled in.
func (c *Client) Options() Options { return c.o }

// Ping checks that Sytex answers and accepts the token and organization
// (one network-element page of one row).
func (c *Client) Ping(ctx context.Context) error {
	var p page
	q := url.Values{"limit": {"1"}}
	return c.do(ctx, request{op: "GET /api/networkelement/ (ping)", method: http.MethodGet, path: nePath, query: q}, &p)
}

// ---- HTTP core ----

type request struct {
	op     string
	method string
	path   string // used when rawURL is empty
	query  url.Values
	rawURL string // a `next` link
	body   []byte
	// noRetryUncertain stops retries after failures that may have
	// reached the server (for POST).
	noRetryUncertain bool
}

// uncertainError marks a failure after which the request may or may not
// have been applied (5xx, dropped connection, timeout).
type uncertainError struct{ err error }

func (e *uncertainError) Error() string { return e.err.Error() }
func (e *uncertainError) Unwrap() error { return e.err }

// transientError marks a failure worth retrying.
type transientError struct {
	err       error
	uncertain bool // the server may have applied the request
}

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func (c *Client) do(ctx context.Context, r request, out any) error {
	for attempt := 0; ; attempt++ {
		if err := c.limiter.Wait(ctx); err != nil {
			return fmt.Errorf("sytex: %s: %w", r.op, ctxErr(ctx, err))
		}
		ra, err := c.once(ctx, r, out)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("sytex: %s: %w", r.op, ctx.Err())
		}
		retry, uncertain := classify(err)
		if !retry || attempt >= c.o.MaxRetries {
			if uncertain && r.noRetryUncertain {
				return &uncertainError{err}
			}
			return err
		}
		if uncertain && r.noRetryUncertain {
			return &uncertainError{err}
		}
		wait := backoff(c.o.RetryBase, c.o.RetryMax, attempt)
		if ra > 0 {
			wait = min(ra, c.o.RetryMax)
		}
		c.log.Warn("sytex call failed, retrying", "op", r.op, "attempt", attempt+1, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("sytex: %s: %w (while waiting to retry after: %v)", r.op, ctx.Err(), err)
		case <-t.C:
		}
	}
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// classify says whether err is worth a retry and whether the server may
// have applied the request.
func classify(err error) (retry, uncertain bool) {
	var ae *APIError
	if errors.As(err, &ae) {
		if ae.Status == http.StatusTooManyRequests {
			return true, false
		}
		return ae.Status >= 500, ae.Status >= 500
	}
	var te *transientError
	if errors.As(err, &te) {
		return true, te.uncertain
	}
	return false, false
}

func backoff(base, max time.Duration, attempt int) time.Duration {
	d := base << min(attempt, 20)
	if d <= 0 || d > max {
		d = max
	}
	return d/2 + rand.N(d/2+1)
}

func (c *Client) once(ctx context.Context, r request, out any) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	var target string
	if r.rawURL != "" {
		target = r.rawURL
	} else {
		u := *c.base
		u.Path = c.base.Path + r.path
		if r.query != nil {
			u.RawQuery = r.query.Encode()
		}
		target = u.String()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return 0, fmt.Errorf("sytex: %s: %w", r.op, err)
	}
	req.Header.Set("Authorization", "Token "+c.o.Token)
	req.Header.Set("Organization", c.o.Organization)
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		inner := err
		if errors.As(err, &ue) {
			inner = ue.Err
		}
		// a refused dial never reached the server
		var oe *net.OpError
		notSent := errors.As(inner, &oe) && oe.Op == "dial"
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return 0, &transientError{fmt.Errorf("sytex: %s: no answer within %v", r.op, c.o.Timeout), true}
		}
		return 0, &transientError{fmt.Errorf("sytex: %s: %w", r.op, inner), !notSent}
	}
	defer resp.Body.Close()
	lr := io.LimitReader(resp.Body, c.o.MaxResponseBytes+1)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(lr, 64<<10))
		msg, fields := drfMessage(resp.StatusCode, b)
		return retryAfter(resp.Header.Get("Retry-After")), &APIError{Op: r.op, Status: resp.StatusCode, Message: msg, Fields: fields}
	}
	b, err := io.ReadAll(lr)
	if err != nil {
		return 0, &transientError{fmt.Errorf("sytex: %s: reading the answer: %w", r.op, err), true}
	}
	if int64(len(b)) > c.o.MaxResponseBytes {
		return 0, fmt.Errorf("sytex: %s: answer larger than %d bytes", r.op, c.o.MaxResponseBytes)
	}
	if out == nil || len(bytes.TrimSpace(b)) == 0 {
		return 0, nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return 0, fmt.Errorf("sytex: %s: answer is not the expected JSON: %w", r.op, err)
	}
	return 0, nil
}

func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// drfMessage turns an error body into a readable message. A DRF
// validation body ({"field": ["msg"], "non_field_errors": [...]}, possibly
// nested) becomes "field: msg; other: msg" with the messages verbatim.
func drfMessage(status int, b []byte) (string, map[string][]string) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		s := strings.TrimSpace(string(b))
		if strings.HasPrefix(s, "<") { // an HTML error page
			return "", nil
		}
		if len(s) > 300 {
			s = s[:300] + "…"
		}
		return s, nil
	}
	fields := map[string][]string{}
	flatten("", v, fields)
	if len(fields) == 0 {
		return "", nil
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	// detail and non_field_errors first, then fields in name order
	rank := func(k string) int {
		switch k {
		case "detail":
			return 0
		case "non_field_errors":
			return 1
		}
		return 2
	}
	sort.Slice(keys, func(i, j int) bool {
		if rank(keys[i]) != rank(keys[j]) {
			return rank(keys[i]) < rank(keys[j])
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		msgs := strings.Join(fields[k], " ")
		if k == "detail" || k == "" || (k == "non_field_errors" && status == http.StatusBadRequest) {
			parts = append(parts, msgs)
		} else {
			parts = append(parts, k+": "+msgs)
		}
	}
	return strings.Join(parts, "; "), fields
}

func flatten(path string, v any, out map[string][]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, vv := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			flatten(p, vv, out)
		}
	case []any:
		allStrings := true
		for _, e := range x {
			if _, ok := e.(string); !ok {
				allStrings = false
			}
		}
		if allStrings {
			for _, e := range x {
				out[path] = append(out[path], e.(string))
			}
			return
		}
		for i, e := range x {
			if m, ok := e.(map[string]any); ok && len(m) == 0 {
				continue // DRF's "no error in this entry"
			}
			flatten(fmt.Sprintf("%s[%d]", path, i), e, out)
		}
	case string:
		out[path] = append(out[path], x)
	case nil:
	default:
		out[path] = append(out[path], fmt.Sprint(x))
	}
}
