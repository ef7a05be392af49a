package fileconn_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/fileconn"
	"github.com/fieldbridge/fieldbridge/transports/ftp"
	"github.com/fieldbridge/fieldbridge/transports/sftp"
	"github.com/fieldbridge/fieldbridge/transports/transporttest"
)

func registry() *bridge.Registry {
	r := &bridge.Registry{}
	for _, c := range fileconn.ConnTypes() {
		r.AddConn(c)
	}
	return r
}

func TestConfigAndOpenLocal(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("FB_FTP_PW", "pw")
	cfg, err := bridge.ParseConfig(filepath.Join(dir, "c.toml"), []byte(`
[connections.inbox]
type = "local"
root = "`+dir+`"
[connections.partner]
type = "ftps"
host = "ftp.example.com"
user = "u"
password = "${FB_FTP_PW}"
[connections.export]
type = "sftp"
host = "sftp.example.com"
user = "u"
password = "${FB_FTP_PW}"
host_fingerprint = "SHA256:abc"
`), registry())
	if err != nil {
		t.Fatal(err)
	}
	env := &bridge.Env{Config: cfg}
	if err := os.WriteFile(filepath.Join(dir, "a.csv"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := fileconn.OpenNamed(context.Background(), env, "inbox")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	list, err := tr.List(context.Background(), "", false)
	if err != nil || len(list) != 1 || list[0].Path != "a.csv" {
		t.Fatalf("List = %+v, %v", list, err)
	}
	for name, want := range map[string]string{"inbox": "", "partner": "", "export": "", "nope": "no connection named"} {
		err := fileconn.IsFileConn(env, name)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("IsFileConn(%s) = %v", name, err)
		}
	}
	_, o, _ := env.Conn("partner")
	if fo := o.(*ftp.Options); fo.Password != "pw" || fo.TLS != ftp.TLSExplicit {
		t.Errorf("ftps options = %+v", fo)
	}
	if _, err := fileconn.Open(context.Background(), "ozmap", struct{}{}); err == nil {
		t.Error("Open of a non-file type succeeded")
	}
}

func TestConfigProblems(t *testing.T) {
	_, err := bridge.ParseConfig("c.toml", []byte(`[connections.a]
type = "local"
[connections.b]
type = "ftps"
host = "h"
user = "u"
tls = "none"
[connections.c]
type = "sftp"
host = "h"
user = "u"
password = "p"
`), registry())
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`c.toml:1: connection "a": root: the folder is required`,
		`c.toml:7: connection "b": tls: an ftps connection cannot have tls = "none"`,
		`c.toml:8: connection "c": known_hosts or host_fingerprint`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestConnectRealServers tries the connection test of each type against
// the real test servers (scripts/test-servers).
func TestConnectRealServers(t *testing.T) {
	ctx := context.Background()
	types := map[string]bridge.ConnType{}
	for _, c := range fileconn.ConnTypes() {
		types[c.Name] = c
	}
	local := types["local"]
	if err := local.Connect(ctx, &struct{ X int }{}); err == nil {
		t.Error("local Connect with wrong options succeeded")
	}
	t.Run("ftp", func(t *testing.T) {
		o, _ := transporttest.FTP(t)
		if err := types["ftp"].Connect(ctx, &o); err != nil {
			t.Fatal(err)
		}
		bad := o
		bad.Password = "wrong"
		bad.Retries = -1
		if err := types["ftp"].Connect(ctx, &bad); err == nil {
			t.Fatal("wrong password accepted")
		}
	})
	t.Run("ftps", func(t *testing.T) {
		o, _ := transporttest.FTPS(t)
		if err := types["ftps"].Connect(ctx, &o); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("sftp", func(t *testing.T) {
		o, _ := transporttest.SFTP(t)
		var _ sftp.Options = o
		if err := types["sftp"].Connect(ctx, &o); err != nil {
			t.Fatal(err)
		}
	})
}
