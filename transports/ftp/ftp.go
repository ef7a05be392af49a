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
//
// Listings use MLSD where offered, read by this package from the raw lines
// (mlsd.go), so that a symbolic link ("type=OS.unix=symlink") is never
// taken for a file; LIST is the fallback. Every FileInfo says how precise
// its time is: LIST gives minutes (days for old files), MLSD, MLST and
// MDTM seconds.
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
	raw      *rawListing
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
	return &Fs{
		o:     o,
		retry: transports.RetryPolicy(o.Retries, d.Retries),
		sem:   make(chan struct{}, o.MaxConns),
	}, nil
}

// String names the server without secrets.
func (f *Fs) String() string {
	scheme := "ftp"
	if f.o.TLS != TLSNone {
		scheme = "ftps"
	}
	return transports.ServerURL(scheme, f.o.User, f.o.addr(), f.o.Root)
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
	listing := &rawListing{}
	dialer := &net.Dialer{Timeout: f.o.DialTimeout.Duration, KeepAlive: 30 * time.Second}
	// A data connection lives for one transfer, bounded by the I/O
	// timeout: keep-alive probes would never fire, and setting them up
	// costs four system calls per file.
	dataDialer := &net.Dialer{Timeout: f.o.DialTimeout.Duration, KeepAlive: -1}
	first := true
	dialFunc := func(network, addr string) (net.Conn, error) {
		// data connections are dialled during later operations: they must
		// not use the (maybe finished) context of the first one; a
		// cancelled operation closes them through socks instead.
		dctx, d := context.Background(), dataDialer
		if first {
			dctx, d = ctx, dialer
		}
		raw, err := d.DialContext(dctx, network, addr)
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
		if !control && listing.on {
			nc = &recordConn{Conn: nc, to: &listing.buf}
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
	s := &session{sc: sc, socks: socks, raw: listing}
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

// entry is one listed entry with how precise its time is.
type entry struct {
	*ftp.Entry
	prec time.Duration
}

func info(p string, e entry) transports.FileInfo {
	return transports.FileInfo{Path: p, Size: int64(e.Size), ModTime: e.Time, IsDir: isDir(e.Entry), Precision: e.prec}
}

// listPrecision is how precise a LIST line's time is: ls-style lines give
// minutes for recent files and only the day ("Nov 30  2025") for older
// ones, which parse to midnight.
func listPrecision(t time.Time) time.Duration {
	if t.Hour() == 0 && t.Minute() == 0 {
		return 24 * time.Hour
	}
	return time.Minute
}

// list returns the plain files and folders of an absolute folder. Entries
// left out for their names (ErrUnsafeName) or because they are symbolic
// links or other special files (ErrNotRegular) are passed to skipped,
// when given.
//
// With MLSD the raw listing is read as well: jlaffaye/ftp takes any
// "type" fact it does not know for a plain file, and proftpd lists a
// symbolic link as "type=OS.unix=symlink" (others "OS.unix=slink:/dest"):
// copying one would read its target, a file outside the folder.
func (f *Fs) list(s *session, dir string, skipped ...func(name string, err error)) ([]entry, error) {
	mlsd := s.sc.IsTimePreciseInList()
	if mlsd {
		s.raw.start()
	}
	ents, err := s.sc.List(dir)
	var raw []mlsdEntry
	if mlsd {
		raw = parseMLSD(s.raw.stop())
	}
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
	skip := func(name string, err error) {
		for _, fn := range skipped {
			fn(name, err)
		}
	}
	if mlsd {
		// our own reading of the lines: the library's drops lines with a
		// fractional time and any type it does not know is a file to it
		out := make([]entry, 0, len(raw))
		for _, r := range raw {
			if r.name == "." || r.name == ".." {
				continue
			}
			if err := transports.ValidName(r.name); err != nil {
				skip(r.name, err)
				continue
			}
			if !r.regular() {
				skip(r.name, fmt.Errorf("%w (MLSD type=%s)", transports.ErrNotRegular, r.typ))
				continue
			}
			e := &ftp.Entry{Name: r.name, Size: uint64(r.size), Time: r.time, Type: ftp.EntryTypeFile}
			if r.typ == "dir" {
				e.Type = ftp.EntryTypeFolder
			}
			out = append(out, entry{Entry: e, prec: r.prec})
		}
		return out, nil
	}
	out := make([]entry, 0, len(ents))
	for _, e := range ents {
		if e.Name == "." || e.Name == ".." {
			continue
		}
		if err := transports.ValidName(e.Name); err != nil {
			skip(e.Name, err)
			continue
		}
		if e.Type == ftp.EntryTypeLink {
			skip(e.Name, fmt.Errorf("%w (symbolic link to %q)", transports.ErrNotRegular, e.Target))
			continue
		}
		out = append(out, entry{Entry: e, prec: listPrecision(e.Time)})
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
	err = f.do(ctx, "list", func(ctx context.Context, s *session) (err error) {
		if !s.isFolder(s.abs(rel)) {
			return fmt.Errorf("list %s: %w", dir, transports.ErrNotExist)
		}
		out, err = transports.Walk(ctx, rel, recursive, func(r, prefix string) ([]transports.FileInfo, error) {
			ents, err := f.list(s, s.abs(r), func(name string, err error) {
				transports.Skipped(ctx, path.Join(prefix, name), err)
			})
			if err != nil {
				return nil, mapErr(err, "list "+r)
			}
			fis := make([]transports.FileInfo, len(ents))
			for i, e := range ents {
				fis[i] = info(e.Name, e)
			}
			return fis, nil
		})
		return err
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
	if s.sc.IsTimePreciseInList() { // MLST: size and time in one reply
		if e, err := s.sc.GetEntry(abs); err == nil && e.Type == ftp.EntryTypeFile {
			return transports.FileInfo{Path: rel, Size: int64(e.Size), ModTime: e.Time, Precision: time.Second}, nil
		} else if err != nil && !isReply(err) {
			return transports.FileInfo{}, err
		}
	}
	if size, err := s.sc.FileSize(abs); err == nil {
		fi := transports.FileInfo{Path: rel, Size: size}
		if t, ok, err := s.modTime(abs); err != nil {
			return transports.FileInfo{}, err
		} else if ok {
			fi.ModTime, fi.Precision = t, time.Second
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
					fi.ModTime, fi.Precision = e.Time, e.prec
				}
			}
		}
		return fi, nil
	}
	return transports.FileInfo{}, fmt.Errorf("stat %s: %w", rel, transports.ErrNotExist)
}

// modTime asks the server for a file's modification time (MDTM, to the
// second). ok is false when the server has no MDTM or cannot tell.
func (s *session) modTime(abs string) (t time.Time, ok bool, err error) {
	if !s.sc.IsGetTimeSupported() {
		return time.Time{}, false, nil
	}
	t, err = s.sc.GetTime(abs)
	switch {
	case err == nil:
		return t, !t.IsZero(), nil
	case isReply(err):
		return time.Time{}, false, nil
	}
	return time.Time{}, false, err
}

// Open starts a download. The returned reader fails with ErrIntegrity at
// the end when the byte count differs from the server's SIZE. Close always
// closes the data connection and reads the server's reply before the
// session is used again.
func (f *Fs) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	rel, err := transports.CleanFilePath(p, "open")
	if err != nil {
		return nil, err
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
		var fi transports.FileInfo
		var fiOK bool
		if transports.OpenStat(ctx) {
			t, ok, err := s.modTime(abs)
			if err != nil {
				stop()
				f.put(s, err)
				return mapErr(err, "open "+p)
			}
			fi = transports.FileInfo{Path: rel, Size: size, ModTime: t, Precision: time.Second}
			fiOK = ok
		}
		resp, err := s.sc.Retr(abs)
		if err != nil {
			stop()
			f.put(s, err)
			return mapErr(err, "open "+p)
		}
		rc = &reader{f: f, s: s, resp: resp, stop: stop, want: size, what: "download " + p, info: fi, infoOK: fiOK}
		return nil
	})
	return rc, err
}

type reader struct {
	f      *Fs
	s      *session
	resp   *ftp.Response
	stop   func() bool
	want   int64
	n      int64
	what   string
	eof    bool
	err    error
	done   bool
	info   transports.FileInfo
	infoOK bool
}

var _ transports.Versioned = (*reader)(nil)

// Info is the file as MDTM described it before the transfer (with
// transports.WithOpenStat).
func (r *reader) Info() (transports.FileInfo, bool) { return r.info, r.infoOK }

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
	return transports.CopyBuffered(w, struct{ io.Reader }{r})
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
	rel, err := transports.CleanFilePath(p, "remove")
	if err != nil {
		return err
	}
	return f.do(ctx, "remove", func(ctx context.Context, s *session) error {
		return mapErr(s.sc.Delete(s.abs(rel)), "remove "+p)
	})
}

// Rename moves from to to, replacing to (RNFR/RNTO; when the server
// refuses to replace, the old target is deleted first).
func (f *Fs) Rename(ctx context.Context, from, to string) error {
	a, b, err := transports.CleanRenamePaths(from, to)
	if err != nil {
		return err
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
// renames it into place (transports.AtomicWrite). A reader that is an
// io.Seeker is rewound and the upload retried on transient failures.
func (f *Fs) Write(ctx context.Context, p string, r io.Reader, opts transports.WriteOptions) (transports.WriteResult, error) {
	return transports.Uploader{
		Retry: f.retry,
		Attempt: func(ctx context.Context, rel string, r io.Reader, opts transports.WriteOptions) (res transports.WriteResult, leftover string, err error) {
			err = f.once(ctx, func(ctx context.Context, s *session) (err error) {
				res, leftover, err = transports.AtomicWrite(ctx, rel, r, opts, s.uploadOps(rel))
				return err
			})
			return res, leftover, err
		},
		// on a fresh session, even when ctx was cancelled
		RemoveLeftover: func(ctx context.Context, tmp string) error {
			return f.once(ctx, func(ctx context.Context, s *session) error { return s.removeTemp(tmp) })
		},
		CleanupTimeout: f.o.DialTimeout.Duration + f.o.IOTimeout.Duration,
	}.Write(ctx, p, r, opts)
}

// uploadOps are the FTP commands of an upload of rel on session s: STOR,
// SIZE, MFMT, RNFR/RNTO and DELE.
func (s *session) uploadOps(rel string) transports.UploadOps {
	return transports.UploadOps{
		Base:     s.base,
		MkdirAll: s.mkdirAll,
		Upload: func(_ context.Context, tmp string, r io.Reader) error {
			return mapErr(s.sc.Stor(tmp, r), "upload "+rel)
		},
		Size: func(p string) (int64, error) {
			size, err := s.sc.FileSize(p)
			return size, mapErr(err, "upload "+rel+": SIZE")
		},
		SetModTime: func(p string, t time.Time) {
			if s.sc.IsSetTimeSupported() {
				_ = s.sc.SetTime(p, t)
			}
		},
		Replace: func(tmp, final string) error { return s.rename(tmp, final, false) },
		Exists: func(p string) (bool, error) {
			if _, err := s.sc.FileSize(p); err == nil || s.isFolder(p) {
				return true, nil
			} else if !isReply(err) {
				return false, err
			}
			return false, nil
		},
		Rename: func(tmp, target string) error {
			return mapErr(s.sc.Rename(tmp, target), "upload "+rel+": rename")
		},
		RemoveTemp: s.removeTemp,
		// the session broke: the temporary file is removed on a fresh one
		Lost: func(error) bool { return s.broken.Load() },
	}
}

// removeTemp deletes a failed upload's temporary file; a missing one is
// fine.
func (s *session) removeTemp(tmp string) error {
	if err := s.sc.Delete(tmp); err != nil && !isReply(err) {
		s.broken.Store(true)
		return err
	}
	return nil
}
