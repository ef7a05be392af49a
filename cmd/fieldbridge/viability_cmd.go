package main

import (
	"context"
	"fmt"
	"io"

	"github.com/fieldbridge/fieldbridge/bridge/viability"
)

// runViability runs `fieldbridge viability ...` (today: `viability log`)
// with the binary's registry.
func runViability(args []string, stdout, stderr io.Writer) int {
	return cmdViability(context.Background(), &app{stdout: stdout, stderr: stderr, reg: registry}, args)
}

// cmdViability is the "viability" command: `viability log` prints the
// day's chatbot questions and their outcomes.
func cmdViability(ctx context.Context, a *app, args []string) int {
	if len(args) == 0 || args[0] != "log" {
		fmt.Fprintln(a.stderr, "Usage: fieldbridge viability log -config FILE [-day YYYY-MM-DD] [-job NAME] [-json]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "help" || args[0] == "--help") {
			return exitOK
		}
		return exitUsage
	}
	fs := newFlags(a, "viability log", "-config FILE [-day YYYY-MM-DD] [-job NAME] [-json]",
		"Show a day's Fortics viability questions (time, client, location, outcome, box,\nfree ports, latency; * = answered from the cache) and a summary.")
	config := fs.String("config", defaultConfig, "configuration `file`")
	day := fs.String("day", "", "the `day` to show, YYYY-MM-DD in the config's time zone (default today)")
	job := fs.String("job", "", "only the fortics-viability job of this `name` (default: all)")
	asJSON := fs.Bool("json", false, "print the records as JSON lines")
	if code, ok := parse(fs, args[1:]); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(a.stderr, "fieldbridge viability log: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	cfg, ok := loadConfig(a, *config, a.reg())
	if !ok {
		return exitUsage
	}
	if err := viability.PrintLog(a.stdout, cfg, *job, *day, *asJSON); err != nil {
		fmt.Fprintf(a.stderr, "fieldbridge viability log: %v\n", err)
		return exitUsage
	}
	return exitOK
}
