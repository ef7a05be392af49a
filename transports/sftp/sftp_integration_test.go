package sftp_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fieldbridge/fieldbridge/transports"
	"github.com/fieldbridge/fieldbridge/transports/sftp"
	"github.com/fieldbridge/fieldbridge/transports/transporttest"
)

func TestSuiteOpenSSH(t *testing.T) {
	transporttest.RunSuite(t, func(t *testing.T) transporttest.Target {
		o, srv := transporttest.SFTP(t)
		fs, err := sftp.New(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fs.Close() })
		return transporttest.Target{T: fs, Dir: srv.Dir, SetsModTime: true}
	})
}

func TestAuthAndHostKeys(t *testing.T) {
	ctx := context.Background()
	base, srv := transporttest.SFTP(t)
	srv.WriteFile(t, "hello.txt", []byte("hi"))
	otherKnown := filepath.Join(t.TempDir(), "known_hosts")
	// a known_hosts listing another key for this host
	b, err := os.ReadFile(srv.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(b))
	os.WriteFile(otherKnown, []byte(fields[0]+" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8mXCmX7cOZlwCM0f1E2MFkY8NMtc9dQ3Wq7vJNpD0a\n"), 0o644)
	emptyKnown := filepath.Join(t.TempDir(), "empty_known_hosts")
	os.WriteFile(emptyKnown, nil, 0o644)

	for _, c := range []struct {
		name      string
		edit      func(o *sftp.Options)
		permanent bool // want a permanent error; else success
	}{
		{"key+known_hosts", func(o *sftp.Options) {}, false},
		{"password", func(o *sftp.Options) { o.KeyFile, o.Password = "", srv.Password }, false},
		{"encrypted key", func(o *sftp.Options) { o.KeyFile, o.KeyPassphrase = srv.KeyFileEnc, srv.KeyPassphrase }, false},
		{"pinned fingerprint", func(o *sftp.Options) { o.KnownHosts, o.HostFingerprint = "", srv.Fingerprint }, false},
		{"insecure", func(o *sftp.Options) { o.KnownHosts, o.InsecureIgnoreHostKey = "", true }, false},
		{"wrong password", func(o *sftp.Options) { o.KeyFile, o.Password = "", "wrong" }, true},
		{"wrong passphrase", func(o *sftp.Options) { o.KeyFile, o.KeyPassphrase = srv.KeyFileEnc, "wrong" }, true},
		{"wrong fingerprint", func(o *sftp.Options) {
			o.KnownHosts, o.HostFingerprint = "", "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		}, true},
		{"host key mismatch", func(o *sftp.Options) { o.KnownHosts = otherKnown }, true},
		{"unknown host", func(o *sftp.Options) { o.KnownHosts = emptyKnown }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := base
			c.edit(&o)
			fs, err := sftp.New(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			defer fs.Close()
			_, err = fs.Stat(ctx, "hello.txt")
			if c.permanent {
				if !errors.Is(err, transports.ErrPermanent) || transports.IsTransient(err) {
					t.Fatalf("err = %v, want a permanent error", err)
				}
				t.Logf("refused as expected: %v", err)
			} else if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCheckRequiresHostKeyPolicy(t *testing.T) {
	o := sftp.DefaultOptions()
	o.Host, o.User, o.Password = "h", "u", "p"
	err := o.Check()
	if err == nil || !strings.Contains(err.Error(), "known_hosts") {
		t.Fatalf("Check = %v, want a known_hosts complaint", err)
	}
}
