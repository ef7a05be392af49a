// Package transporttest gives tests real file servers and a conformance
// suite for transports.
//
// The servers are started by `scripts/test-servers start`, all on
// 127.0.0.1: vsftpd (plain FTP, explicit and implicit FTPS), proftpd and
// pure-ftpd (plain FTP and explicit FTPS each), and OpenSSH's sshd for
// SFTP. That script writes an env file; this package reads it from
// $FIELDBRIDGE_TEST_SERVERS or the default /tmp/fieldbridge-test-servers/env
// (or $FB_TEST_SERVERS_DIR/env). When the file is missing, lacks a
// server's key or names a server that does not answer, a test is skipped
// with a message saying how to (re)start the servers — unless CI=true,
// where it fails.
//
// Each call of FTP, FTPS, FTPSImplicit, ProFTPD, ProFTPDS, PureFTPD,
// PureFTPDS or SFTP gives the test a fresh, empty folder on the server
// (removed when the test ends): the returned options are rooted there, and
// Server.Dir is its local path, so a test can create files "on the server"
// directly and check what a flow left there. Create them with
// Server.WriteFile / Server.MkdirAll (or with os.WriteFile(p, b, 0o666) /
// os.MkdirAll(p, 0o777): a default ACL gives the server's user access).
// Every FTP server serves the same folder to the same user, so a test
// can run against each of them in turn: FTPServers lists them, e.g.
//
//	for _, s := range transporttest.FTPServers() {
//		t.Run(s.Name, func(t *testing.T) { o, srv := s.Options(t); ... })
//	}
package transporttest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/transports"
)

// EnvVar names the environment variable holding the env file's path.
const EnvVar = "FIELDBRIDGE_TEST_SERVERS"

// DefaultEnvFile is where scripts/test-servers writes its env file by default.
const DefaultEnvFile = "/tmp/fieldbridge-test-servers/env"

// Server describes one running test server and a fresh folder on it.
type Server struct {
	// Addr is host:port.
	Addr string
	// User and Password log in.
	User, Password string
	// Dir is the local path of the test's folder on the server.
	Dir string
	// Rel is that folder relative to the login folder (the options' Root).
	Rel string
	// CACert is the PEM file that verifies the FTPS certificate.
	CACert string
	// KeyFile is an unencrypted SSH private key the server accepts;
	// KeyFileEnc the same key protected by KeyPassphrase.
	KeyFile, KeyFileEnc, KeyPassphrase string
	// KnownHosts is a known_hosts file with the SSH server's host key;
	// Fingerprint its SHA256 fingerprint ("SHA256:...").
	KnownHosts, Fingerprint string
	// UID and GID own files the server writes.
	UID, GID int
}

// WriteFile creates a file in the server folder (rel is slash-separated
// and relative to Dir), owned by the server's user, and returns its path.
func (s Server) WriteFile(t testing.TB, rel string, data []byte) string {
	t.Helper()
	c, err := transports.CleanPath(rel)
	if err != nil || c == "" {
		t.Fatalf("WriteFile(%q): %v", rel, err)
	}
	if i := strings.LastIndex(c, "/"); i > 0 {
		s.MkdirAll(t, c[:i])
	}
	p := filepath.Join(s.Dir, filepath.FromSlash(c))
	if err := os.WriteFile(p, data, 0o666); err != nil {
		t.Fatal(err)
	}
	_ = os.Lchown(p, s.UID, s.GID)
	return p
}

// MkdirAll creates folders in the server folder, owned by the server's
// user, and returns the local path.
func (s Server) MkdirAll(t testing.TB, rel string) string {
	t.Helper()
	c, err := transports.CleanPath(rel)
	if err != nil {
		t.Fatal(err)
	}
	p := s.Dir
	for _, e := range strings.Split(c, "/") {
		if e == "" {
			continue
		}
		p = filepath.Join(p, e)
		if err := os.Mkdir(p, 0o777); err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
		_ = os.Lchown(p, s.UID, s.GID)
	}
	return p
}

var envCache struct {
	sync.Mutex
	path string
	vals map[string]string
}

// EnvFile returns the path of the env file that is looked for.
func EnvFile() string {
	if p := os.Getenv(EnvVar); p != "" {
		return p
	}
	if d := os.Getenv("FB_TEST_SERVERS_DIR"); d != "" {
		return filepath.Join(d, "env")
	}
	return DefaultEnvFile
}

// Env returns the test servers' env file as a map, skipping the test (or
// failing it under CI=true) when the servers are not started.
func Env(t testing.TB) map[string]string {
	t.Helper()
	path := EnvFile()
	envCache.Lock()
	defer envCache.Unlock()
	if envCache.path == path && envCache.vals != nil {
		return envCache.vals
	}
	vals, err := readEnv(path)
	if err != nil {
		unavailable(t, fmt.Sprintf("test servers not available (%v): run `scripts/test-servers start` (as root) first, or set %s to its env file", err, EnvVar))
	}
	envCache.path, envCache.vals = path, vals
	return vals
}

// unavailable skips the test, or fails it under CI=true, where every
// server must be there.
func unavailable(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

var answered sync.Map // address -> error (nil: it answered)

// answers dials addr once per test binary.
func answers(addr string) error {
	if v, ok := answered.Load(addr); ok {
		err, _ := v.(error)
		return err
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		c.Close()
	}
	answered.Store(addr, err)
	return err
}

func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			continue
		}
		vals[k] = strings.Trim(v, `"'`)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, k := range []string{"FB_TEST_ROOT", "FB_TEST_USER", "FB_TEST_PASSWORD", "FB_TEST_FTP_ADDR", "FB_TEST_SFTP_ADDR"} {
		if vals[k] == "" {
			return nil, fmt.Errorf("%s lacks %s", path, k)
		}
	}
	if _, err := os.Stat(vals["FB_TEST_ROOT"]); err != nil {
		return nil, fmt.Errorf("server folder: %w", err)
	}
	// An env file outlives its servers (a reboot, a killed vsftpd): say
	// so here rather than let every test fail on "connection refused".
	for _, k := range []string{"FB_TEST_FTP_ADDR", "FB_TEST_SFTP_ADDR"} {
		c, err := net.DialTimeout("tcp", vals[k], 2*time.Second)
		if err != nil {
			return nil, fmt.Errorf("%s names %s, which does not answer (%w); the servers of %s are not running", k, vals[k], err, path)
		}
		c.Close()
	}
	return vals, nil
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// NewServer returns the server whose address is in the env key addrKey
// (FB_TEST_FTP_ADDR, FB_TEST_FTPS_ADDR, FB_TEST_FTPS_IMPLICIT_ADDR,
// FB_TEST_PROFTPD_ADDR, FB_TEST_PROFTPD_FTPS_ADDR, FB_TEST_PUREFTPD_ADDR,
// FB_TEST_PUREFTPD_FTPS_ADDR, FB_TEST_SFTP_ADDR), with a fresh folder for
// the test that is removed when the test ends.
func NewServer(t testing.TB, addrKey string) Server {
	t.Helper()
	env := Env(t)
	restart := "restart them: scripts/test-servers stop; scripts/test-servers start"
	if env[addrKey] == "" {
		unavailable(t, fmt.Sprintf("test servers env file %s lacks %s (written by an older scripts/test-servers?); %s", EnvFile(), addrKey, restart))
	}
	if err := answers(env[addrKey]); err != nil {
		unavailable(t, fmt.Sprintf("%s names %s, which does not answer (%v); %s", addrKey, env[addrKey], err, restart))
	}
	uid, _ := strconv.Atoi(env["FB_TEST_UID"])
	gid, _ := strconv.Atoi(env["FB_TEST_GID"])
	name := unsafeChars.ReplaceAllString(t.Name(), "_")
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	rel := "t-" + name + "-" + transports.RandomToken()
	dir := filepath.Join(env["FB_TEST_ROOT"], rel)
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	_ = os.Chown(dir, uid, gid)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return Server{
		Addr: env[addrKey], User: env["FB_TEST_USER"], Password: env["FB_TEST_PASSWORD"],
		Dir: dir, Rel: rel, CACert: env["FB_TEST_CA_CERT"],
		KeyFile: env["FB_TEST_SFTP_KEY"], KeyFileEnc: env["FB_TEST_SFTP_KEY_ENC"], KeyPassphrase: env["FB_TEST_SFTP_KEY_PASSPHRASE"],
		KnownHosts: env["FB_TEST_SFTP_KNOWN_HOSTS"], Fingerprint: env["FB_TEST_SFTP_HOST_FINGERPRINT"],
		UID: uid, GID: gid,
	}
}
