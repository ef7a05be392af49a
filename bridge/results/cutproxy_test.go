package results

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// cutProxy is a TCP proxy in front of a real server that can cut every
// connection once a number of bytes went from the server to the client
// through a data connection: a real network failure mid-transfer. For FTP
// (plain) it rewrites the passive-mode replies (227 and 229) so that data
// connections go through the proxy too; for SFTP it is a plain relay.
type cutProxy struct {
	t      *testing.T
	ln     net.Listener
	target string
	ftp    bool

	// cutAfter > 0 arms the cut: when this many bytes went through data
	// connections (FTP) or the relay (SFTP) since arming, all is closed.
	cutAfter atomic.Int64
	relayed  atomic.Int64
	cuts     atomic.Int32

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func newCutProxy(t *testing.T, target string, ftp bool) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{t: t, ln: ln, target: target, ftp: ftp, conns: map[net.Conn]struct{}{}}
	go p.accept(ln, func(c net.Conn) { p.session(c) })
	t.Cleanup(func() { ln.Close(); p.cutAll() })
	return p
}

func (p *cutProxy) Addr() string { return p.ln.Addr().String() }

// arm makes the proxy cut everything after n more relayed bytes.
func (p *cutProxy) arm(n int64) { p.relayed.Store(0); p.cutAfter.Store(n) }

// disarm stops cutting.
func (p *cutProxy) disarm() { p.cutAfter.Store(0) }

func (p *cutProxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns[c] = struct{}{}
	p.mu.Unlock()
}

func (p *cutProxy) cutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *cutProxy) accept(ln net.Listener, handle func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.track(c)
		go handle(c)
	}
}

// counted copies src to dst, counting bytes towards the cut.
func (p *cutProxy) counted(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if lim := p.cutAfter.Load(); lim > 0 && p.relayed.Add(int64(n)) > lim {
				p.cutAfter.Store(0)
				p.cuts.Add(1)
				p.cutAll()
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *cutProxy) session(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.track(server)
	defer client.Close()
	defer server.Close()
	go func() { _, _ = io.Copy(server, client); server.Close() }()
	if !p.ftp {
		p.counted(client, server)
		return
	}
	r := bufio.NewReader(server)
	for {
		line, err := r.ReadString('\n')
		if line != "" {
			line = p.rewrite(line)
			if _, werr := io.WriteString(client, line); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

var (
	pasvRe = regexp.MustCompile(`^227 .*\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)`)
	epsvRe = regexp.MustCompile(`^229 .*\(\|\|\|(\d+)\|\)`)
	hostRe = regexp.MustCompile(`^(.*):\d+$`)
)

// rewrite points passive-mode replies at a fresh data relay.
func (p *cutProxy) rewrite(line string) string {
	var dataAddr string
	if m := pasvRe.FindStringSubmatch(line); m != nil {
		p1, _ := strconv.Atoi(m[5])
		p2, _ := strconv.Atoi(m[6])
		dataAddr = fmt.Sprintf("%s.%s.%s.%s:%d", m[1], m[2], m[3], m[4], p1*256+p2)
	} else if m := epsvRe.FindStringSubmatch(line); m != nil {
		host := hostRe.FindStringSubmatch(p.target)[1]
		dataAddr = host + ":" + m[1]
	} else {
		return line
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return line
	}
	go func() {
		defer ln.Close()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.track(c)
		s, err := net.Dial("tcp", dataAddr)
		if err != nil {
			c.Close()
			return
		}
		p.track(s)
		go func() { _, _ = io.Copy(s, c); s.Close() }()
		p.counted(c, s)
		c.Close()
		s.Close()
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	if line[:3] == "227" {
		return fmt.Sprintf("227 Entering Passive Mode (127,0,0,1,%d,%d).\r\n", port/256, port%256)
	}
	return fmt.Sprintf("229 Entering Extended Passive Mode (|||%d|)\r\n", port)
}
