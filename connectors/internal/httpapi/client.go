package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrorBodyLimit bounds how much of a non-2xx answer Send reads (enough
// for any error message).
const ErrorBodyLimit = 64 << 10

// ErrTooLarge is wrapped by Send's error when a 2xx answer's body is
// larger than MaxResponseBytes.
var ErrTooLarge = errors.New("answer too large")

// Client makes single HTTP calls, each bounded in time and size. Its
// fields must not change while it is in use; it is safe for concurrent use.
type Client struct {
	// Name prefixes errors ("ozmap").
	Name string
	// HTTP sends the requests. Its own Timeout, if any, also applies.
	HTTP *http.Client
	// Timeout bounds one call, reading the answer included (0: none).
	Timeout time.Duration
	// MaxResponseBytes bounds a 2xx answer's body (0: no bound).
	MaxResponseBytes int64
}

// Request is one HTTP call.
type Request struct {
	// Op names the call in errors: "GET /boxes page 3".
	Op     string
	Method string
	URL    string
	// Header is added to the request (Accept, Authorization, ...).
	Header http.Header
	// Body is sent as is when not nil.
	Body []byte
}

// Response is an answer read whole.
type Response struct {
	Status int
	Header http.Header
	// Body is the answer's body; of a non-2xx answer, at most its first
	// ErrorBodyLimit bytes.
	Body []byte
}

// OK reports whether the status is 2xx.
func (r *Response) OK() bool { return r.Status >= 200 && r.Status <= 299 }

// RetryAfter is the delay the server asked for in Retry-After (0: none).
func (r *Response) RetryAfter() time.Duration { return RetryAfter(r.Header.Get("Retry-After")) }

// Send makes one call of r within c.Timeout and reads its answer. Any
// answer the server gave is a *Response with a nil error, whatever its
// status: the caller turns a non-2xx one into its own error. Failures
// before a whole answer was read are *TransientError (uncertain unless the
// connection was refused); a 2xx body over MaxResponseBytes is an error
// wrapping ErrTooLarge. Errors read "<name>: <op>: ..." and hold no URL
// (its query may be long or hold data).
func (c *Client) Send(ctx context.Context, r Request) (*Response, error) {
	// A caller's deadline that comes first already bounds the call: no
	// second timer then (the hot path of a chatbot question).
	own := false // Timeout bounds the call, not the caller's deadline
	if dl, ok := ctx.Deadline(); c.Timeout > 0 && (!ok || time.Until(dl) > c.Timeout) {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
		own = true
	}
	within := func() string { // for the timeout messages only
		if own {
			return c.Timeout.String()
		}
		return "the caller's deadline"
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", c.Name, r.Op, err)
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	timedOut := func() bool { return errors.Is(ctx.Err(), context.DeadlineExceeded) }
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if timedOut() {
			return nil, &TransientError{fmt.Errorf("%s: %s: no answer within %s", c.Name, r.Op, within()), true}
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		// a refused dial never reached the server
		var oe *net.OpError
		notSent := errors.As(err, &oe) && oe.Op == "dial"
		return nil, &TransientError{fmt.Errorf("%s: %s: %w", c.Name, r.Op, err), !notSent}
	}
	defer resp.Body.Close()
	out := &Response{Status: resp.StatusCode, Header: resp.Header}
	if !out.OK() {
		out.Body, _ = io.ReadAll(io.LimitReader(resp.Body, ErrorBodyLimit))
		return out, nil
	}
	out.Body, err = ReadLimited(resp.Body, c.MaxResponseBytes)
	switch {
	case errors.Is(err, ErrTooLarge):
		return nil, tooLargeError(fmt.Sprintf("%s: %s: answer larger than %d bytes", c.Name, r.Op, c.MaxResponseBytes))
	case err != nil && timedOut():
		return nil, &TransientError{fmt.Errorf("%s: %s: answer not read within %s", c.Name, r.Op, within()), true}
	case err != nil:
		return nil, &TransientError{fmt.Errorf("%s: %s: reading the answer: %w", c.Name, r.Op, err), true}
	}
	return out, nil
}

// tooLargeError is ErrTooLarge with a message naming the call.
type tooLargeError string

func (e tooLargeError) Error() string        { return string(e) }
func (e tooLargeError) Is(target error) bool { return target == ErrTooLarge }

// ReadLimited reads r to its end, at most limit bytes (limit <= 0: no
// bound). More than limit bytes is ErrTooLarge.
func ReadLimited(r io.Reader, limit int64) ([]byte, error) {
	if limit <= 0 {
		return io.ReadAll(r)
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, ErrTooLarge
	}
	return b, nil
}

// ErrorText is the message of a connector's API error:
// "<name>: <op>: HTTP <status> <status text>[: <message>]".
func ErrorText(name, op string, status int, message string) string {
	msg := fmt.Sprintf("%s: %s: HTTP %d %s", name, op, status, http.StatusText(status))
	if message != "" {
		msg += ": " + message
	}
	return msg
}

// TemporaryStatus reports whether an answer with status may be followed
// by a success when the call is retried (429 and 5xx).
func TemporaryStatus(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// Snippet returns an error body as a short readable message: trimmed and
// cut to 300 bytes.
func Snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
