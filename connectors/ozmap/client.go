// Package ozmap is a client for the OZmap API v2 (FTTH network
// documentation): boxes, projects, poles and feasibility (viabilidade).
//
// It follows ../shared/contracts/ozmap.md: the raw key in the
// Authorization header (or a login with login/password, renewed once on a
// 401), paged listings with JSON filters, retries with exponential backoff
// and jitter on 429, 5xx and connection errors (honouring Retry-After), a
// timeout per call, and errors that name the call that failed. The key and
// the password are never logged nor put into errors.
package ozmap

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
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrUnauthorized is wrapped by errors of calls OZmap answered with 401
// (after one new login when login and password are configured): the key is
// wrong, expired or revoked. A run must stop on it.
var ErrUnauthorized = errors.New("ozmap: unauthorized (401): the API key or login is wrong, expired or revoked")

// ErrForbidden is wrapped by errors of calls answered with 403: the user of
// the key lacks the API module or the project.
var ErrForbidden = errors.New("ozmap: forbidden (403): the key's user lacks permission")

// ErrNotFound is wrapped by errors of calls answered with 404.
var ErrNotFound = errors.New("ozmap: not found (404)")

// APIError is an answer of OZmap that was not a success. Errors returned by
// the client wrap it when OZmap answered (use errors.As).
type APIError struct {
	// Op names the call: "GET /boxes page 3".
	Op string
	// Status is the HTTP status code.
	Status int
	// Message is OZmap's message (from its JSON body) or the start of the body.
	Message string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("ozmap: %s: HTTP %d %s", e.Op, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Unwrap lets errors.Is match ErrUnauthorized, ErrForbidden and ErrNotFound.
func (e *APIError) Unwrap() error {
	switch e.Status {
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusForbidden:
		return ErrForbidden
	case http.StatusNotFound:
		return ErrNotFound
	}
	return nil
}

// Temporary reports whether the call may succeed when retried (429, 5xx).
func (e *APIError) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// Options configure a Client. The zero value of every field but BaseURL and
// the credentials has a documented default (see DefaultOptions).
type Options struct {
	// BaseURL is the API root, e.g. "https://acme.ozmap.com.br:9994/api/v2".
	// When the URL has no path, "/api/v2" is added.
	BaseURL string `toml:"base_url"`
	// Key is the API key (a JWT issued in OZmap's UI), sent raw in the
	// Authorization header. Either Key or Login+Password is required.
	Key string `toml:"key" secret:"true"`
	// Login and Password are used to log in (POST /users/login?type=API)
	// when Key is empty, and to log in again once when a call gets a 401.
	Login    string `toml:"login"`
	Password string `toml:"password" secret:"true"`
	// Timeout bounds each HTTP call, including reading the answer
	// (default 30s).
	Timeout time.Duration `toml:"timeout"`
	// MaxRetries is how many times a call is retried after a 429, a 5xx or
	// a connection error (default 4; negative: never).
	MaxRetries int `toml:"max_retries"`
	// RetryBase is the first backoff delay, doubled at each retry with full
	// jitter (default 500ms).
	RetryBase time.Duration `toml:"retry_base"`
	// RetryMax caps one backoff delay, including a Retry-After asked by the
	// server (default 1m).
	RetryMax time.Duration `toml:"retry_max"`
	// PageSize is the number of rows asked per page of a listing
	// (default 100, at most 1000).
	PageSize int `toml:"page_size"`
	// InsecureSkipVerify turns off TLS certificate verification. Never in
	// production.
	InsecureSkipVerify bool `toml:"insecure_skip_verify"`
	// CAFile is a PEM file with extra root certificates to trust (an
	// on-premises install with its own CA).
	CAFile string `toml:"ca_file"`
	// MaxResponseBytes bounds one answer's body (default 64 MiB).
	MaxResponseBytes int64 `toml:"max_response_bytes"`

	// HTTPClient replaces the client's transport (tests). Its Timeout is
	// ignored: Timeout applies.
	HTTPClient *http.Client `toml:"-"`
	// Log receives one line per retry (never with credentials).
	Log *slog.Logger `toml:"-"`
}

// DefaultOptions returns Options with every default filled in.
func DefaultOptions() Options {
	return Options{
		Timeout:          30 * time.Second,
		MaxRetries:       4,
		RetryBase:        500 * time.Millisecond,
		RetryMax:         time.Minute,
		PageSize:         100,
		MaxResponseBytes: 64 << 20,
	}
}

// Check validates o without I/O and returns every problem found, joined,
// each naming its option key.
func (o Options) Check() error {
	var errs []error
	if o.BaseURL == "" {
		errs = append(errs, errors.New("base_url: missing (e.g. https://acme.ozmap.com.br:9994/api/v2)"))
	} else if u, err := url.Parse(o.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("base_url: %q is not an http(s) URL (e.g. https://acme.ozmap.com.br:9994/api/v2)", o.BaseURL))
	}
	if o.Key == "" && (o.Login == "" || o.Password == "") {
		errs = append(errs, errors.New("key: missing (set key, or login and password)"))
	}
	if (o.Login == "") != (o.Password == "") {
		errs = append(errs, errors.New("login/password: set both or neither"))
	}
	if o.Timeout < 0 {
		errs = append(errs, errors.New("timeout: must not be negative"))
	}
	if o.PageSize < 0 || o.PageSize > 1000 {
		errs = append(errs, fmt.Errorf("page_size: %d out of range 1..1000", o.PageSize))
	}
	if o.CAFile != "" {
		if _, err := os.Stat(o.CAFile); err != nil {
			errs = append(errs, fmt.Errorf("ca_file: %v", err))
		}
	}
	return errors.Join(errs...)
}

// Client talks to one OZmap account. It is safe for concurrent use.
type Client struct {
	o    Options
	base *url.URL
	hc   *http.Client
	log  *slog.Logger

	mu    sync.Mutex
	token string // the key, or the token of the last login
	gen   int    // bumped at each login
}

// New validates o, fills defaults and returns a client. It does no I/O.
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
	if o.PageSize == 0 {
		o.PageSize = d.PageSize
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = d.MaxResponseBytes
	}
	if err := o.Check(); err != nil {
		return nil, err
	}
	base, _ := url.Parse(strings.TrimRight(o.BaseURL, "/"))
	if base.Path == "" {
		base.Path = "/api/v2"
	}
	hc := o.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 16
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
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{o: o, base: base, hc: hc, log: log, token: o.Key}, nil
}

// Options returns the client's options with defaults filled in.
func (c *Client) Options() Options { return c.o }

// Ping checks that OZmap answers and accepts the credentials (one small
// listing of projects).
func (c *Client) Ping(ctx context.Context) error {
	var env envelope[json.RawMessage]
	q := url.Values{"page": {"1"}, "limit": {"1"}}
	return c.getJSON(ctx, "GET /projects (ping)", "/projects", q, &env)
}

// ---- HTTP core ----

// request describes one logical call; do retries it.
type request struct {
	op     string
	method string
	path   string
	query  url.Values
	body   []byte
	noAuth bool
}

// getJSON GETs path with query and decodes the JSON answer into out.
func (c *Client) getJSON(ctx context.Context, op, path string, q url.Values, out any) error {
	return c.do(ctx, request{op: op, method: http.MethodGet, path: path, query: q}, out)
}

func (c *Client) currentToken() (string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token, c.gen
}

// do runs r with retries, logging in first when needed and once more
// after a 401 when login/password are set.
func (c *Client) do(ctx context.Context, r request, out any) error {
	relogged := false
	for {
		tok, gen := "", 0
		if !r.noAuth {
			tok, gen = c.currentToken()
			if tok == "" {
				if err := c.login(ctx, gen); err != nil {
					return err
				}
				relogged = true
				tok, gen = c.currentToken()
			}
		}
		err := c.doRetry(ctx, r, tok, out)
		var ae *APIError
		if !r.noAuth && !relogged && c.o.Login != "" && errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			relogged = true
			if lerr := c.login(ctx, gen); lerr != nil {
				return lerr
			}
			continue
		}
		return err
	}
}

// login logs in unless another goroutine already did since generation gen.
func (c *Client) login(ctx context.Context, gen int) error {
	if c.o.Login == "" {
		return &APIError{Op: "login", Status: http.StatusUnauthorized, Message: "no key and no login configured"}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen && c.token != "" {
		return nil // someone else renewed it meanwhile
	}
	body, _ := json.Marshal(map[string]string{"login": c.o.Login, "password": c.o.Password})
	var ans struct {
		Authorization string `json:"authorization"`
		Token         string `json:"token"`
	}
	err := c.doRetry(ctx, request{op: "POST /users/login", method: http.MethodPost, path: "/users/login",
		query: url.Values{"type": {"API"}}, body: body, noAuth: true}, "", &ans)
	if err != nil {
		return err
	}
	tok := ans.Authorization
	if tok == "" {
		tok = ans.Token
	}
	if tok == "" {
		return &APIError{Op: "POST /users/login", Status: http.StatusUnauthorized, Message: "login answered without an authorization token"}
	}
	c.token = tok
	c.gen++
	return nil
}

// doRetry runs r, retrying transient failures with backoff.
func (c *Client) doRetry(ctx context.Context, r request, tok string, out any) error {
	for attempt := 0; ; attempt++ {
		retryAfter, err := c.once(ctx, r, tok, out)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("ozmap: %s: %w", r.op, ctx.Err())
		}
		if !retryable(err) || attempt >= c.o.MaxRetries {
			return err
		}
		wait := backoff(c.o.RetryBase, c.o.RetryMax, attempt)
		if retryAfter > 0 {
			wait = min(retryAfter, c.o.RetryMax)
		}
		c.log.Warn("ozmap call failed, retrying", "op", r.op, "attempt", attempt+1, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("ozmap: %s: %w (while waiting to retry after: %v)", r.op, ctx.Err(), err)
		case <-t.C:
		}
	}
}

// backoff returns a full-jitter exponential delay for attempt (0-based).
func backoff(base, max time.Duration, attempt int) time.Duration {
	d := base << min(attempt, 20)
	if d <= 0 || d > max {
		d = max
	}
	return d/2 + rand.N(d/2+1)
}

// transientError marks a connection-level failure worth retrying.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func retryable(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Temporary()
	}
	var te *transientError
	return errors.As(err, &te)
}

// once makes one HTTP call. It returns the server's Retry-After, if any.
func (c *Client) once(ctx context.Context, r request, tok string, out any) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	u := *c.base
	u.Path = c.base.Path + r.path
	if r.query != nil {
		u.RawQuery = r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return 0, fmt.Errorf("ozmap: %s: %w", r.op, err)
	}
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", tok)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && r.op != "" {
			// our per-call timeout, not the caller's context
			return 0, &transientError{fmt.Errorf("ozmap: %s: no answer within %v", r.op, c.o.Timeout)}
		}
		return 0, &transientError{fmt.Errorf("ozmap: %s: %w", r.op, scrub(err))}
	}
	defer resp.Body.Close()
	lr := io.LimitReader(resp.Body, c.o.MaxResponseBytes+1)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(lr, 64<<10))
		return retryAfter(resp.Header.Get("Retry-After")), &APIError{Op: r.op, Status: resp.StatusCode, Message: errorMessage(b)}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, lr)
		return 0, nil
	}
	b, err := io.ReadAll(lr)
	if err != nil {
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return 0, &transientError{fmt.Errorf("ozmap: %s: answer not read within %v", r.op, c.o.Timeout)}
		}
		return 0, &transientError{fmt.Errorf("ozmap: %s: reading the answer: %w", r.op, err)}
	}
	if int64(len(b)) > c.o.MaxResponseBytes {
		return 0, fmt.Errorf("ozmap: %s: answer larger than %d bytes", r.op, c.o.MaxResponseBytes)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return 0, fmt.Errorf("ozmap: %s: answer is not the expected JSON: %w", r.op, err)
	}
	return 0, nil
}

// scrub removes the URL's query from a *url.Error (it may hold a filter
// with coordinates; never credentials, but keep errors short).
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// retryAfter parses a Retry-After header (seconds or an HTTP date).
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

// errorMessage pulls a readable message out of an error body.
func errorMessage(b []byte) string {
	var m map[string]any
	if json.Unmarshal(b, &m) == nil {
		for _, k := range []string{"message", "error", "detail", "msg"} {
			if s, ok := m[k].(string); ok && s != "" {
				return s
			}
			if mm, ok := m[k].(map[string]any); ok {
				if s, ok := mm["message"].(string); ok && s != "" {
					return s
				}
			}
		}
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
