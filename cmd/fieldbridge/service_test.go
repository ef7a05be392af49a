//go:build !windows

package main

import (
	"strings"
	"testing"
)

// TestServiceOffWindows: `fieldbridge service` elsewhere points at the
// systemd unit and scripts/install; bad actions are usage errors.
func TestServiceOffWindows(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"service", "install"}, "samples/fieldbridge.service"},
		{[]string{"service", "stop", "-name", "x"}, "scripts/install"},
		{[]string{"service", "explode"}, `unknown action "explode"`},
		{[]string{"service"}, "install|uninstall|start|stop"},
	}
	for _, tt := range tests {
		code, _, stderr := runCLI(t, tt.args...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr lacks %q:\n%s", tt.args, code, tt.want, stderr)
		}
	}
}
