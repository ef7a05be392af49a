// Package sftp is the transport for SFTP servers, built on
// github.com/pkg/sftp over golang.org/x/crypto/ssh.
//
// The server's host key is always checked — against a known_hosts file or
// a pinned SHA256 fingerprint — unless the options explicitly say
// insecure_ignore_host_key. One SSH connection is shared by all
// operations (SFTP multiplexes requests), kept alive with keepalives and
// replaced when it breaks. While an operation waits on the connection,
// a silence longer than the I/O timeout fails it.
//
// Uploads are atomic: the file is written (O_WRONLY|O_CREATE|O_TRUNC, so
// servers that refuse read-write opens work) under a hidden temporary
// name, its size checked with a stat, then renamed with
// posix-rename@openssh.com where the server has it.
package sftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/fieldbridge/fieldbridge/transports"
)

// Fs is an SFTP server. It is safe for concurrent use.
type Fs struct {
	o     Options
	retry transports.Retry

	// noPosixRename makes tests take the path for servers without
	// posix-rename@openssh.com.
	noPosixRename bool

	dialMu sync.Mutex // one dial at a time
	mu     sync.Mutex
	cur    *client
	closed bool
}

var _ transports.Transport = (*Fs)(nil)

type client struct {
	conn  *busyConn
	ssh   *ssh.Client
	sftp  *sftp.Client
	base  string
	posix bool
	done  chan struct{}
	once  sync.Once
	shut  atomic.Bool
}

func (c *client) close() {
	c.shut.Store(true)
	c.once.Do(func() {
		// the SSH connection first: sftp's Close waits for its reader,
		// which a stalled server would never release
		c.ssh.Close()
		go c.sftp.Close()
	})
}

func (c *client) dead() bool {
	if c.shut.Load() {
		return true
	}
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// New returns the SFTP transport. It does no I/O: the first operation
// connects (key and known_hosts files are read then).
func New(_ context.Context, o Options) (*Fs, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	d := DefaultOptions()
	o.DialTimeout.Duration = o.DialTimeout.Or(d.DialTimeout.Duration)
	o.IOTimeout.Duration = o.IOTimeout.Or(d.IOTimeout.Duration)
	o.KeepAlive.Duration = o.KeepAlive.Or(d.KeepAlive.Duration)
	if o.MaxConcurrentRequests == 0 {
		o.MaxConcurrentRequests = d.MaxConcurrentRequests
	}
	return &Fs{o: o, retry: transports.RetryPolicy(o.Retries, d.Retries)}, nil
}

// String names the server without secrets.
func (f *Fs) String() string {
	return transports.ServerURL("sftp", f.o.User, f.o.addr(), f.o.Root)
}

// Close closes the connection.
func (f *Fs) Close() error {
	f.mu.Lock()
	f.closed = true
	c := f.cur
	f.cur = nil
	f.mu.Unlock()
	if c != nil {
		c.close()
	}
	return nil
}

// Connect logs in once to check the options (for `fieldbridge check
// -connect`).
func (f *Fs) Connect(ctx context.Context) error {
	return f.do(ctx, false, func(ctx context.Context, c *client) error {
		_, err := c.sftp.Stat(c.base)
		return err
	})
}

// hostKeyCallback builds the host key check and the key algorithms to ask
// for (those known for the host, so the server shows a key we can check).
func (f *Fs) hostKeyCallback() (ssh.HostKeyCallback, []string, error) {
	switch {
	case f.o.HostFingerprint != "":
		want := strings.TrimRight(f.o.HostFingerprint, "=")
		return func(host string, _ net.Addr, key ssh.PublicKey) error {
			if got := ssh.FingerprintSHA256(key); got != want {
				return transports.Permanent(fmt.Errorf("host key mismatch for %s: server shows %s, configured host_fingerprint is %s", host, got, want))
			}
			return nil
		}, nil, nil
	case f.o.KnownHosts != "":
		cb, err := knownhosts.New(f.o.KnownHosts)
		if err != nil {
			return nil, nil, transports.Permanent(fmt.Errorf("known_hosts: %w", err))
		}
		var algos []string
		if err := cb(knownhosts.Normalize(f.o.addr()), &net.TCPAddr{}, dummyKey{}); err != nil {
			var ke *knownhosts.KeyError
			if errors.As(err, &ke) {
				seen := map[string]bool{}
				for _, k := range ke.Want {
					t := k.Key.Type()
					for _, a := range algorithmsFor(t) {
						if !seen[a] {
							seen[a] = true
							algos = append(algos, a)
						}
					}
				}
			}
		}
		return func(host string, remote net.Addr, key ssh.PublicKey) error {
			err := cb(host, remote, key)
			var ke *knownhosts.KeyError
			if errors.As(err, &ke) {
				if len(ke.Want) == 0 {
					if f.o.InsecureIgnoreHostKey {
						return nil
					}
					return transports.Permanent(fmt.Errorf("unknown host %s: its key (%s %s) is not in %s; add it (ssh-keyscan) or set host_fingerprint", host, key.Type(), ssh.FingerprintSHA256(key), f.o.KnownHosts))
				}
				return transports.Permanent(fmt.Errorf("host key mismatch for %s: server shows %s %s, which %s does not list for it", host, key.Type(), ssh.FingerprintSHA256(key), f.o.KnownHosts))
			}
			if err != nil {
				return transports.Permanent(err)
			}
			return nil
		}, algos, nil
	case f.o.InsecureIgnoreHostKey:
		return ssh.InsecureIgnoreHostKey(), nil, nil
	}
	return nil, nil, transports.Permanent(errors.New("no host key check configured"))
}

func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

// dummyKey makes knownhosts report which keys it knows for a host.
type dummyKey struct{}

func (dummyKey) Type() string                        { return "dummy" }
func (dummyKey) Marshal() []byte                     { return []byte("dummy") }
func (dummyKey) Verify([]byte, *ssh.Signature) error { return errors.New("dummy") }

func (f *Fs) auth() ([]ssh.AuthMethod, error) {
	var methods []ssh.AuthMethod
	if f.o.KeyFile != "" {
		pem, err := os.ReadFile(f.o.KeyFile)
		if err != nil {
			return nil, transports.Permanent(fmt.Errorf("key_file: %w", err))
		}
		signer, err := ssh.ParsePrivateKey(pem)
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			if f.o.KeyPassphrase == "" {
				return nil, transports.Permanent(fmt.Errorf("key_file %s is encrypted: set key_passphrase", f.o.KeyFile))
			}
			signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(f.o.KeyPassphrase))
		}
		if err != nil {
			return nil, transports.Permanent(fmt.Errorf("key_file %s: %w", f.o.KeyFile, err))
		}
		methods = append(methods, ssh.PublicKeys(signer))
	}
	if f.o.Password != "" {
		methods = append(methods, ssh.Password(f.o.Password))
	}
	return methods, nil
}

func (f *Fs) dial(ctx context.Context) (*client, error) {
	hk, algos, err := f.hostKeyCallback()
	if err != nil {
		return nil, err
	}
	auth, err := f.auth()
	if err != nil {
		return nil, err
	}
	conf := &ssh.ClientConfig{
		User:              f.o.User,
		Auth:              auth,
		HostKeyCallback:   hk,
		HostKeyAlgorithms: algos,
		Timeout:           f.o.DialTimeout.Duration,
	}
	addr := f.o.addr()
	raw, err := (&net.Dialer{Timeout: f.o.DialTimeout.Duration, KeepAlive: 30 * time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	if tc, ok := raw.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4 << 20)
		_ = tc.SetWriteBuffer(4 << 20)
	}
	bc := &busyConn{Conn: raw, timeout: f.o.IOTimeout.Duration}
	// the handshake and login are bounded by the dial timeout and ctx
	timer := time.AfterFunc(f.o.DialTimeout.Duration, func() { raw.Close() })
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer timer.Stop()
	defer stop()
	sc, chans, reqs, err := ssh.NewClientConn(bc, addr, conf)
	if err != nil {
		raw.Close()
		return nil, classifySSH(fmt.Errorf("ssh to %s as %s: %w", addr, f.o.User, err))
	}
	cl := ssh.NewClient(sc, chans, reqs)
	sf, err := sftp.NewClient(cl,
		sftp.UseConcurrentWrites(true),
		sftp.UseConcurrentReads(true),
		sftp.MaxConcurrentRequestsPerFile(f.o.MaxConcurrentRequests),
	)
	if err != nil {
		cl.Close()
		return nil, classifySSH(fmt.Errorf("start sftp on %s: %w", addr, err))
	}
	c := &client{conn: bc, ssh: cl, sftp: sf, done: make(chan struct{})}
	base := f.o.Root
	if !strings.HasPrefix(base, "/") {
		wd, err := sf.Getwd()
		if err != nil {
			c.close()
			return nil, fmt.Errorf("sftp %s: working folder: %w", addr, err)
		}
		base = path.Join(wd, base)
	}
	c.base = path.Clean(base)
	_, c.posix = sf.HasExtension("posix-rename@openssh.com")
	c.posix = c.posix && !f.noPosixRename
	go func() {
		_ = cl.Wait()
		close(c.done)
	}()
	go f.keepalive(c)
	return c, nil
}

func (f *Fs) keepalive(c *client) {
	t := time.NewTicker(f.o.KeepAlive.Duration)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			c.conn.begin()
			_, _, err := c.ssh.SendRequest("keepalive@openssh.com", true, nil)
			c.conn.end()
			if err != nil {
				c.close()
				return
			}
		}
	}
}

// classifySSH marks authentication and host key failures permanent.
func classifySSH(err error) error {
	msg := err.Error()
	if errors.Is(err, transports.ErrPermanent) || strings.Contains(msg, "unable to authenticate") ||
		strings.Contains(msg, "host key") || strings.Contains(msg, "unknown host") {
		return transports.Permanent(err)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) {
		return transports.Transient(err)
	}
	return err
}

// client returns the live connection, dialing when there is none.
func (f *Fs) client(ctx context.Context) (*client, error) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, transports.Permanent(errors.New("sftp: transport closed"))
	}
	c := f.cur
	f.mu.Unlock()
	if c != nil && !c.dead() {
		return c, nil
	}
	f.dialMu.Lock()
	defer f.dialMu.Unlock()
	f.mu.Lock()
	c = f.cur
	f.mu.Unlock()
	if c != nil && !c.dead() {
		return c, nil
	}
	c, err := f.dial(ctx)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	old := f.cur
	f.cur = c
	closed := f.closed
	f.mu.Unlock()
	if old != nil {
		old.close()
	}
	if closed {
		c.close()
		return nil, transports.Permanent(errors.New("sftp: transport closed"))
	}
	return c, nil
}

// connLost reports whether err means the connection is gone.
func connLost(c *client, err error) bool {
	if err == nil {
		return false
	}
	if c.dead() || errors.Is(err, sftp.ErrSSHFxConnectionLost) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// do runs op with the connection marked busy, retrying transient
// failures on a new connection. With async, op runs in a goroutine so a
// cancelled ctx returns at once (for single requests that take no ctx).
func (f *Fs) do(ctx context.Context, async bool, op func(ctx context.Context, c *client) error) error {
	return f.retry.Do(ctx, func(ctx context.Context) error {
		return f.once(ctx, async, op)
	})
}

func (f *Fs) once(ctx context.Context, async bool, op func(ctx context.Context, c *client) error) error {
	c, err := f.client(ctx)
	if err != nil {
		return err
	}
	err = f.run(ctx, c, async, op)
	if async && err != nil && !errors.Is(err, transports.ErrPermanent) && connLost(c, err) && ctx.Err() == nil {
		// a single request on a connection that had silently died: one
		// immediate try on a fresh connection does not count as a retry
		if c, err2 := f.client(ctx); err2 == nil {
			return f.run(ctx, c, async, op)
		}
	}
	return err
}

func (f *Fs) run(ctx context.Context, c *client, async bool, op func(ctx context.Context, c *client) error) (err error) {
	c.conn.begin()
	if async {
		errc := make(chan error, 1)
		go func() {
			defer c.conn.end()
			errc <- op(ctx, c)
		}()
		select {
		case err = <-errc:
		case <-ctx.Done():
			return ctx.Err()
		}
	} else {
		err = op(ctx, c)
		c.conn.end()
	}
	if connLost(c, err) {
		c.close()
		return transports.Transient(err)
	}
	return err
}

// lost closes the connection when err says it is gone.
func (r *reader) lost(err error) {
	if connLost(r.c, err) {
		r.c.close()
	}
}

func (c *client) abs(rel string) string {
	if rel == "" {
		return c.base
	}
	return path.Join(c.base, rel)
}

// mapErr wraps not-found errors with ErrNotExist and permission errors
// as permanent.
func mapErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: %w (%w)", what, transports.ErrNotExist, err)
	case errors.Is(err, fs.ErrPermission):
		return transports.Permanent(fmt.Errorf("%s: %w", what, err))
	}
	return fmt.Errorf("%s: %w", what, err)
}

// info describes a listed or stat'ed entry: SFTP (version 3) times are
// whole seconds.
func info(p string, fi fs.FileInfo) transports.FileInfo {
	return transports.FileInfo{Path: p, Size: fi.Size(), ModTime: fi.ModTime(), IsDir: fi.IsDir(), Precision: time.Second}
}

// List returns the entries of dir. Entries with unsafe names, symbolic
// links and other entries that are neither plain files nor folders are
// left out (and told to a transports.SkipFunc); links are never followed.
func (f *Fs) List(ctx context.Context, dir string, recursive bool) ([]transports.FileInfo, error) {
	rel, err := transports.CleanPath(dir)
	if err != nil {
		return nil, err
	}
	var out []transports.FileInfo
	err = f.do(ctx, false, func(ctx context.Context, c *client) (err error) {
		out, err = transports.Walk(ctx, rel, recursive, func(r, prefix string) ([]transports.FileInfo, error) {
			ents, err := c.sftp.ReadDir(c.abs(r))
			if err != nil {
				return nil, mapErr(err, "list "+path.Join(dir, prefix))
			}
			fis := make([]transports.FileInfo, 0, len(ents))
			for _, e := range ents {
				if e.Name() == "." || e.Name() == ".." {
					continue
				}
				if err := transports.ValidName(e.Name()); err != nil {
					transports.Skipped(ctx, path.Join(prefix, e.Name()), err)
					continue
				}
				if m := e.Mode(); !m.IsRegular() && !m.IsDir() {
					transports.Skipped(ctx, path.Join(prefix, e.Name()), fmt.Errorf("%w (%s)", transports.ErrNotRegular, m.Type()))
					continue
				}
				fis = append(fis, info(e.Name(), e))
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

// Stat describes one path.
func (f *Fs) Stat(ctx context.Context, p string) (transports.FileInfo, error) {
	rel, err := transports.CleanPath(p)
	if err != nil {
		return transports.FileInfo{}, err
	}
	var fi transports.FileInfo
	err = f.do(ctx, true, func(ctx context.Context, c *client) error {
		st, err := c.sftp.Stat(c.abs(rel))
		if err != nil {
			return mapErr(err, "stat "+p)
		}
		fi = info(rel, st)
		return nil
	})
	return fi, err
}

// Open starts a download; reads are pipelined (concurrent requests) when
// the caller copies with io.Copy. The reader fails with ErrIntegrity at
// the end when the byte count differs from the size the server reported
// at open.
func (f *Fs) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	rel, err := transports.CleanFilePath(p, "open")
	if err != nil {
		return nil, err
	}
	var rc io.ReadCloser
	err = f.do(ctx, false, func(ctx context.Context, c *client) error {
		file, err := c.sftp.Open(c.abs(rel))
		if err != nil {
			return mapErr(err, "open "+p)
		}
		st, err := file.Stat()
		if err != nil {
			file.Close()
			return mapErr(err, "open "+p)
		}
		if st.IsDir() {
			file.Close()
			return transports.Permanent(fmt.Errorf("open %s: is a folder", p))
		}
		rc = &reader{ctx: ctx, c: c, file: file, want: st.Size(), what: "download " + p, info: info(rel, st)}
		return nil
	})
	return rc, err
}

type reader struct {
	ctx  context.Context
	c    *client
	file *sftp.File
	want int64
	n    int64
	what string
	done bool
	info transports.FileInfo
}

var _ transports.Versioned = (*reader)(nil)

// Info is the file as the open handle described it (fstat).
func (r *reader) Info() (transports.FileInfo, bool) { return r.info, true }

func (r *reader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	// busy only while waiting: a slow consumer between reads must not
	// trip the I/O timeout
	r.c.conn.begin()
	n, err := r.file.Read(p)
	r.c.conn.end()
	r.n += int64(n)
	if err != nil && err != io.EOF {
		r.lost(err)
	}
	if err == io.EOF {
		if cerr := transports.CheckSize(r.what, r.want, r.n); cerr != nil {
			return n, cerr
		}
	} else if err != nil {
		return n, fmt.Errorf("%s: %w", r.what, err)
	}
	return n, err
}

// WriteTo downloads with concurrent requests.
func (r *reader) WriteTo(w io.Writer) (int64, error) {
	r.c.conn.begin()
	n, err := r.file.WriteTo(&ctxWriter{ctx: r.ctx, w: w})
	r.c.conn.end()
	r.n += n
	if err != nil {
		r.lost(err)
		return n, fmt.Errorf("%s: %w", r.what, err)
	}
	return n, transports.CheckSize(r.what, r.want, r.n)
}

func (r *reader) Close() error {
	if r.done {
		return nil
	}
	r.done = true
	r.c.conn.begin()
	defer r.c.conn.end()
	return r.file.Close()
}

type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// MkdirAll creates a folder and its parents.
func (f *Fs) MkdirAll(ctx context.Context, p string) error {
	rel, err := transports.CleanPath(p)
	if err != nil {
		return err
	}
	return f.do(ctx, true, func(ctx context.Context, c *client) error {
		return mapErr(c.sftp.MkdirAll(c.abs(rel)), "make folder "+p)
	})
}

// Remove deletes a file (never a folder).
func (f *Fs) Remove(ctx context.Context, p string) error {
	rel, err := transports.CleanFilePath(p, "remove")
	if err != nil {
		return err
	}
	return f.do(ctx, true, func(ctx context.Context, c *client) error {
		abs := c.abs(rel)
		st, err := c.sftp.Lstat(abs)
		if err != nil {
			return mapErr(err, "remove "+p)
		}
		if st.IsDir() {
			return transports.Permanent(fmt.Errorf("remove %s: is a folder", p))
		}
		return mapErr(c.sftp.Remove(abs), "remove "+p)
	})
}

// Rename moves from to to, replacing to (atomically with
// posix-rename@openssh.com; otherwise by removing to first).
func (f *Fs) Rename(ctx context.Context, from, to string) error {
	a, b, err := transports.CleanRenamePaths(from, to)
	if err != nil {
		return err
	}
	return f.do(ctx, true, func(ctx context.Context, c *client) error {
		if err := c.sftp.MkdirAll(path.Dir(c.abs(b))); err != nil {
			return mapErr(err, "rename: make folder for "+to)
		}
		return c.replace(c.abs(a), c.abs(b), "rename "+from)
	})
}

// replace renames from over to.
func (c *client) replace(from, to, what string) error {
	if c.posix {
		return mapErr(c.sftp.PosixRename(from, to), what)
	}
	err := c.sftp.Rename(from, to)
	if err == nil {
		return nil
	}
	if _, serr := c.sftp.Lstat(from); serr != nil {
		return mapErr(serr, what)
	}
	if st, serr := c.sftp.Lstat(to); serr == nil && !st.IsDir() {
		if rerr := c.sftp.Remove(to); rerr != nil {
			return mapErr(rerr, what+": remove old target")
		}
		return mapErr(c.sftp.Rename(from, to), what)
	}
	return mapErr(err, what)
}

// Write uploads r to a temporary name beside p, checks its size and
// renames it into place (transports.AtomicWrite). A reader that is an
// io.Seeker is rewound and the upload retried on transient failures.
func (f *Fs) Write(ctx context.Context, p string, r io.Reader, opts transports.WriteOptions) (transports.WriteResult, error) {
	return transports.Uploader{
		Retry: f.retry,
		Attempt: func(ctx context.Context, rel string, r io.Reader, opts transports.WriteOptions) (res transports.WriteResult, leftover string, err error) {
			err = f.once(ctx, false, func(ctx context.Context, c *client) (err error) {
				res, leftover, err = transports.AtomicWrite(ctx, rel, r, opts, f.uploadOps(c, rel))
				return err
			})
			return res, leftover, err
		},
		// on a fresh connection, even when ctx was cancelled
		RemoveLeftover: func(ctx context.Context, tmp string) error {
			return f.once(ctx, false, func(ctx context.Context, c *client) error { return c.removeTemp(tmp) })
		},
		CleanupTimeout: f.o.DialTimeout.Duration + f.o.IOTimeout.Duration,
	}.Write(ctx, p, r, opts)
}

// uploadOps are the SFTP requests of an upload of rel on connection c.
func (f *Fs) uploadOps(c *client, rel string) transports.UploadOps {
	return transports.UploadOps{
		Base: c.base,
		MkdirAll: func(dir string) error {
			return mapErr(c.sftp.MkdirAll(dir), "upload "+rel+": make folder")
		},
		Upload: func(_ context.Context, tmp string, r io.Reader) error {
			// write-only: servers that refuse read-write opens work too
			file, err := c.sftp.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
			if err != nil {
				return mapErr(err, "upload "+rel)
			}
			_, err = file.ReadFromWithConcurrency(r, f.o.MaxConcurrentRequests)
			if cerr := file.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("upload %s: %w", rel, err)
			}
			return nil
		},
		Size: func(p string) (int64, error) {
			st, err := c.sftp.Stat(p)
			if err != nil {
				return 0, mapErr(err, "upload "+rel+": stat")
			}
			return st.Size(), nil
		},
		SetModTime: func(p string, t time.Time) { _ = c.sftp.Chtimes(p, t, t) },
		Replace:    func(tmp, final string) error { return c.replace(tmp, final, "upload "+rel) },
		Exists: func(p string) (bool, error) {
			if _, err := c.sftp.Lstat(p); err == nil {
				return true, nil
			} else if !errors.Is(err, fs.ErrNotExist) {
				return false, mapErr(err, "upload "+rel)
			}
			return false, nil
		},
		// plain SFTP rename never replaces an existing file
		Rename: func(tmp, target string) error {
			if err := c.sftp.Rename(tmp, target); err != nil {
				if _, serr := c.sftp.Lstat(target); serr == nil {
					return fmt.Errorf("upload %s: %w", rel, transports.ErrExist) // lost a race
				}
				return mapErr(err, "upload "+rel+": rename")
			}
			return nil
		},
		RemoveTemp: c.removeTemp,
		Lost:       func(err error) bool { return connLost(c, err) },
	}
}

// removeTemp deletes a failed upload's temporary file; a missing one is
// fine.
func (c *client) removeTemp(tmp string) error {
	if err := c.sftp.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
