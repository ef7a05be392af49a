package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"
)

// serviceControl carries out `fieldbridge service ACTION` with the
// Windows service manager.
func serviceControl(ctx context.Context, a *app, o serviceOptions) int {
	var err error
	switch o.action {
	case "run":
		return runService(a, o)
	case "install":
		if _, ok := loadConfig(a, o.config, a.reg()); !ok {
			fmt.Fprintln(a.stderr, "fieldbridge service install: fix the configuration first (fieldbridge check)")
			return exitUsage
		}
		err = installService(o)
	case "uninstall":
		err = uninstallService(ctx, o)
	case "start":
		err = startService(o)
	case "stop":
		err = stopService(ctx, o)
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "fieldbridge service %s: %v\n", o.action, err)
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
			fmt.Fprintln(a.stderr, "(run it from an administrator's PowerShell)")
		}
		return exitCannot
	}
	fmt.Fprintf(a.stdout, "service %q: %s done\n", o.name, o.action)
	return exitOK
}

// installService registers the service (or updates its command line when
// it exists) to start automatically and restart on failure, and the
// event log source.
func installService(o serviceOptions) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service manager: %w", err)
	}
	defer m.Disconnect()
	args := []string{"service", "run", "-config", o.config, "-name", o.name}
	c := mgr.Config{
		DisplayName: "fieldbridge",
		Description: "Moves field-service data between OZmap, Sytex, OfficeTrack, Fortics, file drops and FTP servers.",
		StartType:   mgr.StartAutomatic,
	}
	s, err := m.OpenService(o.name)
	if err == nil {
		defer s.Close()
		cur, err := s.Config()
		if err != nil {
			return err
		}
		cur.BinaryPathName = commandLine(exe, args)
		cur.DisplayName, cur.Description, cur.StartType = c.DisplayName, c.Description, c.StartType
		if err := s.UpdateConfig(cur); err != nil {
			return fmt.Errorf("updating the service: %w", err)
		}
	} else {
		if s, err = m.CreateService(o.name, exe, c, args...); err != nil {
			return fmt.Errorf("creating the service: %w", err)
		}
		defer s.Close()
	}
	if err := s.SetRecoveryActions([]mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: 5 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 30 * time.Second},
		{Type: mgr.ServiceRestart, Delay: time.Minute},
	}, uint32((24 * time.Hour).Seconds())); err != nil {
		return fmt.Errorf("restart on failure: %w", err)
	}
	if err := eventlog.InstallAsEventCreate(o.name, eventlog.Error|eventlog.Warning|eventlog.Info); err != nil &&
		!strings.Contains(err.Error(), "exists") {
		return fmt.Errorf("event log source: %w", err)
	}
	return nil
}

// commandLine quotes exe and args as the service manager expects.
func commandLine(exe string, args []string) string {
	parts := []string{syscall.EscapeArg(exe)}
	for _, a := range args {
		parts = append(parts, syscall.EscapeArg(a))
	}
	return strings.Join(parts, " ")
}

// withService calls fn with the installed service o.name; hint follows
// the "not installed" error.
func withService(o serviceOptions, hint string, fn func(*mgr.Service) error) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(o.name)
	if err != nil {
		return fmt.Errorf("service %q is not installed%s: %w", o.name, hint, err)
	}
	defer s.Close()
	return fn(s)
}

func uninstallService(ctx context.Context, o serviceOptions) error {
	if err := stopService(ctx, o); err != nil && !errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) {
		return err
	}
	if err := withService(o, "", (*mgr.Service).Delete); err != nil {
		return err
	}
	if err := eventlog.Remove(o.name); err != nil {
		return fmt.Errorf("event log source: %w", err)
	}
	return nil
}

func startService(o serviceOptions) error {
	return withService(o, " (fieldbridge service install)", func(s *mgr.Service) error { return s.Start() })
}

// stopService asks the service to stop and waits (up to 30 s, or ctx)
// until it has.
func stopService(ctx context.Context, o serviceOptions) error {
	return withService(o, "", func(s *mgr.Service) error {
		st, err := s.Control(svc.Stop)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		for st.State != svc.Stopped {
			select {
			case <-ctx.Done():
				return fmt.Errorf("service %q did not stop: %w", o.name, ctx.Err())
			case <-time.After(300 * time.Millisecond):
			}
			if st, err = s.Query(); err != nil {
				return err
			}
		}
		return nil
	})
}

// runService is the service's process: the daemon, told to stop and to
// reload by the service manager, logging to its file and the event log.
func runService(a *app, o serviceOptions) int {
	isService, err := svc.IsWindowsService()
	if err != nil || !isService {
		fmt.Fprintln(a.stderr, "fieldbridge service run: this is what the service manager starts; from a console use fieldbridge run")
		return exitUsage
	}
	el, err := eventlog.Open(o.name)
	if err != nil {
		return exitCannot
	}
	defer el.Close()
	h := &serviceHandler{a: a, o: o, events: el}
	if err := svc.Run(o.name, h); err != nil {
		el.Error(eventService, fmt.Sprintf("fieldbridge service failed: %v", err))
		return exitCannot
	}
	return h.code
}

// serviceHandler is the svc.Handler running the daemon.
type serviceHandler struct {
	a      *app
	o      serviceOptions
	events *eventlog.Log
	code   int
}

const serviceAccepts = svc.AcceptStop | svc.AcceptShutdown | svc.AcceptParamChange

// Execute runs the daemon until the service manager stops it; a
// paramchange control (sc control fieldbridge paramchange) reloads the
// configuration, as SIGHUP does on Linux.
func (h *serviceHandler) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	reload := make(chan struct{}, 1)
	states := make(chan string, 4)
	hooks := serviceHooks{
		reload: reload,
		notify: func(state string) error {
			select {
			case states <- state:
			default:
			}
			return nil
		},
		logTo:        newEventHandler(h.events, slog.LevelWarn),
		logInDataDir: true,
	}
	// The service has no console: what `run` would print goes to the
	// event log.
	a := *h.a
	var console strings.Builder
	a.stdout, a.stderr = &console, &console
	done := make(chan int, 1)
	go func() { done <- runDaemon(ctx, &a, h.o.config, hooks) }()
	running := false
	for {
		select {
		case code := <-done:
			h.code = code
			if code != exitOK {
				h.events.Error(eventService, fmt.Sprintf("fieldbridge stopped (exit %d): %s", code, console.String()))
				return true, uint32(code)
			}
			h.events.Info(eventService, "fieldbridge stopped")
			return false, 0
		case st := <-states:
			switch {
			case strings.HasPrefix(st, "READY=1"):
				status <- svc.Status{State: svc.Running, Accepts: serviceAccepts}
			case strings.HasPrefix(st, "STOPPING=1"):
				status <- svc.Status{State: svc.StopPending}
			}
			if st == "READY=1" && !running {
				running = true
				h.events.Info(eventService, "fieldbridge is running with "+h.o.config)
			}
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending}
				stop()
			case svc.ParamChange:
				select {
				case reload <- struct{}{}:
				default:
				}
			}
		}
	}
}
