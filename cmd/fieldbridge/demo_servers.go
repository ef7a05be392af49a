package main

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// testServersEnvFile is where scripts/test-servers writes its env file
// (the same rule as transports/transporttest.EnvFile, without importing a
// test helper into the binary).
func testServersEnvFile() string {
	if p := os.Getenv("FIELDBRIDGE_TEST_SERVERS"); p != "" {
		return p
	}
	if d := os.Getenv("FB_TEST_SERVERS_DIR"); d != "" {
		return filepath.Join(d, "env")
	}
	return "/tmp/fieldbridge-test-servers/env"
}

// readTestServersEnv reads scripts/test-servers' KEY=VALUE env file.
func readTestServersEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export "), "=")
		if ok && !strings.HasPrefix(k, "#") {
			out[k] = strings.Trim(v, `"'`)
		}
	}
	return out, sc.Err()
}

// demoFTPServer returns scripts/test-servers' settings when its vsftpd
// answers on FB_TEST_FTP_ADDR. An env file left by servers that are no
// longer running (a reboot, scripts/test-servers stop) counts as none, so
// the demo falls back to a local folder instead of failing.
func demoFTPServer() (map[string]string, bool) {
	env, err := readTestServersEnv(testServersEnvFile())
	if err != nil || env["FB_TEST_FTP_ADDR"] == "" || env["FB_TEST_ROOT"] == "" {
		return nil, false
	}
	c, err := net.DialTimeout("tcp", env["FB_TEST_FTP_ADDR"], time.Second)
	if err != nil {
		return nil, false
	}
	c.Close()
	return env, true
}
