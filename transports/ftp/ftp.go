// Package ftp is the transport for FTP and FTPS servers (plain, explicit
// AUTH TLS, implicit TLS), built on github.com/jlaffaye/ftp.
//
// Connections are pooled (Options.MaxConns), checked with NOOP before reuse
// after an idle spell and replaced when broken. Every socket read and write
// has a deadline (Options.IOTimeout); a cancelled context closes the
// session's sockets. Each connection has its own TLS session cache, so
// data connections resume the control connection's TLS session as vsftpd
// demands ("522 SSL connection failed: session reuse required").
//
// Uploads are atomic: STOR to a hidden temporary name in the target
// folder, SIZE to check the byte count, then RNFR/RNTO; on any failure the
// temporary file is deleted. Downloads check the byte count against SIZE.
package ftp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jlaffaye/ftp"

	"github.com/fieldbridge/fieldbridge/transports"
)

// Fs is an FTP server. It is safe for concurrent use.
type Fs struct {
	o     Options
	retry transports.Retry

	tlsOnce sync.Once
	tlsConf *tls.Config
	tlsErr  error

	sem chan struct{}

	mu     sync.Mutex
	idle   []*session
	closed bool
	noMLSD bool
}

var _ transports.Transport = (*Fs)(nil)

// session is one logged-in FTP connection.
type session struct {
	sc       *ftp.ServerConn
	socks    *conns
	base     string // absolute root folder on the server
	lastUsed time.Time
	broken   atomic.Bool
}

// New returns the FTP transport. It does no I/O: the first operation
// connects.
func New(_ context.Context, o Options) (*Fs, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	d := DefaultOptions()
	if o.TLS == "" {
		o.TLS = d.TLS
	}
	if o.MaxConns == 0 {
		o.MaxConns = d.MaxConns
	}
	o.DialTimeout.Duration = o.DialTimeout.Or(d.DialTimeout.Duration)
	o.IOTimeout.Duration = o.IOTimeout.Or(d.IOTimeout.Duration)
	attempts := 1 + o.Retries
	if o.Retries == 0 {
		attempts = 1 + d.Retries
	} else if o.Retries < 0 {
		attempts = 1
	}
	return &Fs{
		o:     o,
		retry: transports.Retry{Attempts: attempts, Base: 300 * time.Millisecond, Max: 10 * time.Second},
		sem:   make(chan struct{}, o.MaxConns),
	}, nil
}

// String names the server without secrets.
func (f *Fs) String() string {
	scheme := "ftp"
	if f.o.TLS != TLSNone {
		scheme = "ftps"
	}
	root := f.o.Root
	if root != "" && !strings.HasPrefix(root, "/") {
		root = "/~/" + root
	}
	return scheme + "://" + f.o.User + "@" + f.o.addr() + root
}

// Close logs out of every idle connection.
func (f *Fs) Close() error {
	f.mu.Lock()
	f.closed = true
	idle := f.idle
	f.idle = nil
	f.mu.Unlock()
	for _, s := range idle {
		s.close()
	}
	return nil
}

// Connect logs in once to check the options (for `fieldbridge check
// -connect`).
func (f *Fs) Connect(ctx context.Context) error {
	return f.do(ctx, "connect", func(ctx context.Context, s *session) error { return s.sc.NoOp() })
}

func (s *session) close() {
	if !s.broken.Load() {
		done := make(chan struct{})
		go func() { _ = s.sc.Quit(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
	}
	s.socks.closeAll()
}

func (f *Fs) tlsConfig() (*tls.Config, error) {
	f.tlsOnce.Do(func() {
		if f.o.TLS == TLSNone {
			return
		}
		c := &tls.Config{
			ServerName:         f.o.ServerName,
			InsecureSkipVerify: f.o.InsecureSkipVerify,
			MinVersion:         tls.VersionTLS12,
		}
		if c.ServerName == "" {
			c.ServerName = f.o.Host
		}
		if f.o.CAFile != "" {
			pem, err := os.ReadFile(f.o.CAFile)
			if err != nil {
				f.tlsErr = transports.Permanent(fmt.Errorf("ca_file: %w", err))
				return
			}
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				f.tlsErr = transports.Permanent(fmt.Errorf("ca_file %s: no PEM certificates", f.o.CAFile))
				return
			}
			c.RootCAs = pool
		}
		f.tlsConf = c
	})
	return f.tlsConf, f.tlsErr
}

// dial connects and logs in a new session.
func (f *Fs) dial(ctx context.Context) (*session, error) {
	base, err := f.tlsConfig()
	if err != nil {
		return nil, err
	}
	var conf *tls.Config
	if base != nil {
		conf = base.Clone()
		// one cache per connection: data connections resume the control
		// connection's session (vsftpd require_ssl_reuse)
		conf.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	}
	mode := f.o.TLS
	socks := &conns{}
	dialer := &net.Dialer{Timeout: f.o.DialTimeout.Duration, KeepAlive: 30 * time.Second}
	first := true
	dialFunc := func(network, addr string) (net.Conn, error) {
		// data connections are dialled during later operations: they must
		// not use the (maybe finished) context of the first one; a
		// cancelled operation closes them through socks instead.
		dctx := context.Background()
		if first {
			dctx = ctx
		}
		raw, err := dialer.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		if tc, ok := raw.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4 << 20)
			_ = tc.SetWriteBuffer(4 << 20)
		}
		var nc net.Conn = &deadlineConn{Conn: raw, timeout: f.o.IOTimeout.Duration}
		control := first
		first = false
		// The library wraps the explicit-TLS control connection itself
		// after AUTH TLS; we wrap data connections and implicit control.
		if conf != nil && (mode == TLSImplicit || !control) {
			tc := tls.Client(nc, conf)
			if control {
				hctx, cancel := context.WithTimeout(ctx, f.o.DialTimeout.Duration)
				err := tc.HandshakeContext(hctx)
				cancel()
				if err != nil {
					raw.Close()
					return nil, err
				}
			}
			if control {
				nc = tc
			} else {
				nc = &tlsData{Conn: tc, timeout: f.o.IOTimeout.Duration}
			}
		}
		if !socks.add(nc) {
			return nil, net.ErrClosed
		}
		return nc, nil
	}
	opts := []ftp.DialOption{
		ftp.DialWithDialFunc(dialFunc),
		ftp.DialWithDisabledEPSV(f.o.DisableEPSV),
		ftp.DialWithShutTimeout(f.o.IOTimeout.Duration),
	}
	f.mu.Lock()
	noMLSD := f.noMLSD
	f.mu.Unlock()
	if f.o.DisableMLSD || noMLSD {
		opts = append(opts, ftp.DialWithDisabledMLSD(true))
	}
	switch mode {
	case TLSExplicit:
		opts = append(opts, ftp.DialWithExplicitTLS(conf))
	case TLSImplicit:
		// data connections need PROT P: the library sends it when a TLS
		// config is set; our dial func does the TLS itself.
		opts = append(opts, ftp.DialWithTLS(conf))
	}
	// the whole login is bounded by the dial timeout
	stop := context.AfterFunc(ctx, socks.closeAll)
	defer stop()
	timer := time.AfterFunc(f.o.DialTimeout.Duration+f.o.IOTimeout.Duration, socks.closeAll)
	defer timer.Stop()
	sc, err := ftp.Dial(f.o.addr(), opts...)
	if err != nil {
		socks.closeAll()
		return nil, classifyDial(fmt.Errorf("connect to %s: %w", f.o.addr(), err))
	}
	s := &session{sc: sc, socks: socks}
	if err := sc.Login(f.o.User, f.o.Password); err != nil {
		s.broken.Store(true)
		s.close()
		return nil, classifyDial(fmt.Errorf("log in to %s as %s: %w", f.o.addr(), f.o.User, err))
	}
	root := f.o.Root
	if !strings.HasPrefix(root, "/") {
		pwd, err := sc.CurrentDir()
		if err != nil {
			s.broken.Store(true)
			s.close()
			return nil, fmt.Errorf("%s: PWD: %w", f.o.addr(), err)
		}
		root = path.Join(pwd, root)
	}
	s.base = path.Clean(root)
	return s, nil
}

// classifyDial marks authentication and certificate failures permanent.
func classifyDial(err error) error {
	var tp *textproto.Error
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	switch {
	case errors.As(err, &tp) && tp.Code >= 500:
		return transports.Permanent(err)
	case errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &hn):
		return transports.Permanent(err)
	}
	var ne net.Error
	if errors.As(err, &ne) || transports.IsTransient(err) {
		return err
	}
	if strings.Contains(err.Error(), "tls:") || strings.Contains(err.Error(), "x509:") {
		return transports.Permanent(err)
	}
	// e.g. "530 Login incorrect" arrives as a plain error from USER
	if strings.Contains(err.Error(), "530") {
		return transports.Permanent(err)
	}
	return err
}

// get takes a healthy session from the pool or dials one.
func (f *Fs) get(ctx context.Context) (*session, error) {
	select {
	case f.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for {
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			<-f.sem
			return nil, transports.Permanent(errors.New("ftp: transport closed"))
		}
		var s *session
		if n := len(f.idle); n > 0 {
			s = f.idle[n-1]
			f.idle = f.idle[:n-1]
		}
		f.mu.Unlock()
		if s == nil {
			break
		}
		if time.Since(s.lastUsed) < 2*time.Second {
			return s, nil
		}
		stop := context.AfterFunc(ctx, s.socks.closeAll)
		err := s.sc.NoOp()
		stop()
		if err == nil {
			return s, nil
		}
		s.broken.Store(true)
		s.close()
	}
	s, err := f.dial(ctx)
	if err != nil {
		<-f.sem
		return nil, err
	}
	return s, nil
}

// put returns a session to the pool, or closes it when broken.
func (f *Fs) put(s *session, err error) {
	if err != nil && !isReply(err) {
		s.broken.Store(true)
	}
	if s.broken.Load() {
		s.close()
	} else {
		s.lastUsed = time.Now()
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			s.close()
		} else {
			f.idle = append(f.idle, s)
			f.mu.Unlock()
		}
	}
	<-f.sem
}

// isReply reports whether err is an FTP reply (the connection is fine).
func isReply(err error) bool {
	var tp *textproto.Error
	return errors.As(err, &tp) || errors.Is(err, transports.ErrNotExist) ||
		errors.Is(err, transports.ErrExist) || errors.Is(err, transports.ErrIntegrity)
}

// do runs op on a pooled session, retrying transient failures.
func (f *Fs) do(ctx context.Context, what string, op func(ctx context.Context, s *session) error) error {
	return f.retry.Do(ctx, func(ctx context.Context) error {
		return f.once(ctx, op)
	})
}

func (f *Fs) once(ctx context.Context, op func(ctx context.Context, s *session) error) error {
	s, err := f.get(ctx)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { s.broken.Store(true); s.socks.closeAll() })
	err = op(ctx, s)
	if !stop() {
		s.broken.Store(true)
		if err == nil {
			err = ctx.Err()
		}
	}
	f.put(s, err)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}

// abs returns the server path of a cleaned relative path.
func (s *session) abs(rel string) string {
	if rel == "" {
		return s.base
	}
	return path.Join(s.base, rel)
}

// mapErr turns FTP replies into the transports errors.
func mapErr(err error, what string) error {
	if err == nil {
		return nil
	}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		switch {
		case tp.Code == 550 || tp.Code == 450:
			return fmt.Errorf("%s: %w (%w)", what, transports.ErrNotExist, err)
		case tp.Code == 553 || tp.Code == 530 || tp.Code == 532 || tp.Code == 552:
			return transports.Permanent(fmt.Errorf("%s: %w", what, err))
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func isDir(e *ftp.Entry) bool { return e.Type == ftp.EntryTypeFolder }

// list returns the safe entries of an absolute folder; entries left out
// for their names are passed to skipped, when given.
func (f *Fs) list(s *session, dir string, skipped ...func(name string, err error)) ([]*ftp.Entry, error) {
	ents, err := s.sc.List(dir)
	if err != nil {
		var tp *textproto.Error
		if errors.As(err, &tp) && (tp.Code == 500 || tp.Code == 501 || tp.Code == 502) && !f.o.DisableMLSD {
			f.mu.Lock()
			already := f.noMLSD
			f.noMLSD = true
			f.mu.Unlock()
			if !already {
				s.broken.Store(true) // redial with LIST
				return nil, transports.Transient(fmt.Errorf("MLSD refused, retrying with LIST: %w", err))
			}
		}
		return nil, err
	}
	out := ents[:0]
	for _, e := range ents {
		if e.Name == "." || e.Name == ".." {
			continue
		}
		if err := transports.ValidName(e.Name); err != nil {
			for _, fn := range skipped {
				fn(e.Name, err)
			}
			continue
		}
		if e.Type == ftp.EntryTypeLink {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// exists checks a folder with CWD (never SIZE, which fails on folders).
func (s *session) isFolder(abs string) bool {
	if err := s.sc.ChangeDir(abs); err != nil {
		return false
	}
	return true
}

// List returns the entries of dir. Entries with unsafe names (control
// characters, backslashes, "..") and symbolic links are left out.
func (f *Fs) List(ctx context.Context, dir string, recursive bool) ([]transports.FileInfo, error) {
	rel, err := transports.CleanPath(dir)
	if err != nil {
		return nil, err
	}
	var out []transports.FileInfo
	err = f.do(ctx, "list", func(ctx context.Context, s *session) error {
		out = out[:0]
		if !s.isFolder(s.abs(rel)) {
			return fmt.Errorf("list %s: %w", dir, transports.ErrNotExist)
		}
		var walk func(r, prefix string) error
		walk = func(r, prefix string) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			ents, err := f.list(s, s.abs(r), func(name string, err error) {
				transports.Skipped(ctx, path.Join(prefix, name), err)
			})
			if err != nil {
				return mapErr(err, "list "+r)
			}
			for _, e := range ents {
				p := path.Join(prefix, e.Name)
				out = append(out, transports.FileInfo{Path: p, Size: int64(e.Size), ModTime: e.Time, IsDir: isDir(e)})
				if recursive && isDir(e) {
					if err := walk(path.Join(r, e.Name), p); err != nil {
						return err
					}
				}
			}
			return nil
		}
		return walk(rel, "")
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Stat describes one path (SIZE and MDTM for files; a listing of the
// parent folder for folders).
func (f *Fs) Stat(ctx context.Context, p string) (transports.FileInfo, error) {
	rel, err := transports.CleanPath(p)
	if err != nil {
		return transports.FileInfo{}, err
	}
	var fi transports.FileInfo
	err = f.do(ctx, "stat", func(ctx context.Context, s *session) (err error) {
		fi, err = f.stat(s, rel)
		return err
	})
	return fi, err
}

func (f *Fs) stat(s *session, rel string) (transports.FileInfo, error) {
	abs := s.abs(rel)
	if rel == "" {
		if !s.isFolder(abs) {
			return transports.FileInfo{}, fmt.Errorf("stat root %s: %w", abs, transports.ErrNotExist)
		}
		return transports.FileInfo{IsDir: true}, nil
	}
	if size, err := s.sc.FileSize(abs); err == nil {
		fi := transports.FileInfo{Path: rel, Size: size}
		if s.sc.IsGetTimeSupported() {
			if t, err := s.sc.GetTime(abs); err == nil {
				fi.ModTime = t
			}
		}
		return fi, nil
	} else if !isReply(err) {
		return transports.FileInfo{}, err
	}
	// a folder, or missing
	if s.isFolder(abs) {
		fi := transports.FileInfo{Path: rel, IsDir: true}
		if ents, err := f.list(s, path.Dir(abs)); err == nil {
			for _, e := range ents {
				if e.Name == path.Base(abs) {
					fi.ModTime = e.Time
				}
			}
		}
		return fi, nil
	}
	return transports.FileInfo{}, fmt.Errorf("stat %s: %w", rel, transports.ErrNotExist)
}

// Open starts a download. The returned reader fails with ErrIntegrity at
// the end when the byte count differs from the server's SIZE. Close always
// closes the data connection and reads the server's reply before the
// session is used again.
func (f *Fs) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	rel, err := transports.CleanPath(p)
	if err != nil {
		return nil, err
	}
	if rel == "" {
		return nil, fmt.Errorf("%w: open needs a file name", transports.ErrUnsafeName)
	}
	var rc io.ReadCloser
	err = f.retry.Do(ctx, func(ctx context.Context) error {
		s, err := f.get(ctx)
		if err != nil {
			return err
		}
		stop := context.AfterFunc(ctx, func() { s.broken.Store(true); s.socks.closeAll() })
		abs := s.abs(rel)
		size, known := transports.KnownSize(ctx)
		if !known {
			size, err = s.sc.FileSize(abs)
			if err != nil {
				stop()
				f.put(s, err)
				return mapErr(err, "open "+p)
			}
		}
		resp, err := s.sc.Retr(abs)
		if err != nil {
			stop()
			f.put(s, err)
			return mapErr(err, "open "+p)
		}
		rc = &reader{f: f, s: s, resp: resp, stop: stop, want: size, what: "download " + p}
		return nil
	})
	return rc, err
}

type reader struct {
	f    *Fs
	s    *session
	resp *ftp.Response
	stop func() bool
	want int64
	n    int64
	what string
	eof  bool
	err  error
	done bool
}

func (r *reader) Read(p []byte) (int, error) {
	if r.done {
		return 0, errors.New("read after close")
	}
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.resp.Read(p)
	r.n += int64(n)
	if err == io.EOF {
		r.eof = true
		if cerr := transports.CheckSize(r.what, r.want, r.n); cerr != nil {
			r.err = cerr
			return n, cerr
		}
	} else if err != nil {
		r.err = fmt.Errorf("%s: %w", r.what, err)
		return n, r.err
	} else if r.n > r.want {
		r.err = transports.CheckSize(r.what, r.want, r.n)
		return n, r.err
	}
	return n, err
}

// WriteTo copies with a large buffer.
func (r *reader) WriteTo(w io.Writer) (int64, error) {
	return io.CopyBuffer(w, struct{ io.Reader }{r}, make([]byte, transports.BufferSize))
}

func (r *reader) Close() error {
	if r.done {
		return nil
	}
	r.done = true
	err := r.resp.Close() // closes the data connection, reads 226/426
	if !r.stop() {
		r.s.broken.Store(true)
	}
	complete := (r.eof || r.n == r.want) && r.err == nil
	if !complete {
		// closed early or failed: the reply may be 426; don't trust the
		// session's state
		r.s.broken.Store(true)
		err = nil
	}
	r.f.put(r.s, err)
	if err != nil {
		return fmt.Errorf("%s: %w", r.what, err)
	}
	return nil
}

// mkdirAll creates an absolute folder and its parents inside the root.
func (s *session) mkdirAll(abs string) error {
	if s.isFolder(abs) {
		return nil
	}
	if d := path.Dir(abs); d != abs {
		if err := s.mkdirAll(d); err != nil {
			return err
		}
	}
	if err := s.sc.MakeDir(abs); err != nil {
		if s.isFolder(abs) {
			return nil
		}
		return mapErr(err, "make folder "+abs)
	}
	return nil
}

// MkdirAll creates a folder and its parents.
func (f *Fs) MkdirAll(ctx context.Context, p string) error {
	rel, err := transports.CleanPath(p)
	if err != nil {
		return err
	}
	return f.do(ctx, "mkdir", func(ctx context.Context, s *session) error {
		return s.mkdirAll(s.abs(rel))
	})
}

// Remove deletes a file.
func (f *Fs) Remove(ctx context.Context, p string) error {
	rel, err := transports.CleanPath(p)
	if err != nil {
		return err
	}
	if rel == "" {
		return fmt.Errorf("%w: remove needs a file name", transports.ErrUnsafeName)
	}
	return f.do(ctx, "remove", func(ctx context.Context, s *session) error {
		return mapErr(s.sc.Delete(s.abs(rel)), "remove "+p)
	})
}

// Rename moves from to to, replacing to (RNFR/RNTO; when the server
// refuses to replace, the old target is deleted first).
func (f *Fs) Rename(ctx context.Context, from, to string) error {
	a, err := transports.CleanPath(from)
	if err != nil {
		return err
	}
	b, err := transports.CleanPath(to)
	if err != nil {
		return err
	}
	if a == "" || b == "" {
		return fmt.Errorf("%w: cannot rename the root folder", transports.ErrUnsafeName)
	}
	return f.do(ctx, "rename", func(ctx context.Context, s *session) error {
		return s.rename(s.abs(a), s.abs(b), true)
	})
}

func (s *session) rename(from, to string, mkdir bool) error {
	if mkdir {
		if err := s.mkdirAll(path.Dir(to)); err != nil {
			return err
		}
	}
	err := s.sc.Rename(from, to)
	if err == nil {
		return nil
	}
	if !isReply(err) {
		return err
	}
	// Missing source, or a server that will not replace: tell them apart.
	if _, serr := s.sc.FileSize(from); serr != nil {
		if s.isFolder(from) {
			return mapErr(err, "rename "+from)
		}
		return fmt.Errorf("rename %s: %w (%w)", from, transports.ErrNotExist, err)
	}
	if _, serr := s.sc.FileSize(to); serr == nil {
		if derr := s.sc.Delete(to); derr != nil {
			return mapErr(derr, "rename: delete old "+to)
		}
		return mapErr(s.sc.Rename(from, to), "rename "+from)
	}
	return transports.Permanent(fmt.Errorf("rename %s to %s: %w", from, to, err))
}

// Write uploads r to a temporary name beside p, checks its size and
// renames it into place. A reader that is an io.Seeker is rewound and the
// upload retried on transient failures.
func (f *Fs) Write(ctx context.Context, p string, r io.Reader, opts transports.WriteOptions) (transports.WriteResult, error) {
	rel, err := transports.CleanPath(p)
	if err != nil {
		return transports.WriteResult{}, err
	}
	if rel == "" {
		return transports.WriteResult{}, fmt.Errorf("%w: write needs a file name", transports.ErrUnsafeName)
	}
	seeker, canRetry := r.(io.Seeker)
	var start int64
	if canRetry {
		if start, err = seeker.Seek(0, io.SeekCurrent); err != nil {
			canRetry = false
		}
	}
	retry := f.retry
	if !canRetry {
		retry.Attempts = 1
	}
	var res transports.WriteResult
	first := true
	err = retry.Do(ctx, func(ctx context.Context) error {
		if !first {
			if _, err := seeker.Seek(start, io.SeekStart); err != nil {
				return transports.Permanent(err)
			}
		}
		first = false
		var leftover string
		err := f.once(ctx, func(ctx context.Context, s *session) (err error) {
			res, leftover, err = f.write(ctx, s, rel, r, opts)
			return err
		})
		if leftover != "" {
			f.removeTemp(ctx, leftover)
		}
		return err
	})
	return res, err
}

// write uploads on session s. When it fails and the temporary file could
// not be deleted on s (the session broke), it returns the temporary
// file's name for removal on a fresh session.
func (f *Fs) write(ctx context.Context, s *session, rel string, r io.Reader, opts transports.WriteOptions) (_ transports.WriteResult, leftover string, err error) {
	res, err := f.write1(ctx, s, rel, r, opts, &leftover)
	return res, leftover, err
}

func (f *Fs) write1(ctx context.Context, s *session, rel string, r io.Reader, opts transports.WriteOptions, leftover *string) (transports.WriteResult, error) {
	final := s.abs(rel)
	if err := s.mkdirAll(path.Dir(final)); err != nil {
		return transports.WriteResult{}, err
	}
	tmp := transports.TempName(final, transports.RandomToken())
	h := transports.NewHashingReader(transports.CtxReader(ctx, r))
	ok := false
	defer func() {
		if !ok {
			if s.broken.Load() || ctx.Err() != nil {
				*leftover = tmp
			} else if err := s.sc.Delete(tmp); err != nil && !isReply(err) {
				s.broken.Store(true)
				*leftover = tmp
			}
		}
	}()
	if err := s.sc.Stor(tmp, h); err != nil {
		return transports.WriteResult{}, mapErr(err, "upload "+rel)
	}
	if err := ctx.Err(); err != nil {
		return transports.WriteResult{}, err
	}
	size, err := s.sc.FileSize(tmp)
	if err != nil {
		return transports.WriteResult{}, mapErr(err, "upload "+rel+": SIZE")
	}
	if err := transports.CheckSize("upload "+rel, opts.Size, h.N()); err != nil {
		// the source gave a different count than announced: retrying
		// will not help
		return transports.WriteResult{}, transports.Permanent(err)
	}
	if err := transports.CheckSize("upload "+rel+" (server size)", h.N(), size); err != nil {
		return transports.WriteResult{}, err
	}
	target := final
	switch opts.Overwrite {
	case transports.Replace:
		if err := s.rename(tmp, final, false); err != nil {
			return transports.WriteResult{}, err
		}
	case transports.Fail, transports.KeepBoth:
		max := 1
		if opts.Overwrite == transports.KeepBoth {
			max = 10000
		}
		placed := false
		for i := 1; i <= max && !placed; i++ {
			target = transports.KeepBothName(final, i)
			if _, err := s.sc.FileSize(target); err == nil || s.isFolder(target) {
				continue
			} else if !isReply(err) {
				return transports.WriteResult{}, err
			}
			if err := s.sc.Rename(tmp, target); err != nil {
				return transports.WriteResult{}, mapErr(err, "upload "+rel+": rename")
			}
			placed = true
		}
		if !placed {
			return transports.WriteResult{}, fmt.Errorf("upload %s: %w", rel, transports.ErrExist)
		}
	default:
		return transports.WriteResult{}, fmt.Errorf("unknown overwrite policy %d", opts.Overwrite)
	}
	ok = true
	if !opts.ModTime.IsZero() && s.sc.IsSetTimeSupported() {
		_ = s.sc.SetTime(target, opts.ModTime)
	}
	return transports.WriteResult{Path: strings.TrimPrefix(strings.TrimPrefix(target, s.base), "/"), Size: h.N(), SHA256: h.Sum()}, nil
}

// removeTemp deletes a failed upload's temporary file on a fresh session
// (even when ctx was cancelled: cleaning up is bounded by the timeouts).
func (f *Fs) removeTemp(ctx context.Context, tmp string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.o.DialTimeout.Duration+f.o.IOTimeout.Duration)
	defer cancel()
	_ = f.once(cctx, func(ctx context.Context, s2 *session) error {
		if err := s2.sc.Delete(tmp); err != nil && !isReply(err) {
			return err
		}
		return nil
	})
}
