package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
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
