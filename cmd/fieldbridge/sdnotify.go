package main

import (
	"fmt"
	"net"
	"strings"
)

// sdNotifier tells systemd about the daemon's state (sd_notify(3)): it
// sends datagrams such as "READY=1" to the unix socket named in
// NOTIFY_SOCKET. A name starting with "@" is an abstract socket (Go's
// net package maps the "@" to the leading NUL byte). The zero value, for
// a process not started by systemd, sends nothing.
type sdNotifier struct {
	addr string
}

// newSDNotifier reads NOTIFY_SOCKET through getenv.
func newSDNotifier(getenv func(string) string) sdNotifier {
	addr := getenv("NOTIFY_SOCKET")
	if !strings.HasPrefix(addr, "/") && !strings.HasPrefix(addr, "@") {
		addr = "" // unset, or a vsock address this daemon does not speak
	}
	return sdNotifier{addr: addr}
}

// Enabled reports whether a service manager listens.
func (n sdNotifier) Enabled() bool { return n.addr != "" }

// Notify sends state, newline-separated assignments ("READY=1",
// "RELOADING=1\nMONOTONIC_USEC=…", "STOPPING=1", "STATUS=…"). It does
// nothing when no service manager listens.
func (n sdNotifier) Notify(state string) error {
	if n.addr == "" {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: n.addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify %s: %w", n.addr, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify %s: %w", n.addr, err)
	}
	return nil
}

// reloading is the message sent when a reload begins: systemd wants the
// time it began on CLOCK_MONOTONIC, where the system has it.
func reloading() string {
	if us, ok := monotonicUsec(); ok {
		return fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", us)
	}
	return "RELOADING=1"
}
