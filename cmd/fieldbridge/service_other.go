//go:build !windows

package main

import (
	"context"
	"fmt"
)

// serviceControl: Windows services exist only on Windows.
func serviceControl(_ context.Context, a *app, o serviceOptions) int {
	fmt.Fprintf(a.stderr, `fieldbridge service %s: Windows services exist only on Windows.
On Linux, run the daemon under systemd: samples/fieldbridge.service is a
hardened unit (its own user, reload with "systemctl reload fieldbridge"),
and scripts/install builds and installs the binary, the unit, an example
configuration and the user:

    sudo scripts/install
    sudo systemctl enable --now fieldbridge

(README: "Install on Debian or Ubuntu".) Or run "fieldbridge run -config F"
under any supervisor.
`, o.action)
	return exitUsage
}
