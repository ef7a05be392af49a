package sftp

import (
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// fakeServer is an in-process SSH server running pkg/sftp's request server
// over an in-memory file system, with fault injection.
type fakeServer struct {
	t      *testing.T
	ln     net.Listener
	hostFP string
	mem    sftp.Handlers

	mu    sync.Mutex
	conns []net.Conn

	dropWriteAfter atomic.Int64 // >0: cut the connection once a file got this many bytes
	dropTimes      atomic.Int32
	stallReads     atomic.Bool // file reads never return
	stallStat      atomic.Bool // Stat/List never answer
	hostile        []string    // extra names listed in every folder
}

func newFake(t *testing.T) *fakeServer {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	conf := &ssh.ServerConfig{PasswordCallback: func(c ssh.ConnMetadata, p []byte) (*ssh.Permissions, error) {
		if c.User() == "u" && string(p) == "p" {
			return nil, nil
		}
		return nil, os.ErrPermission
	}}
	conf.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, ln: ln, hostFP: ssh.FingerprintSHA256(signer.PublicKey()), mem: sftp.InMemHandler()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			go s.handle(c, conf)
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *fakeServer) close() {
	s.ln.Close()
	s.dropConns()
}

func (s *fakeServer) dropConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

func (s *fakeServer) options() Options {
	o := DefaultOptions()
	host, port, _ := net.SplitHostPort(s.ln.Addr().String())
	o.Host, o.User, o.Password, o.HostFingerprint = host, "u", "p", s.hostFP
	o.Port, _ = strconv.Atoi(port)
	o.Root = "/data"
	return o
}

func (s *fakeServer) handle(nc net.Conn, conf *ssh.ServerConfig) {
	_, chans, reqs, err := ssh.NewServerConn(nc, conf)
	if err != nil {
		nc.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.UnknownChannelType, "no")
			continue
		}
		ch, in, err := nch.Accept()
		if err != nil {
			return
		}
		go func() {
			for req := range in {
				ok := req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "sftp"
				req.Reply(ok, nil)
				if ok {
					h := sftp.Handlers{
						FileGet:  &faultReader{s: s, h: s.mem.FileGet},
						FilePut:  &faultWriter{s: s, h: s.mem.FilePut, nc: nc},
						FileCmd:  s.mem.FileCmd,
						FileList: &faultLister{s: s, h: s.mem.FileList},
					}
					srv := sftp.NewRequestServer(ch, h)
					go func() { srv.Serve(); srv.Close() }()
				}
			}
		}()
	}
}

type faultReader struct {
	s *fakeServer
	h sftp.FileReader
}

func (f *faultReader) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	ra, err := f.h.Fileread(r)
	if err != nil {
		return nil, err
	}
	return readerAtFunc(func(p []byte, off int64) (int, error) {
		if f.s.stallReads.Load() && off > 0 {
			time.Sleep(time.Hour)
		}
		return ra.ReadAt(p, off)
	}), nil
}

type readerAtFunc func([]byte, int64) (int, error)

func (f readerAtFunc) ReadAt(p []byte, off int64) (int, error) { return f(p, off) }

type faultWriter struct {
	s  *fakeServer
	h  sftp.FileWriter
	nc net.Conn
}

func (f *faultWriter) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	wa, err := f.h.Filewrite(r)
	if err != nil {
		return nil, err
	}
	var n atomic.Int64
	return writerAtFunc(func(p []byte, off int64) (int, error) {
		limit := f.s.dropWriteAfter.Load()
		if limit > 0 && f.s.dropTimes.Load() > 0 && n.Add(int64(len(p))) > limit {
			f.s.dropTimes.Add(-1)
			f.nc.Close() // the connection dies mid-upload
			return 0, io.ErrClosedPipe
		}
		return wa.WriteAt(p, off)
	}), nil
}

type writerAtFunc func([]byte, int64) (int, error)

func (f writerAtFunc) WriteAt(p []byte, off int64) (int, error) { return f(p, off) }

type faultLister struct {
	s *fakeServer
	h sftp.FileLister
}

func (f *faultLister) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	if f.s.stallStat.Load() {
		time.Sleep(time.Hour)
	}
	la, err := f.h.Filelist(r)
	if err != nil || r.Method != "List" || len(f.s.hostile) == 0 {
		return la, err
	}
	var all []os.FileInfo
	buf := make([]os.FileInfo, 100)
	for off := int64(0); ; {
		n, err := la.ListAt(buf, off)
		all = append(all, buf[:n]...)
		off += int64(n)
		if err != nil || n == 0 {
			break
		}
	}
	for _, name := range f.s.hostile {
		all = append(all, fakeInfo(name))
	}
	return listerAt(all), nil
}

type listerAt []os.FileInfo

func (l listerAt) ListAt(p []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(p, l[off:])
	if off+int64(n) >= int64(len(l)) {
		return n, io.EOF
	}
	return n, nil
}

type fakeInfo string

func (f fakeInfo) Name() string       { return string(f) }
func (f fakeInfo) Size() int64        { return 1 }
func (f fakeInfo) Mode() os.FileMode  { return 0o644 }
func (f fakeInfo) ModTime() time.Time { return time.Unix(0, 0) }
func (f fakeInfo) IsDir() bool        { return false }
func (f fakeInfo) Sys() any           { return nil }
