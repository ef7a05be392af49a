package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/bridgetest"
)

// The password of every connection below: it must never be printed.
const warnTestPassword = "s3cret-Pw-4417"

// connWarnCases are connection tables, the warning check must print for
// each (none for a safe one), and the option it must name.
var connWarnCases = []struct {
	name, table string
	want        []string // fragments of check's warning line; nil: no warning
}{
	{"ftps skip verify", `[connections.partner-ftp]
type = "ftps"
host = "ftp.example.com"
user = "u"
password = "${FB_WARN_PW}"
insecure_skip_verify = true
`, []string{`warning: connection "partner-ftp" (ftps): insecure_skip_verify = true — the server's TLS certificate is not verified`, "Set ca_file to the server's CA instead."}},
	{"ftp skip verify", `[connections.old-ftp]
type = "ftp"
host = "ftp.example.com"
user = "u"
password = "${FB_WARN_PW}"
tls = "implicit"
insecure_skip_verify = true
`, []string{`warning: connection "old-ftp" (ftp): insecure_skip_verify = true`}},
	{"ftp plain text", `[connections.plain-ftp]
type = "ftp"
host = "ftp.example.com"
user = "u"
password = "${FB_WARN_PW}"
tls = "none"
`, []string{`warning: connection "plain-ftp" (ftp): tls = "none" — plain FTP: the password and the files travel unencrypted`}},
	{"sftp ignore host key", `[connections.export]
type = "sftp"
host = "sftp.example.com"
user = "u"
password = "${FB_WARN_PW}"
insecure_ignore_host_key = true
`, []string{`warning: connection "export" (sftp): insecure_ignore_host_key = true — the server's host key is not checked`, "host_fingerprint", "known_hosts"}},
	{"safe ftps and sftp", `[connections.partner-ftp]
type = "ftps"
host = "ftp.example.com"
user = "u"
password = "${FB_WARN_PW}"
ca_file = "/etc/fieldbridge/partner-ca.pem"
[connections.export]
type = "sftp"
host = "sftp.example.com"
user = "u"
password = "${FB_WARN_PW}"
host_fingerprint = "SHA256:abc"
insecure_ignore_host_key = true
[connections.inbox]
type = "local"
root = "in"
`, nil},
}

func TestCheckWarnsOfInsecureConnections(t *testing.T) {
	t.Setenv("FB_WARN_PW", warnTestPassword)
	for _, c := range connWarnCases {
		t.Run(c.name, func(t *testing.T) {
			p := writeConfig(t, c.table)
			for _, args := range [][]string{{"check", "-config", p}, {"check", "-config", p, "-v"}} {
				code, out, stderr := runCLI(t, args...)
				if code != exitOK {
					t.Fatalf("%v = %d, want %d (warnings do not fail check)\n%s%s", args, code, exitOK, out, stderr)
				}
				for _, want := range c.want {
					if !strings.Contains(out, want) {
						t.Errorf("%v output lacks %q:\n%s", args, want, out)
					}
				}
				if n := strings.Count(out, "warning: "); (c.want == nil) != (n == 0) || n > 1 {
					t.Errorf("%v printed %d warning line(s):\n%s", args, n, out)
				}
				if c.want != nil && !strings.Contains(out, "1 with a safety check off") {
					t.Errorf("%v summary does not count the warning:\n%s", args, out)
				}
				if strings.Contains(out+stderr, warnTestPassword) {
					t.Errorf("%v printed the password:\n%s%s", args, out, stderr)
				}
			}
		})
	}
}

// With -connect the warnings are printed before the connections are
// tried, and the exit code is the connection test's alone.
func TestCheckConnectWarns(t *testing.T) {
	t.Setenv("FB_WARN_PW", warnTestPassword)
	p := writeConfig(t, connWarnCases[0].table+`[connections.up]
type = "test-conn"
answers = true
`)
	// ftp.example.com does not answer here: only look at the warning.
	code, out, stderr := runCLI(t, "check", "-config", p, "-connect", "-timeout", "50ms")
	if code != exitOK && code != exitCannot {
		t.Fatalf("check -connect = %d\n%s%s", code, out, stderr)
	}
	warn := strings.Index(out, `warning: connection "partner-ftp" (ftps): insecure_skip_verify = true`)
	if warn < 0 || warn > strings.Index(out, "\nconnections:") {
		t.Errorf("no warning before the connection results:\n%s", out)
	}
	if strings.Contains(out+stderr, warnTestPassword) {
		t.Errorf("password printed:\n%s%s", out, stderr)
	}
}

// TestStartLogsInsecureConnections: run and once log one WARN line per
// such connection at start, naming it, and nothing for a safe one.
func TestStartLogsInsecureConnections(t *testing.T) {
	t.Setenv("FB_WARN_PW", warnTestPassword)
	const head = `language = "en"
[log]
format = "json"
[http]
listen = "off"
[[job]]
name = "w"
kind = "test-work"
items = 1
`
	for _, c := range connWarnCases {
		conns := map[string]string{} // connection name -> its type, when it must be warned of
		if c.want != nil {
			name, typ, _ := strings.Cut(strings.TrimPrefix(c.want[0], `warning: connection "`), `" (`)
			typ, _, _ = strings.Cut(typ, ")")
			conns[name] = typ
		}
		for _, cmd := range []string{"once", "run"} {
			t.Run(c.name+"/"+cmd, func(t *testing.T) {
				p := writeConfig(t, head+c.table)
				logs := startLogs(t, cmd, p)
				var warns []map[string]any
				for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
					var rec map[string]any
					if err := json.Unmarshal([]byte(line), &rec); err != nil {
						t.Fatalf("log line %q: %v", line, err)
					}
					if rec["level"] == "WARN" && rec["msg"] == "connection security check is off" {
						warns = append(warns, rec)
					}
				}
				if len(warns) != len(conns) {
					t.Fatalf("%d WARN line(s) for connections, want %d:\n%s", len(warns), len(conns), logs)
				}
				for _, w := range warns {
					typ, ok := conns[w["connection"].(string)]
					if !ok || w["type"] != typ || !strings.Contains(w["warning"].(string), " = ") {
						t.Errorf("WARN line %v, want connection/type from %v", w, conns)
					}
				}
				if strings.Contains(logs, warnTestPassword) {
					t.Errorf("password logged:\n%s", logs)
				}
			})
		}
	}
}

// startLogs runs cmd ("once w" or the daemon until it has started) and
// returns what it logged.
func startLogs(t *testing.T, cmd, config string) string {
	t.Helper()
	var out, errb bridgetest.Buffer
	a := &app{stdout: &out, stderr: &errb, reg: testRegistry}
	if cmd == "once" {
		if code := realMain(context.Background(), a, []string{"once", "-config", config, "w"}); code != exitOK {
			t.Fatalf("once = %d\n%s%s", code, out.String(), errb.String())
		}
		return errb.String()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- realMain(ctx, a, []string{"run", "-config", config}) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(errb.String(), `"msg":"bridge started"`) {
		select {
		case code := <-done:
			t.Fatalf("run exited early = %d\n%s", code, errb.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon did not start:\n%s", errb.String())
		}
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("run = %d\n%s", code, errb.String())
	}
	return errb.String()
}
