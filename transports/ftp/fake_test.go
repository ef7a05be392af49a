package ftp

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeServer is a small in-memory FTP server for fault injection: it can
// drop the connection mid-transfer, stall, or list hostile names.
type fakeServer struct {
	t  *testing.T
	ln net.Listener

	mu    sync.Mutex
	files map[string][]byte // absolute path -> content
	dirs  map[string]bool

	// faults (guarded by mu)
	dropAfter   int64  // >0: cut both connections after this many data bytes
	dropOn      string // "STOR" or "RETR"
	dropTimes   int    // how many transfers to cut
	stallOn     string // a command that never gets an answer
	stallData   int64  // >0: stop sending RETR data after this many bytes (no close)
	extraListed []string
	conns       []net.Conn
}

func newFake(t *testing.T) *fakeServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, ln: ln, files: map[string][]byte{}, dirs: map[string]bool{"/": true, "/home": true}}
	go s.serve()
	t.Cleanup(s.close)
	return s
}

func (s *fakeServer) close() {
	s.ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

func (s *fakeServer) options() Options {
	o := DefaultOptions()
	host, port, _ := net.SplitHostPort(s.ln.Addr().String())
	o.Host, o.User, o.Password, o.TLS, o.Root = host, "u", "p", TLSNone, "data"
	o.Port, _ = strconv.Atoi(port)
	return o
}

func (s *fakeServer) track(c net.Conn) {
	s.mu.Lock()
	s.conns = append(s.conns, c)
	s.mu.Unlock()
}

func (s *fakeServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.track(c)
		go s.session(c)
	}
}

// names returns every stored file, sorted.
func (s *fakeServer) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n := range s.files {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (s *fakeServer) session(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	reply := func(format string, a ...any) { fmt.Fprintf(c, format+"\r\n", a...) }
	reply("220 fake ready")
	var pasv net.Listener
	var rnfr string
	abs := func(p string) string {
		if !strings.HasPrefix(p, "/") {
			p = "/home/" + p
		}
		return path.Clean(p)
	}
	openData := func() (net.Conn, bool) {
		if pasv == nil {
			reply("425 use EPSV first")
			return nil, false
		}
		pasv.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
		dc, err := pasv.Accept()
		pasv.Close()
		pasv = nil
		if err != nil {
			reply("425 no data connection")
			return nil, false
		}
		s.track(dc)
		return dc, true
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		cmd, arg, _ := strings.Cut(line, " ")
		cmd = strings.ToUpper(cmd)
		s.mu.Lock()
		stall := s.stallOn == cmd
		s.mu.Unlock()
		if stall {
			io.Copy(io.Discard, r) // never answer
			return
		}
		switch cmd {
		case "USER":
			reply("331 password please")
		case "PASS":
			if arg != "p" {
				reply("530 Login incorrect.")
				continue
			}
			reply("230 in")
		case "FEAT":
			fmt.Fprintf(c, "211-Features:\r\n SIZE\r\n MDTM\r\n UTF8\r\n211 End\r\n")
		case "TYPE", "OPTS":
			reply("200 ok")
		case "NOOP":
			reply("200 noop")
		case "PWD":
			reply(`257 "/home" is cwd`)
		case "CWD":
			s.mu.Lock()
			ok := s.dirs[abs(arg)]
			s.mu.Unlock()
			if ok {
				reply("250 ok")
			} else {
				reply("550 no such folder")
			}
		case "MKD":
			p := abs(arg)
			s.mu.Lock()
			ok := s.dirs[path.Dir(p)] && !s.dirs[p]
			if ok {
				s.dirs[p] = true
			}
			s.mu.Unlock()
			if ok {
				reply(`257 "%s" created`, p)
			} else {
				reply("550 cannot create")
			}
		case "EPSV":
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				reply("425 cannot listen")
				continue
			}
			pasv = ln
			reply("229 Entering Extended Passive Mode (|||%d|)", ln.Addr().(*net.TCPAddr).Port)
		case "SIZE":
			s.mu.Lock()
			b, ok := s.files[abs(arg)]
			s.mu.Unlock()
			if ok {
				reply("213 %d", len(b))
			} else {
				reply("550 Could not get file size.")
			}
		case "MDTM":
			s.mu.Lock()
			_, ok := s.files[abs(arg)]
			s.mu.Unlock()
			if ok {
				reply("213 20260102030405")
			} else {
				reply("550 no")
			}
		case "DELE":
			p := abs(arg)
			s.mu.Lock()
			_, ok := s.files[p]
			delete(s.files, p)
			s.mu.Unlock()
			if ok {
				reply("250 deleted")
			} else {
				reply("550 Delete operation failed.")
			}
		case "RNFR":
			rnfr = abs(arg)
			reply("350 ready")
		case "RNTO":
			p := abs(arg)
			s.mu.Lock()
			b, ok := s.files[rnfr]
			if ok {
				delete(s.files, rnfr)
				s.files[p] = b
			}
			s.mu.Unlock()
			if ok {
				reply("250 renamed")
			} else {
				reply("550 RNFR command failed.")
			}
		case "LIST":
			dir := abs(strings.TrimSpace(strings.TrimPrefix(arg, "-a")))
			dc, ok := openData()
			if !ok {
				continue
			}
			reply("150 here it comes")
			var buf bytes.Buffer
			s.mu.Lock()
			for p, b := range s.files {
				if path.Dir(p) == dir {
					fmt.Fprintf(&buf, "-rw-r--r-- 1 u g %d Jan 02 15:04 %s\r\n", len(b), path.Base(p))
				}
			}
			for p := range s.dirs {
				if p != "/" && path.Dir(p) == dir {
					fmt.Fprintf(&buf, "drwxr-xr-x 2 u g 4096 Jan 02 15:04 %s\r\n", path.Base(p))
				}
			}
			for _, n := range s.extraListed {
				fmt.Fprintf(&buf, "-rw-r--r-- 1 u g 1 Jan 02 15:04 %s\r\n", n)
			}
			s.mu.Unlock()
			dc.Write(buf.Bytes())
			dc.Close()
			reply("226 done")
		case "STOR":
			p := abs(arg)
			dc, ok := openData()
			if !ok {
				continue
			}
			reply("150 send it")
			s.mu.Lock()
			drop := s.dropOn == "STOR" && s.dropTimes > 0
			limit := s.dropAfter
			if drop {
				s.dropTimes--
			}
			s.mu.Unlock()
			var buf bytes.Buffer
			if drop {
				io.CopyN(&buf, dc, limit)
				s.mu.Lock()
				s.files[p] = buf.Bytes() // a partial file, as a real server leaves it
				s.mu.Unlock()
				dc.Close()
				return // kill the control connection too
			}
			io.Copy(&buf, dc)
			dc.Close()
			s.mu.Lock()
			s.files[p] = buf.Bytes()
			s.mu.Unlock()
			reply("226 stored")
		case "RETR":
			p := abs(arg)
			s.mu.Lock()
			b, ok := s.files[p]
			drop := s.dropOn == "RETR" && s.dropTimes > 0
			if drop {
				s.dropTimes--
			}
			limit, stallData := s.dropAfter, s.stallData
			s.mu.Unlock()
			if !ok {
				reply("550 Failed to open file.")
				continue
			}
			dc, ok := openData()
			if !ok {
				continue
			}
			reply("150 sending")
			switch {
			case drop:
				dc.Write(b[:limit])
				dc.Close()
				return
			case stallData > 0:
				dc.Write(b[:stallData])
				time.Sleep(time.Hour) // the test's cleanup closes us
				return
			}
			dc.Write(b)
			dc.Close()
			reply("226 sent")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 %s not implemented", cmd)
		}
	}
}
