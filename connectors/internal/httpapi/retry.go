package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry is a retry policy: up to MaxRetries retries of a failure its
// Retryable accepts, waiting Backoff(Base, Max, attempt) before each, or
// the server's Retry-After capped at Max.
type Retry struct {
	// Name prefixes errors and log lines ("ozmap").
	Name string
	// MaxRetries is how many retries follow the first try (0: none).
	MaxRetries int
	// Base is the first backoff delay, doubled at each retry; Max caps a
	// delay, a Retry-After included.
	Base, Max time.Duration
	// Log receives one warning per retry (nil: nowhere).
	Log *slog.Logger
	// Retryable says whether a try's error is worth a retry (nil:
	// IsRetryable).
	Retryable func(error) bool
}

// Do runs try until it succeeds, fails with an error not worth a retry,
// MaxRetries retries were made, or ctx ends. try returns the delay the
// server asked for (a Retry-After; 0 for none) with its error.
//
// Do returns try's last error as it is, except when ctx ended: then the
// error is "<name>: <op>: <ctx error>" (wrapping ctx.Err()), naming the
// failure it was waiting to retry when the end came during a backoff.
func (p Retry) Do(ctx context.Context, op string, try func(context.Context) (time.Duration, error)) error {
	retryable := p.Retryable
	if retryable == nil {
		retryable = IsRetryable
	}
	for attempt := 0; ; attempt++ {
		ra, err := try(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %s: %w", p.Name, op, ctx.Err())
		}
		if !retryable(err) || attempt >= p.MaxRetries {
			return err
		}
		wait := Backoff(p.Base, p.Max, attempt)
		if ra > 0 {
			wait = min(ra, p.Max)
		}
		if p.Log != nil {
			p.Log.Warn(p.Name+" call failed, retrying", "op", op, "attempt", attempt+1, "wait", wait, "err", err)
		}
		if serr := Sleep(ctx, wait); serr != nil {
			return fmt.Errorf("%s: %s: %w (while waiting to retry after: %v)", p.Name, op, serr, err)
		}
	}
}

// Backoff returns the delay before retry number attempt (0-based):
// d = base doubled attempt times, capped at max, then a random value
// in [d/2, d] (jitter, so that clients do not retry in step).
func Backoff(base, max time.Duration, attempt int) time.Duration {
	d := base << min(attempt, 20)
	if d <= 0 || d > max {
		d = max
	}
	return d/2 + rand.N(d/2+1)
}

// Sleep waits d or until ctx ends, returning ctx.Err() in that case.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// TransientError marks a failure below HTTP (connection refused or
// dropped, no answer within the timeout, answer cut short): worth a retry.
type TransientError struct {
	Err error
	// Uncertain is true when the request may have reached the server and
	// been applied (anything but a refused dial).
	Uncertain bool
}

func (e *TransientError) Error() string { return e.Err.Error() }

// Unwrap returns the failure.
func (e *TransientError) Unwrap() error { return e.Err }

// IsRetryable reports whether err is worth a retry: it holds a
// *TransientError, or an error whose Temporary method says so (a
// connector's API error for 429 and 5xx).
func IsRetryable(err error) bool {
	var te *TransientError
	if errors.As(err, &te) {
		return true
	}
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// RetryAfter parses a Retry-After header value (seconds or an HTTP date);
// 0 when absent, invalid or past.
func RetryAfter(v string) time.Duration {
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
