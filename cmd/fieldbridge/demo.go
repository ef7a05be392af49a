package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
)

// demoSteps is what `fieldbridge demo` plays, in order. Each flow adds its
// step in its own file cmd/fieldbridge/demo_<flow>.go and ONE line here.
var demoSteps = []demoStep{
	demoBoxSync,
	demoSheets,
	demoResults,
	demoViability,
	demoFindME,
	demoImportPage,
}

// demoStep is one flow's part of the demo.
type demoStep struct {
	// Name is a short title, e.g. "OZmap boxes → Sytex network elements".
	Name string
	// Run plays the step against the fakes (connectors/*/…test packages),
	// printing for a person with d.Printf. An error fails the demo.
	Run func(ctx context.Context, d *demo) error
}

// demo is what a demo step gets.
type demo struct {
	// Dir is a fresh working folder for this step (removed afterwards
	// unless -keep is given).
	Dir string
	// Out is where the step prints for a person.
	Out io.Writer
	// Log receives the engine's logs (shown with -v, discarded otherwise).
	Log *slog.Logger
	// Registry is the binary's real registry of kinds and connections.
	Registry *bridge.Registry
}

// Printf prints a line for a person.
func (d *demo) Printf(format string, args ...any) {
	fmt.Fprintf(d.Out, "  "+strings.TrimSuffix(format, "\n")+"\n", args...)
}

// Config parses configuration text for this step, as `fieldbridge run`
// would read it from a file in Dir: "{{dir}}" is replaced by Dir, relative
// paths are relative to Dir, and data_dir defaults to Dir/data.
func (d *demo) Config(text string) (*bridge.Config, error) {
	text = strings.ReplaceAll(text, "{{dir}}", filepath.ToSlash(d.Dir))
	return bridge.ParseConfig(filepath.Join(d.Dir, "demo.toml"), []byte(text), d.Registry)
}

// Engine builds the real engine for cfg (its ledger in cfg.DataDir). The
// caller closes it. For HTTP flows, bridge.NewServer(e).Handler() serves
// the jobs' routes (with httptest, for instance).
func (d *demo) Engine(ctx context.Context, cfg *bridge.Config) (*bridge.Engine, error) {
	return bridge.NewEngine(ctx, bridge.EngineOptions{Config: cfg, Registry: d.Registry, Log: d.Log})
}

// Serve builds the real engine for cfg, as Engine does, and serves its
// HTTP routes (bridge.NewServer) on a local port at url; stop closes the
// server and the engine.
func (d *demo) Serve(ctx context.Context, cfg *bridge.Config) (e *bridge.Engine, url string, stop func(), err error) {
	e, err = d.Engine(ctx, cfg)
	if err != nil {
		return nil, "", nil, err
	}
	srv, err := bridge.NewServer(e)
	if err != nil {
		e.Close()
		return nil, "", nil, err
	}
	hs := httptest.NewServer(srv.Handler())
	return e, hs.URL, func() { hs.Close(); e.Close() }, nil
}

// RunJob runs job once through the real engine with the configuration
// text, prints its report and returns it.
func (d *demo) RunJob(ctx context.Context, configText, job string, full bool) (*bridge.RunReport, error) {
	cfg, err := d.Config(configText)
	if err != nil {
		return nil, err
	}
	e, err := d.Engine(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	rep, err := e.RunOnce(ctx, job, full)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	bridge.WriteReport(&b, rep, cfg.Language, cfg.Location())
	fmt.Fprint(d.Out, indent(b.String(), "    ")+"\n")
	return rep, nil
}

func cmdDemo(ctx context.Context, a *app, args []string) int {
	fs := newFlags(a, "demo", "[-v] [-keep] [-only NAME]", "Play the whole bridge against built-in fakes of OZmap, Sytex, OfficeTrack\nand Fortics: no accounts or servers needed.")
	verbose := fs.Bool("v", false, "show the engine's logs")
	keep := fs.Bool("keep", false, "keep each step's working folder")
	only := fs.String("only", "", "play only the steps whose name contains this text")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	return runDemo(ctx, a, demoSteps, *verbose, *keep, *only)
}

func runDemo(ctx context.Context, a *app, steps []demoStep, verbose, keep bool, only string) int {
	if len(steps) == 0 {
		fmt.Fprintln(a.stdout, "fieldbridge demo: no flows exist yet; nothing to show.")
		return exitOK
	}
	log := quietLogger()
	if verbose {
		log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	reg := a.reg()
	failed := 0
	played := 0
	for i, st := range steps {
		if only != "" && !strings.Contains(strings.ToLower(st.Name), strings.ToLower(only)) {
			continue
		}
		played++
		fmt.Fprintf(a.stdout, "[%d/%d] %s\n", i+1, len(steps), st.Name)
		dir, err := os.MkdirTemp("", "fieldbridge-demo-")
		if err != nil {
			fmt.Fprintf(a.stderr, "fieldbridge demo: %v\n", err)
			return exitCannot
		}
		t0 := time.Now()
		err = st.Run(ctx, &demo{Dir: dir, Out: a.stdout, Log: log.With("step", st.Name), Registry: reg})
		if err != nil {
			failed++
			fmt.Fprintf(a.stdout, "  FAILED: %v\n", err)
		} else {
			fmt.Fprintf(a.stdout, "  done in %s\n", time.Since(t0).Round(time.Millisecond))
		}
		if keep {
			fmt.Fprintf(a.stdout, "  (working folder kept: %s)\n", dir)
		} else {
			os.RemoveAll(dir)
		}
		if ctx.Err() != nil {
			return exitCannot
		}
	}
	if played == 0 {
		fmt.Fprintf(a.stderr, "fieldbridge demo: no step matches %q\n", only)
		return exitUsage
	}
	if failed > 0 {
		fmt.Fprintf(a.stdout, "%d of %d step(s) failed\n", failed, played)
		return exitCannot
	}
	fmt.Fprintf(a.stdout, "all %d step(s) done\n", played)
	return exitOK
}
