// Package sms sends text messages through an SMS gateway: Zenvia (common
// in Brazil) or Twilio, following ../shared/contracts/findme.md.
//
// A Client sends one message per Send call. 429, 5xx and refused
// connections are retried with backoff within the caller's deadline; a
// connection lost after the request went out is not (the gateway may have
// taken the message, and a retry would send it twice: ErrUncertain); a 4xx
// answer is permanent: ErrRejected when the gateway refused the message
// or its number, ErrUnauthorized when it refused the account. Errors and
// log lines never hold the full phone number: the gateway's own message
// is kept with the number masked.
package sms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/internal/httpapi"
)

// Providers.
const (
	Zenvia = "zenvia"
	Twilio = "twilio"
)

// Default API roots.
const (
	ZenviaURL = "https://api.zenvia.com"
	TwilioURL = "https://api.twilio.com"
)

// Sentinel errors matched with errors.Is on Send's errors.
var (
	// ErrRejected: the gateway refused this message for good (a 4xx other
	// than 401/403/429): the number is wrong, blocked or not mobile.
	ErrRejected = errors.New("sms: the gateway refused the message")
	// ErrUnauthorized: 401/403, the account's credentials are wrong or
	// lack the right to send.
	ErrUnauthorized = errors.New("sms: the gateway refused the account (401/403): check the credentials")
	// ErrUnavailable: the gateway did not accept the message in time
	// (429, 5xx, no answer) after the retries.
	ErrUnavailable = errors.New("sms: the gateway is unavailable")
	// ErrUncertain: the request went out but no answer came back (the
	// connection was lost, or the deadline passed while waiting): the
	// gateway may have taken the message. It is not sent again.
	ErrUncertain = errors.New("sms: the gateway did not answer; the message may have been sent")
)

// Options are a [connections.NAME] table of type "sms".
type Options struct {
	// Provider is "zenvia" or "twilio".
	Provider string `toml:"provider"`
	// BaseURL is the API root (default the provider's:
	// https://api.zenvia.com, https://api.twilio.com).
	BaseURL string `toml:"base_url"`
	// From is the sender: Zenvia's sender id (the account's keyword or
	// short code), Twilio's number in E.164 or a messaging service sid.
	From string `toml:"from"`
	// Token is Zenvia's API token (X-API-TOKEN).
	Token string `toml:"token" secret:"true"`
	// AccountSID and AuthToken are Twilio's credentials (basic auth).
	AccountSID string `toml:"account_sid"`
	AuthToken  string `toml:"auth_token" secret:"true"`
	// Options holds timeout (default 10s), max_retries, retry_base,
	// retry_max, insecure_skip_verify, ca_file and max_response_bytes
	// (default 1 MiB).
	httpapi.Options

	// HTTPClient replaces the client's transport (tests).
	HTTPClient *http.Client `toml:"-"`
}

// DefaultOptions returns Options with every default filled in.
func DefaultOptions() Options {
	o := Options{Options: httpapi.DefaultOptions()}
	o.Timeout = 10 * time.Second
	o.MaxResponseBytes = 1 << 20
	return o
}

// Check validates o without I/O, returning every problem joined, each
// naming its key.
func (o Options) Check() error {
	var errs []error
	switch o.Provider {
	case Zenvia:
		if o.Token == "" {
			errs = append(errs, errors.New(`token: missing (Zenvia's API token; use "${ZENVIA_TOKEN}" or "file:/path")`))
		}
	case Twilio:
		if o.AccountSID == "" {
			errs = append(errs, errors.New("account_sid: missing (Twilio's Account SID, AC…)"))
		}
		if o.AuthToken == "" {
			errs = append(errs, errors.New(`auth_token: missing (use "${TWILIO_AUTH_TOKEN}" or "file:/path")`))
		}
	case "":
		errs = append(errs, errors.New(`provider: missing ("zenvia" or "twilio")`))
	default:
		errs = append(errs, fmt.Errorf(`provider: %q is not "zenvia" or "twilio"`, o.Provider))
	}
	if o.From == "" {
		errs = append(errs, errors.New("from: missing (the sender id or number the gateway assigned to the account)"))
	}
	if o.BaseURL != "" {
		if err := httpapi.CheckURL("base_url", o.BaseURL, ZenviaURL); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, o.Options.Check()...)
	return errors.Join(errs...)
}

// Client sends SMS through one gateway account. It is safe for
// concurrent use.
type Client struct {
	o     Options
	base  *url.URL
	http  *httpapi.Client
	retry httpapi.Retry
	gw    gateway
}

// gateway is what differs between providers.
type gateway interface {
	send(to, text string) httpapi.Request
	sentID(body []byte) (string, error)
	check() httpapi.Request
	// reason reads the provider's error message from an error body.
	reason(body []byte) string
}

// New returns a client for o (defaults filled in). It does no I/O. log
// receives one line per retry (nil: nowhere).
func New(o Options, log *slog.Logger) (*Client, error) {
	d := DefaultOptions()
	o.Options = o.Options.WithDefaults(d.Options)
	if err := o.Check(); err != nil {
		return nil, err
	}
	if o.BaseURL == "" {
		o.BaseURL = ZenviaURL
		if o.Provider == Twilio {
			o.BaseURL = TwilioURL
		}
	}
	base, _ := url.Parse(strings.TrimRight(o.BaseURL, "/"))
	hc := o.HTTPClient
	if hc == nil {
		var err error
		if hc, err = o.NewHTTPClient(4); err != nil {
			return nil, err
		}
	}
	// no redirects: they could carry the credentials elsewhere
	hc2 := *hc
	hc2.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &Client{o: o, base: base, http: o.Client("sms "+o.Provider, &hc2), retry: o.Retry("sms "+o.Provider, log)}
	switch o.Provider {
	case Zenvia:
		c.gw = zenvia{c}
	default:
		c.gw = twilio{c}
	}
	return c, nil
}

// Provider returns the gateway's name ("zenvia", "twilio").
func (c *Client) Provider() string { return c.o.Provider }

// APIError is a gateway's answer that was not a success. Its message
// never holds the full number the message was for.
type APIError struct {
	Provider string
	// Op names the call ("send to (48) 9****-5432").
	Op     string
	Status int
	// Message is the gateway's reason, the number masked.
	Message string
}

func (e *APIError) Error() string {
	return httpapi.ErrorText("sms "+e.Provider, e.Op, e.Status, e.Message)
}

// Unwrap maps the status to a sentinel error.
func (e *APIError) Unwrap() error {
	switch {
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return ErrUnauthorized
	case httpapi.TemporaryStatus(e.Status):
		return ErrUnavailable
	case e.Status >= 400 && e.Status < 500:
		return ErrRejected
	}
	return nil
}

// Temporary reports whether a retry may succeed (429, 5xx).
func (e *APIError) Temporary() bool { return httpapi.TemporaryStatus(e.Status) }

// Send sends text to the number to (E.164, see Normalize) and returns the
// gateway's id for the message. It retries 429, 5xx and refused
// connections within ctx (a gateway that never accepts ends in an error
// wrapping ErrUnavailable); a refusal is permanent. A request that went
// out without an answer (the connection lost, or ctx ending while
// waiting) is not sent again: the error wraps ErrUncertain.
func (c *Client) Send(ctx context.Context, to, text string) (string, error) {
	if !strings.HasPrefix(to, "+") || !allDigits(to[1:]) {
		return "", fmt.Errorf("sms: send: %w: %q is not in E.164 (use Normalize)", ErrRejected, Mask(to))
	}
	masked := Mask(to)
	op := "send to " + masked
	var id string
	var uncertain error // the last try's, when the request went out unanswered
	err := c.retry.Do(ctx, op, func(ctx context.Context) (time.Duration, error) {
		resp, err := c.http.Send(ctx, c.gw.send(to, text))
		var te *httpapi.TransientError
		if errors.As(err, &te) && te.Uncertain {
			uncertain = err
			return 0, &uncertainError{err} // not retried: it may have been sent
		}
		uncertain = nil
		if err != nil {
			return 0, err
		}
		if !resp.OK() {
			msg := hideNumber(c.gw.reason(resp.Body), to)
			return resp.RetryAfter(), &APIError{Provider: c.o.Provider, Op: op, Status: resp.Status, Message: msg}
		}
		id, err = c.gw.sentID(resp.Body)
		if err != nil {
			// accepted (2xx) but unreadable: sent; do not send it twice
			id = ""
		}
		return 0, nil
	})
	if err != nil {
		var te *httpapi.TransientError
		switch {
		case uncertain != nil: // the deadline may have ended the wait too
			return "", fmt.Errorf("%w: %w", ErrUncertain, uncertain)
		case errors.As(err, &te) || errors.Is(err, context.DeadlineExceeded):
			return "", fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return "", err
	}
	return id, nil
}

// uncertainError marks a try after which the gateway may have taken the
// message; IsRetryable does not see it as transient.
type uncertainError struct{ err error }

func (e *uncertainError) Error() string { return e.err.Error() }

// Check asks the gateway about the account (Zenvia: GET
// /v2/subscriptions; Twilio: GET the account), for `check -connect`. It
// sends no message.
func (c *Client) Check(ctx context.Context) error {
	return c.retry.Do(ctx, "account", func(ctx context.Context) (time.Duration, error) {
		resp, err := c.http.Send(ctx, c.gw.check())
		if err != nil {
			return 0, err
		}
		if !resp.OK() {
			return resp.RetryAfter(), &APIError{Provider: c.o.Provider, Op: "account", Status: resp.Status, Message: c.gw.reason(resp.Body)}
		}
		return 0, nil
	})
}

// hideNumber replaces the number, with or without its "+", and its
// national digits, in a gateway's message by its mask.
func hideNumber(msg, e164 string) string {
	d := Digits(e164)
	_, n := splitCountry(d)
	m := Mask(e164)
	for _, s := range []string{e164, d, n} {
		if len(s) >= 6 {
			msg = strings.ReplaceAll(msg, s, m)
		}
	}
	return msg
}

func (c *Client) url(path string) string {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	return u.String()
}
