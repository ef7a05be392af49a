package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/bridge/sheets"
)

// cmdLedger is `fieldbridge ledger show`: what the ledger knows of a key;
// and `fieldbridge ledger copy`: a ledger copied into another.
func cmdLedger(ctx context.Context, a *app, args []string) int {
	if len(args) > 0 && args[0] == "copy" {
		return cmdLedgerCopy(ctx, a, args[1:])
	}
	if len(args) == 0 || args[0] != "show" {
		fs := newFlags(a, "ledger", "show|copy ...",
			"What the ledger knows. Subcommands:\n"+
				"  show -config FILE -job JOB KEY...  the history of task numbers or points of interest sent by a sheet-officetrack job\n"+
				"  copy -from LEDGER -to LEDGER       copy runs, files, items and state from one ledger to another\n"+
				"                                     (SQLite to PostgreSQL, to move a node into a cluster, or back)\n"+
				"Run 'fieldbridge ledger show -h' or 'fieldbridge ledger copy -h' for their flags.")
		if code, ok := parse(fs, args); !ok {
			return code
		}
		fs.Usage()
		return exitUsage
	}
	fs := newFlags(a, "ledger show", "-config FILE -job JOB KEY...",
		"Show the history of task numbers or point-of-interest customer numbers sent by a sheet-officetrack job:\nwhen, from which file and row, what was sent, what changed, OfficeTrack's answer.")
	config := fs.String("config", defaultConfig, "configuration `file`")
	jobName := fs.String("job", "", "the sheet-officetrack `job`")
	if code, ok := parse(fs, args[1:]); !ok {
		return code
	}
	cfg, l, code := openSheetsLedger(ctx, a, fs, *config, *jobName)
	if l == nil {
		return code
	}
	defer l.Close()
	loc := cfg.Location()
	status := exitOK
	for _, key := range fs.Args() {
		key = sheets.NormalizeKey(key)
		cur, hist, err := sheets.History(ctx, l, *jobName, key)
		if err != nil {
			fmt.Fprintf(a.stderr, "fieldbridge ledger show: %s: %v\n", key, err)
			status = exitCannot
			continue
		}
		fmt.Fprintf(a.stdout, "%s\n", key)
		if cur == "" && len(hist) == 0 {
			fmt.Fprintln(a.stdout, "  never sent by this job")
			continue
		}
		for _, h := range hist {
			from := h.Name
			if h.Row > 0 {
				from = fmt.Sprintf("%s, row %d", h.Name, h.Row)
			}
			fmt.Fprintf(a.stdout, "  %s  %-9s %s\n", h.At.In(loc).Format("2006-01-02 15:04:05"), h.Outcome, from)
			if h.Resend {
				fmt.Fprintln(a.stdout, "      sent again as asked")
			}
			for _, c := range h.Changes {
				fmt.Fprintf(a.stdout, "      changed %s\n", c)
			}
			if h.Answer != "" {
				fmt.Fprintf(a.stdout, "      OfficeTrack: %s\n", h.Answer)
			}
			keys := make([]string, 0, len(h.Values))
			for k := range h.Values {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var vals []string
			for _, k := range keys {
				vals = append(vals, fmt.Sprintf("%s=%q", k, h.Values[k]))
			}
			fmt.Fprintf(a.stdout, "      sent %s\n", strings.Join(vals, " "))
		}
		var rec struct {
			Pending *json.RawMessage `json:"pending"`
		}
		if json.Unmarshal([]byte(cur), &rec) == nil && rec.Pending != nil {
			fmt.Fprintln(a.stdout, "  a send is pending (interrupted): it is looked up in OfficeTrack before anything is sent again")
		}
	}
	return status
}

// cmdResend is `fieldbridge resend`: send keys again at the job's next run.
func cmdResend(ctx context.Context, a *app, args []string) int {
	fs := newFlags(a, "resend", "-config FILE -job JOB KEY...",
		"Ask a sheet-officetrack job to send tasks (by TaskNumber) or points of interest (poi:CUSTOMERNUMBER) again,\nas OfficeTrack last accepted them, at its next run — for a technician who lost a task.")
	config := fs.String("config", defaultConfig, "configuration `file`")
	jobName := fs.String("job", "", "the sheet-officetrack `job`")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	_, l, code := openSheetsLedger(ctx, a, fs, *config, *jobName)
	if l == nil {
		return code
	}
	defer l.Close()
	status := exitOK
	for _, key := range fs.Args() {
		if err := sheets.RequestResend(ctx, l, *jobName, key, time.Now()); err != nil {
			fmt.Fprintf(a.stderr, "fieldbridge resend: %v\n", err)
			if errors.Is(err, sheets.ErrUnknownKey) {
				fmt.Fprintln(a.stderr, "  (task numbers are as sent; see fieldbridge ledger show)")
			}
			status = exitCannot
			continue
		}
		fmt.Fprintf(a.stdout, "%s: will be sent again at the next run of %s (now: fieldbridge once -config %s %s)\n",
			sheets.NormalizeKey(key), *jobName, *config, *jobName)
	}
	return status
}

// openSheetsLedger loads the configuration, checks that job is a
// sheet-officetrack job and keys were given, and opens the ledger.
func openSheetsLedger(ctx context.Context, a *app, fs *flag.FlagSet, config, job string) (*bridge.Config, ledger.Ledger, int) {
	if job == "" || fs.NArg() == 0 {
		fs.Usage()
		return nil, nil, exitUsage
	}
	cfg, ok := loadConfig(a, config, a.reg())
	if !ok {
		return nil, nil, exitUsage
	}
	var jc *bridge.JobConfig
	var names []string
	for i := range cfg.Jobs {
		if cfg.Jobs[i].Spec.Kind == sheets.KindName {
			names = append(names, cfg.Jobs[i].Spec.Name)
			if cfg.Jobs[i].Spec.Name == job {
				jc = &cfg.Jobs[i]
			}
		}
	}
	if jc == nil {
		fmt.Fprintf(a.stderr, "fieldbridge: %s is not a %s job of %s (those are: %s)\n", job, sheets.KindName, config, strings.Join(names, ", "))
		return nil, nil, exitUsage
	}
	if cfg.Ledger.Shared() {
		l, err := ledger.OpenPostgres(ctx, cfg.Ledger.URL, ledger.PostgresOptions{})
		if err != nil {
			fmt.Fprintf(a.stderr, "fieldbridge: %v\n", err)
			return nil, nil, exitCannot
		}
		return cfg, l, exitOK
	}
	path := filepath.Join(cfg.DataDir, "ledger.db")
	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(a.stderr, "fieldbridge: no ledger yet at %s (nothing has run)\n", path)
		return nil, nil, exitCannot
	}
	l, err := ledger.OpenSQLite(ctx, path)
	if err != nil {
		fmt.Fprintf(a.stderr, "fieldbridge: %v\n", err)
		return nil, nil, exitCannot
	}
	return cfg, l, exitOK
}

// cmdLedgerCopy is `fieldbridge ledger copy -from LEDGER -to LEDGER`.
func cmdLedgerCopy(ctx context.Context, a *app, args []string) int {
	fs := newFlags(a, "ledger copy", "-from LEDGER -to LEDGER [-force]",
		"Copy every run, file, item and state value (not leases or claims) from one ledger to another, a batch at a time:\n"+
			"to move a node's SQLite ledger into the PostgreSQL ledger of a cluster, or back. Stop the bridges using\n"+
			"either ledger first. A LEDGER is\n"+
			"  sqlite:PATH                                  an embedded ledger file (data_dir/ledger.db)\n"+
			"  postgres://USER:PASSWORD@HOST:5432/DATABASE  a PostgreSQL ledger ([ledger] url); leave the password out\n"+
			"                                               and set PGPASSWORD to keep it off the command line\n"+
			"A target that already holds records is refused unless -force.")
	from := fs.String("from", "", "the `ledger` to copy from")
	to := fs.String("to", "", "the `ledger` to copy into (created when missing)")
	force := fs.Bool("force", false, "copy into a ledger that holds records: those with the same ID or key are replaced, the others kept")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if *from == "" || *to == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	fail := func(format string, args ...any) int {
		fmt.Fprintf(a.stderr, "fieldbridge ledger copy: "+format+"\n", args...)
		return exitCannot
	}
	fromLoc, err := parseLedgerLocation(*from)
	if err != nil {
		fmt.Fprintf(a.stderr, "fieldbridge ledger copy: -from: %v\n", err)
		return exitUsage
	}
	toLoc, err := parseLedgerLocation(*to)
	if err != nil {
		fmt.Fprintf(a.stderr, "fieldbridge ledger copy: -to: %v\n", err)
		return exitUsage
	}
	if fromLoc.path != "" && fromLoc.path == toLoc.path {
		fmt.Fprintf(a.stderr, "fieldbridge ledger copy: -from and -to are the same ledger (%s)\n", fromLoc)
		return exitUsage
	}
	if fromLoc.path != "" {
		if _, err := os.Stat(fromLoc.path); err != nil {
			return fail("no ledger at %s", fromLoc.path)
		}
	}
	src, srcName, err := fromLoc.open(ctx)
	if err != nil {
		return fail("%v", err)
	}
	defer src.Close()
	dst, dstName, err := toLoc.open(ctx)
	if err != nil {
		return fail("%v", err)
	}
	defer dst.Close()
	if fromLoc.path == "" && srcName == dstName {
		fmt.Fprintf(a.stderr, "fieldbridge ledger copy: -from and -to are the same ledger (%s)\n", srcName)
		return exitUsage
	}
	n, err := ledger.Copy(ctx, dst, src, *force)
	if errors.Is(err, ledger.ErrNotEmpty) {
		return fail("%s already holds records; nothing copied (-force copies into it anyway, replacing the records with the same ID or key)", dstName)
	}
	if err != nil {
		return fail("from %s to %s: %v (copied before that: %s)", srcName, dstName, err, n)
	}
	fmt.Fprintf(a.stdout, "copied %s from %s to %s\n", n, srcName, dstName)
	return exitOK
}

// ledgerLocation is a parsed -from or -to: an SQLite file or a
// PostgreSQL URL.
type ledgerLocation struct {
	path string // sqlite: the absolute path
	url  string // postgres
}

func parseLedgerLocation(s string) (ledgerLocation, error) {
	switch {
	case strings.HasPrefix(s, "sqlite:"):
		p := strings.TrimPrefix(s, "sqlite:")
		if p == "" {
			return ledgerLocation{}, errors.New("sqlite: needs the ledger file's path (sqlite:/var/lib/fieldbridge/ledger.db)")
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return ledgerLocation{}, err
		}
		return ledgerLocation{path: abs}, nil
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		return ledgerLocation{url: s}, nil
	}
	return ledgerLocation{}, fmt.Errorf("%s is neither sqlite:PATH nor postgres://USER@HOST/DATABASE", ledger.RedactURL(s))
}

// String names the location without a password.
func (l ledgerLocation) String() string {
	if l.path != "" {
		return "sqlite:" + l.path
	}
	return ledger.RedactURL(l.url)
}

// open opens the ledger (creating it when missing) and returns it with
// its name for messages (never with the password).
func (l ledgerLocation) open(ctx context.Context) (ledger.Ledger, string, error) {
	if l.path != "" {
		s, err := ledger.OpenSQLite(ctx, l.path)
		if err != nil {
			return nil, "", err
		}
		return s, l.String(), nil
	}
	p, err := ledger.OpenPostgres(ctx, l.url, ledger.PostgresOptions{})
	if err != nil {
		return nil, "", err
	}
	return p, p.String(), nil
}
