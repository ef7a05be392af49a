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
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/internal/httpapi"

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

func (e *APIError) Error() string { return httpapi.ErrorText("sytex", e.Op, e.Status, e.Message) }

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
	return httpapi.TemporaryStatus(e.Status)
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
	// Options holds timeout, max_retries, retry_base, retry_max,
	// insecure_skip_verify, ca_file and max_response_bytes (default
	// 32 MiB).
	httpapi.Options
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

	// HTTPClient replaces the transport (tests).
	HTTPClient *http.Client `toml:"-"`
	// Log gets one line per retry; never credentials.
	Log *slog.Logger `toml:"-"`
}

// DefaultOptions returns Options with every default filled in.
func DefaultOptions() Options {
	return Options{
		Options:     httpapi.DefaultOptions(),
		RateLimit:   DefaultRateLimit,
		RateBurst:   DefaultRateBurst,
		PageSize:    50,
		SearchParam: "code__icontains",
	}
}

// Check validates o without I/O, returning every problem, joined.
func (o Options) Check() error {
	var errs []error
	if err := httpapi.CheckURL("base_url", o.BaseURL, "https://app.sytex.io"); err != nil {
		errs = append(errs, err)
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
	errs = append(errs, o.Options.Check()...)
	return errors.Join(errs...)
}

// Client talks to one Sytex organization. Safe for concurrent use.
type Client struct {
	o       Options
	base    *url.URL
	api     *httpapi.Client
	retry   httpapi.Retry
	limiter *rate.Limiter
	log     *slog.Logger
}

// New validates o, fills defaults and returns a client. No I/O but
// reading CAFile.
func New(o Options) (*Client, error) {
	d := DefaultOptions()
	o.Options = o.Options.WithDefaults(d.Options)
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
	if err := o.Check(); err != nil {
		return nil, err
	}
	base, _ := url.Parse(strings.TrimRight(o.BaseURL, "/"))
	base.Path = strings.TrimSuffix(base.Path, "/api")
	hc := o.HTTPClient
	if hc == nil {
		var err error
		if hc, err = o.NewHTTPClient(64); err != nil {
			return nil, err
		}
	}
	// no redirects: they could carry the token elsewhere
	hc2 := *hc
	hc2.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{o: o, base: base, api: o.Client("sytex", &hc2), log: log,
		limiter: rate.NewLimiter(rate.Limit(o.RateLimit), o.RateBurst)}
	c.retry = o.Retry("sytex", log)
	c.retry.Retryable = func(err error) bool {
		var ue *uncertainError
		return !errors.As(err, &ue) && httpapi.IsRetryable(err)
	}
	return c, nil
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

func (c *Client) do(ctx context.Context, r request, out any) error {
	return c.retry.Do(ctx, r.op, func(ctx context.Context) (time.Duration, error) {
		if err := c.limiter.Wait(ctx); err != nil {
			return 0, fmt.Errorf("sytex: %s: %w", r.op, ctxErr(ctx, err))
		}
		ra, err := c.once(ctx, r, out)
		if err != nil && r.noRetryUncertain && uncertain(err) {
			return 0, &uncertainError{err} // not retried
		}
		return ra, err
	})
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// uncertain says whether the server may have applied the request that
// failed with err.
func uncertain(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status >= 500
	}
	var te *httpapi.TransientError
	return errors.As(err, &te) && te.Uncertain
}

func (c *Client) once(ctx context.Context, r request, out any) (time.Duration, error) {
	target := r.rawURL
	if target == "" {
		u := *c.base
		u.Path = c.base.Path + r.path
		if r.query != nil {
			u.RawQuery = r.query.Encode()
		}
		target = u.String()
	}
	h := http.Header{
		"Authorization": {"Token " + c.o.Token},
		"Organization":  {c.o.Organization},
		"Accept":        {"application/json"},
	}
	if r.body != nil {
		h.Set("Content-Type", "application/json")
	}
	resp, err := c.api.Send(ctx, httpapi.Request{Op: r.op, Method: r.method, URL: target, Header: h, Body: r.body})
	if err != nil {
		return 0, err
	}
	if !resp.OK() {
		msg, fields := drfMessage(resp.Status, resp.Body)
		return resp.RetryAfter(), &APIError{Op: r.op, Status: resp.Status, Message: msg, Fields: fields}
	}
	if out == nil || len(bytes.TrimSpace(resp.Body)) == 0 {
		return 0, nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return 0, fmt.Errorf("sytex: %s: answer is not the expected JSON: %w", r.op, err)
	}
	return 0, nil
}

// drfMessage turns an error body into a readable message. A DRF
// validation body ({"field": ["msg"], "non_field_errors": [...]}, possibly
// nested) becomes "field: msg; other: msg" with the messages verbatim.
func drfMessage(status int, b []byte) (string, map[string][]string) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		s := httpapi.Snippet(b)
		if strings.HasPrefix(s, "<") { // an HTML error page
			return "", nil
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
