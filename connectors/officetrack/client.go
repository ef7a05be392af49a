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
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/internal/httpapi"
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
	if err := httpapi.CheckURL("url", o.URL, "https://acme.officetrack.com/services/webservices.asmx"); err != nil {
		errs = append(errs, err)
	}
	if o.UserName == "" {
		errs = append(errs, errors.New("user_name: missing"))
	}
	if o.Password == "" {
		errs = append(errs, errors.New("password: missing (use ${ENV_VAR} or file:/path)"))
	}
	errs = append(errs, o.httpOptions().Check()...)
	if o.Concurrency < 0 || o.Concurrency > 256 {
		errs = append(errs, errors.New("concurrency: must be between 1 and 256"))
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	h := o.httpOptions().WithDefaults(d.httpOptions())
	o.Timeout, o.MaxRetries, o.RetryBackoff, o.MaxBackoff = h.Timeout, h.MaxRetries, h.RetryBase, h.RetryMax
	if o.Concurrency <= 0 {
		o.Concurrency = d.Concurrency
	}
	return o
}

// Client talks to one OfficeTrack account. It is safe for concurrent use.
type Client struct {
	opts  Options
	api   *httpapi.Client
	retry httpapi.Retry
}

// maxResponse bounds an answer's size.
const maxResponse = 8 << 20

// httpOptions are o's HTTP settings in the shared connectors' terms.
func (o Options) httpOptions() httpapi.Options {
	return httpapi.Options{Timeout: o.Timeout, MaxRetries: o.MaxRetries, RetryBase: o.RetryBackoff,
		RetryMax: o.MaxBackoff, InsecureSkipVerify: o.InsecureSkipVerify, MaxResponseBytes: maxResponse}
}

// New makes a client. log may be nil.
func New(opts Options, log *slog.Logger) (*Client, error) {
	if err := opts.Check(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	ho := opts.httpOptions()
	hc, err := ho.NewHTTPClient(opts.Concurrency * 2)
	if err != nil {
		return nil, err
	}
	retry := ho.Retry("officetrack", log)
	// The service's own sorting decides: transient result codes, server
	// faults, HTTP 5xx/408/429 and network failures are retried.
	retry.Retryable = func(err error) bool { return ClassOf(err) == Transient }
	return &Client{opts: opts, api: ho.Client("officetrack", hc), retry: retry}, nil
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
	return c.getTaskDetails(ctx, taskNumber, c.call)
}

func (c *Client) getTaskDetails(ctx context.Context, taskNumber int64, call func(ctx context.Context, op string, req, res any, code func() (string, int, []string)) error) (TaskDetails, error) {
	const op = "GetTaskDetails"
	req := getTaskDetailsReq{NS: Namespace, UserName: c.opts.UserName, Password: c.opts.Password, TaskNumber: taskNumber}
	var res struct {
		R struct {
			Result
			Task *Element `xml:"Task"`
		} `xml:"GetTaskDetailsResult"`
	}
	err := call(ctx, op, req, &res, func() (string, int, []string) {
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
	attempts := 0
	err := c.retry.Do(ctx, op, func(ctx context.Context) (time.Duration, error) {
		attempts++
		ra, err := c.once(ctx, op, body, res)
		if err == nil {
			rc, ri, msgs := code()
			if cl := Classify(rc, ri); cl != Success {
				err = &ResultError{Op: op, Code: rc, CodeInt: ri, Messages: msgs}
			}
		}
		return ra, err
	})
	if err != nil && ctx.Err() == nil && ClassOf(err) == Transient && attempts > c.opts.MaxRetries {
		if !errors.Is(err, ErrTransient) {
			err = fmt.Errorf("%w: %w", ErrTransient, err)
		}
		err = fmt.Errorf("%w (gave up after %d attempts)", err, attempts)
	}
	return err
}

// netError marks a failure below HTTP (refused, reset, no answer within
// the timeout, answer cut short) as transient.
type netError struct{ err error }

func (e *netError) Error() string        { return e.err.Error() }
func (e *netError) Unwrap() error        { return e.err }
func (e *netError) Is(target error) bool { return target == ErrTransient }

// once makes one POST of body and decodes the answer into res. It also
// returns the delay a non-200 answer asked for in Retry-After (0: none).
func (c *Client) once(ctx context.Context, op string, body []byte, res any) (time.Duration, error) {
	resp, err := c.api.Send(ctx, httpapi.Request{Op: op, Method: http.MethodPost, URL: c.opts.URL, Body: body,
		Header: http.Header{"Content-Type": {"text/xml; charset=utf-8"}, "SOAPAction": {`"` + Namespace + "/" + op + `"`}}})
	switch {
	case err == nil:
		var ra time.Duration
		if resp.Status != http.StatusOK {
			ra = resp.RetryAfter()
		}
		return ra, decodeAnswer(op, resp.Status, resp.Body, res)
	case ctx.Err() != nil:
		return 0, fmt.Errorf("officetrack %s: %w", op, ctx.Err())
	case errors.Is(err, httpapi.ErrTooLarge):
		return 0, err
	}
	return 0, &netError{err}
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

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
