package transports

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path"
	"strconv"
	"strings"
	"time"
)

// Helpers for the backends that talk to a server (transports/ftp,
// transports/sftp): the options they share and the parts of List and
// String that do not depend on the protocol.

// CheckServer returns the problems with the options every server backend
// has: host (a name or an address, no scheme or path), port (0 stands for
// the backend's default) and user; userHint is added to the message for a
// missing user.
func CheckServer(host string, port int, user, userHint string) []error {
	var errs []error
	if strings.TrimSpace(host) == "" {
		errs = append(errs, errors.New("host: required"))
	} else if strings.ContainsAny(host, "/ \t\r\n") {
		errs = append(errs, fmt.Errorf("host: %q is not a host name (no scheme or path)", host))
	}
	if port < 0 || port > 65535 {
		errs = append(errs, fmt.Errorf("port: %d out of range", port))
	}
	if user == "" {
		errs = append(errs, errors.New("user: required"+userHint))
	}
	return errs
}

// CheckRoot returns an error when a remote root folder contains a NUL or
// a line break; nil otherwise.
func CheckRoot(root string) error {
	if strings.ContainsAny(root, "\x00\r\n") {
		return errors.New("root: contains control characters")
	}
	return nil
}

// CheckDurations returns an error naming the options keys ("dial_timeout,
// io_timeout") when any of ds is negative; nil otherwise.
func CheckDurations(keys string, ds ...Duration) error {
	for _, d := range ds {
		if d.Duration < 0 {
			return fmt.Errorf("%s: must not be negative", keys)
		}
	}
	return nil
}

// RetryPolicy is the Retry of a server backend whose options say retries:
// 0 means defaultRetries, a negative number no retries. The back-off
// starts at 300ms and grows up to 10s.
func RetryPolicy(retries, defaultRetries int) Retry {
	attempts := 1 + retries
	if retries == 0 {
		attempts = 1 + defaultRetries
	} else if retries < 0 {
		attempts = 1
	}
	return Retry{Attempts: attempts, Base: 300 * time.Millisecond, Max: 10 * time.Second}
}

// HostPort joins host and port into an address; port 0 gives
// defaultPort.
func HostPort(host string, port, defaultPort int) string {
	if port == 0 {
		port = defaultPort
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// ServerURL names a server place for String, without secrets:
// "scheme://user@addr/root", a root relative to the login folder shown
// as "/~/root".
func ServerURL(scheme, user, addr, root string) string {
	if root != "" && !strings.HasPrefix(root, "/") {
		root = "/~/" + root
	}
	return scheme + "://" + user + "@" + addr + root
}

// Walk is the walk of a server backend's List. It lists the folder rel (a
// cleaned path relative to the root) and, with recursive, its sub-folders,
// depth first, checking ctx before each folder. readDir reads one folder
// — r is its path relative to the root, prefix its path relative to rel
// — and returns the entries List shows, each with the bare name in Path;
// Walk descends into those with IsDir. Paths in the result are relative
// to rel.
func Walk(ctx context.Context, rel string, recursive bool, readDir func(r, prefix string) ([]FileInfo, error)) ([]FileInfo, error) {
	var out []FileInfo
	var walk func(r, prefix string) error
	walk = func(r, prefix string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		ents, err := readDir(r, prefix)
		if err != nil {
			return err
		}
		for _, e := range ents {
			name := e.Path
			e.Path = path.Join(prefix, name)
			out = append(out, e)
			if recursive && e.IsDir {
				if err := walk(path.Join(r, name), e.Path); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(rel, ""); err != nil {
		return nil, err
	}
	return out, nil
}
