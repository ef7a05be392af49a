package main

import (
	"context"
	"fmt"
	"path/filepath"
)

// serviceName is the Windows service's default name (and event source).
const serviceName = "fieldbridge"

// serviceOptions are the flags of `fieldbridge service`.
type serviceOptions struct {
	action string // install, uninstall, start, stop, run
	config string // absolute
	name   string
}

// serviceActions are the subcommands of `fieldbridge service`, with what
// each does.
var serviceActions = [][2]string{
	{"install", "register the Windows service (automatic start, restart on failure) and its event log source"},
	{"uninstall", "stop and remove the service and its event log source"},
	{"start", "start the service"},
	{"stop", "stop the service (runs checkpoint, as with Ctrl+C)"},
	{"run", "what the service manager starts (not for a console)"},
}

func cmdService(ctx context.Context, a *app, args []string) int {
	summary := "Run fieldbridge as a Windows service:\n"
	for _, sa := range serviceActions {
		summary += fmt.Sprintf("  %-10s %s\n", sa[0], sa[1])
	}
	summary += "\nOn Linux, run it under systemd instead: samples/fieldbridge.service, installed by scripts/install."
	fs := newFlags(a, "service", "install|uninstall|start|stop [-config FILE] [-name NAME]", summary)
	config := fs.String("config", defaultConfig, "configuration `file` the service runs with (install, run)")
	name := fs.String("name", serviceName, "service `name` (and event log source)")
	if len(args) == 0 {
		fs.Usage()
		return exitUsage
	}
	action := args[0]
	if action == "-h" || action == "-help" || action == "--help" || action == "help" {
		fs.Usage()
		return exitOK
	}
	if code, ok := parse(fs, args[1:]); !ok {
		return code
	}
	known := false
	for _, sa := range serviceActions {
		known = known || sa[0] == action
	}
	if !known || fs.NArg() > 0 {
		fmt.Fprintf(a.stderr, "fieldbridge service: unknown action %q\n", action)
		fs.Usage()
		return exitUsage
	}
	abs, err := filepath.Abs(*config)
	if err != nil {
		fmt.Fprintf(a.stderr, "fieldbridge service: %v\n", err)
		return exitUsage
	}
	return serviceControl(ctx, a, serviceOptions{action: action, config: abs, name: *name})
}
