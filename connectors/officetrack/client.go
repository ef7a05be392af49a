// Package officetrack is a client for OfficeTrack's SOAP 1.1 web service
// (webservices.asmx, namespace Trackem.Web.Services): CreateOrUpdateTask,
// GetTaskDetails and InsertOrUpdatePointOfInterest, following
// shared/contracts/officetrack.md.
//
// Every answer is sorted into a Class: success, row error (report it, do not
// retry), run-stopping (wrong credentials: nothing else will work) and
// transient (retried with backoff by the client; when retries run out the
// error wraps ErrTransient). Check errors with errors.Is(err, ErrRunStopping),
// errors.Is(err, ErrTransient) and errors.As(err, **ResultError), or ClassOf.
//
// The password is sent in each call, as the service requires, and never
// appears in an error or log line.
package officetrack

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Namespace is the service's XML namespace.
const Namespace = "Trackem.Web.Services"

// Operation values for CreateOrUpdateTask / InsertOrUpdatePointOfInterest.
const (
	OpCreate     = "Create"
	OpUpdate     = "Update"
	OpAutoSelect = "AutoSelect"
)

// Options configures a Client (the "officetrack" connection type).
type Options struct {
	// URL of webservices.asmx, e.g.
	// "https://acme.officetrack.com/services/webservices.asmx".
	URL      string `toml:"url"`
	UserName string `toml:"user_name"`
	Password string `toml:"password" secret:"true"`
	// Timeout bounds one HTTP call (default 30s).
	Timeout time.Duration `toml:"timeout"`
	// MaxRetries is how many times a transient failure is retried
	// (default 4; 0 in the file means the default, -1 means none).
	MaxRetries int `toml:"max_retries"`
	// RetryBackoff is the first wait before a retry; it doubles each time
	// up to MaxBackoff, with jitter (default 1s, max 30s).
	RetryBackoff time.Duration `toml:"retry_backoff"`
	MaxBackoff   time.Duration `toml:"max_backoff"`
	// Concurrency is how many calls may be in flight at once towards this
	// account (default 8). Jobs use it as their default.
	Concurrency int `toml:"concurrency"`
	// InsecureSkipVerify turns off TLS certificate checks (never in
	// production).
	InsecureSkipVerify bool `toml:"insecure_skip_verify"`
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{Timeout: 30 * time.Second, MaxRetries: 4, RetryBackoff: time.Second,
		MaxBackoff: 30 * time.Second, Concurrency: 8}
}

// Check validates options without I/O, returning every problem joined.
func (o *Options) Check() error {
	var errs []error
	if o.URL == "" {
		errs = append(errs, errors.New("url: missing (the address of OfficeTrack's webservices.asmx)"))
	} else if u, err := url.Parse(o.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("url: %q is not an http(s) address", o.URL))
	}
	if o.UserName == "" {
		errs = append(errs, errors.New("user_name: missing"))
	}
	if o.Password == "" {
		errs = append(errs, errors.New("password: missing (use ${ENV_VAR} or file:/path)"))
	}
	if o.Timeout < 0 {
		errs = append(errs, errors.New("timeout: must not be negative"))
	}
	if o.Concurrency < 0 || o.Concurrency > 256 {
		errs = append(errs, errors.New("concurrency: must be between 1 and 256"))
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Timeout == 0 {
		o.Timeout = d.Timeout
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = d.MaxRetries
	} else if o.MaxRetries < 0 {
		o.MaxRetries = 0
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = d.RetryBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = d.MaxBackoff
	}
	if o.Concurrency <= 0 {
		o.Concurrency = d.Concurrency
	}
	return o
}

// Client talks to one OfficeTrack account. It is safe for concurrent use.
type Client struct {
	opts Options
	http *http.Client
	log  *slog.Logger
}

// maxResponse bounds an answer's size.
const maxResponse = 8 << 20

// New makes a client. log may be nil.
func New(opts Options, log *slog.Logger) (*Client, error) {
	if err := opts.Check(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = opts.Concurrency * 2
	tr.MaxConnsPerHost = 0
	if opts.InsecureSkipVerify {
		tr.TLSClientConfig.InsecureSkipVerify = true
	}
	return &Client{opts: opts, http: &http.Client{Transport: tr, Timeout: opts.Timeout}, log: log}, nil
}

// Options returns the client's options with defaults filled in and the
// password redacted.
func (c *Client) Options() Options {
	o := c.opts
	if o.Password != "" {
		o.Password = "***"
	}
	return o
}

// Concurrency is the configured number of calls in flight.
func (c *Client) Concurrency() int { return c.opts.Concurrency }

// TaskResult is CreateOrUpdateTask's answer.
type TaskResult struct {
	ResultCode      string   `xml:"ResultCode"`
	ResultCodeAsInt int      `xml:"ResultCodeAsInt"`
	ResultMessages  []string `xml:"ResultMessages>string"`
	TaskNumber      int64    `xml:"TaskNumber"`
}

// Result is InsertOrUpdatePointOfInterest's answer (ResultBase).
type Result struct {
	ResultCode      string   `xml:"ResultCode"`
	ResultCodeAsInt int      `xml:"ResultCodeAsInt"`
	ResultMessages  []string `xml:"ResultMessages>string"`
}

// TaskDetails is GetTaskDetails' answer.
type TaskDetails struct {
	Result
	Task Task
}

// rawBody is a request envelope built by hand.
type rawBody []byte

const envelopeOpen = `<soap:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>`
const envelopeClose = `</soap:Body></soap:Envelope>`

// taskEnvelope builds a CreateOrUpdateTask request without reflection
// (the web-service delivery sends one per row).
func (c *Client) taskEnvelope(operation string, t *Task) []byte {
	var b bytes.Buffer
	b.Grow(4096)
	b.WriteString(xml.Header)
	b.WriteString(envelopeOpen)
	b.WriteString(`<CreateOrUpdateTask xmlns="` + Namespace + `">`)
	for _, kv := range [][2]string{{"userName", c.opts.UserName}, {"password", c.opts.Password}, {"operation", operation}} {
		b.WriteString("<" + kv[0] + ">")
		xml.EscapeText(&b, []byte(kv[1]))
		b.WriteString("</" + kv[0] + ">")
	}
	b.WriteString("<task>")
	t.appendXML(&b)
	b.WriteString("</task></CreateOrUpdateTask>")
	b.WriteString(envelopeClose)
	return b.Bytes()
}

type getTaskDetailsReq struct {
	XMLName    xml.Name `xml:"GetTaskDetails"`
	NS         string   `xml:"xmlns,attr"`
	UserName   string   `xml:"userName"`
	Password   string   `xml:"password"`
	TaskNumber int64    `xml:"taskNumber"`
}

// CreateOrUpdateTask sends one task with the given operation (use
// OpAutoSelect: upsert by TaskNumber). A success code returns a nil error
// (warnings are in the result's messages); any other code returns a
// *ResultError; transient failures are retried first.
func (c *Client) CreateOrUpdateTask(ctx context.Context, operation string, t Task) (TaskResult, error) {
	const op = "CreateOrUpdateTask"
	var res struct {
		R TaskResult `xml:"CreateOrUpdateTaskResult"`
	}
	err := c.call(ctx, op, rawBody(c.taskEnvelope(operation, &t)), &res, func() (string, int, []string) {
		return res.R.ResultCode, res.R.ResultCodeAsInt, res.R.ResultMessages
	})
	return res.R, err
}

// GetTaskDetails reads a task back. An unknown number gives a *ResultError
// with CodeTaskNumberNotFound.
func (c *Client) GetTaskDetails(ctx context.Context, taskNumber int64) (TaskDetails, error) {
	const op = "GetTaskDetails"
	req := getTaskDetailsReq{NS: Namespace, UserName: c.opts.UserName, Password: c.opts.Password, TaskNumber: taskNumber}
	var res struct {
		R struct {
			Result
			Task *Element `xml:"Task"`
		} `xml:"GetTaskDetailsResult"`
	}
	err := c.call(ctx, op, req, &res, func() (string, int, []string) {
		return res.R.ResultCode, res.R.ResultCodeAsInt, res.R.ResultMessages
	})
	out := TaskDetails{Result: res.R.Result}
	if err == nil && res.R.Task != nil {
		d, derr := DecodeTask(res.R.Task)
		if derr != nil {
			return out, fmt.Errorf("officetrack %s: reading the task: %w", op, derr)
		}
		out.Task = d.Task
	}
	return out, err
}

// InsertOrUpdatePointOfInterest sends one point of interest (keyed by its
// CustomerNumber) with the given operation.
func (c *Client) InsertOrUpdatePointOfInterest(ctx context.Context, operation string, p POI) (Result, error) {
	const op = "InsertOrUpdatePointOfInterest"
	var res struct {
		R Result `xml:"InsertOrUpdatePointOfInterestResult"`
	}
	err := c.call(ctx, op, poiReq{c.opts.UserName, c.opts.Password, operation, p}, &res, func() (string, int, []string) {
		return res.R.ResultCode, res.R.ResultCodeAsInt, res.R.ResultMessages
	})
	return res.R, err
}

type poiReq struct {
	user, pass, operation string
	p                     POI
}

// MarshalXML writes the operation's flat parameter list in order.
func (r poiReq) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	st := xml.StartElement{Name: xml.Name{Local: "InsertOrUpdatePointOfInterest"},
		Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: Namespace}}}
	if err := e.EncodeToken(st); err != nil {
		return err
	}
	el := func(name, v string) error {
		return e.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: name}})
	}
	for _, kv := range [][2]string{{"userName", r.user}, {"password", r.pass}, {"operation", r.operation}} {
		if err := el(kv[0], kv[1]); err != nil {
			return err
		}
	}
	p := r.p
	for _, pp := range poiParams {
		if err := el(pp.name, *pp.get(&p)); err != nil {
			return err
		}
	}
	if err := el("isParent", strconv.FormatBool(p.IsParent)); err != nil {
		return err
	}
	return e.EncodeToken(st.End())
}

// Envelope wraps an operation element in a SOAP 1.1 envelope.
func Envelope(body any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	buf.WriteString(envelopeOpen)
	if err := xml.NewEncoder(&buf).Encode(body); err != nil {
		return nil, err
	}
	buf.WriteString(envelopeClose)
	return buf.Bytes(), nil
}

// call sends one operation with retries on transient failures.
func (c *Client) call(ctx context.Context, op string, req, res any, code func() (string, int, []string)) error {
	var body []byte
	if raw, ok := req.(rawBody); ok {
		body = raw
	} else {
		var err error
		if body, err = Envelope(req); err != nil {
			return fmt.Errorf("officetrack %s: building the request: %w", op, err)
		}
	}
	var err error
	backoff := c.opts.RetryBackoff
	for attempt := 0; ; attempt++ {
		err = c.once(ctx, op, body, res)
		if err == nil {
			rc, ri, msgs := code()
			if cl := Classify(rc, ri); cl != Success {
				err = &ResultError{Op: op, Code: rc, CodeInt: ri, Messages: msgs}
			}
		}
		if err == nil || ClassOf(err) != Transient || ctx.Err() != nil {
			return err
		}
		if attempt >= c.opts.MaxRetries {
			if !errors.Is(err, ErrTransient) {
				err = fmt.Errorf("%w: %w", ErrTransient, err)
			}
			return fmt.Errorf("%w (gave up after %d attempts)", err, attempt+1)
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		c.log.LogAttrs(ctx, slog.LevelWarn, "officetrack: transient failure, retrying",
			slog.String("op", op), slog.Int("attempt", attempt+1), slog.Duration("wait", wait), slog.String("error", err.Error()))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (while waiting to retry: %w)", ctx.Err(), err)
		case <-t.C:
		}
		backoff = min(backoff*2, c.opts.MaxBackoff)
	}
}

// netError marks a network failure (refused, reset, timeout) as transient.
type netError struct {
	op  string
	err error
}

func (e *netError) Error() string        { return fmt.Sprintf("officetrack %s: %v", e.op, e.err) }
func (e *netError) Unwrap() error        { return e.err }
func (e *netError) Is(target error) bool { return target == ErrTransient }

func (c *Client) once(ctx context.Context, op string, body []byte, res any) error {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.opts.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("officetrack %s: %w", op, err)
	}
	hreq.Header.Set("Content-Type", "text/xml; charset=utf-8")
	hreq.Header.Set("SOAPAction", `"`+Namespace+"/"+op+`"`)
	resp, err := c.http.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("officetrack %s: %w", op, ctx.Err())
		}
		return &netError{op, scrub(err, c.opts.URL)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("officetrack %s: %w", op, ctx.Err())
		}
		return &netError{op, err}
	}
	if len(data) > maxResponse {
		return fmt.Errorf("officetrack %s: answer larger than %d bytes", op, maxResponse)
	}
	return decodeAnswer(op, resp.StatusCode, data, res)
}

// decodeAnswer reads an answer in one pass: a SOAP Fault becomes a
// *FaultError, a status other than 200 without one an *HTTPError, and the
// operation's response element is decoded into res.
func decodeAnswer(op string, status int, data []byte, res any) error {
	// One pass: find the Fault or the operation's response element.
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, terr := dec.Token()
		if terr != nil {
			if status != http.StatusOK {
				return &HTTPError{Op: op, Status: status, Body: snippet(data)}
			}
			return fmt.Errorf("%w: officetrack %s: answer without %sResponse (%v)", ErrTransient, op, op, terr)
		}
		st, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch st.Name.Local {
		case "Fault":
			var f struct {
				Code   string `xml:"faultcode"`
				String string `xml:"faultstring"`
			}
			if err := dec.DecodeElement(&f, &st); err != nil {
				return fmt.Errorf("%w: officetrack %s: unreadable fault: %v", ErrTransient, op, err)
			}
			return &FaultError{Op: op, Code: f.Code, String: f.String}
		case op + "Response":
			if status != http.StatusOK {
				return &HTTPError{Op: op, Status: status, Body: snippet(data)}
			}
			if err := dec.DecodeElement(res, &st); err != nil {
				return fmt.Errorf("%w: officetrack %s: unreadable answer: %v", ErrTransient, op, err)
			}
			return nil
		}
	}
}

// scrub removes the URL's userinfo from an error text (http.Client errors
// quote the URL).
func scrub(err error, rawURL string) error {
	u, perr := url.Parse(rawURL)
	if perr != nil || u.User == nil {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), u.User.String()+"@", ""))
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
