package ftp

import (
	"crypto/tls"
	"io"
	"net"
	"sync"
	"time"
)

// deadlineConn arms a fresh deadline before every Read and Write, so a
// stalled peer fails the operation after the I/O timeout instead of
// hanging (jlaffaye/ftp only bounds dialing).
type deadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// conns tracks the sockets of one FTP session (control and data) so that a
// cancelled context can close them all.
type conns struct {
	mu     sync.Mutex
	list   []net.Conn
	closed bool
}

func (c *conns) add(nc net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		nc.Close()
		return false
	}
	// forget data connections that are done (keep the control one first)
	if len(c.list) > 4 {
		c.list = append(c.list[:1], c.list[len(c.list)-2:]...)
	}
	c.list = append(c.list, nc)
	return true
}

func (c *conns) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, nc := range c.list {
		nc.Close()
	}
	c.list = nil
}

// tlsData is a TLS data connection. After an upload it closes gracefully:
// close_notify and a TCP half-close, then it reads until the server's EOF.
// Closing outright would leave unread TLS 1.3 session tickets in the
// socket, make the kernel send a reset, and the server would fail the
// upload ("426 Failure reading network stream").
type tlsData struct {
	*tls.Conn
	timeout time.Duration
	read    bool
	wrote   bool
}

func (c *tlsData) Read(p []byte) (int, error) {
	c.read = true
	return c.Conn.Read(p)
}

func (c *tlsData) Write(p []byte) (int, error) {
	c.wrote = true
	return c.Conn.Write(p)
}

func (c *tlsData) Close() error {
	if c.read {
		return c.Conn.Close()
	}
	if err := c.Conn.Handshake(); err != nil { // an empty upload still needs the handshake
		c.Conn.Close()
		return err
	}
	err := c.Conn.CloseWrite()
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	_, _ = io.Copy(io.Discard, io.LimitReader(c.Conn, 1<<20))
	if cerr := c.Conn.Close(); err == nil {
		err = cerr
	}
	return err
}
