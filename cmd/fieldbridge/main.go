// Command fieldbridge moves field-service data between OZmap, Sytex,
// OfficeTrack, Fortics, file drops and FTP servers.
//
// Usage:
//
//	fieldbridge run -config F            the daemon: every job on its trigger, plus HTTP
//	fieldbridge once -config F [-full] JOB   run one job now and print its report
//	fieldbridge check -config F [-connect]   validate the config (every problem, with its line)
//	fieldbridge runs -config F [-job J] [-n N]   list recent runs from the ledger
//	fieldbridge demo                     the whole bridge against built-in fakes
//	fieldbridge version
//
// Exit codes: 0 ok; 1 the job ran and some items failed; 2 usage or
// configuration error; 3 could not run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/fieldbridge/fieldbridge/bridge"
)

// Exit codes a scheduler can use.
const (
	exitOK        = 0
	exitItems     = 1 // the job ran and some items were not delivered (failed, or conflicts held back)
	exitUsage     = 2 // usage or configuration error
	exitCannot    = 3 // could not run
	defaultConfig = "config.toml"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, a *app, args []string) int
}

// app carries what commands share; tests replace the writers and registry.
type app struct {
	stdin          io.Reader // nil: os.Stdin
	stdout, stderr io.Writer
	reg            func() *bridge.Registry
}

func commands() []command {
	return []command{
		{"run", "run the daemon: every job on its trigger, plus the HTTP server", cmdRun},
		{"once", "run one job now, print its report and exit", cmdOnce},
		{"check", "validate the configuration; -connect also tries each connection", cmdCheck},
		{"runs", "list recent runs from the ledger", cmdRuns},
		{"ledger", "ledger show: the history of a task sent by a sheet job; ledger copy: move a ledger to PostgreSQL", cmdLedger},
		{"resend", "send tasks again (the technician lost one) at the sheet job's next run", cmdResend},
		{"mapping", "mapping check / init / targets: try a saved column mapping on a sheet, draft one", cmdMapping},
		{"user", "user add: a person who signs in to the import pages (prints the [[user]] table)", cmdUser},
		{"viability", "viability log: a day's Fortics chatbot questions and outcomes", cmdViability},
		{"service", "service install|uninstall|start|stop: run as a Windows service (Linux: the systemd unit)", cmdService},
		{"demo", "run every flow against built-in fakes (no accounts needed)", cmdDemo},
		{"version", "print the version", cmdVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := realMain(ctx, &app{stdout: os.Stdout, stderr: os.Stderr, reg: registry}, os.Args[1:])
	stop()
	os.Exit(code)
}

func realMain(ctx context.Context, a *app, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(a.stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, a, args[1:])
		}
	}
	fmt.Fprintf(a.stderr, "fieldbridge: unknown command %q\n\n", args[0])
	usage(a.stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "fieldbridge moves field-service data between OZmap, Sytex, OfficeTrack, Fortics, file drops and FTP servers.")
	fmt.Fprintln(w, "\nUsage: fieldbridge <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'fieldbridge <command> -h' for a command's flags.")
	fmt.Fprintln(w, "Exit codes: 0 ok, 1 some items not delivered, 2 usage or config error, 3 could not run.")
}

// newFlags makes a command's FlagSet with a -h text.
func newFlags(a *app, name, args, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.Usage = func() {
		fmt.Fprintf(a.stderr, "Usage: fieldbridge %s %s\n\n%s\n", name, args, summary)
		var any bool
		fs.VisitAll(func(*flag.Flag) { any = true })
		if any {
			fmt.Fprintln(a.stderr, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses flags; it returns an exit code and false when the command
// must stop (help asked or a usage error).
func parse(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return 0, true
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pre)
}

// cmdMapping runs the saved-mapping tools (mapping_cmd.go).
func cmdMapping(_ context.Context, a *app, args []string) int {
	return runMapping(args, a.stdout, a.stderr)
}
