package transports

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/textproto"
	"os"
	"syscall"
	"time"
)

// Duration is a time.Duration written as text in the configuration
// ("30s", "5m"). The zero value means "use the default".
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (use e.g. 30s, 5m): %q", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as Go text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// Or returns d, or def when d is zero or negative.
func (d Duration) Or(def time.Duration) time.Duration {
	if d.Duration <= 0 {
		return def
	}
	return d.Duration
}

// Retry says how often and how patiently an operation is retried.
type Retry struct {
	// Attempts is the total number of tries (1 = no retry). Zero means 3.
	Attempts int
	// Base is the first back-off delay (default 500ms); each retry doubles
	// it up to Max (default 30s), and a random jitter of up to half the
	// delay is added.
	Base, Max time.Duration
}

type transientError struct{ err error }

func (e transientError) Error() string { return e.err.Error() }
func (e transientError) Unwrap() error { return e.err }

// Transient marks err as worth retrying (IsTransient reports true unless
// it also wraps ErrPermanent).
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return transientError{err}
}

type permanentError struct{ err error }

func (e permanentError) Error() string   { return e.err.Error() }
func (e permanentError) Unwrap() []error { return []error{e.err, ErrPermanent} }

// Permanent marks err as not worth retrying: errors.Is(err, ErrPermanent)
// becomes true.
func Permanent(err error) error {
	if err == nil || errors.Is(err, ErrPermanent) {
		return err
	}
	return permanentError{err}
}

// IsTransient reports whether retrying the operation that failed with err
// may succeed: timeouts, connection resets and refusals, unexpected EOFs,
// FTP replies 421, 425, 426 (and other 4xx), and errors marked with
// Transient. Errors wrapping ErrPermanent, ErrNotExist, ErrExist,
// ErrUnsafeName, a context's cancellation, FTP 5xx replies and any
// unknown error are not transient.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	switch {
	case errors.Is(err, ErrPermanent), errors.Is(err, ErrNotExist), errors.Is(err, fs.ErrNotExist),
		errors.Is(err, ErrExist), errors.Is(err, ErrUnsafeName), errors.Is(err, context.Canceled):
		return false
	}
	var te transientError
	if errors.As(err, &te) {
		return true
	}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return tp.Code >= 400 && tp.Code < 500
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, ErrIntegrity) {
		return true
	}
	for _, e := range []syscall.Errno{syscall.ECONNRESET, syscall.ECONNREFUSED, syscall.ECONNABORTED,
		syscall.EPIPE, syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ENETDOWN} {
		if errors.Is(err, e) {
			return true
		}
	}
	var oe *net.OpError
	return errors.As(err, &oe) // any other socket-level failure: the link, not the request
}

// Do runs op until it succeeds, fails with an error that is not
// transient, ctx is done, or the attempts are used up. Between attempts
// it waits with exponential back-off and jitter. The last error is
// returned (wrapped with the attempt count when more than one was made).
func (p Retry) Do(ctx context.Context, op func(ctx context.Context) error) error {
	attempts := p.Attempts
	if attempts <= 0 {
		attempts = 3
	}
	base, max := p.Base, p.Max
	if base <= 0 {
		base = 500 * time.Millisecond
	}
	if max <= 0 {
		max = 30 * time.Second
	}
	delay := base
	var err error
	for i := 1; ; i++ {
		if cerr := ctx.Err(); cerr != nil {
			if err != nil {
				return fmt.Errorf("%w (gave up: %w)", err, cerr)
			}
			return cerr
		}
		err = op(ctx)
		if err == nil || !IsTransient(err) || ctx.Err() != nil {
			return err
		}
		if i >= attempts {
			if i > 1 {
				return fmt.Errorf("after %d attempts: %w", i, err)
			}
			return err
		}
		wait := delay + jitter(delay/2)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-t.C:
		}
		delay *= 2
		if delay > max {
			delay = max
		}
	}
}

func jitter(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return time.Duration(binary.LittleEndian.Uint64(b[:]) % uint64(max))
}

// RandomToken returns a short random hex string for temporary names.
func RandomToken() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
