package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/term"

	"github.com/fieldbridge/fieldbridge/bridge"
)

// multiFlag is a flag given several times.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// cmdUser is `fieldbridge user add`: it asks for a password and prints the
// [[user]] table to paste in the config, with the password's bcrypt hash
// (the password itself is never written anywhere).
func cmdUser(_ context.Context, a *app, args []string) int {
	if len(args) == 0 || args[0] != "add" {
		fs := newFlags(a, "user", "add NAME [flags]",
			"Who signs in to the import pages (/import/). Subcommand:\n"+
				"  add NAME  ask for a password and print the [[user]] table to paste in the config\n"+
				"Run 'fieldbridge user add -h' for its flags.")
		if code, ok := parse(fs, args); !ok {
			return code
		}
		fs.Usage()
		return exitUsage
	}
	fs := newFlags(a, "user add", "NAME [-role clerk|operator] [-inbox JOB/INBOX]... [-language pt-BR|es|en] [-password-stdin]",
		"Ask for a password (twice, not shown) and print the [[user]] table to paste in the config file.\n"+
			"A clerk sees the import pages of the inboxes given with -inbox (\"job/inbox\", or \"job\" for all its inboxes);\n"+
			"an operator sees every inbox and the status page.")
	role := fs.String("role", bridge.RoleClerk, "clerk or operator")
	var inboxes multiFlag
	fs.Var(&inboxes, "inbox", "an inbox the clerk may use: JOB/INBOX or JOB (repeat the flag for more)")
	lang := fs.String("language", "", "the pages' language for this user: pt-BR, es or en (default: the browser's)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input (for scripts)")
	// The name may come before the flags.
	var name string
	if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
		name, args = args[1], append([]string{args[0]}, args[2:]...)
	}
	if code, ok := parse(fs, args[1:]); !ok {
		return code
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	}
	switch {
	case name == "":
		fmt.Fprintln(a.stderr, "fieldbridge user add: give the user's name")
		return exitUsage
	case *role != bridge.RoleClerk && *role != bridge.RoleOperator:
		fmt.Fprintf(a.stderr, "fieldbridge user add: -role %q is not clerk or operator\n", *role)
		return exitUsage
	case *role == bridge.RoleClerk && len(inboxes) == 0:
		fmt.Fprintln(a.stderr, "fieldbridge user add: a clerk sees only the inboxes she is given: add -inbox JOB/INBOX")
		return exitUsage
	}
	pw, err := readPassword(a, *fromStdin)
	if err != nil {
		fmt.Fprintf(a.stderr, "fieldbridge user add: %v\n", err)
		return exitUsage
	}
	hash, err := bridge.HashPassword(pw)
	if err != nil {
		fmt.Fprintf(a.stderr, "fieldbridge user add: %v\n", err)
		return exitUsage
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[[user]]\nname = %s\nrole = %s\n", strconv.Quote(name), strconv.Quote(*role))
	if len(inboxes) > 0 {
		q := make([]string, len(inboxes))
		for i, in := range inboxes {
			q[i] = strconv.Quote(in)
		}
		fmt.Fprintf(&b, "inboxes = [%s]\n", strings.Join(q, ", "))
	}
	if *lang != "" {
		fmt.Fprintf(&b, "language = %s\n", strconv.Quote(*lang))
	}
	fmt.Fprintf(&b, "password_hash = %s\n", strconv.Quote(hash))
	fmt.Fprintln(a.stderr, "Paste this in the config file, then run `fieldbridge check` and restart the daemon:")
	fmt.Fprint(a.stdout, b.String())
	return exitOK
}

// readPassword asks twice on a terminal, or reads one line from stdin.
func readPassword(a *app, fromStdin bool) (string, error) {
	in := a.stdin
	if in == nil {
		in = os.Stdin
	}
	if f, ok := in.(*os.File); ok && !fromStdin && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(a.stderr, "Password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(a.stderr, "Again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", err
		}
		if string(p1) != string(p2) {
			return "", errors.New("the two passwords differ")
		}
		return string(p1), nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}
