package sftp

import (
	"net"
	"sync"
	"time"
)

// busyConn puts a read deadline on the SSH connection only while an
// operation waits on it: SSH reads in the background all the time, so a
// plain per-read deadline would kill every idle connection. Writes always
// get a deadline. Idle connections are watched by keepalives instead.
type busyConn struct {
	net.Conn
	timeout time.Duration

	mu   sync.Mutex
	busy int
}

func (c *busyConn) begin() {
	c.mu.Lock()
	c.busy++
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	c.mu.Unlock()
}

func (c *busyConn) end() {
	c.mu.Lock()
	c.busy--
	if c.busy == 0 {
		_ = c.Conn.SetReadDeadline(time.Time{})
	}
	c.mu.Unlock()
}

func (c *busyConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if c.busy > 0 {
			_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *busyConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}
