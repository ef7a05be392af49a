//go:build linux

package main

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestInstallScript runs scripts/install into a temporary root (DESTDIR,
// no root needed) twice: the second run changes nothing; a configuration
// the operator edited is kept; the installed unit runs the installed
// binary, and the installed example passes `check` with the secrets its
// environment file names.
func TestInstallScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	root := t.TempDir()
	bin := "" // the first run builds; the later ones install that build again
	install := func() string {
		t.Helper()
		cmd := exec.Command("../../scripts/install")
		cmd.Env = append(os.Environ(), "DESTDIR="+root, "VERSION=v0.0.0-test", "FIELDBRIDGE_BIN="+bin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("scripts/install: %v\n%s", err, out)
		}
		return string(out)
	}
	install()
	first := snapshot(t, root)
	bin = filepath.Join(t.TempDir(), "fieldbridge")
	if b, err := os.ReadFile(filepath.Join(root, "usr/local/bin/fieldbridge")); err != nil || os.WriteFile(bin, b, 0o755) != nil {
		t.Fatal("cannot copy the built binary", err)
	}
	for _, want := range []string{
		"usr/local/bin/fieldbridge 0755",
		"etc/systemd/system/fieldbridge.service 0644",
		"etc/fieldbridge/config.toml 0640",
		"etc/fieldbridge/environment 0600",
		"etc/sysusers.d/fieldbridge.conf 0644",
	} {
		name, mode, _ := strings.Cut(want, " ")
		if got, ok := first[name]; !ok || !strings.HasPrefix(got, mode) {
			t.Errorf("%s: %q, want mode %s", name, got, mode)
		}
	}
	out := install()
	if second := snapshot(t, root); !reflect.DeepEqual(first, second) {
		t.Fatalf("the second run changed the tree:\nfirst  %v\nsecond %v", first, second)
	}
	if !strings.Contains(out, "kept /etc/fieldbridge/config.toml") {
		t.Errorf("second run did not say it kept the configuration:\n%s", out)
	}

	// An edited configuration survives a reinstall.
	cfg := filepath.Join(root, "etc/fieldbridge/config.toml")
	edited := []byte("# mine\n")
	if err := os.WriteFile(cfg, edited, 0o640); err != nil {
		t.Fatal(err)
	}
	install()
	if b, _ := os.ReadFile(cfg); string(b) != string(edited) {
		t.Fatalf("reinstall overwrote the configuration: %q", b)
	}
	if err := os.Remove(cfg); err != nil {
		t.Fatal(err)
	}
	install()

	unit, err := os.ReadFile(filepath.Join(root, "etc/systemd/system/fieldbridge.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"ExecStart=/usr/local/bin/fieldbridge run -config /etc/fieldbridge/config.toml",
		"Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "User=fieldbridge", "NoNewPrivileges=yes",
		"ProtectSystem=strict", "ReadWritePaths=/var/lib/fieldbridge", "Restart=on-failure",
	} {
		if !strings.Contains(string(unit), want+"\n") {
			t.Errorf("unit lacks %s", want)
		}
	}

	// The example configuration, with every secret its environment file
	// names set, passes check.
	env, err := os.ReadFile(filepath.Join(root, "etc/fieldbridge/environment"))
	if err != nil {
		t.Fatal(err)
	}
	check := exec.Command(filepath.Join(root, "usr/local/bin/fieldbridge"), "check", "-config", cfg)
	check.Env = os.Environ()
	for _, line := range strings.Split(string(env), "\n") {
		if name, ok := strings.CutSuffix(strings.TrimPrefix(line, "#"), "="); ok && !strings.Contains(name, " ") {
			check.Env = append(check.Env, name+"=x")
		}
	}
	if b, err := check.CombinedOutput(); err != nil {
		t.Fatalf("fieldbridge check on the installed example: %v\n%s", err, b)
	}
	if b, err := exec.Command(filepath.Join(root, "usr/local/bin/fieldbridge"), "version").Output(); err != nil || !strings.Contains(string(b), "v0.0.0-test") {
		t.Errorf("installed binary version: %q, %v", b, err)
	}
}

// snapshot maps every path under root to its mode and content hash.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		v := fmt.Sprintf("%04o", fi.Mode().Perm())
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		out[rel] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
