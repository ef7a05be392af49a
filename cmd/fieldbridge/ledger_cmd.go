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

// cmdLedger is `fieldbridge ledger show`: what the ledger knows of a key.
func cmdLedger(ctx context.Context, a *app, args []string) int {
	if len(args) == 0 || args[0] != "show" {
		fs := newFlags(a, "ledger", "show -config FILE -job JOB KEY...",
			"What the ledger knows. Subcommands:\n  show   the history of task numbers or points of interest sent by a sheet-officetrack job")
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
