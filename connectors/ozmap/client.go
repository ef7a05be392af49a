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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/internal/httpapi"
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

func (e *APIError) Error() string { return httpapi.ErrorText("ozmap", e.Op, e.Status, e.Message) }

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
	return httpapi.TemporaryStatus(e.Status)
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
	// Options holds timeout, max_retries, retry_base, retry_max,
	// insecure_skip_verify, ca_file and max_response_bytes (default
	// 64 MiB).
	httpapi.Options
	// PageSize is the number of rows asked per page of a listing
	// (default 100, at most 1000).
	PageSize int `toml:"page_size"`

	// HTTPClient replaces the client's transport (tests). Its Timeout is
	// ignored: Timeout applies.
	HTTPClient *http.Client `toml:"-"`
	// Log receives one line per retry (never with credentials).
	Log *slog.Logger `toml:"-"`
}

// DefaultOptions returns Options with every default filled in.
func DefaultOptions() Options {
	o := Options{Options: httpapi.DefaultOptions(), PageSize: 100}
	o.MaxResponseBytes = 64 << 20
	return o
}

// Check validates o without I/O and returns every problem found, joined,
// each naming its option key.
func (o Options) Check() error {
	var errs []error
	if err := httpapi.CheckURL("base_url", o.BaseURL, "https://acme.ozmap.com.br:9994/api/v2"); err != nil {
		errs = append(errs, err)
	}
	if o.Key == "" && (o.Login == "" || o.Password == "") {
		errs = append(errs, errors.New("key: missing (set key, or login and password)"))
	}
	if (o.Login == "") != (o.Password == "") {
		errs = append(errs, errors.New("login/password: set both or neither"))
	}
	if o.PageSize < 0 || o.PageSize > 1000 {
		errs = append(errs, fmt.Errorf("page_size: %d out of range 1..1000", o.PageSize))
	}
	errs = append(errs, o.Options.Check()...)
	return errors.Join(errs...)
}

// Client talks to one OZmap account. It is safe for concurrent use.
type Client struct {
	o     Options
	base  *url.URL
	api   *httpapi.Client
	retry httpapi.Retry

	mu    sync.Mutex
	token string // the key, or the token of the last login
	gen   int    // bumped at each login
}

// New validates o, fills defaults and returns a client. It does no I/O
// but reading CAFile.
func New(o Options) (*Client, error) {
	d := DefaultOptions()
	o.Options = o.Options.WithDefaults(d.Options)
	if o.PageSize == 0 {
		o.PageSize = d.PageSize
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
		var err error
		if hc, err = o.NewHTTPClient(64); err != nil { // chatbot questions come in parallel
			return nil, err
		}
	}
	return &Client{o: o, base: base, api: o.Client("ozmap", hc), retry: o.Retry("ozmap", o.Log), token: o.Key}, nil
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
	return c.retry.Do(ctx, r.op, func(ctx context.Context) (time.Duration, error) {
		return c.once(ctx, r, tok, out)
	})
}

// once makes one HTTP call. It returns the server's Retry-After, if any.
func (c *Client) once(ctx context.Context, r request, tok string, out any) (time.Duration, error) {
	u := *c.base
	u.Path = c.base.Path + r.path
	if r.query != nil {
		u.RawQuery = r.query.Encode()
	}
	h := http.Header{"Accept": {"application/json"}}
	if r.body != nil {
		h.Set("Content-Type", "application/json")
	}
	if tok != "" {
		h.Set("Authorization", tok)
	}
	resp, err := c.api.Send(ctx, httpapi.Request{Op: r.op, Method: r.method, URL: u.String(), Header: h, Body: r.body})
	if err != nil {
		return 0, err
	}
	if !resp.OK() {
		return resp.RetryAfter(), &APIError{Op: r.op, Status: resp.Status, Message: errorMessage(resp.Body)}
	}
	if out == nil {
		return 0, nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return 0, fmt.Errorf("ozmap: %s: answer is not the expected JSON: %w", r.op, err)
	}
	return 0, nil
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
	return httpapi.Snippet(b)
}
